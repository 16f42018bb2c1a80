package policy

import (
	"errors"
	"strings"
	"testing"
)

const (
	acctA       = "111111111111"
	acctB       = "222222222222"
	writerRole  = "arn:aws:iam::111111111111:role/logvault/logvault-writer"
	writerSess  = "arn:aws:sts::111111111111:assumed-role/logvault-writer/ship-1"
	breakGlass  = "arn:aws:iam::111111111111:role/break-glass"
	breakSess   = "arn:aws:sts::111111111111:assumed-role/break-glass/alice"
	bRole       = "arn:aws:iam::222222222222:role/logvault-cloudtrail"
	bSess       = "arn:aws:sts::222222222222:assumed-role/logvault-cloudtrail/fn"
	cRole       = "arn:aws:iam::333333333333:role/logvault-cloudtrail"
	vaultBucket = "arn:aws:s3:::vault"
	vaultObj    = "arn:aws:s3:::vault/cloudtrail/x.json.gz"
)

func mustParse(t testing.TB, doc string) *Document {
	t.Helper()
	d, err := Parse([]byte(doc))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return d
}

func ctx(kv ...string) map[string][]string {
	m := map[string][]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = append(m[kv[i]], kv[i+1])
	}
	return m
}

type evalCase struct {
	name      string
	req       Request
	want      Decision
	statement string // checked when not ""
	exact     bool   // whether Result.Assumed must be empty
}

func runCases(t *testing.T, d *Document, cases []evalCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := d.Evaluate(c.req)
			if got.Decision != c.want {
				t.Fatalf("Decision = %v (statement %q, assumed %q), want %v", got.Decision, got.Statement, got.Assumed, c.want)
			}
			if c.statement != "" && got.Statement != c.statement {
				t.Errorf("Statement = %q, want %q", got.Statement, c.statement)
			}
			if got.Exact() != c.exact {
				t.Errorf("Exact = %v (assumed %q), want %v", got.Exact(), got.Assumed, c.exact)
			}
			if got.Decision == ImplicitDeny && got.Statement != "" {
				t.Errorf("implicit deny names statement %q", got.Statement)
			}
		})
	}
}

