//go:build integration

package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/logvault/logvault/internal/eventgen"
	"github.com/logvault/logvault/internal/reconcile"
	"github.com/logvault/logvault/internal/schema"
	"github.com/logvault/logvault/internal/vault"
)

// awkward turns i into a key of an awkward shape under prefix: spaces, "+",
// "%", unicode, deep prefixes.
func awkward(prefix string, i int) string {
	shapes := []string{"plain-%03d.json", "with space %03d.txt", "plus+%03d+sign", "pct%%25-%03d%%", "é/ü/日本/%03d", "deep/a/b/c/d/e/f/%03d.gz"}
	return prefix + fmt.Sprintf(shapes[i%len(shapes)], i)
}

// putMany writes objects into the CloudTrail source bucket as Account B,
// concurrently, with no notification: what an existing bucket holds.
func putMany(t *testing.T, bodies map[string][]byte) {
	t.Helper()
	c := accountB(t)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	errs := make(chan error, len(bodies))
	for k, b := range bodies {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			_, err := c.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(stack.env["SOURCE_CLOUDTRAIL_BUCKET"]), Key: aws.String(k), Body: bytes.NewReader(b)})
			if err != nil {
				errs <- fmt.Errorf("put %q: %w", k, err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func runJSON[T any](t *testing.T, r result) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
		t.Fatalf("output is not the JSON report (%v): %s\nstderr: %s", err, r.stdout, r.stderr)
	}
	return v
}

