package s3mem

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// minPartSize is the smallest part but the last S3 completes an upload with.
const minPartSize = 5 << 20

// upload is an unfinished multipart upload.
type upload struct {
	key             string
	metadata        map[string]string
	contentType     string
	contentEncoding string
	sha256          bool // parts carry SHA-256 checksums, the object a composite one
	lockMode        types.ObjectLockMode
	retainUntil     *time.Time
	parts           map[int32]uploadedPart
}

type uploadedPart struct {
	body []byte
	etag string
}

// CopyObject writes a copy of the source version (CopySource,
// "bucket/key?versionId=V" URL-encoded, in any bucket of the twin) as a new
// version of the key: its metadata, content type and encoding copied, or
// the request's with MetadataDirective REPLACE; a full-object SHA-256
// checksum when asked for or when the source has one. It honours IfMatch and
// IfNoneMatch (unless the bucket's CopyIgnoresConditions) and refuses a
// source larger than the bucket's CopyLimit.
func (s *Server) CopyObject(ctx context.Context, in *s3.CopyObjectInput, _ ...func(*s3.Options)) (*s3.CopyObjectOutput, error) {
	const op = "CopyObject"
	if err := s.begin(ctx, op); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := s.bucket(op, in.Bucket, in.ExpectedBucketOwner)
	if err != nil {
		return nil, err
	}
	src, srcBucket, err := s.source(op, in.CopySource, in.ExpectedSourceBucketOwner)
	if err != nil {
		return nil, err
	}
	limit := b.CopyLimit
	if limit <= 0 {
		limit = 5 << 30
	}
	if int64(len(src.Body)) > limit {
		return nil, APIError(op, 400, "InvalidRequest", "The specified copy source is larger than the maximum allowable size for a copy source: "+fmt.Sprint(limit))
	}
	key := aws.ToString(in.Key)
	if !b.CopyIgnoresConditions {
		if err := b.conditions(op, key, in.IfMatch, in.IfNoneMatch); err != nil {
			return nil, err
		}
	}
	if err := b.lockRequest(op, in.ObjectLockMode, in.ObjectLockRetainUntilDate); err != nil {
		return nil, err
	}
	v := &Version{
		Body: bytes.Clone(src.Body), ETag: etagOf(src.Body, nil), Metadata: lower(src.Metadata),
		ContentType: src.ContentType, ContentEncoding: src.ContentEncoding,
		ObjectLockMode: in.ObjectLockMode, RetainUntil: timeCopy(in.ObjectLockRetainUntilDate),
	}
	if in.MetadataDirective == types.MetadataDirectiveReplace {
		v.Metadata, v.ContentType, v.ContentEncoding = lower(in.Metadata), aws.ToString(in.ContentType), aws.ToString(in.ContentEncoding)
	}
	if in.ChecksumAlgorithm == types.ChecksumAlgorithmSha256 || (in.ChecksumAlgorithm == "" && src.ChecksumSHA256 != "") {
		v.ChecksumSHA256 = ChecksumOf(v.Body, nil)
	}
	s.add(b, key, v)
	out := &s3.CopyObjectOutput{CopyObjectResult: &types.CopyObjectResult{ETag: aws.String(v.ETag), LastModified: aws.Time(v.LastModified)}}
	if v.ChecksumSHA256 != "" {
		out.CopyObjectResult.ChecksumSHA256, out.CopyObjectResult.ChecksumType = aws.String(v.ChecksumSHA256), types.ChecksumTypeFullObject
	}
	if b.Versioned {
		out.VersionId = aws.String(v.VersionID)
	}
	if srcBucket.Versioned {
		out.CopySourceVersionId = aws.String(src.VersionID)
	}
	return out, nil
}

