// Command logvault is the operator CLI: the local stack, in-process
// invocation of the functions, and (in later releases) verify, restore,
// drill and audit.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

func main() {
	root := &cobra.Command{
		Use:           "logvault",
		Short:         "Ship audit logs into an immutable S3 vault, and prove it stays immutable",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(localCmd(), invokeCmd(), demoCmd(), auditCmd(), verifyCmd(), restoreCmd(), drillCmd(), backfillCmd(), reconcileCmd())
	if err := root.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "logvault:", err)
		os.Exit(1)
	}
}
