//go:build integration

package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/klauspost/compress/gzip"

	"github.com/logvault/logvault/internal/eventgen"
	"github.com/logvault/logvault/internal/local"
	"github.com/logvault/logvault/internal/schema"
)

// bucketState is what a failed invocation must leave as it found it.
type bucketState struct {
	versions, deleteMarkers, uploads int
}

// stateOf counts every version, delete marker and open multipart upload of
// a bucket, as Account A's admin (all pages).
func stateOf(t testing.TB, bucket string) bucketState {
	t.Helper()
	ctx := context.Background()
	var st bucketState
	p := s3.NewListObjectVersionsPaginator(adminFor(t), &s3.ListObjectVersionsInput{Bucket: aws.String(bucket)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("list versions of %s: %v", bucket, err)
		}
		st.versions += len(page.Versions)
		st.deleteMarkers += len(page.DeleteMarkers)
	}
	in := &s3.ListMultipartUploadsInput{Bucket: aws.String(bucket)}
	for {
		out, err := adminFor(t).ListMultipartUploads(ctx, in)
		if err != nil {
			t.Fatalf("list multipart uploads of %s: %v", bucket, err)
		}
		st.uploads += len(out.Uploads)
		if !aws.ToBool(out.IsTruncated) {
			break
		}
		in.KeyMarker, in.UploadIdMarker = out.NextKeyMarker, out.NextUploadIdMarker
	}
	return st
}

// adminFor is admin for tests and benchmarks alike.
func adminFor(t testing.TB) *s3.Client {
	t.Helper()
	c, err := local.ClientFor(stack.env, stack.env["VAULT_ADMIN_ACCESS_KEY_ID"], stack.env["VAULT_ADMIN_SECRET_ACCESS_KEY"], "")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// putObject writes a source object as Account B with the given metadata
// and returns what a notification of it announces.
func putObject(t *testing.T, bucket, key string, body []byte, meta map[string]string) eventgen.Object {
	t.Helper()
	out, err := accountB(t).PutObject(context.Background(), &s3.PutObjectInput{
		Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body), Metadata: meta,
		ContentLength: aws.Int64(int64(len(body))),
	})
	if err != nil {
		t.Fatalf("put source s3://%s/%s: %v", bucket, key, err)
	}
	return eventgen.Object{Bucket: bucket, Key: key, VersionID: aws.ToString(out.VersionId), ETag: trimQuotes(aws.ToString(out.ETag)), Size: int64(len(body))}
}

// longKey is a key of exactly n bytes whose path segments stay short
// enough for the local server's file system (255 bytes per name).
func longKey(prefix string, n int) string {
	var b strings.Builder
	b.WriteString(prefix)
	for b.Len() < n {
		seg := strings.Repeat("k", 200) + "/"
		if rest := n - b.Len(); rest <= len(seg) {
			seg = strings.Repeat("z", rest)
		}
		b.WriteString(seg)
	}
	return b.String()
}

// badCase is one row of the bad-input matrix.
type badCase struct {
	name string
	fn   string
	// payload builds the event (and the source objects it needs).
	payload func(t *testing.T) []byte
	env     map[string]string
	// cause must appear in the last line of a failure; "" means the input
	// is deliberately shipped (or acknowledged) and the run must succeed.
	cause string
	// written is how many vault versions a deliberate success adds.
	written int
	// check, when set, inspects the vault after a success.
	check func(t *testing.T)
	// also are other buckets the invocation must leave unchanged, or (for
	// the unversioned vault) change by the one complete object noted.
	also map[string]int
}

