// Package handler turns a Lambda invocation into shipments: it decodes the
// trigger, ships every announced object, logs one receipt line per outcome,
// and reports failures so Lambda delivers the event again.
package handler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/logvault/logvault/internal/trigger"
	"github.com/logvault/logvault/internal/vault"
)

// Shipper moves one announced object into the vault.
type Shipper interface {
	Ship(ctx context.Context, ref trigger.ObjectRef) (vault.Receipt, error)
}

// S3Handler handles every S3-notification trigger shape of a copying function.
type S3Handler struct {
	Function string
	Ship     Shipper
	Log      *slog.Logger
	// Concurrency overrides DefaultConcurrency when positive.
	Concurrency int
	// MemoryBudget overrides DefaultMemoryBudget when positive.
	MemoryBudget int64
}

// Response is what a non-SQS invocation returns when every object shipped.
type Response struct {
	Receipts []vault.Receipt `json:"receipts"`
	Ignored  string          `json:"ignored,omitempty"`
}

// Handle is the Lambda entry point. SQS batches get a partial batch
// response (only failed messages come back); other shapes fail as a whole,
// so Lambda retries the event.
func (h *S3Handler) Handle(ctx context.Context, payload json.RawMessage) (any, error) {
	resp, err := h.Invoke(ctx, payload)
	switch resp.(type) {
	case events.SQSEventResponse:
		return resp, nil // failures travel in BatchItemFailures
	case events.S3BatchJobResponse:
		return resp, nil // failures travel in each task's result code
	}
	return resp, err
}

// Invoke is Handle with the causes of SQS message failures kept: it returns
// the response Lambda would get and, for an SQS batch, an error naming each
// failed message and why.
//
// The objects of all messages are shipped concurrently (see Concurrency and
// MemoryBudget); the response is built only once every shipment has
// returned, so a message is acknowledged only when every one of its objects
// is confirmed in the vault.
func (h *S3Handler) Invoke(ctx context.Context, payload json.RawMessage) (any, error) {
	batch, err := trigger.Decode(payload)
	if err != nil {
		h.Log.ErrorContext(ctx, "event rejected", append([]any{"function", h.Function, "request_id", requestID(ctx), "outcome", "failed", "error", err.Error()}, emf("failed", 0, 0)...)...)
		return nil, err
	}
	results := h.shipAll(ctx, batch.Messages)
	if batch.BatchJob != nil {
		return batchJobResponse(*batch.BatchJob, batch.Messages, results)
	}
	if batch.FromSQS {
		resp := events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{}}
		var errs []error
		for i, m := range batch.Messages {
			if err := results[i].err; err != nil {
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.ID})
				errs = append(errs, fmt.Errorf("SQS message %s: %w", m.ID, err))
			}
		}
		return resp, errors.Join(errs...)
	}
	resp := Response{Receipts: []vault.Receipt{}}
	var errs []error
	for i, m := range batch.Messages {
		if m.Test {
			resp.Ignored = "s3:TestEvent"
		}
		if err := results[i].err; err != nil {
			errs = append(errs, err)
			continue
		}
		resp.Receipts = append(resp.Receipts, results[i].receipts...)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return resp, nil
}

// Concurrency bounds: at most DefaultConcurrency objects are shipped at
// once, and the objects in flight weigh at most DefaultMemoryBudget. An
// object weighs its announced size, at least DefaultMemoryBudget /
// DefaultConcurrency; one larger than ship.DefaultMemoryLimit (8 MiB) is
// copied through a multipart upload whose part buffers take the whole
// budget, so it ships alone. Memory therefore stays bounded whatever the
// batch holds, as it does for a single object.
const (
	DefaultConcurrency  = 16
	DefaultMemoryBudget = 32 << 20
	// largeObject is the size above which an object is copied in parts.
	largeObject = vault.MinPartSize
)

// messageResult is what shipping one message's objects came to.
type messageResult struct {
	receipts []vault.Receipt // in the message's object order, when err is nil
	err      error           // the first failure in object order
}

