//go:build integration

// Package e2e drives the logvault CLI against the local stack: versitygw over
// TLS enforcing infra/vault.yaml's bucket policy, and the loopback STS
// enforcing its trust policy. Run with `make integration`.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
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

// stack is the running local stack shared by the tests.
var stack struct {
	bin     string
	env     local.Env
	exports string // what `logvault local up` printed
}

func TestMain(m *testing.M) {
	os.Exit(setup(m))
}

func setup(m *testing.M) int {
	bin := os.Getenv("LOGVAULT_BIN")
	tmp, err := os.MkdirTemp("", "logvault-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmp)
	if bin == "" {
		bin = filepath.Join(tmp, "logvault")
		build := exec.Command("go", "build", "-o", bin, "../../cmd/logvault")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			fmt.Fprintln(os.Stderr, "build logvault:", err)
			return 1
		}
	}
	dir := filepath.Join(tmp, "stack")
	out, err := exec.Command(bin, "local", "up", "--dir", dir).Output()
	if err != nil {
		fmt.Fprintf(os.Stderr, "logvault local up: %v\n%s\n", err, stderrOf(err))
		if log, rerr := os.ReadFile(filepath.Join(dir, "stack.log")); rerr == nil {
			fmt.Fprintln(os.Stderr, string(log))
		}
		return 1
	}
	defer exec.Command(bin, "local", "down", "--dir", dir).Run()
	stack.bin, stack.env, stack.exports = bin, local.ParseExports(string(out)), string(out)
	for _, k := range []string{"AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL_IAM", "AWS_CA_BUNDLE", "AWS_REGION", "LOGVAULT_S3_PATH_STYLE",
		"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "VAULT_BUCKET", "VAULT_ROLE_ARN", "VAULT_EXTERNAL_ID", "VAULT_EXPECTED_OWNER",
		"VAULT_ADMIN_ACCESS_KEY_ID", "VAULT_ADMIN_SECRET_ACCESS_KEY", "SOURCE_CLOUDTRAIL_BUCKET", "SOURCE_BILLING_BUCKET",
		"VAULT_OPERATOR_ACCESS_KEY_ID", "VAULT_OPERATOR_SECRET_ACCESS_KEY", "VAULT_BREAK_GLASS_ACCESS_KEY_ID", "VAULT_BREAK_GLASS_SECRET_ACCESS_KEY"} {
		if stack.env[k] == "" {
			fmt.Fprintf(os.Stderr, "logvault local up printed no %s\n", k)
			return 1
		}
	}
	return m.Run()
}

func stderrOf(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return string(ee.Stderr)
	}
	return ""
}

// result is one CLI run.
type result struct {
	code           int
	stdout, stderr string
}

// invoke runs `logvault invoke fn` on payload with the stack's environment
// plus overrides.
func invoke(t *testing.T, fn string, payload []byte, overrides map[string]string) result {
	t.Helper()
	return run(t, fn, payload, overrides, nil)
}

// invokeArgs is invoke with extra flags.
func invokeArgs(t *testing.T, fn string, payload []byte, flags []string) result {
	t.Helper()
	return run(t, fn, payload, nil, flags)
}

func run(t *testing.T, fn string, payload []byte, overrides map[string]string, flags []string) result {
	t.Helper()
	f := filepath.Join(t.TempDir(), "event.json")
	if err := os.WriteFile(f, payload, 0o600); err != nil {
		t.Fatal(err)
	}
	return cli(t, overrides, append(append([]string{"invoke"}, flags...), fn, f)...)
}

// cli runs `logvault args...` with the stack's environment plus overrides
// (an empty override sets the variable empty).
func cli(t *testing.T, overrides map[string]string, args ...string) result {
	t.Helper()
	cmd := exec.Command(stack.bin, args...)
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	for k, v := range stack.env {
		if o, ok := overrides[k]; ok {
			v = o
		}
		env = append(env, k+"="+v)
	}
	cmd.Env = env
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{code, so.String(), se.String()}
}

// lastLine is the line a user reads first when a command fails.
func (r result) lastLine() string {
	lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	return lines[len(lines)-1]
}