func TestTrustPolicy(t *testing.T) {
	d := mustParse(t, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::222222222222:root"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"x"}}}}`)
	role := "arn:aws:iam::111111111111:role/logvault-writer"
	assume := func(p string, c map[string][]string) Request {
		return Request{Principal: p, Action: "sts:AssumeRole", Resource: role, Context: c}
	}
	runCases(t, d, []evalCase{
		{"account B role with ExternalId x", assume(bRole, ctx("sts:ExternalId", "x")), Allow, "#0", true},
		{"account B session with ExternalId x", assume(bSess, ctx("sts:ExternalId", "x")), Allow, "#0", true},
		{"account B user", assume("arn:aws:iam::222222222222:user/ci", ctx("sts:ExternalId", "x")), Allow, "", true},
		{"account B root", assume("arn:aws:iam::222222222222:root", ctx("sts:ExternalId", "x")), Allow, "", true},
		{"account B as bare id", assume(acctB, ctx("sts:ExternalId", "x")), Allow, "", true},
		{"key name case-insensitive", assume(bRole, ctx("STS:EXTERNALID", "x")), Allow, "", true},
		{"ExternalId y", assume(bRole, ctx("sts:ExternalId", "y")), ImplicitDeny, "", true},
		{"ExternalId X (case-sensitive)", assume(bRole, ctx("sts:ExternalId", "X")), ImplicitDeny, "", true},
		{"no ExternalId", assume(bRole, nil), ImplicitDeny, "", true},
		{"empty ExternalId", assume(bRole, ctx("sts:ExternalId", "")), ImplicitDeny, "", true},
		{"account C role", assume(cRole, ctx("sts:ExternalId", "x")), ImplicitDeny, "", true},
		{"account C session", assume("arn:aws:sts::333333333333:assumed-role/r/s", ctx("sts:ExternalId", "x")), ImplicitDeny, "", true},
		{"other partition", assume("arn:aws-cn:iam::222222222222:role/r", ctx("sts:ExternalId", "x")), ImplicitDeny, "", true},
		{"anonymous", assume("", ctx("sts:ExternalId", "x")), ImplicitDeny, "", true},
		{"service principal", assume("lambda.amazonaws.com", ctx("sts:ExternalId", "x")), ImplicitDeny, "", true},
		{"other action", Request{Principal: bRole, Action: "sts:TagSession", Resource: role, Context: ctx("sts:ExternalId", "x")}, ImplicitDeny, "", true},
		{"action case-insensitive", Request{Principal: bRole, Action: "STS:assumerole", Resource: role, Context: ctx("sts:ExternalId", "x")}, Allow, "", true},
		// A multi-valued key without ForAnyValue/ForAllValues has no documented
		// meaning: the Allow counts (sound for the audit) but is not exact, so
		// the STS endpoint must refuse it.
		{"two ExternalIds", assume(bRole, ctx("sts:ExternalId", "x", "sts:ExternalId", "y")), Allow, "", false},
	})
}

// vaultPolicy mirrors infra/vault.yaml's bucket policy.
const vaultPolicy = `{
  "Version": "2012-10-17",
  "Statement": [
    {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
     "Resource": ["arn:aws:s3:::vault", "arn:aws:s3:::vault/*"],
     "Condition": {"Bool": {"aws:SecureTransport": false}}},
    {"Sid": "WriterDepositAndRead", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111111111111:role/logvault/logvault-writer"},
     "Action": ["s3:PutObject", "s3:GetObject", "s3:GetObjectVersion"], "Resource": "arn:aws:s3:::vault/*"},
    {"Sid": "WriterList", "Effect": "Allow", "Principal": {"AWS": ["arn:aws:iam::111111111111:role/logvault/logvault-writer"]},
     "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::vault"},
    {"Sid": "DenyObjectDeletion", "Effect": "Deny", "Principal": "*",
     "Action": ["s3:Delete*", "s3:PutObjectRetention", "s3:BypassGovernanceRetention"],
     "Resource": ["arn:aws:s3:::vault", "arn:aws:s3:::vault/*"],
     "Condition": {"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::111111111111:role/break-glass"}}},
    {"Sid": "DenyDestructiveBucketActions", "Effect": "Deny", "Principal": "*",
     "Action": ["s3:DeleteBucket", "s3:PutBucketPolicy", "s3:DeleteBucketPolicy", "s3:PutBucketVersioning", "s3:PutLifecycleConfiguration"],
     "Resource": "arn:aws:s3:::vault",
     "Condition": {"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::111111111111:role/break-glass"}}}
  ]
}`

func TestVaultBucketPolicy(t *testing.T) {
	d := mustParse(t, vaultPolicy)
	if u := d.Unknown(); len(u) != 0 {
		t.Fatalf("Unknown() = %q, want none", u)
	}
	req := func(principal, principalArn, action, resource string, secure string) Request {
		c := ctx("aws:PrincipalAccount", acctA)
		if principalArn != "" {
			c["aws:PrincipalArn"] = []string{principalArn}
		}
		if secure != "" {
			c["aws:SecureTransport"] = []string{secure}
		}
		return Request{Principal: principal, Action: action, Resource: resource, Context: c}
	}
	runCases(t, d, []evalCase{
		{"writer deletes a version", req(writerSess, writerRole, "s3:DeleteObjectVersion", vaultObj, "true"), ExplicitDeny, "DenyObjectDeletion", true},
		{"writer deletes an object", req(writerSess, writerRole, "s3:DeleteObject", vaultObj, "true"), ExplicitDeny, "DenyObjectDeletion", true},
		{"writer deletes the bucket", req(writerSess, writerRole, "s3:DeleteBucket", vaultBucket, "true"), ExplicitDeny, "DenyObjectDeletion", true},
		{"writer replaces the policy", req(writerSess, writerRole, "s3:PutBucketPolicy", vaultBucket, "true"), ExplicitDeny, "DenyDestructiveBucketActions", true},
		{"writer suspends versioning", req(writerSess, writerRole, "s3:PutBucketVersioning", vaultBucket, "true"), ExplicitDeny, "DenyDestructiveBucketActions", true},
		{"writer puts", req(writerSess, writerRole, "s3:PutObject", vaultObj, "true"), Allow, "WriterDepositAndRead", true},
		{"writer role itself puts", req(writerRole, writerRole, "s3:PutObject", vaultObj, "true"), Allow, "WriterDepositAndRead", true},
		{"writer lists", req(writerSess, writerRole, "s3:ListBucket", vaultBucket, "true"), Allow, "WriterList", true},
		{"writer puts over plain HTTP", req(writerSess, writerRole, "s3:PutObject", vaultObj, "false"), ExplicitDeny, "DenyInsecureTransport", true},
		{"writer puts to another bucket", req(writerSess, writerRole, "s3:PutObject", "arn:aws:s3:::other/x", "true"), ImplicitDeny, "", true},
		{"writer changes retention", req(writerSess, writerRole, "s3:PutObjectRetention", vaultObj, "true"), ExplicitDeny, "DenyObjectDeletion", true},
		{"writer tags (not granted)", req(writerSess, writerRole, "s3:PutObjectTagging", vaultObj, "true"), ImplicitDeny, "", true},
		{"writer without PrincipalArn in context is denied", req(writerSess, "", "s3:DeleteObject", vaultObj, "true"), ExplicitDeny, "DenyObjectDeletion", true},
		// Break-glass is exempt from the Denies but the policy grants it nothing.
		{"break-glass deletes a version", req(breakSess, breakGlass, "s3:DeleteObjectVersion", vaultObj, "true"), ImplicitDeny, "", true},
		{"break-glass deletes the bucket", req(breakSess, breakGlass, "s3:DeleteBucket", vaultBucket, "true"), ImplicitDeny, "", true},
		{"break-glass puts", req(breakSess, breakGlass, "s3:PutObject", vaultObj, "true"), ImplicitDeny, "", true},
		{"break-glass replaces the policy", req(breakSess, breakGlass, "s3:PutBucketPolicy", vaultBucket, "true"), ImplicitDeny, "", true},
		{"break-glass over plain HTTP", req(breakSess, breakGlass, "s3:GetObject", vaultObj, "false"), ExplicitDeny, "DenyInsecureTransport", true},
		{"look-alike break-glass path", req("arn:aws:sts::111111111111:assumed-role/break-glass/x", "arn:aws:iam::111111111111:role/evil/break-glass", "s3:DeleteObject", vaultObj, "true"), ExplicitDeny, "DenyObjectDeletion", true},
		{"account B deletes", req(bSess, bRole, "s3:DeleteObject", vaultObj, "true"), ExplicitDeny, "DenyObjectDeletion", true},
		{"anonymous deletes", Request{Action: "s3:DeleteObject", Resource: vaultObj, Context: ctx("aws:SecureTransport", "true")}, ExplicitDeny, "DenyObjectDeletion", true},
		{"anonymous reads", Request{Action: "s3:GetObject", Resource: vaultObj, Context: ctx("aws:SecureTransport", "true")}, ImplicitDeny, "", true},
		// Bool is a positive operator: a missing key does not match.
		{"no SecureTransport key", req(writerSess, writerRole, "s3:PutObject", vaultObj, ""), Allow, "", true},
	})
}

func TestNotElements(t *testing.T) {
	t.Run("NotAction", func(t *testing.T) {
		d := mustParse(t, `{"Version":"2012-10-17","Statement":[
			{"Sid":"ReadAll","Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::vault/*"},
			{"Sid":"DenyAllButReads","Effect":"Deny","Principal":"*","NotAction":["s3:Get*","s3:List*"],"Resource":"arn:aws:s3:::vault/*"}]}`)
		runCases(t, d, []evalCase{
			{"get", Request{Principal: bRole, Action: "s3:GetObject", Resource: vaultObj}, Allow, "ReadAll", true},
			{"list (case-insensitive)", Request{Principal: bRole, Action: "S3:LISTBUCKET", Resource: vaultObj}, Allow, "ReadAll", true},
			{"delete", Request{Principal: bRole, Action: "s3:DeleteObject", Resource: vaultObj}, ExplicitDeny, "DenyAllButReads", true},
			{"other service", Request{Principal: bRole, Action: "kms:Decrypt", Resource: vaultObj}, ExplicitDeny, "DenyAllButReads", true},
		})
	})
	t.Run("NotResource", func(t *testing.T) {
		d := mustParse(t, `{"Version":"2012-10-17","Statement":[
			{"Sid":"AllButSecret","Effect":"Allow","Action":"s3:GetObject","NotResource":["arn:aws:s3:::vault/secret/*","arn:aws:s3:::other/*"]}]}`)
		runCases(t, d, []evalCase{
			{"ordinary key", Request{Principal: writerSess, Action: "s3:GetObject", Resource: vaultObj}, Allow, "AllButSecret", true},
			{"secret key", Request{Principal: writerSess, Action: "s3:GetObject", Resource: "arn:aws:s3:::vault/secret/k"}, ImplicitDeny, "", true},
			{"other bucket", Request{Principal: writerSess, Action: "s3:GetObject", Resource: "arn:aws:s3:::other/k"}, ImplicitDeny, "", true},
			{"third bucket", Request{Principal: writerSess, Action: "s3:GetObject", Resource: "arn:aws:s3:::third/k"}, Allow, "", true},
		})
	})
	t.Run("NotPrincipal Deny", func(t *testing.T) {
		d := mustParse(t, `{"Version":"2012-10-17","Statement":[
			{"Sid":"Read","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::vault/*"},
			{"Sid":"OnlyBreakGlass","Effect":"Deny","NotPrincipal":{"AWS":[
				"arn:aws:iam::111111111111:role/break-glass",
				"arn:aws:sts::111111111111:assumed-role/break-glass/alice",
				"arn:aws:iam::111111111111:root"]},
			 "Action":"s3:*","Resource":"arn:aws:s3:::vault/*"}]}`)
		get := func(p string) Request { return Request{Principal: p, Action: "s3:GetObject", Resource: vaultObj} }
		runCases(t, d, []evalCase{
			{"other account", get(bSess), ExplicitDeny, "OnlyBreakGlass", true},
			{"anonymous", get(""), ExplicitDeny, "OnlyBreakGlass", true},
			{"listed session and account", get(breakSess), Allow, "Read", true},
			{"listed role and account", get(breakGlass), Allow, "Read", true},
			// Listed only through the account root or the role: AWS checks each
			// identity of the caller, so the Deny is not relied on and the
			// Allow is marked as resting on that assumption.
			{"unlisted session of the listed role", get("arn:aws:sts::111111111111:assumed-role/break-glass/bob"), Allow, "Read", false},
			{"same-account writer", get(writerSess), Allow, "Read", false},
		})
	})
	t.Run("NotPrincipal Allow", func(t *testing.T) {
		d := mustParse(t, `{"Version":"2012-10-17","Statement":[
			{"Sid":"AllButB","Effect":"Allow","NotPrincipal":{"AWS":"arn:aws:iam::222222222222:role/logvault-cloudtrail"},"Action":"s3:GetObject","Resource":"*"}]}`)
		get := func(p string) Request { return Request{Principal: p, Action: "s3:GetObject", Resource: vaultObj} }
		runCases(t, d, []evalCase{
			{"named role", get(bRole), ImplicitDeny, "", true},
			{"other principal", get(writerSess), Allow, "AllButB", true},
			{"anonymous", get("*"), Allow, "AllButB", true},
			{"session of the named role", get(bSess), Allow, "AllButB", false},
		})
	})
	t.Run("NotPrincipal star", func(t *testing.T) {
		d := mustParse(t, `{"Statement":[{"Effect":"Deny","NotPrincipal":{"AWS":"*"},"Action":"s3:*","Resource":"*"},
			{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}]}`)
		runCases(t, d, []evalCase{
			{"nobody is denied", Request{Principal: bRole, Action: "s3:DeleteObject", Resource: vaultObj}, Allow, "#1", true},
		})
	})
}

func TestWildcards(t *testing.T) {
	d := mustParse(t, `{"Version":"2012-10-17","Statement":[
		{"Sid":"Q","Effect":"Allow","Action":"s3:?etObject","Resource":"arn:aws:s3:::vault/logs/?.gz"},
		{"Sid":"Star","Effect":"Allow","Action":"S3:List*","Resource":"arn:aws:s3:::vault*"},
		{"Sid":"Mid","Effect":"Allow","Action":"iam:*AccessKey*","Resource":"arn:aws:iam::111111111111:user/*"},
		{"Sid":"Everything","Effect":"Allow","Action":"sqs:*","Resource":"*"},
		{"Sid":"Span","Effect":"Allow","Action":"kms:Decrypt","Resource":"arn:aws:kms:*"}]}`)
	r := func(action, resource string) Request {
		return Request{Principal: writerSess, Action: action, Resource: resource}
	}
	runCases(t, d, []evalCase{
		{"? in action and resource", r("s3:GetObject", "arn:aws:s3:::vault/logs/a.gz"), Allow, "Q", true},
		{"? matches exactly one", r("s3:GetObject", "arn:aws:s3:::vault/logs/ab.gz"), ImplicitDeny, "", true},
		{"? action mismatch", r("s3:GetObjectAcl", "arn:aws:s3:::vault/logs/a.gz"), ImplicitDeny, "", true},
		{"resource is case-sensitive", r("s3:GetObject", "arn:aws:s3:::vault/LOGS/a.gz"), ImplicitDeny, "", true},
		{"action is case-insensitive", r("S3:LISTBUCKETVERSIONS", "arn:aws:s3:::vault-2"), Allow, "Star", true},
		{"* in resource crosses /", r("s3:ListBucket", "arn:aws:s3:::vault/a/b"), Allow, "Star", true},
		{"bucket name case", r("s3:ListBucket", "arn:aws:s3:::Vault"), ImplicitDeny, "", true},
		{"two stars", r("iam:CreateAccessKey", "arn:aws:iam::111111111111:user/ci"), Allow, "Mid", true},
		{"two stars, wrong account", r("iam:CreateAccessKey", "arn:aws:iam::222222222222:user/ci"), ImplicitDeny, "", true},
		{"resource *", r("sqs:SendMessage", "arn:aws:sqs:eu-west-1:111111111111:q"), Allow, "Everything", true},
		// "arn:aws:kms:*" reaches the key only if '*' spans ':' separators,
		// which AWS does not document: an Allow counts, but not exactly.
		{"star spanning colons", r("kms:Decrypt", "arn:aws:kms:eu-west-1:111111111111:key/k"), Allow, "Span", false},
	})
	deny := mustParse(t, `{"Statement":[{"Effect":"Allow","Action":"kms:*","Resource":"*"},{"Effect":"Deny","Action":"kms:*","Resource":"arn:aws:kms:*"}]}`)
	runCases(t, deny, []evalCase{
		{"deny spanning colons is not relied on", r("kms:Decrypt", "arn:aws:kms:eu-west-1:111111111111:key/k"), Allow, "#0", false},
	})
}

func TestConditions(t *testing.T) {
	type cc struct {
		name string
		cond string
		ctx  map[string][]string
		want Decision // of an Allow statement with that Condition
	}
	cases := []cc{
		{"StringEqualsIfExists absent", `{"StringEqualsIfExists":{"aws:SourceVpc":"vpc-1"}}`, nil, Allow},
		{"StringEqualsIfExists match", `{"StringEqualsIfExists":{"aws:SourceVpc":"vpc-1"}}`, ctx("aws:SourceVpc", "vpc-1"), Allow},
		{"StringEqualsIfExists mismatch", `{"StringEqualsIfExists":{"aws:SourceVpc":"vpc-1"}}`, ctx("aws:SourceVpc", "vpc-2"), ImplicitDeny},
		{"StringEquals values are ORed", `{"StringEquals":{"k":["a","b"]}}`, ctx("k", "b"), Allow},
		{"keys are ANDed", `{"StringEquals":{"k":"a","j":"b"}}`, ctx("k", "a"), ImplicitDeny},
		{"operators are ANDed", `{"StringEquals":{"k":"a"},"StringLike":{"j":"b*"}}`, ctx("k", "a", "j", "bc"), Allow},
		{"operators are ANDed, one fails", `{"StringEquals":{"k":"a"},"StringLike":{"j":"b*"}}`, ctx("k", "a", "j", "cb"), ImplicitDeny},
		{"StringNotEquals absent", `{"StringNotEquals":{"k":"a"}}`, nil, Allow},
		{"StringNotEquals other", `{"StringNotEquals":{"k":["a","b"]}}`, ctx("k", "c"), Allow},
		{"StringNotEquals listed", `{"StringNotEquals":{"k":["a","b"]}}`, ctx("k", "b"), ImplicitDeny},
		{"StringEqualsIgnoreCase", `{"StringEqualsIgnoreCase":{"k":"ABC"}}`, ctx("k", "abc"), Allow},
		{"StringNotEqualsIgnoreCase", `{"StringNotEqualsIgnoreCase":{"k":"ABC"}}`, ctx("k", "abc"), ImplicitDeny},
		{"StringLike", `{"StringLike":{"s3:prefix":"home/*"}}`, ctx("s3:prefix", "home/a/b"), Allow},
		{"StringLike ?", `{"StringLike":{"k":"a?c"}}`, ctx("k", "abbc"), ImplicitDeny},
		{"StringNotLike absent", `{"StringNotLike":{"k":"a*"}}`, nil, Allow},
		{"StringEquals star is literal", `{"StringEquals":{"k":"*"}}`, ctx("k", "x"), ImplicitDeny},
		{"Null true, absent", `{"Null":{"aws:TokenIssueTime":"true"}}`, nil, Allow},
		{"Null true, present", `{"Null":{"aws:TokenIssueTime":"true"}}`, ctx("aws:TokenIssueTime", "2024-01-01T00:00:00Z"), ImplicitDeny},
		{"Null false, present", `{"Null":{"aws:TokenIssueTime":false}}`, ctx("aws:TokenIssueTime", "x"), Allow},
		{"Null false, absent", `{"Null":{"aws:TokenIssueTime":"false"}}`, nil, ImplicitDeny},
		{"Bool", `{"Bool":{"aws:MultiFactorAuthPresent":"true"}}`, ctx("aws:MultiFactorAuthPresent", "true"), Allow},
		{"Bool absent", `{"Bool":{"aws:MultiFactorAuthPresent":"true"}}`, nil, ImplicitDeny},
		{"BoolIfExists absent", `{"BoolIfExists":{"aws:MultiFactorAuthPresent":"true"}}`, nil, Allow},
		{"BoolIfExists false", `{"BoolIfExists":{"aws:MultiFactorAuthPresent":"true"}}`, ctx("aws:MultiFactorAuthPresent", "false"), ImplicitDeny},
		{"NumericLessThan", `{"NumericLessThan":{"s3:max-keys":"10"}}`, ctx("s3:max-keys", "9"), Allow},
		{"NumericLessThan equal", `{"NumericLessThan":{"s3:max-keys":10}}`, ctx("s3:max-keys", "10"), ImplicitDeny},
		{"NumericLessThanEquals", `{"NumericLessThanEquals":{"n":10}}`, ctx("n", "10.0"), Allow},
		{"NumericGreaterThan decimal", `{"NumericGreaterThan":{"n":"1.5"}}`, ctx("n", "2"), Allow},
		{"NumericGreaterThanEquals", `{"NumericGreaterThanEquals":{"n":"-1"}}`, ctx("n", "-2"), ImplicitDeny},
		{"NumericEquals", `{"NumericEquals":{"n":"7"}}`, ctx("n", "07"), Allow},
		{"NumericNotEquals absent", `{"NumericNotEquals":{"n":"7"}}`, nil, Allow},
		{"DateLessThan RFC3339", `{"DateLessThan":{"aws:CurrentTime":"2030-01-01T00:00:00Z"}}`, ctx("aws:CurrentTime", "2025-06-01T12:00:00Z"), Allow},
		{"DateGreaterThan epoch", `{"DateGreaterThan":{"aws:EpochTime":"1700000000"}}`, ctx("aws:EpochTime", "1600000000"), ImplicitDeny},
		{"DateEquals mixed forms", `{"DateEquals":{"t":"1970-01-01T00:00:10Z"}}`, ctx("t", "10"), Allow},
		{"DateGreaterThanEquals date only", `{"DateGreaterThanEquals":{"t":"2024-01-01"}}`, ctx("t", "2024-01-01T00:00:00+00:00"), Allow},
		{"IpAddress in", `{"IpAddress":{"aws:SourceIp":["203.0.113.0/24","2001:db8::/32"]}}`, ctx("aws:SourceIp", "2001:db8::1"), Allow},
		{"IpAddress out", `{"IpAddress":{"aws:SourceIp":"203.0.113.0/24"}}`, ctx("aws:SourceIp", "198.51.100.1"), ImplicitDeny},
		{"IpAddress single", `{"IpAddress":{"aws:SourceIp":"203.0.113.7"}}`, ctx("aws:SourceIp", "203.0.113.7"), Allow},
		{"NotIpAddress absent", `{"NotIpAddress":{"aws:SourceIp":"203.0.113.0/24"}}`, nil, Allow},
		{"NotIpAddress inside", `{"NotIpAddress":{"aws:SourceIp":"203.0.113.0/24"}}`, ctx("aws:SourceIp", "203.0.113.9"), ImplicitDeny},
		{"ArnLike per segment", `{"ArnLike":{"aws:SourceArn":"arn:aws:cloudtrail:*:222222222222:trail/*"}}`, ctx("aws:SourceArn", "arn:aws:cloudtrail:eu-west-1:222222222222:trail/main"), Allow},
		{"ArnLike star stays in its segment", `{"ArnLike":{"aws:SourceArn":"arn:aws:cloudtrail:*:*:trail/main"}}`, ctx("aws:SourceArn", "arn:aws:cloudtrail:eu-west-1:x:222222222222:trail/main"), ImplicitDeny},
		{"ArnEquals honours wildcards", `{"ArnEquals":{"aws:SourceArn":"arn:aws:sns:*:222222222222:topic"}}`, ctx("aws:SourceArn", "arn:aws:sns:us-east-1:222222222222:topic"), Allow},
		{"ArnLike non-ARN request value", `{"ArnLike":{"aws:SourceArn":"arn:aws:sns:*:*:*"}}`, ctx("aws:SourceArn", "topic"), ImplicitDeny},
		{"ArnNotEquals absent", `{"ArnNotEquals":{"aws:SourceArn":"arn:aws:sns:*:*:*"}}`, nil, Allow},
		{"BinaryEquals", `{"BinaryEquals":{"k":"QUJD"}}`, ctx("k", "QUJD"), Allow},
		{"ForAnyValue match", `{"ForAnyValue:StringEquals":{"aws:TagKeys":["env","team"]}}`, ctx("aws:TagKeys", "owner", "aws:TagKeys", "team"), Allow},
		{"ForAnyValue absent", `{"ForAnyValue:StringEquals":{"aws:TagKeys":"env"}}`, nil, ImplicitDeny},
		{"ForAnyValue IfExists absent", `{"ForAnyValue:StringEqualsIfExists":{"aws:TagKeys":"env"}}`, nil, Allow},
		{"ForAnyValue negated", `{"ForAnyValue:StringNotEquals":{"aws:TagKeys":"env"}}`, ctx("aws:TagKeys", "env", "aws:TagKeys", "x"), Allow},
		{"ForAllValues subset", `{"ForAllValues:StringEquals":{"aws:TagKeys":["env","team"]}}`, ctx("aws:TagKeys", "env", "aws:TagKeys", "team"), Allow},
		{"ForAllValues not subset", `{"ForAllValues:StringEquals":{"aws:TagKeys":["env","team"]}}`, ctx("aws:TagKeys", "env", "aws:TagKeys", "owner"), ImplicitDeny},
		{"ForAllValues absent", `{"ForAllValues:StringEquals":{"aws:TagKeys":"env"}}`, nil, Allow},
		{"ForAnyValue empty string value", `{"ForAnyValue:StringEquals":{"aws:TagKeys":"env"}}`, ctx("aws:TagKeys", ""), ImplicitDeny},
		{"ForAllValues negated", `{"ForAllValues:StringNotLike":{"aws:TagKeys":"aws:*"}}`, ctx("aws:TagKeys", "env", "aws:TagKeys", "aws:x"), ImplicitDeny},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := mustParse(t, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":`+c.cond+`}}`)
			if u := d.Unknown(); len(u) != 0 {
				t.Fatalf("Unknown() = %q", u)
			}
			got := d.Evaluate(Request{Principal: writerSess, Action: "s3:GetObject", Resource: vaultObj, Context: c.ctx})
			if got.Decision != c.want || !got.Exact() {
				t.Fatalf("got %v (assumed %q), want exact %v", got.Decision, got.Assumed, c.want)
			}
		})
	}
}

