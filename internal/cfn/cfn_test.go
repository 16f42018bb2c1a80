package cfn_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/awslabs/goformation/v7/cloudformation"

	"github.com/logvault/logvault/infra"
	"github.com/logvault/logvault/internal/cfn"
	"github.com/logvault/logvault/internal/policy"
	"github.com/logvault/logvault/internal/schema"
)

const (
	acctA        = "111111111111"
	acctB        = "222222222222"
	acctC        = "333333333333"
	bucket       = "logvault-local-vault"
	bucketARN    = "arn:aws:s3:::" + bucket
	objectARN    = bucketARN + "/cloudtrail/src/AWSLogs/x.json.gz"
	writerName   = "logvault-vault-writer"
	writerARN    = "arn:aws:iam::" + acctA + ":role/" + writerName
	writerSess   = "arn:aws:sts::" + acctA + ":assumed-role/" + writerName + "/ship-1"
	breakGlass   = "arn:aws:iam::" + acctA + ":role/logvault-break-glass"
	breakSess    = "arn:aws:sts::" + acctA + ":assumed-role/logvault-break-glass/alice"
	bUser        = "arn:aws:iam::" + acctB + ":user/b-admin"
	bRole        = "arn:aws:iam::" + acctB + ":role/logvault-cloudtrail"
	bSess        = "arn:aws:sts::" + acctB + ":assumed-role/logvault-cloudtrail/fn"
	cRole        = "arn:aws:iam::" + acctC + ":role/logvault-cloudtrail"
	operator     = "arn:aws:iam::" + acctA + ":user/admin"
	cBreakGlass  = "arn:aws:iam::" + acctC + ":role/logvault-break-glass"
	cSess        = "arn:aws:sts::" + acctC + ":assumed-role/logvault-cloudtrail/fn"
	outsider     = "444444444444" // an account of no organization
	outsiderSess = "arn:aws:sts::" + outsider + ":assumed-role/logvault-cloudtrail/fn"
	aFnSess      = "arn:aws:sts::" + acctA + ":assumed-role/logvault-cloudtrail/fn"
	org          = "o-logvaulttest1" // the Organization of Accounts A, B and C
	externalID   = "logvault-test-external-id"
	bucketPolicy = "VaultBucketPolicy"
)

// deployment is infra/vault.yaml deployed as the local stack deploys it:
// trusting the function role logvault-cloudtrail in every account of the
// Organization.
var deployment = cfn.VaultDeployment{
	VaultAccount: acctA, OrganizationID: org, FunctionRoleNames: []string{"logvault-cloudtrail"}, ExternalID: externalID,
	BreakGlassRoleName: "logvault-break-glass", BucketName: bucket, WriterRoleName: writerName,
}

func values() cfn.Values { return deployment.Values() }

func loadVault(t *testing.T, v cfn.Values) *cloudformation.Template {
	t.Helper()
	tmpl, err := cfn.Load(infra.VaultTemplate, v)
	if err != nil {
		t.Fatalf("Load(infra/vault.yaml): %v", err)
	}
	return tmpl
}

func parsePolicy(t *testing.T, doc any) *policy.Document {
	t.Helper()
	js, err := cfn.PolicyJSON(doc)
	if err != nil {
		t.Fatalf("PolicyJSON: %v", err)
	}
	d, err := policy.Parse(js)
	if err != nil {
		t.Fatalf("policy.Parse(%s): %v", js, err)
	}
	if u := d.Unknown(); len(u) > 0 {
		t.Errorf("policy %s has parts the evaluator cannot interpret: %q", js, u)
	}
	return d
}

// reqCtx is the request context AWS supplies for principal p (its role ARN
// as aws:PrincipalArn for a role session), over TLS unless insecure.
func reqCtx(p, principalArn string, secure bool, extra ...string) map[string][]string {
	acct := strings.SplitN(p, ":", 6)[4]
	c := map[string][]string{
		"aws:PrincipalArn":     {principalArn},
		"aws:PrincipalAccount": {acct},
		"aws:SecureTransport":  {map[bool]string{true: "true", false: "false"}[secure]},
	}
	if acct == acctA || acct == acctB || acct == acctC {
		c["aws:PrincipalOrgID"] = []string{org}
	}
	for i := 0; i+1 < len(extra); i += 2 {
		c[extra[i]] = append(c[extra[i]], extra[i+1])
	}
	return c
}

