package audit

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/logvault/logvault/infra"
	"github.com/logvault/logvault/internal/cfn"
)

// fakeVault answers the live reads as AWS would for a deployment of
// infra/vault.yaml; the cases change what it answers.
type fakeVault struct {
	policy      string
	versioning  types.BucketVersioningStatus
	lock        *types.ObjectLockConfiguration
	lifecycle   []types.LifecycleRule
	replication *types.ReplicationConfiguration
	encryption  *types.ServerSideEncryptionConfiguration
	pab         *types.PublicAccessBlockConfiguration
	ownership   types.ObjectOwnership
	trust       string
	breakGlass  string            // the break-glass role's trust
	writer      map[string]string // inline policies
	errs        map[string]error  // by operation
	owners      map[string]string // other buckets' owners, by name
}

var errDenied = &smithy.GenericAPIError{Code: "AccessDenied", Message: "Access Denied"}

func notFound(code string) error { return &smithy.GenericAPIError{Code: code, Message: "not found"} }

func newFakeVault(t *testing.T) *fakeVault {
	d := cfn.VaultDeployment{VaultAccount: "111111111111", OrganizationID: "o-livetestorg1", ExternalID: "the-external-id",
		FunctionRoleNames: []string{"logvault-cloudtrail"}, BreakGlassRoleName: BreakGlassRoleName,
		BucketName: "vault", WriterRoleName: "logvault-vault-writer"}
	tmpl, err := cfn.Load(infra.VaultTemplate, d.Values())
	if err != nil {
		t.Fatal(err)
	}
	bp, err := tmpl.GetS3BucketPolicyWithName(cfn.VaultBucketPolicyID)
	if err != nil {
		t.Fatal(err)
	}
	pol, _ := cfn.PolicyJSON(bp.PolicyDocument)
	r, _ := tmpl.GetIAMRoleWithName(cfn.WriterRoleID)
	trust, _ := cfn.PolicyJSON(r.AssumeRolePolicyDocument)
	f := &fakeVault{policy: string(pol), versioning: types.BucketVersioningStatusEnabled, trust: string(trust), writer: map[string]string{}, errs: map[string]error{},
		breakGlass: breakGlassTrust("arn:aws:iam::111111111111:user/security-officer"),
		owners:     map[string]string{"vault-replica": "111111111111", "their-bucket": "999999999999"},
		lock: &types.ObjectLockConfiguration{ObjectLockEnabled: types.ObjectLockEnabledEnabled,
			Rule: &types.ObjectLockRule{DefaultRetention: &types.DefaultRetention{Mode: types.ObjectLockRetentionModeCompliance, Days: aws.Int32(365)}}},
		lifecycle: []types.LifecycleRule{{ID: aws.String("abort"), Status: types.ExpirationStatusEnabled,
			AbortIncompleteMultipartUpload: &types.AbortIncompleteMultipartUpload{DaysAfterInitiation: aws.Int32(7)}}},
		encryption: &types.ServerSideEncryptionConfiguration{Rules: []types.ServerSideEncryptionRule{{
			ApplyServerSideEncryptionByDefault: &types.ServerSideEncryptionByDefault{SSEAlgorithm: types.ServerSideEncryptionAes256},
			BlockedEncryptionTypes:             &types.BlockedEncryptionTypes{EncryptionType: []types.EncryptionType{types.EncryptionTypeSseC}}}}},
		pab:       &types.PublicAccessBlockConfiguration{BlockPublicAcls: aws.Bool(true), BlockPublicPolicy: aws.Bool(true), IgnorePublicAcls: aws.Bool(true), RestrictPublicBuckets: aws.Bool(true)},
		ownership: types.ObjectOwnershipBucketOwnerEnforced,
	}
	for _, p := range r.Policies {
		js, _ := cfn.PolicyJSON(p.PolicyDocument)
		f.writer[p.PolicyName] = string(js)
	}
	return f
}

