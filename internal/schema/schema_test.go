package schema

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestCopiedKey(t *testing.T) {
	const acct = "222222222222"
	long := MaxKeyBytes - len("billing/account=222222222222/cur/")
	tests := []struct {
		kind                 Kind
		account, bucket, key string
		want                 string
		wantErr              bool
	}{
		{KindCloudTrail, acct, "trail", "AWSLogs/1/CloudTrail/us-east-1/2026/11/26/a b:c.json.gz", "cloudtrail/account=222222222222/trail/AWSLogs/1/CloudTrail/us-east-1/2026/11/26/a b:c.json.gz", false},
		{KindCloudTrailDigest, acct, "trail", "AWSLogs/1/CloudTrail-Digest/x.json.gz", "cloudtrail/account=222222222222/trail/AWSLogs/1/CloudTrail-Digest/x.json.gz", false},
		{KindBilling, "333333333333", "cur", "r/data/BILLING_PERIOD=2026-11/p.parquet", "billing/account=333333333333/cur/r/data/BILLING_PERIOD=2026-11/p.parquet", false},
		{KindAppLogs, acct, "b", "k", "", true},
		{KindCloudTrail, acct, "", "k", "", true},
		{KindCloudTrail, acct, "b", "", "", true},
		// Every key is in an account's part of the vault: no account, no key.
		{KindCloudTrail, "", "b", "k", "", true},
		{KindCloudTrail, "22222222222", "b", "k", "", true},
		{KindCloudTrail, "2222222222x2", "b", "k", "", true},
		{KindCloudTrail, "*", "b", "k", "", true},
		// S3 keys reach 1024 bytes; under the prefix the vault key must too.
		{KindBilling, acct, "cur", strings.Repeat("k", long), "billing/account=222222222222/cur/" + strings.Repeat("k", long), false},
		{KindBilling, acct, "cur", strings.Repeat("k", long+1), "", true},
		{KindCloudTrail, acct, "trail", strings.Repeat("é", 512), "", true},
	}
	for _, tt := range tests {
		got, err := CopiedKey(tt.kind, tt.account, tt.bucket, tt.key)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("CopiedKey(%s, %q, %q, %q) = %q, %v; want %q, error %v", tt.kind, tt.account, tt.bucket, tt.key, got, err, tt.want, tt.wantErr)
		}
	}
}

// TestSplitKey: both layouts read back; a key of the earlier layout
// (no account segment) is never taken for one of this layout, since "="
// cannot be in a bucket name.
func TestSplitKey(t *testing.T) {
	for _, tt := range []struct {
		key, prefix, account, rest string
		ok                         bool
	}{
		{"cloudtrail/account=222222222222/trail/AWSLogs/x.json.gz", "cloudtrail", "222222222222", "trail/AWSLogs/x.json.gz", true},
		{"cloudtrail/trail/AWSLogs/x.json.gz", "cloudtrail", "", "trail/AWSLogs/x.json.gz", true},
		{"cloudtrail/222222222222/AWSLogs/x.json.gz", "cloudtrail", "", "222222222222/AWSLogs/x.json.gz", true}, // a bucket named like an account
		{"applogs/account=222222222222/aws/lambda/f/2026/11/26/s/1.ndjson.gz", "applogs", "222222222222", "aws/lambda/f/2026/11/26/s/1.ndjson.gz", true},
		{"applogs/222222222222/aws/lambda/f/2026/11/26/s/1.ndjson.gz", "applogs", "", "222222222222/aws/lambda/f/2026/11/26/s/1.ndjson.gz", true},
		{"cloudtrail/account=2222/trail/k", "", "", "", false},
		{"cloudtrail/account=/trail/k", "", "", "", false},
		{"noslash", "", "", "", false},
		{"/x", "", "", "", false},
	} {
		p, a, r, ok := SplitKey(tt.key)
		if p != tt.prefix || a != tt.account || r != tt.rest || ok != tt.ok {
			t.Errorf("SplitKey(%q) = %q, %q, %q, %v; want %q, %q, %q, %v", tt.key, p, a, r, ok, tt.prefix, tt.account, tt.rest, tt.ok)
		}
	}
}

