// Package s3fake is a small in-memory versioned bucket for the unit tests of
// verify and restore: ListObjectVersions (paginated), GetObject and
// HeadObject by version (with SHA256 checksums, full or composite, and
// partNumber), CopyObject and the multipart copy calls. Tests reach into
// its versions to simulate tampering. Errors are shaped as the SDK's (see
// s3mem.APIError). Nothing here deletes.
package s3fake

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/logvault/logvault/internal/s3mem"
)

// Version is one stored version (or delete marker) of a key.
type Version struct {
	Key             string
	VersionID       string
	DeleteMarker    bool
	Body            []byte
	Metadata        map[string]string
	ContentType     string
	ContentEncoding string
	// Checksum is S3's stored SHA256 checksum ("" for none); composite
	// ("<b64>-N") when PartSizes is set.
	Checksum     string
	PartSizes    []int64
	ETag         string
	LastModified time.Time
}

// Bucket is one versioned bucket. Safe for concurrent use.
type Bucket struct {
	Name  string
	Owner string // ExpectedBucketOwner other than this is denied; "" accepts any
	// PageSize caps ListObjectVersions pages (default 1000).
	PageSize int
	// CopyLimit is CopyObject's largest source (default 5 GiB).
	CopyLimit int64
	// CopyIgnoresConditions makes CopyObject ignore IfMatch/IfNoneMatch.
	CopyIgnoresConditions bool

	mu      sync.Mutex
	keys    map[string][]*Version // oldest first
	seq     int
	clock   time.Time
	uploads map[string]*upload
	calls   []string
}

type upload struct {
	in    *s3.CreateMultipartUploadInput
	parts map[int32][]byte
}

// New returns an empty bucket.
func New(name string) *Bucket {
	return &Bucket{Name: name, keys: map[string][]*Version{}, uploads: map[string]*upload{}, clock: time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)}
}

// Calls lists the operations called so far, in order.
func (b *Bucket) Calls() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.calls...)
}

// Put stores a new version as the writer would: a SHA256 checksum (composite
// over parts of partSize when partSize > 0 and the body is larger) and the
// given metadata. It returns the version.
func (b *Bucket) Put(key string, body []byte, meta map[string]string, partSize int64) *Version {
	b.mu.Lock()
	defer b.mu.Unlock()
	v := &Version{Key: key, Body: bytes.Clone(body), Metadata: maps.Clone(meta), ContentType: "application/json"}
	if partSize > 0 && int64(len(body)) > partSize {
		for left := int64(len(body)); left > 0; left -= partSize {
			v.PartSizes = append(v.PartSizes, min(left, partSize))
		}
	}
	v.Checksum = ChecksumOf(body, v.PartSizes)
	b.add(v)
	return v
}

// PutWithParts is Put with an explicit part layout.
func (b *Bucket) PutWithParts(key string, body []byte, meta map[string]string, sizes []int64) *Version {
	b.mu.Lock()
	defer b.mu.Unlock()
	v := &Version{Key: key, Body: bytes.Clone(body), Metadata: maps.Clone(meta), PartSizes: sizes, Checksum: ChecksumOf(body, sizes)}
	b.add(v)
	return v
}

// Delete adds a delete marker (as a break-glass role could).
func (b *Bucket) Delete(key string) *Version {
	b.mu.Lock()
	defer b.mu.Unlock()
	v := &Version{Key: key, DeleteMarker: true}
	b.add(v)
	return v
}

// Versions returns key's versions, oldest first (the stored ones: tests may edit them).
func (b *Bucket) Versions(key string) []*Version {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]*Version(nil), b.keys[key]...)
}

func (b *Bucket) add(v *Version) {
	b.seq++
	b.clock = b.clock.Add(time.Second)
	v.VersionID = fmt.Sprintf("v%03d", b.seq)
	v.LastModified = b.clock
	if !v.DeleteMarker {
		sum := md5.Sum(v.Body)
		v.ETag = `"` + hex.EncodeToString(sum[:]) + `"`
		if len(v.PartSizes) > 0 {
			v.ETag = fmt.Sprintf(`"%x-%d"`, sum, len(v.PartSizes))
		}
	}
	b.keys[v.Key] = append(b.keys[v.Key], v)
}

