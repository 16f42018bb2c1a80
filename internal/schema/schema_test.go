package schema

import "testing"

func TestCopiedKey(t *testing.T) {
	tests := []struct {
		kind        Kind
		bucket, key string
		want        string
		wantErr     bool
	}{
		{KindCloudTrail, "trail", "AWSLogs/1/CloudTrail/us-east-1/2026/11/26/a b:c.json.gz", "cloudtrail/trail/AWSLogs/1/CloudTrail/us-east-1/2026/11/26/a b:c.json.gz", false},
		{KindCloudTrailDigest, "trail", "AWSLogs/1/CloudTrail-Digest/x.json.gz", "cloudtrail/trail/AWSLogs/1/CloudTrail-Digest/x.json.gz", false},
		{KindBilling, "cur", "r/data/BILLING_PERIOD=2026-11/p.parquet", "billing/cur/r/data/BILLING_PERIOD=2026-11/p.parquet", false},
		{KindAppLogs, "b", "k", "", true},
		{KindCloudTrail, "", "k", "", true},
		{KindCloudTrail, "b", "", "", true},
	}
	for _, tt := range tests {
		got, err := CopiedKey(tt.kind, tt.bucket, tt.key)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("CopiedKey(%s, %q, %q) = %q, %v; want %q, error %v", tt.kind, tt.bucket, tt.key, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestCloudTrailKind(t *testing.T) {
	for key, want := range map[string]Kind{
		"AWSLogs/222222222222/CloudTrail/us-east-1/2026/11/26/x.json.gz":        KindCloudTrail,
		"AWSLogs/222222222222/CloudTrail-Digest/us-east-1/2026/11/26/x.json.gz": KindCloudTrailDigest,
		"prefix/AWSLogs/o-abc/222222222222/CloudTrail-Digest/us-east-1/x.gz":    KindCloudTrailDigest,
	} {
		if got := CloudTrailKind(key); got != want {
			t.Errorf("CloudTrailKind(%q) = %s, want %s", key, got, want)
		}
	}
}