func TestSecureTransportDeny(t *testing.T) {
	for _, v := range []string{`false`, `"false"`, `["false"]`} {
		d := mustParse(t, `{"Version":"2012-10-17","Statement":[
			{"Sid":"AllowGet","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::vault/*"},
			{"Sid":"TLSOnly","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::vault/*","Condition":{"Bool":{"aws:SecureTransport":`+v+`}}}]}`)
		runCases(t, d, []evalCase{
			{"http " + v, Request{Principal: bRole, Action: "s3:GetObject", Resource: vaultObj, Context: ctx("aws:SecureTransport", "false")}, ExplicitDeny, "TLSOnly", true},
			{"https " + v, Request{Principal: bRole, Action: "s3:GetObject", Resource: vaultObj, Context: ctx("aws:SecureTransport", "true")}, Allow, "AllowGet", true},
			{"HTTP " + v + " any case", Request{Principal: bRole, Action: "s3:GetObject", Resource: vaultObj, Context: ctx("aws:securetransport", "FALSE")}, ExplicitDeny, "TLSOnly", true},
		})
	}
}

func TestUnknownSoundness(t *testing.T) {
	get := Request{Principal: writerSess, Action: "s3:GetObject", Resource: vaultObj, Context: ctx("k", "v")}
	cases := []struct {
		name    string
		doc     string
		want    Decision
		exact   bool
		unknown string // a substring of Unknown()
	}{
		{"Allow with unknown operator counts as matching",
			`{"Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":{"StringEqualz":{"k":"v"}}}}`,
			Allow, false, `operator "StringEqualz"`},
		{"operator in another case is unknown",
			`{"Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":{"stringEquals":{"k":"nope"}}}}`,
			Allow, false, `operator "stringEquals"`},
		{"NullIfExists is unknown",
			`{"Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":{"NullIfExists":{"k":"true"}}}}`,
			Allow, false, `operator "NullIfExists"`},
		{"Allow with unknown operator and a failing known condition does not match",
			`{"Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":{"StringEqualz":{"k":"v"},"StringEquals":{"k":"other"}}}}`,
			ImplicitDeny, true, `operator "StringEqualz"`},
		{"Allow with unknown operator for another action does not match",
			`{"Statement":{"Effect":"Allow","Action":"s3:PutObject","Resource":"*","Condition":{"StringEqualz":{"k":"v"}}}}`,
			ImplicitDeny, true, `operator "StringEqualz"`},
		{"Deny with unknown operator is not relied on",
			`{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"},{"Sid":"D","Effect":"Deny","Action":"s3:*","Resource":"*","Condition":{"StringEqualz":{"k":"v"}}}]}`,
			Allow, false, `D: condition operator "StringEqualz"`},
		{"Deny with unknown operator alone is no explicit deny",
			`{"Statement":{"Effect":"Deny","Action":"s3:*","Resource":"*","Condition":{"ForAnyValue:StringEqualz":{"k":"v"}}}}`,
			ImplicitDeny, true, "StringEqualz"},
		{"negated operator with unreadable value is unknown too",
			`{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"},{"Effect":"Deny","Action":"s3:*","Resource":"*","Condition":{"NumericNotEquals":{"k":"ten"}}}]}`,
			Allow, false, `"ten" is not a number`},
		{"unreadable typed value in an Allow counts as matching",
			`{"Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":{"NotIpAddress":{"k":"10.0.0.300"}}}}`,
			Allow, false, "IP address"},
		{"wildcard principal ARN in an Allow counts",
			`{"Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:role/*"},"Action":"s3:GetObject","Resource":"*"}}`,
			Allow, false, "wildcards in principal ARNs"},
		{"wildcard principal ARN in a Deny is not relied on",
			`{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"*"},{"Effect":"Deny","Principal":{"AWS":"arn:aws:sts::111111111111:assumed-role/*"},"Action":"s3:GetObject","Resource":"*"}]}`,
			Allow, false, "wildcards in principal ARNs"},
		{"wildcard service prefix",
			`{"Statement":{"Effect":"Deny","Action":"s*:GetObject","Resource":"*"}}`,
			ImplicitDeny, true, "service prefix"},
		{"ArnLike value that is no ARN pattern",
			`{"Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":{"ArnLike":{"aws:SourceArn":"*"}}}}`,
			ImplicitDeny, true, "six-part ARN"}, // the key is absent: a positive operator fails whatever the value means
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := mustParse(t, c.doc)
			got := d.Evaluate(get)
			if got.Decision != c.want || got.Exact() != c.exact {
				t.Fatalf("got %v exact=%v (assumed %q), want %v exact=%v", got.Decision, got.Exact(), got.Assumed, c.want, c.exact)
			}
			if !strings.Contains(strings.Join(d.Unknown(), "\n"), c.unknown) {
				t.Errorf("Unknown() = %q, want it to mention %q", d.Unknown(), c.unknown)
			}
			if !c.exact && len(got.Assumed) == 0 {
				t.Errorf("no Assumed reasons")
			}
		})
	}
}

