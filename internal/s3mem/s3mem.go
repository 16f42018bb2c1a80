// Package s3mem is an in-memory twin of the S3 calls logvault makes, for unit
// tests: HeadObject, PutObject and GetObject with the semantics the real
// service has (versions, conditional writes, SHA-256 checksums verified on
// upload, lower-cased user metadata, errors shaped as the SDK returns them),
// so code tested against it behaves the same against S3.
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
	seq       int
}

// BucketConfig says how a bucket created with CreateBucket behaves.
type BucketConfig struct {
	Versioned  bool   // keep every version; otherwise a write replaces the "null" version and returns no VersionId
	ObjectLock bool   // accept ObjectLockMode/RetainUntilDate on writes (S3 rejects them otherwise)
	Owner      string // account id; a call with another ExpectedBucketOwner is denied (403)
}

// Version is one stored version of an object.
type Version struct {
	VersionID       string // "null" in an unversioned bucket
	Body            []byte
	ETag            string // quoted, as S3 returns it
	ChecksumSHA256  string // base64; "" when the write asked for no checksum
	ContentType     string
	ContentEncoding string
	Metadata        map[string]string // names lower-cased, as S3 stores them
	ObjectLockMode  types.ObjectLockMode
	RetainUntil     *time.Time
	LastModified    time.Time
}

type bucket struct {
	BucketConfig
	keys map[string][]*Version // oldest first; the last one is current
}

// New returns a twin with no buckets.
func New() *Server {
	return &Server{buckets: map[string]*bucket{}, fail: map[string][]error{}}
}

// CreateBucket adds (or empties) the named bucket.
func (s *Server) CreateBucket(name string, cfg BucketConfig) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buckets[name] = &bucket{BucketConfig: cfg, keys: map[string][]*Version{}}
}

// FailNext makes the next call of op ("HeadObject", "PutObject" or
// "GetObject") return err instead of executing; calls queue up in order.
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

// Versions returns copies of every version of key, oldest first.
func (s *Server) Versions(bucketName, key string) []Version {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.buckets[bucketName]
	if b == nil {
		return nil
	}
	out := make([]Version, 0, len(b.keys[key]))
	for _, v := range b.keys[key] {
		c := *v
		c.Body, c.Metadata = bytes.Clone(v.Body), maps.Clone(v.Metadata)
		out = append(out, c)
	}
	return out
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
	sum := sha256.Sum256(body)
	checksum := base64.StdEncoding.EncodeToString(sum[:])
	if in.ChecksumSHA256 != nil && *in.ChecksumSHA256 != checksum {
		return nil, APIError(op, 400, "BadDigest", "The SHA256 you specified did not match the calculated checksum.")
	}
	if in.ChecksumSHA256 == nil && in.ChecksumAlgorithm != types.ChecksumAlgorithmSha256 {
		checksum = ""
	}
	key := aws.ToString(in.Key)
	cur := current(b.keys[key])
	switch {
	case in.IfNoneMatch != nil && *in.IfNoneMatch == "*" && cur != nil:
		return nil, preconditionFailed(op)
	case in.IfMatch != nil && cur == nil:
		return nil, APIError(op, 404, "NoSuchKey", "The specified key does not exist.")
	case in.IfMatch != nil && unquote(*in.IfMatch) != unquote(cur.ETag):
		return nil, preconditionFailed(op)
	}
	if in.ObjectLockMode != "" || in.ObjectLockRetainUntilDate != nil {
		if !b.ObjectLock {
			return nil, APIError(op, 400, "InvalidRequest", "Bucket is missing Object Lock Configuration")
		}
		if in.ObjectLockMode == "" || in.ObjectLockRetainUntilDate == nil {
			return nil, APIError(op, 400, "InvalidArgument", "x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied")
		}
	}
	md := md5.Sum(body)
	v := &Version{
		VersionID: "null", Body: body, ETag: `"` + hex.EncodeToString(md[:]) + `"`, ChecksumSHA256: checksum,
		ContentType: aws.ToString(in.ContentType), ContentEncoding: aws.ToString(in.ContentEncoding),
		Metadata: map[string]string{}, ObjectLockMode: in.ObjectLockMode, LastModified: time.Now().UTC(),
	}
	if in.ObjectLockRetainUntilDate != nil {
		t := *in.ObjectLockRetainUntilDate
		v.RetainUntil = &t
	}
	for _, k := range slices.Sorted(maps.Keys(in.Metadata)) { // HTTP headers: case-insensitive names
		v.Metadata[strings.ToLower(k)] = in.Metadata[k]
	}
	out := &s3.PutObjectOutput{ETag: &v.ETag}
	if checksum != "" {
		out.ChecksumSHA256, out.ChecksumType = &v.ChecksumSHA256, types.ChecksumTypeFullObject
	}
	if b.Versioned {
		s.seq++
		v.VersionID = fmt.Sprintf("s3mem-v%06d", s.seq)
		b.keys[key] = append(b.keys[key], v)
		out.VersionId = &v.VersionID
	} else {
		b.keys[key] = []*Version{v}
	}
	return out, nil
}

