package cfn_test

// Tests of the two deployable templates as a reviewer reads them:
// template.yaml (Account B, AWS SAM) and infra/vault.yaml (Account A).
//
// template.yaml is loaded with goformation (which type-checks every resource's
// properties) through tplLoad below rather than cfn.Load, because cfn.Load
// cannot load it:
//   - goformation's Fn::Split returns []string, which its Fn::Select does not
//     accept ([]interface{} only), so !Select [i, !Split [...]] resolves to
//     nothing; tplLoad overrides Fn::Split;
//   - with EvaluateConditions, goformation replaces a resource that carries a
//     `Condition:` attribute by the condition's boolean, so the typed parse
//     fails; tplLoad takes the attribute off before parsing and then drops the
//     resources whose condition is false, as CloudFormation does;
//   - cfn.Load resolves a Ref to a Number parameter as a string, which the
//     typed parse rejects for integer properties (RetentionInDays here).
// Properties goformation does not model (an SQS event's FunctionResponseTypes)
// are read from the same resolved template as generic JSON.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/awslabs/goformation/v7/cloudformation/iam"
	"github.com/awslabs/goformation/v7/cloudformation/serverless"

	"github.com/logvault/logvault/infra"
	"github.com/logvault/logvault/internal/cfn"
	"github.com/logvault/logvault/internal/functions"
	"github.com/logvault/logvault/internal/policy"
	"github.com/logvault/logvault/internal/schema"
)

// ---------------------------------------------------------------- the loader

// tplValues are what CloudFormation knows at deploy time.
type tplValues struct {
	Params map[string]string // by name; a CommaDelimitedList as "a,b"; missing ones take the template's Default
	Pseudo map[string]string
	Refs   map[string]string // Ref of a resource
	Attrs  map[string]string // Fn::GetAtt, "LogicalId.Attribute"
}

// tplLoaded is a template as CloudFormation would see it.
type tplLoaded struct {
	*cfn.Resolved
	ResCond map[string]string // resource -> its Condition attribute
}

// tplLoad resolves a template with cfn.Resolve (goformation type-checks it).
func tplLoad(t *testing.T, data []byte, v tplValues) *tplLoaded {
	t.Helper()
	r, err := cfn.Resolve(data, cfn.Values{Parameters: v.Params, Pseudo: v.Pseudo, Refs: v.Refs, Attrs: v.Attrs})
	if err != nil {
		t.Fatalf("resolve template: %v", err)
	}
	return &tplLoaded{Resolved: r, ResCond: r.ResourceConditions}
}

// rawGet walks the generic template: rawGet(l.Raw, "Resources", "X", "Properties").
func rawGet(v any, path ...string) any {
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

// ---------------------------------------------------------------- Account B

const (
	tplAcctA       = "111111111111"
	tplAcctB       = "222222222222"
	tplRegion      = "us-east-1"
	tplVaultBucket = "acme-logvault-vault"
	tplWriterRole  = "arn:aws:iam::" + tplAcctA + ":role/logvault-vault-writer"
	tplExternalID  = "acme-logvault-external-id"
	tplTrailBucket = "acme-cloudtrail-logs"
	tplBillBucket  = "acme-billing-reports"
	tplTopic       = "arn:aws:sns:" + tplRegion + ":" + tplAcctB + ":ops-alarms"
	tplBasicExec   = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
	tplBatchRole   = "arn:aws:iam::" + tplAcctB + ":role/logvault-batch-operations"
)

// The source buckets (parameters CloudTrailBuckets and BillingBuckets),
// several each: the template builds its lists of ARNs from them.
var (
	tplTrailBuckets = []string{tplTrailBucket, "acme-config-logs", "acme-elb-access-logs"}
	tplBillBuckets  = []string{tplBillBucket, "acme-cur-legacy"}
)

// tplFunction is what a reviewer expects of each function in template.yaml.
type tplFunction struct {
	name    string   // functions/NAME
	id      string   // logical id
	role    string   // logical id of its execution role
	buckets []string // source buckets whose objects it reads (none for applogs)
	lists   bool     // it also lists them (reconcile)
	queue   string   // its SQS queue ("" for applogs and reconcile)
	dlq     string   // its dead-letter queue ("" for reconcile)
	rule    string   // its EventBridge rule ("" for applogs and reconcile)
}

var tplFunctions = []tplFunction{
	{"cloudtrail", "CloudTrailFunction", "CloudTrailFunctionRole", tplTrailBuckets, false, "CloudTrailQueue", "CloudTrailDeadLetterQueue", "CloudTrailObjectCreatedRule"},
	{"billing", "BillingFunction", "BillingFunctionRole", tplBillBuckets, false, "BillingQueue", "BillingDeadLetterQueue", "BillingObjectCreatedRule"},
	{"applogs", "AppLogsFunction", "AppLogsFunctionRole", nil, false, "", "AppLogsDeadLetterQueue", ""},
	{"reconcile", "ReconcileFunction", "ReconcileFunctionRole", append(append([]string(nil), tplTrailBuckets...), tplBillBuckets...), true, "", "", ""},
}

// tplFunctionNamed is the function of that name.
func tplFunctionNamed(t *testing.T, name string) tplFunction {
	t.Helper()
	for _, f := range tplFunctions {
		if f.name == name {
			return f
		}
	}
	t.Fatalf("no function %s", name)
	return tplFunction{}
}

func tplFunctionName(f tplFunction) string { return "logvault-" + f.name }
func tplRoleArn(f tplFunction) string {
	return "arn:aws:iam::" + tplAcctB + ":role/logvault-" + f.name
}
func tplQueueName(id string) string { return "logvault-" + id + "-1A2B3C" }
func tplQueueArn(id string) string {
	return "arn:aws:sqs:" + tplRegion + ":" + tplAcctB + ":" + tplQueueName(id)
}
func tplQueueURL(id string) string {
	return "https://sqs." + tplRegion + ".amazonaws.com/" + tplAcctB + "/" + tplQueueName(id)
}
func tplRuleArn(id string) string {
	return "arn:aws:events:" + tplRegion + ":" + tplAcctB + ":rule/logvault-" + id
}
func tplFunctionArn(f tplFunction) string {
	return "arn:aws:lambda:" + tplRegion + ":" + tplAcctB + ":function:" + tplFunctionName(f)
}

// samValues gives every parameter without a default a value, and every
// resource the Ref and attributes CloudFormation would give it.
func samValues(logGroups string) tplValues {
	v := tplValues{
		Params: map[string]string{
			"VaultBucket":        tplVaultBucket,
			"VaultRoleArn":       tplWriterRole,
			"VaultExternalId":    tplExternalID,
			"VaultExpectedOwner": tplAcctA,
			"CloudTrailBuckets":  strings.Join(tplTrailBuckets, ","),
			"BillingBuckets":     strings.Join(tplBillBuckets, ","),
			"AppLogGroupNames":   logGroups,
			"AlarmTopicArn":      tplTopic,
		},
		Pseudo: map[string]string{"AWS::Partition": "aws", "AWS::AccountId": tplAcctB, "AWS::Region": tplRegion, "AWS::StackName": "logvault"},
		Refs:   map[string]string{"BatchOperationsRole": "logvault-batch-operations"},
		Attrs:  map[string]string{"BatchOperationsRole.Arn": tplBatchRole},
	}
	for _, f := range tplFunctions {
		v.Refs[f.id] = tplFunctionName(f)
		v.Attrs[f.id+".Arn"] = tplFunctionArn(f)
		v.Refs[f.role] = "logvault-" + f.name
		v.Attrs[f.role+".Arn"] = tplRoleArn(f)
		for _, q := range []string{f.queue, f.dlq} {
			if q != "" {
				v.Refs[q] = tplQueueURL(q)
				v.Attrs[q+".Arn"] = tplQueueArn(q)
				v.Attrs[q+".QueueName"] = tplQueueName(q)
			}
		}
		if f.rule != "" {
			v.Refs[f.rule] = "logvault-" + f.rule
			v.Attrs[f.rule+".Arn"] = tplRuleArn(f.rule)
		}
	}
	return v
}

func samFile(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile("../../" + name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func loadSAM(t *testing.T, logGroups string, edit ...func(*tplValues)) *tplLoaded {
	t.Helper()
	v := samValues(logGroups)
	for _, e := range edit {
		e(&v)
	}
	return samResolve(t, v).tplLoaded
}

func samFunction(t *testing.T, l *tplLoaded, id string) *serverless.Function {
	t.Helper()
	fn, err := l.GetServerlessFunctionWithName(id)
	if err != nil {
		t.Fatalf("template.yaml: %v", err)
	}
	return fn
}

// makeTargets reads the Makefile's rules: target -> recipe lines.
func makeTargets(t *testing.T) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	var cur []string
	sc := bufio.NewScanner(bytes.NewReader(samFile(t, "Makefile")))
	rule := regexp.MustCompile(`^([A-Za-z0-9_./%$()-]+(?:\s+[A-Za-z0-9_./%$()-]+)*)\s*:([^=]|$)`)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "\t"):
			for _, c := range cur {
				out[c] = append(out[c], strings.TrimSpace(line))
			}
		case rule.MatchString(line):
			cur = strings.Fields(rule.FindStringSubmatch(line)[1])
			for _, c := range cur {
				if _, ok := out[c]; !ok {
					out[c] = nil
				}
			}
		case strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#"):
		default:
			cur = nil
		}
	}
	return out
}

