// Package policy parses AWS IAM policy documents and evaluates them against a
// request the way AWS does: for the local STS AssumeRole endpoint (trust
// policies with sts:ExternalId) and for the static audit that proves no
// destructive S3 action is allowed.
//
// # Soundness
//
// Every part of a statement (principal, action, resource, each condition)
// matches a request with one of three answers: yes, no, or unknown. Unknown
// means the evaluator cannot tell what AWS would decide: an unknown condition
// operator (also a known one spelt with other letter case), a typed value it
// cannot parse (NumericEquals "ten"), a wildcard in a principal ARN, a policy
// variable without a single value, a wildcard that matches only by spanning
// an ARN's ':' separators, or an AWS behaviour that is documented ambiguously
// (NotPrincipal for a principal that is listed only through its account or
// role). The parts are ANDed in three-valued (Kleene) logic, so a part that
// definitely fails still makes the statement fail. Then:
//
//   - an Allow statement whose match is unknown counts as matching, so the
//     audit never under-reports what is allowed;
//   - a Deny statement whose match is unknown counts as not matching, so the
//     audit never relies on a Deny it cannot evaluate.
//
// Each such assumption that could change a decision is listed in
// Result.Assumed; a caller that needs AWS's exact answer (the STS endpoint)
// should grant only an Allow whose Assumed is empty (Result.Exact).
// Document.Unknown lists the assumptions visible without a request.
//
// # Request context
//
// Evaluate uses Request.Context as the complete request context: it adds no
// global keys itself. Callers must supply what AWS would (aws:PrincipalArn,
// aws:PrincipalAccount, aws:SecureTransport, sts:ExternalId, ...), because a
// missing key makes negated operators such as ArnNotLike succeed.
package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

// Document is a parsed IAM policy document.
type Document struct {
	Version    string // "2012-10-17", "2008-10-17" or "" (policy variables only in 2012-10-17)
	ID         string // the optional Id element
	Statements []Statement
}

// Statement is one policy statement.
type Statement struct {
	Sid                     string
	Effect                  string     // "Allow" | "Deny"
	Principal, NotPrincipal *Principal // nil when absent
	Action, NotAction       []string
	Resource, NotResource   []string                       // both empty: every resource (trust policies have none)
	Condition               map[string]map[string][]string // operator -> key -> values
}

// Principal is the Principal/NotPrincipal element: "*" or a map of type ("AWS","Service","Federated","CanonicalUser") to values.
type Principal struct {
	Any    bool
	Values map[string][]string
}

// ErrMalformed is matched (errors.Is) by every error Parse returns.
var ErrMalformed = errors.New("policy: malformed document")

// malformedError keeps Parse's precise message while letting callers test errors.Is(err, ErrMalformed).
type malformedError struct{ err error }

func (e *malformedError) Error() string   { return e.err.Error() }
func (e *malformedError) Unwrap() []error { return []error{e.err, ErrMalformed} }

// Statement indexes in messages count from 0, like the JSON array.

// Parse decodes a policy document in JSON (as AWS accepts it: string-or-list fields, Principal "*" or {"AWS": "..."|[..]}, Statement as object or list).
func Parse(data []byte) (*Document, error) {
	d, err := parse(data)
	if err != nil {
		return nil, &malformedError{err}
	}
	return d, nil
}

func parse(data []byte) (*Document, error) {
	if !json.Valid(data) {
		var v any
		err := json.Unmarshal(data, &v)
		if err == nil {
			err = errors.New("invalid JSON")
		}
		return nil, fmt.Errorf("policy: document is not valid JSON: %w", err)
	}
	// encoding/json keeps the last of duplicate keys silently; AWS's reading is
	// not documented, so a document with duplicates has no single meaning.
	if err := checkDuplicateKeys(data); err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	top, err := decodeObject(data, "document")
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	for _, k := range sortedKeys(top) {
		switch k {
		case "Version", "Id", "Statement":
		default:
			// AWS rejects unknown elements; guessing their meaning would be unsound.
			return nil, fmt.Errorf("policy: unknown element %q", k)
		}
	}
	d := &Document{}
	if raw, ok := top["Version"]; ok {
		if d.Version, err = decodeString(raw, "Version"); err != nil {
			return nil, fmt.Errorf("policy: %w", err)
		}
		if d.Version != "2012-10-17" && d.Version != "2008-10-17" {
			return nil, fmt.Errorf("policy: Version %q is neither 2012-10-17 nor 2008-10-17", d.Version)
		}
	}
	if raw, ok := top["Id"]; ok {
		if d.ID, err = decodeString(raw, "Id"); err != nil {
			return nil, fmt.Errorf("policy: %w", err)
		}
	}
	raw, ok := top["Statement"]
	if !ok {
		return nil, errors.New("policy: Statement is missing")
	}
	var items []json.RawMessage
	switch jsonKind(raw) {
	case '{':
		items = []json.RawMessage{raw}
	case '[':
		if err := json.Unmarshal(raw, &items); err != nil {
			return nil, fmt.Errorf("policy: Statement: %w", err)
		}
	default:
		return nil, errors.New("policy: Statement must be an object or a list of objects")
	}
	d.Statements = make([]Statement, 0, len(items))
	for i, item := range items {
		s, err := parseStatement(item)
		if err != nil {
			return nil, fmt.Errorf("policy: statement %d: %w", i, err)
		}
		d.Statements = append(d.Statements, s)
	}
	return d, nil
}

