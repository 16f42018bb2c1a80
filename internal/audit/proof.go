// Package audit is the proof behind `logvault audit`: from the vault's
// template (infra/vault.yaml), or from what is deployed (--live), it
// evaluates with internal/policy's IAM evaluator every S3 action of S3's
// IAM action list, for every kind of principal, on the bucket and on any
// key, over TLS and without, and shows that nobody but the break-glass role
// can do anything outside reading and depositing, that only the writer can
// deposit, that nobody outside Account A can read, that only the function
// roles with the ExternalId can assume the writer, that no role of the
// template can change the writer or break-glass role, and that the bucket
// keeps its history (versioning, Object Lock, lifecycle, replication,
// encryption, ownership, public access). With the Organization's guardrails
// (--guardrails) it also proves them binding on Account A's root and
// administrators; without them, what only they can bind is reported.
//
// The proof is sound, not complete: where the evaluator cannot tell what
// AWS would decide, an Allow counts as matching and a Deny as not matching;
// condition keys the proof does not model (any key but the principal's and
// the request's transport and resource account) are treated that way too,
// so a Deny that rests on the region, a header or a tag protects nothing
// here. Every such assumption is listed.
package audit

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/logvault/logvault/internal/policy"
	"github.com/logvault/logvault/internal/schema"
)

// Finding is one way the vault is not what it must be.
type Finding struct {
	Principal string `json:"principal"`         // the caller's ARN, "*" for anonymous, "-" for a bucket setting
	Who       string `json:"who"`               // what it stands for
	Action    string `json:"action"`            // the action, or the setting
	Resource  string `json:"resource"`          // an S3 or IAM ARN
	Context   string `json:"context,omitempty"` // the request variant: over plain HTTP, with a parameter's value, ...
	Cause     string `json:"cause"`             // the statement that allows it, or the missing Deny
}

// String is the finding's one line.
func (f Finding) String() string {
	s := fmt.Sprintf("FINDING: %s (%s) may %s on %s", f.Principal, f.Who, f.Action, f.Resource)
	switch {
	case f.Who == "parameter":
		s = fmt.Sprintf("FINDING: %s admits %s", f.Action, f.Resource)
	case f.Principal == "-":
		s = fmt.Sprintf("FINDING: %s of %s", f.Action, f.Resource)
	}
	if f.Context != "" {
		s += " " + f.Context
	}
	return s + ": " + f.Cause
}

// Report is the outcome of the proof.
type Report struct {
	Source   string    `json:"source"`
	Live     bool      `json:"live"` // what is deployed, not a template
	Findings []Finding `json:"findings"`
	// Warnings are not findings: what would stop logvault from working.
	Warnings []string `json:"warnings"`
	// Reported is what the proof states without proving: what only the
	// guardrails can bind, who may assume the roles.
	Reported []string `json:"reported"`
	// Assumptions are what the proof assumed.
	Assumptions []string `json:"assumptions"`
	Principals  int      `json:"principals"` // callers asked about
	Actions     int      `json:"actions"`    // S3 actions asked about
	Keys        int      `json:"keys"`       // object keys each object action is asked for
	Asked       int      `json:"asked"`      // requests evaluated
}

// OK reports whether nothing was found.
func (r *Report) OK() bool { return len(r.Findings) == 0 }

// Summary is the one-line outcome.
func (r *Report) Summary() string {
	return fmt.Sprintf("audit: %d findings (%d requests: %d principals, %d S3 actions, %d keys, TLS and plain HTTP)",
		len(r.Findings), r.Asked, r.Principals, r.Actions, r.Keys)
}

// stsActions are the ways into a role.
var stsActions = []string{"sts:AssumeRole", "sts:AssumeRoleWithWebIdentity", "sts:AssumeRoleWithSAML", "sts:TagSession", "sts:SetSourceIdentity"}

// roleChangeActions are what would let someone become, replace or widen
// the writer or break-glass role.
var roleChangeActions = []string{"iam:UpdateAssumeRolePolicy", "iam:PutRolePolicy", "iam:DeleteRolePolicy", "iam:AttachRolePolicy",
	"iam:DetachRolePolicy", "iam:DeleteRole", "iam:CreateRole", "iam:UpdateRole", "iam:PutRolePermissionsBoundary",
	"iam:DeleteRolePermissionsBoundary", "iam:TagRole", "iam:UntagRole", "iam:PassRole"}

// policyVersionActions change a customer managed policy, and so every
// role it is attached to.
var policyVersionActions = []string{"iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion", "iam:DeletePolicyVersion", "iam:DeletePolicy"}

// membershipActions would take Account A out of the guardrails' reach.
var membershipActions = []string{"organizations:LeaveOrganization", "account:CloseAccount"}

// auditor evaluates requests against one Vault.
type auditor struct {
	v    *Vault
	rep  *Report
	keys []string // object ARNs an object action is asked for
	// listPrefixes are the s3:prefix values a listing is asked with.
	listPrefixes []map[string][]string
	// named are the accounts the policies name literally (namedAccounts).
	named    []string
	bp, bpA  *policy.Document
	roleA    map[*Role][]Doc // each role's policies, Allow statements alone
	seen     map[string]bool
	reported map[string]bool
}

// Prove runs the proof on v.
func Prove(v *Vault) Report {
	a := &auditor{v: v, rep: &Report{Source: v.Source}, roleA: map[*Role][]Doc{}, seen: map[string]bool{}, reported: map[string]bool{}}
	if v.BucketPolicy != nil {
		a.bp, a.bpA = v.BucketPolicy.D, allowsOnly(v.BucketPolicy.D)
	}
	for _, r := range v.Roles {
		for _, d := range r.Policies {
			a.roleA[r] = append(a.roleA[r], Doc{Name: d.Name, D: allowsOnly(d.D)})
		}
	}
	a.rep.Assumptions = append(a.rep.Assumptions, modelNotes...)
	a.rep.Assumptions = append(a.rep.Assumptions, v.Notes...)
	for _, d := range v.docs() {
		a.rep.Assumptions = append(a.rep.Assumptions, unmodelled(d)...)
	}
	a.keys = witnesses(v)
	a.listPrefixes = listPrefixes(v)
	a.named = namedAccounts(v)
	ps := principals(v)
	a.rep.Principals, a.rep.Keys = len(ps), len(a.keys)
	a.s3Actions(ps)
	a.trusts(ps)
	a.roleChanges(ps)
	a.properties()
	for _, u := range v.Unread {
		a.find(Finding{Principal: "-", Action: "reading " + u, Resource: v.BucketARN(), Cause: "could not be read, so it is not proven"})
	}
	for _, u := range v.Untrusted {
		a.find(Finding{Principal: u, Who: "writer's trust", Action: "sts:AssumeRole", Resource: v.WriterARN, Cause: "the writer's trust admits it, and the vault is not meant to trust it"})
	}
	sort.SliceStable(a.rep.Findings, func(i, j int) bool { return a.rep.Findings[i].String() < a.rep.Findings[j].String() })
	sort.Strings(a.rep.Warnings)
	a.rep.Warnings = slices.Compact(a.rep.Warnings)
	return *a.rep
}