func TestEmptyValueReadings(t *testing.T) {
	// AWS may read an empty-string value as a missing key for the set
	// qualifiers and Null; where the readings differ the result is unknown.
	cases := []struct {
		cond  string
		want  Decision
		exact bool
	}{
		{`{"ForAllValues:StringEquals":{"k":"env"}}`, Allow, false},
		{`{"ForAnyValue:StringEquals":{"k":"env"}}`, ImplicitDeny, true},
		{`{"ForAnyValue:StringEquals":{"k":""}}`, Allow, false},
		{`{"Null":{"k":"true"}}`, Allow, false},
		{`{"StringEquals":{"k":""}}`, Allow, true},
	}
	for _, c := range cases {
		d := mustParse(t, `{"Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":`+c.cond+`}}`)
		got := d.Evaluate(Request{Action: "s3:GetObject", Resource: vaultObj, Context: ctx("k", "")})
		if got.Decision != c.want || got.Exact() != c.exact {
			t.Errorf("%s: got %v exact=%v, want %v exact=%v", c.cond, got.Decision, got.Exact(), c.want, c.exact)
		}
	}
}

func TestPolicyVariables(t *testing.T) {
	const doc = `{"Version":%q,"Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::vault/home/${aws:username}/*",
		"Condition":{"StringLike":{"s3:prefix":"${aws:username}/${*}"}}}}`
	d := mustParse(t, strings.Replace(doc, "%q", `"2012-10-17"`, 1))
	r := func(res string, c map[string][]string) Request {
		return Request{Principal: "arn:aws:iam::111111111111:user/alice", Action: "s3:GetObject", Resource: res, Context: c}
	}
	runCases(t, d, []evalCase{
		{"own home", r("arn:aws:s3:::vault/home/alice/x", ctx("aws:username", "alice", "s3:prefix", "alice/*")), Allow, "", true},
		{"${*} is a literal star", r("arn:aws:s3:::vault/home/alice/x", ctx("aws:username", "alice", "s3:prefix", "alice/x")), ImplicitDeny, "", true},
		{"someone else's home", r("arn:aws:s3:::vault/home/bob/x", ctx("aws:username", "alice", "s3:prefix", "alice/*")), ImplicitDeny, "", true},
		{"no username counts but is not exact", r("arn:aws:s3:::vault/home/bob/x", ctx("s3:prefix", "bob/*")), Allow, "", false},
	})
	old := mustParse(t, strings.Replace(doc, "%q", `"2008-10-17"`, 1))
	runCases(t, old, []evalCase{
		{"2008-10-17 keeps ${} literal", r("arn:aws:s3:::vault/home/alice/x", ctx("aws:username", "alice", "s3:prefix", "alice/*")), ImplicitDeny, "", true},
	})
	def := mustParse(t, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":{"StringEquals":{"k":"${aws:PrincipalTag/team, 'none'}"}}}}`)
	runCases(t, def, []evalCase{
		{"default value", r(vaultObj, ctx("k", "none")), Allow, "", true},
		{"tag value", r(vaultObj, ctx("k", "ops", "aws:PrincipalTag/team", "ops")), Allow, "", true},
	})
	if u := mustParse(t, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b/${oops"}}`).Unknown(); len(u) != 1 {
		t.Errorf("unterminated variable: Unknown() = %q", u)
	}
}

func TestCombine(t *testing.T) {
	bucket := mustParse(t, vaultPolicy)
	role := mustParse(t, `{"Version":"2012-10-17","Statement":[{"Sid":"RoleAll","Effect":"Allow","Action":"s3:*","Resource":"*"}]}`)
	maybeDeny := mustParse(t, `{"Statement":{"Sid":"Odd","Effect":"Deny","Action":"s3:*","Resource":"*","Condition":{"Weird":{"k":"v"}}}}`)
	req := func(action, res string) Request {
		return Request{Principal: writerSess, Action: action, Resource: res, Context: ctx("aws:PrincipalArn", writerRole, "aws:SecureTransport", "true")}
	}
	del := req("s3:DeleteObjectVersion", vaultObj)
	cases := []struct {
		name      string
		results   []Result
		want      Decision
		statement string
		exact     bool
	}{
		{"bucket deny beats role allow", []Result{role.Evaluate(del), bucket.Evaluate(del)}, ExplicitDeny, "DenyObjectDeletion", true},
		{"role allow alone", []Result{bucket.Evaluate(req("s3:GetBucketTagging", vaultBucket)), role.Evaluate(req("s3:GetBucketTagging", vaultBucket))}, Allow, "RoleAll", true},
		{"unknown deny elsewhere makes the allow inexact", []Result{maybeDeny.Evaluate(del), role.Evaluate(del)}, Allow, "RoleAll", false},
		{"nothing allows", []Result{maybeDeny.Evaluate(del), bucket.Evaluate(req("s3:GetBucketTagging", vaultBucket))}, ImplicitDeny, "", true},
		{"none", nil, ImplicitDeny, "", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := Combine(c.results...)
			if got.Decision != c.want || got.Statement != c.statement || got.Exact() != c.exact {
				t.Fatalf("got %v %q exact=%v (%q), want %v %q exact=%v", got.Decision, got.Statement, got.Exact(), got.Assumed, c.want, c.statement, c.exact)
			}
		})
	}
}

func TestParseForms(t *testing.T) {
	d := mustParse(t, `{"Version":"2012-10-17","Id":"p1","Statement":[
		{"Sid":"A","Effect":"Allow","Principal":{"AWS":["111111111111","arn:aws:iam::222222222222:user/u"],"Service":"cloudtrail.amazonaws.com"},
		 "Action":["s3:PutObject"],"Resource":["arn:aws:s3:::vault/*"],"Condition":{"NumericLessThan":{"n":[1,2.5]},"Bool":{"b":true}}},
		{"Effect":"Deny","Principal":"*","NotAction":"s3:Get*","NotResource":"arn:aws:s3:::vault/*"}]}`)
	if d.Version != "2012-10-17" || d.ID != "p1" || len(d.Statements) != 2 {
		t.Fatalf("parsed %+v", d)
	}
	s := d.Statements[0]
	if got := s.Principal.Values["AWS"]; len(got) != 2 || got[0] != acctA {
		t.Errorf("Principal AWS = %q", got)
	}
	if got := s.Condition["NumericLessThan"]["n"]; len(got) != 2 || got[1] != "2.5" {
		t.Errorf("numbers keep their text: %q", got)
	}
	if got := s.Condition["Bool"]["b"]; len(got) != 1 || got[0] != "true" {
		t.Errorf("booleans: %q", got)
	}
	if p := d.Statements[1].Principal; p == nil || !p.Any || d.Statements[1].NotPrincipal != nil {
		t.Errorf("Principal * = %+v", p)
	}
	if err := d.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
	cases := []evalCase{
		{"service principal", Request{Principal: "cloudtrail.amazonaws.com", Action: "s3:PutObject", Resource: vaultObj, Context: ctx("n", "0", "b", "true")}, Allow, "A", true},
		{"bare account id covers its sessions", Request{Principal: writerSess, Action: "s3:PutObject", Resource: vaultObj, Context: ctx("n", "0", "b", "true")}, Allow, "A", true},
		{"user ARN only itself", Request{Principal: "arn:aws:iam::222222222222:user/v", Action: "s3:PutObject", Resource: vaultObj, Context: ctx("n", "0", "b", "true")}, ImplicitDeny, "", true},
		{"NotAction and NotResource deny", Request{Principal: "arn:aws:iam::222222222222:user/u", Action: "s3:PutObject", Resource: "arn:aws:s3:::other/x", Context: ctx("n", "0", "b", "true")}, ExplicitDeny, "#1", true},
		{"NotAction exempts reads", Request{Principal: "arn:aws:iam::222222222222:user/u", Action: "s3:GetObject", Resource: "arn:aws:s3:::other/x"}, ImplicitDeny, "", true},
	}
	runCases(t, d, cases)
	// {"AWS":"*"} is everyone, anonymous included.
	star := mustParse(t, `{"Statement":{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"s3:GetObject","Resource":"*"}}`)
	runCases(t, star, []evalCase{{"anonymous", Request{Action: "s3:GetObject", Resource: vaultObj}, Allow, "#0", true}})
}

func TestParseErrors(t *testing.T) {
	cases := []struct{ name, doc, want string }{
		{"not JSON", `{"Statement":`, "not valid JSON"},
		{"trailing data", `{"Statement":[]} {}`, "not valid JSON"},
		{"not an object", `[]`, "document must be a JSON object"},
		{"missing Statement", `{"Version":"2012-10-17"}`, "Statement is missing"},
		{"Statement string", `{"Statement":"x"}`, "Statement must be an object or a list"},
		{"Statement element not object", `{"Statement":[1]}`, "statement 0: statement must be a JSON object"},
		{"bad Version", `{"Version":"2012-10-18","Statement":[]}`, `Version "2012-10-18"`},
		{"Version number", `{"Version":2012,"Statement":[]}`, "Version must be a string"},
		{"unknown element", `{"Statement":[],"Statment":[]}`, `unknown element "Statment"`},
		{"lower-case element", `{"statement":[]}`, `unknown element "statement"`},
		{"Effect typo", `{"Statement":[{"Effect":"Allow","Action":"s3:*"},{"Effect":"Alow","Action":"s3:*"}]}`, `policy: statement 1: Effect "Alow" is neither Allow nor Deny`},
		{"Effect missing", `{"Statement":{"Action":"s3:*"}}`, "statement 0: Effect is missing"},
		{"Effect null", `{"Statement":{"Effect":null,"Action":"s3:*"}}`, "Effect must be a string"},
		{"unknown statement element", `{"Statement":{"Effect":"Allow","Action":"s3:*","Resources":"*"}}`, `unknown element "Resources"`},
		{"Action and NotAction", `{"Statement":{"Effect":"Allow","Action":"s3:*","NotAction":"s3:Get*"}}`, "both Action and NotAction"},
		{"no Action", `{"Statement":{"Effect":"Allow","Resource":"*"}}`, "neither Action nor NotAction"},
		{"empty Action", `{"Statement":{"Effect":"Allow","Action":[]}}`, "Action is an empty list"},
		{"Action number", `{"Statement":{"Effect":"Allow","Action":5}}`, "Action must be a string or a list of strings"},
		{"Action list with number", `{"Statement":{"Effect":"Allow","Action":["s3:*",5]}}`, "Action element must be a string"},
		{"Action without service", `{"Statement":{"Effect":"Allow","Action":"DeleteObject"}}`, `Action value "DeleteObject"`},
		{"Resource not ARN", `{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"vault/*"}}`, `Resource value "vault/*"`},
		{"Resource and NotResource", `{"Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*","NotResource":"*"}}`, "both Resource and NotResource"},
		{"Principal and NotPrincipal", `{"Statement":{"Effect":"Deny","Principal":"*","NotPrincipal":{"AWS":"111111111111"},"Action":"s3:*"}}`, "both Principal and NotPrincipal"},
		{"Principal bare ARN", `{"Statement":{"Effect":"Allow","Principal":"arn:aws:iam::1:root","Action":"s3:*"}}`, `must be "*" or a map`},
		{"Principal unknown type", `{"Statement":{"Effect":"Allow","Principal":{"IAM":"x"},"Action":"s3:*"}}`, `Principal type "IAM"`},
		{"Principal empty map", `{"Statement":{"Effect":"Allow","Principal":{},"Action":"s3:*"}}`, "Principal is empty"},
		{"Principal empty value", `{"Statement":{"Effect":"Allow","Principal":{"AWS":""},"Action":"s3:*"}}`, "Principal AWS has an empty value"},
		{"Principal null", `{"Statement":{"Effect":"Allow","Principal":null,"Action":"s3:*"}}`, "Principal must be"},
		{"Condition not object", `{"Statement":{"Effect":"Allow","Action":"s3:*","Condition":[]}}`, "Condition must be a JSON object"},
		{"Condition operator not object", `{"Statement":{"Effect":"Allow","Action":"s3:*","Condition":{"StringEquals":"x"}}}`, "Condition StringEquals must be a JSON object"},
		{"Condition empty operator", `{"Statement":{"Effect":"Allow","Action":"s3:*","Condition":{"StringEquals":{}}}}`, "Condition StringEquals has no keys"},
		{"Condition null value", `{"Statement":{"Effect":"Allow","Action":"s3:*","Condition":{"StringEquals":{"k":null}}}}`, "Condition StringEquals k must be a string, number or boolean"},
		{"Condition nested value", `{"Statement":{"Effect":"Allow","Action":"s3:*","Condition":{"StringEquals":{"k":{"a":"b"}}}}}`, "must be a string, number or boolean"},
		{"Condition empty values", `{"Statement":{"Effect":"Allow","Action":"s3:*","Condition":{"StringEquals":{"k":[]}}}}`, "Condition StringEquals k is an empty list"},
		{"duplicate key", `{"Statement":{"Effect":"Allow","Effect":"Deny","Action":"s3:*"}}`, `duplicate key "Effect"`},
		{"duplicate condition key", `{"Statement":{"Effect":"Deny","Action":"s3:*","Condition":{"Bool":{"k":"true","k":"false"}}}}`, `duplicate key "k"`},
		{"empty input", ``, "not valid JSON"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, err := Parse([]byte(c.doc))
			if err == nil {
				t.Fatalf("Parse succeeded: %+v", d)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not mention %q", err, c.want)
			}
			if !strings.HasPrefix(err.Error(), "policy: ") {
				t.Errorf("error %q lacks the policy: prefix", err)
			}
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("error %q is not ErrMalformed", err)
			}
		})
	}
}

