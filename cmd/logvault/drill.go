package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"text/tabwriter"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/spf13/cobra"

	"github.com/logvault/logvault/internal/config"
	"github.com/logvault/logvault/internal/drill"
	"github.com/logvault/logvault/internal/functions"
	"github.com/logvault/logvault/internal/restore"
	"github.com/logvault/logvault/internal/vault"
)

func drillCmd() *cobra.Command {
	var asAccountB, jsonOut bool
	cmd := &cobra.Command{
		Use:   "drill",
		Short: "Rerun the seed's compromise drill: try every destructive action as the writer (or Account B) and report",
		Long: "Rerun the seed article's compromise simulation against the vault. With the writer's credentials\n" +
			"(VAULT_ROLE_ARN assumed) or, with --as-account-b, the ambient credentials as they are, try every\n" +
			"destructive action, print action, expected, result and verdict, then overwrite a canary and restore it\n" +
			"by version id. Object-level probes touch only canaries under " + drill.Prefix + "; bucket-level probes\n" +
			"send no-op payloads; what has no harmless payload is listed as not probed (see `logvault audit`).\n" +
			"Exit 0 when everything was refused and the canary was recovered, 1 otherwise.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			var err error
			c, cfg, err := vaultClient(ctx)
			if err != nil {
				return err
			}
			identity := "the writer role " + cfg.VaultRoleARN
			if cfg.VaultRoleARN == "" {
				identity = "the ambient credentials"
			}
			prober := c
			if asAccountB {
				base, err := config.LoadAWS(ctx)
				if err != nil {
					return err
				}
				own := cfg
				own.VaultRoleARN = ""
				prober = vault.NewS3Client(base, own, "logvault-drill")
				identity = "Account B's own credentials (canaries written by the writer)"
			}
			d := &drill.Drill{S3: prober, Writer: c, Bucket: cfg.VaultBucket, ExpectedOwner: cfg.ExpectedOwner, Identity: identity,
				Restore: restorer(c, cfg)}
			rep, err := d.Run(ctx)
			if err != nil {
				return err
			}
			if jsonOut {
				out, _ := json.MarshalIndent(struct {
					drill.Report
					Failed bool `json:"failed"`
				}{rep, rep.Failed()}, "", "  ")
				fmt.Println(string(out))
			} else {
				printDrill(rep)
			}
			if rep.Failed() {
				return drillFailure(rep)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asAccountB, "as-account-b", false, "probe with the ambient credentials instead of assuming VAULT_ROLE_ARN")
	cmd.Flags().BoolVar(&jsonOut, "json", false, "machine-readable output")
	return cmd
}

func printDrill(rep drill.Report) {
	fmt.Printf("logvault drill as %s\nbucket: s3://%s\ncanary: %s\n\n", rep.Identity, rep.Bucket, rep.Canary)
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ACTION\tTARGET\tEXPECTED\tRESULT\tVERDICT")
	for _, r := range rep.Rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Action, r.Target, r.Expected, r.Result, r.Verdict)
	}
	tw.Flush()
	fmt.Printf("\nrecovery: %s\n", rep.Recovery)
}

// drillFailure names every allowed action in one line.
func drillFailure(rep drill.Report) error {
	msg := "drill:"
	for _, r := range rep.Rows {
		if r.Verdict == drill.Allowed {
			msg += fmt.Sprintf(" %s ALLOWED on %s (%s);", r.Action, r.Target, r.Result)
		}
	}
	if !rep.Recovered {
		msg += " recovery failed: " + rep.Recovery
	}
	return fmt.Errorf("%s", msg)
}

// restorer is how the drill restores its canary: `logvault restore`'s logic.
func restorer(c *s3.Client, cfg config.Config) drill.Restorer {
	return func(ctx context.Context, key, versionID string) error {
		_, err := restore.Restore(ctx, c, cfg.VaultBucket, key, versionID, restore.Options{
			ExpectedOwner: cfg.ExpectedOwner, Shipper: "logvault-drill/" + functions.Version})
		return err
	}
}
