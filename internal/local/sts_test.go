package local

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"
	"github.com/versity/versitygw/auth"

	"github.com/logvault/logvault/infra"
	"github.com/logvault/logvault/internal/policy"
	"github.com/logvault/logvault/internal/schema"
)

// Fixed test keys. Account B's user is what the Lambdas' keys stand for.
const (
	testExternalID = "logvault-test-external-id"
	testBAccess    = "AKIATESTACCOUNTBUSER"
	testBSecret    = "account-b-secret-access-key-0123456789ab"
	testCAccess    = "AKIATESTACCOUNTCUSER"
	testCSecret    = "account-c-secret-access-key-0123456789ab"
	accountC       = "333333333333"
	testBRoleARN   = "arn:aws:iam::" + AccountB + ":role/logvault-cloudtrail"
	// Role keys of the organization trust's cases: a function role of
	// Account C (in the Organization), one of an account outside it, a role
	// of the vault's account with a function role's name, and a role of
	// Account B the vault does not name.
	testCFunctionAccess  = "AKIATESTCFUNCTIONROL"
	testOutsiderAccess   = "AKIATESTOUTSIDERROLE"
	testAFunctionAccess  = "AKIATESTAFUNCTIONROL"
	testBOtherRoleAccess = "AKIATESTBOTHERROLE00"
	testRoleSecret       = "role-key-secret-access-key-0123456789abc"
)

// testClock is a settable clock shared by the STS server and the IAM service.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

type stsFixture struct {
	iam   *iamService
	sts   *stsServer
	srv   *httptest.Server
	clock *testClock
	base  time.Time // the clock's start: real time, so SDK signatures are fresh
}

// newSTSFixture starts the loopback STS endpoint as Serve builds it: the
// roles are Serve's (the writer's trust from infra/vault.yaml), Account B has a
// user key, and an unrelated account (C) has one too.
func newSTSFixture(t *testing.T) *stsFixture {
	t.Helper()
	vault, err := loadVault(infra.VaultTemplate, testExternalID)
	if err != nil {
		t.Fatalf("loadVault: %v", err)
	}
	base := time.Now().UTC()
	clock := &testClock{t: base}
	iam := newIAMService(newAuthorizer(log.New(io.Discard, "", 0)))
	iam.now = clock.Now
	iam.addRoleKey(testBAccess, testBSecret, sourceSessionARN(AccountB), sourceRoleARN(AccountB), auth.RoleUserPlus)
	iam.addUser(testCAccess, testCSecret, "arn:aws:iam::"+accountC+":user/intruder", auth.RoleUser)
	for access, role := range map[string]string{
		testCFunctionAccess:  "arn:aws:iam::" + accountC + ":role/logvault-cloudtrail",
		testOutsiderAccess:   "arn:aws:iam::" + AccountOutside + ":role/logvault-cloudtrail",
		testAFunctionAccess:  "arn:aws:iam::" + AccountA + ":role/logvault-cloudtrail",
		testBOtherRoleAccess: "arn:aws:iam::" + AccountB + ":role/deploy",
	} {
		name := role[strings.LastIndexByte(role, '/')+1:]
		iam.addRoleKey(access, testRoleSecret, "arn:aws:sts::"+accountOf(role)+":assumed-role/"+name+"/s", role, auth.RoleUser)
	}
	iam.allowPrincipal(WriterRoleARN)
	iam.allowPrincipal(BreakGlassRoleARN)
	s := &stsServer{iam: iam, region: Region, now: clock.Now, roles: localRoles(vault)}
	srv := httptest.NewTLSServer(s)
	t.Cleanup(srv.Close)
	return &stsFixture{iam: iam, sts: s, srv: srv, clock: clock, base: base}
}

// roundTripFunc adapts a function to http.RoundTripper.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// client is the real SDK STS client, pointed at the fixture's endpoint.
func (f *stsFixture) client(access, secret, token string, wrap func(http.RoundTripper) http.RoundTripper) *sts.Client {
	hc := f.srv.Client()
	if wrap != nil {
		hc = &http.Client{Transport: wrap(hc.Transport), Timeout: hc.Timeout}
	}
	return sts.New(sts.Options{
		Region:       Region,
		BaseEndpoint: aws.String(f.srv.URL),
		HTTPClient:   hc,
		Credentials:  credentials.NewStaticCredentialsProvider(access, secret, token),
	})
}

