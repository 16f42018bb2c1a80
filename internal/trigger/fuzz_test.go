package trigger_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/logvault/logvault/internal/trigger"
)

// FuzzDecodeBody fuzzes what sits inside an envelope: an SQS message body
// and an SNS Message, which FuzzDecode rarely reaches through the outer
// JSON's string escaping. In an SQS batch a bad body fails its own message
// only; inside SNS it fails the invocation with a "trigger: " error.
func FuzzDecodeBody(f *testing.F) {
	o := defaultObj()
	o.key = "a+b%2Bc%3A%C3%A9"
	for _, seed := range []any{
		s3Notification(o), eventBridge(o, "Object Created"), eventBridge(o, "Object Deleted"), testEvent(),
		snsEnvelope(s3Notification(o)), snsEnvelope(testEvent()), snsEnvelope(snsEnvelope(testEvent())),
		"", "{}", "null", `{"Records":[]}`, `{"Records":[{"eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"%zz"}}}]}`,
		`{"Type":"Notification","Message":"{\"Records\":[{\"eventSource\":\"aws:sns\"}]}"}`,
	} {
		f.Add(str(seed))
	}
	f.Fuzz(func(t *testing.T, body string) {
		for _, payload := range []map[string]any{sqsEvent(sqsMessage{"m-1", body}), snsEvent(body)} {
			raw, err := json.Marshal(payload)
			if err != nil {
				t.Fatal(err)
			}
			b, err := trigger.Decode(raw)
			if err != nil {
				if b.FromSQS {
					t.Fatalf("an SQS batch with a messageId failed as a whole: %v", err)
				}
				if !strings.HasPrefix(err.Error(), "trigger: ") {
					t.Errorf("error %q does not start with \"trigger: \"", err)
				}
				continue
			}
			if len(b.Messages) != 1 {
				t.Fatalf("%d messages for one body", len(b.Messages))
			}
			m := b.Messages[0]
			if b.FromSQS && m.ID != "m-1" {
				t.Errorf("message id %q, want m-1", m.ID)
			}
			if m.Err != nil && (len(m.Objects) != 0 || m.Test) {
				t.Errorf("failed message also has content: %+v", m)
			}
			if m.Err != nil && !strings.HasPrefix(m.Err.Error(), "trigger: SQS message m-1: ") {
				t.Errorf("message error %q does not name the message", m.Err)
			}
			for _, ref := range m.Objects {
				if ref.Bucket == "" || ref.Key == "" || ref.Size < 0 {
					t.Errorf("invalid object %+v", ref)
				}
			}
		}
	})
}
