package localstack

import (
	"context"
	"encoding/json"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/versity/versitygw/auth"
	"github.com/versity/versitygw/backend/posix"
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