// tamperExternalID changes one character of the ExternalId in the body after
// the SDK has signed the request (same length, so Content-Length still holds).
func tamperExternalID(next http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, err
		}
		r.Body.Close()
		orig := "ExternalId=" + testExternalID
		if !bytes.Contains(body, []byte(orig)) {
			return nil, errors.New("tamper: ExternalId not found in the request body: " + string(body))
		}
		forged := "ExternalId=" + "X" + testExternalID[1:]
		body = bytes.Replace(body, []byte(orig), []byte(forged), 1)
		r = r.Clone(r.Context())
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
		return next.RoundTrip(r)
	})
}

// apiError returns the service error code and HTTP status of err.
func apiError(t *testing.T, err error) (string, int) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("error %v (%T) is not a smithy.APIError", err, err)
	}
	status := 0
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		status = re.HTTPStatusCode()
	}
	return ae.ErrorCode(), status
}

// bTag is the session tag binding a writer session to Account B.
var bTag = []ststypes.Tag{tag(schema.SourceAccountTag, AccountB)}

// caseTags is a case's tags: the binding tag unless it gives its own or none.
func caseTags(tags []ststypes.Tag, none bool) []ststypes.Tag {
	switch {
	case none:
		return nil
	case tags != nil:
		return tags
	}
	return bTag
}

func tag(k, v string) ststypes.Tag { return ststypes.Tag{Key: aws.String(k), Value: aws.String(v)} }