type evalCase struct {
	name      string
	req       policy.Request
	want      policy.Decision
	statement string // checked when not ""
}

func runEval(t *testing.T, d *policy.Document, cases []evalCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := d.Evaluate(c.req)
			if got.Decision != c.want {
				t.Fatalf("Decision %v (statement %q, assumed %q), want %v", got.Decision, got.Statement, got.Assumed, c.want)
			}
			if c.statement != "" && got.Statement != c.statement {
				t.Errorf("Statement %q, want %q", got.Statement, c.statement)
			}
			if !got.Exact() {
				t.Errorf("decision rests on assumptions: %q", got.Assumed)
			}
		})
	}
}

func TestLoadVaultBucketPolicy(t *testing.T) {
	tmpl := loadVault(t, values())
	bp, err := tmpl.GetS3BucketPolicyWithName(bucketPolicy)
	if err != nil {
		t.Fatal(err)
	}
	if bp.Bucket != bucket {
		t.Errorf("VaultBucketPolicy.Bucket %q, want %q", bp.Bucket, bucket)
	}
	d := parsePolicy(t, bp.PolicyDocument)
	s3 := func(principal, principalArn, action, resource string, secure bool, headers ...string) policy.Request {
		return policy.Request{Principal: principal, Action: action, Resource: resource, Context: reqCtx(principal, principalArn, secure, headers...)}
	}
	const allowList, deposit = "DenyAllButReadAndDeposit", "DenyDepositButWriter"
	runEval(t, d, []evalCase{
		// The bucket policy only denies; the writer's and the operator's
		// Allows are their identity policies (same account).
		{"writer session PutObject is not denied", s3(writerSess, writerARN, "s3:PutObject", objectARN, true), policy.ImplicitDeny, ""},
		{"writer session PutObject STANDARD, SSE-S3 is not denied", s3(writerSess, writerARN, "s3:PutObject", objectARN, true,
			"s3:x-amz-storage-class", "STANDARD", "s3:x-amz-server-side-encryption", "AES256"), policy.ImplicitDeny, ""},
		{"writer session GetObjectVersion is not denied", s3(writerSess, writerARN, "s3:GetObjectVersion", objectARN, true), policy.ImplicitDeny, ""},
		{"writer session ListBucketVersions is not denied", s3(writerSess, writerARN, "s3:ListBucketVersions", bucketARN, true), policy.ImplicitDeny, ""},
		{"writer session AbortMultipartUpload is not denied", s3(writerSess, writerARN, "s3:AbortMultipartUpload", objectARN, true), policy.ImplicitDeny, ""},
		{"writer session PutObject without TLS", s3(writerSess, writerARN, "s3:PutObject", objectARN, false), policy.ExplicitDeny, "DenyInsecureTransport"},
		{"writer session PutObject DEEP_ARCHIVE", s3(writerSess, writerARN, "s3:PutObject", objectARN, true, "s3:x-amz-storage-class", "DEEP_ARCHIVE"), policy.ExplicitDeny, "DenyStorageClassesOtherThanStandard"},
		{"writer session PutObject SSE-C", s3(writerSess, writerARN, "s3:PutObject", objectARN, true, "s3:x-amz-server-side-encryption-customer-algorithm", "AES256"), policy.ExplicitDeny, "DenyCustomerKeys"},
		{"writer session PutObject SSE-KMS", s3(writerSess, writerARN, "s3:PutObject", objectARN, true, "s3:x-amz-server-side-encryption", "aws:kms"), policy.ExplicitDeny, "DenyEncryptionOtherThanS3Managed"},
		{"writer session PutObject KMS key id", s3(writerSess, writerARN, "s3:PutObject", objectARN, true, "s3:x-amz-server-side-encryption-aws-kms-key-id", "arn:aws:kms:us-east-1:333333333333:key/x"), policy.ExplicitDeny, "DenyKmsKeyIds"},
		{"writer session PutObject public-read", s3(writerSess, writerARN, "s3:PutObject", objectARN, true, "s3:x-amz-acl", "public-read"), policy.ExplicitDeny, "DenyAcls"},
		{"writer session PutObject with retention", s3(writerSess, writerARN, "s3:PutObject", objectARN, true, "s3:object-lock-mode", "GOVERNANCE"), policy.ExplicitDeny, "DenyRetentionHeaders"},
		{"writer session PutObject with a legal hold", s3(writerSess, writerARN, "s3:PutObject", objectARN, true, "s3:object-lock-legal-hold", "ON"), policy.ExplicitDeny, "DenyLegalHoldHeaders"},
		{"writer session DeleteObjectVersion", s3(writerSess, writerARN, "s3:DeleteObjectVersion", objectARN, true), policy.ExplicitDeny, allowList},
		{"writer session DeleteObject", s3(writerSess, writerARN, "s3:DeleteObject", objectARN, true), policy.ExplicitDeny, allowList},
		{"writer session BypassGovernanceRetention", s3(writerSess, writerARN, "s3:BypassGovernanceRetention", objectARN, true), policy.ExplicitDeny, allowList},
		{"writer session PutObjectVersionTagging", s3(writerSess, writerARN, "s3:PutObjectVersionTagging", objectARN, true), policy.ExplicitDeny, allowList},
		{"writer session UpdateObjectEncryption", s3(writerSess, writerARN, "s3:UpdateObjectEncryption", objectARN, true), policy.ExplicitDeny, allowList},
		{"writer session ReplicateDelete", s3(writerSess, writerARN, "s3:ReplicateDelete", objectARN, true), policy.ExplicitDeny, allowList},
		{"writer session PutBucketPolicy", s3(writerSess, writerARN, "s3:PutBucketPolicy", bucketARN, true), policy.ExplicitDeny, allowList},
		{"writer session PutBucketVersioning", s3(writerSess, writerARN, "s3:PutBucketVersioning", bucketARN, true), policy.ExplicitDeny, allowList},
		{"writer session PutLifecycleConfiguration", s3(writerSess, writerARN, "s3:PutLifecycleConfiguration", bucketARN, true), policy.ExplicitDeny, allowList},
		{"writer session PutInventoryConfiguration", s3(writerSess, writerARN, "s3:PutInventoryConfiguration", bucketARN, true), policy.ExplicitDeny, allowList},
		{"writer session PutBucketRequestPayment", s3(writerSess, writerARN, "s3:PutBucketRequestPayment", bucketARN, true), policy.ExplicitDeny, allowList},
		{"writer session PutBucketAbac", s3(writerSess, writerARN, "s3:PutBucketAbac", bucketARN, true), policy.ExplicitDeny, allowList},
		{"writer session an action S3 adds later", s3(writerSess, writerARN, "s3:RewriteEveryVersion", objectARN, true), policy.ExplicitDeny, allowList},
		{"Account A admin (not break-glass) GetObject is not denied", s3(operator, operator, "s3:GetObject", objectARN, true), policy.ImplicitDeny, ""},
		{"Account A admin GetObjectRetention is not denied", s3(operator, operator, "s3:GetObjectRetention", objectARN, true), policy.ImplicitDeny, ""},
		{"Account A admin PutObject", s3(operator, operator, "s3:PutObject", objectARN, true), policy.ExplicitDeny, deposit},
		{"Account A admin DeleteBucketPolicy", s3(operator, operator, "s3:DeleteBucketPolicy", bucketARN, true), policy.ExplicitDeny, allowList},
		{"Account A admin PutObjectTagging", s3(operator, operator, "s3:PutObjectTagging", objectARN, true), policy.ExplicitDeny, allowList},
		{"Account B role DeleteObjectVersion", s3(bRole, bRole, "s3:DeleteObjectVersion", objectARN, true), policy.ExplicitDeny, allowList},
		{"Account B role session DeleteObjectVersion", s3(bSess, bRole, "s3:DeleteObjectVersion", objectARN, true), policy.ExplicitDeny, allowList},
		{"Account B user DeleteBucket", s3(bUser, bUser, "s3:DeleteBucket", bucketARN, true), policy.ExplicitDeny, allowList},
		{"Account B role PutObject", s3(bRole, bRole, "s3:PutObject", objectARN, true), policy.ExplicitDeny, deposit},
		{"Account C role GetObject (no grant)", s3(cRole, cRole, "s3:GetObject", objectARN, true), policy.ImplicitDeny, ""},
		{"a role named break-glass in another account", s3(cBreakGlass, cBreakGlass, "s3:DeleteObjectVersion", objectARN, true), policy.ExplicitDeny, allowList},
		{"break-glass session DeleteObjectVersion is not denied", s3(breakSess, breakGlass, "s3:DeleteObjectVersion", objectARN, true), policy.ImplicitDeny, ""},
		{"break-glass session UpdateObjectEncryption", s3(breakSess, breakGlass, "s3:UpdateObjectEncryption", objectARN, true), policy.ExplicitDeny, "DenyReencryptionToEveryone"},
		{"break-glass session PutBucketPolicy is not denied", s3(breakSess, breakGlass, "s3:PutBucketPolicy", bucketARN, true), policy.ImplicitDeny, ""},
		{"break-glass session PutObject DEEP_ARCHIVE is still denied", s3(breakSess, breakGlass, "s3:PutObject", objectARN, true, "s3:x-amz-storage-class", "DEEP_ARCHIVE"), policy.ExplicitDeny, "DenyStorageClassesOtherThanStandard"},
		{"break-glass session without TLS is still denied", s3(breakSess, breakGlass, "s3:GetObject", objectARN, false), policy.ExplicitDeny, "DenyInsecureTransport"},
		// A service principal has no aws:PrincipalArn: the negated condition holds.
		{"a service principal ReplicateDelete", policy.Request{Principal: "s3.amazonaws.com", Action: "s3:ReplicateDelete", Resource: objectARN,
			Context: map[string][]string{"aws:SecureTransport": {"true"}}}, policy.ExplicitDeny, allowList},
	})
}

