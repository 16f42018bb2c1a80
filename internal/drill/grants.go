package drill

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

// Lister lists a source bucket (Account B's credentials).
type Lister interface {
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, optFns ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
}

// Header reads an object's metadata (the writer's credentials).
type Header interface {
	HeadObject(ctx context.Context, in *s3.HeadObjectInput, optFns ...func(*s3.Options)) (*s3.HeadObjectOutput, error)
}

// Grant is whether the writer may read one source bucket: what server-side
// copies of its large objects need (docs/how-it-works.md, "Large objects").
type Grant struct {
	Bucket  string `json:"bucket"`
	Granted bool   `json:"granted"`
	Detail  string `json:"detail"`
}

// CopyGrants tries, for each source bucket, whether the writer may read
// one of its objects: listed with Account B's credentials, then HEAD as
// the writer. A bucket the writer may not read still ships (its large
// objects are uploaded from the function), so this is information, not a
// failure.
func CopyGrants(ctx context.Context, source Lister, writer Header, buckets []string) []Grant {
	out := make([]Grant, 0, len(buckets))
	for _, b := range buckets {
		g := Grant{Bucket: b}
		page, err := source.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(b), MaxKeys: aws.Int32(1)})
		switch {
		case err != nil:
			g.Detail = "cannot list it with the ambient credentials: " + code(err)
		case len(page.Contents) == 0:
			g.Detail = "empty: no object to try"
		default:
			key := aws.ToString(page.Contents[0].Key)
			_, err := writer.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(b), Key: aws.String(key)})
			if err == nil {
				g.Granted, g.Detail = true, fmt.Sprintf("the writer read %q: large objects are copied server-side", key)
			} else {
				g.Detail = fmt.Sprintf("the writer may not read %q (%s): large objects are uploaded from the function; add the bucket policy statement and SourceBucketNames (docs/deploy.md)", key, code(err))
			}
		}
		out = append(out, g)
	}
	return out
}

// code is an error's S3 code, or its text.
func code(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return err.Error()
}
