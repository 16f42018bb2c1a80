package handler_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/logvault/logvault/internal/eventgen"
	"github.com/logvault/logvault/internal/handler"
	"github.com/logvault/logvault/internal/schema"
	"github.com/logvault/logvault/internal/trigger"
	"github.com/logvault/logvault/internal/vault"
)

// slowShipper ships after a per-key delay, fails the keys in fail, and
// records how many shipments were in flight at most, and of what sizes.
type slowShipper struct {
	delay    func(key string) time.Duration
	fail     map[string]bool
	inFlight atomic.Int64
	maxSeen  atomic.Int64
	returned atomic.Int64

	mu        sync.Mutex
	calls     []string
	largeWith int64 // most other shipments seen in flight alongside a large object
	flying    map[string]int64
}

func (s *slowShipper) Ship(ctx context.Context, ref trigger.ObjectRef) (vault.Receipt, error) {
	defer s.returned.Add(1)
	n := s.inFlight.Add(1)
	defer s.inFlight.Add(-1)
	for {
		m := s.maxSeen.Load()
		if n <= m || s.maxSeen.CompareAndSwap(m, n) {
			break
		}
	}
	s.mu.Lock()
	s.calls = append(s.calls, ref.Key)
	if s.flying == nil {
		s.flying = map[string]int64{}
	}
	s.flying[ref.Key] = ref.Size
	for _, size := range s.flying {
		if size > 8<<20 && int64(len(s.flying)-1) > s.largeWith {
			s.largeWith = int64(len(s.flying) - 1)
		}
	}
	s.mu.Unlock()
	defer func() { s.mu.Lock(); delete(s.flying, ref.Key); s.mu.Unlock() }()

	if s.delay != nil {
		select {
		case <-time.After(s.delay(ref.Key)):
		case <-ctx.Done():
			return vault.Receipt{}, ctx.Err()
		}
	}
	key := "cloudtrail/" + ref.Bucket + "/" + ref.Key
	if s.fail[ref.Key] {
		return vault.Receipt{Key: key}, errors.New("vault: put: SlowDown")
	}
	return vault.Receipt{Kind: schema.KindCloudTrail, Key: key, VersionID: "v-" + ref.Key, SHA256: sum(ref.Key), Bytes: ref.Size, Outcome: vault.Created}, nil
}

// multiRecord is one S3 notification announcing every key (S3 can batch
// several records into one notification).
func multiRecord(t *testing.T, keys []string, size int64) []byte {
	t.Helper()
	var records []json.RawMessage
	for _, k := range keys {
		o := object(k)
		o.Size = size
		var n struct{ Records []json.RawMessage }
		if err := json.Unmarshal(build(t, "s3-put", o), &n); err != nil {
			t.Fatal(err)
		}
		records = append(records, n.Records...)
	}
	out, _ := json.Marshal(map[string]any{"Records": records})
	return out
}

func keysFor(msg, n int) []string {
	var keys []string
	for j := 0; j < n; j++ {
		keys = append(keys, fmt.Sprintf("AWSLogs/m%02d/o%02d.json.gz", msg, j))
	}
	return keys
}

// TestSQSBatchShipsConcurrently: the objects of an SQS batch are shipped at
// the same time, never more than the bound, and every one before the
// response.
func TestSQSBatchShipsConcurrently(t *testing.T) {
	var bodies [][]byte
	for i := 1; i <= 10; i++ {
		bodies = append(bodies, multiRecord(t, keysFor(i, 4), 10<<10))
	}
	s := &slowShipper{delay: func(string) time.Duration { return 20 * time.Millisecond }}
	h := &handler.S3Handler{Function: "cloudtrail", Ship: s, Log: discardLog()}
	start := time.Now()
	resp, err := h.Invoke(lambdaCtx(), eventgen.SQS(bodies...))
	took := time.Since(start)
	if err != nil {
		t.Fatalf("Invoke: %v", err)
	}
	if r := resp.(events.SQSEventResponse); len(r.BatchItemFailures) != 0 {
		t.Fatalf("failures %v", r.BatchItemFailures)
	}
	if got := s.returned.Load(); got != 40 {
		t.Fatalf("Invoke returned after %d of 40 shipments had returned", got)
	}
	if m := s.maxSeen.Load(); m != handler.DefaultConcurrency {
		t.Errorf("at most %d shipments in flight, want exactly the bound %d", m, handler.DefaultConcurrency)
	}
	// 40 shipments of 20 ms, 16 at a time: about 60 ms; one at a time: 800 ms.
	if took > 600*time.Millisecond {
		t.Errorf("40 shipments of 20 ms took %s: not concurrent", took)
	}
}

