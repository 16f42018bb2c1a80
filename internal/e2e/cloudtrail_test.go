//go:build integration

package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/logvault/logvault/internal/eventgen"
	"github.com/logvault/logvault/internal/schema"
)

// putSource writes an object into the CloudTrail source bucket as Account B
// and returns what a notification of it would announce.
func putSource(t *testing.T, key string, body []byte) eventgen.Object {
	t.Helper()
	bucket := stack.env["SOURCE_CLOUDTRAIL_BUCKET"]
	out, err := accountB(t).PutObject(context.Background(), &s3.PutObjectInput{
		Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body),
		ContentType: aws.String("application/json"), ContentEncoding: aws.String("gzip"),
		Metadata: map[string]string{"trail": "org-trail"},
	})
	if err != nil {
		t.Fatalf("put source object: %v", err)
	}
	return eventgen.Object{Bucket: bucket, Key: key, VersionID: aws.ToString(out.VersionId), ETag: strings.Trim(aws.ToString(out.ETag), `"`), Size: int64(len(body))}
}

func event(t *testing.T, shape string, o eventgen.Object) []byte {
	t.Helper()
	p, err := eventgen.Build(shape, o)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// versions lists the vault's versions of key, newest first, as Account A sees them.
func versions(t *testing.T, key string) []types.ObjectVersion {
	t.Helper()
	out, err := admin(t).ListObjectVersions(context.Background(), &s3.ListObjectVersionsInput{Bucket: aws.String(stack.env["VAULT_BUCKET"]), Prefix: aws.String(key)})
	if err != nil {
		t.Fatalf("list vault versions: %v", err)
	}
	var vs []types.ObjectVersion
	for _, v := range out.Versions {
		if aws.ToString(v.Key) == key {
			vs = append(vs, v)
		}
	}
	return vs
}

func vaultVersionCount(t *testing.T) int {
	t.Helper()
	out, err := admin(t).ListObjectVersions(context.Background(), &s3.ListObjectVersionsInput{Bucket: aws.String(stack.env["VAULT_BUCKET"])})
	if err != nil {
		t.Fatalf("list vault versions: %v", err)
	}
	return len(out.Versions) + len(out.DeleteMarkers)
}

// checkVaulted reads the current vault object with Account A's keys and checks
// what a user would: bytes, SHA-256 metadata, S3 checksum, every metadata key.
func checkVaulted(t *testing.T, src eventgen.Object, body []byte) *s3.GetObjectOutput {
	t.Helper()
	key := "cloudtrail/account=222222222222/" + src.Bucket + "/" + src.Key
	out, err := admin(t).GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(stack.env["VAULT_BUCKET"]), Key: aws.String(key), ChecksumMode: types.ChecksumModeEnabled})
	if err != nil {
		t.Fatalf("vault object %s: %v", key, err)
	}
	got, err := io.ReadAll(out.Body)
	out.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(got)
	if !bytes.Equal(got, body) {
		t.Errorf("vault bytes differ from the source's")
	}
	if m := out.Metadata[schema.MetaSHA256]; m != hex.EncodeToString(sum[:]) {
		t.Errorf("logvault-sha256 = %q, bytes hash to %x", m, sum)
	}
	if c := aws.ToString(out.ChecksumSHA256); c != base64.StdEncoding.EncodeToString(sum[:]) {
		t.Errorf("S3 SHA256 checksum = %q, want %s", c, base64.StdEncoding.EncodeToString(sum[:]))
	}
	for _, k := range []string{schema.MetaSHA256, schema.MetaKind, schema.MetaSource, schema.MetaSourceVersionID, schema.MetaSourceETag, schema.MetaShippedAt, schema.MetaShipper} {
		if out.Metadata[k] == "" {
			t.Errorf("metadata %s missing (have %v)", k, out.Metadata)
		}
	}
	if out.Metadata[schema.MetaKind] != "cloudtrail" || out.Metadata[schema.MetaSource] != "s3://"+src.Bucket+"/"+src.Key ||
		out.Metadata[schema.MetaSourceVersionID] != src.VersionID || out.Metadata[schema.MetaSourceETag] != src.ETag {
		t.Errorf("metadata does not describe the source: %v (source %+v)", out.Metadata, src)
	}
	if out.Metadata["trail"] != "org-trail" || aws.ToString(out.ContentType) != "application/json" || aws.ToString(out.ContentEncoding) != "gzip" {
		t.Errorf("source metadata/Content-Type/Content-Encoding not kept: %v %q %q", out.Metadata, aws.ToString(out.ContentType), aws.ToString(out.ContentEncoding))
	}
	return out
}

