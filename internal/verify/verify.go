// Package verify reads every version in the vault (under a prefix),
// recomputes its SHA-256 while streaming it, and compares it with the
// version's logvault-sha256 metadata and with the checksum S3 stored on
// upload (the composite of part checksums for multipart objects). It also
// reports what the vault's history shows: delete markers, versions without
// the logvault metadata, and keys written more than once, which is expected
// for billing reports (re-delivered under the same key) and suspicious for
// CloudTrail and application logs (written once, never changed).
//
// It only reads: it works with Account A's credentials and with the writer's.
package verify

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/logvault/logvault/internal/schema"
	"github.com/logvault/logvault/internal/vault"
)

// API is the part of the S3 API verify reads with.
type API interface {
	ListObjectVersions(ctx context.Context, in *s3.ListObjectVersionsInput, optFns ...func(*s3.Options)) (*s3.ListObjectVersionsOutput, error)
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	HeadObject(ctx context.Context, in *s3.HeadObjectInput, optFns ...func(*s3.Options)) (*s3.HeadObjectOutput, error)
}

// Code names a finding.
type Code string

// The findings. All are failures except an overwrite of a kind whose keys
// are re-delivered by design (billing, and the drill's canaries).
const (
	SHA256Mismatch     Code = "sha256-mismatch"     // the bytes do not hash to logvault-sha256
	ChecksumMismatch   Code = "checksum-mismatch"   // the bytes do not match S3's stored SHA256 checksum
	NoChecksum         Code = "no-checksum"         // S3 holds no SHA256 checksum for the version
	ChecksumUnverified Code = "checksum-unverified" // the multipart layout could not be learned
	MissingMetadata    Code = "missing-metadata"    // one of schema.RequiredMeta is absent
	KindMismatch       Code = "kind-mismatch"       // logvault-kind disagrees with the key layout
	DeleteMarker       Code = "delete-marker"       // someone deleted the key
	Unversioned        Code = "unversioned"         // version id "null": written while versioning was off
	Unreadable         Code = "unreadable"          // the version could not be read
	Overwritten        Code = "overwritten"         // the key has several versions
)

// Problem is one finding, naming the key and (but for overwrites, which
// concern the whole key) the version.
type Problem struct {
	Key       string `json:"key"`
	VersionID string `json:"version_id,omitempty"`
	Code      Code   `json:"code"`
	Detail    string `json:"detail"`
	// Expected marks a finding that is not a failure: an overwrite of a kind
	// re-delivered by design.
	Expected bool `json:"expected,omitempty"`
}

func (p Problem) String() string {
	s := p.Key
	if p.VersionID != "" {
		s += " (version " + p.VersionID + ")"
	}
	return string(p.Code) + " " + s + ": " + p.Detail
}

// Version is what verify found for one version (or delete marker).
type Version struct {
	Key          string    `json:"key"`
	VersionID    string    `json:"version_id"`
	IsLatest     bool      `json:"is_latest"`
	DeleteMarker bool      `json:"delete_marker,omitempty"`
	LastModified time.Time `json:"last_modified"`
	Size         int64     `json:"size"`
	Kind         string    `json:"kind,omitempty"`
	// SHA256 is the hex digest of the bytes read; MetaSHA256 what the
	// version's logvault-sha256 says; Checksum S3's stored SHA256 checksum.
	SHA256       string `json:"sha256,omitempty"`
	MetaSHA256   string `json:"meta_sha256,omitempty"`
	Checksum     string `json:"checksum_sha256,omitempty"`
	Supersedes   string `json:"supersedes,omitempty"`
	RestoredFrom string `json:"restored_from,omitempty"`
	Problems     []Code `json:"problems,omitempty"`

	findings []Problem
}

// Summary counts what was read.
type Summary struct {
	Versions      int   `json:"versions"`
	DeleteMarkers int   `json:"delete_markers"`
	Keys          int   `json:"keys"`
	Bytes         int64 `json:"bytes"`
	Problems      int   `json:"problems"` // failures
	Expected      int   `json:"expected"` // expected overwrites, not failures
	OK            bool  `json:"ok"`
}

