package s3mem_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/logvault/logvault/internal/s3mem"
	"github.com/logvault/logvault/internal/verify"
)

const mib = 1 << 20

func body(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i * 13)
	}
	return b
}

// wantErr checks err's HTTP status and API error code.
func wantErr(t *testing.T, what string, err error, st int, code string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: no error, want %d %s", what, st, code)
		return
	}
	if gotSt, gotCode := status(t, err); gotSt != st || gotCode != code {
		t.Errorf("%s: %d %s, want %d %s", what, gotSt, gotCode, st, code)
	}
}

func TestChecksumOf(t *testing.T) {
	b := body(11*mib + 3)
	sizes := []int64{5 * mib, 5 * mib, mib + 3}
	var parts [][32]byte
	for off, i := 0, 0; i < len(sizes); off, i = off+int(sizes[i]), i+1 {
		parts = append(parts, sha256.Sum256(b[off:off+int(sizes[i])]))
	}
	if got, want := s3mem.ChecksumOf(b, sizes), verify.Composite(parts); got != want || verify.CompositeParts(got) != 3 {
		t.Errorf("composite %q, want %q", got, want)
	}
	if got, want := s3mem.ChecksumOf(b, nil), verify.FullChecksum(sha256.Sum256(b)); got != want {
		t.Errorf("full %q, want %q", got, want)
	}
}

func TestListObjectVersions(t *testing.T) {
	ctx := context.Background()
	s := s3mem.New()
	s.CreateBucket("v", s3mem.BucketConfig{Versioned: true, PageSize: 2})
	a1 := s.Store("v", "a", s3mem.Object{Body: []byte("a1")})
	a2 := s.Store("v", "a", s3mem.Object{Body: []byte("a2")})
	b1 := s.Store("v", "b", s3mem.Object{Body: []byte("b1")})
	bdm := s.Delete("v", "b")
	s.Store("v", "other", s3mem.Object{Body: []byte("o")})
	if !bdm.DeleteMarker || bdm.VersionID == "" || bdm.VersionID == b1.VersionID {
		t.Fatalf("delete marker %+v", bdm)
	}

	type row struct {
		key, id       string
		latest, delet bool
	}
	var got []row
	in := &s3.ListObjectVersionsInput{Bucket: aws.String("v"), MaxKeys: aws.Int32(3)}
	pages := 0
	for {
		in.Prefix = nil
		out, err := s.ListObjectVersions(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if n := len(out.Versions) + len(out.DeleteMarkers); n > 2 {
			t.Errorf("page of %d entries, PageSize is 2", n)
		}
		for _, v := range out.Versions {
			if aws.ToInt64(v.Size) != 2 && aws.ToString(v.Key) != "other" || aws.ToString(v.ETag) == "" || len(v.ChecksumAlgorithm) != 1 {
				t.Errorf("version %+v", v)
			}
			got = append(got, row{aws.ToString(v.Key), aws.ToString(v.VersionId), aws.ToBool(v.IsLatest), false})
		}
		for _, d := range out.DeleteMarkers {
			got = append(got, row{aws.ToString(d.Key), aws.ToString(d.VersionId), aws.ToBool(d.IsLatest), true})
		}
		if !aws.ToBool(out.IsTruncated) {
			break
		}
		in.KeyMarker, in.VersionIdMarker = out.NextKeyMarker, out.NextVersionIdMarker
	}
	// Within a page, delete markers come after versions; keep the order by key, newest first.
	slices.SortStableFunc(got, func(x, y row) int { return strings.Compare(x.key, y.key) })
	want := []row{{"a", a2.VersionID, true, false}, {"a", a1.VersionID, false, false}, {"b", b1.VersionID, false, false}, {"b", bdm.VersionID, true, true}}
	if pages != 3 || len(got) != 5 || !slices.Equal(got[:3], want[:3]) || !slices.Contains(got, want[3]) || got[4].key != "other" {
		t.Errorf("%d pages: %v, want %v then other", pages, got, want)
	}

	out, err := s.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String("v"), Prefix: aws.String("a"), KeyMarker: aws.String("a"), VersionIdMarker: aws.String(a2.VersionID)})
	if err != nil || len(out.Versions) != 1 || aws.ToString(out.Versions[0].VersionId) != a1.VersionID || aws.ToBool(out.Versions[0].IsLatest) {
		t.Errorf("after a marker: %+v, %v", out, err)
	}
	out, err = s.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String("v"), KeyMarker: aws.String("a")})
	if err != nil || len(out.Versions) != 1 || aws.ToString(out.Versions[0].Key) != "b" || len(out.DeleteMarkers) != 1 || !aws.ToBool(out.IsTruncated) {
		t.Errorf("after key a: %+v, %v", out, err)
	}
	_, err = s.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String("nope")})
	wantErr(t, "missing bucket", err, 404, "NoSuchBucket")
}

