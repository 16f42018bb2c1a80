package audit

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/logvault/logvault/internal/policy"
)

// LiveS3 is what the live proof reads of the vault bucket (an *s3.Client
// with Account A's credentials).
type LiveS3 interface {
	GetBucketPolicy(context.Context, *s3.GetBucketPolicyInput, ...func(*s3.Options)) (*s3.GetBucketPolicyOutput, error)
	GetBucketVersioning(context.Context, *s3.GetBucketVersioningInput, ...func(*s3.Options)) (*s3.GetBucketVersioningOutput, error)
	GetObjectLockConfiguration(context.Context, *s3.GetObjectLockConfigurationInput, ...func(*s3.Options)) (*s3.GetObjectLockConfigurationOutput, error)
	GetBucketLifecycleConfiguration(context.Context, *s3.GetBucketLifecycleConfigurationInput, ...func(*s3.Options)) (*s3.GetBucketLifecycleConfigurationOutput, error)
	GetBucketReplication(context.Context, *s3.GetBucketReplicationInput, ...func(*s3.Options)) (*s3.GetBucketReplicationOutput, error)
	ListBucketInventoryConfigurations(context.Context, *s3.ListBucketInventoryConfigurationsInput, ...func(*s3.Options)) (*s3.ListBucketInventoryConfigurationsOutput, error)
	ListBucketAnalyticsConfigurations(context.Context, *s3.ListBucketAnalyticsConfigurationsInput, ...func(*s3.Options)) (*s3.ListBucketAnalyticsConfigurationsOutput, error)
	GetBucketLogging(context.Context, *s3.GetBucketLoggingInput, ...func(*s3.Options)) (*s3.GetBucketLoggingOutput, error)
	GetBucketEncryption(context.Context, *s3.GetBucketEncryptionInput, ...func(*s3.Options)) (*s3.GetBucketEncryptionOutput, error)
	GetPublicAccessBlock(context.Context, *s3.GetPublicAccessBlockInput, ...func(*s3.Options)) (*s3.GetPublicAccessBlockOutput, error)
	GetBucketOwnershipControls(context.Context, *s3.GetBucketOwnershipControlsInput, ...func(*s3.Options)) (*s3.GetBucketOwnershipControlsOutput, error)
	HeadBucket(context.Context, *s3.HeadBucketInput, ...func(*s3.Options)) (*s3.HeadBucketOutput, error)
}

// LiveIAM is what the live proof reads of the writer and break-glass roles
// (an *iam.Client with Account A's credentials).
type LiveIAM interface {
	GetRole(context.Context, *iam.GetRoleInput, ...func(*iam.Options)) (*iam.GetRoleOutput, error)
	ListRolePolicies(context.Context, *iam.ListRolePoliciesInput, ...func(*iam.Options)) (*iam.ListRolePoliciesOutput, error)
	GetRolePolicy(context.Context, *iam.GetRolePolicyInput, ...func(*iam.Options)) (*iam.GetRolePolicyOutput, error)
	ListAttachedRolePolicies(context.Context, *iam.ListAttachedRolePoliciesInput, ...func(*iam.Options)) (*iam.ListAttachedRolePoliciesOutput, error)
	GetPolicy(context.Context, *iam.GetPolicyInput, ...func(*iam.Options)) (*iam.GetPolicyOutput, error)
	GetPolicyVersion(context.Context, *iam.GetPolicyVersionInput, ...func(*iam.Options)) (*iam.GetPolicyVersionOutput, error)
}

// LiveOptions name the deployment `logvault audit --live` reads.
type LiveOptions struct {
	Account    string // Account A, the vault's account
	Bucket     string // the vault bucket
	WriterARN  string // the writer role
	BreakGlass string // the break-glass role's ARN
	// FunctionRoles are the roles that may assume the writer; nil takes
	// the exact role and user ARNs of the writer's trust (an assumption the
	// report states).
	FunctionRoles []string
	// ExternalID is what the functions send; "" takes it from the writer's trust.
	ExternalID string
	// Organization and SourceAccounts are what the vault is meant to trust
	// (infra/vault.yaml's OrganizationId and TrustedAccountIds); when both
	// are empty they are taken from the writer's trust (an assumption the
	// report states), else any other the trust admits is a finding.
	Organization   string
	SourceAccounts []string
	// Guardrails is infra/guardrails.yaml, when given.
	Guardrails []byte
	// Reader is who reads (the caller's ARN), for the report.
	Reader string
}

