//go:build integration && faults

package e2e

// The fault campaign (`make faults`): more than a thousand shipments of all
// three kinds go through the fault-injecting proxy (internal/faults) to the
// local stack, delivered with Lambda's own semantics, and the vault is then
// compared with the sources. See docs/testing.md, "Fault campaign".

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/klauspost/compress/gzip"

	"github.com/logvault/logvault/internal/cwlogs"
	"github.com/logvault/logvault/internal/eventgen"
	"github.com/logvault/logvault/internal/faults"
	"github.com/logvault/logvault/internal/functions"
	"github.com/logvault/logvault/internal/local"
	"github.com/logvault/logvault/internal/schema"
)

// campaign sizes and Lambda's settings (template.yaml), time-compressed.
const (
	nCloudTrail     = 420
	nDigests        = 30
	nBilling        = 218
	nBillingLarge   = 12 // 9-20 MiB: multipart uploads
	nBillingRewrite = 20 // keys written twice with different bytes, as CUR does
	nAppLogs        = 400

	maxReceiveCount  = 5 // SQS redrive policy
	asyncAttempts    = 3 // asynchronous invocation: the first try and two retries
	dupShare         = 0.04
	recycleShare     = 0.03 // an instance is retired after an invocation with this probability
	sqsCloudTrailB   = 10   // BatchSize
	sqsBillingB      = 1
	redeliveryPause  = 150 * time.Millisecond // stands for the visibility timeout / async retry delay
	cloudTrailPoll   = 4                      // concurrent pollers (Lambda's concurrency)
	billingPoll      = 3
	asyncConcurrency = 6
)

// Invocation timeouts, shorter than template.yaml's so stalls cost seconds.
var fnTimeout = map[string]time.Duration{"cloudtrail": 20 * time.Second, "billing": 60 * time.Second, "applogs": 20 * time.Second}

// The schedules: per request, about 11% of S3 requests and 22% of STS
// requests fail; each writer session expires after 10-120 of its requests.
var (
	s3Rates = faults.Rates{
		faults.HTTP500:              0.025,
		faults.HTTP500AfterUpstream: 0.015,
		faults.SlowDown:             0.025,
		faults.ResetRequestBody:     0.015,
		faults.ResetResponseBody:    0.015,
		faults.Truncated:            0.015,
		faults.Stall:                0.0025,
	}
	stsRates    = faults.Rates{faults.Throttling: 0.15, faults.HTTP500: 0.05, faults.ResetResponseBody: 0.02, faults.Stall: 0.005}
	sessionLife = [2]int{10, 120}
)

// shipment is one thing that must end up in the vault: a source object
// (cloudtrail, billing) or a CloudWatch Logs payload (applogs).
type shipment struct {
	id       int
	fn       string // the function that ships it
	kind     string // row of the table
	vaultKey string
	sha      string // hex SHA-256 of the bytes the vault must hold
	size     int64
	shape    string
	body     []byte // the SQS message body (sqs-* shapes) or the whole event
	raced    atomic.Bool
	tries    atomic.Int32
	dead     atomic.Bool
}

func (s *shipment) sqs() bool { return eventgen.IsSQS(s.shape) }

