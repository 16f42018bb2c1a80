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

// Decode reads a subscription event ({"awslogs":{"data":"<base64 gzip JSON>"}}).
// The envelope and the subscription JSON are read by the fast paths of
// fast.go when they can, else by encoding/json, with the same results.
func Decode(payload []byte) (events.CloudwatchLogsData, error) {
	raw, ok := fastEnvelope(payload)
	if !ok {
		var ev events.CloudwatchLogsEvent
		if err := json.Unmarshal(payload, &ev); err != nil {
			return events.CloudwatchLogsData{}, fmt.Errorf("cwlogs: event is not JSON: %w", err)
		}
		if ev.AWSLogs.Data == "" {
			return events.CloudwatchLogsData{}, errors.New("cwlogs: event has no awslogs.data (not a CloudWatch Logs subscription event)")
		}
		var err error
		if raw, err = base64.StdEncoding.DecodeString(ev.AWSLogs.Data); err != nil {
			return events.CloudwatchLogsData{}, fmt.Errorf("cwlogs: awslogs.data is not valid base64: %w", err)
		}
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return events.CloudwatchLogsData{}, fmt.Errorf("cwlogs: awslogs.data is not gzip: %w", err)
	}
	plain, err := readAll(zr, inflatedSize(raw), maxDecoded+1)
	if err != nil {
		return events.CloudwatchLogsData{}, fmt.Errorf("cwlogs: awslogs.data is truncated or corrupt gzip: %w", err)
	}
	if len(plain) > maxDecoded {
		return events.CloudwatchLogsData{}, fmt.Errorf("cwlogs: awslogs.data decompresses to more than %d MiB", maxDecoded>>20)
	}
	d, ok := fastData(plain)
	if !ok {
		d = events.CloudwatchLogsData{}
		if err := json.Unmarshal(plain, &d); err != nil {
			return events.CloudwatchLogsData{}, fmt.Errorf("cwlogs: awslogs.data does not hold subscription JSON: %w", err)
		}
	}
	switch d.MessageType {
	case ControlMessage:
		return d, nil
	case DataMessage:
	default:
		return events.CloudwatchLogsData{}, fmt.Errorf("cwlogs: messageType %.64q is neither DATA_MESSAGE nor CONTROL_MESSAGE", d.MessageType)
	}
	switch {
	case d.Owner == "":
		return events.CloudwatchLogsData{}, errors.New("cwlogs: DATA_MESSAGE has no owner")
	case d.LogGroup == "":
		return events.CloudwatchLogsData{}, errors.New("cwlogs: DATA_MESSAGE has no logGroup")
	case d.LogStream == "":
		return events.CloudwatchLogsData{}, errors.New("cwlogs: DATA_MESSAGE has no logStream")
	case len(d.LogEvents) == 0:
		return events.CloudwatchLogsData{}, errors.New("cwlogs: DATA_MESSAGE has no logEvents")
	}
	for i, e := range d.LogEvents {
		if e.ID == "" {
			return events.CloudwatchLogsData{}, fmt.Errorf("cwlogs: logEvents[%d] has no id", i)
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

// NDJSON renders d's events, in order, one JSON line each, gzip-compressed.
// The gzip header carries no name and no time, and the level is fixed, so
// the same events always give the same bytes. Lines are what
// encoding/json's Encoder (SetEscapeHTML(false)) writes for a Line.
func NDJSON(d events.CloudwatchLogsData) ([]byte, error) {
	var buf bytes.Buffer
	zw := gzipWriters.Get().(*gzip.Writer)
	defer gzipWriters.Put(zw)
	zw.Reset(&buf)
	if err := render(zw, d); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