func TestSAMTemplateFunctions(t *testing.T) {
	l := loadSAM(t, "/app/api")
	if l.Transform == nil || l.Transform.String == nil || *l.Transform.String != "AWS::Serverless-2016-10-31" {
		t.Fatalf("Transform %+v, want AWS::Serverless-2016-10-31", l.Transform)
	}
	all := l.GetAllServerlessFunctionResources()
	var ids, names []string
	for id := range all {
		ids = append(ids, id)
	}
	for _, f := range tplFunctions {
		names = append(names, f.name)
	}
	sort.Strings(ids)
	sort.Strings(names)
	// Every function the registry of kinds names ships from the template.
	for _, fn := range schema.Functions() {
		if !slices.Contains(names, fn) {
			t.Errorf("the registry's function %s (internal/schema) is not in template.yaml", fn)
		}
	}
	// The template runs exactly the functions internal/functions assembles.
	if got := functions.Names(); !slices.Equal(got, slices.Sorted(slices.Values(names))) {
		t.Fatalf("the test (and template.yaml) knows functions %v, internal/functions builds %v", names, got)
	}
	if len(ids) != len(tplFunctions) {
		t.Errorf("AWS::Serverless::Function resources %v, want the %d of %v", ids, len(tplFunctions), names)
	}
	g, err := l.GetServerlessGlobalFunction()
	if err != nil {
		t.Fatalf("Globals.Function: %v", err)
	}
	targets := makeTargets(t)
	wantEnv := map[string]string{
		"VAULT_BUCKET":         tplVaultBucket,
		"VAULT_ROLE_ARN":       tplWriterRole,
		"VAULT_EXTERNAL_ID":    tplExternalID,
		"VAULT_EXPECTED_OWNER": tplAcctA,
		"VAULT_SOURCE_ACCOUNT": tplAcctB,
		"LOG_LEVEL":            "info",
	}
	for _, f := range tplFunctions {
		t.Run(f.name, func(t *testing.T) {
			fn := samFunction(t, l, f.id)
			str := func(own *string, global *string) string {
				if own != nil {
					return *own
				}
				if global != nil {
					return *global
				}
				return ""
			}
			if got := str(fn.Runtime, g.Runtime); got != "provided.al2023" {
				t.Errorf("Runtime %q, want provided.al2023", got)
			}
			if got := str(fn.Handler, g.Handler); got != "bootstrap" {
				t.Errorf("Handler %q, want bootstrap", got)
			}
			arch := fn.Architectures
			if arch == nil && g.Architectures != nil {
				arch = *g.Architectures
			}
			if !reflect.DeepEqual(arch, []string{"arm64"}) {
				t.Errorf("Architectures %v, want [arm64]", arch)
			}
			if got := fn.AWSCloudFormationMetadata["BuildMethod"]; got != "makefile" {
				t.Errorf("Metadata.BuildMethod %v, want makefile", got)
			}
			if fn.CodeUri == nil || fn.CodeUri.String == nil || *fn.CodeUri.String != "." {
				t.Errorf("CodeUri %+v, want . (the module root, where the Makefile is)", fn.CodeUri)
			}
			recipe, ok := targets["build-"+f.id]
			if !ok {
				t.Errorf("Makefile has no target build-%s (sam build, BuildMethod makefile)", f.id)
			} else if r := strings.Join(recipe, "\n"); !strings.Contains(r, "$(ARTIFACTS_DIR)/bootstrap") || !strings.Contains(r, "./functions/"+f.name) ||
				!strings.Contains(r, "$(LAMBDA_ENV)") {
				t.Errorf("Makefile build-%s recipe %q does not build ./functions/%s for Lambda into $(ARTIFACTS_DIR)/bootstrap", f.id, r, f.name)
			}

			env := map[string]string{}
			if g.Environment != nil {
				for k, v := range g.Environment.Variables {
					env[k] = v
				}
			}
			if fn.Environment != nil {
				for k, v := range fn.Environment.Variables {
					env[k] = v
				}
			}
			for k, want := range wantEnv {
				if got, ok := env[k]; !ok || got != want {
					t.Errorf("environment %s = %q (set %v), want %q", k, got, ok, want)
				}
			}

			if fn.Role == nil || *fn.Role != tplRoleArn(f) {
				t.Errorf("Role %s, want !GetAtt %s.Arn", tplPtr(fn.Role), f.role)
			}
			if fn.Policies != nil {
				t.Errorf("Policies %+v: with an explicit Role, SAM ignores them; the role holds the permissions", fn.Policies)
			}
			if fn.FunctionName == nil || *fn.FunctionName != tplFunctionName(f) {
				t.Errorf("FunctionName %s, want %s", tplPtr(fn.FunctionName), tplFunctionName(f))
			}
			if got := l.Outputs[f.id+"RoleArn"].Value; got != tplRoleArn(f) {
				t.Errorf("output %sRoleArn = %v, want %s", f.id, got, tplRoleArn(f))
			}
		})
	}
	// The function role ARNs, for reference (infra/vault.yaml takes their names).
	var roles []string
	for _, f := range tplFunctions {
		roles = append(roles, tplRoleArn(f))
	}
	if got, want := l.Outputs["FunctionRoleArns"].Value, strings.Join(roles, ","); got != want {
		t.Errorf("output FunctionRoleArns = %v, want %s", got, want)
	}
}

// TestSAMTemplateParameterDefaults: without AppLogGroupNames and
// AlarmTopicArn the template still loads; VaultExpectedOwner is required
// (a look-alike bucket in another account is never written to), and no
// retention setting is passed (the vault's Object Lock default applies).
func TestSAMTemplateParameterDefaults(t *testing.T) {
	l := loadSAM(t, "", func(v *tplValues) {
		for _, p := range []string{"AppLogGroupNames", "AlarmTopicArn"} {
			delete(v.Params, p)
		}
	})
	g, err := l.GetServerlessGlobalFunction()
	if err != nil {
		t.Fatal(err)
	}
	if got, ok := g.Environment.Variables["VAULT_RETENTION_DAYS"]; ok {
		t.Errorf("VAULT_RETENTION_DAYS = %q is passed: the writer may not set retention", got)
	}
	if p := l.Parameters["VaultExpectedOwner"]; p.AllowedPattern == nil || *p.AllowedPattern != "^[0-9]{12}$" {
		t.Errorf("VaultExpectedOwner AllowedPattern %v, want ^[0-9]{12}$ (never empty)", p.AllowedPattern)
	}
	var required []string
	for name, p := range l.Parameters {
		if p.Default == nil {
			required = append(required, name)
		}
	}
	sort.Strings(required)
	// CloudTrailBuckets and BillingBuckets default to empty (a member account
	// of an organization trail; TestStackSetOptionalBuckets).
	want := []string{"VaultBucket", "VaultExpectedOwner", "VaultExternalId", "VaultRoleArn"}
	if !reflect.DeepEqual(required, want) {
		t.Errorf("parameters without a default (what sam deploy --guided must ask) %v, want %v", required, want)
	}
	if p := l.Parameters["VaultExternalId"]; p.NoEcho == nil || !*p.NoEcho {
		t.Errorf("VaultExternalId is not NoEcho")
	}
	if p := l.Parameters["NamePrefix"]; p.Default != "logvault" {
		t.Errorf("NamePrefix default %v, want logvault", p.Default)
	}
}