// shipAll ships the objects of every message concurrently, within the
// handler's bounds, and returns one result per message once all are done.
func (h *S3Handler) shipAll(ctx context.Context, msgs []trigger.Message) []messageResult {
	results := make([]messageResult, len(msgs))
	errs := make([][]error, len(msgs))
	budget := newBudget(h.memoryBudget())
	unit := h.memoryBudget() / int64(h.concurrency())
	var wg sync.WaitGroup
	for i, m := range msgs {
		log := h.Log.With("function", h.Function, "request_id", requestID(ctx))
		if m.ID != "" {
			log = log.With("message_id", m.ID)
		}
		if m.Err != nil {
			log.ErrorContext(ctx, "message rejected", append([]any{"outcome", "failed", "error", m.Err.Error()}, emf("failed", 0, 0)...)...)
			results[i].err = m.Err
			continue
		}
		if m.Test {
			log.InfoContext(ctx, "s3:TestEvent acknowledged and ignored")
			continue
		}
		results[i].receipts = make([]vault.Receipt, len(m.Objects))
		errs[i] = make([]error, len(m.Objects))
		for j, ref := range m.Objects {
			w := Weight(ref.Size, unit, budget.size)
			budget.acquire(w)
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer budget.release(w)
				results[i].receipts[j], errs[i][j] = h.shipObject(ctx, log, ref)
			}()
		}
	}
	wg.Wait()
	for i := range results {
		for _, err := range errs[i] {
			if err != nil {
				results[i].err, results[i].receipts = err, nil
				break
			}
		}
	}
	return results
}

// Weight is what an object of size bytes counts against a memory budget
// shared by objects shipped at once (unit = budget / concurrency): a large
// object, copied in parts, takes the whole budget.
func Weight(size, unit, budget int64) int64 {
	switch {
	case size > largeObject || size >= budget:
		return budget
	case size < unit:
		return unit
	}
	return size
}

// ShipOne ships one object and logs its receipt line as the function does
// for an announced object: the path of `logvault backfill`.
func (h *S3Handler) ShipOne(ctx context.Context, ref trigger.ObjectRef) (vault.Receipt, error) {
	return h.shipObject(ctx, h.Log.With("function", h.Function, "request_id", requestID(ctx)), ref)
}

// shipObject ships one object and logs its outcome line.
func (h *S3Handler) shipObject(ctx context.Context, log *slog.Logger, ref trigger.ObjectRef) (vault.Receipt, error) {
	start := time.Now()
	rec, err := h.Ship.Ship(ctx, ref)
	d := time.Since(start)
	attrs := []any{
		"source", fmt.Sprintf("s3://%s/%s", ref.Bucket, ref.Key),
		"key", rec.Key,
		"duration_ms", d.Milliseconds(),
	}
	if err != nil {
		log.ErrorContext(ctx, "shipment failed", append(append(attrs, "outcome", "failed", "error", err.Error()), emf("failed", 0, d)...)...)
		return rec, err
	}
	logReceipt(ctx, log, rec, d, attrs)
	return rec, nil
}

func (h *S3Handler) concurrency() int {
	if h.Concurrency > 0 {
		return h.Concurrency
	}
	return DefaultConcurrency
}

func (h *S3Handler) memoryBudget() int64 {
	if h.MemoryBudget > 0 {
		return h.MemoryBudget
	}
	return DefaultMemoryBudget
}

// budget is a weighted semaphore. Only the dispatching goroutine acquires,
// so objects start in the order announced and a large object cannot starve.
type budget struct {
	mu   sync.Mutex
	cond *sync.Cond
	size int64
	free int64
}

func newBudget(size int64) *budget {
	b := &budget{size: size, free: size}
	b.cond = sync.NewCond(&b.mu)
	return b
}

func (b *budget) acquire(n int64) {
	b.mu.Lock()
	for b.free < n {
		b.cond.Wait()
	}
	b.free -= n
	b.mu.Unlock()
}

func (b *budget) release(n int64) {
	b.mu.Lock()
	b.free += n
	b.mu.Unlock()
	b.cond.Broadcast()
}

// logReceipt writes the one JSON line every outcome gets.
func logReceipt(ctx context.Context, log *slog.Logger, rec vault.Receipt, d time.Duration, attrs []any) {
	attrs = append(attrs, "kind", string(rec.Kind), "version_id", rec.VersionID, "sha256", rec.SHA256,
		"bytes", rec.Bytes, "outcome", string(rec.Outcome))
	if rec.Supersedes != "" {
		attrs = append(attrs, "supersedes", rec.Supersedes)
	}
	if rec.Unconditional {
		attrs = append(attrs, "unconditional", true)
	}
	if rec.Copied {
		attrs = append(attrs, "copied", true)
	}
	if rec.Mismatch != "" || rec.Unconditional {
		// A current version claimed these bytes but S3's checksum (or its
		// readability) says otherwise, or the key changed under every
		// conditional write: tampering worth an operator's look.
		if rec.Mismatch != "" {
			attrs = append(attrs, "mismatch", rec.Mismatch)
		}
		log.WarnContext(ctx, "shipped", append(attrs, emf(string(rec.Outcome), rec.Bytes, d)...)...)
		return
	}
	log.InfoContext(ctx, "shipped", append(attrs, emf(string(rec.Outcome), rec.Bytes, d)...)...)
}

func requestID(ctx context.Context) string {
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		return lc.AwsRequestID
	}
	return ""
}