// keepVaultPolicy returns the vault's bucket policy, and puts it back as
// Account A's root when the test ends (for tests that weaken it).
func keepVaultPolicy(t *testing.T) string {
	t.Helper()
	ctx, bucket := context.Background(), aws.String(stack.env["VAULT_BUCKET"])
	orig, err := admin(t).GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: bucket})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := admin(t).PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: bucket, Policy: orig.Policy}); err != nil {
			t.Errorf("put the original policy back: %v", err)
		}
	})
	return aws.ToString(orig.Policy)
}

// putVaultPolicy replaces the vault's bucket policy as Account A's root.
func putVaultPolicy(t *testing.T, doc any) {
	t.Helper()
	js, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin(t).PutBucketPolicy(context.Background(), &s3.PutBucketPolicyInput{Bucket: aws.String(stack.env["VAULT_BUCKET"]), Policy: aws.String(string(js))}); err != nil {
		t.Fatalf("replace the vault's policy: %v", err)
	}
}

// errCode is an AWS error's code, "" for none.
func errCode(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return ""
}

// admin is Account A's all-powerful client; accountB acts as Account B.
func admin(t *testing.T) *s3.Client {
	t.Helper()
	c, err := local.ClientFor(stack.env, stack.env["VAULT_ADMIN_ACCESS_KEY_ID"], stack.env["VAULT_ADMIN_SECRET_ACCESS_KEY"], "")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// operator acts as an Account A administrator who is not break-glass
// (identity policy s3:* on everything).
func operator(t *testing.T) *s3.Client {
	t.Helper()
	return keysClient(t, "VAULT_OPERATOR")
}

// breakGlass acts as the break-glass role.
func breakGlass(t *testing.T) *s3.Client {
	t.Helper()
	return keysClient(t, "VAULT_BREAK_GLASS")
}

// keysClient is a client with the keys the stack exports as
// <prefix>_ACCESS_KEY_ID and <prefix>_SECRET_ACCESS_KEY.
func keysClient(t *testing.T, prefix string) *s3.Client {
	t.Helper()
	c, err := local.ClientFor(stack.env, stack.env[prefix+"_ACCESS_KEY_ID"], stack.env[prefix+"_SECRET_ACCESS_KEY"], "")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func accountB(t *testing.T) *s3.Client {
	t.Helper()
	return accountBFor(t)
}

// accountBFor is accountB for tests and benchmarks alike.
func accountBFor(t testing.TB) *s3.Client {
	t.Helper()
	c, err := local.ClientFor(stack.env, stack.env["AWS_ACCESS_KEY_ID"], stack.env["AWS_SECRET_ACCESS_KEY"], "")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// writer acts with credentials from AssumeRole of the writer role, obtained
// through the SDK's STS client as the functions obtain them.
func writer(t *testing.T) *s3.Client {
	t.Helper()
	creds := assumeWriter(t, stack.env["VAULT_EXTERNAL_ID"]).Credentials
	c, err := local.ClientFor(stack.env, aws.ToString(creds.AccessKeyId), aws.ToString(creds.SecretAccessKey), aws.ToString(creds.SessionToken))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func stsClient(t *testing.T) *sts.Client {
	t.Helper()
	return stsClientFor(t, stack.env["AWS_ACCESS_KEY_ID"], stack.env["AWS_SECRET_ACCESS_KEY"])
}

// stsClientFor is an STS client of the local stack acting with these keys.
func stsClientFor(t *testing.T, access, secret string) *sts.Client {
	t.Helper()
	o := accountB(t).Options() // the stack's TLS client
	return sts.New(sts.Options{
		Region:       stack.env["AWS_REGION"],
		BaseEndpoint: aws.String(stack.env["AWS_ENDPOINT_URL_STS"]),
		Credentials:  credentials.NewStaticCredentialsProvider(access, secret, ""),
		HTTPClient:   o.HTTPClient,
	})
}

func assumeWriter(t *testing.T, externalID string) *sts.AssumeRoleOutput {
	t.Helper()
	out, err := stsClient(t).AssumeRole(context.Background(), &sts.AssumeRoleInput{
		RoleArn:         aws.String(stack.env["VAULT_ROLE_ARN"]),
		RoleSessionName: aws.String("e2e"),
		ExternalId:      aws.String(externalID),
		Tags:            []ststypes.Tag{{Key: aws.String(schema.SourceAccountTag), Value: aws.String(local.AccountB)}},
	})
	if err != nil {
		t.Fatalf("AssumeRole with the right ExternalId: %v", err)
	}
	return out
}