// RunLive proves what is deployed: it reads the vault bucket's policy and
// settings and the writer and break-glass roles, and runs the proof on
// them. What it could not read is a finding, never passed.
func RunLive(ctx context.Context, s3c LiveS3, iamc LiveIAM, o LiveOptions) (Report, error) {
	v, err := readLive(ctx, s3c, iamc, o)
	if err != nil {
		return Report{}, err
	}
	r := Prove(v)
	r.Live = true
	return r, nil
}

// readLive reads the deployed vault into the proof's model.
func readLive(ctx context.Context, s3c LiveS3, iamc LiveIAM, o LiveOptions) (*Vault, error) {
	switch {
	case !isAccountID(o.Account):
		return nil, fmt.Errorf("audit: Account A %q is not a 12-digit account id", o.Account)
	case o.Bucket == "":
		return nil, errors.New("audit: no vault bucket named (VAULT_BUCKET)")
	case !strings.HasPrefix(o.WriterARN, "arn:aws") || !strings.Contains(o.WriterARN, ":role/"):
		return nil, fmt.Errorf("audit: the writer role %q is not a role ARN (VAULT_ROLE_ARN or --writer-role)", o.WriterARN)
	case !strings.HasPrefix(o.BreakGlass, "arn:aws") || !strings.Contains(o.BreakGlass, ":role/"):
		return nil, fmt.Errorf("audit: the break-glass role %q is not a role ARN", o.BreakGlass)
	}
	v := &Vault{
		Source:   fmt.Sprintf("s3://%s in account %s (live, read as %s)", o.Bucket, o.Account, cmp.Or(o.Reader, "an unnamed caller")),
		AccountA: o.Account, BucketName: o.Bucket,
		WriterARN: o.WriterARN, WriterName: roleName(o.WriterARN),
		BreakGlassARN: o.BreakGlass,
	}
	l := &liveReader{ctx: ctx, s3: s3c, iam: iamc, v: v, owner: aws.String(o.Account)}
	l.bucket()
	l.place()
	writer := l.role(o.WriterARN, "the writer role")
	l.role(o.BreakGlass, "the break-glass role")

	v.ExternalID = o.ExternalID
	var roles, ids, accounts, orgs []string
	if writer != nil && writer.Trust != nil {
		roles, ids, accounts, orgs = trusted(writer.Trust.D, o.Account)
	}
	switch {
	case o.Organization == "" && len(o.SourceAccounts) == 0:
		if len(orgs) > 0 {
			v.Organization = orgs[0]
		}
		if len(orgs)+len(accounts) > 0 {
			v.Notes = append(v.Notes, fmt.Sprintf("the Organization (%s) and the accounts (%s) the vault is meant to trust are taken from the writer's trust; give --organization-id and --trusted-accounts to check them", orNone(orgs), orNone(accounts)))
		}
	default:
		v.Organization = o.Organization
		for _, org := range orgs {
			if org != o.Organization {
				v.Untrusted = append(v.Untrusted, "Organization "+org)
			}
		}
		for _, acct := range accounts {
			if len(o.SourceAccounts) > 0 && !slices.Contains(o.SourceAccounts, acct) {
				v.Untrusted = append(v.Untrusted, "account "+acct)
			}
		}
		if len(o.SourceAccounts) > 0 {
			accounts = o.SourceAccounts
		}
	}
	// A role name (the same in every source account) stands for that role
	// in each account the trust names, or, trusting an Organization, in
	// each source account the proof models.
	for _, f := range o.FunctionRoles {
		if strings.HasPrefix(f, "arn:") {
			v.FunctionRoles = append(v.FunctionRoles, f)
		} else {
			v.FunctionRoles = append(v.FunctionRoles, functionRoleARNs([]string{f}, accounts)...)
		}
	}
	if writer != nil && writer.Trust != nil {
		if v.FunctionRoles == nil {
			v.FunctionRoles = roles
			v.Notes = append(v.Notes, fmt.Sprintf("the function roles are taken from the writer's trust policy (%s); give --function-roles to check the trust against the roles template.yaml created", orNone(roles)))
		}
		if v.ExternalID == "" && len(ids) > 0 {
			v.ExternalID = ids[0]
		}
	}
	if v.ExternalID == "" {
		v.ExternalID = ExternalID
	}
	for _, f := range v.FunctionRoles {
		if a := accountOfARN(f); a != "" {
			v.TrustedAccount = a
			break
		}
	}
	if v.TrustedAccount == "" && len(accounts) > 0 {
		v.TrustedAccount = accounts[0]
	}
	if v.TrustedAccount == "" {
		v.TrustedAccount = AccountB
		v.Notes = append(v.Notes, "no function role is known, so Account B stands for any account: "+AccountB)
	}
	if o.Guardrails != nil {
		if err := v.loadGuardrails(o.Guardrails); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// liveReader reads one deployment, noting what it could not read.
type liveReader struct {
	ctx   context.Context
	s3    LiveS3
	iam   LiveIAM
	v     *Vault
	owner *string // ExpectedBucketOwner: the bucket must be Account A's
}

// errCode is an AWS error's code, "" for none.
func errCode(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return ""
}

// read runs one request: a "none configured" answer (one of none) is no
// error; any other failure is recorded as unread, and false returned.
func (l *liveReader) read(what string, err error, none ...string) (ok, absent bool) {
	if err == nil {
		return true, false
	}
	code := errCode(err)
	for _, n := range none {
		if code == n {
			return true, true
		}
	}
	l.v.Unread = append(l.v.Unread, fmt.Sprintf("%s (%v)", what, err))
	return false, false
}

// bucket reads the bucket's policy and settings.
func (l *liveReader) bucket() {
	ctx, v, b := l.ctx, l.v, aws.String(l.v.BucketName)
	v.Bucket.Lifecycle = map[string][]string{}

	pol, err := l.s3.GetBucketPolicy(ctx, &s3.GetBucketPolicyInput{Bucket: b, ExpectedBucketOwner: l.owner})
	if ok, absent := l.read("the bucket policy", err, "NoSuchBucketPolicy"); ok && !absent {
		d, err := policy.Parse([]byte(aws.ToString(pol.Policy)))
		if err != nil {
			v.Unread = append(v.Unread, fmt.Sprintf("the bucket policy (%v)", err))
		} else {
			v.BucketPolicy = &Doc{Name: "the bucket policy", D: d}
		}
	}

	ver, err := l.s3.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: b, ExpectedBucketOwner: l.owner})
	if ok, _ := l.read("versioning", err); ok {
		v.Bucket.Versioning = string(ver.Status)
	}

	lock, err := l.s3.GetObjectLockConfiguration(ctx, &s3.GetObjectLockConfigurationInput{Bucket: b, ExpectedBucketOwner: l.owner})
	if ok, absent := l.read("the Object Lock configuration", err, "ObjectLockConfigurationNotFoundError"); ok && !absent && lock.ObjectLockConfiguration != nil {
		c := lock.ObjectLockConfiguration
		v.Bucket.ObjectLock = c.ObjectLockEnabled == s3types.ObjectLockEnabledEnabled
		if c.Rule != nil && c.Rule.DefaultRetention != nil {
			d := c.Rule.DefaultRetention
			v.Bucket.LockMode = string(d.Mode)
			v.Bucket.LockDays, v.Bucket.LockYears = int(aws.ToInt32(d.Days)), int(aws.ToInt32(d.Years))
		}
	}

	lc, err := l.s3.GetBucketLifecycleConfiguration(ctx, &s3.GetBucketLifecycleConfigurationInput{Bucket: b, ExpectedBucketOwner: l.owner})
	if ok, absent := l.read("the lifecycle configuration", err, "NoSuchLifecycleConfiguration"); ok && !absent {
		for i, r := range lc.Rules {
			if r.Status != s3types.ExpirationStatusEnabled {
				continue
			}
			id := aws.ToString(r.ID)
			if id == "" {
				id = fmt.Sprintf("#%d", i)
			}
			add := func(what string) { v.Bucket.Lifecycle[id] = append(v.Bucket.Lifecycle[id], what) }
			if r.AbortIncompleteMultipartUpload != nil {
				add("AbortIncompleteMultipartUpload")
			}
			if r.Expiration != nil {
				add("expires current versions (Expiration)")
			}
			if len(r.Transitions) > 0 {
				add("transitions current versions to an archive class (Transitions)")
			}
			if r.NoncurrentVersionExpiration != nil {
				add("deletes noncurrent versions (NoncurrentVersionExpiration)")
			}
			if len(r.NoncurrentVersionTransitions) > 0 {
				add("transitions noncurrent versions to an archive class (NoncurrentVersionTransitions)")
			}
		}
	}

	rep, err := l.s3.GetBucketReplication(ctx, &s3.GetBucketReplicationInput{Bucket: b, ExpectedBucketOwner: l.owner})
	if ok, absent := l.read("the replication configuration", err, "ReplicationConfigurationNotFoundError"); ok && !absent && rep.ReplicationConfiguration != nil {
		for _, r := range rep.ReplicationConfiguration.Rules {
			if r.Destination != nil {
				v.Bucket.Replication = append(v.Bucket.Replication, Destination{Bucket: aws.ToString(r.Destination.Bucket), Account: aws.ToString(r.Destination.Account)})
			}
		}
	}

	var token *string
	for {
		inv, err := l.s3.ListBucketInventoryConfigurations(ctx, &s3.ListBucketInventoryConfigurationsInput{Bucket: b, ExpectedBucketOwner: l.owner, ContinuationToken: token})
		if ok, _ := l.read("the inventory configurations", err); !ok {
			break
		}
		for _, c := range inv.InventoryConfigurationList {
			if c.Destination != nil && c.Destination.S3BucketDestination != nil {
				d := c.Destination.S3BucketDestination
				v.Bucket.Inventory = append(v.Bucket.Inventory, Destination{Bucket: aws.ToString(d.Bucket), Account: aws.ToString(d.AccountId)})
			}
		}
		if token = inv.NextContinuationToken; !aws.ToBool(inv.IsTruncated) || token == nil {
			break
		}
	}
	token = nil
	for {
		an, err := l.s3.ListBucketAnalyticsConfigurations(ctx, &s3.ListBucketAnalyticsConfigurationsInput{Bucket: b, ExpectedBucketOwner: l.owner, ContinuationToken: token})
		if ok, _ := l.read("the analytics configurations", err); !ok {
			break
		}
		for _, c := range an.AnalyticsConfigurationList {
			if c.StorageClassAnalysis != nil && c.StorageClassAnalysis.DataExport != nil && c.StorageClassAnalysis.DataExport.Destination != nil {
				if d := c.StorageClassAnalysis.DataExport.Destination.S3BucketDestination; d != nil {
					v.Bucket.Analytics = append(v.Bucket.Analytics, Destination{Bucket: aws.ToString(d.Bucket), Account: aws.ToString(d.BucketAccountId)})
				}
			}
		}
		if token = an.NextContinuationToken; !aws.ToBool(an.IsTruncated) || token == nil {
			break
		}
	}

	lg, err := l.s3.GetBucketLogging(ctx, &s3.GetBucketLoggingInput{Bucket: b, ExpectedBucketOwner: l.owner})
	if ok, _ := l.read("the access logging configuration", err); ok && lg.LoggingEnabled != nil {
		v.Bucket.Logging = aws.ToString(lg.LoggingEnabled.TargetBucket)
	}

	enc, err := l.s3.GetBucketEncryption(ctx, &s3.GetBucketEncryptionInput{Bucket: b, ExpectedBucketOwner: l.owner})
	if ok, absent := l.read("the default encryption", err, "ServerSideEncryptionConfigurationNotFoundError"); ok && !absent && enc.ServerSideEncryptionConfiguration != nil {
		for _, r := range enc.ServerSideEncryptionConfiguration.Rules {
			if r.ApplyServerSideEncryptionByDefault != nil {
				v.Bucket.DefaultEncryption = string(r.ApplyServerSideEncryptionByDefault.SSEAlgorithm)
			}
			if r.BlockedEncryptionTypes != nil {
				for _, t := range r.BlockedEncryptionTypes.EncryptionType {
					v.Bucket.SSECBlocked = v.Bucket.SSECBlocked || t == s3types.EncryptionTypeSseC
				}
			}
		}
	}

	pab, err := l.s3.GetPublicAccessBlock(ctx, &s3.GetPublicAccessBlockInput{Bucket: b, ExpectedBucketOwner: l.owner})
	if ok, absent := l.read("the public access block", err, "NoSuchPublicAccessBlockConfiguration"); ok && !absent && pab.PublicAccessBlockConfiguration != nil {
		c := pab.PublicAccessBlockConfiguration
		v.Bucket.PublicAccessBlock = [4]bool{aws.ToBool(c.BlockPublicAcls), aws.ToBool(c.BlockPublicPolicy), aws.ToBool(c.IgnorePublicAcls), aws.ToBool(c.RestrictPublicBuckets)}
	}

	own, err := l.s3.GetBucketOwnershipControls(ctx, &s3.GetBucketOwnershipControlsInput{Bucket: b, ExpectedBucketOwner: l.owner})
	if ok, absent := l.read("the object ownership controls", err, "OwnershipControlsNotFoundError"); ok && !absent && own.OwnershipControls != nil {
		for _, r := range own.OwnershipControls.Rules {
			v.Bucket.Ownership = string(r.ObjectOwnership)
		}
	}
}

