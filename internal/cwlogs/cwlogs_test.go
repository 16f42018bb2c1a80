package cwlogs_test

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"github.com/logvault/logvault/internal/cwlogs"
)

var update = flag.Bool("update", false, "rewrite the sample events in events/applogs from the data in this file")

// ---------------------------------------------------------------------------------------------
// Building payloads. These helpers use only the standard library and aws-lambda-go's types, so
// other tests (the end-to-end ones) can copy them as they are.

// payload builds a CloudWatch Logs subscription event as Lambda receives it:
// {"awslogs":{"data":"<base64(gzip(JSON of d))>"}}.
func payload(t testing.TB, d events.CloudwatchLogsData) []byte {
	t.Helper()
	return wrapData(base64.StdEncoding.EncodeToString(gzipBytes(t, marshal(t, d), gzip.DefaultCompression)))
}

// marshal renders v as compact JSON with "<", ">" and "&" left as they are, as CloudWatch Logs
// writes them.
func marshal(t testing.TB, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatalf("marshal: %v", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// gzipBytes compresses b as one gzip member at the given level.
func gzipBytes(t testing.TB, b []byte, level int) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, level)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// wrapData puts an awslogs.data string into the event envelope.
func wrapData(data string) []byte {
	b, err := json.Marshal(map[string]any{"awslogs": map[string]any{"data": data}})
	if err != nil {
		panic(err) // a map of strings cannot fail
	}
	return b
}

// wrapGzip is the event whose awslogs.data is base64(gzip(plain)): for payloads whose inner JSON
// is written by hand.
func wrapGzip(t testing.TB, plain []byte) []byte {
	t.Helper()
	return wrapData(base64.StdEncoding.EncodeToString(gzipBytes(t, plain, gzip.DefaultCompression)))
}

// ---------------------------------------------------------------------------------------------
// Test data.

const (
	owner  = "222222222222"
	group  = "/aws/lambda/checkout"
	stream = "2026/11/26/[$LATEST]0123456789abcdef0123456789abcdef"
)

// t0 is 2026-11-26T09:14:03.102Z in Unix milliseconds.
var t0 = time.Date(2026, 11, 26, 9, 14, 3, 102_000_000, time.UTC).UnixMilli()

// logEvent is the i-th event of a stream: a 56-digit id as CloudWatch Logs gives them.
func logEvent(i int, msg string) events.CloudwatchLogsLogEvent {
	return events.CloudwatchLogsLogEvent{ID: fmt.Sprintf("3821159458322140901623181314693148406253047638%010d", i), Timestamp: t0 + int64(i)*37, Message: msg}
}

func dataMessage(evs ...events.CloudwatchLogsLogEvent) events.CloudwatchLogsData {
	return events.CloudwatchLogsData{
		Owner: owner, LogGroup: group, LogStream: stream,
		SubscriptionFilters: []string{"logvault-applogs"},
		MessageType:         cwlogs.DataMessage,
		LogEvents:           evs,
	}
}

// messages is a DATA_MESSAGE with one event per message, in order.
func messages(msgs ...string) events.CloudwatchLogsData {
	evs := make([]events.CloudwatchLogsLogEvent, len(msgs))
	for i, m := range msgs {
		evs[i] = logEvent(i, m)
	}
	return dataMessage(evs...)
}

// controlMessage is the health check CloudWatch Logs sends when a subscription filter is created.
func controlMessage() events.CloudwatchLogsData {
	return events.CloudwatchLogsData{
		Owner: "CloudwatchLogs", SubscriptionFilters: []string{}, MessageType: cwlogs.ControlMessage,
		LogEvents: []events.CloudwatchLogsLogEvent{{Timestamp: t0 - 60_000, Message: "CWL CONTROL MESSAGE: Checking health of destination Lambda function."}},
	}
}

// longMessage is a structured log line of at least n bytes, mixing ASCII and multi-byte runes.
func longMessage(n int) string {
	var b strings.Builder
	b.WriteString(`{"level":"debug","msg":"cart snapshot","items":[`)
	for i := 0; b.Len() < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"sku":"SKU-%05d","qty":%d,"name":"Tasse 陶器 ☕ Nº%d","note":"<gift> & wrap"}`, i, i%7+1, i)
	}
	b.WriteString("]}\n")
	return b.String()
}

// awkward are messages that must come out of the vault exactly as they went in.
var awkward = []struct{ name, msg string }{
	{"ASCII", "START RequestId: 9c2e6b1a-4d7f-4e3a-b8c5-1f0e2d3c4b5a Version: $LATEST\n"},
	{"empty", ""},
	{"emoji", "✅ order confirmed 🎉🛒 by 👩🏽‍💻 (ZWJ + skin tone) 🇪🇺 €129.99"},
	{"CJK", "注文に失败しました：在庫不足「抹茶ラテ」。订单失败。주문 실패"},
	{"RTL", "فشل الدفع للطلب — שגיאת תשלום \u200f(קוד 402)\u200f \u202eRLO\u202c"},
	{"combining and BOM", "e\u0301 vs \u00e9, \ufeffBOM, zero\u200bwidth"},
	{"newlines", "line one\nline two\n\nline four\n"},
	{"CRLF", "GET /cart HTTP/1.1\r\nHost: shop.example\r\n\r\n"},
	{"lone CR", "progress 10%\rprogress 100%\r"},
	{"tabs", "\tat capturePayment\t(/var/task/src/payments.js:88:11)\t"},
	{"HTML characters", `<script>alert("x&y")</script> a<b && c>d &amp;`},
	{"quotes and backslashes", `C:\Temp\new "quoted" \"escaped\" \\ \u0041 /`},
	{"control characters", "\x00nul \x01soh \x1b[31mred\x1b[0m \x7fdel \x08bs \x0cff"},
	{"line and paragraph separators", "a\u2028b\u2029c"},
	{"JSON inside", `{"level":"error","msg":"boom","err":{"type":"TypeError","stack":"at x\nat y"}}`},
	{"stack trace", "2026-11-26T09:14:03.271Z\t9c2e6b1a-4d7f-4e3a-b8c5-1f0e2d3c4b5a\tERROR\tpayment capture failed Error: card_declined\n    at capturePayment (/var/task/src/payments.js:88:11)\n    at async Runtime.handler (/var/task/src/index.js:41:5)\n"},
	{"200 KiB", longMessage(200 << 10)},
}

