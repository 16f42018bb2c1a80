package local

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"strings"
	"sync"
	"time"

	"github.com/versity/versitygw/auth"
)

// identity is one local principal: a long-term key pair or an STS session.
type identity struct {
	account auth.Account
	secret  string
	token   string    // session token; "" for long-term keys
	expires time.Time // zero for long-term keys
	// tags are a session's tags (aws:PrincipalTag/<key>); transitive are
	// the keys a session it assumes inherits.
	tags       map[string]string
	transitive map[string]bool
}

// iamService is versitygw's view of the local accounts. It gives every
// identity an ARN, so bucket policies name principals exactly as on AWS
// (account root ARNs, role ARNs), and it accepts the temporary credentials
// our STS endpoint mints, session token and expiry included.
type iamService struct {
	mu         sync.Mutex
	identities map[string]*identity // by access key id
	principals map[string]bool      // ARNs and account ids a policy may name
	now        func() time.Time
	authz      *authorizer // decides for versitygw (EvaluatePolicy)
}

func newIAMService(authz *authorizer) *iamService {
	return &iamService{identities: map[string]*identity{}, principals: map[string]bool{}, now: time.Now, authz: authz}
}

// addUser registers a long-term key pair for an IAM user ARN.
func (s *iamService) addUser(access, secret, arn string, role auth.Role) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.identities[access] = &identity{
		account: auth.Account{Access: access, Role: role, Arn: arn},
		secret:  secret,
	}
	acct := accountOf(arn)
	s.principals[arn] = true
	s.principals[acct] = true
	s.principals["arn:aws:iam::"+acct+":root"] = true
}

// addRoleKey registers a long-term key pair that acts as a never-expiring
// session (sessionARN) of a role: the local break-glass role, which on AWS
// is assumed behind MFA, and the source accounts' administrators.
func (s *iamService) addRoleKey(access, secret, sessionARN, roleARN string, role auth.Role) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.identities[access] = &identity{
		account: auth.Account{Access: access, Role: role, Arn: sessionARN, RoleArn: roleARN},
		secret:  secret,
	}
	acct := accountOf(roleARN)
	s.principals[roleARN] = true
	s.principals[acct] = true
	s.principals["arn:aws:iam::"+acct+":root"] = true
}

// accountOfKey is the account an access key belongs to ("" if unknown).
// Account A's root key (not an identity here) is its account id.
func (s *iamService) accountOfKey(access string) string {
	s.mu.Lock()
	id, ok := s.identities[access]
	s.mu.Unlock()
	if ok {
		return accountOf(id.account.Arn)
	}
	if len(access) == 12 && strings.Trim(access, "0123456789") == "" {
		return access
	}
	return ""
}

// allowPrincipal lets policies name an ARN that has no keys of its own (a role).
func (s *iamService) allowPrincipal(arn string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.principals[arn] = true
}

// mintSession creates temporary credentials for a session of roleARN with
// its session tags (tags) and the keys of those that are transitive.
func (s *iamService) mintSession(roleARN, sessionName string, ttl time.Duration, tags map[string]string, transitive map[string]bool) (access, secret, token string, expires time.Time) {
	access = "ASIA" + randomID(16)
	secret = randomSecret(30)
	token = randomSecret(96)
	expires = s.now().Add(ttl).UTC().Truncate(time.Second)
	roleName := roleARN[strings.LastIndex(roleARN, "/")+1:]
	sessionARN := "arn:aws:sts::" + accountOf(roleARN) + ":assumed-role/" + roleName + "/" + sessionName
	s.mu.Lock()
	defer s.mu.Unlock()
	s.identities[access] = &identity{
		account: auth.Account{Access: access, Role: auth.RoleUser, Arn: sessionARN, RoleArn: roleARN},
		secret:  secret, token: token, expires: expires, tags: tags, transitive: transitive,
	}
	return access, secret, token, expires
}

// sessionTags returns the tags and the transitive keys of the identity
// with this access key (none for long-term keys).
func (s *iamService) sessionTags(access string) (map[string]string, map[string]bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id, ok := s.identities[access]; ok {
		return id.tags, id.transitive
	}
	return nil, nil
}

// lookup returns the live identity for an access key and its secret.
func (s *iamService) lookup(access, token string) (*identity, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.identities[access]
	if !ok {
		return nil, auth.ErrNoSuchUser
	}
	if id.token != "" || token != "" {
		if !hmac.Equal([]byte(id.token), []byte(token)) {
			return nil, auth.ErrInvalidSessionToken
		}
		if s.now().After(id.expires) {
			delete(s.identities, access)
			return nil, auth.ErrInvalidSessionToken
		}
	}
	return id, nil
}

// DeriveSigningKey implements auth.SigningKeyProvider.
func (s *iamService) DeriveSigningKey(access, sessionToken, date, region, service string) ([]byte, auth.Account, error) {
	id, err := s.lookup(access, sessionToken)
	if err != nil {
		return nil, auth.Account{}, err
	}
	acc := id.account
	acc.SessionToken, acc.IsSession = sessionToken, sessionToken != ""
	return deriveKey(id.secret, date, region, service), acc, nil
}

// CreateAccount implements auth.IAMService; the local accounts are fixed.
func (s *iamService) CreateAccount(auth.Account) error { return auth.ErrUserExists }

// GetUserAccount implements auth.IAMService.
func (s *iamService) GetUserAccount(access string) (auth.Account, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.identities[access]
	if !ok {
		return auth.Account{}, auth.ErrNoSuchUser
	}
	acc := id.account
	acc.Secret = id.secret
	return acc, nil
}

// ResolveAccounts implements auth.IAMService: it returns the unknown keys.
func (s *iamService) ResolveAccounts(keys []string) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var unknown []string
	for _, k := range keys {
		if _, ok := s.identities[k]; !ok {
			unknown = append(unknown, k)
		}
	}
	return unknown, nil
}

// ResolvePrincipals implements auth.PrincipalResolver: it returns the
// principals a bucket policy names that do not exist locally.
func (s *iamService) ResolvePrincipals(principals []string) ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var unknown []string
	for _, p := range principals {
		if !s.principals[p] {
			unknown = append(unknown, p)
		}
	}
	return unknown, nil
}

// UpdateUserAccount implements auth.IAMService; the local accounts are fixed.
func (s *iamService) UpdateUserAccount(string, auth.MutableProps) error { return auth.ErrNoSuchUser }

// DeleteUserAccount implements auth.IAMService; the local accounts are fixed.
func (s *iamService) DeleteUserAccount(string) error { return auth.ErrNoSuchUser }

// ListUserAccounts implements auth.IAMService.
func (s *iamService) ListUserAccounts() ([]auth.Account, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []auth.Account
	for _, id := range s.identities {
		if id.token == "" {
			out = append(out, id.account)
		}
	}
	return out, nil
}

// Shutdown implements auth.IAMService.
func (s *iamService) Shutdown() error { return nil }

// deriveKey is SigV4's signing-key derivation.
func deriveKey(secret, date, region, service string) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), date)
	k = hmacSHA256(k, region)
	k = hmacSHA256(k, service)
	return hmacSHA256(k, "aws4_request")
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

// accountOf returns the account id field of an ARN.
func accountOf(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 {
		return ""
	}
	return parts[4]
}

func randomID(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	s := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b)
	return s[:n]
}

func randomSecret(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)[:n]
}
