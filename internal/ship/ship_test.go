package ship_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"os"
	"path"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/logvault/logvault/internal/s3mem"
	"github.com/logvault/logvault/internal/schema"
	"github.com/logvault/logvault/internal/ship"
	"github.com/logvault/logvault/internal/source"
	"github.com/logvault/logvault/internal/trigger"
	"github.com/logvault/logvault/internal/vault"
)

const (
	srcBucket   = "trail-bucket"
	plainBucket = "unversioned-trail-bucket"
	vaultBucket = "vault"
	limit       = 4 << 10
	logKey      = "AWSLogs/222222222222/CloudTrail/us-east-1/2026/11/26/222222222222_CloudTrail_us-east-1_20261126T1205Z_abc.json.gz"
	digestKey   = "AWSLogs/222222222222/CloudTrail-Digest/us-east-1/2026/11/26/222222222222_CloudTrail-Digest_us-east-1_20261126T1205Z.json.gz"
)

var now = time.Date(2026, 11, 26, 12, 5, 0, 0, time.UTC)

type env struct {
	srv   *s3mem.Server
	spool string
}

func newEnv(t *testing.T) *env {
	srv := s3mem.New()
	srv.CreateBucket(srcBucket, s3mem.BucketConfig{Versioned: true})
	srv.CreateBucket(plainBucket, s3mem.BucketConfig{})
	srv.CreateBucket(vaultBucket, s3mem.BucketConfig{Versioned: true})
	return &env{srv: srv, spool: t.TempDir()}
}

// copier ships from e's source buckets into vaultName, reading sources through get.
func (e *env) copier(get source.Getter, vaultName string, memoryLimit int64) *ship.Copier {
	return e.copierWith(get, vaultName, memoryLimit, ship.Spool)
}

// copierWith is copier with a copy strategy for objects over memoryLimit.
func (e *env) copierWith(get source.Getter, vaultName string, memoryLimit int64, strategy ship.Strategy) *ship.Copier {
	return &ship.Copier{
		Account:     "222222222222",
		Strategy:    strategy,
		Source:      &source.Reader{S3: get},
		Vault:       &vault.Writer{S3: e.srv, Bucket: vaultName, Shipper: "logvault-cloudtrail/test", Now: func() time.Time { return now }},
		Kind:        schema.Classifier(schema.FunctionCloudTrail),
		MemoryLimit: memoryLimit,
		SpoolDir:    e.spool,
	}
}

// upload stores a source object as CloudTrail does and returns the reference
// its notification would carry.
func (e *env) upload(t *testing.T, bucket, key string, body []byte) trigger.ObjectRef {
	t.Helper()
	out, err := e.srv.PutObject(context.Background(), &s3.PutObjectInput{
		Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body),
		ContentType: aws.String("application/json"), ContentEncoding: aws.String("gzip"),
		Metadata: map[string]string{"signature": "3045022100deadbeef", "signing-algorithm": "SHA256withRSA"},
	})
	if err != nil {
		t.Fatalf("upload: %v", err)
	}
	return trigger.ObjectRef{Bucket: bucket, Key: key, VersionID: aws.ToString(out.VersionId),
		ETag: strings.Trim(aws.ToString(out.ETag), `"`), Size: int64(len(body)), EventName: "ObjectCreated:Put"}
}

func (e *env) assertSpoolEmpty(t *testing.T) {
	t.Helper()
	if left, _ := os.ReadDir(e.spool); len(left) != 0 {
		t.Errorf("spool directory still holds %d file(s), first %s", len(left), left[0].Name())
	}
}

func randomBytes(n int) []byte {
	r := rand.New(rand.NewPCG(uint64(n), 7))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.UintN(256))
	}
	return b
}

