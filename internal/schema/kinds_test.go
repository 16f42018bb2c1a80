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
			vk, err := CopiedKey(got, "222222222222", "src-bucket", key)
			if err != nil {
				t.Errorf("CopiedKey(%s, %q): %v", got, key, err)
				continue
			}
			if want := s.Prefix + "/account=222222222222/src-bucket/" + key; vk != want {
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
		// A function ships only its own kinds: keys cannot be named into another's.
		{FunctionBilling, "AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/26/x.json.gz", KindBilling},
		{FunctionCloudTrail, "cur/x/data/BILLING_PERIOD=2026-11/p.parquet", KindS3},
		{FunctionCloudTrail, "exports/20261101-20261201/ledger.csv", KindS3},
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
		"cloudtrail/b/AWSLogs/1/CloudTrail/us-east-1/2026/11/26/x.json.gz":                  KindCloudTrail,
		"cloudtrail/b/AWSLogs/1/CloudTrail-Digest/us-east-1/x.json.gz":                      KindCloudTrailDigest,
		"cloudtrail/b/prefix/AWSLogs/o-abc/1/CloudTrail-Digest/us-east-1/x":                 KindCloudTrailDigest,
		"cloudtrail/b/older/layout.json":                                                    KindCloudTrail,
		"billing/b/r.csv.gz":                                                                KindBilling,
		"applogs/1/g/2026/11/26/s/1.ndjson.gz":                                              KindAppLogs,
		"s3/b/x":                                                                            KindS3,
		"vpc-flow-logs/b/AWSLogs/1/vpcflowlogs/x":                                           KindVPCFlowLogs,
		"logvault-drill/canary":                                                             KindDrill,
		"cloudtrail/account=333333333333/b/AWSLogs/1/CloudTrail-Digest/us-east-1/x.json.gz": KindCloudTrailDigest,
		"cloudtrail/account=333333333333/b/AWSLogs/1/CloudTrail/us-east-1/x.json.gz":        KindCloudTrail,
		"applogs/account=222222222222/g/2026/11/26/s/1.ndjson.gz":                           KindAppLogs,
		"logvault-drill/account=222222222222/run/victim.txt":                                KindDrill,
		"cloudtrail/account=12/b/AWSLogs/1/CloudTrail/x.json.gz":                            "",
		"elsewhere/x": "",
		"nokey":       "",
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
	if _, err := CopiedKey(KindAppLogs, "222222222222", "b", "k"); err == nil {
		t.Error("applogs is built, not copied: CopiedKey must refuse it")
	}
}

// Keys as AWS's documentation shows them, written here independently of the
// registry's own samples.
func TestAWSDocumentedKeys(t *testing.T) {
	for key, want := range map[string]Kind{
		"AWSLogs/111122223333/CloudTrail/us-east-2/2014/12/19/111122223333_CloudTrail_us-east-2_20141219T1930Z_W0UQVD2MhTPQNH1E.json.gz":                                                                  KindCloudTrail,
		"AWSLogs/111122223333/CloudTrail-Digest/us-east-2/2015/03/02/111122223333_CloudTrail-Digest_us-east-2_awscloudtrail-example_us-east-2_20150302T001557Z.json.gz":                                   KindCloudTrailDigest,
		"AWSLogs/o-exampleorgid/111122223333/CloudTrail/us-east-1/2019/12/05/111122223333_CloudTrail_us-east-1_20191205T0000Z_abcdef.json.gz":                                                             KindCloudTrail,
		"AWSLogs/123456789012/Config/us-east-2/2016/10/24/ConfigSnapshot/123456789012_Config_us-east-2_ConfigSnapshot_20161024T170041Z_21a3e5ee-b90c-4f5a-a2f6-f33ff6fc9ef5.json.gz":                      KindConfig,
		"AWSLogs/123456789012/vpcflowlogs/us-east-1/2018/06/20/123456789012_vpcflowlogs_us-east-1_fl-1234abcd_20180620T1620Z_fe123456.log.gz":                                                             KindVPCFlowLogs,
		"AWSLogs/123456789012/elasticloadbalancing/us-east-2/2022/05/01/123456789012_elasticloadbalancing_us-east-2_app.my-loadbalancer.1234567890abcdef_20220215T2340Z_172.160.001.192_20sg8hgm.log.gz":  KindELB,
		"my-prefix/AWSLogs/123456789012/elasticloadbalancing/us-east-2/2020/05/01/123456789012_elasticloadbalancing_us-east-2_net.my-loadbalancer.1234567890abcdef_201705011800Z_2soosksgsdfgesdd.log.gz": KindELB,
		"AWSLogs/11111111111/WAFLogs/us-east-1/TEST-WEBACL/2021/10/28/19/50/11111111111_waflogs_us-east-1_TEST-WEBACL_20211028T1950Z_e0ca43b5.log.gz":                                                     KindWAF,
		"AWSLogs/123456789012/GuardDuty/us-east-1/2022/01/13/c3a7b5e2-1d4e-3b8d-9f1a-2b3c4d5e6f70.jsonl.gz":                                                                                               KindGuardDuty,
		"AWSLogs/123456789012/vpcdnsquerylogs/vpc-0123456789abcdef0/2021/03/23/123456789012_vpcdnsquerylogs_vpc-0123456789abcdef0_20210323T0000Z_a1b2c3d4.log.gz":                                         KindRoute53Resolver,
		"example-prefix/EMLARXS9EXAMPLE.2019-11-14-20.RT4KCN4SGK9.gz":                                                                                                                                     KindCloudFront,
		"logs/2013-11-01-21-32-16-E568B2907131C0C0":                                                       KindS3AccessLogs,
		"logs/123456789012/us-east-1/amzn-s3-demo-bucket/2023/10/31/2023-10-31-14-34-29-7B8B6E3F5C0E2A1D": KindS3AccessLogs,
	} {
		if got := Classify(FunctionCloudTrail, key); got != want {
			t.Errorf("Classify(cloudtrail, %q) = %s, want %s", key, got, want)
		}
	}
}