func (a *auditor) find(f Finding) {
	if s := f.String(); !a.seen[s] {
		a.seen[s] = true
		a.rep.Findings = append(a.rep.Findings, f)
	}
}

func (a *auditor) report(s string) {
	if !a.reported[s] {
		a.reported[s] = true
		a.rep.Reported = append(a.rep.Reported, s)
	}
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

// verdict is what AWS would decide for one request.
type verdict struct {
	allowed bool
	denied  bool   // an explicit Deny stops it (not merely the lack of an Allow)
	by      string // what allows it
	granted string // an Allow that grants it although a Deny stops it
}

// s3 decides an S3 request on the vault as AWS would for p.
func (a *auditor) s3(p principal, action, resource string, tls bool) verdict {
	return a.s3With(p, action, resource, tls, nil)
}

// s3With is s3 with further request keys (a listing's s3:prefix).
func (a *auditor) s3With(p principal, action, resource string, tls bool, extra map[string][]string) verdict {
	a.rep.Asked++
	req := policy.Request{Principal: p.display(), Action: action, Resource: resource, Context: p.context(a.v, tls)}
	for k, v := range extra {
		req.Context[k] = v
	}
	if p.kind == kindAnonymous {
		req.Principal = ""
	}
	for _, g := range []struct {
		d       *Doc
		applies bool
	}{{a.v.RCP, true}, {a.v.SCP, p.inA(a.v) && p.kind != kindService}} {
		if g.d != nil && g.applies && g.d.D.Evaluate(req).Decision == policy.ExplicitDeny {
			return verdict{denied: true}
		}
	}
	if p.kind == kindRoot {
		// AWS always lets the bucket owner's root replace the bucket policy.
		return verdict{allowed: true, by: "Account A's root (no bucket policy binds it: it may always replace it)"}
	}
	bp := policy.Result{}
	if a.bp != nil {
		bp = a.bp.Evaluate(req)
	}
	var id policy.Result
	idBy := ""
	switch p.kind {
	case kindAdmin:
		id, idBy = policy.Result{Decision: policy.Allow}, "its identity policy (an administrator's: * on *)"
	case kindExternal:
		id, idBy = policy.Result{Decision: policy.Allow}, "its own account's policies (the attacker's: assumed to allow everything)"
	case kindRole:
		id, idBy = decide(p.role, req)
	}
	v := verdict{denied: bp.Decision == policy.ExplicitDeny || id.Decision == policy.ExplicitDeny}
	switch {
	case v.denied:
	case p.inA(a.v) && (p.kind == kindAdmin || p.kind == kindRole):
		v.allowed = id.Decision == policy.Allow || bp.Decision == policy.Allow
	case p.kind == kindAnonymous || p.kind == kindService || p.kind == kindFederated:
		v.allowed = bp.Decision == policy.Allow
	default:
		v.allowed = bp.Decision == policy.Allow && id.Decision == policy.Allow
	}
	if v.allowed {
		v.by = idBy
		if bp.Decision == policy.Allow {
			v.by = "the bucket policy (" + bp.Statement + ")"
		}
		return v
	}
	// What an Allow alone would grant (defense in depth), for the
	// principals whose own policies the proof reads or who depend on the
	// bucket policy.
	if p.kind != kindAdmin {
		if a.bpA != nil {
			if r := a.bpA.Evaluate(req); r.Decision == policy.Allow {
				v.granted = "the bucket policy (" + r.Statement + ")"
			}
		}
		if p.kind == kindRole {
			for _, d := range a.roleA[p.role] {
				if r := d.D.Evaluate(req); r.Decision == policy.Allow {
					v.granted = d.Name + " (" + r.Statement + ")"
				}
			}
		}
	}
	return v
}

// s3Actions asks every S3 action on the vault of every principal.
func (a *auditor) s3Actions(ps []principal) {
	actions := append(S3Actions(), a.unlisted()...)
	a.rep.Actions = len(actions)
	bucket := a.v.BucketARN()
	noGuardrails := a.v.SCP == nil && a.v.RCP == nil
	writerDeposits := false
	for _, p := range ps {
		if p.kind == kindRoot && noGuardrails {
			lock := "Object Lock still keeps every version for its retention"
			if a.v.Bucket.LockMode != "COMPLIANCE" {
				lock = "and with Object Lock in " + a.v.Bucket.LockMode + " mode (not COMPLIANCE) it may also bypass the retention and delete versions"
			}
			a.report("Account A's root: AWS always lets it replace the bucket policy, so no bucket policy binds it; " + lock + ". Only the Organization's guardrails bind it: give --guardrails to prove them")
			continue
		}
		writer := p.kind == kindRole && p.role.ARN == a.v.WriterARN
		for _, act := range actions {
			var resources []string
			if act.Bucket {
				resources = append(resources, bucket)
			}
			if act.Object {
				resources = append(resources, a.keys...)
			}
			// A listing is asked with every prefix witness: S3 gives its
			// prefix to ListBucket and ListBucketVersions as s3:prefix.
			prefixes := []map[string][]string{nil}
			if listActions[act.Name] {
				prefixes = a.listPrefixes
			}
			for _, res := range resources {
				for _, tls := range []bool{true, false} {
					for _, extra := range prefixes {
						v := a.s3With(p, act.Name, res, tls, extra)
						// What nobody but break-glass may do must meet a Deny, so no
						// Allow added later (to any identity) can open it; reads by
						// outsiders need only find no Allow.
						mustDeny := !tls || act.Class == Other || act.Class == Deposit && !writer
						forbidden := mustDeny || act.Class == Read && !p.inA(a.v)
						if writer && tls && act.Name == "s3:PutObject" && v.allowed {
							writerDeposits = true
						}
						if !forbidden {
							continue
						}
						ctx := prefixContext(extra)
						if !tls {
							ctx = strings.TrimSpace("over plain HTTP " + ctx)
						}
						switch {
						case v.allowed:
							a.find(Finding{Principal: p.display(), Who: p.who, Action: act.Name, Resource: res, Context: ctx,
								Cause: "allowed by " + v.by + "; no Deny stops it"})
						case mustDeny && !v.denied:
							a.find(Finding{Principal: p.display(), Who: p.who, Action: act.Name, Resource: res, Context: ctx,
								Cause: "no Deny stops it: only the lack of an Allow does, which any Allow added later would open (missing Deny)"})
						case v.granted != "" && tls && p.kind != kindRoot:
							a.find(Finding{Principal: p.display(), Who: p.who, Action: act.Name, Resource: res, Context: prefixContext(extra),
								Cause: "granted by " + v.granted + "; only a Deny stops it"})
						}
					}
				}
			}
		}
	}
	if !writerDeposits {
		a.rep.Warnings = append(a.rep.Warnings, "the writer "+a.v.WriterARN+" cannot deposit (s3:PutObject over TLS is not allowed): the functions cannot work")
	}
}

// unlisted are the S3 actions the policies name that the vendored list
// does not know (S3 adds actions before cfn-lint lists them): each is
// asked too, classed by the one table, on the bucket and on objects.
func (a *auditor) unlisted() []Action {
	known := map[string]bool{}
	for _, act := range S3Actions() {
		known[strings.ToLower(act.Name)] = true
	}
	var out []Action
	for _, d := range a.v.docs() {
		for _, s := range d.D.Statements {
			for _, name := range append(append([]string{}, s.Action...), s.NotAction...) {
				l := strings.ToLower(name)
				if !strings.HasPrefix(l, "s3:") || strings.ContainsAny(l, "*?") || known[l] {
					continue
				}
				known[l] = true
				out = append(out, Action{Name: name, Class: classify(strings.TrimPrefix(l, "s3:")), Bucket: true, Object: true})
			}
		}
	}
	return out
}

// trusts asks who may get into each role: into the writer, only the
// function roles with the ExternalId; into the others, what is reported.
func (a *auditor) trusts(ps []principal) {
	for _, r := range a.v.Roles {
		if r.Trust == nil {
			continue
		}
		callers := append([]principal{}, ps...)
		for _, s := range r.Trust.D.Statements {
			if s.Principal == nil {
				continue
			}
			for _, f := range s.Principal.Values["Federated"] {
				callers = append(callers, principal{arn: f, who: "anyone holding a token of " + f, kind: kindFederated})
			}
		}
		writer := r.ARN == a.v.WriterARN
		variants := tagVariants
		if writer {
			// Tag values naming an account the policies single out.
			for _, acct := range a.named {
				variants = append(variants, tagVariant{name: "tagged with account " + acct + ", which the policies name", tag: "acct:" + acct})
			}
		}
		var in []string
		for _, p := range callers {
			if p.kind == kindRole && p.role == r && !writer {
				// A writer session assuming the writer again is asked: it
				// would let the session bind itself to another account.
				continue
			}
			for _, act := range stsActions {
				for _, ext := range []string{"", a.v.ExternalID, wrongExternalID} {
					for _, tv := range variants {
						if !writer && (ext != "" || tv.tag != "") {
							continue
						}
						ctx := p.context(a.v, true)
						if ext != "" {
							ctx["sts:ExternalId"] = []string{ext}
						}
						tv.apply(ctx, p, a.v)
						req := policy.Request{Principal: p.display(), Action: act, Resource: r.ARN, Context: ctx}
						if p.kind == kindAnonymous {
							req.Principal = ""
						}
						a.rep.Asked++
						res := r.Trust.D.Evaluate(req)
						if a.v.RCP != nil && strings.HasPrefix(act, "sts:") && a.v.RCP.D.Evaluate(req).Decision == policy.ExplicitDeny {
							continue
						}
						if res.Decision == policy.Allow && (act == "sts:TagSession" || act == "sts:SetSourceIdentity") && !a.assumes(r, req) {
							// No API call of its own: STS asks it only within an
							// AssumeRole*, which the trust refuses this caller.
							continue
						}
						if res.Decision == policy.Allow && p.kind == kindRole && !a.roleMayCall(p, req, r.Trust) {
							// A role whose policies the proof reads also needs its
							// own Allow, unless the trust names it.
							continue
						}
						if res.Decision != policy.Allow {
							if writer && p.function && ext == a.v.ExternalID && act == "sts:AssumeRole" && tv.tag == "own" && !tv.transitive {
								a.rep.Warnings = append(a.rep.Warnings, fmt.Sprintf("the function role %s cannot assume the writer with the ExternalId: the functions cannot work", p.principalArn))
							}
							continue
						}
						if r.ARN == a.v.BreakGlassARN && (p.anyAdmin || !p.inA(a.v)) {
							a.find(Finding{Principal: p.display(), Who: p.who, Action: act, Resource: r.ARN,
								Cause: "allowed by the break-glass role's trust policy (" + res.Statement + "): it must name specific principals (with MFA), never an account or a pattern that lets any administrator or another account in"})
							continue
						}
						if !writer && !p.inA(a.v) && p.kind != kindService {
							a.find(Finding{Principal: p.display(), Who: p.who, Action: act, Resource: r.ARN,
								Cause: "allowed by the trust policy of " + r.Name + " (" + res.Statement + "): a role of the vault's account that a principal outside it may assume gives them whatever the role may do"})
							continue
						}
						if !writer {
							in = append(in, p.display())
							continue
						}
						if p.function && ext == a.v.ExternalID && (act == "sts:AssumeRole" || act == "sts:TagSession" || act == "sts:SetSourceIdentity") {
							if tv.tag == "own" && !tv.transitive {
								continue
							}
							if tv.tag == "own+extra" {
								a.find(Finding{Principal: p.display(), Who: p.who, Action: act, Resource: r.ARN, Context: "with the ExternalId, " + tv.name,
									Cause: "allowed by the writer's trust policy (" + res.Statement + "): a writer session may carry the " + sourceAccountTag + " tag and no other (ForAllValues:StringEquals aws:TagKeys)"})
								continue
							}
							a.find(Finding{Principal: p.display(), Who: p.who, Action: act, Resource: r.ARN, Context: "with the ExternalId, " + tv.name,
								Cause: "allowed by the writer's trust policy (" + res.Statement + "): a writer session must be bound to the account that assumes it, by the session tag " +
									sourceAccountTag + " = ${aws:PrincipalAccount}, not transitive; without the binding, a source account's session can write and read another account's part of the vault"})
							continue
						}
						ctxText := "without the ExternalId"
						switch ext {
						case a.v.ExternalID:
							ctxText = "with the ExternalId"
						case wrongExternalID:
							ctxText = "with a wrong ExternalId"
						}
						why := ""
						switch {
						case p.kind == kindRole && p.role == r:
							why = ": a writer session that may assume the writer again could bind its new session to another account's part"
						case p.inA(a.v):
							why = ": the vault's own account never ships, or its administrators could deposit into the vault they administer"
						case p.account != "" && a.v.orgOf(p.account) != a.v.Organization:
							why = ": an account outside the Organization (and not listed) must never get a writer session"
						}
						a.find(Finding{Principal: p.display(), Who: p.who, Action: act, Resource: r.ARN, Context: ctxText,
							Cause: "allowed by the writer's trust policy (" + res.Statement + "): only the function roles, with the ExternalId, may" + why})
					}
				}
			}
		}
		if !writer && len(in) > 0 {
			sort.Strings(in)
			a.report(fmt.Sprintf("role %s can be assumed by: %s", r.ARN, strings.Join(dedupe(in), ", ")))
		}
	}
}

// assumes reports whether the trust of r lets req's caller in by some
// AssumeRole* with req's context.
func (a *auditor) assumes(r *Role, req policy.Request) bool {
	for _, act := range []string{"sts:AssumeRole", "sts:AssumeRoleWithWebIdentity", "sts:AssumeRoleWithSAML"} {
		q := req
		q.Action = act
		if r.Trust.D.Evaluate(q).Decision != policy.Allow {
			continue
		}
		if a.v.RCP != nil && a.v.RCP.D.Evaluate(q).Decision == policy.ExplicitDeny {
			continue
		}
		return true
	}
	return false
}

// sourceAccountTag is the session tag binding a writer session to the
// account that assumed the role (docs/threat-model.md).
const sourceAccountTag = schema.SourceAccountTag

// tagVariant is a way a caller may tag the session it asks for.
type tagVariant struct {
	name       string
	tag        string // "": no tag; "own": the caller's account; "other": another account
	transitive bool
}

// tagVariants are the session tags the proof tries on every AssumeRole of
// the writer: none, the binding tag honestly, the tag naming another
// account, and the honest tag made transitive.
var tagVariants = []tagVariant{
	{"without session tags", "", false},
	{"tagged with its own account", "own", false},
	{"tagged with another account", "other", false},
	{"tagged with a fourth account", "fourth", false},
	{"tagged with the vault's account", "vault", false},
	{"tagged with another account's part followed by its own account", "other/own", false},
	{"tagged with its own account and a second tag", "own+extra", false},
	{"tagged with its own account, transitive", "own", true},
}

// apply puts the variant's request-tag keys into ctx for caller p.
func (tv tagVariant) apply(ctx map[string][]string, p principal, v *Vault) {
	if tv.tag == "" {
		return
	}
	other := v.other()
	if other == p.account {
		other = "555555555555"
	}
	value := p.account
	if acct, ok := strings.CutPrefix(tv.tag, "acct:"); ok {
		if acct == p.account {
			return // the caller's own account: the honest variant
		}
		value = acct
	}
	switch tv.tag {
	case "other":
		value = other
	case "fourth":
		value = "444444444444"
	case "vault":
		value = v.AccountA
	case "other/own":
		value = other + "/" + p.account
	}
	if value == "" {
		value = other
	}
	ctx["aws:RequestTag/"+sourceAccountTag] = []string{value}
	ctx["aws:TagKeys"] = []string{sourceAccountTag}
	if tv.tag == "own+extra" {
		ctx["aws:RequestTag/team"] = []string{"x"}
		ctx["aws:TagKeys"] = []string{sourceAccountTag, "team"}
	}
	if tv.transitive {
		ctx["sts:TransitiveTagKeys"] = []string{sourceAccountTag}
	}
}

// roleMayCall reports whether the role p's own policies allow req, or the
// trust names p's role itself (then AWS needs no identity Allow).
func (a *auditor) roleMayCall(p principal, req policy.Request, trust *Doc) bool {
	for _, s := range trust.D.Statements {
		if s.Principal != nil && slices.Contains(s.Principal.Values["AWS"], p.role.ARN) {
			return true
		}
	}
	r, _ := decide(p.role, req)
	return r.Decision == policy.Allow
}

// decide evaluates req against a role's own policies: their combined
// decision, and the first policy and statement that allows it ("" none).
func decide(r *Role, req policy.Request) (policy.Result, string) {
	var rs []policy.Result
	by := ""
	for _, d := range r.Policies {
		res := d.D.Evaluate(req)
		if res.Decision == policy.Allow && by == "" {
			by = d.Name + " (" + res.Statement + ")"
		}
		rs = append(rs, res)
	}
	return policy.Combine(rs...), by
}

// writerRequest is a request of the writer's session on a resource of
// Account A.
func (a *auditor) writerRequest(action, resource string) policy.Request {
	return a.writerRequestIn(action, resource, a.v.AccountA)
}

// writerRequestIn is a request of the writer's session on a resource of
// account acct.
func (a *auditor) writerRequestIn(action, resource, acct string) policy.Request {
	return a.writerSessionIn(action, resource, acct, a.v.TrustedAccount)
}

// writerSessionIn is a request of a writer session bound to source account
// src (its logvault-source-account session tag) on a resource of acct.
func (a *auditor) writerSessionIn(action, resource, acct, src string) policy.Request {
	return policy.Request{Principal: a.v.WriterARN, Action: action, Resource: resource,
		Context: map[string][]string{"aws:PrincipalArn": {a.v.WriterARN}, "aws:PrincipalAccount": {a.v.AccountA}, "aws:ResourceAccount": {acct}, "aws:SecureTransport": {"true"},
			"aws:PrincipalTag/" + sourceAccountTag: {src}}}
}

// writerConfined proves that a writer session bound to one source account
// may deposit and read only in that account's part of the vault
// (<kind-prefix>/account=<id>/, docs/design.md): not in another account's
// part (several accounts, Account A's included), not under keys of the
// earlier layout, which belong to no account, and not under a look-alike
// segment. It decides as AWS does within Account A: the writer's identity
// policies or the bucket policy may allow, a Deny in either stops. It
// warns when a session cannot deposit in its own part.
func (a *auditor) writerConfined() {
	w := a.v.role(a.v.WriterARN)
	if w == nil {
		return
	}
	// A session of each name the policies give a writer session (a grant to
	// .../assumed-role/<writer>/<name> or to an aws:userid ending in it
	// holds for that session only), bound to Account B and to every account
	// the policies name literally (a grant or a tag value may single one out).
	for _, name := range writerSessionNames(a.v) {
		for _, own := range append([]string{a.v.TrustedAccount}, a.named...) {
			if own == a.v.AccountA {
				continue
			}
			others := []string{a.v.other(), "444444444444", a.v.AccountA}
			for _, n := range slices.Concat(a.named, []string{a.v.TrustedAccount}) {
				if !slices.Contains(others, n) {
					others = append(others, n)
				}
			}
			others = slices.DeleteFunc(others, func(o string) bool { return o == own })
			a.writerConfinedAs(w, name, own, others)
		}
	}
}

// writerConfinedAs is writerConfined for one session of the writer role w,
// named name and bound to account own, against the others' parts.
func (a *auditor) writerConfinedAs(w *Role, name, own string, others []string) {
	writerName := a.v.WriterARN[strings.LastIndexByte(a.v.WriterARN, '/')+1:]
	p := session(a.v.AccountA, "/", writerName)
	p.arn = "arn:aws:sts::" + a.v.AccountA + ":assumed-role/" + writerName + "/" + name
	p.userid = uniqueID("AROA", a.v.WriterARN) + ":" + name
	p.principalArn, p.role, p.kind = a.v.WriterARN, w, kindRole
	p.tags = map[string]string{sourceAccountTag: own}
	// Every object action that deposits or reads (the others no writer
	// session may do anywhere: s3Actions proves that).
	var actions []string
	for _, act := range append(S3Actions(), a.unlisted()...) {
		if act.Object && (act.Class == Read || act.Class == Deposit) {
			actions = append(actions, act.Name)
		}
	}
	seen := map[string]bool{}
	for _, k := range schema.Kinds() {
		if seen[k.Prefix] {
			continue
		}
		seen[k.Prefix] = true
		type place struct{ key, whose string }
		places := []place{
			{k.Prefix + "/b/k", "a key of the earlier layout (no account's part)"},
			{k.Prefix + "/" + schema.AccountSegment + own + "x/b/k", "a key whose account segment only starts with its own account"},
		}
		// Every kind's part may be scoped differently, so each is asked with
		// another account's part and the look-alikes; the accounts beyond
		// the first under the first kind prefix only (each place costs a pass
		// over every deposit and read).
		lookalikes := others[:1]
		if len(seen) == 1 {
			lookalikes = others
		}
		for _, o := range lookalikes {
			places = append(places,
				place{k.Prefix + "/" + schema.AccountSegment + o + "/b/k", "account " + o + "'s part of the vault"},
				place{k.Prefix + "/" + schema.AccountSegment + o + "/" + own + "/k", "account " + o + "'s part (a key naming its own account after the segment)"},
				place{k.Prefix + "/" + schema.AccountSegment + o + "/b/" + schema.AccountSegment + own + "/k", "account " + o + "'s part (a key naming its own account deeper down)"})
		}
		for _, act := range actions {
			for _, c := range places {
				res := a.v.BucketARN() + "/" + c.key
				if v := a.s3(p, act, res, true); v.allowed {
					a.find(Finding{Principal: p.arn, Who: "writer session bound to account " + own, Action: act, Resource: res,
						Cause: "allowed by " + v.by + ": a writer session may " + act + " only in its own account's part of the vault, not in " + c.whose +
							" (scope the writer's Resource to <kind-prefix>/account=${aws:PrincipalTag/" + sourceAccountTag + "}/* and grant it nothing in the bucket policy)"})
				}
			}
		}
		// Listing: only its own part's prefix.
		listings := []string{k.Prefix + "/", k.Prefix + "/" + schema.AccountSegment + own, k.Prefix + "/" + schema.AccountSegment + own + "x/"}
		for _, o := range others {
			listings = append(listings, k.Prefix+"/"+schema.AccountSegment+o+"/", k.Prefix+"/"+schema.AccountSegment+o+"/"+schema.AccountSegment+own+"/")
		}
		asked := []map[string][]string{nil, {"s3:prefix": {""}}} // the whole vault
		for _, prefix := range listings {
			asked = append(asked, map[string][]string{"s3:prefix": {prefix}})
		}
		for _, act := range []string{"s3:ListBucket", "s3:ListBucketVersions"} {
			for _, extra := range asked {
				if v := a.s3With(p, act, a.v.BucketARN(), true, extra); v.allowed {
					ctx := prefixContext(extra)
					if extra == nil {
						ctx = "listing without a prefix"
					}
					a.find(Finding{Principal: p.arn, Who: "writer session bound to account " + own, Action: act, Resource: a.v.BucketARN(), Context: ctx,
						Cause: "allowed by " + v.by + ": a writer session may list only its own account's part of the vault (a StringLike s3:prefix of <kind-prefix>/account=${aws:PrincipalTag/" + sourceAccountTag + "}/* for each kind prefix)"})
				}
			}
		}
		res := a.v.BucketARN() + "/" + k.Prefix + "/" + schema.AccountSegment + own + "/b/k"
		if v := a.s3(p, "s3:PutObject", res, true); !v.allowed {
			a.rep.Warnings = append(a.rep.Warnings, fmt.Sprintf("a writer session bound to account %s cannot deposit %s: the functions cannot ship kind %s", own, res, k.Kind))
		}
	}
}

// writerSessionNames are the session names the proof gives writer
// sessions: "s", and every name the policies grant a writer session by
// (its session ARN, or an aws:userid ending in ":<name>"), patterns filled.
func writerSessionNames(v *Vault) []string {
	names := []string{"s"}
	marker := ":assumed-role/" + v.WriterARN[strings.LastIndexByte(v.WriterARN, '/')+1:] + "/"
	fill := strings.NewReplacer("*", "x", "?", "x")
	add := func(n string) {
		if n = fill.Replace(n); n != "" && !slices.Contains(names, n) && len(names) < 4 {
			names = append(names, n)
		}
	}
	vals := v.awsPrincipals()
	for k, vs := range v.conditions() {
		switch k {
		case "aws:principalarn":
			vals = append(vals, vs...)
		case "aws:userid":
			vals = append(vals, vs...)
			for _, x := range vs {
				if i := strings.LastIndexByte(x, ':'); i >= 0 {
					add(x[i+1:])
				}
			}
		}
	}
	for _, x := range vals {
		if i := strings.Index(x, marker); i >= 0 {
			add(x[i+len(marker):])
		}
	}
	return names
}

// accountLiteral finds 12-digit account ids in policy text.
var accountLiteral = regexp.MustCompile(`(^|[^0-9])([0-9]{12})([^0-9]|$)`)

// namedAccounts are the accounts the vault's policies name in resources,
// listing prefixes and session-tag values (a part, a grant or a binding
// that singles one out), but Account A's and the symbolic accounts'.
func namedAccounts(v *Vault) []string {
	seen := map[string]bool{v.AccountA: true, v.TrustedAccount: true}
	var out []string
	add := func(x string) {
		for _, m := range accountLiteral.FindAllStringSubmatch(x, -1) {
			if !seen[m[2]] && len(out) < 4 {
				seen[m[2]] = true
				out = append(out, m[2])
			}
		}
	}
	for _, d := range v.docs() {
		for _, st := range d.D.Statements {
			for _, r := range append(append([]string{}, st.Resource...), st.NotResource...) {
				add(r)
			}
		}
	}
	for k, vs := range v.conditions() {
		if k == "s3:prefix" || strings.HasPrefix(k, "aws:requesttag/") || strings.HasPrefix(k, "aws:principaltag/") {
			for _, x := range vs {
				add(x)
			}
		}
	}
	return out
}

// roleChanges asks who may change, replace or pass the writer and
// break-glass roles, and take Account A out of the Organization.
func (a *auditor) roleChanges(ps []principal) {
	targets := []string{a.v.WriterARN, a.v.BreakGlassARN}
	for _, p := range ps {
		for _, target := range targets {
			for _, act := range roleChangeActions {
				a.iam(p, act, target)
			}
		}
		for _, target := range targets {
			if r := a.v.role(target); r != nil {
				for _, arn := range r.Managed {
					for _, act := range policyVersionActions {
						a.iam(p, act, arn)
					}
				}
			}
		}
		for _, act := range membershipActions {
			a.iam(p, act, "*")
		}
	}
}

// iam decides an IAM or Organizations action of p: a role of the template
// by its own policies, an Account A administrator or root by the SCP.
func (a *auditor) iam(p principal, action, resource string) {
	if p.principalArn == a.v.BreakGlassARN {
		return
	}
	req := policy.Request{Principal: p.display(), Action: action, Resource: resource, Context: p.context(a.v, true)}
	switch p.kind {
	case kindRole:
		if strings.HasPrefix(action, "organizations:") || strings.HasPrefix(action, "account:") {
			return
		}
		a.rep.Asked++
		r, by := decide(p.role, req)
		if a.v.SCP != nil && a.v.SCP.D.Evaluate(req).Decision == policy.ExplicitDeny {
			return
		}
		if r.Decision == policy.Allow {
			a.find(Finding{Principal: p.display(), Who: p.who, Action: action, Resource: resource,
				Cause: "allowed by " + by + ": only the break-glass role may change the writer and break-glass roles"})
		}
	case kindAdmin, kindRoot:
		if a.v.SCP == nil {
			a.report("Account A's administrators and root can change, replace or pass the writer and break-glass roles (and so become break-glass), and take Account A out of the Organization: only the guardrails' SCP stops them; give --guardrails to prove it")
			return
		}
		a.rep.Asked++
		if a.v.SCP.D.Evaluate(req).Decision != policy.ExplicitDeny {
			a.find(Finding{Principal: p.display(), Who: p.who, Action: action, Resource: resource,
				Cause: "no Deny of the SCP stops it"})
		}
	}
}

// properties checks the bucket's settings.
func (a *auditor) properties() {
	b, bucket := a.v.Bucket, a.v.BucketARN()
	bad := func(what, why string) {
		a.find(Finding{Principal: "-", Who: "bucket setting", Action: what, Resource: bucket, Cause: why})
	}
	if b.Versioning != "Enabled" {
		bad("versioning", fmt.Sprintf("is %q, not Enabled: an overwrite would destroy the previous object", b.Versioning))
	}
	switch {
	case !b.ObjectLock:
		bad("Object Lock", "is off: a principal who removes the bucket policy (Account A's root may always) can delete every version")
	case b.LockMode == "" || b.LockDays+b.LockYears == 0:
		bad("Object Lock", "has no default retention: versions are written unlocked")
	case b.LockMode != "COMPLIANCE" && b.LockMode != "GOVERNANCE":
		bad("Object Lock", fmt.Sprintf("default mode %q is not COMPLIANCE or GOVERNANCE", b.LockMode))
	}
	for _, id := range sortedKeys(b.Lifecycle) {
		for _, what := range b.Lifecycle[id] {
			if what != "AbortIncompleteMultipartUpload" {
				bad("lifecycle rule "+id, what+": a vault's only lifecycle rule aborts incomplete multipart uploads")
			}
		}
	}
	for _, c := range []struct {
		what  string
		dests []Destination
	}{{"replication", b.Replication}, {"inventory", b.Inventory}, {"analytics export", b.Analytics}} {
		for _, d := range c.dests {
			switch {
			case d.Account != a.v.AccountA:
				acct := d.Account
				if acct == "" {
					acct = "an account it does not name"
				}
				bad(c.what, fmt.Sprintf("sends the vault's data or listings to %s in %s, outside Account A", d.Bucket, acct))
			case !a.v.Placed[d.Bucket]:
				// The account field is a label S3 does not check against
				// the bucket's owner.
				bad(c.what, fmt.Sprintf("sends the vault's data or listings to %s, which says it is Account A's but which the proof cannot place there (not a bucket of the template; live: not owned by Account A)", d.Bucket))
			default:
				a.copyReaders(c.what, d.Bucket)
			}
		}
	}
	if b.DefaultEncryption != "" && b.DefaultEncryption != "AES256" {
		bad("default encryption", fmt.Sprintf("is %s, not SSE-S3 (AES256): whoever controls the key (its account, its administrators) can make every version unreadable by disabling or deleting it", b.DefaultEncryption))
	}
	for out, want := range map[string]string{"VaultBucketName": a.v.BucketName, "WriterRoleArn": a.v.WriterARN} {
		if got, ok := a.v.Outputs[out]; ok && got != want {
			bad("output "+out, fmt.Sprintf("is %q, not the vault's %q: whoever deploys from it ships elsewhere", got, want))
		}
	}
	if w := a.v.role(a.v.WriterARN); w != nil {
		// Another bucket: any, and each the writer's policies name.
		elsewhere := map[string]bool{"arn:aws:s3:::logvault-audit-elsewhere/key": true}
		fill := strings.NewReplacer("*", "x", "?", "x")
		for _, d := range w.Policies {
			for _, st := range d.D.Statements {
				for _, r := range st.Resource {
					if strings.HasPrefix(r, "arn:aws:s3:::") && !strings.HasPrefix(r, bucket+"/") && r != bucket {
						elsewhere[fill.Replace(r)] = true
					}
				}
			}
		}
		// Outside the vault the writer may only read Account B's objects (the
		// source side of server-side copies): nothing of Account A's or of a
		// third account, and no write anywhere. Any Allow counts, as for the
		// writer's other grants.
	outside:
		for _, res := range sortedKeys(elsewhere) {
			if strings.HasPrefix(res, bucket+"/") {
				continue
			}
			for _, acct := range []string{a.v.AccountA, a.v.TrustedAccount, a.v.other()} {
				for _, act := range []string{"s3:PutObject", "s3:DeleteObjectVersion", "s3:PutObjectAcl", "s3:PutObjectRetention", "s3:GetObject", "s3:GetObjectVersion"} {
					read := act == "s3:GetObject" || act == "s3:GetObjectVersion"
					if read && acct == a.v.TrustedAccount {
						continue
					}
					_, by := decide(w, a.writerRequestIn(act, res, acct))
					switch {
					case by == "":
					case act == "s3:PutObject":
						bad("the writer's policies", "let it deposit outside the vault, in "+res+" of account "+acct+" ("+by+"): a function pointed elsewhere would ship into a bucket that keeps nothing")
						break outside
					case read:
						bad("the writer's policies", "let it read "+res+" in account "+acct+" ("+by+"): outside the vault the writer may read only Account B's source buckets, and Account B holds its credentials")
						break outside
					default:
						bad("the writer's policies", "allow "+act+" on "+res+" in account "+acct+" ("+by+"): outside the vault the writer may only read")
						break outside
					}
				}
			}
		}
	}
	a.writerOnlyS3()
	a.writerConfined()
	for _, id := range sortedKeys(a.v.AccessGrants) {
		g := a.v.AccessGrants[id]
		switch {
		case g[0] == "IAM" && accountOfARN(g[1]) == a.v.AccountA:
		case g[0] == "IAM":
			a.find(Finding{Principal: g[1], Who: "S3 Access Grants grantee", Action: "s3:GetDataAccess", Resource: bucket,
				Cause: "granted by the access grant " + id + ": Access Grants vends its location role's credentials, so a grantee outside Account A reads (or writes) as that role"})
		default:
			a.report(fmt.Sprintf("access grant %s gives %s %s credentials of its location role (S3 Access Grants)", id, g[0], g[1]))
		}
	}
	if b.Logging != "" {
		bad("access logging", "sends the vault's access logs to "+b.Logging+", which the proof cannot place in Account A")
	}
	if !b.SSECBlocked {
		bad("default encryption", "does not block SSE-C (BlockedEncryptionTypes): a version written with a customer key is unreadable to everyone else")
	}
	names := []string{"BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"}
	for i, on := range b.PublicAccessBlock {
		if !on {
			bad("public access block", names[i]+" is not true")
		}
	}
	if b.Ownership != "BucketOwnerEnforced" {
		bad("object ownership", fmt.Sprintf("is %q, not BucketOwnerEnforced: ACLs are enabled", b.Ownership))
	}
	if a.bp != nil {
		for i, s := range a.bp.Statements {
			if s.Effect == "Deny" || s.Principal == nil || len(s.Principal.Values["Service"]) == 0 {
				continue
			}
			if !hasKey(s, "aws:SourceAccount") && !hasKey(s, "aws:SourceArn") {
				id := s.Sid
				if id == "" {
					id = fmt.Sprintf("#%d", i)
				}
				a.find(Finding{Principal: strings.Join(s.Principal.Values["Service"], ","), Who: "AWS service principal", Action: strings.Join(append(s.Action, s.NotAction...), ","),
					Resource: bucket, Cause: "granted by the bucket policy (" + id + ") without aws:SourceAccount or aws:SourceArn: any account's use of the service can act on the vault (confused deputy)"})
			}
		}
	}
}

// writerOnlyS3 finds what the writer's policies grant beyond S3: Account B
// holds its credentials, so anything more (assuming another role, passing
// one, keys, code) is a way out of the vault's write-only box.
func (a *auditor) writerOnlyS3() {
	w := a.v.role(a.v.WriterARN)
	if w == nil {
		return
	}
	acct := a.v.AccountA
	for _, c := range []struct{ action, resource string }{
		{"sts:AssumeRole", "arn:aws:iam::" + acct + ":role/x"}, {"sts:AssumeRole", a.v.BreakGlassARN}, {"sts:GetFederationToken", "*"},
		{"iam:PassRole", "arn:aws:iam::" + acct + ":role/x"}, {"iam:CreateAccessKey", "arn:aws:iam::" + acct + ":user/x"},
		{"iam:CreateUser", "arn:aws:iam::" + acct + ":user/x"}, {"kms:ScheduleKeyDeletion", "arn:aws:kms:us-east-1:" + acct + ":key/x"},
		{"lambda:UpdateFunctionCode", "arn:aws:lambda:us-east-1:" + acct + ":function:x"}, {"ssm:SendCommand", "*"},
		{"ec2:RunInstances", "*"}, {"cloudformation:UpdateStack", "*"}, {"organizations:LeaveOrganization", "*"},
	} {
		a.rep.Asked++
		if _, by := decide(w, a.writerRequest(c.action, c.resource)); by != "" {
			a.find(Finding{Principal: a.v.WriterARN, Who: "writer role", Action: c.action, Resource: c.resource,
				Cause: "allowed by " + by + ": the writer must be write-only on the vault; Account B holds its credentials"})
		}
	}
}

// copyReaders finds who outside Account A the policy of a bucket the vault
// copies to lets read the copies.
func (a *auditor) copyReaders(what, dest string) {
	d := a.v.CopyPolicies[dest]
	if d == nil {
		return
	}
	outsiders := []principal{root(a.v.TrustedAccount), session(a.v.TrustedAccount, "/", "any-role"), root(a.v.other()), {}}
	outsiders[3].kind = kindAnonymous
	for _, p := range outsiders {
		for _, act := range []struct{ name, res string }{{"s3:GetObject", dest + "/k"}, {"s3:GetObjectVersion", dest + "/k"}, {"s3:ListBucket", dest}} {
			req := policy.Request{Principal: p.display(), Action: act.name, Resource: act.res, Context: p.context(a.v, true)}
			if p.kind == kindAnonymous {
				req.Principal = ""
			}
			a.rep.Asked++
			if r := d.D.Evaluate(req); r.Decision == policy.Allow {
				a.find(Finding{Principal: p.display(), Who: "outside Account A", Action: act.name, Resource: act.res,
					Cause: fmt.Sprintf("the vault's %s copies it to %s, whose policy allows them (%s, %s): the vault is read from outside Account A", what, dest, d.Name, r.Statement)})
			}
		}
	}
}

// listActions are the actions S3 gives a listing's prefix (s3:prefix).
var listActions = map[string]bool{"s3:ListBucket": true, "s3:ListBucketVersions": true}

// prefixContext names a listing's prefix in a finding ("" for none).
func prefixContext(extra map[string][]string) string {
	p, ok := extra["s3:prefix"]
	if !ok {
		return ""
	}
	if len(p) == 0 {
		return "listing without a prefix"
	}
	return fmt.Sprintf("listing prefix %q", p[0])
}

// listPrefixes are the s3:prefix values every listing is asked with: none,
// the empty prefix, a prefix no policy names, and for every s3:prefix
// pattern the policies name, a value it matches (its policy variable
// filled as for Account B's writer session), so that a listing granted to
// some prefixes is seen to be granted.
func listPrefixes(v *Vault) []map[string][]string {
	out := []map[string][]string{nil, {"s3:prefix": {""}}, {"s3:prefix": {"logvault-audit/"}}}
	seen := map[string]bool{"": true, "logvault-audit/": true}
	fill := strings.NewReplacer("${aws:PrincipalTag/"+sourceAccountTag+"}", v.TrustedAccount, "*", "x", "?", "x")
	for k, vals := range v.conditions() {
		if k != "s3:prefix" {
			continue
		}
		// The writer's per-kind parts are alike: the first two of a
		// statement stand for its values (writerConfined checks every kind
		// prefix); each costs a pass over every principal.
		for _, x := range vals[:min(len(vals), 2)] {
			if f := fill.Replace(x); !seen[f] {
				seen[f] = true
				out = append(out, map[string][]string{"s3:prefix": {f}})
			}
		}
	}
	return out
}

func hasKey(s policy.Statement, key string) bool {
	for _, keys := range s.Condition {
		for k := range keys {
			if strings.EqualFold(k, key) {
				return true
			}
		}
	}
	return false
}

// otherKeys are keys of other shapes: one of them lies outside any
// pattern that does not cover every key (no slash, one character, the
// layout's prefixes and suffixes).
var otherKeys = []string{"k", "K", "0", "cloudtrail/AWSLogs/1/CloudTrail/us-east-1/2026/01/01/f.json.gz", "billing/r.csv.gz",
	"applogs/g/s.json.gz", "a/b", "x.json", "-", "."}

// witnesses are the object ARNs each object action is asked for: a key no
// pattern names (beyond the bucket's "*"), and, for every object pattern
// the policies name, a key it matches and a key it does not (when one of
// otherKeys lies outside it), so that a statement limited to some keys is
// seen to leave the others, and one granting some keys is seen to grant.
func witnesses(v *Vault) []string {
	prefix := v.BucketARN() + "/"
	keys := map[string]bool{prefix + "logvault-audit/any-key": true}
	// A policy variable in a pattern is filled with the value Account B's
	// writer session gives it (its source-account tag), so the witness is
	// a key that session's own statement names.
	fill := strings.NewReplacer("${aws:PrincipalTag/"+sourceAccountTag+"}", v.TrustedAccount, "*", "x", "?", "x")
	for _, d := range v.docs() {
		for _, s := range d.D.Statements {
			perAccount := false
			for _, r := range append(append([]string{}, s.Resource...), s.NotResource...) {
				if !strings.HasPrefix(r, prefix) || r == prefix+"*" {
					continue
				}
				// The writer's per-kind parts (<kind>/account=${tag}/*) are
				// alike: one stands for them here (each costs a full pass
				// over every principal and action), and writerConfined
				// checks every kind prefix.
				if strings.Contains(r, "${aws:PrincipalTag/") {
					if perAccount {
						continue
					}
					perAccount = true
				}
				keys[fill.Replace(r)] = true
				for _, k := range otherKeys {
					if !globMatch(r, prefix+k) {
						keys[prefix+k] = true
						break
					}
				}
			}
		}
	}
	return sortedKeys(keys)
}

func dedupe(s []string) []string {
	out := s[:0]
	for i, x := range s {
		if i == 0 || x != s[i-1] {
			out = append(out, x)
		}
	}
	return out
}