func TestLoadVaultWriterRole(t *testing.T) {
	tmpl := loadVault(t, values())
	r, err := tmpl.GetIAMRoleWithName("WriterRole")
	if err != nil {
		t.Fatal(err)
	}
	if r.RoleName == nil || *r.RoleName != writerName {
		t.Errorf("RoleName %v, want %q", r.RoleName, writerName)
	}
	if r.MaxSessionDuration == nil || *r.MaxSessionDuration != 3600 {
		t.Errorf("MaxSessionDuration %v, want 3600", r.MaxSessionDuration)
	}
	// Who may assume the writer, under each way of trusting source
	// accounts: the Organization, a list of accounts, or both.
	roleOf := func(sess string) string {
		parts := strings.Split(sess, "/")
		return "arn:aws:iam::" + strings.SplitN(sess, ":", 6)[4] + ":role/" + parts[1]
	}
	assume := func(principal string, extra ...string) policy.Request {
		arn := principal
		if strings.Contains(principal, ":assumed-role/") {
			arn = roleOf(principal)
		}
		return policy.Request{Principal: principal, Action: "sts:AssumeRole", Resource: writerARN, Context: reqCtx(principal, arn, true, extra...)}
	}
	tagged := func(principal, acct string) policy.Request {
		return assume(principal, "sts:ExternalId", externalID, "aws:RequestTag/logvault-source-account", acct, "aws:TagKeys", "logvault-source-account")
	}
	const trustSid = "TrustLogvaultFunctionsWithExternalId"
	for _, mode := range []struct {
		name     string
		org      string
		accounts []string
		cAllowed bool // Account C's function role may assume the writer
	}{
		{"organization", org, nil, true},
		{"listed accounts", "", []string{acctB}, false},
		{"listed accounts in the organization", org, []string{acctB, outsider}, false},
	} {
		d := deployment
		d.OrganizationID, d.TrustedAccounts = mode.org, mode.accounts
		r, err := loadVault(t, d.Values()).GetIAMRoleWithName("WriterRole")
		if err != nil {
			t.Fatal(err)
		}
		trust := parsePolicy(t, r.AssumeRolePolicyDocument)
		cWant, cSid := policy.ImplicitDeny, ""
		if mode.cAllowed {
			cWant, cSid = policy.Allow, trustSid
		}
		t.Run("trust/"+mode.name, func(t *testing.T) {
			runEval(t, trust, []evalCase{
				{"Account B user (not a function role) with the ExternalId", assume(bUser, "sts:ExternalId", externalID), policy.ImplicitDeny, ""},
				{"a role whose name extends a function role's", tagged("arn:aws:sts::"+acctB+":assumed-role/logvault-cloudtrail-x/s", acctB), policy.ImplicitDeny, ""},
				{"a function role under a path", policy.Request{Principal: bSess, Action: "sts:AssumeRole", Resource: writerARN,
					Context: reqCtx(bSess, "arn:aws:iam::"+acctB+":role/x/logvault-cloudtrail", true, "sts:ExternalId", externalID,
						"aws:RequestTag/logvault-source-account", acctB, "aws:TagKeys", "logvault-source-account")}, policy.ImplicitDeny, ""},
				{"a function role session with the ExternalId and its account's tag", tagged(bSess, acctB), policy.Allow, trustSid},
				{"a function role session with the ExternalId, no session tag", assume(bSess, "sts:ExternalId", externalID), policy.ImplicitDeny, ""},
				{"a function role session tagging another account", tagged(bSess, acctC), policy.ImplicitDeny, ""},
				{"a function role session with the tag transitive", assume(bSess, "sts:ExternalId", externalID, "aws:RequestTag/logvault-source-account", acctB, "aws:TagKeys", "logvault-source-account", "sts:TransitiveTagKeys", "logvault-source-account"), policy.ImplicitDeny, ""},
				{"a function role session without an ExternalId", assume(bSess), policy.ImplicitDeny, ""},
				{"Account B user without an ExternalId", assume(bUser), policy.ImplicitDeny, ""},
				{"Account B user with a wrong ExternalId", assume(bUser, "sts:ExternalId", "logvault-wrong"), policy.ImplicitDeny, ""},
				{"Account C's function role with its account's tag", tagged(cSess, acctC), cWant, cSid},
				{"Account C's function role tagging Account B", tagged(cSess, acctB), policy.ImplicitDeny, ""},
				{"the function role's name in an account outside the organization", tagged(outsiderSess, outsider), policy.ImplicitDeny, ""},
				{"the function role's name in the vault's account", tagged(aFnSess, acctA), policy.ImplicitDeny, ""},
				{"the writer's own session with the ExternalId", tagged(writerSess, acctA), policy.ImplicitDeny, ""},
			})
		})
	}
	if len(r.Policies) != 1 {
		t.Fatalf("WriterRole has %d inline policies, want 1", len(r.Policies))
	}
	perms := parsePolicy(t, r.Policies[0].PolicyDocument)
	t.Run("write-only permissions", func(t *testing.T) {
		op := func(action, resource, resourceAccount string, extra ...string) policy.Request {
			return policy.Request{Principal: writerSess, Action: action, Resource: resource, Context: reqCtx(writerSess, writerARN, true, append([]string{"aws:ResourceAccount", resourceAccount,
				"aws:PrincipalTag/logvault-source-account", acctB}, extra...)...)}
		}
		ownPart := bucketARN + "/cloudtrail/account=" + acctB + "/src/AWSLogs/x.json.gz"
		runEval(t, perms, []evalCase{
			{"PutObject in its account's part", op("s3:PutObject", ownPart, acctA), policy.Allow, "DepositAndRead"},
			{"GetObjectVersion in its account's part", op("s3:GetObjectVersion", ownPart, acctA), policy.Allow, "DepositAndRead"},
			{"PutObject in another account's part", op("s3:PutObject", bucketARN+"/cloudtrail/account=333333333333/src/x", acctA), policy.ImplicitDeny, ""},
			{"GetObject in another account's part", op("s3:GetObject", bucketARN+"/billing/account=333333333333/src/x", acctA), policy.ImplicitDeny, ""},
			{"GetObject of a key of the earlier layout", op("s3:GetObject", objectARN, acctA), policy.ImplicitDeny, ""},
			{"PutObject in another part naming its account deeper", op("s3:PutObject", bucketARN+"/cloudtrail/account=333333333333/account="+acctB+"/x", acctA), policy.ImplicitDeny, ""},
			{"ListBucket of its own part", op("s3:ListBucket", bucketARN, acctA, "s3:prefix", "cloudtrail/account="+acctB+"/src/"), policy.Allow, "List"},
			{"ListBucketVersions of one key of its own part", op("s3:ListBucketVersions", bucketARN, acctA, "s3:prefix", "billing/account="+acctB+"/b/r.csv.gz"), policy.Allow, "List"},
			{"ListBucket of another account's part", op("s3:ListBucket", bucketARN, acctA, "s3:prefix", "cloudtrail/account=333333333333/"), policy.ImplicitDeny, ""},
			{"ListBucket of its account id without the slash", op("s3:ListBucket", bucketARN, acctA, "s3:prefix", "cloudtrail/account="+acctB), policy.ImplicitDeny, ""},
			{"ListBucketVersions of the whole vault", op("s3:ListBucketVersions", bucketARN, acctA), policy.ImplicitDeny, ""},
			{"ListBucket of a kind", op("s3:ListBucket", bucketARN, acctA, "s3:prefix", "cloudtrail/"), policy.ImplicitDeny, ""},
			{"ListBucketMultipartUploads (S3 gives it no prefix)", op("s3:ListBucketMultipartUploads", bucketARN, acctA), policy.Allow, "ListUnfinishedUploads"},
			{"DeleteObject", op("s3:DeleteObject", objectARN, acctA), policy.ImplicitDeny, ""},
			{"PutObject into another bucket", op("s3:PutObject", "arn:aws:s3:::other/x", acctA), policy.ImplicitDeny, ""},
			// A bucket of the vault's name in another account (a look-alike).
			{"PutObject into a look-alike of another account", op("s3:PutObject", ownPart, acctB), policy.ImplicitDeny, ""},
		})
	})
	// Every kind prefix of the registry is a part the session may deposit
	// in, and no other: the template's list and internal/schema's agree.
	t.Run("every kind prefix", func(t *testing.T) {
		prefixes := map[string]bool{}
		for _, p := range schema.KindPrefixes(nil) {
			prefixes[p] = true
		}
		for p := range prefixes {
			req := policy.Request{Principal: writerSess, Action: "s3:PutObject", Resource: bucketARN + "/" + p + "/account=" + acctB + "/b/k",
				Context: reqCtx(writerSess, writerARN, true, "aws:ResourceAccount", acctA, "aws:PrincipalTag/logvault-source-account", acctB)}
			if got := perms.Evaluate(req); got.Decision != policy.Allow || !got.Exact() {
				t.Errorf("kind prefix %s/: the writer may not deposit in its account's part (%v %q): add it to DepositAndRead", p, got.Decision, got.Assumed)
			}
		}
		// The parts it may list are the same.
		parts, err := schema.AccountParts(acctB)
		if err != nil {
			t.Fatal(err)
		}
		for _, part := range parts {
			req := policy.Request{Principal: writerSess, Action: "s3:ListBucketVersions", Resource: bucketARN,
				Context: reqCtx(writerSess, writerARN, true, "aws:ResourceAccount", acctA, "aws:PrincipalTag/logvault-source-account", acctB, "s3:prefix", part)}
			if got := perms.Evaluate(req); got.Decision != policy.Allow || !got.Exact() {
				t.Errorf("the writer may not list its part %s (%v %q): add it to List", part, got.Decision, got.Assumed)
			}
		}
		if len(parts) != len(prefixes) {
			t.Errorf("schema.AccountParts gives %d parts, the registry %d kind prefixes", len(parts), len(prefixes))
		}
		for _, st := range perms.Statements {
			if st.Sid == "List" {
				for _, p := range st.Condition["StringLike"]["s3:prefix"] {
					if p := strings.TrimSuffix(p, "/account=${aws:PrincipalTag/logvault-source-account}/*"); !prefixes[p] {
						t.Errorf("List names the prefix %q, no kind of the registry", p)
					}
				}
			}
			if st.Sid != "DepositAndRead" {
				continue
			}
			for _, r := range st.Resource {
				p := strings.TrimSuffix(strings.TrimPrefix(r, bucketARN+"/"), "/account=${aws:PrincipalTag/logvault-source-account}/*")
				if !prefixes[p] {
					t.Errorf("DepositAndRead names %s, whose prefix %q is no kind of the registry", r, p)
				}
			}
		}
	})
}

