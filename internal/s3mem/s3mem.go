// Package s3mem is an in-memory twin of the S3 calls logvault makes, for unit
// tests: HeadObject, PutObject and GetObject (with partNumber), the history
// calls ListObjectVersions, CopyObject and the multipart copy calls
// (CreateMultipartUpload, UploadPartCopy, CompleteMultipartUpload,
// AbortMultipartUpload), with the semantics the real service has (versions
// and delete markers, conditional writes, SHA-256 checksums verified on
// upload and composite for multipart objects, lower-cased user metadata,
// errors shaped as the SDK returns them), so code tested against it behaves
// the same against S3.
//
// Tests arrange what S3 holds without calls (Store, Delete), simulate
// tampering and bit rot (Tamper), inject failures and races (FailNext,
// BeforeNextPut) and inspect the outcome (Versions, Calls, Uploads).
package s3mem

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
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// Server is an in-memory S3 holding any number of buckets. It is safe for
// concurrent use; the zero value is not usable, call New.
type Server struct {
	mu        sync.Mutex
	buckets   map[string]*bucket
	fail      map[string][]error
	beforePut func(in *s3.PutObjectInput)
	seq       int // version ids
	uploadSeq int // multipart upload ids
	calls     []string
}

// BucketConfig says how a bucket created with CreateBucket behaves.
type BucketConfig struct {
	Versioned  bool   // keep every version; otherwise a write replaces the "null" version and returns no VersionId
	ObjectLock bool   // accept ObjectLockMode/RetainUntilDate on writes (S3 rejects them otherwise)
	Owner      string // account id; a call with another ExpectedBucketOwner is denied (403)
	// PageSize caps the entries of one ListObjectVersions page (default, and
	// at most, 1000, as S3), to exercise pagination.
	PageSize int
	// CopyLimit is the largest source CopyObject copies (default 5 GiB, S3's
	// limit); larger ones need a multipart copy.
	CopyLimit int64
	// CopyIgnoresConditions makes CopyObject and CompleteMultipartUpload
	// ignore IfMatch and IfNoneMatch, as stores without conditional copies do.
	CopyIgnoresConditions bool
}

// Version is one stored version (or delete marker) of an object.
type Version struct {
	VersionID string // "null" in an unversioned bucket
	// DeleteMarker marks a delete marker: it has no body, ETag nor checksum.
	DeleteMarker bool
	Body         []byte
	ETag         string // quoted, as S3 returns it ("<md5>-N" for a multipart upload)
	// ChecksumSHA256 is S3's stored SHA-256 checksum, base64; "" when the
	// write asked for none. It is composite, "<base64>-N", when PartSizes is
	// set (see ChecksumOf).
	ChecksumSHA256  string
	PartSizes       []int64 // the parts of a multipart upload, in order; nil for a single PUT or copy
	ContentType     string
	ContentEncoding string
	Metadata        map[string]string // names lower-cased, as S3 stores them
	ObjectLockMode  types.ObjectLockMode
	RetainUntil     *time.Time
	LastModified    time.Time
	// StorageClass is the PutObject's storage class; "" is STANDARD (HEAD
	// then names none, as S3 does).
	StorageClass types.StorageClass
}

type bucket struct {
	BucketConfig
	keys    map[string][]*Version // oldest first; the last one is current
	uploads map[string]*upload    // unfinished multipart uploads by id
}

// New returns a twin with no buckets.
func New() *Server {
	return &Server{buckets: map[string]*bucket{}, fail: map[string][]error{}}
}

// CreateBucket adds (or empties) the named bucket.
func (s *Server) CreateBucket(name string, cfg BucketConfig) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buckets[name] = &bucket{BucketConfig: cfg, keys: map[string][]*Version{}, uploads: map[string]*upload{}}
}

// FailNext makes the next call of op (an operation's name: "HeadObject",
// "PutObject", "GetObject", "ListObjectVersions", "CopyObject",
// "UploadPartCopy"…) return err instead of executing; calls queue up in
// order.
func (s *Server) FailNext(op string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fail[op] = append(s.fail[op], err)
}

