// Package eventgen builds the trigger payloads AWS sends when an object is
// created, in every shape the functions accept, for the demo and the
// end-to-end tests (the recorded samples in events/ cover the same shapes).
package eventgen

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/klauspost/compress/gzip"
)

// Object is what a notification announces.
type Object struct {
	Bucket, Key, VersionID, ETag string
	Size                         int64
}

// Shapes lists every trigger shape, by the name the samples in events/ use.
var Shapes = []string{"s3-put", "sns", "eventbridge", "sqs-s3", "sqs-sns", "sqs-eventbridge"}

// Build returns the payload of shape announcing o.
func Build(shape string, o Object) ([]byte, error) {
	switch shape {
	case "s3-put":
		return s3Notification(o), nil
	case "sns":
		return snsEvent(string(s3Notification(o))), nil
	case "eventbridge":
		return eventBridge(o), nil
	case "sqs-s3":
		return SQS(s3Notification(o)), nil
	case "sqs-sns":
		return SQS(snsEnvelope(string(s3Notification(o)))), nil
	case "sqs-eventbridge":
		return SQS(eventBridge(o)), nil
	case "s3-test-event":
		return testEvent(o.Bucket), nil
	case "sqs-test-event":
		return SQS(testEvent(o.Bucket)), nil
	}
	return nil, fmt.Errorf("eventgen: unknown shape %q", shape)
}

// encodeKey encodes a key the way S3 notifications do (form encoding).
func encodeKey(k string) string { return url.QueryEscape(k) }

func s3Notification(o Object) []byte {
	obj := map[string]any{"key": encodeKey(o.Key), "size": o.Size, "eTag": o.ETag, "sequencer": "0062E99A88DC407460"}
	if o.VersionID != "" {
		obj["versionId"] = o.VersionID
	}
	return mustJSON(map[string]any{"Records": []any{map[string]any{
		"eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
		"eventTime": time.Now().UTC().Format("2006-01-02T15:04:05.000Z"), "eventName": "ObjectCreated:Put",
		"userIdentity":      map[string]any{"principalId": "AWS:AROAEXAMPLE:cloudtrail"},
		"requestParameters": map[string]any{"sourceIPAddress": "203.0.113.10"},
		"responseElements":  map[string]any{"x-amz-request-id": "C3D13FE58DE4C810", "x-amz-id-2": "FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD"},
		"s3": map[string]any{
			"s3SchemaVersion": "1.0", "configurationId": "logvault",
			"bucket": map[string]any{"name": o.Bucket, "ownerIdentity": map[string]any{"principalId": "A3NL1KOZZKExample"}, "arn": "arn:aws:s3:::" + o.Bucket},
			"object": obj,
		},
	}}})
}

func snsEnvelope(message string) []byte {
	return mustJSON(map[string]any{
		"Type": "Notification", "MessageId": "95df01b4-ee98-5cb9-9903-4c221d41eb5e",
		"TopicArn": "arn:aws:sns:us-east-1:222222222222:logvault-objects", "Subject": "Amazon S3 Notification",
		"Message": message, "Timestamp": time.Now().UTC().Format(time.RFC3339), "SignatureVersion": "1",
		"Signature": "EXAMPLE", "SigningCertURL": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-example.pem",
		"UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe",
	})
}

func snsEvent(message string) []byte {
	return mustJSON(map[string]any{"Records": []any{map[string]any{
		"EventSource": "aws:sns", "EventVersion": "1.0",
		"EventSubscriptionArn": "arn:aws:sns:us-east-1:222222222222:logvault-objects:2bcfbf39-05c3-41de-beaa-fcfcc21c8f55",
		"Sns": map[string]any{
			"Type": "Notification", "MessageId": "95df01b4-ee98-5cb9-9903-4c221d41eb5e",
			"TopicArn": "arn:aws:sns:us-east-1:222222222222:logvault-objects", "Subject": "Amazon S3 Notification",
			"Message": message, "Timestamp": time.Now().UTC().Format(time.RFC3339), "SignatureVersion": "1",
			"Signature": "EXAMPLE", "SigningCertUrl": "https://sns.us-east-1.amazonaws.com/example.pem",
			"UnsubscribeUrl": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe", "MessageAttributes": map[string]any{},
		},
	}}})
}