func TestConstructedDocuments(t *testing.T) {
	var nilDoc *Document
	if got := nilDoc.Evaluate(Request{}); got.Decision != ImplicitDeny {
		t.Errorf("nil document: %v", got.Decision)
	}
	if nilDoc.Unknown() != nil || nilDoc.Validate() == nil {
		t.Errorf("nil document: Unknown/Validate")
	}
	// A statement AWS would reject is unknown: a possible Allow, never a Deny.
	d := &Document{Statements: []Statement{
		{Sid: "Typo", Effect: "Alow", Action: []string{"s3:GetObject"}},
		{Sid: "BadDeny", Effect: "Deny", Action: []string{"s3:*"}, NotAction: []string{"s3:Get*"}},
	}}
	if err := d.Validate(); err == nil || !strings.Contains(err.Error(), `statement 0: Effect "Alow"`) {
		t.Errorf("Validate: %v", err)
	}
	got := d.Evaluate(Request{Principal: bRole, Action: "s3:DeleteObject", Resource: vaultObj})
	if got.Decision != Allow || got.Exact() || len(got.Assumed) != 2 {
		t.Errorf("got %v %q", got.Decision, got.Assumed)
	}
	if u := d.Unknown(); len(u) != 2 {
		t.Errorf("Unknown() = %q", u)
	}
}