// BeforeNextPut runs fn once, just before the next PutObject executes (after
// the caller decided to write, before S3 evaluates the request), to simulate
// a racing writer. The hook is cleared before fn runs, so fn may call
// PutObject itself, and may arm the next hook.
func (s *Server) BeforeNextPut(fn func(in *s3.PutObjectInput)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.beforePut = fn
}

// Versions returns copies of every version (and delete marker) of key,
// oldest first.
func (s *Server) Versions(bucketName, key string) []Version {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.buckets[bucketName]
	if b == nil {
		return nil
	}
	out := make([]Version, 0, len(b.keys[key]))
	for _, v := range b.keys[key] {
		out = append(out, clone(v))
	}
	return out
}

// Calls lists the operations called so far, in order, by name
// ("GetObject"…): every call that reached the twin, failed ones included.
// Store, Delete and Tamper are not calls.
func (s *Server) Calls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// APIError returns err as the SDK returns a service error: an
// *smithy.OperationError around an HTTP response error with status, around
// an API error with code (types.NoSuchKey and types.NotFound for those codes).
func APIError(op string, status int, code, message string) error {
	var apiErr error = &smithy.GenericAPIError{Code: code, Message: message}
	switch code {
	case "NoSuchKey":
		apiErr = &types.NoSuchKey{Message: &message}
	case "NotFound":
		apiErr = &types.NotFound{Message: &message}
	}
	resp := &smithyhttp.Response{Response: &http.Response{StatusCode: status, Header: http.Header{}}}
	return &smithy.OperationError{ServiceID: "S3", OperationName: op, Err: &awshttp.ResponseError{
		ResponseError: &smithyhttp.ResponseError{Response: resp, Err: apiErr}, RequestID: "S3MEM",
	}}
}

