package vault_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/logvault/logvault/internal/s3mem"
	"github.com/logvault/logvault/internal/schema"
	"github.com/logvault/logvault/internal/vault"
)

const (
	copySrcBucket = "source"
	copyKey       = "billing/source/cur/data/BILLING_PERIOD=2026-11/big.csv.gz"
	copySrcKey    = "cur/data/BILLING_PERIOD=2026-11/big.csv.gz"
)

// copyEnv is a vault and a source bucket in one in-memory S3, the source
// holding a 20 MiB object (three parts) hashed as the hashing read does.
type copyEnv struct {
	srv   *s3mem.Server
	api   *copyRecorder
	body  []byte
	ver   string
	etag  string
	sum   [32]byte
	parts [][32]byte
	logs  bytes.Buffer
}

// copyRecorder counts the part copies and uploads, and may refuse copies
// (a source that does not grant the writer read) or forge their checksum.
type copyRecorder struct {
	*s3mem.Server
	copies, uploads atomic.Int32
	deny            bool
	forge           int32 // the part number whose checksum is forged, 0 none
	before          func(part int32)
}

func (r *copyRecorder) UploadPartCopy(ctx context.Context, in *s3.UploadPartCopyInput, o ...func(*s3.Options)) (*s3.UploadPartCopyOutput, error) {
	r.copies.Add(1)
	if r.deny {
		return nil, s3mem.APIError("UploadPartCopy", 403, "AccessDenied", "Access Denied")
	}
	if r.before != nil {
		r.before(aws.ToInt32(in.PartNumber))
	}
	out, err := r.Server.UploadPartCopy(ctx, in, o...)
	if err == nil && aws.ToInt32(in.PartNumber) == r.forge {
		out.CopyPartResult.ChecksumSHA256 = aws.String("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=")
	}
	return out, err
}

func (r *copyRecorder) UploadPart(ctx context.Context, in *s3.UploadPartInput, o ...func(*s3.Options)) (*s3.UploadPartOutput, error) {
	r.uploads.Add(1)
	return r.Server.UploadPart(ctx, in, o...)
}

func newCopyEnv(t *testing.T, versioned bool) *copyEnv {
	srv := s3mem.New()
	srv.CreateBucket(copySrcBucket, s3mem.BucketConfig{Versioned: versioned})
	srv.CreateBucket(vaultBucket, s3mem.BucketConfig{Versioned: true})
	e := &copyEnv{srv: srv, api: &copyRecorder{Server: srv}, body: make([]byte, 20<<20)}
	rand.NewChaCha8([32]byte{3}).Read(e.body)
	out, err := srv.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(copySrcBucket), Key: aws.String(copySrcKey), Body: bytes.NewReader(e.body)})
	if err != nil {
		t.Fatal(err)
	}
	e.ver, e.etag = aws.ToString(out.VersionId), strings.Trim(aws.ToString(out.ETag), `"`)
	h := vault.NewHasher(int64(len(e.body)))
	h.Write(e.body)
	e.sum, e.parts = h.Sums()
	return e
}

func (e *copyEnv) writer() *vault.Writer {
	return &vault.Writer{S3: e.api, Uploader: vault.NewUploader(e.api), Bucket: vaultBucket, Shipper: "logvault-billing/test",
		Copies: &vault.CopyState{}, Log: slog.New(slog.NewJSONHandler(&e.logs, nil))}
}

func (e *copyEnv) object() vault.Object {
	src := &vault.CopySource{Bucket: copySrcBucket, Key: copySrcKey, VersionID: e.ver}
	if e.ver == "" {
		src.ETag = e.etag
	}
	return vault.Object{Key: copyKey, Kind: schema.KindBilling, Source: schema.SourceURI(copySrcBucket, copySrcKey), SourceVersionID: e.ver,
		SourceETag: e.etag, SHA256: e.sum, PartSHA256: e.parts, Size: int64(len(e.body)), CopySource: src}
}

// failingBody is a body that must not be read: the copy is server-side.
type failingBody struct{}

func (failingBody) Read([]byte) (int, error) {
	return 0, errors.New("the body was read: the copy was not server-side")
}
func (failingBody) Seek(int64, int) (int64, error) { return 0, nil }
func (e *copyEnv) vaultBytes(t *testing.T) [][]byte {
	t.Helper()
	var out [][]byte
	for _, v := range e.srv.Versions(vaultBucket, copyKey) {
		out = append(out, v.Body)
	}
	return out
}