func TestDecisionString(t *testing.T) {
	for d, want := range map[Decision]string{ImplicitDeny: "ImplicitDeny", Allow: "Allow", ExplicitDeny: "ExplicitDeny", Decision(7): "Decision(7)"} {
		if d.String() != want {
			t.Errorf("%d.String() = %q", int(d), d.String())
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		vaultPolicy,
		`{"Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::222222222222:root"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"x"}}}}`,
		`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","NotPrincipal":{"AWS":["*"]},"NotAction":"s3:Get*","NotResource":"arn:aws:s3:::b/${aws:username}/*","Condition":{"ForAllValues:StringLikeIfExists":{"k":["a*",1,true]},"IpAddress":{"ip":"10.0.0.0/8"},"DateLessThan":{"t":"2020-01-01"}}}]}`,
		`{"Statement":[{"Effect":"Alow"}]}`,
		`{"Statement":{"Effect":"Allow","Effect":"Deny"}}`,
		`[[[[[[[[]]]]]]]]`,
		``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := Parse(data)
		if err != nil {
			if d != nil || !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v with document %v", err, d)
			}
			return
		}
		if err := d.Validate(); err != nil {
			t.Fatalf("parsed document fails Validate: %v", err)
		}
		_ = d.Unknown()
		for _, r := range []Request{
			{},
			{Principal: writerSess, Action: "s3:DeleteObject", Resource: vaultObj, Context: ctx("k", "a", "aws:username", "x", "ip", "10.1.2.3", "t", "2019-01-01")},
			{Principal: acctB, Action: "sts:AssumeRole", Resource: writerRole, Context: ctx("k", "a", "k", "b")},
		} {
			res := d.Evaluate(r)
			if res.Decision == ExplicitDeny && len(res.Assumed) != 0 {
				t.Fatalf("explicit deny with assumptions %q", res.Assumed)
			}
			_ = Combine(res, res)
		}
	})
}