func TestAssumeRole(t *testing.T) {
	type creds struct{ access, secret string }
	b := creds{testBAccess, testBSecret}
	cases := []struct {
		name       string
		caller     creds
		roleARN    string
		session    string
		externalID *string
		duration   *int32
		skew       time.Duration // server clock minus real time
		wrap       func(http.RoundTripper) http.RoundTripper
		wantCode   string // "" means success
		wantStatus int
		wantMsg    string // a substring of the error message, when not ""
		wantTTL    time.Duration
		tags       []ststypes.Tag // nil: the binding tag of Account B
		noTags     bool
		transitive []string
	}{
		{name: "right ExternalId", caller: b, externalID: aws.String(testExternalID), wantTTL: time.Hour},
		{name: "right ExternalId, DurationSeconds 900", caller: b, externalID: aws.String(testExternalID), duration: aws.Int32(900), wantTTL: 15 * time.Minute},
		{name: "right ExternalId, DurationSeconds 3600 (the role's maximum)", caller: b, externalID: aws.String(testExternalID), duration: aws.Int32(3600), wantTTL: time.Hour},
		{name: "session name of 64 allowed characters", caller: b, session: "a+b=c,d.e@f-g_h" + strings.Repeat("x", 49), externalID: aws.String(testExternalID), wantTTL: time.Hour},
		{name: "session name of 2 characters", caller: b, session: "ab", externalID: aws.String(testExternalID), wantTTL: time.Hour},

		{name: "wrong ExternalId", caller: b, externalID: aws.String("logvault-wrong"), wantCode: "AccessDenied", wantStatus: 403},
		{name: "ExternalId differing only in case", caller: b, externalID: aws.String(strings.ToUpper(testExternalID)), wantCode: "AccessDenied", wantStatus: 403},
		{name: "no ExternalId", caller: b, wantCode: "AccessDenied", wantStatus: 403},
		{name: "empty ExternalId", caller: b, externalID: aws.String(""), wantCode: "ValidationError", wantStatus: 400},
		{name: "unknown role ARN", caller: b, roleARN: "arn:aws:iam::" + AccountA + ":role/no-such-role", externalID: aws.String(testExternalID), wantCode: "AccessDenied", wantStatus: 403},
		{name: "break-glass role is not assumable this way", caller: b, roleARN: BreakGlassRoleARN, externalID: aws.String(testExternalID), wantCode: "AccessDenied", wantStatus: 403},
		{name: "a user of another account of the organization", caller: creds{testCAccess, testCSecret}, externalID: aws.String(testExternalID), tags: []ststypes.Tag{tag(schema.SourceAccountTag, accountC)}, wantCode: "AccessDenied", wantStatus: 403},
		// The vault trusts the function role names in every account of the
		// Organization but its own.
		{name: "function role of another account of the organization", caller: creds{testCFunctionAccess, testRoleSecret}, externalID: aws.String(testExternalID), tags: []ststypes.Tag{tag(schema.SourceAccountTag, accountC)}, wantTTL: time.Hour},
		{name: "that role tagged as Account B", caller: creds{testCFunctionAccess, testRoleSecret}, externalID: aws.String(testExternalID), wantCode: "AccessDenied", wantStatus: 403},
		{name: "function role name in an account outside the organization", caller: creds{testOutsiderAccess, testRoleSecret}, externalID: aws.String(testExternalID), tags: []ststypes.Tag{tag(schema.SourceAccountTag, AccountOutside)}, wantCode: "AccessDenied", wantStatus: 403},
		{name: "function role name in the vault's own account", caller: creds{testAFunctionAccess, testRoleSecret}, externalID: aws.String(testExternalID), tags: []ststypes.Tag{tag(schema.SourceAccountTag, AccountA)}, wantCode: "AccessDenied", wantStatus: 403},
		{name: "a role of Account B the vault does not name", caller: creds{testBOtherRoleAccess, testRoleSecret}, externalID: aws.String(testExternalID), wantCode: "AccessDenied", wantStatus: 403},
		{name: "session name of 1 character", caller: b, session: "a", externalID: aws.String(testExternalID), wantCode: "ValidationError", wantStatus: 400},
		{name: "session name with a space", caller: b, session: "has space", externalID: aws.String(testExternalID), wantCode: "ValidationError", wantStatus: 400},
		{name: "session name of 65 characters", caller: b, session: strings.Repeat("s", 65), externalID: aws.String(testExternalID), wantCode: "ValidationError", wantStatus: 400},
		{name: "DurationSeconds 899", caller: b, externalID: aws.String(testExternalID), duration: aws.Int32(899), wantCode: "ValidationError", wantStatus: 400},
		{name: "DurationSeconds 7200 above MaxSessionDuration", caller: b, externalID: aws.String(testExternalID), duration: aws.Int32(7200), wantCode: "ValidationError", wantStatus: 400},
		{name: "wrong secret", caller: creds{testBAccess, "not-the-secret-access-key-0123456789abcd"}, externalID: aws.String(testExternalID), wantCode: "SignatureDoesNotMatch", wantStatus: 403},
		{name: "unknown access key", caller: creds{"AKIAUNKNOWNUNKNOWN00", testBSecret}, externalID: aws.String(testExternalID), wantCode: "InvalidClientTokenId", wantStatus: 403},
		{name: "body tampered after signing", caller: b, externalID: aws.String(testExternalID), wrap: tamperExternalID, wantCode: "SignatureDoesNotMatch", wantStatus: 403},
		{name: "server clock 20 minutes ahead", caller: b, externalID: aws.String(testExternalID), skew: 20 * time.Minute, wantCode: "SignatureDoesNotMatch", wantStatus: 403, wantMsg: "expired"},
		// The writer session is bound to the account that assumes it.
		{name: "no session tag", caller: b, externalID: aws.String(testExternalID), noTags: true, wantCode: "AccessDenied", wantStatus: 403},
		{name: "session tag of another account", caller: b, externalID: aws.String(testExternalID), tags: []ststypes.Tag{tag(schema.SourceAccountTag, accountC)}, wantCode: "AccessDenied", wantStatus: 403},
		{name: "session tag of the vault's account", caller: b, externalID: aws.String(testExternalID), tags: []ststypes.Tag{tag(schema.SourceAccountTag, AccountA)}, wantCode: "AccessDenied", wantStatus: 403},
		{name: "a second session tag", caller: b, externalID: aws.String(testExternalID), tags: []ststypes.Tag{tag(schema.SourceAccountTag, AccountB), tag("team", "x")}, wantCode: "AccessDenied", wantStatus: 403},
		{name: "the tag made transitive", caller: b, externalID: aws.String(testExternalID), transitive: []string{schema.SourceAccountTag}, wantCode: "AccessDenied", wantStatus: 403},
		{name: "a tag with a character STS refuses", caller: b, externalID: aws.String(testExternalID), tags: []ststypes.Tag{tag(schema.SourceAccountTag, "2222*")}, wantCode: "InvalidParameterValue", wantStatus: 400},
		{name: "the same key twice, in two cases", caller: b, externalID: aws.String(testExternalID), tags: []ststypes.Tag{tag(schema.SourceAccountTag, AccountB), tag("Logvault-Source-Account", AccountB)}, wantCode: "InvalidParameterValue", wantStatus: 400},
		{name: "transitive key that is no tag", caller: b, externalID: aws.String(testExternalID), transitive: []string{"other"}, wantCode: "InvalidParameterValue", wantStatus: 400},
		{name: "server clock 20 minutes behind", caller: b, externalID: aws.String(testExternalID), skew: -20 * time.Minute, wantCode: "SignatureDoesNotMatch", wantStatus: 403, wantMsg: "expired"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newSTSFixture(t)
			f.clock.Set(f.base.Add(c.skew))
			roleARN := c.roleARN
			if roleARN == "" {
				roleARN = WriterRoleARN
			}
			session := c.session
			if session == "" {
				session = "logvault-cloudtrail"
			}
			out, err := f.client(c.caller.access, c.caller.secret, "", c.wrap).AssumeRole(context.Background(), &sts.AssumeRoleInput{
				RoleArn:           aws.String(roleARN),
				RoleSessionName:   aws.String(session),
				ExternalId:        c.externalID,
				DurationSeconds:   c.duration,
				Tags:              caseTags(c.tags, c.noTags),
				TransitiveTagKeys: c.transitive,
			})
			if c.wantCode != "" {
				if err == nil {
					t.Fatalf("AssumeRole succeeded (key %s), want %s", aws.ToString(out.Credentials.AccessKeyId), c.wantCode)
				}
				code, status := apiError(t, err)
				if code != c.wantCode {
					t.Fatalf("error code %q (%v), want %q", code, err, c.wantCode)
				}
				if status != c.wantStatus {
					t.Errorf("HTTP status %d, want %d", status, c.wantStatus)
				}
				if c.wantMsg != "" && !strings.Contains(err.Error(), c.wantMsg) {
					t.Errorf("error %q does not mention %q", err, c.wantMsg)
				}
				return
			}
			if err != nil {
				t.Fatalf("AssumeRole: %v", err)
			}
			cr := out.Credentials
			if cr == nil {
				t.Fatal("no Credentials in the response")
			}
			if k := aws.ToString(cr.AccessKeyId); !strings.HasPrefix(k, "ASIA") || len(k) != 20 {
				t.Errorf("AccessKeyId %q, want a 20-character ASIA… key", k)
			}
			if aws.ToString(cr.SecretAccessKey) == "" || aws.ToString(cr.SessionToken) == "" {
				t.Errorf("empty secret or session token: %+v", cr)
			}
			wantExp := f.base.Add(c.wantTTL)
			if cr.Expiration == nil || cr.Expiration.Sub(wantExp) > time.Second || wantExp.Sub(*cr.Expiration) > time.Second {
				t.Errorf("Expiration %v, want ≈ %v", cr.Expiration, wantExp)
			}
			u := out.AssumedRoleUser
			if u == nil {
				t.Fatal("no AssumedRoleUser in the response")
			}
			if want := "arn:aws:sts::" + AccountA + ":assumed-role/" + WriterRoleName + "/" + session; aws.ToString(u.Arn) != want {
				t.Errorf("AssumedRoleUser.Arn %q, want %q", aws.ToString(u.Arn), want)
			}
			if id := aws.ToString(u.AssumedRoleId); !strings.HasPrefix(id, "AROA") || !strings.HasSuffix(id, ":"+session) {
				t.Errorf("AssumedRoleId %q, want AROA…:%s", id, session)
			}
		})
	}
}