// ChecksumOf is S3's SHA256 checksum of body: full, or composite over sizes.
func ChecksumOf(body []byte, sizes []int64) string {
	if len(sizes) == 0 {
		s := sha256.Sum256(body)
		return base64.StdEncoding.EncodeToString(s[:])
	}
	h := sha256.New()
	off := int64(0)
	for _, n := range sizes {
		end := min(off+n, int64(len(body)))
		s := sha256.Sum256(body[off:end])
		h.Write(s[:])
		off = end
	}
	return base64.StdEncoding.EncodeToString(h.Sum(nil)) + "-" + strconv.Itoa(len(sizes))
}

func (b *Bucket) begin(op string, bucket, owner *string) error {
	b.calls = append(b.calls, op)
	if aws.ToString(bucket) != b.Name {
		return s3mem.APIError(op, http.StatusNotFound, "NoSuchBucket", "no bucket "+aws.ToString(bucket))
	}
	if o := aws.ToString(owner); o != "" && b.Owner != "" && o != b.Owner {
		return s3mem.APIError(op, http.StatusForbidden, "AccessDenied", "Access Denied")
	}
	return nil
}

// find returns key's version vid, or its current version when vid is "".
func (b *Bucket) find(op, key, vid string) (*Version, error) {
	vs := b.keys[key]
	if vid == "" {
		if len(vs) == 0 || vs[len(vs)-1].DeleteMarker {
			return nil, s3mem.APIError(op, http.StatusNotFound, "NoSuchKey", "no key "+key)
		}
		return vs[len(vs)-1], nil
	}
	for _, v := range vs {
		if v.VersionID == vid {
			if v.DeleteMarker {
				return nil, s3mem.APIError(op, http.StatusMethodNotAllowed, "MethodNotAllowed", "a delete marker")
			}
			return v, nil
		}
	}
	return nil, s3mem.APIError(op, http.StatusNotFound, "NoSuchVersion", "no version "+vid+" of "+key)
}

