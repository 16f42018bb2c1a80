package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/spf13/cobra"

	"github.com/logvault/logvault/internal/config"
	"github.com/logvault/logvault/internal/functions"
	"github.com/logvault/logvault/internal/reconcile"
	"github.com/logvault/logvault/internal/schema"
	"github.com/logvault/logvault/internal/vault"
)

// sourceFlags are the flags backfill and reconcile share.
type sourceFlags struct {
	source, since, until, function string
	jsonOut                        bool
	workers                        int
}

func (f *sourceFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.source, "source", "", "the source: s3://BUCKET[/PREFIX] (required)")
	cmd.Flags().StringVar(&f.since, "since", "", "only source objects last modified at or after this time (YYYY-MM-DD or RFC 3339, UTC)")
	cmd.Flags().StringVar(&f.until, "until", "", "only source objects last modified before this time (YYYY-MM-DD or RFC 3339, UTC)")
	cmd.Flags().StringVar(&f.function, "function", schema.FunctionCloudTrail,
		"the function whose path ships the source: cloudtrail (CloudTrail and the other AWS logs; unrecognised keys as kind s3) or billing (unrecognised keys as kind billing)")
	cmd.Flags().BoolVar(&f.jsonOut, "json", false, "print a JSON report")
	cmd.Flags().IntVar(&f.workers, "workers", reconcile.DefaultWorkers, "objects compared or shipped at once")
}

// options builds the reconcile options and the clients: the source listed and
// read with the ambient credentials (Account B's), the vault with the
// writer's (VAULT_ROLE_ARN) as the functions do.
func (f *sourceFlags) options(ctx context.Context, verb string) (reconcile.Options, config.Config, func(*slog.Logger) (reconcile.Shipper, error), error) {
	var o reconcile.Options
	if f.source == "" {
		return o, config.Config{}, nil, fmt.Errorf("%s: --source s3://BUCKET[/PREFIX] is required", verb)
	}
	src, err := reconcile.ParseSource(f.source)
	if err != nil {
		return o, config.Config{}, nil, fmt.Errorf("%s: --source: %w", verb, err)
	}
	if schema.FallbackKind(f.function) == "" {
		return o, config.Config{}, nil, fmt.Errorf("%s: --function %q: want %s or %s", verb, f.function, schema.FunctionCloudTrail, schema.FunctionBilling)
	}
	var win reconcile.Window
	if win.Since, err = parseTime(f.since); err != nil {
		return o, config.Config{}, nil, fmt.Errorf("%s: --since: %w", verb, err)
	}
	if win.Until, err = parseTime(f.until); err != nil {
		return o, config.Config{}, nil, fmt.Errorf("%s: --until: %w", verb, err)
	}
	if !win.Since.IsZero() && !win.Until.IsZero() && !win.Since.Before(win.Until) {
		return o, config.Config{}, nil, fmt.Errorf("%s: --since %s is not before --until %s", verb, f.since, f.until)
	}
	if f.workers < 1 {
		return o, config.Config{}, nil, fmt.Errorf("%s: --workers %d: want at least 1", verb, f.workers)
	}
	cfg, err := config.FromEnv(os.Getenv)
	if err != nil {
		return o, config.Config{}, nil, fmt.Errorf("%s: %w", verb, err)
	}
	base, err := config.LoadAWS(ctx)
	if err != nil {
		return o, config.Config{}, nil, fmt.Errorf("%s: %w", verb, err)
	}
	if err := cfg.ResolveSourceAccount(ctx, base); err != nil {
		return o, config.Config{}, nil, fmt.Errorf("%s: %w", verb, err)
	}
	vc := vault.NewS3Client(base, cfg, "logvault-"+verb)
	if err := vault.CheckCredentials(ctx, vc, cfg.VaultRoleARN); err != nil {
		return o, config.Config{}, nil, fmt.Errorf("%s: %w", verb, err)
	}
	o = reconcile.Options{Source: src, Function: f.function, Account: cfg.SourceAccount, Window: win, SourceAPI: s3.NewFromConfig(base, cfg.S3Options),
		VaultAPI: vc, VaultBucket: cfg.VaultBucket, ExpectedOwner: cfg.ExpectedOwner, Workers: f.workers}
	// The functions' shipping path, built once its logger is known.
	shipper := func(log *slog.Logger) (reconcile.Shipper, error) {
		h, err := functions.Copying(f.function, base, cfg, log)
		if err != nil {
			return nil, err
		}
		return h.ShipOne, nil
	}
	return o, cfg, shipper, nil
}

// parseTime reads YYYY-MM-DD (midnight UTC) or RFC 3339; "" is no bound.
func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not YYYY-MM-DD or an RFC 3339 time", s)
	}
	return t, nil
}

