package trailintegrity_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/logvault/logvault/internal/s3mem"
	"github.com/logvault/logvault/internal/trailintegrity"
	"github.com/logvault/logvault/internal/trailintegrity/digesttest"
)

const (
	vaultBucket = "vault"
	trailBucket = "trail-bucket"
	owner       = "111111111111"
)

// fakeS3 is a versioned vault bucket serving the three calls the check
// makes, with small list pages so pagination is exercised.
type fakeS3 struct {
	t    *testing.T
	mu   sync.Mutex
	keys map[string][]*fakeVersion // oldest first
	seq  int
}

type fakeVersion struct {
	id      string
	body    []byte
	meta    map[string]string
	deleted bool
}

func newFake(t *testing.T) *fakeS3 { return &fakeS3{t: t, keys: map[string][]*fakeVersion{}} }

func (f *fakeS3) put(key string, body []byte, meta map[string]string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	id := "v" + strconv.Itoa(f.seq)
	f.keys[key] = append(f.keys[key], &fakeVersion{id: id, body: slices.Clone(body), meta: maps.Clone(meta)})
	return id
}

// del puts a delete marker (as an administrator could).
func (f *fakeS3) del(key string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	f.keys[key] = append(f.keys[key], &fakeVersion{id: "dm" + strconv.Itoa(f.seq), deleted: true})
}

// layoutAccount is the source account the fixtures ship from: the account
// segment of the vault keys ("" ships with the earlier layout).
var layoutAccount = "222222222222"

// ship vaults a source object as the cloudtrail function does: at
// cloudtrail/account=<account>/<bucket>/<key>, with the source's user
// metadata kept.
func (f *fakeS3) ship(o digesttest.Object) string {
	meta := maps.Clone(o.Metadata)
	if meta == nil {
		meta = map[string]string{}
	}
	meta["logvault-kind"] = "cloudtrail"
	return f.put(trailintegrity.VaultKey(layoutAccount, o.Bucket, o.Key), o.Body, meta)
}

func (f *fakeS3) shipChain(c *digesttest.Chain) {
	for _, o := range c.AllLogs() {
		f.ship(o)
	}
	for _, o := range c.Digests {
		f.ship(o)
	}
}

func (f *fakeS3) checkCall(bucket, expectedOwner *string) {
	if aws.ToString(bucket) != vaultBucket || aws.ToString(expectedOwner) != owner {
		f.t.Errorf("call on bucket %q with ExpectedBucketOwner %q, want %q and %q", aws.ToString(bucket), aws.ToString(expectedOwner), vaultBucket, owner)
	}
}

