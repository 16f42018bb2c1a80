package policy

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// pchar is one pattern character; wild marks a '*' or '?' that came from the
// policy text, as opposed to one produced by ${*}, ${?} or a variable's value.
type pchar struct {
	r    rune
	wild bool
}

// literalPattern reads s with '*' and '?' as wildcards and no variables.
func literalPattern(s string) []pchar {
	p := make([]pchar, 0, len(s))
	for _, r := range s {
		p = append(p, pchar{r: r, wild: r == '*' || r == '?'})
	}
	return p
}

func patternString(p []pchar) string {
	var b strings.Builder
	for _, c := range p {
		b.WriteRune(c.r)
	}
	return b.String()
}

func hasWild(p []pchar) bool {
	for _, c := range p {
		if c.wild {
			return true
		}
	}
	return false
}

// globMatch matches s against p: '*' any run of characters, '?' exactly one.
// The single-backtrack algorithm is O(len(p)*len(s)) in the worst case.
func globMatch(p []pchar, s []rune) bool {
	pi, si := 0, 0
	star, mark := -1, 0
	for si < len(s) {
		switch {
		case pi < len(p) && p[pi].wild && p[pi].r == '*':
			star, mark = pi, si
			pi++
		case pi < len(p) && ((p[pi].wild && p[pi].r == '?') || (!p[pi].wild && p[pi].r == s[si])):
			pi++
			si++
		case star >= 0:
			mark++
			pi, si = star+1, mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi].wild && p[pi].r == '*' {
		pi++
	}
	return pi == len(p)
}

// splitPattern splits p at its first five ':' like strings.SplitN(s, ":", 6).
func splitPattern(p []pchar) [][]pchar {
	var out [][]pchar
	start := 0
	for i, c := range p {
		if len(out) == 5 {
			break
		}
		if c.r == ':' && !c.wild {
			out = append(out, p[start:i])
			start = i + 1
		}
	}
	return append(out, p[start:])
}

// segmentMatch matches an ARN pattern against an ARN one ':'-separated
// segment at a time, as AWS documents for ArnLike; false unless both have six.
func segmentMatch(p []pchar, s string) bool {
	ps := splitPattern(p)
	ss := strings.SplitN(s, ":", 6)
	if len(ps) != 6 || len(ss) != 6 {
		return false
	}
	for i := range ps {
		if !globMatch(ps[i], []rune(ss[i])) {
			return false
		}
	}
	return true
}

// expand substitutes policy variables (${key}, ${key, 'default'}, ${*},
// ${?}, ${$}) when vars is set, and returns why it cannot when it cannot:
// a malformed variable, a key without exactly one value, or (for patterns) a
// value holding a wildcard character, whose reading AWS does not document.
// With a nil lookup it only checks syntax.
func expand(s string, vars bool, lookup func(string) []string, pattern bool) ([]pchar, string) {
	if !vars || !strings.Contains(s, "${") {
		if pattern {
			return literalPattern(s), ""
		}
		return literal(s), ""
	}
	out := make([]pchar, 0, len(s))
	for i := 0; i < len(s); {
		if !strings.HasPrefix(s[i:], "${") {
			r, size := utf8.DecodeRuneInString(s[i:])
			out = append(out, pchar{r: r, wild: pattern && (r == '*' || r == '?')})
			i += size
			continue
		}
		end := strings.IndexByte(s[i+2:], '}')
		if end < 0 {
			return nil, fmt.Sprintf("policy variable in %q is not terminated", s)
		}
		inner := s[i+2 : i+2+end]
		i += 2 + end + 1
		if inner == "*" || inner == "?" || inner == "$" {
			out = append(out, pchar{r: rune(inner[0])})
			continue
		}
		key, def, hasDef, ok := parseVariable(inner)
		if !ok {
			return nil, fmt.Sprintf("policy variable ${%s} is malformed", inner)
		}
		if lookup == nil {
			continue
		}
		var val string
		switch vals := lookup(key); {
		case len(vals) == 1:
			val = vals[0]
		case len(vals) == 0 && hasDef:
			val = def
		case len(vals) == 0:
			return nil, fmt.Sprintf("policy variable ${%s} has no value in the request", key)
		default:
			return nil, fmt.Sprintf("policy variable ${%s} has %d values in the request", key, len(vals))
		}
		if pattern && strings.ContainsAny(val, "*?") {
			return nil, fmt.Sprintf("policy variable ${%s} has the wildcard value %q", key, val)
		}
		out = append(out, literal(val)...)
	}
	return out, ""
}

func literal(s string) []pchar {
	p := make([]pchar, 0, len(s))
	for _, r := range s {
		p = append(p, pchar{r: r})
	}
	return p
}

// parseVariable reads "key" or "key, 'default'".
func parseVariable(inner string) (key, def string, hasDef, ok bool) {
	k, rest, hasDef := strings.Cut(inner, ",")
	key = strings.TrimSpace(k)
	if key == "" || strings.ContainsAny(key, " \t\r\n${}'") {
		return "", "", false, false
	}
	if !hasDef {
		return key, "", false, true
	}
	rest = strings.TrimSpace(rest)
	if len(rest) < 2 || rest[0] != '\'' || rest[len(rest)-1] != '\'' || strings.Contains(rest[1:len(rest)-1], "'") {
		return "", "", false, false
	}
	return key, rest[1 : len(rest)-1], true, true
}
