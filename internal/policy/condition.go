package policy

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"math/big"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

type opKind int

const (
	kString opKind = iota
	kStringFold
	kStringLike
	kArn
	kNumeric
	kDate
	kBool
	kBinary
	kIP
	kNull
)

type cmpOp int

const (
	cmpEq cmpOp = iota
	cmpLt
	cmpLe
	cmpGt
	cmpGe
)

type qualifier int

const (
	qNone qualifier = iota
	qAny            // ForAnyValue:
	qAll            // ForAllValues:
)

// operator is a parsed condition operator such as ForAnyValue:StringLikeIfExists.
type operator struct {
	kind     opKind
	cmp      cmpOp
	negated  bool // defined as NOT the positive operator; true when the key is missing
	ifExists bool
	qual     qualifier
}

var baseOperators = map[string]operator{
	"StringEquals":              {kind: kString},
	"StringNotEquals":           {kind: kString, negated: true},
	"StringEqualsIgnoreCase":    {kind: kStringFold},
	"StringNotEqualsIgnoreCase": {kind: kStringFold, negated: true},
	"StringLike":                {kind: kStringLike},
	"StringNotLike":             {kind: kStringLike, negated: true},
	// AWS documents ArnEquals and ArnLike as the same per-segment wildcard match.
	"ArnEquals":                {kind: kArn},
	"ArnLike":                  {kind: kArn},
	"ArnNotEquals":             {kind: kArn, negated: true},
	"ArnNotLike":               {kind: kArn, negated: true},
	"NumericEquals":            {kind: kNumeric, cmp: cmpEq},
	"NumericNotEquals":         {kind: kNumeric, cmp: cmpEq, negated: true},
	"NumericLessThan":          {kind: kNumeric, cmp: cmpLt},
	"NumericLessThanEquals":    {kind: kNumeric, cmp: cmpLe},
	"NumericGreaterThan":       {kind: kNumeric, cmp: cmpGt},
	"NumericGreaterThanEquals": {kind: kNumeric, cmp: cmpGe},
	"DateEquals":               {kind: kDate, cmp: cmpEq},
	"DateNotEquals":            {kind: kDate, cmp: cmpEq, negated: true},
	"DateLessThan":             {kind: kDate, cmp: cmpLt},
	"DateLessThanEquals":       {kind: kDate, cmp: cmpLe},
	"DateGreaterThan":          {kind: kDate, cmp: cmpGt},
	"DateGreaterThanEquals":    {kind: kDate, cmp: cmpGe},
	"Bool":                     {kind: kBool},
	"BinaryEquals":             {kind: kBinary},
	"IpAddress":                {kind: kIP},
	"NotIpAddress":             {kind: kIP, negated: true},
	"Null":                     {kind: kNull},
}

// parseOperator reads [ForAnyValue:|ForAllValues:]Name[IfExists]. Names are
// matched exactly: another spelling is unknown, which is sound whatever AWS does with it.
func parseOperator(name string) (operator, bool) {
	rest, qual := name, qNone
	if r, ok := strings.CutPrefix(rest, "ForAnyValue:"); ok {
		rest, qual = r, qAny
	} else if r, ok := strings.CutPrefix(rest, "ForAllValues:"); ok {
		rest, qual = r, qAll
	}
	rest, ifExists := strings.CutSuffix(rest, "IfExists")
	op, ok := baseOperators[rest]
	if !ok || (op.kind == kNull && (ifExists || qual != qNone)) {
		return operator{}, false
	}
	op.ifExists, op.qual = ifExists, qual
	return op, true
}