func TestFaultCampaign(t *testing.T) {
	seed := uint64(1)
	if v := os.Getenv("FAULTS_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("FAULTS_SEED %q is not a number", v)
		}
		seed = n
	}
	start := time.Now()
	run := time.Now().UTC().Format("20060102T150405")
	// The functions' log and the proxies' trace are kept for a look after the run.
	dir := os.Getenv("FAULTS_DIR")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "logvault-faults-"+run)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	traceF, err := os.Create(filepath.Join(dir, "proxy-trace.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer traceF.Close()
	trace := &lockedWriter{w: bufio.NewWriter(traceF)}
	defer func() { trace.mu.Lock(); trace.w.(*bufio.Writer).Flush(); trace.mu.Unlock() }()
	cert, pool, err := faults.LoadStackTLS(stack.env["LOGVAULT_LOCAL_DIR"])
	if err != nil {
		t.Fatal(err)
	}
	s3p, err := faults.Start(faults.Options{Upstream: stack.env["AWS_ENDPOINT_URL_S3"], Service: faults.S3, ServerCert: cert, UpstreamCAs: pool,
		Schedule: faults.Schedule{Seed: seed, Rates: s3Rates}, SessionLife: sessionLife, Trace: trace})
	if err != nil {
		t.Fatal(err)
	}
	defer s3p.Close()
	stsp, err := faults.Start(faults.Options{Upstream: stack.env["AWS_ENDPOINT_URL_STS"], Service: faults.STS, ServerCert: cert, UpstreamCAs: pool,
		Schedule: faults.Schedule{Seed: seed + 1, Rates: stsRates}, Trace: trace})
	if err != nil {
		t.Fatal(err)
	}
	defer stsp.Close()

	// The functions run in this process (as `logvault invoke` does), with
	// the SDK's endpoints pointing at the proxies.
	for k, v := range stack.env {
		t.Setenv(k, v)
	}
	t.Setenv("AWS_ENDPOINT_URL_S3", s3p.URL)
	t.Setenv("AWS_ENDPOINT_URL_STS", stsp.URL)
	t.Setenv("LOG_LEVEL", "info")
	// As template.yaml sets it for the deployed functions (no STS call at a
	// cold start; the campaign throttles STS).
	t.Setenv("VAULT_SOURCE_ACCOUNT", local.AccountB)
	getenv := func(k string) string {
		if k == "GOMEMLIMIT" {
			return "off" // one process hosts every instance: no per-function soft limit
		}
		return os.Getenv(k)
	}

	rng := rand.New(rand.NewPCG(seed, 0xca3a))
	fmt.Printf("fault campaign: seed %d, run %s: writing the sources...\n", seed, run)
	ships := makeSources(t, rng, run)

	logPath := filepath.Join(dir, "functions.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	sim := &lambdaSim{t: t, getenv: getenv, log: &lockedWriter{w: logf}, rng: rand.New(rand.NewPCG(seed, 0x1a3bda)), pools: map[string]chan functions.Handler{}}
	sim.tries, sim.failed = map[string]*atomic.Int64{}, map[string]*atomic.Int64{}
	for fn := range fnTimeout {
		sim.pools[fn] = make(chan functions.Handler, 64)
		sim.tries[fn], sim.failed[fn] = new(atomic.Int64), new(atomic.Int64)
	}
	fmt.Printf("fault campaign: %d shipments through %s (S3) and %s (STS)...\n", len(ships), s3p.URL, stsp.URL)
	shipStart := time.Now()
	sim.deliver(ships)
	shipTime := time.Since(shipStart)
	logf.Close()
	s3p.SetEnabled(false)
	stsp.SetEnabled(false)

	res := compare(t, ships, run)
	res.logLeaks = scanLog(t, logPath, s3p, stsp)
	outcomes := outcomeCounts(t, logPath)

	// The table.
	var rows [][2]string
	add := func(name string, v any) { rows = append(rows, [2]string{name, fmt.Sprint(v)}) }
	kinds := map[string]int{}
	for _, s := range ships {
		kinds[s.kind]++
	}
	add("seed", seed)
	add("shipments", len(ships))
	for _, k := range []string{"cloudtrail", "cloudtrail-digest", "billing", "billing-multipart", "billing-overwrite", "applogs"} {
		add("shipments "+k, kinds[k])
	}
	add("invocations", sim.deliveries.Load())
	add("retries", sim.redeliveries.Load())
	add("concurrent duplicate deliveries", sim.duplicates.Load())
	add("failed deliveries", sim.failures.Load())
	for _, fn := range []string{"cloudtrail", "billing", "applogs"} {
		add("failed deliveries "+fn, fmt.Sprintf("%d of %d", sim.failed[fn].Load(), sim.tries[fn].Load()))
	}
	add("cold starts", sim.coldStarts.Load())
	add("panics", sim.panics.Load())
	add("S3 requests", s3p.Requests())
	add("STS requests", stsp.Requests())
	add("SDK retry attempts", s3p.SDKRetries()+stsp.SDKRetries())
	add("writer sessions", s3p.Sessions())
	all := faults.Counts{}
	for _, p := range []struct {
		name  string
		proxy *faults.Proxy
		rates faults.Rates
	}{{"s3", s3p, s3Rates}, {"sts", stsp, stsRates}} {
		c := p.proxy.Counts()
		for _, k := range c.Sorted() {
			if p.rates[k] > 0 || c[k] > 0 {
				add("faults "+p.name+" "+string(k), c[k])
			}
		}
		all.Add(c)
	}
	add("faults total", all.Total())
	for _, o := range []string{"created", "overwrote", "duplicate", "failed"} {
		add("outcome "+o, outcomes[o])
	}
	add("lost", res.lost)
	add("corrupt", res.corrupt)
	add("duplicates", res.duplicates)
	add("duplicates from concurrent deliveries", res.dupRaced)
	add("duplicates from reordered redeliveries", res.dupReordered)
	add("duplicates unexplained", res.dupOther)
	add("dead-lettered", res.dead)
	add("dead-lettered and in the vault anyway", res.deadInVault)
	add("unexpected versions", res.unexpected)
	add("left-over uploads", res.leftOver)
	add("secrets or object bytes in logs", res.logLeaks)
	add("vault versions checked", res.versions)
	add("shipping time", shipTime.Round(time.Second))
	add("wall time", time.Since(start).Round(time.Second))
	add("logs", dir)
	width := 0
	for _, r := range rows {
		width = max(width, len(r[0]))
	}
	fmt.Println()
	for _, r := range rows {
		fmt.Printf("%-*s %s\n", width+1, r[0]+":", r[1])
	}
	fmt.Println()
	for _, d := range res.details {
		fmt.Println("  " + d)
	}
	if res.lost > 0 || res.corrupt > 0 || res.leftOver > 0 || res.unexpected > 0 || res.dupOther > 0 || res.logLeaks > 0 || sim.panics.Load() > 0 {
		t.Errorf("the vault does not match the sources: lost %d, corrupt %d, left-over uploads %d, unexpected versions %d, unexplained duplicates %d, log leaks %d, panics %d (function log: %s)",
			res.lost, res.corrupt, res.leftOver, res.unexpected, res.dupOther, res.logLeaks, sim.panics.Load(), logPath)
	}
	if len(ships) < 1000 {
		t.Errorf("only %d shipments; the campaign promises at least 1,000", len(ships))
	}
}

// makeSources writes every source object as Account B, directly to the
// stack, and returns the shipments with their events.
func makeSources(t *testing.T, rng *rand.Rand, run string) []*shipment {
	ct, bill := stack.env["SOURCE_CLOUDTRAIL_BUCKET"], stack.env["SOURCE_BILLING_BUCKET"]
	type src struct {
		fn, kind, bucket, key string
		body                  []byte
		meta                  map[string]string
		shape                 string
	}
	var srcs []src
	fill := func(n int) []byte {
		b := make([]byte, n)
		for i := 0; i < n; i += 8 {
			v := rng.Uint64()
			for j := 0; j < 8 && i+j < n; j++ {
				b[i+j] = byte(v >> (8 * j))
			}
		}
		return b
	}
	gz := func(b []byte) []byte {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		zw.Write(b)
		zw.Close()
		return buf.Bytes()
	}
	pick := func(shapes ...string) string { return shapes[rng.IntN(len(shapes))] }
	ctShape := func() string {
		if rng.Float64() < 0.8 {
			return pick("sqs-eventbridge", "sqs-eventbridge", "sqs-s3", "sqs-sns")
		}
		return pick("s3-put", "sns", "eventbridge")
	}
	for i := 0; i < nCloudTrail; i++ {
		recs := fmt.Sprintf(`{"Records":[{"eventVersion":"1.09","eventName":"PutObject","campaign":%q,"n":%d,"pad":%q}]}`, run, i, hex.EncodeToString(fill(rng.IntN(24<<10))))
		srcs = append(srcs, src{"cloudtrail", "cloudtrail", ct,
			fmt.Sprintf("AWSLogs/222222222222/CloudTrail/us-east-1/2026/11/26/campaign-%s/222222222222_CloudTrail_us-east-1_20261126T%04dZ_%d.json.gz", run, i%2400, i),
			gz([]byte(recs)), map[string]string{"trail": "org-trail"}, ctShape()})
	}
	for i := 0; i < nDigests; i++ {
		srcs = append(srcs, src{"cloudtrail", "cloudtrail-digest", ct,
			fmt.Sprintf("AWSLogs/222222222222/CloudTrail-Digest/us-east-1/2026/11/26/campaign-%s/222222222222_CloudTrail-Digest_us-east-1_trail_us-east-1_20261126T%02d0000Z.json.gz", run, i),
			gz([]byte(fmt.Sprintf(`{"awsAccountId":"222222222222","n":%d,"run":%q}`, i, run))),
			map[string]string{"signature": hex.EncodeToString(fill(256)), "signature-algorithm": "SHA256withRSA"}, ctShape()})
	}
	billShape := func() string {
		if rng.Float64() < 0.85 {
			return "sqs-eventbridge"
		}
		return pick("s3-put", "eventbridge")
	}
	for i := 0; i < nBilling; i++ {
		size := 1 << 10
		switch r := rng.Float64(); {
		case r < 0.6:
			size = 1<<10 + rng.IntN(64<<10)
		case r < 0.9:
			size = 64<<10 + rng.IntN(1<<20)
		default:
			size = 1<<20 + rng.IntN(3<<20)
		}
		kind := "billing"
		if i < nBillingLarge {
			size, kind = 9<<20+rng.IntN(11<<20), "billing-multipart"
		}
		srcs = append(srcs, src{"billing", kind, bill,
			fmt.Sprintf("cur2/campaign-%s/data/BILLING_PERIOD=2026-11/campaign-%s-%05d.csv.gz", run, run, i), fill(size),
			map[string]string{"export": "campaign"}, billShape()})
	}
	for i := 0; i < nBillingRewrite; i++ { // the same keys again, new bytes
		prev := srcs[nCloudTrail+nDigests+nBillingLarge+i]
		srcs = append(srcs, src{"billing", "billing-overwrite", bill, prev.key, fill(len(prev.body)), prev.meta, billShape()})
	}

	results := make([]*shipment, len(srcs))
	b := accountB(t)
	put := func(i int) {
		s := srcs[i]
		out, err := b.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(s.key),
			Body: bytes.NewReader(s.body), ContentLength: aws.Int64(int64(len(s.body))), Metadata: s.meta})
		if err != nil {
			t.Errorf("put source %s: %v", s.key, err)
			return
		}
		o := eventgen.Object{Bucket: s.bucket, Key: s.key, VersionID: aws.ToString(out.VersionId), ETag: trimQuotes(aws.ToString(out.ETag)), Size: int64(len(s.body))}
		sum := sha256.Sum256(s.body)
		results[i] = &shipment{fn: s.fn, kind: s.kind, size: o.Size, sha: hex.EncodeToString(sum[:]), shape: s.shape,
			vaultKey: s.fn + "/account=222222222222/" + s.bucket + "/" + s.key, body: eventBody(t, s.shape, o)}
	}
	// The rewrites go after their first versions, so versions are in order.
	firsts := nCloudTrail + nDigests + nBilling
	parallel(8, firsts, put)
	parallel(8, len(srcs)-firsts, func(i int) { put(firsts + i) })
	if t.Failed() {
		t.FailNow()
	}
	ships := results

	// applogs: payloads only, no source objects.
	for i := 0; i < nAppLogs; i++ {
		d := events.CloudwatchLogsData{
			Owner: "222222222222", LogGroup: fmt.Sprintf("/campaign-%s/svc-%d", run, i%5), LogStream: fmt.Sprintf("2026/11/26/[$LATEST]%032x", i%20),
			SubscriptionFilters: []string{"logvault"}, MessageType: "DATA_MESSAGE",
		}
		ts := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC).UnixMilli() + int64(i)*1000
		for j := 0; j < 1+rng.IntN(100); j++ {
			d.LogEvents = append(d.LogEvents, events.CloudwatchLogsLogEvent{ID: fmt.Sprintf("3726%08d%06d%030d", i, j, rng.Uint64()%1e15), Timestamp: ts + int64(j),
				Message: fmt.Sprintf(`{"level":"info","msg":"request %d/%d","pad":%q}`, i, j, hex.EncodeToString(fill(rng.IntN(600))))})
		}
		body, err := cwlogs.NDJSON(d) // the renderer's own determinism is tested in internal/cwlogs
		if err != nil {
			t.Fatal(err)
		}
		key, err := schema.AppLogsKey(d.Owner, d.LogGroup, d.LogStream, d.LogEvents[0].ID, d.LogEvents[0].Timestamp)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(body)
		ships = append(ships, &shipment{fn: "applogs", kind: "applogs", vaultKey: key, sha: hex.EncodeToString(sum[:]), size: int64(len(body)),
			shape: "cloudwatch-logs", body: eventgen.CloudWatchLogs(d)})
	}
	for i, s := range ships {
		s.id = i
	}
	// Deliver in a shuffled order, as notifications arrive.
	rng.Shuffle(len(ships), func(i, j int) { ships[i], ships[j] = ships[j], ships[i] })
	return ships
}

