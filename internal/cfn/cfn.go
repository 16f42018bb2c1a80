// Package cfn loads the project's CloudFormation templates with their
// intrinsic functions resolved against concrete values, so that the local
// stack, the audit and the tests see exactly what CloudFormation would deploy.
package cfn

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/awslabs/goformation/v7"
	"github.com/awslabs/goformation/v7/cloudformation"
	"github.com/awslabs/goformation/v7/intrinsics"
)

// Values are what CloudFormation would know at deploy time.
type Values struct {
	// Parameters are the stack's parameter values by name (a list as "a,b");
	// a parameter not given takes the template's Default.
	Parameters map[string]string
	// ListParameters are CommaDelimitedList values given as lists.
	ListParameters map[string][]string
	// Pseudo are pseudo parameters such as AWS::AccountId, AWS::Partition.
	Pseudo map[string]string
	// Refs are the physical ids that Ref returns for resources, by logical id.
	Refs map[string]string
	// Attrs are the values of Fn::GetAtt, keyed "LogicalId.Attribute".
	Attrs map[string]string
	// Conditions force conditions to a value, whatever their definition
	// (the audit proves a template under every value of its conditions).
	Conditions map[string]bool
}

// Resolved is a template as CloudFormation would deploy it.
type Resolved struct {
	*cloudformation.Template
	// Raw is the same, resolved, as generic JSON (for properties goformation
	// does not model).
	Raw map[string]any
	// Conditions are the evaluated conditions.
	Conditions map[string]bool
	// ResourceConditions maps a resource to its Condition attribute, and
	// OutputConditions an output to its own.
	ResourceConditions, OutputConditions map[string]string
}

// Load parses a template with its intrinsics resolved from v.
func Load(data []byte, v Values) (*cloudformation.Template, error) {
	r, err := Resolve(data, v)
	if err != nil {
		return nil, err
	}
	return r.Template, nil
}

// Resolve parses a template, resolves Ref, Fn::Sub, Fn::GetAtt, Fn::Split,
// Fn::Equals and the conditions from v, leaves out resources whose
// condition is false and list items that are AWS::NoValue, and type-checks
// the result with goformation. A reference v does not know is an error,
// never a silent blank: a policy with a vanished principal would be a
// different policy.
func Resolve(data []byte, v Values) (*Resolved, error) {
	// goformation's intrinsic processor keeps package-level state that is
	// not safe for concurrent use (a concurrent map write aborts the
	// process): one template at a time.
	goformationMu.Lock()
	defer goformationMu.Unlock()
	return resolve(data, v)
}

// goformationMu serialises the calls into goformation.
var goformationMu sync.Mutex

// JSON turns a YAML or JSON template into JSON, its short-form tags
// (!Ref, !Sub, ...) into their long form, nothing resolved.
func JSON(data []byte) ([]byte, error) {
	goformationMu.Lock()
	defer goformationMu.Unlock()
	return intrinsics.ProcessYAML(data, &intrinsics.ProcessorOptions{NoProcess: true})
}