func (f *fakeVault) GetBucketPolicy(context.Context, *s3.GetBucketPolicyInput, ...func(*s3.Options)) (*s3.GetBucketPolicyOutput, error) {
	if err := f.errs["GetBucketPolicy"]; err != nil {
		return nil, err
	}
	return &s3.GetBucketPolicyOutput{Policy: aws.String(f.policy)}, nil
}
func (f *fakeVault) GetBucketVersioning(context.Context, *s3.GetBucketVersioningInput, ...func(*s3.Options)) (*s3.GetBucketVersioningOutput, error) {
	return &s3.GetBucketVersioningOutput{Status: f.versioning}, f.errs["GetBucketVersioning"]
}
func (f *fakeVault) GetObjectLockConfiguration(context.Context, *s3.GetObjectLockConfigurationInput, ...func(*s3.Options)) (*s3.GetObjectLockConfigurationOutput, error) {
	if f.lock == nil {
		return nil, notFound("ObjectLockConfigurationNotFoundError")
	}
	return &s3.GetObjectLockConfigurationOutput{ObjectLockConfiguration: f.lock}, nil
}
func (f *fakeVault) GetBucketLifecycleConfiguration(context.Context, *s3.GetBucketLifecycleConfigurationInput, ...func(*s3.Options)) (*s3.GetBucketLifecycleConfigurationOutput, error) {
	if err := f.errs["GetBucketLifecycleConfiguration"]; err != nil {
		return nil, err
	}
	if f.lifecycle == nil {
		return nil, notFound("NoSuchLifecycleConfiguration")
	}
	return &s3.GetBucketLifecycleConfigurationOutput{Rules: f.lifecycle}, nil
}
func (f *fakeVault) GetBucketReplication(context.Context, *s3.GetBucketReplicationInput, ...func(*s3.Options)) (*s3.GetBucketReplicationOutput, error) {
	if f.replication == nil {
		return nil, notFound("ReplicationConfigurationNotFoundError")
	}
	return &s3.GetBucketReplicationOutput{ReplicationConfiguration: f.replication}, nil
}
func (f *fakeVault) ListBucketInventoryConfigurations(context.Context, *s3.ListBucketInventoryConfigurationsInput, ...func(*s3.Options)) (*s3.ListBucketInventoryConfigurationsOutput, error) {
	return &s3.ListBucketInventoryConfigurationsOutput{}, nil
}
func (f *fakeVault) ListBucketAnalyticsConfigurations(context.Context, *s3.ListBucketAnalyticsConfigurationsInput, ...func(*s3.Options)) (*s3.ListBucketAnalyticsConfigurationsOutput, error) {
	return &s3.ListBucketAnalyticsConfigurationsOutput{}, nil
}
func (f *fakeVault) GetBucketLogging(context.Context, *s3.GetBucketLoggingInput, ...func(*s3.Options)) (*s3.GetBucketLoggingOutput, error) {
	return &s3.GetBucketLoggingOutput{}, nil
}
func (f *fakeVault) GetBucketEncryption(context.Context, *s3.GetBucketEncryptionInput, ...func(*s3.Options)) (*s3.GetBucketEncryptionOutput, error) {
	return &s3.GetBucketEncryptionOutput{ServerSideEncryptionConfiguration: f.encryption}, nil
}
func (f *fakeVault) GetPublicAccessBlock(context.Context, *s3.GetPublicAccessBlockInput, ...func(*s3.Options)) (*s3.GetPublicAccessBlockOutput, error) {
	if f.pab == nil {
		return nil, notFound("NoSuchPublicAccessBlockConfiguration")
	}
	return &s3.GetPublicAccessBlockOutput{PublicAccessBlockConfiguration: f.pab}, nil
}
func (f *fakeVault) GetBucketOwnershipControls(context.Context, *s3.GetBucketOwnershipControlsInput, ...func(*s3.Options)) (*s3.GetBucketOwnershipControlsOutput, error) {
	return &s3.GetBucketOwnershipControlsOutput{OwnershipControls: &types.OwnershipControls{Rules: []types.OwnershipControlsRule{{ObjectOwnership: f.ownership}}}}, nil
}
func (f *fakeVault) HeadBucket(_ context.Context, in *s3.HeadBucketInput, _ ...func(*s3.Options)) (*s3.HeadBucketOutput, error) {
	if f.owners[aws.ToString(in.Bucket)] != aws.ToString(in.ExpectedBucketOwner) {
		return nil, &smithy.GenericAPIError{Code: "Forbidden", Message: "Forbidden"}
	}
	return &s3.HeadBucketOutput{}, nil
}
func (f *fakeVault) GetRole(_ context.Context, in *iam.GetRoleInput, _ ...func(*iam.Options)) (*iam.GetRoleOutput, error) {
	if err := f.errs["GetRole "+aws.ToString(in.RoleName)]; err != nil {
		return nil, err
	}
	trust := f.trust
	if aws.ToString(in.RoleName) == BreakGlassRoleName {
		trust = f.breakGlass
	}
	return &iam.GetRoleOutput{Role: &iamtypes.Role{Arn: aws.String("arn:aws:iam::111111111111:role/" + aws.ToString(in.RoleName)),
		AssumeRolePolicyDocument: aws.String(url.QueryEscape(trust))}}, nil
}
func (f *fakeVault) ListRolePolicies(_ context.Context, in *iam.ListRolePoliciesInput, _ ...func(*iam.Options)) (*iam.ListRolePoliciesOutput, error) {
	out := &iam.ListRolePoliciesOutput{}
	if aws.ToString(in.RoleName) != BreakGlassRoleName {
		out.PolicyNames = sortedKeys(f.writer)
	}
	return out, nil
}
func (f *fakeVault) GetRolePolicy(_ context.Context, in *iam.GetRolePolicyInput, _ ...func(*iam.Options)) (*iam.GetRolePolicyOutput, error) {
	return &iam.GetRolePolicyOutput{PolicyDocument: aws.String(strings.ReplaceAll(url.QueryEscape(f.writer[aws.ToString(in.PolicyName)]), "+", "%20"))}, nil
}
func (f *fakeVault) ListAttachedRolePolicies(context.Context, *iam.ListAttachedRolePoliciesInput, ...func(*iam.Options)) (*iam.ListAttachedRolePoliciesOutput, error) {
	return &iam.ListAttachedRolePoliciesOutput{}, nil
}
func (f *fakeVault) GetPolicy(context.Context, *iam.GetPolicyInput, ...func(*iam.Options)) (*iam.GetPolicyOutput, error) {
	return nil, notFound("NoSuchEntity")
}
func (f *fakeVault) GetPolicyVersion(context.Context, *iam.GetPolicyVersionInput, ...func(*iam.Options)) (*iam.GetPolicyVersionOutput, error) {
	return nil, notFound("NoSuchEntity")
}

