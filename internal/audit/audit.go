// Package audit is the static proof behind `logvault audit`: it resolves the
// vault template (infra/vault.yaml) for a symbolic deployment and evaluates
// its bucket policy, the writer role's trust policy and the writer's
// identity policies with the IAM evaluator of internal/policy, for every
// destructive S3 action and for sts:AssumeRole of the writer, as each
// principal an attacker could hold: Account B's root, any Account B role,
// a logvault function role, the writer role, anonymous, an Account A admin
// other than break-glass, and another account.
//
// The proof is sound, not complete. Where the evaluator cannot tell what
// AWS would decide it counts an Allow as matching and a Deny as not
// matching; condition keys the audit does not model (anything but
// aws:PrincipalArn, aws:PrincipalAccount, aws:SecureTransport and
// sts:ExternalId) are made unknown before evaluation for the same reason.
// Every such assumption is listed in Report.Assumptions.
//
// It also holds each layer to account on its own (defense in depth): no
// Allow may grant a destructive action to a principal outside Account A or
// to the writer even where a Deny stops it, and plain-HTTP requests must be
// denied. So weakening any one statement of the template fails the audit.
package audit

import (
	"fmt"
	"strings"

	"github.com/logvault/logvault/internal/policy"
)

// DestructiveObjectActions are the S3 actions on an object that destroy or
// rewrite history, or loosen its protection.
var DestructiveObjectActions = []string{
	"s3:DeleteObject",
	"s3:DeleteObjectVersion",
	"s3:DeleteObjectTagging",
	"s3:DeleteObjectVersionTagging",
	"s3:PutObjectAcl",
	"s3:PutObjectVersionAcl",
	"s3:PutObjectRetention",
	"s3:PutObjectLegalHold",
	"s3:BypassGovernanceRetention",
	"s3:PutObjectTagging",
	"s3:PutObjectVersionTagging",
	"s3:UpdateObjectEncryption", // re-encrypts stored versions under a key the caller may then delete
	"s3:ReplicateDelete",        // a replication rule elsewhere adds delete markers
}

// DestructiveBucketActions are the S3 actions on the bucket that destroy
// data or remove the bucket's protection.
var DestructiveBucketActions = []string{
	"s3:DeleteBucket",
	"s3:PutBucketPolicy",
	"s3:DeleteBucketPolicy",
	"s3:PutBucketVersioning",
	"s3:PutLifecycleConfiguration",
	"s3:PutBucketObjectLockConfiguration",
	"s3:PutBucketAcl",
	"s3:PutBucketOwnershipControls",
	"s3:PutBucketPublicAccessBlock",
	"s3:PutEncryptionConfiguration",
	"s3:PutReplicationConfiguration",
	"s3:PutInventoryConfiguration", // listings of the vault to a foreign bucket
	"s3:PutBucketRequestPayment",
	"s3:PutBucketAbac",
}

// DepositActions are what the writer, and nobody else, may do to add to the
// vault: write a version, discard its own unfinished upload.
var DepositActions = []string{"s3:PutObject", "s3:AbortMultipartUpload"}

// The checks a Row belongs to.
const (
	CheckDestructive = "destructive" // a destructive S3 action: never allowed
	CheckDeposit     = "deposit"     // a deposit into the vault: only the writer
	CheckAssumeRole  = "assume-role" // sts:AssumeRole of the writer: only function roles, only with the ExternalId
	CheckTransport   = "transport"   // a request over plain HTTP: always denied
)

// The verdicts of a Row.
const (
	VerdictOK   = "ok"
	VerdictFail = "FAIL"
	VerdictWarn = "WARN" // expected to be allowed and is not: the functions cannot work, the vault is still safe
)

