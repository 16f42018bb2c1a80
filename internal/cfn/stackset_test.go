package cfn_test

// template.yaml deployed as a service-managed StackSet: one stack per account
// and region of an Organization, with the same parameters everywhere. What a
// DevOps engineer checks before rolling it out:
//   - with RegionInRoleNames=true every IAM role name carries the region, fits
//     IAM's 64 characters for the longest NamePrefix and region, and differs
//     between two regions of one account (IAM names are global to an account);
//   - the output FunctionRoleNames lists exactly the function roles the stack
//     created, by the names infra/vault.yaml's FunctionRoleNames takes;
//   - with AccountLogsSubscription=true one account policy ships every log
//     group to the applogs function, but logvault's own;
//   - with CloudTrailBuckets or BillingBuckets empty (a member account of an
//     organization trail) nothing grants access to arn:aws:s3::: (a bucket
//     without a name) and nothing refers to a resource that is not created;
//   - no resource of a global namespace keeps a fixed name in a second region.
//
// Outputs may carry a Condition attribute: cfn.Resolve leaves out those
// whose condition is false, as CloudFormation does.

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/logvault/logvault/infra"
	"github.com/logvault/logvault/internal/cfn"
)

const (
	ssAcct   = "222222222222"
	ssVault  = "111111111111"
	ssWriter = "arn:aws:iam::" + ssVault + ":role/logvault-vault-writer"
	// The longest region names: 15 characters is the most any region has.
	ssLongestRegion = "us-isof-south-1"
)

// ssLongRegions are region names of every partition, the longest first.
var ssLongRegions = []string{ssLongestRegion, "ap-southeast-5", "eusc-de-east-1", "cn-northwest-1", "us-gov-west-1", "eu-west-1"}

// ssFunctionRoles are the function roles (the vault trusts them) and the
// condition each exists under; BatchOperationsRole is named too, but never
// assumes the writer.
var ssFunctionRoles = []struct{ id, function string }{
	{"CloudTrailFunctionRole", "cloudtrail"},
	{"BillingFunctionRole", "billing"},
	{"AppLogsFunctionRole", "applogs"},
	{"ReconcileFunctionRole", "reconcile"},
}

// ssStack is one stack of the StackSet: its account, region, partition and
// parameters (the required ones are filled in by ssResolve).
type ssStack struct {
	region, partition string
	params            map[string]string
}

// ssResolved is template.yaml resolved for one stack.
type ssResolved struct {
	*tplLoaded
}

// samResolve resolves template.yaml with v, as CloudFormation deploys it:
// resources and outputs whose condition is false are left out.
func samResolve(t *testing.T, v tplValues) *ssResolved {
	t.Helper()
	l := tplLoad(t, samFile(t, "template.yaml"), v)
	return &ssResolved{tplLoaded: l}
}