func hexSum(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

// TestShipMemoryAndSpool ships the same source object through the in-memory
// path and through the spool path into two vaults: the results must be the
// same, byte for byte and field for field.
func TestShipMemoryAndSpool(t *testing.T) {
	cases := []struct {
		key  string
		size int
	}{
		{logKey, 0}, {logKey, 1000}, {logKey, limit}, {logKey, limit + 1}, {logKey, 10*limit + 17},
		{digestKey, 3 * limit}, {"AWSLogs/odd key+with spaces%2B.json.gz", 2 * limit}, // an unrecognised layout: kind s3
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("%s/%d", path.Base(tc.key), tc.size), func(t *testing.T) {
			e := newEnv(t)
			body := randomBytes(tc.size)
			ref := e.upload(t, srcBucket, tc.key, body)
			wantKind := schema.Classify(schema.FunctionCloudTrail, tc.key)
			wantKey, err := schema.CopiedKey(wantKind, "222222222222", srcBucket, tc.key)
			if err != nil {
				t.Fatal(err)
			}

			type result struct {
				rec     vault.Receipt
				version s3mem.Version
			}
			var results []result
			for _, p := range []struct {
				vault    string
				limit    int64
				spooling bool
				strategy ship.Strategy
			}{{"vault", 1 << 20, false, ship.Spool}, {"vault-spool", limit, tc.size > limit, ship.Spool}, {"vault-reread", limit, false, ship.Reread}} {
				e.srv.CreateBucket(p.vault, s3mem.BucketConfig{Versioned: true})
				spooled := -1
				e.srv.BeforeNextPut(func(*s3.PutObjectInput) {
					files, _ := os.ReadDir(e.spool)
					spooled = len(files)
				})
				rec, err := e.copierWith(e.srv, p.vault, p.limit, p.strategy).Ship(context.Background(), ref)
				if err != nil {
					t.Fatalf("Ship (limit %d): %v", p.limit, err)
				}
				if want := map[bool]int{false: 0, true: 1}[p.spooling]; spooled != want {
					t.Errorf("limit %d, %d bytes: %d spool file(s) while writing, want %d", p.limit, tc.size, spooled, want)
				}
				e.assertSpoolEmpty(t)
				vs := e.srv.Versions(p.vault, wantKey)
				if len(vs) != 1 {
					t.Fatalf("vault %s holds %d versions of %s, want 1", p.vault, len(vs), wantKey)
				}
				results = append(results, result{rec, vs[0]})
			}

			got := results[0]
			if got.rec.Outcome != vault.Created || got.rec.Key != wantKey || got.rec.Kind != wantKind ||
				got.rec.SHA256 != hexSum(body) || got.rec.Bytes != int64(tc.size) || got.rec.VersionID != got.version.VersionID {
				t.Errorf("receipt %+v: want created %s kind %s sha256 %s, %d bytes, version %s", got.rec, wantKey, wantKind, hexSum(body), tc.size, got.version.VersionID)
			}
			v := got.version
			if !bytes.Equal(v.Body, body) {
				t.Errorf("vault holds %d bytes that differ from the source's %d", len(v.Body), len(body))
			}
			sum := sha256.Sum256(body)
			if v.ChecksumSHA256 != base64.StdEncoding.EncodeToString(sum[:]) {
				t.Errorf("S3 checksum %q, want the SHA-256 of the source", v.ChecksumSHA256)
			}
			wantMeta := map[string]string{
				schema.MetaSHA256: hexSum(body), schema.MetaKind: string(wantKind), schema.MetaSource: "s3://" + srcBucket + "/" + tc.key,
				schema.MetaSourceVersionID: ref.VersionID, schema.MetaSourceETag: ref.ETag, schema.MetaShippedAt: "2026-11-26T12:05:00Z",
				schema.MetaShipper: "logvault-cloudtrail/test", "signature": "3045022100deadbeef", "signing-algorithm": "SHA256withRSA",
			}
			if len(v.Metadata) != len(wantMeta) {
				t.Errorf("metadata %v, want %v", v.Metadata, wantMeta)
			}
			for k, w := range wantMeta {
				if v.Metadata[k] != w {
					t.Errorf("metadata %s = %q, want %q", k, v.Metadata[k], w)
				}
			}
			if v.ContentType != "application/json" || v.ContentEncoding != "gzip" {
				t.Errorf("content type %q encoding %q, want the source's application/json gzip", v.ContentType, v.ContentEncoding)
			}

			spool := results[1]
			spool.rec.VersionID, spool.version.VersionID = got.rec.VersionID, got.version.VersionID
			spool.version.LastModified = got.version.LastModified
			if spool.rec != got.rec || !bytes.Equal(spool.version.Body, v.Body) || spool.version.ChecksumSHA256 != v.ChecksumSHA256 ||
				!maps.Equal(spool.version.Metadata, v.Metadata) || spool.version.ContentType != v.ContentType || spool.version.ContentEncoding != v.ContentEncoding {
				t.Errorf("spool path differs from memory path:\n spool  %+v %v\n memory %+v %v", spool.rec, spool.version.Metadata, got.rec, v.Metadata)
			}

			// The notification delivered again: nothing new in the vault.
			again, err := e.copier(e.srv, "vault", limit).Ship(context.Background(), ref)
			if err != nil || again.Outcome != vault.Duplicate || again.VersionID != got.rec.VersionID {
				t.Errorf("redelivery: %+v, %v; want duplicate of %s", again, err, got.rec.VersionID)
			}
			if n := len(e.srv.Versions("vault", wantKey)); n != 1 {
				t.Errorf("redelivery left %d versions, want 1", n)
			}
			e.assertSpoolEmpty(t)
		})
	}
}

