package vault

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"golang.org/x/sync/errgroup"

	"github.com/logvault/logvault/internal/s3err"
)

// CopySource names the source version a large object may be copied from
// server-side, after its hashing read: pinned to VersionID when the source
// is versioned, else to ETag.
type CopySource struct {
	Bucket, Key, VersionID, ETag string
}

// partCopier is what a server-side copy needs of the S3 API.
type partCopier interface {
	CreateMultipartUpload(ctx context.Context, in *s3.CreateMultipartUploadInput, optFns ...func(*s3.Options)) (*s3.CreateMultipartUploadOutput, error)
	UploadPartCopy(ctx context.Context, in *s3.UploadPartCopyInput, optFns ...func(*s3.Options)) (*s3.UploadPartCopyOutput, error)
	CompleteMultipartUpload(ctx context.Context, in *s3.CompleteMultipartUploadInput, optFns ...func(*s3.Options)) (*s3.CompleteMultipartUploadOutput, error)
	AbortMultipartUpload(ctx context.Context, in *s3.AbortMultipartUploadInput, optFns ...func(*s3.Options)) (*s3.AbortMultipartUploadOutput, error)
}

// copyConcurrency parts are copied at once: a copy holds no bytes in the
// function, so the bound is S3's request rate, not memory.
const copyConcurrency = 8

// errCopyDenied marks a source the writer may not read: the object is
// uploaded from the function instead.
var errCopyDenied = errors.New("the writer may not read the source")

// ErrSourceChanged means the source version (or ETag) the hashing read was
// pinned to is gone by the time S3 copies it: nothing is written.
var ErrSourceChanged = errors.New("the source object changed after it was hashed")

// ErrPartChecksum means S3's checksum of a copied part is not the one the
// hashing read computed: the source changed, or S3 copied other bytes. The
// upload is aborted; no version is written.
var ErrPartChecksum = errors.New("a copied part's checksum differs from the hashed bytes'")

// CopyState remembers, per source bucket, that the writer may not read it,
// so the copy is not tried again before the next cold start.
type CopyState struct {
	mu     sync.Mutex
	denied map[string]bool
}

func (c *CopyState) isDenied(bucket string) bool {
	if c == nil {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.denied[bucket]
}

// deny records bucket as unreadable and reports whether it is news.
func (c *CopyState) deny(bucket string) bool {
	if c == nil {
		return true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.denied == nil {
		c.denied = map[string]bool{}
	}
	if c.denied[bucket] {
		return false
	}
	c.denied[bucket] = true
	return true
}

// putLarge writes a multipart object: copied server-side from
// obj.CopySource when the writer may read it, else uploaded from body.
func (w *Writer) putLarge(ctx context.Context, in *s3.PutObjectInput, obj Object, body io.ReadSeeker) (*s3.PutObjectOutput, bool, error) {
	c, ok := w.S3.(partCopier)
	if src := obj.CopySource; src != nil && ok && !w.Copies.isDenied(src.Bucket) {
		out, err := w.putMultipartCopy(ctx, c, in, obj, *src)
		if !errors.Is(err, errCopyDenied) {
			return out, err == nil, err
		}
		if w.Copies.deny(src.Bucket) && w.Log != nil {
			w.Log.WarnContext(ctx, "server-side copy unavailable: large objects of this bucket are uploaded from the function",
				"source_bucket", src.Bucket, "error", err.Error(),
				"fix", "grant the vault writer role s3:GetObject and s3:GetObjectVersion on the source bucket (docs/deploy.md)")
		}
		if _, err := body.Seek(0, io.SeekStart); err != nil {
			return nil, false, fmt.Errorf("rewind body of %s: %w", obj.Key, err)
		}
	}
	out, err := w.putMultipart(ctx, in, obj, body)
	return out, false, err
}

// putMultipartCopy writes obj as a multipart upload whose parts S3 copies
// from src (UploadPartCopy, pinned to src's version or ETag). S3 computes
// each part's SHA-256 as it copies; every one must equal the digest the
// hashing read computed (obj.PartSHA256) before the upload is completed,
// else it is aborted: no version ever holds bytes other than those hashed.
func (w *Writer) putMultipartCopy(ctx context.Context, c partCopier, in *s3.PutObjectInput, obj Object, src CopySource) (*s3.PutObjectOutput, error) {
	ps := PartSize(obj.Size)
	n := int((obj.Size + ps - 1) / ps)
	if len(obj.PartSHA256) != n {
		return nil, fmt.Errorf("server-side copy of %s: %d part digests for %d parts", obj.Key, len(obj.PartSHA256), n)
	}
	created, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{
		Bucket: in.Bucket, Key: in.Key, ChecksumAlgorithm: types.ChecksumAlgorithmSha256,
		Metadata: in.Metadata, ContentType: in.ContentType, ContentEncoding: in.ContentEncoding,
		ExpectedBucketOwner: in.ExpectedBucketOwner,
	})
	if err != nil {
		return nil, err
	}
	id := created.UploadId
	abort := func() {
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		c.AbortMultipartUpload(actx, &s3.AbortMultipartUploadInput{Bucket: in.Bucket, Key: in.Key, UploadId: id, ExpectedBucketOwner: in.ExpectedBucketOwner})
	}
	parts := make([]types.CompletedPart, n)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(copyConcurrency)
	for i := range n {
		g.Go(func() error {
			p, err := w.copyPart(gctx, c, in, id, src, i, ps, obj)
			parts[i] = p
			return err
		})
	}
	if err := g.Wait(); err != nil {
		abort()
		return nil, err
	}
	out, err := c.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket: in.Bucket, Key: in.Key, UploadId: id, MultipartUpload: &types.CompletedMultipartUpload{Parts: parts},
		IfMatch: in.IfMatch, IfNoneMatch: in.IfNoneMatch, ExpectedBucketOwner: in.ExpectedBucketOwner,
	})
	if err != nil {
		abort()
		return nil, err
	}
	if want := compositeChecksum(obj.PartSHA256); aws.ToString(out.ChecksumSHA256) != want {
		return nil, fmt.Errorf("S3 reports checksum %s for the copied parts, expected %s", aws.ToString(out.ChecksumSHA256), want)
	}
	return &s3.PutObjectOutput{VersionId: out.VersionId}, nil
}