func TestSAMTemplateQueuesAndRules(t *testing.T) {
	l := loadSAM(t, "")
	for _, f := range tplFunctions {
		if f.queue == "" {
			continue
		}
		t.Run(f.name, func(t *testing.T) {
			fn := samFunction(t, l, f.id)
			timeout := 3
			if fn.Timeout != nil {
				timeout = *fn.Timeout
			} else if g, _ := l.GetServerlessGlobalFunction(); g != nil && g.Timeout != nil {
				timeout = *g.Timeout
			}

			// The SQS event (goformation does not model FunctionResponseTypes: read it raw).
			events, _ := rawGet(l.Raw, "Resources", f.id, "Properties", "Events").(map[string]any)
			var sqsEvents []map[string]any
			for _, e := range events {
				if rawGet(e, "Type") == "SQS" {
					p, _ := rawGet(e, "Properties").(map[string]any)
					sqsEvents = append(sqsEvents, p)
				}
			}
			if len(events) != 1 || len(sqsEvents) != 1 {
				t.Fatalf("Events %v, want exactly one of type SQS", events)
			}
			ev := sqsEvents[0]
			if ev["Queue"] != tplQueueArn(f.queue) {
				t.Errorf("SQS event Queue %v, want !GetAtt %s.Arn", ev["Queue"], f.queue)
			}
			if rt, _ := ev["FunctionResponseTypes"].([]any); !reflect.DeepEqual(rt, []any{"ReportBatchItemFailures"}) {
				t.Errorf("SQS event FunctionResponseTypes %v, want [ReportBatchItemFailures]", ev["FunctionResponseTypes"])
			}
			if bs, ok := ev["BatchSize"].(float64); !ok || bs < 1 || bs > 10 {
				t.Errorf("SQS event BatchSize %v, want 1..10", ev["BatchSize"])
			}

			q, err := l.GetSQSQueueWithName(f.queue)
			if err != nil {
				t.Fatal(err)
			}
			if q.VisibilityTimeout == nil || *q.VisibilityTimeout < 6*timeout {
				t.Errorf("%s VisibilityTimeout %s, want at least 6 x the function timeout %d", f.queue, tplPtr(q.VisibilityTimeout), timeout)
			}
			if q.SqsManagedSseEnabled == nil || !*q.SqsManagedSseEnabled {
				t.Errorf("%s is not encrypted (SqsManagedSseEnabled)", f.queue)
			}
			rp, _ := q.RedrivePolicy.(map[string]any)
			if rp["deadLetterTargetArn"] != tplQueueArn(f.dlq) {
				t.Errorf("%s RedrivePolicy %v, want deadLetterTargetArn !GetAtt %s.Arn", f.queue, q.RedrivePolicy, f.dlq)
			}
			if n, ok := rp["maxReceiveCount"].(float64); !ok || n < 1 || n > 10 {
				t.Errorf("%s maxReceiveCount %v, want 1..10", f.queue, rp["maxReceiveCount"])
			}
			dlq, err := l.GetSQSQueueWithName(f.dlq)
			if err != nil {
				t.Fatal(err)
			}
			if dlq.MessageRetentionPeriod == nil || *dlq.MessageRetentionPeriod != 1209600 {
				t.Errorf("%s MessageRetentionPeriod %s, want 1209600 (14 days, the most)", f.dlq, tplPtr(dlq.MessageRetentionPeriod))
			}

			rule, err := l.GetEventsRuleWithName(f.rule)
			if err != nil {
				t.Fatal(err)
			}
			// The rule takes the whole list parameter: every source bucket.
			var names []any
			for _, b := range f.buckets {
				names = append(names, b)
			}
			wantPattern := map[string]any{
				"source":      []any{"aws.s3"},
				"detail-type": []any{"Object Created"},
				"detail":      map[string]any{"bucket": map[string]any{"name": names}},
			}
			if !reflect.DeepEqual(rule.EventPattern, wantPattern) {
				t.Errorf("%s EventPattern %v, want %v", f.rule, rule.EventPattern, wantPattern)
			}
			if len(rule.Targets) != 1 || rule.Targets[0].Arn != tplQueueArn(f.queue) {
				t.Errorf("%s Targets %+v, want the one queue %s", f.rule, rule.Targets, f.queue)
			}

			var qp []string
			for id, p := range l.GetAllSQSQueuePolicyResources() {
				for _, u := range p.Queues {
					if u == tplQueueURL(f.queue) {
						qp = append(qp, id)
						d := tplPolicy(t, p.PolicyDocument)
						send := func(sourceArn string) policy.Request {
							c := map[string][]string{"aws:SecureTransport": {"true"}}
							if sourceArn != "" {
								c["aws:SourceArn"] = []string{sourceArn}
							}
							return policy.Request{Principal: "events.amazonaws.com", Action: "sqs:SendMessage", Resource: tplQueueArn(f.queue), Context: c}
						}
						tplEval(t, d, []tplCase{
							{"EventBridge from its rule", send(tplRuleArn(f.rule)), policy.Allow},
							{"EventBridge from another rule", send(tplRuleArn("SomeoneElsesRule")), policy.ImplicitDeny},
							{"EventBridge without a source", send(""), policy.ImplicitDeny},
							{"SNS from its rule's ARN", policy.Request{Principal: "sns.amazonaws.com", Action: "sqs:SendMessage", Resource: tplQueueArn(f.queue),
								Context: map[string][]string{"aws:SourceArn": {tplRuleArn(f.rule)}}}, policy.ImplicitDeny},
							{"EventBridge purges", policy.Request{Principal: "events.amazonaws.com", Action: "sqs:PurgeQueue", Resource: tplQueueArn(f.queue),
								Context: map[string][]string{"aws:SourceArn": {tplRuleArn(f.rule)}}}, policy.ImplicitDeny},
						})
					}
				}
			}
			if len(qp) != 1 {
				t.Errorf("queue policies of %s: %v, want one", f.queue, qp)
			}
		})
	}
}

func TestSAMTemplateAppLogs(t *testing.T) {
	f := tplFunctionNamed(t, "applogs")
	for _, c := range []struct {
		groups string
		want   []string
	}{
		{"", nil},
		{"/app/api", []string{"/app/api"}},
		{"/app/api,/app/worker", []string{"/app/api", "/app/worker"}},
		{"/a,/b,/c,/d,/e", []string{"/a", "/b", "/c", "/d", "/e"}},
	} {
		t.Run(fmt.Sprintf("%d log groups", len(c.want)), func(t *testing.T) {
			l := loadSAM(t, c.groups)
			filters := l.GetAllLogsSubscriptionFilterResources()
			var got []string
			for i := 1; i <= 5; i++ {
				id := fmt.Sprintf("AppLogsSubscription%d", i)
				if l.ResCond[id] != fmt.Sprintf("HasLogGroup%d", i) {
					t.Errorf("%s Condition %q, want HasLogGroup%d", id, l.ResCond[id], i)
				}
				sf, ok := filters[id]
				if !ok {
					continue
				}
				got = append(got, sf.LogGroupName)
				if sf.DestinationArn != tplFunctionArn(f) {
					t.Errorf("%s DestinationArn %q, want the applogs function", id, sf.DestinationArn)
				}
				if sf.FilterPattern != "" {
					t.Errorf("%s FilterPattern %q, want \"\" (every event)", id, sf.FilterPattern)
				}
				if !reflect.DeepEqual(sf.AWSCloudFormationDependsOn, []string{"AppLogsInvokePermission"}) {
					t.Errorf("%s DependsOn %v, want AppLogsInvokePermission", id, sf.AWSCloudFormationDependsOn)
				}
			}
			if len(filters) != len(c.want) || !reflect.DeepEqual(got, c.want) {
				t.Errorf("AppLogGroupNames %q: subscription filters on %q (%d), want %q", c.groups, got, len(filters), c.want)
			}
		})
	}

	l := loadSAM(t, "/app/api")
	perms := l.GetAllLambdaPermissionResources()
	p, ok := perms["AppLogsInvokePermission"]
	if !ok || len(perms) != 1 {
		t.Fatalf("Lambda permissions %v, want AppLogsInvokePermission", perms)
	}
	if p.Principal != "logs.amazonaws.com" || p.Action != "lambda:InvokeFunction" || p.FunctionName != tplFunctionArn(f) {
		t.Errorf("AppLogsInvokePermission %+v: want logs.amazonaws.com may lambda:InvokeFunction the applogs function", p)
	}
	if p.SourceAccount == nil || *p.SourceAccount != tplAcctB {
		t.Errorf("SourceAccount %s, want this account", tplPtr(p.SourceAccount))
	}
	if want := "arn:aws:logs:" + tplRegion + ":" + tplAcctB + ":log-group:"; p.SourceArn == nil || !strings.HasPrefix(*p.SourceArn, want) {
		t.Errorf("SourceArn %s, want log groups of this account and region (%s...)", tplPtr(p.SourceArn), want)
	}
	fn := samFunction(t, l, f.id)
	if len(fn.Events) != 0 {
		t.Errorf("applogs Events %v: it is invoked by the subscription filters only", fn.Events)
	}
	if fn.DeadLetterQueue == nil || fn.DeadLetterQueue.Type != "SQS" || fn.DeadLetterQueue.TargetArn != tplQueueArn(f.dlq) {
		t.Errorf("applogs DeadLetterQueue %+v, want SQS %s", fn.DeadLetterQueue, f.dlq)
	}
}

// TestSAMTemplateBucketLists: CloudTrailBuckets and BillingBuckets hold
// bucket names only (no pattern or wildcard reaches a policy), and the ARN
// lists built from them have one item per bucket, in the stack's partition.
func TestSAMTemplateBucketLists(t *testing.T) {
	l := loadSAM(t, "")
	for _, c := range []struct {
		param, value string
		ok           bool
	}{
		{"CloudTrailBuckets", "acme-cloudtrail-logs", true},
		{"CloudTrailBuckets", "acme.logs.example.com", true},
		{"CloudTrailBuckets", "*", false},
		{"CloudTrailBuckets", "acme-*", false},
		{"CloudTrailBuckets", "", true}, // the empty list (the rule NoEmptyBucketItem refuses it among names)
		{"CloudTrailBuckets", "Acme-Logs", false},
		{"CloudTrailBuckets", "arn:aws:s3:::acme-logs", false},
		{"CloudTrailBuckets", "acme-logs/AWSLogs", false},
		{"BillingBuckets", "acme-billing-reports", true},
		{"BillingBuckets", "*", false},
		{"BillingBuckets", "", true},
		{"BatchOperationsBucket", "", true},
		{"BatchOperationsBucket", "acme-batch-operations", true},
		{"BatchOperationsBucket", "*", false},
		{"BatchOperationsBucket", "acme-?", false},
	} {
		p, ok := l.Parameters[c.param]
		if !ok || p.AllowedPattern == nil {
			t.Fatalf("parameter %s has no AllowedPattern", c.param)
		}
		// CloudFormation matches a CommaDelimitedList's pattern item by item.
		if got := regexp.MustCompile(*p.AllowedPattern).MatchString(c.value); got != c.ok {
			t.Errorf("%s item %q accepted %v, want %v", c.param, c.value, got, c.ok)
		}
	}
	for _, name := range []string{"CloudTrailBuckets", "BillingBuckets"} {
		if p := l.Parameters[name]; p.Type != "CommaDelimitedList" || p.Default != "" {
			t.Errorf("%s Type %s Default %v, want a CommaDelimitedList defaulting to empty", name, p.Type, p.Default)
		}
	}

	// The S3 grants of each role, by partition and number of buckets.
	s3Grants := func(l *tplLoaded, role string) []tplGrant {
		r, err := l.GetIAMRoleWithName(role)
		if err != nil {
			t.Fatal(err)
		}
		all, _ := tplGrants(t, r.Policies)
		var out []tplGrant
		for _, g := range all {
			if strings.HasPrefix(g.action, "s3:") {
				out = append(out, g)
			}
		}
		tplSortGrants(out)
		return out
	}
	for _, c := range []struct {
		partition      string
		trail, billing []string
	}{
		{"aws", []string{"acme-trail"}, []string{"acme-cur"}},
		{"aws", tplTrailBuckets, tplBillBuckets},
		{"aws-cn", tplTrailBuckets, tplBillBuckets},
		{"aws-us-gov", tplTrailBuckets, tplBillBuckets},
	} {
		t.Run(fmt.Sprintf("%s %d+%d buckets", c.partition, len(c.trail), len(c.billing)), func(t *testing.T) {
			l := loadSAM(t, "", func(v *tplValues) {
				v.Pseudo["AWS::Partition"] = c.partition
				v.Params["CloudTrailBuckets"] = strings.Join(c.trail, ",")
				v.Params["BillingBuckets"] = strings.Join(c.billing, ",")
			})
			reads := func(buckets ...[]string) []tplGrant {
				var g []tplGrant
				for _, bs := range buckets {
					for _, b := range bs {
						obj := "arn:" + c.partition + ":s3:::" + b + "/*"
						g = append(g, tplGrant{"s3:GetObject", obj}, tplGrant{"s3:GetObjectVersion", obj})
					}
				}
				return g
			}
			lists := func(buckets ...[]string) []tplGrant {
				var g []tplGrant
				for _, bs := range buckets {
					for _, b := range bs {
						arn := "arn:" + c.partition + ":s3:::" + b
						g = append(g, tplGrant{"s3:ListBucket", arn}, tplGrant{"s3:ListBucketVersions", arn})
					}
				}
				return g
			}
			for role, want := range map[string][]tplGrant{
				"CloudTrailFunctionRole": reads(c.trail),
				"BillingFunctionRole":    reads(c.billing),
				"ReconcileFunctionRole":  append(reads(c.trail, c.billing), lists(c.trail, c.billing)...),
			} {
				tplSortGrants(want)
				if got := s3Grants(l, role); !reflect.DeepEqual(got, want) {
					t.Errorf("%s S3 grants\n got %v\nwant %v", role, got, want)
				}
			}
		})
	}
}

