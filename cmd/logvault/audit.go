package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/spf13/cobra"

	"github.com/logvault/logvault/infra"
	"github.com/logvault/logvault/internal/audit"
	"github.com/logvault/logvault/internal/config"
	"github.com/logvault/logvault/internal/vault"
)

// defaultTemplate is where `logvault audit` looks when --template is not given.
const defaultTemplate = "infra/vault.yaml"

// auditCmd is `logvault audit`: the proof that nobody but the break-glass
// role can change the vault, from the template or from what is deployed.
func auditCmd() *cobra.Command {
	var path, guardrails, writerRole, breakGlass string
	var functionRoles, trustedAccounts []string
	var organization string
	var jsonOut, live bool
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
			"else the copy built into logvault.\n\n" +
			"With --live it proves what is deployed instead, read with Account A's credentials: VAULT_OPERATOR_ACCESS_KEY_ID\n" +
			"and VAULT_OPERATOR_SECRET_ACCESS_KEY when set, else the ambient ones (an administrator's or a read-only\n" +
			"auditor's; VAULT_ROLE_ARN is not assumed, it only names the writer): the bucket VAULT_BUCKET's\n" +
			"policy, versioning, Object Lock, lifecycle, replication, inventory, analytics, logging, encryption, public\n" +
			"access block and ownership, and the writer (VAULT_ROLE_ARN) and break-glass roles' trust and permission\n" +
			"policies from IAM. What it cannot read is a finding. Exit 0 only when nothing is found.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var guard []byte
			if guardrails != "" {
				var err error
				if guard, err = os.ReadFile(guardrails); err != nil {
					return fmt.Errorf("audit: read guardrails: %w", err)
				}
			}
			if live {
				if path != "" {
					return errors.New("audit: --live proves what is deployed; --template proves a file: give one")
				}
				report, err := auditLive(cmd.Context(), writerRole, breakGlass, functionRoles, organization, trustedAccounts, guard)
				if err != nil {
					return err
				}
				if guardrails != "" {
					report.Source += " with " + guardrails
				}
				return writeAudit(cmd, report, jsonOut)
			}
			data, source, err := readTemplate(path)
			if err != nil {
				return err
			}
			if guardrails != "" {
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
	cmd.Flags().BoolVar(&live, "live", false, "prove what is deployed, read with Account A's credentials, instead of a template")
	cmd.Flags().StringVar(&writerRole, "writer-role", "", "with --live: the writer role's ARN (default VAULT_ROLE_ARN)")
	cmd.Flags().StringVar(&breakGlass, "break-glass-role", "", "with --live: the break-glass role's ARN (default arn:aws:iam::<Account A>:role/"+audit.BreakGlassRoleName+")")
	cmd.Flags().StringSliceVar(&functionRoles, "function-roles", nil, "with --live: the function roles that alone may assume the writer: template.yaml's role names (the same in every source account) or exact ARNs (default: those the writer's trust names, an assumption the report states)")
	cmd.Flags().StringVar(&organization, "organization-id", "", "with --live: the Organization the vault is meant to trust (infra/vault.yaml's OrganizationId); any other the writer's trust admits is a finding (default: taken from the trust, an assumption the report states)")
	cmd.Flags().StringSliceVar(&trustedAccounts, "trusted-accounts", nil, "with --live: the source accounts the vault is meant to trust (TrustedAccountIds); any other the writer's trust names is a finding")
	return cmd
}

// auditLive reads the deployed vault with the ambient credentials (never
// the writer's) and proves it.
func auditLive(ctx context.Context, writerRole, breakGlass string, functionRoles []string, organization string, trustedAccounts []string, guard []byte) (audit.Report, error) {
	cfg, err := config.FromEnv(os.Getenv)
	if err != nil {
		return audit.Report{}, err
	}
	base, err := config.LoadAWS(ctx)
	if err != nil {
		return audit.Report{}, err
	}
	// As the drill does, the Account A operator's keys are used when they
	// are set; else the ambient credentials.
	if id, secret := os.Getenv("VAULT_OPERATOR_ACCESS_KEY_ID"), os.Getenv("VAULT_OPERATOR_SECRET_ACCESS_KEY"); id != "" && secret != "" {
		base.Credentials = credentials.NewStaticCredentialsProvider(id, secret, "")
	}
	me, err := sts.NewFromConfig(base).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return audit.Report{}, fmt.Errorf("audit: who are these credentials (sts:GetCallerIdentity): %w", err)
	}
	account := aws.ToString(me.Account)
	if cfg.ExpectedOwner != "" && cfg.ExpectedOwner != account {
		return audit.Report{}, fmt.Errorf("audit: --live reads with Account A's credentials, but these are %s's (VAULT_EXPECTED_OWNER is %s)", aws.ToString(me.Arn), cfg.ExpectedOwner)
	}
	if writerRole == "" {
		writerRole = cfg.VaultRoleARN
	}
	if writerRole == "" {
		return audit.Report{}, errors.New("audit: --live needs the writer role: set VAULT_ROLE_ARN or give --writer-role")
	}
	if breakGlass == "" {
		breakGlass = "arn:aws:iam::" + account + ":role/" + audit.BreakGlassRoleName
	}
	// The ambient credentials read: VAULT_ROLE_ARN only names the writer.
	reader := cfg
	reader.VaultRoleARN = ""
	return audit.RunLive(ctx, vault.NewS3Client(base, reader, "logvault-audit"), iam.NewFromConfig(base), audit.LiveOptions{
		Account: account, Bucket: cfg.VaultBucket, WriterARN: writerRole, BreakGlass: breakGlass,
		FunctionRoles: functionRoles, ExternalID: cfg.VaultExternalID, Guardrails: guard, Reader: aws.ToString(me.Arn),
		Organization: organization, SourceAccounts: trustedAccounts,
	})
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
