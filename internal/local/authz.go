package local

import (
	"encoding/json"
	"fmt"
	"log"
	"reflect"
	"strings"
	"sync"

	"github.com/versity/versitygw/auth"

	"github.com/logvault/logvault/internal/policy"
)

// authorizer decides S3 requests as AWS does, with internal/policy's
// evaluator: the bucket's policy (kept here, because versitygw's own policy
// language has no NotAction and few condition keys), the caller's identity
// policies, and AWS's rule for combining them (the bucket owner's account:
// either may allow; another account: both must). An explicit Deny wins, and
// an Allow that rests on anything the evaluator cannot interpret is no
// Allow. Account A's root key is never asked: versitygw lets it do whatever
// Object Lock allows, as the bucket owner's root on AWS can once it has
// replaced the bucket policy (which AWS always lets it do).
type authorizer struct {
	mu       sync.RWMutex
	policies map[string]storedPolicy               // by bucket
	owners   map[string]string                     // bucket -> owning account, as ownerOf found it
	identity map[string][]*policy.Document         // by principal ARN (a session's role ARN)
	ownerOf  func(bucket string) string            // the owning account of any other bucket ("" if none)
	tagsOf   func(access string) map[string]string // a session's tags (nil for long-term keys)
	log      *log.Logger                           // denials resting on an assumption, and Denies
}

// storedPolicy is a bucket policy as put (raw) and as parsed.
type storedPolicy struct {
	raw []byte
	doc *policy.Document
}

func newAuthorizer(logger *log.Logger) *authorizer {
	return &authorizer{
		policies: map[string]storedPolicy{}, owners: map[string]string{}, identity: map[string][]*policy.Document{},
		ownerOf: func(string) string { return "" }, tagsOf: func(string) map[string]string { return nil }, log: logger,
	}
}

// administratorJSON is Account A's administrators' identity policy (the
// operator's and the break-glass role's): every action.
const administratorJSON = `{"Version":"2012-10-17","Statement":[{"Sid":"Administrator","Effect":"Allow","Action":"*","Resource":"*"}]}`

// breakGlassTrustJSON is the local break-glass role's trust: one named
// security user of Account A, with MFA (docs/threat-model.md: never the
// account's root, which would let every administrator in). Locally the
// role is not assumed (its keys act as a session of it; the stack cannot
// check MFA), but IAM answers this trust.
const breakGlassTrustJSON = `{"Version":"2012-10-17","Statement":[{"Sid":"SecurityOfficerWithMFA","Effect":"Allow","Principal":{"AWS":"` + breakGlassUserARN + `"},"Action":"sts:AssumeRole","Condition":{"Bool":{"aws:MultiFactorAuthPresent":"true"}}}]}`

// breakGlassUserARN is who the local break-glass trust names.
const breakGlassUserARN = "arn:aws:iam::" + AccountA + ":user/logvault-security-officer"

// The two as parsed (constants of this file: parsed at start).
var (
	administratorPolicy = mustParse(administratorJSON)
	breakGlassTrust     = mustParse(breakGlassTrustJSON)
)

// adminPolicy is an identity policy allowing every S3 action: Account B's
// administrator.
var adminPolicy = mustParse(`{"Version":"2012-10-17","Statement":[{"Sid":"Admin","Effect":"Allow","Action":"s3:*","Resource":"*"}]}`)

func mustParse(s string) *policy.Document {
	d, err := policy.Parse([]byte(s))
	if err != nil {
		panic(err) // a constant of this file
	}
	return d
}

// attach gives a principal (a user ARN, or a role ARN for its sessions) an
// identity policy.
func (a *authorizer) attach(principalARN string, d *policy.Document) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.identity[principalARN] = append(a.identity[principalARN], d)
}

