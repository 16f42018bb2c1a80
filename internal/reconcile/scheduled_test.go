package reconcile_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/logvault/logvault/internal/reconcile"
	"github.com/logvault/logvault/internal/schema"
)

// The daily run reconciles every configured source over its window and
// writes Missing and Differs as EMF metrics of the reconcile function.
func TestScheduled(t *testing.T) {
	e := newEnv(t, false)
	for i, k := range oddKeys[:5] {
		e.put(t, k, body(i, k))
	}
	if _, err := reconcile.Backfill(context.Background(), reconcile.BackfillOptions{Options: e.opts(), Ship: e.ship}); err != nil {
		t.Fatal(err)
	}
	e.put(t, "late one", []byte("not shipped"))
	e.put(t, oddKeys[0], []byte("overwritten in the source"))

	var logs bytes.Buffer
	h := &reconcile.Scheduled{Buckets: map[string][]string{schema.FunctionCloudTrail: {src}}, Days: 1, Base: e.opts(),
		Log: slog.New(slog.NewJSONHandler(&logs, nil)), Now: func() time.Time { return time.Now().Add(2 * time.Hour) }}
	out, err := h.Handle(context.Background(), json.RawMessage(`{"detail-type":"Scheduled Event","source":"aws.events"}`))
	if err != nil {
		t.Fatal(err)
	}
	res := out.(reconcile.ScheduledResult)
	if len(res.Sources) != 1 || res.Sources[0].Missing != 1 || res.Sources[0].Differs != 1 || res.Sources[0].Listed != 6 {
		t.Fatalf("result %+v: want 6 listed, 1 missing, 1 differs", res)
	}
	var metric map[string]any
	text := logs.String()
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		var line map[string]any
		if json.Unmarshal(sc.Bytes(), &line) == nil && line["_aws"] != nil {
			metric = line
		}
	}
	if metric == nil || metric["function"] != "reconcile" || metric["Missing"] != 1.0 || metric["Differs"] != 1.0 ||
		!strings.Contains(text, `"Namespace":"logvault"`) {
		t.Fatalf("EMF line %v, want function=reconcile Missing=1 Differs=1 in namespace logvault\n%s", metric, text)
	}

	// Objects newer than the grace period are not judged: the functions may be shipping them.
	h.Now = time.Now
	out, err = h.Handle(context.Background(), nil)
	if err != nil || out.(reconcile.ScheduledResult).Sources[0].Listed != 0 {
		t.Fatalf("within the grace period: %+v, %v", out, err)
	}

	// No source configured is a failed run, naming the settings.
	h.Buckets = nil
	if _, err := h.Handle(context.Background(), nil); err == nil || !strings.Contains(err.Error(), "RECONCILE_CLOUDTRAIL_BUCKETS") {
		t.Fatalf("no sources: %v", err)
	}
}
