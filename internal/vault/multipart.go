package vault

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"hash"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	tmtypes "github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/logvault/logvault/internal/s3err"
)

// MinPartSize is the size of a multipart upload's or copy's parts (S3's
// minimum is 5 MiB) unless the object is so large that 10,000 parts would
// not hold it (PartSize); an object larger than one part goes in parts.
// The hashing read's ranges, the shipper's memory limit and the handler's
// budget use it, so the part digests and the memory bounds agree.
const MinPartSize = 8 << 20

// Multipart layout.
const (
	maxParts     = 10000
	partRounding = 1 << 20
	// uploadConcurrency parts are in flight at once: memory is about
	// (uploadConcurrency+1) × part size, whatever the object's size.
	uploadConcurrency = 3
)

// PartSize is the part size logvault uses for an object of size bytes;
// objects of at most one part are written with a single PutObject.
func PartSize(size int64) int64 {
	ps := int64(MinPartSize)
	if size/ps >= maxParts {
		ps = (size/maxParts + partRounding) / partRounding * partRounding
	}
	return ps
}

// Hasher computes, in one pass, an object's SHA-256 and the SHA-256 of each
// of its parts (PartSize), for S3's per-part checksums. The first part's
// digest is the whole object's hash state at its end, so bytes of the first
// part (all of an object of one part) are hashed once; the bytes of later
// parts feed both hashes, on two goroutines for large writes, so hashing
// keeps up with one core's SHA-256 rate.
type Hasher struct {
	partSize int64
	whole    hash.Hash
	part     hash.Hash // the current part, after the first
	inPart   int64
	parts    [][32]byte
	done     chan struct{}
}

// parallelWrite is the smallest write whose part hash is computed on its own
// goroutine: below it, waking the other core costs more than it saves.
// ReadFrom reads in blocks of readBlock so that io.Copy from a network body
// (32 KiB reads) gets the parallel path too.
const (
	parallelWrite = 256 << 10
	readBlock     = 4 << 20
)

// NewHasher hashes an object that will be size bytes long.
func NewHasher(size int64) *Hasher {
	return &Hasher{partSize: PartSize(size), whole: sha256.New(), part: sha256.New(), done: make(chan struct{}, 1)}
}

// ReadFrom hashes everything r yields, in blocks of readBlock (one block of
// memory, whatever the size): what io.Copy(h, body) calls.
func (h *Hasher) ReadFrom(r io.Reader) (int64, error) {
	buf := make([]byte, readBlock)
	var total int64
	for {
		n, err := io.ReadFull(r, buf)
		if n > 0 {
			h.Write(buf[:n])
			total += int64(n)
		}
		switch {
		case err == io.EOF || err == io.ErrUnexpectedEOF:
			return total, nil
		case err != nil:
			return total, err
		}
	}
}

// Write implements io.Writer.
func (h *Hasher) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		take := min(h.partSize-h.inPart, int64(len(p)))
		chunk := p[:take]
		switch {
		case len(h.parts) == 0: // the first part: its hash is the whole's so far
			h.whole.Write(chunk)
		case len(chunk) >= parallelWrite:
			go func() { h.part.Write(chunk); h.done <- struct{}{} }()
			h.whole.Write(chunk)
			<-h.done
		default:
			h.whole.Write(chunk)
			h.part.Write(chunk)
		}
		h.inPart += take
		p = p[take:]
		if h.inPart == h.partSize {
			h.closePart()
		}
	}
	return n, nil
}

func (h *Hasher) closePart() {
	var s [32]byte
	if len(h.parts) == 0 {
		copy(s[:], h.whole.Sum(nil))
	} else {
		copy(s[:], h.part.Sum(nil))
		h.part.Reset()
	}
	h.parts = append(h.parts, s)
	h.inPart = 0
}

// Sums returns the whole object's SHA-256 and each part's.
func (h *Hasher) Sums() (whole [32]byte, parts [][32]byte) {
	if h.inPart > 0 || len(h.parts) == 0 {
		h.closePart()
	}
	copy(whole[:], h.whole.Sum(nil))
	return whole, h.parts
}

// compositeChecksum is what S3 reports for a multipart object written with
// SHA256 part checksums: the SHA-256 of the parts' digests, then "-<parts>".
func compositeChecksum(parts [][32]byte) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write(p[:])
	}
	return base64.StdEncoding.EncodeToString(h.Sum(nil)) + "-" + strconv.Itoa(len(parts))
}