// parallel runs fn(0..n-1) on w goroutines.
func parallel(w, n int, fn func(int)) {
	jobs := make(chan int)
	var wg sync.WaitGroup
	for i := 0; i < w; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				fn(j)
			}
		}()
	}
	for j := 0; j < n; j++ {
		jobs <- j
	}
	close(jobs)
	wg.Wait()
}

// eventBody is the SQS message body for sqs-* shapes, else the event itself.
func eventBody(t *testing.T, shape string, o eventgen.Object) []byte {
	p, err := eventgen.Build(shape, o)
	if err != nil {
		t.Fatal(err)
	}
	if !eventgen.IsSQS(shape) {
		return p
	}
	var ev events.SQSEvent
	if err := json.Unmarshal(p, &ev); err != nil || len(ev.Records) != 1 {
		t.Fatalf("eventgen %s: %v", shape, err)
	}
	return []byte(ev.Records[0].Body)
}

// lambdaSim delivers events the way Lambda does: warm instances reused
// across invocations (each with its own clients and cached credentials),
// SQS batches with partial batch responses and a redrive policy, and
// asynchronous invocations retried twice, then dead-lettered.
type lambdaSim struct {
	t      *testing.T
	getenv func(string) string
	log    io.Writer
	mu     sync.Mutex
	rng    *rand.Rand
	pools  map[string]chan functions.Handler

	deliveries, redeliveries, duplicates, failures, coldStarts, panics atomic.Int64
	// tries and failed count deliveries of a shipment (not the doubled
	// ones) by function, for the odds of a dead letter.
	tries, failed map[string]*atomic.Int64
}