// Report is verify's result: every version, the findings, the counts.
type Report struct {
	Bucket string `json:"bucket"`
	Prefix string `json:"prefix"`
	// Prefixes are the parts listed when there were several (Options.Prefixes).
	Prefixes []string  `json:"prefixes,omitempty"`
	Versions []Version `json:"versions"`
	Problems []Problem `json:"problems"`
	Summary  Summary   `json:"summary"`
}

// Failed reports whether anything is a failure (exit 1).
func (r Report) Failed() bool { return !r.Summary.OK }

// Failures are the findings that are failures.
func (r Report) Failures() []Problem {
	var out []Problem
	for _, p := range r.Problems {
		if !p.Expected {
			out = append(out, p)
		}
	}
	return out
}

// Progress follows a run; its methods are called from several goroutines.
type Progress interface {
	// Listed is called once per version found, with its size.
	Listed(size int64)
	// Read is called as bytes are hashed.
	Read(n int64)
}

// Options tune Run.
type Options struct {
	// Workers versions are read at once (default 8).
	Workers int
	// ExpectedOwner is sent as ExpectedBucketOwner when set.
	ExpectedOwner string
	// Progress, when set, is told what is listed and read.
	Progress Progress
	// Prefixes, when set, are listed instead of Run's prefix: the parts of
	// the vault a writer session may list (one per kind prefix).
	Prefixes []string
}

// bufSize is each worker's read buffer: memory is about Workers × bufSize
// plus the report, whatever the objects' sizes.
const bufSize = 256 << 10

// Run verifies every version under prefix in bucket (or under each of
// opts.Prefixes, with prefix empty). It returns an error only when the
// listing fails or ctx ends; unreadable versions are findings.
func Run(ctx context.Context, api API, bucket, prefix string, opts Options) (Report, error) {
	if prefix != "" && len(opts.Prefixes) > 0 {
		return Report{}, fmt.Errorf("verify: a prefix (%q) and Options.Prefixes (%q) given together", prefix, opts.Prefixes)
	}
	if opts.Workers < 1 {
		opts.Workers = 8
	}
	r := &runner{api: api, bucket: bucket, opts: opts}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	type job struct {
		i int
		v types.ObjectVersion
	}
	jobs := make(chan job, opts.Workers)
	var (
		mu      sync.Mutex
		results []Version
		wg      sync.WaitGroup
	)
	store := func(i int, v Version) {
		mu.Lock()
		defer mu.Unlock()
		for len(results) <= i {
			results = append(results, Version{})
		}
		results[i] = v
	}
	for w := 0; w < opts.Workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, bufSize)
			for j := range jobs {
				store(j.i, r.check(ctx, j.v, buf))
			}
		}()
	}

	prefixes := opts.Prefixes
	if len(prefixes) == 0 {
		prefixes = []string{prefix}
	} else {
		prefix = ""
	}
	n := 0
	list := func(prefix string) error {
		in := &s3.ListObjectVersionsInput{Bucket: aws.String(bucket), ExpectedBucketOwner: r.owner()}
		if prefix != "" {
			in.Prefix = aws.String(prefix)
		}
		for {
			out, err := api.ListObjectVersions(ctx, in)
			if err != nil {
				return fmt.Errorf("verify: list versions of s3://%s/%s: %w", bucket, prefix, err)
			}
			for _, dm := range out.DeleteMarkers {
				store(n, Version{
					Key: aws.ToString(dm.Key), VersionID: aws.ToString(dm.VersionId), IsLatest: aws.ToBool(dm.IsLatest),
					DeleteMarker: true, LastModified: aws.ToTime(dm.LastModified), Kind: string(schema.VaultKind(aws.ToString(dm.Key))),
				})
				n++
			}
			for _, v := range out.Versions {
				if opts.Progress != nil {
					opts.Progress.Listed(aws.ToInt64(v.Size))
				}
				select {
				case jobs <- job{n, v}:
				case <-ctx.Done():
					return ctx.Err()
				}
				n++
			}
			if !aws.ToBool(out.IsTruncated) {
				return nil
			}
			if out.NextKeyMarker == nil && out.NextVersionIdMarker == nil {
				return fmt.Errorf("verify: list versions of s3://%s/%s: truncated listing without a next marker", bucket, prefix)
			}
			in.KeyMarker, in.VersionIdMarker = out.NextKeyMarker, out.NextVersionIdMarker
		}
	}
	listErr := func() error {
		defer close(jobs)
		for _, p := range prefixes {
			if err := list(p); err != nil {
				return err
			}
		}
		return nil
	}()
	if listErr != nil {
		cancel()
	}
	wg.Wait()
	if listErr != nil {
		return Report{}, listErr
	}
	if err := ctx.Err(); err != nil {
		return Report{}, fmt.Errorf("verify: %w", err)
	}
	rep := build(bucket, prefix, results)
	rep.Prefixes = opts.Prefixes
	return rep, nil
}

