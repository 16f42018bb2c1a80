package handler_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/logvault/logvault/internal/eventgen"
	"github.com/logvault/logvault/internal/handler"
	"github.com/logvault/logvault/internal/schema"
	"github.com/logvault/logvault/internal/trigger"
	"github.com/logvault/logvault/internal/vault"
)

const (
	bucket    = "trail-bucket"
	requestID = "8476a536-e9f4-11e8-9739-2dfe598c3fcd"
)

// fakeShipper records what it is asked to ship and fails the keys in fail.
type fakeShipper struct {
	mu      sync.Mutex
	calls   []trigger.ObjectRef
	fail    map[string]error
	outcome map[string]vault.Outcome // by key; Created when absent
}

func (f *fakeShipper) Ship(_ context.Context, ref trigger.ObjectRef) (vault.Receipt, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, ref)
	key := "cloudtrail/" + ref.Bucket + "/" + ref.Key
	if err := f.fail[ref.Key]; err != nil {
		return vault.Receipt{Key: key}, err
	}
	outcome := vault.Created
	if o, ok := f.outcome[ref.Key]; ok {
		outcome = o
	}
	return vault.Receipt{Kind: schema.KindCloudTrail, Key: key, VersionID: "v-" + ref.VersionID, SHA256: sum(ref.Key),
		Bytes: ref.Size, Outcome: outcome}, nil
}

func sum(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }

func messageID(i int) string { return fmt.Sprintf("059f36b4-87a3-44ab-83d2-%012d", i) }

func newHandler(f *fakeShipper) (*handler.S3Handler, *bytes.Buffer) {
	var buf bytes.Buffer
	return &handler.S3Handler{Function: "cloudtrail", Ship: f, Log: slog.New(slog.NewJSONHandler(&buf, nil))}, &buf
}

func lambdaCtx() context.Context {
	return lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: requestID})
}

func build(t *testing.T, shape string, o eventgen.Object) []byte {
	t.Helper()
	p, err := eventgen.Build(shape, o)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func object(key string) eventgen.Object {
	return eventgen.Object{Bucket: bucket, Key: key, VersionID: "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY", ETag: "5f1c8a3e9b2d47e6a0c4f8b19d3e7a62", Size: 2746}
}

// logLines parses the handler's output: every line must be one JSON object.
func logLines(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var lines []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(buf.Bytes()))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line is not JSON: %q: %v", sc.Text(), err)
		}
		lines = append(lines, m)
	}
	return lines
}

// TestEveryShapeShipsTheAnnouncedObject: each trigger shape reaches Ship with
// the object it announced (key URL-decoded), and succeeds as its shape must.
func TestEveryShapeShipsTheAnnouncedObject(t *testing.T) {
	key := "AWSLogs/222222222222/CloudTrail/us-east-1/2026/11/26/odd key+plus.json.gz"
	for _, shape := range eventgen.Shapes {
		t.Run(shape, func(t *testing.T) {
			f := &fakeShipper{}
			h, _ := newHandler(f)
			resp, err := h.Handle(lambdaCtx(), build(t, shape, object(key)))
			if err != nil {
				t.Fatalf("Handle: %v", err)
			}
			if len(f.calls) != 1 {
				t.Fatalf("Ship called %d times, want 1", len(f.calls))
			}
			if c := f.calls[0]; c.Bucket != bucket || c.Key != key || c.VersionID != object(key).VersionID ||
				c.ETag != object(key).ETag || c.Size != 2746 {
				t.Errorf("Ship got %+v, want bucket %s key %q version %s", c, bucket, key, object(key).VersionID)
			}
			switch r := resp.(type) {
			case events.SQSEventResponse:
				if !eventgen.IsSQS(shape) || len(r.BatchItemFailures) != 0 {
					t.Errorf("response %+v for shape %s", r, shape)
				}
			case handler.Response:
				if eventgen.IsSQS(shape) || len(r.Receipts) != 1 || r.Receipts[0].Outcome != vault.Created {
					t.Errorf("response %+v for shape %s", r, shape)
				}
			default:
				t.Errorf("response %T %+v", resp, resp)
			}
		})
	}
}