func TestDeleteMarkers(t *testing.T) {
	ctx := context.Background()
	s := s3mem.New()
	s.CreateBucket("v", s3mem.BucketConfig{Versioned: true})
	s.CreateBucket("u", s3mem.BucketConfig{})
	v1 := s.Store("v", "k", s3mem.Object{Body: []byte("one")})
	dm := s.Delete("v", "k")

	_, err := s.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("v"), Key: aws.String("k")})
	wantErr(t, "get deleted key", err, 404, "NoSuchKey")
	_, err = s.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("v"), Key: aws.String("k")})
	wantErr(t, "head deleted key", err, 404, "NotFound")
	_, err = s.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("v"), Key: aws.String("k"), VersionId: aws.String(dm.VersionID)})
	wantErr(t, "get a delete marker", err, 405, "MethodNotAllowed")
	if g, err := s.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("v"), Key: aws.String("k"), VersionId: aws.String(v1.VersionID)}); err != nil {
		t.Errorf("older version behind a delete marker: %v", err)
	} else if b, _ := io.ReadAll(g.Body); string(b) != "one" {
		t.Errorf("older version reads %q", b)
	}
	_, err = s.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("v"), Key: aws.String("k"), Body: strings.NewReader("x"), IfMatch: aws.String(v1.ETag)})
	wantErr(t, "If-Match on a deleted key", err, 404, "NoSuchKey")
	if _, err := s.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("v"), Key: aws.String("k"), Body: strings.NewReader("x"), IfNoneMatch: aws.String("*")}); err != nil {
		t.Errorf("If-None-Match on a deleted key: %v", err)
	}
	if vs := s.Versions("v", "k"); len(vs) != 3 || !vs[1].DeleteMarker || vs[1].Body != nil || vs[1].ETag != "" {
		t.Errorf("versions %+v", vs)
	}

	s.Store("u", "k", s3mem.Object{Body: []byte("one")})
	if dm := s.Delete("u", "k"); dm.VersionID != "" || len(s.Versions("u", "k")) != 0 {
		t.Errorf("delete in an unversioned bucket: %+v, %d versions", dm, len(s.Versions("u", "k")))
	}
}