// NewUploader returns the transfer manager the writer uses for multipart
// uploads: SHA256 on every part, and a failed upload aborted with a fresh
// 30-second context even when the invocation's own context is cancelled.
func NewUploader(c transfermanager.S3APIClient) *transfermanager.Client {
	return transfermanager.New(c, func(o *transfermanager.Options) {
		o.ChecksumAlgorithm = tmtypes.ChecksumAlgorithmSha256
		o.Concurrency = uploadConcurrency
		o.FailTimeout = 30 * time.Second
	})
}

// uploadCleaner is what the writer needs to find and discard unfinished
// multipart uploads of a key (*s3.Client has both).
type uploadCleaner interface {
	ListMultipartUploads(ctx context.Context, in *s3.ListMultipartUploadsInput, optFns ...func(*s3.Options)) (*s3.ListMultipartUploadsOutput, error)
	AbortMultipartUpload(ctx context.Context, in *s3.AbortMultipartUploadInput, optFns ...func(*s3.Options)) (*s3.AbortMultipartUploadOutput, error)
}

// abortUnfinished aborts every unfinished multipart upload of key, once the
// key's object is confirmed in the vault. They were left by earlier
// attempts that the transfer manager could not abort: a
// CreateMultipartUpload whose answer was lost in transit (the upload exists,
// its id never arrived), an abort that failed, an invocation killed at its
// timeout. An upload a concurrent delivery of the same key still has in
// progress is aborted too: that delivery fails and, retried, finds the
// object vaulted. Aborting discards only unfinished uploads, never stored
// versions. Without s3:ListBucketMultipartUploads (a vault deployed from
// an older template) nothing is listed and the lifecycle rule cleans up.
func (w *Writer) abortUnfinished(ctx context.Context, key string) error {
	c, ok := w.S3.(uploadCleaner)
	if !ok {
		return nil
	}
	in := &s3.ListMultipartUploadsInput{Bucket: aws.String(w.Bucket), Prefix: aws.String(key)}
	if w.ExpectedOwner != "" {
		in.ExpectedBucketOwner = aws.String(w.ExpectedOwner)
	}
	for {
		out, err := c.ListMultipartUploads(ctx, in)
		if err != nil {
			if s3err.Is(err, http.StatusForbidden) {
				return nil
			}
			return fmt.Errorf("vault: list unfinished uploads of s3://%s/%s: %w", w.Bucket, key, err)
		}
		for _, u := range out.Uploads {
			if aws.ToString(u.Key) != key {
				continue
			}
			ab := &s3.AbortMultipartUploadInput{Bucket: aws.String(w.Bucket), Key: u.Key, UploadId: u.UploadId, ExpectedBucketOwner: in.ExpectedBucketOwner}
			if _, err := c.AbortMultipartUpload(ctx, ab); err != nil && !s3err.Is(err, http.StatusNotFound) {
				return fmt.Errorf("vault: abort unfinished upload %s of s3://%s/%s: %w", aws.ToString(u.UploadId), w.Bucket, key, err)
			}
		}
		if !aws.ToBool(out.IsTruncated) {
			return nil
		}
		in.KeyMarker, in.UploadIdMarker = out.NextKeyMarker, out.NextUploadIdMarker
	}
}

// putMultipart writes in via the transfer manager. The body is handed over
// as a plain reader of known length, read once, sequentially.
func (w *Writer) putMultipart(ctx context.Context, in *s3.PutObjectInput, obj Object, body io.Reader) (*s3.PutObjectOutput, error) {
	ps := PartSize(obj.Size)
	up := &transfermanager.UploadObjectInput{
		Bucket:                    in.Bucket,
		Key:                       in.Key,
		Body:                      struct{ io.Reader }{body},
		ContentLength:             in.ContentLength,
		ChecksumAlgorithm:         tmtypes.ChecksumAlgorithmSha256,
		Metadata:                  in.Metadata,
		ContentType:               in.ContentType,
		ContentEncoding:           in.ContentEncoding,
		ExpectedBucketOwner:       in.ExpectedBucketOwner,
		IfMatch:                   in.IfMatch,
		IfNoneMatch:               in.IfNoneMatch,
		ObjectLockMode:            tmtypes.ObjectLockMode(in.ObjectLockMode),
		ObjectLockRetainUntilDate: in.ObjectLockRetainUntilDate,
	}
	out, err := w.Uploader.UploadObject(ctx, up, func(o *transfermanager.Options) {
		o.PartSizeBytes, o.MultipartUploadThreshold = ps, ps
	})
	if err != nil {
		return nil, err
	}
	if want := compositeChecksum(obj.PartSHA256); len(obj.PartSHA256) > 0 && aws.ToString(out.ChecksumSHA256) != want {
		return nil, fmt.Errorf("S3 reports checksum %s for the parts, expected %s", aws.ToString(out.ChecksumSHA256), want)
	}
	return &s3.PutObjectOutput{VersionId: out.VersionID}, nil
}
