package schema

import (
	"strings"
	"testing"
)

// Every documented sample is recognised as its own kind, ships under its
// kind's prefix, and reads back as that kind from the vault key.
func TestSamplesAreTheirKind(t *testing.T) {
	n := 0
	for _, s := range Kinds() {
		for _, key := range s.Samples {
			n++
			got := Classify(s.Function, key)
			if got != s.Kind {
				t.Errorf("Classify(%s, %q) = %s, want %s", s.Function, key, got, s.Kind)
				continue
			}
			vk, err := CopiedKey(got, "src-bucket", key)
			if err != nil {
				t.Errorf("CopiedKey(%s, %q): %v", got, key, err)
				continue
			}
			if want := s.Prefix + "/src-bucket/" + key; vk != want {
				t.Errorf("vault key of %q = %q, want %q", key, vk, want)
			}
			if back := VaultKind(vk); back != s.Kind {
				t.Errorf("VaultKind(%q) = %s, want %s", vk, back, s.Kind)
			}
		}
	}
	if n < 25 {
		t.Errorf("only %d samples in the registry", n)
	}
}

func TestClassifyFallsBack(t *testing.T) {
	tests := []struct {
		function, key string
		want          Kind
	}{
		{FunctionCloudTrail, "exports/2026/report.csv", KindS3},
		{FunctionCloudTrail, "a b+c%20é/ü/deep/deeper/x", KindS3},
		{FunctionCloudTrail, "AWSLogs/111122223333/SomethingNew/x.gz", KindS3},
		{FunctionCloudTrail, "logs/2026-11-26-00-05-12-0123456789abcdef", KindS3}, // access log ids are upper-case hex
		{FunctionCloudTrail, "e2qwruhexample.2026-11-26-00.a1b2.gz", KindS3},      // distribution ids are upper case
		{FunctionBilling, "my-report/whatever.csv.gz", KindBilling},
		{FunctionBilling, "AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/26/x.json.gz", KindCloudTrail},
		{FunctionCloudTrail, "cur/x/data/BILLING_PERIOD=2026-11/p.parquet", KindBilling},
		{FunctionAppLogs, "anything", ""},
	}
	for _, tt := range tests {
		if got := Classify(tt.function, tt.key); got != tt.want {
			t.Errorf("Classify(%s, %q) = %q, want %q", tt.function, tt.key, got, tt.want)
		}
	}
}

func TestVaultKind(t *testing.T) {
	for key, want := range map[string]Kind{
		"cloudtrail/b/AWSLogs/1/CloudTrail/us-east-1/2026/11/26/x.json.gz":  KindCloudTrail,
		"cloudtrail/b/AWSLogs/1/CloudTrail-Digest/us-east-1/x.json.gz":      KindCloudTrailDigest,
		"cloudtrail/b/prefix/AWSLogs/o-abc/1/CloudTrail-Digest/us-east-1/x": KindCloudTrailDigest,
		"cloudtrail/b/older/layout.json":                                    KindCloudTrail,
		"billing/b/r.csv.gz":                                                KindBilling,
		"applogs/1/g/2026/11/26/s/1.ndjson.gz":                              KindAppLogs,
		"s3/b/x":                                                            KindS3,
		"vpc-flow-logs/b/AWSLogs/1/vpcflowlogs/x":                           KindVPCFlowLogs,
		"logvault-drill/canary":                                             KindDrill,
		"elsewhere/x":                                                       "",
		"nokey":                                                             "",
	} {
		if got := VaultKind(key); got != want {
			t.Errorf("VaultKind(%q) = %q, want %q", key, got, want)
		}
	}
}

// The registry's own rules: each copying function has exactly one fallback,
// kinds and prefixes are unique (but for digests beside their logs), and
// every kind a function copies has documented layouts and samples.
func TestRegistry(t *testing.T) {
	fallbacks := map[string]int{}
	kinds := map[Kind]bool{}
	prefixes := map[string]Kind{}
	for _, s := range Kinds() {
		if kinds[s.Kind] {
			t.Errorf("kind %s twice", s.Kind)
		}
		kinds[s.Kind] = true
		if other, ok := prefixes[s.Prefix]; ok && !(s.Kind == KindCloudTrail && other == KindCloudTrailDigest) {
			t.Errorf("prefix %s of %s is %s's too", s.Prefix, s.Kind, other)
		}
		prefixes[s.Prefix] = s.Kind
		if s.Fallback {
			fallbacks[s.Function]++
		}
		if Copied(s.Kind) && (len(s.Layouts) == 0 || len(s.Samples) == 0 || s.Name == "") {
			t.Errorf("kind %s is copied but documents no layout or sample", s.Kind)
		}
		if strings.Contains(s.Prefix, "/") {
			t.Errorf("prefix %q is not one segment", s.Prefix)
		}
	}
	for _, f := range []string{FunctionCloudTrail, FunctionBilling} {
		if fallbacks[f] != 1 {
			t.Errorf("function %s has %d fallback kinds, want 1", f, fallbacks[f])
		}
	}
	if got := strings.Join(Functions(), ","); got != "cloudtrail,billing,applogs" {
		t.Errorf("Functions() = %s", got)
	}
	if _, err := CopiedKey(KindAppLogs, "b", "k"); err == nil {
		t.Error("applogs is built, not copied: CopiedKey must refuse it")
	}
}
