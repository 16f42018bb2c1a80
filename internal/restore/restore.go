// Package restore makes an earlier version of a vault key current again, the
// seed article's recovery: a server-side copy of that version over the key,
// which S3 keeps as a new version (nothing is deleted, the overwrite stays
// in the history), recorded with logvault-restored-from and checked by
// reading the new version back against the original's logvault-sha256.
//
// It needs only the writer's rights: s3:ListBucketVersions to find the
// versions, s3:GetObjectVersion to read the source, s3:PutObject to write.
package restore

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/logvault/logvault/internal/s3err"
	"github.com/logvault/logvault/internal/schema"
	"github.com/logvault/logvault/internal/vault"
	"github.com/logvault/logvault/internal/verify"
)

// API is the part of the S3 API a restore uses. It has no delete call.
type API interface {
	verify.API // reads: list versions, head, get
	CopyObject(ctx context.Context, in *s3.CopyObjectInput, optFns ...func(*s3.Options)) (*s3.CopyObjectOutput, error)
	CreateMultipartUpload(ctx context.Context, in *s3.CreateMultipartUploadInput, optFns ...func(*s3.Options)) (*s3.CreateMultipartUploadOutput, error)
	UploadPartCopy(ctx context.Context, in *s3.UploadPartCopyInput, optFns ...func(*s3.Options)) (*s3.UploadPartCopyOutput, error)
	CompleteMultipartUpload(ctx context.Context, in *s3.CompleteMultipartUploadInput, optFns ...func(*s3.Options)) (*s3.CompleteMultipartUploadOutput, error)
	AbortMultipartUpload(ctx context.Context, in *s3.AbortMultipartUploadInput, optFns ...func(*s3.Options)) (*s3.AbortMultipartUploadOutput, error)
}

// Outcome is what a restore did.
type Outcome string

// The outcomes.
const (
	// Restored: a new version holding the old bytes is current.
	Restored Outcome = "restored"
	// AlreadyCurrent: the current version already holds the bytes; nothing written.
	AlreadyCurrent Outcome = "already-current"
)

// MaxCopySize is the largest object one CopyObject copies (S3's limit);
// larger ones are copied part by part with UploadPartCopy.
const MaxCopySize = 5 << 30

// Options configure a restore.
type Options struct {
	// ExpectedOwner is sent as ExpectedBucketOwner (and source owner) when set.
	ExpectedOwner string
	// Shipper is recorded as logvault-shipper of the new version.
	Shipper string
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// CopyLimit overrides MaxCopySize (for tests).
	CopyLimit int64
	// Progress, when set, is told of each read (Listed) and its bytes (Read).
	Progress verify.Progress
}

// Result describes a restore.
type Result struct {
	Key          string  `json:"key"`
	RestoredFrom string  `json:"restored_from"`
	VersionID    string  `json:"version_id"` // the new current version (or the one already current)
	Supersedes   string  `json:"supersedes,omitempty"`
	SHA256       string  `json:"sha256"`
	Bytes        int64   `json:"bytes"`
	Outcome      Outcome `json:"outcome"`
	Multipart    bool    `json:"multipart,omitempty"`
}

// ErrRefused wraps the reasons a restore will not start: the version is a
// delete marker, lacks logvault-sha256, or no longer holds the bytes it names.
var ErrRefused = errors.New("restore refused")

// maxAttempts bounds the retries when the key changes between our look at
// its current version and the conditional copy.
const maxAttempts = 4