// PutObject stores a new version (or replaces the "null" version).
func (s *Server) PutObject(ctx context.Context, in *s3.PutObjectInput, _ ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	const op = "PutObject"
	if err := s.begin(ctx, op); err != nil {
		return nil, err
	}
	s.mu.Lock()
	hook := s.beforePut
	s.beforePut = nil
	s.mu.Unlock()
	if hook != nil {
		hook(in)
	}
	var body []byte
	if in.Body != nil {
		var err error
		if body, err = io.ReadAll(in.Body); err != nil {
			return nil, &smithy.OperationError{ServiceID: "S3", OperationName: op, Err: err}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := s.bucket(op, in.Bucket, in.ExpectedBucketOwner)
	if err != nil {
		return nil, err
	}
	if in.ContentLength != nil && *in.ContentLength != int64(len(body)) {
		return nil, APIError(op, 400, "IncompleteBody", "You did not provide the number of bytes specified by the Content-Length HTTP header.")
	}
	checksum := ChecksumOf(body, nil)
	if in.ChecksumSHA256 != nil && *in.ChecksumSHA256 != checksum {
		return nil, APIError(op, 400, "BadDigest", "The SHA256 you specified did not match the calculated checksum.")
	}
	if in.ChecksumSHA256 == nil && in.ChecksumAlgorithm != types.ChecksumAlgorithmSha256 {
		checksum = ""
	}
	key := aws.ToString(in.Key)
	if err := b.conditions(op, key, in.IfMatch, in.IfNoneMatch); err != nil {
		return nil, err
	}
	if err := b.lockRequest(op, in.ObjectLockMode, in.ObjectLockRetainUntilDate); err != nil {
		return nil, err
	}
	v := &Version{
		Body: body, ETag: etagOf(body, nil), ChecksumSHA256: checksum,
		ContentType: aws.ToString(in.ContentType), ContentEncoding: aws.ToString(in.ContentEncoding),
		Metadata: lower(in.Metadata), ObjectLockMode: in.ObjectLockMode, RetainUntil: timeCopy(in.ObjectLockRetainUntilDate),
		StorageClass: in.StorageClass,
	}
	s.add(b, key, v)
	out := &s3.PutObjectOutput{ETag: &v.ETag}
	if checksum != "" {
		out.ChecksumSHA256, out.ChecksumType = &v.ChecksumSHA256, types.ChecksumTypeFullObject
	}
	if b.Versioned {
		out.VersionId = &v.VersionID
	}
	return out, nil
}

// HeadObject describes the current version of a key, or the given VersionId;
// with PartNumber, that part of it (see GetObject).
func (s *Server) HeadObject(ctx context.Context, in *s3.HeadObjectInput, _ ...func(*s3.Options)) (*s3.HeadObjectOutput, error) {
	const op = "HeadObject"
	v, versioned, err := s.find(ctx, op, in.Bucket, in.Key, in.VersionId, in.IfMatch, in.ExpectedBucketOwner)
	if err != nil {
		return nil, err
	}
	body, count, err := part(op, v, in.PartNumber)
	if err != nil {
		return nil, err
	}
	out := &s3.HeadObjectOutput{
		ContentLength: aws.Int64(int64(len(body))), ETag: &v.ETag, Metadata: v.Metadata, LastModified: &v.LastModified,
		ContentType: nilIfEmpty(v.ContentType), ContentEncoding: nilIfEmpty(v.ContentEncoding),
		ObjectLockMode: v.ObjectLockMode, ObjectLockRetainUntilDate: v.RetainUntil, PartsCount: count,
	}
	if v.StorageClass != types.StorageClassStandard {
		out.StorageClass = v.StorageClass
	}
	if versioned {
		out.VersionId = &v.VersionID
	}
	if in.ChecksumMode == types.ChecksumModeEnabled && v.ChecksumSHA256 != "" && in.PartNumber == nil {
		out.ChecksumSHA256, out.ChecksumType = &v.ChecksumSHA256, checksumType(v.ChecksumSHA256)
	}
	return out, nil
}

// GetObject reads the current version of a key, or the given VersionId.
// With PartNumber it reads that part only: PartsCount then gives the parts
// of a multipart object, and a single-part object has only part 1, the
// whole object. Part reads carry no checksum (S3 would give the part's).
func (s *Server) GetObject(ctx context.Context, in *s3.GetObjectInput, _ ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	const op = "GetObject"
	v, versioned, err := s.find(ctx, op, in.Bucket, in.Key, in.VersionId, in.IfMatch, in.ExpectedBucketOwner)
	if err != nil {
		return nil, err
	}
	body, count, err := part(op, v, in.PartNumber)
	if err != nil {
		return nil, err
	}
	var contentRange *string
	if r := aws.ToString(in.Range); r != "" {
		var from, to int64
		if _, err := fmt.Sscanf(r, "bytes=%d-%d", &from, &to); err != nil || from < 0 || from > to || from >= int64(len(body)) {
			return nil, APIError(op, 416, "InvalidRange", "The requested range is not satisfiable")
		}
		to = min(to, int64(len(body))-1)
		contentRange = aws.String(fmt.Sprintf("bytes %d-%d/%d", from, to, len(body)))
		body = body[from : to+1]
	}
	out := &s3.GetObjectOutput{
		Body: io.NopCloser(bytes.NewReader(body)), ContentLength: aws.Int64(int64(len(body))), ContentRange: contentRange, ETag: &v.ETag,
		Metadata: v.Metadata, LastModified: &v.LastModified,
		ContentType: nilIfEmpty(v.ContentType), ContentEncoding: nilIfEmpty(v.ContentEncoding),
		ObjectLockMode: v.ObjectLockMode, ObjectLockRetainUntilDate: v.RetainUntil, PartsCount: count,
	}
	if versioned {
		out.VersionId = &v.VersionID
	}
	if in.ChecksumMode == types.ChecksumModeEnabled && v.ChecksumSHA256 != "" && in.PartNumber == nil {
		out.ChecksumSHA256, out.ChecksumType = &v.ChecksumSHA256, checksumType(v.ChecksumSHA256)
	}
	return out, nil
}

// find returns a copy of the version a Head or Get names. HEAD responses
// carry no body, so their errors have the code the SDK derives from the
// status ("NotFound" for 404s).
func (s *Server) find(ctx context.Context, op string, bucketName, key, versionID, ifMatch, owner *string) (*Version, bool, error) {
	if err := s.begin(ctx, op); err != nil {
		return nil, false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := s.bucket(op, bucketName, owner)
	if err != nil {
		return nil, false, err
	}
	v, err := b.lookup(op, aws.ToString(key), versionID)
	if err != nil {
		return nil, false, err
	}
	if ifMatch != nil && unquote(*ifMatch) != unquote(v.ETag) {
		return nil, false, preconditionFailed(op)
	}
	c := *v // the stored body is never written to, only replaced
	c.Metadata = maps.Clone(v.Metadata)
	return &c, b.Versioned, nil
}

// lookup returns key's version versionID, or its current version when
// versionID is nil, with the errors op gets from S3; the caller holds s.mu.
func (b *bucket) lookup(op, key string, versionID *string) (*Version, error) {
	noKey, noVersion := "NoSuchKey", "NoSuchVersion"
	if op == "HeadObject" {
		noKey, noVersion = "NotFound", "NotFound"
	}
	versions := b.keys[key]
	v := current(versions)
	if versionID != nil {
		if !b.Versioned && *versionID != "null" {
			return nil, APIError(op, 400, "InvalidArgument", "Invalid version id specified")
		}
		v = nil
		for _, x := range versions {
			if x.VersionID == *versionID {
				v = x
			}
		}
		if v == nil {
			return nil, APIError(op, 404, noVersion, "The specified version does not exist.")
		}
		if v.DeleteMarker {
			if op == "CopyObject" || op == "UploadPartCopy" {
				return nil, APIError(op, 400, "InvalidRequest", "The source of a copy request may not specifically refer to a delete marker by version id.")
			}
			return nil, APIError(op, 405, "MethodNotAllowed", "The specified method is not allowed against this resource.")
		}
	}
	if v == nil || v.DeleteMarker {
		return nil, APIError(op, 404, noKey, "The specified key does not exist.")
	}
	return v, nil
}

// part cuts v's body to part pn (none: the whole body) and gives the parts
// count S3 reports for it.
func part(op string, v *Version, pn *int32) ([]byte, *int32, error) {
	if pn == nil {
		return v.Body, nil, nil
	}
	sizes := v.PartSizes
	if len(sizes) == 0 {
		sizes = []int64{int64(len(v.Body))}
	}
	n := int(*pn)
	if n < 1 || n > len(sizes) {
		code := "InvalidPartNumber"
		if op == "HeadObject" {
			code = "RequestedRangeNotSatisfiable"
		}
		return nil, nil, APIError(op, 416, code, "The requested partnumber is not satisfiable")
	}
	var from int64
	for _, size := range sizes[:n-1] {
		from += size
	}
	from = min(from, int64(len(v.Body)))
	to := min(from+sizes[n-1], int64(len(v.Body)))
	var count *int32
	if len(v.PartSizes) > 0 {
		count = aws.Int32(int32(len(v.PartSizes)))
	}
	return v.Body[from:to], count, nil
}

// begin honours a cancelled context, records the call and returns an
// injected failure.
func (s *Server) begin(ctx context.Context, op string) error {
	if err := ctx.Err(); err != nil {
		return &smithy.OperationError{ServiceID: "S3", OperationName: op, Err: err}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, op)
	if q := s.fail[op]; len(q) > 0 {
		s.fail[op] = q[1:]
		return q[0]
	}
	return nil
}

// bucket looks a bucket up; the caller holds s.mu.
func (s *Server) bucket(op string, name, owner *string) (*bucket, error) {
	b := s.buckets[aws.ToString(name)]
	if b == nil {
		return nil, APIError(op, 404, "NoSuchBucket", "The specified bucket does not exist")
	}
	if owner != nil && b.Owner != "" && *owner != b.Owner {
		return nil, APIError(op, 403, "AccessDenied", "Access Denied")
	}
	return b, nil
}

// conditions evaluates a write's If-Match and If-None-Match against key's
// current version (a delete marker reads as no object); the caller holds s.mu.
func (b *bucket) conditions(op, key string, ifMatch, ifNoneMatch *string) error {
	cur := current(b.keys[key])
	if cur != nil && cur.DeleteMarker {
		cur = nil
	}
	switch {
	case ifNoneMatch != nil && *ifNoneMatch == "*" && cur != nil:
		return preconditionFailed(op)
	case ifMatch != nil && cur == nil:
		return APIError(op, 404, "NoSuchKey", "The specified key does not exist.")
	case ifMatch != nil && unquote(*ifMatch) != unquote(cur.ETag):
		return preconditionFailed(op)
	}
	return nil
}

// lockRequest checks a write's Object Lock settings against the bucket.
func (b *bucket) lockRequest(op string, mode types.ObjectLockMode, until *time.Time) error {
	if mode == "" && until == nil {
		return nil
	}
	if !b.ObjectLock {
		return APIError(op, 400, "InvalidRequest", "Bucket is missing Object Lock Configuration")
	}
	if mode == "" || until == nil {
		return APIError(op, 400, "InvalidArgument", "x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied")
	}
	return nil
}

// add stores v as key's new current version (the "null" version of an
// unversioned bucket), naming and dating it; the caller holds s.mu.
func (s *Server) add(b *bucket, key string, v *Version) {
	v.LastModified = time.Now().UTC()
	if !b.Versioned {
		v.VersionID = "null"
		b.keys[key] = []*Version{v}
		return
	}
	s.seq++
	v.VersionID = fmt.Sprintf("s3mem-v%06d", s.seq)
	b.keys[key] = append(b.keys[key], v)
}

// ChecksumOf is S3's SHA-256 checksum of body, base64: of the whole body
// without partSizes, otherwise the composite of a multipart upload in parts
// of those sizes: the checksum of the parts' concatenated SHA-256 digests,
// followed by "-" and the number of parts.
func ChecksumOf(body []byte, partSizes []int64) string {
	if len(partSizes) == 0 {
		sum := sha256.Sum256(body)
		return base64.StdEncoding.EncodeToString(sum[:])
	}
	h := sha256.New()
	for _, p := range split(body, partSizes) {
		sum := sha256.Sum256(p)
		h.Write(sum[:])
	}
	return base64.StdEncoding.EncodeToString(h.Sum(nil)) + fmt.Sprintf("-%d", len(partSizes))
}

// etagOf is S3's ETag of body: its MD5, or for a multipart upload the MD5
// of the parts' concatenated MD5s followed by "-" and the number of parts.
func etagOf(body []byte, partSizes []int64) string {
	if len(partSizes) == 0 {
		sum := md5.Sum(body)
		return `"` + hex.EncodeToString(sum[:]) + `"`
	}
	h := md5.New()
	for _, p := range split(body, partSizes) {
		sum := md5.Sum(p)
		h.Write(sum[:])
	}
	return fmt.Sprintf(`"%x-%d"`, h.Sum(nil), len(partSizes))
}

// split cuts body in parts of sizes (the last ones short or empty if body is).
func split(body []byte, sizes []int64) [][]byte {
	parts := make([][]byte, 0, len(sizes))
	off := int64(0)
	for _, n := range sizes {
		end := min(off+n, int64(len(body)))
		parts = append(parts, body[off:end])
		off = end
	}
	return parts
}

func checksumType(checksum string) types.ChecksumType {
	if strings.Contains(checksum, "-") { // not in the base64 alphabet
		return types.ChecksumTypeComposite
	}
	return types.ChecksumTypeFullObject
}

// clone copies a version, its slices and map included.
func clone(v *Version) Version {
	c := *v
	c.Body, c.Metadata, c.PartSizes = bytes.Clone(v.Body), maps.Clone(v.Metadata), slices.Clone(v.PartSizes)
	c.RetainUntil = timeCopy(v.RetainUntil)
	return c
}

// lower copies user metadata with its names lower-cased, as S3 stores them
// (HTTP headers: case-insensitive names).
func lower(md map[string]string) map[string]string {
	out := make(map[string]string, len(md))
	for _, k := range slices.Sorted(maps.Keys(md)) {
		out[strings.ToLower(k)] = md[k]
	}
	return out
}

func timeCopy(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	c := *t
	return &c
}

func current(vs []*Version) *Version {
	if len(vs) == 0 {
		return nil
	}
	return vs[len(vs)-1]
}

func preconditionFailed(op string) error {
	return APIError(op, 412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold")
}

func unquote(s string) string { return strings.Trim(s, `"`) }

func nilIfEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
