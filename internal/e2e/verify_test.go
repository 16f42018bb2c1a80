//go:build integration

package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/logvault/logvault/internal/schema"
)

// asAccountA runs the CLI with Account A's own keys, no role.
func asAccountA() map[string]string {
	return map[string]string{
		"VAULT_ROLE_ARN":        "",
		"AWS_ACCESS_KEY_ID":     stack.env["VAULT_ADMIN_ACCESS_KEY_ID"],
		"AWS_SECRET_ACCESS_KEY": stack.env["VAULT_ADMIN_SECRET_ACCESS_KEY"],
	}
}

// verifyReport is the part of `logvault verify --json` the tests read.
type verifyReport struct {
	Versions []struct {
		Key          string   `json:"key"`
		VersionID    string   `json:"version_id"`
		SHA256       string   `json:"sha256"`
		Checksum     string   `json:"checksum_sha256"`
		RestoredFrom string   `json:"restored_from"`
		Problems     []string `json:"problems"`
	} `json:"versions"`
	Problems []struct {
		Key       string `json:"key"`
		VersionID string `json:"version_id"`
		Code      string `json:"code"`
		Detail    string `json:"detail"`
		Expected  bool   `json:"expected"`
	} `json:"problems"`
	Summary struct {
		Versions, Keys, Problems, Expected int
		OK                                 bool
	} `json:"summary"`
}

func verifyJSON(t *testing.T, overrides map[string]string, prefix string) (verifyReport, result) {
	t.Helper()
	r := cli(t, overrides, "verify", "--prefix", prefix, "--json")
	var rep verifyReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("verify --json printed no JSON document (%v): %s\nstderr: %s", err, r.stdout, r.stderr)
	}
	return rep, r
}

