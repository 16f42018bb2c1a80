package verify

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/logvault/logvault/internal/s3mem"
	"github.com/logvault/logvault/internal/schema"
)

const bucket = "vault"

// meta is the logvault metadata the writer records for body.
func meta(kind schema.Kind, body []byte) map[string]string {
	s := sha256.Sum256(body)
	return map[string]string{
		schema.MetaSHA256: hex.EncodeToString(s[:]), schema.MetaKind: string(kind), schema.MetaSource: "s3://src/k",
		schema.MetaShippedAt: "2026-11-26T12:00:00Z", schema.MetaShipper: "logvault-test/dev", "trail": "org",
	}
}

func big(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7) ^ seed
	}
	return b
}

const (
	ctKey   = "cloudtrail/trail/AWSLogs/1/CloudTrail/us-east-1/2026/11/26/a b.json.gz"
	ctKey2  = "cloudtrail/trail/AWSLogs/1/CloudTrail/us-east-1/2026/11/26/c.json.gz"
	digKey  = "cloudtrail/trail/AWSLogs/1/CloudTrail-Digest/us-east-1/2026/11/26/d.json.gz"
	billKey = "billing/cur/r/data/BILLING_PERIOD=2026-11/p.csv.gz"
	appKey  = "applogs/222222222222/aws/lambda/x/2026/11/26/s/1.ndjson.gz"
)

// clean fills a vault (of owner, when set) as the functions would: logs
// written once, a billing report re-delivered twice, a digest.
func clean(t *testing.T, owner string) *s3mem.Server {
	t.Helper()
	b := s3mem.New()
	b.CreateBucket(bucket, s3mem.BucketConfig{Versioned: true, Owner: owner, PageSize: 2}) // exercise pagination
	for _, k := range []string{ctKey, ctKey2} {
		body := []byte(`{"Records":["` + k + `"]}`)
		put(b, k, body, meta(schema.KindCloudTrail, body))
	}
	dig := []byte(`{"digest":1}`)
	put(b, digKey, dig, meta(schema.KindCloudTrailDigest, dig))
	for i := 0; i < 3; i++ {
		body := []byte(fmt.Sprintf("billing,%d\n", i))
		put(b, billKey, body, meta(schema.KindBilling, body))
	}
	app := []byte("gzip ndjson")
	put(b, appKey, app, meta(schema.KindAppLogs, app))
	return b
}

// put writes a version as the writer does: a single PUT with a SHA-256 checksum.
func put(b *s3mem.Server, key string, body []byte, m map[string]string) s3mem.Version {
	return b.Store(bucket, key, s3mem.Object{Body: body, Metadata: m, ContentType: "application/json"})
}

// tamper edits the i-th (oldest first) stored version of key.
func tamper(b *s3mem.Server, key string, i int, edit func(v *s3mem.Version)) {
	b.Tamper(bucket, key, b.Versions(bucket, key)[i].VersionID, edit)
}

type finding struct {
	code     Code
	key      string
	expected bool
}

func findings(r Report) []finding {
	var out []finding
	for _, p := range r.Problems {
		out = append(out, finding{p.Code, p.Key, p.Expected})
	}
	return out
}

