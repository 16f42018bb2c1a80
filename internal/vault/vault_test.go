package vault_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/logvault/logvault/internal/s3mem"
	"github.com/logvault/logvault/internal/schema"
	"github.com/logvault/logvault/internal/vault"
)

const (
	vaultBucket = "vault"
	key         = "cloudtrail/trail-bucket/AWSLogs/222222222222/CloudTrail/us-east-1/2026/11/26/x.json.gz"
	accountA    = "111111111111"
)

var now = time.Date(2026, 11, 26, 12, 5, 0, 0, time.UTC)

// recorder is the twin with every request the writer sent kept for inspection.
type recorder struct {
	*s3mem.Server
	mu    sync.Mutex
	heads []s3.HeadObjectInput
	puts  []s3.PutObjectInput
}

func (r *recorder) HeadObject(ctx context.Context, in *s3.HeadObjectInput, o ...func(*s3.Options)) (*s3.HeadObjectOutput, error) {
	r.mu.Lock()
	r.heads = append(r.heads, *in)
	r.mu.Unlock()
	return r.Server.HeadObject(ctx, in, o...)
}

func (r *recorder) PutObject(ctx context.Context, in *s3.PutObjectInput, o ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	r.mu.Lock()
	r.puts = append(r.puts, *in)
	r.mu.Unlock()
	return r.Server.PutObject(ctx, in, o...)
}

func hexSum(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }
func b64Sum(b []byte) string { s := sha256.Sum256(b); return base64.StdEncoding.EncodeToString(s[:]) }

// seed writes body as a version of key the way an earlier logvault write of
// the object (or another writer mimicking one) left it.
func seed(t *testing.T, s *s3mem.Server, owner string, body []byte) {
	t.Helper()
	o := object(body, nil)
	_, err := s.PutObject(context.Background(), &s3.PutObjectInput{
		Bucket: aws.String(vaultBucket), Key: aws.String(key), Body: bytes.NewReader(body),
		ExpectedBucketOwner: nilIfEmpty(owner), ContentType: aws.String(o.ContentType), ContentEncoding: aws.String(o.ContentEncoding),
		Metadata:          map[string]string{schema.MetaSHA256: hexSum(body), schema.MetaKind: string(o.Kind), schema.MetaSource: o.Source},
		ChecksumAlgorithm: types.ChecksumAlgorithmSha256,
	})
	if err != nil {
		t.Errorf("seed: %v", err)
	}
}

func object(body []byte, meta map[string]string) vault.Object {
	return vault.Object{
		Key: key, Kind: schema.KindCloudTrail, Source: "s3://trail-bucket/AWSLogs/x.json.gz",
		SourceVersionID: "srcVersion1", SourceETag: "0123abcd", ContentType: "application/json", ContentEncoding: "gzip",
		UserMetadata: meta, SHA256: sha256.Sum256(body), Size: int64(len(body)),
	}
}