// source finds the version a CopySource names, "bucket/key" URL-encoded
// (a leading "/" allowed) with an optional "?versionId=V", in a bucket of
// the given owner; the caller holds s.mu.
func (s *Server) source(op string, copySource, owner *string) (*Version, *bucket, error) {
	path, query, _ := strings.Cut(aws.ToString(copySource), "?")
	dec, err := url.PathUnescape(path)
	if err != nil {
		return nil, nil, APIError(op, 400, "InvalidArgument", "Invalid copy source encoding")
	}
	name, key, _ := strings.Cut(strings.TrimPrefix(dec, "/"), "/")
	if name == "" || key == "" {
		return nil, nil, APIError(op, 400, "InvalidArgument", "Copy Source must mention the source bucket and key: sourcebucket/sourcekey")
	}
	b, err := s.bucket(op, &name, owner)
	if err != nil {
		return nil, nil, err
	}
	q, err := url.ParseQuery(query)
	if err != nil {
		return nil, nil, APIError(op, 400, "InvalidArgument", "Invalid copy source encoding")
	}
	var versionID *string
	if q.Has("versionId") {
		versionID = aws.String(q.Get("versionId"))
	}
	v, err := b.lookup(op, key, versionID)
	return v, b, err
}

// CreateMultipartUpload starts a multipart upload of Key; its metadata,
// content type and encoding, checksum algorithm and Object Lock settings
// are those of the version CompleteMultipartUpload makes.
func (s *Server) CreateMultipartUpload(ctx context.Context, in *s3.CreateMultipartUploadInput, _ ...func(*s3.Options)) (*s3.CreateMultipartUploadOutput, error) {
	const op = "CreateMultipartUpload"
	if err := s.begin(ctx, op); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := s.bucket(op, in.Bucket, in.ExpectedBucketOwner)
	if err != nil {
		return nil, err
	}
	if err := b.lockRequest(op, in.ObjectLockMode, in.ObjectLockRetainUntilDate); err != nil {
		return nil, err
	}
	sha := in.ChecksumAlgorithm == types.ChecksumAlgorithmSha256
	if sha && in.ChecksumType == types.ChecksumTypeFullObject {
		return nil, APIError(op, 400, "InvalidRequest", "The FULL_OBJECT checksum type is not supported with the SHA256 checksum algorithm")
	}
	s.uploadSeq++
	id := fmt.Sprintf("s3mem-upload-%06d", s.uploadSeq)
	b.uploads[id] = &upload{
		key: aws.ToString(in.Key), metadata: lower(in.Metadata), contentType: aws.ToString(in.ContentType),
		contentEncoding: aws.ToString(in.ContentEncoding), sha256: sha, lockMode: in.ObjectLockMode,
		retainUntil: timeCopy(in.ObjectLockRetainUntilDate), parts: map[int32]uploadedPart{},
	}
	out := &s3.CreateMultipartUploadOutput{Bucket: in.Bucket, Key: in.Key, UploadId: aws.String(id)}
	if sha {
		out.ChecksumAlgorithm, out.ChecksumType = types.ChecksumAlgorithmSha256, types.ChecksumTypeComposite
	}
	return out, nil
}

// partOf finds the upload a part is sent to and checks its number; the
// caller holds s.mu.
func (s *Server) partOf(op string, bucket, owner, key, id *string, number *int32) (*upload, int32, error) {
	b, err := s.bucket(op, bucket, owner)
	if err != nil {
		return nil, 0, err
	}
	up, err := b.upload(op, key, id)
	if err != nil {
		return nil, 0, err
	}
	pn := aws.ToInt32(number)
	if pn < 1 || pn > 10000 {
		return nil, 0, APIError(op, 400, "InvalidArgument", "Part number must be an integer between 1 and 10000, inclusive")
	}
	return up, pn, nil
}

