// Package digesttest builds CloudTrail log files, digest files and a
// ListPublicKeys answer in CloudTrail's documented format (see package
// digest), signed with a key pair of the test's own, for the unit tests of
// package digest and the end-to-end tests. It is test support only.
package digesttest

import (
	"bytes"
	"compress/gzip"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"strings"
	"time"

	"github.com/logvault/logvault/internal/trailintegrity"
)

// Signer is a CloudTrail-like signing key (RSA 2048, as CloudTrail's).
type Signer struct {
	Key *rsa.PrivateKey
}

// NewSigner generates a signing key.
func NewSigner() (*Signer, error) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("digesttest: generate RSA key: %w", err)
	}
	return &Signer{Key: k}, nil
}

// DER is the public key as ListPublicKeys returns it: PKCS #1 DER.
func (s *Signer) DER() []byte { return x509.MarshalPKCS1PublicKey(&s.Key.PublicKey) }

// Fingerprint is the public key's fingerprint (hex MD5 of DER).
func (s *Signer) Fingerprint() string { return trailintegrity.Fingerprint(s.DER()) }

// PublicKeysJSON is the ListPublicKeys answer for this signer's key, valid
// from from to to (the JSON of `aws cloudtrail list-public-keys`).
func (s *Signer) PublicKeysJSON(from, to time.Time) []byte {
	b, _ := json.MarshalIndent(map[string]any{"PublicKeyList": []map[string]string{{
		"Value":             base64.StdEncoding.EncodeToString(s.DER()),
		"ValidityStartTime": from.UTC().Format(time.RFC3339),
		"ValidityEndTime":   to.UTC().Format(time.RFC3339),
		"Fingerprint":       s.Fingerprint(),
	}}}, "", "  ")
	return b
}

// Object is a file as CloudTrail puts it in its S3 bucket.
type Object struct {
	Bucket, Key string
	// Body is the gzip-compressed content.
	Body []byte
	// Metadata is the user metadata (without x-amz-meta-): for a digest,
	// signature and signature-algorithm.
	Metadata map[string]string
	// ContentType and ContentEncoding are what CloudTrail sets.
	ContentType, ContentEncoding string
}

// Sign writes d as a digest file object at d.DigestS3Bucket/DigestS3Object,
// signed as CloudTrail signs it.
func (s *Signer) Sign(d *trailintegrity.Digest) (Object, error) {
	raw, err := json.Marshal(d)
	if err != nil {
		return Object{}, fmt.Errorf("digesttest: marshal digest: %w", err)
	}
	sum := sha256.Sum256(raw)
	toSign := sha256.Sum256([]byte(trailintegrity.SigningString(d, hex.EncodeToString(sum[:]))))
	sig, err := rsa.SignPKCS1v15(rand.Reader, s.Key, crypto.SHA256, toSign[:])
	if err != nil {
		return Object{}, fmt.Errorf("digesttest: sign digest: %w", err)
	}
	return Object{
		Bucket: d.DigestS3Bucket, Key: d.DigestS3Object, Body: Gzip(raw),
		Metadata:    map[string]string{trailintegrity.MetaSignature: hex.EncodeToString(sig), trailintegrity.MetaSignatureAlgorithm: trailintegrity.SignatureAlgorithm},
		ContentType: "application/json", ContentEncoding: "gzip",
	}, nil
}

// Trail describes the trail whose files Build writes.
type Trail struct {
	// Signer signs the digests.
	Signer *Signer
	// Bucket is the trail's S3 bucket.
	Bucket string
	// Prefix is the trail's S3 key prefix ("" for none).
	Prefix string
	// Account, Region and Name default to 222222222222, us-east-1 and
	// logvault-test.
	Account, Region, Name string
	// Start is the start of the first digest's hour (default
	// 2026-11-26T00:00:00Z); digest i covers [Start+i h, Start+(i+1) h].
	Start time.Time
}

// Chain is a trail's files: Digests[i] lists Logs[i] and chains to
// Digests[i-1]; Digests[0] starts the chain.
type Chain struct {
	Digests []Object
	Logs    [][]Object
}

// AllLogs is every log file of the chain.
func (c *Chain) AllLogs() []Object {
	var all []Object
	for _, ls := range c.Logs {
		all = append(all, ls...)
	}
	return all
}