// putPolicy validates and stores a bucket policy.
func (a *authorizer) putPolicy(bucket string, raw []byte) error {
	d, err := policy.Parse(raw)
	if err != nil {
		return err
	}
	if len(d.Statements) == 0 {
		return fmt.Errorf("the policy has no statement")
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.policies[bucket] = storedPolicy{raw: append([]byte(nil), raw...), doc: d}
	return nil
}

func (a *authorizer) getPolicy(bucket string) ([]byte, bool) {
	a.mu.RLock()
	defer a.mu.RUnlock()
	p, ok := a.policies[bucket]
	return p.raw, ok
}

func (a *authorizer) deletePolicy(bucket string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.policies, bucket)
}

// owner is the account owning bucket, "" for no such bucket.
func (a *authorizer) owner(bucket string) string {
	a.mu.RLock()
	o, ok := a.owners[bucket]
	a.mu.RUnlock()
	if ok {
		return o
	}
	if o = a.ownerOf(bucket); o != "" {
		a.mu.Lock()
		a.owners[bucket] = o
		a.mu.Unlock()
	}
	return o
}

// principalARN is what aws:PrincipalArn holds for acc: a session's role.
func principalARN(acc auth.Account) string {
	if acc.RoleArn != "" {
		return acc.RoleArn
	}
	return acc.Arn
}

// listKeys are the condition keys S3 gives ListBucket and
// ListBucketVersions only (ListObjects, ListObjectVersions).
var listKeys = map[string]bool{"s3:prefix": true, "s3:delimiter": true, "s3:max-keys": true}

// allowed reports whether acc may perform action on resource (an S3 ARN)
// with the request's condition keys; why names what refused it.
func (a *authorizer) allowed(acc auth.Account, action, resource string, reqCtx map[string][]string) (ok bool, why string) {
	pa := principalARN(acc)
	caller := accountOf(acc.Arn)
	bucket := bucketOfARN(resource)
	owner := a.owner(bucket)
	ctx := make(map[string][]string, len(reqCtx)+4)
	for k, v := range reqCtx {
		if listKeys[k] && action != "s3:ListBucket" && action != "s3:ListBucketVersions" {
			// versitygw gives a request's ?prefix= as s3:prefix whatever
			// the action; S3 gives it to these two alone.
			continue
		}
		ctx[k] = v
	}
	ctx["aws:PrincipalArn"] = []string{pa}
	ctx["aws:PrincipalAccount"] = []string{caller}
	if org := OrganizationOf(caller); org != "" {
		ctx["aws:PrincipalOrgID"] = []string{org}
	}
	for k, v := range a.tagsOf(acc.Access) {
		ctx["aws:PrincipalTag/"+k] = []string{v}
	}
	if _, set := ctx["aws:SecureTransport"]; !set {
		ctx["aws:SecureTransport"] = []string{"true"} // the stack serves TLS only
	}
	if owner != "" {
		ctx["aws:ResourceAccount"] = []string{owner}
	}
	req := policy.Request{Principal: acc.Arn, Action: action, Resource: resource, Context: ctx}

	a.mu.RLock()
	docs := a.identity[pa]
	bp := a.policies[bucket].doc
	a.mu.RUnlock()
	var ids []policy.Result
	for _, d := range docs {
		ids = append(ids, d.Evaluate(req))
	}
	id := policy.Combine(ids...)
	res := policy.Result{}
	if bp != nil {
		res = bp.Evaluate(req)
	}
	switch {
	case res.Decision == policy.ExplicitDeny:
		return false, "explicit deny in the bucket policy (" + res.Statement + ")"
	case id.Decision == policy.ExplicitDeny:
		return false, "explicit deny in an identity policy (" + id.Statement + ")"
	}
	idAllow := id.Decision == policy.Allow && id.Exact()
	resAllow := res.Decision == policy.Allow && res.Exact()
	for _, r := range []policy.Result{id, res} {
		if r.Decision == policy.Allow && !r.Exact() {
			a.log.Printf("authz: %s %s on %s: an Allow rests on what the evaluator cannot interpret, counted as no Allow: %s",
				pa, action, resource, strings.Join(r.Assumed, "; "))
		}
	}
	if owner == "" {
		// No bucket (CreateBucket, ListAllMyBuckets): identity policies decide.
		if idAllow {
			return true, ""
		}
		return false, "no identity policy allows it"
	}
	if caller == owner {
		if idAllow || resAllow {
			return true, ""
		}
		return false, "no identity or bucket policy allows it"
	}
	if idAllow && resAllow {
		return true, ""
	}
	return false, "another account's request needs an Allow in both its identity policy and the bucket policy"
}

