package reconcile

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sort"
	"time"

	"github.com/logvault/logvault/internal/handler"
)

// Scheduled is the reconcile function: run daily by an EventBridge
// schedule, it reconciles the previous days of every configured source and
// emits Missing and Differs as CloudWatch Embedded Metric Format metrics
// (dimension function=reconcile), which the template alarms on.
type Scheduled struct {
	// Buckets are the sources by the function that ships them.
	Buckets map[string][]string
	// Days is how many previous days (by LastModified) each run compares.
	Days int
	// Base carries the clients, the vault and the workers.
	Base Options
	Log  *slog.Logger
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Function is the reconcile function's name (its metrics' dimension).
const Function = "reconcile"

// Grace is how recent a source object may be and still not be judged: the
// functions may be shipping it right now.
const Grace = time.Hour

// maxLogged bounds the missing or differing objects named in the log per
// source and state (the metrics count them all).
const maxLogged = 100

// ScheduledResult is what one run answers.
type ScheduledResult struct {
	Since   string          `json:"since"`
	Until   string          `json:"until"`
	Sources []SourceOutcome `json:"sources"`
}

// SourceOutcome is one source's counts.
type SourceOutcome struct {
	Source  string `json:"source"`
	Listed  int    `json:"listed"`
	Missing int    `json:"missing"`
	Differs int    `json:"differs"`
	Error   string `json:"error,omitempty"`
}

// Handle is the Lambda entry point; the payload (the schedule's event) is
// not read.
func (h *Scheduled) Handle(ctx context.Context, payload json.RawMessage) (any, error) {
	return h.Invoke(ctx, payload)
}

// Invoke reconciles every source; a source that cannot be reconciled fails
// the run (the function's Errors alarm) after the others are done.
func (h *Scheduled) Invoke(ctx context.Context, _ json.RawMessage) (any, error) {
	now := time.Now
	if h.Now != nil {
		now = h.Now
	}
	t := now().UTC()
	midnight := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	win := Window{Since: midnight.AddDate(0, 0, -h.Days), Until: t.Add(-Grace)}
	res := ScheduledResult{Since: win.Since.Format(time.RFC3339), Until: win.Until.Format(time.RFC3339), Sources: []SourceOutcome{}}
	fns := make([]string, 0, len(h.Buckets))
	for fn := range h.Buckets {
		fns = append(fns, fn)
	}
	sort.Strings(fns)
	if len(fns) == 0 {
		return nil, errors.New("reconcile: no source buckets (RECONCILE_CLOUDTRAIL_BUCKETS, RECONCILE_BILLING_BUCKETS)")
	}
	var errs []error
	for _, fn := range fns {
		for _, b := range h.Buckets[fn] {
			o := h.Base
			o.Source, o.Function, o.Window, o.MaxItems = Source{Bucket: b}, fn, win, maxLogged
			rep, err := Run(ctx, o)
			out := SourceOutcome{Source: o.Source.String()}
			if err != nil {
				out.Error = err.Error()
				errs = append(errs, err)
				h.Log.ErrorContext(ctx, "reconcile failed", "function", Function, "source", out.Source, "error", err.Error())
				res.Sources = append(res.Sources, out)
				continue
			}
			out.Listed, out.Missing, out.Differs = rep.Listed, rep.Counts.Missing, rep.Counts.Differs
			res.Sources = append(res.Sources, out)
			for i, it := range append(rep.Missing, rep.Differs...) {
				state := "missing"
				if i >= len(rep.Missing) {
					state = "differs"
				}
				h.Log.WarnContext(ctx, "not in the vault", "function", Function, "state", state, "source", it.Source, "key", it.VaultKey, "reason", it.Reason)
			}
			h.Log.InfoContext(ctx, "reconciled", append([]any{"function", Function, "source", out.Source, "since", res.Since, "until", res.Until,
				"in_vault", rep.InVault, "hashed", len(rep.Hashed)}, metrics(out)...)...)
		}
	}
	return res, errors.Join(errs...)
}

// metrics makes a source's outcome line an Embedded Metric Format document:
// Listed, Missing and Differs under the function dimension.
func metrics(o SourceOutcome) []any {
	return []any{
		"_aws", map[string]any{
			"Timestamp": time.Now().UnixMilli(),
			"CloudWatchMetrics": []any{map[string]any{
				"Namespace":  handler.Namespace,
				"Dimensions": [][]string{{"function"}},
				"Metrics": []map[string]string{
					{"Name": "Listed", "Unit": "Count"},
					{"Name": "Missing", "Unit": "Count"},
					{"Name": "Differs", "Unit": "Count"},
				},
			}},
		},
		"Listed", o.Listed, "Missing", o.Missing, "Differs", o.Differs,
	}
}
