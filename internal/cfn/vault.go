package cfn

import "strings"

// VaultDeployment is one deployment of infra/vault.yaml: the parameters it
// is given and the names CloudFormation gives its resources. The local
// stack, the audit and the tests resolve the template through it, so all
// three read the vault the same way.
type VaultDeployment struct {
	Partition, Region string // default "aws", "us-east-1"
	VaultAccount      string // Account A: AWS::AccountId
	// OrganizationID is OrganizationId ("" for none); TrustedAccounts are
	// TrustedAccountIds (none: every account of the Organization).
	OrganizationID  string
	TrustedAccounts []string
	// FunctionRoleNames are the functions' role names (FunctionRoleNames).
	FunctionRoleNames  []string
	ExternalID         string
	BreakGlassRoleName string
	BucketName         string // VaultBucketName, and the bucket's name
	WriterRoleName     string // WriterRoleName, and the role's name
	// WriterRoleARN is the writer's ARN when its path is not "/".
	WriterRoleARN string
	// SourceBuckets are Account B's buckets the writer may read
	// (SourceBucketNames; none when empty).
	SourceBuckets []string
	// Parameters are further parameter values (ObjectLockMode, ...); they
	// override the ones above.
	Parameters map[string]string
}

// The logical ids of infra/vault.yaml the project reads.
const (
	VaultBucketID       = "VaultBucket"
	VaultBucketPolicyID = "VaultBucketPolicy"
	WriterRoleID        = "WriterRole"
)

func (d VaultDeployment) partition() string {
	if d.Partition == "" {
		return "aws"
	}
	return d.Partition
}

func (d VaultDeployment) region() string {
	if d.Region == "" {
		return "us-east-1"
	}
	return d.Region
}

// BreakGlassRoleARN is the role the vault's Deny statements exempt.
func (d VaultDeployment) BreakGlassRoleARN() string {
	return "arn:" + d.partition() + ":iam::" + d.VaultAccount + ":role/" + d.BreakGlassRoleName
}

// WriterARN is the writer role's ARN.
func (d VaultDeployment) WriterARN() string {
	if d.WriterRoleARN != "" {
		return d.WriterRoleARN
	}
	return "arn:" + d.partition() + ":iam::" + d.VaultAccount + ":role/" + d.WriterRoleName
}

// BucketARN is the vault bucket's ARN.
func (d VaultDeployment) BucketARN() string {
	return "arn:" + d.partition() + ":s3:::" + d.BucketName
}

// Values are what CloudFormation knows when it deploys the template so.
func (d VaultDeployment) Values() Values {
	params := map[string]string{
		"OrganizationId":     d.OrganizationID,
		"ExternalId":         d.ExternalID,
		"BreakGlassRoleName": d.BreakGlassRoleName,
		"VaultBucketName":    d.BucketName,
		"WriterRoleName":     d.WriterRoleName,
	}
	for k, v := range d.Parameters {
		params[k] = v
	}
	lists := map[string][]string{"FunctionRoleNames": d.FunctionRoleNames, "TrustedAccountIds": d.TrustedAccounts, "SourceBucketNames": d.SourceBuckets}
	for name, l := range lists {
		if len(l) == 0 {
			lists[name] = []string{""} // an empty CommaDelimitedList
		}
	}
	for _, name := range []string{"FunctionRoleNames", "TrustedAccountIds", "SourceBucketNames"} {
		if s, ok := d.Parameters[name]; ok {
			lists[name] = strings.Split(s, ",")
		}
	}
	return Values{
		Parameters:     params,
		ListParameters: lists,
		Pseudo: map[string]string{
			"AWS::Partition": d.partition(),
			"AWS::AccountId": d.VaultAccount,
			"AWS::Region":    d.region(),
			"AWS::URLSuffix": "amazonaws.com",
			"AWS::StackName": "logvault-vault",
			"AWS::StackId":   "arn:" + d.partition() + ":cloudformation:" + d.region() + ":" + d.VaultAccount + ":stack/logvault-vault/1",
		},
		Refs: map[string]string{
			VaultBucketID: d.BucketName,
			WriterRoleID:  d.WriterRoleName,
			"AlarmTopic":  "arn:" + d.partition() + ":sns:" + d.region() + ":" + d.VaultAccount + ":logvault-vault-AlarmTopic",
		},
		Attrs: map[string]string{
			VaultBucketID + ".Arn": d.BucketARN(),
			WriterRoleID + ".Arn":  d.WriterARN(),
		},
	}
}
