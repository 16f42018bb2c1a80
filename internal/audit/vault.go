package audit

import (
	"strings"

	"github.com/logvault/logvault/internal/policy"
)

// The symbolic deployment a template is resolved for. The values are
// concrete so the evaluator can match them, but they stand for any
// deployment: Account A holds the vault, Accounts B and C are source
// accounts running the functions, all three in one Organization;
// Outsider is an account of no Organization.
const (
	AccountA     = "111111111111"
	AccountB     = "222222222222"
	AccountC     = "333333333333"
	Outsider     = "444444444444"
	Organization = "o-logvaultaudit1"
	// outsiderInOrg is an account of another Organization (an attacker's
	// own), otherOrganization; Outsider is in none, so AWS gives its
	// principals no aws:PrincipalOrgID at all.
	outsiderInOrg     = "555555555555"
	otherOrganization = "o-attackerowned1"
	ExternalID        = "audit-placeholder-external-id"
	BucketName        = "vault-bucket" // the vault bucket, when the template does not name it

	// BreakGlassRoleName names the only principal the vault may exempt.
	BreakGlassRoleName = "logvault-break-glass"
	// BreakGlassRoleARN is that role's ARN.
	BreakGlassRoleARN = "arn:aws:iam::" + AccountA + ":role/" + BreakGlassRoleName

	wrongExternalID = "not-the-external-id"
)

// functionRoleNames are the names of the function roles template.yaml
// creates, the same in every source account.
var functionRoleNames = []string{"logvault-cloudtrail", "logvault-billing", "logvault-applogs", "logvault-reconcile"}

// sourceAccounts are the accounts whose function roles may ship.
var sourceAccounts = []string{AccountB, AccountC}

// functionRoleARNs are the roles of those names in every one of accounts
// (none: the symbolic source accounts, B and C).
func functionRoleARNs(names, accounts []string) []string {
	if len(accounts) == 0 {
		accounts = sourceAccounts
	}
	var out []string
	for _, a := range accounts {
		for _, n := range names {
			if n = strings.TrimSpace(n); n != "" {
				out = append(out, "arn:aws:iam::"+a+":role/"+n)
			}
		}
	}
	return out
}

// functionRoles are the function roles (template.yaml's) the vault trusts.
var functionRoles = functionRoleARNs(functionRoleNames, nil)

// Doc is a policy document with the name it is reported under.
type Doc struct {
	Name string
	D    *policy.Document
}

// Role is an IAM role the proof examines: its trust and its permissions.
type Role struct {
	Name, ARN string
	Trust     *Doc // nil: unknown (live, unreadable)
	Policies  []Doc
	// Managed are the ARNs of the customer managed policies attached to it:
	// whoever may write a new version of one changes the role.
	Managed []string
}

// Properties are the vault bucket's settings that keep or lose history.
type Properties struct {
	Versioning string // "Enabled", "Suspended" or ""
	// ObjectLock is whether Object Lock is on; LockMode and LockDays (or
	// LockYears) its default retention ("" and 0 when none).
	ObjectLock          bool
	LockMode            string
	LockDays, LockYears int
	// Lifecycle lists each enabled rule by id with what it does
	// ("AbortIncompleteMultipartUpload", "Expiration", "Transition", ...).
	Lifecycle map[string][]string
	// Replication, Inventory and Analytics list the destinations the vault's
	// data or listings are sent to, with their account when known.
	Replication, Inventory, Analytics []Destination
	Logging                           string // the access-log target bucket, "" for none
	DefaultEncryption                 string // "AES256", "aws:kms", ...
	SSECBlocked                       bool
	PublicAccessBlock                 [4]bool // BlockPublicAcls, BlockPublicPolicy, IgnorePublicAcls, RestrictPublicBuckets
	Ownership                         string  // "BucketOwnerEnforced", ...
}

// Destination is where a configuration sends data: a bucket ARN and the
// account that owns it ("" when the configuration does not say).
type Destination struct {
	Bucket, Account string
}

// Vault is everything the proof reads about one deployment of the vault,
// from a template or from what is deployed.
type Vault struct {
	Source     string // what was read: a template path, or "s3://<bucket> (live)"
	AccountA   string
	BucketName string
	// WriterName and WriterARN name the writer role (one of Roles).
	WriterName, WriterARN string
	// BreakGlassARN is the one principal exempt from the allow-list.
	BreakGlassARN string
	// TrustedAccount is Account B, the source account the proof speaks
	// of first; FunctionRoles the roles of every source account that may
	// assume the writer (exact ARNs).
	TrustedAccount string
	FunctionRoles  []string
	// Organization is the Organization of Accounts A, B and C
	// (aws:PrincipalOrgID of their principals); Outsider is in none, and
	// 555555555555 in another.
	Organization string
	// ExternalID is the ExternalId the functions send with AssumeRole.
	ExternalID string
	// BucketPolicy is the vault's bucket policy; nil for none.
	BucketPolicy *Doc
	Bucket       Properties
	// Roles are every role the proof examines: the template's, or the
	// writer and break-glass roles live. Users and groups of a template
	// are here too, as principals with policies and no trust.
	Roles []*Role
	// SCP and RCP are the Organization's guardrails on Account A, when
	// given; nil otherwise.
	SCP, RCP *Doc
	// Placed are the bucket ARNs known to be Account A's: the template's
	// buckets, or (live) those S3 confirms with ExpectedBucketOwner.
	Placed map[string]bool
	// CopyPolicies are the bucket policies of the placed buckets the vault
	// sends data to, by bucket ARN: who else may read the copies.
	CopyPolicies map[string]*Doc
	// AccessGrants are the template's S3 Access Grants: grantee type and
	// identifier, by resource id.
	AccessGrants map[string][2]string
	// Outputs are the template's outputs, resolved (nil live): the stacks
	// and people that use the vault take its bucket and writer from them.
	Outputs map[string]string
	// Unread lists what could not be read (live): each is a finding.
	Unread []string
	// Untrusted lists what the writer's trust admits beyond what the vault
	// is meant to trust (live, given the Organization or the accounts):
	// each is a finding.
	Untrusted []string
	// Notes are what was assumed in reading it.
	Notes []string
}

// BucketARN is the vault bucket's ARN.
func (v *Vault) BucketARN() string { return "arn:aws:s3:::" + v.BucketName }

// orgOf is the Organization of an account the proof models ("" none).
func (v *Vault) orgOf(account string) string {
	switch account {
	case v.AccountA, v.TrustedAccount, AccountC:
		return v.Organization
	case outsiderInOrg:
		return otherOrganization
	}
	// The source accounts a deployment names (asked for every request:
	// no parsing here).
	for _, f := range v.FunctionRoles {
		if strings.Contains(f, ":"+account+":") {
			return v.Organization
		}
	}
	return ""
}

// other is an account that is neither Account A nor Account B.
func (v *Vault) other() string {
	for _, c := range []string{AccountC, "444444444444", "555555555555"} {
		if c != v.AccountA && c != v.TrustedAccount {
			return c
		}
	}
	return AccountC
}

// role returns the role of that ARN, or nil.
func (v *Vault) role(arn string) *Role {
	for _, r := range v.Roles {
		if r.ARN == arn {
			return r
		}
	}
	return nil
}