// place asks S3 whether each bucket the vault sends data to (replication,
// inventory, analytics) is Account A's: HeadBucket with ExpectedBucketOwner.
func (l *liveReader) place() {
	l.v.Placed, l.v.CopyPolicies = map[string]bool{}, map[string]*Doc{}
	b := l.v.Bucket
	for _, ds := range [][]Destination{b.Replication, b.Inventory, b.Analytics} {
		for _, d := range ds {
			name := strings.TrimPrefix(d.Bucket, "arn:aws:s3:::")
			if _, err := l.s3.HeadBucket(l.ctx, &s3.HeadBucketInput{Bucket: aws.String(name), ExpectedBucketOwner: l.owner}); err != nil {
				continue
			}
			l.v.Placed[d.Bucket] = true
			pol, err := l.s3.GetBucketPolicy(l.ctx, &s3.GetBucketPolicyInput{Bucket: aws.String(name), ExpectedBucketOwner: l.owner})
			if ok, absent := l.read("the policy of "+d.Bucket, err, "NoSuchBucketPolicy"); ok && !absent {
				if doc, err := policy.Parse([]byte(aws.ToString(pol.Policy))); err == nil {
					l.v.CopyPolicies[d.Bucket] = &Doc{Name: "the policy of " + d.Bucket, D: doc}
				} else {
					l.v.Unread = append(l.v.Unread, fmt.Sprintf("the policy of %s (%v)", d.Bucket, err))
				}
			}
		}
	}
}