// ssRawTemplate is template.yaml as generic JSON, nothing resolved.
func ssRawTemplate(t *testing.T) map[string]any {
	t.Helper()
	js, err := cfn.JSON(samFile(t, "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(js, &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

// ssResolve resolves template.yaml for a stack as CloudFormation would: a
// first pass learns the names the stack gives its roles and functions, the
// second gives Ref and Fn::GetAtt what CloudFormation returns for them (Ref of
// a role is its RoleName), and, for every resource the stack does not create,
// a value marked "dangling:", which no resource or output may then contain.
func ssResolve(t *testing.T, s ssStack) *ssResolved {
	t.Helper()
	if s.partition == "" {
		s.partition = "aws"
	}
	params := map[string]string{
		"VaultBucket":        "acme-logvault-vault",
		"VaultRoleArn":       strings.Replace(ssWriter, "arn:aws:", "arn:"+s.partition+":", 1),
		"VaultExternalId":    "acme-logvault-external-id",
		"VaultExpectedOwner": ssVault,
	}
	for k, v := range s.params {
		params[k] = v
	}
	raw := ssRawTemplate(t)
	resources, _ := raw["Resources"].(map[string]any)
	v := tplValues{
		Params: params,
		Pseudo: map[string]string{"AWS::Partition": s.partition, "AWS::AccountId": ssAcct, "AWS::Region": s.region, "AWS::StackName": "StackSet-logvault-1a2b3c"},
		Refs:   map[string]string{},
		Attrs:  map[string]string{},
	}
	for id := range resources {
		v.Refs[id] = "ref-" + id
		v.Attrs[id+".Arn"] = "arn:" + s.partition + ":service:" + s.region + ":" + ssAcct + ":" + id
		v.Attrs[id+".QueueName"] = "StackSet-logvault-" + id + "-1A2B3C"
	}
	first := samResolve(t, v)
	for id, r := range first.GetAllIAMRoleResources() {
		if r.RoleName != nil {
			v.Refs[id] = *r.RoleName
			v.Attrs[id+".Arn"] = "arn:" + s.partition + ":iam::" + ssAcct + ":role/" + *r.RoleName
		}
	}
	for id, f := range first.GetAllServerlessFunctionResources() {
		if f.FunctionName != nil {
			v.Refs[id] = *f.FunctionName
			v.Attrs[id+".Arn"] = "arn:" + s.partition + ":lambda:" + s.region + ":" + ssAcct + ":function:" + *f.FunctionName
		}
	}
	created, _ := first.Raw["Resources"].(map[string]any)
	for id := range resources {
		if _, ok := created[id]; !ok {
			v.Refs[id] = "dangling:" + id
			v.Attrs[id+".Arn"] = "dangling:" + id + ".Arn"
			v.Attrs[id+".QueueName"] = "dangling:" + id + ".QueueName"
		}
	}
	return samResolve(t, v)
}

// ssStrings calls f with every string of a generic value and its path.
func ssStrings(v any, path string, f func(path, s string)) {
	switch x := v.(type) {
	case string:
		f(path, x)
	case map[string]any:
		for k, e := range x {
			ssStrings(e, path+"/"+k, f)
		}
	case []any:
		for i, e := range x {
			ssStrings(e, fmt.Sprintf("%s/%d", path, i), f)
		}
	}
}

// ssRoleNames are the RoleName of every role the stack creates, by logical id.
func ssRoleNames(t *testing.T, l *ssResolved) map[string]string {
	t.Helper()
	out := map[string]string{}
	for id, r := range l.GetAllIAMRoleResources() {
		if r.RoleName == nil {
			t.Errorf("%s has no RoleName: the vault could not name it before the stack exists", id)
			continue
		}
		out[id] = *r.RoleName
	}
	return out
}

// iamName is IAM's rule for a role name.
var iamName = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)

// ssMaxLength is the longest value a parameter's AllowedPattern accepts
// (made of "a"s), up to 200.
func ssMaxLength(t *testing.T, pattern string) int {
	t.Helper()
	re := regexp.MustCompile(pattern)
	longest := 0
	for n := 1; n <= 200; n++ {
		if re.MatchString(strings.Repeat("a", n)) {
			longest = n
		}
	}
	return longest
}

// TestStackSetRoleNames: with RegionInRoleNames=true each role is
// <NamePrefix>-<function>-<region>, within IAM's 64 characters for the
// longest NamePrefix the template accepts and the longest region name, and
// the roles of two regions of one account differ; with the default, the
// names stay those of a single-region stack.
func TestStackSetRoleNames(t *testing.T) {
	raw := ssRawTemplate(t)
	prefixPattern, _ := rawGet(raw, "Parameters", "NamePrefix", "AllowedPattern").(string)
	longest := ssMaxLength(t, prefixPattern)
	if longest == 0 || longest == 200 {
		t.Fatalf("NamePrefix AllowedPattern %q accepts prefixes of up to %d characters", prefixPattern, longest)
	}
	p, _ := rawGet(raw, "Parameters", "RegionInRoleNames").(map[string]any)
	if p["Default"] != "false" || !slices.Equal(tplStrings(p["AllowedValues"]), []string{"false", "true"}) {
		t.Errorf("RegionInRoleNames Default %v AllowedValues %v, want \"false\" of [false true] (existing stacks keep their role names)", p["Default"], p["AllowedValues"])
	}
	suffixes := map[string]string{
		"CloudTrailFunctionRole": "cloudtrail", "BillingFunctionRole": "billing", "AppLogsFunctionRole": "applogs",
		"ReconcileFunctionRole": "reconcile", "BatchOperationsRole": "batch-operations",
	}
	for _, c := range []struct {
		name            string
		prefix          string
		regionInNames   string
		regions         []string
		wantRegionInAll bool
	}{
		{"default: single-region names", "", "", []string{"us-east-1"}, false},
		{"RegionInRoleNames=false", "logvault", "false", []string{"us-east-1"}, false},
		{"two regions", "logvault", "true", []string{"us-east-1", "eu-west-1"}, true},
		{"longest prefix, longest regions", strings.Repeat("p", longest), "true", ssLongRegions, true},
		{"GovCloud and China", "acme-lv", "true", []string{"us-gov-west-1", "cn-northwest-1"}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			prefix := c.prefix
			if prefix == "" {
				prefix = "logvault"
			}
			byRegion := map[string]map[string]string{}
			for _, region := range c.regions {
				params := map[string]string{"CloudTrailBuckets": "acme-trail", "BillingBuckets": "acme-cur"}
				if c.prefix != "" {
					params["NamePrefix"] = c.prefix
				}
				if c.regionInNames != "" {
					params["RegionInRoleNames"] = c.regionInNames
				}
				partition := "aws"
				if strings.HasPrefix(region, "cn-") {
					partition = "aws-cn"
				} else if strings.HasPrefix(region, "us-gov-") {
					partition = "aws-us-gov"
				}
				names := ssRoleNames(t, ssResolve(t, ssStack{region: region, partition: partition, params: params}))
				if len(names) != len(suffixes) {
					t.Errorf("%s: roles %v, want %d", region, names, len(suffixes))
				}
				for id, name := range names {
					fn, ok := suffixes[id]
					if !ok {
						t.Errorf("%s: role %s (%s) is not one the test knows", region, id, name)
						continue
					}
					want := prefix + "-" + fn
					if c.wantRegionInAll {
						want += "-" + region
					}
					if name != want {
						t.Errorf("%s: %s RoleName %q, want %q", region, id, name, want)
					}
					if !iamName.MatchString(name) {
						t.Errorf("%s: %s RoleName %q (%d characters) is not a valid IAM role name (64 at most)", region, id, name, len(name))
					}
				}
				byRegion[region] = names
			}
			if !c.wantRegionInAll {
				return
			}
			for i, a := range c.regions {
				for _, b := range c.regions[i+1:] {
					for id, name := range byRegion[a] {
						for id2, name2 := range byRegion[b] {
							if strings.EqualFold(name, name2) { // IAM names ignore case
								t.Errorf("%s %s and %s %s are both named %q: the second region's stack would fail", a, id, b, id2, name)
							}
						}
					}
				}
			}
		})
	}
}

// TestStackSetFunctionRoleNamesOutput: the output FunctionRoleNames is the
// names of the function roles the stack creates (Ref of each role), ready
// for infra/vault.yaml's FunctionRoleNames; FunctionRoleArns the same roles'
// ARNs; and each role's own outputs exist only with the role.
func TestStackSetFunctionRoleNamesOutput(t *testing.T) {
	vaultPattern := ""
	if js, err := cfn.JSON(infra.VaultTemplate); err == nil {
		var vault map[string]any
		if json.Unmarshal(js, &vault) == nil {
			vaultPattern, _ = rawGet(vault, "Parameters", "FunctionRoleNames", "AllowedPattern").(string)
		}
	}
	if vaultPattern == "" {
		t.Log("infra/vault.yaml has no FunctionRoleNames parameter (yet): the names are checked against IAM's rules only")
	}
	for _, c := range []struct {
		name          string
		trail, bill   string
		regionInNames string
		region        string
		want          []string // function roles, in the output's order
	}{
		{"single region", "acme-trail", "acme-cur", "false", "us-east-1", []string{"logvault-cloudtrail", "logvault-billing", "logvault-applogs", "logvault-reconcile"}},
		{"StackSet region", "acme-trail", "acme-cur", "true", "eu-west-1",
			[]string{"logvault-cloudtrail-eu-west-1", "logvault-billing-eu-west-1", "logvault-applogs-eu-west-1", "logvault-reconcile-eu-west-1"}},
		{"member account: no source buckets", "", "", "true", "eu-west-1", []string{"logvault-applogs-eu-west-1"}},
		{"CloudTrail buckets only", "acme-trail", "", "true", "us-east-1", []string{"logvault-cloudtrail-us-east-1", "logvault-applogs-us-east-1", "logvault-reconcile-us-east-1"}},
		{"billing buckets only", "", "acme-cur", "false", "us-east-1", []string{"logvault-billing", "logvault-applogs", "logvault-reconcile"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			l := ssResolve(t, ssStack{region: c.region, params: map[string]string{
				"CloudTrailBuckets": c.trail, "BillingBuckets": c.bill, "RegionInRoleNames": c.regionInNames}})
			names := ssRoleNames(t, l)
			var created, arns []string
			for _, r := range ssFunctionRoles {
				if n, ok := names[r.id]; ok {
					created = append(created, n)
					arns = append(arns, "arn:aws:iam::"+ssAcct+":role/"+n)
				}
				out := r.id + "Arn"
				_, hasOutput := l.Outputs[out]
				if _, hasRole := names[r.id]; hasOutput != hasRole {
					t.Errorf("output %s present %v, role %s created %v", out, hasOutput, r.id, hasRole)
				}
			}
			if !slices.Equal(created, c.want) {
				t.Errorf("function roles %v, want %v", created, c.want)
			}
			o, ok := l.Outputs["FunctionRoleNames"]
			if !ok {
				t.Fatal("no output FunctionRoleNames")
			}
			if got := fmt.Sprint(o.Value); got != strings.Join(c.want, ",") {
				t.Errorf("output FunctionRoleNames = %q, want %q (the function roles' names)", got, strings.Join(c.want, ","))
			}
			if o.Description == nil || !strings.Contains(*o.Description, "FunctionRoleNames") {
				t.Errorf("output FunctionRoleNames' description %s does not say it is for infra/vault.yaml's FunctionRoleNames", tplPtr(o.Description))
			}
			if got := fmt.Sprint(l.Outputs["FunctionRoleArns"].Value); got != strings.Join(arns, ",") {
				t.Errorf("output FunctionRoleArns = %q, want %q", got, strings.Join(arns, ","))
			}
			for _, id := range []string{"FunctionRoleArns", "CloudTrailFunctionRoleArn", "BillingFunctionRoleArn", "AppLogsFunctionRoleArn", "ReconcileFunctionRoleArn"} {
				if o, ok := l.Outputs[id]; ok && (o.Description == nil || !strings.Contains(*o.Description, "FunctionRoleNames")) {
					t.Errorf("output %s's description %s does not point to FunctionRoleNames", id, tplPtr(o.Description))
				}
			}
			for _, n := range c.want {
				if !iamName.MatchString(n) {
					t.Errorf("%q is not an IAM role name", n)
				}
				if vaultPattern != "" && !regexp.MustCompile(vaultPattern).MatchString(n) {
					t.Errorf("%q does not match infra/vault.yaml's FunctionRoleNames pattern %q", n, vaultPattern)
				}
			}
		})
	}
}

// TestStackSetAccountLogsSubscription: AccountLogsSubscription=true creates
// one subscription filter account policy, every log group of the account
// and region to the applogs function, but logvault's own log groups (all
// four, whichever functions the stack has), which the applogs function's
// Lambda permission lets CloudWatch Logs invoke; by default there is none.
func TestStackSetAccountLogsSubscription(t *testing.T) {
	raw := ssRawTemplate(t)
	p, _ := rawGet(raw, "Parameters", "AccountLogsSubscription").(map[string]any)
	if p["Default"] != "false" || !slices.Equal(tplStrings(p["AllowedValues"]), []string{"false", "true"}) {
		t.Errorf("AccountLogsSubscription Default %v AllowedValues %v, want \"false\" of [false true]", p["Default"], p["AllowedValues"])
	}
	if d, _ := p["Description"].(string); !strings.Contains(d, "one subscription filter") {
		t.Errorf("AccountLogsSubscription's description does not say an account has one subscription filter account policy per region: %q", d)
	}
	notIn := regexp.MustCompile(`^LogGroupName NOT IN (\[.*\])$`)
	for _, c := range []struct {
		name, subscribe, prefix, trail, bill, region string
	}{
		{"default: none", "", "", "acme-trail", "acme-cur", "us-east-1"},
		{"false", "false", "", "acme-trail", "acme-cur", "us-east-1"},
		{"true", "true", "", "acme-trail", "acme-cur", "us-east-1"},
		{"true, member account without source buckets", "true", "", "", "", "eu-west-1"},
		{"true, another prefix", "true", "acme-lv", "acme-trail", "", "ap-southeast-5"},
	} {
		t.Run(c.name, func(t *testing.T) {
			params := map[string]string{"CloudTrailBuckets": c.trail, "BillingBuckets": c.bill, "RegionInRoleNames": "true"}
			if c.subscribe != "" {
				params["AccountLogsSubscription"] = c.subscribe
			}
			prefix := "logvault"
			if c.prefix != "" {
				params["NamePrefix"] = c.prefix
				prefix = c.prefix
			}
			l := ssResolve(t, ssStack{region: c.region, params: params})
			policies := l.GetAllLogsAccountPolicyResources()
			if c.subscribe != "true" {
				if len(policies) != 0 {
					t.Errorf("account policies %v without AccountLogsSubscription=true", policies)
				}
				return
			}
			if len(policies) != 1 {
				t.Fatalf("account policies %d, want 1", len(policies))
			}
			id := "AppLogsAccountSubscription"
			ap, ok := policies[id]
			if !ok {
				t.Fatalf("account policies %v, want %s", policies, id)
			}
			if ap.PolicyType != "SUBSCRIPTION_FILTER_POLICY" || tplPtr(ap.Scope) != "ALL" {
				t.Errorf("%s PolicyType %s Scope %s, want SUBSCRIPTION_FILTER_POLICY ALL", id, ap.PolicyType, tplPtr(ap.Scope))
			}
			applogs := samFunction(t, l.tplLoaded, "AppLogsFunction")
			fnArn := "arn:aws:lambda:" + c.region + ":" + ssAcct + ":function:" + tplPtr(applogs.FunctionName)
			var doc map[string]any
			if err := json.Unmarshal([]byte(ap.PolicyDocument), &doc); err != nil {
				t.Fatalf("%s PolicyDocument %q is not JSON: %v", id, ap.PolicyDocument, err)
			}
			if doc["DestinationArn"] != fnArn {
				t.Errorf("%s DestinationArn %v, want the applogs function %s", id, doc["DestinationArn"], fnArn)
			}
			if fp, ok := doc["FilterPattern"]; ok && fp != "" {
				t.Errorf("%s FilterPattern %v, want every event", id, fp)
			}
			for k := range doc {
				if k != "DestinationArn" && k != "FilterPattern" {
					t.Errorf("%s PolicyDocument has %s: a Lambda destination takes DestinationArn and FilterPattern only", id, k)
				}
			}

			// The exclusions: the four functions' log groups, created or not.
			m := notIn.FindStringSubmatch(tplPtr(ap.SelectionCriteria))
			if m == nil {
				t.Fatalf("%s SelectionCriteria %q, want LogGroupName NOT IN [...]", id, tplPtr(ap.SelectionCriteria))
			}
			var excluded []string
			if err := json.Unmarshal([]byte(m[1]), &excluded); err != nil {
				t.Fatalf("%s SelectionCriteria's list %s: %v", id, m[1], err)
			}
			var want []string
			for _, f := range []string{"cloudtrail", "billing", "applogs", "reconcile"} {
				want = append(want, "/aws/lambda/"+prefix+"-"+f)
			}
			sort.Strings(excluded)
			sort.Strings(want)
			if !slices.Equal(excluded, want) {
				t.Errorf("%s excludes %q, want logvault's log groups %q", id, excluded, want)
			}
			// ... which are the log groups the functions log to.
			for gid, g := range l.GetAllLogsLogGroupResources() {
				if !slices.Contains(excluded, tplPtr(g.LogGroupName)) {
					t.Errorf("log group %s (%s) is shipped by the account policy: a loop", gid, tplPtr(g.LogGroupName))
				}
			}
			for fid, f := range l.GetAllServerlessFunctionResources() {
				if g := "/aws/lambda/" + tplPtr(f.FunctionName); !slices.Contains(excluded, g) {
					t.Errorf("function %s logs to %s, which the account policy ships", fid, g)
				}
			}

			// CloudWatch Logs may invoke the function for any log group of
			// this account and region, and the policy is created after that.
			if !slices.Contains(ap.AWSCloudFormationDependsOn, "AppLogsInvokePermission") {
				t.Errorf("%s DependsOn %v, want AppLogsInvokePermission", id, ap.AWSCloudFormationDependsOn)
			}
			perm, err := l.GetLambdaPermissionWithName("AppLogsInvokePermission")
			if err != nil {
				t.Fatal(err)
			}
			if perm.Principal != "logs.amazonaws.com" || perm.Action != "lambda:InvokeFunction" || perm.FunctionName != fnArn || tplPtr(perm.SourceAccount) != ssAcct {
				t.Errorf("AppLogsInvokePermission %+v: want logs.amazonaws.com may invoke the applogs function, from this account", perm)
			}
			for _, group := range []string{"/ecs/orders", "/aws/lambda/checkout", "created-later"} {
				arn := "arn:aws:logs:" + c.region + ":" + ssAcct + ":log-group:" + group + ":*"
				if !ssGlob(tplPtr(perm.SourceArn), arn) {
					t.Errorf("AppLogsInvokePermission SourceArn %s does not cover %s", tplPtr(perm.SourceArn), arn)
				}
			}
			for _, arn := range []string{
				"arn:aws:logs:" + c.region + ":333333333333:log-group:/ecs/orders:*",
				"arn:aws:logs:us-west-2:" + ssAcct + ":log-group:/ecs/orders:*",
			} {
				if c.region != "us-west-2" && ssGlob(tplPtr(perm.SourceArn), arn) {
					t.Errorf("AppLogsInvokePermission SourceArn %s covers %s, another account's or region's", tplPtr(perm.SourceArn), arn)
				}
			}
		})
	}
}

// ssGlob matches s against a pattern whose only wildcard is "*".
func ssGlob(pattern, s string) bool {
	return regexp.MustCompile("^" + strings.ReplaceAll(regexp.QuoteMeta(pattern), `\*`, ".*") + "$").MatchString(s)
}

// TestStackSetOptionalBuckets: CloudTrailBuckets and BillingBuckets may be
// empty (a member account whose trail is an organization trail delivering
// to the log archive account). Without a function's buckets its queue,
// rule, role, log group, function and alarms are not created; without
// either, neither are the reconcile function nor the Batch Operations role;
// nothing grants access to a bucket without a name, and no resource or
// output refers to a resource the stack does not create.
func TestStackSetOptionalBuckets(t *testing.T) {
	cloudtrail := []string{"CloudTrailDeadLetterQueue", "CloudTrailQueue", "CloudTrailQueuePolicy", "CloudTrailObjectCreatedRule", "CloudTrailFunctionRole",
		"CloudTrailFunctionLogs", "CloudTrailFunction", "CloudTrailDeadLetterQueueAlarm", "CloudTrailFunctionErrorsAlarm"}
	billing := []string{"BillingDeadLetterQueue", "BillingQueue", "BillingQueuePolicy", "BillingObjectCreatedRule", "BillingFunctionRole",
		"BillingFunctionLogs", "BillingFunction", "BillingDeadLetterQueueAlarm", "BillingFunctionErrorsAlarm"}
	either := []string{"ReconcileFunctionRole", "ReconcileFunctionLogs", "ReconcileFunction", "ReconcileMissingAlarm", "ReconcileDiffersAlarm",
		"ReconcileFunctionErrorsAlarm", "BatchOperationsRole"}
	always := []string{"AppLogsDeadLetterQueue", "AppLogsFunctionRole", "AppLogsFunctionLogs", "AppLogsFunction", "AppLogsInvokePermission",
		"AppLogsDeadLetterQueueAlarm", "AppLogsFunctionErrorsAlarm"}
	emptyBucketARN := regexp.MustCompile(`^arn:[a-z-]+:s3:::(/.*)?$`)
	for _, c := range []struct {
		trail, bill, partition, batch string
	}{
		{"", "", "aws", ""},
		{"", "", "aws", "acme-batch"},
		{"", "acme-cur", "aws", "acme-batch"},
		{"acme-trail", "", "aws", "acme-batch"},
		{"acme-trail,acme-config", "", "aws-us-gov", ""},
		{"", "acme-cur,acme-cur-legacy", "aws-cn", ""},
		{"acme-trail", "acme-cur", "aws", "acme-batch"},
	} {
		t.Run(fmt.Sprintf("CloudTrailBuckets=%q BillingBuckets=%q BatchOperationsBucket=%q %s", c.trail, c.bill, c.batch, c.partition), func(t *testing.T) {
			l := ssResolve(t, ssStack{region: "us-east-1", partition: c.partition, params: map[string]string{
				"CloudTrailBuckets": c.trail, "BillingBuckets": c.bill, "BatchOperationsBucket": c.batch,
				"RegionInRoleNames": "true", "AccountLogsSubscription": "true", "AppLogGroupNames": "/ecs/orders"}})
			resources, _ := l.Raw["Resources"].(map[string]any)
			want := map[string]bool{}
			for _, id := range always {
				want[id] = true
			}
			for _, id := range cloudtrail {
				want[id] = c.trail != ""
			}
			for _, id := range billing {
				want[id] = c.bill != ""
			}
			for _, id := range either {
				want[id] = c.trail != "" || c.bill != ""
			}
			for id, w := range want {
				if _, got := resources[id]; got != w {
					t.Errorf("%s created %v, want %v", id, got, w)
				}
			}

			// No ARN of a bucket without a name, no empty bucket name in a
			// rule, no reference to a resource the stack does not create.
			check := func(where string, v any) {
				ssStrings(v, where, func(path, s string) {
					if emptyBucketARN.MatchString(s) {
						t.Errorf("%s: %q is the ARN of a bucket without a name", path, s)
					}
					if strings.Contains(s, "dangling:") {
						t.Errorf("%s: %q refers to a resource the stack does not create", path, s)
					}
				})
			}
			check("Resources", resources)
			check("Outputs", l.Raw["Outputs"])
			for id := range l.GetAllEventsRuleResources() {
				names, _ := rawGet(resources[id], "Properties", "EventPattern", "detail", "bucket", "name").([]any)
				for _, n := range names {
					if n == "" {
						t.Errorf("%s matches a bucket named \"\"", id)
					}
				}
			}

			// The functions' S3 grants are their own buckets', nothing else.
			bucketsOf := map[string][]string{"CloudTrailFunctionRole": ssList(c.trail), "BillingFunctionRole": ssList(c.bill),
				"ReconcileFunctionRole": append(ssList(c.trail), ssList(c.bill)...), "AppLogsFunctionRole": nil}
			for role, buckets := range bucketsOf {
				r, err := l.GetIAMRoleWithName(role)
				if err != nil {
					continue // not created: checked above
				}
				grants, _ := tplGrants(t, r.Policies)
				var got []string
				for _, g := range grants {
					if strings.HasPrefix(g.action, "s3:") {
						got = append(got, g.resource)
					}
				}
				for _, res := range got {
					name := strings.TrimPrefix(res, "arn:"+c.partition+":s3:::")
					name, _, _ = strings.Cut(name, "/")
					if !slices.Contains(buckets, name) {
						t.Errorf("%s grants on %s, not one of its buckets %v", role, res, buckets)
					}
				}
				if len(buckets) == 0 && len(got) != 0 {
					t.Errorf("%s has S3 grants %v without buckets", role, got)
				}
			}
			if r, err := l.GetIAMRoleWithName("BatchOperationsRole"); err == nil {
				grants, _ := tplGrants(t, r.Policies)
				var invoked []string
				for _, g := range grants {
					if g.action == "lambda:InvokeFunction" {
						invoked = append(invoked, g.resource)
					}
				}
				var wantInvoked []string
				for _, fn := range []struct{ buckets, name string }{{c.trail, "cloudtrail"}, {c.bill, "billing"}} {
					if fn.buckets != "" {
						arn := "arn:" + c.partition + ":lambda:us-east-1:" + ssAcct + ":function:logvault-" + fn.name
						wantInvoked = append(wantInvoked, arn, arn+":*")
					}
				}
				sort.Strings(invoked)
				sort.Strings(wantInvoked)
				if !slices.Equal(invoked, wantInvoked) {
					t.Errorf("BatchOperationsRole invokes %v, want %v", invoked, wantInvoked)
				}
			}
			if fn, err := l.GetServerlessFunctionWithName("ReconcileFunction"); err == nil {
				env := fn.Environment.Variables
				if env["RECONCILE_CLOUDTRAIL_BUCKETS"] != c.trail || env["RECONCILE_BILLING_BUCKETS"] != c.bill {
					t.Errorf("reconcile's buckets %q and %q, want %q and %q", env["RECONCILE_CLOUDTRAIL_BUCKETS"], env["RECONCILE_BILLING_BUCKETS"], c.trail, c.bill)
				}
			}
		})
	}
}

// ssList is a CommaDelimitedList's items, none for "".
func ssList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, ",")
}

