package local

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/versity/versitygw/auth"

	"github.com/logvault/logvault/internal/policy"
)

// role is a local role of Account A: the writer, whose trust and inline
// policies come from infra/vault.yaml, and the break-glass role.
type role struct {
	arn                string
	trust              *policy.Document
	maxSessionDuration time.Duration
	// trustJSON and policies are what IAM answers about the role (GetRole,
	// GetRolePolicy): the documents the stack applies.
	trustJSON []byte
	policies  []namedPolicy
	// assumable is false for a role the stack gives long-term keys instead
	// (break-glass, whose MFA the stack cannot check).
	assumable bool
}

// namedPolicy is an inline policy of a role.
type namedPolicy struct {
	name string
	json []byte
}

// stsServer answers, for STS, sts:AssumeRole the way AWS does for the
// checks that matter to logvault (a valid SigV4 signature from a known key,
// an existing role, a trust policy that allows the caller, ExternalId
// included, and valid RoleSessionName and DurationSeconds) and
// sts:GetCallerIdentity; for IAM (requests signed for "iam"), the reads of
// the roles that `logvault audit --live` makes (iamapi.go). Everything else
// is refused.
type stsServer struct {
	iam    *iamService
	roles  map[string]*role
	region string
	now    func() time.Time
	// root is Account A's root key, which versitygw knows and iamService
	// does not: it may read IAM and call GetCallerIdentity.
	rootAccess, rootSecret string
}

var (
	sessionNameRE = regexp.MustCompile(`^[\w+=,.@-]{2,64}$`)
	externalIDRE  = regexp.MustCompile(`^[\w+=,.@:/-]+$`)
)

type stsError struct {
	status  int
	code    string
	message string
}

func (e *stsError) Error() string { return e.code + ": " + e.message }

// Query-protocol namespaces of the two services.
const (
	stsNS = "https://sts.amazonaws.com/doc/2011-06-15/"
	iamNS = "https://iam.amazonaws.com/doc/2010-05-08/"
)

func (s *stsServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	reqID := randomID(8)
	w.Header().Set("x-amzn-RequestId", reqID)
	ns := stsNS
	out, err := func() (any, error) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			return nil, &stsError{http.StatusBadRequest, "InvalidRequest", "cannot read the request body"}
		}
		caller, service, err := s.authenticate(r, body)
		if service == "iam" {
			ns = iamNS
		}
		if err != nil {
			return nil, err
		}
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, &stsError{http.StatusBadRequest, "MalformedQueryString", err.Error()}
		}
		for k, v := range r.URL.Query() {
			form[k] = v
		}
		if service == "iam" {
			return s.iamRead(caller, form)
		}
		switch a := form.Get("Action"); a {
		case "AssumeRole":
			return s.assumeRole(r, caller, form)
		case "GetCallerIdentity":
			return s.callerIdentity(caller), nil
		default:
			return nil, &stsError{http.StatusBadRequest, "InvalidAction", fmt.Sprintf("the action %q is not valid for this local endpoint (only AssumeRole and GetCallerIdentity)", a)}
		}
	}()
	if err != nil {
		var se *stsError
		if !errors.As(err, &se) {
			se = &stsError{http.StatusInternalServerError, "InternalFailure", err.Error()}
		}
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(se.status)
		fmt.Fprintf(w, `<ErrorResponse xmlns="%s"><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>%s</RequestId></ErrorResponse>`,
			ns, xmlEscape(se.code), xmlEscape(se.message), reqID)
		return
	}
	if ar, ok := out.(*assumeRoleResponse); ok {
		ar.ResponseMetadata.RequestID = reqID
	}
	w.Header().Set("Content-Type", "text/xml")
	xml.NewEncoder(w).Encode(out)
}

// callerIdentityResponse is sts:GetCallerIdentity's answer.
type callerIdentityResponse struct {
	XMLName xml.Name `xml:"https://sts.amazonaws.com/doc/2011-06-15/ GetCallerIdentityResponse"`
	Result  struct {
		Arn     string `xml:"Arn"`
		UserID  string `xml:"UserId"`
		Account string `xml:"Account"`
	} `xml:"GetCallerIdentityResult"`
}

