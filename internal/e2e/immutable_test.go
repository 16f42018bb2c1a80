//go:build integration

package e2e

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/logvault/logvault/infra"
	"github.com/logvault/logvault/internal/cfn"
	"github.com/logvault/logvault/internal/eventgen"
	"github.com/logvault/logvault/internal/vault"
)

// Tests of docs/threat-model.md: what each attacker can and cannot do to the
// vault, on the local stack.

// ship puts body under key in the CloudTrail source bucket, ships it and
// returns the source object, the vault key and the receipt.
func ship(t *testing.T, key string, body []byte) (eventgen.Object, string, vault.Receipt) {
	t.Helper()
	src := putSource(t, key, body)
	return src, "cloudtrail/account=222222222222/" + src.Bucket + "/" + src.Key, deliver(t, src)
}

// deliver invokes the cloudtrail function on a notification of src and
// returns its one receipt.
func deliver(t *testing.T, src eventgen.Object) vault.Receipt {
	t.Helper()
	r := invoke(t, "cloudtrail", event(t, "s3-put", src), nil)
	if r.code != 0 {
		t.Fatalf("invoke: exit %d: %s", r.code, r.lastLine())
	}
	var resp struct{ Receipts []vault.Receipt }
	if err := json.Unmarshal([]byte(r.stdout), &resp); err != nil || len(resp.Receipts) != 1 {
		t.Fatalf("response %q: want one receipt (%v)", r.stdout, err)
	}
	return resp.Receipts[0]
}

// accessDenied reports whether err is S3's AccessDenied.
func accessDenied(err error) bool { return errCode(err) == "AccessDenied" }

// TestOperatorIsRefused: an Account A administrator who is not the
// break-glass role (identity policy s3:* on everything) may read the vault
// and nothing else.
func TestOperatorIsRefused(t *testing.T) {
	_, vkey, rec := ship(t, "AWSLogs/222222222222/CloudTrail/us-east-1/2026/11/30/operator.json.gz", []byte(`{"Records":["operator"]}`))
	ctx := context.Background()
	bucket := aws.String(stack.env["VAULT_BUCKET"])
	op := operator(t)
	vid := aws.String(rec.VersionID)
	policy, err := op.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: bucket})
	if err != nil {
		t.Fatalf("the operator cannot read the bucket policy: %v", err)
	}
	tags := &types.Tagging{TagSet: []types.Tag{{Key: aws.String("hold"), Value: aws.String("x")}}}
	refused := map[string]func() error{
		"DeleteObjectVersion": func() error {
			_, err := op.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: bucket, Key: &vkey, VersionId: vid})
			return err
		},
		"DeleteObject": func() error {
			_, err := op.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: bucket, Key: &vkey})
			return err
		},
		"PutBucketPolicy": func() error {
			_, err := op.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: bucket, Policy: policy.Policy})
			return err
		},
		"DeleteBucketPolicy": func() error {
			_, err := op.DeleteBucketPolicy(ctx, &s3.DeleteBucketPolicyInput{Bucket: bucket})
			return err
		},
		"PutBucketVersioning": func() error {
			_, err := op.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: bucket, VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusSuspended}})
			return err
		},
		"PutLifecycleConfiguration": func() error {
			_, err := op.PutBucketLifecycleConfiguration(ctx, &s3.PutBucketLifecycleConfigurationInput{Bucket: bucket, LifecycleConfiguration: &types.BucketLifecycleConfiguration{
				Rules: []types.LifecycleRule{{ID: aws.String("purge"), Status: types.ExpirationStatusEnabled, Filter: &types.LifecycleRuleFilter{Prefix: aws.String("")},
					NoncurrentVersionExpiration: &types.NoncurrentVersionExpiration{NoncurrentDays: aws.Int32(1)}}}}})
			return err
		},
		"PutObjectVersionTagging": func() error {
			_, err := op.PutObjectTagging(ctx, &s3.PutObjectTaggingInput{Bucket: bucket, Key: &vkey, VersionId: vid, Tagging: tags})
			return err
		},
		"PutObjectTagging": func() error {
			_, err := op.PutObjectTagging(ctx, &s3.PutObjectTaggingInput{Bucket: bucket, Key: &vkey, Tagging: tags})
			return err
		},
		"PutObject of its own": func() error {
			_, err := op.PutObject(ctx, &s3.PutObjectInput{Bucket: bucket, Key: &vkey, Body: strings.NewReader("planted by an admin")})
			return err
		},
		"PutObjectRetention": func() error {
			_, err := op.PutObjectRetention(ctx, &s3.PutObjectRetentionInput{Bucket: bucket, Key: &vkey, VersionId: vid,
				Retention: &types.ObjectLockRetention{Mode: types.ObjectLockRetentionModeGovernance, RetainUntilDate: aws.Time(time.Now().Add(time.Hour))}})
			return err
		},
		"PutBucketReplication": func() error {
			_, err := op.PutBucketReplication(ctx, &s3.PutBucketReplicationInput{Bucket: bucket, ReplicationConfiguration: &types.ReplicationConfiguration{
				Role: aws.String("arn:aws:iam::111111111111:role/copier"), Rules: []types.ReplicationRule{{Status: types.ReplicationRuleStatusEnabled,
					Destination: &types.Destination{Bucket: aws.String("arn:aws:s3:::elsewhere")}}}}})
			return err
		},
		"DeleteBucket": func() error {
			_, err := op.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: bucket})
			return err
		},
	}
	for action, try := range refused {
		if err := try(); !accessDenied(err) {
			t.Errorf("operator %s: %v, want AccessDenied", action, err)
		}
	}
	// Reads work.
	if _, err := op.HeadObject(ctx, &s3.HeadObjectInput{Bucket: bucket, Key: &vkey}); err != nil {
		t.Errorf("operator HeadObject: %v", err)
	}
	got, err := op.GetObject(ctx, &s3.GetObjectInput{Bucket: bucket, Key: &vkey, VersionId: vid})
	if err != nil {
		t.Fatalf("operator GetObject: %v", err)
	}
	defer got.Body.Close()
	if b, _ := io.ReadAll(got.Body); string(b) != `{"Records":["operator"]}` {
		t.Errorf("operator reads %q", b)
	}
	if _, err := op.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: bucket, Prefix: &vkey}); err != nil {
		t.Errorf("operator ListObjectVersions: %v", err)
	}
	if _, err := op.GetObjectRetention(ctx, &s3.GetObjectRetentionInput{Bucket: bucket, Key: &vkey, VersionId: vid}); err != nil {
		t.Errorf("operator GetObjectRetention: %v", err)
	}
	if vs := versions(t, vkey); len(vs) != 1 || aws.ToString(vs[0].VersionId) != rec.VersionID {
		t.Errorf("versions after the operator's attempts: %+v, want only %s", vs, rec.VersionID)
	}
}

