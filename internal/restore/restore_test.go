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

	"github.com/logvault/logvault/internal/s3mem"
	"github.com/logvault/logvault/internal/schema"
	"github.com/logvault/logvault/internal/verify"
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

// newVault is an empty versioned vault bucket (of owner, when set).
func newVault(owner string) *s3mem.Server {
	b := s3mem.New()
	b.CreateBucket(bucket, s3mem.BucketConfig{Versioned: true, Owner: owner})
	return b
}

// put writes a version of key as the writer does: a SHA-256 checksum,
// composite over parts of partSizes when set.
func put(b *s3mem.Server, body []byte, m map[string]string, partSizes ...int64) s3mem.Version {
	return b.Store(bucket, key, s3mem.Object{Body: body, Metadata: m, ContentType: "application/json", PartSizes: partSizes})
}

// tampered is a vault where the writer's original was overwritten.
func tampered() (*s3mem.Server, s3mem.Version, s3mem.Version) {
	b := newVault("")
	orig := b.Store(bucket, key, s3mem.Object{Body: good, Metadata: meta(good), ContentType: "application/json", ContentEncoding: "gzip"})
	m := meta(evil)
	m[schema.MetaSupersedes] = orig.VersionID
	bad := put(b, evil, m)
	return b, orig, bad
}

func TestRestore(t *testing.T) {
	b, orig, bad := tampered()
	res, err := Restore(context.Background(), b, bucket, key, orig.VersionID, opts())
	if err != nil {
		t.Fatal(err)
	}
	vs := b.Versions(bucket, key)
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
	if cur.ContentEncoding != "gzip" || cur.ContentType != "application/json" || cur.ChecksumSHA256 != s3mem.ChecksumOf(good, nil) {
		t.Errorf("content type %q, encoding %q, checksum %q", cur.ContentType, cur.ContentEncoding, cur.ChecksumSHA256)
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
	if err != nil || again.Outcome != AlreadyCurrent || again.VersionID != cur.VersionID || len(b.Versions(bucket, key)) != 3 {
		t.Errorf("second restore: %+v, %v, %d versions", again, err, len(b.Versions(bucket, key)))
	}
}

func TestRestoreRefusals(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(b *s3mem.Server, orig, bad s3mem.Version) string // returns the version to restore
		refused bool
		want    string
	}{
		{"delete marker", func(b *s3mem.Server, _, _ s3mem.Version) string { return b.Delete(bucket, key).VersionID }, true, "delete marker"},
		{"no logvault-sha256", func(b *s3mem.Server, orig, _ s3mem.Version) string {
			b.Tamper(bucket, key, orig.VersionID, func(v *s3mem.Version) { delete(v.Metadata, schema.MetaSHA256) })
			return orig.VersionID
		}, true, schema.MetaSHA256},
		{"bytes differ from logvault-sha256", func(b *s3mem.Server, orig, _ s3mem.Version) string {
			b.Tamper(bucket, key, orig.VersionID, func(v *s3mem.Version) { v.Body = []byte("rotted") })
			return orig.VersionID
		}, true, "hashes to"},
		{"unknown version", func(*s3mem.Server, s3mem.Version, s3mem.Version) string { return "nope" }, false, "no version nope"},
		{"no version id", func(*s3mem.Server, s3mem.Version, s3mem.Version) string { return "" }, true, "no version id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, orig, bad := tampered()
			vid := tt.setup(b, orig, bad)
			before := len(b.Versions(bucket, key))
			_, err := Restore(context.Background(), b, bucket, key, vid, opts())
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), key) || errors.Is(err, ErrRefused) != tt.refused {
				t.Errorf("error %v, want one naming the key and %q (refused %v)", err, tt.want, tt.refused)
			}
			if n := len(b.Versions(bucket, key)); n != before {
				t.Errorf("a refused restore wrote %d versions", n-before)
			}
		})
	}
}

func TestRestoreCurrentVersion(t *testing.T) {
	b, _, bad := tampered()
	res, err := Restore(context.Background(), b, bucket, key, bad.VersionID, opts())
	if err != nil || res.Outcome != AlreadyCurrent || len(b.Versions(bucket, key)) != 2 {
		t.Errorf("restoring the current version: %+v, %v", res, err)
	}
}

