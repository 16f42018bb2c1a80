package cwlogs

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
	"github.com/klauspost/compress/gzip"
)

// The fast paths are held to encoding/json: what fastData and fastEnvelope
// accept, encoding/json decodes to the same values; what appendString and
// NDJSON write is byte for byte what encoding/json's Encoder writes (the
// implementation these replaced, kept below as the reference).

// refNDJSON is NDJSON as it was written with encoding/json.
func refNDJSON(t testing.TB, d events.CloudwatchLogsData) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.DefaultCompression)
	if err != nil {
		t.Fatal(err)
	}
	enc := json.NewEncoder(zw)
	enc.SetEscapeHTML(false)
	for _, e := range d.LogEvents {
		if err := enc.Encode(Line{ID: e.ID, Timestamp: e.Timestamp, Message: e.Message, Owner: d.Owner, LogGroup: d.LogGroup, LogStream: d.LogStream}); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// awkwardStrings need escaping, UTF-8 repair, or neither.
var awkwardStrings = []string{
	"", "plain", "12345678", "1234567", "123456789abcdefgh", `quote " inside`, `back\slash`, "tab\tnew\nline\r\n",
	"\b\f\x00\x01\x1f\x7f", "<html> & 'apos'", "unicode ✅ é 日本語 🚀", "line sep \u2028 para sep \u2029",
	"bad \xff\xfe bytes", "cut rune \xe2\x82", "ok \xe2\x82\xac", "\xed\xa0\x80 encoded surrogate", "\xf4\x90\x80\x80 beyond U+10FFFF",
	strings.Repeat("abcdefgh", 100) + `"` + strings.Repeat("x", 13) + "\n", strings.Repeat("é", 50), "/slash/ \\/",
	"ends with backslash \\", `{"level":"info","msg":"quoted \"json\" inside","n":1}`,
}

func TestAppendStringMatchesEncoder(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	inputs := append([]string(nil), awkwardStrings...)
	for i := 0; i < 2000; i++ {
		b := make([]byte, rng.IntN(40))
		for j := range b {
			switch rng.IntN(4) {
			case 0:
				b[j] = byte(rng.IntN(256))
			case 1:
				b[j] = `"\<>&`[rng.IntN(5)]
			default:
				b[j] = byte('a' + rng.IntN(26))
			}
		}
		inputs = append(inputs, string(b))
	}
	for _, s := range inputs {
		checkAppendString(t, s)
	}
}

func checkAppendString(t *testing.T, s string) {
	t.Helper()
	var want bytes.Buffer
	enc := json.NewEncoder(&want)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		t.Fatal(err)
	}
	if got := string(appendString(nil, s)) + "\n"; got != want.String() {
		t.Fatalf("appendString(%q) = %s, encoding/json writes %s", s, got, want.String())
	}
}

func FuzzAppendString(f *testing.F) {
	for _, s := range awkwardStrings {
		f.Add(s)
	}
	f.Fuzz(checkAppendString)
}

// inner renders a subscription message with these events the way
// CloudWatch Logs does (compact JSON, its key order).
func inner(events ...string) string {
	return `{"messageType":"DATA_MESSAGE","owner":"222222222222","logGroup":"/aws/lambda/checkout","logStream":"2026/11/27/[$LATEST]abc","subscriptionFilters":["logvault"],"logEvents":[` +
		strings.Join(events, ",") + `]}`
}

func ev(id string, ts string, msg string) string {
	return `{"id":` + id + `,"timestamp":` + ts + `,"message":` + msg + `}`
}

