package audit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/logvault/logvault/infra"
)

const (
	writerSess = "arn:aws:sts::111111111111:assumed-role/logvault-vault-writer/s"
	fnSess     = "arn:aws:sts::222222222222:assumed-role/logvault-cloudtrail/s"
	adminSess  = "arn:aws:sts::111111111111:assumed-role/Admin/s"
	bRoot      = "arn:aws:iam::222222222222:root"
	bAnyRole   = "arn:aws:sts::222222222222:assumed-role/any-role/s"
	otherAcct  = "arn:aws:sts::333333333333:assumed-role/logvault-cloudtrail/s"
)

func runOK(t *testing.T, tmpl []byte) Report {
	t.Helper()
	r, err := Run(tmpl)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return r
}

func TestRealTemplateHolds(t *testing.T) {
	r := runOK(t, infra.VaultTemplate)
	if !r.OK() {
		t.Fatalf("the proof fails on infra/vault.yaml:\n%s", strings.Join(r.Failures, "\n"))
	}
	// The seven representatives and the two function roles the trust names
	// besides logvault-cloudtrail (billing, applogs).
	principals, functions := 9, 3
	destructive := principals * (len(DestructiveObjectActions) + len(DestructiveBucketActions))
	deposit := (principals - 1) * len(DepositActions) // the writer deposits by design
	assume := principals*3 - functions                // a function role with the ExternalId is allowed by design
	transport := 2 * 3                                // the writer and the Account A admin, three actions each
	if want := destructive + deposit + assume + transport; r.Forbidden != want {
		t.Errorf("Forbidden = %d, want %d", r.Forbidden, want)
	}
	if r.Allowed != 0 || r.Granted != 0 || r.Findings != 0 || len(r.Warnings) != 0 {
		t.Errorf("Allowed %d, Granted %d, Findings %d, Warnings %q; want none", r.Allowed, r.Granted, r.Findings, r.Warnings)
	}
	if got, want := r.Summary(), fmt.Sprintf("audit: 0 of %d forbidden requests allowed", r.Forbidden); got != want {
		t.Errorf("Summary = %q, want %q", got, want)
	}

	var allowRows []Row
	seen := map[string]bool{}
	for _, rw := range r.Rows {
		seen[rw.Principal] = true
		if rw.Decision == "Allow" {
			allowRows = append(allowRows, rw)
		}
		if rw.Check == CheckDestructive && rw.Decision != "ExplicitDeny" {
			t.Errorf("%s by %s: %s, want ExplicitDeny (every destructive action is denied explicitly)", rw.Action, rw.Principal, rw.Decision)
		}
		if rw.Check == CheckDeposit && rw.Expected != "Allow" && rw.Decision != "ExplicitDeny" && rw.Principal != "*" {
			t.Errorf("%s by %s: %s, want ExplicitDeny (only the writer deposits)", rw.Action, rw.Principal, rw.Decision)
		}
		if rw.Check == CheckTransport && rw.Statement != "DenyInsecureTransport" {
			t.Errorf("%s by %s over HTTP decided by %q, want DenyInsecureTransport", rw.Action, rw.Principal, rw.Statement)
		}
	}
	for _, p := range []string{bRoot, bAnyRole, fnSess, writerSess, "*", adminSess, otherAcct} {
		if !seen[p] {
			t.Errorf("no row for principal %s", p)
		}
	}
	var deposits, assumes int
	for _, a := range allowRows {
		switch {
		case a.Check == CheckDeposit && a.Principal == writerSess && a.Statement == "DepositAndRead":
			deposits++
		case a.Check == CheckAssumeRole && a.Context == "TLS, with ExternalId" && strings.Contains(a.Principal, ":assumed-role/logvault-") &&
			strings.HasPrefix(a.Principal, "arn:aws:sts::222222222222:") && a.Statement == "TrustLogvaultFunctionsWithExternalId" && len(a.Assumed) == 0:
			assumes++
		default:
			t.Errorf("unexpected Allow row %+v", a)
		}
		if a.Verdict != VerdictOK || a.Expected != "Allow" {
			t.Errorf("Allow row %+v: want expected and ok", a)
		}
	}
	if deposits != len(DepositActions) || assumes != functions {
		t.Errorf("Allow rows: %d deposits by the writer, %d AssumeRoles by function roles; want %d and %d", deposits, assumes, len(DepositActions), functions)
	}
	for _, s := range r.Assumptions {
		if strings.Contains(s, "this Allow is counted as granting") || strings.Contains(s, "not understood") {
			t.Errorf("the real template should need no assumption about an Allow, got %q", s)
		}
	}
}