func TestRun(t *testing.T) {
	tests := []struct {
		name   string
		tamper func(t *testing.T, b *s3mem.Server)
		want   []finding // in report order (by key)
	}{
		{"clean vault; billing re-delivered is expected", func(*testing.T, *s3mem.Server) {},
			[]finding{{Overwritten, billKey, true}}},
		{"cloudtrail overwritten with other bytes", func(t *testing.T, b *s3mem.Server) {
			body := []byte(`{"Records":[]}`)
			put(b, ctKey, body, meta(schema.KindCloudTrail, body))
		}, []finding{{Overwritten, billKey, true}, {Overwritten, ctKey, false}}},
		{"applogs overwritten", func(t *testing.T, b *s3mem.Server) {
			put(b, appKey, []byte("x"), meta(schema.KindAppLogs, []byte("x")))
		}, []finding{{Overwritten, appKey, false}, {Overwritten, billKey, true}}},
		{"digest overwritten", func(t *testing.T, b *s3mem.Server) {
			put(b, digKey, []byte("x"), meta(schema.KindCloudTrailDigest, []byte("x")))
		}, []finding{{Overwritten, billKey, true}, {Overwritten, digKey, false}}},
		{"overwrite disguised as billing", func(t *testing.T, b *s3mem.Server) {
			put(b, ctKey, []byte("x"), meta(schema.KindBilling, []byte("x")))
		}, []finding{{Overwritten, billKey, true}, {KindMismatch, ctKey, false}, {Overwritten, ctKey, false}}},
		{"bytes differ from logvault-sha256", func(t *testing.T, b *s3mem.Server) {
			m := meta(schema.KindCloudTrail, []byte("other"))
			tamper(b, ctKey2, 0, func(v *s3mem.Version) { v.Metadata[schema.MetaSHA256] = m[schema.MetaSHA256] })
		}, []finding{{Overwritten, billKey, true}, {SHA256Mismatch, ctKey2, false}}},
		{"bytes differ from S3's checksum", func(t *testing.T, b *s3mem.Server) {
			tamper(b, ctKey2, 0, func(v *s3mem.Version) {
				v.Body = []byte("rotted")
				v.Metadata = meta(schema.KindCloudTrail, v.Body)
			})
		}, []finding{{Overwritten, billKey, true}, {ChecksumMismatch, ctKey2, false}}},
		{"no checksum", func(t *testing.T, b *s3mem.Server) {
			tamper(b, ctKey2, 0, func(v *s3mem.Version) { v.ChecksumSHA256 = "" })
		}, []finding{{Overwritten, billKey, true}, {NoChecksum, ctKey2, false}}},
		{"missing metadata", func(t *testing.T, b *s3mem.Server) {
			tamper(b, ctKey2, 0, func(v *s3mem.Version) {
				delete(v.Metadata, schema.MetaShipper)
				delete(v.Metadata, schema.MetaSource)
			})
		}, []finding{{Overwritten, billKey, true}, {MissingMetadata, ctKey2, false}, {MissingMetadata, ctKey2, false}}},
		{"no metadata at all, unknown key", func(t *testing.T, b *s3mem.Server) {
			put(b, "stray", []byte("x"), nil)
		}, []finding{{Overwritten, billKey, true},
			{MissingMetadata, "stray", false}, {MissingMetadata, "stray", false}, {MissingMetadata, "stray", false}, {MissingMetadata, "stray", false}, {MissingMetadata, "stray", false}}},
		{"delete marker", func(t *testing.T, b *s3mem.Server) {
			b.Delete(bucket, ctKey)
		}, []finding{{Overwritten, billKey, true}, {DeleteMarker, ctKey, false}}},
		{"restored cloudtrail stays suspicious", func(t *testing.T, b *s3mem.Server) {
			orig := b.Versions(bucket, ctKey)[0]
			put(b, ctKey, []byte("evil"), meta(schema.KindCloudTrail, []byte("evil")))
			m := meta(schema.KindCloudTrail, orig.Body)
			m[schema.MetaRestoredFrom] = orig.VersionID
			put(b, ctKey, orig.Body, m)
		}, []finding{{Overwritten, billKey, true}, {Overwritten, ctKey, false}}},
		{"drill canaries may be overwritten", func(t *testing.T, b *s3mem.Server) {
			for _, s := range []string{"a", "b"} {
				put(b, "logvault-drill/canary", []byte(s), meta(schema.KindDrill, []byte(s)))
			}
		}, []finding{{Overwritten, billKey, true}, {Overwritten, "logvault-drill/canary", true}}},
		{"unknown key overwritten", func(t *testing.T, b *s3mem.Server) {
			for _, s := range []string{"a", "b"} {
				put(b, "elsewhere/x", []byte(s), meta(schema.KindCloudTrail, []byte(s)))
			}
		}, []finding{{Overwritten, billKey, true}, {Overwritten, "elsewhere/x", false}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := clean(t, "")
			tt.tamper(t, b)
			rep, err := Run(context.Background(), b, bucket, "", Options{Workers: 3})
			if err != nil {
				t.Fatal(err)
			}
			if got := findings(rep); !slices.Equal(got, tt.want) {
				t.Errorf("findings:\n got %v\nwant %v\n%v", got, tt.want, rep.Problems)
			}
			wantFail := slices.ContainsFunc(tt.want, func(f finding) bool { return !f.expected })
			if rep.Failed() != wantFail || len(rep.Failures()) != rep.Summary.Problems {
				t.Errorf("Failed() = %v with %d failures, want %v", rep.Failed(), rep.Summary.Problems, wantFail)
			}
			var text bytes.Buffer
			if err := rep.WriteText(&text, false); err != nil {
				t.Fatal(err)
			}
			for _, p := range rep.Failures() {
				line := lineWith(text.String(), p.Key, string(p.Code))
				if !strings.HasPrefix(line, "FAIL") || (p.VersionID != "" && !strings.Contains(line, p.VersionID)) {
					t.Errorf("no FAIL line names %s %s (version %q):\n%s", p.Code, p.Key, p.VersionID, text.String())
				}
			}
			last := strings.TrimSpace(text.String())
			last = last[strings.LastIndex(last, "\n")+1:]
			if want := fmt.Sprintf("verify: %d versions, %d keys, %d problem", rep.Summary.Versions, rep.Summary.Keys, rep.Summary.Problems); !strings.HasPrefix(last, want) {
				t.Errorf("last line %q, want it to start %q", last, want)
			}
			if _, err := json.Marshal(rep); err != nil {
				t.Error(err)
			}
		})
	}
}

