package audit

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/logvault/logvault/infra"
)

func mustRun(t *testing.T, template, guardrails []byte) Report {
	t.Helper()
	r, err := Run("test", template, guardrails)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return r
}

func TestRealTemplateHolds(t *testing.T) {
	r := mustRun(t, infra.VaultTemplate, nil)
	if !r.OK() || len(r.Warnings) > 0 {
		t.Fatalf("the proof fails on infra/vault.yaml: %v\n%s", r.Warnings, findingLines(r))
	}
	if r.Actions < 160 || r.Principals < 15 || r.Asked < 3000 {
		t.Errorf("asked %d requests of %d principals about %d actions: want every S3 action of every principal", r.Asked, r.Principals, r.Actions)
	}
	// Without the guardrails, what only they bind is reported, not proven.
	for _, want := range []string{"Account A's root", "Account A's administrators and root can change"} {
		if !strings.Contains(strings.Join(r.Reported, "\n"), want) {
			t.Errorf("reported %q lacks %q", r.Reported, want)
		}
	}
	for _, s := range r.Assumptions {
		if strings.Contains(s, "this Allow is counted as granting") || strings.Contains(s, "not understood") {
			t.Errorf("the real template should need no assumption about an Allow, got %q", s)
		}
	}
}

func TestRealTemplateWithGuardrailsHolds(t *testing.T) {
	guard, err := os.ReadFile("../../infra/guardrails.yaml")
	if err != nil {
		t.Fatal(err)
	}
	r := mustRun(t, infra.VaultTemplate, guard)
	if !r.OK() {
		t.Fatalf("the proof fails with the guardrails:\n%s", findingLines(r))
	}
	if len(r.Reported) != 0 {
		t.Errorf("with the guardrails nothing should be left to report: %q", r.Reported)
	}
	// Weakened guardrails are found: each statement the proof relies on.
	var doc yaml.Node
	if err := yaml.Unmarshal(guard, &doc); err != nil {
		t.Fatal(err)
	}
	scp, rcp := "VaultServiceControlPolicy", "VaultResourceControlPolicy"
	for _, c := range []struct {
		sid      string
		policies []string
		want     []string
	}{
		{"VaultRoles", []string{scp}, []string{"Account A admin", "iam:UpdateAssumeRolePolicy", "role/logvault-break-glass"}},
		{"StayInTheOrganization", []string{scp}, []string{"arn:aws:iam::111111111111:root", "organizations:LeaveOrganization"}},
		// The SCP and the RCP both stop root's deposits: one alone still holds.
		{"VaultDepositOnlyByWriter", []string{scp}, nil},
		{"VaultDepositOnlyByWriter", []string{rcp}, nil},
		{"VaultDepositOnlyByWriter", []string{scp, rcp}, []string{"arn:aws:iam::111111111111:root", "s3:PutObject"}},
	} {
		t.Run("remove "+c.sid+" from "+strings.Join(c.policies, "+"), func(t *testing.T) {
			t.Parallel()
			n := &tmplNode{t: t}
			if err := yaml.Unmarshal(guard, &n.root); err != nil {
				t.Fatal(err)
			}
			for _, p := range c.policies {
				removeStatement(t, n.get("Resources", p, "Properties", "Content", "Statement"), c.sid)
			}
			r := mustRun(t, infra.VaultTemplate, n.bytes())
			if c.want == nil {
				if !r.OK() {
					t.Errorf("the other policy still holds, yet:\n%s", findingLines(r))
				}
				return
			}
			if !hasFinding(r, c.want...) {
				t.Errorf("no finding with %q:\n%s", c.want, findingLines(r))
			}
		})
	}
}

// TestTemplateBeforeTheAllowList: the vault template as it was before the
// allow-list (two fixed Deny lists, Object Lock off by default) fails.
func TestTemplateBeforeTheAllowList(t *testing.T) {
	data, err := os.ReadFile("testdata/vault-before-allow-list.yaml")
	if err != nil {
		t.Fatal(err)
	}
	r := mustRun(t, data, nil)
	for _, want := range [][]string{
		{"Account A admin", "s3:UpdateObjectEncryption", "no Deny stops it"},
		{"Account A admin", "s3:ReplicateDelete"},
		{"Account A admin", "s3:PutObjectVersionTagging"},
		{"Object Lock", "is off"},
		{"parameter BreakGlassRoleArn admits"},
	} {
		if !hasFinding(r, want...) {
			t.Errorf("no finding with %q", want)
		}
	}
}