func (s *lambdaSim) chance(p float64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rng.Float64() < p
}

// invoke runs one invocation on a warm instance (or a new one).
func (s *lambdaSim) invoke(fn string, payload []byte) (resp any, err error) {
	var h functions.Handler
	select {
	case h = <-s.pools[fn]:
	default:
		s.coldStarts.Add(1)
		h, err = functions.FromEnv(context.Background(), fn, s.getenv, s.log)
		if err != nil {
			s.t.Errorf("build %s: %v", fn, err)
			return nil, err
		}
	}
	defer func() {
		if r := recover(); r != nil {
			s.panics.Add(1)
			err = fmt.Errorf("panic: %v", r)
			s.t.Errorf("%s panicked: %v", fn, r)
			return
		}
		if !s.chance(recycleShare) {
			select {
			case s.pools[fn] <- h:
			default:
			}
		}
	}()
	ctx, cancel := context.WithTimeout(context.Background(), fnTimeout[fn])
	defer cancel()
	ctx = lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{AwsRequestID: fmt.Sprintf("campaign-%d", s.deliveries.Add(1))})
	return h.Handle(ctx, payload)
}

// deliver runs every shipment to success or to its dead-letter queue.
func (s *lambdaSim) deliver(ships []*shipment) {
	var wg sync.WaitGroup
	queues := map[string]*sqsQueue{
		"cloudtrail": {fn: "cloudtrail", batch: sqsCloudTrailB},
		"billing":    {fn: "billing", batch: sqsBillingB},
	}
	async := make(chan *shipment, len(ships))
	var pending sync.WaitGroup
	for _, sh := range ships {
		pending.Add(1)
		if sh.sqs() {
			queues[sh.fn].add(sh)
		} else {
			async <- sh
		}
	}
	done := make(chan struct{})
	go func() { pending.Wait(); close(done) }()

	for _, q := range queues {
		n := cloudTrailPoll
		if q.fn == "billing" {
			n = billingPoll
		}
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func(q *sqsQueue) {
				defer wg.Done()
				s.poll(q, &pending, done)
			}(q)
		}
	}
	for i := 0; i < asyncConcurrency; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				case sh := <-async:
					if s.invokeAsync(sh) {
						pending.Done()
						continue
					}
					if int(sh.tries.Load()) >= asyncAttempts {
						sh.dead.Store(true)
						pending.Done()
						continue
					}
					time.AfterFunc(redeliveryPause*time.Duration(sh.tries.Load()), func() { async <- sh })
				}
			}
		}()
	}
	wg.Wait()
}