// fastCases are subscription messages the fast path must take.
var fastCases = []string{
	inner(ev(`"1"`, "1795737600000", `"hello"`)),
	inner(ev(`"1"`, "-1", `"esc \" \\ \/ \b \f \n \r \t \u0041 \u00e9 \u2028 \ud83d\ude80 \ud800 \udc00x \ud800\u0041"`)),
	inner(ev(`"1"`, "0", "\"raw unicode ✅ and bad \xff byte, cut \xe2\x82\""), ev(`"2"`, "-0", `""`)),
	inner(ev(`"3"`, "9223372036854775807", `"<>&"`), ev(`"4"`, "-9223372036854775808", `"x"`)),
	" \n" + inner(ev(`"1"`, "1", `"a"`)) + " \t\r\n",
	`{ "messageType" : "DATA_MESSAGE" , "owner":"o","logGroup":"g","logStream":"s","logEvents" : [ { "message":"m" , "id":"1" , "timestamp" : 5 } , {} ] }`,
	`{"messageType":"CONTROL_MESSAGE","owner":"CloudwatchLogs","logGroup":"","logStream":"","subscriptionFilters":[],"logEvents":[{"id":"","timestamp":1,"message":"CWL CONTROL MESSAGE: Checking health of destination Firehose."}]}`,
	`{"policyLevel":"ACCOUNT_LEVEL_POLICY","messageType":"DATA_MESSAGE","owner":"o","logGroup":"g","logStream":"s","logEvents":[]}`,
	`{}`, `{"logEvents":[]}`, `{"subscriptionFilters":["a","b"]}`,
}

// slowCases must be left to encoding/json (which may accept or reject them).
var slowCases = []string{
	``, `null`, `[]`, `"x"`, `{`, `{"owner":"o"`, `{"owner":"o"}x`, `{"owner":"o",}`, `{"owner":null}`, `{"Owner":"o"}`, `{"OWNER":"o"}`,
	`{"owner":"o","owner":"p"}`, `{"own\u0065r":"o"}`, `{"unknown":1}`, `{"logEvents":null}`, `{"logEvents":[null]}`,
	`{"subscriptionFilters":[null]}`, `{"subscriptionFilters":[1]}`, `{"owner":1}`,
	inner(ev(`"1"`, "1.5", `"x"`)), inner(ev(`"1"`, "1e3", `"x"`)), inner(ev(`"1"`, "01", `"x"`)), inner(ev(`"1"`, "-", `"x"`)),
	inner(ev(`"1"`, "9223372036854775808", `"x"`)), inner(ev(`"1"`, `"5"`, `"x"`)), inner(ev(`"1"`, "1", `7`)),
	inner(ev(`"1"`, "1", `"bad \x escape"`)), inner(ev(`"1"`, "1", `"bad \u12 escape"`)), inner(ev(`"1"`, "1", `"\ud800\u12"`)),
	inner(ev(`"1"`, "1", `"quote \' escape"`)), inner(ev(`"1"`, "1", "\"raw\ncontrol\"")), inner(ev(`"1"`, "1", `"unterminated`)),
	inner(`{"id":"1","timestamp":1,"message":"m","extra":true}`), inner(`{"id":"1","id":"2"}`), inner(`{"ID":"1"}`),
	`{"messageType":"DATA_MESSAGE"}garbage`,
}

func TestFastDataMatchesEncodingJSON(t *testing.T) {
	for _, in := range fastCases {
		d, ok := fastData([]byte(in))
		if !ok {
			t.Errorf("fast path refused %s", in)
			continue
		}
		checkFastData(t, []byte(in), d, ok)
	}
	for _, in := range slowCases {
		d, ok := fastData([]byte(in))
		if ok {
			t.Errorf("fast path took %q, which is for encoding/json: got %+v", in, d)
		}
	}
}

// checkFastData: a fast decode is exactly encoding/json's, and the batch
// renders byte for byte what encoding/json's Encoder writes for those
// events (messages copied as they arrived included).
func checkFastData(t *testing.T, in []byte, b *Batch, ok bool) {
	t.Helper()
	if !ok {
		return
	}
	var want events.CloudwatchLogsData
	if err := json.Unmarshal(in, &want); err != nil {
		t.Fatalf("fast path accepted %q, encoding/json rejects it: %v", in, err)
	}
	if d := b.Data(); !reflect.DeepEqual(d, want) {
		t.Fatalf("fast path decoded %q as\n%#v\nencoding/json as\n%#v", in, d, want)
	}
	got, err := b.NDJSON()
	if err != nil {
		t.Fatal(err)
	}
	if ref := refNDJSON(t, want); !bytes.Equal(got, ref) {
		t.Fatalf("fast path renders %q as %d bytes that differ from encoding/json's %d", in, len(got), len(ref))
	}
}