// Row is one evaluated request.
type Row struct {
	Check     string   `json:"check"`
	Principal string   `json:"principal"` // the caller's ARN; "*" for anonymous
	Role      string   `json:"role"`      // what the principal stands for, e.g. "Account B root"
	Action    string   `json:"action"`
	Resource  string   `json:"resource"`
	Context   string   `json:"context"`              // the request variant: TLS or HTTP, with/without/wrong ExternalId
	Decision  string   `json:"decision"`             // Allow, ExplicitDeny or ImplicitDeny
	Statement string   `json:"statement"`            // Sid (or #index) of the deciding statement; "" when no statement decides
	Expected  string   `json:"expected"`             // "Allow" or "not Allow"
	GrantedBy string   `json:"granted_by,omitempty"` // an Allow that grants the request though a Deny stops it
	Verdict   string   `json:"verdict"`
	Assumed   []string `json:"assumed,omitempty"` // what an Allow rests on (see policy.Result.Assumed)
}

// Report is the outcome of the proof.
type Report struct {
	BucketARN   string   `json:"bucket_arn"`
	WriterARN   string   `json:"writer_arn"`
	Rows        []Row    `json:"rows"`
	Failures    []string `json:"failures"`    // each names the action, the principal and the statement
	Warnings    []string `json:"warnings"`    // not failures
	Assumptions []string `json:"assumptions"` // what the proof assumed (Document.Unknown and the audit's own model)
	Forbidden   int      `json:"forbidden"`   // requests that must not be allowed
	Allowed     int      `json:"allowed"`     // of those, how many are allowed
	Granted     int      `json:"granted"`     // of the rest, how many an Allow grants and only a Deny stops
	Findings    int      `json:"findings"`    // template settings that fail the proof (versioning, lifecycle)
}

// OK reports whether the proof holds.
func (r *Report) OK() bool { return len(r.Failures) == 0 }

// Summary is the one-line outcome.
func (r *Report) Summary() string {
	s := fmt.Sprintf("audit: %d of %d forbidden requests allowed", r.Allowed, r.Forbidden)
	if r.Granted > 0 {
		s += fmt.Sprintf(", %d more granted and stopped only by a Deny", r.Granted)
	}
	if r.Findings > 0 {
		s += fmt.Sprintf(", %d template findings", r.Findings)
	}
	if !r.OK() {
		s += "; the proof FAILS"
	}
	return s
}

// class is how AWS decides for a principal.
type class int

const (
	classExternal class = iota // outside Account A (or anonymous): the bucket policy must allow
	classAccountA              // Account A, not the writer: identity unknown, assumed to allow everything
	classWriter                // the writer role: its template policies or the bucket policy must allow
)

// principal is a caller the proof evaluates.
type principal struct {
	role         string // what it stands for
	arn          string // the request's principal; "" for anonymous
	principalArn string // aws:PrincipalArn; "" when AWS sends none
	account      string // aws:PrincipalAccount; "" when AWS sends none
	class        class
	function     bool // a logvault function role: may assume the writer with the ExternalId
}

func (p principal) display() string {
	if p.arn == "" {
		return "*"
	}
	return p.arn
}

func (p principal) context(tls bool) map[string][]string {
	// Every request the audit asks is about the vault, in Account A.
	ctx := map[string][]string{"aws:SecureTransport": {fmt.Sprint(tls)}, "aws:ResourceAccount": {AccountA}}
	if p.principalArn != "" {
		ctx["aws:PrincipalArn"] = []string{p.principalArn}
	}
	if p.account != "" {
		ctx["aws:PrincipalAccount"] = []string{p.account}
	}
	return ctx
}

func session(account, role string) principal {
	return principal{
		arn:          "arn:aws:sts::" + account + ":assumed-role/" + role + "/s",
		principalArn: "arn:aws:iam::" + account + ":role/" + role,
		account:      account,
	}
}

