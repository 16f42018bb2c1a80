package main

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
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/klauspost/compress/gzip"
	"github.com/spf13/cobra"

	"github.com/logvault/logvault/internal/eventgen"
	"github.com/logvault/logvault/internal/local"
	"github.com/logvault/logvault/internal/schema"
)

func demoCmd() *cobra.Command {
	var keep bool
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Walk through logvault on the local stack: ship, overwrite, try to delete as Account B",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir, err := os.MkdirTemp("", "logvault-demo-")
			if err != nil {
				return err
			}
			if !keep {
				defer os.RemoveAll(dir)
			}
			return runDemo(cmd.Context(), os.Stdout, filepath.Join(dir, "stack"), keep)
		},
	}
	cmd.Flags().BoolVar(&keep, "keep", false, "leave the local stack running afterwards")
	return cmd
}

type demo struct {
	out io.Writer
	env local.Env
	ctx context.Context
}

func (d *demo) step(format string, args ...any) {
	fmt.Fprintf(d.out, "\n== "+format+"\n", args...)
}

func (d *demo) say(format string, args ...any) {
	fmt.Fprintf(d.out, "   "+format+"\n", args...)
}

func runDemo(ctx context.Context, out io.Writer, dir string, keep bool) error {
	if ctx == nil {
		ctx = context.Background()
	}
	d := &demo{out: out, ctx: ctx}
	d.step("1. Start the local stack: versitygw over TLS, a loopback STS, Accounts A (root, an operator, break-glass) and B, the buckets")
	exports, err := local.Up(dir, nil, 90*time.Second)
	if err != nil {
		return err
	}
	if keep {
		d.say("left running; stop it with: logvault local down --dir %s", dir)
	} else {
		defer func() {
			local.Down(dir)
			d.step("13. Local stack stopped")
		}()
	}
	d.env = local.ParseExports(exports)
	for k, v := range d.env {
		os.Setenv(k, v)
	}
	d.say("S3  %s   STS  %s", d.env["AWS_ENDPOINT_URL_S3"], d.env["AWS_ENDPOINT_URL_STS"])
	d.say("vault s3://%s (Account A), source s3://%s (Account B)", d.env["VAULT_BUCKET"], d.env["SOURCE_CLOUDTRAIL_BUCKET"])
	d.say("writer role %s, assumed with ExternalId", d.env["VAULT_ROLE_ARN"])

	b, err := local.ClientFor(d.env, d.env["AWS_ACCESS_KEY_ID"], d.env["AWS_SECRET_ACCESS_KEY"], "")
	if err != nil {
		return err
	}
	a, err := local.ClientFor(d.env, d.env["VAULT_ADMIN_ACCESS_KEY_ID"], d.env["VAULT_ADMIN_SECRET_ACCESS_KEY"], "")
	if err != nil {
		return err
	}
	key := "AWSLogs/222222222222/CloudTrail/us-east-1/2026/11/26/222222222222_CloudTrail_us-east-1_20261126T1205Z_demo.json.gz"
	vkey, err := schema.CopiedKey(schema.KindCloudTrail, local.AccountB, d.env["SOURCE_CLOUDTRAIL_BUCKET"], key)
	if err != nil {
		return err
	}

	d.step("2. CloudTrail delivers a log file to the source bucket; its notification reaches the cloudtrail function via SQS")
	if err := d.shipSample(b, key, `{"Records":[{"eventName":"ConsoleLogin","userIdentity":{"type":"Root"}}]}`); err != nil {
		return err
	}
	d.step("3. The same notification is delivered again (SQS is at-least-once)")
	if err := d.shipSample(b, key, `{"Records":[{"eventName":"ConsoleLogin","userIdentity":{"type":"Root"}}]}`); err != nil {
		return err
	}
	d.step("4. An attacker in Account B overwrites the source file, and it is shipped again")
	if err := d.shipSample(b, key, `{"Records":[]}`); err != nil {
		return err
	}

	d.step("5. The vault as Account A sees it: both versions, with their metadata and their Object Lock retention")
	vs, err := a.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(d.env["VAULT_BUCKET"]), Prefix: aws.String(vkey)})
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "   VERSION\tLATEST\tBYTES\tlogvault-sha256\tlogvault-supersedes\tS3 checksum ok\tRETENTION")
	for _, v := range vs.Versions {
		h, err := a.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(d.env["VAULT_BUCKET"]), Key: aws.String(vkey), VersionId: v.VersionId, ChecksumMode: types.ChecksumModeEnabled})
		if err != nil {
			return err
		}
		sup := h.Metadata[schema.MetaSupersedes]
		if sup == "" {
			sup = "-"
		}
		// GetObjectRetention, not HEAD: versitygw's HEAD of a noncurrent
		// version leaves out its (kept) retention.
		ret, err := a.GetObjectRetention(ctx, &s3.GetObjectRetentionInput{Bucket: aws.String(d.env["VAULT_BUCKET"]), Key: aws.String(vkey), VersionId: v.VersionId})
		if err != nil {
			return fmt.Errorf("demo: retention of version %s: %w", aws.ToString(v.VersionId), err)
		}
		fmt.Fprintf(tw, "   %s\t%v\t%d\t%s…\t%s\t%v\t%s until %s\n", aws.ToString(v.VersionId), aws.ToBool(v.IsLatest), aws.ToInt64(v.Size),
			h.Metadata[schema.MetaSHA256][:16], sup, checksumMatches(h), ret.Retention.Mode, aws.ToTime(ret.Retention.RetainUntilDate).Format("2006-01-02"))
	}
	tw.Flush()
	if len(vs.Versions) > 0 {
		h, _ := a.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(d.env["VAULT_BUCKET"]), Key: aws.String(vkey)})
		if h != nil {
			d.say("metadata of the current version:")
			for _, k := range []string{schema.MetaKind, schema.MetaSource, schema.MetaSourceVersionID, schema.MetaSourceETag, schema.MetaShippedAt, schema.MetaShipper} {
				d.say("  x-amz-meta-%s: %s", k, h.Metadata[k])
			}
		}
	}

	d.say("every version is COMPLIANCE-locked by the vault's default retention: nobody, not even Account A's root, can delete it before then")

	d.step("6. Attackers try to destroy the evidence: Account B (the compromise drill), an Account A administrator who is not break-glass, Account A's root")
	op, err := local.ClientFor(d.env, d.env["VAULT_OPERATOR_ACCESS_KEY_ID"], d.env["VAULT_OPERATOR_SECRET_ACCESS_KEY"], "")
	if err != nil {
		return err
	}
	old := vs.Versions[len(vs.Versions)-1].VersionId
	for _, who := range []struct {
		name string
		c    *s3.Client
	}{{"Account B", b}, {"the operator (Account A admin, identity policy s3:*)", op}} {
		d.say("as %s:", who.name)
		if err := d.attack(who.c, vkey, old); err != nil {
			return err
		}
	}
	d.say("as Account A's root (which AWS always lets replace the bucket policy; locally its key skips the policy outright):")
	_, err = a.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(d.env["VAULT_BUCKET"]), Key: aws.String(vkey), VersionId: old})
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "AccessDenied" {
		return fmt.Errorf("demo: Account A's root deleted a locked version: %v", err)
	}
	d.say("  %-44s refused: %s (%s)", "DeleteObjectVersion (the original)", apiErr.ErrorCode(), apiErr.ErrorMessage())
	d.say("the original is still there, version %s", aws.ToString(old))

	d.step("7. A billing report (CUR 2.0, about 47 MiB) arrives via EventBridge; the billing function hashes it, then S3 copies it in 8 MiB parts")
	if err := d.shipBilling(b); err != nil {
		return err
	}
	d.step("8. An application's CloudWatch Logs subscription delivers a batch (twice); the applogs function writes one gzip NDJSON object")
	if err := d.shipAppLogs(); err != nil {
		return err
	}

	d.step("9. Logs that came without a notification (AWS Config, S3 access logs, VPC Flow Logs): reconcile finds them, backfill ships each under its kind")
	if err := d.backfill(b); err != nil {
		return err
	}
	d.step("10. logvault drill: the compromise drill with the writer's credentials, then the operator's")
	if code := d.cli("drill"); code != 0 {
		return fmt.Errorf("demo: logvault drill exited %d", code)
	}
	d.step("11. logvault verify: every version's SHA-256 against its metadata and S3's checksum")
	d.say("(it must flag the CloudTrail file the attacker overwrote in step 4; billing re-deliveries are expected)")
	if code := d.cli("verify"); code != 1 {
		return fmt.Errorf("demo: logvault verify exited %d, expected 1 for the overwritten CloudTrail file", code)
	}
	d.step("12. logvault restore: make the original CloudTrail version current again (a new version, nothing deleted)")
	if code := d.cli("restore", vkey, "--version-id", aws.ToString(old)); code != 0 {
		return fmt.Errorf("demo: logvault restore exited %d", code)
	}
	return nil
}