// TestSAMTemplateReconcile: the reconcile function runs daily, is told
// the source buckets and how many days to compare, and has no queue.
func TestSAMTemplateReconcile(t *testing.T) {
	f := tplFunctionNamed(t, "reconcile")
	for _, c := range []struct {
		days, want string
	}{
		{"", "2"}, // ReconcileDays' default
		{"7", "7"},
	} {
		t.Run("ReconcileDays="+c.days, func(t *testing.T) {
			l := loadSAM(t, "", func(v *tplValues) {
				if c.days != "" {
					v.Params["ReconcileDays"] = c.days
				}
			})
			fn := samFunction(t, l, f.id)
			if fn.Timeout == nil || *fn.Timeout != 900 || fn.MemorySize == nil || *fn.MemorySize != 512 {
				t.Errorf("Timeout %s MemorySize %s, want 900 and 512", tplPtr(fn.Timeout), tplPtr(fn.MemorySize))
			}
			var env map[string]string
			if fn.Environment != nil {
				env = fn.Environment.Variables
			}
			for k, want := range map[string]string{
				"RECONCILE_CLOUDTRAIL_BUCKETS": strings.Join(tplTrailBuckets, ","),
				"RECONCILE_BILLING_BUCKETS":    strings.Join(tplBillBuckets, ","),
				"RECONCILE_DAYS":               c.want,
			} {
				if got, ok := env[k]; !ok || got != want {
					t.Errorf("environment %s = %q (set %v), want %q", k, got, ok, want)
				}
			}
			// The events, raw (goformation's event union is awkward to read).
			events, _ := rawGet(l.Raw, "Resources", f.id, "Properties", "Events").(map[string]any)
			if len(events) != 1 {
				t.Fatalf("Events %v, want exactly one: the daily schedule", events)
			}
			for name, e := range events {
				if typ := rawGet(e, "Type"); typ != "Schedule" {
					t.Errorf("event %s Type %v, want Schedule", name, typ)
				}
				if sched := rawGet(e, "Properties", "Schedule"); sched != "rate(1 day)" {
					t.Errorf("event %s Schedule %v, want rate(1 day)", name, sched)
				}
				if en := rawGet(e, "Properties", "Enabled"); en != nil && en != true {
					t.Errorf("event %s Enabled %v", name, en)
				}
			}
			if fn.DeadLetterQueue != nil {
				t.Errorf("DeadLetterQueue %+v: reconcile's failures are its Errors alarm and the Missing alarm's missing data", fn.DeadLetterQueue)
			}
		})
	}
	l := loadSAM(t, "")
	p := l.Parameters["ReconcileDays"]
	if p.Type != "Number" || fmt.Sprint(p.Default) != "2" || tplPtr(p.MinValue) != "1" || tplPtr(p.MaxValue) != "90" {
		t.Errorf("ReconcileDays %s default %v in [%s, %s], want Number 2 in [1, 90]", p.Type, p.Default, tplPtr(p.MinValue), tplPtr(p.MaxValue))
	}
}

// TestSAMTemplateBatchOperations: the role S3 Batch Operations jobs run
// as may be assumed by that service alone, for this account's jobs, and may
// invoke the cloudtrail and billing functions, read manifests and write
// reports in BatchOperationsBucket, and nothing else.
func TestSAMTemplateBatchOperations(t *testing.T) {
	const batchBucket = "acme-batch-operations"
	ct, bill := tplFunctionNamed(t, "cloudtrail"), tplFunctionNamed(t, "billing")
	for _, bucket := range []string{"", batchBucket} {
		t.Run(fmt.Sprintf("BatchOperationsBucket=%q", bucket), func(t *testing.T) {
			l := loadSAM(t, "", func(v *tplValues) {
				if bucket != "" {
					v.Params["BatchOperationsBucket"] = bucket
				}
			})
			r, err := l.GetIAMRoleWithName("BatchOperationsRole")
			if err != nil {
				t.Fatal(err)
			}
			if tplPtr(r.RoleName) != "logvault-batch-operations" {
				t.Errorf("RoleName %s, want logvault-batch-operations (NamePrefix-batch-operations)", tplPtr(r.RoleName))
			}
			if len(r.ManagedPolicyArns) != 0 {
				t.Errorf("ManagedPolicyArns %v, want none", r.ManagedPolicyArns)
			}
			if got := l.Outputs["BatchOperationsRoleArn"].Value; got != tplBatchRole {
				t.Errorf("output BatchOperationsRoleArn = %v, want %s", got, tplBatchRole)
			}

			// Trusted by batchoperations.s3.amazonaws.com only: every
			// statement names that one service and nothing else.
			js, err := cfn.PolicyJSON(r.AssumeRolePolicyDocument)
			if err != nil {
				t.Fatal(err)
			}
			var trustDoc struct {
				Statement []struct {
					Effect    string
					Principal any
					Action    any
					Condition any
				}
			}
			if err := json.Unmarshal(js, &trustDoc); err != nil {
				t.Fatal(err)
			}
			if len(trustDoc.Statement) == 0 {
				t.Fatalf("trust policy %s has no statement", js)
			}
			for _, st := range trustDoc.Statement {
				p, _ := st.Principal.(map[string]any)
				if st.Effect != "Allow" || len(p) != 1 || !reflect.DeepEqual(tplStrings(p["Service"]), []string{"batchoperations.s3.amazonaws.com"}) ||
					!reflect.DeepEqual(tplStrings(st.Action), []string{"sts:AssumeRole"}) {
					t.Errorf("trust statement %+v: want Allow sts:AssumeRole to the service batchoperations.s3.amazonaws.com only", st)
				}
			}
			trust := tplPolicy(t, r.AssumeRolePolicyDocument)
			assume := func(principal, account string) policy.Request {
				c := map[string][]string{}
				if account != "" {
					c["aws:SourceAccount"] = []string{account}
				}
				return policy.Request{Principal: principal, Action: "sts:AssumeRole", Resource: tplBatchRole, Context: c}
			}
			tplEval(t, trust, []tplCase{
				{"trust: Batch Operations, this account's job", assume("batchoperations.s3.amazonaws.com", tplAcctB), policy.Allow},
				{"trust: Batch Operations, another account's job", assume("batchoperations.s3.amazonaws.com", "333333333333"), policy.ImplicitDeny},
				{"trust: Batch Operations, no source account", assume("batchoperations.s3.amazonaws.com", ""), policy.ImplicitDeny},
				{"trust: S3", assume("s3.amazonaws.com", tplAcctB), policy.ImplicitDeny},
				{"trust: Lambda", assume("lambda.amazonaws.com", tplAcctB), policy.ImplicitDeny},
				{"trust: an Account B user", assume("arn:aws:iam::"+tplAcctB+":user/u", tplAcctB), policy.ImplicitDeny},
				{"trust: Account B", assume("arn:aws:iam::"+tplAcctB+":root", tplAcctB), policy.ImplicitDeny},
			})

			// The grants, exactly.
			got, docs := tplGrants(t, r.Policies)
			want := []tplGrant{
				{"lambda:InvokeFunction", tplFunctionArn(ct)}, {"lambda:InvokeFunction", tplFunctionArn(ct) + ":*"},
				{"lambda:InvokeFunction", tplFunctionArn(bill)}, {"lambda:InvokeFunction", tplFunctionArn(bill) + ":*"},
			}
			if bucket != "" {
				obj := "arn:aws:s3:::" + bucket + "/*"
				want = append(want, tplGrant{"s3:GetObject", obj}, tplGrant{"s3:GetObjectVersion", obj}, tplGrant{"s3:PutObject", obj})
			}
			tplSortGrants(got)
			tplSortGrants(want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("inline grants\n got %v\nwant %v", got, want)
			}

			sess := "arn:aws:sts::" + tplAcctB + ":assumed-role/logvault-batch-operations/s3-batch-operations"
			req := func(action, resource string) policy.Request {
				return policy.Request{Principal: sess, Action: action, Resource: resource,
					Context: map[string][]string{"aws:PrincipalArn": {tplBatchRole}, "aws:SecureTransport": {"true"}}}
			}
			withBucket := policy.ImplicitDeny
			if bucket != "" {
				withBucket = policy.Allow
			}
			manifest := "arn:aws:s3:::" + batchBucket + "/manifests/backfill.csv"
			report := "arn:aws:s3:::" + batchBucket + "/reports/job-1/results/x.csv"
			trailObj := "arn:aws:s3:::" + tplTrailBucket + "/AWSLogs/x.json.gz"
			tplDecide(t, docs, []tplCase{
				{"invoke cloudtrail", req("lambda:InvokeFunction", tplFunctionArn(ct)), policy.Allow},
				{"invoke cloudtrail's alias", req("lambda:InvokeFunction", tplFunctionArn(ct)+":live"), policy.Allow},
				{"invoke billing's version", req("lambda:InvokeFunction", tplFunctionArn(bill)+":7"), policy.Allow},
				{"invoke applogs", req("lambda:InvokeFunction", tplFunctionArn(tplFunctionNamed(t, "applogs"))), policy.ImplicitDeny},
				{"invoke reconcile", req("lambda:InvokeFunction", tplFunctionArn(tplFunctionNamed(t, "reconcile"))), policy.ImplicitDeny},
				{"invoke a function named like cloudtrail", req("lambda:InvokeFunction", tplFunctionArn(ct)+"-copy"), policy.ImplicitDeny},
				{"update cloudtrail's code", req("lambda:UpdateFunctionCode", tplFunctionArn(ct)), policy.ImplicitDeny},
				{"read a manifest", req("s3:GetObject", manifest), withBucket},
				{"read a manifest's version", req("s3:GetObjectVersion", manifest), withBucket},
				{"write a report", req("s3:PutObject", report), withBucket},
				{"delete a manifest", req("s3:DeleteObject", manifest), policy.ImplicitDeny},
				{"read a source object", req("s3:GetObject", trailObj), policy.ImplicitDeny},
				{"write into a source bucket", req("s3:PutObject", trailObj), policy.ImplicitDeny},
				{"write into the vault", req("s3:PutObject", "arn:aws:s3:::"+tplVaultBucket+"/cloudtrail/x"), policy.ImplicitDeny},
				{"assume the vault writer", req("sts:AssumeRole", tplWriterRole), policy.ImplicitDeny},
				{"iam:PassRole", req("iam:PassRole", tplBatchRole), policy.ImplicitDeny},
			})
		})
	}
}