// TestCanonicalMessagesAreCopied: every string encoding/json's Encoder
// writes for valid UTF-8 is canonical, so a payload CloudWatch Logs encodes
// that way is rendered from its own bytes; other spellings of the same
// string are decoded and re-encoded. (For invalid UTF-8 the Encoder writes
// \ufffd, which decodes to U+FFFD, written raw: not canonical.)
func TestCanonicalMessagesAreCopied(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	inputs := append([]string(nil), awkwardStrings...)
	for i := 0; i < 2000; i++ {
		b := make([]byte, rng.IntN(40))
		for j := range b {
			b[j] = byte(rng.IntN(256))
		}
		inputs = append(inputs, string(b))
	}
	for _, s := range inputs {
		enc := string(appendString(nil, s))
		b, ok := fastData([]byte(inner(ev(`"1"`, "1", enc))))
		if !ok {
			t.Fatalf("fast path refused the message %s", enc)
		}
		if copied := b.events[0].raw != nil && string(b.events[0].raw) == enc; copied != utf8.ValidString(s) {
			t.Errorf("message %s (of %q): copied %v, want %v", enc, s, copied, utf8.ValidString(s))
		}
		checkFastData(t, []byte(inner(ev(`"1"`, "1", enc))), b, ok)
	}
	for _, enc := range []string{`"\/"`, `"\u0041"`, `"\u001F"`, `"\u000a"`, `"\u00e9"`, `"\ud83d\ude80"`, "\"\u2028\"", "\"bad \xff\"", `"\ufffd"`} {
		in := []byte(inner(ev(`"1"`, "1", enc)))
		b, ok := fastData(in)
		if !ok {
			t.Fatalf("fast path refused the message %s", enc)
		}
		if b.events[0].raw != nil {
			t.Errorf("message %s is not what encoding/json writes, but was copied", enc)
		}
		checkFastData(t, in, b, ok)
	}
}

// FuzzMessage: whatever the bytes between a message's quotes, the batch
// renders what encoding/json writes for the decoded message.
func FuzzMessage(f *testing.F) {
	for _, s := range awkwardStrings {
		f.Add(appendString(nil, s))
	}
	for _, s := range []string{`\/`, `\u0041\u001f\u001F`, `\ud83d\ude80\ud800`, "\u2028 \\u2029", "\xff\\u00ff"} {
		f.Add([]byte(`"` + s + `"`))
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		in := []byte(inner(ev(`"1"`, "1", string(msg)), ev(`"2"`, "2", `"after"`)))
		b, ok := fastData(in)
		checkFastData(t, in, b, ok)
	})
}

func FuzzFastData(f *testing.F) {
	for _, in := range append(append([]string(nil), fastCases...), slowCases...) {
		f.Add([]byte(in))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		d, ok := fastData(in)
		checkFastData(t, in, d, ok)
	})
}

