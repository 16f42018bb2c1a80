package policy

import (
	"fmt"
	"strconv"
	"strings"
)

// Request is what is being asked.
type Request struct {
	Principal string              // caller ARN, e.g. arn:aws:iam::222222222222:role/x, arn:aws:sts::111111111111:assumed-role/r/s, or "*"/"" for anonymous
	Action    string              // e.g. "s3:DeleteObject", "sts:AssumeRole"
	Resource  string              // ARN
	Context   map[string][]string // condition keys (case-insensitive names), e.g. "sts:ExternalId", "aws:SecureTransport", "aws:PrincipalArn"
}

// Decision is the outcome of an evaluation.
type Decision int

// The decisions, from weakest to strongest.
const (
	ImplicitDeny Decision = iota // no statement allows
	Allow                        // a statement allows and none denies
	ExplicitDeny                 // a Deny statement matches
)

// String returns the decision's name.
func (d Decision) String() string {
	switch d {
	case ImplicitDeny:
		return "ImplicitDeny"
	case Allow:
		return "Allow"
	case ExplicitDeny:
		return "ExplicitDeny"
	}
	return "Decision(" + strconv.Itoa(int(d)) + ")"
}

// Result explains a decision.
type Result struct {
	Decision  Decision
	Statement string // Sid or "#index" of the deciding statement, "" for implicit
	// Assumed lists the unknowns an Allow decision rests on (an Allow counted
	// as matching, a Deny counted as not matching); empty means exact.
	Assumed []string

	// Kept so Combine can tell whether a merged Allow is exact.
	maybeDeny  []string // unknown Deny statements, whatever the decision
	maybeAllow []string // why the chosen Allow is unknown; nil when it is exact
}

// Exact reports whether the decision does not rest on anything the evaluator could not interpret.
func (r Result) Exact() bool { return len(r.Assumed) == 0 }

// tri is a three-valued match: no, yes, or maybe (cannot tell what AWS does).
type tri int8

const (
	no tri = iota
	yes
	maybe
)

// verdict is a tri with the reasons behind a maybe.
type verdict struct {
	t   tri
	why []string
}

var (
	vNo  = verdict{t: no}
	vYes = verdict{t: yes}
)

func vMaybe(format string, args ...any) verdict {
	return verdict{t: maybe, why: []string{fmt.Sprintf(format, args...)}}
}

func vBool(b bool) verdict {
	if b {
		return vYes
	}
	return vNo
}

func andV(a, b verdict) verdict {
	switch {
	case a.t == no || b.t == no:
		return vNo
	case a.t == yes && b.t == yes:
		return vYes
	}
	return verdict{t: maybe, why: maybeWhy(a, b)}
}

func orV(a, b verdict) verdict {
	switch {
	case a.t == yes || b.t == yes:
		return vYes
	case a.t == no && b.t == no:
		return vNo
	}
	return verdict{t: maybe, why: maybeWhy(a, b)}
}

func notV(a verdict) verdict {
	switch a.t {
	case yes:
		return vNo
	case no:
		return vYes
	}
	return a
}

func maybeWhy(a, b verdict) []string {
	var why []string
	if a.t == maybe {
		why = append(why, a.why...)
	}
	if b.t == maybe {
		why = append(why, b.why...)
	}
	return why
}

// evalReq is a Request prepared for matching.
type evalReq struct {
	principal string // normalized; "" when anonymous
	anon      bool
	action    string
	resource  string
	ctx       map[string][]string // lower-cased key names
	vars      bool                // policy variables are substituted (Version 2012-10-17)
}

func (er *evalReq) lookup(key string) []string { return er.ctx[strings.ToLower(key)] }

func newEvalReq(r Request, vars bool) *evalReq {
	er := &evalReq{action: r.Action, resource: r.Resource, vars: vars, ctx: make(map[string][]string, len(r.Context))}
	switch {
	case r.Principal == "" || r.Principal == "*":
		er.anon = true
	case isAccountID(r.Principal):
		er.principal = "arn:aws:iam::" + r.Principal + ":root"
	default:
		er.principal = r.Principal
	}
	for k, v := range r.Context {
		lk := strings.ToLower(k)
		er.ctx[lk] = append(er.ctx[lk], v...)
	}
	return er
}