// TestStackSetBucketParameters: each item of CloudTrailBuckets and
// BillingBuckets is a bucket name or nothing, never a pattern; both default
// to empty; and the template's rule refuses an empty item among names (a
// stray comma), which would grant access to arn:aws:s3:::/*.
func TestStackSetBucketParameters(t *testing.T) {
	raw := ssRawTemplate(t)
	for _, name := range []string{"CloudTrailBuckets", "BillingBuckets"} {
		p, _ := rawGet(raw, "Parameters", name).(map[string]any)
		if p["Type"] != "CommaDelimitedList" || p["Default"] != "" {
			t.Errorf("%s Type %v Default %v, want a CommaDelimitedList defaulting to empty", name, p["Type"], p["Default"])
		}
		pattern, _ := p["AllowedPattern"].(string)
		re := regexp.MustCompile(pattern)
		for item, ok := range map[string]bool{
			"": true, "acme-cloudtrail-logs": true, "acme.logs.example.com": true, "*": false, "acme-*": false, "acme-?": false,
			"Acme-Logs": false, "arn:aws:s3:::acme-logs": false, "acme-logs/AWSLogs": false, " acme-logs": false,
		} {
			if re.MatchString(item) != ok {
				t.Errorf("%s item %q accepted %v, want %v", name, item, !ok, ok)
			}
		}
		for value, ok := range map[string]bool{"": true, "acme-trail": true, "acme-trail,acme-config": true,
			"acme-trail,": false, ",acme-trail": false, "acme-trail,,acme-config": false} {
			if got := ssRulesAccept(t, raw, map[string][]string{name: strings.Split(value, ",")}); got != ok {
				t.Errorf("the template's rules accept %s=%q: %v, want %v", name, value, got, ok)
			}
		}
	}
}

