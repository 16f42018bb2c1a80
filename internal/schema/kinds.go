package schema

import (
	"regexp"
)

// The functions that ship kinds (functions/NAME).
const (
	FunctionCloudTrail = "cloudtrail"
	FunctionBilling    = "billing"
	FunctionAppLogs    = "applogs"
)

// The kinds copied from S3-delivered AWS logs besides CloudTrail and billing
// (docs/design.md, "Kinds").
const (
	KindConfig          Kind = "config"
	KindS3AccessLogs    Kind = "s3-access-logs"
	KindVPCFlowLogs     Kind = "vpc-flow-logs"
	KindELB             Kind = "elb"
	KindCloudFront      Kind = "cloudfront"
	KindWAF             Kind = "waf"
	KindGuardDuty       Kind = "guardduty"
	KindRoute53Resolver Kind = "route53-resolver"
	// KindS3 is an object of a configured source bucket whose key matches no
	// documented layout: shipped all the same, never refused.
	KindS3 Kind = "s3"
)

// Spec is one entry of the registry of kinds: everything the functions,
// verify, the key layout and the template derive about a kind.
type Spec struct {
	Kind Kind
	// Name is what the kind holds, for people.
	Name string
	// Prefix is the first segment of its vault keys.
	Prefix string
	// Function is the function that ships it ("" for kinds no function writes).
	Function string
	// Fallback marks the kind its function gives a key no layout recognises.
	Fallback bool
	// OverwritesExpected marks kinds whose source keys are rewritten by design;
	// verify reports an overwrite of any other kind as suspicious.
	OverwritesExpected bool
	// Layouts are the source key layouts AWS documents for it.
	Layouts []string
	// Samples are source keys at those layouts (tests and docs use them).
	Samples []string
	// pattern recognises its source keys; nil for kinds given by function.
	pattern *regexp.Regexp
}

// Fragments of the patterns: an optional user prefix before AWSLogs/, an
// account (or, for organization trails, an organization and an account).
const (
	anyPrefix = `(?:^|/)`
	awsLogs   = anyPrefix + `AWSLogs/(?:aws-account-id=)?[^/]+/`
)