func hexSHA(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

// TestVerifyAndRestore ships CloudTrail files and a billing report delivered
// three times, checks verify passes, tampers with a CloudTrail file as a
// compromised writer would, checks verify names it, restores it with the
// writer's rights and checks the original bytes are current again.
func TestVerifyAndRestore(t *testing.T) {
	tag := fmt.Sprintf("verify-test-%d", time.Now().UnixNano())
	ctBucket, billBucket := stack.env["SOURCE_CLOUDTRAIL_BUCKET"], stack.env["SOURCE_BILLING_BUCKET"]
	ctPrefix := "cloudtrail/account=222222222222/" + ctBucket + "/AWSLogs/" + tag + "/"
	billPrefix := "billing/account=222222222222/" + billBucket + "/cur2/" + tag + "/"

	// CloudTrail: two logs (one with a space and a plus in its key) and a digest.
	sources := []string{
		"AWSLogs/" + tag + "/CloudTrail/us-east-1/2026/11/26/" + tag + "_CloudTrail_us-east-1_a.json.gz",
		"AWSLogs/" + tag + "/CloudTrail/us-east-1/2026/11/26/b c+d é.json.gz",
		"AWSLogs/" + tag + "/CloudTrail-Digest/us-east-1/2026/11/26/" + tag + "_CloudTrail-Digest_us-east-1_x.json.gz",
	}
	bodies := map[string][]byte{}
	for i, k := range sources {
		body := []byte(fmt.Sprintf(`{"Records":[{"eventName":"PutObject","n":%d,"tag":%q}]}`, i, tag))
		src := putSource(t, k, body)
		if r := invoke(t, "cloudtrail", event(t, "s3-put", src), nil); r.code != 0 {
			t.Fatalf("ship %s: exit %d: %s", k, r.code, r.stderr)
		}
		bodies["cloudtrail/account=222222222222/"+ctBucket+"/"+k] = body
	}
	target := "cloudtrail/account=222222222222/" + ctBucket + "/" + sources[1]

	// Billing: a 9 MiB report (multipart: 8 MiB + 1 MiB parts), re-delivered
	// with new bytes twice under the same key.
	billSource := "cur2/" + tag + "/data/BILLING_PERIOD=2026-11/" + tag + "-00001.csv.gz"
	billKey := "billing/account=222222222222/" + billBucket + "/" + billSource
	var billBodies [][]byte
	for i := 0; i < 3; i++ {
		data := make([]byte, 9<<20+i)
		rand.Read(data)
		src := putBilling(t, billSource, bytes.NewReader(data), int64(len(data)))
		if r := invoke(t, "billing", event(t, "s3-put", src), nil); r.code != 0 {
			t.Fatalf("ship billing %d: exit %d: %s", i, r.code, r.stderr)
		}
		billBodies = append(billBodies, data)
	}
	if n := len(versions(t, billKey)); n != 3 {
		t.Fatalf("billing key has %d versions, want 3", n)
	}

	// A clean vault verifies, with the writer's rights (the stack's default
	// environment) and with Account A's.
	for who, env := range map[string]map[string]string{"writer": nil, "Account A": asAccountA()} {
		r := cli(t, env, "verify", "--prefix", ctPrefix)
		if r.code != 0 || !strings.Contains(r.stdout, "verify: 3 versions, 3 keys, 0 problems") {
			t.Fatalf("%s: verify of a clean prefix: exit %d\nstdout: %s\nstderr: %s", who, r.code, r.stdout, r.stderr)
		}
		rep, r := verifyJSON(t, env, billPrefix)
		if r.code != 0 || !rep.Summary.OK || rep.Summary.Versions != 3 || rep.Summary.Keys != 1 || rep.Summary.Expected != 1 ||
			len(rep.Problems) != 1 || rep.Problems[0].Code != "overwritten" || !rep.Problems[0].Expected || rep.Problems[0].Key != billKey {
			t.Fatalf("%s: billing re-delivered is expected, not a failure: exit %d %+v\nstderr: %s", who, r.code, rep, r.stderr)
		}
		for _, v := range rep.Versions {
			if !strings.HasSuffix(v.Checksum, "-2") || len(v.Problems) != 0 {
				t.Errorf("%s: billing version %s: checksum %q (want a 2-part composite), problems %v", who, v.VersionID, v.Checksum, v.Problems)
			}
		}
	}

	// A compromised writer overwrites a vaulted CloudTrail file with other
	// bytes, copying the original's metadata to look like a re-delivery.
	orig := versions(t, target)
	if len(orig) != 1 {
		t.Fatalf("%d versions of %s", len(orig), target)
	}
	origID := aws.ToString(orig[0].VersionId)
	_, origMeta := hashVault(t, target, origID)
	forged := []byte(`{"Records":[]}`)
	sum := sha256.Sum256(forged)
	meta := map[string]string{}
	for k, v := range origMeta {
		meta[k] = v
	}
	meta[schema.MetaSHA256] = hex.EncodeToString(sum[:])
	put, err := writer(t).PutObject(context.Background(), &s3.PutObjectInput{
		Bucket: aws.String(stack.env["VAULT_BUCKET"]), Key: aws.String(target), Body: bytes.NewReader(forged), Metadata: meta,
		ChecksumAlgorithm: types.ChecksumAlgorithmSha256, ChecksumSHA256: aws.String(base64.StdEncoding.EncodeToString(sum[:])),
	})
	if err != nil {
		t.Fatalf("the writer may overwrite: %v", err)
	}
	badID := aws.ToString(put.VersionId)

	for who, env := range map[string]map[string]string{"writer": nil, "Account A": asAccountA()} {
		r := cli(t, env, "verify", "--prefix", ctPrefix)
		if r.code != 1 {
			t.Fatalf("%s: verify after tampering: exit %d, want 1\nstdout: %s\nstderr: %s", who, r.code, r.stdout, r.stderr)
		}
		if line := lineOf(r.stdout, "overwritten", target); !strings.HasPrefix(line, "FAIL") || !strings.Contains(line, origID) || !strings.Contains(line, badID) {
			t.Errorf("%s: no FAIL line names the overwritten key and both versions:\n%s", who, r.stdout)
		}
		if !strings.Contains(r.lastLine(), "overwritten "+target) {
			t.Errorf("%s: last line %q does not name the key", who, r.lastLine())
		}
		rep, r := verifyJSON(t, env, ctPrefix)
		if r.code != 1 || rep.Summary.OK || rep.Summary.Problems != 1 || rep.Problems[0].Key != target || rep.Problems[0].Code != "overwritten" || rep.Problems[0].Expected {
			t.Errorf("%s: verify --json after tampering: exit %d %+v", who, r.code, rep.Problems)
		}
	}

	// Restore with the writer's rights (the stack's default environment).
	r := cli(t, nil, "restore", target, "--version-id", origID, "--json")
	if r.code != 0 {
		t.Fatalf("restore: exit %d\nstdout: %s\nstderr: %s", r.code, r.stdout, r.stderr)
	}
	var res struct {
		VersionID    string `json:"version_id"`
		RestoredFrom string `json:"restored_from"`
		Supersedes   string `json:"supersedes"`
		Outcome      string `json:"outcome"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil || res.Outcome != "restored" || res.RestoredFrom != origID || res.Supersedes != badID || res.VersionID == "" {
		t.Errorf("restore --json: %s (%v)", r.stdout, err)
	}
	vs := versions(t, target)
	if len(vs) != 3 || !aws.ToBool(vs[0].IsLatest) || aws.ToString(vs[0].VersionId) != res.VersionID {
		t.Fatalf("after the restore: %d versions, want 3 (nothing deleted) with the new one current", len(vs))
	}
	got, curMeta := hashVault(t, target, "")
	if got != hexSHA(bodies[target]) || curMeta[schema.MetaSHA256] != got {
		t.Errorf("current version hashes to %s, the original to %s (logvault-sha256 %s)", got, hexSHA(bodies[target]), curMeta[schema.MetaSHA256])
	}
	if curMeta[schema.MetaRestoredFrom] != origID || curMeta[schema.MetaSupersedes] != badID || curMeta[schema.MetaSource] != origMeta[schema.MetaSource] || curMeta["trail"] != "org-trail" {
		t.Errorf("restored version's metadata %v", curMeta)
	}
	head, err := admin(t).HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(stack.env["VAULT_BUCKET"]), Key: aws.String(target), ChecksumMode: types.ChecksumModeEnabled})
	if err != nil {
		t.Fatal(err)
	}
	if want := base64.StdEncoding.EncodeToString(mustHex(t, got)); aws.ToString(head.ChecksumSHA256) != want || aws.ToString(head.ContentEncoding) != "gzip" || aws.ToString(head.ContentType) != "application/json" {
		t.Errorf("restored version: checksum %q (want %s), Content-Type %q, Content-Encoding %q", aws.ToString(head.ChecksumSHA256), want, aws.ToString(head.ContentType), aws.ToString(head.ContentEncoding))
	}

	// The overwrite stays in the history: verify keeps failing on the key,
	// and says which version is the restore.
	r = cli(t, asAccountA(), "verify", "--prefix", ctPrefix)
	if line := lineOf(r.stdout, "overwritten", target); r.code != 1 || !strings.Contains(line, "restore of "+origID) {
		t.Errorf("verify after the restore: exit %d\n%s", r.code, r.stdout)
	}

	// Restoring again writes nothing; an unknown version fails naming the key.
	if r := cli(t, nil, "restore", target, "--version-id", origID); r.code != 0 || !strings.Contains(r.stdout, "nothing written") || len(versions(t, target)) != 3 {
		t.Errorf("second restore: exit %d %s %s", r.code, r.stdout, r.stderr)
	}
	if r := cli(t, nil, "restore", target, "--version-id", "no-such-version"); r.code != 1 || !strings.Contains(r.lastLine(), target) {
		t.Errorf("unknown version: exit %d, last line %q", r.code, r.lastLine())
	}
	if r := cli(t, nil, "restore", target); r.code != 1 || !strings.Contains(r.lastLine(), "version-id") {
		t.Errorf("no --version-id: exit %d, last line %q", r.code, r.lastLine())
	}

	// A multipart billing report: its first delivery restored, as Account A.
	billVersions := versions(t, billKey)
	first := aws.ToString(billVersions[len(billVersions)-1].VersionId)
	if r := cli(t, asAccountA(), "restore", billKey, "--version-id", first); r.code != 0 {
		t.Fatalf("restore billing: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if got, meta := hashVault(t, billKey, ""); got != hexSHA(billBodies[0]) || meta[schema.MetaRestoredFrom] != first {
		t.Errorf("billing: current hashes to %s, want the first delivery's %s", got, hexSHA(billBodies[0]))
	}
	if rep, r := verifyJSON(t, nil, billPrefix); r.code != 0 || rep.Summary.Versions != 4 || rep.Summary.Expected != 1 {
		t.Errorf("billing after a restore: exit %d %+v", r.code, rep.Summary)
	}
}

// TestRestoreMultipartCopy restores a 9 MiB version part by part
// (UploadPartCopy), as objects over 5 GiB are, by lowering the copy limit.
func TestRestoreMultipartCopy(t *testing.T) {
	tag := fmt.Sprintf("restore-test-%d", time.Now().UnixNano())
	billSource := "cur2/" + tag + "/data/BILLING_PERIOD=2026-11/" + tag + "-00001.csv.gz"
	billKey := "billing/account=222222222222/" + stack.env["SOURCE_BILLING_BUCKET"] + "/" + billSource
	var bodies [][]byte
	for i := 0; i < 2; i++ {
		data := make([]byte, 9<<20+i)
		rand.Read(data)
		src := putBilling(t, billSource, bytes.NewReader(data), int64(len(data)))
		if r := invoke(t, "billing", event(t, "s3-put", src), nil); r.code != 0 {
			t.Fatalf("ship billing %d: exit %d: %s", i, r.code, r.stderr)
		}
		bodies = append(bodies, data)
	}
	vs := versions(t, billKey)
	first := aws.ToString(vs[len(vs)-1].VersionId)
	r := cli(t, nil, "restore", billKey, "--version-id", first, "--copy-limit", "1048576", "--json")
	if r.code != 0 && strings.Contains(r.lastLine(), "S3 computed checksum") && strings.Contains(r.lastLine(), "-2 for part ") {
		if ups := openUploads(t); len(ups) != 0 {
			t.Errorf("the failed multipart copy left %d uploads open", len(ups))
		}
		if n := len(versions(t, billKey)); n != 2 {
			t.Errorf("the failed multipart copy left %d versions, want 2", n)
		}
		t.Skip("BUG: versitygw v1.8.0 UploadPartCopy (backend/posix/posix.go, \"TODO: Should the checksum be recalculated or just copied ?\") " +
			"stores the source object's whole-object SHA256 checksum as the part's instead of hashing the copied range, so " +
			"CompleteMultipartUpload with the parts' real checksums fails with InvalidPart; the restore refuses and aborts the upload: " + r.lastLine())
	}
	if r.code != 0 {
		t.Fatalf("multipart restore: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, `"multipart":true`) {
		t.Errorf("not copied part by part: %s", r.stdout)
	}
	if got, meta := hashVault(t, billKey, ""); got != hexSHA(bodies[0]) || meta[schema.MetaRestoredFrom] != first {
		t.Errorf("current hashes to %s, want %s", got, hexSHA(bodies[0]))
	}
	if ups := openUploads(t); len(ups) != 0 {
		t.Errorf("%d multipart uploads left open", len(ups))
	}
	if r := cli(t, nil, "verify", "--prefix", "billing/account=222222222222/"+stack.env["SOURCE_BILLING_BUCKET"]+"/cur2/"+tag+"/"); r.code != 0 {
		t.Errorf("verify after a multipart restore: exit %d\n%s", r.code, r.stdout)
	}
}

func lineOf(text string, parts ...string) string {
	for _, l := range strings.Split(text, "\n") {
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(l, p)
		}
		if ok {
			return l
		}
	}
	return ""
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