// Restore makes version versionID of key in bucket current again.
func Restore(ctx context.Context, api API, bucket, key, versionID string, opts Options) (Result, error) {
	r := &restorer{api: api, bucket: bucket, key: key, opts: opts}
	res := Result{Key: key, RestoredFrom: versionID}
	if versionID == "" {
		return res, fmt.Errorf("restore s3://%s/%s: %w: no version id given", bucket, key, ErrRefused)
	}

	for attempt := 1; ; attempt++ {
		target, latest, err := r.versions(ctx, versionID)
		if err != nil {
			return res, err
		}
		if target == nil {
			return res, fmt.Errorf("restore s3://%s/%s: no version %s of the key", bucket, key, versionID)
		}
		if target.deleteMarker {
			return res, fmt.Errorf("restore s3://%s/%s: %w: version %s is a delete marker, there are no bytes to restore", bucket, key, ErrRefused, versionID)
		}

		src, err := r.head(ctx, versionID)
		if err != nil {
			return res, err
		}
		want := strings.ToLower(src.Metadata[schema.MetaSHA256])
		if !isSHA256(want) {
			return res, fmt.Errorf("restore s3://%s/%s: %w: version %s has no valid %s (%q), so the restore could not be checked", bucket, key, ErrRefused, versionID, schema.MetaSHA256, want)
		}
		res.SHA256, res.Bytes = want, aws.ToInt64(src.ContentLength)

		// The source must still hold the bytes its metadata names, or the
		// restore would make a bad version current.
		whole, parts, err := r.hash(ctx, versionID, res.Bytes)
		if err != nil {
			return res, err
		}
		if got := hex.EncodeToString(whole[:]); got != want {
			return res, fmt.Errorf("restore s3://%s/%s: %w: version %s hashes to %s, its %s says %s", bucket, key, ErrRefused, versionID, got, schema.MetaSHA256, want)
		}

		var cur *s3.HeadObjectOutput
		if latest != nil && !latest.deleteMarker {
			if latest.id == versionID {
				res.VersionID, res.Outcome = versionID, AlreadyCurrent
				return res, nil
			}
			if cur, err = r.head(ctx, latest.id); err != nil {
				return res, err
			}
			if strings.EqualFold(cur.Metadata[schema.MetaSHA256], want) {
				// Trust the bytes, not the metadata: whoever wrote the
				// current version chose its metadata.
				if curSum, _, err := r.hash(ctx, latest.id, aws.ToInt64(cur.ContentLength)); err == nil && curSum == whole {
					res.VersionID, res.Outcome = latest.id, AlreadyCurrent
					return res, nil
				}
			}
			res.Supersedes = latest.id
		}

		newID, multipart, err := r.write(ctx, src, cur, res, parts)
		if err != nil {
			if s3err.Is(err, http.StatusPreconditionFailed, http.StatusConflict) && attempt < maxAttempts {
				res.Supersedes = ""
				continue // someone wrote the key meanwhile: look again
			}
			return res, err
		}
		res.VersionID, res.Multipart, res.Outcome = newID, multipart, Restored
		break
	}

	// Read the new version back: its bytes and S3's checksum of them.
	out, err := r.get(ctx, res.VersionID)
	if err != nil {
		return res, fmt.Errorf("restore s3://%s/%s: read back new version %s: %w", bucket, key, res.VersionID, err)
	}
	got, gotParts, err := r.digest(out, res.Bytes)
	if err != nil {
		return res, fmt.Errorf("restore s3://%s/%s: read back new version %s: %w", bucket, key, res.VersionID, err)
	}
	if h := hex.EncodeToString(got[:]); h != res.SHA256 {
		return res, fmt.Errorf("restore s3://%s/%s: new version %s hashes to %s, version %s's %s is %s", bucket, key, res.VersionID, h, res.RestoredFrom, schema.MetaSHA256, res.SHA256)
	}
	cs := aws.ToString(out.ChecksumSHA256)
	want := verify.FullChecksum(got)
	if verify.CompositeParts(cs) > 0 {
		want = verify.Composite(gotParts)
	}
	if cs != want {
		return res, fmt.Errorf("restore s3://%s/%s: new version %s has S3 checksum %q, its bytes give %s", bucket, key, res.VersionID, cs, want)
	}
	return res, nil
}

type restorer struct {
	api    API
	bucket string
	key    string
	opts   Options
}

type entry struct {
	id           string
	deleteMarker bool
}