// registry lists the kinds in the order their patterns are tried: a key is
// the first kind whose pattern matches it.
var registry = []Spec{
	{
		Kind: KindCloudTrailDigest, Name: "CloudTrail digest files", Prefix: "cloudtrail", Function: FunctionCloudTrail,
		Layouts: []string{"[prefix/]AWSLogs/[o-org/]<account>/CloudTrail-Digest/<region>/<yyyy>/<mm>/<dd>/<account>_CloudTrail-Digest_<region>_<trail>_<region>_<yyyymmddThhmmssZ>.json.gz"},
		Samples: []string{"AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2026/11/26/111122223333_CloudTrail-Digest_us-east-1_main_us-east-1_20261126T000000Z.json.gz",
			"trails/AWSLogs/o-abcd123456/111122223333/CloudTrail-Digest/eu-west-1/2026/11/26/111122223333_CloudTrail-Digest_eu-west-1_org_us-east-1_20261126T010000Z.json.gz"},
		pattern: regexp.MustCompile(anyPrefix + `CloudTrail-Digest/`),
	},
	{
		Kind: KindCloudTrail, Name: "CloudTrail log files (management, data and Insights events)", Prefix: "cloudtrail", Function: FunctionCloudTrail,
		Layouts: []string{"[prefix/]AWSLogs/[o-org/]<account>/CloudTrail[-Insight]/<region>/<yyyy>/<mm>/<dd>/<account>_CloudTrail[-Insight]_<region>_<yyyymmddThhmmZ>_<unique>.json.gz"},
		Samples: []string{"AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/26/111122223333_CloudTrail_us-east-1_20261126T0005Z_a1B2c3D4e5F6g7H8.json.gz",
			"org/AWSLogs/o-abcd123456/111122223333/CloudTrail/eu-west-1/2026/11/26/111122223333_CloudTrail_eu-west-1_20261126T0005Z_x.json.gz",
			"AWSLogs/111122223333/CloudTrail-Insight/us-east-1/2026/11/26/111122223333_CloudTrail-Insight_us-east-1_20261126T0005Z_y.json.gz"},
		pattern: regexp.MustCompile(awsLogs + `(?:[^/]+/)?CloudTrail(?:-Insight)?/`),
	},
	{
		Kind: KindConfig, Name: "AWS Config snapshots and configuration history", Prefix: "config", Function: FunctionCloudTrail,
		Layouts: []string{"[prefix/]AWSLogs/<account>/Config/<region>/<yyyy>/<m>/<d>/ConfigSnapshot/<account>_Config_<region>_ConfigSnapshot_<yyyymmddThhmmssZ>_<uuid>.json.gz",
			"[prefix/]AWSLogs/<account>/Config/<region>/<yyyy>/<m>/<d>/ConfigHistory/<account>_Config_<region>_ConfigHistory_<resource-type>_<yyyymmddThhmmssZ>_<yyyymmddThhmmssZ>_<n>.json.gz"},
		Samples: []string{"AWSLogs/111122223333/Config/us-east-1/2026/11/26/ConfigSnapshot/111122223333_Config_us-east-1_ConfigSnapshot_20261126T120000Z_0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0.json.gz",
			"config/AWSLogs/111122223333/Config/eu-central-1/2026/11/26/ConfigHistory/111122223333_Config_eu-central-1_ConfigHistory_AWS::S3::Bucket_20261126T000000Z_20261126T060000Z_1.json.gz"},
		pattern: regexp.MustCompile(awsLogs + `Config/`),
	},
	{
		Kind: KindVPCFlowLogs, Name: "VPC Flow Logs delivered to S3 (text or Parquet, plain or Hive-compatible prefixes)", Prefix: "vpc-flow-logs", Function: FunctionCloudTrail,
		Layouts: []string{"[prefix/]AWSLogs/<account>/vpcflowlogs/<region>/<yyyy>/<mm>/<dd>/[<hh>/]<account>_vpcflowlogs_<region>_<flow-log-id>_<yyyymmddThhmmZ>_<hash>.log.gz",
			"[prefix/]AWSLogs/aws-account-id=<account>/aws-service=vpcflowlogs/aws-region=<region>/year=<yyyy>/month=<mm>/day=<dd>/[hour=<hh>/]<file>"},
		Samples: []string{"AWSLogs/111122223333/vpcflowlogs/us-east-1/2026/11/26/111122223333_vpcflowlogs_us-east-1_fl-0123456789abcdef0_20261126T0005Z_abcdef12.log.gz",
			"flows/AWSLogs/aws-account-id=111122223333/aws-service=vpcflowlogs/aws-region=us-east-1/year=2026/month=11/day=26/hour=00/111122223333_vpcflowlogs_us-east-1_fl-0123456789abcdef0_20261126T0005Z_abcdef12.log.parquet"},
		pattern: regexp.MustCompile(awsLogs + `(?:aws-service=)?vpcflowlogs/`),
	},
	{
		Kind: KindELB, Name: "Elastic Load Balancing access and connection logs (ALB, NLB, CLB)", Prefix: "elb", Function: FunctionCloudTrail,
		Layouts: []string{"[prefix/]AWSLogs/<account>/elasticloadbalancing/<region>/<yyyy>/<mm>/<dd>/<account>_elasticloadbalancing_<region>_<load-balancer-id>_<end-time>_<ip>_<random>.log[.gz]"},
		Samples: []string{"AWSLogs/111122223333/elasticloadbalancing/us-east-1/2026/11/26/111122223333_elasticloadbalancing_us-east-1_app.my-alb.1234567890abcdef_20261126T0005Z_198.51.100.1_abcd1234.log.gz",
			"nlb/AWSLogs/111122223333/elasticloadbalancing/us-east-1/2026/11/26/111122223333_elasticloadbalancing_us-east-1_net.my-nlb.1234567890abcdef_20261126T0005Z_abcd1234.log.gz",
			"AWSLogs/111122223333/elasticloadbalancing/us-east-1/2026/11/26/111122223333_elasticloadbalancing_us-east-1_my-clb_20261126T0005Z_198.51.100.1_abcd1234.log"},
		pattern: regexp.MustCompile(awsLogs + `elasticloadbalancing/`),
	},
	{
		Kind: KindWAF, Name: "AWS WAF web ACL logs", Prefix: "waf", Function: FunctionCloudTrail,
		Layouts: []string{"[prefix/]AWSLogs/<account>/WAFLogs/<region or cloudfront>/<web-acl-name>/<yyyy>/<mm>/<dd>/<hh>/<mm>/<account>_waflogs_<region>_<web-acl-name>_<yyyymmddThhmmZ>_<hash>.log.gz"},
		Samples: []string{"AWSLogs/111122223333/WAFLogs/us-east-1/my-acl/2026/11/26/00/05/111122223333_waflogs_us-east-1_my-acl_20261126T0005Z_abcd1234.log.gz",
			"AWSLogs/111122223333/WAFLogs/cloudfront/edge-acl/2026/11/26/00/05/111122223333_waflogs_cloudfront_edge-acl_20261126T0005Z_abcd1234.log.gz"},
		pattern: regexp.MustCompile(awsLogs + `WAFLogs/`),
	},
	{
		Kind: KindGuardDuty, Name: "GuardDuty findings exported to S3", Prefix: "guardduty", Function: FunctionCloudTrail,
		Layouts: []string{"[prefix/]AWSLogs/<account>/GuardDuty/<region>/<yyyy>/<mm>/<dd>/<uuid>.jsonl.gz"},
		Samples: []string{"AWSLogs/111122223333/GuardDuty/us-east-1/2026/11/26/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0.jsonl.gz",
			"findings/AWSLogs/111122223333/GuardDuty/eu-west-1/2026/11/26/a5b6c7d8-e9f0-0b1c-2d3e-4f5061728394.jsonl.gz"},
		pattern: regexp.MustCompile(awsLogs + `GuardDuty/`),
	},
	{
		Kind: KindRoute53Resolver, Name: "Route 53 Resolver query logs", Prefix: "route53-resolver", Function: FunctionCloudTrail,
		Layouts: []string{"[prefix/]AWSLogs/<account>/vpcdnsquerylogs/<vpc-id>/<yyyy>/<mm>/<dd>/<account>_vpcdnsquerylogs_<vpc-id>_<yyyymmddThhmmZ>_<hash>.log.gz"},
		Samples: []string{"AWSLogs/111122223333/vpcdnsquerylogs/vpc-0123456789abcdef0/2026/11/26/111122223333_vpcdnsquerylogs_vpc-0123456789abcdef0_20261126T0005Z_abcd1234.log.gz"},
		pattern: regexp.MustCompile(awsLogs + `vpcdnsquerylogs/`),
	},
	{
		Kind: KindCloudFront, Name: "CloudFront standard (access) logs", Prefix: "cloudfront", Function: FunctionCloudTrail,
		Layouts: []string{"[prefix/]<distribution-id>.<yyyy-mm-dd-hh>.<unique-id>.gz"},
		Samples: []string{"EMLARXS9EXAMPLE.2026-11-26-20.RT4KCN4SGK9.gz",
			"cf/www/E2QWRUHEXAMPLE.2026-11-26-00.a1b2c3d4.gz"},
		pattern: regexp.MustCompile(anyPrefix + `E[A-Z0-9]{6,20}\.\d{4}-\d{2}-\d{2}-\d{2}\.[A-Za-z0-9]+(?:\.gz)?$`),
	},
	{
		Kind: KindS3AccessLogs, Name: "S3 server access logs (simple and date-partitioned prefixes)", Prefix: "s3-access-logs", Function: FunctionCloudTrail,
		Layouts: []string{"[target-prefix]<yyyy>-<mm>-<dd>-<hh>-<mm>-<ss>-<unique-string>",
			"[target-prefix]<source-account>/<source-region>/<source-bucket>/<yyyy>/<mm>/<dd>/<yyyy>-<mm>-<dd>-<hh>-<mm>-<ss>-<unique-string>"},
		Samples: []string{"logs/2026-11-26-00-05-12-0123456789ABCDEF",
			"access/111122223333/us-east-1/app-bucket/2026/11/26/2026-11-26-00-05-12-FEDCBA9876543210"},
		pattern: regexp.MustCompile(anyPrefix + `[^/]*\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}-[0-9A-F]{16}$`),
	},
	{
		Kind: KindBilling, Name: "billing reports: CUR 2.0 and Data Exports, legacy CUR, their manifests", Prefix: "billing", Function: FunctionBilling,
		Fallback: true, OverwritesExpected: true,
		Layouts: []string{"[prefix/]<export-name>/data/BILLING_PERIOD=<yyyy-mm>/<file>",
			"[prefix/]<export-name>/metadata/BILLING_PERIOD=<yyyy-mm>/<export-name>-Manifest.json",
			"[prefix/]<report-name>/<yyyymmdd-yyyymmdd>/[<assembly-id>/]<report-name>-<n>.csv.gz and <report-name>-Manifest.json",
			"any other key of a billing source bucket (report layouts are the user's choice)"},
		Samples: []string{"cur/daily/data/BILLING_PERIOD=2026-11/daily-00001.snappy.parquet",
			"cur/daily/metadata/BILLING_PERIOD=2026-11/daily-Manifest.json",
			"legacy/report/20261101-20261201/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0/report-1.csv.gz",
			"legacy/report/20261101-20261201/report-Manifest.json"},
		pattern: regexp.MustCompile(anyPrefix + `(?:(?:data|metadata)/BILLING_PERIOD=\d{4}-\d{2}/|\d{8}-\d{8}/)`),
	},
	{
		Kind: KindAppLogs, Name: "CloudWatch Logs subscription payloads as gzip NDJSON", Prefix: "applogs", Function: FunctionAppLogs,
		Layouts: []string{"applogs/<owner-account>/<log-group>/<yyyy>/<mm>/<dd>/<log-stream>/<first-event-id>.ndjson.gz (built, not copied)"},
	},
	{
		Kind: KindS3, Name: "any other object of a configured source bucket", Prefix: "s3", Function: FunctionCloudTrail,
		Fallback: true,
		Layouts:  []string{"any key no layout above recognises"},
		Samples:  []string{"exports/2026/report.csv", "a b+c%20é.txt"},
	},
	{
		Kind: KindDrill, Name: "the canaries `logvault drill` writes (overwriting them is the drill's point)", Prefix: "logvault-drill",
		OverwritesExpected: true,
	},
}

