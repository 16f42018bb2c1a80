package vault

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/logvault/logvault/internal/config"
	"github.com/logvault/logvault/internal/s3err"
	"github.com/logvault/logvault/internal/schema"
)

// NewS3Client returns an S3 client acting as the vault writer: with
// credentials from sts:AssumeRole of cfg.VaultRoleARN (cached until five
// minutes before they expire, and dropped as soon as S3 refuses them as
// expired or invalid, see RefreshOnExpiredToken), or with base's own
// credentials when no role is configured (the direct bucket-policy
// grant).
func NewS3Client(base aws.Config, cfg config.Config, sessionName string) *s3.Client {
	vcfg := base.Copy()
	var opts []func(*s3.Options)
	opts = append(opts, cfg.S3Options)
	if cfg.VaultRoleARN != "" {
		provider := stscreds.NewAssumeRoleProvider(sts.NewFromConfig(base), cfg.VaultRoleARN, func(o *stscreds.AssumeRoleOptions) {
			o.RoleSessionName = sessionName
			o.Duration = time.Hour
			if cfg.VaultExternalID != "" {
				o.ExternalID = aws.String(cfg.VaultExternalID)
			}
			// The writer role binds the session to the account that assumed
			// it (infra/vault.yaml): this tag must equal that account, and
			// the session may then write and read only that account's part
			// of the vault. Not transitive: the writer's session cannot pass
			// it on.
			if cfg.SourceAccount != "" {
				o.Tags = []ststypes.Tag{{Key: aws.String(schema.SourceAccountTag), Value: aws.String(cfg.SourceAccount)}}
			}
		})
		cache := aws.NewCredentialsCache(provider, func(o *aws.CredentialsCacheOptions) {
			o.ExpiryWindow = 5 * time.Minute
		})
		vcfg.Credentials = cache
		opts = append(opts, func(o *s3.Options) {
			o.APIOptions = append(o.APIOptions, RefreshOnExpiredToken(cache))
		})
	}
	return s3.NewFromConfig(vcfg, opts...)
}

// RefreshOnExpiredToken adds a step to every attempt of an S3 call: when
// S3 refuses the credentials as expired or invalid (ExpiredToken,
// InvalidToken; for HeadObject, whose error has no body, a bare 400), the
// cached assumed-role credentials are invalidated and the attempt is marked
// retryable, so the SDK's next attempt assumes the role again instead of
// failing every call, and every redelivery, until the cache's own expiry.
func RefreshOnExpiredToken(cache *aws.CredentialsCache) func(*middleware.Stack) error {
	return func(st *middleware.Stack) error {
		return st.Finalize.Insert(refreshOnExpired{cache}, "Retry", middleware.After)
	}
}

type refreshOnExpired struct{ cache *aws.CredentialsCache }

// ID names the step in the middleware stack.
func (refreshOnExpired) ID() string { return "LogvaultRefreshOnExpiredToken" }

// HandleFinalize runs one attempt and looks at its error.
func (m refreshOnExpired) HandleFinalize(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
	out, md, err := next.HandleFinalize(ctx, in)
	if err != nil && s3err.ExpiredCredentials(err, awsmiddleware.GetOperationName(ctx)) {
		m.cache.Invalidate()
		err = &expiredCredentials{err}
	}
	return out, md, err
}

// expiredCredentials marks a refusal of expired credentials as retryable
// for the SDK (retry.RetryableError); its text is the refusal's.
type expiredCredentials struct{ err error }

// Error is the refusal's text.
func (e *expiredCredentials) Error() string { return e.err.Error() }

// Unwrap returns the refusal.
func (e *expiredCredentials) Unwrap() error { return e.err }

// RetryableError tells the SDK's retryer to try again (with new credentials).
func (e *expiredCredentials) RetryableError() bool { return true }

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
