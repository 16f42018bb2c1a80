package trailintegrity

import (
	"bufio"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"sort"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/logvault/logvault/internal/s3err"
	"github.com/logvault/logvault/internal/schema"
)

// API is the part of the S3 client the check uses; *s3.Client satisfies it,
// and unit tests use a fake.
type API interface {
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, optFns ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
	ListObjectVersions(ctx context.Context, in *s3.ListObjectVersionsInput, optFns ...func(*s3.Options)) (*s3.ListObjectVersionsOutput, error)
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

// Kind is what a checked file is.
type Kind string

// The kinds of checked files.
const (
	KindDigest Kind = "digest"
	KindLog    Kind = "log"
)

// Status is the outcome of checking one file.
type Status string

// The statuses. Every status but Valid and Unlisted is a problem.
const (
	// Valid: a digest that is signed, verifies and chains; a log whose hash
	// matches its digest.
	Valid Status = "valid"
	// Altered: a log whose current version does not hash to the digest's
	// value; a digest that is unreadable or not at the location it names.
	Altered Status = "altered"
	// Missing: a log a digest lists, or a digest another one chains to, that
	// has no current version in the vault.
	Missing Status = "missing"
	// Unsigned: a digest without the signature metadata.
	Unsigned Status = "unsigned"
	// BadSignature: a digest whose signature does not verify, or whose
	// fingerprint names no provided public key, or with an unsupported algorithm.
	BadSignature Status = "bad-signature"
	// ChainBroken: a digest whose previous-digest hash or signature does not
	// match the previous digest in the vault.
	ChainBroken Status = "chain-broken"
	// Unlisted: a log under the prefix that no checked digest lists (logs of
	// the last hour, or delivered while log file validation was off, or
	// forged). Informational: not a problem.
	Unlisted Status = "unlisted"
)

// Problem reports whether s fails the check.
func (s Status) Problem() bool { return s != Valid && s != Unlisted }

// severity orders a digest's problems: the most severe names its status.
var severity = map[Status]int{Altered: 4, Unsigned: 3, BadSignature: 2, ChainBroken: 1}

// Result is the check of one file.
type Result struct {
	// Key is the vault key of the file.
	Key string `json:"key"`
	// Kind is digest or log.
	Kind Kind `json:"kind"`
	// Status is the outcome.
	Status Status `json:"status"`
	// Detail says why, and how to repair when logvault can tell.
	Detail string `json:"detail,omitempty"`
	// ListedBy is, for a log, the vault key of the digest that lists it; for
	// a missing digest, the digest that chains to it.
	ListedBy string `json:"listedBy,omitempty"`

	order string
}

// Report is the outcome of a check.
type Report struct {
	// Bucket is the vault bucket; Prefix the vault key prefix checked.
	Bucket string `json:"bucket"`
	Prefix string `json:"prefix"`
	// Digests is how many digest files were found under Prefix; Logs how
	// many distinct log files they list.
	Digests int `json:"digests"`
	Logs    int `json:"logs"`
	// Problems counts the results whose status is a problem.
	Problems int `json:"problems"`
	// Unlisted counts logs under Prefix that no digest lists (not problems).
	Unlisted int `json:"unlisted"`
	// Failed is true when there is a problem or when no digest was found
	// (nothing verified).
	Failed bool `json:"failed"`
	// Note explains a failure that is not a file's, or the unlisted logs.
	Note string `json:"note,omitempty"`
	// Summary is "cloudtrail-digests: N digests, M logs, K problems".
	Summary string `json:"summary"`
	// Results has one entry per file: digests in key order, each followed by
	// the logs it lists, then unlisted logs.
	Results []Result `json:"results"`
}

// Checker checks the vault's CloudTrail files.
type Checker struct {
	// S3 reads the vault.
	S3 API
	// Bucket is the vault bucket.
	Bucket string
	// ExpectedOwner, when set, is sent as ExpectedBucketOwner on every call.
	ExpectedOwner string
	// Keys are the CloudTrail public keys, from ListPublicKeys.
	Keys KeySet
	// Concurrency bounds parallel reads; 0 means 8.
	Concurrency int
}

// vaultRoot is where CloudTrail logs and digests are vaulted:
// cloudtrail/<source-bucket>/<source-key> (schema.CopiedKey).
const vaultRoot = string(schema.KindCloudTrail) + "/"

// ScopePrefix turns the operator's --prefix into the vault key prefix to
// check. The prefix is a vault key prefix, as for `logvault verify
// --prefix`: "" means all of cloudtrail/; otherwise it must lie within
// cloudtrail/ (for example cloudtrail/<source-bucket>/AWSLogs/<account>/).
func ScopePrefix(p string) (string, error) {
	switch {
	case p == "" || strings.HasPrefix(vaultRoot, p):
		return vaultRoot, nil
	case strings.HasPrefix(p, vaultRoot):
		return p, nil
	}
	return "", fmt.Errorf("prefix %q is outside %s, where CloudTrail logs and digests are vaulted (give a vault key prefix such as %s<source-bucket>/AWSLogs/)", p, vaultRoot, vaultRoot)
}

// VaultKey is the vault key of a CloudTrail file s3://bucket/key shipped
// from account: cloudtrail/account=<account>/<bucket>/<key>, or, for an
// account of "", the earlier layout cloudtrail/<bucket>/<key>. A digest
// and the files it lists are in the same bucket, so they share the
// digest's account (or its layout).
func VaultKey(account, bucket, key string) string {
	part, err := schema.AccountPrefix(schema.KindCloudTrail, account)
	if err != nil { // "" (or no account id): the earlier layout
		part = vaultRoot
	}
	return part + bucket + "/" + key
}

// splitVaultKey returns the source account ("" in the earlier layout),
// bucket and key of a cloudtrail/ vault key.
func splitVaultKey(vk string) (account, bucket, key string, ok bool) {
	prefix, account, rest, ok := schema.SplitKey(vk)
	if !ok || prefix+"/" != vaultRoot {
		return "", "", "", false
	}
	bucket, key, ok = strings.Cut(rest, "/")
	return account, bucket, key, ok && bucket != "" && key != ""
}

// isLogKey tells CloudTrail log files (…/CloudTrail/….json.gz) from other
// objects under the trail's prefix (digests, Insights, anything else).
func isLogKey(key string) bool {
	return (strings.Contains(key, "/CloudTrail/") || strings.HasPrefix(key, "CloudTrail/")) && strings.HasSuffix(key, ".json.gz")
}

// vaulted is a digest file as the vault holds it.
type vaulted struct {
	key               string // vault key
	account           string // source account ("" in the earlier layout)
	srcBucket, srcKey string
	found             bool
	file              *File
	parseErr          error
	hasSig            bool
	signature, sigAlg string
}

// logTask is one log to check against the hash a digest lists.
type logTask struct {
	key, want, alg, listedBy string
	trusted                  bool
}

// maxDigestBytes bounds a digest read (CloudTrail digests are kilobytes).
const maxDigestBytes = 64 << 20

// Check verifies every digest vaulted under prefix (see ScopePrefix), the
// chain to each one's previous digest, and every log the digests list.
// Problems with files are in the report; an error means the check could
// not be completed (a listing or read failed for another reason than a
// missing key).
func (c *Checker) Check(ctx context.Context, prefix string) (*Report, error) {
	scope, err := ScopePrefix(prefix)
	if err != nil {
		return nil, err
	}
	if c.Keys == nil {
		return nil, errors.New("digest: no public keys")
	}
	keys, err := c.list(ctx, scope)
	if err != nil {
		return nil, err
	}
	var digestKeys, logKeys []string
	for _, k := range keys {
		_, _, src, ok := splitVaultKey(k)
		switch {
		case !ok:
		case schema.VaultKind(k) == schema.KindCloudTrailDigest:
			digestKeys = append(digestKeys, k)
		case isLogKey(src):
			logKeys = append(logKeys, k)
		}
	}
	sort.Strings(digestKeys)

	digests := make([]*vaulted, len(digestKeys))
	if err := c.each(ctx, len(digestKeys), func(ctx context.Context, i int) error {
		v, err := c.fetchDigest(ctx, digestKeys[i])
		digests[i] = v
		return err
	}); err != nil {
		return nil, err
	}
	known := make(map[string]*vaulted, len(digests))
	for _, v := range digests {
		known[v.key] = v
	}
	lookup := func(ctx context.Context, key string) (*vaulted, error) {
		if v, ok := known[key]; ok {
			return v, nil
		}
		v, err := c.fetchDigest(ctx, key)
		if err != nil {
			return nil, err
		}
		known[key] = v
		return v, nil
	}

	rep := &Report{Bucket: c.Bucket, Prefix: scope, Digests: len(digestKeys)}
	var tasks []logTask
	seenTask := map[string]bool{}
	reportedMissing := map[string]bool{}
	for _, v := range digests {
		res, missingPrev, err := c.checkDigest(ctx, v, lookup)
		if err != nil {
			return nil, err
		}
		res.order = v.key
		rep.Results = append(rep.Results, res)
		if missingPrev != nil && !reportedMissing[missingPrev.Key] {
			reportedMissing[missingPrev.Key] = true
			missingPrev.order = missingPrev.Key
			rep.Results = append(rep.Results, *missingPrev)
		}
		if v.file == nil || v.parseErr != nil {
			continue
		}
		for _, lf := range v.file.LogFiles {
			k := VaultKey(v.account, lf.S3Bucket, lf.S3Object)
			id := k + "\x00" + strings.ToLower(lf.HashValue)
			if seenTask[id] {
				continue
			}
			seenTask[id] = true
			tasks = append(tasks, logTask{key: k, want: lf.HashValue, alg: lf.HashAlgorithm, listedBy: v.key, trusted: res.Status == Valid})
		}
	}

	logResults := make([]Result, len(tasks))
	if err := c.each(ctx, len(tasks), func(ctx context.Context, i int) error {
		r, err := c.checkLog(ctx, tasks[i])
		logResults[i] = r
		return err
	}); err != nil {
		return nil, err
	}
	listed := map[string]bool{}
	for i, r := range logResults {
		r.order = tasks[i].listedBy + "\x00" + r.Key
		rep.Results = append(rep.Results, r)
		listed[r.Key] = true
	}
	rep.Logs = len(listed)

	for _, k := range logKeys {
		if listed[k] {
			continue
		}
		rep.Unlisted++
		rep.Results = append(rep.Results, Result{Key: k, Kind: KindLog, Status: Unlisted,
			Detail: "listed by no digest under the prefix: delivered after the newest digest, while log file validation was off, or not by CloudTrail",
			order:  "\xff" + k})
	}
	sort.SliceStable(rep.Results, func(i, j int) bool { return rep.Results[i].order < rep.Results[j].order })

	for _, r := range rep.Results {
		if r.Status.Problem() {
			rep.Problems++
		}
	}
	rep.Failed = rep.Problems > 0
	if rep.Digests == 0 {
		rep.Failed = true
		rep.Note = fmt.Sprintf("no CloudTrail digest files under s3://%s/%s: nothing was verified (is log file validation enabled on the trail, and the prefix right?)", c.Bucket, scope)
	} else if rep.Unlisted > 0 {
		rep.Note = fmt.Sprintf("%d log file(s) under the prefix are listed by no digest (not counted as problems)", rep.Unlisted)
	}
	rep.Summary = fmt.Sprintf("cloudtrail-digests: %d digests, %d logs, %d problems", rep.Digests, rep.Logs, rep.Problems)
	return rep, nil
}

// problem is one finding about a digest.
type problem struct {
	status Status
	msg    string
}

// checkDigest checks v's location, signature and link to its previous
// digest. missingPrev is the row for a previous digest absent from the vault.
func (c *Checker) checkDigest(ctx context.Context, v *vaulted, lookup func(context.Context, string) (*vaulted, error)) (res Result, missingPrev *Result, err error) {
	res = Result{Key: v.key, Kind: KindDigest}
	if !v.found {
		res.Status, res.Detail = Missing, "listed, but no current version when read"
		return res, nil, nil
	}
	if v.parseErr != nil {
		res.Status, res.Detail = Altered, "not a readable CloudTrail digest file: "+v.parseErr.Error()
		return res, nil, nil
	}
	f := v.file
	var probs []problem
	if f.DigestS3Bucket != v.srcBucket || f.DigestS3Object != v.srcKey {
		probs = append(probs, problem{Altered, fmt.Sprintf("moved: the digest names s3://%s/%s but was shipped from s3://%s/%s", f.DigestS3Bucket, f.DigestS3Object, v.srcBucket, v.srcKey)})
	}
	probs = append(probs, c.checkSignature(v)...)

	notes := []string{}
	if f.Starts() {
		notes = append(notes, "starts a chain")
	} else {
		p, missing, err := c.checkChain(ctx, v, lookup)
		if err != nil {
			return res, nil, err
		}
		probs = append(probs, p...)
		missingPrev = missing
		if missing != nil {
			notes = append(notes, "previous digest missing")
		}
	}

	if len(probs) == 0 {
		res.Status = Valid
		if n := len(f.LogFiles); n == 0 {
			notes = append(notes, "no log files in the period")
		} else if n == 1 {
			notes = append(notes, "1 log file")
		} else {
			notes = append(notes, fmt.Sprintf("%d log files", n))
		}
		res.Detail = strings.Join(notes, "; ")
		return res, missingPrev, nil
	}
	msgs := make([]string, 0, len(probs))
	for _, p := range probs {
		if severity[p.status] > severity[res.Status] {
			res.Status = p.status
		}
		msgs = append(msgs, p.msg)
	}
	res.Detail = strings.Join(msgs, "; ")
	return res, missingPrev, nil
}

// checkSignature verifies v's signature metadata against the public keys.
func (c *Checker) checkSignature(v *vaulted) []problem {
	f := v.file
	switch {
	case !v.hasSig:
		return []problem{{Unsigned, "no x-amz-meta-" + MetaSignature + " metadata on the vaulted digest"}}
	case v.sigAlg != "" && !strings.EqualFold(v.sigAlg, SignatureAlgorithm):
		return []problem{{BadSignature, fmt.Sprintf("unsupported x-amz-meta-%s %q", MetaSignatureAlgorithm, v.sigAlg)}}
	case !strings.EqualFold(f.DigestSignatureAlgorithm, SignatureAlgorithm):
		return []problem{{BadSignature, fmt.Sprintf("unsupported digestSignatureAlgorithm %q", f.DigestSignatureAlgorithm)}}
	}
	pk, ok := c.Keys.Lookup(f.DigestPublicKeyFingerprint)
	if !ok {
		return []problem{{BadSignature, "no public key for fingerprint " + f.DigestPublicKeyFingerprint}}
	}
	if err := VerifySignature(pk.Key, SigningString(&f.Digest, f.SHA256), v.signature); err != nil {
		return []problem{{BadSignature, fmt.Sprintf("%v with the key of fingerprint %s: the digest's content, location or signature changed", err, pk.Fingerprint)}}
	}
	return nil
}

// checkChain compares v's previous* fields with the previous digest in the
// vault.
func (c *Checker) checkChain(ctx context.Context, v *vaulted, lookup func(context.Context, string) (*vaulted, error)) ([]problem, *Result, error) {
	f := v.file
	var null []string
	for name, p := range map[string]*string{
		"previousDigestS3Bucket": f.PreviousDigestS3Bucket, "previousDigestS3Object": f.PreviousDigestS3Object,
		"previousDigestHashValue": f.PreviousDigestHashValue, "previousDigestHashAlgorithm": f.PreviousDigestHashAlgorithm,
		"previousDigestSignature": f.PreviousDigestSignature,
	} {
		if p == nil {
			null = append(null, name)
		}
	}
	if len(null) > 0 {
		sort.Strings(null)
		return []problem{{ChainBroken, "previous-digest fields partly null: " + strings.Join(null, ", ")}}, nil, nil
	}
	prevKey := VaultKey(v.account, *f.PreviousDigestS3Bucket, *f.PreviousDigestS3Object)
	prev, err := lookup(ctx, prevKey)
	if err != nil {
		return nil, nil, err
	}
	if !prev.found {
		return nil, &Result{Key: prevKey, Kind: KindDigest, Status: Missing, ListedBy: v.key,
			Detail: "not in the vault; the previous digest of " + v.key}, nil
	}
	if prev.parseErr != nil {
		return []problem{{ChainBroken, "previous digest " + prevKey + " is not readable"}}, nil, nil
	}
	var probs []problem
	want := strings.TrimSpace(*f.PreviousDigestHashValue)
	if alg := *f.PreviousDigestHashAlgorithm; !strings.EqualFold(alg, HashAlgorithm) {
		probs = append(probs, problem{ChainBroken, fmt.Sprintf("unsupported previousDigestHashAlgorithm %q", alg)})
	} else if !strings.EqualFold(want, prev.file.SHA256) && !strings.EqualFold(want, prev.file.StoredSHA256) {
		// CloudTrail documents the hash of the uncompressed previous digest;
		// the stored (gzip) bytes' hash pins the same content and is accepted.
		probs = append(probs, problem{ChainBroken, fmt.Sprintf("previousDigestHashValue %s does not match previous digest %s (its SHA-256 is %s)", want, prevKey, prev.file.SHA256)})
	}
	if prev.hasSig && !strings.EqualFold(strings.TrimSpace(*f.PreviousDigestSignature), strings.TrimSpace(prev.signature)) {
		probs = append(probs, problem{ChainBroken, "previousDigestSignature does not match the signature of previous digest " + prevKey})
	}
	return probs, nil, nil
}

// checkLog hashes the uncompressed current version of a log.
func (c *Checker) checkLog(ctx context.Context, t logTask) (Result, error) {
	res := Result{Key: t.key, Kind: KindLog, ListedBy: t.listedBy}
	if !strings.EqualFold(t.alg, HashAlgorithm) {
		res.Status, res.Detail = Altered, fmt.Sprintf("the digest lists unsupported hashAlgorithm %q", t.alg)
		return res, nil
	}
	got, found, readErr, err := c.hashLog(ctx, t.key, "")
	if err != nil {
		return res, err
	}
	switch {
	case !found:
		res.Status, res.Detail = Missing, "not in the vault (no current version); listed by "+t.listedBy
	case readErr != nil:
		res.Status, res.Detail = Altered, "current version is not a readable gzip log file: "+readErr.Error()
	case !strings.EqualFold(got, strings.TrimSpace(t.want)):
		res.Status, res.Detail = Altered, fmt.Sprintf("SHA-256 of the current version's uncompressed content is %s; the digest lists %s", got, t.want)
	default:
		res.Status = Valid
		if !t.trusted {
			res.Detail = "hash matches, but the digest listing it failed verification"
		}
		return res, nil
	}
	if id := c.matchingVersion(ctx, t.key, t.want); id != "" {
		res.Detail += fmt.Sprintf("; version %s matches the digest: logvault restore %s --version-id %s", id, t.key, id)
	}
	return res, nil
}

// hashLog returns the hex SHA-256 of the uncompressed content of key (the
// current version when versionID is ""). found is false for a missing key;
// readErr is a body that is not gzip; err is any other failure.
func (c *Checker) hashLog(ctx context.Context, key, versionID string) (sum string, found bool, readErr, err error) {
	in := &s3.GetObjectInput{Bucket: aws.String(c.Bucket), Key: aws.String(key), ExpectedBucketOwner: c.owner()}
	if versionID != "" {
		in.VersionId = aws.String(versionID)
	}
	out, err := c.S3.GetObject(ctx, in)
	if err != nil {
		if s3err.NotFound(err) {
			return "", false, nil, nil
		}
		return "", false, nil, fmt.Errorf("digest: read log s3://%s/%s: %w", c.Bucket, key, err)
	}
	defer out.Body.Close()
	h := sha256.New()
	if rerr := hashUncompressed(h, out.Body); rerr != nil {
		if ctx.Err() != nil {
			return "", true, nil, fmt.Errorf("digest: read log s3://%s/%s: %w", c.Bucket, key, ctx.Err())
		}
		return "", true, rerr, nil
	}
	return hex.EncodeToString(h.Sum(nil)), true, nil, nil
}

// hashUncompressed writes the gunzipped content of r to h (r as it is when
// it is not gzip), streaming.
func hashUncompressed(h hash.Hash, r io.Reader) error {
	br := bufio.NewReader(r)
	magic, _ := br.Peek(2)
	if !isGzip(magic) {
		_, err := io.Copy(h, br)
		return err
	}
	zr, err := gzip.NewReader(br)
	if err != nil {
		return fmt.Errorf("gunzip: %w", err)
	}
	defer zr.Close()
	if _, err := io.Copy(h, zr); err != nil {
		return fmt.Errorf("gunzip: %w", err)
	}
	return nil
}

// maxVersionsSearched bounds the search for a version matching a digest.
const maxVersionsSearched = 16

// matchingVersion returns the id of a non-current version of key whose
// uncompressed content hashes to want, or "" (the search is a repair hint:
// its failures are ignored).
func (c *Checker) matchingVersion(ctx context.Context, key, want string) string {
	out, err := c.S3.ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(c.Bucket), Prefix: aws.String(key), ExpectedBucketOwner: c.owner()})
	if err != nil {
		return ""
	}
	n := 0
	for _, v := range out.Versions {
		if aws.ToString(v.Key) != key || aws.ToBool(v.IsLatest) || n >= maxVersionsSearched {
			continue
		}
		n++
		sum, found, readErr, err := c.hashLog(ctx, key, aws.ToString(v.VersionId))
		if err == nil && found && readErr == nil && strings.EqualFold(sum, strings.TrimSpace(want)) {
			return aws.ToString(v.VersionId)
		}
	}
	return ""
}