// callerIdentity answers who the caller is, as AWS does.
func (s *stsServer) callerIdentity(caller auth.Account) *callerIdentityResponse {
	out := &callerIdentityResponse{}
	out.Result.Arn, out.Result.Account = caller.Arn, accountOf(caller.Arn)
	switch {
	case strings.HasSuffix(caller.Arn, ":root"):
		out.Result.UserID = out.Result.Account
	case caller.RoleArn != "":
		out.Result.UserID = "AROA" + strings.ToUpper(hex.EncodeToString(sha256Sum(caller.RoleArn)[:8])) + ":" + caller.Arn[strings.LastIndexByte(caller.Arn, '/')+1:]
	default:
		out.Result.UserID = "AIDA" + strings.ToUpper(hex.EncodeToString(sha256Sum(caller.Arn)[:8]))
	}
	return out
}

func sha256Sum(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

type assumeRoleResponse struct {
	XMLName xml.Name `xml:"https://sts.amazonaws.com/doc/2011-06-15/ AssumeRoleResponse"`
	Result  struct {
		Credentials struct {
			AccessKeyID     string `xml:"AccessKeyId"`
			SecretAccessKey string `xml:"SecretAccessKey"`
			SessionToken    string `xml:"SessionToken"`
			Expiration      string `xml:"Expiration"`
		} `xml:"Credentials"`
		AssumedRoleUser struct {
			AssumedRoleID string `xml:"AssumedRoleId"`
			Arn           string `xml:"Arn"`
		} `xml:"AssumedRoleUser"`
	} `xml:"AssumeRoleResult"`
	ResponseMetadata struct {
		RequestID string `xml:"RequestId"`
	} `xml:"ResponseMetadata"`
}

func (s *stsServer) assumeRole(r *http.Request, caller auth.Account, form url.Values) (*assumeRoleResponse, error) {
	roleARN, sessionName, externalID := form.Get("RoleArn"), form.Get("RoleSessionName"), form.Get("ExternalId")
	if !sessionNameRE.MatchString(sessionName) {
		return nil, &stsError{http.StatusBadRequest, "ValidationError", fmt.Sprintf("1 validation error detected: Value '%s' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]* and have length 2-64", sessionName)}
	}
	if _, ok := form["ExternalId"]; ok && (len(externalID) < 2 || len(externalID) > 1224 || !externalIDRE.MatchString(externalID)) {
		return nil, &stsError{http.StatusBadRequest, "ValidationError", "1 validation error detected: Value at 'externalId' failed to satisfy constraint: Member must have length 2-1224 and match [\\w+=,.@:/-]*"}
	}
	denied := &stsError{http.StatusForbidden, "AccessDenied", fmt.Sprintf("User: %s is not authorized to perform: sts:AssumeRole on resource: %s", caller.Arn, roleARN)}
	ro, ok := s.roles[roleARN]
	if !ok || !ro.assumable {
		return nil, denied
	}
	duration := time.Hour
	if d := form.Get("DurationSeconds"); d != "" {
		n, err := strconv.Atoi(d)
		if err != nil || n < 900 {
			return nil, &stsError{http.StatusBadRequest, "ValidationError", fmt.Sprintf("1 validation error detected: Value '%s' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to 900", d)}
		}
		duration = time.Duration(n) * time.Second
		if duration > ro.maxSessionDuration {
			return nil, &stsError{http.StatusBadRequest, "ValidationError", "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."}
		}
	}
	tags, transitive, err := s.sessionTags(caller, form)
	if err != nil {
		return nil, err
	}
	// A role session is judged as its role, as AWS does for trust policies
	// and for aws:PrincipalArn.
	principal := caller.Arn
	if caller.RoleArn != "" {
		principal = caller.RoleArn
	}
	ctxKeys := map[string][]string{
		"aws:PrincipalArn":     {principal},
		"aws:PrincipalAccount": {accountOf(caller.Arn)},
		"aws:SecureTransport":  {strconv.FormatBool(r.TLS != nil)},
		"sts:RoleSessionName":  {sessionName},
	}
	if org := OrganizationOf(accountOf(caller.Arn)); org != "" {
		ctxKeys["aws:PrincipalOrgID"] = []string{org}
	}
	if _, ok := form["ExternalId"]; ok {
		ctxKeys["sts:ExternalId"] = []string{externalID}
	}
	callerTags, _ := s.iam.sessionTags(caller.Access)
	for k, v := range callerTags {
		ctxKeys["aws:PrincipalTag/"+k] = []string{v}
	}
	// The tags the request passes (and those it inherits) are judged as AWS
	// does: aws:RequestTag/<key> and aws:TagKeys for each, and
	// sts:TransitiveTagKeys for those it makes transitive.
	var keys, trans []string
	for k, v := range tags {
		ctxKeys["aws:RequestTag/"+k] = []string{v}
		keys = append(keys, k)
	}
	for k := range transitive {
		trans = append(trans, k)
	}
	if len(keys) > 0 {
		sort.Strings(keys)
		ctxKeys["aws:TagKeys"] = keys
	}
	if len(trans) > 0 {
		sort.Strings(trans)
		ctxKeys["sts:TransitiveTagKeys"] = trans
	}
	actions := []string{"sts:AssumeRole"}
	if len(tags) > 0 {
		actions = append(actions, "sts:TagSession") // passing session tags needs it too
	}
	for _, action := range actions {
		res := ro.trust.Evaluate(policy.Request{Principal: principal, Action: action, Resource: roleARN, Context: ctxKeys})
		if res.Decision != policy.Allow || !res.Exact() { // an Allow resting on an assumption is no Allow
			if action == "sts:TagSession" {
				return nil, &stsError{http.StatusForbidden, "AccessDenied", fmt.Sprintf("User: %s is not authorized to perform: sts:TagSession on resource: %s", caller.Arn, roleARN)}
			}
			return nil, denied
		}
	}
	access, secret, token, expires := s.iam.mintSession(roleARN, sessionName, duration, tags, transitive)
	out := &assumeRoleResponse{}
	out.Result.Credentials.AccessKeyID = access
	out.Result.Credentials.SecretAccessKey = secret
	out.Result.Credentials.SessionToken = token
	out.Result.Credentials.Expiration = expires.Format(time.RFC3339)
	out.Result.AssumedRoleUser.AssumedRoleID = "AROA" + randomID(17) + ":" + sessionName
	out.Result.AssumedRoleUser.Arn = "arn:aws:sts::" + accountOf(roleARN) + ":assumed-role/" + roleARN[strings.LastIndex(roleARN, "/")+1:] + "/" + sessionName
	return out, nil
}

// tagKeyRE and tagValueRE are STS's patterns for session tags.
var (
	tagKeyRE   = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,128}$`)
	tagValueRE = regexp.MustCompile(`^[\p{L}\p{Z}\p{N}_.:/=+\-@]{0,256}$`)
)

// sessionTags reads the request's session tags (Tags.member.N.Key/Value)
// and transitive keys (TransitiveTagKeys.member.N), and adds the caller's
// transitive tags, which a chained session inherits and may not override:
// what AssumeRole does with them on AWS.
func (s *stsServer) sessionTags(caller auth.Account, form url.Values) (map[string]string, map[string]bool, error) {
	invalid := func(msg string) error { return &stsError{http.StatusBadRequest, "InvalidParameterValue", msg} }
	tags, transitive := map[string]string{}, map[string]bool{}
	lower := map[string]string{} // tag keys are unique regardless of case
	for n := 1; ; n++ {
		k, ok := form[fmt.Sprintf("Tags.member.%d.Key", n)]
		if !ok {
			break
		}
		key, value := k[0], form.Get(fmt.Sprintf("Tags.member.%d.Value", n))
		if !tagKeyRE.MatchString(key) || !tagValueRE.MatchString(value) {
			return nil, nil, invalid(fmt.Sprintf("session tag %q=%q: keys are 1-128 and values 0-256 characters of letters, digits, spaces and _.:/=+-@", key, value))
		}
		if _, dup := lower[strings.ToLower(key)]; dup {
			return nil, nil, invalid(fmt.Sprintf("duplicate session tag key %q (keys are case-insensitive)", key))
		}
		lower[strings.ToLower(key)] = key
		tags[key] = value
	}
	if len(tags) > 50 {
		return nil, nil, invalid("more than 50 session tags")
	}
	for n := 1; ; n++ {
		k, ok := form[fmt.Sprintf("TransitiveTagKeys.member.%d", n)]
		if !ok {
			break
		}
		key, known := lower[strings.ToLower(k[0])]
		if !known {
			return nil, nil, invalid(fmt.Sprintf("transitive tag key %q is not a session tag of the request", k[0]))
		}
		transitive[key] = true
	}
	inherited, inheritedTransitive := s.iam.sessionTags(caller.Access)
	for k := range inheritedTransitive {
		if key, clash := lower[strings.ToLower(k)]; clash {
			return nil, nil, invalid(fmt.Sprintf("session tag %q would override the transitive tag %q the caller's session carries", key, k))
		}
		tags[k] = inherited[k]
		transitive[k] = true
	}
	return tags, transitive, nil
}

// authenticate checks the request's SigV4 signature (header form) and
// returns the caller's account and the service it signed for ("sts" or
// "iam").
func (s *stsServer) authenticate(r *http.Request, body []byte) (auth.Account, string, error) {
	missing := &stsError{http.StatusForbidden, "MissingAuthenticationToken", "Request is missing Authentication Token"}
	authz := r.Header.Get("Authorization")
	if authz == "" {
		return auth.Account{}, "", missing
	}
	const algo = "AWS4-HMAC-SHA256 "
	if !strings.HasPrefix(authz, algo) {
		return auth.Account{}, "", &stsError{http.StatusBadRequest, "IncompleteSignature", "only AWS4-HMAC-SHA256 signatures are accepted"}
	}
	fields := map[string]string{}
	for _, part := range strings.Split(authz[len(algo):], ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		fields[k] = v
	}
	scope := strings.Split(fields["Credential"], "/")
	if len(scope) != 5 || scope[3] != "sts" && scope[3] != "iam" || scope[4] != "aws4_request" || fields["SignedHeaders"] == "" || fields["Signature"] == "" {
		return auth.Account{}, "", &stsError{http.StatusBadRequest, "IncompleteSignature", "the Authorization header is not a complete SigV4 signature for sts or iam"}
	}
	access, date, region, service := scope[0], scope[1], scope[2], scope[3]
	if region != s.region {
		return auth.Account{}, "", &stsError{http.StatusForbidden, "SignatureDoesNotMatch", fmt.Sprintf("credential should be scoped to a valid region, not '%s'", region)}
	}
	amzDate := r.Header.Get("X-Amz-Date")
	t, err := time.Parse("20060102T150405Z", amzDate)
	if err != nil || !strings.HasPrefix(amzDate, date) {
		return auth.Account{}, "", &stsError{http.StatusBadRequest, "IncompleteSignature", "X-Amz-Date is missing or does not match the credential scope"}
	}
	if d := s.now().Sub(t); d > 15*time.Minute || d < -15*time.Minute {
		return auth.Account{}, "", &stsError{http.StatusForbidden, "SignatureDoesNotMatch", "Signature expired: the request time is more than 15 minutes from the server time"}
	}
	id, err := s.iam.lookup(access, r.Header.Get("X-Amz-Security-Token"))
	if access == s.rootAccess && s.rootAccess != "" && r.Header.Get("X-Amz-Security-Token") == "" {
		id, err = &identity{account: auth.Account{Access: access, Arn: "arn:aws:iam::" + AccountA + ":root"}, secret: s.rootSecret}, nil
	}
	if err != nil {
		if errors.Is(err, auth.ErrInvalidSessionToken) {
			return auth.Account{}, "", &stsError{http.StatusForbidden, "ExpiredToken", "The security token included in the request is expired or invalid"}
		}
		return auth.Account{}, "", &stsError{http.StatusForbidden, "InvalidClientTokenId", "The security token included in the request is invalid."}
	}
	signed := strings.Split(fields["SignedHeaders"], ";")
	var canon strings.Builder
	for _, h := range signed {
		var v string
		if h == "host" {
			v = r.Host
		} else {
			v = strings.Join(r.Header.Values(h), ",")
		}
		canon.WriteString(h + ":" + strings.Join(strings.Fields(v), " ") + "\n")
	}
	payload := sha256.Sum256(body)
	creq := strings.Join([]string{
		r.Method,
		canonicalPath(r.URL.EscapedPath()),
		canonicalQuery(r.URL.Query()),
		canon.String(),
		fields["SignedHeaders"],
		hex.EncodeToString(payload[:]),
	}, "\n")
	creqHash := sha256.Sum256([]byte(creq))
	toSign := strings.Join([]string{"AWS4-HMAC-SHA256", amzDate, strings.Join(scope[1:], "/"), hex.EncodeToString(creqHash[:])}, "\n")
	want := hex.EncodeToString(hmacSHA256(deriveKey(id.secret, date, region, service), toSign))
	if !hmac.Equal([]byte(want), []byte(fields["Signature"])) {
		return auth.Account{}, "", &stsError{http.StatusForbidden, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided."}
	}
	return id.account, service, nil
}

func canonicalPath(p string) string {
	if p == "" {
		return "/"
	}
	return p
}

func canonicalQuery(q url.Values) string {
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var parts []string
	for _, k := range keys {
		vals := append([]string(nil), q[k]...)
		sort.Strings(vals)
		for _, v := range vals {
			parts = append(parts, awsEscape(k)+"="+awsEscape(v))
		}
	}
	return strings.Join(parts, "&")
}

func awsEscape(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}

func xmlEscape(s string) string {
	var b bytes.Buffer
	xml.EscapeText(&b, []byte(s))
	return b.String()
}
