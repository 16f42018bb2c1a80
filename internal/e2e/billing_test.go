//go:build integration

package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/logvault/logvault/internal/eventgen"
	"github.com/logvault/logvault/internal/schema"
)

// putBilling writes body into the billing source bucket as Account B.
func putBilling(t *testing.T, key string, body io.ReadSeeker, size int64) eventgen.Object {
	t.Helper()
	bucket := stack.env["SOURCE_BILLING_BUCKET"]
	out, err := accountB(t).PutObject(context.Background(), &s3.PutObjectInput{
		Bucket: aws.String(bucket), Key: aws.String(key), Body: body, ContentLength: aws.Int64(size),
		ContentType: aws.String("text/csv"), ContentEncoding: aws.String("gzip"),
	})
	if err != nil {
		t.Fatalf("put billing source: %v", err)
	}
	return eventgen.Object{Bucket: bucket, Key: key, VersionID: aws.ToString(out.VersionId), ETag: trimQuotes(aws.ToString(out.ETag)), Size: size}
}

func trimQuotes(s string) string {
	if len(s) >= 2 && s[0] == '"' {
		return s[1 : len(s)-1]
	}
	return s
}

// hashVault streams a vault version and returns its SHA-256 and metadata.
func hashVault(t *testing.T, key, version string) (string, map[string]string) {
	t.Helper()
	in := &s3.GetObjectInput{Bucket: aws.String(stack.env["VAULT_BUCKET"]), Key: aws.String(key)}
	if version != "" {
		in.VersionId = aws.String(version)
	}
	out, err := admin(t).GetObject(context.Background(), in)
	if err != nil {
		t.Fatalf("get vault %s: %v", key, err)
	}
	defer out.Body.Close()
	h := sha256.New()
	if _, err := io.Copy(h, out.Body); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil)), out.Metadata
}

// getVault reads the current vault object under key.
func getVault(t *testing.T, key string) []byte {
	t.Helper()
	out, err := admin(t).GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(stack.env["VAULT_BUCKET"]), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("get vault %s: %v", key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func openUploads(t *testing.T) []types.MultipartUpload {
	t.Helper()
	out, err := admin(t).ListMultipartUploads(context.Background(), &s3.ListMultipartUploadsInput{Bucket: aws.String(stack.env["VAULT_BUCKET"])})
	if err != nil {
		t.Fatalf("list multipart uploads: %v", err)
	}
	return out.Uploads
}

func TestBillingLargeFile(t *testing.T) {
	const size = 300 << 20
	data := make([]byte, size)
	rand.Read(data)
	want := sha256.Sum256(data)
	key := "cur2/logvault-export/data/BILLING_PERIOD=2026-11/logvault-export-00001.csv.gz"
	src := putBilling(t, key, bytes.NewReader(data), size)

	shape := "sqs-eventbridge"
	if r := invoke(t, "billing", event(t, shape, src), nil); r.code != 0 {
		t.Fatalf("invoke billing: exit %d: %s", r.code, r.stderr)
	}
	vkey := "billing/account=222222222222/" + src.Bucket + "/" + key
	got, meta := hashVault(t, vkey, "")
	if got != hex.EncodeToString(want[:]) || meta[schema.MetaSHA256] != got {
		t.Fatalf("vault bytes hash to %s, logvault-sha256 %s, source %x", got, meta[schema.MetaSHA256], want)
	}
	if meta[schema.MetaKind] != "billing" {
		t.Errorf("logvault-kind = %q", meta[schema.MetaKind])
	}
	if ups := openUploads(t); len(ups) != 0 {
		t.Errorf("%d multipart uploads left open", len(ups))
	}
	// An identical re-delivery creates no version; a changed one creates one.
	if r := invoke(t, "billing", event(t, "s3-put", src), nil); r.code != 0 {
		t.Fatalf("redelivery: %s", r.stderr)
	}
	if n := len(versions(t, vkey)); n != 1 {
		t.Fatalf("identical re-delivery: %d versions, want 1", n)
	}
	data[12345] ^= 0xff
	changed := putBilling(t, key, bytes.NewReader(data), size)
	if r := invoke(t, "billing", event(t, "sqs-s3", changed), nil); r.code != 0 {
		t.Fatalf("changed re-delivery: %s", r.stderr)
	}
	vs := versions(t, vkey)
	if len(vs) != 2 {
		t.Fatalf("changed re-delivery: %d versions, want 2", len(vs))
	}
	want2 := sha256.Sum256(data)
	if got, meta := hashVault(t, vkey, ""); got != hex.EncodeToString(want2[:]) || meta[schema.MetaSupersedes] == "" {
		t.Errorf("second version hashes to %s (want %x), supersedes %q", got, want2, meta[schema.MetaSupersedes])
	}
	if ups := openUploads(t); len(ups) != 0 {
		t.Errorf("%d multipart uploads left open", len(ups))
	}
}

func TestBillingTooLittleTime(t *testing.T) {
	const size = 64 << 20
	data := make([]byte, size)
	src := putBilling(t, "legacy/logvault-cur/20261101-20261201/3f2a/logvault-cur-1.csv.gz", bytes.NewReader(data), size)
	before := vaultVersionCount(t)
	r := invokeArgs(t, "billing", event(t, "s3-put", src), []string{"--timeout", "3s"})
	if r.code != 1 || !bytes.Contains([]byte(r.lastLine()), []byte("timeout")) {
		t.Fatalf("exit %d, last line %q: want 1 and a line about the function timeout", r.code, r.lastLine())
	}
	if after := vaultVersionCount(t); after != before {
		t.Errorf("wrote %d versions", after-before)
	}
}