// valueIssue says why a policy value cannot be read for this operator, or "".
func (op operator) valueIssue(v string, vars bool) string {
	switch op.kind {
	case kString, kStringFold, kStringLike:
		_, why := expand(v, vars, nil, op.kind == kStringLike)
		return why
	case kArn:
		if _, why := expand(v, vars, nil, true); why != "" {
			return why
		}
		if strings.Count(v, ":") < 5 && !(vars && strings.Contains(v, "${")) {
			return fmt.Sprintf("value %q is not a six-part ARN pattern", v)
		}
	case kNumeric:
		if _, ok := parseNumber(v); !ok {
			return fmt.Sprintf("value %q is not a number", v)
		}
	case kDate:
		if _, ok := parseDate(v); !ok {
			return fmt.Sprintf("value %q is not a date", v)
		}
	case kBool, kNull:
		if _, ok := parseBool(v); !ok {
			return fmt.Sprintf("value %q is not true or false", v)
		}
	case kBinary:
		if _, err := base64.StdEncoding.DecodeString(v); err != nil {
			return fmt.Sprintf("value %q is not base64", v)
		}
	case kIP:
		if _, ok := parsePrefix(v); !ok {
			return fmt.Sprintf("value %q is not an IP address or CIDR block", v)
		}
	}
	return ""
}

// conditionVerdict ANDs every operator and key of a Condition block.
func conditionVerdict(cond map[string]map[string][]string, er *evalReq) verdict {
	out := vYes
	for _, name := range sortedKeys(cond) {
		op, ok := parseOperator(name)
		if !ok {
			out = andV(out, vMaybe("condition operator %q is not understood", name))
			continue
		}
		for _, key := range sortedKeys(cond[name]) {
			if out = andV(out, op.evalKey(name, key, cond[name][key], er)); out.t == no {
				return vNo
			}
		}
	}
	return out
}

// evalKey applies one operator to one key; the policy's values are ORed.
func (op operator) evalKey(name, key string, policy []string, er *evalReq) verdict {
	reqVals := er.lookup(key)
	got := op.evalValues(name, key, policy, reqVals, er)
	// AWS documents that for the set qualifiers a key whose value is an empty
	// string may count as a null data set; Null is read alike. Where the two
	// readings differ the answer is unknown.
	if (op.kind == kNull || op.qual != qNone) && len(reqVals) > 0 && allEmpty(reqVals) {
		if absent := op.evalValues(name, key, policy, nil, er); absent.t != got.t {
			return vMaybe("%s %s: the request's empty value may count as a missing key", name, key)
		}
	}
	return got
}

func allEmpty(vals []string) bool {
	for _, v := range vals {
		if v != "" {
			return false
		}
	}
	return true
}

// evalValues applies the operator to the request's values for the key (none when it is missing).
func (op operator) evalValues(name, key string, policy, reqVals []string, er *evalReq) verdict {
	present := len(reqVals) > 0
	if op.kind == kNull {
		out := vNo
		for _, pv := range policy {
			want, ok := parseBool(pv)
			if !ok {
				out = orV(out, vMaybe("%s %s: value %q is not true or false", name, key, pv))
				continue
			}
			if want != present { // Null true: the key is absent
				return vYes
			}
		}
		return out
	}
	switch op.qual {
	case qAny:
		if !present {
			return vBool(op.ifExists)
		}
		out := vNo
		for _, r := range reqVals {
			if out = orV(out, op.perValue(name, key, policy, r, er)); out.t == yes {
				return out
			}
		}
		return out
	case qAll:
		if !present {
			return vYes // AWS: ForAllValues is true for a missing or empty key
		}
		out := vYes
		for _, r := range reqVals {
			if out = andV(out, op.perValue(name, key, policy, r, er)); out.t == no {
				return out
			}
		}
		return out
	}
	if !present {
		return vBool(op.ifExists || op.negated)
	}
	if len(reqVals) > 1 {
		return vMaybe("%s %s: the request has %d values for the key and the operator has no ForAnyValue/ForAllValues qualifier", name, key, len(reqVals))
	}
	return op.perValue(name, key, policy, reqVals[0], er)
}

// perValue compares one request value with the policy's values (ORed), then negates for negated operators.
func (op operator) perValue(name, key string, policy []string, r string, er *evalReq) verdict {
	out := vNo
	for _, pv := range policy {
		if out = orV(out, op.compare(name, key, pv, r, er)); out.t == yes {
			break
		}
	}
	if op.negated {
		return notV(out)
	}
	return out
}