func TestAppLogsKey(t *testing.T) {
	const (
		owner  = "222222222222"
		stream = "2026/11/26/[$LATEST]0123456789abcdef0123456789abcdef"
		id     = "38211594583221409016231813146931484062530476381620060160"
	)
	ms := func(tm time.Time) int64 { return tm.UnixMilli() }
	noon := ms(time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC))
	lastMilli := ms(time.Date(2026, 11, 26, 23, 59, 59, 999_000_000, time.UTC))
	midnight := ms(time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC))
	// The key is dated in UTC whatever the process's zone: run with a zone far from UTC on both
	// sides, where a local date would differ from the UTC date at these instants.
	for _, zone := range []*time.Location{time.UTC, time.FixedZone("UTC+14", 14*3600), time.FixedZone("UTC-12", -12*3600)} {
		saved := time.Local
		time.Local = zone
		t.Cleanup(func() { time.Local = saved })
		tests := []struct {
			name                     string
			owner, group, stream, id string
			millis                   int64
			want                     string
		}{
			{"lambda log group", owner, "/aws/lambda/checkout", stream, id, noon,
				"applogs/account=222222222222/aws/lambda/checkout/2026/11/26/" + stream + "/" + id + ".ndjson.gz"},
			{"group without leading slash", owner, "checkout-api", "i-0abc/app.log", "1", noon,
				"applogs/account=222222222222/checkout-api/2026/11/26/i-0abc/app.log/1.ndjson.gz"},
			{"last millisecond before midnight UTC", owner, "/g", "s", "1", lastMilli,
				"applogs/account=222222222222/g/2026/11/26/s/1.ndjson.gz"},
			{"midnight UTC starts the next day", owner, "/g", "s", "1", midnight,
				"applogs/account=222222222222/g/2026/11/27/s/1.ndjson.gz"},
			{"new year", owner, "/g", "s", "1", ms(time.Date(2026, 12, 31, 23, 59, 59, 999_000_000, time.UTC)),
				"applogs/account=222222222222/g/2026/12/31/s/1.ndjson.gz"},
			{"epoch", owner, "/g", "s", "1", 0, "applogs/account=222222222222/g/1970/01/01/s/1.ndjson.gz"},
			{"before the epoch", owner, "/g", "s", "1", -1, "applogs/account=222222222222/g/1969/12/31/s/1.ndjson.gz"},
		}
		for _, tt := range tests {
			got, err := AppLogsKey(tt.owner, tt.group, tt.stream, tt.id, tt.millis)
			if err != nil || got != tt.want {
				t.Errorf("%s (Local=%s): AppLogsKey(%q, %q, %q, %q, %d) = %q, %v; want %q", tt.name, zone, tt.owner, tt.group, tt.stream, tt.id, tt.millis, got, err, tt.want)
			}
		}
	}
}

func TestAppLogsKeyErrors(t *testing.T) {
	tests := []struct {
		name                     string
		owner, group, stream, id string
	}{
		{"empty owner", "", "/aws/lambda/checkout", "s", "1"},
		{"empty log group", "222222222222", "", "s", "1"},
		{"log group only a slash", "222222222222", "/", "s", "1"},
		{"empty log stream", "222222222222", "/aws/lambda/checkout", "", "1"},
		{"empty first event id", "222222222222", "/aws/lambda/checkout", "s", ""},
		{"everything empty", "", "", "", ""},
		{"owner not an account id", "CloudwatchLogs", "/g", "s", "1"},
		{"owner too short", "2222", "/g", "s", "1"},
	}
	for _, tt := range tests {
		got, err := AppLogsKey(tt.owner, tt.group, tt.stream, tt.id, 1795678975266)
		if err == nil {
			t.Errorf("%s: AppLogsKey = %q, want an error", tt.name, got)
			continue
		}
		if got != "" {
			t.Errorf("%s: AppLogsKey returned key %q with error %v", tt.name, got, err)
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, "schema: ") || !strings.Contains(msg, "required") || strings.Contains(msg, "\n") {
			t.Errorf("%s: error %q, want one line starting \"schema: \" saying what is required", tt.name, msg)
		}
	}
}

