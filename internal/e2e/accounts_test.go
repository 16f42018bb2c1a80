//go:build integration

package e2e

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"

	"github.com/logvault/logvault/internal/local"
	"github.com/logvault/logvault/internal/schema"
)

// TestWriterSessionsConfinedToTheirAccount: on the local stack, with
// infra/vault.yaml's writer trust and permissions as AWS applies them, a
// writer session is bound to the account that assumed it (the session tag
// logvault-source-account) and may deposit and read only in that account's
// part of the vault. Account C, which this vault does not trust, cannot
// assume the writer at all; Account B cannot tag its session as Account C.
func TestWriterSessionsConfinedToTheirAccount(t *testing.T) {
	ctx := context.Background()
	assume := func(c *sts.Client, tagValue string) (*sts.AssumeRoleOutput, error) {
		in := &sts.AssumeRoleInput{RoleArn: aws.String(stack.env["VAULT_ROLE_ARN"]), RoleSessionName: aws.String("e2e-accounts"),
			ExternalId: aws.String(stack.env["VAULT_EXTERNAL_ID"])}
		if tagValue != "" {
			in.Tags = []ststypes.Tag{{Key: aws.String(schema.SourceAccountTag), Value: aws.String(tagValue)}}
		}
		return c.AssumeRole(ctx, in)
	}
	refused := func(what string, err error) {
		t.Helper()
		var apiErr smithy.APIError
		if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "AccessDenied" {
			t.Errorf("%s: %v, want AccessDenied", what, err)
		}
	}

	// Account C: not trusted by this vault, whatever it tags.
	cSTS := sts.NewFromConfig(aws.Config{Region: stack.env["AWS_REGION"], HTTPClient: stsClient(t).Options().HTTPClient,
		Credentials: credentials.NewStaticCredentialsProvider(stack.env["ACCOUNT_C_ACCESS_KEY_ID"], stack.env["ACCOUNT_C_SECRET_ACCESS_KEY"], "")},
		func(o *sts.Options) { o.BaseEndpoint = aws.String(stack.env["AWS_ENDPOINT_URL_STS"]) })
	for _, tag := range []string{local.AccountC, local.AccountB, ""} {
		_, err := assume(cSTS, tag)
		refused("Account C assuming the writer (tag "+tag+")", err)
	}
	// Account B may not pretend to be another account, or carry no tag.
	for _, tag := range []string{local.AccountC, local.AccountA, ""} {
		_, err := assume(stsClient(t), tag)
		refused("Account B assuming the writer tagged "+tag, err)
	}

	out, err := assume(stsClient(t), local.AccountB)
	if err != nil {
		t.Fatalf("Account B assuming the writer with its own tag: %v", err)
	}
	w, err := local.ClientFor(stack.env, aws.ToString(out.Credentials.AccessKeyId), aws.ToString(out.Credentials.SecretAccessKey), aws.ToString(out.Credentials.SessionToken))
	if err != nil {
		t.Fatal(err)
	}
	vb := stack.env["VAULT_BUCKET"]
	run := strings.ReplaceAll(t.Name(), "/", "-")
	own := "cloudtrail/account=" + local.AccountB + "/" + run + "/own.json"
	theirs := "cloudtrail/account=" + local.AccountC + "/" + run + "/theirs.json"
	earlier := "cloudtrail/" + run + "/earlier-layout.json"
	// Account A's root (not bound by the policy) plants objects in C's part
	// and under the earlier layout, for the reads below.
	for _, k := range []string{theirs, earlier} {
		if _, err := admin(t).PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(vb), Key: aws.String(k), Body: bytes.NewReader([]byte("{}"))}); err != nil {
			t.Fatal(err)
		}
	}
	put := func(key string) error {
		_, err := w.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(vb), Key: aws.String(key), Body: bytes.NewReader([]byte(`{"Records":[]}`)),
			ChecksumAlgorithm: "SHA256", ExpectedBucketOwner: aws.String(local.AccountA)})
		return err
	}
	get := func(key string) error {
		_, err := w.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(vb), Key: aws.String(key), ExpectedBucketOwner: aws.String(local.AccountA)})
		return err
	}
	if err := put(own); err != nil {
		t.Errorf("Account B's writer session depositing in its own part: %v", err)
	}
	if err := get(own); err != nil {
		t.Errorf("Account B's writer session reading its own part: %v", err)
	}
	refused("Account B's writer session depositing in Account C's part", put(theirs))
	refused("Account B's writer session reading Account C's part", get(theirs))
	refused("Account B's writer session depositing under the earlier layout", put(earlier))
	refused("Account B's writer session reading the earlier layout", get(earlier))
	refused("Account B's writer session depositing in C's part with its own id deeper", put("cloudtrail/account="+local.AccountC+"/account="+local.AccountB+"/x.json"))
}