// ---------------------------------------------------------------------------------------------
// Reading what NDJSON wrote, as a user of the vault would: gunzip, split lines, parse each.

// readNDJSON checks body is one gzip member without name or time holding newline-terminated JSON
// lines with exactly the six fields of cwlogs.Line, and returns the lines.
func readNDJSON(t testing.TB, body []byte) []cwlogs.Line {
	t.Helper()
	r := bytes.NewReader(body)
	zr, err := gzip.NewReader(r)
	if err != nil {
		t.Fatalf("NDJSON output is not gzip: %v", err)
	}
	if zr.Name != "" || zr.Comment != "" || !zr.ModTime.IsZero() {
		t.Errorf("gzip header carries name %q, comment %q, time %v; want none (they would break determinism)", zr.Name, zr.Comment, zr.ModTime)
	}
	zr.Multistream(false)
	plain, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("gunzip NDJSON output: %v", err)
	}
	if r.Len() != 0 {
		t.Errorf("%d bytes follow the first gzip member", r.Len())
	}
	if len(plain) == 0 {
		return nil
	}
	if plain[len(plain)-1] != '\n' {
		t.Errorf("NDJSON does not end with a newline: …%q", plain[max(0, len(plain)-40):])
	}
	var lines []cwlogs.Line
	for i, raw := range bytes.Split(bytes.TrimSuffix(plain, []byte("\n")), []byte("\n")) {
		if !utf8.Valid(raw) {
			t.Errorf("line %d is not valid UTF-8", i)
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		var fields map[string]any
		if err := dec.Decode(&fields); err != nil {
			t.Fatalf("line %d is not JSON: %v: %.200q", i, err, raw)
		}
		if dec.More() {
			t.Fatalf("line %d holds more than one JSON value: %.200q", i, raw)
		}
		var l cwlogs.Line
		for name, dst := range map[string]*string{"id": &l.ID, "message": &l.Message, "owner": &l.Owner, "logGroup": &l.LogGroup, "logStream": &l.LogStream} {
			s, ok := fields[name].(string)
			if !ok {
				t.Errorf("line %d: %s is %T, want a string", i, name, fields[name])
			}
			*dst = s
		}
		n, ok := fields["timestamp"].(json.Number)
		if !ok {
			t.Errorf("line %d: timestamp is %T, want a number", i, fields["timestamp"])
		}
		if l.Timestamp, err = strconv.ParseInt(string(n), 10, 64); err != nil {
			t.Errorf("line %d: timestamp %s is not an integer of milliseconds", i, n)
		}
		if len(fields) != 6 {
			t.Errorf("line %d has %d fields, want 6 (id, timestamp, message, owner, logGroup, logStream): %.200q", i, len(fields), raw)
		}
		lines = append(lines, l)
	}
	return lines
}

// wantLines is what NDJSON must write for d: one line per event, in order.
func wantLines(d events.CloudwatchLogsData) []cwlogs.Line {
	var out []cwlogs.Line
	for _, e := range d.LogEvents {
		out = append(out, cwlogs.Line{ID: e.ID, Timestamp: e.Timestamp, Message: e.Message, Owner: d.Owner, LogGroup: d.LogGroup, LogStream: d.LogStream})
	}
	return out
}

// checkLines compares lines field by field; messages are compared byte for byte and a difference
// is reported by its first offset, not by printing 200 KiB.
func checkLines(t testing.TB, got, want []cwlogs.Line) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("NDJSON has %d lines, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Message != w.Message {
			t.Errorf("line %d: message differs %s", i, firstDiff(g.Message, w.Message))
		}
		g.Message, w.Message = "", ""
		if g != w {
			t.Errorf("line %d = %+v, want %+v", i, g, w)
		}
	}
}

func firstDiff(got, want string) string {
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	return fmt.Sprintf("at byte %d (got %d bytes, want %d): got …%.40q, want …%.40q", i, len(got), len(want), got[i:], want[i:])
}