func TestParts(t *testing.T) {
	ctx := context.Background()
	s := s3mem.New()
	s.CreateBucket("v", s3mem.BucketConfig{Versioned: true})
	b := body(12*mib + 5)
	sizes := []int64{5 * mib, 5 * mib, 2*mib + 5}
	mp := s.Store("v", "mp", s3mem.Object{Body: b, PartSizes: sizes, ContentType: "text/plain"})
	single := s.Store("v", "single", s3mem.Object{Body: []byte("whole")})
	if !strings.HasSuffix(mp.ETag, `-3"`) || mp.ChecksumSHA256 != s3mem.ChecksumOf(b, sizes) || single.ChecksumSHA256 != s3mem.ChecksumOf([]byte("whole"), nil) {
		t.Errorf("multipart ETag %s checksum %s; single checksum %s", mp.ETag, mp.ChecksumSHA256, single.ChecksumSHA256)
	}

	g, err := s.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("v"), Key: aws.String("mp"), ChecksumMode: types.ChecksumModeEnabled})
	if err != nil || aws.ToString(g.ChecksumSHA256) != mp.ChecksumSHA256 || g.ChecksumType != types.ChecksumTypeComposite || g.PartsCount != nil {
		t.Fatalf("get: %+v, %v", g, err)
	}
	for pn, size := range sizes {
		h, err := s.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("v"), Key: aws.String("mp"), PartNumber: aws.Int32(int32(pn + 1)), ChecksumMode: types.ChecksumModeEnabled})
		if err != nil || aws.ToInt64(h.ContentLength) != size || aws.ToInt32(h.PartsCount) != 3 || h.ChecksumSHA256 != nil {
			t.Errorf("head part %d: %+v, %v", pn+1, h, err)
		}
	}
	g, err = s.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("v"), Key: aws.String("mp"), VersionId: aws.String(mp.VersionID), PartNumber: aws.Int32(2)})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := io.ReadAll(g.Body); !bytes.Equal(got, b[5*mib:10*mib]) || aws.ToInt32(g.PartsCount) != 3 || aws.ToInt64(g.ContentLength) != 5*mib {
		t.Errorf("get part 2: %d bytes, %d parts", len(got), aws.ToInt32(g.PartsCount))
	}
	_, err = s.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("v"), Key: aws.String("mp"), PartNumber: aws.Int32(4)})
	wantErr(t, "head part 4 of 3", err, 416, "RequestedRangeNotSatisfiable")
	_, err = s.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("v"), Key: aws.String("single"), PartNumber: aws.Int32(2)})
	wantErr(t, "get part 2 of a single PUT", err, 416, "InvalidPartNumber")
	h, err := s.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("v"), Key: aws.String("single"), PartNumber: aws.Int32(1)})
	if err != nil || aws.ToInt64(h.ContentLength) != 5 || h.PartsCount != nil {
		t.Errorf("head part 1 of a single PUT: %+v, %v", h, err)
	}
}

func copySource(bucket, key, versionID string) *string {
	return aws.String(url.PathEscape(bucket+"/"+key) + "?versionId=" + url.QueryEscape(versionID))
}

