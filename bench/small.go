package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/logvault/logvault/internal/eventgen"
	"github.com/logvault/logvault/internal/functions"
)

// sqsBatchSize is template.yaml's BatchSize for the cloudtrail queue: Lambda
// hands the function at most 10 messages per invocation.
const sqsBatchSize = 10

// lambdaSQSPollers is how many batches Lambda processes at once when an
// SQS queue has messages: it "starts processing five batches at a time with
// five concurrent invocations of your function" (Lambda developer guide,
// "Configuring scaling behavior for SQS event source mappings").
const lambdaSQSPollers = 5

// smallResult is row 2: per round, the wall time of logvault with one
// instance, with lambdaSQSPollers instances, and of the CLI.
type smallResult struct {
	files    int
	bytes    int64
	logvault []measure // one warm instance, batch after batch
	parallel []measure // lambdaSQSPollers warm instances
	awscli   []measure
}

// benchSmall ships n CloudTrail files (1-100 KiB) per round with each tool,
// alternating which goes first. Each tool gets its own copy of the same
// files (same keys under its own trail prefix, same sizes, same bytes), so
// both start from an empty destination.
//
// logvault: the cloudtrail function is built once per round, in this
// process, as its Lambda main builds it (functions.FromEnv: configuration,
// SDK clients; the writer's role is assumed on first use), then invoked on
// SQS batches of 10 S3 notifications one after the other, as one warm
// Lambda instance would be. The wall time covers the build and every
// invocation. A `logvault invoke` process per batch would instead pay a
// process start and a fresh AssumeRole per batch, which Lambda does not.
//
// The same is also run with lambdaSQSPollers instances (each built on its
// own: its own clients and credentials) taking batches from one queue, as
// Lambda starts on a queue with a backlog.
//
// aws: `aws s3 sync` of the trail prefix into the vault, as Account A's
// administrator: one process, listing both sides, then CopyObject per file
// (server-side, 10 at a time).
func benchSmall(ctx context.Context, o options, st *stack, cli *awsCLI) (*smallResult, error) {
	src, vault := st.env["SOURCE_CLOUDTRAIL_BUCKET"], st.env["VAULT_BUCKET"]
	n := int(1000 * o.scale)
	rng := mrand.New(mrand.NewPCG(7, 7))
	sizes := make([]int64, n)
	names := make([]string, n)
	res := &smallResult{files: n}
	for i := range sizes {
		sizes[i] = 1<<10 + rng.Int64N(99<<10+1) // 1 KiB to 100 KiB
		res.bytes += sizes[i]
		var id [8]byte
		rand.Read(id[:])
		names[i] = fmt.Sprintf("AWSLogs/222222222222/CloudTrail/us-east-1/2026/11/27/222222222222_CloudTrail_us-east-1_20261127T%02d%02dZ_%s.json.gz", i/60%24, i%60, hex.EncodeToString(id[:]))
	}
	upload := func(prefix string) ([]sourceObject, error) {
		keys := make([]string, n)
		for i := range keys {
			keys[i] = prefix + names[i]
		}
		return st.putMany(ctx, src, keys, sizes, 1000)
	}
	for r := 0; r < o.rounds; r++ {
		prefixes := map[string]string{}
		objs := map[string][]sourceObject{}
		progress("small round %d: uploading %d files three times (%s each)", r+1, n, mib(res.bytes))
		for _, tool := range []string{"logvault", "logvault5", "awscli"} {
			prefixes[tool] = fmt.Sprintf("bench-r%d-%s/", r, tool)
			up, err := upload(prefixes[tool])
			if err != nil {
				return nil, err
			}
			objs[tool] = up
		}
		lv := func(tool string, instances int, into *[]measure) func() error {
			return func() error {
				if instances == 1 && r == 0 && o.profile != "" && !o.rows["applogs"] {
					stop, err := startProfile(o.profile)
					if err != nil {
						return err
					}
					defer stop()
				}
				m, err := shipInProcess(ctx, src, objs[tool], instances)
				if err == nil {
					*into = append(*into, m)
					progress("  logvault cloudtrail, %d instance(s), %d invocations: %s", instances, (n+sqsBatchSize-1)/sqsBatchSize, m.wall.Round(time.Millisecond))
				}
				return err
			}
		}
		runCLI := func() error {
			m, err := cli.run(ctx, "s3", "sync", "--no-progress", "--only-show-errors",
				"s3://"+src+"/"+prefixes["awscli"], "s3://"+vault+"/awscli/"+src+"/"+prefixes["awscli"])
			if err == nil {
				res.awscli = append(res.awscli, m)
				progress("  aws s3 sync: %s", m.wall.Round(time.Millisecond))
			}
			return err
		}
		runs := []func() error{lv("logvault", 1, &res.logvault), lv("logvault5", lambdaSQSPollers, &res.parallel), runCLI}
		for k := range runs {
			if err := runs[(k+r)%len(runs)](); err != nil {
				return nil, err
			}
		}
		dsts := map[string]string{
			"logvault":  "cloudtrail/" + src + "/" + prefixes["logvault"],
			"logvault5": "cloudtrail/" + src + "/" + prefixes["logvault5"],
			"awscli":    "awscli/" + src + "/" + prefixes["awscli"],
		}
		for tool, dst := range dsts {
			got, b, err := st.count(ctx, vault, dst)
			if err != nil {
				return nil, err
			}
			if got != n || b != res.bytes {
				return nil, fmt.Errorf("small: vault has %d objects (%d bytes) under %s, want %d (%d bytes)", got, b, dst, n, res.bytes)
			}
			if err := st.purge(ctx, vault, dst); err != nil {
				return nil, err
			}
			if err := st.purge(ctx, src, prefixes[tool]); err != nil {
				return nil, err
			}
		}
	}
	return res, nil
}

