package restore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/logvault/logvault/internal/schema"
	"github.com/logvault/logvault/internal/verify"
	"github.com/logvault/logvault/internal/verify/s3fake"
)

const (
	bucket = "vault"
	key    = "cloudtrail/trail/AWSLogs/1/CloudTrail/us-east-1/2026/11/26/a b+c é.json.gz"
)

var now = time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)

func meta(body []byte) map[string]string {
	s := sha256.Sum256(body)
	return map[string]string{
		schema.MetaSHA256: hex.EncodeToString(s[:]), schema.MetaKind: "cloudtrail", schema.MetaSource: "s3://trail/k",
		schema.MetaSourceVersionID: "src-v1", schema.MetaSourceETag: "etag1",
		schema.MetaShippedAt: "2026-11-26T12:00:00Z", schema.MetaShipper: "logvault-cloudtrail/dev", "signature": "3045",
	}
}

func opts() Options {
	return Options{Shipper: "logvault-restore/test", Now: func() time.Time { return now }}
}

var (
	good = []byte(`{"Records":["the original"]}`)
	evil = []byte(`{"Records":[]}`)
)

// tampered is a vault where the writer's original was overwritten.
func tampered() (*s3fake.Bucket, *s3fake.Version, *s3fake.Version) {
	b := s3fake.New(bucket)
	orig := b.Put(key, good, meta(good), 0)
	orig.ContentEncoding = "gzip"
	m := meta(evil)
	m[schema.MetaSupersedes] = orig.VersionID
	bad := b.Put(key, evil, m, 0)
	return b, orig, bad
}

func TestRestore(t *testing.T) {
	b, orig, bad := tampered()
	res, err := Restore(context.Background(), b, bucket, key, orig.VersionID, opts())
	if err != nil {
		t.Fatal(err)
	}
	vs := b.Versions(key)
	if len(vs) != 3 {
		t.Fatalf("%d versions, want 3 (nothing deleted, one added)", len(vs))
	}
	cur := vs[2]
	if !bytes.Equal(cur.Body, good) || res.VersionID != cur.VersionID || res.Outcome != Restored || res.Supersedes != bad.VersionID ||
		res.RestoredFrom != orig.VersionID || res.SHA256 != orig.Metadata[schema.MetaSHA256] || res.Bytes != int64(len(good)) || res.Multipart {
		t.Errorf("result %+v, current %q", res, cur.Body)
	}
	want := maps.Clone(orig.Metadata)
	want[schema.MetaRestoredFrom] = orig.VersionID
	want[schema.MetaSupersedes] = bad.VersionID
	want[schema.MetaShippedAt] = "2026-11-27T08:00:00Z"
	want[schema.MetaShipper] = "logvault-restore/test"
	if !maps.Equal(cur.Metadata, want) {
		t.Errorf("metadata\n got %v\nwant %v", cur.Metadata, want)
	}
	if cur.ContentEncoding != "gzip" || cur.ContentType != "application/json" || cur.Checksum != s3fake.ChecksumOf(good, nil) {
		t.Errorf("content type %q, encoding %q, checksum %q", cur.ContentType, cur.ContentEncoding, cur.Checksum)
	}
	for _, c := range b.Calls() {
		if strings.Contains(c, "Delete") {
			t.Errorf("restore called %s", c)
		}
	}

	// Verify sees the history: the key was overwritten (and restored).
	rep, err := verify.Run(context.Background(), b, bucket, "", verify.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Failures()) != 1 || rep.Failures()[0].Code != verify.Overwritten || !strings.Contains(rep.Failures()[0].Detail, "restore of "+orig.VersionID) {
		t.Errorf("verify after restore: %v", rep.Problems)
	}

	// Again: the bytes are current already, nothing is written.
	again, err := Restore(context.Background(), b, bucket, key, orig.VersionID, opts())
	if err != nil || again.Outcome != AlreadyCurrent || again.VersionID != cur.VersionID || len(b.Versions(key)) != 3 {
		t.Errorf("second restore: %+v, %v, %d versions", again, err, len(b.Versions(key)))
	}
}

func TestRestoreRefusals(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(b *s3fake.Bucket, orig, bad *s3fake.Version) string // returns the version to restore
		refused bool
		want    string
	}{
		{"delete marker", func(b *s3fake.Bucket, _, _ *s3fake.Version) string { return b.Delete(key).VersionID }, true, "delete marker"},
		{"no logvault-sha256", func(b *s3fake.Bucket, orig, _ *s3fake.Version) string {
			delete(orig.Metadata, schema.MetaSHA256)
			return orig.VersionID
		}, true, schema.MetaSHA256},
		{"bytes differ from logvault-sha256", func(b *s3fake.Bucket, orig, _ *s3fake.Version) string {
			orig.Body = []byte("rotted")
			return orig.VersionID
		}, true, "hashes to"},
		{"unknown version", func(*s3fake.Bucket, *s3fake.Version, *s3fake.Version) string { return "nope" }, false, "no version nope"},
		{"no version id", func(*s3fake.Bucket, *s3fake.Version, *s3fake.Version) string { return "" }, true, "no version id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, orig, bad := tampered()
			vid := tt.setup(b, orig, bad)
			before := len(b.Versions(key))
			_, err := Restore(context.Background(), b, bucket, key, vid, opts())
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), key) || errors.Is(err, ErrRefused) != tt.refused {
				t.Errorf("error %v, want one naming the key and %q (refused %v)", err, tt.want, tt.refused)
			}
			if n := len(b.Versions(key)); n != before {
				t.Errorf("a refused restore wrote %d versions", n-before)
			}
		})
	}
}