func TestSAMTemplateAlarms(t *testing.T) {
	for _, topic := range []string{tplTopic, ""} {
		t.Run(fmt.Sprintf("AlarmTopicArn=%q", topic), func(t *testing.T) {
			l := loadSAM(t, "", func(v *tplValues) { v.Params["AlarmTopicArn"] = topic })
			alarms := l.GetAllCloudWatchAlarmResources()
			var wantActions []string
			if topic != "" {
				wantActions = []string{topic}
			}
			find := func(namespace, metric, dim, value string) string {
				var found []string
				for id, a := range alarms {
					if a.Namespace == nil || *a.Namespace != namespace || a.MetricName == nil || *a.MetricName != metric {
						continue
					}
					if len(a.Dimensions) == 1 && a.Dimensions[0].Name == dim && a.Dimensions[0].Value == value {
						found = append(found, id)
					}
				}
				if len(found) != 1 {
					t.Errorf("alarms on %s %s %s=%s: %v, want one", namespace, metric, dim, value, found)
					return ""
				}
				a := alarms[found[0]]
				if a.ComparisonOperator != "GreaterThanThreshold" || a.Threshold == nil || *a.Threshold != 0 {
					t.Errorf("%s: %s %s, want > 0", found[0], a.ComparisonOperator, tplPtr(a.Threshold))
				}
				if a.Period == nil || *a.Period != 300 || a.EvaluationPeriods != 1 {
					t.Errorf("%s: Period %s EvaluationPeriods %d, want one 5-minute datapoint", found[0], tplPtr(a.Period), a.EvaluationPeriods)
				}
				if a.DatapointsToAlarm != nil && *a.DatapointsToAlarm != 1 {
					t.Errorf("%s: DatapointsToAlarm %d, want 1", found[0], *a.DatapointsToAlarm)
				}
				if !reflect.DeepEqual(a.AlarmActions, wantActions) || !reflect.DeepEqual(a.OKActions, wantActions) {
					t.Errorf("%s: AlarmActions %v OKActions %v, want %v", found[0], a.AlarmActions, a.OKActions, wantActions)
				}
				return found[0]
			}
			seen := map[string]bool{}
			withDLQ := 0
			for _, f := range tplFunctions {
				if f.dlq == "" {
					continue
				}
				withDLQ++
				if id := find("AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", tplQueueName(f.dlq)); id != "" {
					seen[id] = true
					if s := alarms[id].Statistic; s == nil || (*s != "Maximum" && *s != "Sum" && *s != "Average") {
						t.Errorf("%s Statistic %s", id, tplPtr(s))
					}
				}
			}
			for _, f := range tplFunctions {
				if id := find("AWS/Lambda", "Errors", "FunctionName", tplFunctionName(f)); id != "" {
					seen[id] = true
					if s := alarms[id].Statistic; s == nil || *s != "Sum" {
						t.Errorf("%s Statistic %s, want Sum", id, tplPtr(s))
					}
				}
			}
			if len(seen) != withDLQ+len(tplFunctions) {
				t.Errorf("%d alarms found of %d expected", len(seen), withDLQ+len(tplFunctions))
			}

			// reconcile's findings, one datapoint a day (logvault/Missing,
			// logvault/Differs, dimension function=reconcile): every clean run
			// emits 0, so a day without a Missing datapoint (no run) breaches.
			for id, want := range map[string]struct{ metric, missing string }{
				"ReconcileMissingAlarm": {"Missing", "breaching"},
				"ReconcileDiffersAlarm": {"Differs", "notBreaching"},
			} {
				a, ok := alarms[id]
				if !ok {
					t.Errorf("no %s", id)
					continue
				}
				seen[id] = true
				if tplPtr(a.Namespace) != "logvault" || tplPtr(a.MetricName) != want.metric || len(a.Dimensions) != 1 ||
					a.Dimensions[0].Name != "function" || a.Dimensions[0].Value != "reconcile" {
					t.Errorf("%s watches %s/%s %+v, want logvault/%s function=reconcile", id, tplPtr(a.Namespace), tplPtr(a.MetricName), a.Dimensions, want.metric)
				}
				if tplPtr(a.Statistic) != "Maximum" || tplPtr(a.Period) != "86400" || a.EvaluationPeriods != 1 ||
					a.ComparisonOperator != "GreaterThanThreshold" || tplPtr(a.Threshold) != "0" || tplPtr(a.TreatMissingData) != want.missing {
					t.Errorf("%s: %s over %s s x %d, %s %s, missing data %s; want the Maximum of one day > 0, missing data %s", id,
						tplPtr(a.Statistic), tplPtr(a.Period), a.EvaluationPeriods, a.ComparisonOperator, tplPtr(a.Threshold), tplPtr(a.TreatMissingData), want.missing)
				}
				if !reflect.DeepEqual(a.AlarmActions, wantActions) || !reflect.DeepEqual(a.OKActions, wantActions) {
					t.Errorf("%s: AlarmActions %v OKActions %v, want %v", id, a.AlarmActions, a.OKActions, wantActions)
				}
			}
			for id := range alarms {
				if !seen[id] {
					t.Errorf("alarm %s is not one the test expects", id)
				}
			}
			// Every dead-letter queue of the template is watched: those named
			// by a RedrivePolicy or by a function's DeadLetterQueue.
			dlqs := map[string]bool{}
			for _, q := range l.GetAllSQSQueueResources() {
				if rp, ok := q.RedrivePolicy.(map[string]any); ok {
					dlqs[fmt.Sprint(rp["deadLetterTargetArn"])] = true
				}
			}
			for _, fn := range l.GetAllServerlessFunctionResources() {
				if fn.DeadLetterQueue != nil {
					dlqs[fn.DeadLetterQueue.TargetArn] = true
				}
			}
			if len(dlqs) != withDLQ {
				t.Errorf("dead-letter queues %v, want one per function that has one (%d)", dlqs, withDLQ)
			}
			watched := map[string]bool{}
			for _, a := range alarms {
				for _, d := range a.Dimensions {
					if d.Name == "QueueName" && a.MetricName != nil && *a.MetricName == "ApproximateNumberOfMessagesVisible" {
						watched["arn:aws:sqs:"+tplRegion+":"+tplAcctB+":"+d.Value] = true
					}
				}
			}
			for arn := range dlqs {
				if !watched[arn] {
					t.Errorf("dead-letter queue %s has no depth alarm", arn)
				}
			}
		})
	}
}

