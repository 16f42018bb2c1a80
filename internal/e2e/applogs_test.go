//go:build integration

package e2e

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/klauspost/compress/gzip"

	"github.com/logvault/logvault/internal/eventgen"
	"github.com/logvault/logvault/internal/schema"
)

func logsData(stream string, msgs ...string) events.CloudwatchLogsData {
	d := events.CloudwatchLogsData{
		Owner: "222222222222", LogGroup: "/aws/lambda/checkout", LogStream: stream,
		SubscriptionFilters: []string{"logvault"}, MessageType: "DATA_MESSAGE",
	}
	ts := time.Date(2026, 11, 26, 23, 59, 59, 0, time.UTC).UnixMilli()
	for i, m := range msgs {
		d.LogEvents = append(d.LogEvents, events.CloudwatchLogsLogEvent{
			ID: fmt.Sprintf("3726352%045d", i), Timestamp: ts + int64(i), Message: m,
		})
	}
	return d
}

// vaultLines reads the NDJSON the vault holds under key.
func vaultLines(t *testing.T, key string) []map[string]any {
	t.Helper()
	_, meta := hashVault(t, key, "")
	if meta[schema.MetaKind] != "applogs" || !strings.HasPrefix(meta[schema.MetaSource], "cwlogs://222222222222/") {
		t.Errorf("metadata %v", meta)
	}
	body := getVault(t, key)
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("vault object is not gzip: %v", err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSuffix(string(plain), "\n"), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("line %q is not JSON: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

func TestAppLogs(t *testing.T) {
	long := strings.Repeat("日本語 and ASCII, 🚀 ", 200<<10/26)
	d := logsData("2026/11/26/[$LATEST]0123456789abcdef",
		"START RequestId: 1",
		"panic: boom\n\tgoroutine 1 [running]:\n\tmain.main()\r\n",
		`{"level":"info","msg":"<ok> & done"}`,
		long,
		"héllo wörld — ☃",
	)
	payload := eventgen.CloudWatchLogs(d)
	key, _ := schema.AppLogsKey(d.Owner, d.LogGroup, d.LogStream, d.LogEvents[0].ID, d.LogEvents[0].Timestamp)
	before := vaultVersionCount(t)
	for i := 0; i < 2; i++ {
		if r := invoke(t, "applogs", payload, nil); r.code != 0 {
			t.Fatalf("delivery %d: exit %d: %s", i+1, r.code, r.stderr)
		}
	}
	if n := len(versions(t, key)); n != 1 {
		t.Fatalf("the same payload twice made %d versions of %s, want 1", n, key)
	}
	if after := vaultVersionCount(t); after-before != 1 {
		t.Errorf("wrote %d versions, want 1", after-before)
	}
	lines := vaultLines(t, key)
	if len(lines) != len(d.LogEvents) {
		t.Fatalf("%d lines, want %d", len(lines), len(d.LogEvents))
	}
	for i, e := range d.LogEvents {
		l := lines[i]
		if l["id"] != e.ID || l["message"] != e.Message || l["timestamp"] != float64(e.Timestamp) ||
			l["owner"] != d.Owner || l["logGroup"] != d.LogGroup || l["logStream"] != d.LogStream {
			t.Errorf("line %d = %.200v, want event %s", i, l, e.ID)
		}
	}
}

func TestAppLogsControlAndBadPayloads(t *testing.T) {
	control := eventgen.CloudWatchLogs(events.CloudwatchLogsData{MessageType: "CONTROL_MESSAGE", Owner: "CloudwatchLogs", LogGroup: "", LogStream: "",
		LogEvents: []events.CloudwatchLogsLogEvent{{ID: "", Timestamp: 1, Message: "CWL CONTROL MESSAGE: Checking health of destination Firehose."}}})
	valid := eventgen.CloudWatchLogs(logsData("bad-payloads", "x"))
	var ev struct {
		AWSLogs struct{ Data string } `json:"awslogs"`
	}
	json.Unmarshal(valid, &ev)
	raw, _ := base64.StdEncoding.DecodeString(ev.AWSLogs.Data)
	truncated := fmt.Sprintf(`{"awslogs":{"data":%q}}`, base64.StdEncoding.EncodeToString(raw[:len(raw)/2]))
	tests := []struct {
		name    string
		payload []byte
		code    int
		want    string
	}{
		{"control message", control, 0, ""},
		{"truncated gzip", []byte(truncated), 1, "gzip"},
		{"invalid base64", []byte(`{"awslogs":{"data":"H4sI!!!not base64"}}`), 1, "base64"},
		{"no awslogs.data", []byte(`{"Records":[]}`), 1, "awslogs.data"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := vaultVersionCount(t)
			r := invoke(t, "applogs", tt.payload, nil)
			if r.code != tt.code {
				t.Fatalf("exit %d, want %d: %s", r.code, tt.code, r.stderr)
			}
			if tt.want != "" && !strings.Contains(r.lastLine(), tt.want) {
				t.Errorf("last line %q does not name %q", r.lastLine(), tt.want)
			}
			if after := vaultVersionCount(t); after != before {
				t.Errorf("wrote %d versions", after-before)
			}
		})
	}
}