func TestServerSideCopy(t *testing.T) {
	for _, versioned := range []bool{true, false} {
		t.Run(fmt.Sprintf("versioned source %v", versioned), func(t *testing.T) {
			e := newCopyEnv(t, versioned)
			rec, err := e.writer().Put(context.Background(), e.object(), failingBody{})
			if err != nil {
				t.Fatal(err)
			}
			vs := e.vaultBytes(t)
			if rec.Outcome != vault.Created || !rec.Copied || len(vs) != 1 || !bytes.Equal(vs[0], e.body) || e.api.copies.Load() != 3 || e.api.uploads.Load() != 0 {
				t.Fatalf("receipt %+v, %d versions, %d part copies, %d part uploads: want one version of the source's bytes, copied in 3 parts", rec, len(vs), e.api.copies.Load(), e.api.uploads.Load())
			}
			v := e.srv.Versions(vaultBucket, copyKey)[0]
			if v.Metadata[schema.MetaSHA256] != hex.EncodeToString(e.sum[:]) || v.ChecksumSHA256 != s3mem.ChecksumOf(e.body, v.PartSizes) || v.Metadata[schema.MetaSourceETag] != e.etag {
				t.Errorf("version metadata %v, checksum %s: want the record of the hashed bytes", v.Metadata, v.ChecksumSHA256)
			}
			if e.srv.Uploads(vaultBucket) != 0 {
				t.Errorf("%d uploads left open", e.srv.Uploads(vaultBucket))
			}
		})
	}
}

// The source changes between the hashing read and the copy: the copy ships
// the hashed version (versioned source) or fails with nothing left behind
// (unversioned: the ETag pin no longer holds). Never a version whose bytes
// are not those logvault-sha256 names.
func TestServerSideCopySourceChanges(t *testing.T) {
	for _, versioned := range []bool{true, false} {
		t.Run(fmt.Sprintf("versioned source %v", versioned), func(t *testing.T) {
			e := newCopyEnv(t, versioned)
			e.api.before = func(part int32) {
				if part == 2 {
					e.srv.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(copySrcBucket), Key: aws.String(copySrcKey),
						Body: bytes.NewReader(bytes.Repeat([]byte("x"), len(e.body)))})
				}
			}
			w := e.writer()
			rec, err := w.Put(context.Background(), e.object(), failingBody{})
			vs := e.vaultBytes(t)
			for i, b := range vs {
				if !bytes.Equal(b, e.body) {
					t.Errorf("vault version %d holds bytes other than the hashed ones", i)
				}
			}
			if versioned {
				if err != nil || rec.Outcome != vault.Created || len(vs) != 1 {
					t.Fatalf("versioned: %+v, %v, %d versions: want the hashed version copied", rec, err, len(vs))
				}
			} else if !errors.Is(err, vault.ErrSourceChanged) || len(vs) != 0 || e.api.copies.Load() > 3 {
				t.Fatalf("unversioned: %+v, %v, %d versions: want a failure and nothing written", rec, err, len(vs))
			}
			if e.srv.Uploads(vaultBucket) != 0 {
				t.Errorf("%d uploads left open", e.srv.Uploads(vaultBucket))
			}
		})
	}
}

// A part whose S3 checksum is not the hashing read's aborts the upload and
// fails the shipment.
func TestServerSideCopyChecksumMismatch(t *testing.T) {
	e := newCopyEnv(t, true)
	e.api.forge = 3
	_, err := e.writer().Put(context.Background(), e.object(), failingBody{})
	if !errors.Is(err, vault.ErrPartChecksum) || len(e.vaultBytes(t)) != 0 || e.srv.Uploads(vaultBucket) != 0 {
		t.Fatalf("error %v, %d versions, %d uploads open: want ErrPartChecksum and nothing left", err, len(e.vaultBytes(t)), e.srv.Uploads(vaultBucket))
	}
}

// Without the writer's read grant on the source the object is uploaded from
// the function; the log says why once, and the copy is not tried again.
func TestServerSideCopyFallsBack(t *testing.T) {
	e := newCopyEnv(t, true)
	e.api.deny = true
	w := e.writer()
	for i := range 2 {
		rec, err := w.Put(context.Background(), e.object(), readSeeker{bytes.NewReader(e.body)})
		if err != nil || rec.Copied || (i == 0 && rec.Outcome != vault.Created) || (i == 1 && rec.Outcome != vault.Duplicate) {
			t.Fatalf("put %d: %+v, %v", i, rec, err)
		}
	}
	// A third object of the same bucket is not copied: its key is another.
	o := e.object()
	o.Key = copyKey + ".2"
	if _, err := w.Put(context.Background(), o, readSeeker{bytes.NewReader(e.body)}); err != nil {
		t.Fatal(err)
	}
	if n := e.api.copies.Load(); n < 1 || n > 3 {
		t.Errorf("%d part copies tried, want those of the first object only (1 to 3, refused)", n)
	}
	if n := strings.Count(e.logs.String(), "server-side copy unavailable"); n != 1 || !strings.Contains(e.logs.String(), copySrcBucket) {
		t.Errorf("log says it %d times, want once naming the bucket:\n%s", n, e.logs.String())
	}
	if vs := e.vaultBytes(t); len(vs) != 1 || !bytes.Equal(vs[0], e.body) || e.api.uploads.Load() != 6 {
		t.Errorf("%d versions, %d part uploads: want the bytes uploaded (3 parts each for two keys)", len(vs), e.api.uploads.Load())
	}
}

// readSeeker is an io.ReadSeeker without a WriterTo, as the re-read source is.
type readSeeker struct{ r *bytes.Reader }

func (r readSeeker) Read(p []byte) (int, error)            { return r.r.Read(p) }
func (r readSeeker) Seek(off int64, wh int) (int64, error) { return r.r.Seek(off, wh) }

var _ io.ReadSeeker = readSeeker{}
