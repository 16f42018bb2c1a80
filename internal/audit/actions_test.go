package audit

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// TestS3ActionList keeps s3actions.tsv equal to the S3 action list of the
// cfn-lint package installed here (its data/AdditionalSpecs/Policies.json):
// it fails naming every action the vendored list lacks. With
// LOGVAULT_UPDATE_S3_ACTIONS=1 it rewrites the list instead, classing each
// action with classify (review the diff).
func TestS3ActionList(t *testing.T) {
	out, err := exec.Command("python3", "-c", "import cfnlint,os;print(os.path.dirname(cfnlint.__file__))").Output()
	if err != nil {
		t.Skip("cfn-lint is not installed here: nothing to compare the vendored list with")
	}
	data, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(out)), "data", "AdditionalSpecs", "Policies.json"))
	if err != nil {
		t.Fatal(err)
	}
	var spec map[string]struct {
		Actions map[string]struct{ Resources []string }
	}
	if err := json.Unmarshal(data, &spec); err != nil {
		t.Fatal(err)
	}
	installed := spec["s3"].Actions
	if len(installed) == 0 {
		t.Fatal("Policies.json has no s3 actions")
	}
	if os.Getenv("LOGVAULT_UPDATE_S3_ACTIONS") != "" {
		names := make([]string, 0, len(installed))
		for n := range installed {
			names = append(names, n)
		}
		sort.Strings(names)
		var b strings.Builder
		for _, n := range names {
			b.WriteString(n + "\t" + string(classify(n)) + "\t" + strings.Join(installed[n].Resources, ",") + "\n")
		}
		if err := os.WriteFile("s3actions.tsv", []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	vendored := map[string]bool{}
	for _, a := range S3Actions() {
		vendored[strings.ToLower(strings.TrimPrefix(a.Name, "s3:"))] = true
	}
	var missing []string
	for n := range installed {
		if !vendored[n] {
			missing = append(missing, "s3:"+n)
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("internal/audit/s3actions.tsv lacks %d S3 actions of the installed cfn-lint: %s; run LOGVAULT_UPDATE_S3_ACTIONS=1 go test ./internal/audit -run TestS3ActionList",
			len(missing), strings.Join(missing, ", "))
	}
}

func TestActionClassesAndNames(t *testing.T) {
	got := map[string]Action{}
	for _, a := range S3Actions() {
		if strings.ToLower(a.Name) == a.Name {
			t.Errorf("%s: not written in words (add its words to actionWords)", a.Name)
		}
		if a.Class != classify(a.Name) {
			t.Errorf("%s: class %s in s3actions.tsv, %s by classify", a.Name, a.Class, classify(a.Name))
		}
		got[a.Name] = a
	}
	if len(got) < 160 {
		t.Fatalf("%d S3 actions, want the whole list", len(got))
	}
	for name, want := range map[string]Class{
		"s3:PutObject": Deposit, "s3:AbortMultipartUpload": Deposit, "s3:GetObject": Read, "s3:ListBucketVersions": Read,
		"s3:GetBucketObjectLockConfiguration": Read, "s3:DeleteObjectVersion": Other, "s3:UpdateObjectEncryption": Other,
		"s3:ReplicateDelete": Other, "s3:PutObjectVersionTagging": Other, "s3:PutBucketAbac": Other, "s3:GetDataAccess": Other,
		"s3:BypassGovernanceRetention": Other, "s3:PutBucketCORS": Other, "s3:RestoreObject": Other,
	} {
		a, ok := got[name]
		if !ok || a.Class != want {
			t.Errorf("%s: %+v (listed %v), want class %s", name, a, ok, want)
		}
	}
	if a := got["s3:DeleteObjectVersion"]; !a.Object || a.Bucket {
		t.Errorf("s3:DeleteObjectVersion applies to bucket %v object %v, want the object only", a.Bucket, a.Object)
	}
	if a := got["s3:PutBucketPolicy"]; !a.Bucket || a.Object {
		t.Errorf("s3:PutBucketPolicy applies to bucket %v object %v, want the bucket only", a.Bucket, a.Object)
	}
	if c := classify("s3:SomeActionAddedLater"); c != Other {
		t.Errorf("an unknown action is %s, want other", c)
	}
}
