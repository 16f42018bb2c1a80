package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"

	"github.com/spf13/cobra"

	"github.com/logvault/logvault/internal/reconcile"
)

// reconcileCmd is `logvault reconcile`: a source bucket and the vault side by
// side.
func reconcileCmd() *cobra.Command {
	var (
		f        sourceFlags
		shipThem bool
	)
	cmd := &cobra.Command{
		Use:   "reconcile --source s3://BUCKET[/PREFIX] [--since D] [--until D] [--json] [--ship]",
		Short: "Compare a source bucket with the vault: missing, differs, vault-only",
		Long: `Put a source bucket (under PREFIX, last modified inside --since/--until) and the vault side
by side:

  missing     in the source, not in the vault
  differs     the vault's current version is not the source's current bytes
  restored    the vault's current version was made current by 'logvault restore' over the
              source's later bytes: deliberate, listed, never shipped over
  changed     the source object changed or vanished while it was read: run again
  vault-only  in the vault, gone from the source (expected where the source expires objects,
              as CloudTrail buckets with a lifecycle do); listed, not a failure, and judged only
              without --since/--until

Both sides are listed in key order (memory stays bounded). An object is compared without
being read when it can be: sizes differ, equal single-part ETags (MD5s) in the two listings,
or the vault version's logvault-source-etag equal to the source's ETag; otherwise the source
is read and its SHA-256 compared with the vault's logvault-sha256, and the report names it
under "hashed". The source is read with the ambient credentials (Account B's), the vault
with the writer's (VAULT_ROLE_ARN) or Account A's.

--ship then ships the missing and differing objects through the functions' path (as
'logvault backfill' does) and prints what it did.

Exits 1 when anything is missing or differs (with --ship: when a shipment failed), else 0.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
			defer stop()
			o, cfg, shipper, err := f.options(ctx, "reconcile")
			if err != nil {
				return err
			}
			rep, err := reconcile.Run(ctx, o)
			if err != nil {
				return err
			}
			var sum *reconcile.Summary
			if shipThem && !rep.Complete() {
				ship, err := shipper(cliLogger(cfg))
				if err != nil {
					return fmt.Errorf("reconcile: %w", err)
				}
				got, err := reconcile.Backfill(ctx, reconcile.BackfillOptions{Options: o, Ship: ship})
				sum = &got
				if err != nil {
					_ = printReconcile(rep, sum, f.jsonOut)
					return fmt.Errorf("reconcile --ship: %w", err)
				}
			}
			if err := printReconcile(rep, sum, f.jsonOut); err != nil {
				return err
			}
			switch {
			case sum != nil && sum.Failed > 0:
				return fmt.Errorf("reconcile --ship: %d object(s) failed to ship", sum.Failed)
			case sum != nil:
				return nil
			case !rep.Complete():
				return fmt.Errorf("reconcile: %d missing, %d differ", rep.Counts.Missing, rep.Counts.Differs)
			}
			return nil
		},
	}
	f.register(cmd)
	cmd.Flags().BoolVar(&shipThem, "ship", false, "ship the missing and differing objects")
	return cmd
}

func printReconcile(rep reconcile.Report, sum *reconcile.Summary, jsonOut bool) error {
	if jsonOut {
		out, err := json.MarshalIndent(struct {
			reconcile.Report
			Shipped *reconcile.Summary `json:"shipped,omitempty"`
		}{rep, sum}, "", "  ")
		if err != nil {
			return err
		}
		fmt.Println(string(out))
		return nil
	}
	for _, it := range rep.Missing {
		if it.Reason != "" {
			fmt.Printf("missing     %s (%s)\n", it.Source, it.Reason)
			continue
		}
		fmt.Printf("missing     %s\n", it.Source)
	}
	for _, it := range rep.Differs {
		fmt.Printf("differs     %s: %s\n", it.Source, it.Reason)
	}
	for _, it := range rep.Restored {
		fmt.Printf("restored    %s: %s\n", it.Source, it.Reason)
	}
	for _, it := range rep.Changed {
		fmt.Printf("changed     %s: %s\n", it.Source, it.Reason)
	}
	for _, it := range rep.VaultOnly {
		fmt.Printf("vault-only  %s/%s\n", rep.Vault, it.VaultKey)
	}
	if rep.Truncated {
		fmt.Printf("(lists cut at %d objects each; the counts below are complete)\n", reconcile.DefaultMaxItems)
	}
	for _, h := range rep.Hashed {
		fmt.Printf("hashed      %s\n", h)
	}
	vo := fmt.Sprint(rep.Counts.VaultOnly)
	if !rep.VaultOnlyJudged {
		vo = "not judged (time window)"
	}
	fmt.Printf("reconcile %s: listed %d, in the vault %d, missing %d, differs %d, restored %d, changed while read %d, vault-only %s; compared by etag %d, recorded-etag %d, size %d, hashed %d\n",
		rep.Source, rep.Listed, rep.InVault, rep.Counts.Missing, rep.Counts.Differs, rep.Counts.Restored, rep.Counts.Changed, vo,
		rep.ComparedBy[reconcile.ByETag], rep.ComparedBy[reconcile.ByRecordedETag], rep.ComparedBy[reconcile.BySize], rep.ComparedBy[reconcile.ByHash])
	if sum != nil {
		return printBackfill(*sum, false)
	}
	return nil
}
