package s3err_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/logvault/logvault/internal/s3err"
)

// answer is err as the SDK returns S3's answer with this HTTP status.
func answer(status int, err error) error {
	return fmt.Errorf("operation error S3: %w", &smithy.OperationError{ServiceID: "S3", OperationName: "GetObject", Err: &awshttp.ResponseError{
		ResponseError: &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}}, Err: err}}})
}

func apiErr(code string) error { return &smithy.GenericAPIError{Code: code} }

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		name                                         string
		err                                          error
		code                                         string
		status                                       int
		notFound, noBucket, refused, temporary, head bool
	}{
		{"typed NoSuchKey", answer(404, &types.NoSuchKey{}), "NoSuchKey", 404, true, false, false, false, false},
		{"NoSuchVersion", answer(404, apiErr("NoSuchVersion")), "NoSuchVersion", 404, true, false, false, false, false},
		{"HEAD 404", answer(404, &types.NotFound{}), "NotFound", 404, true, false, false, false, false},
		{"NotFound without a response", apiErr("NotFound"), "NotFound", 404, true, false, false, false, false},
		{"bare 404", answer(404, errors.New("no body")), "", 404, true, false, false, false, false},
		{"NoSuchBucket is not a missing key", answer(404, apiErr("NoSuchBucket")), "NoSuchBucket", 404, false, true, false, false, false},
		{"AccessDenied", answer(403, apiErr("AccessDenied")), "AccessDenied", 403, false, false, true, false, false},
		{"bare 403", answer(403, errors.New("no body")), "", 403, false, false, true, false, false},
		{"PreconditionFailed", answer(412, apiErr("PreconditionFailed")), "PreconditionFailed", 412, false, false, false, false, false},
		{"SlowDown", answer(503, apiErr("SlowDown")), "SlowDown", 503, false, false, false, true, false},
		{"InternalError", answer(500, apiErr("InternalError")), "InternalError", 500, false, false, false, true, false},
		{"ExpiredToken", answer(400, apiErr("ExpiredToken")), "ExpiredToken", 400, false, false, false, true, true},
		{"HEAD's bare 400", answer(400, apiErr("BadRequest")), "BadRequest", 400, false, false, false, false, true},
		{"deadline", fmt.Errorf("ship: %w", context.DeadlineExceeded), "", 0, false, false, false, true, false},
		{"not an answer", errors.New("key too long"), "", 0, false, false, false, false, false},
		{"nil", nil, "", 0, false, false, false, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := s3err.Code(tc.err); got != tc.code {
				t.Errorf("Code = %q, want %q", got, tc.code)
			}
			if got := s3err.Status(tc.err); got != tc.status {
				t.Errorf("Status = %d, want %d", got, tc.status)
			}
			if tc.status != 0 && !s3err.Is(tc.err, 200, tc.status) {
				t.Errorf("Is(%d) = false", tc.status)
			}
			if s3err.Is(tc.err, 409) {
				t.Errorf("Is(409) = true")
			}
			for _, c := range []struct {
				what      string
				got, want bool
			}{
				{"NotFound", s3err.NotFound(tc.err), tc.notFound},
				{"NoSuchBucket", s3err.NoSuchBucket(tc.err), tc.noBucket},
				{"Refused", s3err.Refused(tc.err), tc.refused},
				{"Temporary", s3err.Temporary(tc.err), tc.temporary},
				{"ExpiredCredentials(HeadObject)", s3err.ExpiredCredentials(tc.err, "HeadObject"), tc.head},
			} {
				if c.got != c.want {
					t.Errorf("%s = %v, want %v", c.what, c.got, c.want)
				}
			}
			if tc.code == "BadRequest" && s3err.ExpiredCredentials(tc.err, "GetObject") {
				t.Error("a bare 400 to a GetObject taken for expired credentials")
			}
		})
	}
}
