package audit

import (
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/logvault/logvault/infra"
)

// Mutation tests: each builds a weakened copy of infra/vault.yaml through
// yaml.v3 nodes (which keep the CloudFormation tags !Sub, !Ref, !GetAtt,
// !If) and requires the audit to fail, naming an action and a principal.
// A proof that passes every mutant proves nothing.

// tmplNode is the parsed vault template.
type tmplNode struct {
	t    *testing.T
	root yaml.Node
}

func parseTemplate(t *testing.T) *tmplNode {
	t.Helper()
	n := &tmplNode{t: t}
	if err := yaml.Unmarshal(infra.VaultTemplate, &n.root); err != nil {
		t.Fatalf("parse infra/vault.yaml: %v", err)
	}
	return n
}

func (n *tmplNode) bytes() []byte {
	n.t.Helper()
	out, err := yaml.Marshal(&n.root)
	if err != nil {
		n.t.Fatalf("encode template: %v", err)
	}
	return out
}

// get walks mapping keys from the document's top mapping.
func (n *tmplNode) get(keys ...string) *yaml.Node {
	n.t.Helper()
	cur := n.root.Content[0]
	for _, k := range keys {
		v := mapValue(cur, k)
		if v == nil {
			n.t.Fatalf("template has no %s", strings.Join(keys, "."))
		}
		cur = v
	}
	return cur
}

func mapValue(m *yaml.Node, key string) *yaml.Node {
	if m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func setMapValue(m *yaml.Node, key string, v *yaml.Node) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			m.Content[i+1] = v
			return
		}
	}
	m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: key}, v)
}

func deleteMapKey(m *yaml.Node, key string) bool {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			m.Content = append(m.Content[:i], m.Content[i+2:]...)
			return true
		}
	}
	return false
}

func snippet(t *testing.T, src string) *yaml.Node {
	t.Helper()
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(src), &n); err != nil {
		t.Fatalf("snippet %q: %v", src, err)
	}
	return n.Content[0]
}

var (
	bucketStatements = []string{"Resources", "VaultBucketPolicy", "Properties", "PolicyDocument", "Statement"}
	trustStatements  = []string{"Resources", "WriterRole", "Properties", "AssumeRolePolicyDocument", "Statement"}
)

// writerInline is the writer role's inline logvault-write-only policy's statements.
// trustCondition is the Condition of the writer trust's statement that
// admits the functions.
func trustCondition(t *testing.T, n *tmplNode) *yaml.Node {
	return mapValue(statement(t, n.get(trustStatements...), "TrustLogvaultFunctionsWithExternalId"), "Condition")
}

func (n *tmplNode) writerInline() *yaml.Node {
	pols := n.get("Resources", "WriterRole", "Properties", "Policies")
	return mapValue(mapValue(pols.Content[0], "PolicyDocument"), "Statement")
}

func statement(t *testing.T, seq *yaml.Node, sid string) *yaml.Node {
	t.Helper()
	for _, s := range seq.Content {
		if v := mapValue(s, "Sid"); v != nil && v.Value == sid {
			return s
		}
	}
	t.Fatalf("no statement %s", sid)
	return nil
}

func removeStatement(t *testing.T, seq *yaml.Node, sid string) {
	t.Helper()
	for i, s := range seq.Content {
		if v := mapValue(s, "Sid"); v != nil && v.Value == sid {
			seq.Content = append(seq.Content[:i], seq.Content[i+1:]...)
			return
		}
	}
	t.Fatalf("no statement %s", sid)
}

// headerCondition reports a statement whose condition is on a request
// header's key (s3:x-amz-..., s3:object-lock-...), which the proof does not
// model.
func headerCondition(s *yaml.Node) bool {
	cond := mapValue(s, "Condition")
	if cond == nil {
		return false
	}
	for i := 0; i+1 < len(cond.Content); i += 2 {
		keys := cond.Content[i+1]
		for j := 0; j+1 < len(keys.Content); j += 2 {
			if strings.HasPrefix(keys.Content[j].Value, "s3:") {
				return true
			}
		}
	}
	return false
}

// mutant is a weakened copy of infra/vault.yaml: the audit must find it,
// in a line naming the principal (or setting) and the action.
type mutant struct {
	name string
	edit func(t *testing.T, n *tmplNode)
	// want are substrings one finding line must all contain.
	want []string
	// params: the finding needs the parameters' other values proven.
	params bool
}

const (
	allowList = "DenyAllButReadAndDeposit"
	deposit   = "DenyDepositButWriter"
	adminSess = "arn:aws:sts::111111111111:assumed-role/Admin/s"
	writerS   = "arn:aws:sts::111111111111:assumed-role/logvault-vault-writer/s"
)