func TestKeysOverS3Limit(t *testing.T) {
	// Log groups and streams reach 512 characters each: together over S3's key limit.
	_, err := AppLogsKey("222222222222", "/"+strings.Repeat("g", 511), strings.Repeat("s", 512), "1", 0)
	if err == nil || !strings.Contains(err.Error(), "over S3's limit of 1024 bytes") || !strings.Contains(err.Error(), "cwlogs://222222222222/ggg") {
		t.Errorf("AppLogsKey of the longest group and stream: %v, want an error naming the limit and the stream", err)
	}
	_, err = CopiedKey(KindCloudTrail, "222222222222", "trail", strings.Repeat("a/", 512))
	if err == nil || !strings.Contains(err.Error(), "would be 1062 bytes") || strings.Contains(err.Error(), "\n") || len(err.Error()) > 400 {
		t.Errorf("CopiedKey of a 1024-byte key: %v, want one short line naming the length", err)
	}
}

func TestAppLogsSource(t *testing.T) {
	tests := []struct{ owner, group, stream, want string }{
		{"222222222222", "/aws/lambda/checkout", "2026/11/26/[$LATEST]0123456789abcdef0123456789abcdef",
			"cwlogs://222222222222/aws/lambda/checkout/2026/11/26/[$LATEST]0123456789abcdef0123456789abcdef"},
		{"222222222222", "checkout-api", "i-0abc/app.log", "cwlogs://222222222222/checkout-api/i-0abc/app.log"},
	}
	for _, tt := range tests {
		if got := AppLogsSource(tt.owner, tt.group, tt.stream); got != tt.want {
			t.Errorf("AppLogsSource(%q, %q, %q) = %q, want %q", tt.owner, tt.group, tt.stream, got, tt.want)
		}
	}
	// The source names the same log group and stream as the key does.
	key, err := AppLogsKey("222222222222", "/aws/lambda/checkout", "s", "1", 0)
	if err != nil {
		t.Fatal(err)
	}
	src := AppLogsSource("222222222222", "/aws/lambda/checkout", "s")
	if k, s := strings.TrimPrefix(key, "applogs/account="), strings.TrimPrefix(src, "cwlogs://"); !strings.HasPrefix(k, "222222222222/aws/lambda/checkout/") || !strings.HasPrefix(s, "222222222222/aws/lambda/checkout/") {
		t.Errorf("key %q and source %q spell the log group differently", key, src)
	}
}

func TestAccountParts(t *testing.T) {
	for _, c := range []struct {
		account string
		ok      bool
	}{{"222222222222", true}, {"", false}, {"22222222222", false}, {"22222222222x", false}} {
		parts, err := AccountParts(c.account)
		if (err == nil) != c.ok {
			t.Errorf("AccountParts(%q): err %v, want ok=%v", c.account, err, c.ok)
			continue
		}
		if !c.ok {
			continue
		}
		prefixes := KindPrefixes(nil)
		if len(parts) != len(prefixes) || len(prefixes) < 10 {
			t.Fatalf("AccountParts = %q for kind prefixes %q", parts, prefixes)
		}
		for i, p := range parts {
			if p != prefixes[i]+"/account="+c.account+"/" {
				t.Errorf("part %d = %q, want %s/account=%s/", i, p, prefixes[i], c.account)
			}
		}
	}
	if copied := KindPrefixes(Copied); slices.Contains(copied, "applogs") || !slices.Contains(copied, "cloudtrail") {
		t.Errorf("KindPrefixes(Copied) = %q: applogs is not copied, cloudtrail is", copied)
	}
}