func TestBadInputMatrix(t *testing.T) {
	ct, bill := stack.env["SOURCE_CLOUDTRAIL_BUCKET"], stack.env["SOURCE_BILLING_BUCKET"]
	unversioned, foreign := stack.env["LOCAL_UNVERSIONED_BUCKET"], stack.env["LOCAL_FOREIGN_BUCKET"]
	if unversioned == "" || foreign == "" {
		t.Fatal("logvault local up printed no LOCAL_UNVERSIONED_BUCKET / LOCAL_FOREIGN_BUCKET")
	}
	run := time.Now().UTC().Format("150405.000000")
	srcKey := func(fn, name string) string {
		if fn == "billing" {
			return "cur2/matrix/data/BILLING_PERIOD=2026-11/" + run + "/" + name + ".csv.gz"
		}
		return "AWSLogs/222222222222/CloudTrail/us-east-1/2026/11/26/matrix-" + run + "/" + name + ".json.gz"
	}
	bucketOf := func(fn string) string {
		if fn == "billing" {
			return bill
		}
		return ct
	}
	fixed := func(p string) func(*testing.T) []byte { return func(*testing.T) []byte { return []byte(p) } }
	logs := func(mut func(*events.CloudwatchLogsData)) func(*testing.T) []byte {
		return func(*testing.T) []byte {
			d := logsData("matrix-"+run, "one", "two")
			d.LogGroup = "/aws/lambda/matrix"
			if mut != nil {
				mut(&d)
			}
			return eventgen.CloudWatchLogs(d)
		}
	}
	gzipped := func(plain string) string {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write([]byte(plain))
		zw.Close()
		return base64.StdEncoding.EncodeToString(buf.Bytes())
	}
	valid := logs(nil)(t)
	var ev struct {
		AWSLogs struct{ Data string } `json:"awslogs"`
	}
	json.Unmarshal(valid, &ev)
	raw, _ := base64.StdEncoding.DecodeString(ev.AWSLogs.Data)

	var cases []badCase
	// Inputs every function rejects before touching S3.
	for _, fn := range []string{"cloudtrail", "billing", "applogs"} {
		decoder := "trigger"
		if fn == "applogs" {
			decoder = "cwlogs"
		}
		cases = append(cases,
			badCase{name: "malformed json", fn: fn, payload: fixed(`{"Records":[{"eventSource":"aws:s3",`), cause: decoder + ": "},
			badCase{name: "not an object", fn: fn, payload: fixed(`["Records"]`), cause: decoder + ": "},
			badCase{name: "empty payload", fn: fn, payload: fixed(``), cause: decoder + ": "},
			badCase{name: "unknown shape", fn: fn, payload: fixed(`{"hello":"world"}`), cause: decoder + ": "},
			badCase{name: "kinesis record", fn: fn, payload: fixed(`{"Records":[{"eventSource":"aws:kinesis","kinesis":{"data":"e30="}}]}`), cause: decoder + ": "},
			badCase{name: "no records", fn: fn, payload: fixed(`{"Records":[]}`), cause: map[string]string{"trigger": "Records is empty", "cwlogs": "no awslogs.data"}[decoder]},
			badCase{name: "invalid base64", fn: fn, payload: fixed(`{"awslogs":{"data":"H4sI!!!not base64"}}`), cause: map[string]string{"trigger": "not an S3 notification", "cwlogs": "not valid base64"}[decoder]},
			badCase{name: "truncated gzip", fn: fn, payload: fixed(fmt.Sprintf(`{"awslogs":{"data":%q}}`, base64.StdEncoding.EncodeToString(raw[:len(raw)/2]))),
				cause: map[string]string{"trigger": "not an S3 notification", "cwlogs": "truncated or corrupt gzip"}[decoder]},
		)
	}
	for _, fn := range []string{"cloudtrail", "billing"} {
		fn := fn
		cases = append(cases,
			badCase{name: "sqs batch with no records", fn: fn, payload: fixed(string(eventgen.SQS([]byte(`{"Records":[]}`)))), cause: "Records is empty"},
			badCase{name: "sqs body not json", fn: fn, payload: fixed(string(eventgen.SQS([]byte(`{"Records":[`)))), cause: "not valid JSON"},
			badCase{name: "sqs record without messageId", fn: fn, payload: fixed(`{"Records":[{"eventSource":"aws:sqs","body":"{}"}]}`), cause: "messageId is empty"},
			badCase{name: "object removed event", fn: fn, payload: func(t *testing.T) []byte {
				p := event(t, "s3-put", eventgen.Object{Bucket: bucketOf(fn), Key: srcKey(fn, "removed"), Size: 1})
				return bytes.Replace(p, []byte("ObjectCreated:Put"), []byte("ObjectRemoved:Delete"), 1)
			}, cause: "not an ObjectCreated event"},
			badCase{name: "s3 key badly url-encoded", fn: fn, payload: func(t *testing.T) []byte {
				p := event(t, "s3-put", eventgen.Object{Bucket: bucketOf(fn), Key: srcKey(fn, "pct"), Size: 1})
				return bytes.Replace(p, []byte(`.gz"`), []byte(`%zz.gz"`), 1)
			}, cause: "not URL-encoded correctly"},
			badCase{name: "source object deleted before the read", fn: fn, payload: func(t *testing.T) []byte {
				o := putObject(t, bucketOf(fn), srcKey(fn, "deleted"), []byte("soon gone"), nil)
				if _, err := accountB(t).DeleteObject(context.Background(), &s3.DeleteObjectInput{Bucket: aws.String(o.Bucket), Key: aws.String(o.Key), VersionId: aws.String(o.VersionID)}); err != nil {
					t.Fatal(err)
				}
				return event(t, "sqs-eventbridge", o)
			}, cause: "source object not found"},
			badCase{name: "source bucket gone", fn: fn, payload: func(t *testing.T) []byte {
				return event(t, "s3-put", eventgen.Object{Bucket: "logvault-local-no-such-bucket", Key: "k", Size: 1})
			}, cause: "source object not found"},
			badCase{name: "source changed before the read, event pinned by ETag", fn: fn, payload: func(t *testing.T) []byte {
				o := putObject(t, bucketOf(fn), srcKey(fn, "changed-etag"), []byte("first bytes"), nil)
				putObject(t, o.Bucket, o.Key, []byte("second bytes"), nil)
				o.VersionID = "" // as from an unversioned source bucket
				return event(t, "s3-put", o)
			}, cause: "different bytes than the notification announced"},
			// Deliberate successes: what the notification announced is still there.
			badCase{name: "source changed before the read, event pinned to its version", fn: fn, payload: func(t *testing.T) []byte {
				o := putObject(t, bucketOf(fn), srcKey(fn, "changed-version"), []byte("announced bytes"), nil)
				putObject(t, o.Bucket, o.Key, []byte("later bytes"), nil)
				return event(t, "sns", o)
			}, written: 1, check: func(t *testing.T) {
				got, meta := hashVault(t, fn+"/account=222222222222/"+bucketOf(fn)+"/"+srcKey(fn, "changed-version"), "")
				if want := sha256.Sum256([]byte("announced bytes")); got != hex.EncodeToString(want[:]) || meta[schema.MetaSHA256] != got {
					t.Errorf("vaulted %s, want the announced version's bytes", got)
				}
			}},
			badCase{name: "source deleted (delete marker) before the read, event pinned to its version", fn: fn, payload: func(t *testing.T) []byte {
				o := putObject(t, bucketOf(fn), srcKey(fn, "delete-marker"), []byte("still readable by version"), nil)
				if _, err := accountB(t).DeleteObject(context.Background(), &s3.DeleteObjectInput{Bucket: aws.String(o.Bucket), Key: aws.String(o.Key)}); err != nil {
					t.Fatal(err)
				}
				return event(t, "sqs-s3", o)
			}, written: 1},
			badCase{name: "zero-byte object", fn: fn, payload: func(t *testing.T) []byte {
				return event(t, "eventbridge", putObject(t, bucketOf(fn), srcKey(fn, "empty"), nil, nil))
			}, written: 1, check: func(t *testing.T) {
				got, meta := hashVault(t, fn+"/account=222222222222/"+bucketOf(fn)+"/"+srcKey(fn, "empty"), "")
				if want := sha256.Sum256(nil); got != hex.EncodeToString(want[:]) || meta[schema.MetaSHA256] != got {
					t.Errorf("zero-byte object vaulted as %s", got)
				}
			}},
			badCase{name: "1024-byte source key", fn: fn, payload: func(t *testing.T) []byte {
				return event(t, "s3-put", putObject(t, bucketOf(fn), longKey(srcKey(fn, "long")+"/", schema.MaxKeyBytes), []byte("long"), nil))
			}, cause: "over S3's limit of 1024 bytes"},
			badCase{name: "longest source key that fits the vault layout", fn: fn, payload: func(t *testing.T) []byte {
				k := longKey(srcKey(fn, "fits")+"/", schema.MaxKeyBytes-len(fn+"/account=222222222222/"+bucketOf(fn)+"/"))
				return event(t, "sqs-sns", putObject(t, bucketOf(fn), k, []byte("fits"), nil))
			}, written: 1},
			badCase{name: "unicode key via s3 notification", fn: fn, payload: func(t *testing.T) []byte {
				return event(t, "s3-put", putObject(t, bucketOf(fn), srcKey(fn, "日本語 ünïcödé 🚀 a+b%20c&d=e?f#g"), []byte("unicode"), nil))
			}, written: 1, check: func(t *testing.T) {
				if n := len(versions(t, fn+"/account=222222222222/"+bucketOf(fn)+"/"+srcKey(fn, "日本語 ünïcödé 🚀 a+b%20c&d=e?f#g"))); n != 1 {
					t.Errorf("%d versions under the exact unicode key, want 1", n)
				}
			}},
			badCase{name: "unicode key via eventbridge, decomposed form", fn: fn, payload: func(t *testing.T) []byte {
				return event(t, "sqs-eventbridge", putObject(t, bucketOf(fn), srcKey(fn, "cafe\u0301 \u202eRTL\u202c"), []byte("nfd"), nil))
			}, written: 1, check: func(t *testing.T) {
				if n := len(versions(t, fn+"/account=222222222222/"+bucketOf(fn)+"/"+srcKey(fn, "cafe\u0301 \u202eRTL\u202c"))); n != 1 {
					t.Errorf("%d versions under the exact decomposed key, want 1", n)
				}
			}},
			badCase{name: "source metadata leaves no room under S3's 2 KB", fn: fn, payload: func(t *testing.T) []byte {
				meta := map[string]string{"notes": strings.Repeat("n", 1900), "team": "audit"}
				return event(t, "s3-put", putObject(t, bucketOf(fn), srcKey(fn, "big-metadata"), []byte("metadata"), meta))
			}, cause: "user metadata over S3's 2 KB limit"},
			badCase{name: "vault without versioning", fn: fn, env: map[string]string{"VAULT_BUCKET": unversioned}, payload: func(t *testing.T) []byte {
				return event(t, "s3-put", putObject(t, bucketOf(fn), srcKey(fn, "unversioned"), []byte("unversioned"), nil))
			}, cause: "not versioned", also: map[string]int{unversioned: 1}},
			badCase{name: "vault owned by another account", fn: fn, env: map[string]string{"VAULT_BUCKET": foreign}, payload: func(t *testing.T) []byte {
				return event(t, "sqs-s3", putObject(t, bucketOf(fn), srcKey(fn, "foreign"), []byte("foreign"), nil))
			}, cause: "not owned by VAULT_EXPECTED_OWNER 111111111111", also: map[string]int{foreign: 0}},
		)
	}
	// A multipart-sized object whose metadata cannot fit: refused before
	// CreateMultipartUpload, so no upload is left open.
	cases = append(cases, badCase{name: "multipart object with metadata over 2 KB", fn: "billing", payload: func(t *testing.T) []byte {
		body := bytes.Repeat([]byte("0123456789abcdef"), (9<<20)/16)
		meta := map[string]string{"notes": strings.Repeat("n", 1950)}
		return event(t, "sqs-eventbridge", putObject(t, bill, srcKey("billing", "big-metadata-multipart"), body, meta))
	}, cause: "user metadata over S3's 2 KB limit"})
	// applogs: payloads that decode but cannot or need not be vaulted.
	cases = append(cases,
		badCase{name: "data message without log events", fn: "applogs", payload: logs(func(d *events.CloudwatchLogsData) { d.LogEvents = nil }), cause: "no logEvents"},
		badCase{name: "log event without id", fn: "applogs", payload: logs(func(d *events.CloudwatchLogsData) { d.LogEvents[1].ID = "" }), cause: "logEvents[1] has no id"},
		badCase{name: "unknown message type", fn: "applogs", payload: logs(func(d *events.CloudwatchLogsData) { d.MessageType = "SURPRISE" }), cause: "neither DATA_MESSAGE nor CONTROL_MESSAGE"},
		badCase{name: "subscription json not an object", fn: "applogs", payload: fixed(fmt.Sprintf(`{"awslogs":{"data":%q}}`, gzipped(`[1,2,3]`))), cause: "does not hold subscription JSON"},
		badCase{name: "gzip bomb", fn: "applogs", payload: fixed(fmt.Sprintf(`{"awslogs":{"data":%q}}`, gzipped(`{"messageType":"DATA_MESSAGE","x":"`+strings.Repeat("A", 33<<20)+`"}`))), cause: "decompresses to more than 32 MiB"},
		badCase{name: "log group and stream over the key limit", fn: "applogs", payload: logs(func(d *events.CloudwatchLogsData) {
			d.LogGroup, d.LogStream = "/"+strings.Repeat("g", 511), strings.Repeat("s", 512)
		}), cause: "over S3's limit of 1024 bytes"},
		badCase{name: "unicode log group and stream", fn: "applogs", payload: logs(func(d *events.CloudwatchLogsData) {
			d.LogGroup, d.LogStream = "/aws/lambda/日本語-"+run, "2026/11/26/[$LATEST]ünïcödé 🚀"
		}), written: 1},
		badCase{name: "vault without versioning", fn: "applogs", env: map[string]string{"VAULT_BUCKET": unversioned}, payload: logs(func(d *events.CloudwatchLogsData) { d.LogStream += "-unversioned" }),
			cause: "not versioned", also: map[string]int{unversioned: 1}},
		badCase{name: "vault owned by another account", fn: "applogs", env: map[string]string{"VAULT_BUCKET": foreign}, payload: logs(func(d *events.CloudwatchLogsData) { d.LogStream += "-foreign" }),
			cause: "not owned by VAULT_EXPECTED_OWNER 111111111111", also: map[string]int{foreign: 0}},
	)

	vaultBucket := stack.env["VAULT_BUCKET"]
	for _, tc := range cases {
		t.Run(tc.fn+"/"+tc.name, func(t *testing.T) {
			payload := tc.payload(t)
			before := stateOf(t, vaultBucket)
			others := map[string]bucketState{}
			for b := range tc.also {
				others[b] = stateOf(t, b)
			}
			r := invoke(t, tc.fn, payload, tc.env)
			if strings.Contains(r.stderr, "panic") || strings.Contains(r.stderr, "goroutine ") {
				t.Fatalf("the function panicked:\n%s", r.stderr)
			}
			wantCode := 1
			if tc.cause == "" {
				wantCode = 0
			}
			if r.code != wantCode {
				t.Fatalf("exit %d, want %d; stderr:\n%s", r.code, wantCode, r.stderr)
			}
			if tc.cause != "" {
				last := r.lastLine()
				t.Log(last)
				if !strings.Contains(last, tc.cause) {
					t.Errorf("last line %q does not name the cause %q", last, tc.cause)
				}
				if !strings.HasPrefix(last, "logvault: "+tc.fn+": ") {
					t.Errorf("last line %q is not the one-line error of %s", last, tc.fn)
				}
			}
			after := stateOf(t, vaultBucket)
			want := before
			want.versions += tc.written
			if after != want {
				t.Errorf("vault went from %+v to %+v, want %+v (nothing half-written)", before, after, want)
			}
			for b, n := range tc.also {
				got, want := stateOf(t, b), others[b]
				want.versions += n
				if got != want {
					t.Errorf("%s went from %+v to %+v, want %+v", b, others[b], got, want)
				}
			}
			if tc.check != nil {
				tc.check(t)
			}
		})
	}
}

// TestUnversionedVaultRetryStaysLoud: the one complete object an
// unversioned vault took on the first delivery must not turn the
// redelivery into an acknowledged duplicate.
func TestUnversionedVaultRetryStaysLoud(t *testing.T) {
	unversioned := stack.env["LOCAL_UNVERSIONED_BUCKET"]
	o := putObject(t, stack.env["SOURCE_CLOUDTRAIL_BUCKET"], "AWSLogs/222222222222/CloudTrail/us-east-1/2026/11/26/unversioned-retry-"+time.Now().UTC().Format("150405.000000")+".json.gz", []byte("x"), nil)
	env := map[string]string{"VAULT_BUCKET": unversioned}
	for i := 1; i <= 2; i++ {
		r := invoke(t, "cloudtrail", event(t, "sqs-s3", o), env)
		if r.code != 1 || !strings.Contains(r.lastLine(), "not versioned") {
			t.Fatalf("delivery %d: exit %d, last line %q; want 1 and the cause", i, r.code, r.lastLine())
		}
	}
}
