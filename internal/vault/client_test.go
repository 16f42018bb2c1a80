package vault_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/logvault/logvault/internal/config"
	"github.com/logvault/logvault/internal/vault"
)

// fakeAWS answers AssumeRole with a new session each time, and S3 calls
// signed with a session it has revoked with S3's refusal of an expired token.
type fakeAWS struct {
	mu       sync.Mutex
	sessions int
	revoked  map[string]bool
	s3Status int // answer to S3 calls with a live session (0 = 200)
	s3Calls  int
}

func (f *fakeAWS) RoundTrip(r *http.Request) (*http.Response, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var body []byte
	if r.Body != nil {
		body, _ = io.ReadAll(r.Body)
	}
	if r.Method == http.MethodPost && strings.Contains(string(body), "Action=AssumeRole") {
		f.sessions++
		return respond(r, 200, fmt.Sprintf(`<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult><Credentials>
<AccessKeyId>ASIASESSION%d</AccessKeyId><SecretAccessKey>secret</SecretAccessKey><SessionToken>token%d</SessionToken><Expiration>2099-01-01T00:00:00Z</Expiration>
</Credentials><AssumedRoleUser><Arn>arn:aws:sts::111111111111:assumed-role/w/s</Arn><AssumedRoleId>AROA:s</AssumedRoleId></AssumedRoleUser></AssumeRoleResult></AssumeRoleResponse>`, f.sessions, f.sessions)), nil
	}
	f.s3Calls++
	key := strings.SplitN(strings.SplitN(r.Header.Get("Authorization"), "Credential=", 2)[1], "/", 2)[0]
	if f.revoked[key] {
		if r.Method == http.MethodHead {
			return respond(r, 400, ""), nil
		}
		return respond(r, 400, `<Error><Code>ExpiredToken</Code><Message>The provided token has expired.</Message></Error>`), nil
	}
	if f.s3Status != 0 {
		return respond(r, f.s3Status, `<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>`), nil
	}
	h := http.Header{"X-Amz-Version-Id": {"v1"}, "Etag": {`"e"`}}
	return &http.Response{StatusCode: 200, Header: h, Body: io.NopCloser(bytes.NewReader(nil)), Request: r}, nil
}

func respond(r *http.Request, status int, body string) *http.Response {
	return &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {"text/xml"}}, Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body)), Request: r}
}

func writerClient(f *fakeAWS) *s3.Client {
	base := aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("222222222222", "secret", ""),
		HTTPClient:   &http.Client{Transport: f},
		BaseEndpoint: aws.String("https://aws.test"),
	}
	return vault.NewS3Client(base, config.Config{VaultRoleARN: "arn:aws:iam::111111111111:role/w", S3PathStyle: true}, "logvault-test")
}

func TestExpiredSessionIsReplaced(t *testing.T) {
	ctx := context.Background()
	for _, op := range []string{"HeadObject", "PutObject"} {
		t.Run(op, func(t *testing.T) {
			f := &fakeAWS{revoked: map[string]bool{}}
			c := writerClient(f)
			call := func() error {
				if op == "HeadObject" {
					_, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("vault"), Key: aws.String("k")})
					return err
				}
				_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("vault"), Key: aws.String("k"), Body: strings.NewReader("x")})
				return err
			}
			if err := call(); err != nil {
				t.Fatalf("first call: %v", err)
			}
			f.revoked["ASIASESSION1"] = true // the session expires early, long before its Expiration
			if err := call(); err != nil {
				t.Fatalf("call after the session expired: %v (the cached credentials were not replaced)", err)
			}
			if f.sessions != 2 {
				t.Errorf("%d sessions assumed, want 2 (one fresh after the refusal)", f.sessions)
			}
			if err := call(); err != nil || f.sessions != 2 {
				t.Errorf("third call: %v, sessions %d; want the new session reused", err, f.sessions)
			}
		})
	}
}

func TestOtherRefusalsKeepTheSession(t *testing.T) {
	f := &fakeAWS{revoked: map[string]bool{}, s3Status: 403}
	c := writerClient(f)
	_, err := c.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String("vault"), Key: aws.String("k"), Body: strings.NewReader("x")})
	if err == nil || !strings.Contains(err.Error(), "AccessDenied") {
		t.Fatalf("err = %v, want AccessDenied", err)
	}
	if f.sessions != 1 || f.s3Calls != 1 {
		t.Errorf("AccessDenied led to %d sessions and %d S3 calls, want 1 and 1 (not retried, not refreshed)", f.sessions, f.s3Calls)
	}
}
