package functions_test

// The sample events under events/<function>/ (for `sam local invoke -e` and
// `logvault invoke`) must decode with what that function's handler uses.

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/logvault/logvault/internal/cwlogs"
	"github.com/logvault/logvault/internal/functions"
	"github.com/logvault/logvault/internal/trigger"
)

const eventsDir = "../../events"

// s3Shapes are the notification shapes an S3-triggered function takes (docs/design.md:
// direct, via SNS, via EventBridge, and each of those via SQS).
var s3Shapes = []string{"eventbridge", "s3", "sns", "sqs-eventbridge", "sqs-s3", "sqs-sns"}

// eventShape names a payload's shape from its outer JSON, independently of
// the decoder under test.
func eventShape(payload []byte) string {
	var top struct {
		DetailType string `json:"detail-type"`
		BatchOps   string `json:"invocationSchemaVersion"`
		Event      string
		Type       string
		Records    []struct {
			EventSource  string `json:"eventSource"`
			EventSource2 string `json:"EventSource"`
			Body         string `json:"body"`
		}
	}
	if json.Unmarshal(payload, &top) != nil {
		return "not JSON"
	}
	switch {
	case top.DetailType != "":
		return "eventbridge"
	case top.BatchOps != "":
		return "batch-operations"
	case top.Event == "s3:TestEvent":
		return "s3-test"
	case top.Type == "Notification":
		return "sns" // an SNS envelope as SQS carries it
	case len(top.Records) == 0:
		return "unknown"
	}
	r := top.Records[0]
	switch {
	case r.EventSource == "aws:s3":
		return "s3"
	case r.EventSource2 == "aws:sns":
		return "sns"
	case r.EventSource == "aws:sqs":
		return "sqs-" + eventShape([]byte(r.Body))
	}
	return "unknown"
}

func TestEventsDecode(t *testing.T) {
	dirs, err := os.ReadDir(eventsDir)
	if err != nil {
		t.Fatal(err)
	}
	names := functions.Names()
	seen := map[string]bool{}
	for _, d := range dirs {
		if !d.IsDir() {
			t.Errorf("events/%s: events are kept in events/<function>/", d.Name())
			continue
		}
		fn := d.Name()
		if !slices.Contains(names, fn) {
			t.Errorf("events/%s/: there is no function %q (functions: %v)", fn, fn, names)
			continue
		}
		seen[fn] = true
		files, err := filepath.Glob(filepath.Join(eventsDir, fn, "*"))
		if err != nil {
			t.Fatal(err)
		}
		shapes := map[string]bool{}
		var dataMessages, controlMessages int
		for _, path := range files {
			rel := strings.TrimPrefix(filepath.ToSlash(path), "../../")
			if !strings.HasSuffix(path, ".json") {
				t.Errorf("%s: not a .json event", rel)
				continue
			}
			payload, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			t.Run(fn+"/"+filepath.Base(path), func(t *testing.T) {
				if !json.Valid(payload) {
					t.Fatalf("%s is not valid JSON", rel)
				}
				switch fn {
				case "cloudtrail", "billing":
					shapes[eventShape(payload)] = true
					b, err := trigger.Decode(payload)
					if err != nil {
						t.Fatalf("trigger.Decode(%s): %v", rel, err)
					}
					if len(b.Messages) == 0 {
						t.Fatalf("%s decodes to no messages", rel)
					}
					for i, m := range b.Messages {
						if m.Err != nil {
							t.Errorf("%s message %d (%s): %v", rel, i, m.ID, m.Err)
							continue
						}
						if len(m.Objects) == 0 && !m.Test {
							t.Errorf("%s message %d announces no object and is no s3:TestEvent", rel, i)
						}
						if m.Test && len(m.Objects) > 0 {
							t.Errorf("%s message %d is a test event with objects %v", rel, i, m.Objects)
						}
						for _, o := range m.Objects {
							if o.Bucket == "" || o.Key == "" {
								t.Errorf("%s message %d: object %+v without bucket or key", rel, i, o)
							}
						}
					}
				case "applogs":
					d, err := cwlogs.Decode(payload)
					if err != nil {
						t.Fatalf("cwlogs.Decode(%s): %v", rel, err)
					}
					switch d.MessageType {
					case cwlogs.DataMessage:
						dataMessages++
						if _, err := d.NDJSON(); err != nil {
							t.Errorf("cwlogs.NDJSON(%s): %v", rel, err)
						}
					case cwlogs.ControlMessage:
						controlMessages++
					}
				case "reconcile":
					var e events.EventBridgeEvent
					if err := json.Unmarshal(payload, &e); err != nil || e.DetailType != "Scheduled Event" || e.Source != "aws.events" {
						t.Errorf("%s: not an EventBridge schedule's event (%v)", rel, err)
					}
				default:
					t.Errorf("the test does not know how function %q decodes its events", fn)
				}
			})
		}
		if len(files) == 0 {
			t.Errorf("events/%s/ holds no event", fn)
		}
		switch fn {
		case "cloudtrail", "billing":
			var missing []string
			for _, s := range s3Shapes {
				if !shapes[s] {
					missing = append(missing, s)
				}
			}
			if len(missing) > 0 {
				got := make([]string, 0, len(shapes))
				for s := range shapes {
					got = append(got, s)
				}
				sort.Strings(got)
				t.Errorf("events/%s/ has shapes %v, lacks a sample of %v", fn, got, missing)
			}
		case "applogs":
			if dataMessages == 0 || controlMessages == 0 {
				t.Errorf("events/applogs/ has %d DATA_MESSAGE and %d CONTROL_MESSAGE samples, want both", dataMessages, controlMessages)
			}
		}
	}
	for _, fn := range names {
		if !seen[fn] {
			t.Errorf("function %s has no events/%s/ samples", fn, fn)
		}
	}
}

// TestEventShape guards the classifier the test above relies on.
func TestEventShape(t *testing.T) {
	for payload, want := range map[string]string{
		`{"detail-type":"Object Created","source":"aws.s3"}`:                           "eventbridge",
		`{"Records":[{"eventSource":"aws:s3"}]}`:                                       "s3",
		`{"Records":[{"EventSource":"aws:sns","Sns":{}}]}`:                             "sns",
		`{"Event":"s3:TestEvent"}`:                                                     "s3-test",
		`{"Records":[{"eventSource":"aws:sqs","body":"{\"detail-type\":\"x\"}"}]}`:     "sqs-eventbridge",
		`{"Records":[{"eventSource":"aws:sqs","body":"{\"Type\":\"Notification\"}"}]}`: "sqs-sns",
		`{"invocationSchemaVersion":"2.0","tasks":[]}`:                                 "batch-operations",
		`{"awslogs":{"data":""}}`:                                                      "unknown",
	} {
		if got := eventShape([]byte(payload)); got != want {
			t.Errorf("eventShape(%s) = %q, want %q", payload, got, want)
		}
	}
}
