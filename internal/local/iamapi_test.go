package local

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	"github.com/versity/versitygw/auth"

	"github.com/logvault/logvault/internal/policy"
)

const (
	testRootAccess, testRootSecret = AccountA, "root-secret-for-tests"
	testOpAccess, testOpSecret     = "OPERATORKEYFORTESTS1", "operator-secret-for-tests"
)

// iamClient is the real SDK IAM client, pointed at the fixture's endpoint.
func (f *stsFixture) iamClient(access, secret string) *iam.Client {
	return iam.New(iam.Options{
		Region: Region, BaseEndpoint: aws.String(f.srv.URL), HTTPClient: f.srv.Client(),
		Credentials: credentials.NewStaticCredentialsProvider(access, secret, ""),
	})
}

// newIAMFixture is the STS fixture (Serve's roles) with Account A's root key
// and the operator (an administrator whose policy allows * on *).
func newIAMFixture(t *testing.T) *stsFixture {
	f := newSTSFixture(t)
	f.sts.rootAccess, f.sts.rootSecret = testRootAccess, testRootSecret
	f.iam.addUser(testOpAccess, testOpSecret, OperatorARN, auth.RoleUser)
	f.iam.authz.attach(OperatorARN, administratorPolicy)
	return f
}

func TestIAMReadsOfTheRoles(t *testing.T) {
	f := newIAMFixture(t)
	ctx := context.Background()
	for _, who := range []struct{ name, access, secret string }{{"root", testRootAccess, testRootSecret}, {"operator", testOpAccess, testOpSecret}} {
		c := f.iamClient(who.access, who.secret)
		out, err := c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(WriterRoleName)})
		if err != nil {
			t.Fatalf("%s GetRole: %v", who.name, err)
		}
		js, _ := url.PathUnescape(aws.ToString(out.Role.AssumeRolePolicyDocument))
		trust, err := policy.Parse([]byte(js))
		if err != nil || aws.ToString(out.Role.Arn) != WriterRoleARN {
			t.Fatalf("%s GetRole: %s %q: %v", who.name, aws.ToString(out.Role.Arn), js, err)
		}
		if !strings.Contains(js, testExternalID) || len(trust.Statements) == 0 {
			t.Errorf("the writer's trust as IAM answers it: %s", js)
		}
		names, err := c.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: aws.String(WriterRoleName)})
		if err != nil || len(names.PolicyNames) != 1 {
			t.Fatalf("%s ListRolePolicies: %+v %v", who.name, names, err)
		}
		p, err := c.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(WriterRoleName), PolicyName: aws.String(names.PolicyNames[0])})
		if err != nil {
			t.Fatal(err)
		}
		if js, _ := url.PathUnescape(aws.ToString(p.PolicyDocument)); !strings.Contains(js, "s3:PutObject") {
			t.Errorf("the writer's policy as IAM answers it: %s", js)
		}
		att, err := c.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(BreakGlassRole)})
		if err != nil || len(att.AttachedPolicies) != 0 {
			t.Errorf("ListAttachedRolePolicies: %+v %v", att, err)
		}
	}
	for _, c := range []struct {
		name, access, secret, role, code string
	}{
		{"Account B", testBAccess, testBSecret, WriterRoleName, "AccessDenied"},
		{"another account", testCAccess, testCSecret, BreakGlassRole, "AccessDenied"},
		{"no such role", testOpAccess, testOpSecret, "logvault-nothing", "NoSuchEntity"},
		{"wrong secret", testOpAccess, "wrong", WriterRoleName, "SignatureDoesNotMatch"},
	} {
		_, err := f.iamClient(c.access, c.secret).GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(c.role)})
		var apiErr smithy.APIError
		if !errors.As(err, &apiErr) || apiErr.ErrorCode() != c.code {
			t.Errorf("%s GetRole %s: %v, want %s", c.name, c.role, err, c.code)
		}
	}
}

func TestGetCallerIdentity(t *testing.T) {
	f := newIAMFixture(t)
	for _, c := range []struct{ access, secret, arn, account string }{
		{testRootAccess, testRootSecret, "arn:aws:iam::" + AccountA + ":root", AccountA},
		{testOpAccess, testOpSecret, OperatorARN, AccountA},
		{testBAccess, testBSecret, sourceSessionARN(AccountB), AccountB},
	} {
		out, err := f.client(c.access, c.secret, "", nil).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
		if err != nil || aws.ToString(out.Arn) != c.arn || aws.ToString(out.Account) != c.account || aws.ToString(out.UserId) == "" {
			t.Errorf("GetCallerIdentity as %s: %+v %v", c.arn, out, err)
		}
	}
}

// TestBreakGlassIsNotAssumable: locally break-glass acts through its own
// keys; AssumeRole of it is refused (its MFA cannot be checked here).
func TestBreakGlassIsNotAssumable(t *testing.T) {
	f := newIAMFixture(t)
	_, err := f.client(testOpAccess, testOpSecret, "", nil).AssumeRole(context.Background(), &sts.AssumeRoleInput{RoleArn: aws.String(BreakGlassRoleARN), RoleSessionName: aws.String("x1")})
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "AccessDenied" {
		t.Errorf("AssumeRole of break-glass: %v, want AccessDenied", err)
	}
}