func TestEveryTriggerShapeShips(t *testing.T) {
	for i, shape := range eventgen.Shapes {
		t.Run(shape, func(t *testing.T) {
			key := fmt.Sprintf("AWSLogs/222222222222/CloudTrail/us-east-1/2026/11/26/222222222222_CloudTrail_us-east-1_20261126T12:0%dZ shape %s é.json.gz", i, shape)
			body := []byte(fmt.Sprintf(`{"Records":[{"eventName":"PutObject","shape":%q}]}`, shape))
			src := putSource(t, key, body)
			r := invoke(t, "cloudtrail", event(t, shape, src), nil)
			if r.code != 0 {
				t.Fatalf("invoke exit %d: %s", r.code, r.stderr)
			}
			if eventgen.IsSQS(shape) && !strings.Contains(r.stdout, `"batchItemFailures":[]`) {
				t.Errorf("SQS response should list no failures: %s", r.stdout)
			}
			checkVaulted(t, src, body)
			if n := len(versions(t, "cloudtrail/account=222222222222/"+src.Bucket+"/"+src.Key)); n != 1 {
				t.Errorf("%d versions after one shipment, want 1", n)
			}
		})
	}
}

func TestRedeliveryAndOverwrite(t *testing.T) {
	key := "AWSLogs/222222222222/CloudTrail/us-east-1/2026/11/26/overwrite test: 1.json.gz"
	vkey := "cloudtrail/account=222222222222/" + stack.env["SOURCE_CLOUDTRAIL_BUCKET"] + "/" + key
	first := putSource(t, key, []byte(`{"Records":[1]}`))
	ev := event(t, "sqs-s3", first)
	for i := 0; i < 2; i++ {
		if r := invoke(t, "cloudtrail", ev, nil); r.code != 0 {
			t.Fatalf("delivery %d: exit %d: %s", i+1, r.code, r.stderr)
		}
	}
	vs := versions(t, vkey)
	if len(vs) != 1 {
		t.Fatalf("same event twice made %d versions, want 1", len(vs))
	}
	firstVersion := aws.ToString(vs[0].VersionId)

	second := putSource(t, key, []byte(`{"Records":[2]}`))
	if r := invoke(t, "cloudtrail", event(t, "s3-put", second), nil); r.code != 0 {
		t.Fatalf("new bytes: exit %d: %s", r.code, r.stderr)
	}
	if vs := versions(t, vkey); len(vs) != 2 {
		t.Fatalf("new bytes under the same key made %d versions, want 2", len(vs))
	}
	out := checkVaulted(t, second, []byte(`{"Records":[2]}`))
	if got := out.Metadata[schema.MetaSupersedes]; got != firstVersion {
		t.Errorf("logvault-supersedes = %q, want the first version %q", got, firstVersion)
	}
	// The first delivery again (pinned to the first source version) restores
	// nothing silently: its bytes differ from the current, so it is a new version.
	if r := invoke(t, "cloudtrail", event(t, "s3-put", second), nil); r.code != 0 {
		t.Fatalf("redelivery: exit %d: %s", r.code, r.stderr)
	}
	if vs := versions(t, vkey); len(vs) != 2 {
		t.Errorf("redelivered second event made %d versions, want 2", len(vs))
	}
}

func TestTestEventWritesNothing(t *testing.T) {
	for _, shape := range []string{"s3-test-event", "sqs-test-event"} {
		before := vaultVersionCount(t)
		r := invoke(t, "cloudtrail", event(t, shape, eventgen.Object{Bucket: stack.env["SOURCE_CLOUDTRAIL_BUCKET"]}), nil)
		if r.code != 0 {
			t.Errorf("%s: exit %d: %s", shape, r.code, r.stderr)
		}
		if after := vaultVersionCount(t); after != before {
			t.Errorf("%s wrote %d versions", shape, after-before)
		}
	}
}

