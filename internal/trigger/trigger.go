// Package trigger turns Lambda trigger payloads into references to the source objects they announce.
//
// The shapes understood are those an S3 "ObjectCreated" notification of a source bucket can take on
// its way to a Lambda function:
//
//   - an S3 event notification delivered directly ({"Records":[{"eventSource":"aws:s3",...}]});
//   - the same notification published to SNS ({"Records":[{"EventSource":"aws:sns","Sns":{"Message":"..."}}]});
//   - an EventBridge "Object Created" event from source "aws.s3";
//   - an SQS batch whose message bodies are any of the above: an S3 notification, an SNS envelope
//     (SNS to SQS without raw message delivery) or an EventBridge event;
//   - the s3:TestEvent S3 sends when a notification is configured, bare or inside SNS and SQS;
//   - an S3 Batch Operations LambdaInvoke invocation (schemas 1.0 and 2.0), one Message per task.
//
// Only ObjectCreated events are shipped. Any other event (ObjectRemoved, "Object Deleted", ...) is an
// error rather than something skipped, because a vault that silently ignores events it was sent
// hides a misconfigured notification; in an SQS batch such a message fails on its own (Message.Err),
// so it ends in the queue's dead-letter queue instead of vanishing. Records are counted from 0, as
// in Records[N].
package trigger

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
)

// ObjectRef names one source object announced by a notification.
type ObjectRef struct {
	Bucket    string
	Key       string // the real key: URL-decoded where the shape encodes it
	VersionID string // "" when the source bucket is not versioned
	ETag      string // without surrounding quotes
	Size      int64
	EventName string // e.g. "ObjectCreated:Put" or "Object Created"
	EventTime time.Time
}

// Message is one unit that Lambda acknowledges or retries: one SQS message, or the whole invocation for other shapes.
type Message struct {
	ID      string      // SQS messageId; "" for non-SQS shapes
	Objects []ObjectRef // may be empty (e.g. test event)
	Test    bool        // an s3:TestEvent: acknowledge and ignore
	Err     error       // why this SQS message could not be decoded (reported as a batch item failure); always nil for non-SQS
}

// Batch is a decoded invocation.
type Batch struct {
	FromSQS bool
	// BatchJob is set for an S3 Batch Operations invocation, whose Messages
	// are its tasks.
	BatchJob *BatchJob
	Messages []Message
}

// ErrNotObjectCreated marks a notification for an event other than ObjectCreated; test it with errors.Is.
var ErrNotObjectCreated = errors.New("not an ObjectCreated event")

// Event sources and types, as AWS spells them.
const (
	sourceS3  = "aws:s3"
	sourceSNS = "aws:sns"
	sourceSQS = "aws:sqs"

	eventBridgeSource        = "aws.s3"
	eventBridgeObjectCreated = "Object Created"
	snsNotification          = "Notification"
	s3TestEvent              = "s3:TestEvent"
)

// maxQuoted bounds how much of an untrusted value an error message repeats.
const maxQuoted = 200

// Decode recognises the shape of a Lambda payload and returns its object references.
//
// For an SQS batch every message is decoded on its own: a message that cannot be decoded gets
// Message.Err and the others are still returned, so the caller can report it as a batch item
// failure. Decode itself fails only when the payload is no known shape at all, or is an SQS batch
// whose failures could not be reported individually (a record without a messageId). For the other
// shapes the batch holds exactly one Message and any problem is Decode's error.
func Decode(payload []byte) (Batch, error) {
	top, err := parseObject(payload, "payload")
	if err != nil {
		return Batch{}, fmt.Errorf("trigger: %w", err)
	}
	if top.has("invocationSchemaVersion") {
		b, err := decodeBatchJob(top)
		if err != nil {
			return Batch{}, fmt.Errorf("trigger: %w", err)
		}
		return b, nil
	}
	if raw, ok := top.members["Records"]; ok {
		var records []json.RawMessage
		if err := json.Unmarshal(raw, &records); err != nil {
			return Batch{}, fmt.Errorf("trigger: Records is not an array: %w", err)
		}
		if len(records) == 0 {
			return Batch{}, errors.New("trigger: Records is empty")
		}
		if eventSource(records[0]) == sourceSQS {
			return decodeSQS(records)
		}
	}
	n, err := decodeNotification(top, atTop)
	if err != nil {
		return Batch{}, fmt.Errorf("trigger: %w", err)
	}
	return Batch{Messages: []Message{{Objects: n.objects, Test: n.test}}}, nil
}

// notification is what one non-SQS payload or one SQS message body announces.
type notification struct {
	objects []ObjectRef
	test    bool
}

// level says where a notification was found; it bounds nesting, since an SNS message cannot hold
// another SNS message.
type level int

