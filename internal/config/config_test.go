package config

import (
	"log/slog"
	"strings"
	"testing"
)

func TestFromEnv(t *testing.T) {
	base := map[string]string{"VAULT_BUCKET": "vault-bucket"}
	tests := []struct {
		name    string
		set     map[string]string
		wantErr string // a substring naming the variable, "" for success
		check   func(Config) bool
	}{
		{"minimal", nil, "", func(c Config) bool {
			return c.VaultBucket == "vault-bucket" && c.LogLevel == slog.LevelInfo && c.VaultRoleARN == ""
		}},
		{"missing bucket", map[string]string{"VAULT_BUCKET": ""}, "VAULT_BUCKET is required", nil},
		{"bad bucket", map[string]string{"VAULT_BUCKET": "Bad_Bucket"}, "VAULT_BUCKET", nil},
		{"role", map[string]string{"VAULT_ROLE_ARN": "arn:aws:iam::111111111111:role/logvault-vault-writer", "VAULT_EXTERNAL_ID": "abc-123"}, "", func(c Config) bool { return c.VaultRoleARN != "" && c.VaultExternalID == "abc-123" }},
		{"bad role", map[string]string{"VAULT_ROLE_ARN": "arn:aws:iam::1:user/x"}, "VAULT_ROLE_ARN", nil},
		{"bad external id", map[string]string{"VAULT_EXTERNAL_ID": "has space"}, "VAULT_EXTERNAL_ID", nil},
		{"owner", map[string]string{"VAULT_EXPECTED_OWNER": "111111111111"}, "", func(c Config) bool { return c.ExpectedOwner == "111111111111" }},
		{"bad owner", map[string]string{"VAULT_EXPECTED_OWNER": "1111"}, "VAULT_EXPECTED_OWNER", nil},
		// Retention is the vault's Object Lock default; the writer may not set it.
		{"retention no longer supported", map[string]string{"VAULT_RETENTION_DAYS": "30"}, "VAULT_RETENTION_DAYS \"30\" is no longer supported", nil},
		{"log level", map[string]string{"LOG_LEVEL": "DEBUG"}, "", func(c Config) bool { return c.LogLevel == slog.LevelDebug }},
		{"bad log level", map[string]string{"LOG_LEVEL": "verbose"}, "LOG_LEVEL", nil},
		{"path style", map[string]string{"LOGVAULT_S3_PATH_STYLE": "true"}, "", func(c Config) bool { return c.S3PathStyle }},
		{"copy strategy", map[string]string{"LOGVAULT_COPY_STRATEGY": "reread"}, "", func(c Config) bool { return c.CopyStrategy == "reread" }},
		{"bad copy strategy", map[string]string{"LOGVAULT_COPY_STRATEGY": "teleport"}, "LOGVAULT_COPY_STRATEGY", nil},
		{"bad path style", map[string]string{"LOGVAULT_S3_PATH_STYLE": "sometimes"}, "LOGVAULT_S3_PATH_STYLE", nil},
		{"reconcile buckets", map[string]string{"RECONCILE_CLOUDTRAIL_BUCKETS": "trail-a, trail-b", "RECONCILE_BILLING_BUCKETS": "cur", "RECONCILE_DAYS": "7"}, "", func(c Config) bool {
			return strings.Join(c.ReconcileBuckets["cloudtrail"], ",") == "trail-a,trail-b" && strings.Join(c.ReconcileBuckets["billing"], ",") == "cur" && c.ReconcileDays == 7
		}},
		{"reconcile defaults", nil, "", func(c Config) bool { return len(c.ReconcileBuckets) == 0 && c.ReconcileDays == 2 }},
		{"bad reconcile bucket", map[string]string{"RECONCILE_CLOUDTRAIL_BUCKETS": "ok-bucket,*"}, "RECONCILE_CLOUDTRAIL_BUCKETS", nil},
		{"bad reconcile days", map[string]string{"RECONCILE_DAYS": "0"}, "RECONCILE_DAYS", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{}
			for k, v := range base {
				env[k] = v
			}
			for k, v := range tt.set {
				env[k] = v
			}
			c, err := FromEnv(func(k string) string { return env[k] })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one naming %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "\n") {
					t.Errorf("error spans several lines: %q", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if !tt.check(c) {
				t.Errorf("config %+v does not hold the expected values", c)
			}
		})
	}
}
