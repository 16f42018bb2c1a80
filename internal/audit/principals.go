package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"iter"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/logvault/logvault/internal/policy"
)

// kind is what the proof knows of a principal's own permissions.
type kind int

const (
	// kindExternal is a principal of another account (Account B's
	// included): its identity policies are the attacker's, assumed to allow
	// everything; only the vault's side can stop it.
	kindExternal kind = iota
	// kindAnonymous is an unauthenticated caller.
	kindAnonymous
	// kindService is an AWS service acting as its service principal.
	kindService
	// kindFederated is a caller with a token of a federated provider.
	kindFederated
	// kindAdmin is an Account A principal that is not break-glass, modelled
	// as an administrator whose identity policy allows * on *.
	kindAdmin
	// kindRoot is Account A's root user.
	kindRoot
	// kindRole is a role (or user) whose policies the proof reads: the
	// writer and every other role of the template.
	kindRole
)

// principal is one caller the proof asks about.
type principal struct {
	who          string // what it stands for, for the report
	arn          string // the request's principal: a session ARN for a role
	principalArn string // aws:PrincipalArn
	account      string
	userid       string // aws:userid
	service      string // for kindService: the service principal
	kind         kind
	role         *Role             // for kindRole
	function     bool              // one of the function roles the writer trusts
	tags         map[string]string // a session's tags (aws:PrincipalTag/<key>)
	anyAdmin     bool              // stands for any Account A administrator (no name a policy chose)
}

func (p principal) display() string {
	switch {
	case p.kind == kindAnonymous:
		return "*"
	case p.kind == kindService:
		return p.service
	}
	return p.arn
}

// inA reports a principal of the vault's account.
func (p principal) inA(v *Vault) bool { return p.account == v.AccountA }

// context is the request context AWS gives for p, over TLS or not.
func (p principal) context(v *Vault, tls bool) map[string][]string {
	ctx := map[string][]string{
		"aws:SecureTransport": {fmt.Sprint(tls)},
		"aws:ResourceAccount": {v.AccountA},
	}
	if p.principalArn != "" {
		ctx["aws:PrincipalArn"] = []string{p.principalArn}
	}
	if p.account != "" {
		ctx["aws:PrincipalAccount"] = []string{p.account}
	}
	if p.userid != "" {
		ctx["aws:userid"] = []string{p.userid}
	}
	// AWS gives aws:PrincipalOrgID (and aws:PrincipalOrgPaths) only for a
	// principal of an account in an Organization.
	if org := v.orgOf(p.account); org != "" && p.kind != kindService && p.kind != kindAnonymous {
		ctx["aws:PrincipalOrgID"] = []string{org}
		ctx["aws:PrincipalOrgPaths"] = []string{org + "/r-ab12/ou-ab12-11111111/"}
	}
	for k, v := range p.tags {
		ctx["aws:PrincipalTag/"+k] = []string{v}
	}
	if p.kind == kindService {
		ctx["aws:PrincipalServiceName"] = []string{p.service}
		ctx["aws:PrincipalIsAWSService"] = []string{"true"}
	} else {
		ctx["aws:PrincipalIsAWSService"] = []string{"false"}
	}
	return ctx
}

// uniqueID is a stable stand-in for an IAM unique id (AROA..., AIDA...).
func uniqueID(prefix, arn string) string {
	h := sha256.Sum256([]byte(arn))
	return prefix + strings.ToUpper(hex.EncodeToString(h[:8]))
}

// session is a session of an IAM role.
func session(account, path, name string) principal {
	roleARN := "arn:aws:iam::" + account + ":role" + path + name
	return principal{
		arn:          "arn:aws:sts::" + account + ":assumed-role/" + name + "/s",
		principalArn: roleARN,
		account:      account,
		userid:       uniqueID("AROA", roleARN) + ":s",
	}
}

func user(account, name string) principal {
	arn := "arn:aws:iam::" + account + ":user/" + name
	return principal{arn: arn, principalArn: arn, account: account, userid: uniqueID("AIDA", arn)}
}

func root(account string) principal {
	arn := "arn:aws:iam::" + account + ":root"
	return principal{arn: arn, principalArn: arn, account: account, userid: account}
}