func breakGlassTrust(principal string) string {
	return `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + principal + `"},"Action":"sts:AssumeRole","Condition":{"Bool":{"aws:MultiFactorAuthPresent":"true"}}}]}`
}

func liveOptions() LiveOptions {
	return LiveOptions{Account: "111111111111", Bucket: "vault", WriterARN: "arn:aws:iam::111111111111:role/logvault-vault-writer",
		BreakGlass: "arn:aws:iam::111111111111:role/" + BreakGlassRoleName, ExternalID: "the-external-id"}
}

func TestLive(t *testing.T) {
	for _, c := range []struct {
		name string
		edit func(f *fakeVault, o *LiveOptions)
		want [][]string // nil: the proof holds
	}{
		{"deployed as the template says", func(*fakeVault, *LiveOptions) {}, nil},
		{"function roles given by name", func(_ *fakeVault, o *LiveOptions) {
			o.FunctionRoles = []string{"logvault-cloudtrail"}
		}, nil},
		{"function roles given by ARN in each source account", func(_ *fakeVault, o *LiveOptions) {
			o.FunctionRoles = []string{"arn:aws:iam::222222222222:role/logvault-cloudtrail", "arn:aws:iam::333333333333:role/logvault-cloudtrail"}
		}, nil},
		{"the trust names a role the operator did not give", func(_ *fakeVault, o *LiveOptions) {
			o.FunctionRoles = []string{"logvault-billing"}
		}, [][]string{{"logvault-cloudtrail", "sts:AssumeRole", "with the ExternalId"}}},
		{"the trust lets any account of the Organization in by any role", func(f *fakeVault, _ *LiveOptions) {
			f.trust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":["sts:AssumeRole","sts:TagSession"],"Condition":{"StringEquals":{"sts:ExternalId":"the-external-id","aws:PrincipalOrgID":"o-livetestorg1","aws:RequestTag/logvault-source-account":"${aws:PrincipalAccount}"}}}]}`
		}, [][]string{{"any Account B role", "sts:AssumeRole", "with the ExternalId"}}},
		{"a list deployment: two accounts named", func(f *fakeVault, _ *LiveOptions) {
			f.trust = strings.Replace(f.trust, `"Principal":{"AWS":"*"}`, `"Principal":{"AWS":["123456789012","arn:aws:iam::210987654321:root"]}`, 1)
			if !strings.Contains(f.trust, "123456789012") {
				t.Fatalf("the fake's trust has no Principal \"*\" to replace: %s", f.trust)
			}
		}, nil},
		{"a list deployment trusting role names by a wildcard", func(f *fakeVault, _ *LiveOptions) {
			f.trust = strings.Replace(f.trust, `"Principal":{"AWS":"*"}`, `"Principal":{"AWS":["123456789012"]}`, 1)
			f.trust = strings.Replace(f.trust, `arn:aws:iam::*:role/logvault-cloudtrail`, `arn:aws:iam::*:role/logvault-*`, 1)
		}, [][]string{{"123456789012:assumed-role/logvault-x/s", "sts:AssumeRole", "with the ExternalId"}}},
		// From the second red team: what the vault is meant to trust is
		// given, not read from the trust being proven.
		{"the Organization given and matching", func(_ *fakeVault, o *LiveOptions) { o.Organization = "o-livetestorg1" }, nil},
		{"the trust admits another Organization than the one given", func(f *fakeVault, o *LiveOptions) {
			o.Organization = "o-livetestorg1"
			f.trust = strings.Replace(f.trust, `"o-livetestorg1"`, `["o-livetestorg1","o-attackerorg99"]`, 1)
		}, [][]string{{"Organization o-attackerorg99", "sts:AssumeRole", "not meant to trust"}}},
		{"a list deployment naming an account not given", func(f *fakeVault, o *LiveOptions) {
			o.SourceAccounts = []string{"123456789012"}
			f.trust = strings.Replace(f.trust, `"Principal":{"AWS":"*"}`, `"Principal":{"AWS":["123456789012","999999999999"]}`, 1)
		}, [][]string{{"account 999999999999", "sts:AssumeRole", "not meant to trust"}}},
		{"the bucket policy grants a writer session by its name", func(f *fakeVault, _ *LiveOptions) {
			f.policy = strings.Replace(f.policy, `"Statement":[`, `"Statement":[{"Sid":"Backdoor","Effect":"Allow","Principal":{"AWS":"arn:aws:sts::111111111111:assumed-role/logvault-vault-writer/backdoor"},"Action":["s3:GetObject","s3:PutObject"],"Resource":"arn:aws:s3:::vault/*"},`, 1)
		}, [][]string{{"assumed-role/logvault-vault-writer/backdoor", "s3:GetObject", "part of the vault"}}},
		{"the writer trusts itself", func(f *fakeVault, _ *LiveOptions) {
			f.trust = strings.Replace(f.trust, `"Statement":[`, `"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:role/logvault-vault-writer"},"Action":["sts:AssumeRole","sts:TagSession"]},`, 1)
		}, [][]string{{"logvault-vault-writer", "sts:AssumeRole", "assume the writer again"}}},
		{"the trust lets anyone in by a function role's name", func(f *fakeVault, _ *LiveOptions) {
			f.trust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":["sts:AssumeRole","sts:TagSession"],"Condition":{"StringEquals":{"sts:ExternalId":"the-external-id","aws:RequestTag/logvault-source-account":"${aws:PrincipalAccount}"},"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/logvault-cloudtrail"}}}]}`
		}, [][]string{{"444444444444", "sts:AssumeRole", "with the ExternalId"}}},
		{"no bucket policy", func(f *fakeVault, _ *LiveOptions) { f.errs["GetBucketPolicy"] = notFound("NoSuchBucketPolicy") },
			[][]string{{"Account A admin", "s3:DeleteBucketPolicy", "no Deny stops it"}}},
		{"policy unreadable", func(f *fakeVault, _ *LiveOptions) { f.errs["GetBucketPolicy"] = errDenied },
			[][]string{{"reading the bucket policy", "AccessDenied", "not proven"}}},
		{"lifecycle unreadable", func(f *fakeVault, _ *LiveOptions) { f.errs["GetBucketLifecycleConfiguration"] = errDenied },
			[][]string{{"reading the lifecycle configuration", "not proven"}}},
		{"writer role unreadable", func(f *fakeVault, _ *LiveOptions) { f.errs["GetRole logvault-vault-writer"] = errDenied },
			[][]string{{"reading the writer role", "not proven"}}},
		{"a transition to DEEP_ARCHIVE", func(f *fakeVault, _ *LiveOptions) {
			f.lifecycle = append(f.lifecycle, types.LifecycleRule{ID: aws.String("cheap"), Status: types.ExpirationStatusEnabled,
				Transitions: []types.Transition{{Days: aws.Int32(1), StorageClass: types.TransitionStorageClassDeepArchive}}})
		}, [][]string{{"lifecycle rule cheap", "transitions current versions"}}},
		{"noncurrent versions expire", func(f *fakeVault, _ *LiveOptions) {
			f.lifecycle[0].NoncurrentVersionExpiration = &types.NoncurrentVersionExpiration{NoncurrentDays: aws.Int32(1)}
		}, [][]string{{"lifecycle rule abort", "deletes noncurrent versions"}}},
		{"replication to another account", func(f *fakeVault, _ *LiveOptions) {
			f.replication = &types.ReplicationConfiguration{Rules: []types.ReplicationRule{{Destination: &types.Destination{Bucket: aws.String("arn:aws:s3:::elsewhere"), Account: aws.String("999999999999")}}}}
		}, [][]string{{"replication", "arn:aws:s3:::elsewhere", "999999999999"}}},
		{"replication to a bucket of Account A", func(f *fakeVault, _ *LiveOptions) {
			f.replication = &types.ReplicationConfiguration{Rules: []types.ReplicationRule{{Destination: &types.Destination{Bucket: aws.String("arn:aws:s3:::vault-replica"), Account: aws.String("111111111111")}}}}
		}, nil},
		{"replication labelled Account A to another account's bucket", func(f *fakeVault, _ *LiveOptions) {
			f.replication = &types.ReplicationConfiguration{Rules: []types.ReplicationRule{{Destination: &types.Destination{Bucket: aws.String("arn:aws:s3:::their-bucket"), Account: aws.String("111111111111")}}}}
		}, [][]string{{"replication", "their-bucket", "cannot place"}}},
		{"versioning suspended", func(f *fakeVault, _ *LiveOptions) { f.versioning = types.BucketVersioningStatusSuspended },
			[][]string{{"versioning", "Suspended"}}},
		{"no Object Lock", func(f *fakeVault, _ *LiveOptions) { f.lock = nil }, [][]string{{"Object Lock", "is off"}}},
		{"GOVERNANCE without a default", func(f *fakeVault, _ *LiveOptions) { f.lock.Rule = nil }, [][]string{{"Object Lock", "no default retention"}}},
		{"SSE-C allowed", func(f *fakeVault, _ *LiveOptions) { f.encryption.Rules[0].BlockedEncryptionTypes = nil }, [][]string{{"SSE-C"}}},
		{"no public access block", func(f *fakeVault, _ *LiveOptions) { f.pab = nil }, [][]string{{"public access block", "BlockPublicPolicy"}}},
		{"ACLs on", func(f *fakeVault, _ *LiveOptions) { f.ownership = types.ObjectOwnershipObjectWriter }, [][]string{{"object ownership", "ObjectWriter"}}},
		{"the writer may tag versions", func(f *fakeVault, _ *LiveOptions) {
			f.writer["extra"] = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:PutObjectVersionTagging","Resource":"*"}]}`
		}, [][]string{{"logvault-vault-writer", "s3:PutObjectVersionTagging", "extra"}}},
		{"break-glass trusts Account A's root", func(f *fakeVault, _ *LiveOptions) {
			f.breakGlass = breakGlassTrust("arn:aws:iam::111111111111:root")
		}, [][]string{{"Account A admin role", "sts:AssumeRole", "logvault-break-glass", "specific principals"}}},
		{"break-glass trusts Account B", func(f *fakeVault, _ *LiveOptions) {
			f.breakGlass = breakGlassTrust("arn:aws:iam::222222222222:root")
		}, [][]string{{"any Account B role", "sts:AssumeRole", "logvault-break-glass"}}},
		{"the trust opened to any role of Account B", func(f *fakeVault, _ *LiveOptions) {
			f.trust = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::222222222222:root"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"the-external-id"}}}]}`
		}, [][]string{{"any Account B role", "sts:AssumeRole", "with the ExternalId"}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			f, o := newFakeVault(t), liveOptions()
			c.edit(f, &o)
			r, err := RunLive(context.Background(), f, f, o)
			if err != nil {
				t.Fatal(err)
			}
			if c.want == nil {
				if !r.OK() || len(r.Warnings) > 0 {
					t.Fatalf("the deployed vault fails:\n%s\nwarnings %q", findingLines(r), r.Warnings)
				}
				return
			}
			if r.OK() {
				t.Fatal("the live audit passes")
			}
			for _, w := range c.want {
				if !hasFinding(r, w...) {
					t.Errorf("no finding with %q:\n%s", w, findingLines(r))
				}
			}
		})
	}
}

func TestLiveBadOptions(t *testing.T) {
	for _, c := range []struct {
		edit func(o *LiveOptions)
		want string
	}{
		{func(o *LiveOptions) { o.Account = "1111" }, "12-digit"},
		{func(o *LiveOptions) { o.Bucket = "" }, "VAULT_BUCKET"},
		{func(o *LiveOptions) { o.WriterARN = "logvault-vault-writer" }, "writer role"},
		{func(o *LiveOptions) { o.BreakGlass = "*" }, "break-glass"},
	} {
		o := liveOptions()
		c.edit(&o)
		f := newFakeVault(t)
		if _, err := RunLive(context.Background(), f, f, o); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want an error naming %q", o, err, c.want)
		}
	}
}
