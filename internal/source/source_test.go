package source_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/logvault/logvault/internal/s3err"
	"github.com/logvault/logvault/internal/source"
	"github.com/logvault/logvault/internal/trigger"
)

type answer struct{ err error }

func (a answer) GetObject(context.Context, *s3.GetObjectInput, ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	return nil, a.err
}

func s3Error(status int, code string) error {
	var inner error = errors.New("no body")
	if code != "" {
		inner = &smithy.GenericAPIError{Code: code, Message: code + " message"}
	}
	return &smithy.OperationError{ServiceID: "S3", OperationName: "GetObject", Err: &awshttp.ResponseError{
		ResponseError: &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}}, Err: inner}}}
}

// TestOpenClassifiesS3Answers: a source object that is gone (or changed
// under its ETag pin) is ErrNotFound, which the handlers report as a
// permanent failure; anything else keeps S3's error, so a throttle or a
// 5xx is retried.
func TestOpenClassifiesS3Answers(t *testing.T) {
	for _, tc := range []struct {
		name      string
		ref       trigger.ObjectRef
		err       error
		notFound  bool
		temporary bool
		says      string
	}{
		{"key gone", trigger.ObjectRef{Bucket: "b", Key: "k", VersionID: "v1"}, s3Error(404, "NoSuchKey"), true, false, "NoSuchKey"},
		{"version gone", trigger.ObjectRef{Bucket: "b", Key: "k", VersionID: "v1"}, s3Error(404, "NoSuchVersion"), true, false, "NoSuchVersion"},
		{"bucket gone", trigger.ObjectRef{Bucket: "b", Key: "k"}, s3Error(404, "NoSuchBucket"), true, false, "NoSuchBucket"},
		{"bare 404", trigger.ObjectRef{Bucket: "b", Key: "k"}, s3Error(404, ""), true, false, "404"},
		{"unknown version id", trigger.ObjectRef{Bucket: "b", Key: "k", VersionID: "zz"}, s3Error(400, "InvalidArgument"), true, false, "does not know this version id"},
		{"etag changed", trigger.ObjectRef{Bucket: "b", Key: "k", ETag: "abc"}, s3Error(412, "PreconditionFailed"), true, false, "different bytes"},
		{"refused", trigger.ObjectRef{Bucket: "b", Key: "k"}, s3Error(403, "AccessDenied"), false, false, "AccessDenied"},
		{"throttled", trigger.ObjectRef{Bucket: "b", Key: "k"}, s3Error(503, "SlowDown"), false, true, "SlowDown"},
		{"invalid argument without a version", trigger.ObjectRef{Bucket: "b", Key: "k"}, s3Error(400, "InvalidArgument"), false, false, "InvalidArgument"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := (&source.Reader{S3: answer{tc.err}}).Open(context.Background(), tc.ref)
			if err == nil {
				t.Fatal("Open succeeded")
			}
			if got := errors.Is(err, source.ErrNotFound); got != tc.notFound {
				t.Errorf("errors.Is(%v, ErrNotFound) = %v, want %v", err, got, tc.notFound)
			}
			if got := s3err.Temporary(err); got != tc.temporary {
				t.Errorf("Temporary(%v) = %v, want %v", err, got, tc.temporary)
			}
			if !strings.Contains(err.Error(), tc.says) || !strings.Contains(err.Error(), "s3://b/k") {
				t.Errorf("error %q does not name s3://b/k and %q", err, tc.says)
			}
		})
	}
}