// TestWriterDepositsReadableVersionsOnly: the writer's PutObject is refused
// when it would leave a version others cannot read or that sets its own
// retention; a plain one works.
func TestWriterDepositsReadableVersionsOnly(t *testing.T) {
	ctx := context.Background()
	bucket := aws.String(stack.env["VAULT_BUCKET"])
	w := writer(t)
	key := aws.String("cloudtrail/account=222222222222/e2e-writer-rules/x.json")
	body := func() io.Reader { return strings.NewReader("bytes") }
	for name, in := range map[string]*s3.PutObjectInput{
		"DEEP_ARCHIVE": {StorageClass: types.StorageClassDeepArchive},
		"GLACIER":      {StorageClass: types.StorageClassGlacier},
		"SSE-C": {SSECustomerAlgorithm: aws.String("AES256"), SSECustomerKey: aws.String(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte("k"), 32))),
			SSECustomerKeyMD5: aws.String(md5b64(bytes.Repeat([]byte("k"), 32)))},
		"SSE-KMS":     {ServerSideEncryption: types.ServerSideEncryptionAwsKms},
		"ACL":         {ACL: types.ObjectCannedACLPublicRead},
		"retention":   {ObjectLockMode: types.ObjectLockModeGovernance, ObjectLockRetainUntilDate: aws.Time(time.Now().Add(time.Hour))},
		"legal hold":  {ObjectLockLegalHoldStatus: types.ObjectLockLegalHoldStatusOn},
		"STANDARD_IA": {StorageClass: types.StorageClassStandardIa},
	} {
		in.Bucket, in.Key, in.Body = bucket, key, body()
		if _, err := w.PutObject(ctx, in); !accessDenied(err) {
			t.Errorf("writer PutObject with %s: %v, want AccessDenied", name, err)
		}
	}
	out, err := w.PutObject(ctx, &s3.PutObjectInput{Bucket: bucket, Key: key, Body: body()})
	if err != nil || aws.ToString(out.VersionId) == "" {
		t.Fatalf("writer plain PutObject: %v", err)
	}
	if out, err = w.PutObject(ctx, &s3.PutObjectInput{Bucket: bucket, Key: key, Body: body(), StorageClass: types.StorageClassStandard}); err != nil {
		t.Errorf("writer PutObject STANDARD: %v", err)
	}
}