// invokeAsync is one asynchronous delivery of sh (sometimes two at once).
func (s *lambdaSim) invokeAsync(sh *shipment) bool {
	if sh.tries.Add(1) > 1 {
		s.redeliveries.Add(1)
	}
	var dup sync.WaitGroup
	if s.chance(dupShare) {
		sh.raced.Store(true)
		s.duplicates.Add(1)
		dup.Add(1)
		go func() { defer dup.Done(); s.invoke(sh.fn, sh.body) }()
	}
	_, err := s.invoke(sh.fn, sh.body)
	dup.Wait()
	s.tries[sh.fn].Add(1)
	if err != nil {
		s.failures.Add(1)
		s.failed[sh.fn].Add(1)
	}
	return err == nil
}

// sqsQueue is a queue with a redrive policy: a message received
// maxReceiveCount times without being deleted goes to the DLQ.
type sqsQueue struct {
	fn    string
	batch int
	mu    sync.Mutex
	msgs  []*sqsMsg
}

type sqsMsg struct {
	sh        *shipment
	id        string
	receives  int
	visibleAt time.Time
	inFlight  bool
}

func (q *sqsQueue) add(sh *shipment) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.msgs = append(q.msgs, &sqsMsg{sh: sh, id: fmt.Sprintf("campaign-%06d", sh.id)})
}