// ssRulesAccept evaluates the template's Rules (Fn::Or, Fn::And, Fn::Not,
// Fn::Equals, Fn::Contains, Fn::EachMemberEquals over list parameters) as
// CloudFormation does before it creates anything; parameters not given are
// lists with one empty item.
func ssRulesAccept(t *testing.T, raw map[string]any, lists map[string][]string) bool {
	t.Helper()
	rules, _ := raw["Rules"].(map[string]any)
	if len(rules) == 0 {
		t.Fatal("template.yaml has no Rules")
	}
	var eval func(v any) any
	eval = func(v any) any {
		m, ok := v.(map[string]any)
		if !ok || len(m) != 1 {
			return v
		}
		for fn, arg := range m {
			args, _ := arg.([]any)
			switch fn {
			case "Ref":
				name, _ := arg.(string)
				l, ok := lists[name]
				if !ok {
					l = []string{""}
				}
				return l
			case "Fn::Or", "Fn::And":
				acc := fn == "Fn::And"
				for _, a := range args {
					b, ok := eval(a).(bool)
					if !ok {
						t.Fatalf("rules: %s of %v", fn, a)
					}
					if fn == "Fn::Or" {
						acc = acc || b
					} else {
						acc = acc && b
					}
				}
				return acc
			case "Fn::Not":
				b, ok := eval(args[0]).(bool)
				if !ok {
					t.Fatalf("rules: Fn::Not of %v", args[0])
				}
				return !b
			case "Fn::Equals":
				return fmt.Sprint(eval(args[0])) == fmt.Sprint(eval(args[1]))
			case "Fn::Contains", "Fn::EachMemberEquals":
				l, _ := eval(args[0]).([]string)
				s, _ := eval(args[1]).(string)
				if fn == "Fn::Contains" {
					return slices.Contains(l, s)
				}
				for _, e := range l {
					if e != s {
						return false
					}
				}
				return true
			}
			t.Fatalf("rules: %s is not evaluated by the test", fn)
		}
		return nil
	}
	for name, r := range rules {
		if rawGet(r, "RuleCondition") != nil {
			t.Fatalf("rule %s has a RuleCondition, which the test does not evaluate", name)
		}
		as, _ := rawGet(r, "Assertions").([]any)
		for _, a := range as {
			b, ok := eval(rawGet(a, "Assert")).(bool)
			if !ok {
				t.Fatalf("rule %s: assertion %v is not a boolean", name, rawGet(a, "Assert"))
			}
			if !b {
				return false
			}
		}
	}
	return true
}