// TestAssumeRoleMintedCredentials checks that what STS hands out is what the
// S3 server (through iamService.DeriveSigningKey) accepts, and only with the
// session token and before the expiry.
func TestAssumeRoleMintedCredentials(t *testing.T) {
	f := newSTSFixture(t)
	const session = "ship-1"
	out, err := f.client(testBAccess, testBSecret, "", nil).AssumeRole(context.Background(), &sts.AssumeRoleInput{
		Tags:            bTag,
		RoleArn:         aws.String(WriterRoleARN),
		RoleSessionName: aws.String(session),
		ExternalId:      aws.String(testExternalID),
		DurationSeconds: aws.Int32(900),
	})
	if err != nil {
		t.Fatalf("AssumeRole: %v", err)
	}
	access := aws.ToString(out.Credentials.AccessKeyId)
	secret := aws.ToString(out.Credentials.SecretAccessKey)
	token := aws.ToString(out.Credentials.SessionToken)
	exp := aws.ToTime(out.Credentials.Expiration)
	const date = "20260101"

	key, acc, err := f.iam.DeriveSigningKey(access, token, date, Region, "s3")
	if err != nil {
		t.Fatalf("DeriveSigningKey with the session token: %v", err)
	}
	if !bytes.Equal(key, deriveKey(secret, date, Region, "s3")) {
		t.Error("signing key is not the SigV4 key of the returned secret")
	}
	if want := "arn:aws:sts::" + AccountA + ":assumed-role/" + WriterRoleName + "/" + session; acc.Arn != want {
		t.Errorf("account Arn %q, want %q", acc.Arn, want)
	}
	if acc.RoleArn != WriterRoleARN || !acc.IsSession || acc.SessionToken != token || acc.Access != access {
		t.Errorf("account %+v: want RoleArn %s, IsSession, the session token and key", acc, WriterRoleARN)
	}

	for _, c := range []struct{ name, token string }{
		{"without the session token", ""},
		{"with a wrong session token", token[:len(token)-1] + flip(token[len(token)-1])},
		{"with a token of another shape", "x"},
	} {
		if _, _, err := f.iam.DeriveSigningKey(access, c.token, date, Region, "s3"); !errors.Is(err, auth.ErrInvalidSessionToken) {
			t.Errorf("DeriveSigningKey %s: err %v, want auth.ErrInvalidSessionToken", c.name, err)
		}
	}

	// A session's credentials are not Account B's: they cannot assume the
	// writer role again (role chaining from Account A is not trusted).
	_, err = f.client(access, secret, token, nil).AssumeRole(context.Background(), &sts.AssumeRoleInput{
		Tags:            bTag,
		RoleArn:         aws.String(WriterRoleARN),
		RoleSessionName: aws.String("chain"),
		ExternalId:      aws.String(testExternalID),
	})
	if err == nil {
		t.Error("the writer session assumed the writer role again")
	} else if code, _ := apiError(t, err); code != "AccessDenied" {
		t.Errorf("writer session re-assuming: code %q (%v), want AccessDenied", code, err)
	}

	f.clock.Set(exp.Add(-time.Second))
	if _, _, err := f.iam.DeriveSigningKey(access, token, date, Region, "s3"); err != nil {
		t.Errorf("DeriveSigningKey one second before expiry: %v", err)
	}
	f.clock.Set(exp.Add(time.Second))
	if _, _, err := f.iam.DeriveSigningKey(access, token, date, Region, "s3"); !errors.Is(err, auth.ErrInvalidSessionToken) {
		t.Errorf("DeriveSigningKey after expiry: err %v, want auth.ErrInvalidSessionToken", err)
	}
}

