package trigger

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
)

// BatchJob is an S3 Batch Operations LambdaInvoke invocation: each task is
// one Message (ID = task id) answered with its own result code.
type BatchJob struct {
	SchemaVersion string // "1.0" or "2.0"
	InvocationID  string
	JobID         string
}

// batchOpsEventName is the EventName of references from Batch Operations tasks.
const batchOpsEventName = "BatchOperations:LambdaInvoke"

// decodeBatchJob decodes a Batch Operations invocation (schemas 1.0 and 2.0).
// A task that cannot be read gets Message.Err, so it alone fails.
func decodeBatchJob(o object) (Batch, error) {
	var head struct {
		SchemaVersion string `json:"invocationSchemaVersion"`
	}
	if err := json.Unmarshal(o.raw, &head); err != nil {
		return Batch{}, fmt.Errorf("S3 Batch Operations invocation: %w", err)
	}
	var job BatchJob
	var tasks []batchTask
	switch head.SchemaVersion {
	case "1.0":
		var e events.S3BatchJobEvent
		if err := json.Unmarshal(o.raw, &e); err != nil {
			return Batch{}, fmt.Errorf("S3 Batch Operations invocation (schema 1.0): %w", err)
		}
		job = BatchJob{SchemaVersion: e.InvocationSchemaVersion, InvocationID: e.InvocationID, JobID: e.Job.ID}
		for _, t := range e.Tasks {
			tasks = append(tasks, batchTask{id: t.TaskID, key: t.S3Key, versionID: t.S3VersionID, bucketARN: t.S3BucketARN})
		}
	case "2.0":
		var e events.S3BatchJobEventV2
		if err := json.Unmarshal(o.raw, &e); err != nil {
			return Batch{}, fmt.Errorf("S3 Batch Operations invocation (schema 2.0): %w", err)
		}
		job = BatchJob{SchemaVersion: e.InvocationSchemaVersion, InvocationID: e.InvocationID, JobID: e.Job.ID}
		for _, t := range e.Tasks {
			tasks = append(tasks, batchTask{id: t.TaskID, key: t.S3Key, versionID: t.S3VersionID, bucket: t.S3Bucket})
		}
	default:
		return Batch{}, fmt.Errorf("S3 Batch Operations invocationSchemaVersion %s is not supported (1.0 and 2.0 are)", quote(head.SchemaVersion))
	}
	if job.InvocationID == "" {
		return Batch{}, errors.New("S3 Batch Operations invocation has no invocationId")
	}
	if len(tasks) == 0 {
		return Batch{}, errors.New("S3 Batch Operations invocation has no tasks")
	}
	b := Batch{BatchJob: &job, Messages: make([]Message, len(tasks))}
	for i, t := range tasks {
		if t.id == "" {
			return Batch{}, fmt.Errorf("S3 Batch Operations tasks[%d] has no taskId: its result could not be reported", i)
		}
		ref, err := t.ref()
		b.Messages[i] = Message{ID: t.id, Err: err}
		if err == nil {
			b.Messages[i].Objects = []ObjectRef{ref}
		}
	}
	return b, nil
}

// batchTask is what both schemas say of one task.
type batchTask struct {
	id, key, versionID string
	bucketARN          string // schema 1.0: arn:aws:s3:::bucket
	bucket             string // schema 2.0
}

// ref turns a task into a reference to its object. Keys come as the manifest
// holds them: URL-encoded, as S3 Inventory writes them and CSV manifests
// must ("+" is a space), so they are decoded as S3 notification keys are.
func (t batchTask) ref() (ObjectRef, error) {
	bucket := t.bucket
	if t.bucketARN != "" {
		// arn:partition:s3:::bucket (the region and account fields may be filled).
		parts := strings.SplitN(t.bucketARN, ":", 6)
		if len(parts) != 6 || parts[0] != "arn" || parts[2] != "s3" || parts[5] == "" || strings.Contains(parts[5], "/") {
			return ObjectRef{}, fmt.Errorf("task %s: s3BucketArn %s is not an S3 bucket ARN", t.id, quote(t.bucketARN))
		}
		bucket = parts[5]
	}
	key, err := url.QueryUnescape(t.key)
	if err != nil {
		return ObjectRef{}, fmt.Errorf("task %s: s3Key %s is not URL-encoded correctly: %w", t.id, quote(t.key), err)
	}
	if !utf8.ValidString(key) {
		return ObjectRef{}, fmt.Errorf("task %s: s3Key %s decodes to invalid UTF-8", t.id, quote(t.key))
	}
	ref, err := objectRef(bucket, key, t.versionID, "", 0, batchOpsEventName, time.Time{})
	if err != nil {
		return ObjectRef{}, fmt.Errorf("task %s: %w", t.id, err)
	}
	return ref, nil
}