type runner struct {
	api    API
	bucket string
	opts   Options
}

func (r *runner) owner() *string {
	if r.opts.ExpectedOwner == "" {
		return nil
	}
	return aws.String(r.opts.ExpectedOwner)
}

// quiet keeps the SDK from logging that it skipped validating a composite
// checksum: verify validates it itself.
func quiet(o *s3.Options) { o.DisableLogOutputChecksumValidationSkipped = true }

// check reads one version and records what it found on the Version returned.
func (r *runner) check(ctx context.Context, ov types.ObjectVersion, buf []byte) Version {
	key, vid := aws.ToString(ov.Key), aws.ToString(ov.VersionId)
	v := Version{
		Key: key, VersionID: vid, IsLatest: aws.ToBool(ov.IsLatest), LastModified: aws.ToTime(ov.LastModified),
		Size: aws.ToInt64(ov.Size), Kind: string(schema.VaultKind(key)),
	}
	out, err := r.get(ctx, key, vid)
	if err != nil {
		return fail(v, Unreadable, err.Error())
	}
	meta := out.Metadata
	v.MetaSHA256, v.Supersedes, v.RestoredFrom = meta[schema.MetaSHA256], meta[schema.MetaSupersedes], meta[schema.MetaRestoredFrom]
	if v.Kind == "" {
		v.Kind = meta[schema.MetaKind]
	}
	v.Checksum = aws.ToString(out.ChecksumSHA256)
	if out.ContentLength != nil {
		v.Size = *out.ContentLength
	}

	// Choose how to cut the object into parts before reading it.
	parts := CompositeParts(v.Checksum)
	lay := layout{Uniform: vault.PartSize(v.Size)}
	var layoutErr error
	if parts > 0 && partCount(v.Size, lay.Uniform) != parts {
		// Not cut as logvault cuts: learn the layout, then read afresh (a
		// layout that cannot be learned still leaves logvault-sha256 to check).
		out.Body.Close()
		lay, layoutErr = r.learnLayout(ctx, key, vid, v.Size, parts)
		if out, err = r.get(ctx, key, vid); err != nil {
			return fail(v, Unreadable, err.Error())
		}
	}
	whole, partSums, err := r.read(out, v.Size, lay, buf)
	if err != nil {
		return fail(v, Unreadable, err.Error())
	}
	v.SHA256 = fmt.Sprintf("%x", whole)

	for _, k := range schema.RequiredMeta {
		if meta[k] == "" {
			v = fail(v, MissingMetadata, "no "+k)
		}
	}
	if v.MetaSHA256 != "" && !strings.EqualFold(v.MetaSHA256, v.SHA256) {
		v = fail(v, SHA256Mismatch, "bytes hash to "+v.SHA256+", "+schema.MetaSHA256+" says "+v.MetaSHA256)
	}
	if mk := meta[schema.MetaKind]; mk != "" && schema.VaultKind(key) != "" && schema.Kind(mk) != schema.VaultKind(key) {
		v = fail(v, KindMismatch, schema.MetaKind+" "+mk+" on a "+string(schema.VaultKind(key))+" key")
	}
	if vid == "" || vid == "null" {
		v = fail(v, Unversioned, "version id "+fmt.Sprintf("%q", vid)+": written while the bucket was not versioned, so it can be replaced without a trace")
	}

	switch {
	case v.Checksum == "":
		v = fail(v, NoChecksum, "S3 holds no SHA256 checksum for this version")
	case parts == 0:
		if want := FullChecksum(whole); v.Checksum != want {
			v = fail(v, ChecksumMismatch, "S3 checksum "+v.Checksum+", bytes give "+want)
		}
	case layoutErr != nil:
		v = fail(v, ChecksumUnverified, "composite checksum "+v.Checksum+": "+layoutErr.Error())
	default:
		got := Composite(partSums)
		if got != v.Checksum && !lay.Exact {
			// The inferred part layout may be wrong: read the real one and,
			// if it differs, hash again with it.
			exact, err := r.exactLayout(ctx, key, vid, parts)
			if err != nil {
				v = fail(v, ChecksumUnverified, "composite checksum "+v.Checksum+" differs from "+got+" for "+describe(lay, v.Size)+", and the part layout could not be read: "+err.Error())
				break
			}
			if !exact.sameAs(lay, v.Size) {
				lay = exact
				if r.opts.Progress != nil {
					r.opts.Progress.Listed(v.Size) // read twice
				}
				out, err := r.get(ctx, key, vid)
				if err != nil {
					return fail(v, Unreadable, err.Error())
				}
				if _, partSums, err = r.read(out, v.Size, lay, buf); err != nil {
					return fail(v, Unreadable, err.Error())
				}
				got = Composite(partSums)
			}
		}
		if got != v.Checksum {
			v = fail(v, ChecksumMismatch, "S3 composite checksum "+v.Checksum+", bytes give "+got+" for "+describe(lay, v.Size))
		}
	}
	return v
}