func resolve(data []byte, v Values) (*Resolved, error) {
	plain, err := intrinsics.ProcessYAML(data, &intrinsics.ProcessorOptions{NoProcess: true})
	if err != nil {
		return nil, fmt.Errorf("cfn: parse template: %w", err)
	}
	var doc map[string]any
	if err := json.Unmarshal(plain, &doc); err != nil {
		return nil, fmt.Errorf("cfn: parse template: %w", err)
	}
	if cs, ok := doc["Conditions"].(map[string]any); ok {
		for name, b := range v.Conditions {
			if _, ok := cs[name]; ok {
				cs[name] = b
			}
		}
	}
	// goformation would replace a resource carrying a Condition attribute
	// with the condition's value, and its Output has no such field: take
	// the attributes out of resources and outputs, apply them after.
	resCond, outCond := takeConditions(doc, "Resources"), takeConditions(doc, "Outputs")
	stripped, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("cfn: %w", err)
	}
	r := &resolver{v: v}
	resolved, err := intrinsics.ProcessJSON(stripped, &intrinsics.ProcessorOptions{
		IntrinsicHandlerOverrides: map[string]intrinsics.IntrinsicHandler{
			"Ref":        r.ref,
			"Fn::Sub":    r.sub,
			"Fn::GetAtt": r.getAtt,
			"Fn::Split":  split,
			"Fn::Equals": equals,
		},
		EvaluateConditions: true,
	})
	if err != nil {
		return nil, fmt.Errorf("cfn: resolve template: %w", err)
	}
	if len(r.missing) > 0 {
		sort.Strings(r.missing)
		return nil, fmt.Errorf("cfn: unresolved references: %s", strings.Join(r.missing, ", "))
	}
	var raw map[string]any
	if err := json.Unmarshal(resolved, &raw); err != nil {
		return nil, fmt.Errorf("cfn: %w", err)
	}
	conds := map[string]bool{}
	if cs, ok := raw["Conditions"].(map[string]any); ok {
		for name, c := range cs {
			b, ok := c.(bool)
			if !ok {
				return nil, fmt.Errorf("cfn: condition %s does not evaluate to true or false (%v)", name, c)
			}
			conds[name] = b
		}
	}
	// What CloudFormation does not create: resources and outputs whose
	// condition is false.
	for _, part := range []struct {
		what  string
		conds map[string]string
	}{{"resource", resCond}, {"output", outCond}} {
		section, _ := raw[strings.ToUpper(part.what[:1])+part.what[1:]+"s"].(map[string]any)
		for id, c := range part.conds {
			b, ok := conds[c]
			if !ok {
				return nil, fmt.Errorf("cfn: %s %s: condition %s is not defined", part.what, id, c)
			}
			if !b {
				delete(section, id)
			}
		}
	}
	raw = dropNoValue(raw).(map[string]any)
	final, err := json.Marshal(withoutUnmodelled(raw))
	if err != nil {
		return nil, fmt.Errorf("cfn: %w", err)
	}
	tmpl, err := goformation.ParseJSONWithOptions(final, &intrinsics.ProcessorOptions{NoProcess: true})
	if err != nil {
		// CloudFormation takes "true" and "false" for a Boolean property;
		// goformation's types do not: read them as booleans and try again.
		if again, merr := json.Marshal(withoutUnmodelled(quotedBooleans(raw, "").(map[string]any))); merr == nil {
			if t2, err2 := goformation.ParseJSONWithOptions(again, &intrinsics.ProcessorOptions{NoProcess: true}); err2 == nil {
				tmpl, err = t2, nil
			}
		}
	}
	if err != nil {
		return nil, fmt.Errorf("cfn: template does not type-check: %w", err)
	}
	return &Resolved{Template: tmpl, Raw: raw, Conditions: conds, ResourceConditions: resCond, OutputConditions: outCond}, nil
}

// takeConditions removes the Condition attribute of every entry of a
// template section and returns them by logical id.
func takeConditions(doc map[string]any, section string) map[string]string {
	out := map[string]string{}
	entries, _ := doc[section].(map[string]any)
	for id, e := range entries {
		if m, ok := e.(map[string]any); ok {
			if c, ok := m["Condition"].(string); ok {
				out[id] = c
				delete(m, "Condition")
			}
		}
	}
	return out
}

// quotedBooleans is x with the strings "true" and "false" turned into
// booleans, except inside policy documents and tags (whose values are
// strings).
func quotedBooleans(x any, key string) any {
	switch key {
	case "PolicyDocument", "AssumeRolePolicyDocument", "KeyPolicy", "Content", "Tags", "Parameters", "Conditions", "Outputs":
		return x
	}
	switch v := x.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = quotedBooleans(e, k)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = quotedBooleans(e, "")
		}
		return out
	case string:
		switch v {
		case "true":
			return true
		case "false":
			return false
		}
	}
	return x
}

// PolicyJSON returns a policy document property (as goformation leaves it,
// a generic value) as JSON.
func PolicyJSON(doc any) ([]byte, error) {
	if doc == nil {
		return nil, fmt.Errorf("cfn: policy document is empty")
	}
	return json.Marshal(doc)
}

// unmodelled are the properties goformation (v7.14.9, its latest) does not
// know and so refuses: resource type, then the path to the property ("*"
// for every item of a list). The typed template goes without them; Raw
// keeps them.
var unmodelled = map[string][][]string{
	// S3 blocks SSE-C uploads to a bucket with it (2025).
	"AWS::S3::Bucket": {{"BucketEncryption", "ServerSideEncryptionConfiguration", "*", "BlockedEncryptionTypes"}},
}

// withoutUnmodelled returns a copy of a resolved template without the
// unmodelled properties.
func withoutUnmodelled(raw map[string]any) map[string]any {
	var c map[string]any
	js, _ := json.Marshal(raw)
	_ = json.Unmarshal(js, &c)
	resources, _ := c["Resources"].(map[string]any)
	for _, res := range resources {
		r, _ := res.(map[string]any)
		typ, _ := r["Type"].(string)
		for _, path := range unmodelled[typ] {
			deletePath(r["Properties"], path)
		}
	}
	return c
}

// deletePath deletes the property at path under v.
func deletePath(v any, path []string) {
	if len(path) == 0 {
		return
	}
	switch x := v.(type) {
	case map[string]any:
		if len(path) == 1 {
			delete(x, path[0])
			return
		}
		deletePath(x[path[0]], path[1:])
	case []any:
		if path[0] == "*" {
			for _, e := range x {
				deletePath(e, path[1:])
			}
		}
	}
}