func TestSAMTemplateRoles(t *testing.T) {
	l := loadSAM(t, "")
	roles := l.GetAllIAMRoleResources()
	if _, ok := roles["BatchOperationsRole"]; !ok || len(roles) != len(tplFunctions)+1 {
		t.Errorf("IAM roles %d, want one per function (%d) and BatchOperationsRole", len(roles), len(tplFunctions))
	}
	vault := loadVaultWith(t, nil)
	writer, err := vault.GetIAMRoleWithName("WriterRole")
	if err != nil {
		t.Fatal(err)
	}
	vaultTrust := tplPolicy(t, writer.AssumeRolePolicyDocument)

	otherBucket := "arn:aws:s3:::someone-elses-bucket/AWSLogs/x.json.gz"
	vaultObject := "arn:aws:s3:::" + tplVaultBucket + "/cloudtrail/x"
	otherRole := "arn:aws:iam::" + tplAcctA + ":role/admin"
	otherQueue := tplQueueArn("SomeOtherQueue")
	for _, f := range tplFunctions {
		t.Run(f.name, func(t *testing.T) {
			r, ok := roles[f.role]
			if !ok {
				t.Fatalf("no role %s", f.role)
			}
			if r.RoleName == nil || *r.RoleName != "logvault-"+f.name {
				t.Errorf("RoleName %s, want logvault-%s (NamePrefix-%s)", tplPtr(r.RoleName), f.name, f.name)
			}
			if !reflect.DeepEqual(r.ManagedPolicyArns, []string{tplBasicExec}) {
				t.Errorf("ManagedPolicyArns %v, want only %s", r.ManagedPolicyArns, tplBasicExec)
			}
			trust := tplPolicy(t, r.AssumeRolePolicyDocument)
			tplEval(t, trust, []tplCase{
				{"trust: Lambda", policy.Request{Principal: "lambda.amazonaws.com", Action: "sts:AssumeRole", Resource: tplRoleArn(f)}, policy.Allow},
				{"trust: EC2", policy.Request{Principal: "ec2.amazonaws.com", Action: "sts:AssumeRole", Resource: tplRoleArn(f)}, policy.ImplicitDeny},
				{"trust: an Account B user", policy.Request{Principal: "arn:aws:iam::" + tplAcctB + ":user/u", Action: "sts:AssumeRole", Resource: tplRoleArn(f)}, policy.ImplicitDeny},
			})

			// The grants, exactly.
			got, docs := tplGrants(t, r.Policies)
			want := []tplGrant{{"sts:AssumeRole", tplWriterRole}, {"sts:TagSession", tplWriterRole}}
			for _, b := range f.buckets {
				obj := "arn:aws:s3:::" + b + "/*"
				want = append(want, tplGrant{"s3:GetObject", obj}, tplGrant{"s3:GetObjectVersion", obj})
				if f.lists {
					want = append(want, tplGrant{"s3:ListBucket", "arn:aws:s3:::" + b}, tplGrant{"s3:ListBucketVersions", "arn:aws:s3:::" + b})
				}
			}
			if f.queue != "" {
				for _, a := range []string{"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility"} {
					want = append(want, tplGrant{a, tplQueueArn(f.queue)})
				}
			} else if f.dlq != "" {
				want = append(want, tplGrant{"sqs:SendMessage", tplQueueArn(f.dlq)})
			}
			tplSortGrants(got)
			tplSortGrants(want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("inline grants\n got %v\nwant %v", got, want)
			}

			// The same, as the evaluator reads them.
			sess := "arn:aws:sts::" + tplAcctB + ":assumed-role/logvault-" + f.name + "/" + tplFunctionName(f)
			req := func(action, resource string) policy.Request {
				return policy.Request{Principal: sess, Action: action, Resource: resource,
					Context: map[string][]string{"aws:PrincipalArn": {tplRoleArn(f)}, "aws:SecureTransport": {"true"}}}
			}
			read, list := policy.ImplicitDeny, policy.ImplicitDeny
			if f.lists {
				list = policy.Allow
			}
			cases := []tplCase{
				{"AssumeRole the vault writer", req("sts:AssumeRole", tplWriterRole), policy.Allow},
				{"TagSession the vault writer (the source-account binding)", req("sts:TagSession", tplWriterRole), policy.Allow},
				{"TagSession another role", req("sts:TagSession", "arn:aws:iam::"+tplAcctA+":role/other"), policy.ImplicitDeny},
				{"AssumeRole another role", req("sts:AssumeRole", otherRole), policy.ImplicitDeny},
				{"GetObject from another bucket", req("s3:GetObject", otherBucket), policy.ImplicitDeny},
				{"GetObject from the vault directly", req("s3:GetObject", vaultObject), policy.ImplicitDeny},
				{"PutObject into the vault directly", req("s3:PutObject", vaultObject), policy.ImplicitDeny},
				{"ListBucket of another bucket", req("s3:ListBucket", "arn:aws:s3:::someone-elses-bucket"), policy.ImplicitDeny},
				{"ListBucket of the vault directly", req("s3:ListBucket", "arn:aws:s3:::"+tplVaultBucket), policy.ImplicitDeny},
				{"ReceiveMessage from another queue", req("sqs:ReceiveMessage", otherQueue), policy.ImplicitDeny},
				{"SendMessage to another queue", req("sqs:SendMessage", otherQueue), policy.ImplicitDeny},
				{"iam:PassRole", req("iam:PassRole", otherRole), policy.ImplicitDeny},
				{"iam:PassRole the Batch Operations role", req("iam:PassRole", tplBatchRole), policy.ImplicitDeny},
				{"InvokeFunction", req("lambda:InvokeFunction", tplFunctionArn(f)), policy.ImplicitDeny},
			}
			// Each source bucket of the template: its own are read (and, by
			// reconcile, listed); the others' are not.
			for _, b := range append(append([]string(nil), tplTrailBuckets...), tplBillBuckets...) {
				own := slices.Contains(f.buckets, b)
				read, list := read, list
				if own {
					read = policy.Allow
				} else {
					list = policy.ImplicitDeny
				}
				obj := "arn:aws:s3:::" + b + "/AWSLogs/x.json.gz"
				cases = append(cases,
					tplCase{"GetObject from " + b, req("s3:GetObject", obj), read},
					tplCase{"GetObjectVersion from " + b, req("s3:GetObjectVersion", obj), read},
					tplCase{"ListBucket of " + b, req("s3:ListBucket", "arn:aws:s3:::"+b), list},
					tplCase{"ListBucketVersions of " + b, req("s3:ListBucketVersions", "arn:aws:s3:::"+b), list},
					tplCase{"ListBucket of " + b + " as an object", req("s3:ListBucket", "arn:aws:s3:::"+b+"/x"), policy.ImplicitDeny},
					tplCase{"PutObject into " + b, req("s3:PutObject", obj), policy.ImplicitDeny},
					tplCase{"DeleteObject in " + b, req("s3:DeleteObject", obj), policy.ImplicitDeny},
					tplCase{"GetObject from a bucket named like " + b, req("s3:GetObject", "arn:aws:s3:::"+b+"-copy/x"), policy.ImplicitDeny},
				)
			}
			if f.queue != "" {
				cases = append(cases,
					tplCase{"ReceiveMessage from its queue", req("sqs:ReceiveMessage", tplQueueArn(f.queue)), policy.Allow},
					tplCase{"DeleteMessage from its queue", req("sqs:DeleteMessage", tplQueueArn(f.queue)), policy.Allow},
					tplCase{"PurgeQueue its queue", req("sqs:PurgeQueue", tplQueueArn(f.queue)), policy.ImplicitDeny},
					tplCase{"ReceiveMessage from its dead-letter queue", req("sqs:ReceiveMessage", tplQueueArn(f.dlq)), policy.ImplicitDeny})
			} else if f.dlq != "" {
				cases = append(cases,
					tplCase{"SendMessage to its dead-letter queue", req("sqs:SendMessage", tplQueueArn(f.dlq)), policy.Allow},
					tplCase{"ReceiveMessage from its dead-letter queue", req("sqs:ReceiveMessage", tplQueueArn(f.dlq)), policy.ImplicitDeny})
			}
			tplDecide(t, docs, cases)

			// Account A can trust the role by the name this template gives it.
			got2 := vaultTrust.Evaluate(policy.Request{Principal: sess, Action: "sts:AssumeRole", Resource: tplWriterRole,
				Context: map[string][]string{"aws:PrincipalArn": {tplRoleArn(f)}, "aws:PrincipalAccount": {tplAcctB}, "sts:ExternalId": {tplExternalID}, "aws:SecureTransport": {"true"},
					"aws:RequestTag/logvault-source-account": {tplAcctB}, "aws:TagKeys": {"logvault-source-account"}}})
			if got2.Decision != policy.Allow {
				t.Errorf("infra/vault.yaml's writer trust (FunctionRoleNames: the function role names) does not let %s assume it: %v %q", tplRoleArn(f), got2.Decision, got2.Assumed)
			}
		})
	}
}

func TestSAMTemplateLogGroups(t *testing.T) {
	l := loadSAM(t, "", func(v *tplValues) { v.Params["LogRetentionDays"] = "365" })
	groups := l.GetAllLogsLogGroupResources()
	if len(groups) != len(tplFunctions) {
		t.Errorf("log groups %d, want one per function", len(groups))
	}
	for _, f := range tplFunctions {
		fn := samFunction(t, l, f.id)
		var found bool
		for id, g := range groups {
			if g.LogGroupName == nil || *g.LogGroupName != "/aws/lambda/"+tplFunctionName(f) {
				continue
			}
			found = true
			if g.RetentionInDays == nil || *g.RetentionInDays != 365 {
				t.Errorf("%s RetentionInDays %s, want LogRetentionDays (365)", id, tplPtr(g.RetentionInDays))
			}
			if !reflect.DeepEqual(fn.AWSCloudFormationDependsOn, []string{id}) {
				t.Errorf("%s DependsOn %v, want %s (the group exists, with its retention, before the function can log)", f.id, fn.AWSCloudFormationDependsOn, id)
			}
		}
		if !found {
			t.Errorf("no log group /aws/lambda/%s for %s", tplFunctionName(f), f.id)
		}
	}
	for id, g := range loadSAM(t, "").GetAllLogsLogGroupResources() {
		if g.RetentionInDays == nil || *g.RetentionInDays != 90 {
			t.Errorf("%s RetentionInDays %s by default, want 90", id, tplPtr(g.RetentionInDays))
		}
	}
}