// Evaluate applies one document to a request: an explicit Deny wins over any Allow; otherwise Allow if a statement allows; otherwise implicit deny.
func (d *Document) Evaluate(r Request) Result {
	var res Result
	if d == nil {
		return res
	}
	er := newEvalReq(r, d.Version == "2012-10-17")
	exactAllow, maybeAllow := "", ""
	for i := range d.Statements {
		s := &d.Statements[i]
		id := stmtID(s, i)
		v, deny := s.evaluate(er)
		switch {
		case deny && v.t == yes:
			return Result{Decision: ExplicitDeny, Statement: id}
		case deny && v.t == maybe:
			for _, w := range v.why {
				res.maybeDeny = append(res.maybeDeny, id+": Deny counted as not matching: "+w)
			}
		case !deny && v.t == yes && exactAllow == "":
			exactAllow = id
		case !deny && v.t == maybe && maybeAllow == "":
			maybeAllow = id
			for _, w := range v.why {
				res.maybeAllow = append(res.maybeAllow, id+": Allow counted as matching: "+w)
			}
		}
	}
	switch {
	case exactAllow != "":
		res.Decision, res.Statement, res.maybeAllow = Allow, exactAllow, nil
	case maybeAllow != "":
		res.Decision, res.Statement = Allow, maybeAllow
	default:
		res.maybeAllow = nil
	}
	res.Assumed = assumed(res)
	return res
}

// assumed is what an Allow rests on: every Deny that could not be evaluated, and the Allow itself when it is unknown.
func assumed(r Result) []string {
	if r.Decision != Allow {
		return nil
	}
	var out []string
	out = append(out, r.maybeDeny...)
	return append(out, r.maybeAllow...)
}

// Combine merges the results of several documents for one request (a bucket policy and role policies): explicit deny in any wins, then any allow.
func Combine(results ...Result) Result {
	var out Result
	exact, fallback := -1, -1
	for i, r := range results {
		if r.Decision == ExplicitDeny {
			return Result{Decision: ExplicitDeny, Statement: r.Statement}
		}
		deny, allow := r.maybeDeny, r.maybeAllow
		if r.Decision == Allow && deny == nil && allow == nil {
			allow = r.Assumed // a Result built by hand: its Assumed is all we know
		}
		out.maybeDeny = append(out.maybeDeny, deny...)
		if r.Decision != Allow {
			continue
		}
		if len(allow) == 0 && exact < 0 {
			exact = i
		}
		if fallback < 0 {
			fallback = i
		}
	}
	switch {
	case exact >= 0:
		out.Decision, out.Statement = Allow, results[exact].Statement
	case fallback >= 0:
		out.Decision, out.Statement = Allow, results[fallback].Statement
		out.maybeAllow = results[fallback].maybeAllow
		if out.maybeAllow == nil {
			out.maybeAllow = results[fallback].Assumed
		}
	}
	out.Assumed = assumed(out)
	return out
}

// evaluate matches one statement and reports whether it is a Deny. A
// statement AWS would reject is unknown; with an unreadable Effect it is
// treated as a possible Allow, the sound reading for both uses.
func (s *Statement) evaluate(er *evalReq) (verdict, bool) {
	if err := validateStatement(s); err != nil {
		return vMaybe("invalid statement: %v", err), s.Effect == "Deny"
	}
	deny := s.Effect == "Deny"
	v := principalVerdict(s, er, deny)
	if v.t == no {
		return vNo, deny
	}
	if v = andV(v, actionVerdict(s, er)); v.t == no {
		return vNo, deny
	}
	if v = andV(v, resourceVerdict(s, er)); v.t == no {
		return vNo, deny
	}
	return andV(v, conditionVerdict(s.Condition, er)), deny
}

// --- principals ---

func isAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

type arn struct{ partition, service, region, account, resource string }

func parseARN(s string) (arn, bool) {
	p := strings.SplitN(s, ":", 6)
	if len(p) != 6 || p[0] != "arn" {
		return arn{}, false
	}
	return arn{p[1], p[2], p[3], p[4], p[5]}, true
}