func TestCopyObject(t *testing.T) {
	ctx := context.Background()
	s := s3mem.New()
	s.CreateBucket("v", s3mem.BucketConfig{Versioned: true, Owner: "111", CopyLimit: 10})
	s.CreateBucket("src", s3mem.BucketConfig{Owner: "222"})
	s.CreateBucket("lax", s3mem.BucketConfig{Versioned: true, CopyIgnoresConditions: true})
	orig := s.Store("v", "a b", s3mem.Object{Body: []byte("original"), Metadata: map[string]string{"k": "1"}, ContentType: "text/plain", ContentEncoding: "gzip"})
	bad := s.Store("v", "a b", s3mem.Object{Body: []byte("bad")})

	out, err := s.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("v"), Key: aws.String("a b"), CopySource: copySource("v", "a b", orig.VersionID),
		IfMatch: aws.String(bad.ETag), ExpectedBucketOwner: aws.String("111"), ExpectedSourceBucketOwner: aws.String("111")})
	if err != nil {
		t.Fatal(err)
	}
	vs := s.Versions("v", "a b")
	cur := vs[len(vs)-1]
	if len(vs) != 3 || string(cur.Body) != "original" || cur.Metadata["k"] != "1" || cur.ContentType != "text/plain" || cur.ContentEncoding != "gzip" ||
		aws.ToString(out.VersionId) != cur.VersionID || aws.ToString(out.CopySourceVersionId) != orig.VersionID ||
		cur.ChecksumSHA256 != orig.ChecksumSHA256 || aws.ToString(out.CopyObjectResult.ChecksumSHA256) != orig.ChecksumSHA256 {
		t.Errorf("copy (COPY directive): %+v; current %+v", out, cur)
	}
	out, err = s.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("v"), Key: aws.String("new"), CopySource: copySource("v", "a b", bad.VersionID),
		MetadataDirective: types.MetadataDirectiveReplace, Metadata: map[string]string{"New": "2"}, ContentType: aws.String("x/y"), IfNoneMatch: aws.String("*")})
	if nv := s.Versions("v", "new"); err != nil || len(nv) != 1 || string(nv[0].Body) != "bad" || nv[0].Metadata["new"] != "2" || len(nv[0].Metadata) != 1 || nv[0].ContentType != "x/y" || nv[0].ContentEncoding != "" {
		t.Errorf("copy (REPLACE): %+v, %v", nv, err)
	}

	s.Store("src", "big", s3mem.Object{Body: []byte("more than ten bytes")})
	s.Store("src", "s", s3mem.Object{Body: []byte("small")})
	cases := []struct {
		name   string
		in     s3.CopyObjectInput
		status int
		code   string
	}{
		{"stale If-Match", s3.CopyObjectInput{Bucket: aws.String("v"), Key: aws.String("a b"), CopySource: copySource("v", "a b", orig.VersionID), IfMatch: aws.String(bad.ETag)}, 412, "PreconditionFailed"},
		{"If-None-Match on a key", s3.CopyObjectInput{Bucket: aws.String("v"), Key: aws.String("a b"), CopySource: copySource("v", "a b", orig.VersionID), IfNoneMatch: aws.String("*")}, 412, "PreconditionFailed"},
		{"over the copy limit", s3.CopyObjectInput{Bucket: aws.String("v"), Key: aws.String("big"), CopySource: aws.String("src/big")}, 400, "InvalidRequest"},
		{"source of another owner", s3.CopyObjectInput{Bucket: aws.String("v"), Key: aws.String("s"), CopySource: aws.String("src/s"), ExpectedSourceBucketOwner: aws.String("111")}, 403, "AccessDenied"},
		{"unknown source version", s3.CopyObjectInput{Bucket: aws.String("v"), Key: aws.String("s"), CopySource: copySource("v", "a b", "nope")}, 404, "NoSuchVersion"},
		{"unknown source key", s3.CopyObjectInput{Bucket: aws.String("v"), Key: aws.String("s"), CopySource: aws.String("/v/nope")}, 404, "NoSuchKey"},
		{"unknown source bucket", s3.CopyObjectInput{Bucket: aws.String("v"), Key: aws.String("s"), CopySource: aws.String("nope/s")}, 404, "NoSuchBucket"},
		{"object lock without lock", s3.CopyObjectInput{Bucket: aws.String("v"), Key: aws.String("s"), CopySource: aws.String("src/s"), ObjectLockMode: types.ObjectLockModeCompliance}, 400, "InvalidRequest"},
	}
	for _, c := range cases {
		_, err := s.CopyObject(ctx, &c.in)
		wantErr(t, c.name, err, c.status, c.code)
	}
	dm := s.Delete("v", "s3")
	_, err = s.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("v"), Key: aws.String("x"), CopySource: copySource("v", "s3", dm.VersionID)})
	wantErr(t, "copy of a delete marker", err, 400, "InvalidRequest")

	// A store without conditional copies writes regardless.
	s.Store("lax", "k", s3mem.Object{Body: []byte("k")})
	out, err = s.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("lax"), Key: aws.String("k"), CopySource: aws.String("src/s"), IfNoneMatch: aws.String("*")})
	if err != nil || out.CopySourceVersionId != nil || len(s.Versions("lax", "k")) != 2 {
		t.Errorf("copy ignoring conditions: %+v, %v", out, err)
	}
}