func TestFailuresAreClearAndWriteNothing(t *testing.T) {
	good := putSource(t, "AWSLogs/222222222222/CloudTrail/us-east-1/2026/11/26/failures.json.gz", []byte(`{"Records":[]}`))
	missing := good
	missing.Key, missing.VersionID, missing.ETag = "AWSLogs/222222222222/CloudTrail/us-east-1/2026/11/26/never-written.json.gz", "", ""
	tests := []struct {
		name      string
		payload   []byte
		overrides map[string]string
		want      string // the cause the last line must name
		sqsFailed bool
	}{
		{"wrong external id", event(t, "s3-put", good), map[string]string{"VAULT_EXTERNAL_ID": "not-the-external-id"}, "AccessDenied", false},
		{"wrong external id via sqs", event(t, "sqs-s3", good), map[string]string{"VAULT_EXTERNAL_ID": "not-the-external-id"}, "AccessDenied", true},
		{"vault owned by another account", event(t, "s3-put", good), map[string]string{"VAULT_EXPECTED_OWNER": "333333333333"}, "403", false},
		{"missing source object", event(t, "s3-put", missing), nil, "not found", false},
		{"missing source object via sqs", event(t, "sqs-eventbridge", missing), nil, "not found", true},
		{"malformed json", []byte(`{"Records":[`), nil, "trigger", false},
		{"unknown shape", []byte(`{"hello":"world"}`), nil, "trigger", false},
		{"malformed sqs body", eventgen.SQS([]byte(`not json`)), nil, "trigger", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := vaultVersionCount(t)
			r := invoke(t, "cloudtrail", tt.payload, tt.overrides)
			if r.code != 1 {
				t.Fatalf("exit %d, want 1; stderr: %s", r.code, r.stderr)
			}
			if !strings.Contains(r.lastLine(), tt.want) {
				t.Errorf("last line %q does not name %q", r.lastLine(), tt.want)
			}
			if tt.sqsFailed {
				var resp struct {
					BatchItemFailures []struct {
						ItemIdentifier string `json:"itemIdentifier"`
					} `json:"batchItemFailures"`
				}
				if err := json.Unmarshal([]byte(r.stdout), &resp); err != nil || len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier == "" {
					t.Errorf("response %q should list the message in batchItemFailures", r.stdout)
				}
			}
			if after := vaultVersionCount(t); after != before {
				t.Errorf("a failed invocation wrote %d versions", after-before)
			}
		})
	}
}

func TestDestructiveActionsAreRefused(t *testing.T) {
	src := putSource(t, "AWSLogs/222222222222/CloudTrail/us-east-1/2026/11/26/refusals.json.gz", []byte(`{"Records":["keep me"]}`))
	if r := invoke(t, "cloudtrail", event(t, "s3-put", src), nil); r.code != 0 {
		t.Fatalf("ship: %s", r.stderr)
	}
	vkey := "cloudtrail/account=222222222222/" + src.Bucket + "/" + src.Key
	vid := versions(t, vkey)[0].VersionId
	bucket := aws.String(stack.env["VAULT_BUCKET"])
	ctx := context.Background()
	for who, c := range map[string]*s3.Client{"Account B": accountB(t), "writer": writer(t)} {
		attempts := map[string]func() error{
			"DeleteObject": func() error {
				_, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: bucket, Key: aws.String(vkey)})
				return err
			},
			"DeleteObjectVersion": func() error {
				_, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: bucket, Key: aws.String(vkey), VersionId: vid})
				return err
			},
			"DeleteObjects": func() error {
				out, err := c.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: bucket, Delete: &types.Delete{Objects: []types.ObjectIdentifier{{Key: aws.String(vkey)}, {Key: aws.String(vkey), VersionId: vid}}}})
				if err != nil {
					return err
				}
				if len(out.Deleted) > 0 {
					return nil
				}
				if len(out.Errors) == 2 && aws.ToString(out.Errors[0].Code) == "AccessDenied" {
					return errors.New("AccessDenied")
				}
				return fmt.Errorf("unexpected DeleteObjects answer: %+v", out.Errors)
			},
			"PutBucketPolicy": func() error {
				_, err := c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: bucket, Policy: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::` + *bucket + `/*"}]}`)})
				return err
			},
			"DeleteBucketPolicy": func() error {
				_, err := c.DeleteBucketPolicy(ctx, &s3.DeleteBucketPolicyInput{Bucket: bucket})
				return err
			},
			"PutBucketVersioning": func() error {
				_, err := c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: bucket, VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusSuspended}})
				return err
			},
			"DeleteBucket": func() error { _, err := c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: bucket}); return err },
		}
		for action, try := range attempts {
			err := try()
			var apiErr smithy.APIError
			if err == nil || !(errors.As(err, &apiErr) && apiErr.ErrorCode() == "AccessDenied" || err.Error() == "AccessDenied") {
				t.Errorf("%s %s: got %v, want AccessDenied from the server", who, action, err)
			}
		}
	}
	if vs := versions(t, vkey); len(vs) != 1 || aws.ToString(vs[0].VersionId) != aws.ToString(vid) {
		t.Errorf("the vaulted version is no longer there: %+v", vs)
	}
	// Versioning is still on, as Account A sees it.
	v, err := admin(t).GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: bucket})
	if err != nil || v.Status != types.BucketVersioningStatusEnabled {
		t.Errorf("vault versioning = %v, %v; want Enabled", v, err)
	}
}