func (f *fakeS3) ListObjectsV2(_ context.Context, in *s3.ListObjectsV2Input, _ ...func(*s3.Options)) (*s3.ListObjectsV2Output, error) {
	f.checkCall(in.Bucket, in.ExpectedBucketOwner)
	f.mu.Lock()
	defer f.mu.Unlock()
	var keys []string
	for k, vs := range f.keys {
		if strings.HasPrefix(k, aws.ToString(in.Prefix)) && !vs[len(vs)-1].deleted {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	start, _ := strconv.Atoi(aws.ToString(in.ContinuationToken))
	const page = 3
	end := min(start+page, len(keys))
	out := &s3.ListObjectsV2Output{KeyCount: aws.Int32(int32(end - start))}
	for _, k := range keys[start:end] {
		out.Contents = append(out.Contents, types.Object{Key: aws.String(k)})
	}
	if end < len(keys) {
		out.IsTruncated, out.NextContinuationToken = aws.Bool(true), aws.String(strconv.Itoa(end))
	}
	return out, nil
}

func (f *fakeS3) ListObjectVersions(_ context.Context, in *s3.ListObjectVersionsInput, _ ...func(*s3.Options)) (*s3.ListObjectVersionsOutput, error) {
	f.checkCall(in.Bucket, in.ExpectedBucketOwner)
	f.mu.Lock()
	defer f.mu.Unlock()
	out := &s3.ListObjectVersionsOutput{}
	for k, vs := range f.keys {
		if !strings.HasPrefix(k, aws.ToString(in.Prefix)) {
			continue
		}
		for i := len(vs) - 1; i >= 0; i-- {
			v := vs[i]
			if v.deleted {
				out.DeleteMarkers = append(out.DeleteMarkers, types.DeleteMarkerEntry{Key: aws.String(k), VersionId: aws.String(v.id), IsLatest: aws.Bool(i == len(vs)-1)})
				continue
			}
			out.Versions = append(out.Versions, types.ObjectVersion{Key: aws.String(k), VersionId: aws.String(v.id), IsLatest: aws.Bool(i == len(vs)-1)})
		}
	}
	return out, nil
}

func (f *fakeS3) GetObject(_ context.Context, in *s3.GetObjectInput, _ ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	f.checkCall(in.Bucket, in.ExpectedBucketOwner)
	f.mu.Lock()
	defer f.mu.Unlock()
	notFound := s3mem.APIError("GetObject", 404, "NoSuchKey", "The specified key does not exist.")
	vs := f.keys[aws.ToString(in.Key)]
	if len(vs) == 0 {
		return nil, notFound
	}
	v := vs[len(vs)-1]
	if id := aws.ToString(in.VersionId); id != "" {
		i := slices.IndexFunc(vs, func(v *fakeVersion) bool { return v.id == id })
		if i < 0 {
			return nil, s3mem.APIError("GetObject", 404, "NoSuchVersion", "no such version")
		}
		v = vs[i]
	}
	if v.deleted {
		return nil, notFound
	}
	return &s3.GetObjectOutput{Body: io.NopCloser(bytes.NewReader(v.body)), Metadata: maps.Clone(v.meta), VersionId: aws.String(v.id)}, nil
}

// fixture is a chain of digests × logs vaulted in a fake, checkable.
type fixture struct {
	t      *testing.T
	s3     *fakeS3
	signer *digesttest.Signer
	trail  digesttest.Trail
	chain  *digesttest.Chain
	keys   trailintegrity.KeySet
}

var (
	signerOnce sync.Once
	signers    [2]*digesttest.Signer
)

// testSigners are generated once: RSA 2048 key generation is slow.
func testSigners(t *testing.T) [2]*digesttest.Signer {
	t.Helper()
	signerOnce.Do(func() {
		for i := range signers {
			s, err := digesttest.NewSigner()
			if err != nil {
				t.Fatal(err)
			}
			signers[i] = s
		}
	})
	if signers[0] == nil || signers[1] == nil {
		t.Fatal("no test signers")
	}
	return signers
}

func newFixture(t *testing.T, digests, logs int) *fixture {
	t.Helper()
	s := testSigners(t)[0]
	trail := digesttest.Trail{Signer: s, Bucket: trailBucket, Prefix: "org"}
	chain, err := trail.Build(digests, logs)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := trailintegrity.ParsePublicKeys(s.PublicKeysJSON(time.Now().Add(-time.Hour), time.Now().Add(time.Hour)))
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, s3: newFake(t), signer: s, trail: trail, chain: chain, keys: keys}
	f.s3.shipChain(chain)
	return f
}

func (f *fixture) check(prefix string) *trailintegrity.Report {
	f.t.Helper()
	c := &trailintegrity.Checker{S3: f.s3, Bucket: vaultBucket, ExpectedOwner: owner, Keys: f.keys, Concurrency: 3}
	rep, err := c.Check(context.Background(), prefix)
	if err != nil {
		f.t.Fatalf("check: %v", err)
	}
	return rep
}

func vk(o digesttest.Object) string { return trailintegrity.VaultKey(layoutAccount, o.Bucket, o.Key) }

// problems maps the vault key of every problem to its result.
func problems(rep *trailintegrity.Report) map[string]trailintegrity.Result {
	m := map[string]trailintegrity.Result{}
	for _, r := range rep.Results {
		if r.Status.Problem() {
			m[r.Key] = r
		}
	}
	return m
}

// wantProblems checks the report names exactly these files with these statuses.
func wantProblems(t *testing.T, rep *trailintegrity.Report, want map[string]trailintegrity.Status) {
	t.Helper()
	got := problems(rep)
	for k, st := range want {
		if got[k].Status != st {
			t.Errorf("%s: status %q (%s), want %q", k, got[k].Status, got[k].Detail, st)
		}
	}
	for k, r := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected problem %s: %s (%s)", k, r.Status, r.Detail)
		}
	}
	if rep.Problems != len(want) || rep.Failed != (len(want) > 0) {
		t.Errorf("problems = %d, failed = %v; want %d", rep.Problems, rep.Failed, len(want))
	}
	if !strings.HasSuffix(rep.Summary, fmt.Sprintf(", %d problems", len(want))) {
		t.Errorf("summary %q", rep.Summary)
	}
}