// Build writes digests digest files of logsPerDigest log files each.
func (t Trail) Build(digests, logsPerDigest int) (*Chain, error) {
	t = t.withDefaults()
	if t.Signer == nil || t.Bucket == "" {
		return nil, fmt.Errorf("digesttest: a trail needs a signer and a bucket")
	}
	c := &Chain{}
	var prev *trailintegrity.Digest
	var prevObj Object
	for i := range digests {
		start := t.Start.Add(time.Duration(i) * time.Hour)
		end := start.Add(time.Hour)
		d := &trailintegrity.Digest{
			AWSAccountID:               t.Account,
			DigestStartTime:            start.Format(time.RFC3339),
			DigestEndTime:              end.Format(time.RFC3339),
			DigestS3Bucket:             t.Bucket,
			DigestS3Object:             t.DigestKey(end),
			DigestPublicKeyFingerprint: t.Signer.Fingerprint(),
			DigestSignatureAlgorithm:   trailintegrity.SignatureAlgorithm,
			LogFiles:                   []trailintegrity.LogFile{},
		}
		var logs []Object
		for j := range logsPerDigest {
			at := start.Add(time.Duration(j+1) * time.Minute)
			raw := t.logContent(at, i, j)
			lo := Object{Bucket: t.Bucket, Key: t.LogKey(at, fmt.Sprintf("%02d%02d", i, j)), Body: Gzip(raw),
				ContentType: "application/json", ContentEncoding: "gzip"}
			sum := sha256.Sum256(raw)
			ts := at.Format(time.RFC3339)
			d.LogFiles = append(d.LogFiles, trailintegrity.LogFile{S3Bucket: lo.Bucket, S3Object: lo.Key, HashValue: hex.EncodeToString(sum[:]),
				HashAlgorithm: trailintegrity.HashAlgorithm, NewestEventTime: ts, OldestEventTime: ts})
			logs = append(logs, lo)
			if d.OldestEventTime == nil {
				d.OldestEventTime = &ts
			}
			d.NewestEventTime = &ts
		}
		if prev != nil {
			raw, err := json.Marshal(prev)
			if err != nil {
				return nil, fmt.Errorf("digesttest: marshal digest: %w", err)
			}
			sum := sha256.Sum256(raw)
			d.PreviousDigestS3Bucket = ptr(prev.DigestS3Bucket)
			d.PreviousDigestS3Object = ptr(prev.DigestS3Object)
			d.PreviousDigestHashValue = ptr(hex.EncodeToString(sum[:]))
			d.PreviousDigestHashAlgorithm = ptr(trailintegrity.HashAlgorithm)
			d.PreviousDigestSignature = ptr(prevObj.Metadata[trailintegrity.MetaSignature])
		}
		obj, err := t.Signer.Sign(d)
		if err != nil {
			return nil, err
		}
		c.Digests = append(c.Digests, obj)
		c.Logs = append(c.Logs, logs)
		prev, prevObj = d, obj
	}
	return c, nil
}

func (t Trail) withDefaults() Trail {
	if t.Account == "" {
		t.Account = "222222222222"
	}
	if t.Region == "" {
		t.Region = "us-east-1"
	}
	if t.Name == "" {
		t.Name = "logvault-test"
	}
	if t.Start.IsZero() {
		t.Start = time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	}
	t.Start = t.Start.UTC().Truncate(time.Second)
	return t
}

func (t Trail) root() string {
	if p := strings.Trim(t.Prefix, "/"); p != "" {
		return p + "/AWSLogs/"
	}
	return "AWSLogs/"
}

// DigestKey is the key CloudTrail gives the digest ending at end:
// [prefix/]AWSLogs/<acct>/CloudTrail-Digest/<region>/<yyyy>/<mm>/<dd>/
// <acct>_CloudTrail-Digest_<region>_<trail>_<region>_<yyyymmddThhmmssZ>.json.gz.
func (t Trail) DigestKey(end time.Time) string {
	t = t.withDefaults()
	end = end.UTC()
	return fmt.Sprintf("%s%s/CloudTrail-Digest/%s/%s/%s_CloudTrail-Digest_%s_%s_%s_%s.json.gz",
		t.root(), t.Account, t.Region, end.Format("2006/01/02"), t.Account, t.Region, t.Name, t.Region, end.Format("20060102T150405Z"))
}

// LogKey is the key CloudTrail gives a log file delivered at at:
// [prefix/]AWSLogs/<acct>/CloudTrail/<region>/<yyyy>/<mm>/<dd>/
// <acct>_CloudTrail_<region>_<yyyymmddThhmmZ>_<unique>.json.gz.
func (t Trail) LogKey(at time.Time, unique string) string {
	t = t.withDefaults()
	at = at.UTC()
	u := strings.ToUpper(hex.EncodeToString([]byte(unique)))
	u = (u + "0000000000000000")[:16]
	return fmt.Sprintf("%s%s/CloudTrail/%s/%s/%s_CloudTrail_%s_%s_%s.json.gz",
		t.root(), t.Account, t.Region, at.Format("2006/01/02"), t.Account, t.Region, at.Format("20060102T1504Z"), u)
}

func (t Trail) logContent(at time.Time, i, j int) []byte {
	b, _ := json.Marshal(map[string]any{"Records": []map[string]any{{
		"eventVersion": "1.09", "eventTime": at.Format(time.RFC3339), "eventSource": "s3.amazonaws.com",
		"eventName": "GetObject", "awsRegion": t.Region, "recipientAccountId": t.Account,
		"eventID": fmt.Sprintf("00000000-0000-4000-8000-%04d%08d", i, j), "eventType": "AwsApiCall",
		"userIdentity": map[string]string{"type": "AssumedRole", "accountId": t.Account},
	}}})
	return b
}

// Rewrite returns obj (a digest) with its content changed by fn and the
// metadata (so the signature) left as it was: an altered digest.
func Rewrite(obj Object, fn func(*trailintegrity.Digest)) (Object, error) {
	f, err := trailintegrity.Parse(obj.Body)
	if err != nil {
		return Object{}, fmt.Errorf("digesttest: %s: %w", obj.Key, err)
	}
	d := f.Digest
	fn(&d)
	raw, err := json.Marshal(&d)
	if err != nil {
		return Object{}, fmt.Errorf("digesttest: marshal digest: %w", err)
	}
	out := obj
	out.Body = Gzip(raw)
	out.Metadata = maps.Clone(obj.Metadata)
	return out, nil
}

// Gzip compresses b (deterministically: no name, no time).
func Gzip(b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

func ptr(s string) *string { return &s }