func parseStatement(raw json.RawMessage) (Statement, error) {
	var s Statement
	m, err := decodeObject(raw, "statement")
	if err != nil {
		return s, err
	}
	for _, k := range sortedKeys(m) {
		switch k {
		case "Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource", "NotResource", "Condition":
		default:
			return s, fmt.Errorf("unknown element %q", k)
		}
	}
	if v, ok := m["Sid"]; ok {
		if s.Sid, err = decodeString(v, "Sid"); err != nil {
			return s, err
		}
	}
	v, ok := m["Effect"]
	if !ok {
		return s, errors.New("Effect is missing")
	}
	if s.Effect, err = decodeString(v, "Effect"); err != nil {
		return s, err
	}
	for _, f := range []struct {
		name string
		dst  **Principal
	}{{"Principal", &s.Principal}, {"NotPrincipal", &s.NotPrincipal}} {
		if v, ok := m[f.name]; ok {
			if *f.dst, err = decodePrincipal(v, f.name); err != nil {
				return s, err
			}
		}
	}
	for _, f := range []struct {
		name string
		dst  *[]string
	}{{"Action", &s.Action}, {"NotAction", &s.NotAction}, {"Resource", &s.Resource}, {"NotResource", &s.NotResource}} {
		if v, ok := m[f.name]; ok {
			if *f.dst, err = decodeStrings(v, f.name); err != nil {
				return s, err
			}
		}
	}
	if v, ok := m["Condition"]; ok {
		if s.Condition, err = decodeCondition(v); err != nil {
			return s, err
		}
	}
	if err := validateStatement(&s); err != nil {
		return s, err
	}
	return s, nil
}

// Validate reports the first statement AWS would reject (Parse output always passes); Evaluate treats such statements as unknown.
func (d *Document) Validate() error {
	if d == nil {
		return errors.New("policy: nil document")
	}
	for i := range d.Statements {
		if err := validateStatement(&d.Statements[i]); err != nil {
			return fmt.Errorf("policy: statement %d: %w", i, err)
		}
	}
	return nil
}

func validateStatement(s *Statement) error {
	if s.Effect != "Allow" && s.Effect != "Deny" {
		return fmt.Errorf("Effect %q is neither Allow nor Deny", s.Effect)
	}
	if s.Principal != nil && s.NotPrincipal != nil {
		return errors.New("both Principal and NotPrincipal are present")
	}
	if err := validatePrincipal(s.Principal, "Principal"); err != nil {
		return err
	}
	if err := validatePrincipal(s.NotPrincipal, "NotPrincipal"); err != nil {
		return err
	}
	switch {
	case len(s.Action) > 0 && len(s.NotAction) > 0:
		return errors.New("both Action and NotAction are present")
	case len(s.Action) == 0 && len(s.NotAction) == 0:
		return errors.New("neither Action nor NotAction is present")
	}
	for _, a := range s.Action {
		if err := validateAction(a, "Action"); err != nil {
			return err
		}
	}
	for _, a := range s.NotAction {
		if err := validateAction(a, "NotAction"); err != nil {
			return err
		}
	}
	if len(s.Resource) > 0 && len(s.NotResource) > 0 {
		return errors.New("both Resource and NotResource are present")
	}
	for _, r := range s.Resource {
		if err := validateResource(r, "Resource"); err != nil {
			return err
		}
	}
	for _, r := range s.NotResource {
		if err := validateResource(r, "NotResource"); err != nil {
			return err
		}
	}
	for _, op := range sortedKeys(s.Condition) {
		keys := s.Condition[op]
		if op == "" {
			return errors.New("Condition has an empty operator")
		}
		if len(keys) == 0 {
			return fmt.Errorf("Condition %s has no keys", op)
		}
		for _, k := range sortedKeys(keys) {
			if k == "" {
				return fmt.Errorf("Condition %s has an empty key", op)
			}
			if len(keys[k]) == 0 {
				return fmt.Errorf("Condition %s %s has no values", op, k)
			}
		}
	}
	return nil
}

