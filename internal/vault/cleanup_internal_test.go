package vault

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// uploadsFake lists unfinished uploads two to a page and records aborts.
type uploadsFake struct {
	API
	uploads  []types.MultipartUpload
	aborted  []string
	listErr  error
	abortErr map[string]error
	owners   []string
}

func (f *uploadsFake) ListMultipartUploads(_ context.Context, in *s3.ListMultipartUploadsInput, _ ...func(*s3.Options)) (*s3.ListMultipartUploadsOutput, error) {
	if f.listErr != nil {
		return nil, f.listErr
	}
	f.owners = append(f.owners, aws.ToString(in.ExpectedBucketOwner))
	start := 0
	if in.UploadIdMarker != nil {
		fmt.Sscan(aws.ToString(in.UploadIdMarker), &start)
	}
	out := &s3.ListMultipartUploadsOutput{}
	for i := start; i < len(f.uploads) && len(out.Uploads) < 2; i++ {
		if strings.HasPrefix(aws.ToString(f.uploads[i].Key), aws.ToString(in.Prefix)) {
			out.Uploads = append(out.Uploads, f.uploads[i])
		}
		if i+1 < len(f.uploads) && len(out.Uploads) == 2 {
			out.IsTruncated, out.NextKeyMarker, out.NextUploadIdMarker = aws.Bool(true), f.uploads[i].Key, aws.String(fmt.Sprint(i+1))
		}
	}
	return out, nil
}

func (f *uploadsFake) AbortMultipartUpload(_ context.Context, in *s3.AbortMultipartUploadInput, _ ...func(*s3.Options)) (*s3.AbortMultipartUploadOutput, error) {
	f.aborted = append(f.aborted, aws.ToString(in.UploadId))
	return &s3.AbortMultipartUploadOutput{}, f.abortErr[aws.ToString(in.UploadId)]
}

func statusErr(code int, name string) error {
	return &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: &http.Response{StatusCode: code}}, Err: &smithy.GenericAPIError{Code: name}}
}

func TestAbortUnfinished(t *testing.T) {
	up := func(key, id string) types.MultipartUpload {
		return types.MultipartUpload{Key: aws.String(key), UploadId: aws.String(id)}
	}
	f := &uploadsFake{uploads: []types.MultipartUpload{
		up("billing/b/r.csv", "lost-create"), up("billing/b/r.csv.bak", "sibling"), up("billing/b/r.csv", "killed"),
		up("billing/b/r.csv", "failed-abort"), up("billing/b/r.csv2", "other"),
	}, abortErr: map[string]error{"failed-abort": statusErr(404, "NoSuchUpload")}}
	w := &Writer{S3: f, Bucket: "vault", ExpectedOwner: "111111111111"}
	if err := w.abortUnfinished(context.Background(), "billing/b/r.csv"); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(f.aborted, ","); got != "lost-create,killed,failed-abort" {
		t.Errorf("aborted %s, want the key's three unfinished uploads only", got)
	}
	for _, o := range f.owners {
		if o != "111111111111" {
			t.Errorf("ListMultipartUploads without ExpectedBucketOwner")
		}
	}

	f = &uploadsFake{listErr: statusErr(403, "AccessDenied")}
	if err := (&Writer{S3: f, Bucket: "vault"}).abortUnfinished(context.Background(), "k"); err != nil {
		t.Errorf("without the list permission: %v, want nil (the lifecycle rule cleans up)", err)
	}
	f = &uploadsFake{listErr: statusErr(503, "SlowDown")}
	if err := (&Writer{S3: f, Bucket: "vault"}).abortUnfinished(context.Background(), "k"); err == nil || !strings.Contains(err.Error(), "list unfinished uploads") {
		t.Errorf("a failed list: %v, want an error so the event is retried", err)
	}
	f = &uploadsFake{uploads: []types.MultipartUpload{up("k", "x")}, abortErr: map[string]error{"x": statusErr(500, "InternalError")}}
	if err := (&Writer{S3: f, Bucket: "vault"}).abortUnfinished(context.Background(), "k"); err == nil || !strings.Contains(err.Error(), "abort unfinished upload x") {
		t.Errorf("a failed abort: %v, want an error naming the upload", err)
	}
}
