package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	mrand "math/rand/v2"
	"os/exec"
	"time"

	"github.com/logvault/logvault/internal/reconcile"
)

// backfillResult is row 6: per round, the wall time of `logvault backfill`
// into an empty vault prefix, of the same command run again over the then
// complete vault, and of the CLI.
type backfillResult struct {
	files    int
	bytes    int64
	backfill []measure // the first run: every object shipped
	rerun    []measure // the second run: every object already in the vault
	awscli   []measure
}

// benchBackfill backfills n files (1-100 KiB) already in a source bucket,
// under keys of no layout the registry knows (kind s3), per round with
// each tool, alternating which goes first. Each tool gets its own copy of
// the same files (same keys under its own prefix, same sizes, same bytes),
// so both start from an empty destination.
//
// logvault: `logvault backfill --source s3://SRC/PREFIX --json` as its own
// process with the stack's environment, as an operator runs it: the source
// listed and read as Account B, the vault listed and written as the writer
// role, every object through the functions' shipping path. It must create
// every object. Then the same command again over the complete vault, which
// must find every object there and write nothing: the rerun after an
// interruption, or a check that a backfill is done.
//
// aws: `aws s3 sync` of the prefix into the vault, as Account A's
// administrator (as in the small row): one process, listing both sides,
// then CopyObject per file (server-side, 10 at a time).
func benchBackfill(ctx context.Context, o options, st *stack, cli *awsCLI) (*backfillResult, error) {
	src, vault := st.env["SOURCE_CLOUDTRAIL_BUCKET"], st.env["VAULT_BUCKET"]
	n := int(10000 * o.scale)
	rng := mrand.New(mrand.NewPCG(8, 8))
	sizes := make([]int64, n)
	names := make([]string, n)
	res := &backfillResult{files: n}
	for i := range sizes {
		sizes[i] = 1<<10 + rng.Int64N(99<<10+1) // 1 KiB to 100 KiB
		res.bytes += sizes[i]
		names[i] = fmt.Sprintf("logs/2026/11/%d.json", i)
	}
	upload := func(prefix string) error {
		keys := make([]string, n)
		for i := range keys {
			keys[i] = prefix + names[i]
		}
		_, err := st.putMany(ctx, src, keys, sizes, 2000)
		return err
	}
	// check fails unless the vault holds exactly the n files under dst.
	check := func(dst string) error {
		got, b, err := st.count(ctx, vault, dst)
		if err != nil {
			return err
		}
		if got != n || b != res.bytes {
			return fmt.Errorf("backfill: vault has %d objects (%d bytes) under %s, want %d (%d bytes)", got, b, dst, n, res.bytes)
		}
		return nil
	}
	for r := 0; r < o.rounds; r++ {
		prefixes := map[string]string{}
		progress("backfill round %d: uploading %d files twice (%s each)", r+1, n, mib(res.bytes))
		for _, tool := range []string{"logvault", "awscli"} {
			prefixes[tool] = fmt.Sprintf("bench-backfill-r%d-%s/", r, tool)
			if err := upload(prefixes[tool]); err != nil {
				return nil, err
			}
		}
		dsts := map[string]string{
			"logvault": "s3/" + src + "/" + prefixes["logvault"],
			"awscli":   "awscli/" + src + "/" + prefixes["awscli"],
		}
		source := "s3://" + src + "/" + prefixes["logvault"]
		runLV := func() error {
			m, sum, err := runBackfill(ctx, st, source)
			if err != nil {
				return err
			}
			if sum.Created != n || sum.Failed != 0 {
				return fmt.Errorf("logvault backfill --source %s: %+v; want %d created, none failed", source, sum, n)
			}
			if err := check(dsts["logvault"]); err != nil {
				return err
			}
			res.backfill = append(res.backfill, m)
			progress("  logvault backfill:       %s, CPU %s, peak RSS %s (listed %d, created %d)", m.wall.Round(time.Millisecond), m.cpu.Round(time.Millisecond), mib(m.rss), sum.Listed, sum.Created)
			m, sum, err = runBackfill(ctx, st, source)
			if err != nil {
				return err
			}
			if sum.Created != 0 || sum.Overwrote != 0 || sum.AlreadyInVault != n || sum.Failed != 0 {
				return fmt.Errorf("logvault backfill --source %s, run again: %+v; want all %d already in the vault, nothing written", source, sum, n)
			}
			if err := check(dsts["logvault"]); err != nil {
				return err
			}
			res.rerun = append(res.rerun, m)
			progress("  logvault backfill again: %s, CPU %s, peak RSS %s (already in the vault %d)", m.wall.Round(time.Millisecond), m.cpu.Round(time.Millisecond), mib(m.rss), sum.AlreadyInVault)
			return nil
		}
		runCLI := func() error {
			m, err := cli.run(ctx, "s3", "sync", "--no-progress", "--only-show-errors",
				"s3://"+src+"/"+prefixes["awscli"], "s3://"+vault+"/"+dsts["awscli"])
			if err != nil {
				return err
			}
			if err := check(dsts["awscli"]); err != nil {
				return err
			}
			res.awscli = append(res.awscli, m)
			progress("  aws s3 sync:             %s, CPU %s, peak RSS %s", m.wall.Round(time.Millisecond), m.cpu.Round(time.Millisecond), mib(m.rss))
			return nil
		}
		if err := alternate(r, runLV, runCLI); err != nil {
			return nil, err
		}
		for tool, dst := range dsts {
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

// runBackfill runs `logvault backfill --source source --json` with the
// stack's environment and returns its measure and its JSON summary.
func runBackfill(ctx context.Context, st *stack, source string) (measure, reconcile.Summary, error) {
	var sum reconcile.Summary
	cmd := exec.CommandContext(ctx, st.bin, "backfill", "--source", source, "--json")
	cmd.Env = processEnv()
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	m, err := runMeasured(cmd)
	if err != nil {
		return measure{}, sum, fmt.Errorf("%w\nstdout: %s", err, tail(stdout.String(), 2000))
	}
	if err := json.Unmarshal(stdout.Bytes(), &sum); err != nil {
		return measure{}, sum, fmt.Errorf("logvault backfill --source %s: output is not the JSON summary (%v): %s", source, err, tail(stdout.String(), 2000))
	}
	return m, sum, nil
}