// cliLogger is the receipts' logger of the CLI commands that ship: warnings
// and failures only, unless LOG_LEVEL asks for more.
func cliLogger(cfg config.Config) *slog.Logger {
	level := cfg.LogLevel
	if os.Getenv("LOG_LEVEL") == "" {
		level = slog.LevelWarn
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

// backfillCmd is `logvault backfill`: every source object the vault lacks,
// shipped through the functions' own path.
func backfillCmd() *cobra.Command {
	var (
		f                   sourceFlags
		allVersions, dryRun bool
	)
	cmd := &cobra.Command{
		Use:   "backfill --source s3://BUCKET[/PREFIX] [--since D] [--until D] [--all-versions] [--dry-run] [--json]",
		Short: "Ship the existing objects of a source bucket into the vault; resumable, ships nothing twice",
		Long: `Ship every object of a source bucket (under PREFIX, last modified inside --since/--until)
that the vault lacks, through the functions' own path: the kind and vault key from the
registry, the read pinned to the listed ETag (or version), the SHA-256 checked by S3, the
duplicate / overwrote / created rules. The source is listed and read with the ambient
credentials (Account B's); the vault is written as the writer (VAULT_ROLE_ARN).

The vault is the record of what is done: an object whose bytes the vault's current version
holds (equal size and single-part ETag in the listings, or the vault's logvault-source-etag)
is skipped without being read; anything else is shipped, and the shipping path finds it a
duplicate if it is one. A rerun, or a run after Ctrl-C or a crash, ships only the rest.

--all-versions ships every version of a versioned source, oldest first, so the vault's
versions of a key follow the source's order; versions already in the vault are matched in
order and skipped. --dry-run lists and compares, and writes nothing.

Objects are shipped concurrently (--workers) within a memory budget; a progress bar shows on
a terminal. Prints a summary (--json: listed, already_in_vault, to_ship, created, duplicate,
overwrote, failed, bytes_shipped, failures). Exits 0 when every object is in the vault, 1 when
any failed or the run was interrupted (run it again to finish).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
			defer stop()
			o, cfg, shipper, err := f.options(ctx, "backfill")
			if err != nil {
				return err
			}
			bo := reconcile.BackfillOptions{Options: o, AllVersions: allVersions, DryRun: dryRun}
			if !dryRun {
				if bo.Ship, err = shipper(cliLogger(cfg)); err != nil {
					return fmt.Errorf("backfill: %w", err)
				}
			}
			p := newShipBar("backfill")
			if p != nil {
				bo.Progress = p
			}
			sum, runErr := reconcile.Backfill(ctx, bo)
			if p != nil {
				p.done()
			}
			if err := printBackfill(sum, f.jsonOut); err != nil {
				return err
			}
			switch {
			case errors.Is(runErr, context.Canceled):
				return errors.New("backfill: interrupted; run it again to ship the rest (nothing is shipped twice)")
			case runErr != nil:
				return runErr
			case sum.Failed > 0:
				return fmt.Errorf("backfill: %d object(s) failed (see failures); run it again to retry them", sum.Failed)
			}
			return nil
		},
	}
	f.register(cmd)
	cmd.Flags().BoolVar(&allVersions, "all-versions", false, "ship every version of a versioned source, oldest first")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "count what would be shipped; write nothing")
	return cmd
}

func printBackfill(sum reconcile.Summary, jsonOut bool) error {
	if jsonOut {
		out, err := json.MarshalIndent(sum, "", "  ")
		if err != nil {
			return err
		}
		fmt.Println(string(out))
		return nil
	}
	for _, fl := range sum.Failures {
		v := ""
		if fl.VersionID != "" {
			v = " version " + fl.VersionID
		}
		fmt.Printf("failed  %s%s: %s\n", fl.Source, v, fl.Error)
	}
	what := "shipped"
	if sum.DryRun {
		what = "would ship"
	}
	fmt.Printf("backfill %s: listed %d, already in the vault %d, %s %d (created %d, duplicate %d, overwrote %d), failed %d, %d bytes\n",
		sum.Source, sum.Listed, sum.AlreadyInVault, what, sum.ToShip, sum.Created, sum.Duplicate-sum.AlreadyInVault, sum.Overwrote, sum.Failed, sum.Bytes)
	return nil
}

// shipBar is a progress bar of objects and bytes to ship, on a terminal.
type shipBar struct {
	*bar
	nFound, nDone atomic.Int64
}

// newShipBar returns nil when stderr is not a terminal.
func newShipBar(label string) *shipBar {
	b := newBar(label)
	if b.pb == nil {
		return nil
	}
	return &shipBar{bar: b}
}

// Found grows the bar by an object to ship.
func (s *shipBar) Found(size int64) {
	s.nFound.Add(1)
	s.Listed(size)
	s.describe()
}

// Done advances the bar by a shipped object.
func (s *shipBar) Done(size int64) {
	s.nDone.Add(1)
	s.Read(size)
	s.describe()
}

func (s *shipBar) describe() {
	s.pb.Describe(strings.TrimSpace(fmt.Sprintf("backfill %d/%d objects", s.nDone.Load(), s.nFound.Load())))
}
