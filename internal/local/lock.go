package local

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/versity/versitygw/auth"
	"github.com/versity/versitygw/backend/posix"
	"github.com/versity/versitygw/s3err"
	"github.com/versity/versitygw/s3response"
)

// lockedBackend is versitygw's POSIX backend with the one Object Lock rule
// it lacks: a new version written without retention of its own gets the
// bucket's default retention (mode, and now + the default's days or
// years), as S3 gives it. For a multipart upload the clock starts at
// CreateMultipartUpload rather than at its completion: at most the upload's
// duration earlier than on AWS.
type lockedBackend struct {
	*posix.Posix
	now func() time.Time
}

// defaultRetention is the bucket's default retention for a version written
// now, or "" when the bucket has none.
func (b lockedBackend) defaultRetention(ctx context.Context, bucket *string) (types.ObjectLockMode, *time.Time) {
	if bucket == nil {
		return "", nil
	}
	raw, err := b.Posix.GetObjectLockConfiguration(ctx, *bucket)
	if err != nil {
		return "", nil
	}
	var cfg auth.BucketLockConfig
	if json.Unmarshal(raw, &cfg) != nil || !cfg.Enabled || cfg.DefaultRetention == nil || cfg.DefaultRetention.Mode == "" {
		return "", nil
	}
	d := cfg.DefaultRetention
	until := b.now().UTC()
	if d.Days != nil {
		until = until.AddDate(0, 0, int(*d.Days))
	}
	if d.Years != nil {
		until = until.AddDate(int(*d.Years), 0, 0)
	}
	return types.ObjectLockMode(d.Mode), &until
}

// PutObject applies the default retention to a version that asks for none.
func (b lockedBackend) PutObject(ctx context.Context, in s3response.PutObjectInput) (s3response.PutObjectOutput, error) {
	if in.ObjectLockMode == "" {
		in.ObjectLockMode, in.ObjectLockRetainUntilDate = b.defaultRetention(ctx, in.Bucket)
	}
	return b.Posix.PutObject(ctx, in)
}

// CopyObject applies the default retention to the new version.
func (b lockedBackend) CopyObject(ctx context.Context, in s3response.CopyObjectInput) (s3response.CopyObjectOutput, error) {
	if in.ObjectLockMode == "" {
		in.ObjectLockMode, in.ObjectLockRetainUntilDate = b.defaultRetention(ctx, in.Bucket)
	}
	return b.Posix.CopyObject(ctx, in)
}

// CreateMultipartUpload applies the default retention to the version the
// upload will complete.
func (b lockedBackend) CreateMultipartUpload(ctx context.Context, in s3response.CreateMultipartUploadInput) (s3response.InitiateMultipartUploadResult, error) {
	if in.ObjectLockMode == "" {
		in.ObjectLockMode, in.ObjectLockRetainUntilDate = b.defaultRetention(ctx, in.Bucket)
	}
	return b.Posix.CreateMultipartUpload(ctx, in)
}

// UploadPartCopy answers as S3 does, with the part's own checksum:
// versitygw v1.8.0 stores and answers the whole source object's checksum
// for a part copied from an object that has one of the upload's algorithm
// ("should the checksum be recalculated or just copied?"), which no copied
// range of a larger object can match. versitygw's own UploadPartCopy runs
// first, so the source, its range, owner and preconditions are checked as
// it checks them; then the same range, read again, is written over the
// part with UploadPart and its SHA-256, which versitygw checks and stores.
// An upload of another algorithm keeps versitygw's answer: it hashes the
// range itself in that case.
func (b lockedBackend) UploadPartCopy(ctx context.Context, in *s3.UploadPartCopyInput) (s3response.CopyPartResult, error) {
	bucket, key, versionID, ok := parseCopySource(aws.ToString(in.CopySource))
	if ok && aws.ToString(in.CopySourceRange) != "" {
		// versitygw copies the whole object for a range it cannot read or
		// that runs past the end; S3 refuses both.
		head := &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}
		if versionID != "" {
			head.VersionId = aws.String(versionID)
		}
		if src, err := b.Posix.HeadObject(ctx, head); err == nil && !validRange(aws.ToString(in.CopySourceRange), aws.ToInt64(src.ContentLength)) {
			return s3response.CopyPartResult{}, s3err.APIError{Code: "InvalidArgument", HTTPStatusCode: http.StatusBadRequest,
				Description: "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy"}
		}
	}
	res, err := b.Posix.UploadPartCopy(ctx, in)
	if err != nil || !ok {
		return res, err
	}
	get := &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Range: in.CopySourceRange}
	if versionID != "" {
		get.VersionId = aws.String(versionID)
	}
	src, err := b.Posix.GetObject(ctx, get)
	if err != nil {
		return s3response.CopyPartResult{}, err
	}
	defer src.Body.Close()
	data, err := io.ReadAll(src.Body)
	if err != nil {
		return s3response.CopyPartResult{}, err
	}
	sum := sha256.Sum256(data)
	up, err := b.Posix.UploadPart(ctx, &s3.UploadPartInput{
		Bucket: in.Bucket, Key: in.Key, UploadId: in.UploadId, PartNumber: in.PartNumber,
		Body: bytes.NewReader(data), ContentLength: aws.Int64(int64(len(data))),
		ChecksumAlgorithm: types.ChecksumAlgorithmSha256, ChecksumSHA256: aws.String(base64.StdEncoding.EncodeToString(sum[:])),
	})
	var apiErr s3err.APIError
	if errors.As(err, &apiErr) && apiErr.HTTPStatusCode == http.StatusBadRequest && strings.Contains(strings.ToLower(apiErr.Description), "checksum type mismatch") {
		return res, nil // the upload has another algorithm: versitygw hashed the range
	}
	if err != nil {
		return s3response.CopyPartResult{}, err
	}
	res.ETag, res.ChecksumSHA256 = up.ETag, up.ChecksumSHA256
	return res, nil
}

// validRange tells an x-amz-copy-source-range S3 accepts for an object of
// size bytes: "bytes=first-last", first <= last < size.
func validRange(r string, size int64) bool {
	var first, last int64
	if _, err := fmt.Sscanf(r, "bytes=%d-%d", &first, &last); err != nil || fmt.Sprintf("bytes=%d-%d", first, last) != r {
		return false
	}
	return first >= 0 && first <= last && last < size
}

// parseCopySource reads an x-amz-copy-source: "[/]bucket/key[?versionId=V]",
// URL-encoded.
func parseCopySource(cs string) (bucket, key, versionID string, ok bool) {
	path, query, _ := strings.Cut(strings.TrimPrefix(cs, "/"), "?")
	dec, err := url.PathUnescape(path)
	if err != nil {
		return "", "", "", false
	}
	bucket, key, _ = strings.Cut(dec, "/")
	q, err := url.ParseQuery(query)
	if err != nil || bucket == "" || key == "" {
		return "", "", "", false
	}
	return bucket, key, q.Get("versionId"), true
}
