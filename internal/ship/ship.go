// Package ship moves one announced source object into the vault: source
// read, SHA-256, vault write, receipt. It is the pipeline every copying
// function (cloudtrail, billing) shares.
package ship

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"

	"github.com/logvault/logvault/internal/schema"
	"github.com/logvault/logvault/internal/source"
	"github.com/logvault/logvault/internal/trigger"
	"github.com/logvault/logvault/internal/vault"
)

// DefaultStrategy is the measured choice for large objects (docs/how-it-works.md, "Large objects").
const DefaultStrategy = Reread

// DefaultMemoryLimit is how much of an object is held in memory before the
// rest is spooled to ephemeral storage; it bounds memory whatever the size.
const DefaultMemoryLimit = vault.MinPartSize

// Copier ships objects byte for byte from source buckets to the vault.
type Copier struct {
	// Account is the source account: the account segment of the vault keys.
	Account string
	Source  *source.Reader
	Vault   *vault.Writer
	// Kind classifies a source key (e.g. CloudTrail logs vs digests).
	Kind func(key string) schema.Kind
	// MemoryLimit overrides DefaultMemoryLimit when positive.
	MemoryLimit int64
	// SpoolDir is where larger objects are spooled ("" = os.TempDir()).
	SpoolDir string
	// MinThroughput overrides DefaultMinThroughput when positive.
	MinThroughput int64
	// Strategy for objects larger than MemoryLimit ("" = DefaultStrategy).
	Strategy Strategy
}

// Ship copies ref's object into the vault and returns the receipt. It returns
// only after the vault confirmed the version (or found it already current).
func (c *Copier) Ship(ctx context.Context, ref trigger.ObjectRef) (vault.Receipt, error) {
	kind := c.Kind(ref.Key)
	key, err := schema.CopiedKey(kind, c.Account, ref.Bucket, ref.Key)
	if err != nil {
		return vault.Receipt{}, err
	}
	obj, err := c.Source.Open(ctx, ref)
	if err != nil {
		return vault.Receipt{Key: key}, err
	}
	defer obj.Body.Close()

	if err := c.checkTime(ctx, obj.Size); err != nil {
		return vault.Receipt{Key: key}, fmt.Errorf("ship: s3://%s/%s: %w", ref.Bucket, ref.Key, err)
	}
	h := vault.NewHasher(obj.Size)
	var body io.ReadSeeker
	var n int64
	var cleanup func()
	if c.strategy() == Reread && obj.Size > c.memoryLimit() {
		n, err = c.hashRead(ctx, ref, obj, h)
		rr := newRereader(ctx, c.Source, ref, obj)
		body, cleanup = rr, func() { rr.Close() }
	} else {
		body, n, cleanup, err = c.spool(obj.Body, h, obj.Size)
	}
	if err != nil {
		return vault.Receipt{Key: key}, fmt.Errorf("ship: read s3://%s/%s: %w", ref.Bucket, ref.Key, err)
	}
	defer cleanup()
	if n != obj.Size {
		return vault.Receipt{Key: key}, fmt.Errorf("ship: read s3://%s/%s: got %d bytes, source announced %d", ref.Bucket, ref.Key, n, obj.Size)
	}
	sum, parts := h.Sums()
	var copySrc *vault.CopySource
	if _, reread := body.(*rereader); reread {
		// The hashing read was pinned to this version (or ETag): S3 may copy
		// exactly it, each part checked against the digests just computed.
		copySrc = &vault.CopySource{Bucket: ref.Bucket, Key: ref.Key, VersionID: obj.VersionID, ETag: obj.ETag}
	}
	return c.Vault.Put(ctx, vault.Object{
		Key:             key,
		Kind:            kind,
		Source:          schema.SourceURI(ref.Bucket, ref.Key),
		SourceVersionID: obj.VersionID,
		SourceETag:      obj.ETag,
		ContentType:     obj.ContentType,
		ContentEncoding: obj.ContentEncoding,
		UserMetadata:    obj.Metadata,
		SHA256:          sum,
		PartSHA256:      parts,
		Size:            n,
		CopySource:      copySrc,
	}, body)
}

func (c *Copier) memoryLimit() int64 {
	if c.MemoryLimit > 0 {
		return c.MemoryLimit
	}
	return DefaultMemoryLimit
}

func (c *Copier) strategy() Strategy {
	if c.Strategy != "" {
		return c.Strategy
	}
	return DefaultStrategy
}

// spool reads r once, hashing as it goes, into memory up to the limit and
// into a temporary file beyond it, and returns a rewindable copy.
func (c *Copier) spool(r io.Reader, h io.Writer, size int64) (io.ReadSeeker, int64, func(), error) {
	limit := c.memoryLimit()
	nothing := func() {}
	if size <= limit {
		var buf bytes.Buffer
		buf.Grow(int(size))
		n, err := io.Copy(io.MultiWriter(&buf, h), io.LimitReader(r, limit+1))
		if err != nil {
			return nil, 0, nothing, err
		}
		if n > limit {
			return nil, 0, nothing, fmt.Errorf("the source sent more than the %d bytes it announced", size)
		}
		return bytes.NewReader(buf.Bytes()), n, nothing, nil
	}
	return c.spoolFile(r, h, size)
}

func (c *Copier) spoolFile(r io.Reader, h io.Writer, size int64) (io.ReadSeeker, int64, func(), error) {
	nothing := func() {}
	if err := checkSpace(c.SpoolDir, size); err != nil {
		return nil, 0, nothing, err
	}
	f, err := os.CreateTemp(c.SpoolDir, "logvault-spool-*")
	if err != nil {
		return nil, 0, nothing, err
	}
	cleanup := func() { f.Close(); os.Remove(f.Name()) }
	n, err := io.Copy(f, io.TeeReader(r, h))
	if err != nil {
		cleanup()
		return nil, 0, nothing, err
	}
	return f, n, cleanup, nil
}