func TestLoadVaultOutputsAndBucket(t *testing.T) {
	tmpl := loadVault(t, values())
	for name, want := range map[string]string{"VaultBucketName": bucket, "WriterRoleArn": writerARN, "VaultAccountId": acctA} {
		if got := tmpl.Outputs[name].Value; got != want {
			t.Errorf("output %s = %v, want %q", name, got, want)
		}
	}
	b, err := tmpl.GetS3BucketWithName("VaultBucket")
	if err != nil {
		t.Fatal(err)
	}
	if b.BucketName == nil || *b.BucketName != bucket {
		t.Errorf("BucketName %v, want %q (condition NamedBucket true)", b.BucketName, bucket)
	}
	if b.VersioningConfiguration == nil || b.VersioningConfiguration.Status != "Enabled" {
		t.Errorf("VersioningConfiguration %+v, want Enabled", b.VersioningConfiguration)
	}

	v := values()
	v.Parameters["VaultBucketName"] = ""
	tmpl = loadVault(t, v)
	if b, err = tmpl.GetS3BucketWithName("VaultBucket"); err != nil {
		t.Fatal(err)
	}
	if b.BucketName != nil {
		t.Errorf("BucketName %q with VaultBucketName empty, want none (AWS::NoValue)", *b.BucketName)
	}
}

