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

// auditCmd is `logvault audit`: the proof that nobody but the break-glass
// role can change the vault, from the template or from what is deployed.
func auditCmd() *cobra.Command {
	var path, guardrails string
	var jsonOut bool
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Prove, for every S3 action and every principal, that nobody but the break-glass role can do anything to the vault but read and deposit",
		Long: "Prove, with an IAM policy evaluator, over every action of S3's IAM action list and every kind of principal\n" +
			"(Account B and its roles, the writer, Account A's administrators other than break-glass, other accounts,\n" +
			"anonymous, services, and principals an attacker could create that match the policies' patterns), on the\n" +
			"bucket and any key, over TLS and plain HTTP, that nobody but the break-glass role can do anything but read\n" +
			"and deposit, that only the writer deposits, that nobody outside Account A reads, that only the function roles\n" +
			"with the ExternalId assume the writer, that no role of the template can change the writer or break-glass\n" +
			"role, and that the bucket keeps its history (versioning, Object Lock, lifecycle, replication, encryption,\n" +
			"ownership, public access). Every value the template's parameters admit is proven too. With --guardrails,\n" +
			"the Organization's SCP and RCP are proven to bind Account A's root and administrators; without them, what\n" +
			"only they can bind is reported. Each finding is one line: principal, action, resource, and the statement\n" +
			"that allows it or the missing Deny. Without --template it reads " + defaultTemplate + " when it exists here,\n" +
			"else the copy built into logvault. Exit 0 only when nothing is found.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			data, source, err := readTemplate(path)
			if err != nil {
				return err
			}
			var guard []byte
			if guardrails != "" {
				if guard, err = os.ReadFile(guardrails); err != nil {
					return fmt.Errorf("audit: read guardrails: %w", err)
				}
				source += " with " + guardrails
			}
			report, err := audit.Run(source, data, guard)
			if err != nil {
				return fmt.Errorf("%s: %w", source, err)
			}
			return writeAudit(cmd, report, jsonOut)
		},
	}
	cmd.Flags().StringVar(&path, "template", "", "the vault template (default "+defaultTemplate+" if present, else the built-in copy)")
	cmd.Flags().StringVar(&guardrails, "guardrails", "", "the Organization's guardrails template (infra/guardrails.yaml), proven with the vault")
	cmd.Flags().BoolVar(&jsonOut, "json", false, "machine-readable output")
	return cmd
}

// writeAudit prints a report and fails when it found anything.
func writeAudit(cmd *cobra.Command, report audit.Report, jsonOut bool) error {
	out := cmd.OutOrStdout()
	var err error
	if jsonOut {
		err = audit.WriteJSON(out, report)
	} else {
		err = audit.WriteText(out, report)
	}
	if err != nil {
		return err
	}
	if !report.OK() {
		return fmt.Errorf("audit: %d findings in %s", len(report.Findings), report.Source)
	}
	return nil
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
