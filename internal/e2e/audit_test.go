//go:build integration

package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// asOperator runs the CLI with the Account A operator's keys (an
// administrator who is not break-glass) as the ambient credentials.
func asOperator() map[string]string {
	return map[string]string{"AWS_ACCESS_KEY_ID": stack.env["VAULT_OPERATOR_ACCESS_KEY_ID"], "AWS_SECRET_ACCESS_KEY": stack.env["VAULT_OPERATOR_SECRET_ACCESS_KEY"]}
}

// findingLines are the FINDING lines of an audit's output.
func findingLines(out string) []string {
	var lines []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "FINDING: ") {
			lines = append(lines, l)
		}
	}
	return lines
}

// TestAuditLiveHolds: what the local stack deploys passes `logvault audit
// --live`, read with an Account A administrator's keys; --json says the same.
func TestAuditLiveHolds(t *testing.T) {
	r := cli(t, asOperator(), "audit", "--live")
	if r.code != 0 {
		t.Fatalf("audit --live on the local stack: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, "(live, read as arn:aws:iam::111111111111:user/logvault-operator)") || !strings.Contains(r.stdout, "audit: 0 findings") {
		t.Errorf("output:\n%s", r.stdout)
	}
	// In `local up`'s own environment (Account B's ambient keys) it reads
	// with the operator's keys, as the drill does; with Account A's root's
	// too.
	for name, env := range map[string]map[string]string{"local up's environment": nil, "Account A's root": {
		"AWS_ACCESS_KEY_ID": stack.env["VAULT_ADMIN_ACCESS_KEY_ID"], "AWS_SECRET_ACCESS_KEY": stack.env["VAULT_ADMIN_SECRET_ACCESS_KEY"],
		"VAULT_OPERATOR_ACCESS_KEY_ID": "", "VAULT_OPERATOR_SECRET_ACCESS_KEY": ""}} {
		if r := cli(t, env, "audit", "--live"); r.code != 0 {
			t.Errorf("audit --live in %s: exit %d\n%s\n%s", name, r.code, r.stdout, r.stderr)
		}
	}
	r = cli(t, asOperator(), "audit", "--live", "--json")
	var rep struct {
		OK       bool
		Live     bool
		Findings []any
		Actions  int
	}
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil || r.code != 0 || !rep.OK || !rep.Live || rep.Actions < 160 {
		t.Errorf("audit --live --json: exit %d, %v, %+v\n%s", r.code, err, rep, r.stdout)
	}
}

// TestAuditLiveNeedsAccountA: with Account B's keys (and no operator keys)
// the live audit fails rather than proving what it cannot read.
func TestAuditLiveNeedsAccountA(t *testing.T) {
	r := cli(t, map[string]string{"VAULT_OPERATOR_ACCESS_KEY_ID": "", "VAULT_OPERATOR_SECRET_ACCESS_KEY": ""}, "audit", "--live")
	if r.code == 0 || !strings.Contains(r.lastLine(), "Account A's credentials") {
		t.Errorf("audit --live with Account B's keys: exit %d, %q", r.code, r.lastLine())
	}
}

// TestAuditLiveFindsAWeakenedPolicy: Account A's administrator (its root,
// which no bucket policy binds) replaces the live bucket policy; the live
// audit exits 1 and names the action and the principal.
func TestAuditLiveFindsAWeakenedPolicy(t *testing.T) {
	orig := keepVaultPolicy(t)
	bucketARN := "arn:aws:s3:::" + stack.env["VAULT_BUCKET"]
	for _, c := range []struct {
		name string
		edit func(statements []map[string]any) []map[string]any
		want [][]string // each: a finding line must hold all of these
	}{
		{"remove DenyDepositButWriter", without("DenyDepositButWriter"), [][]string{
			{"arn:aws:sts::111111111111:assumed-role/Admin/s", "may s3:PutObject", "no Deny stops it"},
			{"arn:aws:iam::222222222222:root", "may s3:PutObject", "missing Deny"},
		}},
		{"remove DenyAllButReadAndDeposit", without("DenyAllButReadAndDeposit"), [][]string{
			{"Account A admin", "may s3:PutBucketPolicy on " + bucketARN, "no Deny stops it"},
			{"Account A admin", "may s3:DeleteBucket on " + bucketARN, "no Deny stops it"},
		}},
		{"s3:DeleteObjectVersion read-listed", func(st []map[string]any) []map[string]any {
			for _, s := range st {
				if s["Sid"] == "DenyAllButReadAndDeposit" {
					s["NotAction"] = append(s["NotAction"].([]any), "s3:DeleteObjectVersion")
				}
			}
			return st
		}, [][]string{{"Account A admin", "may s3:DeleteObjectVersion", "no Deny stops it"}}},
		{"the allow-list limited to keys ending in y", func(st []map[string]any) []map[string]any {
			for _, s := range st {
				if s["Sid"] == "DenyAllButReadAndDeposit" {
					s["Resource"] = []any{bucketARN, bucketARN + "/*y"}
				}
			}
			return st
		}, [][]string{{"Account A admin", "may s3:DeleteObjectVersion on " + bucketARN + "/k", "no Deny stops it"}}},
		{"reads granted to Account B", func(st []map[string]any) []map[string]any {
			return append(st, map[string]any{"Sid": "ShareWithB", "Effect": "Allow", "Principal": map[string]any{"AWS": "arn:aws:iam::222222222222:root"},
				"Action": "s3:GetObject", "Resource": bucketARN + "/*"})
		}, [][]string{{"222222222222", "may s3:GetObject", "ShareWithB"}}},
		{"lifecycle hidden from administrators", func(st []map[string]any) []map[string]any {
			return append(st, map[string]any{"Sid": "HideLifecycle", "Effect": "Deny", "Principal": "*", "Action": "s3:GetLifecycleConfiguration",
				"Resource": bucketARN, "Condition": map[string]any{"ArnNotEquals": map[string]any{"aws:PrincipalArn": "arn:aws:iam::111111111111:role/logvault-break-glass"}}})
		}, [][]string{{"reading the lifecycle configuration", "AccessDenied", "could not be read"}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var doc map[string]any
			if err := json.Unmarshal([]byte(orig), &doc); err != nil {
				t.Fatal(err)
			}
			var st []map[string]any
			for _, s := range doc["Statement"].([]any) {
				st = append(st, s.(map[string]any))
			}
			doc["Statement"] = c.edit(st)
			putVaultPolicy(t, doc)
			r := cli(t, asOperator(), "audit", "--live")
			if r.code != 1 {
				t.Fatalf("audit --live on a weakened vault: exit %d, want 1\n%s\n%s", r.code, r.stdout, r.stderr)
			}
			lines := findingLines(r.stdout)
			for _, want := range c.want {
				found := false
				for _, l := range lines {
					all := true
					for _, w := range want {
						all = all && strings.Contains(l, w)
					}
					found = found || all
				}
				if !found {
					t.Errorf("no finding with %q among %d:\n%s", want, len(lines), strings.Join(lines[:min(len(lines), 20)], "\n"))
				}
			}
		})
	}
}

// without removes the statement of that Sid.
func without(sid string) func([]map[string]any) []map[string]any {
	return func(st []map[string]any) []map[string]any {
		var out []map[string]any
		for _, s := range st {
			if s["Sid"] != sid {
				out = append(out, s)
			}
		}
		return out
	}
}

// TestStackAppliesTheBucketDefaults: what the live audit reads of the
// settings versitygw lacks is what the stack enforces: SSE-C is refused
// even to Account A's root, a public bucket policy is refused, and the
// settings are answered as such.
func TestStackAppliesTheBucketDefaults(t *testing.T) {
	ctx := context.Background()
	bucket := aws.String(stack.env["VAULT_BUCKET"])
	key := bytes.Repeat([]byte("k"), 32)
	_, err := admin(t).PutObject(ctx, &s3.PutObjectInput{Bucket: bucket, Key: aws.String("e2e-ssec/root"), Body: strings.NewReader("x"),
		SSECustomerAlgorithm: aws.String("AES256"), SSECustomerKey: aws.String(base64.StdEncoding.EncodeToString(key)), SSECustomerKeyMD5: aws.String(md5b64(key))})
	if !accessDenied(err) {
		t.Errorf("root PutObject with SSE-C: %v, want AccessDenied", err)
	}
	public := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::` + *bucket + `/*"}]}`
	if _, err := admin(t).PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: bucket, Policy: aws.String(public)}); !accessDenied(err) {
		t.Errorf("root PutBucketPolicy of a public policy: %v, want AccessDenied", err)
	}
	// BlockPublicAcls: a public ACL is refused, even after ACLs are enabled.
	if _, err := admin(t).PutBucketOwnershipControls(ctx, &s3.PutBucketOwnershipControlsInput{Bucket: bucket,
		OwnershipControls: &types.OwnershipControls{Rules: []types.OwnershipControlsRule{{ObjectOwnership: types.ObjectOwnershipObjectWriter}}}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		admin(t).PutBucketOwnershipControls(ctx, &s3.PutBucketOwnershipControlsInput{Bucket: bucket,
			OwnershipControls: &types.OwnershipControls{Rules: []types.OwnershipControlsRule{{ObjectOwnership: types.ObjectOwnershipBucketOwnerEnforced}}}})
	})
	if _, err := admin(t).PutBucketAcl(ctx, &s3.PutBucketAclInput{Bucket: bucket, ACL: types.BucketCannedACLPublicRead}); !accessDenied(err) {
		t.Errorf("root PutBucketAcl public-read: %v, want AccessDenied", err)
	}
	// A copy onto itself without a version id would rewrite a locked
	// version in place here (never on S3): refused, naming why.
	_, vkey, _ := ship(t, "AWSLogs/222222222222/CloudTrail/us-east-1/2026/11/30/self-copy.json.gz", []byte(`{"Records":["self"]}`))
	if _, err := writer(t).CopyObject(ctx, &s3.CopyObjectInput{Bucket: bucket, Key: aws.String(vkey), CopySource: aws.String(*bucket + "/" + vkey),
		MetadataDirective: types.MetadataDirectiveReplace, Metadata: map[string]string{"logvault-sha256": "forged"}}); errCode(err) != "NotImplemented" {
		t.Errorf("writer CopyObject onto itself: %v, want NotImplemented", err)
	}
	op := operator(t)
	enc, err := op.GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: bucket})
	if err != nil || len(enc.ServerSideEncryptionConfiguration.Rules) != 1 || enc.ServerSideEncryptionConfiguration.Rules[0].BlockedEncryptionTypes == nil {
		t.Errorf("GetBucketEncryption: %+v %v", enc, err)
	}
	pab, err := op.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: bucket})
	if err != nil || !aws.ToBool(pab.PublicAccessBlockConfiguration.BlockPublicPolicy) {
		t.Errorf("GetPublicAccessBlock: %+v %v", pab, err)
	}
	if _, err := op.GetBucketLifecycleConfiguration(ctx, &s3.GetBucketLifecycleConfigurationInput{Bucket: bucket}); errCode(err) != "NoSuchLifecycleConfiguration" {
		t.Errorf("GetBucketLifecycleConfiguration: %v, want NoSuchLifecycleConfiguration", err)
	}
	if _, err := accountB(t).GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: bucket}); !accessDenied(err) {
		t.Errorf("Account B GetBucketEncryption: %v, want AccessDenied", err)
	}
	if _, err := op.GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: bucket, ExpectedBucketOwner: aws.String("222222222222")}); !accessDenied(err) {
		t.Errorf("GetBucketEncryption with another expected owner: %v, want AccessDenied", err)
	}
}