// TestBackfillAndReconcile: objects put straight into a source bucket are
// missing; backfill ships each once, with its checksum and metadata; a
// second backfill writes nothing; reconcile is then clean, and an object
// overwritten in the source differs.
func TestBackfillAndReconcile(t *testing.T) {
	ctx := context.Background()
	bucket := stack.env["SOURCE_CLOUDTRAIL_BUCKET"]
	prefix := fmt.Sprintf("backfill-%d/", time.Now().UnixNano())
	bodies := map[string][]byte{prefix + "zero-bytes": {}, prefix + "big/20MiB.bin": bytes.Repeat([]byte("0123456789abcdef"), 20<<20/16)}
	for i := range 298 {
		k := awkward(prefix, i)
		bodies[k] = []byte(fmt.Sprintf(`{"n":%d,"key":%q}`, i, k))
	}
	putMany(t, bodies)
	srcArg := "s3://" + bucket + "/" + prefix

	r := cli(t, nil, "reconcile", "--source", srcArg, "--json")
	rep := runJSON[reconcile.Report](t, r)
	if r.code != 1 || len(rep.Missing) != len(bodies) || rep.Listed != len(bodies) {
		t.Fatalf("reconcile before backfill: exit %d, listed %d, missing %d; want exit 1 and %d missing\n%s", r.code, rep.Listed, len(rep.Missing), len(bodies), r.stderr)
	}

	r = cli(t, nil, "backfill", "--source", srcArg, "--json")
	sum := runJSON[reconcile.Summary](t, r)
	if r.code != 0 || sum.Created != len(bodies) || sum.Failed != 0 || sum.Listed != len(bodies) {
		t.Fatalf("backfill: exit %d, %+v; want %d created\n%s", r.code, sum, len(bodies), r.stderr)
	}
	a := admin(t)
	for k, b := range bodies {
		vk := "s3/account=222222222222/" + bucket + "/" + k
		out, err := a.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(stack.env["VAULT_BUCKET"]), Key: aws.String(vk), ChecksumMode: types.ChecksumModeEnabled})
		if err != nil {
			t.Errorf("%s: %v", vk, err)
			continue
		}
		sum := sha256.Sum256(b)
		if out.Metadata[schema.MetaSHA256] != hex.EncodeToString(sum[:]) || out.Metadata[schema.MetaKind] != string(schema.KindS3) ||
			out.Metadata[schema.MetaSource] != "s3://"+bucket+"/"+k || aws.ToInt64(out.ContentLength) != int64(len(b)) {
			t.Errorf("%s: metadata %v, %d bytes: want sha256 %x, kind s3, source s3://%s/%s", vk, out.Metadata, aws.ToInt64(out.ContentLength), sum, bucket, k)
		}
		// A 20 MiB object is written in parts: its checksum is the composite of the parts'.
		if c, want := aws.ToString(out.ChecksumSHA256), checksumOf(b); c != want {
			t.Errorf("%s: S3 checksum %q, want %q", vk, c, want)
		}
	}
	versionsBefore := len(listVersions(t, "s3/account=222222222222/"+bucket+"/"+prefix))

	r = cli(t, nil, "backfill", "--source", srcArg, "--json")
	sum = runJSON[reconcile.Summary](t, r)
	if r.code != 0 || sum.Created+sum.Overwrote != 0 || sum.AlreadyInVault != len(bodies) || sum.ToShip != 0 {
		t.Errorf("second backfill: exit %d, %+v; want every object found in the vault without being read, no version written", r.code, sum)
	}
	if n := len(listVersions(t, "s3/account=222222222222/"+bucket+"/"+prefix)); n != versionsBefore || n != len(bodies) {
		t.Errorf("the vault holds %d versions under the prefix after the second backfill, %d before, want %d", n, versionsBefore, len(bodies))
	}

	r = cli(t, nil, "reconcile", "--source", srcArg)
	if r.code != 0 {
		t.Fatalf("reconcile after backfill: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	over := awkward(prefix, 4) // é/ü/日本/004
	putMany(t, map[string][]byte{over: []byte("overwritten in the source afterwards")})
	r = cli(t, nil, "reconcile", "--source", srcArg, "--json")
	rep = runJSON[reconcile.Report](t, r)
	if r.code != 1 || len(rep.Differs) != 1 || rep.Differs[0].Source != "s3://"+bucket+"/"+over || len(rep.Missing) != 0 {
		t.Errorf("reconcile after an overwrite: exit %d, differs %+v, missing %d; want exit 1 and s3://%s/%s differs", r.code, rep.Differs, len(rep.Missing), bucket, over)
	}
}

// checksumOf is the SHA256 checksum S3 stores for b as the writer uploads
// it: of the whole object for one PUT, else the composite of its parts'
// ("<base64 of the SHA-256 of the part digests>-<parts>").
func checksumOf(b []byte) string {
	size := int64(len(b))
	if size <= vault.PartSize(size) {
		s := sha256.Sum256(b)
		return base64.StdEncoding.EncodeToString(s[:])
	}
	part := vault.PartSize(size)
	var digests []byte
	n := 0
	for off := int64(0); off < size; off += part {
		s := sha256.Sum256(b[off:min(off+part, size)])
		digests = append(digests, s[:]...)
		n++
	}
	s := sha256.Sum256(digests)
	return fmt.Sprintf("%s-%d", base64.StdEncoding.EncodeToString(s[:]), n)
}

// listVersions lists every vault version under prefix as Account A.
func listVersions(t *testing.T, prefix string) []types.ObjectVersion {
	t.Helper()
	var vs []types.ObjectVersion
	p := s3.NewListObjectVersionsPaginator(admin(t), &s3.ListObjectVersionsInput{Bucket: aws.String(stack.env["VAULT_BUCKET"]), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		out, err := p.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		vs = append(vs, out.Versions...)
	}
	return vs
}

// TestBackfillKilledResumes: a backfill killed part-way, run again, ships the
// rest, and every object is in the vault exactly once.
func TestBackfillKilledResumes(t *testing.T) {
	bucket := stack.env["SOURCE_CLOUDTRAIL_BUCKET"]
	prefix := fmt.Sprintf("resume-%d/", time.Now().UnixNano())
	bodies := map[string][]byte{}
	for i := range 150 {
		bodies[awkward(prefix, i)] = bytes.Repeat([]byte{byte(i)}, 192<<10)
	}
	putMany(t, bodies)
	srcArg := "s3://" + bucket + "/" + prefix

	cmd := exec.Command(stack.bin, "backfill", "--source", srcArg, "--workers", "1")
	for k, v := range stack.env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for len(listVersions(t, "s3/account=222222222222/"+bucket+"/"+prefix)) < 10 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Kill()
	cmd.Wait()
	shippedBefore := len(listVersions(t, "s3/account=222222222222/"+bucket+"/"+prefix))
	t.Logf("killed after %d of %d objects", shippedBefore, len(bodies))
	if shippedBefore == 0 || shippedBefore == len(bodies) {
		t.Fatalf("the kill came at %d of %d objects: not part-way", shippedBefore, len(bodies))
	}

	r := cli(t, nil, "backfill", "--source", srcArg, "--json")
	sum := runJSON[reconcile.Summary](t, r)
	if r.code != 0 || sum.Failed != 0 || sum.Created+sum.AlreadyInVault < len(bodies) || sum.Overwrote != 0 {
		t.Fatalf("resumed backfill: exit %d, %+v\n%s", r.code, sum, r.stderr)
	}
	perKey := map[string]int{}
	for _, v := range listVersions(t, "s3/account=222222222222/"+bucket+"/"+prefix) {
		perKey[aws.ToString(v.Key)]++
	}
	for k := range bodies {
		if n := perKey["s3/account=222222222222/"+bucket+"/"+k]; n != 1 {
			t.Errorf("%s: %d versions in the vault, want 1", k, n)
		}
	}
	if len(perKey) != len(bodies) {
		t.Errorf("%d keys in the vault under the prefix, want %d", len(perKey), len(bodies))
	}
}

// TestBatchOperationsInvoke: `logvault invoke cloudtrail` on S3 Batch
// Operations invocations answers one result per task; a missing key is a
// PermanentFailure and the others are in the vault.
func TestBatchOperationsInvoke(t *testing.T) {
	for _, version := range []string{"1.0", "2.0"} {
		t.Run(version, func(t *testing.T) {
			tag := fmt.Sprintf("%d", time.Now().UnixNano())
			a := putSource(t, "AWSLogs/222222222222/CloudTrail/us-east-1/2026/11/30/batch "+tag+"+a.json.gz", []byte(`{"Records":[{"n":1}]}`))
			b := putSource(t, "batch/"+tag+"/é b%.csv", []byte("b,c\n"))
			gone := eventgen.Object{Bucket: a.Bucket, Key: "batch/" + tag + "/never-written"}
			r := invoke(t, "cloudtrail", eventgen.BatchJob(version, a, b, gone), nil)
			var resp events.S3BatchJobResponse
			if err := json.Unmarshal([]byte(r.stdout), &resp); err != nil {
				t.Fatalf("invoke printed no Batch Operations response (%v): %s\n%s", err, r.stdout, r.stderr)
			}
			if r.code != 1 || !strings.Contains(r.stderr, "PermanentFailure") {
				t.Errorf("invoke exit %d: want 1 naming the failed task\n%s", r.code, r.stderr)
			}
			want := []string{"Succeeded", "Succeeded", "PermanentFailure"}
			if resp.InvocationSchemaVersion != version || len(resp.Results) != len(want) {
				t.Fatalf("response %+v: want schema %s and %d results", resp, version, len(want))
			}
			for i, res := range resp.Results {
				if res.ResultCode != want[i] || res.TaskID != fmt.Sprintf("dGFza2lk%04d", i) || res.ResultString == "" {
					t.Errorf("result %d: %+v, want %s", i, res, want[i])
				}
			}
			if !strings.Contains(resp.Results[2].ResultString, "not found") {
				t.Errorf("the missing key's result string %q does not say it is missing", resp.Results[2].ResultString)
			}
			for _, o := range []eventgen.Object{a, b} {
				kind := schema.Classify(schema.FunctionCloudTrail, o.Key)
				vk, _ := schema.CopiedKey(kind, "222222222222", o.Bucket, o.Key)
				if vs := versions(t, vk); len(vs) != 1 {
					t.Errorf("%s: %d versions in the vault, want 1", vk, len(vs))
				}
			}
		})
	}
}

// TestKindsLandUnderTheirPrefix: objects at the documented key layouts of
// every kind, put into a configured source bucket and shipped, carry their
// kind in logvault-kind and land under their kind's prefix.
func TestKindsLandUnderTheirPrefix(t *testing.T) {
	ctx := context.Background()
	tag := fmt.Sprintf("kinds-%d/", time.Now().UnixNano())
	buckets := map[string]string{schema.FunctionCloudTrail: stack.env["SOURCE_CLOUDTRAIL_BUCKET"], schema.FunctionBilling: stack.env["SOURCE_BILLING_BUCKET"]}
	n := 0
	for _, spec := range schema.Kinds() {
		for _, sample := range spec.Samples {
			bucket := buckets[spec.Function]
			if bucket == "" {
				continue
			}
			n++
			key := tag + sample
			body := []byte("sample of " + string(spec.Kind))
			out, err := accountB(t).PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body)})
			if err != nil {
				t.Fatal(err)
			}
			o := eventgen.Object{Bucket: bucket, Key: key, VersionID: aws.ToString(out.VersionId), ETag: strings.Trim(aws.ToString(out.ETag), `"`), Size: int64(len(body))}
			if r := invoke(t, spec.Function, event(t, "eventbridge", o), nil); r.code != 0 {
				t.Fatalf("%s: invoke %s exit %d: %s", key, spec.Function, r.code, r.stderr)
			}
			vk := spec.Prefix + "/account=222222222222/" + bucket + "/" + key
			head, err := admin(t).HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(stack.env["VAULT_BUCKET"]), Key: aws.String(vk)})
			if err != nil {
				t.Errorf("%s (%s): not under %s: %v", sample, spec.Kind, vk, err)
				continue
			}
			if head.Metadata[schema.MetaKind] != string(spec.Kind) {
				t.Errorf("%s: logvault-kind %q, want %s", vk, head.Metadata[schema.MetaKind], spec.Kind)
			}
		}
	}
	if n < 20 {
		t.Errorf("only %d samples shipped", n)
	}
}