func lineWith(text string, parts ...string) string {
	for _, l := range strings.Split(text, "\n") {
		ok := true
		for _, p := range parts {
			ok = ok && strings.Contains(l, p)
		}
		if ok {
			return l
		}
	}
	return ""
}

func TestRunCountsAndVersions(t *testing.T) {
	b := clean(t, "")
	b.Delete(bucket, ctKey2)
	rep, err := Run(context.Background(), b, bucket, "cloudtrail/", Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := rep.Summary
	if s.Versions != 3 || s.DeleteMarkers != 1 || s.Keys != 3 || s.Problems != 1 || s.Expected != 0 || s.OK {
		t.Errorf("summary %+v", s)
	}
	// By key ("CloudTrail-Digest" sorts before "CloudTrail/"), newest first.
	if len(rep.Versions) != 4 || rep.Versions[0].Key != digKey || rep.Versions[1].Key != ctKey ||
		rep.Versions[2].Key != ctKey2 || !rep.Versions[2].DeleteMarker || !rep.Versions[2].IsLatest || rep.Versions[3].IsLatest {
		t.Errorf("versions not by key, newest first: %+v", rep.Versions)
	}
	for _, v := range rep.Versions {
		if !v.DeleteMarker && (v.SHA256 == "" || v.SHA256 != v.MetaSHA256 || v.Checksum == "") {
			t.Errorf("version %+v: digests not recorded", v)
		}
	}
	if rep.Versions[0].Kind != string(schema.KindCloudTrailDigest) {
		t.Errorf("digest kind %q", rep.Versions[0].Kind)
	}
	if !strings.Contains(rep.SummaryLine(), "1 delete marker") {
		t.Errorf("summary line %q", rep.SummaryLine())
	}
}

// TestRunPrefixes: with Options.Prefixes (a writer session's parts), every
// version under each prefix is verified and nothing outside them.
func TestRunPrefixes(t *testing.T) {
	for _, c := range []struct {
		name     string
		prefixes []string
		keys     int
	}{
		{"two kinds", []string{"billing/", "applogs/"}, 2},
		{"one kind and a prefix nothing is under", []string{"cloudtrail/trail/", "config/"}, 3},
		{"nothing under either", []string{"waf/", "elb/"}, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			rep, err := Run(context.Background(), clean(t, ""), bucket, "", Options{Prefixes: c.prefixes})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Summary.Keys != c.keys || !slices.Equal(rep.Prefixes, c.prefixes) {
				t.Errorf("keys %d (want %d), prefixes %q", rep.Summary.Keys, c.keys, rep.Prefixes)
			}
			for _, v := range rep.Versions {
				if !slices.ContainsFunc(c.prefixes, func(p string) bool { return strings.HasPrefix(v.Key, p) }) {
					t.Errorf("verified %s, outside %q", v.Key, c.prefixes)
				}
			}
			if want := fmt.Sprintf("under %d prefixes (%s … %s)", len(c.prefixes), c.prefixes[0], c.prefixes[1]); !strings.Contains(rep.SummaryLine(), want) {
				t.Errorf("summary line %q does not say %q", rep.SummaryLine(), want)
			}
		})
	}
}

