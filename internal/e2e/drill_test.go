//go:build integration

package e2e

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestDrillAllRefused(t *testing.T) {
	for _, who := range []struct {
		name  string
		flags []string
	}{{"writer", nil}, {"account B", []string{"--as-account-b"}}} {
		t.Run(who.name, func(t *testing.T) {
			r := cli(t, nil, append([]string{"drill"}, who.flags...)...)
			if r.code != 0 {
				t.Fatalf("drill exit %d:\n%s\n%s", r.code, r.stdout, r.stderr)
			}
			for _, action := range []string{"s3:DeleteObject", "s3:DeleteObjectVersion", "s3:DeleteObjects", "s3:PutBucketVersioning", "s3:DeleteBucket", "s3:PutBucketPolicy",
				"s3:PutObjectTagging", "s3:PutObjectVersionTagging"} {
				if !strings.Contains(r.stdout, action) {
					t.Errorf("the table does not list %s:\n%s", action, r.stdout)
				}
			}
			if strings.Contains(r.stdout, "ALLOWED") || strings.Count(r.stdout, "original bytes are current again") != 2 {
				t.Errorf("drill output:\n%s", r.stdout)
			}
			// The operator's keys are in the environment: it is probed too,
			// its own PutObject and the policy sent back included.
			op := r.stdout[strings.Index(r.stdout, "logvault drill as the Account A operator"):]
			for _, row := range []string{"s3:PutObject (a canary of its own)", "s3:PutBucketPolicy (the current policy again: no-op)"} {
				if i := strings.Index(op, row); i < 0 || !strings.Contains(strings.SplitN(op[i:], "\n", 2)[0], "ok: refused") {
					t.Errorf("the operator's table has no refused %q:\n%s", row, op)
				}
			}
		})
	}
}

// TestDrillNamesAWeakenedAction lets the writer delete versions (as a
// careless policy edit by Account A would) and expects the drill to say so,
// although Object Lock still refuses the delete itself.
func TestDrillNamesAWeakenedAction(t *testing.T) {
	bucket := stack.env["VAULT_BUCKET"]
	orig := keepVaultPolicy(t)
	var doc struct {
		Version   string
		Statement []map[string]any
	}
	if err := json.Unmarshal([]byte(orig), &doc); err != nil {
		t.Fatal(err)
	}
	for _, st := range doc.Statement {
		if actions, ok := st["NotAction"].([]any); ok && st["Effect"] == "Deny" {
			st["NotAction"] = append(actions, "s3:DeleteObjectVersion")
		}
	}
	doc.Statement = append(doc.Statement, map[string]any{
		"Sid": "CarelessEdit", "Effect": "Allow", "Principal": map[string]any{"AWS": stack.env["VAULT_ROLE_ARN"]},
		"Action": "s3:DeleteObjectVersion", "Resource": "arn:aws:s3:::" + bucket + "/*",
	})
	putVaultPolicy(t, doc)
	r := cli(t, nil, "drill")
	if r.code != 1 {
		t.Fatalf("drill on a weakened vault: exit %d, want 1\n%s", r.code, r.stdout)
	}
	if !strings.Contains(r.lastLine(), "s3:DeleteObjectVersion ALLOWED") {
		t.Errorf("last line %q does not name s3:DeleteObjectVersion", r.lastLine())
	}
}
