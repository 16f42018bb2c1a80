package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/logvault/logvault/internal/eventgen"
)

// copyResult is row 1 for one size: per round, logvault's and the CLI's run.
type copyResult struct {
	size     int64
	logvault []measure // server-side copy (the source grants the writer read)
	fallback []measure // uploaded from the function (a source without the grant)
	awscli   []measure
}

// noGrantBucket is a source bucket of Account B whose policy does not let
// the writer read it: large objects from it take the upload path.
const noGrantBucket = "logvault-bench-nogrant"

// copySizes are the billing files shipped: 1 GiB and 4 GiB (a tenth with -quick).
func copySizes(o options) []int64 {
	return []int64{int64(float64(1<<30) * o.scale), int64(float64(4<<30) * o.scale)}
}

// benchCopy ships one billing file per size and round with
// `logvault invoke billing` (its own process, as a Lambda invocation with
// the functions' defaults: GOMEMLIMIT 48 MiB, reread strategy) on the SQS
// message an EventBridge rule delivers, and copies the same source object
// with `aws s3 cp` to another vault key, alternating which goes first. The
// billing source bucket grants the writer read, so logvault hashes and
// then has S3 copy the parts; the same bytes in noGrantBucket are shipped
// by the fallback (hashing read, then upload from a second read).
func benchCopy(ctx context.Context, o options, st *stack, cli *awsCLI) ([]copyResult, error) {
	src, vault := st.env["SOURCE_BILLING_BUCKET"], st.env["VAULT_BUCKET"]
	if _, err := st.b.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(noGrantBucket)}); err != nil && !strings.Contains(err.Error(), "BucketAlready") {
		return nil, fmt.Errorf("create %s: %w", noGrantBucket, err)
	}
	var results []copyResult
	for _, size := range copySizes(o) {
		res := copyResult{size: size}
		for r := 0; r < o.rounds; r++ {
			key := fmt.Sprintf("bench/cur2/data/BILLING_PERIOD=2026-11/r%d-%d/export-%d.csv.gz", r, time.Now().UnixNano(), size)
			progress("copy %s round %d: uploading the source", sizeLabel(size), r+1)
			obj, err := st.put(ctx, src, key, size, uint64(size))
			if err != nil {
				return nil, err
			}
			fobj, err := st.put(ctx, noGrantBucket, key, size, uint64(size))
			if err != nil {
				return nil, err
			}
			invokeOn := func(bucket string, o2 sourceObject, into *[]measure, label string) func() error {
				return func() error {
					ev, err := eventgen.Build("sqs-eventbridge", eventgen.Object{Bucket: bucket, Key: o2.Key, VersionID: o2.VersionID, ETag: o2.ETag, Size: size})
					if err != nil {
						return err
					}
					evFile := filepath.Join(o.work, "billing-event.json")
					if err := os.WriteFile(evFile, ev, 0o600); err != nil {
						return err
					}
					cmd := exec.CommandContext(ctx, st.bin, "invoke", "billing", evFile)
					cmd.Env = processEnv()
					m, err := runMeasured(cmd)
					if err == nil {
						*into = append(*into, m)
						progress("  logvault invoke billing, %s: %s, peak RSS %s", label, m.wall.Round(time.Millisecond), mib(m.rss))
					}
					return err
				}
			}
			runLV := invokeOn(src, obj, &res.logvault, "server-side copy")
			runFallback := invokeOn(noGrantBucket, fobj, &res.fallback, "upload (no read grant)")
			runCLI := func() error {
				m, err := cli.run(ctx, "s3", "cp", "--no-progress", "--only-show-errors",
					"s3://"+src+"/"+key, "s3://"+vault+"/awscli/"+src+"/"+key)
				if err == nil {
					res.awscli = append(res.awscli, m)
					progress("  aws s3 cp:               %s, peak RSS %s", m.wall.Round(time.Millisecond), mib(m.rss))
				}
				return err
			}
			if err := alternate(r, runLV, runCLI); err != nil {
				return nil, err
			}
			if err := runFallback(); err != nil {
				return nil, err
			}
			for _, dst := range []string{"billing/" + src + "/" + key, "awscli/" + src + "/" + key, "billing/" + noGrantBucket + "/" + key} {
				n, bytes, err := st.count(ctx, vault, dst)
				if err != nil {
					return nil, err
				}
				if n != 1 || bytes != size {
					return nil, fmt.Errorf("copy: vault has %d objects, %d bytes at %s; want 1 of %d bytes", n, bytes, dst, size)
				}
			}
			for _, p := range [][2]string{{src, key}, {noGrantBucket, key}, {vault, "billing/" + src + "/" + key}, {vault, "awscli/" + src + "/" + key}, {vault, "billing/" + noGrantBucket + "/" + key}} {
				if err := st.purge(ctx, p[0], p[1]); err != nil {
					return nil, err
				}
			}
		}
		results = append(results, res)
	}
	return results, nil
}

// alternate runs a then b in even rounds, b then a in odd ones.
func alternate(round int, a, b func() error) error {
	first, second := a, b
	if round%2 == 1 {
		first, second = b, a
	}
	if err := first(); err != nil {
		return err
	}
	return second()
}

func sizeLabel(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20:
		return strings.TrimSuffix(fmt.Sprintf("%.1f", float64(n)/(1<<20)), ".0") + " MiB"
	default:
		return fmt.Sprintf("%.0f KiB", float64(n)/(1<<10))
	}
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
