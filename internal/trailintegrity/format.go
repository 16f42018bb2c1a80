package trailintegrity

import (
	"bytes"
	"compress/gzip"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Algorithms CloudTrail uses (and the only ones this package accepts).
const (
	SignatureAlgorithm = "SHA256withRSA"
	HashAlgorithm      = "SHA-256"
)

// User metadata of a digest object (without the x-amz-meta- prefix).
const (
	MetaSignature          = "signature"
	MetaSignatureAlgorithm = "signature-algorithm"
)

// Digest is the content of one CloudTrail digest file, field for field as
// CloudTrail writes it (see the package documentation). Nullable fields are
// pointers so a starting digest marshals its previous* fields as null.
type Digest struct {
	AWSAccountID                string    `json:"awsAccountId"`
	DigestStartTime             string    `json:"digestStartTime"`
	DigestEndTime               string    `json:"digestEndTime"`
	DigestS3Bucket              string    `json:"digestS3Bucket"`
	DigestS3Object              string    `json:"digestS3Object"`
	DigestPublicKeyFingerprint  string    `json:"digestPublicKeyFingerprint"`
	DigestSignatureAlgorithm    string    `json:"digestSignatureAlgorithm"`
	NewestEventTime             *string   `json:"newestEventTime"`
	OldestEventTime             *string   `json:"oldestEventTime"`
	PreviousDigestS3Bucket      *string   `json:"previousDigestS3Bucket"`
	PreviousDigestS3Object      *string   `json:"previousDigestS3Object"`
	PreviousDigestHashValue     *string   `json:"previousDigestHashValue"`
	PreviousDigestHashAlgorithm *string   `json:"previousDigestHashAlgorithm"`
	PreviousDigestSignature     *string   `json:"previousDigestSignature"`
	LogFiles                    []LogFile `json:"logFiles"`
}

// LogFile is one log file a digest certifies.
type LogFile struct {
	S3Bucket        string `json:"s3Bucket"`
	S3Object        string `json:"s3Object"`
	HashValue       string `json:"hashValue"`
	HashAlgorithm   string `json:"hashAlgorithm"`
	NewestEventTime string `json:"newestEventTime"`
	OldestEventTime string `json:"oldestEventTime"`
}

// File is a parsed digest file with the hashes the checks need.
type File struct {
	Digest
	// SHA256 is the hex SHA-256 of the uncompressed content: the hash in the
	// signing string and in the next digest's previousDigestHashValue.
	SHA256 string
	// StoredSHA256 is the hex SHA-256 of the bytes as stored (gzip).
	StoredSHA256 string
}

// Starts reports whether d starts a chain: every previous* field is null.
func (d *Digest) Starts() bool {
	return d.PreviousDigestS3Bucket == nil && d.PreviousDigestS3Object == nil && d.PreviousDigestHashValue == nil &&
		d.PreviousDigestHashAlgorithm == nil && d.PreviousDigestSignature == nil
}

// Parse decodes a stored digest file: gzip-compressed JSON (content that is
// not gzip is read as JSON as it is, in case a transport decompressed it).
func Parse(stored []byte) (*File, error) {
	raw, err := Uncompress(stored)
	if err != nil {
		return nil, err
	}
	var d Digest
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, fmt.Errorf("not a JSON digest file: %w", err)
	}
	var missing []string
	for name, v := range map[string]string{
		"digestStartTime": d.DigestStartTime, "digestEndTime": d.DigestEndTime, "digestS3Bucket": d.DigestS3Bucket,
		"digestS3Object": d.DigestS3Object, "digestPublicKeyFingerprint": d.DigestPublicKeyFingerprint,
	} {
		if v == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return nil, fmt.Errorf("not a CloudTrail digest file: no %s", strings.Join(missing, ", "))
	}
	f := &File{Digest: d, SHA256: hexSHA256(raw), StoredSHA256: hexSHA256(stored)}
	return f, nil
}

// Uncompress returns the gunzipped content of b, or b itself when it does
// not start with the gzip magic number.
func Uncompress(b []byte) ([]byte, error) {
	if !isGzip(b) {
		return b, nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("gunzip: %w", err)
	}
	defer zr.Close()
	raw, err := io.ReadAll(io.LimitReader(zr, maxUncompressed+1))
	if err != nil {
		return nil, fmt.Errorf("gunzip: %w", err)
	}
	if len(raw) > maxUncompressed {
		return nil, fmt.Errorf("gunzip: more than %d MiB uncompressed: not a digest file (one lists an hour of log files, kilobytes)", maxUncompressed>>20)
	}
	return raw, nil
}

// maxUncompressed bounds what Uncompress inflates, so a gzip bomb planted
// in the vault cannot exhaust the verifier's memory.
const maxUncompressed = 64 << 20

func isGzip(b []byte) bool { return len(b) >= 2 && b[0] == 0x1f && b[1] == 0x8b }

// SigningString is the data CloudTrail signs for digest d whose uncompressed
// content hashes (SHA-256, hex) to contentSHA256.
func SigningString(d *Digest, contentSHA256 string) string {
	prev := "null" // aws-cli: "The value must be 'null' to match the Java implementation."
	if d.PreviousDigestSignature != nil {
		prev = *d.PreviousDigestSignature
	}
	return d.DigestEndTime + "\n" + d.DigestS3Bucket + "/" + d.DigestS3Object + "\n" + contentSHA256 + "\n" + prev
}

// ErrBadSignature is returned by VerifySignature for a signature that does
// not verify.
var ErrBadSignature = errors.New("RSA signature does not verify")

// VerifySignature checks the hex-encoded SHA256withRSA (PKCS #1 v1.5)
// signature of signingString with key.
func VerifySignature(key *rsa.PublicKey, signingString, signatureHex string) error {
	sig, err := hex.DecodeString(strings.TrimSpace(signatureHex))
	if err != nil {
		return fmt.Errorf("signature is not hex: %w", err)
	}
	sum := sha256.Sum256([]byte(signingString))
	if err := rsa.VerifyPKCS1v15(key, crypto.SHA256, sum[:], sig); err != nil {
		return ErrBadSignature
	}
	return nil
}

func hexSHA256(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