// receive takes up to q.batch visible messages.
func (q *sqsQueue) receive() []*sqsMsg {
	q.mu.Lock()
	defer q.mu.Unlock()
	now := time.Now()
	var out []*sqsMsg
	for _, m := range q.msgs {
		if len(out) == q.batch {
			break
		}
		if !m.inFlight && !now.Before(m.visibleAt) {
			m.inFlight = true
			m.receives++
			out = append(out, m)
		}
	}
	return out
}

// settle deletes m (done) or makes it visible again, or dead-letters it.
func (q *sqsQueue) settle(m *sqsMsg, ok bool, pending *sync.WaitGroup) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !ok && m.receives < maxReceiveCount {
		m.inFlight = false
		m.visibleAt = time.Now().Add(redeliveryPause * time.Duration(m.receives))
		return
	}
	if !ok {
		m.sh.dead.Store(true)
	}
	for i, x := range q.msgs {
		if x == m {
			q.msgs = append(q.msgs[:i], q.msgs[i+1:]...)
			break
		}
	}
	pending.Done()
}

// sqsBatch renders messages as the SQS event Lambda sends.
func sqsBatch(q *sqsQueue, msgs []*sqsMsg) []byte {
	var recs []events.SQSMessage
	for _, m := range msgs {
		recs = append(recs, events.SQSMessage{
			MessageId: m.id, ReceiptHandle: fmt.Sprintf("%s-%d", m.id, m.receives), Body: string(m.sh.body),
			Attributes:  map[string]string{"ApproximateReceiveCount": strconv.Itoa(m.receives), "SentTimestamp": strconv.FormatInt(time.Now().UnixMilli(), 10)},
			EventSource: "aws:sqs", EventSourceARN: "arn:aws:sqs:us-east-1:222222222222:logvault-" + q.fn, AWSRegion: "us-east-1",
		})
	}
	b, _ := json.Marshal(events.SQSEvent{Records: recs})
	return b
}