// TestHarmlessEditsPass: edits that weaken nothing leave the proof
// holding (a proof that fails everything proves nothing either).
func TestHarmlessEditsPass(t *testing.T) {
	for _, c := range []struct {
		name string
		edit func(t *testing.T, n *tmplNode)
	}{
		{"statements reordered", func(t *testing.T, n *tmplNode) {
			seq := n.get(bucketStatements...)
			slices.Reverse(seq.Content)
		}},
		{"a Sid renamed and a tag added", func(t *testing.T, n *tmplNode) {
			setMapValue(statement(t, n.get(bucketStatements...), "DenyInsecureTransport"), "Sid", snippet(t, "TLSOnly"))
			setMapValue(n.get("Resources", "VaultBucket", "Properties"), "Tags", snippet(t, `[{Key: team, Value: "true"}]`))
		}},
		{"an extra Deny", func(t *testing.T, n *tmplNode) {
			seq := n.get(bucketStatements...)
			seq.Content = append(seq.Content, snippet(t, `{Sid: NoDelete, Effect: Deny, Principal: "*", Action: [s3:DeleteBucket, s3:DeleteBucketPolicy], Resource: !GetAtt VaultBucket.Arn}`))
		}},
		{"booleans quoted", func(t *testing.T, n *tmplNode) {
			pab := n.get("Resources", "VaultBucket", "Properties", "PublicAccessBlockConfiguration")
			for i := 1; i < len(pab.Content); i += 2 {
				pab.Content[i] = snippet(t, `"true"`)
			}
		}},
		{"the trust narrowed to an organizational unit", func(t *testing.T, n *tmplNode) {
			setMapValue(trustCondition(t, n), "ForAnyValue:StringLike", snippet(t, `{"aws:PrincipalOrgPaths": !Sub "${OrganizationId}/*"}`))
		}},
		{"the vault's own account refused by a Deny of AssumeRole", func(t *testing.T, n *tmplNode) {
			deleteMapKey(trustCondition(t, n), "StringNotEquals")
			seq := n.get(trustStatements...)
			seq.Content = append(seq.Content, snippet(t, `{Sid: NotTheVaultAccount, Effect: Deny, Principal: {AWS: "*"}, Action: sts:AssumeRole, Condition: {StringEquals: {"aws:PrincipalAccount": !Ref AWS::AccountId}}}`))
		}},
		{"the break-glass ARN joined and the trust narrowed", func(t *testing.T, n *tmplNode) {
			c := mapValue(mapValue(statement(t, n.get(bucketStatements...), allowList), "Condition"), "ArnNotEquals")
			setMapValue(c, "aws:PrincipalArn", snippet(t, `!Join ["", ["arn:", !Ref "AWS::Partition", ":iam::", !Ref "AWS::AccountId", ":role/", !Ref BreakGlassRoleName]]`))
			setMapValue(mapValue(trustCondition(t, n), "StringEquals"), "aws:PrincipalAccount", snippet(t, `!Ref TrustedAccountIds`))
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			n := parseTemplate(t)
			c.edit(t, n)
			r, err := Run("harmless", n.bytes(), nil)
			if err != nil {
				t.Fatal(err)
			}
			if !r.OK() {
				t.Errorf("a harmless edit fails the audit:\n%s", findingLines(r))
			}
		})
	}
}

