// Package vault writes objects into the policy-locked vault bucket: every
// write carries a SHA-256 that S3 verifies, the logvault metadata, and is
// confirmed by the VersionId S3 returns. It never deletes anything.
package vault

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/logvault/logvault/internal/s3err"
	"github.com/logvault/logvault/internal/schema"
)

// Outcome is what a write did to the vault.
type Outcome string

// The outcomes of Writer.Put.
const (
	Created   Outcome = "created"   // the key did not exist
	Overwrote Outcome = "overwrote" // a new version over different bytes
	Duplicate Outcome = "duplicate" // the current version already holds these bytes: nothing written
)

// API is the part of the S3 API the writer needs.
type API interface {
	HeadObject(ctx context.Context, in *s3.HeadObjectInput, optFns ...func(*s3.Options)) (*s3.HeadObjectOutput, error)
	PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
	// ListObjectVersions finds the current version of a key whose HEAD S3
	// refuses (an SSE-C object answers 400 to a HEAD without its key).
	ListObjectVersions(ctx context.Context, in *s3.ListObjectVersionsInput, optFns ...func(*s3.Options)) (*s3.ListObjectVersionsOutput, error)
}

// Writer deposits objects in one vault bucket.
type Writer struct {
	S3            API
	Bucket        string
	ExpectedOwner string // Account A; sent as ExpectedBucketOwner when set
	Shipper       string // function name and build version
	Now           func() time.Time
	// Uploader writes objects larger than one part as multipart uploads;
	// nil writes everything with PutObject (up to S3's 5 GiB limit).
	Uploader *transfermanager.Client
	// Copies remembers the source buckets the writer may not read, so a
	// server-side copy is not tried again (nil: tried for every object).
	Copies *CopyState
	// Log, when set, hears once per source bucket why a large object is
	// uploaded from the function instead of copied server-side.
	Log *slog.Logger
}

// Object describes one version to write.
type Object struct {
	Key             string
	Kind            schema.Kind
	Source          string // logvault-source
	SourceVersionID string
	SourceETag      string
	ContentType     string
	ContentEncoding string
	UserMetadata    map[string]string // the source's own metadata, kept unchanged
	SHA256          [32]byte
	// PartSHA256 are the digests of the object's PartSize(Size) parts (see
	// Hasher); when set, a multipart write is checked against them.
	PartSHA256 [][32]byte
	Size       int64
	// CopySource, when set, is where S3 may copy a multipart object's parts
	// from (the version the hashing read was pinned to); each part's S3
	// checksum must equal PartSHA256's. Without the writer's read grant on
	// the source, the body is uploaded instead.
	CopySource *CopySource
}

// Receipt confirms a write (or a duplicate) in the vault.
type Receipt struct {
	Kind       schema.Kind `json:"kind"`
	Key        string      `json:"key"`
	VersionID  string      `json:"version_id"`
	SHA256     string      `json:"sha256"`
	Bytes      int64       `json:"bytes"`
	Outcome    Outcome     `json:"outcome"`
	Supersedes string      `json:"supersedes,omitempty"`
	// Mismatch says why a current version that claimed these bytes (its
	// logvault-sha256) was not taken for a duplicate: S3's own checksum of
	// it differs, it cannot be read, or it is not in STANDARD storage.
	Mismatch string `json:"mismatch,omitempty"`
	// Copied reports a version whose parts S3 copied server-side from the
	// source, each checked against the hashing read.
	Copied bool `json:"copied,omitempty"`
	// Unconditional reports a write made without a condition because the
	// key changed under every conditional one: Supersedes is then the last
	// version seen, not necessarily the one replaced.
	Unconditional bool `json:"unconditional,omitempty"`
}

// ErrNotVersioned means the vault answered a write without a VersionId:
// history would not be kept, so the event must not be acknowledged.
var ErrNotVersioned = errors.New("vault bucket is not versioned")

// ErrMetadataTooLarge means the source's own user metadata and logvault's
// would together exceed S3's limit: the object is not written (S3 would
// refuse it), and the event fails loudly rather than being stored without
// the source's metadata or its record.
var ErrMetadataTooLarge = errors.New("user metadata over S3's 2 KB limit")

// MaxMetadataBytes is S3's limit on an object's user metadata: the UTF-8
// bytes of every name (without x-amz-meta-) and value, added up.
const MaxMetadataBytes = 2048

// maxConditionalRetries bounds the re-reads when another writer changes the
// key between our look at the current version and our write. The attempt
// after them is unconditional: a writer racing every attempt (whoever holds
// the writer's credentials could) must not keep the genuine bytes out of
// the vault; in a versioned bucket an unconditional write loses nothing.
const maxConditionalRetries = 4