const (
	atTop level = iota // the Lambda payload itself
	inSQS              // an SQS message body
	inSNS              // the Message of an SNS notification
)

// decodeSQS decodes an SQS batch, one message at a time.
func decodeSQS(records []json.RawMessage) (Batch, error) {
	b := Batch{FromSQS: true, Messages: make([]Message, 0, len(records))}
	for i, raw := range records {
		var m events.SQSMessage
		err := json.Unmarshal(raw, &m)
		if m.MessageId == "" {
			// Lambda needs the messageId to retry just this message; without it the only safe
			// outcome is to retry the whole batch.
			if err != nil {
				return Batch{}, fmt.Errorf("trigger: SQS record %d: %w", i, err)
			}
			return Batch{}, fmt.Errorf("trigger: SQS record %d: messageId is empty", i)
		}
		msg := Message{ID: m.MessageId}
		switch {
		case err != nil:
			msg.Err = fmt.Errorf("trigger: SQS message %s: %w", m.MessageId, err)
		case m.EventSource != sourceSQS:
			msg.Err = fmt.Errorf("trigger: SQS message %s: eventSource is %s, want %q", m.MessageId, quote(m.EventSource), sourceSQS)
		default:
			n, err := decodeBody(m.Body)
			if err != nil {
				msg.Err = fmt.Errorf("trigger: SQS message %s: %w", m.MessageId, err)
			} else {
				msg.Objects, msg.Test = n.objects, n.test
			}
		}
		b.Messages = append(b.Messages, msg)
	}
	return b, nil
}

// decodeBody decodes one SQS message body.
func decodeBody(body string) (notification, error) {
	top, err := parseObject([]byte(body), "body")
	if err != nil {
		return notification{}, err
	}
	return decodeNotification(top, inSQS)
}

// decodeNotification decodes an S3 notification, SNS event or envelope, EventBridge event or
// S3 test event found at the given level.
func decodeNotification(o object, at level) (notification, error) {
	switch {
	case o.has("Records"):
		return decodeRecords(o.members["Records"], at)
	case o.has("detail-type") || (o.has("source") && o.has("detail")):
		return decodeEventBridge(o)
	case o.has("Event"):
		return decodeTestEvent(o)
	case at != inSNS && o.has("Type") && o.has("Message"):
		return decodeSNSEnvelope(o)
	}
	switch at {
	case atTop:
		return notification{}, fmt.Errorf("payload is not an S3 notification, SNS or SQS event, EventBridge event or S3 test event (top-level keys: %s)", o.keys())
	case inSQS:
		return notification{}, fmt.Errorf("body is not an S3 notification, SNS envelope, EventBridge event or S3 test event (top-level keys: %s)", o.keys())
	default:
		return notification{}, fmt.Errorf("not an S3 notification, EventBridge event or S3 test event (top-level keys: %s)", o.keys())
	}
}

// decodeRecords decodes the Records of an S3 notification or of an SNS event.
func decodeRecords(raw json.RawMessage, at level) (notification, error) {
	var records []json.RawMessage
	if err := json.Unmarshal(raw, &records); err != nil {
		return notification{}, fmt.Errorf("Records is not an array: %w", err)
	}
	if len(records) == 0 {
		return notification{}, errors.New("Records is empty")
	}
	first := eventSource(records[0])
	var n notification
	for i, rec := range records {
		if src := eventSource(rec); src != first {
			return notification{}, fmt.Errorf("record %d: eventSource %s differs from record 0's %s", i, quote(src), quote(first))
		}
		switch {
		case first == sourceS3:
			ref, err := decodeS3Record(rec)
			if err != nil {
				return notification{}, fmt.Errorf("record %d: %w", i, err)
			}
			n.objects = append(n.objects, ref)
		case first == sourceSNS && at != inSNS:
			var r events.SNSEventRecord
			if err := json.Unmarshal(rec, &r); err != nil {
				return notification{}, fmt.Errorf("record %d: SNS record: %w", i, err)
			}
			inner, err := decodeSNSMessage(r.SNS.Message)
			if err != nil {
				return notification{}, fmt.Errorf("record %d: %w", i, err)
			}
			n = merge(n, inner, i == 0)
		default:
			want := "aws:s3 or aws:sns"
			if at == inSNS {
				want = "aws:s3"
			}
			return notification{}, fmt.Errorf("record %d: unsupported eventSource %s (want %s)", i, quote(first), want)
		}
	}
	return n, nil
}

// merge adds one SNS record's notification to those before it; the whole is a test only if every part is.
func merge(acc, next notification, first bool) notification {
	acc.objects = append(acc.objects, next.objects...)
	acc.test = next.test && (first || acc.test)
	return acc
}