// TestConcurrentFailuresStayPerMessage: under concurrency, exactly the
// messages with a failed object come back, in batch order, whatever order
// the shipments finish in; the other messages' objects all shipped.
func TestConcurrentFailuresStayPerMessage(t *testing.T) {
	var bodies [][]byte
	fail := map[string]bool{}
	for i := 1; i <= 10; i++ {
		keys := keysFor(i, 3)
		if i == 3 || i == 8 {
			fail[keys[1]] = true // the middle object of messages 3 and 8
		}
		bodies = append(bodies, multiRecord(t, keys, 2048))
	}
	// Later messages finish first, failing objects last.
	delay := func(key string) time.Duration {
		var m, o int
		fmt.Sscanf(key, "AWSLogs/m%02d/o%02d.json.gz", &m, &o)
		d := time.Duration(12-m) * 3 * time.Millisecond
		if fail[key] {
			d += 30 * time.Millisecond
		}
		return d
	}
	s := &slowShipper{delay: delay, fail: fail}
	var buf strings.Builder
	h := &handler.S3Handler{Function: "cloudtrail", Ship: s, Log: jsonLog(&buf)}
	resp, err := h.Invoke(lambdaCtx(), eventgen.SQS(bodies...))
	r := resp.(events.SQSEventResponse)
	var ids []string
	for _, f := range r.BatchItemFailures {
		ids = append(ids, f.ItemIdentifier)
	}
	if want := []string{messageID(3), messageID(8)}; strings.Join(ids, ",") != strings.Join(want, ",") {
		t.Fatalf("BatchItemFailures %v, want %v", ids, want)
	}
	if err == nil || !strings.Contains(err.Error(), messageID(3)) || !strings.Contains(err.Error(), messageID(8)) || !strings.Contains(err.Error(), "SlowDown") {
		t.Errorf("Invoke error %v, want both failed messages and the cause", err)
	}
	if len(s.calls) != 30 {
		t.Errorf("%d shipments, want all 30 (a failed object does not stop its siblings)", len(s.calls))
	}
	// One JSON line per outcome: 28 shipped, 2 failed, each with its message id.
	var shipped, failed int
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var l map[string]any
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		switch l["outcome"] {
		case "created":
			shipped++
		case "failed":
			failed++
			if id := l["message_id"]; id != messageID(3) && id != messageID(8) {
				t.Errorf("failure logged for message %v", id)
			}
		}
	}
	if shipped != 28 || failed != 2 {
		t.Errorf("%d shipped and %d failed lines, want 28 and 2", shipped, failed)
	}
}

// TestUnconfirmedObjectIsNotAcknowledged: a shipment still running when the
// invocation's time runs out fails its message; the response waits for it.
func TestUnconfirmedObjectIsNotAcknowledged(t *testing.T) {
	stuck := keysFor(2, 1)[0]
	s := &slowShipper{delay: func(key string) time.Duration {
		if key == stuck {
			return time.Hour
		}
		return time.Millisecond
	}}
	h := &handler.S3Handler{Function: "cloudtrail", Ship: s, Log: discardLog()}
	ctx, cancel := context.WithTimeout(lambdaCtx(), 100*time.Millisecond)
	defer cancel()
	resp, _ := h.Invoke(ctx, eventgen.SQS(multiRecord(t, keysFor(1, 2), 1), multiRecord(t, keysFor(2, 1), 1), multiRecord(t, keysFor(3, 2), 1)))
	if s.returned.Load() != 5 {
		t.Fatalf("responded with %d of 5 shipments returned", s.returned.Load())
	}
	r := resp.(events.SQSEventResponse)
	if len(r.BatchItemFailures) != 1 || r.BatchItemFailures[0].ItemIdentifier != messageID(2) {
		t.Errorf("BatchItemFailures %v, want only message 2 (its object was never confirmed)", r.BatchItemFailures)
	}
}

// TestMultiRecordReceiptsComplete: a non-SQS notification with many records
// ships them concurrently and returns every receipt, in record order; one
// failure fails the invocation.
func TestMultiRecordReceiptsComplete(t *testing.T) {
	keys := keysFor(1, 25)
	s := &slowShipper{delay: func(key string) time.Duration { return time.Duration(len(key)%7) * time.Millisecond }}
	h := &handler.S3Handler{Function: "cloudtrail", Ship: s, Log: discardLog()}
	resp, err := h.Invoke(lambdaCtx(), multiRecord(t, keys, 100))
	if err != nil {
		t.Fatal(err)
	}
	recs := resp.(handler.Response).Receipts
	if len(recs) != len(keys) {
		t.Fatalf("%d receipts, want %d", len(recs), len(keys))
	}
	for i, r := range recs {
		if r.Key != "cloudtrail/"+bucket+"/"+keys[i] || r.VersionID == "" {
			t.Errorf("receipt %d: %+v, want key %s with a version", i, r, keys[i])
		}
	}
	s2 := &slowShipper{fail: map[string]bool{keys[24]: true}}
	h.Ship = s2
	if _, err := h.Invoke(lambdaCtx(), multiRecord(t, keys, 100)); err == nil || !strings.Contains(err.Error(), "SlowDown") {
		t.Errorf("Invoke error %v, want the failed record's cause", err)
	}
	if len(s2.calls) != 25 {
		t.Errorf("%d of 25 records shipped", len(s2.calls))
	}
}

// TestLargeObjectsShipAlone: an object copied in parts takes the whole
// memory budget, so nothing else is in flight beside it.
func TestLargeObjectsShipAlone(t *testing.T) {
	var bodies [][]byte
	for i := 1; i <= 6; i++ {
		size := int64(50 << 10)
		if i%2 == 0 {
			size = 300 << 20
		}
		bodies = append(bodies, multiRecord(t, keysFor(i, 3), size))
	}
	s := &slowShipper{delay: func(string) time.Duration { return 2 * time.Millisecond }}
	h := &handler.S3Handler{Function: "billing", Ship: s, Log: discardLog()}
	if _, err := h.Invoke(lambdaCtx(), eventgen.SQS(bodies...)); err != nil {
		t.Fatal(err)
	}
	if s.largeWith != 0 {
		t.Errorf("%d shipments in flight beside a large object, want none", s.largeWith)
	}
	if s.maxSeen.Load() < 3 {
		t.Errorf("small objects were not shipped concurrently (at most %d in flight)", s.maxSeen.Load())
	}
}

func discardLog() *slog.Logger { return slog.New(slog.NewJSONHandler(io.Discard, nil)) }

func jsonLog(w io.Writer) *slog.Logger { return slog.New(slog.NewJSONHandler(w, nil)) }