// role reads a role's trust and permission policies (inline and attached)
// into v.Roles; nil when the role cannot be read.
func (l *liveReader) role(arn, what string) *Role {
	name := roleName(arn)
	out, err := l.iam.GetRole(l.ctx, &iam.GetRoleInput{RoleName: aws.String(name)})
	if err != nil {
		if errCode(err) == "NoSuchEntity" {
			l.v.Notes = append(l.v.Notes, fmt.Sprintf("%s %s does not exist", what, arn))
			return nil
		}
		l.v.Unread = append(l.v.Unread, fmt.Sprintf("%s %s (%v)", what, arn, err))
		return nil
	}
	r := &Role{Name: name, ARN: aws.ToString(out.Role.Arn)}
	if r.ARN != arn {
		l.v.Unread = append(l.v.Unread, fmt.Sprintf("%s: IAM answered for %s, not %s (another account's credentials?)", what, r.ARN, arn))
		return nil
	}
	if d, err := decodeDoc(what+"'s trust policy", aws.ToString(out.Role.AssumeRolePolicyDocument)); err != nil {
		l.v.Unread = append(l.v.Unread, err.Error())
	} else {
		r.Trust = &d
	}
	var marker *string
	for {
		ps, err := l.iam.ListRolePolicies(l.ctx, &iam.ListRolePoliciesInput{RoleName: aws.String(name), Marker: marker})
		if err != nil {
			l.v.Unread = append(l.v.Unread, fmt.Sprintf("%s's inline policies (%v)", what, err))
			break
		}
		for _, p := range ps.PolicyNames {
			got, err := l.iam.GetRolePolicy(l.ctx, &iam.GetRolePolicyInput{RoleName: aws.String(name), PolicyName: aws.String(p)})
			if err != nil {
				l.v.Unread = append(l.v.Unread, fmt.Sprintf("%s's policy %s (%v)", what, p, err))
				continue
			}
			l.add(r, fmt.Sprintf("%s's policy %s", what, p), aws.ToString(got.PolicyDocument))
		}
		if marker = ps.Marker; !ps.IsTruncated || marker == nil {
			break
		}
	}
	marker = nil
	for {
		ps, err := l.iam.ListAttachedRolePolicies(l.ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(name), Marker: marker})
		if err != nil {
			l.v.Unread = append(l.v.Unread, fmt.Sprintf("%s's attached policies (%v)", what, err))
			break
		}
		for _, p := range ps.AttachedPolicies {
			arn := aws.ToString(p.PolicyArn)
			l.attached(r, what, arn)
			if !strings.Contains(arn, ":iam::aws:policy/") {
				r.Managed = append(r.Managed, arn)
			}
		}
		if marker = ps.Marker; !ps.IsTruncated || marker == nil {
			break
		}
	}
	l.v.Roles = append(l.v.Roles, r)
	return r
}