// mustDecode decodes p and checks that the batch renders the bytes its
// decoded events render (the canonical messages copied as they arrived
// write what re-encoding them writes).
func mustDecode(t testing.TB, p []byte) events.CloudwatchLogsData {
	t.Helper()
	b, err := cwlogs.Decode(p)
	if err != nil {
		t.Fatalf("Decode: %v", err)
	}
	d := b.Data()
	got, err := b.NDJSON()
	if err != nil {
		t.Fatalf("NDJSON: %v", err)
	}
	if want := mustNDJSON(t, d); !bytes.Equal(got, want) {
		t.Fatalf("the decoded batch renders %d bytes, its events re-encoded %d: they differ", len(got), len(want))
	}
	return d
}

func mustNDJSON(t testing.TB, d events.CloudwatchLogsData) []byte {
	t.Helper()
	b, err := cwlogs.NDJSON(d)
	if err != nil {
		t.Fatalf("NDJSON: %v", err)
	}
	return b
}

// ---------------------------------------------------------------------------------------------
// Decode.

func TestDecodeControlMessage(t *testing.T) {
	noEvents := controlMessage()
	noEvents.LogEvents = nil
	for name, p := range map[string][]byte{
		"as CloudWatch Logs sends it": payload(t, controlMessage()),
		"without events":              payload(t, noEvents),
		"hand-written":                wrapGzip(t, []byte(`{"messageType":"CONTROL_MESSAGE","owner":"CloudwatchLogs","logGroup":"","logStream":"","subscriptionFilters":[],"logEvents":[{"id":"","timestamp":1795669983102,"message":"CWL CONTROL MESSAGE: Checking health of destination Lambda function."}]}`)),
	} {
		t.Run(name, func(t *testing.T) {
			d, err := cwlogs.Decode(p)
			if err != nil {
				t.Fatalf("Decode: %v (a CONTROL_MESSAGE must be accepted so it can be acknowledged)", err)
			}
			if d.MessageType != cwlogs.ControlMessage {
				t.Errorf("MessageType = %q, want %q", d.MessageType, cwlogs.ControlMessage)
			}
		})
	}
}