func (r *restorer) owner() *string {
	if r.opts.ExpectedOwner == "" {
		return nil
	}
	return aws.String(r.opts.ExpectedOwner)
}

func (r *restorer) now() time.Time {
	if r.opts.Now != nil {
		return r.opts.Now()
	}
	return time.Now()
}

// versions lists the key's versions and delete markers: the one asked for,
// and the latest.
func (r *restorer) versions(ctx context.Context, versionID string) (target, latest *entry, err error) {
	in := &s3.ListObjectVersionsInput{Bucket: aws.String(r.bucket), Prefix: aws.String(r.key), ExpectedBucketOwner: r.owner()}
	for {
		out, err := r.api.ListObjectVersions(ctx, in)
		if err != nil {
			return nil, nil, fmt.Errorf("restore s3://%s/%s: list versions: %w", r.bucket, r.key, err)
		}
		past := false // listed beyond the key (keys that merely start with it)
		see := func(key, id string, isLatest, dm bool) {
			if key != r.key {
				past = past || key > r.key
				return
			}
			e := &entry{id: id, deleteMarker: dm}
			if isLatest {
				latest = e
			}
			if id == versionID {
				target = e
			}
		}
		for _, v := range out.Versions {
			see(aws.ToString(v.Key), aws.ToString(v.VersionId), aws.ToBool(v.IsLatest), false)
		}
		for _, d := range out.DeleteMarkers {
			see(aws.ToString(d.Key), aws.ToString(d.VersionId), aws.ToBool(d.IsLatest), true)
		}
		if past || !aws.ToBool(out.IsTruncated) || (out.NextKeyMarker == nil && out.NextVersionIdMarker == nil) {
			return target, latest, nil
		}
		in.KeyMarker, in.VersionIdMarker = out.NextKeyMarker, out.NextVersionIdMarker
	}
}

func (r *restorer) head(ctx context.Context, versionID string) (*s3.HeadObjectOutput, error) {
	out, err := r.api.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(r.bucket), Key: aws.String(r.key), VersionId: aws.String(versionID),
		ChecksumMode: types.ChecksumModeEnabled, ExpectedBucketOwner: r.owner()})
	if err != nil {
		return nil, fmt.Errorf("restore s3://%s/%s: read version %s: %w", r.bucket, r.key, versionID, err)
	}
	return out, nil
}

func (r *restorer) get(ctx context.Context, versionID string) (*s3.GetObjectOutput, error) {
	return r.api.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(r.bucket), Key: aws.String(r.key), VersionId: aws.String(versionID),
		ChecksumMode: types.ChecksumModeEnabled, ExpectedBucketOwner: r.owner()},
		func(o *s3.Options) { o.DisableLogOutputChecksumValidationSkipped = true })
}

// hash streams a version: its SHA-256, and its parts' as logvault cuts them.
func (r *restorer) hash(ctx context.Context, versionID string, size int64) ([32]byte, [][32]byte, error) {
	out, err := r.get(ctx, versionID)
	if err != nil {
		return [32]byte{}, nil, fmt.Errorf("restore s3://%s/%s: read version %s: %w", r.bucket, r.key, versionID, err)
	}
	whole, parts, err := r.digest(out, size)
	if err != nil {
		return whole, nil, fmt.Errorf("restore s3://%s/%s: read version %s: %w", r.bucket, r.key, versionID, err)
	}
	return whole, parts, nil
}

// digest reads out's body through vault.Hasher and closes it. A failed SDK
// validation of S3's checksum is left to the caller's own comparison.
func (r *restorer) digest(out *s3.GetObjectOutput, size int64) ([32]byte, [][32]byte, error) {
	defer out.Body.Close()
	h := vault.NewHasher(size)
	var w io.Writer = h
	if p := r.opts.Progress; p != nil {
		p.Listed(size)
		w = io.MultiWriter(h, verify.ProgressWriter(p))
	}
	if _, err := io.Copy(w, struct{ io.Reader }{out.Body}); err != nil && !strings.Contains(err.Error(), "checksum did not match") {
		return [32]byte{}, nil, err
	}
	whole, parts := h.Sums()
	return whole, parts, nil
}