func TestRestoreForgedCurrentMetadata(t *testing.T) {
	// The current version claims the original's SHA-256 but holds other
	// bytes: the restore must not take the claim for the bytes.
	b, orig, bad := tampered()
	b.Tamper(bucket, key, bad.VersionID, func(v *s3mem.Version) { v.Metadata[schema.MetaSHA256] = orig.Metadata[schema.MetaSHA256] })
	res, err := Restore(context.Background(), b, bucket, key, orig.VersionID, opts())
	if err != nil || res.Outcome != Restored || !bytes.Equal(b.Versions(bucket, key)[2].Body, good) {
		t.Errorf("%+v, %v", res, err)
	}
}

func TestRestoreAfterDeleteMarker(t *testing.T) {
	b, orig, _ := tampered()
	b.Delete(bucket, key)
	res, err := Restore(context.Background(), b, bucket, key, orig.VersionID, opts())
	if err != nil || res.Outcome != Restored || res.Supersedes != "" {
		t.Fatalf("%+v, %v", res, err)
	}
	vs := b.Versions(bucket, key)
	if cur := vs[len(vs)-1]; !bytes.Equal(cur.Body, good) || cur.Metadata[schema.MetaSupersedes] != "" {
		t.Errorf("current %q %v", cur.Body, cur.Metadata)
	}
}

// racing overwrites the key once, just before the first copy.
type racing struct {
	*s3mem.Server
	raced bool
}

func (r *racing) CopyObject(ctx context.Context, in *s3.CopyObjectInput, o ...func(*s3.Options)) (*s3.CopyObjectOutput, error) {
	if !r.raced {
		r.raced = true
		put(r.Server, []byte("racer"), meta([]byte("racer")))
	}
	return r.Server.CopyObject(ctx, in, o...)
}

func TestRestoreRace(t *testing.T) {
	b, orig, _ := tampered()
	res, err := Restore(context.Background(), &racing{Server: b}, bucket, key, orig.VersionID, opts())
	if err != nil {
		t.Fatal(err)
	}
	vs := b.Versions(bucket, key)
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
	b := newVault("111111111111")
	orig := put(b, body, meta(body), 8*mib, 8*mib, mib+5) // the writer's 8 MiB parts
	put(b, evil, meta(evil))
	o := opts()
	o.CopyLimit, o.ExpectedOwner = 10*mib, "111111111111"
	res, err := Restore(context.Background(), b, bucket, key, orig.VersionID, o)
	if err != nil {
		t.Fatal(err)
	}
	vs := b.Versions(bucket, key)
	cur := vs[len(vs)-1]
	if !res.Multipart || !bytes.Equal(cur.Body, body) || !slices.Equal(cur.PartSizes, []int64{8 * mib, 8 * mib, mib + 5}) ||
		cur.Metadata[schema.MetaRestoredFrom] != orig.VersionID || b.Uploads(bucket) != 0 {
		t.Errorf("%+v: parts %v, metadata %v, %d uploads open", res, cur.PartSizes, cur.Metadata, b.Uploads(bucket))
	}
	if !slices.Contains(b.Calls(), "UploadPartCopy") || slices.Contains(b.Calls(), "CopyObject") {
		t.Errorf("calls %v", b.Calls())
	}
}

// failingPart fails the second part copy.
type failingPart struct{ *s3mem.Server }

func (f failingPart) UploadPartCopy(ctx context.Context, in *s3.UploadPartCopyInput, o ...func(*s3.Options)) (*s3.UploadPartCopyOutput, error) {
	if *in.PartNumber == 2 {
		return nil, errors.New("boom")
	}
	return f.Server.UploadPartCopy(ctx, in, o...)
}

func TestRestoreMultipartCopyFailureAborts(t *testing.T) {
	const mib = 1 << 20
	body := make([]byte, 17*mib)
	b := newVault("")
	orig := put(b, body, meta(body), 8*mib, 8*mib, mib) // the writer's 8 MiB parts
	put(b, evil, meta(evil))
	o := opts()
	o.CopyLimit = mib
	_, err := Restore(context.Background(), failingPart{b}, bucket, key, orig.VersionID, o)
	if err == nil || !strings.Contains(err.Error(), "boom") || !strings.Contains(err.Error(), "part 2") {
		t.Errorf("error %v", err)
	}
	if b.Uploads(bucket) != 0 || len(b.Versions(bucket, key)) != 2 || !slices.Contains(b.Calls(), "AbortMultipartUpload") {
		t.Errorf("%d uploads open, %d versions", b.Uploads(bucket), len(b.Versions(bucket, key)))
	}
}