func TestLoadUnresolvedReference(t *testing.T) {
	for _, c := range []struct {
		name string
		drop func(*cfn.Values)
		want string
	}{
		{"parameter FunctionRoleNames", func(v *cfn.Values) { delete(v.ListParameters, "FunctionRoleNames") }, "FunctionRoleNames"},
		{"parameter ExternalId", func(v *cfn.Values) { delete(v.Parameters, "ExternalId") }, "ExternalId"},
		{"parameter BreakGlassRoleName", func(v *cfn.Values) { delete(v.Parameters, "BreakGlassRoleName") }, "BreakGlassRoleName"},
		{"attribute WriterRole.Arn", func(v *cfn.Values) { delete(v.Attrs, "WriterRole.Arn") }, "WriterRole.Arn"},
		{"attribute VaultBucket.Arn", func(v *cfn.Values) { delete(v.Attrs, "VaultBucket.Arn") }, "VaultBucket.Arn"},
		{"resource ref VaultBucket", func(v *cfn.Values) { delete(v.Refs, "VaultBucket") }, "VaultBucket"},
		{"pseudo parameter AWS::Partition", func(v *cfn.Values) { delete(v.Pseudo, "AWS::Partition") }, "AWS::Partition"},
		{"pseudo parameter AWS::AccountId", func(v *cfn.Values) { delete(v.Pseudo, "AWS::AccountId") }, "AWS::AccountId"},
	} {
		t.Run(c.name, func(t *testing.T) {
			v := values()
			c.drop(&v)
			tmpl, err := cfn.Load(infra.VaultTemplate, v)
			if err == nil {
				t.Fatalf("Load succeeded without %s (template %v)", c.want, tmpl != nil)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not name %s", err, c.want)
			}
		})
	}
}