func validatePrincipal(p *Principal, name string) error {
	if p == nil {
		return nil
	}
	if p.Any {
		if len(p.Values) > 0 {
			return fmt.Errorf("%s is both \"*\" and a map", name)
		}
		return nil
	}
	if len(p.Values) == 0 {
		return fmt.Errorf("%s is empty", name)
	}
	for _, typ := range sortedKeys(p.Values) {
		switch typ {
		case "AWS", "Service", "Federated", "CanonicalUser":
		default:
			return fmt.Errorf("%s type %q is not AWS, Service, Federated or CanonicalUser", name, typ)
		}
		if len(p.Values[typ]) == 0 {
			return fmt.Errorf("%s %s is empty", name, typ)
		}
		for _, v := range p.Values[typ] {
			if v == "" {
				return fmt.Errorf("%s %s has an empty value", name, typ)
			}
		}
	}
	return nil
}

func validateAction(a, name string) error {
	if a == "*" {
		return nil
	}
	i := strings.IndexByte(a, ':')
	if i <= 0 || i == len(a)-1 || strings.ContainsAny(a, " \t\r\n") {
		return fmt.Errorf("%s value %q is not \"*\" or service:action", name, a)
	}
	return nil
}

func validateResource(r, name string) error {
	if r == "*" || (strings.HasPrefix(r, "arn:") && !strings.ContainsAny(r, " \t\r\n")) {
		return nil
	}
	return fmt.Errorf("%s value %q is not \"*\" or an ARN", name, r)
}

// jsonKind returns the first byte of a JSON value: '"', '[', '{', 'n', 't', 'f', or a number's first character.
func jsonKind(raw []byte) byte {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return 0
	}
	return raw[0]
}

