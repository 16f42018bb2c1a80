package trigger_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/logvault/logvault/internal/trigger"
)

const (
	bucket  = "logvault-local-cloudtrail"
	logKey  = "AWSLogs/222222222222/CloudTrail/us-east-1/2026/11/26/222222222222_CloudTrail_us-east-1_20261126T1205Z_Ab3dEf6hIjK1mN0p.json.gz"
	etag    = "5f1c8a3e9b2d47e6a0c4f8b19d3e7a62"
	version = "Wq8Zr3LkB1fT0vXc9YpNd7uHsA2eJm4G"
	size    = 2746
)

var (
	s3Time = time.Date(2026, 11, 26, 12, 5, 43, 512_000_000, time.UTC)
	ebTime = time.Date(2026, 11, 26, 12, 5, 43, 0, time.UTC)
)

// obj is an S3 object as a notification names it, before any encoding.
type obj struct {
	bucket, key, eventName, etag, versionID string
	size                                    int64
}

func defaultObj() obj {
	return obj{bucket: bucket, key: logKey, eventName: "ObjectCreated:Put", etag: etag, versionID: version, size: size}
}

// s3Record builds one record of an S3 event notification; key is used as given (already encoded).
func s3Record(o obj) map[string]any {
	return map[string]any{
		"eventVersion": "2.1",
		"eventSource":  "aws:s3",
		"awsRegion":    "us-east-1",
		"eventTime":    "2026-11-26T12:05:43.512Z",
		"eventName":    o.eventName,
		"s3": map[string]any{
			"s3SchemaVersion": "1.0",
			"bucket":          map[string]any{"name": o.bucket, "arn": "arn:aws:s3:::" + o.bucket},
			"object":          map[string]any{"key": o.key, "size": o.size, "eTag": o.etag, "versionId": o.versionID, "sequencer": "00674585A7C3B1E9F2"},
		},
	}
}

func s3Notification(objs ...obj) map[string]any {
	records := make([]any, len(objs))
	for i, o := range objs {
		records[i] = s3Record(o)
	}
	return map[string]any{"Records": records}
}

func eventBridge(o obj, detailType string) map[string]any {
	return map[string]any{
		"version":     "0",
		"id":          "8f2c6d1e-3b4a-9e57-0c1d-7a6b5e4f3d2c",
		"detail-type": detailType,
		"source":      "aws.s3",
		"account":     "222222222222",
		"time":        "2026-11-26T12:05:43Z",
		"region":      "us-east-1",
		"resources":   []string{"arn:aws:s3:::" + o.bucket},
		"detail": map[string]any{
			"version": "0",
			"bucket":  map[string]any{"name": o.bucket},
			"object":  map[string]any{"key": o.key, "size": o.size, "etag": o.etag, "version-id": o.versionID, "sequencer": "00674585A7C3B1E9F2"},
			"reason":  "PutObject",
		},
	}
}

func testEvent() map[string]any {
	return map[string]any{"Service": "Amazon S3", "Event": "s3:TestEvent", "Time": "2026-11-26T11:58:02.417Z", "Bucket": bucket, "RequestId": "R8JW2N5K7QX4T1VB", "HostId": "Zk3YxP1q8Wm5"}
}

// snsEnvelope is the JSON SNS delivers to SQS without raw message delivery.
func snsEnvelope(message any) map[string]any {
	return map[string]any{
		"Type":             "Notification",
		"MessageId":        "c7d0e5b8-2f1a-5963-8e4b-0a9d3c6f1b72",
		"TopicArn":         "arn:aws:sns:us-east-1:222222222222:logvault-cloudtrail-objectcreated",
		"Subject":          "Amazon S3 Notification",
		"Message":          str(message),
		"Timestamp":        "2026-11-26T12:05:43.688Z",
		"SignatureVersion": "1",
		"Signature":        "q2cJr3E1Eoej33BK",
		"SigningCertURL":   "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-9c64.pem",
		"UnsubscribeURL":   "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe",
	}
}