// decodeSNSEnvelope decodes an SNS message as SNS delivers it to SQS without raw message delivery.
func decodeSNSEnvelope(o object) (notification, error) {
	var e events.SNSEntity
	if err := json.Unmarshal(o.raw, &e); err != nil {
		return notification{}, fmt.Errorf("SNS envelope: %w", err)
	}
	if e.Type != snsNotification {
		return notification{}, fmt.Errorf("SNS envelope type is %s, want %q", quote(e.Type), snsNotification)
	}
	return decodeSNSMessage(e.Message)
}

// decodeSNSMessage decodes the Message of an SNS notification: the S3 notification, EventBridge
// event or test event that was published to the topic.
func decodeSNSMessage(msg string) (notification, error) {
	top, err := parseObject([]byte(msg), "SNS message")
	if err != nil {
		return notification{}, err
	}
	n, err := decodeNotification(top, inSNS)
	if err != nil {
		return notification{}, fmt.Errorf("SNS message: %w", err)
	}
	return n, nil
}

// s3Record is one record of an S3 event notification. It stands in for events.S3EventRecord
// because events.S3Object URL-decodes the key while unmarshalling and fails with an error that
// names neither the record nor the key.
type s3Record struct {
	EventSource string    `json:"eventSource"`
	EventName   string    `json:"eventName"`
	EventTime   time.Time `json:"eventTime"`
	S3          struct {
		Bucket struct {
			Name string `json:"name"`
		} `json:"bucket"`
		Object struct {
			Key       string `json:"key"`
			Size      int64  `json:"size"`
			ETag      string `json:"eTag"`
			VersionID string `json:"versionId"`
		} `json:"object"`
	} `json:"s3"`
}

// decodeS3Record decodes one record of an S3 event notification.
func decodeS3Record(raw json.RawMessage) (ObjectRef, error) {
	var r s3Record
	if err := json.Unmarshal(raw, &r); err != nil {
		return ObjectRef{}, fmt.Errorf("S3 record: %w", err)
	}
	// S3 writes "ObjectCreated:Put"; S3-compatible servers such as MinIO write "s3:ObjectCreated:Put".
	if !strings.HasPrefix(strings.TrimPrefix(r.EventName, "s3:"), "ObjectCreated:") {
		return ObjectRef{}, fmt.Errorf("event %s is %w (only ObjectCreated events are shipped; check the bucket notification's event types)", quote(r.EventName), ErrNotObjectCreated)
	}
	o := r.S3.Object
	// S3 notification keys are form-encoded (application/x-www-form-urlencoded): "+" is a space
	// and a literal "+" arrives as "%2B", which is what url.QueryUnescape undoes.
	key, err := url.QueryUnescape(o.Key)
	if err != nil {
		return ObjectRef{}, fmt.Errorf("s3 object key %s is not URL-encoded correctly: %w", quote(o.Key), err)
	}
	if !utf8.ValidString(key) {
		return ObjectRef{}, fmt.Errorf("s3 object key %s decodes to invalid UTF-8", quote(o.Key))
	}
	return objectRef(r.S3.Bucket.Name, key, o.VersionID, o.ETag, o.Size, r.EventName, r.EventTime)
}

// eventBridgeDetail is the detail of an S3 EventBridge event; aws-lambda-go has no type for it.
type eventBridgeDetail struct {
	Bucket struct {
		Name string `json:"name"`
	} `json:"bucket"`
	Object struct {
		Key       string `json:"key"`
		Size      int64  `json:"size"`
		ETag      string `json:"etag"`
		VersionID string `json:"version-id"`
	} `json:"object"`
}

// decodeEventBridge decodes an EventBridge event from S3.
func decodeEventBridge(o object) (notification, error) {
	var e events.EventBridgeEvent
	if err := json.Unmarshal(o.raw, &e); err != nil {
		return notification{}, fmt.Errorf("EventBridge event: %w", err)
	}
	if e.Source != eventBridgeSource {
		return notification{}, fmt.Errorf("EventBridge event source is %s, want %q", quote(e.Source), eventBridgeSource)
	}
	if e.DetailType != eventBridgeObjectCreated {
		return notification{}, fmt.Errorf("EventBridge detail-type %s is %w (only %q events are shipped; check the EventBridge rule's event pattern)", quote(e.DetailType), ErrNotObjectCreated, eventBridgeObjectCreated)
	}
	var d eventBridgeDetail
	if err := json.Unmarshal(e.Detail, &d); err != nil {
		return notification{}, fmt.Errorf("EventBridge detail: %w", err)
	}
	// Unlike S3 event notifications, EventBridge carries the object key as it is, not URL-encoded:
	// decoding it would turn a literal "+" into a space and break keys containing "%". The AWS page
	// on the event structure is silent on this ("EventBridge event message structure",
	// https://docs.aws.amazon.com/AmazonS3/latest/userguide/ev-events.html, whose examples only use
	// plain keys); the AWS sample Media Lake settled it against real uploads of keys such as
	// "ARTISTS K to O.png", "test+b.png" and "%2B%20%%%.png" and uses EventBridge keys unchanged
	// (https://github.com/aws-solutions-library-samples/guidance-for-medialake-on-aws/pull/21).
	// Powertools for AWS Lambda (Python) does unquote_plus these keys, which would mangle exactly
	// such keys; CloudTrail keys and typical billing keys contain none of " ", "+" or "%", so the
	// two readings only differ for unusual keys.
	ref, err := objectRef(d.Bucket.Name, d.Object.Key, d.Object.VersionID, d.Object.ETag, d.Object.Size, e.DetailType, e.Time)
	if err != nil {
		return notification{}, fmt.Errorf("EventBridge detail: %w", err)
	}
	return notification{objects: []ObjectRef{ref}}, nil
}

