package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"github.com/klauspost/compress/gzip"

	"github.com/logvault/logvault/internal/eventgen"
	"github.com/logvault/logvault/internal/handler"
	"github.com/logvault/logvault/internal/ship"
	"github.com/logvault/logvault/internal/vault"
)

// appLogsResult is row 3: per round, the CPU time of the handler and of the
// floor over the same payloads.
type appLogsResult struct {
	payloads int
	bytes    int64 // decompressed subscription JSON, all payloads
	events   int
	handler  []time.Duration
	floor    []time.Duration
}

// benchAppLogs measures the applogs handler's CPU time per MB of payload
// against the floor: for the same payloads, gunzip of awslogs.data, gzip of
// the result (klauspost/compress, the level the handler uses) and SHA-256
// of the gzip output, in one process.
//
// The handler runs whole (JSON event, base64, gunzip, subscription JSON,
// NDJSON rendering, gzip, SHA-256, the vault writer's logic, the receipt
// line) against a vault that answers HeadObject with 404 and drains
// PutObject's body: the network write is not measured (on Lambda it is the
// SDK's TLS write, the same for any shipper). CPU time is getrusage
// user+sys of this process around each block (garbage collection included
// for both).
func benchAppLogs(ctx context.Context, o options) (*appLogsResult, error) {
	n := int(50 * o.scale)
	res := &appLogsResult{payloads: n}
	payloads := make([][]byte, n)
	raws := make([][]byte, n)
	rng := mrand.New(mrand.NewPCG(3, 3))
	for i := range payloads {
		d := logBatch(rng, i, 1_000_000)
		plain, _ := json.Marshal(d)
		res.bytes += int64(len(plain))
		res.events += len(d.LogEvents)
		payloads[i] = eventgen.CloudWatchLogs(d)
		var ev events.CloudwatchLogsEvent
		json.Unmarshal(payloads[i], &ev)
		raws[i], _ = base64.StdEncoding.DecodeString(ev.AWSLogs.Data)
	}
	w := &vault.Writer{S3: drainVault{}, Bucket: "logvault-bench-vault", Shipper: "logvault-applogs/bench"}
	h := &handler.AppLogsHandler{Function: "applogs", Ship: &ship.Logs{Account: "222222222222", Vault: w}, Log: slog.New(slog.NewJSONHandler(io.Discard, nil))}
	lctx := lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{AwsRequestID: "bench"})
	runHandler := func() error {
		for _, p := range payloads {
			if _, err := h.Invoke(lctx, p); err != nil {
				return err
			}
		}
		return nil
	}
	fl := newFloor()
	runFloor := func() error {
		for _, raw := range raws {
			if err := fl.run(raw); err != nil {
				return err
			}
		}
		return nil
	}
	// Warm up both (first-use allocations, page faults), then alternate.
	if err := runHandler(); err != nil {
		return nil, err
	}
	if err := runFloor(); err != nil {
		return nil, err
	}
	if o.profile != "" {
		stop, err := startProfile(o.profile)
		if err != nil {
			return nil, err
		}
		for i := 0; i < 10; i++ {
			runHandler()
		}
		stop()
	}
	rounds := max(o.rounds, 5)
	for r := 0; r < rounds; r++ {
		err := alternate(r,
			func() error { d, err := cpuTime(runHandler); res.handler = append(res.handler, d); return err },
			func() error { d, err := cpuTime(runFloor); res.floor = append(res.floor, d); return err })
		if err != nil {
			return nil, err
		}
	}
	progress("  handler %v, floor %v (CPU per pass of %s)", roundAll(res.handler), roundAll(res.floor), mib(res.bytes))
	return res, nil
}

// floor is gunzip + gzip + SHA-256 of a subscription payload's bytes.
type floor struct {
	zr  *gzip.Reader
	zw  *gzip.Writer
	in  bytes.Buffer
	out bytes.Buffer
}

func newFloor() *floor {
	zw, _ := gzip.NewWriterLevel(io.Discard, gzip.DefaultCompression)
	return &floor{zr: new(gzip.Reader), zw: zw}
}

// run is the floor for one payload: raw is its awslogs.data, base64-decoded
// (decoding the envelope is left out of the floor; the handler does it).
func (f *floor) run(raw []byte) error {
	if err := f.zr.Reset(bytes.NewReader(raw)); err != nil {
		return err
	}
	f.in.Reset()
	if _, err := f.in.ReadFrom(f.zr); err != nil {
		return err
	}
	f.out.Reset()
	f.zw.Reset(&f.out)
	f.zw.Write(f.in.Bytes())
	f.zw.Close()
	sha256.Sum256(f.out.Bytes())
	return nil
}