// cutGetter serves source objects whose body ends early: after keep bytes,
// with err (io.EOF = a body shorter than the announced Content-Length).
type cutGetter struct {
	source.Getter
	keep int64
	err  error
}

func (g cutGetter) GetObject(ctx context.Context, in *s3.GetObjectInput, o ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	out, err := g.Getter.GetObject(ctx, in, o...)
	if err != nil {
		return nil, err
	}
	out.Body = io.NopCloser(io.MultiReader(io.LimitReader(out.Body, g.keep), errReader{g.err}))
	return out, nil
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

func TestShipIncompleteSourceWritesNothing(t *testing.T) {
	for _, tc := range []struct {
		name string
		size int
		keep int64
		err  error
	}{
		{"short body in memory", 1000, 900, io.EOF},
		{"short body spooled", 5 * limit, 4*limit + 100, io.EOF},
		{"connection reset in memory", 1000, 500, errors.New("read: connection reset by peer")},
		{"connection reset spooled", 5 * limit, 3 * limit, errors.New("read: connection reset by peer")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			ref := e.upload(t, srcBucket, logKey, randomBytes(tc.size))
			rec, err := e.copier(cutGetter{e.srv, tc.keep, tc.err}, vaultBucket, limit).Ship(context.Background(), ref)
			if err == nil {
				t.Fatalf("Ship of a truncated source succeeded: %+v", rec)
			}
			if n := len(e.srv.Versions(vaultBucket, "cloudtrail/account=222222222222/"+srcBucket+"/"+logKey)); n != 0 {
				t.Errorf("vault holds %d versions after a failed read, want none", n)
			}
			e.assertSpoolEmpty(t)
		})
	}
}