// HeadObject describes the current version of a key, or the given VersionId.
func (s *Server) HeadObject(ctx context.Context, in *s3.HeadObjectInput, _ ...func(*s3.Options)) (*s3.HeadObjectOutput, error) {
	v, versioned, err := s.find(ctx, "HeadObject", in.Bucket, in.Key, in.VersionId, in.IfMatch, in.ExpectedBucketOwner)
	if err != nil {
		return nil, err
	}
	out := &s3.HeadObjectOutput{
		ContentLength: aws.Int64(int64(len(v.Body))), ETag: &v.ETag, Metadata: v.Metadata, LastModified: &v.LastModified,
		ContentType: nilIfEmpty(v.ContentType), ContentEncoding: nilIfEmpty(v.ContentEncoding),
		ObjectLockMode: v.ObjectLockMode, ObjectLockRetainUntilDate: v.RetainUntil,
	}
	if versioned {
		out.VersionId = &v.VersionID
	}
	if in.ChecksumMode == types.ChecksumModeEnabled && v.ChecksumSHA256 != "" {
		out.ChecksumSHA256, out.ChecksumType = &v.ChecksumSHA256, types.ChecksumTypeFullObject
	}
	return out, nil
}

// GetObject reads the current version of a key, or the given VersionId.
func (s *Server) GetObject(ctx context.Context, in *s3.GetObjectInput, _ ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	v, versioned, err := s.find(ctx, "GetObject", in.Bucket, in.Key, in.VersionId, in.IfMatch, in.ExpectedBucketOwner)
	if err != nil {
		return nil, err
	}
	out := &s3.GetObjectOutput{
		Body: io.NopCloser(bytes.NewReader(v.Body)), ContentLength: aws.Int64(int64(len(v.Body))), ETag: &v.ETag,
		Metadata: v.Metadata, LastModified: &v.LastModified,
		ContentType: nilIfEmpty(v.ContentType), ContentEncoding: nilIfEmpty(v.ContentEncoding),
		ObjectLockMode: v.ObjectLockMode, ObjectLockRetainUntilDate: v.RetainUntil,
	}
	if versioned {
		out.VersionId = &v.VersionID
	}
	if in.ChecksumMode == types.ChecksumModeEnabled && v.ChecksumSHA256 != "" {
		out.ChecksumSHA256, out.ChecksumType = &v.ChecksumSHA256, types.ChecksumTypeFullObject
	}
	return out, nil
}

// find returns a copy of the version a Head or Get names. HEAD responses
// carry no body, so their 404s have the code "NotFound", as with the SDK.
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
	noKey, noVersion := "NoSuchKey", "NoSuchVersion"
	if op == "HeadObject" {
		noKey, noVersion = "NotFound", "NotFound"
	}
	versions := b.keys[aws.ToString(key)]
	v := current(versions)
	if versionID != nil {
		if !b.Versioned && *versionID != "null" {
			return nil, false, APIError(op, 400, "InvalidArgument", "Invalid version id specified")
		}
		v = nil
		for _, x := range versions {
			if x.VersionID == *versionID {
				v = x
			}
		}
		if v == nil {
			return nil, false, APIError(op, 404, noVersion, "The specified version does not exist.")
		}
	}
	if v == nil {
		return nil, false, APIError(op, 404, noKey, "The specified key does not exist.")
	}
	if ifMatch != nil && unquote(*ifMatch) != unquote(v.ETag) {
		return nil, false, preconditionFailed(op)
	}
	c := *v
	c.Metadata = maps.Clone(v.Metadata)
	return &c, b.Versioned, nil
}

// begin honours a cancelled context and an injected failure.
func (s *Server) begin(ctx context.Context, op string) error {
	if err := ctx.Err(); err != nil {
		return &smithy.OperationError{ServiceID: "S3", OperationName: op, Err: err}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
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