func md5b64(b []byte) string {
	sum := md5.Sum(b)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// TestShippedVersionIsLocked: a version a function writes carries the
// vault's default retention, COMPLIANCE until now + the template's days.
func TestShippedVersionIsLocked(t *testing.T) {
	r, err := cfn.Resolve(infra.VaultTemplate, cfn.VaultDeployment{VaultAccount: "111111111111", BucketName: "b", WriterRoleName: "w", BreakGlassRoleName: "bg"}.Values())
	if err != nil {
		t.Fatal(err)
	}
	b, err := r.GetS3BucketWithName(cfn.VaultBucketID)
	if err != nil {
		t.Fatal(err)
	}
	days := *b.ObjectLockConfiguration.Rule.DefaultRetention.Days
	before := time.Now()
	_, vkey, rec := ship(t, "AWSLogs/222222222222/CloudTrail/us-east-1/2026/11/30/locked.json.gz", []byte(`{"Records":["locked"]}`))
	after := time.Now()
	h, err := admin(t).HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(stack.env["VAULT_BUCKET"]), Key: &vkey, VersionId: aws.String(rec.VersionID)})
	if err != nil {
		t.Fatal(err)
	}
	until := aws.ToTime(h.ObjectLockRetainUntilDate)
	lo, hi := before.AddDate(0, 0, days).Add(-time.Minute), after.AddDate(0, 0, days).Add(time.Minute)
	if h.ObjectLockMode != types.ObjectLockModeCompliance || until.Before(lo) || until.After(hi) {
		t.Errorf("shipped version locked %q until %v, want COMPLIANCE until now + %d days (%v..%v)", h.ObjectLockMode, until, days, lo, hi)
	}
}

// TestForgedVersionIsHealed: the writer's credentials plant other bytes
// over a shipped key with the genuine version's metadata copied; the next
// delivery of the genuine object writes its bytes again (S3's checksum
// tells the forgery apart), and the one after is a duplicate.
func TestForgedVersionIsHealed(t *testing.T) {
	ctx := context.Background()
	genuine := []byte(`{"Records":[{"eventName":"DeleteTrail","userIdentity":{"arn":"arn:aws:iam::222222222222:user/mallory"}}]}`)
	src, vkey, first := ship(t, "AWSLogs/222222222222/CloudTrail/us-east-1/2026/11/30/forged.json.gz", genuine)
	if first.Outcome != vault.Created {
		t.Fatalf("first shipment %q, want created", first.Outcome)
	}
	bucket := aws.String(stack.env["VAULT_BUCKET"])
	w := writer(t)
	h, err := w.HeadObject(ctx, &s3.HeadObjectInput{Bucket: bucket, Key: &vkey})
	if err != nil {
		t.Fatal(err)
	}
	forged := []byte(`{"Records":[]}`)
	sum := sha256.Sum256(forged)
	if _, err := w.PutObject(ctx, &s3.PutObjectInput{Bucket: bucket, Key: &vkey, Body: bytes.NewReader(forged), Metadata: h.Metadata,
		ContentType: h.ContentType, ContentEncoding: h.ContentEncoding,
		ChecksumAlgorithm: types.ChecksumAlgorithmSha256, ChecksumSHA256: aws.String(base64.StdEncoding.EncodeToString(sum[:]))}); err != nil {
		t.Fatalf("plant the forgery as the writer: %v", err)
	}
	if got := getVault(t, vkey); !bytes.Equal(got, forged) {
		t.Fatalf("the forgery is not current: %q", got)
	}

	healed := deliver(t, src)
	if healed.Outcome != vault.Overwrote || !strings.Contains(healed.Mismatch, "does not match its logvault-sha256 "+first.SHA256) {
		t.Errorf("redelivery after the forgery: outcome %q, mismatch %q; want overwrote naming the mismatch", healed.Outcome, healed.Mismatch)
	}
	if got := getVault(t, vkey); !bytes.Equal(got, genuine) {
		t.Errorf("current bytes after the redelivery %q, want the genuine ones", got)
	}
	if again := deliver(t, src); again.Outcome != vault.Duplicate || again.VersionID != healed.VersionID {
		t.Errorf("the same event once more: %q version %s, want duplicate of %s", again.Outcome, again.VersionID, healed.VersionID)
	}
	if vs := versions(t, vkey); len(vs) != 3 {
		t.Errorf("%d versions, want 3: genuine, forged, genuine again (nothing deleted)", len(vs))
	}
}