// identityAllows reports whether acc's identity policies alone allow
// action on resource (a request to a service with no resource policy,
// such as IAM's reads).
func (a *authorizer) identityAllows(acc auth.Account, action, resource string) bool {
	pa := principalARN(acc)
	req := policy.Request{Principal: acc.Arn, Action: action, Resource: resource, Context: map[string][]string{
		"aws:PrincipalArn": {pa}, "aws:PrincipalAccount": {accountOf(acc.Arn)}, "aws:SecureTransport": {"true"},
	}}
	a.mu.RLock()
	docs := a.identity[pa]
	a.mu.RUnlock()
	var rs []policy.Result
	for _, d := range docs {
		rs = append(rs, d.Evaluate(req))
	}
	r := policy.Combine(rs...)
	return r.Decision == policy.Allow && r.Exact()
}

// bucketOfARN is the bucket of an S3 ARN (arn:aws:s3:::bucket[/key]).
func bucketOfARN(resource string) string {
	r := resource
	if i := strings.Index(r, ":::"); i >= 0 {
		r = r[i+3:]
	}
	b, _, _ := strings.Cut(r, "/")
	return b
}

// EvaluatePolicy implements auth.PolicyEvaluator, versitygw's hook for
// identity policies, with the whole of AWS's decision: the answer is Allow
// or Deny, never "no opinion", so neither versitygw's bucket-owner ACL nor
// its (absent) bucket policies can let through what AWS would refuse.
func (s *iamService) EvaluatePolicy(access, sessionToken string, actions []auth.Action, resources []string, condition map[string][]string) (auth.PolicyEvaluation, error) {
	id, err := s.lookup(access, sessionToken)
	if err != nil {
		return auth.PolicyEvaluation{}, err
	}
	allow := make([][]bool, len(resources))
	for i, res := range resources {
		allow[i] = make([]bool, len(actions))
		for j, act := range actions {
			if act == auth.PutObjectAction && !strings.Contains(strings.TrimPrefix(res, "arn:aws:s3:::"), "/") {
				// versitygw authorizes a browser-form upload (POST Object)
				// against the bucket; AWS, against the object it creates.
				res += "/*"
			}
			ok, why := s.authz.allowed(id.account, string(act), res, condition)
			allow[i][j] = ok
			if !ok {
				s.authz.log.Printf("authz: denied %s %s on %s: %s", principalARN(id.account), act, res, why)
			}
		}
	}
	ev := auth.PolicyEvaluation{PrincipalArn: id.account.Arn}
	setDecisions(&ev, allow)
	return ev, nil
}

// setDecisions fills ev.Decisions, whose element type versitygw does not
// export (auth.policyDecision): 1 is its Allow and 2 its Deny
// (auth/bucket_policy.go, v1.8.0). The e2e tests see both work: an
// operator's read succeeds and its delete is refused.
func setDecisions(ev *auth.PolicyEvaluation, allow [][]bool) {
	t := reflect.TypeOf(ev.Decisions)
	m := reflect.MakeSlice(t, len(allow), len(allow))
	for i, row := range allow {
		r := reflect.MakeSlice(t.Elem(), len(row), len(row))
		for j, ok := range row {
			v := int64(2)
			if ok {
				v = 1
			}
			r.Index(j).SetInt(v)
		}
		m.Index(i).Set(r)
	}
	reflect.ValueOf(ev).Elem().FieldByName("Decisions").Set(m)
}

// aclOwner reads a bucket owner's access key from versitygw's ACL document.
func aclOwner(acl []byte) string {
	var a auth.ACL
	if json.Unmarshal(acl, &a) != nil {
		return ""
	}
	return a.Owner
}