// fail records a finding on v.
func fail(v Version, c Code, detail string) Version {
	v.Problems = append(v.Problems, c)
	v.findings = append(v.findings, Problem{Key: v.Key, VersionID: v.VersionID, Code: c, Detail: detail})
	return v
}

func describe(l layout, size int64) string {
	s := l.sizes(size)
	if l.Sizes == nil {
		return fmt.Sprintf("%d parts of %d bytes", len(s), l.Uniform)
	}
	return fmt.Sprintf("%d parts as S3 lists them", len(s))
}

// get opens one version with S3's checksum.
func (r *runner) get(ctx context.Context, key, vid string) (*s3.GetObjectOutput, error) {
	in := &s3.GetObjectInput{Bucket: aws.String(r.bucket), Key: aws.String(key), ChecksumMode: types.ChecksumModeEnabled, ExpectedBucketOwner: r.owner()}
	if vid != "" {
		in.VersionId = aws.String(vid)
	}
	out, err := r.api.GetObject(ctx, in, quiet)
	if err != nil {
		return nil, fmt.Errorf("get s3://%s/%s version %s: %w", r.bucket, key, vid, err)
	}
	return out, nil
}

// read streams out's body through a digester and closes it.
func (r *runner) read(out *s3.GetObjectOutput, size int64, l layout, buf []byte) (whole [32]byte, parts [][32]byte, err error) {
	defer out.Body.Close()
	d := newDigester(size, l)
	var w io.Writer = d
	if r.opts.Progress != nil {
		w = io.MultiWriter(d, ProgressWriter(r.opts.Progress))
	}
	if _, err := io.CopyBuffer(w, struct{ io.Reader }{out.Body}, buf); err != nil && !sdkChecksumMismatch(err) {
		return whole, nil, fmt.Errorf("read: %w", err)
	}
	whole, parts = d.Sums()
	return whole, parts, nil
}

// sdkChecksumMismatch recognises the SDK's own validation of a full-object
// checksum, which fails the read at its end, after every byte went through
// the digester: verify then reports the mismatch itself, with both values.
func sdkChecksumMismatch(err error) bool {
	return strings.Contains(err.Error(), "checksum did not match")
}

// ProgressWriter reports every byte written to it to p as read.
func ProgressWriter(p Progress) io.Writer { return progressWriter{p} }

type progressWriter struct{ p Progress }

func (w progressWriter) Write(b []byte) (int, error) { w.p.Read(int64(len(b))); return len(b), nil }

// learnLayout finds how a multipart object not cut as logvault cuts it was
// uploaded: part 1's size from HeadObject?partNumber=1; when the object fits
// parts of that size, that uniform layout is assumed (every common uploader
// cuts so), otherwise each part is asked for.
func (r *runner) learnLayout(ctx context.Context, key, vid string, size int64, parts int) (layout, error) {
	p1, n, err := r.partSize(ctx, key, vid, 1)
	if err != nil {
		return layout{}, err
	}
	if n != 0 && n != parts {
		return layout{}, fmt.Errorf("S3 lists %d parts, the checksum names %d", n, parts)
	}
	if p1 > 0 && partCount(size, p1) == parts {
		return layout{Uniform: p1}, nil
	}
	return r.exactLayout(ctx, key, vid, parts)
}