func TestValidChain(t *testing.T) {
	f := newFixture(t, 3, 2)
	rep := f.check("")
	wantProblems(t, rep, nil)
	if rep.Digests != 3 || rep.Logs != 6 || rep.Unlisted != 0 {
		t.Errorf("digests %d, logs %d, unlisted %d; want 3, 6, 0", rep.Digests, rep.Logs, rep.Unlisted)
	}
	if rep.Summary != "cloudtrail-digests: 3 digests, 6 logs, 0 problems" {
		t.Errorf("summary %q", rep.Summary)
	}
	if len(rep.Results) != 9 {
		t.Fatalf("%d results, want 9: %+v", len(rep.Results), rep.Results)
	}
	// Each digest is followed by its logs; the first starts the chain.
	if r := rep.Results[0]; r.Key != vk(f.chain.Digests[0]) || r.Kind != trailintegrity.KindDigest || !strings.Contains(r.Detail, "starts a chain") {
		t.Errorf("first row %+v, want the starting digest", r)
	}
	if r := rep.Results[1]; r.Kind != trailintegrity.KindLog || r.ListedBy != vk(f.chain.Digests[0]) {
		t.Errorf("second row %+v, want a log of the first digest", r)
	}
	if r := rep.Results[3]; r.Key != vk(f.chain.Digests[1]) || r.Detail != "2 log files" {
		t.Errorf("fourth row %+v, want the second digest", r)
	}
}

// TestEarlierLayout: a vault written before keys carried the source
// account (cloudtrail/<bucket>/<key>) is checked as before, and a
// tampered log in it is still found.
func TestEarlierLayout(t *testing.T) {
	layoutAccount = ""
	t.Cleanup(func() { layoutAccount = "222222222222" })
	f := newFixture(t, 3, 2)
	rep := f.check("")
	wantProblems(t, rep, nil)
	if rep.Digests != 3 || rep.Logs != 6 || !strings.HasPrefix(rep.Results[0].Key, "cloudtrail/"+f.chain.Digests[0].Bucket+"/") {
		t.Errorf("digests %d, logs %d, first key %q; want 3, 6, the earlier layout", rep.Digests, rep.Logs, rep.Results[0].Key)
	}
	f.s3.put(vk(f.chain.Logs[1][0]), []byte("tampered"), map[string]string{"logvault-kind": "cloudtrail"})
	if got := problems(f.check("")); got[vk(f.chain.Logs[1][0])].Status != trailintegrity.Altered {
		t.Errorf("a tampered log in the earlier layout: %+v, want Altered", got)
	}
}

func TestAlteredLog(t *testing.T) {
	f := newFixture(t, 3, 2)
	lg := f.chain.Logs[1][0]
	f.s3.put(vk(lg), digesttest.Gzip([]byte(`{"Records":[]}`)), nil)
	rep := f.check("")
	wantProblems(t, rep, map[string]trailintegrity.Status{vk(lg): trailintegrity.Altered})
	r := problems(rep)[vk(lg)]
	if !strings.Contains(r.Detail, "SHA-256 of the current version") || !strings.Contains(r.Detail, "logvault restore "+vk(lg)+" --version-id ") {
		t.Errorf("detail %q should give the hash and the restore command", r.Detail)
	}
}

func TestAlteredLogNotGzip(t *testing.T) {
	f := newFixture(t, 2, 1)
	lg := f.chain.Logs[0][0]
	f.s3.put(vk(lg), []byte{0x1f, 0x8b, 0, 1, 2}, nil)
	wantProblems(t, f.check(""), map[string]trailintegrity.Status{vk(lg): trailintegrity.Altered})
}

func TestMissingLog(t *testing.T) {
	f := newFixture(t, 3, 2)
	lg := f.chain.Logs[2][1]
	f.s3.del(vk(lg))
	rep := f.check("")
	wantProblems(t, rep, map[string]trailintegrity.Status{vk(lg): trailintegrity.Missing})
	if r := problems(rep)[vk(lg)]; !strings.Contains(r.Detail, "listed by "+vk(f.chain.Digests[2])) || !strings.Contains(r.Detail, "logvault restore") {
		t.Errorf("detail %q should name the digest and the version to restore", r.Detail)
	}
}