// cpuTime returns the user+sys CPU time this process spent running fn.
func cpuTime(fn func() error) (time.Duration, error) {
	before := rusageCPU()
	err := fn()
	return rusageCPU() - before, err
}

func rusageCPU() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func roundAll(ds []time.Duration) []time.Duration {
	out := make([]time.Duration, len(ds))
	for i, d := range ds {
		out[i] = d.Round(time.Millisecond)
	}
	return out
}

// logBatch builds a DATA_MESSAGE of about size bytes of JSON: events such
// as a service's Lambda writes (request lines, JSON-structured records,
// the odd stack trace), with increasing timestamps and ids.
func logBatch(rng *mrand.Rand, n, size int) events.CloudwatchLogsData {
	d := events.CloudwatchLogsData{
		Owner: "222222222222", LogGroup: "/aws/lambda/checkout", LogStream: fmt.Sprintf("2026/11/27/[$LATEST]%032x", n),
		SubscriptionFilters: []string{"logvault"}, MessageType: "DATA_MESSAGE",
	}
	ts := int64(1795737600000) + int64(n)*60_000
	total := 200
	levels := []string{"INFO", "INFO", "INFO", "DEBUG", "WARN", "ERROR"}
	paths := []string{"/cart", "/checkout", "/orders/%d", "/payments/%d/capture", "/users/%d/profile"}
	for seq := 0; total < size; seq++ {
		ts += rng.Int64N(40)
		req := fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", rng.Uint32(), rng.Uint32()&0xffff, rng.Uint32()&0xffff, rng.Uint32()&0xffff, rng.Uint64()&0xffffffffffff)
		var msg string
		switch k := rng.IntN(10); {
		case k < 6:
			msg = fmt.Sprintf(`{"level":"%s","time":"%s","request_id":"%s","msg":"handled request","method":"POST","path":"%s","status":%d,"duration_ms":%.2f,"user_agent":"Mozilla/5.0 (X11; Linux x86_64)"}`,
				strings.ToLower(levels[rng.IntN(len(levels))]), time.UnixMilli(ts).UTC().Format(time.RFC3339Nano), req,
				fmt.Sprintf(paths[rng.IntN(len(paths))], rng.IntN(100000)), []int{200, 200, 200, 201, 400, 404, 500}[rng.IntN(7)], rng.Float64()*300)
		case k < 9:
			msg = fmt.Sprintf("%s\t%s\t%s\tcart %d: %d items, total %d.%02d EUR, coupon %q", time.UnixMilli(ts).UTC().Format("2006-01-02T15:04:05.000Z"), req,
				levels[rng.IntN(len(levels))], rng.IntN(1_000_000), rng.IntN(20), rng.IntN(500), rng.IntN(100), []string{"", "WINTER26", "FREESHIP"}[rng.IntN(3)])
		default:
			msg = fmt.Sprintf("%s\t%s\tERROR\tInvoke Error \t{\"errorType\":\"TimeoutError\",\"errorMessage\":\"payment provider did not answer in 3000 ms\",\"stack\":[\"TimeoutError: payment provider did not answer\",\"    at Client.capture (/var/task/payments.js:%d:13)\",\"    at async handler (/var/task/index.js:%d:5)\"]}",
				time.UnixMilli(ts).UTC().Format("2006-01-02T15:04:05.000Z"), req, rng.IntN(400), rng.IntN(200))
		}
		id := fmt.Sprintf("3726352%049d", ts*1000+int64(seq%1000))
		d.LogEvents = append(d.LogEvents, events.CloudwatchLogsLogEvent{ID: id, Timestamp: ts, Message: msg})
		total += len(msg) + len(id) + 40
	}
	return d
}

// drainVault is a vault that holds nothing: every key is new, and a write
// is read to its end and confirmed with a version id.
type drainVault struct{}

func (drainVault) HeadObject(context.Context, *s3.HeadObjectInput, ...func(*s3.Options)) (*s3.HeadObjectOutput, error) {
	return nil, &smithy.GenericAPIError{Code: "NotFound", Message: "Not Found"}
}

func (drainVault) ListObjectVersions(context.Context, *s3.ListObjectVersionsInput, ...func(*s3.Options)) (*s3.ListObjectVersionsOutput, error) {
	return &s3.ListObjectVersionsOutput{}, nil
}

func (drainVault) PutObject(_ context.Context, in *s3.PutObjectInput, _ ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	io.Copy(io.Discard, in.Body)
	return &s3.PutObjectOutput{VersionId: aws.String("bench-version")}, nil
}