// TestLoadParameterDefault: CloudFormation uses a parameter's Default when
// no value is given; WriterRoleName has one in infra/vault.yaml.
func TestLoadParameterDefault(t *testing.T) {
	v := values()
	delete(v.Parameters, "WriterRoleName")
	tmpl, err := cfn.Load(infra.VaultTemplate, v)
	if err != nil {
		t.Fatalf("cfn.go resolver.lookupRef ignores a parameter's Default: Load without WriterRoleName (Default %q in infra/vault.yaml) fails: %v", writerName, err)
	}
	r, err := tmpl.GetIAMRoleWithName("WriterRole")
	if err != nil {
		t.Fatal(err)
	}
	if r.RoleName == nil || *r.RoleName != writerName {
		t.Errorf("RoleName %v, want the Default %q", r.RoleName, writerName)
	}
}

const subTemplate = `
AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  TrustedAccountId:
    Type: String
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      RoleName: !Sub
        - "${Prefix}-${AWS::Region}"
        - Prefix: writer
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Sid: Local
            Effect: Allow
            Principal:
              AWS: !Sub
                - "arn:${AWS::Partition}:iam::${Account}:role/${Name}"
                - Account: !Ref TrustedAccountId
                  Name: logvault-cloudtrail
            Action: sts:AssumeRole
            Condition:
              StringEquals:
                sts:ExternalId: !Sub ["${TrustedAccountId}-${Suffix}", {TrustedAccountId: shadowed, Suffix: ext}]
`