// poll is one of Lambda's pollers of an SQS queue.
func (s *lambdaSim) poll(q *sqsQueue, pending *sync.WaitGroup, done <-chan struct{}) {
	for {
		select {
		case <-done:
			return
		default:
		}
		msgs := q.receive()
		if len(msgs) == 0 {
			time.Sleep(20 * time.Millisecond)
			continue
		}
		for _, m := range msgs {
			if m.receives > 1 {
				s.redeliveries.Add(1)
			}
			m.sh.tries.Add(1)
		}
		// SQS delivers at least once: now and then a message is also
		// handed to another poller at the same moment.
		var dup sync.WaitGroup
		for _, m := range msgs {
			if s.chance(dupShare) {
				m.sh.raced.Store(true)
				s.duplicates.Add(1)
				dup.Add(1)
				go func(m *sqsMsg) { defer dup.Done(); s.invoke(q.fn, sqsBatch(q, []*sqsMsg{m})) }(m)
			}
		}
		resp, err := s.invoke(q.fn, sqsBatch(q, msgs))
		dup.Wait()
		failed := map[string]bool{}
		if r, ok := resp.(events.SQSEventResponse); err != nil || !ok {
			for _, m := range msgs {
				failed[m.id] = true
			}
		} else {
			for _, f := range r.BatchItemFailures {
				failed[f.ItemIdentifier] = true
			}
		}
		for _, m := range msgs {
			s.tries[q.fn].Add(1)
			if failed[m.id] {
				s.failures.Add(1)
				s.failed[q.fn].Add(1)
			}
			q.settle(m, !failed[m.id], pending)
		}
	}
}

// comparison is what the vault holds against what was shipped.
type comparison struct {
	versions, lost, corrupt, duplicates, dupRaced, dupReordered, dupOther int
	dead, deadInVault, unexpected, leftOver, logLeaks                     int
	details                                                               []string
}

type vaultVersion struct {
	id, meta, actual string
	modified         time.Time
}

