package audit

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/awslabs/goformation/v7/cloudformation"
	"github.com/awslabs/goformation/v7/cloudformation/s3"

	"github.com/logvault/logvault/internal/cfn"
	"github.com/logvault/logvault/internal/policy"
)

// The symbolic deployment the template is resolved for. The values are
// concrete so the evaluator can match them, but they stand for any
// deployment: Account A holds the vault, Account B runs the functions.
const (
	AccountA   = "111111111111" // the vault account
	AccountB   = "222222222222" // the functions' account (TrustedAccountId)
	AccountC   = "333333333333" // any other account
	ExternalID = "audit-placeholder-external-id"
	BucketName = "vault-bucket" // the vault bucket, when the template does not name it

	// BreakGlassRoleName names the only principal the template may exempt from its Denies.
	BreakGlassRoleName = "logvault-break-glass"
	// BreakGlassRoleARN is that role's ARN.
	BreakGlassRoleARN = "arn:aws:iam::" + AccountA + ":role/" + BreakGlassRoleName
	// FunctionRoleARNs matches Account B's logvault function roles (the
	// FunctionRoleArns the template is given, see functionRoles).
	FunctionRoleARNs = "arn:aws:iam::" + AccountB + ":role/logvault-*"

	defaultWriterName = "logvault-vault-writer"
	generatedRoleName = "logvault-vault-WriterRole-GENERATED" // what CloudFormation would invent without RoleName
	wrongExternalID   = "not-the-external-id"
)

// doc is a parsed policy with the name it is reported under.
type doc struct {
	name string
	d    *policy.Document
}

// vault is the resolved template: what the proof evaluates.
type vault struct {
	bucketName, bucketARN string
	writerName, writerARN string
	bucketPolicy          doc
	trust                 doc
	writerPolicies        []doc    // identity policies of the writer role
	findings              []string // template settings that break the vault by themselves
	notes                 []string // what the proof assumed
}

func (v *vault) objectARN() string { return v.bucketARN + "/any/key" }

func (v *vault) writerSession() string {
	return "arn:aws:sts::" + AccountA + ":assumed-role/" + v.writerName + "/s"
}

// functionRoles are the exact FunctionRoleArns the template is given:
// template.yaml's roles, which FunctionRoleARNs stands for.
var functionRoles = []string{
	"arn:aws:iam::" + AccountB + ":role/logvault-cloudtrail",
	"arn:aws:iam::" + AccountB + ":role/logvault-billing",
	"arn:aws:iam::" + AccountB + ":role/logvault-applogs",
}

func values(bucketName, writerARN, writerName string) cfn.Values {
	v := cfn.VaultDeployment{
		VaultAccount: AccountA, TrustedAccount: AccountB, FunctionRoleARNs: functionRoles, ExternalID: ExternalID,
		BreakGlassRoleName: BreakGlassRoleName, BucketName: bucketName, WriterRoleName: writerName, WriterRoleARN: writerARN,
	}.Values()
	// Templates of before BreakGlassRoleName named the role by ARN.
	v.Parameters["BreakGlassRoleArn"] = BreakGlassRoleARN
	return v
}

func roleARN(path, name string) string {
	if path == "" {
		path = "/"
	}
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	if !strings.HasSuffix(path, "/") {
		path += "/"
	}
	return "arn:aws:iam::" + AccountA + ":role" + path + name
}

// load resolves the template. The bucket's and the writer's names come
// from the template itself (a second pass when they differ from the
// defaults), so GetAtt agrees with what CloudFormation would create.
func load(template []byte) (*vault, error) {
	bucketName, writerName, writerPath := BucketName, defaultWriterName, "/"
	var tmpl *cloudformation.Template
	for pass := 0; pass < 2; pass++ {
		var err error
		tmpl, err = cfn.Load(template, values(bucketName, roleARN(writerPath, writerName), writerName))
		if err != nil {
			return nil, fmt.Errorf("audit: %w", err)
		}
		b, err := tmpl.GetS3BucketWithName("VaultBucket")
		if err != nil {
			return nil, fmt.Errorf("audit: the template has no VaultBucket (AWS::S3::Bucket): %w", err)
		}
		r, err := tmpl.GetIAMRoleWithName("WriterRole")
		if err != nil {
			return nil, fmt.Errorf("audit: the template has no WriterRole (AWS::IAM::Role): %w", err)
		}
		nb, nw, np := BucketName, generatedRoleName, "/"
		if b.BucketName != nil && *b.BucketName != "" {
			nb = *b.BucketName
		}
		if r.RoleName != nil && *r.RoleName != "" {
			nw = *r.RoleName
		}
		if r.Path != nil && *r.Path != "" {
			np = *r.Path
		}
		if nb == bucketName && nw == writerName && np == writerPath {
			break
		}
		if pass == 1 {
			return nil, fmt.Errorf("audit: the names of VaultBucket and WriterRole do not settle (%s, %s)", nb, nw)
		}
		bucketName, writerName, writerPath = nb, nw, np
	}

	v := &vault{
		bucketName: bucketName,
		bucketARN:  "arn:aws:s3:::" + bucketName,
		writerName: writerName,
		writerARN:  roleARN(writerPath, writerName),
	}
	bucket, _ := tmpl.GetS3BucketWithName("VaultBucket")
	v.checkBucket(bucket)
	if err := v.loadBucketPolicy(tmpl); err != nil {
		return nil, err
	}
	if err := v.loadWriter(tmpl); err != nil {
		return nil, err
	}
	return v, nil
}