// basePrincipals are the representatives of every kind of caller.
func basePrincipals(v *vault) []principal {
	bRoot := principal{role: "Account B root", arn: "arn:aws:iam::" + AccountB + ":root", principalArn: "arn:aws:iam::" + AccountB + ":root", account: AccountB}
	bAny := session(AccountB, "any-role")
	bAny.role = "any Account B role"
	bFn := session(AccountB, "logvault-cloudtrail")
	bFn.role, bFn.function = "Account B function role", true
	w := principal{role: "writer role", arn: v.writerSession(), principalArn: v.writerARN, account: AccountA, class: classWriter}
	anon := principal{role: "anonymous"}
	admin := session(AccountA, "Admin")
	admin.role, admin.class = "Account A admin (not break-glass)", classAccountA
	other := session(AccountC, "logvault-cloudtrail")
	other.role = "another account"
	ps := []principal{bRoot, bAny, bFn, w, anon, admin, other}
	for i := range ps {
		ps[i].function = ps[i].function || matchesFunctionRoles(ps[i].principalArn)
	}
	return ps
}

func matchesFunctionRoles(principalArn string) bool {
	return principalArn != "" && glob(FunctionRoleARNs, principalArn)
}

// glob matches s against a pattern with '*' (any run) and '?' (one character).
func glob(p, s string) bool {
	pr, sr := []rune(p), []rune(s)
	pi, si, star, mark := 0, 0, -1, 0
	for si < len(sr) {
		switch {
		case pi < len(pr) && pr[pi] == '*':
			star, mark = pi, si
			pi++
		case pi < len(pr) && (pr[pi] == '?' || pr[pi] == sr[si]):
			pi++
			si++
		case star >= 0:
			mark++
			pi, si = star+1, mark
		default:
			return false
		}
	}
	for pi < len(pr) && pr[pi] == '*' {
		pi++
	}
	return pi == len(pr)
}

// namedPrincipals adds a representative for every principal the bucket and
// trust policies name (in Principal, NotPrincipal or an aws:PrincipalArn
// condition) that no base principal already stands for.
func namedPrincipals(v *vault, base []principal) []principal {
	var names []string
	for _, d := range []*policy.Document{v.bucketPolicy.d, v.trust.d} {
		for _, s := range d.Statements {
			for _, p := range []*policy.Principal{s.Principal, s.NotPrincipal} {
				if p == nil {
					continue
				}
				names = append(names, p.Values["AWS"]...)
				for _, svc := range p.Values["Service"] {
					names = append(names, "service:"+svc)
				}
			}
			for _, keys := range s.Condition {
				for k, vals := range keys {
					if strings.EqualFold(k, "aws:PrincipalArn") {
						names = append(names, vals...)
					}
				}
			}
		}
	}
	seen := map[string]bool{}
	mark := func(p principal) {
		for _, k := range []string{p.arn, p.principalArn} {
			if k != "" {
				seen[k] = true
			}
		}
	}
	for _, p := range base {
		mark(p)
	}
	var out []principal
	for _, n := range names {
		p, ok := instantiate(n, base)
		if !ok || seen[p.arn] || (p.principalArn != "" && seen[p.principalArn]) {
			continue
		}
		mark(p)
		switch {
		case p.principalArn == BreakGlassRoleARN:
			continue // exempt by design
		case p.principalArn == v.writerARN:
			continue // the writer is a base principal
		case p.account == AccountA:
			p.class = classAccountA
		}
		p.function = matchesFunctionRoles(p.principalArn)
		out = append(out, p)
	}
	return out
}

