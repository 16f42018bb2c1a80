// Package cwlogs decodes CloudWatch Logs subscription payloads and renders a
// DATA_MESSAGE as the gzip NDJSON object the vault keeps, byte for byte the
// same for the same payload, so a retried delivery is a duplicate.
package cwlogs

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/aws/aws-lambda-go/events"
	"github.com/klauspost/compress/gzip"
)

// Message types of a subscription payload.
const (
	DataMessage    = "DATA_MESSAGE"
	ControlMessage = "CONTROL_MESSAGE"
)

// maxDecoded bounds the decompressed payload: CloudWatch Logs batches about
// 1 MB of events per delivery, so anything far larger is a gzip bomb, not
// logs, and must not exhaust a small function's memory.
const maxDecoded = 32 << 20

// Batch is a decoded subscription message: what the shipper needs to name
// the vault object and the events to render. A message read by the fast
// path keeps each event's JSON string as the payload held it when that is
// already its NDJSON form, so rendering copies it instead of decoding and
// re-encoding it.
type Batch struct {
	MessageType         string
	Owner               string
	LogGroup            string
	LogStream           string
	SubscriptionFilters []string
	events              []event
}

// event is one log event; raw, when set, is the message's canonical JSON
// string (quotes included) and message is then empty.
type event struct {
	id        string
	timestamp int64
	message   string
	raw       []byte
}

// BatchOf is d as a Batch.
func BatchOf(d events.CloudwatchLogsData) *Batch {
	b := &Batch{MessageType: d.MessageType, Owner: d.Owner, LogGroup: d.LogGroup, LogStream: d.LogStream,
		SubscriptionFilters: d.SubscriptionFilters}
	if d.LogEvents != nil {
		b.events = make([]event, len(d.LogEvents))
	}
	for i, e := range d.LogEvents {
		b.events[i] = event{id: e.ID, timestamp: e.Timestamp, message: e.Message}
	}
	return b
}

// Len is the number of log events.
func (b *Batch) Len() int { return len(b.events) }

// First is the first log event's id and timestamp (zero values when there
// is none).
func (b *Batch) First() (id string, timestamp int64) {
	if len(b.events) == 0 {
		return "", 0
	}
	return b.events[0].id, b.events[0].timestamp
}

// Data is the batch as aws-lambda-go's type, every message decoded.
func (b *Batch) Data() events.CloudwatchLogsData {
	d := events.CloudwatchLogsData{MessageType: b.MessageType, Owner: b.Owner, LogGroup: b.LogGroup, LogStream: b.LogStream,
		SubscriptionFilters: b.SubscriptionFilters}
	if b.events != nil {
		d.LogEvents = make([]events.CloudwatchLogsLogEvent, len(b.events))
	}
	for i, e := range b.events {
		msg := e.message
		if e.raw != nil {
			out, _ := unquote(nil, e.raw[1:len(e.raw)-1]) // canonical, so valid
			msg = string(out)
		}
		d.LogEvents[i] = events.CloudwatchLogsLogEvent{ID: e.id, Timestamp: e.timestamp, Message: msg}
	}
	return d
}

// Decode reads a subscription event ({"awslogs":{"data":"<base64 gzip JSON>"}}).
// The envelope and the subscription JSON are read by the fast paths of
// fast.go when they can, else by encoding/json, with the same results.
func Decode(payload []byte) (*Batch, error) {
	raw, ok := fastEnvelope(payload)
	if !ok {
		var ev events.CloudwatchLogsEvent
		if err := json.Unmarshal(payload, &ev); err != nil {
			return nil, fmt.Errorf("cwlogs: event is not JSON: %w", err)
		}
		if ev.AWSLogs.Data == "" {
			return nil, errors.New("cwlogs: event has no awslogs.data (not a CloudWatch Logs subscription event)")
		}
		var err error
		if raw, err = base64.StdEncoding.DecodeString(ev.AWSLogs.Data); err != nil {
			return nil, fmt.Errorf("cwlogs: awslogs.data is not valid base64: %w", err)
		}
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("cwlogs: awslogs.data is not gzip: %w", err)
	}
	plain, err := readAll(zr, inflatedSize(raw), maxDecoded+1)
	if err != nil {
		return nil, fmt.Errorf("cwlogs: awslogs.data is truncated or corrupt gzip: %w", err)
	}
	if len(plain) > maxDecoded {
		return nil, fmt.Errorf("cwlogs: awslogs.data decompresses to more than %d MiB", maxDecoded>>20)
	}
	d, ok := fastData(plain)
	if !ok {
		var data events.CloudwatchLogsData
		if err := json.Unmarshal(plain, &data); err != nil {
			return nil, fmt.Errorf("cwlogs: awslogs.data does not hold subscription JSON: %w", err)
		}
		d = BatchOf(data)
	}
	switch d.MessageType {
	case ControlMessage:
		return d, nil
	case DataMessage:
	default:
		return nil, fmt.Errorf("cwlogs: messageType %.64q is neither DATA_MESSAGE nor CONTROL_MESSAGE", d.MessageType)
	}
	switch {
	case d.Owner == "":
		return nil, errors.New("cwlogs: DATA_MESSAGE has no owner")
	case d.LogGroup == "":
		return nil, errors.New("cwlogs: DATA_MESSAGE has no logGroup")
	case d.LogStream == "":
		return nil, errors.New("cwlogs: DATA_MESSAGE has no logStream")
	case len(d.events) == 0:
		return nil, errors.New("cwlogs: DATA_MESSAGE has no logEvents")
	}
	for i, e := range d.events {
		if e.id == "" {
			return nil, fmt.Errorf("cwlogs: logEvents[%d] has no id", i)
		}
	}
	return d, nil
}

// Line is one NDJSON line of the vault object: one log event.
type Line struct {
	ID        string `json:"id"`
	Timestamp int64  `json:"timestamp"`
	Message   string `json:"message"`
	Owner     string `json:"owner"`
	LogGroup  string `json:"logGroup"`
	LogStream string `json:"logStream"`
}

// NDJSON renders d's events, in order, one JSON line each, gzip-compressed:
// BatchOf(d).NDJSON().
func NDJSON(d events.CloudwatchLogsData) ([]byte, error) { return BatchOf(d).NDJSON() }

// NDJSON renders b's events, in order, one JSON line each, gzip-compressed.
// The gzip header carries no name and no time, and the level is fixed, so
// the same events always give the same bytes. Lines are what
// encoding/json's Encoder (SetEscapeHTML(false)) writes for a Line.
func (b *Batch) NDJSON() ([]byte, error) {
	var buf bytes.Buffer
	zw := gzipWriters.Get().(*gzip.Writer)
	defer gzipWriters.Put(zw)
	zw.Reset(&buf)
	if err := render(zw, b); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