// services are the service principals every proof asks about; those the
// policies name are added.
var services = []string{"s3.amazonaws.com", "logging.s3.amazonaws.com", "batchoperations.s3.amazonaws.com",
	"cloudtrail.amazonaws.com", "delivery.logs.amazonaws.com", "config.amazonaws.com"}

// principals are the callers the proof asks about: a representative of
// every kind, each role of the vault, every principal the policies name,
// and, for every pattern they name, principals an attacker could create
// that match it.
func principals(v *Vault) []principal {
	var ps []principal
	add := func(p principal, who string, k kind) {
		p.who, p.kind = who, k
		p.function = p.function || p.principalArn != "" && slices.Contains(v.FunctionRoles, p.principalArn)
		ps = append(ps, p)
	}
	b := v.TrustedAccount
	add(root(b), "Account B root", kindExternal)
	add(session(b, "/", "any-role"), "any Account B role", kindExternal)
	add(user(b, "any-user"), "any Account B user", kindExternal)
	// Every function role of Account B; of another source account, one
	// stands for all (they are alike but for the account); and one role of
	// a function role's name in an account of no Organization and in the
	// vault's own account (an administrator there can create it).
	others, lookalikes := map[string]bool{}, false
	for _, f := range v.FunctionRoles {
		parts := strings.SplitN(f, ":", 6)
		if len(parts) != 6 || !strings.HasPrefix(parts[5], "role/") {
			continue
		}
		path, name := splitRole(strings.TrimPrefix(parts[5], "role"))
		if parts[4] != b {
			if !others[parts[4]] {
				others[parts[4]] = true
				add(session(parts[4], path, name), "function role of another source account", kindExternal)
			}
			continue
		}
		add(session(parts[4], path, name), "Account B function role", kindExternal)
		if !lookalikes {
			lookalikes = true
			add(session(Outsider, path, name), "a role of a function role's name in an account of no Organization", kindExternal)
			add(session(outsiderInOrg, path, name), "a role of a function role's name in an account of another Organization", kindExternal)
			a := session(v.AccountA, path, name)
			a.anyAdmin = true
			add(a, "a role of a function role's name in Account A", kindAdmin)
		}
	}
	add(root(Outsider), "the root of an account of no Organization", kindExternal)
	anyRole, anyUser := session(v.AccountA, "/", "Admin"), user(v.AccountA, "admin")
	anyRole.anyAdmin, anyUser.anyAdmin = true, true
	add(anyRole, "Account A admin role (not break-glass)", kindAdmin)
	add(anyUser, "Account A admin user", kindAdmin)
	add(root(v.AccountA), "Account A root", kindRoot)
	add(root(v.other()), "another account's root", kindExternal)
	add(session(v.other(), "/", "logvault-cloudtrail"), "another account's role", kindExternal)
	add(principal{}, "anonymous", kindAnonymous)
	for _, r := range v.Roles {
		if r.ARN == v.BreakGlassARN {
			continue
		}
		name := r.ARN[strings.LastIndexByte(r.ARN, '/')+1:]
		p := session(v.AccountA, "/", name)
		p.principalArn = r.ARN
		if strings.Contains(r.ARN, ":user/") {
			p = principal{arn: r.ARN, principalArn: r.ARN, account: v.AccountA, userid: uniqueID("AIDA", r.ARN)}
		}
		p.role = r
		who := "role " + r.Name + " of the template"
		if r.ARN == v.WriterARN {
			// A writer session is bound to the source account that assumed
			// it (the trust's session tag): Account B's, and another's.
			p.tags = map[string]string{sourceAccountTag: v.TrustedAccount}
			add(p, "writer role (session of Account B)", kindRole)
			q := p
			q.tags = map[string]string{sourceAccountTag: v.other()}
			q.arn = strings.TrimSuffix(p.arn, "/s") + "/c"
			q.userid = strings.TrimSuffix(p.userid, ":s") + ":c"
			add(q, "writer role (session of another source account)", kindRole)
			continue
		}
		add(p, who, kindRole)
	}
	named := map[string]bool{}
	svcs := map[string]bool{}
	for _, s := range services {
		svcs[s] = true
	}
	for _, d := range v.docs() {
		for _, s := range d.D.Statements {
			for _, pr := range []*policy.Principal{s.Principal, s.NotPrincipal} {
				if pr != nil {
					for _, x := range pr.Values["Service"] {
						svcs[x] = true
					}
				}
			}
		}
	}
	for _, x := range v.awsPrincipals() {
		named[x] = true
	}
	for k, vals := range v.conditions() {
		switch k {
		case "aws:principalarn", "aws:principalaccount", "aws:userid", "aws:sourceaccount":
			for _, x := range vals {
				named[x] = true
			}
		}
	}
	for _, s := range sortedKeys(svcs) {
		if !strings.ContainsAny(s, "*?") {
			add(principal{service: s}, "AWS service principal", kindService)
		}
	}
	seen := map[string]bool{}
	for _, p := range ps {
		seen[p.arn+"|"+p.principalArn] = true
	}
	for _, n := range sortedKeys(named) {
		for _, p := range instances(v, n) {
			key := p.arn + "|" + p.principalArn
			if seen[key] || p.principalArn == v.BreakGlassARN || v.role(p.principalArn) != nil {
				continue
			}
			seen[key] = true
			ps = append(ps, p)
		}
	}
	return ps
}