// decodeTestEvent decodes the s3:TestEvent S3 sends when a notification is configured.
func decodeTestEvent(o object) (notification, error) {
	var e events.S3TestEvent
	if err := json.Unmarshal(o.raw, &e); err != nil {
		return notification{}, fmt.Errorf("S3 test event: %w", err)
	}
	if e.Event != s3TestEvent {
		return notification{}, fmt.Errorf("S3 event %s is not %q", quote(e.Event), s3TestEvent)
	}
	return notification{test: true}, nil
}

// objectRef validates and normalises the fields every shape shares.
func objectRef(bucket, key, versionID, etag string, size int64, eventName string, eventTime time.Time) (ObjectRef, error) {
	switch {
	case bucket == "":
		return ObjectRef{}, errors.New("s3 bucket name is empty")
	case key == "":
		return ObjectRef{}, errors.New("s3 object key is empty")
	case size < 0:
		return ObjectRef{}, fmt.Errorf("s3 object size %d is negative", size)
	}
	return ObjectRef{
		Bucket:    bucket,
		Key:       key,
		VersionID: versionID,
		ETag:      strings.TrimSuffix(strings.TrimPrefix(etag, `"`), `"`),
		Size:      size,
		EventName: eventName,
		EventTime: eventTime,
	}, nil
}

// object is a JSON object, kept whole for decoding into a type and split into members for
// recognising its shape.
type object struct {
	raw     []byte
	members map[string]json.RawMessage
}

// parseObject parses data as a non-empty JSON object.
func parseObject(data []byte, what string) (object, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return object{}, fmt.Errorf("%s is empty", what)
	}
	if !json.Valid(data) {
		var v any
		err := json.Unmarshal(data, &v)
		return object{}, fmt.Errorf("%s is not valid JSON: %w", what, err)
	}
	if data[0] != '{' {
		return object{}, fmt.Errorf("%s is a JSON %s, not an object", what, jsonKind(data[0]))
	}
	o := object{raw: data}
	if err := json.Unmarshal(data, &o.members); err != nil {
		return object{}, fmt.Errorf("%s: %w", what, err)
	}
	if len(o.members) == 0 {
		return object{}, fmt.Errorf("%s is an empty JSON object", what)
	}
	return o, nil
}

// has reports whether the object has a member of that name.
func (o object) has(name string) bool {
	_, ok := o.members[name]
	return ok
}

// keys lists the object's member names, sorted, quoted and bounded, for error messages.
func (o object) keys() string {
	const maxKeys = 10
	names := make([]string, 0, len(o.members))
	for k := range o.members {
		names = append(names, k)
	}
	sort.Strings(names)
	more := ""
	if len(names) > maxKeys {
		more = fmt.Sprintf(" and %d more", len(names)-maxKeys)
		names = names[:maxKeys]
	}
	for i, k := range names {
		names[i] = quote(k)
	}
	return strings.Join(names, ", ") + more
}

// eventSource returns a record's event source, spelled "eventSource" by S3 and SQS and
// "EventSource" by SNS; encoding/json matches either.
func eventSource(record json.RawMessage) string {
	var r struct {
		EventSource string `json:"eventSource"`
	}
	_ = json.Unmarshal(record, &r) // a malformed record fails later, where the error can name it
	return r.EventSource
}

// jsonKind names the JSON type that starts with c.
func jsonKind(c byte) string {
	switch c {
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	default:
		return "number"
	}
}

// quote quotes an untrusted string for an error message, cutting it short if it is long.
func quote(s string) string {
	if len(s) <= maxQuoted {
		return fmt.Sprintf("%q", s)
	}
	cut := maxQuoted
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return fmt.Sprintf("%q… (%d bytes)", s[:cut], len(s))
}
