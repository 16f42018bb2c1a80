package handler_test

import (
	"errors"
	"testing"

	"github.com/logvault/logvault/internal/eventgen"
	"github.com/logvault/logvault/internal/vault"
)

// TestEmbeddedMetrics parses the emitted lines as CloudWatch would: each
// outcome's line is an EMF document whose metrics add up to what happened.
func TestEmbeddedMetrics(t *testing.T) {
	f := &fakeShipper{
		fail:    map[string]error{"AWSLogs/fail.json.gz": errors.New("vault: put: AccessDenied")},
		outcome: map[string]vault.Outcome{"AWSLogs/dup.json.gz": vault.Duplicate, "AWSLogs/over.json.gz": vault.Overwrote},
	}
	h, buf := newHandler(f)
	var bodies [][]byte
	sizes := map[string]int64{"AWSLogs/new.json.gz": 100, "AWSLogs/dup.json.gz": 20, "AWSLogs/over.json.gz": 3, "AWSLogs/fail.json.gz": 7}
	for _, k := range []string{"AWSLogs/new.json.gz", "AWSLogs/dup.json.gz", "AWSLogs/over.json.gz", "AWSLogs/fail.json.gz"} {
		o := object(k)
		o.Size = sizes[k]
		bodies = append(bodies, build(t, "s3-put", o))
	}
	bodies = append(bodies, []byte("not json"))
	if _, err := h.Handle(lambdaCtx(), eventgen.SQS(bodies...)); err != nil {
		t.Fatal(err)
	}
	totals := map[string]float64{}
	lines := logLines(t, buf)
	for _, l := range lines {
		aws, ok := l["_aws"].(map[string]any)
		if !ok {
			t.Fatalf("line without _aws: %v", l)
		}
		if _, ok := aws["Timestamp"].(float64); !ok {
			t.Errorf("_aws.Timestamp missing: %v", aws)
		}
		cwm, _ := aws["CloudWatchMetrics"].([]any)
		if len(cwm) != 1 {
			t.Fatalf("CloudWatchMetrics = %v", aws["CloudWatchMetrics"])
		}
		d := cwm[0].(map[string]any)
		if d["Namespace"] != "logvault" {
			t.Errorf("Namespace = %v", d["Namespace"])
		}
		for _, set := range d["Dimensions"].([]any) {
			for _, dim := range set.([]any) {
				if _, ok := l[dim.(string)].(string); !ok {
					t.Errorf("dimension %v is not a field of the line", dim)
				}
			}
		}
		for _, m := range d["Metrics"].([]any) {
			name := m.(map[string]any)["Name"].(string)
			v, ok := l[name].(float64)
			if !ok {
				t.Fatalf("metric %s has no numeric value in %v", name, l)
			}
			totals[name] += v
		}
	}
	want := map[string]float64{"Shipped": 3, "Bytes": 123, "Duplicates": 1, "Overwrites": 1, "Failures": 2}
	for k, v := range want {
		if totals[k] != v {
			t.Errorf("%s adds up to %v, want %v (lines: %d)", k, totals[k], v, len(lines))
		}
	}
}