// compare reads every vault version under the campaign's prefixes as
// Account A's admin, directly from the stack, and matches them with the
// shipments.
func compare(t *testing.T, ships []*shipment, run string) comparison {
	ctx := context.Background()
	admin := adminFor(t)
	bucket := stack.env["VAULT_BUCKET"]
	prefixes := []string{
		"cloudtrail/account=222222222222/" + stack.env["SOURCE_CLOUDTRAIL_BUCKET"] + "/AWSLogs/222222222222/CloudTrail/us-east-1/2026/11/26/campaign-" + run + "/",
		"cloudtrail/account=222222222222/" + stack.env["SOURCE_CLOUDTRAIL_BUCKET"] + "/AWSLogs/222222222222/CloudTrail-Digest/us-east-1/2026/11/26/campaign-" + run + "/",
		"billing/account=222222222222/" + stack.env["SOURCE_BILLING_BUCKET"] + "/cur2/campaign-" + run + "/",
		"applogs/account=222222222222/campaign-" + run + "/",
	}
	type item struct {
		key string
		v   *vaultVersion
	}
	var items []item
	for _, p := range prefixes {
		pg := s3.NewListObjectVersionsPaginator(admin, &s3.ListObjectVersionsInput{Bucket: aws.String(bucket), Prefix: aws.String(p)})
		for pg.HasMorePages() {
			page, err := pg.NextPage(ctx)
			if err != nil {
				t.Fatalf("list vault versions: %v", err)
			}
			for _, v := range page.Versions {
				items = append(items, item{aws.ToString(v.Key), &vaultVersion{id: aws.ToString(v.VersionId), modified: aws.ToTime(v.LastModified)}})
			}
		}
	}
	// Read and hash every version.
	var wg sync.WaitGroup
	jobs := make(chan item)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := range jobs {
				out, err := admin.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(it.key), VersionId: aws.String(it.v.id)})
				if err != nil {
					t.Errorf("read vault %s@%s: %v", it.key, it.v.id, err)
					continue
				}
				h := sha256.New()
				_, err = io.Copy(h, out.Body)
				out.Body.Close()
				if err != nil {
					t.Errorf("read vault %s@%s: %v", it.key, it.v.id, err)
					continue
				}
				it.v.actual, it.v.meta = hex.EncodeToString(h.Sum(nil)), out.Metadata[schema.MetaSHA256]
			}
		}()
	}
	for _, it := range items {
		jobs <- it
	}
	close(jobs)
	wg.Wait()

	var c comparison
	byKey := map[string][]*vaultVersion{}
	for _, it := range items {
		c.versions++
		byKey[it.key] = append(byKey[it.key], it.v)
		if it.v.actual != it.v.meta {
			c.corrupt++
			c.details = append(c.details, fmt.Sprintf("corrupt: %s@%s holds %s, logvault-sha256 says %s", it.key, it.v.id, it.v.actual, it.v.meta))
		}
	}
	want := map[string][]*shipment{}
	for _, s := range ships {
		want[s.vaultKey] = append(want[s.vaultKey], s)
	}
	for key, vs := range byKey {
		// Oldest first: the listing's order (newest first) reversed, then by
		// time. LastModified has a coarse resolution, and two versions of one
		// second must keep the listing's order, or a reordered redelivery
		// (A, B, A) reads as a plain duplicate (A, A, B).
		slices.Reverse(vs)
		sort.SliceStable(vs, func(i, j int) bool { return vs[i].modified.Before(vs[j].modified) })
		expected := map[string]*shipment{}
		raced := false
		for _, s := range want[key] {
			expected[s.sha] = s
			raced = raced || s.raced.Load()
		}
		seen := map[string]int{} // sha -> index of its last version
		for i, v := range vs {
			if _, ok := expected[v.actual]; !ok {
				c.unexpected++
				c.details = append(c.details, fmt.Sprintf("unexpected: %s@%s holds %s, which no shipment sent there", key, v.id, v.actual))
			}
			last, dup := seen[v.actual]
			seen[v.actual] = i
			if !dup {
				continue
			}
			c.duplicates++
			switch {
			case i-last > 1:
				c.dupReordered++ // another version came between: an older event redelivered after a newer one
			case raced:
				c.dupRaced++
			default:
				c.dupOther++
			}
			c.details = append(c.details, fmt.Sprintf("duplicate: %s@%s repeats the content of the version before it by %d (concurrent deliveries of the event: %v)", key, v.id, i-last, raced))
		}
	}
	for _, s := range ships {
		found := false
		for _, v := range byKey[s.vaultKey] {
			found = found || (v.actual == s.sha && v.meta == s.sha)
		}
		if s.dead.Load() {
			c.dead++
			if found {
				c.deadInVault++
			}
			c.details = append(c.details, fmt.Sprintf("dead-lettered after %d deliveries (%s, %s; in the vault: %v): %s", s.tries.Load(), s.fn, s.shape, found, s.vaultKey))
			continue
		}
		if !found {
			c.lost++
			c.details = append(c.details, fmt.Sprintf("lost: %s shipment %s (%s) acknowledged but not in the vault", s.kind, s.vaultKey, s.sha))
		}
	}
	in := &s3.ListMultipartUploadsInput{Bucket: aws.String(bucket)}
	for {
		out, err := admin.ListMultipartUploads(ctx, in)
		if err != nil {
			t.Fatalf("list multipart uploads: %v", err)
		}
		for _, u := range out.Uploads {
			c.leftOver++
			c.details = append(c.details, fmt.Sprintf("left-over upload: %s (%s, initiated %s)", aws.ToString(u.Key), aws.ToString(u.UploadId), aws.ToTime(u.Initiated).Format(time.RFC3339)))
		}
		if !aws.ToBool(out.IsTruncated) {
			break
		}
		in.KeyMarker, in.UploadIdMarker = out.NextKeyMarker, out.NextUploadIdMarker
	}
	sort.Strings(c.details)
	return c
}

// outcomeCounts counts the functions' receipt lines by outcome.
func outcomeCounts(t *testing.T, path string) map[string]int {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]int{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var line struct {
			Msg     string `json:"msg"`
			Outcome string `json:"outcome"`
		}
		if json.Unmarshal(sc.Bytes(), &line) == nil && line.Outcome != "" && line.Msg != "event rejected" {
			out[line.Outcome]++
		}
	}
	return out
}

// scanLog counts log lines holding a secret key, a session token or
// credentials the STS proxy saw minted.
func scanLog(t *testing.T, path string, proxies ...*faults.Proxy) int {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	secrets := []string{stack.env["AWS_SECRET_ACCESS_KEY"], stack.env["VAULT_ADMIN_SECRET_ACCESS_KEY"]}
	for _, p := range proxies {
		secrets = append(secrets, p.Secrets()...)
	}
	n := 0
	for _, line := range strings.Split(string(data), "\n") {
		for _, s := range secrets {
			if s != "" && strings.Contains(line, s) {
				n++
				break
			}
		}
	}
	return n
}

// lockedWriter serialises the JSON lines of concurrent instances.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
