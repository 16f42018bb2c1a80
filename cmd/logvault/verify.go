package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/logvault/logvault/internal/s3err"
	"github.com/logvault/logvault/internal/schema"
	"github.com/logvault/logvault/internal/verify"
)

// verifyCmd is `logvault verify`: every version under a prefix re-hashed and
// compared with its logvault-sha256 and S3's checksum; history findings.
// With --cloudtrail-digests it runs the digest check instead.
func verifyCmd() *cobra.Command {
	var (
		prefix, publicKeys string
		jsonOut, digests   bool
		all                bool
		workers            int
	)
	cmd := &cobra.Command{
		Use:   "verify [--prefix P] [--json]",
		Short: "Re-hash every version in the vault and report mismatches, deletions and overwrites",
		Long: `Re-hash every version in the vault (under --prefix) and report what does not hold up.

Each version is streamed (memory stays bounded whatever its size) and its SHA-256 compared
with its logvault-sha256 metadata and with the SHA256 checksum S3 stored on upload (for
multipart objects the composite of the part checksums). Findings, each naming the key and
version: sha256-mismatch, checksum-mismatch, no-checksum, checksum-unverified,
missing-metadata, kind-mismatch, delete-marker, unversioned, unreadable, and overwritten
for a key with several versions: expected for billing (reports are re-delivered under the
same key), suspicious for cloudtrail, cloudtrail-digest and applogs, whose objects are
written once. A version written by 'logvault restore' still leaves the overwrite in the
key's history, so the key keeps being reported (saying which version is the restore).

Exits 0 when nothing is wrong, 1 on any mismatch or suspicious finding. Reads only: works
with Account A's credentials (the whole vault) and with the writer's (VAULT_ROLE_ARN: the
source account's own parts of the vault, <kind-prefix>/account=<id>/, which are all it may
list and read).

With --cloudtrail-digests it checks vaulted CloudTrail logs against vaulted digest files
instead (hashes, digest chain, RSA signatures; --public-keys F).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if publicKeys != "" && !digests {
				return errors.New("verify: --public-keys goes with --cloudtrail-digests")
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
			defer stop()
			c, cfg, err := vaultClient(ctx)
			if err != nil {
				return fmt.Errorf("verify: %w", err)
			}
			out := cmd.OutOrStdout()
			if digests {
				failed, err := runDigestCheck(ctx, c, cfg, publicKeys, prefix, jsonOut, out)
				if err != nil {
					return err
				}
				if failed {
					return errors.New("verify --cloudtrail-digests: the digest check failed (see above)")
				}
				return nil
			}

			opts := verify.Options{Workers: workers, ExpectedOwner: cfg.ExpectedOwner}
			if prefix == "" && cfg.VaultRoleARN != "" {
				// A writer session may list only its account's parts.
				if opts.Prefixes, err = schema.AccountParts(cfg.SourceAccount); err != nil {
					return fmt.Errorf("verify: %w", err)
				}
			}
			bar := newBar("verify")
			opts.Progress = bar.progress()
			rep, err := verify.Run(ctx, c, cfg.VaultBucket, prefix, opts)
			if err != nil && cfg.VaultRoleARN != "" && s3err.Refused(err) {
				err = fmt.Errorf("%w (a writer session may list only its own account's parts, <kind-prefix>/account=%s/: give one as --prefix, or none, or run with Account A's credentials and VAULT_ROLE_ARN unset)", err, cfg.SourceAccount)
			}
			bar.done()
			if err != nil {
				return err
			}
			if jsonOut {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				if err := enc.Encode(rep); err != nil {
					return fmt.Errorf("verify: %w", err)
				}
			} else if err := rep.WriteText(out, all); err != nil {
				return fmt.Errorf("verify: %w", err)
			}
			if rep.Failed() {
				return errors.New(failureLine(rep))
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&prefix, "prefix", "", "verify only keys starting with this (e.g. cloudtrail/ or billing/<bucket>/)")
	f.BoolVar(&jsonOut, "json", false, "print one JSON document: versions, problems, summary")
	f.BoolVar(&all, "all", false, "list every version, not only the findings")
	f.IntVar(&workers, "workers", 8, "versions read at once")
	f.BoolVar(&digests, "cloudtrail-digests", false, "check CloudTrail logs against their digest files instead")
	f.StringVar(&publicKeys, "public-keys", "", "with --cloudtrail-digests: file of CloudTrail public keys")
	return cmd
}

// failureLine is the last line of a failed verify: the count and the first
// findings, each naming its key.
func failureLine(rep verify.Report) string {
	fs := rep.Failures()
	var names []string
	for i, p := range fs {
		if i == 3 {
			names = append(names, fmt.Sprintf("and %d more", len(fs)-3))
			break
		}
		s := string(p.Code) + " " + p.Key
		if p.VersionID != "" {
			s += " (version " + p.VersionID + ")"
		}
		names = append(names, s)
	}
	noun := "problems"
	if len(fs) == 1 {
		noun = "problem"
	}
	return fmt.Sprintf("verify: %d %s: %s", len(fs), noun, strings.Join(names, "; "))
}

// bar is a progress bar on stderr, shown only when stderr is a terminal.
type bar struct {
	pb    *progressbar.ProgressBar
	mu    sync.Mutex
	total int64
}

func newBar(label string) *bar {
	if !term.IsTerminal(int(os.Stderr.Fd())) {
		return &bar{}
	}
	return &bar{pb: progressbar.NewOptions64(-1,
		progressbar.OptionSetWriter(os.Stderr),
		progressbar.OptionSetDescription(label),
		progressbar.OptionShowBytes(true),
		progressbar.OptionSetWidth(30),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)}
}

// progress is the bar as a verify.Progress, nil when there is no bar.
func (b *bar) progress() verify.Progress {
	if b.pb == nil {
		return nil
	}
	return b
}

// Listed grows the bar's total by a version's size.
func (b *bar) Listed(size int64) {
	b.mu.Lock()
	b.total += size
	t := b.total
	b.mu.Unlock()
	b.pb.ChangeMax64(max(t, 1))
}

// Read advances the bar.
func (b *bar) Read(n int64) { b.pb.Add64(n) }

func (b *bar) done() {
	if b.pb != nil {
		b.pb.Finish()
	}
}
