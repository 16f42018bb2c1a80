package cfn_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/logvault/logvault/infra"
	"github.com/logvault/logvault/internal/cfn"
	"github.com/logvault/logvault/internal/policy"
)

// guardrails resolves infra/guardrails.yaml for the deployment of the
// cfn tests and returns its SCP and RCP.
func guardrails(t *testing.T) (scp, rcp *policy.Document, raw map[string][]byte) {
	t.Helper()
	r, err := cfn.Resolve(infra.GuardrailsTemplate, cfn.Values{
		Parameters: map[string]string{"VaultAccountId": acctA, "VaultBucketName": bucket, "BreakGlassRoleName": "logvault-break-glass", "WriterRoleName": writerName},
		Pseudo:     map[string]string{"AWS::Partition": "aws", "AWS::AccountId": "999999999999", "AWS::Region": "us-east-1"},
		Refs: map[string]string{"AlarmTopic": "arn:aws:sns:us-east-1:999999999999:logvault-guardrails-alarms",
			"VaultServiceControlPolicy": "p-scp00001", "VaultResourceControlPolicy": "p-rcp00001"},
	})
	if err != nil {
		t.Fatalf("resolve infra/guardrails.yaml: %v", err)
	}
	raw = map[string][]byte{}
	docs := map[string]*policy.Document{}
	for id, p := range r.GetAllOrganizationsPolicyResources() {
		if !slices.Equal(p.TargetIds, []string{acctA}) {
			t.Errorf("%s TargetIds %v, want Account A only", id, p.TargetIds)
		}
		js, err := json.Marshal(p.Content)
		if err != nil {
			t.Fatal(err)
		}
		raw[p.Type], docs[p.Type] = js, parsePolicy(t, p.Content)
	}
	if docs["SERVICE_CONTROL_POLICY"] == nil || docs["RESOURCE_CONTROL_POLICY"] == nil {
		t.Fatalf("policies %v, want one SERVICE_CONTROL_POLICY and one RESOURCE_CONTROL_POLICY", raw)
	}
	return docs["SERVICE_CONTROL_POLICY"], docs["RESOURCE_CONTROL_POLICY"], raw
}

func TestGuardrailsFitAndFollowTheRules(t *testing.T) {
	scp, rcp, raw := guardrails(t)
	for typ, js := range raw {
		if len(js) > 5120 { // AWS Organizations' limit, in characters
			t.Errorf("%s is %d characters, over the 5,120 AWS accepts", typ, len(js))
		}
	}
	for _, s := range rcp.Statements {
		// RCPs: Deny only, Principal "*", no NotAction, no NotPrincipal.
		if s.Effect != "Deny" || s.Principal == nil || !s.Principal.Any || len(s.NotAction) > 0 || s.NotPrincipal != nil {
			t.Errorf("RCP statement %s: Effect %s, Principal %+v, NotAction %v: an RCP takes Deny, Principal \"*\" and Action only", s.Sid, s.Effect, s.Principal, s.NotAction)
		}
	}
	// The SCP holds exactly the vault's allow-list.
	tmpl := loadVault(t, values())
	bp, err := tmpl.GetS3BucketPolicyWithName(bucketPolicy)
	if err != nil {
		t.Fatal(err)
	}
	var vaultList, scpList []string
	for _, s := range parsePolicy(t, bp.PolicyDocument).Statements {
		if len(s.NotAction) > 0 {
			vaultList = s.NotAction
		}
	}
	for _, s := range scp.Statements {
		if len(s.NotAction) > 0 {
			scpList = s.NotAction
		}
	}
	slices.Sort(vaultList)
	slices.Sort(scpList)
	if len(vaultList) == 0 || !slices.Equal(vaultList, scpList) {
		t.Errorf("the SCP's allow-list %v differs from the vault bucket policy's %v", scpList, vaultList)
	}
}