func eventBridge(o Object) []byte {
	obj := map[string]any{"key": o.Key, "size": o.Size, "etag": o.ETag, "sequencer": "0062E99A88DC407460"}
	if o.VersionID != "" {
		obj["version-id"] = o.VersionID
	}
	return mustJSON(map[string]any{
		"version": "0", "id": "17793124-05d4-b198-2fde-7ededc63b103", "detail-type": "Object Created",
		"source": "aws.s3", "account": "222222222222", "time": time.Now().UTC().Format(time.RFC3339),
		"region": "us-east-1", "resources": []string{"arn:aws:s3:::" + o.Bucket},
		"detail": map[string]any{
			"version": "0", "bucket": map[string]any{"name": o.Bucket}, "object": obj,
			"request-id": "N4N7GDK58NMKJ12R", "requester": "222222222222",
			"source-ip-address": "203.0.113.15", "reason": "PutObject",
		},
	})
}

func testEvent(bucket string) []byte {
	return mustJSON(map[string]any{"Service": "Amazon S3", "Event": "s3:TestEvent", "Time": time.Now().UTC().Format(time.RFC3339), "Bucket": bucket, "RequestId": "5582815E1AEA5ADF", "HostId": "8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3eKxsPzbB9wrR+YstdA6Knx4Ip8EXAMPLE"})
}

// SQS wraps bodies as one SQS batch, one message each.
func SQS(bodies ...[]byte) []byte {
	var recs []any
	for i, b := range bodies {
		recs = append(recs, map[string]any{
			"messageId":     fmt.Sprintf("059f36b4-87a3-44ab-83d2-%012d", i+1),
			"receiptHandle": "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a",
			"body":          string(b),
			"attributes": map[string]any{"ApproximateReceiveCount": "1", "SentTimestamp": fmt.Sprint(time.Now().UnixMilli()),
				"SenderId": "AIDAIENQZJOLO23YVJ4VO", "ApproximateFirstReceiveTimestamp": fmt.Sprint(time.Now().UnixMilli())},
			"messageAttributes": map[string]any{}, "md5OfBody": "e4e68fb7bd0e697a0ae8f1bb342846b3",
			"eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:222222222222:logvault-cloudtrail", "awsRegion": "us-east-1",
		})
	}
	return mustJSON(map[string]any{"Records": recs})
}

// IsSQS reports whether shape is delivered through SQS.
func IsSQS(shape string) bool { return strings.HasPrefix(shape, "sqs-") }

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only maps of strings and numbers: cannot fail
	}
	return b
}

// CloudWatchLogs builds the subscription event CloudWatch Logs sends a
// function: {"awslogs":{"data": base64(gzip(JSON))}}.
func CloudWatchLogs(d events.CloudwatchLogsData) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(mustJSON(d))
	zw.Close()
	return mustJSON(map[string]any{"awslogs": map[string]any{"data": base64.StdEncoding.EncodeToString(buf.Bytes())}})
}

// BatchJob builds an S3 Batch Operations LambdaInvoke invocation of schema
// version "1.0" or "2.0" with one task per object; keys are URL-encoded, as
// a CSV manifest or an S3 Inventory report holds them.
func BatchJob(version string, objs ...Object) []byte {
	tasks := make([]map[string]any, len(objs))
	for i, o := range objs {
		t := map[string]any{"taskId": fmt.Sprintf("dGFza2lk%04d", i), "s3Key": encodeKey(o.Key), "s3VersionId": nil}
		if o.VersionID != "" {
			t["s3VersionId"] = o.VersionID
		}
		if version == "1.0" {
			t["s3BucketArn"] = "arn:aws:s3:::" + o.Bucket
		} else {
			t["s3Bucket"] = o.Bucket
		}
		tasks[i] = t
	}
	job := map[string]any{"id": "f3cc4f60-61f6-4a2b-8a21-d07600c373ce"}
	if version != "1.0" {
		job["userArguments"] = map[string]any{}
	}
	return mustJSON(map[string]any{"invocationSchemaVersion": version, "invocationId": "YXNkbGZqYWRmaiBhc2RmdW9hZHNmZGpmaGFzbGtkaGZza2RmaAo",
		"job": job, "tasks": tasks})
}