// TestBackfillAllVersions: a bucket that held an object before versioning
// was enabled (its "null" version) and versions after: --all-versions ships
// them oldest first, so the vault's order of the key follows the source's,
// and a rerun ships nothing.
func TestBackfillAllVersions(t *testing.T) {
	ctx := context.Background()
	b := accountB(t)
	bucket := fmt.Sprintf("logvault-e2e-versions-%d", time.Now().UnixNano()%1_000_000_000)
	if _, err := b.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	const key = "exports/ledger.csv"
	bodies := [][]byte{[]byte("before versioning\n")}
	put := func(body []byte) {
		if _, err := b.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body)}); err != nil {
			t.Fatal(err)
		}
	}
	put(bodies[0])
	if _, err := b.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(bucket),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}}); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		bodies = append(bodies, []byte(fmt.Sprintf("version %d, a little longer each time%s\n", i, strings.Repeat("!", i))))
		put(bodies[i])
	}
	r := cli(t, nil, "backfill", "--source", "s3://"+bucket, "--all-versions", "--json")
	sum := runJSON[reconcile.Summary](t, r)
	if r.code != 0 || sum.Created != 1 || sum.Overwrote != 3 || sum.Failed != 0 {
		t.Fatalf("backfill --all-versions: exit %d, %+v; want 1 created, 3 overwrote\n%s", r.code, sum, r.stderr)
	}
	vk := "s3/account=222222222222/" + bucket + "/" + key
	vs := versions(t, vk) // newest first
	if len(vs) != len(bodies) {
		t.Fatalf("%d vault versions of %s, want %d", len(vs), vk, len(bodies))
	}
	for i, v := range vs {
		want := bodies[len(bodies)-1-i]
		out, err := admin(t).GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(stack.env["VAULT_BUCKET"]), Key: aws.String(vk), VersionId: v.VersionId})
		if err != nil {
			t.Fatal(err)
		}
		got := new(bytes.Buffer)
		got.ReadFrom(out.Body)
		out.Body.Close()
		if !bytes.Equal(got.Bytes(), want) {
			t.Errorf("vault version %d (newest first) holds %q, want %q: the order does not follow the source's", i, got, want)
		}
	}
	r = cli(t, nil, "backfill", "--source", "s3://"+bucket, "--all-versions", "--json")
	sum = runJSON[reconcile.Summary](t, r)
	if r.code != 0 || sum.AlreadyInVault != len(bodies) || sum.ToShip != 0 {
		t.Errorf("rerun: exit %d, %+v; want every version found in the vault", r.code, sum)
	}
}