// metadata is the source version's metadata with the restore's record: the
// content's own keys stay (sha256, kind, source…), the write's are new.
func (r *restorer) metadata(src *s3.HeadObjectOutput, res Result) map[string]string {
	m := maps.Clone(src.Metadata)
	if m == nil {
		m = map[string]string{}
	}
	delete(m, schema.MetaSupersedes)
	m[schema.MetaRestoredFrom] = res.RestoredFrom
	schema.Stamp(m, r.opts.Shipper, r.now())
	if res.Supersedes != "" {
		m[schema.MetaSupersedes] = res.Supersedes
	}
	return m
}

// write copies the source version over the key, conditional on the current
// version seen (its ETag; none when the key reads as absent). It returns
// the new version's id.
func (r *restorer) write(ctx context.Context, src *s3.HeadObjectOutput, cur *s3.HeadObjectOutput, res Result, parts [][32]byte) (string, bool, error) {
	var ifMatch, ifNoneMatch *string
	if cur != nil {
		ifMatch = cur.ETag
	} else {
		ifNoneMatch = aws.String("*")
	}
	limit := r.opts.CopyLimit
	if limit <= 0 {
		limit = MaxCopySize
	}
	cs := vault.CopySourceHeader(r.bucket, r.key, res.RestoredFrom)
	if res.Bytes > limit {
		id, err := r.multipartCopy(ctx, src, res, parts, cs, ifMatch, ifNoneMatch)
		return id, true, err
	}
	out, err := r.api.CopyObject(ctx, &s3.CopyObjectInput{
		Bucket: aws.String(r.bucket), Key: aws.String(r.key), CopySource: aws.String(cs),
		MetadataDirective: types.MetadataDirectiveReplace, Metadata: r.metadata(src, res),
		ContentType: src.ContentType, ContentEncoding: src.ContentEncoding,
		ChecksumAlgorithm: types.ChecksumAlgorithmSha256, IfMatch: ifMatch, IfNoneMatch: ifNoneMatch,
		ExpectedBucketOwner: r.owner(), ExpectedSourceBucketOwner: r.owner(),
	})
	if err != nil {
		return "", false, fmt.Errorf("restore s3://%s/%s: copy version %s over the key: %w", r.bucket, r.key, res.RestoredFrom, err)
	}
	id := aws.ToString(out.VersionId)
	if id == "" || id == "null" {
		return id, false, fmt.Errorf("restore s3://%s/%s: %w: the copy was answered without a VersionId", r.bucket, r.key, vault.ErrNotVersioned)
	}
	if out.CopyObjectResult != nil {
		sum, _ := hex.DecodeString(res.SHA256)
		if got := aws.ToString(out.CopyObjectResult.ChecksumSHA256); got != "" && verify.CompositeParts(got) == 0 && got != base64.StdEncoding.EncodeToString(sum) {
			return id, false, fmt.Errorf("restore s3://%s/%s: new version %s: S3 computed checksum %s for the copy, version %s's bytes give %s", r.bucket, r.key, id, got, res.RestoredFrom, base64.StdEncoding.EncodeToString(sum))
		}
	}
	return id, false, nil
}

// copyConcurrency parts are copied at once by a multipart copy.
const copyConcurrency = 4

