package handler

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/logvault/logvault/internal/cwlogs"
	"github.com/logvault/logvault/internal/schema"
	"github.com/logvault/logvault/internal/ship"
	"github.com/logvault/logvault/internal/vault"
)

// AppLogsHandler handles CloudWatch Logs subscription events.
type AppLogsHandler struct {
	Function string
	Ship     ship.LogsShipper
	Log      *slog.Logger
}

// Handle is the Lambda entry point: an error makes Lambda retry the payload
// (asynchronous invocation), which maps to the same key and bytes.
func (h *AppLogsHandler) Handle(ctx context.Context, payload json.RawMessage) (any, error) {
	return h.Invoke(ctx, payload)
}

// Invoke decodes the payload, ignores control messages and ships data messages.
func (h *AppLogsHandler) Invoke(ctx context.Context, payload json.RawMessage) (any, error) {
	log := h.Log.With("function", h.Function, "request_id", requestID(ctx))
	d, err := cwlogs.Decode(payload)
	if err != nil {
		log.ErrorContext(ctx, "event rejected", append([]any{"outcome", "failed", "error", err.Error()}, emf("failed", 0, 0)...)...)
		return nil, err
	}
	if d.MessageType == cwlogs.ControlMessage {
		log.InfoContext(ctx, "CONTROL_MESSAGE acknowledged and ignored")
		return Response{Receipts: []vault.Receipt{}, Ignored: cwlogs.ControlMessage}, nil
	}
	start := time.Now()
	rec, err := h.Ship.Ship(ctx, d)
	took := time.Since(start)
	attrs := []any{"source", schema.AppLogsSource(d.Owner, d.LogGroup, d.LogStream), "key", rec.Key,
		"events", d.Len(), "duration_ms", took.Milliseconds()}
	if err != nil {
		log.ErrorContext(ctx, "shipment failed", append(append(attrs, "outcome", "failed", "error", err.Error()), emf("failed", 0, took)...)...)
		return nil, err
	}
	logReceipt(ctx, log, rec, took, attrs)
	return Response{Receipts: []vault.Receipt{rec}}, nil
}