// attached reads a managed policy's default version into r.
func (l *liveReader) attached(r *Role, what, arn string) {
	p, err := l.iam.GetPolicy(l.ctx, &iam.GetPolicyInput{PolicyArn: aws.String(arn)})
	if err != nil {
		l.v.Unread = append(l.v.Unread, fmt.Sprintf("%s's managed policy %s (%v)", what, arn, err))
		return
	}
	ver, err := l.iam.GetPolicyVersion(l.ctx, &iam.GetPolicyVersionInput{PolicyArn: aws.String(arn), VersionId: p.Policy.DefaultVersionId})
	if err != nil {
		l.v.Unread = append(l.v.Unread, fmt.Sprintf("%s's managed policy %s (%v)", what, arn, err))
		return
	}
	l.add(r, fmt.Sprintf("%s's managed policy %s", what, arn), aws.ToString(ver.PolicyVersion.Document))
}

func (l *liveReader) add(r *Role, name, encoded string) {
	d, err := decodeDoc(name, encoded)
	if err != nil {
		l.v.Unread = append(l.v.Unread, err.Error())
		return
	}
	r.Policies = append(r.Policies, d)
}

// decodeDoc parses a policy document as IAM returns it (URL-encoded JSON).
func decodeDoc(name, encoded string) (Doc, error) {
	js, err := url.PathUnescape(encoded)
	if err != nil {
		js = encoded
	}
	d, err := policy.Parse([]byte(js))
	if err != nil {
		return Doc{}, fmt.Errorf("%s (%v)", name, err)
	}
	return Doc{Name: name, D: d}, nil
}