func TestWriters(t *testing.T) {
	data, _ := os.ReadFile("testdata/vault-before-allow-list.yaml")
	r := mustRun(t, data, nil)
	var text bytes.Buffer
	if err := WriteText(&text, r); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(text.String(), "\n"), "\n")
	if last := lines[len(lines)-1]; last != r.Summary() {
		t.Errorf("last line = %q, want the summary", last)
	}
	if n := strings.Count(text.String(), "\nFINDING: "); n != len(r.Findings) {
		t.Errorf("%d FINDING lines for %d findings", n, len(r.Findings))
	}
	var js bytes.Buffer
	if err := WriteJSON(&js, r); err != nil {
		t.Fatal(err)
	}
	var got struct {
		OK       bool      `json:"ok"`
		Findings []Finding `json:"findings"`
		Summary  string    `json:"summary"`
	}
	if err := json.Unmarshal(js.Bytes(), &got); err != nil {
		t.Fatalf("--json output is not JSON: %v", err)
	}
	if got.OK || len(got.Findings) != len(r.Findings) || got.Summary != r.Summary() || got.Findings[0].Action == "" {
		t.Errorf("JSON ok %v, %d findings (want %d), summary %q", got.OK, len(got.Findings), len(r.Findings), got.Summary)
	}
}

// A template without the pieces the proof rests on is an error naming them.
func TestMissingPiecesAreErrors(t *testing.T) {
	for _, res := range []string{"WriterRole", "VaultBucket"} {
		t.Run(res, func(t *testing.T) {
			n := parseTemplate(t)
			deleteMapKey(n.get("Resources"), res)
			if _, err := Run("test", n.bytes(), nil); err == nil || !strings.Contains(err.Error(), res) {
				t.Fatalf("Run without %s: error %v, want one naming it", res, err)
			}
		})
	}
	t.Run("no bucket policy is a finding, not an error", func(t *testing.T) {
		n := parseTemplate(t)
		deleteMapKey(n.get("Resources"), "VaultBucketPolicy")
		r := mustRun(t, n.bytes(), nil)
		if !hasFinding(r, adminSess, "s3:DeleteBucket", "no Deny stops it") {
			t.Errorf("findings:\n%s", findingLines(r))
		}
	})
}

func TestInstances(t *testing.T) {
	v := &Vault{AccountA: AccountA, BreakGlassARN: BreakGlassRoleARN, FunctionRoles: functionRoles}
	for _, c := range []struct {
		pattern string
		want    []string // principal ARNs
		kinds   []kind
	}{
		{"arn:aws:iam::111111111111:role/logvault-*", []string{"arn:aws:sts::111111111111:assumed-role/logvault-x/s"}, []kind{kindAdmin}},
		{"arn:aws:iam::*:role/*break-glass", []string{"arn:aws:sts::111111111111:assumed-role/xbreak-glass/s", "arn:aws:sts::333333333333:assumed-role/xbreak-glass/s", "arn:aws:sts::444444444444:assumed-role/xbreak-glass/s"}, []kind{kindAdmin, kindExternal, kindExternal}},
		{"222222222222", []string{"arn:aws:iam::222222222222:root"}, []kind{kindExternal}},
		{"arn:aws:iam::111111111111:root", []string{"arn:aws:iam::111111111111:root"}, []kind{kindRoot}},
		{"arn:aws:iam::222222222222:role/path/special", []string{"arn:aws:sts::222222222222:assumed-role/special/s"}, []kind{kindExternal}},
		{"*", nil, nil},
		// A user of the break-glass role's name is not the role.
		{"arn:aws:iam::111111111111:*/logvault-break-glass", []string{"arn:aws:sts::111111111111:assumed-role/logvault-break-glass/s", "arn:aws:iam::111111111111:user/logvault-break-glass"}, []kind{kindAdmin, kindAdmin}},
		{"arn:aws:iam::222222222222:*/logvault-cloudtrail", []string{"arn:aws:sts::222222222222:assumed-role/logvault-cloudtrail/s", "arn:aws:iam::222222222222:user/logvault-cloudtrail"}, []kind{kindExternal, kindExternal}},
		{"arn:aws:iam::111111111111:*", []string{"arn:aws:sts::111111111111:assumed-role/x/s", "arn:aws:iam::111111111111:user/x", "arn:aws:iam::111111111111:root"}, []kind{kindAdmin, kindAdmin, kindRoot}},
	} {
		ps := instances(v, c.pattern)
		if len(ps) != len(c.want) {
			t.Errorf("instances(%q) = %d principals, want %d", c.pattern, len(ps), len(c.want))
			continue
		}
		for i, p := range ps {
			if p.arn != c.want[i] || p.kind != c.kinds[i] {
				t.Errorf("instances(%q)[%d] = %s kind %d, want %s kind %d", c.pattern, i, p.arn, p.kind, c.want[i], c.kinds[i])
			}
		}
	}
}

func hasFinding(r Report, parts ...string) bool {
	for _, f := range r.Findings {
		line, all := f.String(), true
		for _, p := range parts {
			all = all && strings.Contains(line, p)
		}
		if all {
			return true
		}
	}
	return false
}

func findingLines(r Report) string {
	var b strings.Builder
	for i, f := range r.Findings {
		if i == 15 {
			b.WriteString("...\n")
			break
		}
		b.WriteString(f.String() + "\n")
	}
	return b.String()
}
