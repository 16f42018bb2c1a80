//go:build integration

package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/logvault/logvault/internal/eventgen"
	"github.com/logvault/logvault/internal/local"
	"github.com/logvault/logvault/internal/schema"
	lvship "github.com/logvault/logvault/internal/ship"
	"github.com/logvault/logvault/internal/source"
	"github.com/logvault/logvault/internal/trigger"
	"github.com/logvault/logvault/internal/vault"
	"github.com/logvault/logvault/internal/verify"
)

// receiptOf is the one receipt an invocation answered.
func receiptOf(t *testing.T, r result) map[string]any {
	t.Helper()
	var resp struct {
		Receipts []map[string]any `json:"receipts"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &resp); err != nil || len(resp.Receipts) != 1 {
		t.Fatalf("response %s (%v): want one receipt\n%s", r.stdout, err, r.stderr)
	}
	return resp.Receipts[0]
}

// TestLargeObjectCopiedServerSide: a source bucket that grants the writer
// read (as docs/deploy.md tells Account B to) gets its large objects copied by
// S3, each part's checksum checked; the source here carries a full-object
// SHA-256 checksum, the case versitygw gets wrong and the stack corrects.
// A bucket without the grant ships the same way as before, and the log
// says why once.
func TestLargeObjectCopiedServerSide(t *testing.T) {
	ctx := context.Background()
	data := make([]byte, 20<<20+12345)
	rand.Read(data)
	want := sha256.Sum256(data)
	key := fmt.Sprintf("cur2/copy-%d/data/BILLING_PERIOD=2026-11/part-00001.csv.gz", time.Now().UnixNano())
	bucket := stack.env["SOURCE_BILLING_BUCKET"]
	out, err := accountB(t).PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(data),
		ChecksumAlgorithm: types.ChecksumAlgorithmSha256})
	if err != nil {
		t.Fatal(err)
	}
	src := eventgen.Object{Bucket: bucket, Key: key, VersionID: aws.ToString(out.VersionId), ETag: trimQuotes(aws.ToString(out.ETag)), Size: int64(len(data))}
	r := invoke(t, "billing", event(t, "s3-put", src), nil)
	if r.code != 0 {
		t.Fatalf("invoke billing: exit %d\n%s", r.code, r.stderr)
	}
	if rec := receiptOf(t, r); rec["copied"] != true || rec["outcome"] != "created" {
		t.Errorf("receipt %v: want created and copied server-side", rec)
	}
	// What the function writes is JSON lines only (CloudWatch Logs keeps them):
	// no SDK chatter about ranged reads it cannot validate.
	for _, line := range strings.Split(strings.TrimSpace(r.stderr), "\n") {
		if line != "" && !json.Valid([]byte(line)) {
			t.Errorf("a log line that is not JSON: %q", line)
		}
	}
	vkey := "billing/account=222222222222/" + bucket + "/" + key
	if got, meta := hashVault(t, vkey, ""); got != hex.EncodeToString(want[:]) || meta[schema.MetaSHA256] != got {
		t.Fatalf("vault bytes hash to %s, logvault-sha256 %s, source %x", got, meta[schema.MetaSHA256], want)
	}
	rep, err := verify.Run(ctx, admin(t), stack.env["VAULT_BUCKET"], vkey, verify.Options{})
	if err != nil || len(rep.Problems) != 0 {
		t.Errorf("verify of the copied version: %v, problems %+v", err, rep.Problems)
	}
	if ups := openUploads(t); len(ups) != 0 {
		t.Errorf("%d multipart uploads left open", len(ups))
	}

	// A source bucket the writer may not read: uploaded from the function.
	other := fmt.Sprintf("logvault-e2e-nogrant-%d", time.Now().UnixNano()%1_000_000_000)
	if _, err := accountB(t).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(other)}); err != nil {
		t.Fatal(err)
	}
	var payloads []byte
	var objs []eventgen.Object
	for i := range 2 {
		k := fmt.Sprintf("cur2/data/BILLING_PERIOD=2026-11/nogrant-%d.csv.gz", i)
		o, err := accountB(t).PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(other), Key: aws.String(k), Body: bytes.NewReader(data)})
		if err != nil {
			t.Fatal(err)
		}
		objs = append(objs, eventgen.Object{Bucket: other, Key: k, VersionID: aws.ToString(o.VersionId), ETag: trimQuotes(aws.ToString(o.ETag)), Size: int64(len(data))})
	}
	var bodies [][]byte
	for _, o := range objs {
		bodies = append(bodies, event(t, "s3-put", o))
	}
	payloads = eventgen.SQS(bodies...)
	r = invoke(t, "billing", payloads, nil)
	if r.code != 0 || strings.Contains(r.stdout, `"itemIdentifier"`) {
		t.Fatalf("invoke billing without the grant: exit %d %s\n%s", r.code, r.stdout, r.stderr)
	}
	if n := strings.Count(r.stderr, "server-side copy unavailable"); n != 1 || !strings.Contains(r.stderr, other) {
		t.Errorf("the log says why %d times, want once naming %s:\n%s", n, other, r.stderr)
	}
	for _, o := range objs {
		if got, _ := hashVault(t, "billing/account=222222222222/"+other+"/"+o.Key, ""); got != hex.EncodeToString(want[:]) {
			t.Errorf("%s: vault bytes hash to %s, want %x", o.Key, got, want)
		}
	}
}

// changingSource serves a source read, and once the hashing read has taken
// the object's last range, writes a new version under the same key: the
// copy that follows must still ship the hashed bytes.
type changingSource struct {
	*s3.Client
	t       *testing.T
	size    int64
	changed bool
	other   []byte
}

func (c *changingSource) GetObject(ctx context.Context, in *s3.GetObjectInput, o ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	out, err := c.Client.GetObject(ctx, in, o...)
	if err == nil && !c.changed && strings.HasSuffix(aws.ToString(in.Range), fmt.Sprintf("-%d", c.size-1)) {
		c.changed = true
		if _, err := c.Client.PutObject(ctx, &s3.PutObjectInput{Bucket: in.Bucket, Key: in.Key, Body: bytes.NewReader(c.other)}); err != nil {
			c.t.Errorf("overwrite the source: %v", err)
		}
	}
	return out, err
}

// TestServerSideCopySourceChangesMidway: on the local stack, a new version
// of the source lands between the hashing read and the server-side copy;
// the copy is pinned to the hashed version, so the vault gets exactly the
// hashed bytes, with their SHA-256 in logvault-sha256.
func TestServerSideCopySourceChangesMidway(t *testing.T) {
	ctx := context.Background()
	data := make([]byte, 3*(8<<20)+999)
	rand.Read(data)
	other := bytes.Repeat([]byte("tampered "), len(data)/9+1)[:len(data)]
	bucket := stack.env["SOURCE_BILLING_BUCKET"]
	key := fmt.Sprintf("cur2/midway-%d/data/BILLING_PERIOD=2026-11/part-00001.csv.gz", time.Now().UnixNano())
	out, err := accountB(t).PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(data)})
	if err != nil {
		t.Fatal(err)
	}
	src := &changingSource{Client: accountB(t), t: t, size: int64(len(data)), other: other}
	w := writer(t)
	c := &lvship.Copier{
		Account: "222222222222",
		Source:  &source.Reader{S3: src},
		Vault: &vault.Writer{S3: w, Uploader: vault.NewUploader(w), Bucket: stack.env["VAULT_BUCKET"], ExpectedOwner: stack.env["VAULT_EXPECTED_OWNER"],
			Shipper: "logvault-billing/e2e", Copies: &vault.CopyState{}},
		Kind:     schema.Classifier(schema.FunctionBilling),
		Strategy: lvship.Reread,
	}
	rec, err := c.Ship(ctx, trigger.ObjectRef{Bucket: bucket, Key: key, VersionID: aws.ToString(out.VersionId), Size: int64(len(data))})
	if err != nil {
		t.Fatalf("ship: %v", err)
	}
	if !src.changed {
		t.Fatal("the source was never changed: the test did not run its case")
	}
	want := sha256.Sum256(data)
	got, meta := hashVault(t, rec.Key, rec.VersionID)
	if !rec.Copied || got != hex.EncodeToString(want[:]) || meta[schema.MetaSHA256] != got || meta[schema.MetaSourceVersionID] != aws.ToString(out.VersionId) {
		t.Errorf("receipt %+v; vault version hashes to %s, logvault-sha256 %s, source version %s: want the hashed bytes %x, copied", rec, got, meta[schema.MetaSHA256], meta[schema.MetaSourceVersionID], want)
	}
	if ups := openUploads(t); len(ups) != 0 {
		t.Errorf("%d multipart uploads left open", len(ups))
	}
}

// TestServerSideCopyNeedsGetObjectVersion: a source bucket policy granting
// the writer s3:GetObject but not s3:GetObjectVersion does not let it copy a
// version (S3 asks for GetObjectVersion on a versioned copy source; the
// local stack does too): the object is uploaded from the function.
func TestServerSideCopyNeedsGetObjectVersion(t *testing.T) {
	ctx := context.Background()
	b := accountB(t)
	bucket := stack.env["SOURCE_BILLING_BUCKET"]
	narrow := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + stack.env["VAULT_ROLE_ARN"] + `"},` +
		`"Action":"s3:GetObject","Resource":"arn:aws:s3:::` + bucket + `/*"}]}`
	if _, err := b.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(bucket), Policy: aws.String(narrow)}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := b.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String(bucket), Policy: aws.String(local.SourceGrant(bucket, stack.env["VAULT_ROLE_ARN"], local.AccountB))}); err != nil {
			t.Errorf("put the source grant back: %v", err)
		}
	})
	data := make([]byte, 9<<20)
	rand.Read(data)
	key := fmt.Sprintf("cur2/narrow-%d/data/BILLING_PERIOD=2026-11/part.csv.gz", time.Now().UnixNano())
	out, err := b.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(data)})
	if err != nil {
		t.Fatal(err)
	}
	src := eventgen.Object{Bucket: bucket, Key: key, VersionID: aws.ToString(out.VersionId), ETag: trimQuotes(aws.ToString(out.ETag)), Size: int64(len(data))}
	r := invoke(t, "billing", event(t, "s3-put", src), nil)
	if r.code != 0 {
		t.Fatalf("invoke billing: exit %d\n%s", r.code, r.stderr)
	}
	if rec := receiptOf(t, r); rec["copied"] == true || !strings.Contains(r.stderr, "s3:GetObjectVersion") {
		t.Errorf("receipt %v: want the object uploaded, not copied, and the log naming s3:GetObjectVersion\n%s", rec, r.stderr)
	}
}