func TestMultipartCopy(t *testing.T) {
	ctx := context.Background()
	s := s3mem.New()
	s.CreateBucket("v", s3mem.BucketConfig{Versioned: true})
	b := body(11*mib + 7)
	src := s.Store("v", "src", s3mem.Object{Body: b})
	cs := copySource("v", "src", src.VersionID)
	sizes := []int64{5 * mib, 5 * mib, mib + 7}

	start := func(t *testing.T) *string {
		t.Helper()
		up, err := s.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String("v"), Key: aws.String("dst"),
			Metadata: map[string]string{"Restored": "yes"}, ContentType: aws.String("text/plain"), ChecksumAlgorithm: types.ChecksumAlgorithmSha256})
		if err != nil {
			t.Fatal(err)
		}
		return up.UploadId
	}
	copyParts := func(t *testing.T, id *string, sizes []int64) []types.CompletedPart {
		t.Helper()
		var parts []types.CompletedPart
		off := int64(0)
		for i, n := range sizes {
			out, err := s.UploadPartCopy(ctx, &s3.UploadPartCopyInput{Bucket: aws.String("v"), Key: aws.String("dst"), UploadId: id, PartNumber: aws.Int32(int32(i + 1)),
				CopySource: cs, CopySourceRange: aws.String(fmt.Sprintf("bytes=%d-%d", off, off+n-1))})
			if err != nil {
				t.Fatal(err)
			}
			if want := s3mem.ChecksumOf(b[off:off+n], nil); aws.ToString(out.CopyPartResult.ChecksumSHA256) != want || aws.ToString(out.CopySourceVersionId) != src.VersionID {
				t.Errorf("part %d: %+v", i+1, out)
			}
			parts = append(parts, types.CompletedPart{PartNumber: aws.Int32(int32(i + 1)), ETag: out.CopyPartResult.ETag, ChecksumSHA256: out.CopyPartResult.ChecksumSHA256})
			off += n
		}
		return parts
	}

	id := start(t)
	parts := copyParts(t, id, sizes)
	complete := func(parts []types.CompletedPart) (*s3.CompleteMultipartUploadOutput, error) {
		return s.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("v"), Key: aws.String("dst"), UploadId: id,
			MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}, IfNoneMatch: aws.String("*")})
	}
	wrong := slices.Clone(parts)
	wrong[1].ChecksumSHA256 = parts[2].ChecksumSHA256
	_, err := complete(wrong)
	wantErr(t, "a part's checksum differs", err, 400, "InvalidPart")
	_, err = complete([]types.CompletedPart{parts[1], parts[0]})
	wantErr(t, "parts out of order", err, 400, "InvalidPartOrder")
	out, err := complete(parts)
	if err != nil {
		t.Fatal(err)
	}
	vs := s.Versions("v", "dst")
	if len(vs) != 1 || !bytes.Equal(vs[0].Body, b) || !slices.Equal(vs[0].PartSizes, sizes) || vs[0].Metadata["restored"] != "yes" || vs[0].ContentType != "text/plain" ||
		aws.ToString(out.ChecksumSHA256) != s3mem.ChecksumOf(b, sizes) || vs[0].ChecksumSHA256 != s3mem.ChecksumOf(b, sizes) || aws.ToString(out.VersionId) != vs[0].VersionID ||
		s.Uploads("v") != 0 {
		t.Errorf("completed: %+v; %+v; %d uploads", out, vs, s.Uploads("v"))
	}
	_, err = complete(parts)
	wantErr(t, "completing twice", err, 404, "NoSuchUpload")

	// Parts below 5 MiB but the last are refused.
	id = start(t)
	_, err = s.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String("v"), Key: aws.String("dst"), UploadId: id,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: copyParts(t, id, []int64{mib, 10*mib + 7})}})
	wantErr(t, "a small part", err, 400, "EntityTooSmall")
	_, err = s.UploadPartCopy(ctx, &s3.UploadPartCopyInput{Bucket: aws.String("v"), Key: aws.String("dst"), UploadId: id, PartNumber: aws.Int32(1),
		CopySource: cs, CopySourceRange: aws.String(fmt.Sprintf("bytes=0-%d", len(b)))})
	wantErr(t, "a range beyond the source", err, 400, "InvalidArgument")
	if s.Uploads("v") != 1 {
		t.Errorf("%d uploads open, want 1", s.Uploads("v"))
	}
	if _, err := s.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String("v"), Key: aws.String("dst"), UploadId: id}); err != nil || s.Uploads("v") != 0 {
		t.Errorf("abort: %v, %d uploads", err, s.Uploads("v"))
	}
	_, err = s.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: aws.String("v"), Key: aws.String("dst"), UploadId: id})
	wantErr(t, "aborting twice", err, 404, "NoSuchUpload")
	if len(s.Versions("v", "dst")) != 1 {
		t.Errorf("failed uploads wrote versions")
	}

	calls := s.Calls()
	if !slices.Contains(calls, "CreateMultipartUpload") || !slices.Contains(calls, "AbortMultipartUpload") || slices.Contains(calls, "Store") || slices.Contains(calls, "PutObject") {
		t.Errorf("calls %v", calls)
	}
}

