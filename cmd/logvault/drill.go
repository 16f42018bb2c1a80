package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/spf13/cobra"

	"github.com/logvault/logvault/internal/config"
	"github.com/logvault/logvault/internal/drill"
	"github.com/logvault/logvault/internal/functions"
	"github.com/logvault/logvault/internal/restore"
	"github.com/logvault/logvault/internal/vault"
)

func drillCmd() *cobra.Command {
	var (
		asAccountB, jsonOut bool
		sources             []string
	)
	cmd := &cobra.Command{
		Use:   "drill",
		Short: "Rerun the compromise drill: try every destructive action as the writer (or Account B), and as an Account A operator, and report",
		Long: "Rerun the compromise drill (docs/design.md) against the vault. With the writer's credentials\n" +
			"(VAULT_ROLE_ARN assumed) or, with --as-account-b, the ambient credentials as they are, try every\n" +
			"destructive action, print action, expected, result and verdict, then overwrite a canary and restore it\n" +
			"by version id. When VAULT_OPERATOR_ACCESS_KEY_ID and VAULT_OPERATOR_SECRET_ACCESS_KEY are set (an\n" +
			"Account A administrator who is not the break-glass role), the same probes, and a PutObject of its own,\n" +
			"run with those keys too. Object-level probes touch only canaries under " + drill.Prefix + " (kept for the\n" +
			"vault's retention, as every version); bucket-level probes send no-op payloads (the current policy or\n" +
			"lifecycle again); what has no harmless payload is listed as not probed (see `logvault audit`). A\n" +
			"refusal by Object Lock rather than by the policy counts as allowed.\n" +
			"Then, for each source bucket (--source-bucket, else RECONCILE_CLOUDTRAIL_BUCKETS,\n" +
			"RECONCILE_BILLING_BUCKETS, SOURCE_CLOUDTRAIL_BUCKET, SOURCE_BILLING_BUCKET), whether the writer may read\n" +
			"it: what server-side copies of large objects need (information, never a failure).\n" +
			"Exit 0 when everything was refused and the canary was recovered, 1 otherwise.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			c, cfg, err := vaultClient(ctx)
			if err != nil {
				return err
			}
			base, err := config.LoadAWS(ctx)
			if err != nil {
				return err
			}
			own := cfg
			own.VaultRoleARN = ""
			drills := []*drill.Drill{{S3: c, Identity: "the writer role " + cfg.VaultRoleARN}}
			if cfg.VaultRoleARN == "" {
				drills[0].Identity = "the ambient credentials"
			}
			if asAccountB {
				drills[0] = &drill.Drill{S3: vault.NewS3Client(base, own, "logvault-drill"), Intruder: true,
					Identity: "Account B's own credentials (canaries written by the writer)"}
			}
			if id, secret := os.Getenv("VAULT_OPERATOR_ACCESS_KEY_ID"), os.Getenv("VAULT_OPERATOR_SECRET_ACCESS_KEY"); id != "" && secret != "" {
				op := base.Copy()
				op.Credentials = credentials.NewStaticCredentialsProvider(id, secret, "")
				drills = append(drills, &drill.Drill{S3: vault.NewS3Client(op, own, "logvault-drill"), Intruder: true,
					Identity: "the Account A operator " + id + " (not break-glass; canaries written by the writer)"})
			}
			var reps []drill.Report
			failed := false
			for _, d := range drills {
				d.Writer, d.Bucket, d.ExpectedOwner, d.Account, d.Restore = c, cfg.VaultBucket, cfg.ExpectedOwner, cfg.SourceAccount, restorer(c, cfg)
				rep, err := d.Run(ctx)
				if err != nil {
					return err
				}
				reps = append(reps, rep)
				failed = failed || rep.Failed()
			}
			grants := drill.CopyGrants(ctx, s3.NewFromConfig(base, cfg.S3Options), c, sourceBuckets(sources))
			if jsonOut {
				out, _ := json.MarshalIndent(struct {
					Reports    []drill.Report `json:"reports"`
					CopyGrants []drill.Grant  `json:"copy_grants"`
					Failed     bool           `json:"failed"`
				}{reps, grants, failed}, "", "  ")
				fmt.Println(string(out))
			} else {
				for i, rep := range reps {
					if i > 0 {
						fmt.Println()
					}
					printDrill(rep)
				}
				if len(grants) > 0 {
					fmt.Println("\nserver-side copy: does each source bucket let the writer read it?")
					for _, g := range grants {
						yes := "no "
						if g.Granted {
							yes = "yes"
						}
						fmt.Printf("  %s  s3://%s  %s\n", yes, g.Bucket, g.Detail)
					}
				}
			}
			if failed {
				return drillFailure(reps)
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asAccountB, "as-account-b", false, "probe with the ambient credentials instead of assuming VAULT_ROLE_ARN")
	cmd.Flags().BoolVar(&jsonOut, "json", false, "machine-readable output")
	cmd.Flags().StringSliceVar(&sources, "source-bucket", nil, "a source bucket to check the writer's read grant on (repeatable)")
	return cmd
}

// sourceBuckets are the buckets whose read grant the drill checks: the
// flag's, else those the environment names, each once.
func sourceBuckets(flag []string) []string {
	list := flag
	if len(list) == 0 {
		for _, v := range []string{"RECONCILE_CLOUDTRAIL_BUCKETS", "RECONCILE_BILLING_BUCKETS", "SOURCE_CLOUDTRAIL_BUCKET", "SOURCE_BILLING_BUCKET"} {
			list = append(list, strings.Split(os.Getenv(v), ",")...)
		}
	}
	var out []string
	seen := map[string]bool{}
	for _, b := range list {
		if b = strings.TrimSpace(b); b != "" && !seen[b] {
			seen[b] = true
			out = append(out, b)
		}
	}
	return out
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

// drillFailure names every allowed action, and who it was allowed to, in
// one line.
func drillFailure(reps []drill.Report) error {
	msg := "drill:"
	for _, rep := range reps {
		for _, r := range rep.Rows {
			if r.Verdict == drill.Allowed {
				msg += fmt.Sprintf(" %s ALLOWED on %s to %s (%s);", r.Action, r.Target, rep.Identity, r.Result)
			}
		}
		if !rep.Recovered {
			msg += " recovery failed: " + rep.Recovery
		}
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
