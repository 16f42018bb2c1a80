package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/spf13/cobra"

	"github.com/logvault/logvault/infra"
	"github.com/logvault/logvault/internal/audit"
)

// defaultTemplate is where `logvault audit` looks when --template is not given.
const defaultTemplate = "infra/vault.yaml"

// auditCmd is `logvault audit`: the static proof, from the vault template's
// policies, that nothing but the break-glass role can destroy vault data.
func auditCmd() *cobra.Command {
	var path string
	var jsonOut bool
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Prove from the template's policies that no Account B principal or writer role can perform a destructive S3 action",
		Long: "Prove from the vault template's bucket policy, trust policy and role policies that no Account B\n" +
			"principal, the writer role, anonymous callers, other accounts and Account A roles other than\n" +
			"break-glass can perform any destructive S3 action, and that assuming the writer role needs the\n" +
			"ExternalId. Prints a table (principal, action, decision, deciding statement, verdict).\n" +
			"Without --template it reads " + defaultTemplate + " when it exists here, else the copy built into logvault.\n" +
			"Exits 1 when anything forbidden is allowed or the template cannot be proven.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			data, source, err := readTemplate(path)
			if err != nil {
				return err
			}
			report, err := audit.Run(data)
			if err != nil {
				return fmt.Errorf("%s: %w", source, err)
			}
			out := cmd.OutOrStdout()
			if jsonOut {
				err = audit.WriteJSON(out, source, report)
			} else {
				err = audit.WriteText(out, source, report)
			}
			if err != nil {
				return err
			}
			if !report.OK() {
				return fmt.Errorf("audit: the proof fails for %s: %d failures", source, len(report.Failures))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&path, "template", "", "the vault template (default "+defaultTemplate+" if present, else the built-in copy)")
	cmd.Flags().BoolVar(&jsonOut, "json", false, "machine-readable output")
	return cmd
}

// readTemplate reads the named template, or the default one.
func readTemplate(path string) ([]byte, string, error) {
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, "", fmt.Errorf("audit: read template: %w", err)
		}
		return data, path, nil
	}
	data, err := os.ReadFile(defaultTemplate)
	switch {
	case err == nil:
		return data, defaultTemplate, nil
	case errors.Is(err, fs.ErrNotExist):
		return infra.VaultTemplate, "the built-in " + defaultTemplate, nil
	}
	return nil, "", fmt.Errorf("audit: read template: %w", err)
}
