package drill

import (
	"errors"
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want Verdict
	}{
		{"refused", &smithy.GenericAPIError{Code: "AccessDenied"}, Refused},
		{"refused, wrapped", fmt.Errorf("operation error S3: DeleteObject: %w", &smithy.GenericAPIError{Code: "AccessDenied"}), Refused},
		{"succeeded", nil, Allowed},
		// Authorization comes first: any other answer means the policy let it through.
		{"bucket not empty", &smithy.GenericAPIError{Code: "BucketNotEmpty"}, Allowed},
		{"object lock missing", &smithy.GenericAPIError{Code: "InvalidRequest"}, Allowed},
		{"network error", errors.New("connection reset"), Allowed},
		// S3's refusal by Object Lock: the policy let the request through.
		{"refused by object lock", &smithy.GenericAPIError{Code: "AccessDenied", Message: "Access Denied because object protected by object lock."}, Allowed},
	}
	for _, tt := range tests {
		if _, got := classify(tt.err); got != tt.want {
			t.Errorf("%s: verdict %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestBatchResult(t *testing.T) {
	denied := types.Error{Code: aws.String("AccessDenied"), Key: aws.String("k")}
	tests := []struct {
		name string
		out  *s3.DeleteObjectsOutput
		want Verdict
	}{
		{"every key refused", &s3.DeleteObjectsOutput{Errors: []types.Error{denied, denied}}, Refused},
		{"one deleted", &s3.DeleteObjectsOutput{Deleted: []types.DeletedObject{{Key: aws.String("k")}}, Errors: []types.Error{denied}}, Allowed},
		{"refused for another reason", &s3.DeleteObjectsOutput{Errors: []types.Error{{Code: aws.String("InternalError")}}}, Allowed},
		{"refused by object lock", &s3.DeleteObjectsOutput{Errors: []types.Error{denied, {Code: aws.String("AccessDenied"), Message: aws.String("Access Denied because object protected by object lock.")}}}, Allowed},
		{"empty answer", &s3.DeleteObjectsOutput{}, Allowed},
	}
	for _, tt := range tests {
		if _, got := classify(batchResult(tt.out)); got != tt.want {
			t.Errorf("%s: verdict %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestReportFailed(t *testing.T) {
	ok := Report{Rows: []Row{{Verdict: Refused}, {Verdict: NotProbed}}, Recovered: true}
	if ok.Failed() {
		t.Error("all refused and recovered: should not fail")
	}
	if r := (Report{Rows: []Row{{Verdict: Refused}, {Verdict: Allowed}}, Recovered: true}); !r.Failed() {
		t.Error("an allowed action must fail the drill")
	}
	if r := (Report{Rows: []Row{{Verdict: Refused}}, Recovered: false}); !r.Failed() {
		t.Error("a failed recovery must fail the drill")
	}
}