func TestSAMConfig(t *testing.T) {
	cfg := string(samFile(t, "samconfig.toml"))
	for _, want := range []string{
		"version = 0.1",
		"[default.global.parameters]",
		`stack_name = "logvault"`,
		"[default.build.parameters]",
		"[default.deploy.parameters]",
		`capabilities = "CAPABILITY_NAMED_IAM"`, // the roles have names
		"confirm_changeset = true",
		"resolve_s3 = true",
	} {
		if !strings.Contains(cfg, want) {
			t.Errorf("samconfig.toml has no %q", want)
		}
	}
	for _, line := range strings.Split(cfg, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "parameter_overrides") {
			t.Errorf("samconfig.toml sets %q: the parameters are the deployer's (sam deploy --guided saves them)", line)
		}
	}
}

// ---------------------------------------------------------------- policies

type tplCase struct {
	name string
	req  policy.Request
	want policy.Decision
}

func tplPolicy(t *testing.T, doc any) *policy.Document {
	t.Helper()
	js, err := cfn.PolicyJSON(doc)
	if err != nil {
		t.Fatal(err)
	}
	d, err := policy.Parse(js)
	if err != nil {
		t.Fatalf("policy.Parse(%s): %v", js, err)
	}
	if u := d.Unknown(); len(u) > 0 {
		t.Errorf("policy %s has parts the evaluator cannot interpret: %q", js, u)
	}
	return d
}

func tplEval(t *testing.T, d *policy.Document, cases []tplCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := d.Evaluate(c.req)
			if got.Decision != c.want {
				t.Errorf("%s on %s by %s: %v (statement %q), want %v", c.req.Action, c.req.Resource, c.req.Principal, got.Decision, got.Statement, c.want)
			}
			if !got.Exact() {
				t.Errorf("decision rests on assumptions: %q", got.Assumed)
			}
		})
	}
}

// tplPtr prints what a goformation pointer field holds, or "(unset)".
func tplPtr[T any](p *T) string {
	if p == nil {
		return "(unset)"
	}
	return fmt.Sprint(*p)
}

func tplStrings(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			out = append(out, fmt.Sprint(e))
		}
		return out
	}
	return nil
}

// tplGrant is one action on one resource that a role's inline policies allow.
type tplGrant struct{ action, resource string }

func tplSortGrants(g []tplGrant) {
	sort.Slice(g, func(i, j int) bool { return g[i].action+g[i].resource < g[j].action+g[j].resource })
}

// tplGrants lists the grants of a role's inline policies (which must be
// plain Allow statements) and parses them for the evaluator.
func tplGrants(t *testing.T, policies []iam.Role_Policy) ([]tplGrant, []*policy.Document) {
	t.Helper()
	var got []tplGrant
	docs := make([]*policy.Document, 0, len(policies))
	for _, p := range policies {
		docs = append(docs, tplPolicy(t, p.PolicyDocument))
		js, _ := cfn.PolicyJSON(p.PolicyDocument)
		var d struct {
			Statement []struct {
				Effect      string
				Action      any
				Resource    any
				NotAction   any
				NotResource any
				Condition   any
			}
		}
		if err := json.Unmarshal(js, &d); err != nil {
			t.Fatal(err)
		}
		for _, s := range d.Statement {
			if s.Effect != "Allow" || s.NotAction != nil || s.NotResource != nil || s.Condition != nil {
				t.Errorf("statement %+v: want plain Allow statements", s)
				continue
			}
			for _, a := range tplStrings(s.Action) {
				for _, res := range tplStrings(s.Resource) {
					got = append(got, tplGrant{a, res})
				}
			}
		}
	}
	return got, docs
}

// tplDecide evaluates requests against a role's policies together.
func tplDecide(t *testing.T, docs []*policy.Document, cases []tplCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var results []policy.Result
			for _, d := range docs {
				results = append(results, d.Evaluate(c.req))
			}
			got := policy.Combine(results...)
			if got.Decision != c.want {
				t.Errorf("%s %s: %v (statement %q), want %v", c.req.Action, c.req.Resource, got.Decision, got.Statement, c.want)
			}
			if !got.Exact() {
				t.Errorf("decision rests on assumptions: %q", got.Assumed)
			}
		})
	}
}

// ---------------------------------------------------------------- Account A

// vaultDeployment is infra/vault.yaml deployed for template.yaml's function roles.
func vaultDeployment(params map[string]string) cfn.VaultDeployment {
	var names []string
	for _, f := range tplFunctions {
		names = append(names, "logvault-"+f.name)
	}
	return cfn.VaultDeployment{
		VaultAccount: tplAcctA, TrustedAccounts: []string{tplAcctB}, Region: tplRegion, FunctionRoleNames: names, ExternalID: tplExternalID,
		BreakGlassRoleName: "logvault-break-glass", BucketName: tplVaultBucket, WriterRoleName: "logvault-vault-writer", Parameters: params,
	}
}

// loadVaultWith resolves infra/vault.yaml with further parameter values.
func loadVaultWith(t *testing.T, params map[string]string) *tplLoaded {
	t.Helper()
	r, err := cfn.Resolve(infra.VaultTemplate, vaultDeployment(params).Values())
	if err != nil {
		t.Fatalf("resolve infra/vault.yaml: %v", err)
	}
	return &tplLoaded{Resolved: r, ResCond: r.ResourceConditions}
}

func TestVaultTemplateBucket(t *testing.T) {
	l := loadVaultWith(t, nil)
	b, err := l.GetS3BucketWithName("VaultBucket")
	if err != nil {
		t.Fatal(err)
	}
	if b.VersioningConfiguration == nil || b.VersioningConfiguration.Status != "Enabled" {
		t.Errorf("VersioningConfiguration %+v, want Enabled", b.VersioningConfiguration)
	}
	if p := b.PublicAccessBlockConfiguration; p == nil || p.BlockPublicAcls == nil || !*p.BlockPublicAcls || p.BlockPublicPolicy == nil || !*p.BlockPublicPolicy ||
		p.IgnorePublicAcls == nil || !*p.IgnorePublicAcls || p.RestrictPublicBuckets == nil || !*p.RestrictPublicBuckets {
		t.Errorf("PublicAccessBlockConfiguration %+v, want all four true", p)
	}
	if o := b.OwnershipControls; o == nil || len(o.Rules) != 1 || o.Rules[0].ObjectOwnership == nil || *o.Rules[0].ObjectOwnership != "BucketOwnerEnforced" {
		t.Errorf("OwnershipControls %+v, want BucketOwnerEnforced", o)
	}
	if e := b.BucketEncryption; e == nil || len(e.ServerSideEncryptionConfiguration) == 0 ||
		e.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault == nil ||
		e.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.SSEAlgorithm != "AES256" {
		t.Errorf("BucketEncryption %+v, want SSE-S3 (AES256) by default", e)
	}
	// goformation does not model BlockedEncryptionTypes: read it resolved.
	blocked := rawGet(l.Raw, "Resources", "VaultBucket", "Properties", "BucketEncryption", "ServerSideEncryptionConfiguration")
	if js, _ := json.Marshal(blocked); !strings.Contains(string(js), `"BlockedEncryptionTypes":{"EncryptionType":["SSE-C"]}`) {
		t.Errorf("ServerSideEncryptionConfiguration %s does not block SSE-C (BlockedEncryptionTypes)", js)
	}
	if b.AWSCloudFormationDeletionPolicy != "Retain" || b.AWSCloudFormationUpdateReplacePolicy != "Retain" {
		t.Errorf("DeletionPolicy %q UpdateReplacePolicy %q, want Retain (deleting the stack never deletes the vault)", b.AWSCloudFormationDeletionPolicy, b.AWSCloudFormationUpdateReplacePolicy)
	}
	lc := b.LifecycleConfiguration
	if lc == nil || len(lc.Rules) == 0 {
		t.Fatalf("LifecycleConfiguration %+v, want the AbortIncompleteMultipartUpload rule", lc)
	}
	for i, r := range lc.Rules {
		js, _ := json.Marshal(r)
		var keys map[string]any
		_ = json.Unmarshal(js, &keys)
		for k := range keys {
			switch k {
			case "Id", "Status", "AbortIncompleteMultipartUpload", "Prefix":
			default:
				t.Errorf("lifecycle rule %d has %s (%s): a vault never expires, transitions or deletes a version", i, k, js)
			}
		}
		if r.AbortIncompleteMultipartUpload == nil {
			t.Errorf("lifecycle rule %d (%s) has no AbortIncompleteMultipartUpload", i, js)
		}
	}
	if b.ReplicationConfiguration != nil || b.InventoryConfigurations != nil {
		t.Errorf("Replication %+v Inventory %+v: a vault copies nothing elsewhere", b.ReplicationConfiguration, b.InventoryConfigurations)
	}
	metrics := map[string]string{}
	for _, m := range b.MetricsConfigurations {
		metrics[m.Id] = tplPtr(m.Prefix)
	}
	if want := map[string]string{"EntireBucket": "(unset)", "cloudtrail": "cloudtrail/", "billing": "billing/", "applogs": "applogs/"}; !reflect.DeepEqual(metrics, want) {
		t.Errorf("MetricsConfigurations %v, want %v (request metrics of the bucket and of each kind's prefix)", metrics, want)
	}
	if _, err := l.GetS3BucketPolicyWithName("VaultBucketPolicy"); err != nil {
		t.Error(err)
	}
	if _, err := l.GetIAMRoleWithName("WriterRole"); err != nil {
		t.Error(err)
	}
	for name, want := range map[string]string{"VaultBucketName": tplVaultBucket, "WriterRoleArn": tplWriterRole, "VaultAccountId": tplAcctA,
		"BreakGlassRoleArn": "arn:aws:iam::" + tplAcctA + ":role/logvault-break-glass"} {
		if o, ok := l.Outputs[name]; !ok || o.Value != want {
			t.Errorf("output %s = %v (present %v), want %q", name, o.Value, ok, want)
		}
	}
}