func TestShipPinsTheNotifiedVersion(t *testing.T) {
	ctx := context.Background()
	first, second := []byte("the bytes CloudTrail wrote first"), []byte("bytes written over them afterwards")
	vaultKey := func(bucket string) string { return "cloudtrail/account=222222222222/" + bucket + "/" + logKey }

	t.Run("versioned source", func(t *testing.T) {
		e := newEnv(t)
		ref := e.upload(t, srcBucket, logKey, first)
		e.upload(t, srcBucket, logKey, second)
		rec, err := e.copier(e.srv, vaultBucket, limit).Ship(ctx, ref)
		if err != nil {
			t.Fatal(err)
		}
		vs := e.srv.Versions(vaultBucket, vaultKey(srcBucket))
		if len(vs) != 1 || !bytes.Equal(vs[0].Body, first) || rec.SHA256 != hexSum(first) {
			t.Fatalf("vault holds %d versions, first %q; want the notified bytes %q", len(vs), vs[0].Body, first)
		}
		if got := vs[0].Metadata[schema.MetaSourceVersionID]; got != ref.VersionID {
			t.Errorf("logvault-source-version-id %q, want the notified %q", got, ref.VersionID)
		}
	})
	t.Run("unversioned source pinned by ETag", func(t *testing.T) {
		e := newEnv(t)
		ref := e.upload(t, plainBucket, logKey, first)
		e.upload(t, plainBucket, logKey, second)
		_, err := e.copier(e.srv, vaultBucket, limit).Ship(ctx, ref)
		if !errors.Is(err, source.ErrNotFound) {
			t.Fatalf("Ship after the source changed: %v, want an error wrapping source.ErrNotFound", err)
		}
		if n := len(e.srv.Versions(vaultBucket, vaultKey(plainBucket))); n != 0 {
			t.Errorf("vault holds %d versions, want none (the announced bytes are gone)", n)
		}
	})
	t.Run("unversioned source unchanged", func(t *testing.T) {
		e := newEnv(t)
		ref := e.upload(t, plainBucket, logKey, first)
		if _, err := e.copier(e.srv, vaultBucket, limit).Ship(ctx, ref); err != nil {
			t.Fatal(err)
		}
		vs := e.srv.Versions(vaultBucket, vaultKey(plainBucket))
		if len(vs) != 1 || !bytes.Equal(vs[0].Body, first) {
			t.Fatalf("vault holds %d versions, want one with the source bytes", len(vs))
		}
		if v, ok := vs[0].Metadata[schema.MetaSourceVersionID]; ok {
			t.Errorf("logvault-source-version-id = %q for an unversioned source, want it absent", v)
		}
	})
}

func TestShipMissingSource(t *testing.T) {
	e := newEnv(t)
	ref := e.upload(t, srcBucket, logKey, []byte("x"))
	for name, r := range map[string]trigger.ObjectRef{
		"missing key":     {Bucket: srcBucket, Key: "AWSLogs/gone.json.gz", Size: 10},
		"missing version": {Bucket: srcBucket, Key: logKey, VersionID: "no-such-version", Size: 1},
		"missing bucket":  {Bucket: "no-such-bucket", Key: logKey, Size: 1},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := e.copier(e.srv, vaultBucket, limit).Ship(context.Background(), r)
			if !errors.Is(err, source.ErrNotFound) {
				t.Errorf("Ship: %v, want an error wrapping source.ErrNotFound", err)
			}
		})
	}
	if n := len(e.srv.Versions(vaultBucket, "cloudtrail/account=222222222222/"+srcBucket+"/"+ref.Key)); n != 0 {
		t.Errorf("vault holds %d versions, want none", n)
	}
}

// A large object is hashed from ranged reads, several at once, in order:
// the sums are those of the whole object, whatever the range boundaries.
func TestHashReadInRanges(t *testing.T) {
	e := newEnv(t)
	body := randomBytes(3*(8<<20) + 12345)
	ref := e.upload(t, srcBucket, logKey, body)
	rec, err := e.copierWith(e.srv, vaultBucket, limit, ship.Reread).Ship(context.Background(), ref)
	if err != nil {
		t.Fatal(err)
	}
	vs := e.srv.Versions(vaultBucket, "cloudtrail/account=222222222222/"+srcBucket+"/"+logKey)
	if rec.SHA256 != hexSum(body) || len(vs) != 1 || !bytes.Equal(vs[0].Body, body) {
		t.Fatalf("receipt sha256 %s (want %s), %d versions", rec.SHA256, hexSum(body), len(vs))
	}
	ranged := 0
	for _, c := range e.srv.Calls() {
		if c == "GetObject" {
			ranged++
		}
	}
	if ranged < 5 { // the first open, four ranges, the re-read
		t.Errorf("%d GetObject calls, want the object read in ranges", ranged)
	}
}