// compare applies the positive form of the operator to a policy value pv and a request value r.
func (op operator) compare(name, key, pv, r string, er *evalReq) verdict {
	bad := func(what string, v any) verdict {
		return vMaybe("%s %s: %s %q cannot be read", name, key, what, v)
	}
	switch op.kind {
	case kString, kStringFold, kStringLike, kArn:
		p, why := expand(pv, er.vars, er.lookup, op.kind == kStringLike || op.kind == kArn)
		if why != "" {
			return vMaybe("%s %s: %s", name, key, why)
		}
		switch op.kind {
		case kString:
			return vBool(patternString(p) == r)
		case kStringFold:
			return vBool(strings.EqualFold(patternString(p), r))
		case kStringLike:
			return vBool(globMatch(p, []rune(r)))
		}
		if len(splitPattern(p)) != 6 {
			return vMaybe("%s %s: value %q is not a six-part ARN pattern", name, key, pv)
		}
		return vBool(segmentMatch(p, r)) // a request value that is no ARN matches nothing
	case kNumeric:
		a, ok := parseNumber(pv)
		if !ok {
			return bad("policy value", pv)
		}
		b, ok := parseNumber(r)
		if !ok {
			return bad("request value", r)
		}
		return vBool(op.cmp.holds(b.Cmp(a)))
	case kDate:
		a, ok := parseDate(pv)
		if !ok {
			return bad("policy value", pv)
		}
		b, ok := parseDate(r)
		if !ok {
			return bad("request value", r)
		}
		return vBool(op.cmp.holds(b.Compare(a)))
	case kBool:
		a, ok := parseBool(pv)
		if !ok {
			return bad("policy value", pv)
		}
		b, ok := parseBool(r)
		if !ok {
			return bad("request value", r)
		}
		return vBool(a == b)
	case kBinary:
		a, err := base64.StdEncoding.DecodeString(pv)
		if err != nil {
			return bad("policy value", pv)
		}
		b, err := base64.StdEncoding.DecodeString(r)
		if err != nil {
			return bad("request value", r)
		}
		return vBool(bytes.Equal(a, b))
	case kIP:
		p, ok := parsePrefix(pv)
		if !ok {
			return bad("policy value", pv)
		}
		a, err := netip.ParseAddr(r)
		if err != nil {
			return bad("request value", r)
		}
		return vBool(p.Contains(a.Unmap()))
	}
	return vMaybe("%s %s: operator not implemented", name, key)
}

// holds applies the comparison to c, the request value compared with the policy value (-1, 0, 1).
func (c cmpOp) holds(cmp int) bool {
	switch c {
	case cmpLt:
		return cmp < 0
	case cmpLe:
		return cmp <= 0
	case cmpGt:
		return cmp > 0
	case cmpGe:
		return cmp >= 0
	}
	return cmp == 0
}

// parseNumber reads an integer or decimal; exponents and a/b forms are refused, keeping big.Rat's work bounded.
func parseNumber(s string) (*big.Rat, bool) {
	if s == "" || len(s) > 64 {
		return nil, false
	}
	body := s
	if body[0] == '+' || body[0] == '-' {
		body = body[1:]
	}
	intPart, frac, hasDot := strings.Cut(body, ".")
	if !allDigits(intPart) || (hasDot && !allDigits(frac)) || (intPart == "" && frac == "") ||
		(hasDot && frac == "") {
		return nil, false
	}
	if intPart == "" {
		intPart = "0"
	}
	t := intPart
	if hasDot {
		t += "." + frac
	}
	if s[0] == '-' {
		t = "-" + t
	}
	r, ok := new(big.Rat).SetString(t)
	return r, ok
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// parseDate reads ISO 8601 / RFC 3339 (a date alone is midnight UTC) or epoch seconds.
func parseDate(s string) (time.Time, bool) {
	if s == "" || len(s) > 64 {
		return time.Time{}, false
	}
	if digits := strings.TrimPrefix(s, "-"); digits != "" && allDigits(digits) && len(digits) <= 15 {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return time.Time{}, false
		}
		return time.Unix(n, 0).UTC(), true
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04Z07:00", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

func parseBool(s string) (bool, bool) {
	switch {
	case strings.EqualFold(s, "true"):
		return true, true
	case strings.EqualFold(s, "false"):
		return false, true
	}
	return false, false
}

// parsePrefix reads a CIDR block or a single address.
func parsePrefix(s string) (netip.Prefix, bool) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, false
		}
		return p.Masked(), true
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, false
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), true
}
