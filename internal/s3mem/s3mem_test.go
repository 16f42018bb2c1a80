package s3mem_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/logvault/logvault/internal/restore"
	"github.com/logvault/logvault/internal/s3mem"
	"github.com/logvault/logvault/internal/source"
	"github.com/logvault/logvault/internal/vault"
	"github.com/logvault/logvault/internal/verify"
)

// The twin stands in for the real client wherever logvault takes an interface.
var (
	_ vault.API     = (*s3mem.Server)(nil)
	_ source.Getter = (*s3mem.Server)(nil)
	_ verify.API    = (*s3mem.Server)(nil)
	_ restore.API   = (*s3mem.Server)(nil)
)

// status returns the HTTP status and API error code of err, as callers of the SDK read them.
func status(t *testing.T, err error) (int, string) {
	t.Helper()
	var re interface{ HTTPStatusCode() int }
	var api smithy.APIError
	if !errors.As(err, &re) || !errors.As(err, &api) {
		t.Fatalf("error %v (%T) is not an S3 API error with an HTTP status", err, err)
	}
	return re.HTTPStatusCode(), api.ErrorCode()
}

func put(t *testing.T, s *s3mem.Server, in *s3.PutObjectInput) *s3.PutObjectOutput {
	t.Helper()
	out, err := s.PutObject(context.Background(), in)
	if err != nil {
		t.Fatalf("PutObject: %v", err)
	}
	return out
}

func TestTwinSemantics(t *testing.T) {
	ctx := context.Background()
	s := s3mem.New()
	s.CreateBucket("v", s3mem.BucketConfig{Versioned: true})
	s.CreateBucket("u", s3mem.BucketConfig{})

	sum := sha256.Sum256([]byte("one"))
	good := base64.StdEncoding.EncodeToString(sum[:])
	v1 := put(t, s, &s3.PutObjectInput{Bucket: aws.String("v"), Key: aws.String("k"), Body: strings.NewReader("one"),
		ChecksumSHA256: aws.String(good), Metadata: map[string]string{"Signature": "sig"}, ContentType: aws.String("application/json")})
	v2 := put(t, s, &s3.PutObjectInput{Bucket: aws.String("v"), Key: aws.String("k"), Body: strings.NewReader("two")})
	if aws.ToString(v1.VersionId) == "" || aws.ToString(v1.VersionId) == aws.ToString(v2.VersionId) {
		t.Fatalf("version ids %q, %q: want two distinct non-empty ids", aws.ToString(v1.VersionId), aws.ToString(v2.VersionId))
	}
	if aws.ToString(v1.ChecksumSHA256) != good {
		t.Errorf("PutObject checksum %q, want %q", aws.ToString(v1.ChecksumSHA256), good)
	}

	h, err := s.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("v"), Key: aws.String("k"), VersionId: v1.VersionId, ChecksumMode: types.ChecksumModeEnabled})
	if err != nil {
		t.Fatal(err)
	}
	if h.Metadata["signature"] != "sig" || aws.ToString(h.ChecksumSHA256) != good || aws.ToString(h.ContentType) != "application/json" {
		t.Errorf("head of v1: metadata %v, checksum %q, content type %q", h.Metadata, aws.ToString(h.ChecksumSHA256), aws.ToString(h.ContentType))
	}
	g, err := s.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("v"), Key: aws.String("k")})
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(g.Body); string(b) != "two" || aws.ToString(g.VersionId) != aws.ToString(v2.VersionId) || g.ChecksumSHA256 != nil {
		t.Errorf("get current: %q version %q checksum %v, want \"two\" %q and no checksum without ChecksumMode", b, aws.ToString(g.VersionId), g.ChecksumSHA256, aws.ToString(v2.VersionId))
	}

	u := put(t, s, &s3.PutObjectInput{Bucket: aws.String("u"), Key: aws.String("k"), Body: strings.NewReader("x")})
	if u.VersionId != nil {
		t.Errorf("unversioned bucket returned VersionId %q", *u.VersionId)
	}

	errCases := []struct {
		name   string
		call   func() error
		status int
		code   string
	}{
		{"head missing key", func() error {
			_, err := s.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("v"), Key: aws.String("nope")})
			return err
		}, 404, "NotFound"},
		{"get missing key", func() error {
			_, err := s.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("v"), Key: aws.String("nope")})
			return err
		}, 404, "NoSuchKey"},
		{"get missing version", func() error {
			_, err := s.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("v"), Key: aws.String("k"), VersionId: aws.String("gone")})
			return err
		}, 404, "NoSuchVersion"},
		{"get If-Match stale", func() error {
			_, err := s.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("v"), Key: aws.String("k"), IfMatch: v1.ETag})
			return err
		}, 412, "PreconditionFailed"},
		{"put If-None-Match on existing key", func() error {
			_, err := s.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("v"), Key: aws.String("k"), Body: strings.NewReader("z"), IfNoneMatch: aws.String("*")})
			return err
		}, 412, "PreconditionFailed"},
		{"put If-Match stale", func() error {
			_, err := s.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("v"), Key: aws.String("k"), Body: strings.NewReader("z"), IfMatch: v1.ETag})
			return err
		}, 412, "PreconditionFailed"},
		{"put wrong checksum", func() error {
			_, err := s.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("v"), Key: aws.String("k"), Body: strings.NewReader("zzz"), ChecksumSHA256: aws.String(good)})
			return err
		}, 400, "BadDigest"},
		{"injected", func() error {
			s.FailNext("HeadObject", s3mem.APIError("HeadObject", 503, "SlowDown", "Please reduce your request rate."))
			_, err := s.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("v"), Key: aws.String("k")})
			return err
		}, 503, "SlowDown"},
	}
	for _, c := range errCases {
		t.Run(c.name, func(t *testing.T) {
			st, code := status(t, c.call())
			if st != c.status || code != c.code {
				t.Errorf("got %d %s, want %d %s", st, code, c.status, c.code)
			}
		})
	}
	if n := len(s.Versions("v", "k")); n != 2 {
		t.Errorf("rejected writes left %d versions, want 2", n)
	}
}