func TestNeverShippedLog(t *testing.T) {
	f := newFixture(t, 2, 2)
	lg := f.chain.Logs[0][1]
	delete(f.s3.keys, vk(lg))
	wantProblems(t, f.check(""), map[string]trailintegrity.Status{vk(lg): trailintegrity.Missing})
}

func TestAlteredDigestContent(t *testing.T) {
	f := newFixture(t, 3, 2)
	d1 := f.chain.Digests[1]
	altered, err := digesttest.Rewrite(d1, func(d *trailintegrity.Digest) { d.NewestEventTime = aws.String("2026-11-26T01:59:59Z") })
	if err != nil {
		t.Fatal(err)
	}
	f.s3.ship(altered)
	rep := f.check("")
	wantProblems(t, rep, map[string]trailintegrity.Status{vk(d1): trailintegrity.BadSignature, vk(f.chain.Digests[2]): trailintegrity.ChainBroken})
	p := problems(rep)
	if d := p[vk(f.chain.Digests[2])].Detail; !strings.Contains(d, "previousDigestHashValue") || !strings.Contains(d, vk(d1)) {
		t.Errorf("chain detail %q should name the hash and the previous digest", d)
	}
	// The logs of the altered digest are still checked, and flagged as
	// vouched for by an unverified digest.
	for _, r := range rep.Results {
		if r.ListedBy == vk(d1) && !strings.Contains(r.Detail, "failed verification") {
			t.Errorf("log %s of the altered digest: detail %q", r.Key, r.Detail)
		}
	}
}

func TestDroppedLogFromDigest(t *testing.T) {
	// An attacker removes a log from a digest to hide it: the signature fails.
	f := newFixture(t, 2, 2)
	d0 := f.chain.Digests[0]
	altered, err := digesttest.Rewrite(d0, func(d *trailintegrity.Digest) { d.LogFiles = d.LogFiles[:1] })
	if err != nil {
		t.Fatal(err)
	}
	f.s3.ship(altered)
	rep := f.check("")
	wantProblems(t, rep, map[string]trailintegrity.Status{vk(d0): trailintegrity.BadSignature, vk(f.chain.Digests[1]): trailintegrity.ChainBroken})
	if rep.Unlisted != 1 {
		t.Errorf("unlisted = %d, want the hidden log", rep.Unlisted)
	}
}

func TestAlteredSignature(t *testing.T) {
	f := newFixture(t, 3, 2)
	d1 := f.chain.Digests[1]
	meta := maps.Clone(d1.Metadata)
	sig := []byte(meta[trailintegrity.MetaSignature])
	sig[10] = map[bool]byte{true: '1', false: '0'}[sig[10] == '0']
	meta[trailintegrity.MetaSignature] = string(sig)
	d1.Metadata = meta
	f.s3.ship(d1)
	rep := f.check("")
	wantProblems(t, rep, map[string]trailintegrity.Status{vk(d1): trailintegrity.BadSignature, vk(f.chain.Digests[2]): trailintegrity.ChainBroken})
	if d := problems(rep)[vk(f.chain.Digests[2])].Detail; !strings.Contains(d, "previousDigestSignature") {
		t.Errorf("chain detail %q should name the signature", d)
	}
}

func TestUnsignedDigest(t *testing.T) {
	f := newFixture(t, 3, 1)
	d1 := f.chain.Digests[1]
	d1.Metadata = map[string]string{}
	f.s3.ship(d1)
	rep := f.check("")
	wantProblems(t, rep, map[string]trailintegrity.Status{vk(d1): trailintegrity.Unsigned})
}

func TestUnknownFingerprint(t *testing.T) {
	f := newFixture(t, 2, 1)
	other := testSigners(t)[1]
	keys, err := trailintegrity.ParsePublicKeys(other.PublicKeysJSON(time.Now(), time.Now()))
	if err != nil {
		t.Fatal(err)
	}
	f.keys = keys
	rep := f.check("")
	wantProblems(t, rep, map[string]trailintegrity.Status{vk(f.chain.Digests[0]): trailintegrity.BadSignature, vk(f.chain.Digests[1]): trailintegrity.BadSignature})
	if d := problems(rep)[vk(f.chain.Digests[0])].Detail; d != "no public key for fingerprint "+f.signer.Fingerprint() {
		t.Errorf("detail %q", d)
	}
}