func TestSQSPartialBatchFailure(t *testing.T) {
	good, failing := object("AWSLogs/good.json.gz"), object("AWSLogs/fail.json.gz")
	payload := eventgen.SQS(
		build(t, "s3-put", good),
		[]byte(`this is not an S3 notification`),
		build(t, "eventbridge", failing),
	)
	f := &fakeShipper{fail: map[string]error{failing.Key: errors.New("vault: put: AccessDenied")}}
	h, buf := newHandler(f)

	resp, err := h.Handle(lambdaCtx(), payload)
	if err != nil {
		t.Fatalf("Handle returned %v; an SQS batch must report failures in BatchItemFailures only", err)
	}
	r, ok := resp.(events.SQSEventResponse)
	if !ok {
		t.Fatalf("response %T, want events.SQSEventResponse", resp)
	}
	var ids []string
	for _, x := range r.BatchItemFailures {
		ids = append(ids, x.ItemIdentifier)
	}
	if want := []string{messageID(2), messageID(3)}; strings.Join(ids, ",") != strings.Join(want, ",") {
		t.Errorf("BatchItemFailures %v, want exactly %v", ids, want)
	}
	wire, _ := json.Marshal(resp)
	if want := `{"batchItemFailures":[{"itemIdentifier":"` + messageID(2) + `"},{"itemIdentifier":"` + messageID(3) + `"}]}`; string(wire) != want {
		t.Errorf("Lambda receives %s, want %s", wire, want)
	}
	if len(f.calls) != 2 {
		t.Errorf("Ship called %d times, want 2 (the undecodable message ships nothing)", len(f.calls))
	}

	// The log: one JSON line per outcome, carrying what an operator queries.
	var shipped, failed, rejected int
	for _, l := range logLines(t, buf) {
		if l["request_id"] != requestID || l["function"] != "cloudtrail" {
			t.Errorf("log line without request_id %s / function cloudtrail: %v", requestID, l)
		}
		outcome := l["outcome"]
		if l["msg"] == "message rejected" {
			outcome = nil // rejected before any shipment: counted apart
		}
		switch outcome {
		case "created":
			shipped++
			want := map[string]any{"message_id": messageID(1), "sha256": sum(good.Key), "kind": "cloudtrail",
				"key": "cloudtrail/" + bucket + "/" + good.Key, "source": "s3://" + bucket + "/" + good.Key,
				"version_id": "v-" + good.VersionID, "bytes": float64(2746)}
			for k, v := range want {
				if l[k] != v {
					t.Errorf("shipped line: %s = %v, want %v (line %v)", k, l[k], v, l)
				}
			}
			if _, ok := l["duration_ms"]; !ok {
				t.Errorf("shipped line without duration_ms: %v", l)
			}
		case "failed":
			failed++
			if l["message_id"] != messageID(3) || l["level"] != "ERROR" || !strings.Contains(fmt.Sprint(l["error"]), "AccessDenied") ||
				l["source"] != "s3://"+bucket+"/"+failing.Key {
				t.Errorf("failure line %v: want message %s, level ERROR, the error and the source", l, messageID(3))
			}
		case nil:
			if l["message_id"] == messageID(2) && l["level"] == "ERROR" {
				rejected++
			}
		}
	}
	if shipped != 1 || failed != 1 || rejected != 1 {
		t.Errorf("log has %d shipped, %d failed, %d rejected lines, want 1 each:\n%s", shipped, failed, rejected, buf)
	}

	// Invoke keeps the causes: both failed messages are named, the good one is not.
	f.calls = nil
	_, err = h.Invoke(lambdaCtx(), payload)
	if err == nil {
		t.Fatal("Invoke returned no error for a batch with failures")
	}
	for _, id := range []string{messageID(2), messageID(3)} {
		if !strings.Contains(err.Error(), id) {
			t.Errorf("Invoke error %q does not name message %s", err, id)
		}
	}
	if strings.Contains(err.Error(), messageID(1)) {
		t.Errorf("Invoke error %q names the message that shipped", err)
	}
}

// TestNonSQSFailureIsRetried: without SQS, the whole event fails so Lambda
// delivers it again.
func TestNonSQSFailureIsRetried(t *testing.T) {
	bad := object("AWSLogs/fail.json.gz")
	for _, shape := range []string{"s3-put", "sns", "eventbridge"} {
		t.Run(shape, func(t *testing.T) {
			f := &fakeShipper{fail: map[string]error{bad.Key: errors.New("source: not found")}}
			h, _ := newHandler(f)
			if _, err := h.Handle(lambdaCtx(), build(t, shape, bad)); err == nil {
				t.Error("Handle returned no error for an object that failed to ship")
			}
		})
	}
	t.Run("not an event", func(t *testing.T) {
		f := &fakeShipper{}
		h, buf := newHandler(f)
		if _, err := h.Handle(lambdaCtx(), json.RawMessage(`{"hello":"world"}`)); err == nil {
			t.Error("Handle accepted a payload that is no known shape")
		}
		if len(f.calls) != 0 {
			t.Errorf("Ship called %d times", len(f.calls))
		}
		if lines := logLines(t, buf); len(lines) != 1 || lines[0]["request_id"] != requestID {
			t.Errorf("want one log line with the request id, got %v", lines)
		}
	})
}

func TestS3TestEventIsIgnored(t *testing.T) {
	for _, shape := range []string{"s3-test-event", "sqs-test-event"} {
		t.Run(shape, func(t *testing.T) {
			f := &fakeShipper{}
			h, _ := newHandler(f)
			resp, err := h.Handle(lambdaCtx(), build(t, shape, eventgen.Object{Bucket: bucket}))
			if err != nil {
				t.Fatalf("Handle: %v", err)
			}
			if len(f.calls) != 0 {
				t.Errorf("Ship called %d times for a test event", len(f.calls))
			}
			switch r := resp.(type) {
			case events.SQSEventResponse:
				if len(r.BatchItemFailures) != 0 {
					t.Errorf("test event reported as failed: %+v", r)
				}
			case handler.Response:
				if r.Ignored != "s3:TestEvent" || len(r.Receipts) != 0 {
					t.Errorf("response %+v, want ignored s3:TestEvent and no receipts", r)
				}
			default:
				t.Errorf("response %T", resp)
			}
		})
	}
}