// docs are every policy document of v.
func (v *Vault) docs() []Doc {
	var ds []Doc
	if v.BucketPolicy != nil {
		ds = append(ds, *v.BucketPolicy)
	}
	for _, r := range v.Roles {
		if r.Trust != nil {
			ds = append(ds, *r.Trust)
		}
		ds = append(ds, r.Policies...)
	}
	for _, d := range []*Doc{v.SCP, v.RCP} {
		if d != nil {
			ds = append(ds, *d)
		}
	}
	return ds
}

// conditions yields the key (lower case) and values of every condition of
// every statement of v's policies, one statement's key at a time.
func (v *Vault) conditions() iter.Seq2[string, []string] {
	return func(yield func(string, []string) bool) {
		for _, d := range v.docs() {
			for _, s := range d.D.Statements {
				for _, keys := range s.Condition {
					for k, vals := range keys {
						if !yield(strings.ToLower(k), vals) {
							return
						}
					}
				}
			}
		}
	}
}

// awsPrincipals are the AWS principals every statement of v's policies
// names (in Principal or NotPrincipal).
func (v *Vault) awsPrincipals() []string {
	var out []string
	for _, d := range v.docs() {
		for _, s := range d.D.Statements {
			for _, pr := range []*policy.Principal{s.Principal, s.NotPrincipal} {
				if pr != nil {
					out = append(out, pr.Values["AWS"]...)
				}
			}
		}
	}
	return out
}

