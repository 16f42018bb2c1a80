package trigger_test

import (
	"strings"
	"testing"

	"github.com/logvault/logvault/internal/eventgen"
	"github.com/logvault/logvault/internal/trigger"
)

func TestBatchOperations(t *testing.T) {
	objs := []eventgen.Object{
		{Bucket: "trail", Key: "AWSLogs/1/CloudTrail/us-east-1/2026/11/26/a b+c%.json.gz"},
		{Bucket: "trail", Key: "é/ü/deep/x", VersionID: "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY"},
	}
	for _, version := range []string{"1.0", "2.0"} {
		t.Run(version, func(t *testing.T) {
			b, err := trigger.Decode(eventgen.BatchJob(version, objs...))
			if err != nil {
				t.Fatal(err)
			}
			if b.BatchJob == nil || b.BatchJob.SchemaVersion != version || b.BatchJob.InvocationID == "" || b.FromSQS {
				t.Fatalf("batch %+v: want a Batch Operations job of schema %s", b, version)
			}
			if len(b.Messages) != len(objs) {
				t.Fatalf("%d messages, want one per task (%d)", len(b.Messages), len(objs))
			}
			for i, m := range b.Messages {
				if m.Err != nil || m.ID == "" || len(m.Objects) != 1 {
					t.Fatalf("task %d: %+v", i, m)
				}
				got := m.Objects[0]
				if got.Bucket != objs[i].Bucket || got.Key != objs[i].Key || got.VersionID != objs[i].VersionID {
					t.Errorf("task %d: %+v, want bucket %s key %q version %q", i, got, objs[i].Bucket, objs[i].Key, objs[i].VersionID)
				}
			}
		})
	}
}

func TestBatchOperationsRefused(t *testing.T) {
	tests := []struct {
		name, payload string
		wantErr       string // of Decode; "" when only the task fails
		taskErr       string
	}{
		{"unknown schema", `{"invocationSchemaVersion":"3.0","invocationId":"i","job":{"id":"j"},"tasks":[{"taskId":"t","s3Key":"k","s3Bucket":"b"}]}`, "3.0", ""},
		{"no invocation id", `{"invocationSchemaVersion":"2.0","job":{"id":"j"},"tasks":[{"taskId":"t","s3Key":"k","s3Bucket":"b"}]}`, "invocationId", ""},
		{"no tasks", `{"invocationSchemaVersion":"2.0","invocationId":"i","job":{"id":"j"},"tasks":[]}`, "no tasks", ""},
		{"task without id", `{"invocationSchemaVersion":"2.0","invocationId":"i","job":{"id":"j"},"tasks":[{"s3Key":"k","s3Bucket":"b"}]}`, "taskId", ""},
		{"bad bucket ARN", `{"invocationSchemaVersion":"1.0","invocationId":"i","job":{"id":"j"},"tasks":[{"taskId":"t","s3Key":"k","s3BucketArn":"arn:aws:s3:::b/k"}]}`, "", "s3BucketArn"},
		{"bad key encoding", `{"invocationSchemaVersion":"2.0","invocationId":"i","job":{"id":"j"},"tasks":[{"taskId":"t","s3Key":"a%zz","s3Bucket":"b"}]}`, "", "URL-encoded"},
		{"no bucket", `{"invocationSchemaVersion":"2.0","invocationId":"i","job":{"id":"j"},"tasks":[{"taskId":"t","s3Key":"k"}]}`, "", "bucket"},
		{"tasks not an array", `{"invocationSchemaVersion":"2.0","invocationId":"i","job":{"id":"j"},"tasks":{}}`, "2.0", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := trigger.Decode([]byte(tt.payload))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Decode: %v, want an error naming %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(b.Messages) != 1 || b.Messages[0].Err == nil || !strings.Contains(b.Messages[0].Err.Error(), tt.taskErr) {
				t.Fatalf("messages %+v: want the task to fail naming %q", b.Messages, tt.taskErr)
			}
		})
	}
}