// snsEvent is the payload SNS invokes Lambda with.
func snsEvent(message any) map[string]any {
	return map[string]any{"Records": []any{map[string]any{
		"EventSource":          "aws:sns",
		"EventVersion":         "1.0",
		"EventSubscriptionArn": "arn:aws:sns:us-east-1:222222222222:logvault-cloudtrail-objectcreated:0b7e2f91",
		"Sns": map[string]any{
			"Type":      "Notification",
			"MessageId": "a4c1e7d2-6b3f-5e80-9d2a-1f4b7c0e8d36",
			"TopicArn":  "arn:aws:sns:us-east-1:222222222222:logvault-cloudtrail-objectcreated",
			"Subject":   "Amazon S3 Notification",
			"Message":   str(message),
			"Timestamp": "2026-11-26T12:05:43.671Z",
		},
	}}}
}

// sqsMessage is one body with its messageId.
type sqsMessage struct {
	id   string
	body any // a string is used as is, anything else is marshalled
}

func sqsEvent(msgs ...sqsMessage) map[string]any {
	records := make([]any, len(msgs))
	for i, m := range msgs {
		records[i] = map[string]any{
			"messageId":      m.id,
			"receiptHandle":  "AQEB9JYDhds5DyTsj4",
			"body":           str(m.body),
			"attributes":     map[string]string{"ApproximateReceiveCount": "1", "SentTimestamp": "1795694743702"},
			"eventSource":    "aws:sqs",
			"eventSourceARN": "arn:aws:sqs:us-east-1:222222222222:logvault-cloudtrail",
			"awsRegion":      "us-east-1",
		}
	}
	return map[string]any{"Records": records}
}