// TestAssumeRoleExpiredCallerToken: a session whose credentials expired
// cannot call STS any more.
func TestAssumeRoleExpiredCallerToken(t *testing.T) {
	f := newSTSFixture(t)
	access, secret, token, _ := f.iam.mintSession(testBRoleARN, "fn", time.Minute, nil, nil)
	f.clock.Set(f.base.Add(2 * time.Minute))
	_, err := f.client(access, secret, token, nil).AssumeRole(context.Background(), &sts.AssumeRoleInput{
		Tags:            bTag,
		RoleArn:         aws.String(WriterRoleARN),
		RoleSessionName: aws.String("fn"),
		ExternalId:      aws.String(testExternalID),
	})
	if err == nil {
		t.Fatal("an expired session assumed the writer role")
	}
	if code, _ := apiError(t, err); code != "ExpiredToken" {
		t.Errorf("code %q (%v), want ExpiredToken", code, err)
	}
}

// TestAssumeRoleFromLambdaRoleSession is the production flow: a Lambda in
// Account B runs as a role session (ASIA key + token) and assumes the writer.
func TestAssumeRoleFromLambdaRoleSession(t *testing.T) {
	f := newSTSFixture(t)
	access, secret, token, _ := f.iam.mintSession(testBRoleARN, "logvault-cloudtrail", time.Hour, nil, nil)
	c := f.client(access, secret, token, nil)
	out, err := c.AssumeRole(context.Background(), &sts.AssumeRoleInput{
		Tags:            bTag,
		RoleArn:         aws.String(WriterRoleARN),
		RoleSessionName: aws.String("logvault-cloudtrail"),
		ExternalId:      aws.String(testExternalID),
	})
	if err != nil {
		t.Fatalf("AssumeRole from an Account B role session: %v", err)
	}
	if !strings.HasPrefix(aws.ToString(out.Credentials.AccessKeyId), "ASIA") {
		t.Errorf("AccessKeyId %q", aws.ToString(out.Credentials.AccessKeyId))
	}
	_, err = c.AssumeRole(context.Background(), &sts.AssumeRoleInput{
		Tags:            bTag,
		RoleArn:         aws.String(WriterRoleARN),
		RoleSessionName: aws.String("logvault-cloudtrail"),
		ExternalId:      aws.String("logvault-wrong"),
	})
	if err == nil {
		t.Fatal("an Account B role session assumed the writer with a wrong ExternalId")
	}
	if code, _ := apiError(t, err); code != "AccessDenied" {
		t.Errorf("code %q, want AccessDenied", code)
	}
	// The session token is part of the signature: a session key without it is refused.
	if _, err := f.client(access, secret, "", nil).AssumeRole(context.Background(), &sts.AssumeRoleInput{
		Tags:            bTag,
		RoleArn:         aws.String(WriterRoleARN),
		RoleSessionName: aws.String("logvault-cloudtrail"),
		ExternalId:      aws.String(testExternalID),
	}); err == nil {
		t.Error("a session key without its token was accepted")
	}
}