// fetchDigest reads and parses the current version of a vaulted digest.
func (c *Checker) fetchDigest(ctx context.Context, key string) (*vaulted, error) {
	v := &vaulted{key: key}
	v.account, v.srcBucket, v.srcKey, _ = splitVaultKey(key)
	out, err := c.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(c.Bucket), Key: aws.String(key), ExpectedBucketOwner: c.owner()})
	if err != nil {
		if s3err.NotFound(err) {
			return v, nil
		}
		return nil, fmt.Errorf("digest: read digest s3://%s/%s: %w", c.Bucket, key, err)
	}
	defer out.Body.Close()
	body, err := io.ReadAll(io.LimitReader(out.Body, maxDigestBytes+1))
	if err != nil {
		return nil, fmt.Errorf("digest: read digest s3://%s/%s: %w", c.Bucket, key, err)
	}
	v.found = true
	if len(body) > maxDigestBytes {
		v.parseErr = fmt.Errorf("larger than %d bytes", maxDigestBytes)
	} else {
		v.file, v.parseErr = Parse(body)
	}
	v.signature, v.hasSig = metaValue(out.Metadata, MetaSignature)
	v.hasSig = v.hasSig && strings.TrimSpace(v.signature) != ""
	v.sigAlg, _ = metaValue(out.Metadata, MetaSignatureAlgorithm)
	return v, nil
}