// Put writes obj unless the key's current version already holds the same
// bytes: S3's own stored checksum of it and its logvault-sha256 must both
// equal obj's (metadata alone can be copied onto other bytes), and it must be
// readable (not SSE-C, in STANDARD storage). body must yield exactly the
// bytes obj.SHA256 was computed over; S3 rejects the write otherwise. An
// object written in one PUT is first sent as a new key's (If-None-Match: *),
// and the current version looked at only when S3 answers that the key
// exists. Otherwise the write is conditional on the current version seen
// (its ETag), so
// logvault-supersedes names the version replaced; the one case S3 cannot
// tell apart is a racer re-storing the current bytes, which keeps the ETag,
// so the chain then skips the racer's identical copy.
func (w *Writer) Put(ctx context.Context, obj Object, body io.ReadSeeker) (Receipt, error) {
	sum := hex.EncodeToString(obj.SHA256[:])
	rec := Receipt{Kind: obj.Kind, Key: obj.Key, SHA256: sum, Bytes: obj.Size}
	multipart := w.Uploader != nil && obj.Size > PartSize(obj.Size)
	// A single PUT is first sent as a new key's (If-None-Match: *, the
	// contract's optimistic write): most keys are new, and S3 answers 412
	// when one is not, after which the current version is looked at as for
	// any conditional write. That 412 is no race: it does not count against
	// maxConditionalRetries. Parts are never sent blind: a re-delivered large
	// object would be uploaded for nothing.
	optimistic := !multipart
	for attempt := 0; ; attempt++ {
		var cur *currentVersion
		var err error
		if !optimistic {
			if cur, err = w.current(ctx, obj.Key); err != nil {
				return rec, err
			}
		}
		if cur != nil && !versioned(&cur.versionID) {
			// An earlier attempt stored the object in an unversioned bucket:
			// finding it again must not turn the failure into a duplicate.
			return rec, fmt.Errorf("vault: s3://%s/%s: %w: its current version has no VersionId", w.Bucket, obj.Key, ErrNotVersioned)
		}
		rec.Mismatch = ""
		if cur != nil {
			var dup bool
			dup, rec.Mismatch = cur.holds(sum, obj)
			if dup {
				rec.VersionID, rec.Outcome, rec.Supersedes = cur.versionID, Duplicate, ""
				if multipart {
					return rec, w.cleanUp(ctx, rec)
				}
				return rec, nil
			}
		}
		if _, err := body.Seek(0, io.SeekStart); err != nil {
			return rec, fmt.Errorf("vault: rewind body of %s: %w", obj.Key, err)
		}
		in := w.putInput(obj, sum, body)
		rec.Outcome, rec.Supersedes = Created, ""
		conditional := attempt < maxConditionalRetries
		if cur != nil {
			rec.Outcome, rec.Supersedes = Overwrote, cur.versionID
			in.Metadata[schema.MetaSupersedes] = rec.Supersedes
			if conditional {
				in.IfMatch = aws.String(cur.etag)
			}
		} else if conditional {
			in.IfNoneMatch = aws.String("*")
		}
		rec.Unconditional = !conditional
		if n := metadataSize(in.Metadata); n > MaxMetadataBytes {
			own := metadataSize(obj.UserMetadata)
			return rec, fmt.Errorf("vault: put s3://%s/%s: %w: it would be %d bytes, %d of them the source object's own (%d keys): nothing written",
				w.Bucket, obj.Key, ErrMetadataTooLarge, n, own, len(obj.UserMetadata))
		}
		var out *s3.PutObjectOutput
		if multipart {
			out, rec.Copied, err = w.putLarge(ctx, in, obj, body)
		} else {
			out, err = w.S3.PutObject(ctx, in)
		}
		if err != nil {
			if s3err.Is(err, http.StatusPreconditionFailed, http.StatusConflict) && optimistic {
				optimistic, attempt = false, attempt-1 // the key exists: look at it
				continue
			}
			if s3err.Is(err, http.StatusPreconditionFailed, http.StatusConflict) && conditional {
				continue // someone wrote the key meanwhile: look again
			}
			return rec, fmt.Errorf("vault: put s3://%s/%s: %w%s", w.Bucket, obj.Key, err, w.deniedHint(err))
		}
		rec.VersionID = aws.ToString(out.VersionId)
		if !versioned(out.VersionId) {
			return rec, fmt.Errorf("vault: put s3://%s/%s: %w: the response carried no VersionId", w.Bucket, obj.Key, ErrNotVersioned)
		}
		want := base64.StdEncoding.EncodeToString(obj.SHA256[:])
		if got := aws.ToString(out.ChecksumSHA256); got != "" && got != want {
			return rec, fmt.Errorf("vault: put s3://%s/%s: S3 stored checksum %s, expected %s", w.Bucket, obj.Key, got, want)
		}
		if multipart {
			return rec, w.cleanUp(ctx, rec)
		}
		return rec, nil
	}
}