// TestAssumeRolePrincipalArnOfRoleSession: for a role session AWS sets
// aws:PrincipalArn to the role's ARN (not the session's), so a trust policy
// that pins the calling Lambda role by aws:PrincipalArn — a common hardening
// of the template's trust — admits that role's sessions.
func TestAssumeRolePrincipalArnOfRoleSession(t *testing.T) {
	f := newSTSFixture(t)
	trust, err := policy.Parse([]byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow",
		"Principal":{"AWS":"arn:aws:iam::` + AccountB + `:root"},"Action":"sts:AssumeRole",
		"Condition":{"StringEquals":{"sts:ExternalId":"` + testExternalID + `"},
		"ArnLike":{"aws:PrincipalArn":"arn:aws:iam::` + AccountB + `:role/logvault-*"}}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	const pinned = "arn:aws:iam::" + AccountA + ":role/pinned-writer"
	f.sts.roles[pinned] = &role{arn: pinned, trust: trust, maxSessionDuration: time.Hour, assumable: true}
	access, secret, token, _ := f.iam.mintSession(testBRoleARN, "fn", time.Hour, nil, nil)
	_, err = f.client(access, secret, token, nil).AssumeRole(context.Background(), &sts.AssumeRoleInput{
		RoleArn:         aws.String(pinned),
		RoleSessionName: aws.String("fn"),
		ExternalId:      aws.String(testExternalID),
	})
	if err != nil {
		t.Fatalf("sts.go sets aws:PrincipalArn to the caller's session ARN (%s) instead of its role ARN (%s) for a role session: %v",
			"arn:aws:sts::"+AccountB+":assumed-role/logvault-cloudtrail/fn", testBRoleARN, err)
	}
	// Account B's IAM user is not a logvault-* role: refused.
	_, err = f.client(testBAccess, testBSecret, "", nil).AssumeRole(context.Background(), &sts.AssumeRoleInput{
		Tags:            bTag,
		RoleArn:         aws.String(pinned),
		RoleSessionName: aws.String("fn"),
		ExternalId:      aws.String(testExternalID),
	})
	if err == nil {
		t.Error("a principal outside the pinned role pattern was admitted")
	}
}

// TestAssumeRoleRequestID: STS answers carry a request id the SDK surfaces
// (x-amzn-RequestId), which is what users quote in logs and support cases.
func TestAssumeRoleRequestID(t *testing.T) {
	f := newSTSFixture(t)
	c := f.client(testBAccess, testBSecret, "", nil)
	out, err := c.AssumeRole(context.Background(), &sts.AssumeRoleInput{
		Tags:            bTag,
		RoleArn:         aws.String(WriterRoleARN),
		RoleSessionName: aws.String("rid"),
		ExternalId:      aws.String(testExternalID),
	})
	if err != nil {
		t.Fatalf("AssumeRole: %v", err)
	}
	okID, _ := awsmiddleware.GetRequestIDMetadata(out.ResultMetadata)
	_, err = c.AssumeRole(context.Background(), &sts.AssumeRoleInput{
		Tags:            bTag,
		RoleArn:         aws.String(WriterRoleARN),
		RoleSessionName: aws.String("rid"),
		ExternalId:      aws.String("logvault-wrong"),
	})
	var re *awshttp.ResponseError
	if !errors.As(err, &re) {
		t.Fatalf("error %v is not an awshttp.ResponseError", err)
	}
	if okID == "" || re.ServiceRequestID() == "" {
		t.Fatalf("sts.go ServeHTTP puts the request id only in the XML body, not in the x-amzn-RequestId header the SDK reads: success id %q, error id %q", okID, re.ServiceRequestID())
	}
}

func flip(c byte) string {
	if c == 'A' {
		return "B"
	}
	return "A"
}

// TestSessionTagsAsOnAWS: the tags a session was given are its
// aws:PrincipalTag keys in every S3 decision; a transitive tag is inherited
// by the session it assumes, which may not override it; passing tags needs
// sts:TagSession in the trust policy.
func TestSessionTagsAsOnAWS(t *testing.T) {
	f := newSTSFixture(t)
	out, err := f.client(testBAccess, testBSecret, "", nil).AssumeRole(context.Background(), &sts.AssumeRoleInput{
		RoleArn: aws.String(WriterRoleARN), RoleSessionName: aws.String("fn"), ExternalId: aws.String(testExternalID), Tags: bTag,
	})
	if err != nil {
		t.Fatal(err)
	}
	access := aws.ToString(out.Credentials.AccessKeyId)
	tags, transitive := f.iam.sessionTags(access)
	if tags[schema.SourceAccountTag] != AccountB || len(tags) != 1 || len(transitive) != 0 {
		t.Errorf("session tags %v, transitive %v; want only %s=%s, none transitive", tags, transitive, schema.SourceAccountTag, AccountB)
	}
	authz := f.iam.authz
	authz.tagsOf = func(a string) map[string]string { t, _ := f.iam.sessionTags(a); return t }
	own, err := policy.Parse([]byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:PutObject",
		"Resource":"arn:aws:s3:::vault/cloudtrail/account=${aws:PrincipalTag/logvault-source-account}/*"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	authz.attach(WriterRoleARN, own)
	authz.owners["vault"] = AccountA
	id, err := f.iam.lookup(access, aws.ToString(out.Credentials.SessionToken))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		key  string
		want bool
	}{
		{"cloudtrail/account=" + AccountB + "/b/k", true},
		{"cloudtrail/account=" + accountC + "/b/k", false},
		{"cloudtrail/b/k", false},
	} {
		if ok, why := authz.allowed(id.account, "s3:PutObject", "arn:aws:s3:::vault/"+c.key, nil); ok != c.want {
			t.Errorf("the Account B writer session PutObject %s: allowed %v (%s), want %v", c.key, ok, why, c.want)
		}
	}

	// Chaining: a transitive tag comes along and cannot be overridden.
	chain, err := policy.Parse([]byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + AccountA + `:root"},"Action":["sts:AssumeRole","sts:TagSession"]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	const next = "arn:aws:iam::" + AccountA + ":role/next"
	f.sts.roles[next] = &role{arn: next, trust: chain, maxSessionDuration: time.Hour, assumable: true}
	sa, ss, st, _ := f.iam.mintSession(WriterRoleARN, "chained", time.Hour, map[string]string{"team": "a", "keep": "x"}, map[string]bool{"team": true})
	c := f.client(sa, ss, st, nil)
	out, err = c.AssumeRole(context.Background(), &sts.AssumeRoleInput{RoleArn: aws.String(next), RoleSessionName: aws.String("next")})
	if err != nil {
		t.Fatal(err)
	}
	if tags, transitive := f.iam.sessionTags(aws.ToString(out.Credentials.AccessKeyId)); tags["team"] != "a" || tags["keep"] != "" || !transitive["team"] {
		t.Errorf("chained session tags %v, transitive %v; want team=a inherited and transitive, keep not", tags, transitive)
	}
	_, err = c.AssumeRole(context.Background(), &sts.AssumeRoleInput{RoleArn: aws.String(next), RoleSessionName: aws.String("next"), Tags: []ststypes.Tag{tag("Team", "b")}})
	if code, _ := apiError(t, err); code != "InvalidParameterValue" {
		t.Errorf("overriding an inherited transitive tag: %v, want InvalidParameterValue", err)
	}
}