func TestSignedByAnotherKeyWithTheListedFingerprint(t *testing.T) {
	// A forger signs with his own key but keeps the real fingerprint.
	f := newFixture(t, 1, 1)
	forger := digesttest.Trail{Signer: testSigners(t)[1], Bucket: trailBucket, Prefix: "org"}
	chain, err := forger.Build(1, 1)
	if err != nil {
		t.Fatal(err)
	}
	d := chain.Digests[0]
	d, err = digesttest.Rewrite(d, func(d *trailintegrity.Digest) { d.DigestPublicKeyFingerprint = f.signer.Fingerprint() })
	if err != nil {
		t.Fatal(err)
	}
	f.s3.ship(d)
	f.s3.ship(chain.Logs[0][0])
	wantProblems(t, f.check(""), map[string]trailintegrity.Status{vk(d): trailintegrity.BadSignature})
}

func TestMissingPreviousDigest(t *testing.T) {
	f := newFixture(t, 3, 1)
	d1 := f.chain.Digests[1]
	f.s3.del(vk(d1))
	rep := f.check("")
	// The logs d1 listed are now listed by no digest: reported, not failed.
	wantProblems(t, rep, map[string]trailintegrity.Status{vk(d1): trailintegrity.Missing})
	r := problems(rep)[vk(d1)]
	if r.Kind != trailintegrity.KindDigest || r.ListedBy != vk(f.chain.Digests[2]) {
		t.Errorf("missing digest row %+v", r)
	}
	if rep.Unlisted != 1 || rep.Digests != 2 {
		t.Errorf("unlisted %d, digests %d; want 1, 2", rep.Unlisted, rep.Digests)
	}
}

func TestMovedDigest(t *testing.T) {
	f := newFixture(t, 1, 1)
	d := f.chain.Digests[0]
	moved := d
	moved.Key = strings.Replace(d.Key, "T010000Z", "T020000Z", 1)
	f.s3.ship(moved)
	rep := f.check("")
	wantProblems(t, rep, map[string]trailintegrity.Status{vk(moved): trailintegrity.Altered})
	if !strings.Contains(problems(rep)[vk(moved)].Detail, "moved") {
		t.Errorf("detail %q", problems(rep)[vk(moved)].Detail)
	}
}

func TestUnreadableDigest(t *testing.T) {
	f := newFixture(t, 2, 1)
	d0 := f.chain.Digests[0]
	d0.Body = []byte("not gzip, not json")
	f.s3.ship(d0)
	rep := f.check("")
	wantProblems(t, rep, map[string]trailintegrity.Status{vk(d0): trailintegrity.Altered, vk(f.chain.Digests[1]): trailintegrity.ChainBroken})
}

func TestEmptyPeriodAndStartingDigest(t *testing.T) {
	f := newFixture(t, 2, 0)
	raw, err := trailintegrity.Uncompress(f.chain.Digests[0].Body)
	if err != nil {
		t.Fatal(err)
	}
	for _, field := range []string{`"previousDigestS3Bucket":null`, `"previousDigestSignature":null`, `"logFiles":[]`} {
		if !strings.Contains(string(raw), field) {
			t.Errorf("starting empty digest lacks %s: %s", field, raw)
		}
	}
	rep := f.check("")
	wantProblems(t, rep, nil)
	if rep.Results[1].Detail != "no log files in the period" {
		t.Errorf("detail %q", rep.Results[1].Detail)
	}
}

func TestUnlistedLogIsReportedNotFailed(t *testing.T) {
	f := newFixture(t, 1, 1)
	extra := digesttest.Object{Bucket: trailBucket, Key: f.trail.LogKey(time.Date(2026, 11, 26, 3, 0, 0, 0, time.UTC), "forged"), Body: digesttest.Gzip([]byte(`{"Records":[]}`))}
	f.s3.ship(extra)
	rep := f.check("")
	wantProblems(t, rep, nil)
	last := rep.Results[len(rep.Results)-1]
	if rep.Unlisted != 1 || last.Key != vk(extra) || last.Status != trailintegrity.Unlisted || rep.Note == "" {
		t.Errorf("unlisted %d, last row %+v, note %q", rep.Unlisted, last, rep.Note)
	}
}