func TestPut(t *testing.T) {
	bodyA := []byte(`{"Records":[{"eventName":"ConsoleLogin"}]}`)
	bodyB := []byte(`{"Records":[{"eventName":"DeleteTrail"}]}`)
	racer := func(i int) []byte { return []byte(fmt.Sprintf("racer %d", i)) }

	tests := []struct {
		name        string
		unversioned bool
		bucket      s3mem.BucketConfig     // Versioned is implied unless unversioned
		writer      vault.Writer           // configuration beyond S3, Bucket, Shipper and Now
		prior       [][]byte               // versions of the key before the write
		tamper      func(v *s3mem.Version) // edits the current prior version (an attacker's doing)
		races       [][]byte               // another writer stores each of these just before one of our PutObject calls
		fail        map[string]int         // injected HTTP status for the first call of an operation
		meta        map[string]string
		body        []byte // what the object's SHA-256 is computed over
		sent        []byte // the bytes actually sent, when they differ from body
		wantOutcome vault.Outcome
		wantErr     error  // errors.Is target; nil with wantStatus 0 = success
		wantStatus  int    // HTTP status the error must carry
		wantErrText string // substring of the error
		wantNote    string // substring of the receipt's Mismatch ("" = none expected)
		check       func(t *testing.T, r *recorder)
	}{
		{name: "new key is created", body: bodyA, wantOutcome: vault.Created},
		{name: "same bytes again is a duplicate", prior: [][]byte{bodyA}, body: bodyA, wantOutcome: vault.Duplicate},
		{name: "new bytes overwrite as a new version", prior: [][]byte{bodyA}, body: bodyB, wantOutcome: vault.Overwrote},
		{name: "empty object", body: []byte{}, wantOutcome: vault.Created},
		{
			name: "unversioned vault fails loudly", unversioned: true, body: bodyA,
			wantErr: vault.ErrNotVersioned,
		},
		{
			name: "body differs from its SHA-256: S3 rejects it", prior: [][]byte{bodyA}, body: bodyB,
			sent: append([]byte("X"), bodyB[1:]...), wantStatus: 400, wantErrText: "BadDigest",
		},
		{name: "racing writer on a new key", races: [][]byte{racer(0)}, body: bodyA, wantOutcome: vault.Overwrote},
		{name: "racing writer on an existing key", prior: [][]byte{bodyA}, races: [][]byte{racer(0)}, body: bodyB, wantOutcome: vault.Overwrote},
		{name: "racing writer stores the same bytes", races: [][]byte{bodyA}, body: bodyA, wantOutcome: vault.Duplicate},
		{
			// Whoever holds the writer's credentials could race every write.
			name: "a writer racing every conditional attempt: the last one is unconditional", prior: [][]byte{bodyA},
			// The first PUT is the optimistic one (If-None-Match: *): its 412 says the key exists, no race.
			races: [][]byte{racer(0), racer(1), racer(2), racer(3), racer(4)}, body: bodyB, wantOutcome: vault.Overwrote,
			check: func(t *testing.T, r *recorder) {
				last := r.puts[len(r.puts)-1]
				if len(r.puts) != 6 || last.IfMatch != nil || last.IfNoneMatch != nil || aws.ToString(r.puts[0].IfNoneMatch) != "*" {
					t.Errorf("%d PutObject calls, the first If-None-Match %v, the last with If-Match %v If-None-Match %v; want 6, the first optimistic, the last unconditional",
						len(r.puts), r.puts[0].IfNoneMatch, last.IfMatch, last.IfNoneMatch)
				}
			},
		},
		{name: "a new key is written without a HEAD", body: bodyA, wantOutcome: vault.Created,
			check: func(t *testing.T, r *recorder) {
				if len(r.puts) != 1 || aws.ToString(r.puts[0].IfNoneMatch) != "*" || len(r.heads) != 0 {
					t.Errorf("%d PutObject calls (first If-None-Match %v), %d HeadObject calls; want one optimistic PUT and no HEAD", len(r.puts), r.puts[0].IfNoneMatch, len(r.heads))
				}
			}},
		{name: "an existing key's optimistic 412 leads to a HEAD, and its duplicate is found", prior: [][]byte{bodyA}, body: bodyA, wantOutcome: vault.Duplicate},
		{name: "Head failing is an error, not a blind write", prior: [][]byte{bodyB}, fail: map[string]int{"HeadObject": 500}, body: bodyA, wantStatus: 500},
		{
			// The attack of docs/threat-model.md: other bytes planted with the
			// genuine version's metadata. S3's checksum tells them apart.
			name: "genuine metadata copied onto other bytes is overwritten", prior: [][]byte{bodyB}, body: bodyA, wantOutcome: vault.Overwrote,
			tamper:   func(v *s3mem.Version) { v.Metadata[schema.MetaSHA256] = hexSum(bodyA) },
			wantNote: "S3's stored SHA-256 checksum (" + b64Sum(bodyB) + ") does not match its logvault-sha256 " + hexSum(bodyA),
		},
		{
			name: "the same bytes under another source's record are written again", prior: [][]byte{bodyA}, body: bodyA, wantOutcome: vault.Overwrote,
			tamper: func(v *s3mem.Version) { v.Metadata[schema.MetaSource] = "s3://elsewhere/x" }, wantNote: `holds these bytes under another record (kind "cloudtrail", source "s3://elsewhere/x"`,
		},
		{
			name: "the same bytes with another Content-Encoding are written again", prior: [][]byte{bodyA}, body: bodyA, wantOutcome: vault.Overwrote,
			tamper: func(v *s3mem.Version) { v.ContentEncoding = "identity" }, wantNote: "holds these bytes under another record",
		},
		{
			name: "a current version S3 holds no checksum for is written again", prior: [][]byte{bodyA}, body: bodyA, wantOutcome: vault.Overwrote,
			tamper: func(v *s3mem.Version) { v.ChecksumSHA256 = "" }, wantNote: "checksum (none) does not match",
		},
		{
			name: "a current version in DEEP_ARCHIVE is written again", prior: [][]byte{bodyA}, body: bodyA, wantOutcome: vault.Overwrote,
			tamper: func(v *s3mem.Version) { v.StorageClass = types.StorageClassDeepArchive }, wantNote: "storage class DEEP_ARCHIVE",
		},
		{
			// SSE-C: S3 answers a HEAD without the customer key with a bare 400.
			name: "a current version HEAD cannot read is written again, not retried", prior: [][]byte{bodyA}, body: bodyA,
			fail: map[string]int{"HeadObject": 400}, wantOutcome: vault.Overwrote, wantNote: "cannot be read (HEAD answered 400",
		},
		{
			// The optimistic PUT is told the key exists, the HEAD cannot read it, the listing shows nothing.
			name: "an unreadable current version behind which the listing shows nothing is an error", body: bodyA,
			fail: map[string]int{"PutObject": 412, "HeadObject": 400}, wantErrText: "the version listing does not show its current version",
		},
		{name: "Put failing is an error", fail: map[string]int{"PutObject": 503}, body: bodyA, wantStatus: 503},
		{
			name: "source metadata cannot forge logvault keys", prior: [][]byte{bodyA}, body: bodyB, wantOutcome: vault.Overwrote,
			meta: map[string]string{
				"signature": "kept", schema.MetaSHA256: "forged", schema.MetaKind: "billing", schema.MetaSupersedes: "forged",
				schema.MetaSource: "s3://evil/x", schema.MetaShipper: "evil", schema.MetaRestoredFrom: "forged", "logvault-extra": "forged",
			},
		},
		{
			name: "source metadata cannot forge logvault keys in another case", body: bodyA, wantOutcome: vault.Created,
			meta: map[string]string{"Logvault-Sha256": "forged", "LOGVAULT-SUPERSEDES": "forged"},
			check: func(t *testing.T, r *recorder) {
				for _, in := range r.puts {
					for k, v := range in.Metadata {
						if strings.HasPrefix(strings.ToLower(k), schema.Prefix) && k != strings.ToLower(k) {
							vs := r.Versions(vaultBucket, key)
							t.Fatalf("vault.go putInput (the schema.Prefix loop) drops source metadata starting %q case-sensitively: %q=%q is sent; "+
								"S3 metadata names are case-insensitive (the SDK canonicalises them and one value wins at random), "+
								"so the new version of a new key carries logvault-supersedes=%q", schema.Prefix, k, v,
								vs[len(vs)-1].Metadata[schema.MetaSupersedes])
						}
					}
				}
			},
		},
		{
			name: "owner is sent on every call; no lock, SSE, ACL or storage class ever", bucket: s3mem.BucketConfig{ObjectLock: true, Owner: accountA},
			writer: vault.Writer{ExpectedOwner: accountA}, prior: [][]byte{bodyA}, body: bodyB, wantOutcome: vault.Overwrote,
			check: func(t *testing.T, r *recorder) {
				for _, in := range r.heads {
					if aws.ToString(in.ExpectedBucketOwner) != accountA {
						t.Errorf("HeadObject ExpectedBucketOwner = %q, want %s", aws.ToString(in.ExpectedBucketOwner), accountA)
					}
					if in.ChecksumMode != types.ChecksumModeEnabled {
						t.Errorf("HeadObject ChecksumMode = %q, want ENABLED (a duplicate is judged on S3's checksum)", in.ChecksumMode)
					}
				}
				for _, in := range r.puts {
					if aws.ToString(in.ExpectedBucketOwner) != accountA {
						t.Errorf("PutObject ExpectedBucketOwner = %q, want %s", aws.ToString(in.ExpectedBucketOwner), accountA)
					}
					// The vault's policy refuses each of these to the writer.
					if in.ObjectLockMode != "" || in.ObjectLockRetainUntilDate != nil || in.ObjectLockLegalHoldStatus != "" ||
						in.ServerSideEncryption != "" || in.SSECustomerAlgorithm != nil || in.SSEKMSKeyId != nil ||
						in.ACL != "" || in.GrantFullControl != nil || in.StorageClass != "" || in.Tagging != nil {
						t.Errorf("PutObject sends lock %q/%v/%q, SSE %q/%v/%v, ACL %q/%v, storage class %q, tagging %v: want none",
							in.ObjectLockMode, in.ObjectLockRetainUntilDate, in.ObjectLockLegalHoldStatus, in.ServerSideEncryption,
							in.SSECustomerAlgorithm, in.SSEKMSKeyId, in.ACL, in.GrantFullControl, in.StorageClass, in.Tagging)
					}
				}
			},
		},
		{
			name: "owner is not sent unless configured", prior: [][]byte{bodyA}, body: bodyB, wantOutcome: vault.Overwrote,
			check: func(t *testing.T, r *recorder) {
				for _, in := range r.heads {
					if in.ExpectedBucketOwner != nil {
						t.Errorf("HeadObject ExpectedBucketOwner = %q, want none", *in.ExpectedBucketOwner)
					}
				}
				for _, in := range r.puts {
					if in.ExpectedBucketOwner != nil {
						t.Errorf("PutObject owner %v, want none", in.ExpectedBucketOwner)
					}
				}
			},
		},
		{
			name: "a vault of another owner is refused", bucket: s3mem.BucketConfig{Owner: "999999999999"},
			writer: vault.Writer{ExpectedOwner: accountA}, body: bodyA, wantStatus: 403,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			srv := s3mem.New()
			cfg := tc.bucket
			cfg.Versioned = !tc.unversioned
			srv.CreateBucket(vaultBucket, cfg)
			owner := cfg.Owner
			for _, b := range tc.prior {
				seed(t, srv, owner, b)
			}
			if tc.tamper != nil {
				vs := srv.Versions(vaultBucket, key)
				srv.Tamper(vaultBucket, key, vs[len(vs)-1].VersionID, tc.tamper)
			}
			races := tc.races
			var arm func()
			arm = func() {
				srv.BeforeNextPut(func(*s3.PutObjectInput) {
					if len(races) == 0 {
						return
					}
					b := races[0]
					races = races[1:]
					seed(t, srv, owner, b)
					arm()
				})
			}
			arm()
			for op, st := range tc.fail {
				srv.FailNext(op, s3mem.APIError(op, st, "Injected", "injected failure"))
			}
			rec := &recorder{Server: srv}
			w := tc.writer
			w.S3, w.Bucket, w.Shipper, w.Now = rec, vaultBucket, "logvault-cloudtrail/test", func() time.Time { return now }

			before := srv.Versions(vaultBucket, key)
			sent := tc.sent
			if sent == nil {
				sent = tc.body
			}
			got, err := w.Put(ctx, object(tc.body, tc.meta), bytes.NewReader(sent))
			after := srv.Versions(vaultBucket, key)
			if len(races) != 0 {
				t.Errorf("%d of the racing writes never ran", len(races))
			}

			if tc.wantErr != nil || tc.wantStatus != 0 || tc.wantErrText != "" {
				if err == nil {
					t.Fatalf("Put succeeded (%+v), want an error", got)
				}
				if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
					t.Errorf("error %v does not wrap %v", err, tc.wantErr)
				}
				var re interface{ HTTPStatusCode() int }
				if tc.wantStatus != 0 && (!errors.As(err, &re) || re.HTTPStatusCode() != tc.wantStatus) {
					t.Errorf("error %v does not carry HTTP status %d", err, tc.wantStatus)
				}
				if !strings.Contains(err.Error(), tc.wantErrText) {
					t.Errorf("error %q does not mention %q", err, tc.wantErrText)
				}
				if errors.Is(err, vault.ErrNotVersioned) {
					return // the unversioned bucket did store the object: that is why it must fail
				}
				// Only racers may have added versions; ours must not be among them.
				if n := len(after) - len(before) - (len(tc.races) - len(races)); n != 0 {
					t.Errorf("a failed Put left %d new versions of its own", n)
				}
				if len(after) > 0 && bytes.Equal(after[len(after)-1].Body, sent) {
					t.Errorf("the rejected bytes are current")
				}
				return
			}
			if err != nil {
				t.Fatalf("Put: %v", err)
			}
			if tc.check != nil {
				tc.check(t, rec)
			}
			if got.Outcome != tc.wantOutcome {
				t.Errorf("outcome %q, want %q", got.Outcome, tc.wantOutcome)
			}
			if got.Unconditional != (len(tc.races) == 5) {
				t.Errorf("receipt unconditional %v with %d racing writes", got.Unconditional, len(tc.races))
			}
			if tc.wantNote == "" && got.Mismatch != "" || !strings.Contains(got.Mismatch, tc.wantNote) {
				t.Errorf("receipt mismatch %q, want one containing %q", got.Mismatch, tc.wantNote)
			}
			if got.SHA256 != hexSum(tc.body) || got.Bytes != int64(len(tc.body)) || got.Key != key || got.Kind != schema.KindCloudTrail {
				t.Errorf("receipt %+v: want sha256 %s, %d bytes, key %s, kind cloudtrail", got, hexSum(tc.body), len(tc.body), key)
			}
			cur := after[len(after)-1]
			if got.VersionID != cur.VersionID {
				t.Errorf("receipt names version %q, the current version is %q", got.VersionID, cur.VersionID)
			}
			if !bytes.Equal(cur.Body, tc.body) {
				t.Errorf("current version holds %q, want %q", cur.Body, tc.body)
			}
			if got.Outcome == vault.Duplicate {
				if len(after) != len(before)+len(tc.races)-len(races) {
					t.Errorf("duplicate wrote a version: %d versions before (plus racers), %d after", len(before), len(after))
				}
				if got.Supersedes != "" {
					t.Errorf("duplicate names supersedes %q", got.Supersedes)
				}
			} else {
				checkWritten(t, tc.body, tc.meta, after, got)
			}
			h, err := srv.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(vaultBucket), Key: aws.String(key),
				ExpectedBucketOwner: nilIfEmpty(owner), ChecksumMode: types.ChecksumModeEnabled})
			if err != nil {
				t.Fatal(err)
			}
			if aws.ToString(h.ChecksumSHA256) != b64Sum(tc.body) {
				t.Errorf("S3 checksum of the current version %q, want SHA-256 %q", aws.ToString(h.ChecksumSHA256), b64Sum(tc.body))
			}
		})
	}
}