func TestTamper(t *testing.T) {
	ctx := context.Background()
	s := s3mem.New()
	s.CreateBucket("v", s3mem.BucketConfig{Versioned: true})
	v := s.Store("v", "k", s3mem.Object{Body: []byte("good"), Metadata: map[string]string{"a": "1"}})
	v.Body[0], v.Metadata["a"] = 'X', "2" // a copy: the stored version is unchanged
	s.Versions("v", "k")[0].Metadata["a"] = "3"

	s.Tamper("v", "k", v.VersionID, func(x *s3mem.Version) {
		if string(x.Body) != "good" || x.Metadata["a"] != "1" {
			t.Errorf("Tamper sees %q %v", x.Body, x.Metadata)
		}
		x.Body, x.VersionID, x.ChecksumSHA256 = []byte("rotten"), "forged", ""
		x.Metadata["B"] = "upper"
	})
	vs := s.Versions("v", "k")
	if len(vs) != 1 || vs[0].VersionID != v.VersionID || string(vs[0].Body) != "rotten" || vs[0].ETag != v.ETag || vs[0].ChecksumSHA256 != "" || vs[0].Metadata["b"] != "upper" {
		t.Errorf("tampered: %+v", vs)
	}
	g, err := s.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("v"), Key: aws.String("k"), ChecksumMode: types.ChecksumModeEnabled})
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(g.Body); string(b) != "rotten" || g.ChecksumSHA256 != nil {
		t.Errorf("get after tampering: %q, checksum %v", b, g.ChecksumSHA256)
	}
	s.FailNext("ListObjectVersions", s3mem.APIError("ListObjectVersions", 500, "InternalError", "injected"))
	_, err = s.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String("v")})
	wantErr(t, "injected list failure", err, 500, "InternalError")
	if c := s.Calls(); !slices.Equal(c, []string{"GetObject", "ListObjectVersions"}) {
		t.Errorf("calls %v", c)
	}
}

// TestConcurrent exercises the twin from many goroutines (run with -race).
func TestConcurrent(t *testing.T) {
	ctx := context.Background()
	s := s3mem.New()
	s.CreateBucket("v", s3mem.BucketConfig{Versioned: true, PageSize: 3})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			key := fmt.Sprintf("k%d", g%3)
			for i := range 20 {
				v := s.Store("v", key, s3mem.Object{Body: []byte{byte(i)}})
				s.Tamper("v", key, v.VersionID, func(v *s3mem.Version) { v.Metadata = map[string]string{"i": fmt.Sprint(i)} })
				if _, err := s.CopyObject(ctx, &s3.CopyObjectInput{Bucket: aws.String("v"), Key: aws.String(key + "c"), CopySource: copySource("v", key, v.VersionID)}); err != nil {
					t.Error(err)
				}
				if _, err := s.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String("v"), Prefix: aws.String(key)}); err != nil {
					t.Error(err)
				}
				if i%5 == 0 {
					s.Delete("v", key)
				}
				_ = s.Versions("v", key)
			}
		})
	}
	wg.Wait()
	if n := len(s.Calls()); n != 8*20*2 {
		t.Errorf("%d calls, want %d", n, 8*20*2)
	}
}