// currentVersion is what the writer knows of a key's current version.
type currentVersion struct {
	versionID, etag string
	size            int64
	// metaSHA256 is its logvault-sha256; checksum S3's own SHA-256 of it
	// (base64; "<base64>-N" composite for a multipart object), "" when it
	// has none, and checksumType what S3 says it is ("" when unsaid).
	metaSHA256, checksum string
	checksumType         types.ChecksumType
	// kind, source, contentType and contentEncoding are its logvault-kind,
	// logvault-source and content headers.
	kind, source, contentType, contentEncoding string
	storageClass                               types.StorageClass
	// unreadable is why S3 would not describe it (a HEAD answered 400).
	unreadable string
}

// holds reports whether the current version holds exactly obj: the same
// bytes, as both S3's own checksum (of the same type, over the same size)
// and logvault's metadata attest, the same record (kind, source, content
// headers), and readable. Whatever a writer can copy from a genuine version
// (its metadata, its part digests as bytes) is not enough. When it claims
// obj's bytes (or cannot be read) but is not a duplicate, why says so;
// plainly other bytes are an ordinary overwrite, why "".
func (c *currentVersion) holds(sum string, obj Object) (dup bool, why string) {
	if c.unreadable != "" {
		return false, fmt.Sprintf("current version %s cannot be read (%s): written again", c.versionID, c.unreadable)
	}
	if c.metaSHA256 != sum {
		return false, ""
	}
	full := base64.StdEncoding.EncodeToString(obj.SHA256[:])
	checksumOK := c.size == obj.Size &&
		(c.checksum == full && c.checksumType != types.ChecksumTypeComposite ||
			len(obj.PartSHA256) > 0 && c.checksum == compositeChecksum(obj.PartSHA256) && c.checksumType != types.ChecksumTypeFullObject)
	if !checksumOK {
		stored := c.checksum
		if stored == "" {
			stored = "none"
		}
		return false, fmt.Sprintf("current version %s: S3's stored SHA-256 checksum (%s) does not match its logvault-sha256 %s (S3: %s checksum of %d bytes; expected %d bytes): written again",
			c.versionID, stored, sum, orNone(string(c.checksumType)), c.size, obj.Size)
	}
	if c.kind != string(obj.Kind) || c.source != obj.Source || c.contentType != obj.ContentType || c.contentEncoding != obj.ContentEncoding {
		return false, fmt.Sprintf("current version %s holds these bytes under another record (kind %q, source %q, content type %q, encoding %q): written again",
			c.versionID, c.kind, c.source, c.contentType, c.contentEncoding)
	}
	if c.storageClass != "" && c.storageClass != types.StorageClassStandard {
		return false, fmt.Sprintf("current version %s is in storage class %s, not readable at once: written again", c.versionID, c.storageClass)
	}
	return true, ""
}

func orNone(s string) string {
	if s == "" {
		return "untyped"
	}
	return s
}

// cleanUp aborts the unfinished uploads of a key whose object is vaulted
// (see abortUnfinished); a failure fails the event, so the retry (a
// duplicate) cleans up again.
func (w *Writer) cleanUp(ctx context.Context, rec Receipt) error {
	if err := w.abortUnfinished(ctx, rec.Key); err != nil {
		return fmt.Errorf("%w (the object itself is in the vault, version %s; the event is retried to clean up)", err, rec.VersionID)
	}
	return nil
}

func (w *Writer) putInput(obj Object, sum string, body io.Reader) *s3.PutObjectInput {
	meta := make(map[string]string, len(obj.UserMetadata)+8)
	for k, v := range obj.UserMetadata {
		meta[k] = v
	}
	// A source must not be able to forge the vault's own record.
	for k := range meta {
		if strings.HasPrefix(strings.ToLower(k), schema.Prefix) { // S3 metadata names ignore case
			delete(meta, k)
		}
	}
	meta[schema.MetaSHA256] = sum
	meta[schema.MetaKind] = string(obj.Kind)
	meta[schema.MetaSource] = obj.Source
	schema.Stamp(meta, w.Shipper, w.now())
	if obj.SourceVersionID != "" {
		meta[schema.MetaSourceVersionID] = obj.SourceVersionID
	}
	if obj.SourceETag != "" {
		meta[schema.MetaSourceETag] = obj.SourceETag
	}
	in := &s3.PutObjectInput{
		Bucket:            aws.String(w.Bucket),
		Key:               aws.String(obj.Key),
		Body:              body,
		ContentLength:     aws.Int64(obj.Size),
		ChecksumAlgorithm: types.ChecksumAlgorithmSha256,
		ChecksumSHA256:    aws.String(base64.StdEncoding.EncodeToString(obj.SHA256[:])),
		Metadata:          meta,
	}
	if obj.ContentType != "" {
		in.ContentType = aws.String(obj.ContentType)
	}
	if obj.ContentEncoding != "" {
		in.ContentEncoding = aws.String(obj.ContentEncoding)
	}
	if w.ExpectedOwner != "" {
		in.ExpectedBucketOwner = aws.String(w.ExpectedOwner)
	}
	return in
}