// copyPart copies part i and checks S3's checksum of it.
func (w *Writer) copyPart(ctx context.Context, c partCopier, in *s3.PutObjectInput, id *string, src CopySource, i int, ps int64, obj Object) (types.CompletedPart, error) {
	from := int64(i) * ps
	to := min(from+ps, obj.Size) - 1
	pin := &s3.UploadPartCopyInput{
		Bucket: in.Bucket, Key: in.Key, UploadId: id, PartNumber: aws.Int32(int32(i + 1)),
		CopySource: aws.String(CopySourceHeader(src.Bucket, src.Key, src.VersionID)), CopySourceRange: aws.String(fmt.Sprintf("bytes=%d-%d", from, to)),
		ExpectedBucketOwner: in.ExpectedBucketOwner,
	}
	if src.VersionID == "" && src.ETag != "" {
		pin.CopySourceIfMatch = aws.String(`"` + src.ETag + `"`)
	}
	out, err := c.UploadPartCopy(ctx, pin)
	if err != nil {
		if s3err.Is(err, http.StatusForbidden) {
			return types.CompletedPart{}, fmt.Errorf("%w s3://%s/%s: %w", errCopyDenied, src.Bucket, src.Key, err)
		}
		if s3err.Is(err, http.StatusPreconditionFailed) || s3err.Is(err, http.StatusNotFound) {
			// The source's pin no longer holds: not the vault key's 412, which
			// the writer answers by looking at the key again.
			return types.CompletedPart{}, fmt.Errorf("%w: copy part %d of s3://%s/%s: %v", ErrSourceChanged, i+1, src.Bucket, src.Key, err)
		}
		return types.CompletedPart{}, fmt.Errorf("copy part %d of s3://%s/%s: %w", i+1, src.Bucket, src.Key, err)
	}
	if out.CopyPartResult == nil {
		return types.CompletedPart{}, fmt.Errorf("copy part %d of s3://%s/%s: no CopyPartResult", i+1, src.Bucket, src.Key)
	}
	want := base64.StdEncoding.EncodeToString(obj.PartSHA256[i][:])
	if got := aws.ToString(out.CopyPartResult.ChecksumSHA256); got != want {
		return types.CompletedPart{}, fmt.Errorf("%w: part %d of s3://%s/%s: S3 computed %q, the hashing read %s", ErrPartChecksum, i+1, src.Bucket, src.Key, got, want)
	}
	return types.CompletedPart{ETag: out.CopyPartResult.ETag, PartNumber: aws.Int32(int32(i + 1)), ChecksumSHA256: aws.String(want)}, nil
}

// CopySourceHeader is the x-amz-copy-source naming bucket/key: the key
// percent-encoded but for RFC 3986's unreserved characters and "/", then
// "?versionId=" when versionID is set.
func CopySourceHeader(bucket, key, versionID string) string {
	var b strings.Builder
	for _, c := range []byte(bucket + "/" + key) {
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("-_.~/", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	if versionID != "" {
		b.WriteString("?versionId=" + url.QueryEscape(versionID))
	}
	return b.String()
}
