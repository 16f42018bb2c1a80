package vault

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/logvault/logvault/internal/config"
)

// NewS3Client returns an S3 client acting as the vault writer: with
// credentials from sts:AssumeRole of cfg.VaultRoleARN (cached until five
// minutes before they expire), or with base's own credentials when no role
// is configured (the seed's direct bucket-policy grant).
func NewS3Client(base aws.Config, cfg config.Config, sessionName string) *s3.Client {
	vcfg := base.Copy()
	if cfg.VaultRoleARN != "" {
		provider := stscreds.NewAssumeRoleProvider(sts.NewFromConfig(base), cfg.VaultRoleARN, func(o *stscreds.AssumeRoleOptions) {
			o.RoleSessionName = sessionName
			o.Duration = time.Hour
			if cfg.VaultExternalID != "" {
				o.ExternalID = aws.String(cfg.VaultExternalID)
			}
		})
		vcfg.Credentials = aws.NewCredentialsCache(provider, func(o *aws.CredentialsCacheOptions) {
			o.ExpiryWindow = 5 * time.Minute
		})
	}
	return s3.NewFromConfig(vcfg, cfg.S3Options)
}

// CheckCredentials fetches the writer's credentials once, so a wrong role or
// ExternalId is reported as such rather than as a failed S3 call.
func CheckCredentials(ctx context.Context, c *s3.Client, roleARN string) error {
	if roleARN == "" {
		return nil
	}
	if _, err := c.Options().Credentials.Retrieve(ctx); err != nil {
		return fmt.Errorf("vault: assume role %s: %w", roleARN, err)
	}
	return nil
}