func TestGuardrailsDecide(t *testing.T) {
	scp, rcp, _ := guardrails(t)
	root := "arn:aws:iam::" + acctA + ":root"
	breakGlassRole := "arn:aws:iam::" + acctA + ":role/logvault-break-glass"
	writerRole := writerARN
	req := func(principal, principalArn, action, resource string, secure bool) policy.Request {
		return policy.Request{Principal: principal, Action: action, Resource: resource, Context: reqCtx(principal, principalArn, secure)}
	}
	alarm := "arn:aws:cloudwatch:us-east-1:" + acctA + ":alarm:logvault-vault-cloudtrail-silence"
	t.Run("SCP", func(t *testing.T) {
		runEval(t, scp, []evalCase{
			{"Account A root PutBucketPolicy", req(root, root, "s3:PutBucketPolicy", bucketARN, true), policy.ExplicitDeny, "VaultAllowList"},
			{"Account A root DeleteBucketPolicy", req(root, root, "s3:DeleteBucketPolicy", bucketARN, true), policy.ExplicitDeny, "VaultAllowList"},
			{"Account A root DeleteObjectVersion", req(root, root, "s3:DeleteObjectVersion", objectARN, true), policy.ExplicitDeny, "VaultAllowList"},
			{"Account A root UpdateObjectEncryption", req(root, root, "s3:UpdateObjectEncryption", objectARN, true), policy.ExplicitDeny, "VaultAllowList"},
			{"Account A root PutObject", req(root, root, "s3:PutObject", objectARN, true), policy.ExplicitDeny, "VaultDepositOnlyByWriter"},
			{"Account A root GetObject is not denied", req(root, root, "s3:GetObject", objectARN, true), policy.ImplicitDeny, ""},
			{"an admin rewrites the break-glass trust", req(operator, operator, "iam:UpdateAssumeRolePolicy", breakGlassRole, true), policy.ExplicitDeny, "VaultRoles"},
			{"an admin deletes the break-glass role", req(operator, operator, "iam:DeleteRole", breakGlassRole, true), policy.ExplicitDeny, "VaultRoles"},
			{"an admin attaches a policy to the writer", req(operator, operator, "iam:AttachRolePolicy", writerRole, true), policy.ExplicitDeny, "VaultRoles"},
			{"an admin passes the break-glass role to a service", req(operator, operator, "iam:PassRole", breakGlassRole, true), policy.ExplicitDeny, "VaultRoles"},
			{"an admin stops the trail", req(operator, operator, "cloudtrail:StopLogging", "arn:aws:cloudtrail:us-east-1:"+acctA+":trail/org", true), policy.ExplicitDeny, "VaultTrails"},
			{"an admin deletes the silence alarm", req(operator, operator, "cloudwatch:DeleteAlarms", alarm, true), policy.ExplicitDeny, "VaultDetection"},
			{"Account A root leaves the Organization", req(root, root, "organizations:LeaveOrganization", "*", true), policy.ExplicitDeny, "StayInTheOrganization"},
			{"Account A root closes the account", req(root, root, "account:CloseAccount", "*", true), policy.ExplicitDeny, "StayInTheOrganization"},
			{"the writer deposits", req(writerSess, writerRole, "s3:PutObject", objectARN, true), policy.ImplicitDeny, ""},
			{"break-glass changes the policy", req(breakSess, breakGlass, "s3:PutBucketPolicy", bucketARN, true), policy.ImplicitDeny, ""},
			{"break-glass edits its own trust", req(breakSess, breakGlass, "iam:UpdateAssumeRolePolicy", breakGlassRole, true), policy.ImplicitDeny, ""},
		})
	})
	t.Run("RCP", func(t *testing.T) {
		runEval(t, rcp, []evalCase{
			{"Account A root PutBucketPolicy", req(root, root, "s3:PutBucketPolicy", bucketARN, true), policy.ExplicitDeny, "VaultChangedOnlyByBreakGlass"},
			{"Account A root PutLifecycleConfiguration", req(root, root, "s3:PutLifecycleConfiguration", bucketARN, true), policy.ExplicitDeny, "VaultChangedOnlyByBreakGlass"},
			{"another account's ReplicateDelete", req(cRole, cRole, "s3:ReplicateDelete", objectARN, true), policy.ExplicitDeny, "VaultChangedOnlyByBreakGlass"},
			{"another account's PutObjectVersionTagging", req(cRole, cRole, "s3:PutObjectVersionTagging", objectARN, true), policy.ExplicitDeny, "VaultChangedOnlyByBreakGlass"},
			{"another account's PutInventoryConfiguration", req(cRole, cRole, "s3:PutInventoryConfiguration", bucketARN, true), policy.ExplicitDeny, "VaultChangedOnlyByBreakGlass"},
			{"Account B PutObject", req(bRole, bRole, "s3:PutObject", objectARN, true), policy.ExplicitDeny, "VaultDepositOnlyByWriter"},
			{"the writer deposits", req(writerSess, writerRole, "s3:PutObject", objectARN, true), policy.ImplicitDeny, ""},
			{"the writer over plain HTTP", req(writerSess, writerRole, "s3:PutObject", objectARN, false), policy.ExplicitDeny, "VaultOverTLSOnly"},
			{"break-glass re-encrypts versions", req(breakSess, breakGlass, "s3:UpdateObjectEncryption", objectARN, true), policy.ExplicitDeny, "VaultNeverReencrypted"},
			{"break-glass deletes a version (Object Lock still refuses)", req(breakSess, breakGlass, "s3:DeleteObjectVersion", objectARN, true), policy.ImplicitDeny, ""},
		})
	})
}

// TestGuardrailsNotice: the management account is told when the
// guardrails change or a root session is opened in Account A.
func TestGuardrailsNotice(t *testing.T) {
	r, err := cfn.Resolve(infra.GuardrailsTemplate, cfn.Values{
		Parameters: map[string]string{"VaultAccountId": acctA, "VaultBucketName": bucket, "BreakGlassRoleName": "logvault-break-glass"},
		Pseudo:     map[string]string{"AWS::Partition": "aws", "AWS::AccountId": "999999999999", "AWS::Region": "us-east-1"},
		Refs: map[string]string{"AlarmTopic": "arn:aws:sns:us-east-1:999999999999:logvault-guardrails-alarms",
			"VaultServiceControlPolicy": "p-scp00001", "VaultResourceControlPolicy": "p-rcp00001"},
	})
	if err != nil {
		t.Fatal(err)
	}
	rules := r.GetAllEventsRuleResources()
	for id, want := range map[string][]string{
		"GuardrailsChangedRule": {`"DetachPolicy"`, `"UpdatePolicy"`, `"DeletePolicy"`, `"DisablePolicyType"`, `"RemoveAccountFromOrganization"`},
		"VaultRootSessionRule":  {`"AssumeRoot"`, `"targetPrincipal":["` + acctA + `"]`},
	} {
		rule, ok := rules[id]
		if !ok {
			t.Errorf("no %s", id)
			continue
		}
		js, _ := json.Marshal(rule.EventPattern)
		for _, w := range want {
			if !strings.Contains(string(js), w) {
				t.Errorf("%s pattern %s lacks %s", id, js, w)
			}
		}
		if len(rule.Targets) != 1 || rule.Targets[0].Arn != "arn:aws:sns:us-east-1:999999999999:logvault-guardrails-alarms" {
			t.Errorf("%s targets %+v, want the alarm topic", id, rule.Targets)
		}
	}
}
