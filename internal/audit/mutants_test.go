package audit

import (
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
// header's key (s3:x-amz-..., s3:object-lock-...).
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

// scalars lists a node's scalar values (a string or a list of strings).
func scalars(n *yaml.Node) []string {
	if n.Kind == yaml.ScalarNode {
		return []string{n.Value}
	}
	var out []string
	for _, c := range n.Content {
		out = append(out, scalars(c)...)
	}
	return out
}

type mutant struct {
	name string
	edit func(t *testing.T, n *tmplNode)
	// The audit must report a failure that contains one of actions and principal.
	actions   []string
	principal string
}

func TestMutantsFail(t *testing.T) {
	star := snippet(t, `"s3:*"`)
	mutants := []mutant{
		{
			name: "writer inline deposit statement widened to s3:*",
			edit: func(t *testing.T, n *tmplNode) {
				setMapValue(statement(t, n.writerInline(), "DepositAndRead"), "Action", star)
			},
			actions: DestructiveObjectActions, principal: writerSess,
		},
		{
			name:    "writer inline list statement widened to s3:*",
			edit:    func(t *testing.T, n *tmplNode) { setMapValue(statement(t, n.writerInline(), "List"), "Action", star) },
			actions: DestructiveBucketActions, principal: writerSess,
		},
		{
			name: "bucket policy grants the writer s3:*",
			edit: func(t *testing.T, n *tmplNode) {
				seq := n.get(bucketStatements...)
				seq.Content = append(seq.Content, snippet(t, `
Sid: WriterEverything
Effect: Allow
Principal: {AWS: !GetAtt WriterRole.Arn}
Action: s3:*
Resource: [!GetAtt VaultBucket.Arn, !Sub "${VaultBucket.Arn}/*"]
`))
			},
			actions: append(append([]string{}, DestructiveObjectActions...), DestructiveBucketActions...), principal: writerSess,
		},
		{
			name: "NotAction allow-list gains s3:PutObjectVersionTagging",
			edit: func(t *testing.T, n *tmplNode) {
				na := mapValue(statement(t, n.get(bucketStatements...), "DenyAllButReadAndDeposit"), "NotAction")
				na.Content = append(na.Content, snippet(t, `s3:PutObjectVersionTagging`))
			},
			actions: []string{"s3:PutObjectVersionTagging"}, principal: adminSess,
		},
		{
			name: "deposit exemption widened to every Account A role",
			edit: func(t *testing.T, n *tmplNode) {
				setMapValue(statement(t, n.get(bucketStatements...), "DenyDepositButWriter"), "Condition",
					snippet(t, `{ArnNotLike: {"aws:PrincipalArn": !Sub "arn:aws:iam::${AWS::AccountId}:role/*"}}`))
			},
			actions: DepositActions, principal: adminSess,
		},
		{
			name: "sts:ExternalId condition dropped",
			edit: func(t *testing.T, n *tmplNode) {
				cond := mapValue(statement(t, n.get(trustStatements...), "TrustLogvaultFunctionsWithExternalId"), "Condition")
				if !deleteMapKey(cond, "StringEquals") {
					t.Fatal("trust statement has no StringEquals")
				}
			},
			actions: []string{"sts:AssumeRole"}, principal: fnSess + " (Account B function role) over TLS without the ExternalId",
		},
		{
			name: "sts:ExternalId matched with StringLike *",
			edit: func(t *testing.T, n *tmplNode) {
				cond := mapValue(statement(t, n.get(trustStatements...), "TrustLogvaultFunctionsWithExternalId"), "Condition")
				deleteMapKey(cond, "StringEquals")
				setMapValue(cond, "StringLike", snippet(t, `{"sts:ExternalId": "*"}`))
			},
			actions: []string{"sts:AssumeRole"}, principal: fnSess + " (Account B function role) over TLS with a wrong ExternalId",
		},
		{
			name: "ArnEquals function-role condition dropped",
			edit: func(t *testing.T, n *tmplNode) {
				cond := mapValue(statement(t, n.get(trustStatements...), "TrustLogvaultFunctionsWithExternalId"), "Condition")
				if !deleteMapKey(cond, "ArnEquals") {
					t.Fatal("trust statement has no ArnEquals")
				}
			},
			actions: []string{"sts:AssumeRole"}, principal: bRoot + " (Account B root) over TLS with the ExternalId",
		},
		{
			name: "trust opened to every principal without conditions",
			edit: func(t *testing.T, n *tmplNode) {
				s := statement(t, n.get(trustStatements...), "TrustLogvaultFunctionsWithExternalId")
				setMapValue(s, "Principal", snippet(t, `"*"`))
				deleteMapKey(s, "Condition")
			},
			actions: []string{"sts:AssumeRole"}, principal: "by * (anonymous)",
		},
		{
			name: "Allow for Principal * of s3:DeleteObject",
			edit: func(t *testing.T, n *tmplNode) {
				seq := n.get(bucketStatements...)
				seq.Content = append(seq.Content, snippet(t, `
Sid: EveryoneMayDelete
Effect: Allow
Principal: "*"
Action: s3:DeleteObject
Resource: !Sub "${VaultBucket.Arn}/*"
`))
			},
			actions: []string{"s3:DeleteObject"}, principal: bAnyRole,
		},
		{
			name: "Allow for one named Account B role",
			edit: func(t *testing.T, n *tmplNode) {
				seq := n.get(bucketStatements...)
				seq.Content = append(seq.Content, snippet(t, `
Sid: SpecialRole
Effect: Allow
Principal: {AWS: "arn:aws:iam::222222222222:role/special"}
Action: s3:DeleteObjectVersion
Resource: !Sub "${VaultBucket.Arn}/*"
`))
			},
			actions: []string{"s3:DeleteObjectVersion"}, principal: "arn:aws:sts::222222222222:assumed-role/special/s",
		},
		{
			name: "Allow for a service principal",
			edit: func(t *testing.T, n *tmplNode) {
				seq := n.get(bucketStatements...)
				seq.Content = append(seq.Content, snippet(t, `
Sid: LogDelivery
Effect: Allow
Principal: {Service: delivery.logs.amazonaws.com}
Action: [s3:PutObject, s3:PutBucketPolicy]
Resource: ["*"]
`))
			},
			actions: []string{"s3:PutBucketPolicy"}, principal: "delivery.logs.amazonaws.com",
		},
		{
			name: "Deny limited to Account B",
			edit: func(t *testing.T, n *tmplNode) {
				setMapValue(statement(t, n.get(bucketStatements...), "DenyAllButReadAndDeposit"), "Principal",
					snippet(t, `{AWS: !Sub "arn:aws:iam::${TrustedAccountId}:root"}`))
			},
			actions: DestructiveBucketActions, principal: adminSess,
		},
		{
			name: "Deny exemption widened to every Account A role",
			edit: func(t *testing.T, n *tmplNode) {
				setMapValue(statement(t, n.get(bucketStatements...), "DenyAllButReadAndDeposit"), "Condition",
					snippet(t, `{ArnNotLike: {"aws:PrincipalArn": !Sub "arn:aws:iam::${AWS::AccountId}:role/*"}}`))
			},
			actions: DestructiveObjectActions, principal: adminSess,
		},
		{
			name: "Deny exempts on an unmodelled key",
			edit: func(t *testing.T, n *tmplNode) {
				cond := mapValue(statement(t, n.get(bucketStatements...), "DenyAllButReadAndDeposit"), "Condition")
				setMapValue(cond, "StringNotEquals", snippet(t, `{"aws:PrincipalOrgID": "o-example"}`))
			},
			actions: DestructiveObjectActions, principal: adminSess,
		},
		{
			name: "Versioning Suspended",
			edit: func(t *testing.T, n *tmplNode) {
				setMapValue(n.get("Resources", "VaultBucket", "Properties", "VersioningConfiguration"), "Status", snippet(t, "Suspended"))
			},
			actions: []string{"NOT VERSIONED"}, principal: "Suspended",
		},
		{
			name: "Versioning removed",
			edit: func(t *testing.T, n *tmplNode) {
				deleteMapKey(n.get("Resources", "VaultBucket", "Properties"), "VersioningConfiguration")
			},
			actions: []string{"NOT VERSIONED"}, principal: "VaultBucket",
		},
		{
			name: "lifecycle rule deleting noncurrent versions",
			edit: func(t *testing.T, n *tmplNode) {
				rules := n.get("Resources", "VaultBucket", "Properties", "LifecycleConfiguration", "Rules")
				rules.Content = append(rules.Content, snippet(t, `{Id: purge, Status: Enabled, NoncurrentVersionExpiration: {NoncurrentDays: 1}}`))
			},
			actions: []string{"LIFECYCLE"}, principal: "purge",
		},
		{
			name: "writer gets a managed policy",
			edit: func(t *testing.T, n *tmplNode) {
				setMapValue(n.get("Resources", "WriterRole", "Properties"), "ManagedPolicyArns",
					snippet(t, `["arn:aws:iam::aws:policy/AmazonS3FullAccess"]`))
			},
			actions: DestructiveBucketActions, principal: writerSess,
		},
		{
			name: "writer gets an AWS::IAM::Policy resource",
			edit: func(t *testing.T, n *tmplNode) {
				setMapValue(n.get("Resources"), "WriterExtra", snippet(t, `
Type: AWS::IAM::Policy
Properties:
  PolicyName: extra
  Roles: [!Ref WriterRole]
  PolicyDocument:
    Version: "2012-10-17"
    Statement:
      - Sid: Extra
        Effect: Allow
        Action: s3:*
        Resource: "*"
`))
			},
			actions: DestructiveObjectActions, principal: writerSess,
		},
	}

	// Remove each Deny statement of the bucket policy the audit relies on,
	// one at a time: each must fail with an action that statement covered.
	// (The Denies on request headers, SSE-C, KMS, ACL, lock headers, storage
	// class, rest on keys this audit does not model: docs/threat-model.md
	// names the tests that show them.)
	for _, s := range parseTemplate(t).get(bucketStatements...).Content {
		sid := mapValue(s, "Sid").Value
		// DenyReencryptionToEveryone holds against the break-glass role too,
		// whom the audit exempts by design (cfn TestLoadVaultBucketPolicy).
		if mapValue(s, "Effect").Value != "Deny" || headerCondition(s) || sid == "DenyReencryptionToEveryone" {
			continue
		}
		var covered []string
		if na := mapValue(s, "NotAction"); na != nil {
			covered = append(append([]string{}, DestructiveObjectActions...), DestructiveBucketActions...)
		} else {
			covered = coveredActions(scalars(mapValue(s, "Action")))
		}
		mutants = append(mutants,
			mutant{
				name:    "remove " + sid,
				edit:    func(t *testing.T, n *tmplNode) { removeStatement(t, n.get(bucketStatements...), sid) },
				actions: covered, principal: "arn:aws:",
			},
			mutant{
				name: "replace the Condition of " + sid + " with ArnNotLike aws:PrincipalArn *",
				edit: func(t *testing.T, n *tmplNode) {
					setMapValue(statement(t, n.get(bucketStatements...), sid), "Condition",
						snippet(t, `{ArnNotLike: {"aws:PrincipalArn": "*"}}`))
				},
				actions: covered, principal: "arn:aws:",
			})
	}

	for _, m := range mutants {
		t.Run(m.name, func(t *testing.T) {
			n := parseTemplate(t)
			m.edit(t, n)
			r, err := Run(n.bytes())
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if r.OK() {
				t.Fatalf("the mutant passes the audit (%s)", r.Summary())
			}
			for _, f := range r.Failures {
				if !strings.Contains(f, m.principal) {
					continue
				}
				for _, a := range m.actions {
					if containsWord(f, a) {
						return
					}
				}
			}
			t.Errorf("no failure names one of %v and %q:\n%s", m.actions, m.principal, strings.Join(r.Failures, "\n"))
		})
	}
}

// containsWord reports whether w occurs in s not followed by a letter
// (s3:DeleteObject must not match s3:DeleteObjectVersion).
func containsWord(s, w string) bool {
	for i := 0; ; {
		j := strings.Index(s[i:], w)
		if j < 0 {
			return false
		}
		end := i + j + len(w)
		if end == len(s) || !(s[end] >= 'a' && s[end] <= 'z' || s[end] >= 'A' && s[end] <= 'Z') {
			return true
		}
		i = end
	}
}

// coveredActions expands the statement's action patterns over the actions
// the audit checks (s3:* in DenyInsecureTransport covers the plain-HTTP rows).
func coveredActions(patterns []string) []string {
	all := append(append([]string{"s3:PutObject", "s3:GetObject", "s3:ListBucket"}, DestructiveObjectActions...), DestructiveBucketActions...)
	var out []string
	for _, a := range all {
		for _, p := range patterns {
			if glob(strings.ToLower(p), strings.ToLower(a)) {
				out = append(out, a)
				break
			}
		}
	}
	return out
}

// The node round-trip itself must not weaken anything, and renaming the
// bucket or the writer must not confuse the proof.
func TestUnweakenedEditsPass(t *testing.T) {
	cases := []struct {
		name string
		edit func(t *testing.T, n *tmplNode)
	}{
		{"round-trip", func(*testing.T, *tmplNode) {}},
		{"literal role name and path", func(t *testing.T, n *tmplNode) {
			p := n.get("Resources", "WriterRole", "Properties")
			setMapValue(p, "RoleName", snippet(t, "another-writer"))
			setMapValue(p, "Path", snippet(t, "/logvault/"))
		}},
		{"literal bucket name", func(t *testing.T, n *tmplNode) {
			setMapValue(n.get("Resources", "VaultBucket", "Properties"), "BucketName", snippet(t, "my-vault"))
		}},
	}
	want := runOK(t, infra.VaultTemplate).Forbidden
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n := parseTemplate(t)
			c.edit(t, n)
			r := runOK(t, n.bytes())
			if !r.OK() || r.Forbidden != want || len(r.Warnings) > 0 {
				t.Errorf("%s; failures %q warnings %q", r.Summary(), r.Failures, r.Warnings)
			}
		})
	}
}

// A template without the pieces the proof rests on is an error naming the piece.
func TestMissingPiecesAreErrors(t *testing.T) {
	for _, res := range []string{"VaultBucketPolicy", "WriterRole", "VaultBucket"} {
		t.Run(res, func(t *testing.T) {
			n := parseTemplate(t)
			deleteMapKey(n.get("Resources"), res)
			_, err := Run(n.bytes())
			if err == nil || !strings.Contains(err.Error(), res) {
				t.Fatalf("Run without %s: error %v, want one naming it", res, err)
			}
		})
	}
	t.Run("not YAML", func(t *testing.T) {
		if _, err := Run([]byte("Resources: [")); err == nil {
			t.Fatal("Run accepted a broken template")
		}
	})
}

// A resource with a Condition attribute (here an unrelated one) must not
// stop the proof.
func TestConditionalResource(t *testing.T) {
	n := parseTemplate(t)
	setMapValue(n.get("Resources"), "LockNotice", snippet(t, `{Type: "AWS::SNS::Topic", Condition: NamedBucket, Properties: {}}`))
	r, err := Run(n.bytes())
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if !r.OK() {
		t.Errorf("%s: %q", r.Summary(), r.Failures)
	}
}