func TestRestoreCurrentVersion(t *testing.T) {
	b, _, bad := tampered()
	res, err := Restore(context.Background(), b, bucket, key, bad.VersionID, opts())
	if err != nil || res.Outcome != AlreadyCurrent || len(b.Versions(key)) != 2 {
		t.Errorf("restoring the current version: %+v, %v", res, err)
	}
}

func TestRestoreForgedCurrentMetadata(t *testing.T) {
	// The current version claims the original's SHA-256 but holds other
	// bytes: the restore must not take the claim for the bytes.
	b, orig, bad := tampered()
	bad.Metadata[schema.MetaSHA256] = orig.Metadata[schema.MetaSHA256]
	res, err := Restore(context.Background(), b, bucket, key, orig.VersionID, opts())
	if err != nil || res.Outcome != Restored || !bytes.Equal(b.Versions(key)[2].Body, good) {
		t.Errorf("%+v, %v", res, err)
	}
}

func TestRestoreAfterDeleteMarker(t *testing.T) {
	b, orig, _ := tampered()
	b.Delete(key)
	res, err := Restore(context.Background(), b, bucket, key, orig.VersionID, opts())
	if err != nil || res.Outcome != Restored || res.Supersedes != "" {
		t.Fatalf("%+v, %v", res, err)
	}
	vs := b.Versions(key)
	if cur := vs[len(vs)-1]; !bytes.Equal(cur.Body, good) || cur.Metadata[schema.MetaSupersedes] != "" {
		t.Errorf("current %q %v", cur.Body, cur.Metadata)
	}
}

// racing overwrites the key once, just before the first copy.
type racing struct {
	*s3fake.Bucket
	raced bool
}

func (r *racing) CopyObject(ctx context.Context, in *s3.CopyObjectInput, o ...func(*s3.Options)) (*s3.CopyObjectOutput, error) {
	if !r.raced {
		r.raced = true
		r.Put(key, []byte("racer"), meta([]byte("racer")), 0)
	}
	return r.Bucket.CopyObject(ctx, in, o...)
}

func TestRestoreRace(t *testing.T) {
	b, orig, _ := tampered()
	res, err := Restore(context.Background(), &racing{Bucket: b}, bucket, key, orig.VersionID, opts())
	if err != nil {
		t.Fatal(err)
	}
	vs := b.Versions(key)
	if len(vs) != 4 || res.Supersedes != vs[2].VersionID || vs[3].Metadata[schema.MetaSupersedes] != vs[2].VersionID || !bytes.Equal(vs[3].Body, good) {
		t.Errorf("after a race: %+v; supersedes %q, racer %s", res, vs[3].Metadata[schema.MetaSupersedes], vs[2].VersionID)
	}
}

func TestRestoreMultipartCopy(t *testing.T) {
	const mib = 1 << 20
	body := make([]byte, 17*mib+5)
	for i := range body {
		body[i] = byte(i * 31)
	}
	b := s3fake.New(bucket)
	b.Owner = "111111111111"
	orig := b.Put(key, body, meta(body), 8*mib)
	b.Put(key, evil, meta(evil), 0)
	o := opts()
	o.CopyLimit, o.ExpectedOwner = 10*mib, "111111111111"
	res, err := Restore(context.Background(), b, bucket, key, orig.VersionID, o)
	if err != nil {
		t.Fatal(err)
	}
	vs := b.Versions(key)
	cur := vs[len(vs)-1]
	if !res.Multipart || !bytes.Equal(cur.Body, body) || !slices.Equal(cur.PartSizes, []int64{8 * mib, 8 * mib, mib + 5}) ||
		cur.Metadata[schema.MetaRestoredFrom] != orig.VersionID || b.Uploads() != 0 {
		t.Errorf("%+v: parts %v, metadata %v, %d uploads open", res, cur.PartSizes, cur.Metadata, b.Uploads())
	}
	if !slices.Contains(b.Calls(), "UploadPartCopy") || slices.Contains(b.Calls(), "CopyObject") {
		t.Errorf("calls %v", b.Calls())
	}
}

// failingPart fails the second part copy.
type failingPart struct{ *s3fake.Bucket }

func (f failingPart) UploadPartCopy(ctx context.Context, in *s3.UploadPartCopyInput, o ...func(*s3.Options)) (*s3.UploadPartCopyOutput, error) {
	if *in.PartNumber == 2 {
		return nil, errors.New("boom")
	}
	return f.Bucket.UploadPartCopy(ctx, in, o...)
}

func TestRestoreMultipartCopyFailureAborts(t *testing.T) {
	const mib = 1 << 20
	body := make([]byte, 17*mib)
	b := s3fake.New(bucket)
	orig := b.Put(key, body, meta(body), 8*mib)
	b.Put(key, evil, meta(evil), 0)
	o := opts()
	o.CopyLimit = mib
	_, err := Restore(context.Background(), failingPart{b}, bucket, key, orig.VersionID, o)
	if err == nil || !strings.Contains(err.Error(), "boom") || !strings.Contains(err.Error(), "part 2") {
		t.Errorf("error %v", err)
	}
	if b.Uploads() != 0 || len(b.Versions(key)) != 2 || !slices.Contains(b.Calls(), "AbortMultipartUpload") {
		t.Errorf("%d uploads open, %d versions", b.Uploads(), len(b.Versions(key)))
	}
}

func TestCopySource(t *testing.T) {
	got := copySource("vault", "cloudtrail/t/a b+c é?x=1&y", "3/L4kqtJl.cpXs+_=")
	want := "vault/cloudtrail/t/a%20b%2Bc%20%C3%A9%3Fx%3D1%26y?versionId=3%2FL4kqtJl.cpXs%2B_%3D"
	if got != want {
		t.Errorf("copySource = %q, want %q", got, want)
	}
}