func TestPrefixScopeFetchesPreviousDigestOutside(t *testing.T) {
	s := testSigners(t)[0]
	trail := digesttest.Trail{Signer: s, Bucket: trailBucket, Start: time.Date(2026, 11, 26, 22, 0, 0, 0, time.UTC)}
	chain, err := trail.Build(3, 1) // ends 23:00, 00:00 (next day), 01:00
	if err != nil {
		t.Fatal(err)
	}
	keys, _ := trailintegrity.ParsePublicKeys(s.PublicKeysJSON(time.Now(), time.Now()))
	fk := newFake(t)
	fk.shipChain(chain)
	f := &fixture{t: t, s3: fk, signer: s, chain: chain, keys: keys}
	day2 := trailintegrity.VaultKey(layoutAccount, trailBucket, "AWSLogs/222222222222/CloudTrail-Digest/us-east-1/2026/11/27/")
	rep := f.check(day2)
	wantProblems(t, rep, nil)
	if rep.Digests != 2 || rep.Prefix != day2 {
		t.Errorf("digests %d under %s, want 2 under %s", rep.Digests, rep.Prefix, day2)
	}
	// The day-1 digest the scope chains to is outside it; tampering with it
	// breaks the chain of the first digest inside.
	fk.put(vk(chain.Digests[0]), digesttest.Gzip([]byte(`{"x":1}`)), chain.Digests[0].Metadata)
	wantProblems(t, f.check(day2), map[string]trailintegrity.Status{vk(chain.Digests[1]): trailintegrity.ChainBroken})
}

func TestNoDigestsFails(t *testing.T) {
	f := newFixture(t, 1, 1)
	rep := f.check("cloudtrail/another-bucket/")
	if !rep.Failed || rep.Digests != 0 || !strings.Contains(rep.Note, "nothing was verified") {
		t.Errorf("empty scope: failed %v, digests %d, note %q", rep.Failed, rep.Digests, rep.Note)
	}
}