func decodeObject(raw []byte, what string) (map[string]json.RawMessage, error) {
	if jsonKind(raw) != '{' {
		return nil, fmt.Errorf("%s must be a JSON object", what)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return m, nil
}

func decodeString(raw json.RawMessage, name string) (string, error) {
	if jsonKind(raw) != '"' {
		return "", fmt.Errorf("%s must be a string", name)
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fmt.Errorf("%s: %w", name, err)
	}
	return s, nil
}

// decodeStrings accepts a string or a non-empty list of strings.
func decodeStrings(raw json.RawMessage, name string) ([]string, error) {
	switch jsonKind(raw) {
	case '"':
		s, err := decodeString(raw, name)
		if err != nil {
			return nil, err
		}
		return []string{s}, nil
	case '[':
		var items []json.RawMessage
		if err := json.Unmarshal(raw, &items); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if len(items) == 0 {
			return nil, fmt.Errorf("%s is an empty list", name)
		}
		out := make([]string, 0, len(items))
		for _, it := range items {
			s, err := decodeString(it, name+" element")
			if err != nil {
				return nil, err
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, fmt.Errorf("%s must be a string or a list of strings", name)
}

func decodePrincipal(raw json.RawMessage, name string) (*Principal, error) {
	switch jsonKind(raw) {
	case '"':
		s, err := decodeString(raw, name)
		if err != nil {
			return nil, err
		}
		if s != "*" {
			return nil, fmt.Errorf("%s %q must be \"*\" or a map such as {\"AWS\": ...}", name, s)
		}
		return &Principal{Any: true}, nil
	case '{':
		m, err := decodeObject(raw, name)
		if err != nil {
			return nil, err
		}
		p := &Principal{Values: make(map[string][]string, len(m))}
		for _, typ := range sortedKeys(m) {
			vals, err := decodeStrings(m[typ], name+" "+typ)
			if err != nil {
				return nil, err
			}
			p.Values[typ] = vals
		}
		if err := validatePrincipal(p, name); err != nil {
			return nil, err
		}
		return p, nil
	}
	return nil, fmt.Errorf("%s must be \"*\" or a map", name)
}

func decodeCondition(raw json.RawMessage) (map[string]map[string][]string, error) {
	m, err := decodeObject(raw, "Condition")
	if err != nil {
		return nil, err
	}
	out := make(map[string]map[string][]string, len(m))
	for _, op := range sortedKeys(m) {
		km, err := decodeObject(m[op], "Condition "+op)
		if err != nil {
			return nil, err
		}
		keys := make(map[string][]string, len(km))
		for _, k := range sortedKeys(km) {
			vals, err := decodeConditionValues(km[k], "Condition "+op+" "+k)
			if err != nil {
				return nil, err
			}
			keys[k] = vals
		}
		out[op] = keys
	}
	return out, nil
}

// decodeConditionValues accepts a string, number or boolean, or a non-empty list of them; numbers keep their JSON text.
func decodeConditionValues(raw json.RawMessage, name string) ([]string, error) {
	scalar := func(r json.RawMessage) (string, error) {
		switch k := jsonKind(r); {
		case k == '"':
			return decodeString(r, name)
		case k == 't' || k == 'f' || k == '-' || (k >= '0' && k <= '9'):
			return string(bytes.TrimSpace(r)), nil
		}
		return "", fmt.Errorf("%s must be a string, number or boolean, or a list of them", name)
	}
	if jsonKind(raw) != '[' {
		s, err := scalar(raw)
		if err != nil {
			return nil, err
		}
		return []string{s}, nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(items) == 0 {
		return nil, fmt.Errorf("%s is an empty list", name)
	}
	out := make([]string, 0, len(items))
	for _, it := range items {
		s, err := scalar(it)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// checkDuplicateKeys rejects any object with a repeated key, at any depth; it
// walks tokens with an explicit stack so deep nesting cannot overflow.
func checkDuplicateKeys(data []byte) error {
	type frame struct {
		object    bool
		expectKey bool
		keys      map[string]bool
	}
	var stack []*frame
	valueDone := func() {
		if n := len(stack); n > 0 && stack[n-1].object {
			stack[n-1].expectKey = true
		}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("document is not valid JSON: %w", err)
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{', '[':
				if n := len(stack); n > 0 && stack[n-1].object {
					stack[n-1].expectKey = false
				}
				stack = append(stack, &frame{object: t == '{', expectKey: t == '{', keys: map[string]bool{}})
			default:
				if len(stack) > 0 {
					stack = stack[:len(stack)-1]
				}
				valueDone()
			}
		case string:
			if n := len(stack); n > 0 && stack[n-1].object && stack[n-1].expectKey {
				if stack[n-1].keys[t] {
					return fmt.Errorf("duplicate key %q", t)
				}
				stack[n-1].keys[t] = true
				stack[n-1].expectKey = false
				continue
			}
			valueDone()
		default:
			valueDone()
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// stmtID names a statement by its Sid, or "#index" (from 0) without one.
func stmtID(s *Statement, i int) string {
	if s.Sid != "" {
		return s.Sid
	}
	return "#" + strconv.Itoa(i)
}

// Unknown lists, per statement, what the evaluator cannot interpret without a request (unknown operators, unparseable typed values, unsupported principals, ...); each is resolved by the sound rule.
func (d *Document) Unknown() []string {
	if d == nil {
		return nil
	}
	var out []string
	seen := map[string]bool{}
	add := func(id, why string) {
		s := id + ": " + why
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	vars := d.Version == "2012-10-17"
	for i := range d.Statements {
		s := &d.Statements[i]
		id := stmtID(s, i)
		if err := validateStatement(s); err != nil {
			add(id, "invalid statement: "+err.Error())
		}
		for _, p := range []*Principal{s.Principal, s.NotPrincipal} {
			if p == nil {
				continue
			}
			for _, typ := range sortedKeys(p.Values) {
				for _, v := range p.Values[typ] {
					if why := principalIssue(typ, v); why != "" {
						add(id, why)
					}
				}
			}
		}
		for _, a := range append(append([]string(nil), s.Action...), s.NotAction...) {
			if why := actionIssue(a); why != "" {
				add(id, why)
			}
		}
		for _, r := range append(append([]string(nil), s.Resource...), s.NotResource...) {
			if _, why := expand(r, vars, nil, true); why != "" {
				add(id, fmt.Sprintf("Resource %q: %s", r, why))
			}
		}
		for _, op := range sortedKeys(s.Condition) {
			spec, ok := parseOperator(op)
			if !ok {
				add(id, fmt.Sprintf("condition operator %q is not understood", op))
				continue
			}
			for _, k := range sortedKeys(s.Condition[op]) {
				for _, v := range s.Condition[op][k] {
					if why := spec.valueIssue(v, vars); why != "" {
						add(id, fmt.Sprintf("%s %s: %s", op, k, why))
					}
				}
			}
		}
	}
	return out
}