// trusted reads the writer's trust: the exact role and user ARNs outside
// Account A its Allow statements name (as Principal or as aws:PrincipalArn
// values; a role name in any account, arn:aws:iam::*:role/<name>, in each
// account the Principal names, or the symbolic source accounts), the
// ExternalIds they require, the accounts the Principal or
// aws:PrincipalAccount names, and the Organizations aws:PrincipalOrgID
// admits.
func trusted(d *policy.Document, accountA string) (roles, externalIDs, accounts, orgs []string) {
	rs, ids, accts, orgSet := map[string]bool{}, map[string]bool{}, map[string]bool{}, map[string]bool{}
	var patterns []string // role names trusted in any account
	addRole := func(p string) {
		if !strings.ContainsAny(p, "*?") && (strings.Contains(p, ":role/") || strings.Contains(p, ":user/")) && accountOfARN(p) != accountA {
			rs[p] = true
		}
	}
	for _, s := range d.Statements {
		if s.Effect != "Allow" {
			continue
		}
		if s.Principal != nil {
			for _, p := range s.Principal.Values["AWS"] {
				addRole(p)
				if a := strings.TrimSuffix(strings.TrimPrefix(p, "arn:aws:iam::"), ":root"); isAccountID(a) && a != accountA {
					accts[a] = true
				}
			}
		}
		for op, keys := range s.Condition {
			lop := strings.ToLower(op)
			if strings.Contains(lop, "not") {
				continue
			}
			for k, vals := range keys {
				for _, x := range vals {
					switch strings.ToLower(k) {
					case "sts:externalid":
						if !strings.Contains(lop, "like") {
							ids[x] = true
						}
					case "aws:principalorgid":
						orgSet[x] = true
					case "aws:principalaccount":
						if isAccountID(x) && x != accountA {
							accts[x] = true
						}
					case "aws:principalarn":
						// A role name in any account (arn:aws:iam::*:role/<name>,
						// the organization's trust) stands for that role in
						// every source account the proof models.
						if parts := strings.SplitN(x, ":", 6); len(parts) == 6 && parts[4] == "*" && strings.HasPrefix(parts[5], "role/") && !strings.ContainsAny(parts[5], "*?") {
							patterns = append(patterns, strings.TrimPrefix(parts[5], "role/"))
							continue
						}
						addRole(x)
					}
				}
			}
		}
	}
	accounts = sortedKeys(accts)
	for _, r := range functionRoleARNs(patterns, accounts) {
		rs[r] = true
	}
	return sortedKeys(rs), sortedKeys(ids), accounts, sortedKeys(orgSet)
}

func roleName(arn string) string { return arn[strings.LastIndexByte(arn, '/')+1:] }

func accountOfARN(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 || !isAccountID(parts[4]) {
		return ""
	}
	return parts[4]
}

func orNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	sorted := append([]string{}, s...)
	sort.Strings(sorted)
	return strings.Join(sorted, ", ")
}