// multipartCopy copies an object larger than one CopyObject allows, in
// logvault's part layout, giving S3 each part's SHA-256 (from the source's
// verified read) to check. A failed copy is aborted: nothing is left behind.
func (r *restorer) multipartCopy(ctx context.Context, src *s3.HeadObjectOutput, res Result, parts [][32]byte, cs string,
	ifMatch, ifNoneMatch *string) (string, error) {
	fail := func(err error) error {
		return fmt.Errorf("restore s3://%s/%s: multipart copy of version %s: %w", r.bucket, r.key, res.RestoredFrom, err)
	}
	ps := vault.PartSize(res.Bytes)
	if want := int((res.Bytes + ps - 1) / ps); len(parts) != want {
		return "", fail(fmt.Errorf("%d part digests for %d parts", len(parts), want))
	}
	up, err := r.api.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{
		Bucket: aws.String(r.bucket), Key: aws.String(r.key), Metadata: r.metadata(src, res),
		ContentType: src.ContentType, ContentEncoding: src.ContentEncoding,
		ChecksumAlgorithm: types.ChecksumAlgorithmSha256, ChecksumType: types.ChecksumTypeComposite,
		ExpectedBucketOwner: r.owner(),
	})
	if err != nil {
		return "", fail(err)
	}
	uploadID := up.UploadId
	abort := func(err error) (string, error) {
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if _, aerr := r.api.AbortMultipartUpload(actx, &s3.AbortMultipartUploadInput{Bucket: aws.String(r.bucket), Key: aws.String(r.key), UploadId: uploadID, ExpectedBucketOwner: r.owner()}); aerr != nil {
			err = fmt.Errorf("%w (and the upload could not be aborted: %v)", err, aerr)
		}
		return "", err
	}

	completed := make([]types.CompletedPart, len(parts))
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	next := make(chan int)
	for w := 0; w < copyConcurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				from := int64(i) * ps
				to := min(from+ps, res.Bytes) - 1
				sum := base64.StdEncoding.EncodeToString(parts[i][:])
				out, err := r.api.UploadPartCopy(pctx, &s3.UploadPartCopyInput{
					Bucket: aws.String(r.bucket), Key: aws.String(r.key), UploadId: uploadID, PartNumber: aws.Int32(int32(i + 1)),
					CopySource: aws.String(cs), CopySourceRange: aws.String(fmt.Sprintf("bytes=%d-%d", from, to)),
					ExpectedBucketOwner: r.owner(), ExpectedSourceBucketOwner: r.owner(),
				})
				if err == nil && out.CopyPartResult != nil && aws.ToString(out.CopyPartResult.ChecksumSHA256) != "" && aws.ToString(out.CopyPartResult.ChecksumSHA256) != sum {
					err = fmt.Errorf("S3 computed checksum %s for part %d, the source's bytes give %s", aws.ToString(out.CopyPartResult.ChecksumSHA256), i+1, sum)
				}
				if err == nil && out.CopyPartResult == nil {
					err = fmt.Errorf("part %d: no copy result", i+1)
				}
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = fmt.Errorf("part %d: %w", i+1, err)
					cancel()
				}
				if err == nil {
					completed[i] = types.CompletedPart{PartNumber: aws.Int32(int32(i + 1)), ETag: out.CopyPartResult.ETag, ChecksumSHA256: aws.String(sum)}
				}
				mu.Unlock()
			}
		}()
	}
feed:
	for i := range parts {
		select {
		case next <- i:
		case <-pctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if firstErr == nil && ctx.Err() != nil {
		firstErr = ctx.Err()
	}
	if firstErr != nil {
		return abort(fail(firstErr))
	}
	out, err := r.api.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket: aws.String(r.bucket), Key: aws.String(r.key), UploadId: uploadID,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: completed},
		IfMatch:         ifMatch, IfNoneMatch: ifNoneMatch, ExpectedBucketOwner: r.owner(),
	})
	if err != nil {
		return abort(fail(err))
	}
	id := aws.ToString(out.VersionId)
	if id == "" || id == "null" {
		return id, fail(fmt.Errorf("%w: the upload was answered without a VersionId", vault.ErrNotVersioned))
	}
	if got, want := aws.ToString(out.ChecksumSHA256), verify.Composite(parts); got != "" && got != want {
		return id, fail(fmt.Errorf("S3 reports checksum %s for the parts, expected %s", got, want))
	}
	return id, nil
}

func isSHA256(s string) bool {
	b, err := hex.DecodeString(s)
	return err == nil && len(b) == 32
}