func TestLoadSubListForm(t *testing.T) {
	tmpl, err := cfn.Load([]byte(subTemplate), cfn.Values{
		Parameters: map[string]string{"TrustedAccountId": acctB},
		Pseudo:     map[string]string{"AWS::Partition": "aws", "AWS::Region": "eu-west-1"},
	})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	r, err := tmpl.GetIAMRoleWithName("Role")
	if err != nil {
		t.Fatal(err)
	}
	if r.RoleName == nil || *r.RoleName != "writer-eu-west-1" {
		t.Errorf("RoleName %v, want writer-eu-west-1", r.RoleName)
	}
	js, err := cfn.PolicyJSON(r.AssumeRolePolicyDocument)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Statement []struct {
			Principal struct{ AWS string }
			Condition map[string]map[string]string
		}
	}
	if err := json.Unmarshal(js, &doc); err != nil || len(doc.Statement) != 1 {
		t.Fatalf("trust policy %s: %v", js, err)
	}
	st := doc.Statement[0]
	if want := "arn:aws:iam::" + acctB + ":role/logvault-cloudtrail"; st.Principal.AWS != want {
		t.Errorf("Principal %q, want %q", st.Principal.AWS, want)
	}
	if got := st.Condition["StringEquals"]["sts:ExternalId"]; got != "shadowed-ext" {
		t.Errorf("ExternalId %q, want shadowed-ext (a local variable shadows the parameter)", got)
	}
}

