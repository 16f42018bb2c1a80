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
	if _, ok := resp.(events.SQSEventResponse); ok {
		return resp, nil // failures travel in BatchItemFailures
	}
	return resp, err
}

// Invoke is Handle with the causes of SQS message failures kept: it returns
// the response Lambda would get and, for an SQS batch, an error naming each
// failed message and why.
func (h *S3Handler) Invoke(ctx context.Context, payload json.RawMessage) (any, error) {
	batch, err := trigger.Decode(payload)
	if err != nil {
		h.Log.ErrorContext(ctx, "event rejected", append([]any{"function", h.Function, "request_id", requestID(ctx), "outcome", "failed", "error", err.Error()}, emf("failed", 0, 0)...)...)
		return nil, err
	}
	if batch.FromSQS {
		resp := events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{}}
		var errs []error
		for _, m := range batch.Messages {
			if err := h.shipMessage(ctx, m, nil); err != nil {
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: m.ID})
				errs = append(errs, fmt.Errorf("SQS message %s: %w", m.ID, err))
			}
		}
		return resp, errors.Join(errs...)
	}
	resp := Response{Receipts: []vault.Receipt{}}
	var errs []error
	for _, m := range batch.Messages {
		if m.Test {
			resp.Ignored = "s3:TestEvent"
		}
		if err := h.shipMessage(ctx, m, &resp.Receipts); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return resp, nil
}

// shipMessage ships every object of m; the first failure fails the message
// (the rest would be re-shipped as duplicates on retry, which is harmless).
func (h *S3Handler) shipMessage(ctx context.Context, m trigger.Message, out *[]vault.Receipt) error {
	log := h.Log.With("function", h.Function, "request_id", requestID(ctx))
	if m.ID != "" {
		log = log.With("message_id", m.ID)
	}
	if m.Err != nil {
		log.ErrorContext(ctx, "message rejected", append([]any{"outcome", "failed", "error", m.Err.Error()}, emf("failed", 0, 0)...)...)
		return m.Err
	}
	if m.Test {
		log.InfoContext(ctx, "s3:TestEvent acknowledged and ignored")
		return nil
	}
	for _, ref := range m.Objects {
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
			return err
		}
		logReceipt(ctx, log, rec, d, attrs)
		if out != nil {
			*out = append(*out, rec)
		}
	}
	return nil
}

// logReceipt writes the one JSON line every outcome gets.
func logReceipt(ctx context.Context, log *slog.Logger, rec vault.Receipt, d time.Duration, attrs []any) {
	attrs = append(attrs, "kind", string(rec.Kind), "version_id", rec.VersionID, "sha256", rec.SHA256,
		"bytes", rec.Bytes, "outcome", string(rec.Outcome))
	log.InfoContext(ctx, "shipped", append(attrs, emf(string(rec.Outcome), rec.Bytes, d)...)...)
}

func requestID(ctx context.Context) string {
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		return lc.AwsRequestID
	}
	return ""
}
