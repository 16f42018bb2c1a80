// Package schema owns the vault's stable contract: the object key layout and
// the logvault metadata recorded on every version. Athena tables, restores
// and the operator CLI depend on these names, so nothing else spells them.
package schema

import (
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// Kind is what a vault object holds.
type Kind string

// The kinds of vault objects.
const (
	KindCloudTrail       Kind = "cloudtrail"
	KindCloudTrailDigest Kind = "cloudtrail-digest"
	KindBilling          Kind = "billing"
	KindAppLogs          Kind = "applogs"
	// KindDrill marks the canaries `logvault drill` writes under logvault-drill/;
	// overwriting them is the drill's point.
	KindDrill Kind = "drill"
)

// User metadata keys (without the x-amz-meta- prefix; S3 lower-cases them).
const (
	MetaSHA256          = "logvault-sha256"
	MetaKind            = "logvault-kind"
	MetaSource          = "logvault-source"
	MetaSourceVersionID = "logvault-source-version-id"
	MetaSourceETag      = "logvault-source-etag"
	MetaShippedAt       = "logvault-shipped-at"
	MetaShipper         = "logvault-shipper"
	MetaSupersedes      = "logvault-supersedes"
	MetaRestoredFrom    = "logvault-restored-from"
)

// MaxKeyBytes is S3's limit on the length of an object key (UTF-8 bytes).
// A vault key is the source key behind a prefix, so a source key near the
// limit cannot be vaulted under the stable layout: it is refused by name
// rather than sent to S3 (which answers a HEAD of it with a bare 400).
const MaxKeyBytes = 1024

// Prefix is the start every logvault metadata key shares; source metadata
// with this prefix is dropped so a source cannot forge the vault's record.
const Prefix = "logvault-"

// RequiredMeta are the keys every vaulted version carries, whatever its kind.
var RequiredMeta = []string{MetaSHA256, MetaKind, MetaSource, MetaShippedAt, MetaShipper}

// AccountSegment starts the second segment of every vault key written
// since vaults serve several source accounts: "<kind-prefix>/account=<id>/…".
// The writer's session may write and read only keys with its own account
// there (infra/vault.yaml), so one member account cannot touch another's
// logs. "=" cannot occur in a bucket name, so a key of the earlier layout
// (without the segment) is never mistaken for one of this layout.
const AccountSegment = "account="

// SourceAccountTag is the session tag that binds a writer session to the
// account that assumed the role (infra/vault.yaml's trust requires it to
// equal that account; the writer's Resource follows it).
const SourceAccountTag = "logvault-source-account"

// ValidAccount reports whether id is a 12-digit AWS account id.
func ValidAccount(id string) bool {
	return len(id) == 12 && strings.Trim(id, "0123456789") == ""
}

// AccountPrefix is where the vault keeps kind k's objects from account:
// "<kind-prefix>/account=<account>/".
func AccountPrefix(k Kind, account string) (string, error) {
	spec, ok := Lookup(k)
	if !ok {
		return "", fmt.Errorf("schema: unknown kind %q", k)
	}
	if !ValidAccount(account) {
		return "", fmt.Errorf("schema: source account %q is not a 12-digit AWS account id", account)
	}
	return spec.Prefix + "/" + AccountSegment + account + "/", nil
}

// KindPrefixes are the registry's kind prefixes, each once, sorted: of
// every kind, or of the kinds keep reports true for when it is not nil.
func KindPrefixes(keep func(Kind) bool) []string {
	seen := map[string]bool{}
	var out []string
	for _, k := range Kinds() {
		if (keep == nil || keep(k.Kind)) && !seen[k.Prefix] {
			seen[k.Prefix] = true
			out = append(out, k.Prefix)
		}
	}
	sort.Strings(out)
	return out
}

// AccountParts are every part of the vault account writes:
// "<kind-prefix>/account=<account>/" for each of KindPrefixes, sorted.
func AccountParts(account string) ([]string, error) {
	if !ValidAccount(account) {
		return nil, fmt.Errorf("schema: source account %q is not a 12-digit AWS account id", account)
	}
	var out []string
	for _, p := range KindPrefixes(nil) {
		out = append(out, p+"/"+AccountSegment+account+"/")
	}
	return out, nil
}

// CopiedKey is the vault key of an object copied byte for byte from a
// source bucket of account: "<kind-prefix>/account=<account>/<source-bucket>/<source-key>",
// the prefix from the registry (CloudTrail digest files live beside the
// logs they certify).
func CopiedKey(k Kind, account, bucket, key string) (string, error) {
	if bucket == "" || key == "" {
		return "", fmt.Errorf("schema: source bucket and key are required (got bucket %q, key %q)", bucket, key)
	}
	if !Copied(k) {
		return "", fmt.Errorf("schema: kind %q is not copied from a bucket", k)
	}
	prefix, err := AccountPrefix(k, account)
	if err != nil {
		return "", err
	}
	return checkLength(prefix+bucket+"/"+key, "s3://"+bucket+"/"+key)
}

// SplitKey reads a vault key of either layout: its first segment (the kind
// prefix), the source account ("" for a key of the earlier layout,
// "<kind-prefix>/<rest>"), and what follows them (for copied kinds,
// "<source-bucket>/<source-key>").
func SplitKey(vaultKey string) (prefix, account, rest string, ok bool) {
	prefix, rest, ok = strings.Cut(vaultKey, "/")
	if !ok || prefix == "" {
		return "", "", "", false
	}
	if seg, after, found := strings.Cut(rest, "/"); found && strings.HasPrefix(seg, AccountSegment) {
		id := strings.TrimPrefix(seg, AccountSegment)
		if !ValidAccount(id) {
			return "", "", "", false
		}
		return prefix, id, after, true
	}
	return prefix, "", rest, true
}

// checkLength returns key, or an error naming its length and what it was
// built from when it exceeds MaxKeyBytes.
func checkLength(key, from string) (string, error) {
	if len(key) <= MaxKeyBytes {
		return key, nil
	}
	return "", fmt.Errorf("schema: the vault key for %s would be %d bytes, over S3's limit of %d bytes for a key: it cannot be vaulted under the key layout",
		short(from), len(key), MaxKeyBytes)
}

// short cuts a long name for an error message, on a rune boundary.
func short(s string) string {
	const max = 120
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// Stamp records a write of a vault version in m, the version's metadata:
// when (RFC 3339, UTC) and by whom. Everything that writes versions (the
// functions, restore, the drill) stamps with it, and returns m.
func Stamp(m map[string]string, shipper string, at time.Time) map[string]string {
	m[MetaShippedAt] = at.UTC().Format(time.RFC3339)
	m[MetaShipper] = shipper
	return m
}

// SourceURI names a copied object's source as "s3://bucket/key".
func SourceURI(bucket, key string) string { return "s3://" + bucket + "/" + key }

// AppLogsKey is the vault key of one CloudWatch Logs DATA_MESSAGE:
// applogs/account=<owner>/<log-group without leading />/<yyyy>/<mm>/<dd>/<log-stream>/<first-event-id>.ndjson.gz,
// dated by the first event (UTC), so a retried payload maps to the same
// key. The owner is the account of the log group, which is the account
// shipping it (a subscription filter delivers to a function of its own
// account): a payload of another owner is refused by the shipper.
func AppLogsKey(owner, logGroup, logStream, firstEventID string, firstEventMillis int64) (string, error) {
	group := strings.TrimPrefix(logGroup, "/")
	if owner == "" || group == "" || logStream == "" || firstEventID == "" {
		return "", fmt.Errorf("schema: owner, log group, log stream and first event id are required (got %q, %q, %q, %q)", owner, logGroup, logStream, firstEventID)
	}
	if !ValidAccount(owner) {
		return "", fmt.Errorf("schema: the owner must be the 12-digit account id of the log group (required for the key), got %.64q", owner)
	}
	prefix, err := AccountPrefix(KindAppLogs, owner)
	if err != nil {
		return "", err
	}
	day := time.UnixMilli(firstEventMillis).UTC().Format("2006/01/02")
	return checkLength(prefix+group+"/"+day+"/"+logStream+"/"+firstEventID+".ndjson.gz", AppLogsSource(owner, logGroup, logStream))
}

// AppLogsSource names a log stream as "cwlogs://<owner>/<log-group>/<log-stream>".
func AppLogsSource(owner, logGroup, logStream string) string {
	return "cwlogs://" + owner + "/" + strings.TrimPrefix(logGroup, "/") + "/" + logStream
}