// exactLayout asks S3 for the size of every part.
func (r *runner) exactLayout(ctx context.Context, key, vid string, parts int) (layout, error) {
	l := layout{Sizes: make([]int64, parts), Exact: true}
	for i := 1; i <= parts; i++ {
		s, _, err := r.partSize(ctx, key, vid, int32(i))
		if err != nil {
			return layout{}, err
		}
		l.Sizes[i-1] = s
	}
	return l, nil
}

func (r *runner) partSize(ctx context.Context, key, vid string, part int32) (size int64, parts int, err error) {
	in := &s3.HeadObjectInput{Bucket: aws.String(r.bucket), Key: aws.String(key), PartNumber: aws.Int32(part), ExpectedBucketOwner: r.owner()}
	if vid != "" {
		in.VersionId = aws.String(vid)
	}
	out, err := r.api.HeadObject(ctx, in)
	if err != nil {
		return 0, 0, fmt.Errorf("head part %d of s3://%s/%s version %s: %w", part, r.bucket, key, vid, err)
	}
	return aws.ToInt64(out.ContentLength), int(aws.ToInt32(out.PartsCount)), nil
}

// build sorts the versions (by key, newest first), splits the findings out
// and adds the per-key ones.
func build(bucket, prefix string, vs []Version) Report {
	rep := Report{Bucket: bucket, Prefix: prefix, Versions: make([]Version, 0, len(vs)), Problems: []Problem{}}
	sort.SliceStable(vs, func(i, j int) bool {
		if vs[i].Key != vs[j].Key {
			return vs[i].Key < vs[j].Key
		}
		if vs[i].IsLatest != vs[j].IsLatest {
			return vs[i].IsLatest
		}
		return vs[i].LastModified.After(vs[j].LastModified)
	})
	for i := 0; i < len(vs); {
		j := i
		for j < len(vs) && vs[j].Key == vs[i].Key {
			j++
		}
		rep.Summary.Keys++
		var objects []Version
		for _, v := range vs[i:j] {
			rep.Problems = append(rep.Problems, v.findings...)
			v.findings = nil
			if v.DeleteMarker {
				rep.Summary.DeleteMarkers++
				detail := "a delete marker"
				if v.IsLatest {
					detail += ": the key reads as deleted"
				}
				v.Problems = append(v.Problems, DeleteMarker)
				rep.Problems = append(rep.Problems, Problem{Key: v.Key, VersionID: v.VersionID, Code: DeleteMarker, Detail: detail})
			} else {
				rep.Summary.Versions++
				rep.Summary.Bytes += v.Size
				objects = append(objects, v)
			}
			rep.Versions = append(rep.Versions, v)
		}
		if len(objects) > 1 {
			rep.Problems = append(rep.Problems, overwrite(objects))
		}
		i = j
	}
	for _, p := range rep.Problems {
		if p.Expected {
			rep.Summary.Expected++
		} else {
			rep.Summary.Problems++
		}
	}
	rep.Summary.OK = rep.Summary.Problems == 0
	return rep
}

// overwrite describes a key with several versions, newest first.
func overwrite(objects []Version) Problem {
	kind := objects[0].Kind
	p := Problem{Key: objects[0].Key, Code: Overwritten, Expected: schema.OverwritesExpected(schema.Kind(kind))}
	var names []string
	restores := 0
	for _, v := range objects {
		s := v.VersionID
		var notes []string
		if v.IsLatest {
			notes = append(notes, "current")
		}
		if v.RestoredFrom != "" {
			notes = append(notes, "restore of "+v.RestoredFrom)
			restores++
		}
		if len(notes) > 0 {
			s += " (" + strings.Join(notes, ", ") + ")"
		}
		names = append(names, s)
	}
	if kind == "" {
		kind = "unknown kind"
	}
	verdict := "suspicious for " + kind + ": its objects are written once"
	if p.Expected {
		verdict = "expected for " + kind
	}
	p.Detail = fmt.Sprintf("%d versions, %s; newest first: %s", len(objects), verdict, strings.Join(names, ", "))
	if restores > 0 && !p.Expected {
		p.Detail += "; a restore brought older bytes back, the overwrite stays in the history"
	}
	return p
}