// Kinds returns the registry, in recognition order.
func Kinds() []Spec {
	return append([]Spec(nil), registry...)
}

// Lookup returns kind k's entry.
func Lookup(k Kind) (Spec, bool) {
	for _, s := range registry {
		if s.Kind == k {
			return s, true
		}
	}
	return Spec{}, false
}

// recognize returns the kind, among those function ships, whose documented
// layout key matches, if any. Only function's own kinds are tried: a billing
// bucket's key that looks like a CloudTrail log, or a trail bucket's key with
// a billing period in it, stays with the function's kinds (an attacker who
// names keys must not move them to a kind whose overwrites are expected).
func recognize(function, key string) (Kind, bool) {
	for _, s := range registry {
		if s.Function == function && s.pattern != nil && s.pattern.MatchString(key) {
			return s.Kind, true
		}
	}
	return "", false
}

// Classify is the kind function ships key as: the kind its layout is, else
// the function's fallback kind (billing for the billing function, s3 for the
// cloudtrail function).
func Classify(function, key string) Kind {
	if k, ok := recognize(function, key); ok {
		return k
	}
	return FallbackKind(function)
}

// FallbackKind is the kind function gives a key no layout recognises ("" for
// a function that copies nothing).
func FallbackKind(function string) Kind {
	for _, s := range registry {
		if s.Function == function && s.Fallback {
			return s.Kind
		}
	}
	return ""
}