// TestRunMultipart checks composite checksums: logvault's own part layout,
// and other layouts, learned from S3 part by part.
func TestRunMultipart(t *testing.T) {
	const mib = 1 << 20
	body := big(9*mib+123, 1)
	size := int64(len(body))
	tests := []struct {
		name   string
		sizes  []int64
		tamper bool
		want   []Code
		gets   int // GetObject calls: a body is read twice only when the layout was guessed wrong
	}{
		{"logvault layout (8 MiB parts)", []int64{8 * mib, size - 8*mib}, false, nil, 1},
		{"5 MiB parts: same count, other layout", []int64{5 * mib, size - 5*mib}, false, nil, 2},
		{"3 MiB parts", []int64{3 * mib, 3 * mib, 3 * mib, size - 9*mib}, false, nil, 2},
		{"uneven parts", []int64{4 * mib, 3 * mib, size - 7*mib}, false, nil, 3},
		{"logvault layout, checksum tampered", []int64{8 * mib, size - 8*mib}, true, []Code{ChecksumMismatch}, 1},
		{"uneven parts, checksum tampered", []int64{4 * mib, 3 * mib, size - 7*mib}, true, []Code{ChecksumMismatch}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := s3mem.New()
			b.CreateBucket(bucket, s3mem.BucketConfig{Versioned: true})
			v := b.Store(bucket, billKey, s3mem.Object{Body: body, Metadata: meta(schema.KindBilling, body), PartSizes: tt.sizes})
			if tt.tamper {
				other := bytes.Clone(body)
				other[0] ^= 1
				b.Tamper(bucket, billKey, v.VersionID, func(v *s3mem.Version) { v.ChecksumSHA256 = s3mem.ChecksumOf(other, tt.sizes) })
			}
			var read, listed atomic.Int64
			rep, err := Run(context.Background(), b, bucket, "", Options{Progress: progress{&listed, &read}})
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Versions) != 1 || !slices.Equal(rep.Versions[0].Problems, tt.want) {
				t.Fatalf("problems %v, want %v: %v", rep.Versions[0].Problems, tt.want, rep.Problems)
			}
			gets := 0
			for _, c := range b.Calls() {
				if c == "GetObject" {
					gets++
				}
			}
			if gets != tt.gets {
				t.Errorf("%d GetObject calls, want %d", gets, tt.gets)
			}
			if listed.Load() < size || read.Load() != listed.Load() {
				t.Errorf("progress: listed %d, read %d bytes of %d", listed.Load(), read.Load(), size)
			}
		})
	}
}

type progress struct{ listed, read *atomic.Int64 }

func (p progress) Listed(n int64) { p.listed.Add(n) }
func (p progress) Read(n int64)   { p.read.Add(n) }

// failing makes GetObject of one key fail and can fail the listing.
type failing struct {
	*s3mem.Server
	key     string
	listErr error
}

func (f failing) GetObject(ctx context.Context, in *s3.GetObjectInput, o ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	if aws.ToString(in.Key) == f.key {
		return nil, s3mem.APIError("GetObject", http.StatusForbidden, "AccessDenied", "Access Denied")
	}
	return f.Server.GetObject(ctx, in, o...)
}

func (f failing) ListObjectVersions(ctx context.Context, in *s3.ListObjectVersionsInput, o ...func(*s3.Options)) (*s3.ListObjectVersionsOutput, error) {
	if f.listErr != nil && in.KeyMarker != nil {
		return nil, f.listErr
	}
	return f.Server.ListObjectVersions(ctx, in, o...)
}

func TestRunErrors(t *testing.T) {
	b := clean(t, "")
	rep, err := Run(context.Background(), failing{Server: b, key: ctKey}, bucket, "", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := findings(rep); !slices.Contains(got, finding{Unreadable, ctKey, false}) || !rep.Failed() {
		t.Errorf("an unreadable version is a failure: %v", rep.Problems)
	}

	_, err = Run(context.Background(), failing{Server: b, listErr: errors.New("boom")}, bucket, "", Options{})
	if err == nil || !strings.Contains(err.Error(), "boom") || !strings.Contains(err.Error(), "s3://vault/") {
		t.Errorf("listing error = %v", err)
	}

	b = clean(t, "111111111111")
	if _, err := Run(context.Background(), b, bucket, "", Options{ExpectedOwner: "333333333333"}); err == nil || !strings.Contains(err.Error(), "AccessDenied") {
		t.Errorf("another owner: %v", err)
	}
	if rep, err := Run(context.Background(), b, bucket, "", Options{ExpectedOwner: "111111111111"}); err != nil || rep.Summary.Versions != 7 {
		t.Errorf("the right owner: %v, %+v", err, rep.Summary)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Run(ctx, b, bucket, "", Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

func TestCompositeParts(t *testing.T) {
	for in, want := range map[string]int{"abc=": 0, "abc=-3": 3, "": 0, "abc-x": 0, "abc-0": 0, "a+b/c=-10000": 10000} {
		if got := CompositeParts(in); got != want {
			t.Errorf("CompositeParts(%q) = %d, want %d", in, got, want)
		}
	}
}
