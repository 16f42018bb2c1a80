// Package config reads the functions' settings from the environment (the
// Lambda configuration, and the same variables for the operator CLI) and
// builds the AWS SDK configuration they imply.
package config

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/logvault/logvault/internal/schema"
)

// Config is the validated environment of a function.
type Config struct {
	// VaultBucket is the vault bucket in Account A (VAULT_BUCKET).
	VaultBucket string
	// VaultRoleARN is the write-only role to assume; empty uses own credentials.
	VaultRoleARN string
	// VaultExternalID is sent with AssumeRole.
	VaultExternalID string
	// ExpectedOwner is Account A's id, sent as ExpectedBucketOwner when set.
	ExpectedOwner string
	// SourceAccount is the account the functions ship from
	// (VAULT_SOURCE_ACCOUNT; ResolveSourceAccount asks STS when it is
	// unset): the account segment of every vault key it writes, and the
	// logvault-source-account session tag of its writer sessions.
	SourceAccount string
	// LogLevel is the minimum level logged.
	LogLevel slog.Level
	// S3PathStyle switches on path-style addressing for local S3 servers.
	S3PathStyle bool
	// CopyStrategy is how large objects are hashed before the write:
	// "spool" or "reread" (LOGVAULT_COPY_STRATEGY; "" = the default).
	CopyStrategy string
	// ReconcileBuckets are the source buckets the reconcile function
	// compares with the vault, by the function that ships them
	// (RECONCILE_CLOUDTRAIL_BUCKETS, RECONCILE_BILLING_BUCKETS).
	ReconcileBuckets map[string][]string
	// ReconcileDays is how many previous days the reconcile function
	// compares (RECONCILE_DAYS, default 2).
	ReconcileDays int
}

var (
	bucketName = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
	roleARN    = regexp.MustCompile(`^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\w+=,.@/-]+$`)
	externalID = regexp.MustCompile(`^[\w+=,.@:/-]+$`)
)