// instances turns a principal a policy names, or a pattern matching
// principals, into callers: the named one itself, or, for a pattern, the
// principals an attacker could create that match it (a role of Account A
// an administrator could create, a role of another account where the
// account is a wildcard).
func instances(v *Vault, n string) []principal {
	if n == "*" || n == "" {
		return nil
	}
	wild := strings.ContainsAny(n, "*?")
	fill := strings.NewReplacer("*", "x", "?", "x")
	if isAccountID(n) {
		p := root(n)
		return []principal{classed(v, p, "an account named in a policy")}
	}
	if strings.HasPrefix(n, "AROA") || strings.HasPrefix(n, "AIDA") || (wild && !strings.HasPrefix(n, "arn:")) {
		// aws:userid: a role or user of Account A with that unique id.
		p := session(v.AccountA, "/", "userid-match")
		p.userid = fill.Replace(n)
		out := []principal{classed(v, p, "an Account A principal whose aws:userid matches "+n)}
		// A pattern with no "arn:" (in aws:PrincipalArn, "*/name") also
		// matches whole ARNs: a role, a user or a root of any account.
		filled := fill.Replace(n)
		name := filled[strings.LastIndexByte(filled, '/')+1:]
		for _, acct := range []string{v.AccountA, v.other(), Outsider} {
			for _, res := range []string{"role/" + name, "user/" + name, "role/x", "user/x", "root"} {
				arn := "arn:aws:iam::" + acct + ":" + res
				if globMatch(n, arn) {
					out = append(out, instances(v, arn)...)
				}
			}
		}
		for i := 1; i < len(out); i++ {
			out[i].who = "a principal an attacker could create that matches " + n
		}
		return out
	}
	parts := strings.SplitN(n, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" {
		return nil
	}
	accounts := []string{parts[4]}
	if wild && strings.ContainsAny(parts[4], "*?") {
		// Account B too: a role a source account creates that the pattern
		// matches is no function role unless the policies name it exactly.
		accounts = []string{v.AccountA, v.TrustedAccount, v.other(), Outsider}
	}
	svc := parts[2]
	var out []principal
	for _, acct := range accounts {
		acct = fill.Replace(acct)
		if !isAccountID(acct) {
			continue
		}
		cands := resourceCandidates(parts[5], fill)
		if wild && svc == "iam" && acct == v.other() && !strings.ContainsAny(parts[5], "*?") {
			// An IAM path may hold ":" (any character from ! to DEL): a
			// user at path "/:role/" is arn:aws:iam::<acct>:user/:role/<name>,
			// which a string pattern (not ArnLike) "…::*:role/<name>"
			// matches.
			cands = append(cands, "user/:"+parts[5])
		}
		for _, res := range cands {
			var p principal
			switch {
			case svc == "iam" && res == "root":
				p = root(acct)
			case svc == "iam" && strings.HasPrefix(res, "role/"):
				path, name := splitRole(strings.TrimPrefix(res, "role"))
				p = session(acct, path, name)
			case svc == "iam" && strings.HasPrefix(res, "user/"):
				p = user(acct, res[strings.LastIndexByte(res, '/')+1:])
				p.arn, p.principalArn = "arn:aws:iam::"+acct+":"+res, "arn:aws:iam::"+acct+":"+res
			case svc == "sts" && strings.HasPrefix(res, "assumed-role/"):
				name, _, _ := strings.Cut(strings.TrimPrefix(res, "assumed-role/"), "/")
				p = session(acct, "/", name)
			default:
				continue
			}
			who := "a principal named in a policy"
			if wild {
				who = "a principal an attacker could create that matches " + n
			}
			out = append(out, classed(v, p, who))
		}
	}
	return out
}

// resourceCandidates are the resource parts (role/..., user/..., root,
// assumed-role/...) of principals that match the resource part pat of an
// ARN pattern: pat itself when it has no wildcard; else its wildcards
// filled, and a role, a user and the root of the name it ends with, so
// that "*/logvault-break-glass" yields a user of that name too.
func resourceCandidates(pat string, fill *strings.Replacer) []string {
	if !strings.ContainsAny(pat, "*?") {
		return []string{pat}
	}
	filled := fill.Replace(pat)
	name := filled[strings.LastIndexByte(filled, '/')+1:]
	var out []string
	for _, c := range []string{filled, "role/" + name, "user/" + name, "role/x", "user/x", "root", "assumed-role/" + name + "/s"} {
		if globMatch(pat, c) && !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}

// globMatch matches s against an IAM pattern (* any run, ? one character).
func globMatch(pat, s string) bool {
	var b strings.Builder
	b.WriteString("^")
	for _, r := range pat {
		switch r {
		case '*':
			b.WriteString(".*")
		case '?':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString("$")
	ok, _ := regexp.MatchString(b.String(), s)
	return ok
}

// classed gives an instantiated principal its kind.
func classed(v *Vault, p principal, who string) principal {
	p.who = who
	switch {
	case p.principalArn == "arn:aws:iam::"+p.account+":root" && p.account == v.AccountA:
		p.kind = kindRoot
	case p.account == v.AccountA:
		p.kind = kindAdmin
	default:
		p.kind = kindExternal
	}
	for _, f := range v.FunctionRoles {
		p.function = p.function || f == p.principalArn
	}
	return p
}

// splitRole splits "/path/name" into "/path/" and "name".
func splitRole(s string) (path, name string) {
	i := strings.LastIndexByte(s, '/')
	return s[:i+1], s[i+1:]
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

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
