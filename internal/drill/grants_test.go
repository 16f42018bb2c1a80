package drill_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/logvault/logvault/internal/drill"
	"github.com/logvault/logvault/internal/s3mem"
)

// refusing is a writer the named buckets do not grant read.
type refusing struct {
	*s3mem.Server
	denied map[string]bool
}

func (r refusing) HeadObject(ctx context.Context, in *s3.HeadObjectInput, o ...func(*s3.Options)) (*s3.HeadObjectOutput, error) {
	if r.denied[aws.ToString(in.Bucket)] {
		return nil, s3mem.APIError("HeadObject", 403, "Forbidden", "Forbidden")
	}
	return r.Server.HeadObject(ctx, in, o...)
}

func TestCopyGrants(t *testing.T) {
	srv := s3mem.New()
	for _, b := range []string{"granted", "refused", "empty"} {
		srv.CreateBucket(b, s3mem.BucketConfig{})
	}
	for _, b := range []string{"granted", "refused"} {
		srv.Store(b, "AWSLogs/x.json.gz", s3mem.Object{Body: []byte("x")})
	}
	got := drill.CopyGrants(context.Background(), srv, refusing{srv, map[string]bool{"refused": true}}, []string{"granted", "refused", "empty", "missing"})
	want := []struct {
		granted bool
		detail  string
	}{{true, "copied server-side"}, {false, "uploaded from the function"}, {false, "empty"}, {false, "cannot list"}}
	if len(got) != len(want) {
		t.Fatalf("%d grants, want %d", len(got), len(want))
	}
	for i, g := range got {
		if g.Granted != want[i].granted || !strings.Contains(g.Detail, want[i].detail) {
			t.Errorf("%s: %+v, want granted %v and a detail saying %q", g.Bucket, g, want[i].granted, want[i].detail)
		}
	}
}