// current returns the key's current version, or nil when the key is new.
// S3's stored checksum is asked for (ChecksumMode), so a duplicate is judged
// on what S3 verified, not on metadata anyone who can put could copy.
func (w *Writer) current(ctx context.Context, key string) (*currentVersion, error) {
	in := &s3.HeadObjectInput{Bucket: aws.String(w.Bucket), Key: aws.String(key), ChecksumMode: types.ChecksumModeEnabled}
	if w.ExpectedOwner != "" {
		in.ExpectedBucketOwner = aws.String(w.ExpectedOwner)
	}
	out, err := w.S3.HeadObject(ctx, in)
	if err != nil {
		switch {
		case s3err.Is(err, http.StatusNotFound):
			return nil, nil
		case s3err.Is(err, http.StatusBadRequest):
			// RefreshOnExpiredToken already retried with fresh credentials:
			// a 400 that persists is the object's (SSE-C needs its key).
			return w.listCurrent(ctx, key, "HEAD answered 400 Bad Request, as S3 does for an SSE-C object")
		}
		return nil, fmt.Errorf("vault: read current version of s3://%s/%s: %w%s", w.Bucket, key, err, w.deniedHint(err))
	}
	if aws.ToBool(out.DeleteMarker) {
		return nil, nil
	}
	return &currentVersion{
		versionID: aws.ToString(out.VersionId), etag: aws.ToString(out.ETag), size: aws.ToInt64(out.ContentLength),
		metaSHA256: out.Metadata[schema.MetaSHA256], checksum: aws.ToString(out.ChecksumSHA256), checksumType: out.ChecksumType,
		kind: out.Metadata[schema.MetaKind], source: out.Metadata[schema.MetaSource],
		contentType: aws.ToString(out.ContentType), contentEncoding: aws.ToString(out.ContentEncoding),
		storageClass: out.StorageClass,
	}, nil
}

// listCurrent finds the current version of a key S3 will not describe,
// from the version listing (which needs no object key material).
func (w *Writer) listCurrent(ctx context.Context, key, why string) (*currentVersion, error) {
	in := &s3.ListObjectVersionsInput{Bucket: aws.String(w.Bucket), Prefix: aws.String(key), MaxKeys: aws.Int32(10)}
	if w.ExpectedOwner != "" {
		in.ExpectedBucketOwner = aws.String(w.ExpectedOwner)
	}
	out, err := w.S3.ListObjectVersions(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("vault: list versions of s3://%s/%s (its %s): %w%s", w.Bucket, key, why, err, w.deniedHint(err))
	}
	for _, m := range out.DeleteMarkers {
		if aws.ToString(m.Key) == key && aws.ToBool(m.IsLatest) {
			return nil, nil
		}
	}
	for _, v := range out.Versions {
		if aws.ToString(v.Key) == key && aws.ToBool(v.IsLatest) {
			return &currentVersion{versionID: aws.ToString(v.VersionId), etag: aws.ToString(v.ETag), unreadable: why}, nil
		}
	}
	return nil, fmt.Errorf("vault: s3://%s/%s: its %s, and the version listing does not show its current version", w.Bucket, key, why)
}

// deniedHint names the likely causes of a 403 (a HEAD's carries no error
// document, so S3 says only "Forbidden").
func (w *Writer) deniedHint(err error) string {
	if !s3err.Is(err, http.StatusForbidden) {
		return ""
	}
	if w.ExpectedOwner != "" {
		return fmt.Sprintf(" (access denied: the bucket is not owned by VAULT_EXPECTED_OWNER %s, or its policy does not grant the writer this action)", w.ExpectedOwner)
	}
	return " (access denied: the bucket's policy does not grant the writer this action)"
}

// metadataSize is the size S3 counts against its 2 KB limit on user
// metadata: every name and value, in UTF-8 bytes.
func metadataSize(m map[string]string) int {
	n := 0
	for k, v := range m {
		n += len(k) + len(v)
	}
	return n
}

// versioned reports whether S3 answered with a real version id.
func versioned(id *string) bool {
	v := aws.ToString(id)
	return v != "" && v != "null"
}

func (w *Writer) now() time.Time {
	if w.Now != nil {
		return w.Now()
	}
	return time.Now()
}