// checkWritten asserts the version Put wrote carries the contract's metadata.
func checkWritten(t *testing.T, body []byte, srcMeta map[string]string, versions []s3mem.Version, got vault.Receipt) {
	t.Helper()
	v := versions[len(versions)-1]
	want := map[string]string{
		schema.MetaSHA256:          hexSum(body),
		schema.MetaKind:            "cloudtrail",
		schema.MetaSource:          "s3://trail-bucket/AWSLogs/x.json.gz",
		schema.MetaSourceVersionID: "srcVersion1",
		schema.MetaSourceETag:      "0123abcd",
		schema.MetaShippedAt:       "2026-11-26T12:05:00Z",
		schema.MetaShipper:         "logvault-cloudtrail/test",
	}
	if len(versions) > 1 {
		want[schema.MetaSupersedes] = versions[len(versions)-2].VersionID
		if got.Outcome != vault.Overwrote {
			t.Errorf("outcome %q over an existing version, want overwrote", got.Outcome)
		}
	} else if got.Outcome != vault.Created {
		t.Errorf("outcome %q on a new key, want created", got.Outcome)
	}
	if got.Supersedes != want[schema.MetaSupersedes] {
		t.Errorf("receipt supersedes %q, want %q", got.Supersedes, want[schema.MetaSupersedes])
	}
	for k, w := range srcMeta {
		if !strings.HasPrefix(strings.ToLower(k), schema.Prefix) {
			want[strings.ToLower(k)] = w
		}
	}
	for k, w := range want {
		if v.Metadata[k] != w {
			t.Errorf("metadata %s = %q, want %q", k, v.Metadata[k], w)
		}
	}
	for k, g := range v.Metadata {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected metadata %s = %q", k, g)
		}
	}
	if v.ChecksumSHA256 != b64Sum(body) {
		t.Errorf("stored S3 checksum %q, want %q", v.ChecksumSHA256, b64Sum(body))
	}
	if v.ContentType != "application/json" || v.ContentEncoding != "gzip" {
		t.Errorf("content type %q encoding %q, want application/json gzip", v.ContentType, v.ContentEncoding)
	}
}

