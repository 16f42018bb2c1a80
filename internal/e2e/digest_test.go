//go:build integration

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/logvault/logvault/internal/eventgen"
	"github.com/logvault/logvault/internal/trailintegrity"
	"github.com/logvault/logvault/internal/trailintegrity/digesttest"
)

// digestScenario is one trail prefix of its own with a chain shipped into
// the vault through the cloudtrail function, and how it was damaged.
type digestScenario struct {
	name          string
	digests, logs int
	// listed is how many logs the (possibly altered) digests list; 0 means
	// digests × logs.
	listed int
	// skip names a log (digest index, log index) never put in the source
	// bucket, so never shipped; nil ships everything.
	skip *[2]int
	// tamper damages the vault after shipping, with the writer's
	// credentials, and returns nothing; the expectations are in want.
	tamper func(t *testing.T, c *digesttest.Chain)
	// want maps the vault key of every file that must be reported to its status.
	want func(c *digesttest.Chain) map[string]trailintegrity.Status
}

// TestDigestCheck ships CloudTrail-format chains (own key pair, documented
// digest format and signature metadata) through the cloudtrail function and
// checks them with package digest and, once `logvault verify` has the flag,
// with `logvault verify --cloudtrail-digests`.
func TestDigestCheck(t *testing.T) {
	signer, err := digesttest.NewSigner()
	if err != nil {
		t.Fatal(err)
	}
	keysFile := filepath.Join(t.TempDir(), "public-keys.json")
	if err := os.WriteFile(keysFile, signer.PublicKeysJSON(time.Now().Add(-24*time.Hour), time.Now().Add(24*time.Hour)), 0o600); err != nil {
		t.Fatal(err)
	}
	keys, err := trailintegrity.LoadPublicKeys(keysFile)
	if err != nil {
		t.Fatal(err)
	}
	cliHasFlag := digestCLIHasFlag(t)
	run := fmt.Sprintf("digest-test-%d", time.Now().Unix())
	vault := stack.env["VAULT_BUCKET"]

	scenarios := []digestScenario{
		{name: "valid chain", digests: 3, logs: 2,
			want: func(*digesttest.Chain) map[string]trailintegrity.Status { return nil }},
		{name: "altered log", digests: 2, logs: 2,
			tamper: func(t *testing.T, c *digesttest.Chain) {
				digestOverwrite(t, c.Logs[1][0], digesttest.Gzip([]byte(`{"Records":[]}`)), nil)
			},
			want: func(c *digesttest.Chain) map[string]trailintegrity.Status {
				return map[string]trailintegrity.Status{digestVaultKey(c.Logs[1][0]): trailintegrity.Altered}
			}},
		{name: "missing log", digests: 2, logs: 2, skip: &[2]int{0, 1},
			want: func(c *digesttest.Chain) map[string]trailintegrity.Status {
				return map[string]trailintegrity.Status{digestVaultKey(c.Logs[0][1]): trailintegrity.Missing}
			}},
		{name: "altered digest hiding its log", digests: 2, logs: 1, listed: 1,
			tamper: func(t *testing.T, c *digesttest.Chain) {
				altered, err := digesttest.Rewrite(c.Digests[0], func(d *trailintegrity.Digest) { d.LogFiles = nil })
				if err != nil {
					t.Fatal(err)
				}
				digestOverwrite(t, c.Digests[0], altered.Body, altered.Metadata)
			},
			want: func(c *digesttest.Chain) map[string]trailintegrity.Status {
				return map[string]trailintegrity.Status{digestVaultKey(c.Digests[0]): trailintegrity.BadSignature, digestVaultKey(c.Digests[1]): trailintegrity.ChainBroken}
			}},
		{name: "altered signature", digests: 2, logs: 1,
			tamper: func(t *testing.T, c *digesttest.Chain) {
				meta := maps.Clone(c.Digests[1].Metadata)
				sig := []byte(meta[trailintegrity.MetaSignature])
				sig[0] = map[bool]byte{true: 'b', false: 'a'}[sig[0] == 'a']
				meta[trailintegrity.MetaSignature] = string(sig)
				digestOverwrite(t, c.Digests[1], c.Digests[1].Body, meta)
			},
			want: func(c *digesttest.Chain) map[string]trailintegrity.Status {
				return map[string]trailintegrity.Status{digestVaultKey(c.Digests[1]): trailintegrity.BadSignature}
			}},
	}
	for i, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			trailPrefix := fmt.Sprintf("%s-%d", run, i)
			trail := digesttest.Trail{Signer: signer, Bucket: stack.env["SOURCE_CLOUDTRAIL_BUCKET"], Prefix: trailPrefix}
			chain, err := trail.Build(sc.digests, sc.logs)
			if err != nil {
				t.Fatal(err)
			}
			for di, d := range chain.Digests {
				for li, lg := range chain.Logs[di] {
					if sc.skip == nil || *sc.skip != [2]int{di, li} {
						digestShip(t, lg)
					}
				}
				digestShip(t, d)
			}
			// The signature metadata survives the trip into the vault.
			head, err := admin(t).HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(vault), Key: aws.String(digestVaultKey(chain.Digests[0]))})
			if err != nil {
				t.Fatalf("vaulted digest: %v", err)
			}
			if head.Metadata[trailintegrity.MetaSignature] != chain.Digests[0].Metadata[trailintegrity.MetaSignature] || head.Metadata[trailintegrity.MetaSignatureAlgorithm] != trailintegrity.SignatureAlgorithm {
				t.Fatalf("vaulted digest lost its signature metadata: %v", head.Metadata)
			}
			if sc.tamper != nil {
				sc.tamper(t, chain)
			}
			want := sc.want(chain)
			listed := sc.listed
			if listed == 0 {
				listed = sc.digests * sc.logs
			}
			scope := trailintegrity.VaultKey("222222222222", trail.Bucket, trailPrefix+"/")

			// The package, with Account A's read access.
			chk := &trailintegrity.Checker{S3: admin(t), Bucket: vault, ExpectedOwner: stack.env["VAULT_EXPECTED_OWNER"], Keys: keys}
			rep, err := chk.Check(context.Background(), scope)
			if err != nil {
				t.Fatalf("check: %v", err)
			}
			if rep.Digests != sc.digests || rep.Logs != listed {
				t.Errorf("%s", rep.Summary)
			}
			got := map[string]trailintegrity.Status{}
			for _, r := range rep.Results {
				if r.Status.Problem() {
					got[r.Key] = r.Status
				}
			}
			if !maps.Equal(got, want) {
				var buf bytes.Buffer
				rep.WriteTable(&buf)
				t.Errorf("problems %v, want %v\n%s", got, want, buf.String())
			}

			// The CLI, as the operator runs it: the stack's environment, so
			// with the writer's credentials (VAULT_ROLE_ARN).
			t.Run("cli", func(t *testing.T) {
				if !cliHasFlag {
					t.Skip("logvault verify does not list --cloudtrail-digests yet: CLI not checked")
				}
				r := cli(t, nil, "verify", "--cloudtrail-digests", "--public-keys", keysFile, "--prefix", scope)
				if wantCode := map[bool]int{true: 0, false: 1}[len(want) == 0]; r.code != wantCode {
					t.Errorf("exit %d, want %d\n%s%s", r.code, wantCode, r.stdout, r.stderr)
				}
				if last := digestLastLine(r.stdout); last != fmt.Sprintf("cloudtrail-digests: %d digests, %d logs, %d problems", sc.digests, listed, len(want)) {
					t.Errorf("last line %q\n%s%s", last, r.stdout, r.stderr)
				}
				for key, st := range want {
					if !digestTableNames(r.stdout, key, st) {
						t.Errorf("output does not name %s as %s:\n%s", key, st, r.stdout)
					}
				}
				if len(want) == 0 {
					j := cli(t, nil, "verify", "--cloudtrail-digests", "--public-keys", keysFile, "--prefix", scope, "--json")
					var back trailintegrity.Report
					if err := json.Unmarshal([]byte(j.stdout), &back); err != nil || j.code != 0 || back.Failed || back.Digests != sc.digests {
						t.Errorf("--json: exit %d, %v: %s%s", j.code, err, j.stdout, j.stderr)
					}
				}
			})
		})
	}

	t.Run("public keys file missing", func(t *testing.T) {
		if !cliHasFlag {
			t.Skip("logvault verify does not list --cloudtrail-digests yet")
		}
		missing := filepath.Join(t.TempDir(), "nope.json")
		r := cli(t, nil, "verify", "--cloudtrail-digests", "--public-keys", missing, "--prefix", "cloudtrail/")
		if r.code != 1 || !strings.Contains(r.lastLine(), missing) {
			t.Errorf("exit %d, last line %q; want 1 naming %s", r.code, r.lastLine(), missing)
		}
	})
}