// instantiate turns a principal value or ARN pattern into a caller; a
// wildcard becomes "x" unless a base principal already matches the pattern.
func instantiate(n string, base []principal) (principal, bool) {
	if svc, ok := strings.CutPrefix(n, "service:"); ok {
		if strings.ContainsAny(svc, "*?") {
			return principal{}, false
		}
		return principal{role: "service named in the template", arn: svc}, true
	}
	if n == "*" {
		return principal{}, false
	}
	if strings.ContainsAny(n, "*?") {
		for _, b := range base {
			if glob(n, b.principalArn) || glob(n, b.arn) {
				return principal{}, false
			}
		}
		n = strings.NewReplacer("*", "x", "?", "x").Replace(n)
	}
	if isAccountID(n) {
		n = "arn:aws:iam::" + n + ":root"
	}
	parts := strings.SplitN(n, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || !isAccountID(parts[4]) {
		return principal{}, false
	}
	part, svc, acct, res := parts[1], parts[2], parts[4], parts[5]
	p := principal{role: "principal named in the template", account: acct}
	switch {
	case svc == "iam" && res == "root":
		p.arn, p.principalArn = n, n
	case svc == "iam" && strings.HasPrefix(res, "role/"):
		name := res[strings.LastIndexByte(res, '/')+1:]
		if name == "" {
			return principal{}, false
		}
		p.arn = "arn:" + part + ":sts::" + acct + ":assumed-role/" + name + "/s"
		p.principalArn = n
	case svc == "iam" && strings.HasPrefix(res, "user/"):
		p.arn, p.principalArn = n, n
	case svc == "sts" && strings.HasPrefix(res, "assumed-role/"):
		name, _, ok := strings.Cut(strings.TrimPrefix(res, "assumed-role/"), "/")
		if !ok || name == "" {
			return principal{}, false
		}
		p.arn = n
		p.principalArn = "arn:" + part + ":iam::" + acct + ":role/" + name
	default:
		return principal{}, false
	}
	return p, true
}

func isAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// assumedIdentity stands for the unknown identity policies of an Account A
// principal: an administrator can do anything the bucket policy does not deny.
const assumedIdentity = "<identity policy assumed to allow *>"

// auditor evaluates requests against the resolved template.
type auditor struct {
	v                    *vault
	bucket, bucketAllows *policy.Document
	writer, writerAllows []*policy.Document
	trust                *policy.Document
}

func newAuditor(v *vault) *auditor {
	a := &auditor{v: v, bucket: v.bucketPolicy.d, bucketAllows: allowsOnly(v.bucketPolicy.d), trust: v.trust.d}
	for _, d := range v.writerPolicies {
		a.writer = append(a.writer, d.d)
		a.writerAllows = append(a.writerAllows, allowsOnly(d.d))
	}
	return a
}

// allowsOnly is d without its Deny statements: what it grants.
func allowsOnly(d *policy.Document) *policy.Document {
	out := &policy.Document{Version: d.Version, ID: d.ID}
	for _, s := range d.Statements {
		if s.Effect != "Deny" {
			out.Statements = append(out.Statements, s)
		}
	}
	return out
}

// s3 decides an S3 request as AWS would for the principal's class; grant
// is what the Allow statements alone decide (nil when not checked).
func (a *auditor) s3(p principal, req policy.Request) (eff policy.Result, grant *policy.Result) {
	switch p.class {
	case classAccountA:
		return policy.Combine(a.bucket.Evaluate(req), policy.Result{Decision: policy.Allow, Statement: assumedIdentity}), nil
	case classWriter:
		var rs, gs []policy.Result
		for i := range a.writer {
			rs = append(rs, a.writer[i].Evaluate(req))
			gs = append(gs, a.writerAllows[i].Evaluate(req))
		}
		g := policy.Combine(append(gs, a.bucketAllows.Evaluate(req))...)
		return policy.Combine(append(rs, a.bucket.Evaluate(req))...), &g
	}
	g := a.bucketAllows.Evaluate(req)
	return a.bucket.Evaluate(req), &g
}

// outcome is one request variant's result.
type outcome struct {
	context string
	eff     policy.Result
	grant   *policy.Result
}

// severity: 2 allowed, 1 granted but denied, 0 neither.
func (o outcome) severity() int {
	switch {
	case o.eff.Decision == policy.Allow:
		return 2
	case o.grant != nil && o.grant.Decision == policy.Allow:
		return 1
	}
	return 0
}

// worst picks the variant an attacker would choose (the first one when all are equal).
func worst(os []outcome) outcome {
	w := os[0]
	for _, o := range os[1:] {
		if o.severity() > w.severity() {
			w = o
		}
	}
	return w
}

// Run proves from a vault template that no principal other than the
// break-glass role can perform a destructive S3 action on the vault, that
// only Account B's function roles can assume the writer role and only with
// the ExternalId, and that the bucket keeps its history. A template the
// audit cannot resolve, or that lacks VaultBucket, VaultBucketPolicy or
// WriterRole, is an error: it proves nothing.
func Run(template []byte) (Report, error) {
	v, err := load(template)
	if err != nil {
		return Report{}, err
	}
	r := Report{BucketARN: v.bucketARN, WriterARN: v.writerARN}
	r.Assumptions = append(r.Assumptions, modelNotes...)
	r.Assumptions = append(r.Assumptions, v.notes...)
	for _, d := range append([]doc{v.bucketPolicy, v.trust}, v.writerPolicies...) {
		r.Assumptions = append(r.Assumptions, makeUnmodelledUnknown(d)...)
	}
	for _, d := range append([]doc{v.bucketPolicy, v.trust}, v.writerPolicies...) {
		for _, u := range d.d.Unknown() {
			if !strings.Contains(u, unmodelledMarker) {
				r.Assumptions = append(r.Assumptions, d.name+": "+u)
			}
		}
	}
	a := newAuditor(v)
	base := basePrincipals(v)
	ps := append(base, namedPrincipals(v, base)...)

	for _, p := range ps {
		for _, act := range DestructiveObjectActions {
			r.add(a.destructive(p, act, v.objectARN()))
		}
		for _, act := range DestructiveBucketActions {
			r.add(a.destructive(p, act, v.bucketARN))
		}
	}
	for _, p := range ps {
		for _, act := range DepositActions {
			r.add(a.deposit(p, act, v.objectARN()))
		}
	}
	for _, p := range ps {
		for _, ext := range []string{"without ExternalId", "with ExternalId", "wrong ExternalId"} {
			r.add(a.assumeRole(p, ext))
		}
	}
	for _, p := range ps {
		if p.class == classExternal {
			continue // outside Account A nothing is allowed at all, over any transport
		}
		for _, req := range []struct{ action, resource string }{
			{"s3:PutObject", v.objectARN()}, {"s3:GetObject", v.objectARN()}, {"s3:ListBucket", v.bucketARN},
		} {
			r.add(a.transport(p, req.action, req.resource))
		}
	}
	for _, f := range v.findings {
		r.Findings++
		r.Failures = append(r.Failures, f)
	}
	return r, nil
}

func (a *auditor) destructive(p principal, action, resource string) Row {
	var os []outcome
	for _, tls := range []bool{true, false} {
		eff, grant := a.s3(p, policy.Request{Principal: p.arn, Action: action, Resource: resource, Context: p.context(tls)})
		os = append(os, outcome{context: transportName(tls), eff: eff, grant: grant})
	}
	return row(CheckDestructive, p, action, resource, worst(os), false)
}

// deposit: only the writer may add to the vault (over TLS).
func (a *auditor) deposit(p principal, action, resource string) Row {
	if p.class == classWriter {
		eff, _ := a.s3(p, policy.Request{Principal: p.arn, Action: action, Resource: resource, Context: p.context(true)})
		return row(CheckDeposit, p, action, resource, outcome{context: transportName(true), eff: eff}, true)
	}
	var os []outcome
	for _, tls := range []bool{true, false} {
		eff, grant := a.s3(p, policy.Request{Principal: p.arn, Action: action, Resource: resource, Context: p.context(tls)})
		os = append(os, outcome{context: transportName(tls), eff: eff, grant: grant})
	}
	return row(CheckDeposit, p, action, resource, worst(os), false)
}

func (a *auditor) transport(p principal, action, resource string) Row {
	eff, _ := a.s3(p, policy.Request{Principal: p.arn, Action: action, Resource: resource, Context: p.context(false)})
	return row(CheckTransport, p, action, resource, outcome{context: transportName(false), eff: eff}, false)
}

func (a *auditor) assumeRole(p principal, ext string) Row {
	expectAllow := p.function && ext == "with ExternalId"
	var os []outcome
	for _, tls := range []bool{true, false} {
		ctx := p.context(tls)
		switch ext {
		case "with ExternalId":
			ctx["sts:ExternalId"] = []string{ExternalID}
		case "wrong ExternalId":
			ctx["sts:ExternalId"] = []string{wrongExternalID}
		}
		// The caller's own identity policy is assumed to allow sts:AssumeRole
		// (Account B is the attacker's; an Account A admin may do anything), so
		// the trust policy decides.
		eff := a.trust.Evaluate(policy.Request{Principal: p.arn, Action: "sts:AssumeRole", Resource: a.v.writerARN, Context: ctx})
		os = append(os, outcome{context: transportName(tls) + ", " + ext, eff: eff})
	}
	o := worst(os)
	if expectAllow {
		o = os[0]
	}
	return row(CheckAssumeRole, p, "sts:AssumeRole", a.v.writerARN, o, expectAllow)
}

func transportName(tls bool) string {
	if tls {
		return "TLS"
	}
	return "HTTP"
}

func row(check string, p principal, action, resource string, o outcome, expectAllow bool) Row {
	rw := Row{
		Check: check, Principal: p.display(), Role: p.role, Action: action, Resource: resource,
		Context: o.context, Decision: o.eff.Decision.String(), Statement: o.eff.Statement,
		Expected: "not Allow", Verdict: VerdictOK, Assumed: o.eff.Assumed,
	}
	if expectAllow {
		rw.Expected = "Allow"
		if o.eff.Decision != policy.Allow {
			rw.Verdict = VerdictWarn
		}
		return rw
	}
	switch o.severity() {
	case 2:
		rw.Verdict = VerdictFail
	case 1:
		rw.Verdict, rw.GrantedBy = VerdictFail, o.grant.Statement
	}
	return rw
}

// add records a row and what it means for the proof.
func (r *Report) add(rw Row) {
	r.Rows = append(r.Rows, rw)
	if rw.Expected == "Allow" {
		if rw.Verdict == VerdictWarn {
			what := "the functions cannot assume the writer role"
			if rw.Check == CheckDeposit {
				what = "the writer cannot deposit"
			}
			r.Warnings = append(r.Warnings, fmt.Sprintf("DENIED: %s of %s for %s (%s) %s: %s",
				rw.Action, rw.Resource, rw.Principal, rw.Role, rw.Context, what))
		}
		return
	}
	r.Forbidden++
	if rw.Verdict != VerdictFail {
		return
	}
	what := rw.Action
	if rw.Check == CheckAssumeRole {
		what += " of " + rw.Resource
	}
	ctx := " over TLS"
	if strings.HasPrefix(rw.Context, "HTTP") {
		ctx = " over plain HTTP"
	}
	if i := strings.Index(rw.Context, ", "); i >= 0 {
		ctx += " " + externalIDPhrase[rw.Context[i+2:]]
	}
	if rw.GrantedBy == "" {
		r.Allowed++
		r.Failures = append(r.Failures, fmt.Sprintf("ALLOWED: %s by %s (%s)%s (statement %s)", what, rw.Principal, rw.Role, ctx, statementName(rw.Statement)))
		return
	}
	r.Granted++
	r.Failures = append(r.Failures, fmt.Sprintf("GRANTED: %s to %s (%s)%s by statement %s; only the Deny %s stops it",
		what, rw.Principal, rw.Role, ctx, statementName(rw.GrantedBy), statementName(rw.Statement)))
}

// externalIDPhrase words an AssumeRole variant for a failure line.
var externalIDPhrase = map[string]string{
	"without ExternalId": "without the ExternalId",
	"with ExternalId":    "with the ExternalId",
	"wrong ExternalId":   "with a wrong ExternalId",
}

func statementName(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