func TestDecodeDataMessage(t *testing.T) {
	many := make([]events.CloudwatchLogsLogEvent, 10000) // the most CloudWatch Logs puts in one batch
	for i := range many {
		many[i] = logEvent(i, fmt.Sprintf("event %d", i))
	}
	outOfOrder := messages("third", "first", "second")
	outOfOrder.LogEvents[0].Timestamp, outOfOrder.LogEvents[2].Timestamp = t0+100, t0-100
	sameTime := messages("a", "b", "c")
	for i := range sameTime.LogEvents {
		sameTime.LogEvents[i].Timestamp = t0
	}
	var allAwkward []string
	for _, a := range awkward {
		allAwkward = append(allAwkward, a.msg)
	}
	noFilters := messages("x")
	noFilters.SubscriptionFilters = nil
	for _, tc := range []struct {
		name string
		d    events.CloudwatchLogsData
	}{
		{"one event", messages("hello")},
		{"Lambda invocation", messages("START RequestId: 1 Version: $LATEST\n", "2026-11-26T09:14:03.118Z\t1\tINFO\tok\n", "END RequestId: 1\n")},
		{"awkward messages", messages(allAwkward...)},
		{"timestamps out of order", outOfOrder},
		{"same timestamps", sameTime},
		{"10000 events", dataMessage(many...)},
		{"no subscription filters", noFilters},
		{"log group without slash", func() events.CloudwatchLogsData { d := messages("x"); d.LogGroup = "checkout-api"; return d }()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := mustDecode(t, payload(t, tc.d))
			if got.MessageType != cwlogs.DataMessage {
				t.Errorf("MessageType = %q, want %q", got.MessageType, cwlogs.DataMessage)
			}
			if len(got.LogEvents) != len(tc.d.LogEvents) {
				t.Fatalf("Decode returned %d events, want %d", len(got.LogEvents), len(tc.d.LogEvents))
			}
			if !reflect.DeepEqual(got, tc.d) {
				for i := range got.LogEvents {
					if got.LogEvents[i] != tc.d.LogEvents[i] {
						t.Fatalf("event %d = %.200q, want %.200q", i, fmt.Sprint(got.LogEvents[i]), fmt.Sprint(tc.d.LogEvents[i]))
					}
				}
				t.Fatalf("Decode = %+v, want %+v", got, tc.d)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	valid := marshal(t, messages("START RequestId: 1 Version: $LATEST\n", longMessage(4<<10), "END RequestId: 1\n"))
	gz := gzipBytes(t, valid, gzip.DefaultCompression)
	b64 := base64.StdEncoding.EncodeToString
	badCRC := bytes.Clone(gz)
	badCRC[len(badCRC)-8] ^= 0xff
	var zl bytes.Buffer
	zw := zlib.NewWriter(&zl)
	zw.Write(valid)
	zw.Close()
	// data builds the inner JSON of a DATA_MESSAGE with edit applied.
	data := func(edit func(m map[string]any)) []byte {
		var m map[string]any
		if err := json.Unmarshal(valid, &m); err != nil {
			t.Fatal(err)
		}
		edit(m)
		return wrapGzip(t, marshal(t, m))
	}
	setEvent := func(i int, field string, v any) func(map[string]any) {
		return func(m map[string]any) {
			ev := m["logEvents"].([]any)[i].(map[string]any)
			if v == nil {
				delete(ev, field)
			} else {
				ev[field] = v
			}
		}
	}
	for _, tc := range []struct {
		name    string
		payload []byte
		want    []string // words the one-line error must contain
	}{
		{"not JSON", []byte("hello"), []string{"not JSON"}},
		{"empty payload", nil, []string{"not JSON"}},
		{"JSON array", []byte(`[{"awslogs":{}}]`), []string{"JSON"}},
		{"truncated JSON", payload(t, messages("x"))[:20], []string{"not JSON"}},
		{"JSON null", []byte("null"), []string{"awslogs.data"}},
		{"empty object", []byte("{}"), []string{"awslogs.data"}},
		{"S3 notification", []byte(`{"Records":[{"eventSource":"aws:s3"}]}`), []string{"awslogs.data", "CloudWatch Logs"}},
		{"awslogs without data", []byte(`{"awslogs":{}}`), []string{"awslogs.data"}},
		{"empty data", wrapData(""), []string{"awslogs.data"}},
		{"data not a string", []byte(`{"awslogs":{"data":42}}`), []string{"awslogs.data"}},
		{"invalid base64", wrapData("H4sI!!!not*base64"), []string{"base64"}},
		{"URL-safe base64", wrapData("H4sI_-_-"), []string{"base64"}},
		{"base64 without padding", wrapData(base64.RawStdEncoding.EncodeToString([]byte("ab"))), []string{"base64"}},
		{"not gzip", wrapData(b64([]byte("plain text, not compressed at all"))), []string{"not gzip"}},
		{"plain JSON, not gzip", wrapData(b64(valid)), []string{"not gzip"}},
		{"zlib instead of gzip", wrapData(b64(zl.Bytes())), []string{"not gzip"}},
		{"empty gzip input", wrapData(b64([]byte{0x1f})), []string{"gzip"}},
		{"gzip cut in half", wrapData(b64(gz[:len(gz)/2])), []string{"truncated", "gzip"}},
		{"gzip without its trailer", wrapData(b64(gz[:len(gz)-8])), []string{"truncated", "gzip"}},
		{"gzip header only", wrapData(b64(gz[:10])), []string{"truncated", "gzip"}},
		{"gzip with bad checksum", wrapData(b64(badCRC)), []string{"corrupt", "gzip"}},
		{"gzip followed by garbage", wrapData(b64(append(bytes.Clone(gz), "garbage!!!"...))), []string{"gzip"}},
		{"gzip of non-JSON", wrapGzip(t, []byte("START RequestId: 1\n")), []string{"JSON"}},
		{"gzip of nothing", wrapGzip(t, nil), []string{"JSON"}},
		{"gzip of JSON array", wrapGzip(t, []byte(`[]`)), []string{"JSON"}},
		{"gzip of truncated JSON", wrapGzip(t, valid[:len(valid)/2]), []string{"JSON"}},
		{"unknown messageType", data(func(m map[string]any) { m["messageType"] = "DATA" }), []string{"messageType", `"DATA"`}},
		{"lower-case messageType", data(func(m map[string]any) { m["messageType"] = "data_message" }), []string{"messageType"}},
		{"no messageType", data(func(m map[string]any) { delete(m, "messageType") }), []string{"messageType"}},
		{"no owner", data(func(m map[string]any) { delete(m, "owner") }), []string{"owner"}},
		{"empty owner", data(func(m map[string]any) { m["owner"] = "" }), []string{"owner"}},
		{"no logGroup", data(func(m map[string]any) { delete(m, "logGroup") }), []string{"logGroup"}},
		{"no logStream", data(func(m map[string]any) { delete(m, "logStream") }), []string{"logStream"}},
		{"no logEvents", data(func(m map[string]any) { delete(m, "logEvents") }), []string{"logEvents"}},
		{"empty logEvents", data(func(m map[string]any) { m["logEvents"] = []any{} }), []string{"logEvents"}},
		{"first event without id", data(setEvent(0, "id", nil)), []string{"logEvents[0]", "id"}},
		{"third event with empty id", data(setEvent(2, "id", "")), []string{"logEvents[2]", "id"}},
		{"timestamp not a number", data(setEvent(1, "timestamp", "2026-11-26T09:14:03Z")), []string{"JSON", "timestamp"}},
		{"message not a string", data(setEvent(1, "message", 7)), []string{"JSON", "message"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := cwlogs.Decode(tc.payload)
			if err == nil {
				t.Fatalf("Decode succeeded with %.300q, want an error", fmt.Sprint(d))
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "cwlogs: ") {
				t.Errorf("error %q does not start with \"cwlogs: \"", msg)
			}
			if strings.ContainsAny(msg, "\r\n") {
				t.Errorf("error %q spans several lines", msg)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not contain %q", msg, w)
				}
			}
			if d != nil {
				t.Errorf("Decode returned data %+v along with its error", d)
			}
		})
	}
}

// TestDecodeRejectsGzipBomb: a payload that inflates beyond the limit fails with a message saying
// so instead of exhausting the function's memory. Slow (it inflates 256 MiB), so not with -short.
func TestDecodeRejectsGzipBomb(t *testing.T) {
	if testing.Short() {
		t.Skip("inflates 256 MiB")
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	zw.Write([]byte(`{"messageType":"DATA_MESSAGE","owner":"`))
	zeros := make([]byte, 1<<20)
	for i := range zeros {
		zeros[i] = 'a'
	}
	for i := 0; i < 257; i++ {
		zw.Write(zeros)
	}
	zw.Write([]byte(`"}`))
	zw.Close()
	_, err := cwlogs.Decode(wrapData(base64.StdEncoding.EncodeToString(buf.Bytes())))
	if err == nil || !strings.Contains(err.Error(), "MiB") {
		t.Fatalf("Decode of a %d-byte payload inflating to 257 MiB: error %v, want one naming the size limit", buf.Len(), err)
	}
}

// ---------------------------------------------------------------------------------------------
// NDJSON.

// TestNDJSONMessagesSurvive: every message comes out of the vault object byte for byte, with the
// stream's owner, group and stream on its line, whether the data was built here or decoded from a
// payload.
func TestNDJSONMessagesSurvive(t *testing.T) {
	for _, tc := range awkward {
		t.Run(tc.name, func(t *testing.T) {
			d := messages("START RequestId: 1 Version: $LATEST\n", tc.msg, "END RequestId: 1\n")
			for via, dd := range map[string]events.CloudwatchLogsData{"direct": d, "decoded payload": mustDecode(t, payload(t, d))} {
				checkLines(t, readNDJSON(t, mustNDJSON(t, dd)), wantLines(d))
				if t.Failed() {
					t.Fatalf("via %s", via)
				}
			}
		})
	}
}

// TestNDJSONKeepsHTMLCharacters: "<", ">" and "&" are written as they are, not as \u003c…, so a
// grep or an Athena LIKE over the raw object finds them.
func TestNDJSONKeepsHTMLCharacters(t *testing.T) {
	msg := `<script>alert("x&y")</script>`
	body := mustNDJSON(t, messages(msg))
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := io.ReadAll(zr)
	if !bytes.Contains(plain, []byte(`<script>alert(\"x&y\")</script>`)) {
		t.Errorf("line %q does not carry <, > and & literally", plain)
	}
}

// TestNDJSONLineFormat pins one line exactly: field names and order are what Athena tables and
// users' jq filters are written against. The log group keeps its leading slash here (only the
// vault key drops it).
func TestNDJSONLineFormat(t *testing.T) {
	d := dataMessage(events.CloudwatchLogsLogEvent{ID: "38211594583221409016231813146931484062530476381620060160", Timestamp: 1795684443102, Message: "hello\n"})
	zr, err := gzip.NewReader(bytes.NewReader(mustNDJSON(t, d)))
	if err != nil {
		t.Fatal(err)
	}
	plain, _ := io.ReadAll(zr)
	want := `{"id":"38211594583221409016231813146931484062530476381620060160","timestamp":1795684443102,"message":"hello\n","owner":"222222222222","logGroup":"/aws/lambda/checkout","logStream":"2026/11/26/[$LATEST]0123456789abcdef0123456789abcdef"}` + "\n"
	if string(plain) != want {
		t.Errorf("NDJSON =\n%s\nwant\n%s", plain, want)
	}
}

// TestNDJSONKeepsEventOrder: lines follow the payload's order, not the timestamps'.
func TestNDJSONKeepsEventOrder(t *testing.T) {
	d := messages("c", "a", "b")
	d.LogEvents[0].Timestamp, d.LogEvents[1].Timestamp, d.LogEvents[2].Timestamp = t0+2, t0, t0+1
	checkLines(t, readNDJSON(t, mustNDJSON(t, d)), wantLines(d))
}

// TestNDJSONInvalidUTF8 documents what happens to bytes that are not UTF-8. JSON text cannot carry
// them, so neither the payload CloudWatch Logs sends nor the NDJSON line can: CloudWatch Logs only
// stores and delivers valid UTF-8, and a payload that nonetheless holds invalid bytes (or a lone
// UTF-16 surrogate escape) decodes with each such byte (escape) replaced by U+FFFD, which NDJSON
// then keeps. The vault object is always valid UTF-8 JSON.
func TestNDJSONInvalidUTF8(t *testing.T) {
	inner := []byte(`{"messageType":"DATA_MESSAGE","owner":"222222222222","logGroup":"/aws/lambda/checkout","logStream":"s","logEvents":[` +
		"{\"id\":\"1\",\"timestamp\":1,\"message\":\"bad \xff\xfe bytes, cut rune \xe2\x82, ok \xe2\x82\xac\"}," +
		`{"id":"2","timestamp":2,"message":"lone surrogate \ud800 and pair \ud83d\ude80"}]}`)
	d := mustDecode(t, wrapGzip(t, inner))
	want := []string{"bad \uFFFD\uFFFD bytes, cut rune \uFFFD\uFFFD, ok €", "lone surrogate \uFFFD and pair 🚀"}
	for i, w := range want {
		if d.LogEvents[i].Message != w {
			t.Errorf("decoded message %d = %q, want %q", i, d.LogEvents[i].Message, w)
		}
	}
	checkLines(t, readNDJSON(t, mustNDJSON(t, d)), wantLines(d))

	// Data built in Go (not decoded from JSON) may hold invalid bytes: NDJSON replaces each one
	// the same way rather than failing or writing invalid UTF-8.
	raw := messages("x \xff y")
	got := readNDJSON(t, mustNDJSON(t, raw))
	if len(got) != 1 || got[0].Message != "x \uFFFD y" {
		t.Errorf("NDJSON of a message with byte 0xff = %+v, want message %q", got, "x \uFFFD y")
	}
}

// TestNDJSONDeterministic: the same events always give the same bytes, however the payload that
// carried them was compressed or laid out, so a retried delivery is a duplicate; any change to
// what a line records gives different bytes.
func TestNDJSONDeterministic(t *testing.T) {
	base := messages("START RequestId: 1 Version: $LATEST\n", "✅ paid <ok> & done\r\n\tnext", longMessage(20<<10))
	want := mustNDJSON(t, base)
	if again := mustNDJSON(t, base); !bytes.Equal(again, want) {
		t.Fatal("NDJSON of the same data twice differs")
	}

	// The same data arriving in differently encoded payloads.
	inner := marshal(t, base)
	var asMap map[string]any
	if err := json.Unmarshal(inner, &asMap); err != nil {
		t.Fatal(err)
	}
	asMap["policyLevel"] = "ACCOUNT_LEVEL_POLICY" // a field this code does not know
	asMap["subscriptionFilters"] = []string{"another-filter"}
	var indented bytes.Buffer
	if err := json.Indent(&indented, inner, "", "  "); err != nil {
		t.Fatal(err)
	}
	b64 := base64.StdEncoding.EncodeToString
	for name, p := range map[string][]byte{
		"payload":                    payload(t, base),
		"best speed gzip":            wrapData(b64(gzipBytes(t, inner, gzip.BestSpeed))),
		"best compression gzip":      wrapData(b64(gzipBytes(t, inner, gzip.BestCompression))),
		"stored gzip":                wrapData(b64(gzipBytes(t, inner, gzip.NoCompression))),
		"indented JSON":              wrapGzip(t, indented.Bytes()),
		"other field order, filters": wrapGzip(t, marshal(t, asMap)),
		"HTML-escaped JSON":          wrapGzip(t, func() []byte { b, _ := json.Marshal(base); return b }()),
	} {
		d := mustDecode(t, p)
		if got := mustNDJSON(t, d); !bytes.Equal(got, want) {
			t.Errorf("%s: NDJSON differs from that of the original data", name)
		}
		if got := mustNDJSON(t, mustDecode(t, p)); !bytes.Equal(got, want) {
			t.Errorf("%s: NDJSON of a second decode differs", name)
		}
	}

	// Any change to what the lines record changes the bytes.
	for name, edit := range map[string]func(d *events.CloudwatchLogsData){
		"one message byte": func(d *events.CloudwatchLogsData) {
			d.LogEvents[1].Message = strings.Replace(d.LogEvents[1].Message, "paid", "Paid", 1)
		},
		"trailing newline": func(d *events.CloudwatchLogsData) { d.LogEvents[0].Message += "\n" },
		"timestamp + 1 ms": func(d *events.CloudwatchLogsData) { d.LogEvents[2].Timestamp++ },
		"event id":         func(d *events.CloudwatchLogsData) { d.LogEvents[0].ID += "1" },
		"owner":            func(d *events.CloudwatchLogsData) { d.Owner = "333333333333" },
		"log group":        func(d *events.CloudwatchLogsData) { d.LogGroup = "/aws/lambda/checkout-v2" },
		"log group slash":  func(d *events.CloudwatchLogsData) { d.LogGroup = strings.TrimPrefix(d.LogGroup, "/") },
		"log stream":       func(d *events.CloudwatchLogsData) { d.LogStream += "0" },
		"event order":      func(d *events.CloudwatchLogsData) { d.LogEvents[0], d.LogEvents[1] = d.LogEvents[1], d.LogEvents[0] },
		"event dropped":    func(d *events.CloudwatchLogsData) { d.LogEvents = d.LogEvents[:2] },
		"event duplicated": func(d *events.CloudwatchLogsData) { d.LogEvents = append(d.LogEvents, d.LogEvents[2]) },
		"message emptied":  func(d *events.CloudwatchLogsData) { d.LogEvents[0].Message = "" },
		"message boundary": func(d *events.CloudwatchLogsData) {
			m := d.LogEvents[0].Message
			d.LogEvents[0].Message, d.LogEvents[1].Message = m[:len(m)-1], "\n"+d.LogEvents[1].Message
		},
	} {
		d := base
		d.LogEvents = append([]events.CloudwatchLogsLogEvent(nil), base.LogEvents...)
		edit(&d)
		if got := mustNDJSON(t, d); bytes.Equal(got, want) {
			t.Errorf("changing the %s leaves NDJSON unchanged", name)
		}
	}
}

// ---------------------------------------------------------------------------------------------
// The sample events in events/applogs: what a user passes to logvault invoke applogs.

const sampleDir = "../../events/applogs"

// The invocation logged in data-message.json.
const sampleRequestID = "9c2e6b1a-4d7f-4e3a-b8c5-1f0e2d3c4b5a"

func sampleEvents() map[string]events.CloudwatchLogsData {
	at := func(h, m, s, ms int) int64 {
		return time.Date(2026, 11, 26, h, m, s, ms*1_000_000, time.UTC).UnixMilli()
	}
	data := dataMessage(
		events.CloudwatchLogsLogEvent{ID: "38211594583221409016231813146931484062530476381620060160", Timestamp: at(9, 14, 3, 102),
			Message: "START RequestId: " + sampleRequestID + " Version: $LATEST\n"},
		events.CloudwatchLogsLogEvent{ID: "38211594583578230751342982317530746308126329811587203073", Timestamp: at(9, 14, 3, 118),
			Message: "2026-11-26T09:14:03.118Z\t" + sampleRequestID + "\tINFO\t" + `{"level":"info","msg":"capturing payment","orderId":"ord_8F3kQ2","amountCents":12999,"currency":"EUR"}` + "\n"},
		events.CloudwatchLogsLogEvent{ID: "38211594586990210489227640571052338294547018049730838530", Timestamp: at(9, 14, 3, 271),
			Message: "2026-11-26T09:14:03.271Z\t" + sampleRequestID + "\tERROR\tpayment capture failed Error: card_declined: insufficient funds (order ord_8F3kQ2)\n" +
				"    at capturePayment (/var/task/src/payments.js:88:11)\n" +
				"    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)\n" +
				"    at async processOrder (/var/task/src/orders.js:142:5)\n" +
				"    at async Runtime.handler (/var/task/src/index.js:41:5)\n"},
	)
	uni := dataMessage(
		events.CloudwatchLogsLogEvent{ID: "38211595923447120458126603371951271652385830712442880000", Timestamp: at(9, 15, 3, 7),
			Message: "✅ order ord_8F3kQ2 confirmed 🎉🛒 — paid by 👩🏽‍💻 €129.99\n"},
		events.CloudwatchLogsLogEvent{ID: "38211595923469420254071048949492758542151346834350735361", Timestamp: at(9, 15, 3, 8),
			Message: "注文 ord_9Xk2 失敗：在庫不足「抹茶ラテ」。订单失败。주문 실패\n"},
		events.CloudwatchLogsLogEvent{ID: "38211595923491720050015494527034245431917202956258590722", Timestamp: at(9, 15, 3, 9),
			Message: "فشل الدفع للطلب ord_7Qm — שגיאת תשלום \u200f(קוד 402)\u200f\n"},
		events.CloudwatchLogsLogEvent{ID: "38211595923514019845959940104575732321682919078166446083", Timestamp: at(9, 15, 3, 10),
			Message: "GET /cart?item=a&qty=2 HTTP/1.1\r\nHost: shop.example\r\nUser-Agent: <script>alert(\"x\")</script>\r\n\tX-Trace: a&b<c>d\r\n"},
		events.CloudwatchLogsLogEvent{ID: "38211595923536319641904385682117219211448635200074301444", Timestamp: at(9, 15, 3, 11),
			Message: "\x1b[31mERROR\x1b[0m payment provider timeout after 3000ms\n"},
		events.CloudwatchLogsLogEvent{ID: "38211595923558619437848831259658706101214351321982156805", Timestamp: at(9, 15, 3, 12),
			Message: longMessage(200 << 10)},
	)
	return map[string]events.CloudwatchLogsData{
		"control-message.json": controlMessage(),
		"data-message.json":    data,
		"data-unicode.json":    uni,
	}
}

// samplePayload renders a sample file: the event envelope, indented as a user would save it.
func samplePayload(t testing.TB, d events.CloudwatchLogsData) []byte {
	t.Helper()
	var out bytes.Buffer
	if err := json.Indent(&out, payload(t, d), "", "  "); err != nil {
		t.Fatal(err)
	}
	out.WriteByte('\n')
	return out.Bytes()
}

// TestSampleEvents decodes every sample in events/applogs and checks it holds exactly the events
// above. go test ./internal/cwlogs/ -run TestSampleEvents -update rewrites the samples.
func TestSampleEvents(t *testing.T) {
	want := sampleEvents()
	if *update {
		if err := os.MkdirAll(sampleDir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, d := range want {
			if err := os.WriteFile(filepath.Join(sampleDir, name), samplePayload(t, d), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	files, err := filepath.Glob(filepath.Join(sampleDir, "*.json"))
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
				t.Fatalf("%s has no expected content in this test; add it to sampleEvents", file)
			}
			p, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var envelope struct {
				AWSLogs struct {
					Data string `json:"data"`
				} `json:"awslogs"`
			}
			if err := json.Unmarshal(p, &envelope); err != nil || !strings.HasPrefix(envelope.AWSLogs.Data, "H4sI") {
				t.Errorf("%s is not {\"awslogs\":{\"data\":\"H4sI…\"}} (base64 gzip): %v", file, err)
			}
			got := mustDecode(t, p)
			if !reflect.DeepEqual(got, w) {
				t.Fatalf("Decode(%s) does not hold the expected events; regenerate with -update\ngot  %.300q\nwant %.300q", file, fmt.Sprint(got), fmt.Sprint(w))
			}
			if got.MessageType == cwlogs.DataMessage {
				checkLines(t, readNDJSON(t, mustNDJSON(t, got)), wantLines(w))
			}
		})
	}
	for name := range want {
		if !seen[name] {
			t.Errorf("sample event %s is missing from %s (go test ./internal/cwlogs/ -run TestSampleEvents -update)", name, sampleDir)
		}
	}
}

// ---------------------------------------------------------------------------------------------
// Fuzzing.

// fuzzSamples are the sample events without their long message: big seeds slow the fuzzer to a crawl.
func fuzzSamples() []events.CloudwatchLogsData {
	var out []events.CloudwatchLogsData
	for _, d := range sampleEvents() {
		var evs []events.CloudwatchLogsLogEvent
		for _, e := range d.LogEvents {
			if len(e.Message) < 4<<10 {
				evs = append(evs, e)
			}
		}
		d.LogEvents = evs
		out = append(out, d)
	}
	return out
}

func FuzzDecode(f *testing.F) {
	for _, d := range fuzzSamples() {
		f.Add(payload(f, d))
	}
	for _, a := range awkward[:len(awkward)-1] {
		f.Add(payload(f, messages(a.msg)))
	}
	gz := gzipBytes(f, marshal(f, messages("a", "b")), gzip.DefaultCompression)
	for _, seed := range [][]byte{
		nil, []byte("{}"), []byte("null"), []byte(`{"awslogs":{"data":""}}`), wrapData("H4sI"),
		wrapData(base64.StdEncoding.EncodeToString(gz[:len(gz)/2])),
		wrapGzip(f, []byte(`{"messageType":"DATA_MESSAGE","owner":"o","logGroup":"g","logStream":"s","logEvents":[{"id":"1","timestamp":-1,"message":"\ud800"}]}`)),
		wrapGzip(f, []byte(`{"messageType":"CONTROL_MESSAGE"}`)),
	} {
		f.Add(seed)
	}
	f.Fuzz(checkDecode)
}

// FuzzDecodeData fuzzes the subscription JSON inside awslogs.data, which FuzzDecode rarely
// reaches through base64 and gzip.
func FuzzDecodeData(f *testing.F) {
	for _, d := range fuzzSamples() {
		f.Add(marshal(f, d))
	}
	for _, a := range awkward[:len(awkward)-1] {
		f.Add(marshal(f, messages(a.msg, "b")))
	}
	f.Add([]byte(`{"messageType":"DATA_MESSAGE","owner":"o","logGroup":"g","logStream":"s","logEvents":[{"id":"1","timestamp":-1,"message":"\ud800\u2028"}]}`))
	f.Add([]byte(`{"MESSAGETYPE":"DATA_MESSAGE","Owner":"o","logGroup":"/","logStream":"s","logEvents":[{"id":"1"},null]}`))
	f.Fuzz(func(t *testing.T, inner []byte) { checkDecode(t, wrapGzip(t, inner)) })
}

// checkDecode: Decode never panics; its errors are one line; what it accepts as a DATA_MESSAGE
// is complete, renders as NDJSON deterministically, and round-trips through a payload.
func checkDecode(t *testing.T, p []byte) {
	{
		b, err := cwlogs.Decode(p)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "cwlogs: ") || strings.ContainsAny(err.Error(), "\r\n") {
				t.Errorf("error %q is not one line starting \"cwlogs: \"", err)
			}
			return
		}
		d := b.Data()
		switch d.MessageType {
		case cwlogs.ControlMessage:
			return
		case cwlogs.DataMessage:
		default:
			t.Fatalf("Decode accepted messageType %q", d.MessageType)
		}
		if d.Owner == "" || d.LogGroup == "" || d.LogStream == "" || len(d.LogEvents) == 0 {
			t.Fatalf("Decode accepted an incomplete DATA_MESSAGE: %+v", d)
		}
		for i, e := range d.LogEvents {
			if e.ID == "" {
				t.Fatalf("Decode accepted event %d without id", i)
			}
		}
		body, err := cwlogs.NDJSON(d)
		if err != nil {
			t.Fatalf("NDJSON of decoded data: %v", err)
		}
		checkLines(t, readNDJSON(t, body), wantLines(d))
		if again := mustNDJSON(t, d); !bytes.Equal(again, body) {
			t.Fatal("NDJSON is not deterministic")
		}
		if direct, err := b.NDJSON(); err != nil || !bytes.Equal(direct, body) {
			t.Fatalf("the decoded batch renders other bytes than its events re-encoded (%v)", err)
		}
		// Round trip: the data re-encoded as a payload decodes to itself and renders the same bytes.
		d2 := mustDecode(t, payload(t, d))
		if !reflect.DeepEqual(d2, d) {
			t.Fatalf("re-decoded data differs:\n%+v\n%+v", d2, d)
		}
		if got := mustNDJSON(t, d2); !bytes.Equal(got, body) {
			t.Fatal("NDJSON of re-decoded data differs")
		}
	}
}

// FuzzNDJSON: any message, id and timestamp come back from the vault object unchanged, invalid
// UTF-8 bytes each replaced by U+FFFD (see TestNDJSONInvalidUTF8).
func FuzzNDJSON(f *testing.F) {
	for _, a := range awkward[:len(awkward)-1] {
		f.Add("1", t0, a.msg)
	}
	f.Add("", int64(-1), "\xff\xfe\xe2\x82")
	f.Fuzz(func(t *testing.T, id string, ts int64, msg string) {
		d := dataMessage(events.CloudwatchLogsLogEvent{ID: id, Timestamp: ts, Message: msg}, logEvent(1, "after"))
		want := wantLines(d)
		want[0].ID, want[0].Message = replaceInvalid(id), replaceInvalid(msg)
		checkLines(t, readNDJSON(t, mustNDJSON(t, d)), want)
	})
}

// replaceInvalid replaces each byte of s that is not part of valid UTF-8 by U+FFFD, as
// encoding/json does.
func replaceInvalid(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b.WriteRune(utf8.RuneError)
		} else {
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}