// digestShip puts o into the CloudTrail source bucket as Account B (as
// CloudTrail delivers it: gzip JSON, signature metadata on digests) and
// ships it with the cloudtrail function.
func digestShip(t *testing.T, o digesttest.Object) {
	t.Helper()
	out, err := accountB(t).PutObject(context.Background(), &s3.PutObjectInput{
		Bucket: aws.String(o.Bucket), Key: aws.String(o.Key), Body: bytes.NewReader(o.Body), Metadata: o.Metadata,
		ContentType: aws.String("application/json"), ContentEncoding: aws.String("gzip"),
	})
	if err != nil {
		t.Fatalf("put source %s: %v", o.Key, err)
	}
	src := eventgen.Object{Bucket: o.Bucket, Key: o.Key, VersionID: aws.ToString(out.VersionId), ETag: strings.Trim(aws.ToString(out.ETag), `"`), Size: int64(len(o.Body))}
	if r := invoke(t, "cloudtrail", event(t, "s3-put", src), nil); r.code != 0 {
		t.Fatalf("ship %s: exit %d: %s", o.Key, r.code, r.stderr)
	}
}

// digestOverwrite writes a new current version of o's vault key with the
// writer's credentials: what a compromised writer can do (and all it can).
func digestOverwrite(t *testing.T, o digesttest.Object, body []byte, meta map[string]string) {
	t.Helper()
	_, err := writer(t).PutObject(context.Background(), &s3.PutObjectInput{
		Bucket: aws.String(stack.env["VAULT_BUCKET"]), Key: aws.String(digestVaultKey(o)), Body: bytes.NewReader(body), Metadata: meta,
		ContentType: aws.String("application/json"), ContentEncoding: aws.String("gzip"),
	})
	if err != nil {
		t.Fatalf("overwrite %s as the writer: %v", digestVaultKey(o), err)
	}
}

func digestVaultKey(o digesttest.Object) string {
	return trailintegrity.VaultKey("222222222222", o.Bucket, o.Key)
}

var (
	digestFlagOnce sync.Once
	digestFlag     bool
)

// digestCLIHasFlag reports whether `logvault verify --help` lists
// --cloudtrail-digests (verify is built by another change).
func digestCLIHasFlag(t *testing.T) bool {
	t.Helper()
	digestFlagOnce.Do(func() {
		r := cli(t, nil, "verify", "--help")
		digestFlag = strings.Contains(r.stdout+r.stderr, "--cloudtrail-digests")
	})
	return digestFlag
}

// digestTableNames reports whether a table row names key with status st.
func digestTableNames(out, key string, st trailintegrity.Status) bool {
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) >= 3 && f[0] == key && f[2] == string(st) {
			return true
		}
	}
	return false
}

func digestLastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
