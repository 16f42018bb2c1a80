// Package cfn loads the project's CloudFormation templates with their
// intrinsic functions resolved against concrete values, so that the local
// stack and the tests apply exactly the policies the templates deploy.
package cfn

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/awslabs/goformation/v7"
	"github.com/awslabs/goformation/v7/cloudformation"
	"github.com/awslabs/goformation/v7/intrinsics"
)

// Values are what CloudFormation would know at deploy time.
type Values struct {
	// Parameters are the stack's parameter values by name.
	Parameters map[string]string
	// ListParameters are the values of CommaDelimitedList parameters.
	ListParameters map[string][]string
	// Pseudo are pseudo parameters such as AWS::AccountId, AWS::Partition.
	Pseudo map[string]string
	// Refs are the physical ids that Ref returns for resources, by logical id.
	Refs map[string]string
	// Attrs are the values of Fn::GetAtt, keyed "LogicalId.Attribute".
	Attrs map[string]string
}

// Load parses a template, resolving Ref, Fn::Sub and Fn::GetAtt
// from v. A reference v does not know is an error, never a silent blank:
// a policy with a vanished principal would be a different policy.
func Load(data []byte, v Values) (*cloudformation.Template, error) {
	r := &resolver{v: v}
	tmpl, err := goformation.ParseYAMLWithOptions(data, &intrinsics.ProcessorOptions{
		IntrinsicHandlerOverrides: map[string]intrinsics.IntrinsicHandler{
			"Ref":        r.ref,
			"Fn::Sub":    r.sub,
			"Fn::GetAtt": r.getAtt,
			"Fn::Equals": equals,
		},
		EvaluateConditions: true,
	})
	if err != nil {
		return nil, fmt.Errorf("cfn: parse template: %w", err)
	}
	if len(r.missing) > 0 {
		return nil, fmt.Errorf("cfn: unresolved references: %s", strings.Join(r.missing, ", "))
	}
	return tmpl, nil
}

// PolicyJSON returns a policy document property (as goformation leaves it,
// a generic value) as JSON.
func PolicyJSON(doc any) ([]byte, error) {
	if doc == nil {
		return nil, fmt.Errorf("cfn: policy document is empty")
	}
	return json.Marshal(doc)
}

type resolver struct {
	v        Values
	defaults map[string]string
	numbers  map[string]bool // parameters of Type Number
	missing  []string
}

// lookupRef resolves a name as Ref does: parameters (with their template
// defaults), pseudo parameters, resources.
func (r *resolver) lookupRef(name string) (string, bool) {
	if s, ok := r.v.Parameters[name]; ok {
		return s, true
	}
	if s, ok := r.v.Pseudo[name]; ok {
		return s, true
	}
	if s, ok := r.v.Refs[name]; ok {
		return s, true
	}
	if s, ok := r.defaults[name]; ok {
		return s, true
	}
	return "", false
}

// learnDefaults records the template's parameter defaults, once.
func (r *resolver) learnDefaults(template any) {
	if r.defaults != nil {
		return
	}
	r.defaults, r.numbers = map[string]string{}, map[string]bool{}
	t, _ := template.(map[string]any)
	params, _ := t["Parameters"].(map[string]any)
	for name, p := range params {
		pm, _ := p.(map[string]any)
		if d, ok := pm["Default"]; ok {
			r.defaults[name] = fmt.Sprint(d)
		}
		r.numbers[name] = pm["Type"] == "Number"
	}
}

func (r *resolver) ref(_ string, input any, template any) any {
	r.learnDefaults(template)
	name, ok := input.(string)
	if !ok {
		r.missing = append(r.missing, fmt.Sprintf("Ref %v", input))
		return nil
	}
	if name == "AWS::NoValue" {
		return nil
	}
	if l, ok := r.v.ListParameters[name]; ok {
		out := make([]any, len(l))
		for i, v := range l {
			out[i] = v
		}
		return out
	}
	if s, ok := r.lookupRef(name); ok {
		if r.numbers[name] {
			// A Number parameter is a number where a property wants one.
			if n, err := strconv.ParseFloat(s, 64); err == nil {
				return n
			}
		}
		return s
	}
	r.missing = append(r.missing, "Ref "+name)
	return nil
}

func (r *resolver) getAtt(_ string, input any, _ any) any {
	var key string
	switch v := input.(type) {
	case string:
		key = v
	case []any:
		parts := make([]string, 0, len(v))
		for _, p := range v {
			s, ok := p.(string)
			if !ok {
				r.missing = append(r.missing, fmt.Sprintf("Fn::GetAtt %v", input))
				return nil
			}
			parts = append(parts, s)
		}
		key = strings.Join(parts, ".")
	}
	if s, ok := r.v.Attrs[key]; ok {
		return s
	}
	r.missing = append(r.missing, "Fn::GetAtt "+key)
	return nil
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

var subVar = regexp.MustCompile(`\$\{([^}]+)\}`)

func (r *resolver) sub(_ string, input any, template any) any {
	r.learnDefaults(template)
	src, locals := "", map[string]string{}
	switch v := input.(type) {
	case string:
		src = v
	case []any:
		if len(v) != 2 {
			r.missing = append(r.missing, "Fn::Sub with a list of other than two items")
			return nil
		}
		s, ok := v[0].(string)
		m, ok2 := v[1].(map[string]any)
		if !ok || !ok2 {
			r.missing = append(r.missing, "Fn::Sub [string, map] expected")
			return nil
		}
		src = s
		for k, val := range m {
			if sv, ok := val.(string); ok {
				locals[k] = sv
			}
		}
	default:
		r.missing = append(r.missing, fmt.Sprintf("Fn::Sub %v", input))
		return nil
	}
	return subVar.ReplaceAllStringFunc(src, func(m string) string {
		name := m[2 : len(m)-1]
		if strings.HasPrefix(name, "!") {
			return "${" + name[1:] + "}" // ${!Literal} is CloudFormation's escape
		}
		if s, ok := locals[name]; ok {
			return s
		}
		if strings.Contains(name, ".") && !strings.HasPrefix(name, "AWS::") {
			if s, ok := r.v.Attrs[name]; ok {
				return s
			}
		} else if s, ok := r.lookupRef(name); ok {
			return s
		}
		r.missing = append(r.missing, "Fn::Sub ${"+name+"}")
		return m
	})
}