// str returns v itself when it is a string, or as JSON.
func str(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func wantRef(key string, eventName string, at time.Time) trigger.ObjectRef {
	return trigger.ObjectRef{Bucket: bucket, Key: key, VersionID: version, ETag: etag, Size: size, EventName: eventName, EventTime: at}
}

var (
	s3Ref = wantRef(logKey, "ObjectCreated:Put", s3Time)
	ebRef = wantRef(logKey, "Object Created", ebTime)
)

func decode(t *testing.T, payload any) trigger.Batch {
	t.Helper()
	b, err := trigger.Decode([]byte(str(payload)))
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	return b
}

func TestDecodeShapes(t *testing.T) {
	test := []trigger.Message{{Test: true}}
	for _, tc := range []struct {
		name    string
		payload any
		fromSQS bool
		want    []trigger.Message
	}{
		{"S3 direct", s3Notification(defaultObj()), false, []trigger.Message{{Objects: []trigger.ObjectRef{s3Ref}}}},
		{"SNS", snsEvent(s3Notification(defaultObj())), false, []trigger.Message{{Objects: []trigger.ObjectRef{s3Ref}}}},
		{"EventBridge", eventBridge(defaultObj(), "Object Created"), false, []trigger.Message{{Objects: []trigger.ObjectRef{ebRef}}}},
		{"EventBridge via SNS", snsEvent(eventBridge(defaultObj(), "Object Created")), false, []trigger.Message{{Objects: []trigger.ObjectRef{ebRef}}}},
		{"SQS with S3 notification", sqsEvent(sqsMessage{"m1", s3Notification(defaultObj())}), true,
			[]trigger.Message{{ID: "m1", Objects: []trigger.ObjectRef{s3Ref}}}},
		{"SQS with SNS envelope", sqsEvent(sqsMessage{"m1", snsEnvelope(s3Notification(defaultObj()))}), true,
			[]trigger.Message{{ID: "m1", Objects: []trigger.ObjectRef{s3Ref}}}},
		{"SQS with EventBridge event", sqsEvent(sqsMessage{"m1", eventBridge(defaultObj(), "Object Created")}), true,
			[]trigger.Message{{ID: "m1", Objects: []trigger.ObjectRef{ebRef}}}},
		{"SQS with three shapes", sqsEvent(
			sqsMessage{"m1", s3Notification(defaultObj())},
			sqsMessage{"m2", snsEnvelope(s3Notification(defaultObj()))},
			sqsMessage{"m3", eventBridge(defaultObj(), "Object Created")},
		), true, []trigger.Message{
			{ID: "m1", Objects: []trigger.ObjectRef{s3Ref}},
			{ID: "m2", Objects: []trigger.ObjectRef{s3Ref}},
			{ID: "m3", Objects: []trigger.ObjectRef{ebRef}},
		}},
		{"S3 with two records", s3Notification(defaultObj(), obj{bucket: "other", key: "b.json", eventName: "ObjectCreated:CompleteMultipartUpload", size: 7}), false,
			[]trigger.Message{{Objects: []trigger.ObjectRef{s3Ref, {Bucket: "other", Key: "b.json", Size: 7, EventName: "ObjectCreated:CompleteMultipartUpload", EventTime: s3Time}}}}},
		{"unversioned bucket", s3Notification(obj{bucket: bucket, key: "k", eventName: "ObjectCreated:Copy", etag: etag, size: 1}), false,
			[]trigger.Message{{Objects: []trigger.ObjectRef{{Bucket: bucket, Key: "k", ETag: etag, Size: 1, EventName: "ObjectCreated:Copy", EventTime: s3Time}}}}},
		{"quoted ETag", s3Notification(obj{bucket: bucket, key: "k", eventName: "ObjectCreated:Put", etag: `"` + etag + `"`, versionID: version, size: size}), false,
			[]trigger.Message{{Objects: []trigger.ObjectRef{wantRef("k", "ObjectCreated:Put", s3Time)}}}},
		{"MinIO event name", s3Notification(obj{bucket: bucket, key: logKey, eventName: "s3:ObjectCreated:Put", etag: etag, versionID: version, size: size}), false,
			[]trigger.Message{{Objects: []trigger.ObjectRef{wantRef(logKey, "s3:ObjectCreated:Put", s3Time)}}}},

		{"test event", testEvent(), false, test},
		{"test event via SNS", snsEvent(testEvent()), false, test},
		{"test event via SQS", sqsEvent(sqsMessage{"t1", testEvent()}), true, []trigger.Message{{ID: "t1", Test: true}}},
		{"test event via SNS and SQS", sqsEvent(sqsMessage{"t1", snsEnvelope(testEvent())}), true, []trigger.Message{{ID: "t1", Test: true}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := decode(t, tc.payload)
			if b.FromSQS != tc.fromSQS {
				t.Errorf("FromSQS = %v, want %v", b.FromSQS, tc.fromSQS)
			}
			if !reflect.DeepEqual(b.Messages, tc.want) {
				t.Errorf("Messages =\n%+v\nwant\n%+v", b.Messages, tc.want)
			}
		})
	}
}

func TestDecodeKeys(t *testing.T) {
	for _, tc := range []struct{ raw, want string }{
		{logKey, logKey},
		{"AWSLogs/my+trail/log+file.json.gz", "AWSLogs/my trail/log file.json.gz"},
		{"reports/2026-11-26T12%3A05%3A43Z.json", "reports/2026-11-26T12:05:43Z.json"},
		{"exports/caf%C3%A9/r%C3%A9sum%C3%A9.csv", "exports/café/résumé.csv"},
		{"libs/c%2B%2B/a%2Bb+c.txt", "libs/c++/a+b c.txt"},
		{"pct/100%25.txt", "pct/100%.txt"},
	} {
		o := defaultObj()
		o.key = tc.raw
		for name, payload := range map[string]any{
			"S3 direct":     s3Notification(o),
			"SNS":           snsEvent(s3Notification(o)),
			"SQS S3":        sqsEvent(sqsMessage{"m1", s3Notification(o)}),
			"SQS SNS":       sqsEvent(sqsMessage{"m1", snsEnvelope(s3Notification(o))}),
			"SQS SNS as is": sqsEvent(sqsMessage{"m1", str(snsEnvelope(str(s3Notification(o))))}),
		} {
			t.Run(name+"/"+tc.raw, func(t *testing.T) {
				b := decode(t, payload)
				m := b.Messages[0]
				if m.Err != nil || len(m.Objects) != 1 {
					t.Fatalf("message = %+v, want one object", m)
				}
				if got := m.Objects[0].Key; got != tc.want {
					t.Errorf("Key = %q, want %q", got, tc.want)
				}
			})
		}
	}
}

// EventBridge carries keys as they are, so nothing is decoded (see decodeEventBridge).
func TestDecodeEventBridgeKeysAsIs(t *testing.T) {
	for _, key := range []string{"AWSLogs/my trail/a+b.json", "pct/100%25.txt", "exports/café.csv", "c%2B%2B"} {
		o := defaultObj()
		o.key = key
		for name, payload := range map[string]any{
			"direct": eventBridge(o, "Object Created"),
			"SQS":    sqsEvent(sqsMessage{"m1", eventBridge(o, "Object Created")}),
		} {
			t.Run(name+"/"+key, func(t *testing.T) {
				m := decode(t, payload).Messages[0]
				if m.Err != nil || len(m.Objects) != 1 {
					t.Fatalf("message = %+v, want one object", m)
				}
				if got := m.Objects[0].Key; got != key {
					t.Errorf("Key = %q, want %q unchanged", got, key)
				}
			})
		}
	}
}

func TestDecodeSQSPartialFailure(t *testing.T) {
	removed := defaultObj()
	removed.eventName = "ObjectRemoved:Delete"
	b := decode(t, sqsEvent(
		sqsMessage{"good", s3Notification(defaultObj())},
		sqsMessage{"3f2a9c71", "this is not JSON"},
		sqsMessage{"removed", s3Notification(removed)},
		sqsMessage{"test", snsEnvelope(testEvent())},
	))
	if !b.FromSQS {
		t.Error("FromSQS = false, want true")
	}
	if len(b.Messages) != 4 {
		t.Fatalf("got %d messages, want 4", len(b.Messages))
	}
	good, bad, rm, test := b.Messages[0], b.Messages[1], b.Messages[2], b.Messages[3]
	if good.ID != "good" || good.Err != nil || !reflect.DeepEqual(good.Objects, []trigger.ObjectRef{s3Ref}) {
		t.Errorf("good message = %+v", good)
	}
	if bad.ID != "3f2a9c71" || bad.Err == nil || len(bad.Objects) != 0 {
		t.Fatalf("bad message = %+v, want an error and no objects", bad)
	}
	if want := "trigger: SQS message 3f2a9c71: body is not valid JSON: "; !strings.HasPrefix(bad.Err.Error(), want) {
		t.Errorf("bad message error = %q, want prefix %q", bad.Err, want)
	}
	if rm.ID != "removed" || !errors.Is(rm.Err, trigger.ErrNotObjectCreated) {
		t.Errorf("removed message = %+v, want ErrNotObjectCreated", rm)
	}
	if test.ID != "test" || !test.Test || test.Err != nil || len(test.Objects) != 0 {
		t.Errorf("test message = %+v, want Test and nothing else", test)
	}
}

func TestDecodeSQSMessageErrors(t *testing.T) {
	emptyKey := defaultObj()
	emptyKey.key = ""
	for _, tc := range []struct {
		name string
		body any
		want string // the error is "trigger: SQS message m1: " + want...
	}{
		{"empty body", "", "body is empty"},
		{"invalid JSON", "{", "body is not valid JSON"},
		{"JSON array", "[1]", "body is a JSON array, not an object"},
		{"empty object", "{}", "body is an empty JSON object"},
		{"unknown shape", `{"foo":1,"bar":2}`, `body is not an S3 notification, SNS envelope, EventBridge event or S3 test event (top-level keys: "bar", "foo")`},
		{"empty key", s3Notification(emptyKey), "record 0: s3 object key is empty"},
		{"SNS subscription confirmation", map[string]any{"Type": "SubscriptionConfirmation", "Message": "You have chosen to subscribe"}, `SNS envelope type is "SubscriptionConfirmation", want "Notification"`},
		{"SNS message not JSON", snsEnvelope("hello"), "SNS message is not valid JSON"},
		{"SNS in SNS", snsEnvelope(snsEnvelope(testEvent())), `SNS message: not an S3 notification, EventBridge event or S3 test event (top-level keys:`},
		{"EventBridge deleted", eventBridge(defaultObj(), "Object Deleted"), `EventBridge detail-type "Object Deleted" is not an ObjectCreated event`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := decode(t, sqsEvent(sqsMessage{"m1", tc.body}, sqsMessage{"m2", s3Notification(defaultObj())}))
			m := b.Messages[0]
			if m.Err == nil {
				t.Fatalf("message = %+v, want an error", m)
			}
			if want := "trigger: SQS message m1: " + tc.want; !strings.HasPrefix(m.Err.Error(), want) {
				t.Errorf("error = %q\nwant prefix %q", m.Err, want)
			}
			if len(m.Objects) != 0 || m.Test {
				t.Errorf("failed message also has Objects %v, Test %v", m.Objects, m.Test)
			}
			if ok := b.Messages[1]; ok.Err != nil || len(ok.Objects) != 1 {
				t.Errorf("the other message = %+v, want it decoded", ok)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	with := func(f func(*obj)) obj {
		o := defaultObj()
		f(&o)
		return o
	}
	good := defaultObj()
	for _, tc := range []struct {
		name    string
		payload string
		want    string
		is      error
	}{
		{"empty", "", "trigger: payload is empty", nil},
		{"blank", " \n\t", "trigger: payload is empty", nil},
		{"not JSON", "hello", "trigger: payload is not valid JSON: ", nil},
		{"truncated JSON", `{"Records":[`, "trigger: payload is not valid JSON: ", nil},
		{"trailing data", `{"a":1} {"b":2}`, "trigger: payload is not valid JSON: ", nil},
		{"array", `[{"Records":[]}]`, "trigger: payload is a JSON array, not an object", nil},
		{"null", "null", "trigger: payload is a JSON null, not an object", nil},
		{"string", `"s3"`, "trigger: payload is a JSON string, not an object", nil},
		{"empty object", "{}", "trigger: payload is an empty JSON object", nil},
		{"Records empty", `{"Records":[]}`, "trigger: Records is empty", nil},
		{"Records null", `{"Records":null}`, "trigger: Records is empty", nil},
		{"Records not array", `{"Records":{"eventSource":"aws:s3"}}`, "trigger: Records is not an array: ", nil},
		{"unknown shape", `{"foo":1,"Bar":[2]}`, `trigger: payload is not an S3 notification, SNS or SQS event, EventBridge event or S3 test event (top-level keys: "Bar", "foo")`, nil},
		{"unknown event source", `{"Records":[{"eventSource":"aws:kinesis"}]}`, `trigger: record 0: unsupported eventSource "aws:kinesis" (want aws:s3 or aws:sns)`, nil},
		{"no event source", `{"Records":[{"s3":{}}]}`, `trigger: record 0: unsupported eventSource ""`, nil},
		{"mixed event sources", str(map[string]any{"Records": []any{s3Record(good), map[string]any{"EventSource": "aws:sns"}}}), `trigger: record 1: eventSource "aws:sns" differs from record 0's "aws:s3"`, nil},
		{"empty bucket", str(s3Notification(with(func(o *obj) { o.bucket = "" }))), "trigger: record 0: s3 bucket name is empty", nil},
		{"empty key in record 2", str(s3Notification(good, good, with(func(o *obj) { o.key = "" }))), "trigger: record 2: s3 object key is empty", nil},
		{"bad key escape", str(s3Notification(with(func(o *obj) { o.key = "AWSLogs/a%zzb.json" }))), `trigger: record 0: s3 object key "AWSLogs/a%zzb.json" is not URL-encoded correctly: invalid URL escape "%zz"`, nil},
		{"key not UTF-8", str(s3Notification(with(func(o *obj) { o.key = "a%FFb" }))), `trigger: record 0: s3 object key "a%FFb" decodes to invalid UTF-8`, nil},
		{"negative size", str(s3Notification(with(func(o *obj) { o.size = -1 }))), "trigger: record 0: s3 object size -1 is negative", nil},
		{"size not a number", strings.Replace(str(s3Notification(good)), `"size":2746`, `"size":"big"`, 1), "trigger: record 0: S3 record: json: cannot unmarshal string into Go struct field", nil},
		{"bad event time", strings.Replace(str(s3Notification(good)), "2026-11-26T12:05:43.512Z", "yesterday", 1), "trigger: record 0: S3 record: parsing time", nil},
		{"ObjectRemoved", str(s3Notification(with(func(o *obj) { o.eventName = "ObjectRemoved:Delete" }))), `trigger: record 0: event "ObjectRemoved:Delete" is not an ObjectCreated event (only ObjectCreated events are shipped`, trigger.ErrNotObjectCreated},
		{"no event name", str(s3Notification(with(func(o *obj) { o.eventName = "" }))), `trigger: record 0: event "" is not an ObjectCreated event`, trigger.ErrNotObjectCreated},
		{"SNS message not JSON", str(snsEvent("hello")), "trigger: record 0: SNS message is not valid JSON: ", nil},
		{"SNS message empty", str(snsEvent("")), "trigger: record 0: SNS message is empty", nil},
		{"SNS message removed", str(snsEvent(s3Notification(with(func(o *obj) { o.eventName = "ObjectRemoved:Delete" })))), `trigger: record 0: SNS message: record 0: event "ObjectRemoved:Delete" is not an ObjectCreated event`, trigger.ErrNotObjectCreated},
		{"SNS in SNS", str(snsEvent(snsEvent(testEvent()))), `trigger: record 0: SNS message: record 0: unsupported eventSource "aws:sns" (want aws:s3)`, nil},
		{"SQS in SNS", str(snsEvent(sqsEvent(sqsMessage{"m1", testEvent()}))), `trigger: record 0: SNS message: record 0: unsupported eventSource "aws:sqs" (want aws:s3)`, nil},
		{"EventBridge deleted", str(eventBridge(good, "Object Deleted")), `trigger: EventBridge detail-type "Object Deleted" is not an ObjectCreated event`, trigger.ErrNotObjectCreated},
		{"EventBridge other source", strings.Replace(str(eventBridge(good, "Object Created")), `"aws.s3"`, `"aws.ec2"`, 1), `trigger: EventBridge event source is "aws.ec2", want "aws.s3"`, nil},
		{"EventBridge empty key", str(eventBridge(with(func(o *obj) { o.key = "" }), "Object Created")), "trigger: EventBridge detail: s3 object key is empty", nil},
		{"EventBridge empty bucket", str(eventBridge(with(func(o *obj) { o.bucket = "" }), "Object Created")), "trigger: EventBridge detail: s3 bucket name is empty", nil},
		{"EventBridge detail not object", `{"source":"aws.s3","detail-type":"Object Created","detail":"x"}`, "trigger: EventBridge detail: json: cannot unmarshal string", nil},
		{"other S3 event", `{"Service":"Amazon S3","Event":"s3:Other"}`, `trigger: S3 event "s3:Other" is not "s3:TestEvent"`, nil},
		{"SQS record without messageId", str(map[string]any{"Records": []any{map[string]any{"eventSource": "aws:sqs", "body": "{}"}}}), "trigger: SQS record 0: messageId is empty", nil},
		{"SQS record with bad messageId", `{"Records":[{"eventSource":"aws:sqs","messageId":7}]}`, "trigger: SQS record 0: json: cannot unmarshal number", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := trigger.Decode([]byte(tc.payload))
			if err == nil {
				t.Fatalf("Decode = %+v, want an error starting %q", b, tc.want)
			}
			if !strings.HasPrefix(err.Error(), tc.want) {
				t.Errorf("error = %q\nwant prefix %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q spans several lines", err)
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("errors.Is(%v, %v) = false", err, tc.is)
			}
		})
	}
}

func TestDecodeLongValuesAreCut(t *testing.T) {
	o := defaultObj()
	o.key = strings.Repeat("k", 5000) + "%zz"
	_, err := trigger.Decode([]byte(str(s3Notification(o))))
	if err == nil {
		t.Fatal("Decode succeeded, want an error")
	}
	if len(err.Error()) > 500 {
		t.Errorf("error is %d bytes long, want it cut short: %.120s…", len(err.Error()), err)
	}
}

// TestSampleEvents decodes every sample event a user can pass to logvault invoke or sam local invoke.
func TestSampleEvents(t *testing.T) {
	dir := filepath.Join("..", "..", "events", "cloudtrail")
	want := map[string]trigger.Batch{
		"s3-put.json":          {Messages: []trigger.Message{{Objects: []trigger.ObjectRef{s3Ref}}}},
		"sns.json":             {Messages: []trigger.Message{{Objects: []trigger.ObjectRef{s3Ref}}}},
		"eventbridge.json":     {Messages: []trigger.Message{{Objects: []trigger.ObjectRef{ebRef}}}},
		"sqs-s3.json":          {FromSQS: true, Messages: []trigger.Message{{ID: "3f2a9c71-84d5-4e0b-b6a2-5c8d1e7f9a04", Objects: []trigger.ObjectRef{s3Ref}}}},
		"sqs-sns.json":         {FromSQS: true, Messages: []trigger.Message{{ID: "9b4e2d7a-1c6f-4a38-85e0-7d3b9f2c6e15", Objects: []trigger.ObjectRef{s3Ref}}}},
		"sqs-eventbridge.json": {FromSQS: true, Messages: []trigger.Message{{ID: "6e8f1a3c-5d7b-4092-a4c6-2b9e0d8f7c31", Objects: []trigger.ObjectRef{ebRef}}}},
		"s3-test-event.json":   {Messages: []trigger.Message{{Test: true}}},
		"sqs-test-event.json":  {FromSQS: true, Messages: []trigger.Message{{ID: "1d5b8f2e-7a4c-4e96-b3d1-8c0f6a2e9b57", Test: true}}},
	}
	for _, v := range []string{"1.0", "2.0"} {
		want["batch-operations-"+v+".json"] = trigger.Batch{BatchJob: &trigger.BatchJob{SchemaVersion: v, InvocationID: batchInvocation, JobID: batchJob},
			Messages: []trigger.Message{
				{ID: "dGFza2lk0000", Objects: []trigger.ObjectRef{batchRef(batchTrail, "AWSLogs/222222222222/CloudTrail/us-east-1/2026/11/26/222222222222_CloudTrail_us-east-1_20261126T0005Z_a1B2c3D4e5F6g7H8.json.gz", "")}},
				{ID: "dGFza2lk0001", Objects: []trigger.ObjectRef{batchRef(batchTrail, "AWSLogs/222222222222/CloudTrail/us-east-1/2026/11/26/222222222222_CloudTrail_us-east-1_20261126T0010Z_b2C3d4E5f6G7h8I9.json.gz", "3HL4kqtJlcpXroDTDmJ.rmSpXd3dIbrHY")}},
			}}
	}
	checkSamples(t, dir, want, nil)
}

// The job and invocation of the Batch Operations samples.
const (
	batchInvocation = "YXNkbGZqYWRmaiBhc2RmdW9hZHNmZGpmaGFzbGtkaGZza2RmaAo"
	batchJob        = "f3cc4f60-61f6-4a2b-8a21-d07600c373ce"
	batchTrail      = "logvault-trail-222222222222"
)

// batchRef is what a Batch Operations task announces: no size, ETag or time.
func batchRef(bucket, key, versionID string) trigger.ObjectRef {
	return trigger.ObjectRef{Bucket: bucket, Key: key, VersionID: versionID, EventName: "BatchOperations:LambdaInvoke"}
}

// checkSamples decodes every sample under dir and compares it with want
// (every file needs an expectation, every expectation a file); check, when
// set, looks further at each decoded batch.
func checkSamples(t *testing.T, dir string, want map[string]trigger.Batch, check func(*testing.T, trigger.Batch)) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, file := range files {
		name := filepath.Base(file)
		seen[name] = true
		t.Run(name, func(t *testing.T) {
			w, ok := want[name]
			if !ok {
				t.Fatalf("%s has no expected result in this test; add one", file)
			}
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			got, err := trigger.Decode(data)
			if err != nil {
				t.Fatalf("Decode(%s): %v", file, err)
			}
			if !reflect.DeepEqual(got, w) {
				t.Errorf("Decode(%s) =\n%+v\nwant\n%+v", file, got, w)
			}
			if check != nil {
				check(t, got)
			}
		})
	}
	for name := range want {
		if !seen[name] {
			t.Errorf("sample event %s is missing from %s", name, dir)
		}
	}
}

func FuzzDecode(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "events", "cloudtrail", "*.json"))
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	o := defaultObj()
	o.key = "a+b%2Bc%3A%C3%A9"
	for _, seed := range []any{
		"", "{}", "null", `{"Records":[]}`, `{"Records":[{}]}`,
		s3Notification(o), snsEvent(testEvent()), snsEvent(eventBridge(o, "Object Created")),
		sqsEvent(sqsMessage{"m1", "x"}, sqsMessage{"m2", snsEnvelope(s3Notification(o))}),
		sqsEvent(sqsMessage{"m1", snsEnvelope(snsEnvelope(testEvent()))}),
	} {
		f.Add([]byte(str(seed)))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		b, err := trigger.Decode(payload)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "trigger: ") {
				t.Errorf("error %q does not start with \"trigger: \"", err)
			}
			return
		}
		if len(b.Messages) == 0 {
			t.Fatal("no error and no messages")
		}
		perItem := b.FromSQS || b.BatchJob != nil // messages acknowledged one by one
		if !perItem && (len(b.Messages) != 1 || b.Messages[0].Err != nil || b.Messages[0].ID != "") {
			t.Fatalf("non-SQS batch = %+v, want one message without ID or error", b)
		}
		if b.FromSQS && b.BatchJob != nil {
			t.Fatalf("batch %+v is both SQS and Batch Operations", b)
		}
		for _, m := range b.Messages {
			if perItem && m.ID == "" {
				t.Errorf("SQS message or Batch Operations task without ID: %+v", m)
			}
			if b.BatchJob != nil && m.Err == nil && len(m.Objects) != 1 {
				t.Errorf("Batch Operations task with %d objects: %+v", len(m.Objects), m)
			}
			if m.Err != nil && (len(m.Objects) != 0 || m.Test) {
				t.Errorf("failed message also has content: %+v", m)
			}
			for _, ref := range m.Objects {
				if ref.Bucket == "" || ref.Key == "" || ref.Size < 0 {
					t.Errorf("invalid object %+v", ref)
				}
			}
		}
	})
}