func TestScopePrefix(t *testing.T) {
	for in, want := range map[string]string{"": "cloudtrail/", "cloud": "cloudtrail/", "cloudtrail/": "cloudtrail/", "cloudtrail/b/AWSLogs/": "cloudtrail/b/AWSLogs/"} {
		if got, err := trailintegrity.ScopePrefix(in); err != nil || got != want {
			t.Errorf("ScopePrefix(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"billing/", "b/AWSLogs/", "cloudtrailx/"} {
		if _, err := trailintegrity.ScopePrefix(in); err == nil || !strings.Contains(err.Error(), in) {
			t.Errorf("ScopePrefix(%q) error %v, want one naming it", in, err)
		}
	}
}

func TestSigningString(t *testing.T) {
	d := &trailintegrity.Digest{DigestEndTime: "2015-08-12T04:01:31Z", DigestS3Bucket: "b", DigestS3Object: "AWSLogs/x.json.gz"}
	if got, want := trailintegrity.SigningString(d, "abc"), "2015-08-12T04:01:31Z\nb/AWSLogs/x.json.gz\nabc\nnull"; got != want {
		t.Errorf("starting digest: %q, want %q", got, want)
	}
	d.PreviousDigestSignature = aws.String("5ig")
	if got := trailintegrity.SigningString(d, "abc"); !strings.HasSuffix(got, "\nabc\n5ig") {
		t.Errorf("chained digest: %q", got)
	}
}

// TestDocumentedPublicKeys reads the ListPublicKeys sample of CloudTrail's
// "Custom implementations" page: PKCS #1 and X.509 values, fingerprints that
// are the MD5 of the DER value.
func TestDocumentedPublicKeys(t *testing.T) {
	sample := `{"publicKeyList": [
	 {"ValidityStartTime": "1436317441.0", "ValidityEndTime": "1438909441.0", "Fingerprint": "8eba5db5bea9b640d1c96a77256fe7f2",
	  "Value": "MIIBCgKCAQEAn11L2YZ9h7onug2ILi1MWyHiMRsTQjfWE+pHVRLk1QjfWhirG+lpOa8NrwQ/r7Ah5bNL6HepznOU9XTDSfmmnP97mqyc7z/upfZdS/AHhYcGaz7n6Wc/RRBU6VmiPCrAUojuSk6/GjvA8iOPFsYDuBtviXarvuLPlrT9kAd4Lb+rFfR5peEgBEkhlzc5HuWO7S0y+KunqxX6jQBnXGMtxmPBPP0FylgWGNdFtks/4YSKcgqwH0YDcawP9GGGDAeCIqPWIXDLG1jOjRRzWfCmD0iJUkz8vTsn4hq/5ZxRFE7UBAUiVcGbdnDdvVfhF9C3dQiDq3k7adQIziLT0cShgQIDAQAB"},
	 {"ValidityStartTime": "1434589370.0", "ValidityEndTime": "1437181370.0", "Fingerprint": "31e8b5433410dfb61a9dc45cc65b22ff",
	  "Value": "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAqlzPJbvZJ42UdcmLfPUqXYNfOs6I8lCfao/tOs8CmzPOEdtLWugB9xoIUz78qVHdKIqxbaG4jWHfJBiOSSFBM0lt8cdVo4TnRa7oG9io5pysS6DJhBBAeXsicufsiFJR+wrUNh8RSLxL4k6G1+BhLX20tJkZ/erT97tDGBujAelqseGg3vPZbTx9SMfOLN65PdLFudLP7Gat0Z9p5jw/rjpclKfo9Bfc3heeBxWGKwBBOKnFAaN9V57pOaosCvPKmHd9bg7jsQkI9Xp22IzGLsTFJZYVA3KiTAElDMu80iFXPHEq9hKNbt9e4URFam+1utKVEiLkR2disdCmPTK0VQIDAQAB"}]}`
	ks, err := trailintegrity.ParsePublicKeys([]byte(sample))
	if err != nil {
		t.Fatal(err)
	}
	var list struct {
		PublicKeyList []struct{ Value, Fingerprint string }
	}
	if err := json.Unmarshal([]byte(sample), &list); err != nil {
		t.Fatal(err)
	}
	for _, pk := range list.PublicKeyList {
		der, _ := base64.StdEncoding.DecodeString(pk.Value)
		if got := trailintegrity.Fingerprint(der); got != pk.Fingerprint {
			t.Errorf("Fingerprint = %s, CloudTrail lists %s", got, pk.Fingerprint)
		}
		if k, ok := ks.Lookup(strings.ToUpper(pk.Fingerprint)); !ok || k.Key.N.BitLen() != 2048 {
			t.Errorf("key %s not found or not RSA 2048", pk.Fingerprint)
		}
	}
}

func TestParsePublicKeysErrors(t *testing.T) {
	for name, in := range map[string]string{
		"not json":     `nope`,
		"empty list":   `{"PublicKeyList":[]}`,
		"not base64":   `{"PublicKeyList":[{"Value":"***","Fingerprint":"aa"}]}`,
		"not a key":    `{"PublicKeyList":[{"Value":"AAAA","Fingerprint":"aa"}]}`,
		"other object": `{"Keys":[]}`,
	} {
		if _, err := trailintegrity.ParsePublicKeys([]byte(in)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := trailintegrity.LoadPublicKeys("/nonexistent/keys.json"); err == nil || !strings.Contains(err.Error(), "/nonexistent/keys.json") {
		t.Errorf("LoadPublicKeys error %v should name the file", err)
	}
}

func TestReportOutput(t *testing.T) {
	f := newFixture(t, 2, 1)
	lg := f.chain.Logs[1][0]
	f.s3.del(vk(lg))
	rep := f.check("")
	var table bytes.Buffer
	if err := rep.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	out := table.String()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if lines[len(lines)-1] != "cloudtrail-digests: 2 digests, 2 logs, 1 problems" {
		t.Errorf("last line %q", lines[len(lines)-1])
	}
	if !strings.Contains(out, "FILE") || !strings.Contains(out, vk(lg)) || !strings.Contains(out, "missing") {
		t.Errorf("table does not name the missing log:\n%s", out)
	}
	var js bytes.Buffer
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back trailintegrity.Report
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || !back.Failed || back.Problems != 1 || len(back.Results) != 4 || back.Results[3].Status != trailintegrity.Missing {
		t.Errorf("JSON round trip: %v %+v", err, back)
	}
}