func TestLoadSubListFormMissingVariable(t *testing.T) {
	const tmpl = `
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      RoleName: !Sub ["${Prefix}-${Missing}", {Prefix: writer}]
      AssumeRolePolicyDocument: {}
`
	_, err := cfn.Load([]byte(tmpl), cfn.Values{})
	if err == nil || !strings.Contains(err.Error(), "Missing") {
		t.Errorf("Load: err %v, want one naming Missing", err)
	}
}

// TestLoadSubLiteral: in Fn::Sub, ${!Name} is the literal ${Name} — how a
// template writes IAM policy variables such as ${aws:userid}.
func TestLoadSubLiteral(t *testing.T) {
	const tmpl = `
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      RoleName: !Sub "writer-${!Literal}"
      AssumeRolePolicyDocument: {}
`
	out, err := cfn.Load([]byte(tmpl), cfn.Values{})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	r, err := out.GetIAMRoleWithName("Role")
	if err != nil {
		t.Fatal(err)
	}
	if got := *r.RoleName; got != "writer-${Literal}" {
		t.Fatalf("cfn.go resolver.sub leaves the escape in place: !Sub \"writer-${!Literal}\" gives %q, CloudFormation gives \"writer-${Literal}\"", got)
	}
}

func TestPolicyJSON(t *testing.T) {
	if _, err := cfn.PolicyJSON(nil); err == nil {
		t.Error("PolicyJSON(nil) succeeded")
	}
	js, err := cfn.PolicyJSON(map[string]any{"Version": "2012-10-17", "Statement": []any{}})
	if err != nil {
		t.Fatal(err)
	}
	if string(js) != `{"Statement":[],"Version":"2012-10-17"}` {
		t.Errorf("PolicyJSON = %s", js)
	}
}

// TestResolveOutputConditions: an output whose Condition is false is not
// there, as CloudFormation leaves it out; one whose Condition is true is.
func TestResolveOutputConditions(t *testing.T) {
	const tmpl = `
Parameters:
  Flag: {Type: String}
Conditions:
  On: !Equals [!Ref Flag, "yes"]
Resources:
  Topic: {Type: AWS::SNS::Topic, Condition: On}
Outputs:
  Always: {Value: x}
  WhenOn: {Condition: On, Value: !Ref Topic}
`
	for _, c := range []struct {
		flag   string
		wantOn bool
	}{{"yes", true}, {"no", false}} {
		r, err := cfn.Resolve([]byte(tmpl), cfn.Values{Parameters: map[string]string{"Flag": c.flag}, Refs: map[string]string{"Topic": "arn:topic"}})
		if err != nil {
			t.Fatalf("Flag=%s: %v", c.flag, err)
		}
		_, on := r.Outputs["WhenOn"]
		if _, always := r.Outputs["Always"]; !always || on != c.wantOn {
			t.Errorf("Flag=%s: outputs %v, want Always and WhenOn=%v", c.flag, r.Outputs, c.wantOn)
		}
		if r.OutputConditions["WhenOn"] != "On" {
			t.Errorf("Flag=%s: OutputConditions %v", c.flag, r.OutputConditions)
		}
	}
}