// UploadPartCopy copies CopySourceRange ("bytes=first-last"; the whole
// source without it) of a version into part PartNumber of an upload,
// replacing an earlier copy of that part.
func (s *Server) UploadPartCopy(ctx context.Context, in *s3.UploadPartCopyInput, _ ...func(*s3.Options)) (*s3.UploadPartCopyOutput, error) {
	const op = "UploadPartCopy"
	if err := s.begin(ctx, op); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	up, pn, err := s.partOf(op, in.Bucket, in.ExpectedBucketOwner, in.Key, in.UploadId, in.PartNumber)
	if err != nil {
		return nil, err
	}
	src, srcBucket, err := s.source(op, in.CopySource, in.ExpectedSourceBucketOwner)
	if err != nil {
		return nil, err
	}
	if m := aws.ToString(in.CopySourceIfMatch); m != "" && unquote(m) != unquote(src.ETag) {
		return nil, APIError(op, 412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold")
	}
	body := src.Body
	if r := aws.ToString(in.CopySourceRange); r != "" {
		var from, to int64
		if _, err := fmt.Sscanf(r, "bytes=%d-%d", &from, &to); err != nil || fmt.Sprintf("bytes=%d-%d", from, to) != r ||
			from < 0 || from > to || to >= int64(len(body)) {
			return nil, APIError(op, 400, "InvalidArgument", "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy: "+r)
		}
		body = body[from : to+1]
	}
	p := uploadedPart{body: bytes.Clone(body), etag: etagOf(body, nil)}
	up.parts[pn] = p
	out := &s3.UploadPartCopyOutput{CopyPartResult: &types.CopyPartResult{ETag: aws.String(p.etag), LastModified: aws.Time(time.Now().UTC())}}
	if up.sha256 {
		out.CopyPartResult.ChecksumSHA256 = aws.String(ChecksumOf(p.body, nil))
	}
	if srcBucket.Versioned {
		out.CopySourceVersionId = aws.String(src.VersionID)
	}
	return out, nil
}

// UploadPart stores Body as part PartNumber of an upload, replacing an
// earlier upload of that part; a ChecksumSHA256 that is not the body's is
// refused (BadDigest), as S3 does.
func (s *Server) UploadPart(ctx context.Context, in *s3.UploadPartInput, _ ...func(*s3.Options)) (*s3.UploadPartOutput, error) {
	const op = "UploadPart"
	if err := s.begin(ctx, op); err != nil {
		return nil, err
	}
	var body []byte
	if in.Body != nil {
		b, err := io.ReadAll(in.Body)
		if err != nil {
			return nil, APIError(op, 400, "IncompleteBody", err.Error())
		}
		body = b
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	up, pn, err := s.partOf(op, in.Bucket, in.ExpectedBucketOwner, in.Key, in.UploadId, in.PartNumber)
	if err != nil {
		return nil, err
	}
	sum := ChecksumOf(body, nil)
	if c := aws.ToString(in.ChecksumSHA256); c != "" && c != sum {
		return nil, APIError(op, 400, "BadDigest", "The SHA256 you specified did not match the calculated checksum.")
	}
	p := uploadedPart{body: body, etag: etagOf(body, nil)}
	up.parts[pn] = p
	out := &s3.UploadPartOutput{ETag: aws.String(p.etag)}
	if up.sha256 {
		out.ChecksumSHA256 = aws.String(sum)
	}
	return out, nil
}

// CompleteMultipartUpload assembles the listed parts, in ascending order,
// into a new version of the key, checking as S3 does each part's ETag and
// (for a SHA-256 upload) checksum, and that every part but the last holds
// at least 5 MiB. The version's checksum is the composite of its parts'.
// It honours IfMatch and IfNoneMatch (unless the bucket's
// CopyIgnoresConditions).
func (s *Server) CompleteMultipartUpload(ctx context.Context, in *s3.CompleteMultipartUploadInput, _ ...func(*s3.Options)) (*s3.CompleteMultipartUploadOutput, error) {
	const op = "CompleteMultipartUpload"
	if err := s.begin(ctx, op); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := s.bucket(op, in.Bucket, in.ExpectedBucketOwner)
	if err != nil {
		return nil, err
	}
	up, err := b.upload(op, in.Key, in.UploadId)
	if err != nil {
		return nil, err
	}
	key := aws.ToString(in.Key)
	if !b.CopyIgnoresConditions {
		if err := b.conditions(op, key, in.IfMatch, in.IfNoneMatch); err != nil {
			return nil, err
		}
	}
	if in.MultipartUpload == nil || len(in.MultipartUpload.Parts) == 0 {
		return nil, APIError(op, 400, "MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema.")
	}
	var body []byte
	var sizes []int64
	last := int32(0)
	for i, cp := range in.MultipartUpload.Parts {
		pn := aws.ToInt32(cp.PartNumber)
		if pn <= last {
			return nil, APIError(op, 400, "InvalidPartOrder", "The list of parts was not in ascending order. The parts list must be specified in order by part number.")
		}
		last = pn
		p, ok := up.parts[pn]
		switch {
		case !ok:
			return nil, APIError(op, 400, "InvalidPart", fmt.Sprintf("Part %d could not be found.", pn))
		case cp.ETag != nil && unquote(*cp.ETag) != unquote(p.etag):
			return nil, APIError(op, 400, "InvalidPart", fmt.Sprintf("Part %d's entity tag does not match.", pn))
		case up.sha256 && aws.ToString(cp.ChecksumSHA256) != ChecksumOf(p.body, nil):
			return nil, APIError(op, 400, "InvalidPart", fmt.Sprintf("Part %d's SHA256 checksum does not match.", pn))
		case i < len(in.MultipartUpload.Parts)-1 && len(p.body) < minPartSize:
			return nil, APIError(op, 400, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed object size.")
		}
		body = append(body, p.body...)
		sizes = append(sizes, int64(len(p.body)))
	}
	delete(b.uploads, aws.ToString(in.UploadId))
	v := &Version{
		Body: body, ETag: etagOf(body, sizes), PartSizes: sizes, Metadata: maps.Clone(up.metadata),
		ContentType: up.contentType, ContentEncoding: up.contentEncoding, ObjectLockMode: up.lockMode, RetainUntil: timeCopy(up.retainUntil),
	}
	if up.sha256 {
		v.ChecksumSHA256 = ChecksumOf(body, sizes)
	}
	s.add(b, key, v)
	out := &s3.CompleteMultipartUploadOutput{Bucket: in.Bucket, Key: in.Key, ETag: aws.String(v.ETag)}
	if v.ChecksumSHA256 != "" {
		out.ChecksumSHA256, out.ChecksumType = aws.String(v.ChecksumSHA256), types.ChecksumTypeComposite
	}
	if b.Versioned {
		out.VersionId = aws.String(v.VersionID)
	}
	return out, nil
}

// AbortMultipartUpload discards an unfinished upload and its parts.
func (s *Server) AbortMultipartUpload(ctx context.Context, in *s3.AbortMultipartUploadInput, _ ...func(*s3.Options)) (*s3.AbortMultipartUploadOutput, error) {
	const op = "AbortMultipartUpload"
	if err := s.begin(ctx, op); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := s.bucket(op, in.Bucket, in.ExpectedBucketOwner)
	if err != nil {
		return nil, err
	}
	if _, err := b.upload(op, in.Key, in.UploadId); err != nil {
		return nil, err
	}
	delete(b.uploads, aws.ToString(in.UploadId))
	return &s3.AbortMultipartUploadOutput{}, nil
}

// Uploads is how many multipart uploads of the bucket are unfinished
// (neither completed nor aborted).
func (s *Server) Uploads(bucketName string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if b := s.buckets[bucketName]; b != nil {
		return len(b.uploads)
	}
	return 0
}

// upload finds an unfinished upload of key; the caller holds s.mu.
func (b *bucket) upload(op string, key, id *string) (*upload, error) {
	up := b.uploads[aws.ToString(id)]
	if up == nil || up.key != aws.ToString(key) {
		return nil, APIError(op, 404, "NoSuchUpload", "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.")
	}
	return up, nil
}
