package cfn_test

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/logvault/logvault/infra"
	"github.com/logvault/logvault/internal/cfn"
)

// policyCorpus is policy.FuzzParse's committed seed corpus. Fuzzing
// through cfn itself is too slow to be useful (goformation's thousands of
// generated resource types make every execution walk a huge coverage map),
// so the templates' policy documents, as cfn resolves them, seed the
// policy parser's fuzzing instead.
const policyCorpus = "../policy/testdata/fuzz/FuzzParse"

// TestTemplatePolicyCorpus keeps that corpus equal to the policy documents
// of infra/vault.yaml, infra/guardrails.yaml and template.yaml. After changing a template, run
// LOGVAULT_UPDATE_CORPUS=1 go test ./internal/cfn -run TestTemplatePolicyCorpus.
func TestTemplatePolicyCorpus(t *testing.T) {
	want := map[string][]byte{} // file name -> document
	add := func(name string, doc any) {
		js, err := cfn.PolicyJSON(doc)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		want["template-"+name] = js
	}
	vault, err := cfn.Resolve(infra.VaultTemplate, values())
	if err != nil {
		t.Fatal(err)
	}
	sam := loadSAM(t, "/aws/lambda/checkout,/ecs/orders")
	for prefix, r := range map[string]*cfn.Resolved{"vault": vault, "sam": sam.Resolved} {
		for id, bp := range r.GetAllS3BucketPolicyResources() {
			add(prefix+"-"+id, bp.PolicyDocument)
		}
		for id, role := range r.GetAllIAMRoleResources() {
			add(prefix+"-"+id+"-trust", role.AssumeRolePolicyDocument)
			for _, p := range role.Policies {
				add(prefix+"-"+id+"-"+p.PolicyName, p.PolicyDocument)
			}
		}
	}
	_, _, guards := guardrails(t)
	for typ, js := range guards {
		want["template-guardrails-"+strings.ToLower(typ)] = js
	}
	if os.Getenv("LOGVAULT_UPDATE_CORPUS") != "" {
		old, _ := filepath.Glob(filepath.Join(policyCorpus, "template-*"))
		for _, f := range old {
			os.Remove(f)
		}
		if err := os.MkdirAll(policyCorpus, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, js := range want {
			if err := os.WriteFile(filepath.Join(policyCorpus, name), corpusEntry(js), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return
	}
	var stale []string
	for name, js := range want {
		got, err := os.ReadFile(filepath.Join(policyCorpus, name))
		if err != nil || string(got) != string(corpusEntry(js)) {
			stale = append(stale, name)
		}
	}
	have, _ := filepath.Glob(filepath.Join(policyCorpus, "template-*"))
	for _, f := range have {
		if _, ok := want[filepath.Base(f)]; !ok {
			stale = append(stale, filepath.Base(f)+" (no longer in a template)")
		}
	}
	if len(stale) > 0 {
		sort.Strings(stale)
		t.Errorf("policy.FuzzParse's corpus does not match the templates' policies (%s); run LOGVAULT_UPDATE_CORPUS=1 go test ./internal/cfn -run TestTemplatePolicyCorpus",
			strings.Join(stale, ", "))
	}
}

// corpusEntry is a seed corpus file of a func(*testing.T, []byte) target.
func corpusEntry(data []byte) []byte {
	return []byte(fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", data))
}
