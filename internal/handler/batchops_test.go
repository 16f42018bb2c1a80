package handler_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/smithy-go"

	"github.com/logvault/logvault/internal/eventgen"
	"github.com/logvault/logvault/internal/handler"
	"github.com/logvault/logvault/internal/source"
)

// A Batch Operations invocation gets one result per task, in task order:
// Succeeded for shipped objects, TemporaryFailure where a retry may help,
// PermanentFailure where it cannot; Lambda itself sees no error.
func TestBatchOperationsResults(t *testing.T) {
	tasks := []struct {
		key      string
		fail     error
		wantCode string
	}{
		{"AWSLogs/1/CloudTrail/us-east-1/2026/11/26/ok.json.gz", nil, handler.BatchSucceeded},
		{"gone.json", fmt.Errorf("source: s3://b/gone.json: %w (NoSuchKey)", source.ErrNotFound), handler.BatchPermanentFailure},
		{"slow.json", &smithy.GenericAPIError{Code: "SlowDown", Message: "Please reduce your request rate."}, handler.BatchTemporaryFailure},
		{"throttled.json", &smithy.GenericAPIError{Code: "ThrottlingException"}, handler.BatchTemporaryFailure},
		{"expired.json", &smithy.GenericAPIError{Code: "ExpiredToken"}, handler.BatchTemporaryFailure},
		{"refused.json", &smithy.GenericAPIError{Code: "AccessDenied", Message: "Access Denied"}, handler.BatchPermanentFailure},
		{strings.Repeat("k", 1100), fmt.Errorf("schema: the vault key would be over S3's limit"), handler.BatchPermanentFailure},
	}
	for _, version := range []string{"1.0", "2.0"} {
		t.Run(version, func(t *testing.T) {
			f := &fakeShipper{fail: map[string]error{}}
			var objs []eventgen.Object
			for _, tk := range tasks {
				objs = append(objs, eventgen.Object{Bucket: bucket, Key: tk.key})
				if tk.fail != nil {
					f.fail[tk.key] = tk.fail
				}
			}
			h, _ := newHandler(f)
			payload := eventgen.BatchJob(version, objs...)
			got, err := h.Handle(lambdaCtx(), payload)
			if err != nil {
				t.Fatalf("Handle: %v (Batch Operations failures travel in the results)", err)
			}
			resp, ok := got.(events.S3BatchJobResponse)
			if !ok {
				t.Fatalf("response %T, want events.S3BatchJobResponse", got)
			}
			var in struct {
				InvocationID string `json:"invocationId"`
				Tasks        []struct {
					TaskID string `json:"taskId"`
				} `json:"tasks"`
			}
			if err := json.Unmarshal(payload, &in); err != nil {
				t.Fatal(err)
			}
			if resp.InvocationSchemaVersion != version || resp.InvocationID != in.InvocationID || resp.TreatMissingKeysAs != handler.BatchPermanentFailure {
				t.Errorf("response header %+v: want schema %s, invocation %s, missing keys PermanentFailure", resp, version, in.InvocationID)
			}
			if len(resp.Results) != len(tasks) {
				t.Fatalf("%d results, want %d", len(resp.Results), len(tasks))
			}
			for i, r := range resp.Results {
				if r.TaskID != in.Tasks[i].TaskID || r.ResultCode != tasks[i].wantCode {
					t.Errorf("task %d (%.40s): %s %s, want %s %s", i, tasks[i].key, r.TaskID, r.ResultCode, in.Tasks[i].TaskID, tasks[i].wantCode)
				}
				if r.ResultString == "" || len(r.ResultString) > 1000 {
					t.Errorf("task %d: result string %q: want a short explanation", i, r.ResultString)
				}
			}
			if want := "created cloudtrail/" + bucket + "/" + tasks[0].key; !strings.HasPrefix(resp.Results[0].ResultString, want) {
				t.Errorf("result string %q, want it to start %q", resp.Results[0].ResultString, want)
			}
			// Invoke (what `logvault invoke` prints) names every failed task.
			if _, err := h.Invoke(lambdaCtx(), payload); err == nil || !strings.Contains(err.Error(), "PermanentFailure") {
				t.Errorf("Invoke error %v: want the failed tasks named", err)
			}
		})
	}
}
