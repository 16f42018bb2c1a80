package main

import (
	"context"
	"os"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/logvault/logvault/internal/config"
	"github.com/logvault/logvault/internal/vault"
)

// vaultClient is the S3 client of the operator commands: configured from
// the environment as the functions are, acting as the writer when
// VAULT_ROLE_ARN is set and with the ambient credentials otherwise (Account
// A's, for an administrator).
func vaultClient(ctx context.Context) (*s3.Client, config.Config, error) {
	cfg, err := config.FromEnv(os.Getenv)
	if err != nil {
		return nil, config.Config{}, err
	}
	base, err := config.LoadAWS(ctx)
	if err != nil {
		return nil, config.Config{}, err
	}
	// The writer's session is bound to its account (and the drill writes
	// its canaries in that account's part of the vault).
	if err := cfg.ResolveSourceAccount(ctx, base); err != nil {
		return nil, config.Config{}, err
	}
	c := vault.NewS3Client(base, cfg, "logvault-operator")
	if err := vault.CheckCredentials(ctx, c, cfg.VaultRoleARN); err != nil {
		return nil, config.Config{}, err
	}
	return c, cfg, nil
}