// ListObjectVersions lists key by key, each newest first, in pages.
func (b *Bucket) ListObjectVersions(ctx context.Context, in *s3.ListObjectVersionsInput, _ ...func(*s3.Options)) (*s3.ListObjectVersionsOutput, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.begin("ListObjectVersions", in.Bucket, in.ExpectedBucketOwner); err != nil {
		return nil, err
	}
	var keys []string
	for k := range b.keys {
		if strings.HasPrefix(k, aws.ToString(in.Prefix)) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var all []*Version
	for _, k := range keys {
		vs := b.keys[k]
		for i := len(vs) - 1; i >= 0; i-- {
			all = append(all, vs[i])
		}
	}
	start := 0
	if km, vim := aws.ToString(in.KeyMarker), aws.ToString(in.VersionIdMarker); km != "" {
		start = len(all)
		for i, v := range all {
			if vim != "" && v.Key == km && v.VersionID == vim {
				start = i + 1
				break
			}
			if v.Key > km {
				start = i
				break
			}
		}
	}
	page := b.PageSize
	if page <= 0 {
		page = 1000
	}
	if m := aws.ToInt32(in.MaxKeys); m > 0 && int(m) < page {
		page = int(m)
	}
	out := &s3.ListObjectVersionsOutput{Name: in.Bucket, Prefix: in.Prefix}
	end := min(start+page, len(all))
	for i, v := range all[start:end] {
		latest := i+start == 0 || all[i+start-1].Key != v.Key
		if v.DeleteMarker {
			out.DeleteMarkers = append(out.DeleteMarkers, types.DeleteMarkerEntry{Key: aws.String(v.Key), VersionId: aws.String(v.VersionID), IsLatest: aws.Bool(latest), LastModified: aws.Time(v.LastModified)})
			continue
		}
		out.Versions = append(out.Versions, types.ObjectVersion{Key: aws.String(v.Key), VersionId: aws.String(v.VersionID), IsLatest: aws.Bool(latest),
			LastModified: aws.Time(v.LastModified), Size: aws.Int64(int64(len(v.Body))), ETag: aws.String(v.ETag)})
	}
	if end < len(all) {
		out.IsTruncated = aws.Bool(true)
		out.NextKeyMarker, out.NextVersionIdMarker = aws.String(all[end-1].Key), aws.String(all[end-1].VersionID)
	} else {
		out.IsTruncated = aws.Bool(false)
	}
	return out, nil
}

// GetObject reads a version, or a part of it with PartNumber.
func (b *Bucket) GetObject(ctx context.Context, in *s3.GetObjectInput, _ ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.begin("GetObject", in.Bucket, in.ExpectedBucketOwner); err != nil {
		return nil, err
	}
	v, err := b.find("GetObject", aws.ToString(in.Key), aws.ToString(in.VersionId))
	if err != nil {
		return nil, err
	}
	out := &s3.GetObjectOutput{
		Body: io.NopCloser(bytes.NewReader(v.Body)), ContentLength: aws.Int64(int64(len(v.Body))), Metadata: maps.Clone(v.Metadata),
		VersionId: aws.String(v.VersionID), ETag: aws.String(v.ETag), LastModified: aws.Time(v.LastModified),
		ContentType: nilIfEmpty(v.ContentType), ContentEncoding: nilIfEmpty(v.ContentEncoding),
	}
	if in.ChecksumMode == types.ChecksumModeEnabled {
		out.ChecksumSHA256 = nilIfEmpty(v.Checksum)
	}
	return out, nil
}

// HeadObject describes a version, or a part of it with PartNumber.
func (b *Bucket) HeadObject(ctx context.Context, in *s3.HeadObjectInput, _ ...func(*s3.Options)) (*s3.HeadObjectOutput, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.begin("HeadObject", in.Bucket, in.ExpectedBucketOwner); err != nil {
		return nil, err
	}
	v, err := b.find("HeadObject", aws.ToString(in.Key), aws.ToString(in.VersionId))
	if err != nil {
		return nil, err
	}
	out := &s3.HeadObjectOutput{
		ContentLength: aws.Int64(int64(len(v.Body))), Metadata: maps.Clone(v.Metadata), VersionId: aws.String(v.VersionID),
		ETag: aws.String(v.ETag), LastModified: aws.Time(v.LastModified), ContentType: nilIfEmpty(v.ContentType), ContentEncoding: nilIfEmpty(v.ContentEncoding),
	}
	if in.ChecksumMode == types.ChecksumModeEnabled {
		out.ChecksumSHA256 = nilIfEmpty(v.Checksum)
	}
	if pn := aws.ToInt32(in.PartNumber); pn > 0 {
		sizes := v.PartSizes
		if len(sizes) == 0 {
			sizes = []int64{int64(len(v.Body))}
		}
		if int(pn) > len(sizes) {
			return nil, s3mem.APIError("HeadObject", http.StatusRequestedRangeNotSatisfiable, "InvalidPartNumber", "no such part")
		}
		out.ContentLength = aws.Int64(sizes[pn-1])
		if len(v.PartSizes) > 0 {
			out.PartsCount = aws.Int32(int32(len(sizes)))
		}
		out.ChecksumSHA256 = nil
	}
	return out, nil
}

// source parses a CopySource as S3 does: URL-decoded, "bucket/key?versionId=V".
func (b *Bucket) source(op, cs string) (*Version, error) {
	path, query, _ := strings.Cut(cs, "?")
	dec, err := url.PathUnescape(path)
	if err != nil {
		return nil, s3mem.APIError(op, http.StatusBadRequest, "InvalidArgument", "copy source encoding")
	}
	bucket, key, _ := strings.Cut(strings.TrimPrefix(dec, "/"), "/")
	if bucket != b.Name {
		return nil, s3mem.APIError(op, http.StatusNotFound, "NoSuchBucket", "no bucket "+bucket)
	}
	q, err := url.ParseQuery(query)
	if err != nil {
		return nil, s3mem.APIError(op, http.StatusBadRequest, "InvalidArgument", "copy source query")
	}
	return b.find(op, key, q.Get("versionId"))
}

func (b *Bucket) conditions(op, key string, ifMatch, ifNoneMatch *string) error {
	if b.CopyIgnoresConditions {
		return nil
	}
	cur, _ := b.find(op, key, "")
	if ifNoneMatch != nil && cur != nil {
		return s3mem.APIError(op, http.StatusPreconditionFailed, "PreconditionFailed", "the key exists")
	}
	if ifMatch != nil && (cur == nil || cur.ETag != *ifMatch) {
		return s3mem.APIError(op, http.StatusPreconditionFailed, "PreconditionFailed", "the ETag differs")
	}
	return nil
}

// CopyObject writes a copy of the source version as a new version of the
// destination key: metadata replaced (or copied), a full SHA256 checksum
// when asked for.
func (b *Bucket) CopyObject(ctx context.Context, in *s3.CopyObjectInput, _ ...func(*s3.Options)) (*s3.CopyObjectOutput, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	const op = "CopyObject"
	if err := b.begin(op, in.Bucket, in.ExpectedBucketOwner); err != nil {
		return nil, err
	}
	src, err := b.source(op, aws.ToString(in.CopySource))
	if err != nil {
		return nil, err
	}
	limit := b.CopyLimit
	if limit == 0 {
		limit = 5 << 30
	}
	if int64(len(src.Body)) > limit {
		return nil, s3mem.APIError(op, http.StatusBadRequest, "InvalidRequest", "The specified copy source is larger than the maximum allowable size for a copy source")
	}
	if err := b.conditions(op, aws.ToString(in.Key), in.IfMatch, in.IfNoneMatch); err != nil {
		return nil, err
	}
	v := &Version{Key: aws.ToString(in.Key), Body: bytes.Clone(src.Body), Metadata: maps.Clone(src.Metadata), ContentType: src.ContentType, ContentEncoding: src.ContentEncoding}
	if in.MetadataDirective == types.MetadataDirectiveReplace {
		v.Metadata, v.ContentType, v.ContentEncoding = maps.Clone(in.Metadata), aws.ToString(in.ContentType), aws.ToString(in.ContentEncoding)
	}
	if in.ChecksumAlgorithm == types.ChecksumAlgorithmSha256 {
		v.Checksum = ChecksumOf(v.Body, nil)
	}
	b.add(v)
	return &s3.CopyObjectOutput{VersionId: aws.String(v.VersionID), CopySourceVersionId: aws.String(src.VersionID),
		CopyObjectResult: &types.CopyObjectResult{ETag: aws.String(v.ETag), ChecksumSHA256: nilIfEmpty(v.Checksum)}}, nil
}

// CreateMultipartUpload starts a multipart upload.
func (b *Bucket) CreateMultipartUpload(ctx context.Context, in *s3.CreateMultipartUploadInput, _ ...func(*s3.Options)) (*s3.CreateMultipartUploadOutput, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.begin("CreateMultipartUpload", in.Bucket, in.ExpectedBucketOwner); err != nil {
		return nil, err
	}
	b.seq++
	id := fmt.Sprintf("upload-%d", b.seq)
	b.uploads[id] = &upload{in: in, parts: map[int32][]byte{}}
	return &s3.CreateMultipartUploadOutput{UploadId: aws.String(id), Bucket: in.Bucket, Key: in.Key}, nil
}

// UploadPartCopy copies a byte range of a version into a part.
func (b *Bucket) UploadPartCopy(ctx context.Context, in *s3.UploadPartCopyInput, _ ...func(*s3.Options)) (*s3.UploadPartCopyOutput, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	const op = "UploadPartCopy"
	if err := b.begin(op, in.Bucket, in.ExpectedBucketOwner); err != nil {
		return nil, err
	}
	up := b.uploads[aws.ToString(in.UploadId)]
	if up == nil {
		return nil, s3mem.APIError(op, http.StatusNotFound, "NoSuchUpload", "no upload")
	}
	src, err := b.source(op, aws.ToString(in.CopySource))
	if err != nil {
		return nil, err
	}
	var from, to int64
	if _, err := fmt.Sscanf(aws.ToString(in.CopySourceRange), "bytes=%d-%d", &from, &to); err != nil || from > to || to >= int64(len(src.Body)) {
		return nil, s3mem.APIError(op, http.StatusBadRequest, "InvalidArgument", "bad range "+aws.ToString(in.CopySourceRange))
	}
	part := bytes.Clone(src.Body[from : to+1])
	up.parts[aws.ToInt32(in.PartNumber)] = part
	sum := sha256.Sum256(part)
	etag := md5.Sum(part)
	return &s3.UploadPartCopyOutput{CopyPartResult: &types.CopyPartResult{ETag: aws.String(fmt.Sprintf(`"%x"`, etag)), ChecksumSHA256: aws.String(base64.StdEncoding.EncodeToString(sum[:]))}}, nil
}

// CompleteMultipartUpload assembles the parts into a new version, checking
// each part's SHA256 as S3 does.
func (b *Bucket) CompleteMultipartUpload(ctx context.Context, in *s3.CompleteMultipartUploadInput, _ ...func(*s3.Options)) (*s3.CompleteMultipartUploadOutput, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	const op = "CompleteMultipartUpload"
	if err := b.begin(op, in.Bucket, in.ExpectedBucketOwner); err != nil {
		return nil, err
	}
	up := b.uploads[aws.ToString(in.UploadId)]
	if up == nil {
		return nil, s3mem.APIError(op, http.StatusNotFound, "NoSuchUpload", "no upload")
	}
	if err := b.conditions(op, aws.ToString(in.Key), in.IfMatch, in.IfNoneMatch); err != nil {
		return nil, err
	}
	var body []byte
	var sizes []int64
	for i, p := range in.MultipartUpload.Parts {
		data, ok := up.parts[aws.ToInt32(p.PartNumber)]
		if !ok || aws.ToInt32(p.PartNumber) != int32(i+1) {
			return nil, s3mem.APIError(op, http.StatusBadRequest, "InvalidPart", "missing part")
		}
		sum := sha256.Sum256(data)
		if aws.ToString(p.ChecksumSHA256) != base64.StdEncoding.EncodeToString(sum[:]) {
			return nil, s3mem.APIError(op, http.StatusBadRequest, "InvalidPart", "part checksum differs")
		}
		body = append(body, data...)
		sizes = append(sizes, int64(len(data)))
	}
	delete(b.uploads, aws.ToString(in.UploadId))
	v := &Version{Key: aws.ToString(in.Key), Body: body, Metadata: maps.Clone(up.in.Metadata), ContentType: aws.ToString(up.in.ContentType),
		ContentEncoding: aws.ToString(up.in.ContentEncoding), PartSizes: sizes, Checksum: ChecksumOf(body, sizes)}
	b.add(v)
	return &s3.CompleteMultipartUploadOutput{VersionId: aws.String(v.VersionID), ChecksumSHA256: aws.String(v.Checksum), ETag: aws.String(v.ETag)}, nil
}

// AbortMultipartUpload discards an unfinished upload.
func (b *Bucket) AbortMultipartUpload(ctx context.Context, in *s3.AbortMultipartUploadInput, _ ...func(*s3.Options)) (*s3.AbortMultipartUploadOutput, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.begin("AbortMultipartUpload", in.Bucket, in.ExpectedBucketOwner); err != nil {
		return nil, err
	}
	delete(b.uploads, aws.ToString(in.UploadId))
	return &s3.AbortMultipartUploadOutput{}, nil
}

// Uploads is how many multipart uploads are unfinished.
func (b *Bucket) Uploads() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.uploads)
}

func nilIfEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