// TestPutRetryAfterNotVersioned replays what Lambda does after the loud
// failure: it delivers the event again. The retry must fail as loudly.
func TestPutRetryAfterNotVersioned(t *testing.T) {
	srv := s3mem.New()
	srv.CreateBucket(vaultBucket, s3mem.BucketConfig{})
	w := &vault.Writer{S3: srv, Bucket: vaultBucket, Shipper: "test", Now: func() time.Time { return now }}
	body := []byte("log file")
	for attempt := 1; attempt <= 2; attempt++ {
		rec, err := w.Put(context.Background(), object(body, nil), bytes.NewReader(body))
		if !errors.Is(err, vault.ErrNotVersioned) {
			if attempt == 2 && err == nil && rec.Outcome == vault.Duplicate {
				t.Fatalf("vault.go Put (the duplicate check on cur.Metadata[schema.MetaSHA256]): on an unversioned vault the first attempt stores the object and fails with ErrNotVersioned, "+
					"but the retry finds it current with the same logvault-sha256 and returns outcome %q, version %q, nil error: "+
					"the event is acknowledged although history is not kept (docs/design.md, write rule 3)", rec.Outcome, rec.VersionID)
			}
			t.Fatalf("attempt %d: got %+v, %v; want an error wrapping ErrNotVersioned", attempt, rec, err)
		}
	}
}

func nilIfEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// TestPutMetadataOverS3Limit: source metadata that S3 accepted on the source
// leaves no room for logvault's record; the write is refused before S3 is
// asked, naming the cause, and nothing is written.
func TestPutMetadataOverS3Limit(t *testing.T) {
	srv := s3mem.New()
	srv.CreateBucket(vaultBucket, s3mem.BucketConfig{Versioned: true})
	rec := &recorder{Server: srv}
	w := &vault.Writer{S3: rec, Bucket: vaultBucket, Shipper: "test", Now: func() time.Time { return now }}
	body := []byte("log file")
	meta := map[string]string{"notes": strings.Repeat("n", 1900), "team": "audit"} // 1,914 bytes: fine on the source
	_, err := w.Put(context.Background(), object(body, meta), bytes.NewReader(body))
	if !errors.Is(err, vault.ErrMetadataTooLarge) || !strings.Contains(err.Error(), "1914 of them the source object's own (2 keys)") {
		t.Fatalf("err = %v, want ErrMetadataTooLarge naming the source's share", err)
	}
	if len(rec.puts) != 0 {
		t.Errorf("%d PutObject calls, want none", len(rec.puts))
	}
	// Just under the limit, it is written.
	meta["notes"] = strings.Repeat("n", 1400)
	if _, err := w.Put(context.Background(), object(body, meta), bytes.NewReader(body)); err != nil {
		t.Fatalf("metadata under the limit: %v", err)
	}
}