func TestFastEnvelopeMatchesEncodingJSON(t *testing.T) {
	gz := func(s string) string {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		zw.Write([]byte(s))
		zw.Close()
		return base64.StdEncoding.EncodeToString(b.Bytes())
	}
	data := gz(fastCases[0])
	for _, tc := range []struct {
		payload string
		fast    bool
	}{
		{`{"awslogs":{"data":"` + data + `"}}`, true},
		{` { "awslogs" : { "data" : "` + data + `" } } `, true},
		{`{"awslogs":{"data":"` + data + `","other":1}}`, false},
		{`{"AWSLogs":{"data":"` + data + `"}}`, false},
		{`{"awslogs":{"data":"` + data[:10] + `\n` + data[10:] + `"}}`, false},
		{`{"awslogs":{"data":"` + data[:10] + "\n" + data[10:] + `"}}`, false},
		{`{"awslogs":{"data":"` + data[:10] + `\/` + data[10:] + `"}}`, false},
		{`{"awslogs":{"data":"` + data[:len(data)-1] + `"}}`, false},
		{`{"awslogs":{"data":""}}`, false},
		{`{"awslogs":{"data":"` + data + `"}}x`, false},
		{`{"awslogs":{"data":"` + data + `"}`, false},
	} {
		got, ok := fastEnvelope([]byte(tc.payload))
		if ok != tc.fast {
			t.Errorf("fastEnvelope(%.60q…) ok = %v, want %v", tc.payload, ok, tc.fast)
		}
		checkEnvelope(t, []byte(tc.payload), got, ok)
	}
}

func checkEnvelope(t *testing.T, payload, got []byte, ok bool) {
	t.Helper()
	if !ok {
		return
	}
	var ev events.CloudwatchLogsEvent
	if err := json.Unmarshal(payload, &ev); err != nil {
		t.Fatalf("fast path accepted %q, encoding/json rejects it: %v", payload, err)
	}
	want, err := base64.StdEncoding.DecodeString(ev.AWSLogs.Data)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("fast path read %q as %q; encoding/json and base64: %q, %v", payload, got, want, err)
	}
}

func FuzzFastEnvelope(f *testing.F) {
	f.Add([]byte(`{"awslogs":{"data":"H4sIAAAAAAAA/w=="}}`))
	f.Add([]byte(`{"awslogs":{"data":"H4sI\nAAAAAAAA/w=="}}`))
	f.Add([]byte(` {"awslogs" :{"data":"YQ==" } }`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		got, ok := fastEnvelope(payload)
		checkEnvelope(t, payload, got, ok)
	})
}

// TestNDJSONMatchesEncoder: the rendered object is byte for byte the one
// encoding/json wrote, for small and large deliveries (several render
// chunks), so a payload shipped before this renderer existed and retried
// after is still a duplicate.
func TestNDJSONMatchesEncoder(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	small := events.CloudwatchLogsData{Owner: "222222222222", LogGroup: "/aws/lambda/<checkout> & \"co\"", LogStream: "s\u2028\xff", MessageType: DataMessage}
	for i, s := range awkwardStrings {
		small.LogEvents = append(small.LogEvents, events.CloudwatchLogsLogEvent{ID: fmt.Sprint(i), Timestamp: int64(i) - 3, Message: s})
	}
	large := events.CloudwatchLogsData{Owner: "222222222222", LogGroup: "/aws/lambda/checkout", LogStream: "2026/11/27/[$LATEST]abc", MessageType: DataMessage}
	for i := 0; i < 5000; i++ {
		msg := fmt.Sprintf(`{"level":"info","msg":"handled \"%d\"","path":"/orders/%d","ms":%d}`, i, rng.IntN(1e6), rng.IntN(900))
		if i%7 == 0 {
			msg = awkwardStrings[i%len(awkwardStrings)] + strings.Repeat("x", rng.IntN(3000))
		}
		large.LogEvents = append(large.LogEvents, events.CloudwatchLogsLogEvent{ID: fmt.Sprintf("3726352%049d", i), Timestamp: 1795737600000 + int64(i), Message: msg})
	}
	for name, d := range map[string]events.CloudwatchLogsData{"small": small, "large": large} {
		got, err := NDJSON(d)
		if err != nil {
			t.Fatal(err)
		}
		if want := refNDJSON(t, d); !bytes.Equal(got, want) {
			t.Errorf("%s: NDJSON differs from encoding/json's (%d vs %d bytes)", name, len(got), len(want))
		}
		// And again, from the pool.
		if again, _ := NDJSON(d); !bytes.Equal(again, got) {
			t.Errorf("%s: second NDJSON differs", name)
		}
	}
}