// shipInProcess builds the cloudtrail function instances times and has
// the instances invoke it on SQS batches of sqsBatchSize notifications
// covering objs, taken in order from one queue; every object must be
// created.
func shipInProcess(ctx context.Context, bucket string, objs []sourceObject, instances int) (measure, error) {
	var batches [][]byte
	for i := 0; i < len(objs); i += sqsBatchSize {
		var bodies [][]byte
		for _, ob := range objs[i:min(i+sqsBatchSize, len(objs))] {
			b, err := eventgen.Build("s3-put", eventgen.Object{Bucket: bucket, Key: ob.Key, VersionID: ob.VersionID, ETag: ob.ETag, Size: ob.Size})
			if err != nil {
				return measure{}, err
			}
			bodies = append(bodies, b)
		}
		batches = append(batches, eventgen.SQS(bodies...))
	}
	queue := make(chan int, len(batches))
	for i := range batches {
		queue <- i
	}
	close(queue)
	logs := make([]bytes.Buffer, instances)
	errs := make([]error, instances)
	cpu0 := rusageCPU()
	start := time.Now()
	var wg sync.WaitGroup
	for k := 0; k < instances; k++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h, err := functions.FromEnv(ctx, "cloudtrail", os.Getenv, &logs[k])
			if err != nil {
				errs[k] = err
				return
			}
			for i := range queue {
				ictx, cancel := context.WithTimeout(ctx, 300*time.Second) // template.yaml's timeout
				ictx = lambdacontext.NewContext(ictx, &lambdacontext.LambdaContext{AwsRequestID: fmt.Sprintf("bench-%d", i)})
				resp, err := h.Handle(ictx, batches[i])
				cancel()
				if err != nil {
					errs[k] = fmt.Errorf("cloudtrail invocation %d: %w", i, err)
					return
				}
				if r, ok := resp.(events.SQSEventResponse); !ok || len(r.BatchItemFailures) > 0 {
					errs[k] = fmt.Errorf("cloudtrail invocation %d: %+v\n%s", i, resp, tail(logs[k].String(), 2000))
					return
				}
			}
		}()
	}
	wg.Wait()
	wall, cpu := time.Since(start), rusageCPU()-cpu0
	created := 0
	for k := range logs {
		if errs[k] != nil {
			return measure{}, errs[k]
		}
		created += bytes.Count(logs[k].Bytes(), []byte(`"outcome":"created"`))
	}
	if created != len(objs) {
		return measure{}, fmt.Errorf("cloudtrail: %d objects created, want %d", created, len(objs))
	}
	return measure{wall: wall, cpu: cpu}, nil
}