// Classifier returns Classify bound to function, for a copier.
func Classifier(function string) func(key string) Kind {
	return func(key string) Kind { return Classify(function, key) }
}

// Copied tells the kinds copied byte for byte from a source bucket, under
// <prefix>/<source-bucket>/<source-key>.
func Copied(k Kind) bool {
	s, ok := Lookup(k)
	return ok && s.Function != "" && s.Function != FunctionAppLogs
}

// Functions lists the functions that ship kinds, in registry order.
func Functions() []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range registry {
		if s.Function != "" && !seen[s.Function] {
			seen[s.Function] = true
			out = append(out, s.Function)
		}
	}
	return out
}

// VaultKind is the kind a vault key's layout gives, or "" for a key outside
// the layout. It follows the key, not the metadata, which whoever writes a
// version chooses: kinds sharing a prefix (CloudTrail logs and digests) are
// told apart by the source key after the bucket.
func VaultKind(vaultKey string) Kind {
	first, _, rest, ok := SplitKey(vaultKey)
	if !ok {
		return ""
	}
	var primary Kind
	for _, s := range registry {
		if s.Prefix != first {
			continue
		}
		if s.pattern != nil && s.pattern.MatchString(rest) && s.Kind != Kind(first) {
			return s.Kind
		}
		if s.Kind == Kind(first) || primary == "" {
			primary = s.Kind
		}
	}
	return primary
}

// OverwritesExpected tells whether kind's keys are rewritten by design.
func OverwritesExpected(k Kind) bool {
	s, ok := Lookup(k)
	return ok && s.OverwritesExpected
}