func TestVaultTemplateObjectLock(t *testing.T) {
	for _, c := range []struct {
		name   string
		params map[string]string
		mode   string
		days   int
	}{
		{"by default", nil, "COMPLIANCE", 365},
		{"days set", map[string]string{"ObjectLockRetentionDays": "30"}, "COMPLIANCE", 30},
		{"GOVERNANCE", map[string]string{"ObjectLockMode": "GOVERNANCE", "ObjectLockRetentionDays": "7"}, "GOVERNANCE", 7},
	} {
		t.Run(c.name, func(t *testing.T) {
			b, err := loadVaultWith(t, c.params).GetS3BucketWithName("VaultBucket")
			if err != nil {
				t.Fatal(err)
			}
			if b.ObjectLockEnabled == nil || !*b.ObjectLockEnabled {
				t.Errorf("ObjectLockEnabled %s, want true", tplPtr(b.ObjectLockEnabled))
			}
			lc := b.ObjectLockConfiguration
			if lc == nil || lc.ObjectLockEnabled == nil || *lc.ObjectLockEnabled != "Enabled" || lc.Rule == nil || lc.Rule.DefaultRetention == nil ||
				lc.Rule.DefaultRetention.Mode == nil || *lc.Rule.DefaultRetention.Mode != c.mode ||
				lc.Rule.DefaultRetention.Days == nil || *lc.Rule.DefaultRetention.Days != c.days || lc.Rule.DefaultRetention.Years != nil {
				js, _ := json.Marshal(lc)
				t.Errorf("ObjectLockConfiguration %s, want Enabled, %s %d days", js, c.mode, c.days)
			}
		})
	}
}

// TestVaultTemplateDetection: the alarms and rules that notice, in Account
// A, that shipping stopped or that someone changes the vault or its roles.
func TestVaultTemplateDetection(t *testing.T) {
	for _, c := range []struct {
		name, topicParam, topic string
	}{
		{"own topic", "", "arn:aws:sns:" + tplRegion + ":" + tplAcctA + ":logvault-vault-AlarmTopic"},
		{"given topic", "arn:aws:sns:" + tplRegion + ":" + tplAcctA + ":security", "arn:aws:sns:" + tplRegion + ":" + tplAcctA + ":security"},
	} {
		t.Run(c.name, func(t *testing.T) {
			l := loadVaultWith(t, map[string]string{"AlarmTopicArn": c.topicParam, "CloudTrailSilenceMinutes": "45"})
			_, created := l.GetAllSNSTopicResources()["AlarmTopic"]
			if created != (c.topicParam == "") {
				t.Errorf("AlarmTopic created %v with AlarmTopicArn %q", created, c.topicParam)
			}
			alarms := l.GetAllCloudWatchAlarmResources()
			silence, ok := alarms["CloudTrailSilenceAlarm"]
			if !ok {
				t.Fatal("no CloudTrailSilenceAlarm")
			}
			dims := map[string]string{}
			for _, d := range silence.Dimensions {
				dims[d.Name] = d.Value
			}
			if silence.Namespace == nil || *silence.Namespace != "AWS/S3" || tplPtr(silence.MetricName) != "PutRequests" ||
				dims["FilterId"] != "cloudtrail" || dims["BucketName"] != tplVaultBucket ||
				tplPtr(silence.TreatMissingData) != "breaching" || silence.ComparisonOperator != "LessThanThreshold" ||
				tplPtr(silence.Threshold) != "1" || tplPtr(silence.Period) != "60" || silence.EvaluationPeriods != 45 || tplPtr(silence.DatapointsToAlarm) != "45" {
				js, _ := json.Marshal(silence)
				t.Errorf("CloudTrailSilenceAlarm %s: want PutRequests under cloudtrail/ below 1 for 45 one-minute periods, missing data breaching", js)
			}
			// Refusals beyond the writer's own (a 404 per new key, a 412 per race).
			refused, ok := alarms["RefusedRequestsAlarm"]
			if js, _ := json.Marshal(refused); !ok || !strings.Contains(string(js), `"Expression":"FILL(errors, 0) - FILL(puts, 0)"`) ||
				!strings.Contains(string(js), `"MetricName":"4xxErrors"`) || !strings.Contains(string(js), `"MetricName":"PutRequests"`) ||
				strings.Count(string(js), `"Value":"EntireBucket"`) != 2 {
				t.Errorf("RefusedRequestsAlarm %s: want the whole bucket's 4xx errors less its PUT requests", js)
			}
			flood, ok := alarms["UploadFloodAlarm"]
			if !ok || tplPtr(flood.MetricName) != "BytesUploaded" || tplPtr(flood.Period) != "3600" || tplPtr(flood.Threshold) != "1.073741824e+11" {
				js, _ := json.Marshal(flood)
				t.Errorf("UploadFloodAlarm %s: want BytesUploaded per hour over 100 GiB", js)
			}
			for id, a := range alarms {
				if !reflect.DeepEqual(a.AlarmActions, []string{c.topic}) {
					t.Errorf("%s AlarmActions %v, want [%s]", id, a.AlarmActions, c.topic)
				}
			}
			rules := l.GetAllEventsRuleResources()
			for id, want := range map[string]string{
				"BreakGlassAssumedRule":  `"roleArn":[{"equals-ignore-case":"arn:aws:iam::` + tplAcctA + `:role/logvault-break-glass"}]`,
				"VaultRolesChangedRule":  `"roleName":[{"equals-ignore-case":"logvault-break-glass"},{"equals-ignore-case":"logvault-vault-writer"}]`,
				"VaultBucketChangedRule": `"bucketName":["` + tplVaultBucket + `"]`,
			} {
				r, ok := rules[id]
				if !ok {
					t.Errorf("no %s", id)
					continue
				}
				if js, _ := json.Marshal(r.EventPattern); !strings.Contains(string(js), want) {
					t.Errorf("%s pattern %s does not contain %s", id, js, want)
				}
				if len(r.Targets) != 1 || r.Targets[0].Arn != c.topic {
					t.Errorf("%s targets %+v, want the alarm topic", id, r.Targets)
				}
			}
			// AssumeRole is a read-only CloudTrail event: only this state receives it.
			if st := tplPtr(rules["BreakGlassAssumedRule"].State); st != "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS" {
				t.Errorf("BreakGlassAssumedRule State %s, want ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS", st)
			}
		})
	}
}

// TestVaultTemplateExactPrincipals: the parameters that name principals
// take exact names only: no wildcard, no other account's role.
func TestVaultTemplateExactPrincipals(t *testing.T) {
	l := loadVaultWith(t, nil)
	for _, c := range []struct {
		param string
		value string
		ok    bool
	}{
		{"FunctionRoleNames", "logvault-cloudtrail", true},
		{"FunctionRoleNames", "logvault-billing-eu-west-1", true},
		{"FunctionRoleNames", "path/logvault-billing", false},
		{"FunctionRoleNames", "logvault-*", false},
		{"FunctionRoleNames", "logvault-?", false},
		{"FunctionRoleNames", "arn:aws:iam::" + tplAcctB + ":role/logvault-cloudtrail", false},
		{"TrustedAccountIds", tplAcctB, true},
		{"TrustedAccountIds", "", true},
		{"TrustedAccountIds", "*", false},
		{"TrustedAccountIds", "22222222222?", false},
		{"TrustedAccountIds", "arn:aws:iam::" + tplAcctB + ":root", false},
		{"OrganizationId", "o-a1b2c3d4e5", true},
		{"OrganizationId", "", true},
		{"OrganizationId", "o-*", false},
		{"OrganizationId", "*", false},
		{"BreakGlassRoleName", "logvault-break-glass", true},
		{"BreakGlassRoleName", "*break-glass", false},
		{"BreakGlassRoleName", "arn:aws:iam::333333333333:role/break-glass", false},
		{"BreakGlassRoleName", "path/break-glass", false},
		{"WriterRoleName", "logvault-vault-writer", true},
		{"WriterRoleName", "logvault-*", false},
	} {
		p, ok := l.Parameters[c.param]
		if !ok || p.AllowedPattern == nil {
			t.Fatalf("parameter %s has no AllowedPattern", c.param)
		}
		// CloudFormation's patterns are Java regular expressions; these use
		// only what Go's RE2 reads the same way.
		re := regexp.MustCompile(*p.AllowedPattern)
		if got := re.MatchString(c.value); got != c.ok {
			t.Errorf("%s %q accepted %v, want %v", c.param, c.value, got, c.ok)
		}
	}
}
