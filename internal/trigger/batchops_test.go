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

// Payloads as AWS's documentation shows them, not built by eventgen: the
// schema 1.0 example's bucket ARN carries a region and an account, and keys
// come URL-encoded ("+" is a space, "%2B" a plus).
func TestBatchOperationsAWSExamples(t *testing.T) {
	for payload, want := range map[string]trigger.ObjectRef{
		`{"invocationSchemaVersion":"1.0","invocationId":"YXNkbGZqYWRmaiBhc2RmdW9hZHNmZGpmaGFzbGtkaGZza2RmaAo","job":{"id":"f3cc4f60-61f6-4a2b-8a21-d07600c373ce"},
		  "tasks":[{"taskId":"dGFza2lkZ29lc2hlcmUK","s3Key":"customerImage1.jpg","s3VersionId":"1","s3BucketArn":"arn:aws:s3:us-east-1:0123456788:examplebucket"}]}`: {
			Bucket: "examplebucket", Key: "customerImage1.jpg", VersionID: "1", EventName: "BatchOperations:LambdaInvoke"},
		`{"invocationSchemaVersion":"2.0","invocationId":"YXNkbGZqYWRmaiBhc2RmdW9hZHNmZGpmaGFzbGtkaGZza2RmaAo","job":{"id":"f3cc4f60-61f6-4a2b-8a21-d07600c373ce","userArguments":{"k1":"v1"}},
		  "tasks":[{"taskId":"dGFza2lkZ29lc2hlcmUK","s3Key":"a+b%2Bc/%C3%A9.json","s3VersionId":null,"s3Bucket":"amzn-s3-demo-bucket"}]}`: {
			Bucket: "amzn-s3-demo-bucket", Key: "a b+c/é.json", EventName: "BatchOperations:LambdaInvoke"},
	} {
		b, err := trigger.Decode([]byte(payload))
		if err != nil {
			t.Fatal(err)
		}
		if len(b.Messages) != 1 || b.Messages[0].ID != "dGFza2lkZ29lc2hlcmUK" || len(b.Messages[0].Objects) != 1 || b.Messages[0].Objects[0] != want {
			t.Errorf("Decode(%.60s…) = %+v, want one task announcing %+v", payload, b.Messages, want)
		}
	}
}
