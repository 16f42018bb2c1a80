// Command logvault is the operator CLI: the local stack, in-process
// invocation of the functions, verify, restore, drill, audit, backfill and
// reconcile (docs/operations.md).
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

func main() {
	if err := rootCmd().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "logvault:", err)
		os.Exit(1)
	}
}

// rootCmd is the whole command tree (the reference in docs/operations.md
// is generated from it).
func rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:               "logvault",
		Short:             "Ship audit logs into an immutable S3 vault, and prove it stays immutable",
		SilenceUsage:      true,
		SilenceErrors:     true,
		DisableAutoGenTag: true,
	}
	root.AddCommand(localCmd(), invokeCmd(), demoCmd(), auditCmd(), verifyCmd(), restoreCmd(), drillCmd(), backfillCmd(), reconcileCmd())
	return root
}