// TestLockedVersionsOutliveRootAndBreakGlass: Account A's root (which may
// do anything a bucket policy could deny) and the break-glass role (which
// the policy exempts) still cannot delete a locked version, shorten its
// retention or suspend versioning: COMPLIANCE mode holds for everyone.
func TestLockedVersionsOutliveRootAndBreakGlass(t *testing.T) {
	ctx := context.Background()
	_, vkey, rec := ship(t, "AWSLogs/222222222222/CloudTrail/us-east-1/2026/11/30/root.json.gz", []byte(`{"Records":["root"]}`))
	bucket := aws.String(stack.env["VAULT_BUCKET"])
	vid := aws.String(rec.VersionID)
	for who, c := range map[string]*s3.Client{"Account A root": admin(t), "break-glass": breakGlass(t)} {
		if _, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: bucket, Key: &vkey, VersionId: vid}); !accessDenied(err) || !strings.Contains(strings.ToLower(err.Error()), "object lock") {
			t.Errorf("%s DeleteObjectVersion of a locked version: %v, want AccessDenied by Object Lock", who, err)
		}
		if _, err := c.PutObjectRetention(ctx, &s3.PutObjectRetentionInput{Bucket: bucket, Key: &vkey, VersionId: vid,
			Retention: &types.ObjectLockRetention{Mode: types.ObjectLockRetentionModeCompliance, RetainUntilDate: aws.Time(time.Now().Add(time.Hour))}}); err == nil {
			t.Errorf("%s shortened a COMPLIANCE retention", who)
		}
		if _, err := c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: bucket, VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusSuspended}}); err == nil {
			t.Errorf("%s suspended versioning of a vault with Object Lock", who)
		}
	}
	// The break-glass role is exempt from the policy: it may read and send
	// back the policy, which the operator may not (TestOperatorIsRefused).
	bg := breakGlass(t)
	p, err := bg.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: bucket})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bg.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: bucket, Policy: p.Policy}); err != nil {
		t.Errorf("break-glass PutBucketPolicy (the same policy): %v", err)
	}
	// As on AWS, a policy naming a principal that does not exist is refused.
	ghost := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444444444444:role/ghost"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::` + *bucket + `/*"}]}`
	var apiErr smithy.APIError
	if _, err := bg.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: bucket, Policy: &ghost}); !errors.As(err, &apiErr) || apiErr.ErrorCode() != "MalformedPolicy" {
		t.Errorf("PutBucketPolicy naming an unknown principal: %v, want MalformedPolicy", err)
	}
	if vs := versions(t, vkey); len(vs) != 1 {
		t.Errorf("versions %+v, want the one shipped", vs)
	}
}

// TestAWSCLIInLocalUpEnvironment runs the AWS CLI, every one installed (v1
// and v2), in exactly the shell `eval "$(logvault local up)"` leaves,
// started from one with a profile and a session token that must not leak
// in: the CLI's own commands work with no other setting. CLIs older than
// service-specific endpoint variables (AWS_ENDPOINT_URL_S3: v1.29, v2.13)
// cannot be pointed at the stack by the environment and are skipped.
func TestAWSCLIInLocalUpEnvironment(t *testing.T) {
	var clis []string
	if p, err := exec.LookPath("aws"); err == nil {
		clis = append(clis, p)
	}
	for _, p := range []string{"/usr/local/bin/aws", "/usr/bin/aws"} {
		if _, err := os.Stat(p); err == nil && !slices.Contains(clis, p) {
			clis = append(clis, p)
		}
	}
	if len(clis) == 0 {
		t.Skip("the AWS CLI is not installed")
	}
	env := filepath.Join(t.TempDir(), "env")
	if err := os.WriteFile(env, []byte(stack.exports), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, awsCLI := range clis {
		version, err := exec.Command(awsCLI, "--version").CombinedOutput()
		if err != nil {
			t.Errorf("%s --version: %v\n%s", awsCLI, err, version)
			continue
		}
		t.Run(awsCLI, func(t *testing.T) {
			t.Logf("%s", strings.TrimSpace(string(version)))
			if !endpointVariables(string(version)) {
				t.Skipf("%s predates AWS_ENDPOINT_URL_S3 (v1.29 / v2.13): only --endpoint-url can point it at the stack", strings.Fields(string(version))[0])
			}
			checkAWSCLI(t, awsCLI, env)
		})
	}
}

// endpointVariables reports whether `aws --version` output names a CLI that
// reads AWS_ENDPOINT_URL_<SERVICE>: v1 from 1.29, v2 from 2.13.
func endpointVariables(version string) bool {
	var major, minor int
	if _, err := fmt.Sscanf(strings.TrimPrefix(strings.Fields(version)[0], "aws-cli/"), "%d.%d", &major, &minor); err != nil {
		return false
	}
	return (major == 1 && minor >= 29) || (major == 2 && minor >= 13) || major > 2
}

func checkAWSCLI(t *testing.T, awsCLI, env string) {
	run := func(script string) (string, error) {
		cmd := exec.Command("bash", "-c", `eval "$(cat "$ENV_FILE")"; `+script)
		cmd.Env = []string{"PATH=" + filepath.Dir(awsCLI) + ":" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "ENV_FILE=" + env,
			"AWS_PROFILE=nonexistent", "AWS_SESSION_TOKEN=stale", "AWS_PAGER="}
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	// What a user types first, as Account B (the exported default).
	if out, err := run(`aws s3api list-buckets --query 'Buckets[].Name' --output text`); err != nil || !strings.Contains(out, stack.env["SOURCE_CLOUDTRAIL_BUCKET"]) {
		t.Errorf("aws s3api list-buckets as Account B: %v:\n%s", err, out)
	}
	key := "cli-" + strconv.FormatInt(time.Now().UnixNano(), 36) + ".json"
	if out, err := run(`echo '{}' | aws s3 cp - "s3://$SOURCE_CLOUDTRAIL_BUCKET/` + key + `" && aws s3 ls "s3://$SOURCE_CLOUDTRAIL_BUCKET"`); err != nil || !strings.Contains(out, key) {
		t.Errorf("aws s3 cp and aws s3 ls s3://$SOURCE_CLOUDTRAIL_BUCKET as Account B: %v:\n%s", err, out)
	}
	// Account B's keys may not even list the vault.
	if out, err := run(`aws s3api list-object-versions --bucket "$VAULT_BUCKET" --max-items 1`); err == nil || !strings.Contains(out, "AccessDenied") {
		t.Errorf("Account B listing the vault with the AWS CLI: %v:\n%s", err, out)
	}
	out, err := run(`AWS_ACCESS_KEY_ID=$VAULT_OPERATOR_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY=$VAULT_OPERATOR_SECRET_ACCESS_KEY aws s3api list-object-versions --bucket "$VAULT_BUCKET" --max-items 1`)
	if err != nil {
		t.Errorf("the operator's listing with the AWS CLI: %v:\n%s", err, out)
	}
	out, err = run(`AWS_ACCESS_KEY_ID=$VAULT_OPERATOR_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY=$VAULT_OPERATOR_SECRET_ACCESS_KEY aws s3api put-bucket-versioning --bucket "$VAULT_BUCKET" --versioning-configuration Status=Suspended`)
	if err == nil || !strings.Contains(out, "AccessDenied") {
		t.Errorf("the operator suspending versioning with the AWS CLI: %v:\n%s", err, out)
	}
	out, err = run(`aws sts assume-role --role-arn "$VAULT_ROLE_ARN" --role-session-name cli --external-id "$VAULT_EXTERNAL_ID" --tags Key=logvault-source-account,Value=222222222222 --query Credentials.AccessKeyId --output text`)
	if err != nil || !strings.HasPrefix(strings.TrimSpace(out), "ASIA") {
		t.Errorf("AssumeRole of the writer with the AWS CLI: %v:\n%s", err, out)
	}
}

// TestFormUploadRefused: a browser-form upload (POST Object) is a
// PutObject too: the operator may not deposit that way either.
func TestFormUploadRefused(t *testing.T) {
	ctx := context.Background()
	req, err := s3.NewPresignClient(operator(t)).PresignPostObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(stack.env["VAULT_BUCKET"]), Key: aws.String("cloudtrail/e2e-form/planted.json")})
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	form := multipart.NewWriter(&body)
	for k, v := range req.Values {
		form.WriteField(k, v)
	}
	fw, _ := form.CreateFormFile("file", "planted.json")
	fw.Write([]byte(`{"Records":[]}`))
	form.Close()
	hc := operator(t).Options().HTTPClient.(*http.Client)
	resp, err := hc.Post(req.URL, form.FormDataContentType(), &body)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(out), "AccessDenied") {
		t.Errorf("the operator's form upload: %d %s, want 403 AccessDenied", resp.StatusCode, out)
	}
}