func TestWriters(t *testing.T) {
	r := runOK(t, infra.VaultTemplate)
	var text bytes.Buffer
	if err := WriteText(&text, "infra/vault.yaml", r); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(text.String(), "\n"), "\n")
	if last := lines[len(lines)-1]; last != r.Summary() {
		t.Errorf("last line = %q, want the summary", last)
	}
	if !strings.Contains(text.String(), "PRINCIPAL") || !strings.Contains(text.String(), "DenyAllButReadAndDeposit") {
		t.Errorf("table lacks its header or statements:\n%s", text.String())
	}

	var js bytes.Buffer
	if err := WriteJSON(&js, "infra/vault.yaml", r); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Template  string `json:"template"`
		OK        bool   `json:"ok"`
		Summary   string `json:"summary"`
		Rows      []Row  `json:"rows"`
		Failures  []string
		Forbidden int `json:"forbidden"`
	}
	if err := json.Unmarshal(js.Bytes(), &got); err != nil {
		t.Fatalf("--json output is not JSON: %v", err)
	}
	if !got.OK || got.Template != "infra/vault.yaml" || len(got.Rows) != len(r.Rows) || got.Forbidden != r.Forbidden ||
		got.Failures == nil || got.Summary != r.Summary() {
		t.Errorf("JSON = ok %v template %q rows %d forbidden %d failures %v summary %q",
			got.OK, got.Template, len(got.Rows), got.Forbidden, got.Failures, got.Summary)
	}
}

// The hand-made weakened templates under testdata must each fail, with a
// failure that names the action and the principal.
func TestHandMadeWeakenedTemplates(t *testing.T) {
	cases := []struct {
		file, action, principal string
	}{
		{"no-deny-object.yaml", "ALLOWED: s3:DeleteObjectVersion by", adminSess},
		{"writer-star.yaml", "GRANTED: s3:DeleteObject to", writerSess},
		{"no-external-id.yaml", "ALLOWED: sts:AssumeRole of arn:aws:iam::111111111111:role/logvault-vault-writer by", fnSess + " (Account B function role) over TLS without the ExternalId"},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", c.file))
			if err != nil {
				t.Fatal(err)
			}
			r := runOK(t, data)
			if r.OK() {
				t.Fatalf("%s passes the audit", c.file)
			}
			if !hasFailure(r, c.action, c.principal) {
				t.Errorf("no failure with %q and %q in:\n%s", c.action, c.principal, strings.Join(r.Failures, "\n"))
			}
		})
	}
}

func hasFailure(r Report, parts ...string) bool {
	for _, f := range r.Failures {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(f, p)
		}
		if all {
			return true
		}
	}
	return false
}

func TestGlob(t *testing.T) {
	cases := []struct {
		p, s string
		want bool
	}{
		{FunctionRoleARNs, "arn:aws:iam::222222222222:role/logvault-cloudtrail", true},
		{FunctionRoleARNs, "arn:aws:iam::333333333333:role/logvault-cloudtrail", false},
		{FunctionRoleARNs, "arn:aws:iam::222222222222:role/any-role", false},
		{"a?c", "abc", true},
		{"a*", "", false},
		{"*", "", true},
	}
	for _, c := range cases {
		if got := glob(c.p, c.s); got != c.want {
			t.Errorf("glob(%q, %q) = %v, want %v", c.p, c.s, got, c.want)
		}
	}
}

func TestInstantiate(t *testing.T) {
	base := []principal{{arn: fnSess, principalArn: "arn:aws:iam::222222222222:role/logvault-cloudtrail"}}
	cases := []struct {
		in, arn, principalArn string
		ok                    bool
	}{
		{"222222222222", bRoot, bRoot, true},
		{"arn:aws:iam::222222222222:role/path/special", "arn:aws:sts::222222222222:assumed-role/special/s", "arn:aws:iam::222222222222:role/path/special", true},
		{"arn:aws:iam::222222222222:role/logvault-*", "", "", false}, // the function role stands for it
		{"arn:aws:iam::222222222222:role/other-*", "arn:aws:sts::222222222222:assumed-role/other-x/s", "arn:aws:iam::222222222222:role/other-x", true},
		{"arn:aws:sts::444444444444:assumed-role/r/sess", "arn:aws:sts::444444444444:assumed-role/r/sess", "arn:aws:iam::444444444444:role/r", true},
		{"arn:aws:iam::*:role/x", "", "", false},
		{"*", "", "", false},
	}
	for _, c := range cases {
		p, ok := instantiate(c.in, base)
		if ok != c.ok || (ok && (p.arn != c.arn || p.principalArn != c.principalArn)) {
			t.Errorf("instantiate(%q) = %q %q %v, want %q %q %v", c.in, p.arn, p.principalArn, ok, c.arn, c.principalArn, c.ok)
		}
	}
}