// FromEnv reads and validates the configuration; getenv is os.Getenv in
// production. The error names the offending variable in one line.
func FromEnv(getenv func(string) string) (Config, error) {
	c := Config{
		VaultBucket:     strings.TrimSpace(getenv("VAULT_BUCKET")),
		VaultRoleARN:    strings.TrimSpace(getenv("VAULT_ROLE_ARN")),
		VaultExternalID: getenv("VAULT_EXTERNAL_ID"),
		ExpectedOwner:   strings.TrimSpace(getenv("VAULT_EXPECTED_OWNER")),
		SourceAccount:   strings.TrimSpace(getenv("VAULT_SOURCE_ACCOUNT")),
	}
	switch {
	case c.VaultBucket == "":
		return Config{}, fmt.Errorf("config: VAULT_BUCKET is required (the vault bucket in Account A)")
	case !bucketName.MatchString(c.VaultBucket):
		return Config{}, fmt.Errorf("config: VAULT_BUCKET %q is not a valid S3 bucket name", c.VaultBucket)
	case c.VaultRoleARN != "" && !roleARN.MatchString(c.VaultRoleARN):
		return Config{}, fmt.Errorf("config: VAULT_ROLE_ARN %q is not an IAM role ARN (arn:aws:iam::<account>:role/<name>)", c.VaultRoleARN)
	case c.VaultExternalID != "" && (len(c.VaultExternalID) < 2 || len(c.VaultExternalID) > 1224 || !externalID.MatchString(c.VaultExternalID)):
		return Config{}, fmt.Errorf("config: VAULT_EXTERNAL_ID must be 2-1224 characters of [A-Za-z0-9+=,.@:/-]")
	case c.ExpectedOwner != "" && !schema.ValidAccount(c.ExpectedOwner):
		return Config{}, fmt.Errorf("config: VAULT_EXPECTED_OWNER %q is not a 12-digit AWS account id", c.ExpectedOwner)
	case c.SourceAccount != "" && !schema.ValidAccount(c.SourceAccount):
		return Config{}, fmt.Errorf("config: VAULT_SOURCE_ACCOUNT %q is not a 12-digit AWS account id", c.SourceAccount)
	}
	if s := strings.TrimSpace(getenv("VAULT_RETENTION_DAYS")); s != "" {
		// The vault denies the writer s3:PutObjectRetention: a write asking
		// for retention would be refused. Retention is the vault bucket's
		// Object Lock default (infra/vault.yaml ObjectLockRetentionDays).
		return Config{}, fmt.Errorf("config: VAULT_RETENTION_DAYS %q is no longer supported: every vault version gets the vault bucket's default Object Lock retention (infra/vault.yaml ObjectLockRetentionDays); remove the variable", s)
	}
	switch s := strings.ToLower(strings.TrimSpace(getenv("LOG_LEVEL"))); s {
	case "", "info":
		c.LogLevel = slog.LevelInfo
	case "debug":
		c.LogLevel = slog.LevelDebug
	case "warn", "warning":
		c.LogLevel = slog.LevelWarn
	case "error":
		c.LogLevel = slog.LevelError
	default:
		return Config{}, fmt.Errorf("config: LOG_LEVEL %q is not one of debug, info, warn, error", s)
	}
	if s := strings.TrimSpace(getenv("LOGVAULT_S3_PATH_STYLE")); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			return Config{}, fmt.Errorf("config: LOGVAULT_S3_PATH_STYLE %q is not true or false", s)
		}
		c.S3PathStyle = b
	}
	switch s := strings.TrimSpace(getenv("LOGVAULT_COPY_STRATEGY")); s {
	case "", "spool", "reread":
		c.CopyStrategy = s
	default:
		return Config{}, fmt.Errorf("config: LOGVAULT_COPY_STRATEGY %q is not spool or reread", s)
	}
	c.ReconcileBuckets = map[string][]string{}
	for fn, name := range map[string]string{schema.FunctionCloudTrail: "RECONCILE_CLOUDTRAIL_BUCKETS", schema.FunctionBilling: "RECONCILE_BILLING_BUCKETS"} {
		for _, b := range strings.Split(getenv(name), ",") {
			if b = strings.TrimSpace(b); b == "" {
				continue
			}
			if !bucketName.MatchString(b) {
				return Config{}, fmt.Errorf("config: %s: %q is not a valid S3 bucket name", name, b)
			}
			c.ReconcileBuckets[fn] = append(c.ReconcileBuckets[fn], b)
		}
	}
	c.ReconcileDays = 2
	if s := strings.TrimSpace(getenv("RECONCILE_DAYS")); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 90 {
			return Config{}, fmt.Errorf("config: RECONCILE_DAYS %q is not a number of days from 1 to 90", s)
		}
		c.ReconcileDays = n
	}
	return c, nil
}

// LoadAWS loads the SDK configuration from the environment (credentials,
// region, AWS_ENDPOINT_URL_*, AWS_CA_BUNDLE), as the Lambda runtime sets it.
func LoadAWS(ctx context.Context) (aws.Config, error) {
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return aws.Config{}, fmt.Errorf("config: load AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		return aws.Config{}, fmt.Errorf("config: AWS_REGION is not set")
	}
	return cfg, nil
}

// ResolveSourceAccount fills SourceAccount, when VAULT_SOURCE_ACCOUNT left
// it empty, with the account of base's credentials (sts:GetCallerIdentity):
// the functions ship from the account they run in. template.yaml sets the
// variable, so a deployed function makes no call before its first event.
func (c *Config) ResolveSourceAccount(ctx context.Context, base aws.Config) error {
	if c.SourceAccount != "" {
		return nil
	}
	out, err := sts.NewFromConfig(base).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return fmt.Errorf("config: VAULT_SOURCE_ACCOUNT is not set and the account of the credentials cannot be read (sts:GetCallerIdentity): %w", err)
	}
	c.SourceAccount = aws.ToString(out.Account)
	if !schema.ValidAccount(c.SourceAccount) {
		return fmt.Errorf("config: sts:GetCallerIdentity gave account %q, not a 12-digit AWS account id", c.SourceAccount)
	}
	return nil
}

// S3Options applies the settings every S3 client of logvault shares.
func (c Config) S3Options(o *s3.Options) {
	o.UsePathStyle = c.S3PathStyle
	// A ranged GET (the hashing read) carries no whole-object checksum to
	// validate, and the SDK would say so on stderr for every range: lines
	// that are not the functions' JSON. logvault checks the bytes itself.
	o.DisableLogOutputChecksumValidationSkipped = true
}