// checkBucket records the bucket settings that would lose history without
// any request: versioning off, lifecycle expiry.
func (v *vault) checkBucket(b *s3.Bucket) {
	switch {
	case b.VersioningConfiguration == nil:
		v.findings = append(v.findings, "NOT VERSIONED: VaultBucket has no VersioningConfiguration (an overwrite would destroy the previous object)")
	case b.VersioningConfiguration.Status != "Enabled":
		v.findings = append(v.findings, fmt.Sprintf("NOT VERSIONED: VaultBucket VersioningConfiguration Status is %q, not Enabled (an overwrite would destroy the previous object)", b.VersioningConfiguration.Status))
	}
	if b.LifecycleConfiguration != nil {
		for i, r := range b.LifecycleConfiguration.Rules {
			if r.Status != "Enabled" {
				continue
			}
			id := fmt.Sprintf("#%d", i)
			if r.Id != nil && *r.Id != "" {
				id = *r.Id
			}
			var what []string
			if r.ExpirationInDays != nil || r.ExpirationDate != nil {
				what = append(what, "expires current versions")
			}
			if r.NoncurrentVersionExpiration != nil || r.NoncurrentVersionExpirationInDays != nil {
				what = append(what, "deletes noncurrent versions")
			}
			if len(what) > 0 {
				v.findings = append(v.findings, fmt.Sprintf("LIFECYCLE: VaultBucket lifecycle rule %s %s", id, strings.Join(what, " and ")))
			}
		}
	}
	enforced := false
	if b.OwnershipControls != nil {
		for _, r := range b.OwnershipControls.Rules {
			enforced = enforced || (r.ObjectOwnership != nil && *r.ObjectOwnership == "BucketOwnerEnforced")
		}
	}
	if !enforced {
		v.notes = append(v.notes, "VaultBucket: ObjectOwnership is not BucketOwnerEnforced, so ACLs are enabled; grants made by ACLs are not modelled (the Deny statements still override them)")
	}
}

func (v *vault) loadBucketPolicy(tmpl *cloudformation.Template) error {
	bp, err := tmpl.GetS3BucketPolicyWithName("VaultBucketPolicy")
	if err != nil {
		return fmt.Errorf("audit: the template has no VaultBucketPolicy (AWS::S3::BucketPolicy), so nothing can be proven: %w", err)
	}
	if bp.Bucket != v.bucketName {
		return fmt.Errorf("audit: VaultBucketPolicy applies to bucket %q, not to VaultBucket (%q)", bp.Bucket, v.bucketName)
	}
	all := tmpl.GetAllS3BucketPolicyResources()
	for _, name := range sortedKeys(all) {
		if name != "VaultBucketPolicy" && all[name].Bucket == v.bucketName {
			return fmt.Errorf("audit: both VaultBucketPolicy and %s are bucket policies of VaultBucket; which one S3 keeps is undefined", name)
		}
	}
	d, err := parsePolicy("VaultBucketPolicy", bp.PolicyDocument)
	if err != nil {
		return err
	}
	v.bucketPolicy = doc{"VaultBucketPolicy", d}
	return nil
}

func (v *vault) loadWriter(tmpl *cloudformation.Template) error {
	r, err := tmpl.GetIAMRoleWithName("WriterRole")
	if err != nil {
		return fmt.Errorf("audit: the template has no WriterRole (AWS::IAM::Role): %w", err)
	}
	if r.AssumeRolePolicyDocument == nil {
		return fmt.Errorf("audit: WriterRole has no AssumeRolePolicyDocument")
	}
	trust, err := parsePolicy("WriterRole trust policy", r.AssumeRolePolicyDocument)
	if err != nil {
		return err
	}
	v.trust = doc{"WriterRole trust policy", trust}
	for _, p := range r.Policies {
		name := "WriterRole policy " + p.PolicyName
		d, err := parsePolicy(name, p.PolicyDocument)
		if err != nil {
			return err
		}
		v.writerPolicies = append(v.writerPolicies, doc{name, d})
	}
	// Policies the template attaches to the writer as separate resources.
	attached := func(roles []string) bool { return slices.Contains(roles, v.writerName) }
	extra := map[string]any{}
	for name, p := range tmpl.GetAllIAMPolicyResources() {
		if attached(p.Roles) {
			extra[name] = p.PolicyDocument
		}
	}
	for name, p := range tmpl.GetAllIAMManagedPolicyResources() {
		if attached(p.Roles) {
			extra[name] = p.PolicyDocument
		}
	}
	for name, p := range tmpl.GetAllIAMRolePolicyResources() {
		if p.RoleName == v.writerName {
			extra[name] = p.PolicyDocument
		}
	}
	for _, name := range sortedKeys(extra) {
		d, err := parsePolicy(name, extra[name])
		if err != nil {
			return err
		}
		v.writerPolicies = append(v.writerPolicies, doc{name, d})
	}
	// A managed policy defined outside the template has unknown content:
	// count it as allowing everything.
	for _, arn := range r.ManagedPolicyArns {
		name := "WriterRole managed policy " + arn
		d := &policy.Document{Version: "2012-10-17", Statements: []policy.Statement{{
			Sid: "ManagedPolicy(" + arn + ")", Effect: "Allow", Action: []string{"*"}, Resource: []string{"*"},
		}}}
		v.writerPolicies = append(v.writerPolicies, doc{name, d})
		v.notes = append(v.notes, name+": defined outside the template, assumed to allow every action")
	}
	return nil
}

func parsePolicy(name string, raw any) (*policy.Document, error) {
	js, err := cfn.PolicyJSON(raw)
	if err != nil {
		return nil, fmt.Errorf("audit: %s: %w", name, err)
	}
	d, err := policy.Parse(js)
	if err != nil {
		return nil, fmt.Errorf("audit: %s: %w", name, err)
	}
	return d, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