// TestMutantsFail weakens the real template in every way the issue of the
// audit names, and more, one at a time.
func TestMutantsFail(t *testing.T) {
	exempt := func(pattern string) func(t *testing.T, n *tmplNode) {
		return func(t *testing.T, n *tmplNode) {
			for _, sid := range []string{allowList, deposit} {
				setMapValue(statement(t, n.get(bucketStatements...), sid), "Condition", snippet(t, `{ArnNotLike: {"aws:PrincipalArn": !Sub "`+pattern+`"}}`))
			}
		}
	}
	addStatement := func(src string) func(t *testing.T, n *tmplNode) {
		return func(t *testing.T, n *tmplNode) {
			seq := n.get(bucketStatements...)
			seq.Content = append(seq.Content, snippet(t, src))
		}
	}
	grantWriter := func(action string) func(t *testing.T, n *tmplNode) {
		return func(t *testing.T, n *tmplNode) {
			sid := "ListUnfinishedUploads" // the statement on the bucket without a prefix condition
			if strings.Contains(action, "Object") {
				sid = "DepositAndRead" // the statement on its objects
			}
			st := statement(t, n.writerInline(), sid)
			acts := mapValue(st, "Action")
			if acts.Kind == yaml.ScalarNode {
				acts = snippet(t, "["+acts.Value+"]")
				setMapValue(st, "Action", acts)
			}
			acts.Content = append(acts.Content, snippet(t, action))
		}
	}
	// writerReads adds a writer statement outside the vault (what a weakened
	// ReadSourcesForServerSideCopy would be).
	writerOutside := func(actions, account string) func(t *testing.T, n *tmplNode) {
		return func(t *testing.T, n *tmplNode) {
			seq := n.writerInline()
			seq.Content = append(seq.Content, snippet(t, `{Sid: Outside, Effect: Allow, Action: [`+actions+`], Resource: "arn:aws:s3:::*/*", Condition: {StringEquals: {"aws:ResourceAccount": `+account+`}}}`))
		}
	}
	mutants := []mutant{
		{"the writer reads Account A's other buckets", writerOutside("s3:GetObject", `!Ref AWS::AccountId`), []string{"let it read", "in account 111111111111"}, false},
		{"the writer writes into Account B's buckets", writerOutside("s3:GetObject, s3:PutObject", `"222222222222"`), []string{"deposit outside the vault"}, false},
		{"the writer deletes versions in Account B's buckets", writerOutside("s3:GetObject, s3:DeleteObjectVersion", `"222222222222"`), []string{"s3:DeleteObjectVersion", "outside the vault the writer may only read"}, false},
		{"both Denies exempt the template's role prefix", exempt("arn:${AWS::Partition}:iam::${AWS::AccountId}:role/logvault-*"),
			[]string{"assumed-role/logvault-x/s", "s3:DeleteObjectVersion", "no Deny stops it"}, false},
		{"the exemption names the writer too", func(t *testing.T, n *tmplNode) {
			c := mapValue(mapValue(statement(t, n.get(bucketStatements...), allowList), "Condition"), "ArnNotEquals")
			setMapValue(c, "aws:PrincipalArn", snippet(t, `[!GetAtt WriterRole.Arn, !Sub "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/${BreakGlassRoleName}"]`))
		}, []string{writerS, "s3:PutBucketPolicy", "missing Deny"}, false},
		{"the exemption is any role named *break-glass", exempt("arn:aws:iam::*:role/*break-glass"),
			[]string{"assumed-role/xbreak-glass/s", "s3:DeleteBucketPolicy"}, false},
		{"the exemption is any principal of the break-glass role's name", exempt("arn:${AWS::Partition}:iam::${AWS::AccountId}:*/${BreakGlassRoleName}"),
			[]string{"user/logvault-break-glass", "s3:DeleteBucketPolicy", "no Deny stops it"}, false},
		{"the writer's trust admits a user of a function role's name", func(t *testing.T, n *tmplNode) {
			c := trustCondition(t, n)
			setMapValue(c, "ArnLike", snippet(t, `{"aws:PrincipalArn": "arn:aws:iam::*:*/logvault-cloudtrail"}`))
		}, []string{":user/logvault-cloudtrail", "sts:AssumeRole", "with the ExternalId"}, false},
		// The Organization's trust (issue: one vault for an Organization).
		{"the writer's trust drops aws:PrincipalOrgID", func(t *testing.T, n *tmplNode) {
			c := mapValue(trustCondition(t, n), "StringEquals")
			deleteMapKey(c, "aws:PrincipalOrgID")
		}, []string{"arn:aws:sts::444444444444:assumed-role/logvault-cloudtrail/s", "sts:AssumeRole", "outside the Organization"}, false},
		{"the writer's trust names the function roles by a wildcard", func(t *testing.T, n *tmplNode) {
			c := trustCondition(t, n)
			setMapValue(c, "ArnLike", snippet(t, `{"aws:PrincipalArn": "arn:aws:iam::*:role/logvault-*"}`))
		}, []string{"assumed-role/logvault-x/s", "sts:AssumeRole", "with the ExternalId"}, false},
		{"the FunctionRoleNames parameter admits a wildcard name", func(t *testing.T, n *tmplNode) {
			setMapValue(n.get("Parameters", "FunctionRoleNames"), "AllowedPattern", snippet(t, `"^[\\w+=,.@*-]{1,64}$"`))
		}, []string{"sts:AssumeRole", "with the ExternalId", `FunctionRoleNames = "logvault-*"`}, true},
		{"the vault's own account may ship", func(t *testing.T, n *tmplNode) {
			deleteMapKey(trustCondition(t, n), "StringNotEquals")
		}, []string{"arn:aws:sts::111111111111:assumed-role/logvault-cloudtrail/s", "sts:AssumeRole", "the vault's own account never ships"}, true},
		{"the allow-list is kept in one region only (a condition)", func(t *testing.T, n *tmplNode) {
			setMapValue(n.get("Conditions"), "InPrimaryRegion", snippet(t, `!Equals [!Ref "AWS::Region", us-east-1]`))
			seq := n.get(bucketStatements...)
			for i, st := range seq.Content {
				if mapValue(st, "Sid").Value == allowList {
					wrapped := snippet(t, `!If [InPrimaryRegion, x, !Ref "AWS::NoValue"]`)
					wrapped.Content[1] = st
					seq.Content[i] = wrapped
				}
			}
		}, []string{adminSess, "s3:DeleteObjectVersion", "with condition InPrimaryRegion false"}, false},
		{"the bucket policy exists only when a parameter says so", func(t *testing.T, n *tmplNode) {
			setMapValue(n.get("Parameters"), "EnforcePolicy", snippet(t, `{Type: String, Default: "yes", AllowedValues: ["yes", "no"]}`))
			setMapValue(n.get("Conditions"), "Enforce", snippet(t, `!Equals [!Ref EnforcePolicy, "yes"]`))
			setMapValue(n.get("Resources", "VaultBucketPolicy"), "Condition", snippet(t, "Enforce"))
		}, []string{adminSess, "s3:DeleteBucketPolicy", "Enforce false"}, false},
		{"a parameter's pattern admits another account's role into the exemption", func(t *testing.T, n *tmplNode) {
			setMapValue(n.get("Parameters"), "OpsRoleArn", snippet(t, `{Type: String, Default: "arn:aws:iam::111111111111:role/OpsAdmin", AllowedPattern: "arn:aws:iam::[0-9]{12}:role/Ops[A-Za-z]+"}`))
			c := mapValue(mapValue(statement(t, n.get(bucketStatements...), allowList), "Condition"), "ArnNotEquals")
			setMapValue(c, "aws:PrincipalArn", snippet(t, `[!Sub "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/${BreakGlassRoleName}", !Ref OpsRoleArn]`))
		}, []string{"arn:aws:sts::333333333333:assumed-role/Opsx/s", "s3:DeleteBucketPolicy", "with parameter OpsRoleArn"}, true},
		{"a role of the vault's account that another account may assume reads the vault", func(t *testing.T, n *tmplNode) {
			setMapValue(n.get("Resources"), "AuditorRole", snippet(t, `
Type: AWS::IAM::Role
Properties:
  RoleName: logvault-vault-auditor
  AssumeRolePolicyDocument:
    Version: "2012-10-17"
    Statement:
      - {Effect: Allow, Principal: {AWS: "arn:aws:iam::333333333333:root"}, Action: sts:AssumeRole}
  Policies:
    - PolicyName: read
      PolicyDocument:
        Version: "2012-10-17"
        Statement:
          - {Effect: Allow, Action: [s3:GetObject, s3:ListBucket], Resource: [!GetAtt VaultBucket.Arn, !Sub "${VaultBucket.Arn}/*"]}
`))
		}, []string{"arn:aws:iam::333333333333:root", "sts:AssumeRole", "logvault-vault-auditor"}, false},
		{"a group with power over the roles gets a member through UserToGroupAddition", func(t *testing.T, n *tmplNode) {
			r := n.get("Resources")
			setMapValue(r, "OpsGroup", snippet(t, `
Type: AWS::IAM::Group
Properties:
  Policies:
    - PolicyName: ops
      PolicyDocument:
        Version: "2012-10-17"
        Statement:
          - {Effect: Allow, Action: iam:UpdateAssumeRolePolicy, Resource: !Sub "arn:aws:iam::${AWS::AccountId}:role/${BreakGlassRoleName}"}
`))
			setMapValue(r, "OpsUser", snippet(t, `{Type: AWS::IAM::User, Properties: {UserName: logvault-ops}}`))
			setMapValue(r, "OpsMembership", snippet(t, `{Type: AWS::IAM::UserToGroupAddition, Properties: {GroupName: !Ref OpsGroup, Users: [!Ref OpsUser]}}`))
		}, []string{"user/logvault-ops", "iam:UpdateAssumeRolePolicy", "role/logvault-break-glass"}, false},
		{"a role may write a new version of the writer's managed policy", func(t *testing.T, n *tmplNode) {
			r := n.get("Resources")
			setMapValue(n.get("Resources", "WriterRole", "Properties"), "ManagedPolicyArns", snippet(t, `[!Ref WriterExtra]`))
			setMapValue(r, "WriterExtra", snippet(t, `
Type: AWS::IAM::ManagedPolicy
Properties:
  ManagedPolicyName: logvault-writer-extra
  PolicyDocument: {Version: "2012-10-17", Statement: [{Effect: Allow, Action: s3:ListBucket, Resource: !GetAtt VaultBucket.Arn}]}
`))
			setMapValue(r, "OpsRole", snippet(t, `
Type: AWS::IAM::Role
Properties:
  RoleName: logvault-ops
  AssumeRolePolicyDocument: {Version: "2012-10-17", Statement: [{Effect: Allow, Principal: {AWS: !Sub "arn:aws:iam::${AWS::AccountId}:root"}, Action: sts:AssumeRole}]}
  Policies:
    - PolicyName: ops
      PolicyDocument: {Version: "2012-10-17", Statement: [{Effect: Allow, Action: [iam:CreatePolicyVersion, iam:SetDefaultPolicyVersion], Resource: !Ref WriterExtra}]}
`))
		}, []string{"logvault-ops", "iam:CreatePolicyVersion", "policy/logvault-writer-extra"}, false},
		{"default encryption with a KMS key", func(t *testing.T, n *tmplNode) {
			d := n.get("Resources", "VaultBucket", "Properties", "BucketEncryption", "ServerSideEncryptionConfiguration").Content[0]
			setMapValue(d, "ServerSideEncryptionByDefault", snippet(t, `{SSEAlgorithm: "aws:kms", KMSMasterKeyID: "arn:aws:kms:us-east-1:333333333333:key/1111"}`))
		}, []string{"default encryption", "aws:kms"}, false},
		{"the output names another bucket", func(t *testing.T, n *tmplNode) {
			setMapValue(n.get("Resources"), "Staging", snippet(t, `{Type: AWS::S3::Bucket, Properties: {BucketName: logvault-staging}}`))
			setMapValue(n.get("Outputs", "VaultBucketName"), "Value", snippet(t, `!Ref Staging`))
		}, []string{"output VaultBucketName", "logvault-staging"}, false},
		{"the writer may also write to another bucket", func(t *testing.T, n *tmplNode) {
			setMapValue(statement(t, n.writerInline(), "DepositAndRead"), "Resource", snippet(t, `[!Sub "${VaultBucket.Arn}/*", "arn:aws:s3:::logvault-staging/*"]`))
		}, []string{"the writer's policies", "deposit outside the vault"}, false},
		{"the allow-list read-lists an action S3 added after the vendored list", func(t *testing.T, n *tmplNode) {
			acts := mapValue(statement(t, n.get(bucketStatements...), allowList), "NotAction")
			acts.Content = append(acts.Content, snippet(t, "s3:DeleteBucketMetadataConfiguration"))
		}, []string{adminSess, "s3:DeleteBucketMetadataConfiguration", "no Deny stops it"}, false},
		{"replication to a bucket labelled Account A's that the template does not hold", func(t *testing.T, n *tmplNode) {
			setMapValue(n.get("Resources", "VaultBucket", "Properties"), "ReplicationConfiguration", snippet(t, `
Role: !GetAtt WriterRole.Arn
Rules: [{Status: Enabled, Destination: {Bucket: "arn:aws:s3:::attacker-logs", Account: !Ref "AWS::AccountId"}}]`))
		}, []string{"replication", "attacker-logs", "cannot place"}, false},
		{"the allow-list covers the audit's own probe keys only", func(t *testing.T, n *tmplNode) {
			setMapValue(statement(t, n.get(bucketStatements...), allowList), "Resource", snippet(t, `[!GetAtt VaultBucket.Arn, !Sub "${VaultBucket.Arn}/logvault-audit/*"]`))
		}, []string{adminSess, "s3:DeleteObjectVersion", "no Deny stops it"}, false},
		{"the allow-list covers keys ending in y only", func(t *testing.T, n *tmplNode) {
			setMapValue(statement(t, n.get(bucketStatements...), allowList), "Resource", snippet(t, `[!GetAtt VaultBucket.Arn, !Sub "${VaultBucket.Arn}/*y"]`))
		}, []string{adminSess, "s3:DeleteObjectVersion", "vault-bucket/k"}, false},
		{"replication to a bucket of the template that Account B may read", func(t *testing.T, n *tmplNode) {
			r := n.get("Resources")
			setMapValue(r, "Copy", snippet(t, `{Type: AWS::S3::Bucket, Properties: {BucketName: logvault-copy, VersioningConfiguration: {Status: Enabled}}}`))
			setMapValue(r, "CopyPolicy", snippet(t, `
Type: AWS::S3::BucketPolicy
Properties:
  Bucket: !Ref Copy
  PolicyDocument: {Version: "2012-10-17", Statement: [{Sid: ShareCopy, Effect: Allow, Principal: {AWS: "arn:aws:iam::222222222222:root"}, Action: s3:GetObject, Resource: !Sub "${Copy.Arn}/*"}]}
`))
			setMapValue(n.get("Resources", "VaultBucket", "Properties"), "ReplicationConfiguration", snippet(t, `
Role: !GetAtt WriterRole.Arn
Rules: [{Status: Enabled, Destination: {Bucket: !GetAtt Copy.Arn, Account: !Ref "AWS::AccountId"}}]`))
		}, []string{"arn:aws:iam::222222222222:root", "s3:GetObject", "logvault-copy", "ShareCopy"}, false},
		{"the writer may assume other roles", func(t *testing.T, n *tmplNode) {
			seq := n.writerInline()
			seq.Content = append(seq.Content, snippet(t, `{Sid: Hop, Effect: Allow, Action: sts:AssumeRole, Resource: !Sub "arn:aws:iam::${AWS::AccountId}:role/*"}`))
		}, []string{"role/logvault-vault-writer", "sts:AssumeRole", "role/logvault-break-glass", "Hop"}, false},
		{"an access grant to another account", func(t *testing.T, n *tmplNode) {
			setMapValue(n.get("Resources"), "Grant", snippet(t, `
Type: AWS::S3::AccessGrant
Properties:
  AccessGrantsLocationId: default
  Permission: READ
  Grantee: {GranteeType: IAM, GranteeIdentifier: "arn:aws:iam::333333333333:root"}`))
		}, []string{"arn:aws:iam::333333333333:root", "s3:GetDataAccess", "Grant"}, false},
		{"a role trusted by Account B may rewrite the break-glass trust", func(t *testing.T, n *tmplNode) {
			setMapValue(n.get("Resources"), "Helper", snippet(t, `
Type: AWS::IAM::Role
Properties:
  RoleName: logvault-helper
  AssumeRolePolicyDocument:
    Version: "2012-10-17"
    Statement:
      - {Effect: Allow, Principal: {AWS: "arn:aws:iam::222222222222:root"}, Action: sts:AssumeRole}
  Policies:
    - PolicyName: fix-break-glass
      PolicyDocument:
        Version: "2012-10-17"
        Statement:
          - {Sid: Fix, Effect: Allow, Action: iam:UpdateAssumeRolePolicy, Resource: !Sub "arn:aws:iam::${AWS::AccountId}:role/${BreakGlassRoleName}"}
`))
		}, []string{"logvault-helper", "iam:UpdateAssumeRolePolicy", "role/logvault-break-glass", "Fix"}, false},
		{"a lifecycle rule moves every version to DEEP_ARCHIVE after a day", func(t *testing.T, n *tmplNode) {
			rules := n.get("Resources", "VaultBucket", "Properties", "LifecycleConfiguration", "Rules")
			rules.Content = append(rules.Content, snippet(t, `{Id: cold, Status: Enabled, Transitions: [{StorageClass: DEEP_ARCHIVE, TransitionInDays: 1}], NoncurrentVersionTransitions: [{StorageClass: DEEP_ARCHIVE, TransitionInDays: 1}]}`))
		}, []string{"lifecycle rule cold", "archive class"}, false},
		{"a replication rule to a foreign bucket", func(t *testing.T, n *tmplNode) {
			setMapValue(n.get("Resources", "VaultBucket", "Properties"), "ReplicationConfiguration", snippet(t, `
Role: !GetAtt WriterRole.Arn
Rules: [{Status: Enabled, Destination: {Bucket: "arn:aws:s3:::elsewhere", Account: "333333333333"}}]`))
		}, []string{"replication", "arn:aws:s3:::elsewhere", "333333333333"}, false},
		{"an inventory sent to a foreign account", func(t *testing.T, n *tmplNode) {
			setMapValue(n.get("Resources", "VaultBucket", "Properties"), "InventoryConfigurations", snippet(t, `
[{Id: list, Enabled: true, IncludedObjectVersions: All, ScheduleFrequency: Daily, Destination: {BucketArn: "arn:aws:s3:::their-bucket", BucketAccountId: "333333333333", Format: CSV}}]`))
		}, []string{"inventory", "their-bucket"}, false},
		{"the bucket policy allows reads to a foreign account", addStatement(`
Sid: ShareWithPartner
Effect: Allow
Principal: {AWS: "arn:aws:iam::333333333333:root"}
Action: [s3:GetObject, s3:ListBucket]
Resource: [!GetAtt VaultBucket.Arn, !Sub "${VaultBucket.Arn}/*"]`), []string{"arn:aws:iam::333333333333:root", "s3:GetObject", "ShareWithPartner"}, false},
		{"the writer may tag versions", grantWriter("s3:PutObjectVersionTagging"), []string{writerS, "s3:PutObjectVersionTagging", "granted by WriterRole policy logvault-write-only"}, false},
		{"the writer may send inventories", grantWriter("s3:PutInventoryConfiguration"), []string{writerS, "s3:PutInventoryConfiguration", "granted"}, false},
		{"the writer may set requester pays", grantWriter("s3:PutBucketRequestPayment"), []string{writerS, "s3:PutBucketRequestPayment", "granted"}, false},
		{"the writer trusts any GitHub repository", func(t *testing.T, n *tmplNode) {
			seq := n.get(trustStatements...)
			seq.Content = append(seq.Content, snippet(t, `
Sid: GitHub
Effect: Allow
Principal: {Federated: !Sub "arn:aws:iam::${AWS::AccountId}:oidc-provider/token.actions.githubusercontent.com"}
Action: sts:AssumeRoleWithWebIdentity
Condition: {StringLike: {"token.actions.githubusercontent.com:sub": "repo:*"}}`))
		}, []string{"anyone holding a token of", "sts:AssumeRoleWithWebIdentity", "GitHub"}, false},
		{"the allow-list holds in one region only", func(t *testing.T, n *tmplNode) {
			setMapValue(mapValue(statement(t, n.get(bucketStatements...), allowList), "Condition"), "StringEquals", snippet(t, `{"aws:RequestedRegion": us-east-1}`))
		}, []string{adminSess, "s3:DeleteObjectVersion"}, false},
		{"the allow-list covers one prefix only", func(t *testing.T, n *tmplNode) {
			setMapValue(statement(t, n.get(bucketStatements...), allowList), "Resource", snippet(t, `[!GetAtt VaultBucket.Arn, !Sub "${VaultBucket.Arn}/cloudtrail/*"]`))
		}, []string{adminSess, "s3:DeleteObjectVersion", "logvault-audit/any-key"}, false},
		{"BreakGlassRoleName defaults to a wildcard", func(t *testing.T, n *tmplNode) {
			p := n.get("Parameters", "BreakGlassRoleName")
			setMapValue(p, "Default", snippet(t, `"*"`))
			deleteMapKey(p, "AllowedPattern")
		}, []string{"parameter BreakGlassRoleName", `"*"`}, true},
		{"FunctionRoleNames admits anything", func(t *testing.T, n *tmplNode) {
			deleteMapKey(n.get("Parameters", "FunctionRoleNames"), "AllowedPattern")
		}, []string{"sts:AssumeRole", "with parameter FunctionRoleNames"}, true},
		{"OrganizationId admits a pattern", func(t *testing.T, n *tmplNode) {
			deleteMapKey(n.get("Parameters", "OrganizationId"), "AllowedPattern")
			s := mapValue(trustCondition(t, n), "StringEquals")
			orgID := mapValue(s, "aws:PrincipalOrgID")
			deleteMapKey(s, "aws:PrincipalOrgID")
			setMapValue(trustCondition(t, n), "StringLike", snippet(t, `{}`))
			setMapValue(mapValue(trustCondition(t, n), "StringLike"), "aws:PrincipalOrgID", orgID)
		}, []string{"555555555555", "sts:AssumeRole", `OrganizationId = "*"`}, true},
		{"a service may put without aws:SourceAccount", addStatement(`
Sid: LogDelivery
Effect: Allow
Principal: {Service: logging.s3.amazonaws.com}
Action: s3:PutObject
Resource: !Sub "${VaultBucket.Arn}/*"`), []string{"logging.s3.amazonaws.com", "confused deputy", "LogDelivery"}, false},
		{"versioning suspended", func(t *testing.T, n *tmplNode) {
			setMapValue(n.get("Resources", "VaultBucket", "Properties", "VersioningConfiguration"), "Status", snippet(t, "Suspended"))
		}, []string{"versioning", "Suspended"}, false},
		{"Object Lock off", func(t *testing.T, n *tmplNode) {
			p := n.get("Resources", "VaultBucket", "Properties")
			deleteMapKey(p, "ObjectLockEnabled")
			deleteMapKey(p, "ObjectLockConfiguration")
		}, []string{"Object Lock", "is off"}, false},
		{"SSE-C not blocked", func(t *testing.T, n *tmplNode) {
			deleteMapKey(n.get("Resources", "VaultBucket", "Properties", "BucketEncryption", "ServerSideEncryptionConfiguration").Content[0], "BlockedEncryptionTypes")
		}, []string{"SSE-C"}, false},
		{"ACLs enabled", func(t *testing.T, n *tmplNode) {
			deleteMapKey(n.get("Resources", "VaultBucket", "Properties"), "OwnershipControls")
		}, []string{"object ownership"}, false},
		{"a public policy allowed", func(t *testing.T, n *tmplNode) {
			setMapValue(n.get("Resources", "VaultBucket", "Properties", "PublicAccessBlockConfiguration"), "BlockPublicPolicy", snippet(t, "false"))
		}, []string{"public access block", "BlockPublicPolicy"}, false},
		{"the trust without the ExternalId", func(t *testing.T, n *tmplNode) {
			deleteMapKey(trustCondition(t, n), "StringEquals")
		}, []string{"Account B function role", "sts:AssumeRole", "without the ExternalId"}, false},
		{"the writer's objects not confined to its account's part", func(t *testing.T, n *tmplNode) {
			setMapValue(statement(t, n.writerInline(), "DepositAndRead"), "Resource", snippet(t, `!Sub "${VaultBucket.Arn}/*"`))
		}, []string{"writer session bound to account 222222222222", "s3:PutObject", "account 333333333333's part of the vault"}, false},
		// Found by the red team of the Organization's trust: each passed.
		{"aws:PrincipalOrgID under IfExists (an account of no Organization has none)", func(t *testing.T, n *tmplNode) {
			c := trustCondition(t, n)
			org := mapValue(mapValue(c, "StringEquals"), "aws:PrincipalOrgID")
			deleteMapKey(mapValue(c, "StringEquals"), "aws:PrincipalOrgID")
			setMapValue(c, "StringEqualsIfExists", snippet(t, `{}`))
			setMapValue(mapValue(c, "StringEqualsIfExists"), "aws:PrincipalOrgID", org)
		}, []string{"arn:aws:sts::444444444444:assumed-role/logvault-cloudtrail/s", "sts:AssumeRole", "outside the Organization"}, false},
		{"the writer lists with an empty prefix", func(t *testing.T, n *tmplNode) {
			prefixes := mapValue(mapValue(mapValue(statement(t, n.writerInline(), "List"), "Condition"), "StringLike"), "s3:prefix")
			prefixes.Content = append(prefixes.Content, snippet(t, `""`))
		}, []string{"writer session bound to account 222222222222", "s3:ListBucket", `listing prefix ""`}, false},
		{"the writer lists every upload's parts", func(t *testing.T, n *tmplNode) {
			seq := n.writerInline()
			seq.Content = append(seq.Content, snippet(t, `{Sid: ListUploadParts, Effect: Allow, Action: s3:ListMultipartUploadParts, Resource: !Sub "${VaultBucket.Arn}/*"}`))
		}, []string{"writer session bound to account 222222222222", "s3:ListMultipartUploadParts", "account 333333333333's part of the vault"}, false},
		{"the function roles matched as strings (a user at path /:role/ matches)", func(t *testing.T, n *tmplNode) {
			c := trustCondition(t, n)
			arns := mapValue(c, "ArnLike")
			deleteMapKey(c, "ArnLike")
			setMapValue(c, "StringLike", arns)
		}, []string{":user/:role/logvault-", "sts:AssumeRole", "with the ExternalId"}, false},
		{"a listed deployment reads the listed accounts' source buckets", func(t *testing.T, n *tmplNode) {
			sources := n.get("Resources", "WriterRole", "Properties", "Policies").Content[0]
			seq := mapValue(mapValue(sources, "PolicyDocument"), "Statement")
			for _, st := range seq.Content {
				if st.Kind == yaml.SequenceNode && len(st.Content) > 1 { // !If [HasSourceBuckets, {...}, NoValue]
					setMapValue(mapValue(mapValue(st.Content[1], "Condition"), "StringEquals"), "aws:ResourceAccount",
						snippet(t, `!If [InOrganization, "${aws:PrincipalTag/logvault-source-account}", !Ref TrustedAccountIds]`))
				}
			}
		}, []string{"let it read", "logvault-source-bucket", "in account 333333333333", `TrustedAccountIds = "222222222222,333333333333"`}, true},
		{"one kind's part matched by a wildcard before the account", func(t *testing.T, n *tmplNode) {
			res := mapValue(statement(t, n.writerInline(), "DepositAndRead"), "Resource")
			for i, r := range res.Content {
				if strings.Contains(r.Value, "/waf/") {
					res.Content[i] = snippet(t, `!Sub "${VaultBucket.Arn}/waf/*account=${!aws:PrincipalTag/logvault-source-account}/*"`)
				}
			}
		}, []string{"writer session bound to account 222222222222", "s3:PutObject", "waf/account=333333333333/b/account=222222222222/k"}, false},
		// From the second red team.
		{"the writer trusts its own sessions", func(t *testing.T, n *tmplNode) {
			seq := n.get(trustStatements...)
			seq.Content = append(seq.Content, snippet(t, `{Sid: SessionRefresh, Effect: Allow, Principal: {AWS: !Sub "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/${WriterRoleName}"}, Action: [sts:AssumeRole, sts:TagSession]}`))
		}, []string{"assumed-role/logvault-vault-writer", "sts:AssumeRole", "assume the writer again"}, false},
		{"one literal account's part added to the writer", func(t *testing.T, n *tmplNode) {
			res := mapValue(statement(t, n.writerInline(), "DepositAndRead"), "Resource")
			res.Content = append(res.Content, snippet(t, `!Sub "${VaultBucket.Arn}/cloudtrail/account=777777777777/*"`))
		}, []string{"writer session bound to account 222222222222", "s3:PutObject", "account 777777777777's part"}, false},
		{"TrustedAccountIds admits a wildcard", func(t *testing.T, n *tmplNode) {
			setMapValue(n.get("Parameters", "TrustedAccountIds"), "AllowedPattern", snippet(t, `"^$|^[0-9]{12}$|^[*]$"`))
		}, []string{"444444444444", "sts:AssumeRole", `TrustedAccountIds = "*"`}, true},
		{"a list deployment without source buckets trusts everyone", func(t *testing.T, n *tmplNode) {
			st := statement(t, n.get(trustStatements...), "TrustLogvaultFunctionsWithExternalId")
			setMapValue(mapValue(st, "Principal"), "AWS", snippet(t, `!If [TrustsListedAccounts, !If [HasSourceBuckets, !Ref TrustedAccountIds, "*"], "*"]`))
		}, []string{"444444444444", "sts:AssumeRole", `SourceBucketNames = ""`}, true},
		{"the writer lists the whole vault", func(t *testing.T, n *tmplNode) {
			deleteMapKey(mapValue(statement(t, n.writerInline(), "List"), "Condition"), "StringLike")
		}, []string{"writer session bound to account 222222222222", "s3:ListBucket", `listing prefix "cloudtrail/account=333333333333/"`}, false},
		{"the writer lists every account's CloudTrail part", func(t *testing.T, n *tmplNode) {
			prefixes := mapValue(mapValue(mapValue(statement(t, n.writerInline(), "List"), "Condition"), "StringLike"), "s3:prefix")
			prefixes.Content[0] = snippet(t, `"cloudtrail/*"`)
		}, []string{"writer session bound to account 222222222222", "s3:ListBucketVersions", `listing prefix "cloudtrail/account=333333333333/"`}, false},
		{"outsiders may list one prefix", addStatement(`{Sid: ListShared, Effect: Allow, Principal: "*", Action: s3:ListBucket, Resource: !GetAtt VaultBucket.Arn, Condition: {StringLike: {"s3:prefix": "shared/*"}}}`),
			[]string{"s3:ListBucket", `listing prefix "shared/x"`, "ListShared"}, false},
		{"the account segment matched by a wildcard", func(t *testing.T, n *tmplNode) {
			setMapValue(statement(t, n.writerInline(), "DepositAndRead"), "Resource", snippet(t, `!Sub "${VaultBucket.Arn}/*/account=${!aws:PrincipalTag/logvault-source-account}/*"`))
		}, []string{"writer session bound to account 222222222222", "s3:GetObject", "part of the vault"}, false},
		// Found by the red team: each passed the audit before it asked the
		// bucket policy, adversarial tag values and a second tag.
		{"the bucket policy grants the writer every object", addStatement(`{Sid: WriterReadsAll, Effect: Allow, Principal: {AWS: !GetAtt WriterRole.Arn}, Action: [s3:GetObject, s3:GetObjectVersion], Resource: !Sub "${VaultBucket.Arn}/*"}`),
			[]string{"writer session bound to account 222222222222", "s3:GetObject", "part of the vault", "bucket policy"}, false},
		{"the binding admits a fourth account too", func(t *testing.T, n *tmplNode) {
			setMapValue(mapValue(trustCondition(t, n), "StringEquals"), "aws:RequestTag/logvault-source-account", snippet(t, `["${aws:PrincipalAccount}", "444444444444"]`))
		}, []string{"sts:AssumeRole", "tagged with a fourth account"}, false},
		{"the binding only requires the tag to end with the account", func(t *testing.T, n *tmplNode) {
			c := trustCondition(t, n)
			deleteMapKey(mapValue(c, "StringEquals"), "aws:RequestTag/logvault-source-account")
			setMapValue(c, "StringLike", snippet(t, `{"aws:RequestTag/logvault-source-account": "*${aws:PrincipalAccount}"}`))
		}, []string{"sts:AssumeRole", "another account's part followed by its own account"}, false},
		{"a second session tag allowed", func(t *testing.T, n *tmplNode) {
			deleteMapKey(trustCondition(t, n), "ForAllValues:StringEquals")
		}, []string{"sts:AssumeRole", "a second tag", "and no other"}, false},
		{"the writer reads the attributes of every object", func(t *testing.T, n *tmplNode) {
			seq := n.writerInline()
			seq.Content = append(seq.Content, snippet(t, `{Sid: Attributes, Effect: Allow, Action: [s3:GetObjectAttributes], Resource: !Sub "${VaultBucket.Arn}/*"}`))
		}, []string{"writer session bound to account 222222222222", "s3:GetObjectAttributes", "part of the vault"}, false},
		{"the trust without the session-tag binding", func(t *testing.T, n *tmplNode) {
			deleteMapKey(mapValue(trustCondition(t, n), "StringEquals"), "aws:RequestTag/logvault-source-account")
		}, []string{"Account B function role", "sts:AssumeRole", "tagged with another account", "bound to the account that assumes it"}, false},
		{"the binding tag may be made transitive", func(t *testing.T, n *tmplNode) {
			deleteMapKey(trustCondition(t, n), "Null")
		}, []string{"Account B function role", "sts:AssumeRole", "transitive"}, false},
		{"the binding tag compared with a pattern", func(t *testing.T, n *tmplNode) {
			c := trustCondition(t, n)
			deleteMapKey(mapValue(c, "StringEquals"), "aws:RequestTag/logvault-source-account")
			setMapValue(c, "StringLike", snippet(t, `{"aws:RequestTag/logvault-source-account": "*"}`))
		}, []string{"sts:AssumeRole", "tagged with another account"}, false},
		{"the trust open to Account B's every principal", func(t *testing.T, n *tmplNode) {
			deleteMapKey(trustCondition(t, n), "ArnLike")
		}, []string{"arn:aws:iam::222222222222:root", "sts:AssumeRole", "with the ExternalId"}, false},
		{"TLS no longer required", func(t *testing.T, n *tmplNode) {
			removeStatement(t, n.get(bucketStatements...), "DenyInsecureTransport")
		},
			[]string{writerS, "s3:PutObject", "over plain HTTP"}, false},
		{"the writer may delete", func(t *testing.T, n *tmplNode) {
			acts := mapValue(statement(t, n.writerInline(), "DepositAndRead"), "Action")
			acts.Content = append(acts.Content, snippet(t, "s3:DeleteObjectVersion"))
		}, []string{writerS, "s3:DeleteObjectVersion", "granted"}, false},
		{"the writer gets a managed policy", func(t *testing.T, n *tmplNode) {
			setMapValue(n.get("Resources", "WriterRole", "Properties"), "ManagedPolicyArns", snippet(t, `["arn:aws:iam::aws:policy/AmazonS3FullAccess"]`))
		}, []string{writerS, "ManagedPolicy(arn:aws:iam::aws:policy/AmazonS3FullAccess)"}, false},
	}
	// Remove each Deny statement the proof relies on, one at a time.
	for _, s := range parseTemplate(t).get(bucketStatements...).Content {
		sid := mapValue(s, "Sid").Value
		// DenyReencryptionToEveryone holds against break-glass too, whom the
		// proof exempts by design (cfn TestLoadVaultBucketPolicy shows it).
		if mapValue(s, "Effect").Value != "Deny" || headerCondition(s) || sid == "DenyReencryptionToEveryone" {
			continue
		}
		mutants = append(mutants, mutant{"remove " + sid, func(t *testing.T, n *tmplNode) { removeStatement(t, n.get(bucketStatements...), sid) }, []string{"no Deny stops it"}, false})
	}
	for _, m := range mutants {
		t.Run(m.name, func(t *testing.T) {
			t.Parallel()
			n := parseTemplate(t)
			m.edit(t, n)
			r, err := run("mutant", n.bytes(), nil, m.params)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if r.OK() {
				t.Fatalf("the mutant passes the audit (%s)", r.Summary())
			}
			for _, f := range r.Findings {
				line, all := f.String(), true
				for _, w := range m.want {
					all = all && strings.Contains(line, w)
				}
				if all {
					return
				}
			}
			var lines []string
			for i, f := range r.Findings {
				if i == 10 {
					break
				}
				lines = append(lines, f.String())
			}
			t.Errorf("no finding contains all of %q; first findings:\n%s", m.want, strings.Join(lines, "\n"))
		})
	}
}
