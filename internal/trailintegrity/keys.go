package trailintegrity

import (
	"crypto/md5"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
)

// PublicKey is one CloudTrail public key of a ListPublicKeys answer.
type PublicKey struct {
	// Fingerprint is the fingerprint CloudTrail lists for the key (lower
	// case), or the computed one when the answer lists none.
	Fingerprint string
	// Key is the RSA public key.
	Key *rsa.PublicKey
}

// KeySet holds public keys by lower-case fingerprint.
type KeySet map[string]*PublicKey

// Lookup returns the key with fingerprint fp (any case).
func (ks KeySet) Lookup(fp string) (*PublicKey, bool) {
	k, ok := ks[strings.ToLower(strings.TrimSpace(fp))]
	return k, ok
}

// Fingerprint is the fingerprint CloudTrail gives a public key: the hex MD5
// of its DER encoding as ListPublicKeys returns it (see the package
// documentation for how this was established).
func Fingerprint(der []byte) string {
	s := md5.Sum(der)
	return hex.EncodeToString(s[:])
}

// listPublicKeys is the JSON of ListPublicKeys / `aws cloudtrail
// list-public-keys` (field names match case-insensitively, so the
// documentation's "publicKeyList" is read too).
type listPublicKeys struct {
	PublicKeyList []publicKeyJSON `json:"PublicKeyList"`
}

type publicKeyJSON struct {
	Value       string `json:"Value"`
	Fingerprint string `json:"Fingerprint"`
	// ValidityStartTime and ValidityEndTime are read as whatever they are
	// (epoch seconds or ISO 8601 depending on the client) and not enforced.
	ValidityStartTime json.RawMessage `json:"ValidityStartTime"`
	ValidityEndTime   json.RawMessage `json:"ValidityEndTime"`
}

// ParsePublicKeys reads the JSON of CloudTrail's ListPublicKeys:
// {"PublicKeyList":[{"Value":"<base64 DER>","Fingerprint":"…",…}]} (a bare
// array of such keys is accepted too). Each key is indexed by its listed
// fingerprint and by the MD5 of its value.
func ParsePublicKeys(data []byte) (KeySet, error) {
	var list []publicKeyJSON
	trimmed := strings.TrimSpace(string(data))
	if strings.HasPrefix(trimmed, "[") {
		if err := json.Unmarshal(data, &list); err != nil {
			return nil, fmt.Errorf("not ListPublicKeys JSON: %w", err)
		}
	} else {
		var resp listPublicKeys
		if err := json.Unmarshal(data, &resp); err != nil {
			return nil, fmt.Errorf("not ListPublicKeys JSON: %w", err)
		}
		list = resp.PublicKeyList
	}
	if len(list) == 0 {
		return nil, errors.New("no public keys (expected the JSON of `aws cloudtrail list-public-keys`: {\"PublicKeyList\":[…]})")
	}
	ks := KeySet{}
	for i, pk := range list {
		der, err := base64.StdEncoding.DecodeString(strings.TrimSpace(pk.Value))
		if err != nil {
			return nil, fmt.Errorf("public key %d (fingerprint %q): Value is not base64: %w", i+1, pk.Fingerprint, err)
		}
		key, err := parseRSAPublicKey(der)
		if err != nil {
			return nil, fmt.Errorf("public key %d (fingerprint %q): %w", i+1, pk.Fingerprint, err)
		}
		computed := Fingerprint(der)
		listed := strings.ToLower(strings.TrimSpace(pk.Fingerprint))
		if listed == "" {
			listed = computed
		}
		k := &PublicKey{Fingerprint: listed, Key: key}
		ks[listed] = k
		if _, taken := ks[computed]; !taken {
			ks[computed] = k
		}
	}
	return ks, nil
}

// LoadPublicKeys reads a ListPublicKeys JSON file; errors name the file.
func LoadPublicKeys(path string) (KeySet, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("public keys file: %w", err)
	}
	ks, err := ParsePublicKeys(data)
	if err != nil {
		return nil, fmt.Errorf("public keys file %s: %w", path, err)
	}
	return ks, nil
}

// parseRSAPublicKey reads a DER RSA public key: PKCS #1 RSAPublicKey, as
// ListPublicKeys documents, or X.509 SubjectPublicKeyInfo.
func parseRSAPublicKey(der []byte) (*rsa.PublicKey, error) {
	if k, err := x509.ParsePKCS1PublicKey(der); err == nil {
		return k, nil
	}
	pub, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, errors.New("value is neither a PKCS #1 nor an X.509 DER RSA public key")
	}
	k, ok := pub.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("value is a %T, not an RSA public key", pub)
	}
	return k, nil
}
