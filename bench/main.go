// Command bench measures logvault against what a user would otherwise run,
// on the local stack (versitygw over TLS, loopback STS), and prints the
// figures as Markdown tables. `make bench` runs it; `make bench-quick` runs
// the same rows at a tenth of the sizes.
//
// Rows:
//
//  1. copy: shipping a large billing file (`logvault invoke billing`) vs
//     `aws s3 cp` between the same buckets: wall time ratio, peak RSS.
//  2. small: 1,000 CloudTrail files shipped from SQS batches of 10 by the
//     handler, in-process (a warm Lambda), vs `aws s3 sync`: wall ratio.
//  3. applogs: handler CPU time per MB of CloudWatch Logs payload vs the
//     floor (gunzip + gzip + SHA-256 of the same bytes).
//  4. coldstart: each real bootstrap under aws-lambda-rie: init duration,
//     first-invocation latency, binary size.
//  5. sha256: the machine's SHA-256 rate vs the shipper's hashing rate.
//  6. backfill: 10,000 small files already in a source bucket, under keys
//     of no known layout, shipped by `logvault backfill` vs `aws s3 sync`,
//     and the same backfill run again over the complete vault: wall ratios.
//
// Every pair is run alternately (A B, B A, ...) in one invocation, so the
// machine's noise cancels in the per-round ratio; tables give the median
// ratio and its range. Nothing here asserts a timing: goals are printed as
// met or missed.
//
// Tools it needs and does not find are installed: the AWS CLI from Debian's
// awscli package (apt-get), aws-lambda-rie (go install, pinned).
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"
)

// options are the command-line settings.
type options struct {
	quick    bool
	rounds   int
	rows     map[string]bool
	work     string
	logvault string
	scale    float64 // 1, or 0.1 with -quick
	profile  string  // CPU profile file (see the flag)
	doc      string  // the page whose results section the report replaces (see the flag)
}

// allRows are the report's rows, in its order.
var allRows = []string{"copy", "small", "applogs", "coldstart", "sha256", "backfill"}

func main() {
	var o options
	var rows string
	flag.BoolVar(&o.quick, "quick", false, "the same rows at a tenth of the sizes")
	flag.IntVar(&o.rounds, "rounds", 3, "alternated rounds per pair")
	flag.StringVar(&rows, "rows", strings.Join(allRows, ","), "rows to run, comma-separated")
	flag.StringVar(&o.work, "work", "build/bench", "working folder: tools, bootstraps, the local stack's state")
	flag.StringVar(&o.logvault, "logvault", "bin/logvault", "the logvault CLI (make cli)")
	flag.StringVar(&o.doc, "doc", "", "write the report into this page's results section for the mode (docs/benchmarks.md), when every row ran")
	flag.StringVar(&o.profile, "cpuprofile", "", "write a CPU profile of the applogs handler (or, without the applogs row, of the first in-process cloudtrail round) to this file")
	flag.Parse()
	o.scale = 1
	if o.quick {
		o.scale = 0.1
	}
	o.rows = map[string]bool{}
	for _, r := range strings.Split(rows, ",") {
		o.rows[strings.TrimSpace(r)] = true
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) error {
	start := time.Now()
	var err error
	if o.work, err = filepath.Abs(o.work); err != nil {
		return err
	}
	if o.logvault, err = filepath.Abs(o.logvault); err != nil {
		return err
	}
	if err := os.MkdirAll(o.work, 0o755); err != nil {
		return err
	}
	r := &report{quick: o.quick, rounds: o.rounds, load: [2]string{loadAverage(), ""}}

	// Rows without the stack first: they measure CPU only.
	if o.rows["sha256"] {
		progress("sha256: machine vs shipper hashing")
		r.sha = benchSHA(o)
	}
	if o.rows["applogs"] {
		progress("applogs: handler CPU vs the floor")
		if r.applogs, err = benchAppLogs(ctx, o); err != nil {
			return err
		}
	}
	if o.rows["copy"] || o.rows["small"] || o.rows["backfill"] || o.rows["coldstart"] {
		var cli *awsCLI
		if o.rows["copy"] || o.rows["small"] || o.rows["backfill"] {
			if cli, err = ensureAWSCLI(ctx, o.work); err != nil {
				return err
			}
			if err := ensureGNUTime(ctx); err != nil {
				return err
			}
			r.awsVersion = cli.version
		}
		var boots *bootstraps
		if o.rows["coldstart"] {
			if boots, err = buildBootstraps(ctx, o.work); err != nil {
				return err
			}
		}
		st, err := startStack(ctx, o.logvault, filepath.Join(o.work, "stack"))
		if err != nil {
			return err
		}
		defer st.stop()
		if cli != nil {
			cli.configure(st)
		}
		if o.rows["coldstart"] {
			progress("coldstart: bootstraps under aws-lambda-rie")
			if r.cold, err = benchColdStart(ctx, o, st, boots); err != nil {
				return err
			}
		}
		if o.rows["small"] {
			progress("small: CloudTrail files, handler in-process vs aws s3 sync")
			if r.small, err = benchSmall(ctx, o, st, cli); err != nil {
				return err
			}
		}
		if o.rows["backfill"] {
			progress("backfill: existing files, logvault backfill vs aws s3 sync")
			if r.backfill, err = benchBackfill(ctx, o, st, cli); err != nil {
				return err
			}
		}
		if o.rows["copy"] {
			progress("copy: billing files, logvault invoke vs aws s3 cp")
			if r.copies, err = benchCopy(ctx, o, st, cli); err != nil {
				return err
			}
		}
	}
	r.took, r.load[1] = time.Since(start), loadAverage()
	r.print(os.Stdout)
	if o.doc == "" {
		return nil
	}
	for _, row := range allRows {
		if !o.rows[row] {
			progress("not writing %s: only some rows ran", o.doc)
			return nil
		}
	}
	var b strings.Builder
	r.print(&b)
	return writeDoc(o.doc, r.quick, b.String(), time.Now())
}

// progress reports what the bench is doing on stderr; the tables go to stdout.
func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "[%s] %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

// loadAverage is the machine's one-minute load average, for the report: the
// absolute figures depend on what else ran; the ratios much less.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) > 0 {
		return f[0]
	}
	return "?"
}

// startProfile starts a CPU profile into path and returns what stops it.
func startProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}