// isUniqueID reports an IAM unique id (AIDA..., AROA...), which IAM shows in place of a deleted principal.
func isUniqueID(s string) bool {
	if len(s) < 16 || s[0] != 'A' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'A' || c > 'Z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// principalIssue says why a principal value cannot be interpreted, or "".
func principalIssue(typ, v string) string {
	switch typ {
	case "AWS":
		if v == "*" || isAccountID(v) {
			return ""
		}
		if strings.ContainsAny(v, "*?") {
			return fmt.Sprintf("principal %q: AWS does not support wildcards in principal ARNs", v)
		}
		a, ok := parseARN(v)
		if !ok {
			if isUniqueID(v) {
				return ""
			}
			return fmt.Sprintf("principal %q is neither an ARN nor an account id", v)
		}
		switch {
		case a.service == "iam" && a.resource == "root":
		case a.service == "iam" && strings.HasPrefix(a.resource, "role/") && roleName(a.resource) != "":
		case a.service == "iam" && strings.HasPrefix(a.resource, "user/") && len(a.resource) > len("user/"):
		case a.service == "sts" && strings.HasPrefix(a.resource, "assumed-role/"):
		case a.service == "sts" && strings.HasPrefix(a.resource, "federated-user/"):
		default:
			return fmt.Sprintf("principal %q is not a principal ARN the evaluator understands", v)
		}
		return ""
	case "Service", "Federated", "CanonicalUser":
		if strings.ContainsAny(v, "*?") {
			return fmt.Sprintf("principal %s %q: wildcard not understood", typ, v)
		}
		return ""
	}
	return fmt.Sprintf("principal type %q is not understood", typ)
}

// roleName is the last path element of "role/path/name".
func roleName(resource string) string {
	return resource[strings.LastIndexByte(resource, '/')+1:]
}

// eqFold is yes for equal strings and maybe for strings equal but for case (IAM names are case-insensitive, ARN comparisons are not documented as such).
func eqFold(a, b string) tri {
	switch {
	case a == b:
		return yes
	case strings.EqualFold(a, b):
		return maybe
	}
	return no
}

// cover reports whether one principal value covers the request's principal:
// "*" everyone; an account (id or :root) all its principals; a role itself
// and its sessions; anything else only itself.
func cover(typ, v string, er *evalReq) verdict {
	if why := principalIssue(typ, v); why != "" {
		return vMaybe("%s", why)
	}
	if typ == "AWS" && v == "*" {
		return vYes
	}
	if er.anon {
		return vNo
	}
	req := er.principal
	caseWhy := func(t tri) verdict {
		if t == maybe {
			return vMaybe("principal %q matches %q only ignoring case", v, req)
		}
		return verdict{t: t}
	}
	if typ == "Service" {
		return caseWhy(eqFold(v, req))
	}
	if typ != "AWS" {
		return vBool(v == req)
	}
	ra, rok := parseARN(req)
	inAccount := func(partition, account string) bool {
		return rok && (ra.service == "iam" || ra.service == "sts") && ra.account == account &&
			(partition == "" || ra.partition == partition)
	}
	if isAccountID(v) {
		return vBool(inAccount("", v))
	}
	pa, ok := parseARN(v)
	if !ok {
		return vBool(v == req) // an IAM unique id: it names a deleted principal, never an ARN
	}
	switch {
	case pa.service == "iam" && pa.resource == "root":
		return vBool(inAccount(pa.partition, pa.account))
	case pa.service == "iam" && strings.HasPrefix(pa.resource, "role/"):
		if t := eqFold(v, req); t != no {
			return caseWhy(t)
		}
		// A session ARN drops the role's path: arn:aws:sts::A:assumed-role/NAME/SESSION.
		if !inAccount(pa.partition, pa.account) || ra.service != "sts" {
			return vNo
		}
		rest, found := strings.CutPrefix(ra.resource, "assumed-role/")
		if !found {
			return vNo
		}
		name, session, found := strings.Cut(rest, "/")
		if !found || session == "" || strings.Contains(session, "/") {
			return vNo
		}
		return caseWhy(eqFold(roleName(pa.resource), name))
	default:
		return caseWhy(eqFold(v, req))
	}
}

func coverAny(p *Principal, er *evalReq) verdict {
	if p.Any {
		return vYes
	}
	out := vNo
	for _, typ := range sortedKeys(p.Values) {
		for _, v := range p.Values[typ] {
			if out = orV(out, cover(typ, v, er)); out.t == yes {
				return out
			}
		}
	}
	return out
}

// named reports whether v names the request's principal literally (an account id names only its root).
func named(v string, er *evalReq) bool {
	if er.anon {
		return false
	}
	if isAccountID(v) {
		a, ok := parseARN(er.principal)
		return ok && a.service == "iam" && a.resource == "root" && a.account == v
	}
	return v == er.principal
}

func principalVerdict(s *Statement, er *evalReq, deny bool) verdict {
	switch {
	case s.Principal != nil:
		return coverAny(s.Principal, er)
	case s.NotPrincipal == nil:
		return vYes // identity policy: it applies to the principal it is attached to
	}
	np := s.NotPrincipal
	if np.Any {
		return vNo
	}
	for _, v := range np.Values["AWS"] {
		if v == "*" {
			return vNo
		}
	}
	if c := coverAny(np, er); c.t == no {
		return vYes // nothing listed covers the caller in any reading
	}
	// AWS evaluates NotPrincipal against each identity of the caller (session,
	// role, account): a caller listed only through its account or role may still
	// be matched. The exemption is certain only where the documentation says so.
	var self, account bool
	acct := ""
	if a, ok := parseARN(er.principal); ok {
		acct = a.account
		account = a.service == "iam" && a.resource == "root"
	}
	for _, v := range np.Values["AWS"] {
		self = self || named(v, er)
		account = account || (acct != "" && (v == acct || v == "arn:"+partitionOf(er.principal)+":iam::"+acct+":root"))
	}
	if self && (!deny || account) {
		return vNo
	}
	return vMaybe("NotPrincipal covers %q only through its account or role, or without its account; AWS's exemption is uncertain", er.principal)
}

func partitionOf(s string) string {
	if a, ok := parseARN(s); ok {
		return a.partition
	}
	return "aws"
}

// --- actions and resources ---

// actionIssue says why an action pattern cannot be interpreted, or "".
func actionIssue(a string) string {
	if i := strings.IndexByte(a, ':'); i > 0 && strings.ContainsAny(a[:i], "*?") {
		return fmt.Sprintf("action %q: wildcards in the service prefix are not documented by AWS", a)
	}
	return ""
}

func anyAction(pats []string, action string) verdict {
	var act []rune // lowered once, when a pattern has a wildcard
	out := vNo
	for _, p := range pats {
		if !strings.ContainsAny(p, "*?") {
			// A literal action: a case-insensitive comparison, without the
			// glob's allocations (the audit asks this millions of times).
			if !strings.EqualFold(p, action) {
				continue
			}
		} else {
			if act == nil {
				act = []rune(strings.ToLower(action))
			}
			if !globMatch(literalPattern(strings.ToLower(p)), act) {
				continue
			}
		}
		if why := actionIssue(p); why != "" {
			out = orV(out, vMaybe("%s", why))
			continue
		}
		return vYes
	}
	return out
}

func actionVerdict(s *Statement, er *evalReq) verdict {
	if len(s.Action) > 0 {
		return anyAction(s.Action, er.action)
	}
	return notV(anyAction(s.NotAction, er.action))
}

func resourceVerdict(s *Statement, er *evalReq) verdict {
	switch {
	case len(s.Resource) > 0:
		return anyResource(s.Resource, er)
	case len(s.NotResource) > 0:
		return notV(anyResource(s.NotResource, er))
	}
	return vYes
}

func anyResource(pats []string, er *evalReq) verdict {
	out := vNo
	for _, raw := range pats {
		p, why := expand(raw, er.vars, er.lookup, true)
		if why != "" {
			out = orV(out, vMaybe("Resource %q: %s", raw, why))
			continue
		}
		if out = orV(out, resourceMatch(p, raw, er.resource)); out.t == yes {
			return out
		}
	}
	return out
}

// resourceMatch is yes only when AWS's per-segment reading and a whole-string
// reading agree: whether '*' may span the ARN's ':' separators is not documented.
func resourceMatch(p []pchar, raw, res string) verdict {
	if !globMatch(p, []rune(res)) {
		return vNo
	}
	if !hasWild(p) || (len(p) == 1 && p[0].wild && p[0].r == '*') {
		return vYes
	}
	if segmentMatch(p, res) {
		return vYes
	}
	return vMaybe("Resource %q matches %q only if a wildcard spans ':'", raw, res)
}
