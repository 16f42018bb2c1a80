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
	"sort"
	"strings"
	"testing"

	"github.com/awslabs/goformation/v7/cloudformation/serverless"

	"github.com/logvault/logvault/infra"
	"github.com/logvault/logvault/internal/cfn"
	"github.com/logvault/logvault/internal/functions"
	"github.com/logvault/logvault/internal/policy"
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
)

// tplFunction is what a reviewer expects of each function in template.yaml.
type tplFunction struct {
	name   string // functions.Names(), functions/NAME
	id     string // logical id
	role   string // logical id of its execution role
	bucket string // source bucket ("" for applogs)
	queue  string // its SQS queue ("" for applogs)
	dlq    string
	rule   string // its EventBridge rule ("" for applogs)
}

var tplFunctions = []tplFunction{
	{"cloudtrail", "CloudTrailFunction", "CloudTrailFunctionRole", tplTrailBucket, "CloudTrailQueue", "CloudTrailDeadLetterQueue", "CloudTrailObjectCreatedRule"},
	{"billing", "BillingFunction", "BillingFunctionRole", tplBillBucket, "BillingQueue", "BillingDeadLetterQueue", "BillingObjectCreatedRule"},
	{"applogs", "AppLogsFunction", "AppLogsFunctionRole", "", "", "AppLogsDeadLetterQueue", ""},
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
			"CloudTrailBucket":   tplTrailBucket,
			"BillingBucket":      tplBillBucket,
			"AppLogGroupNames":   logGroups,
			"AlarmTopicArn":      tplTopic,
		},
		Pseudo: map[string]string{"AWS::Partition": "aws", "AWS::AccountId": tplAcctB, "AWS::Region": tplRegion, "AWS::StackName": "logvault"},
		Refs:   map[string]string{},
		Attrs:  map[string]string{},
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
	return tplLoad(t, samFile(t, "template.yaml"), v)
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
	if want := functions.Names(); !reflect.DeepEqual(names, want) {
		t.Fatalf("the test knows functions %v, internal/functions builds %v", names, want)
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
	want := []string{"BillingBucket", "CloudTrailBucket", "VaultBucket", "VaultExpectedOwner", "VaultExternalId", "VaultRoleArn"}
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
			wantPattern := map[string]any{
				"source":      []any{"aws.s3"},
				"detail-type": []any{"Object Created"},
				"detail":      map[string]any{"bucket": map[string]any{"name": []any{f.bucket}}},
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
	f := tplFunctions[2]
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
			for _, f := range tplFunctions {
				if id := find("AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", tplQueueName(f.dlq)); id != "" {
					seen[id] = true
					if s := alarms[id].Statistic; s == nil || (*s != "Maximum" && *s != "Sum" && *s != "Average") {
						t.Errorf("%s Statistic %s", id, tplPtr(s))
					}
				}
				if id := find("AWS/Lambda", "Errors", "FunctionName", tplFunctionName(f)); id != "" {
					seen[id] = true
					if s := alarms[id].Statistic; s == nil || *s != "Sum" {
						t.Errorf("%s Statistic %s, want Sum", id, tplPtr(s))
					}
				}
			}
			if len(seen) != 2*len(tplFunctions) {
				t.Errorf("%d alarms found of %d expected", len(seen), 2*len(tplFunctions))
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
			if len(dlqs) != len(tplFunctions) {
				t.Errorf("dead-letter queues %v, want one per function", dlqs)
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
	if len(roles) != len(tplFunctions) {
		t.Errorf("IAM roles %d, want one per function (%d)", len(roles), len(tplFunctions))
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
			type grant struct{ action, resource string }
			var got []grant
			docs := make([]*policy.Document, 0, len(r.Policies))
			for _, p := range r.Policies {
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
					if s.Effect != "Allow" || s.NotAction != nil || s.NotResource != nil {
						t.Errorf("statement %+v: want plain Allow statements", s)
						continue
					}
					for _, a := range tplStrings(s.Action) {
						for _, res := range tplStrings(s.Resource) {
							got = append(got, grant{a, res})
						}
					}
				}
			}
			want := []grant{{"sts:AssumeRole", tplWriterRole}}
			if f.bucket != "" {
				obj := "arn:aws:s3:::" + f.bucket + "/*"
				want = append(want, grant{"s3:GetObject", obj}, grant{"s3:GetObjectVersion", obj})
				for _, a := range []string{"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility"} {
					want = append(want, grant{a, tplQueueArn(f.queue)})
				}
			} else {
				want = append(want, grant{"sqs:SendMessage", tplQueueArn(f.dlq)})
			}
			sortGrants := func(g []grant) {
				sort.Slice(g, func(i, j int) bool { return g[i].action+g[i].resource < g[j].action+g[j].resource })
			}
			sortGrants(got)
			sortGrants(want)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("inline grants\n got %v\nwant %v", got, want)
			}

			// The same, as the evaluator reads them.
			sess := "arn:aws:sts::" + tplAcctB + ":assumed-role/logvault-" + f.name + "/" + tplFunctionName(f)
			req := func(action, resource string) policy.Request {
				return policy.Request{Principal: sess, Action: action, Resource: resource,
					Context: map[string][]string{"aws:PrincipalArn": {tplRoleArn(f)}, "aws:SecureTransport": {"true"}}}
			}
			read := policy.ImplicitDeny
			srcObj := "arn:aws:s3:::" + tplTrailBucket + "/AWSLogs/x.json.gz"
			if f.bucket != "" {
				read = policy.Allow
				srcObj = "arn:aws:s3:::" + f.bucket + "/AWSLogs/x.json.gz"
			}
			cases := []tplCase{
				{"AssumeRole the vault writer", req("sts:AssumeRole", tplWriterRole), policy.Allow},
				{"AssumeRole another role", req("sts:AssumeRole", otherRole), policy.ImplicitDeny},
				{"GetObject from its source bucket", req("s3:GetObject", srcObj), read},
				{"GetObjectVersion from its source bucket", req("s3:GetObjectVersion", srcObj), read},
				{"GetObject from another bucket", req("s3:GetObject", otherBucket), policy.ImplicitDeny},
				{"GetObject from the vault directly", req("s3:GetObject", vaultObject), policy.ImplicitDeny},
				{"PutObject into its source bucket", req("s3:PutObject", srcObj), policy.ImplicitDeny},
				{"PutObject into the vault directly", req("s3:PutObject", vaultObject), policy.ImplicitDeny},
				{"DeleteObject in its source bucket", req("s3:DeleteObject", srcObj), policy.ImplicitDeny},
				{"ListBucket of its source bucket", req("s3:ListBucket", "arn:aws:s3:::"+f.bucket), policy.ImplicitDeny},
				{"ReceiveMessage from another queue", req("sqs:ReceiveMessage", otherQueue), policy.ImplicitDeny},
				{"SendMessage to another queue", req("sqs:SendMessage", otherQueue), policy.ImplicitDeny},
				{"iam:PassRole", req("iam:PassRole", otherRole), policy.ImplicitDeny},
			}
			if f.queue != "" {
				cases = append(cases,
					tplCase{"ReceiveMessage from its queue", req("sqs:ReceiveMessage", tplQueueArn(f.queue)), policy.Allow},
					tplCase{"DeleteMessage from its queue", req("sqs:DeleteMessage", tplQueueArn(f.queue)), policy.Allow},
					tplCase{"PurgeQueue its queue", req("sqs:PurgeQueue", tplQueueArn(f.queue)), policy.ImplicitDeny},
					tplCase{"ReceiveMessage from its dead-letter queue", req("sqs:ReceiveMessage", tplQueueArn(f.dlq)), policy.ImplicitDeny})
			} else {
				cases = append(cases,
					tplCase{"SendMessage to its dead-letter queue", req("sqs:SendMessage", tplQueueArn(f.dlq)), policy.Allow},
					tplCase{"ReceiveMessage from its dead-letter queue", req("sqs:ReceiveMessage", tplQueueArn(f.dlq)), policy.ImplicitDeny})
			}
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

			// Account A can trust the role by the name this template gives it.
			got2 := vaultTrust.Evaluate(policy.Request{Principal: sess, Action: "sts:AssumeRole", Resource: tplWriterRole,
				Context: map[string][]string{"aws:PrincipalArn": {tplRoleArn(f)}, "aws:PrincipalAccount": {tplAcctB}, "sts:ExternalId": {tplExternalID}, "aws:SecureTransport": {"true"}}})
			if got2.Decision != policy.Allow {
				t.Errorf("infra/vault.yaml's writer trust (FunctionRoleArns: the three role ARNs) does not let %s assume it: %v %q", tplRoleArn(f), got2.Decision, got2.Assumed)
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

// ---------------------------------------------------------------- Account A

// vaultDeployment is infra/vault.yaml deployed for template.yaml's function roles.
func vaultDeployment(params map[string]string) cfn.VaultDeployment {
	var roles []string
	for _, f := range tplFunctions {
		roles = append(roles, tplRoleArn(f))
	}
	return cfn.VaultDeployment{
		VaultAccount: tplAcctA, TrustedAccount: tplAcctB, Region: tplRegion, FunctionRoleARNs: roles, ExternalID: tplExternalID,
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
		{"FunctionRoleArns", "arn:aws:iam::" + tplAcctB + ":role/logvault-cloudtrail", true},
		{"FunctionRoleArns", "arn:aws:iam::" + tplAcctB + ":role/path/logvault-billing", true},
		{"FunctionRoleArns", "arn:aws:iam::" + tplAcctB + ":role/logvault-*", false},
		{"FunctionRoleArns", "arn:aws:iam::*:role/logvault-cloudtrail", false},
		{"FunctionRoleArns", "arn:aws:iam::" + tplAcctB + ":root", false},
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
