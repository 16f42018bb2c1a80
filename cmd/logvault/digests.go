package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/logvault/logvault/internal/config"
	"github.com/logvault/logvault/internal/schema"
	"github.com/logvault/logvault/internal/trailintegrity"
)

// runDigestCheck runs `logvault verify --cloudtrail-digests [--public-keys F]
// [--prefix P] [--json]`: every CloudTrail digest vaulted under P (a vault key
// prefix within cloudtrail/, default all of it) is checked, with the current
// version of each vault key: its RSA signature against the public keys of F
// (the JSON of `aws cloudtrail list-public-keys`), its link to the previous
// digest, and the SHA-256 of every log file it lists. It prints a table (or
// JSON) ending with "cloudtrail-digests: N digests, M logs, K problems".
// failed reports a missing, altered, unsigned or badly signed file or a
// broken chain, or that no digest was found; err means the check could not
// run (no or unreadable --public-keys, a bad prefix, a failed S3 call).
func runDigestCheck(ctx context.Context, c *s3.Client, cfg config.Config, publicKeysFile, prefix string, jsonOut bool, out io.Writer) (failed bool, err error) {
	if publicKeysFile == "" {
		return true, errors.New("verify --cloudtrail-digests: --public-keys FILE is required (the JSON of `aws cloudtrail list-public-keys --start-time … --end-time …`)")
	}
	keys, err := trailintegrity.LoadPublicKeys(publicKeysFile)
	if err != nil {
		return true, fmt.Errorf("verify --cloudtrail-digests: --public-keys: %w", err)
	}
	if prefix == "" && cfg.VaultRoleARN != "" {
		// A writer session may list only its account's part.
		if prefix, err = schema.AccountPrefix(schema.KindCloudTrail, cfg.SourceAccount); err != nil {
			return true, fmt.Errorf("verify --cloudtrail-digests: %w", err)
		}
	}
	scope, err := trailintegrity.ScopePrefix(prefix)
	if err != nil {
		return true, fmt.Errorf("verify --cloudtrail-digests: --prefix: %w", err)
	}
	chk := &trailintegrity.Checker{S3: c, Bucket: cfg.VaultBucket, ExpectedOwner: cfg.ExpectedOwner, Keys: keys}
	rep, err := chk.Check(ctx, scope)
	if err != nil {
		return true, fmt.Errorf("verify --cloudtrail-digests: %w", err)
	}
	if jsonOut {
		err = rep.WriteJSON(out)
	} else {
		err = rep.WriteTable(out)
	}
	if err != nil {
		return true, fmt.Errorf("verify --cloudtrail-digests: write report: %w", err)
	}
	return rep.Failed, nil
}