// ssRegional and ssGlobal classify every resource type of the template:
// a regional resource's name need be unique in its region only; a global
// one's (IAM's) in the whole account, so a stack in a second region of the
// same account must give it another name (or let CloudFormation name it).
var (
	ssRegional = []string{"AWS::SQS::Queue", "AWS::SQS::QueuePolicy", "AWS::Events::Rule", "AWS::Serverless::Function", "AWS::Lambda::Permission",
		"AWS::Logs::LogGroup", "AWS::Logs::SubscriptionFilter", "AWS::Logs::AccountPolicy", "AWS::CloudWatch::Alarm"}
	ssGlobal = map[string][]string{"AWS::IAM::Role": {"RoleName"}} // type -> its name properties
)

// TestStackSetSecondRegion: two stacks of the StackSet in one account
// (us-east-1 and eu-west-1) create no two resources of a global namespace
// with the same name; every resource type is classified, so that a new one
// is looked at before the StackSet meets it.
func TestStackSetSecondRegion(t *testing.T) {
	for _, c := range []struct {
		name   string
		params map[string]string
	}{
		{"every function, account policy, log groups", map[string]string{"CloudTrailBuckets": "acme-trail", "BillingBuckets": "acme-cur",
			"AccountLogsSubscription": "true", "AppLogGroupNames": "/ecs/orders,/ecs/billing", "BatchOperationsBucket": "acme-batch"}},
		{"member account", map[string]string{"AccountLogsSubscription": "true"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			names := map[string][]string{} // global name -> "region id"
			for _, region := range []string{"us-east-1", "eu-west-1"} {
				params := map[string]string{"RegionInRoleNames": "true"}
				for k, v := range c.params {
					params[k] = v
				}
				l := ssResolve(t, ssStack{region: region, params: params})
				resources, _ := l.Raw["Resources"].(map[string]any)
				for id, res := range resources {
					typ, _ := rawGet(res, "Type").(string)
					props, ok := ssGlobal[typ]
					if !ok {
						if !slices.Contains(ssRegional, typ) {
							t.Errorf("%s is of type %s, which the test has not classified as regional or global", id, typ)
						}
						continue
					}
					for _, prop := range props {
						if n, ok := rawGet(res, "Properties", prop).(string); ok {
							key := strings.ToLower(typ + " " + n)
							names[key] = append(names[key], region+" "+id)
						}
					}
				}
			}
			for n, where := range names {
				if len(where) > 1 {
					t.Errorf("%s is created by %v: the second region's stack would fail", n, where)
				}
			}
		})
	}
}