// dropNoValue removes list items and map keys that resolved to
// AWS::NoValue (null), as CloudFormation does (a condition key whose value
// is !If [..., !Ref AWS::NoValue] is then absent).
func dropNoValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if e == nil {
				delete(x, k)
				continue
			}
			x[k] = dropNoValue(e)
		}
		return x
	case []any:
		out := x[:0]
		for _, e := range x {
			if e != nil {
				out = append(out, dropNoValue(e))
			}
		}
		return out
	}
	return v
}

type resolver struct {
	v       Values
	missing []string
}

func (r *resolver) miss(format string, args ...any) any {
	r.missing = append(r.missing, fmt.Sprintf(format, args...))
	return nil
}

// param returns a parameter's value typed as CloudFormation gives it: a
// Number as a number, a list as a list.
func (r *resolver) param(name string, template any) (any, bool) {
	t, _ := template.(map[string]any)
	params, _ := t["Parameters"].(map[string]any)
	p, ok := params[name].(map[string]any)
	if !ok {
		return nil, false
	}
	if l, ok := r.v.ListParameters[name]; ok {
		out := make([]any, len(l))
		for i, e := range l {
			out[i] = e
		}
		return out, true
	}
	s, given := r.v.Parameters[name]
	if !given {
		d, ok := p["Default"]
		if !ok {
			return r.miss("Ref %s (a parameter with no value and no Default)", name), true
		}
		if f, ok := d.(float64); ok {
			s = strconv.FormatFloat(f, 'f', -1, 64)
		} else {
			s = fmt.Sprint(d)
		}
	}
	switch p["Type"] {
	case "Number":
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return r.miss("Ref %s: %q is not a Number", name, s), true
		}
		return f, true
	case "CommaDelimitedList", "List<Number>", "List<String>":
		var out []any
		for _, e := range strings.Split(s, ",") {
			out = append(out, e)
		}
		return out, true
	}
	return s, true
}

func (r *resolver) ref(_ string, input any, template any) any {
	name, ok := input.(string)
	if !ok {
		return r.miss("Ref %v", input)
	}
	if name == "AWS::NoValue" {
		return nil
	}
	if v, ok := r.param(name, template); ok {
		return v
	}
	if s, ok := r.v.Pseudo[name]; ok {
		return s
	}
	if s, ok := r.v.Refs[name]; ok {
		return s
	}
	return r.miss("Ref %s", name)
}

func (r *resolver) getAtt(_ string, input any, _ any) any {
	var key string
	switch v := input.(type) {
	case string:
		key = v
	case []any:
		parts := make([]string, 0, len(v))
		for _, p := range v {
			parts = append(parts, fmt.Sprint(p))
		}
		key = strings.Join(parts, ".")
	}
	if s, ok := r.v.Attrs[key]; ok {
		return s
	}
	return r.miss("Fn::GetAtt %s", key)
}

var subVar = regexp.MustCompile(`\$\{([^}]+)\}`)

func (r *resolver) sub(_ string, input any, template any) any {
	src, locals := "", map[string]any{}
	switch v := input.(type) {
	case string:
		src = v
	case []any:
		if len(v) != 2 {
			return r.miss("Fn::Sub with a list of other than two items")
		}
		s, ok := v[0].(string)
		m, ok2 := v[1].(map[string]any)
		if !ok || !ok2 {
			return r.miss("Fn::Sub [string, map] expected")
		}
		src = s
		for k, val := range m {
			locals[k] = val
		}
	default:
		return r.miss("Fn::Sub %v", input)
	}
	return subVar.ReplaceAllStringFunc(src, func(m string) string {
		name := m[2 : len(m)-1]
		if strings.HasPrefix(name, "!") {
			return "${" + name[1:] + "}" // ${!Literal} is CloudFormation's escape
		}
		var v any
		if l, ok := locals[name]; ok {
			v = l
		} else if strings.Contains(name, ".") && !strings.HasPrefix(name, "AWS::") {
			v = r.getAtt("", name, template)
		} else {
			v = r.ref("", name, template)
		}
		switch x := v.(type) {
		case string:
			return x
		case float64:
			return strconv.FormatFloat(x, 'f', -1, 64)
		case nil:
			return m
		}
		r.miss("Fn::Sub ${%s} is not a string (%T)", name, v)
		return m
	})
}

// split returns a generic list, which goformation's Fn::Select accepts
// (its own Fn::Split returns []string, which it then rejects).
func split(_ string, input any, _ any) any {
	arr, ok := input.([]any)
	if !ok || len(arr) != 2 {
		return nil
	}
	d, ok1 := arr[0].(string)
	s, ok2 := arr[1].(string)
	if !ok1 || !ok2 {
		return nil
	}
	var out []any
	for _, e := range strings.Split(s, d) {
		out = append(out, e)
	}
	return out
}

// equals compares as CloudFormation does: parameter values are strings, so
// "0" equals 0.
func equals(_ string, input any, _ any) any {
	arr, ok := input.([]any)
	if !ok || len(arr) != 2 {
		return nil
	}
	return fmt.Sprint(arr[0]) == fmt.Sprint(arr[1])
}
