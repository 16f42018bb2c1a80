package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"

	"github.com/spf13/cobra"

	"github.com/logvault/logvault/internal/functions"
	"github.com/logvault/logvault/internal/restore"
)

// restoreCmd is `logvault restore KEY --version-id V`: version V becomes
// current again as a new version (a server-side copy; nothing is deleted),
// read back and checked against V's logvault-sha256.
func restoreCmd() *cobra.Command {
	var (
		versionID string
		jsonOut   bool
		copyLimit int64
	)
	cmd := &cobra.Command{
		Use:   "restore KEY --version-id V",
		Short: "Make an earlier version of a vault key current again (as a new version)",
		Long: `Make version V of KEY current again: S3 copies V over the key server-side, which keeps it
as a new version, so nothing is deleted and the overwrite being undone stays in the history
('logvault verify' keeps reporting the key, naming the restore).

V must hold the bytes its logvault-sha256 names (checked by reading it first); it must not
be a delete marker. The new version carries V's metadata, Content-Type and Content-Encoding,
with logvault-restored-from: V, logvault-supersedes: the version it replaces,
logvault-shipped-at and logvault-shipper of the restore. It is read back and its bytes and
S3 checksum are checked against V's logvault-sha256. When the current version already holds
V's bytes nothing is written ("already-current"). Objects over 5 GiB are copied part by part
(UploadPartCopy). Works with the writer's rights (VAULT_ROLE_ARN) as with Account A's.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
			defer stop()
			c, cfg, err := vaultClient(ctx)
			if err != nil {
				return fmt.Errorf("restore: %w", err)
			}
			bar := newBar("restore")
			res, err := restore.Restore(ctx, c, cfg.VaultBucket, args[0], versionID, restore.Options{
				ExpectedOwner: cfg.ExpectedOwner,
				Shipper:       "logvault-restore/" + functions.Version, CopyLimit: copyLimit, Progress: bar.progress(),
			})
			bar.done()
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if jsonOut {
				return json.NewEncoder(out).Encode(res)
			}
			if res.Outcome == restore.AlreadyCurrent {
				fmt.Fprintf(out, "restore: s3://%s/%s: version %s already holds the bytes of version %s (sha256 %s); nothing written\n",
					cfg.VaultBucket, res.Key, res.VersionID, res.RestoredFrom, res.SHA256)
				return nil
			}
			fmt.Fprintf(out, "restore: s3://%s/%s: new current version %s restores version %s (%d bytes, sha256 %s, checked)", cfg.VaultBucket, res.Key, res.VersionID, res.RestoredFrom, res.Bytes, res.SHA256)
			if res.Supersedes != "" {
				fmt.Fprintf(out, "; supersedes %s", res.Supersedes)
			}
			fmt.Fprintln(out)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&versionID, "version-id", "", "the version to make current again (required)")
	f.BoolVar(&jsonOut, "json", false, "print the result as JSON")
	f.Int64Var(&copyLimit, "copy-limit", restore.MaxCopySize, "largest object copied with one CopyObject; larger ones are copied part by part")
	f.MarkHidden("copy-limit")
	cmd.MarkFlagRequired("version-id")
	return cmd
}