// attack tries to destroy vkey's history with c and says what the server
// answered; anything but a refusal fails the demo.
func (d *demo) attack(c *s3.Client, vkey string, old *string) error {
	ctx, bucket := d.ctx, aws.String(d.env["VAULT_BUCKET"])
	attempts := []struct {
		name string
		try  func() error
	}{
		{"DeleteObject (current)", func() error {
			_, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: bucket, Key: aws.String(vkey)})
			return err
		}},
		{"DeleteObjectVersion (the original)", func() error {
			_, err := c.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: bucket, Key: aws.String(vkey), VersionId: old})
			return err
		}},
		{"PutObjectVersionTagging (the original)", func() error {
			_, err := c.PutObjectTagging(ctx, &s3.PutObjectTaggingInput{Bucket: bucket, Key: aws.String(vkey), VersionId: old,
				Tagging: &types.Tagging{TagSet: []types.Tag{{Key: aws.String("x"), Value: aws.String("y")}}}})
			return err
		}},
		{"PutObject (other bytes over the key)", func() error {
			_, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: bucket, Key: aws.String(vkey), Body: strings.NewReader(`{"Records":[]}`)})
			return err
		}},
		{"PutBucketPolicy (Allow everything)", func() error {
			_, err := c.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: bucket, Policy: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::` + *bucket + `/*"}]}`)})
			return err
		}},
		{"DeleteBucketPolicy", func() error {
			_, err := c.DeleteBucketPolicy(ctx, &s3.DeleteBucketPolicyInput{Bucket: bucket})
			return err
		}},
		{"PutBucketVersioning (Suspended)", func() error {
			_, err := c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: bucket, VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusSuspended}})
			return err
		}},
		{"DeleteBucket", func() error { _, err := c.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: bucket}); return err }},
	}
	refused := 0
	for _, at := range attempts {
		err := at.try()
		var apiErr smithy.APIError
		switch {
		case err == nil:
			d.say("  %-44s ALLOWED  <- the vault is not immutable!", at.name)
		case errors.As(err, &apiErr) && apiErr.ErrorCode() == "AccessDenied":
			refused++
			d.say("  %-44s refused: %s", at.name, apiErr.ErrorCode())
		default:
			d.say("  %-44s error: %v", at.name, err)
		}
	}
	d.say("  %d of %d refused by the server", refused, len(attempts))
	if refused != len(attempts) {
		return fmt.Errorf("demo: %d destructive actions were not refused", len(attempts)-refused)
	}
	return nil
}

// cli runs this logvault binary with the stack's environment (already in
// the process environment) and shows its output indented.
func (d *demo) cli(args ...string) int {
	self, err := os.Executable()
	if err != nil {
		d.say("cannot find the logvault binary: %v", err)
		return -1
	}
	d.say("$ logvault %s", strings.Join(args, " "))
	cmd := exec.CommandContext(d.ctx, self, args...)
	out, _ := cmd.CombinedOutput()
	for _, line := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		d.say("  %s", line)
	}
	if cmd.ProcessState == nil {
		return -1
	}
	return cmd.ProcessState.ExitCode()
}

// backfill puts objects of three other AWS logs straight into the trail
// bucket (no event), then shows reconcile and backfill at work.
func (d *demo) backfill(b *s3.Client) error {
	bucket := d.env["SOURCE_CLOUDTRAIL_BUCKET"]
	for _, key := range []string{
		"AWSLogs/222222222222/Config/us-east-1/2026/11/26/ConfigSnapshot/222222222222_Config_us-east-1_ConfigSnapshot_20261126T120000Z_0b1c2d3e.json.gz",
		"access-logs/2026-11-26-00-05-12-0123456789ABCDEF",
		"AWSLogs/222222222222/vpcflowlogs/us-east-1/2026/11/26/222222222222_vpcflowlogs_us-east-1_fl-0123456789abcdef0_20261126T0005Z_abcdef12.log.gz",
	} {
		if _, err := b.PutObject(d.ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader("sample " + key)}); err != nil {
			return fmt.Errorf("demo: put %s: %w", key, err)
		}
	}
	src := "s3://" + bucket + "/"
	if code := d.cli("reconcile", "--source", src); code != 1 {
		return fmt.Errorf("demo: logvault reconcile exited %d, expected 1 (objects missing)", code)
	}
	if code := d.cli("backfill", "--source", src); code != 0 {
		return fmt.Errorf("demo: logvault backfill exited %d", code)
	}
	if code := d.cli("reconcile", "--source", src); code != 0 {
		return fmt.Errorf("demo: logvault reconcile exited %d after the backfill", code)
	}
	return nil
}

// shipBilling puts a large report as Account B and ships it.
func (d *demo) shipBilling(b *s3.Client) error {
	const size = 48 << 20
	data := bytes.Repeat([]byte("identity/LineItemId,bill/PayerAccountId,lineItem/UnblendedCost\n"), size/64)
	key := "cur2/logvault-export/data/BILLING_PERIOD=2026-11/logvault-export-00001.csv.gz"
	put, err := b.PutObject(d.ctx, &s3.PutObjectInput{Bucket: aws.String(d.env["SOURCE_BILLING_BUCKET"]), Key: aws.String(key), Body: bytes.NewReader(data)})
	if err != nil {
		return fmt.Errorf("demo: put billing report: %w", err)
	}
	d.say("source s3://%s/%s (%d MiB)", d.env["SOURCE_BILLING_BUCKET"], key, len(data)>>20)
	ev, err := announce("sqs-eventbridge", d.env["SOURCE_BILLING_BUCKET"], key, put, len(data))
	if err != nil {
		return err
	}
	return d.invoke("billing", ev)
}

// shipAppLogs sends the same subscription payload twice.
func (d *demo) shipAppLogs() error {
	data := events.CloudwatchLogsData{
		Owner: "222222222222", LogGroup: "/aws/lambda/checkout", LogStream: "2026/11/26/[$LATEST]0123456789abcdef",
		SubscriptionFilters: []string{"logvault"}, MessageType: "DATA_MESSAGE",
		LogEvents: []events.CloudwatchLogsLogEvent{
			{ID: "37263521234567890123456789012345678901234567890123456", Timestamp: 1795090000000, Message: "START RequestId: 5f1d Version: $LATEST"},
			{ID: "37263521234567890123456789012345678901234567890123457", Timestamp: 1795090000100, Message: "payment declined for order 1234 ❌"},
		},
	}
	ev := eventgen.CloudWatchLogs(data)
	for i := 0; i < 2; i++ {
		if err := d.invoke("applogs", ev); err != nil {
			return err
		}
	}
	return nil
}

// invoke runs a function in-process and prints its receipts as sentences.
func (d *demo) invoke(fn string, ev []byte) error {
	var logs bytes.Buffer
	if _, err := runFunction(d.ctx, fn, ev, &logs); err != nil {
		return fmt.Errorf("demo: invoke %s: %w\n%s", fn, err, logs.String())
	}
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		if strings.Contains(line, `"msg":"shipped"`) {
			d.say("logvault %s: %s", fn, summarize(line))
		}
	}
	return nil
}

// shipSample puts a gzip CloudTrail file as Account B, then invokes the
// cloudtrail function in-process on the SQS-delivered notification of it.
func (d *demo) shipSample(b *s3.Client, key, records string) error {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte(records))
	zw.Close()
	sum := sha256.Sum256(buf.Bytes())
	put, err := b.PutObject(d.ctx, &s3.PutObjectInput{
		Bucket: aws.String(d.env["SOURCE_CLOUDTRAIL_BUCKET"]), Key: aws.String(key), Body: bytes.NewReader(buf.Bytes()),
		ContentType: aws.String("application/json"), ContentEncoding: aws.String("gzip"),
	})
	if err != nil {
		return fmt.Errorf("demo: put source: %w", err)
	}
	d.say("source s3://%s/%s", d.env["SOURCE_CLOUDTRAIL_BUCKET"], key)
	d.say("       version %s, %d bytes, sha256 %s…", aws.ToString(put.VersionId), buf.Len(), hex.EncodeToString(sum[:])[:16])
	ev, err := announce("sqs-s3", d.env["SOURCE_CLOUDTRAIL_BUCKET"], key, put, buf.Len())
	if err != nil {
		return err
	}
	return d.invoke("cloudtrail", ev)
}

// announce builds the notification, in shape, of an object just put.
func announce(shape, bucket, key string, put *s3.PutObjectOutput, size int) ([]byte, error) {
	return eventgen.Build(shape, eventgen.Object{Bucket: bucket, Key: key, VersionID: aws.ToString(put.VersionId),
		ETag: strings.Trim(aws.ToString(put.ETag), `"`), Size: int64(size)})
}

// summarize turns a receipt log line into "OUTCOME -> key, vault version V".
func summarize(line string) string {
	var r struct {
		Key       string `json:"key"`
		Outcome   string `json:"outcome"`
		VersionID string `json:"version_id"`
		Bytes     int64  `json:"bytes"`
		Copied    bool   `json:"copied"`
	}
	if err := json.Unmarshal([]byte(line), &r); err != nil {
		return line
	}
	how := ""
	if r.Copied {
		how = ", copied server-side by S3, every part's SHA-256 checked"
	}
	return fmt.Sprintf("%s -> %s\n       vault version %s (%d bytes%s)", strings.ToUpper(r.Outcome), r.Key, r.VersionID, r.Bytes, how)
}

func checksumMatches(h *s3.HeadObjectOutput) bool {
	sum, err := hex.DecodeString(h.Metadata[schema.MetaSHA256])
	if err != nil {
		return false
	}
	return aws.ToString(h.ChecksumSHA256) == base64.StdEncoding.EncodeToString(sum)
}