// list returns every vault key under prefix.
func (c *Checker) list(ctx context.Context, prefix string) ([]string, error) {
	var keys []string
	p := s3.NewListObjectsV2Paginator(c.S3, &s3.ListObjectsV2Input{Bucket: aws.String(c.Bucket), Prefix: aws.String(prefix), ExpectedBucketOwner: c.owner()})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("digest: list s3://%s/%s: %w", c.Bucket, prefix, err)
		}
		for _, o := range page.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
	}
	return keys, nil
}

func (c *Checker) owner() *string {
	if c.ExpectedOwner == "" {
		return nil
	}
	return aws.String(c.ExpectedOwner)
}

// each runs fn for 0..n-1 on a bounded number of goroutines; the first
// error cancels the rest and is returned.
func (c *Checker) each(ctx context.Context, n int, fn func(context.Context, int) error) error {
	workers := c.Concurrency
	if workers <= 0 {
		workers = 8
	}
	workers = min(workers, n)
	if workers == 0 {
		return ctx.Err()
	}
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
	)
	next := make(chan int)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := fn(cctx, i); err != nil {
					once.Do(func() { first = err; cancel() })
				}
			}
		}()
	}
feed:
	for i := range n {
		select {
		case next <- i:
		case <-cctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if first != nil {
		return first
	}
	return ctx.Err()
}

// metaValue finds a user metadata value whatever the case of its name.
func metaValue(m map[string]string, name string) (string, bool) {
	if v, ok := m[name]; ok {
		return v, true
	}
	for k, v := range m {
		if strings.EqualFold(k, name) || strings.EqualFold(k, "x-amz-meta-"+name) {
			return v, true
		}
	}
	return "", false
}
