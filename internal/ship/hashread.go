package ship

import (
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/logvault/logvault/internal/source"
	"github.com/logvault/logvault/internal/trigger"
	"github.com/logvault/logvault/internal/vault"
)

// The hashing read of a large object: ranged GETs of readRange bytes,
// readers at once, pinned to the first read's version (or ETag), fed to the
// hasher in order. Memory: readers × readRange, whatever the size.
const (
	readRange = vault.MinPartSize
	readers   = 4
)

var rangeBufs = sync.Pool{New: func() any { b := make([]byte, readRange); return &b }}

// hashRead feeds every byte of obj, as first opened, to h in order and
// returns how many there were: the first range from obj.Body (which it
// closes), the others from ranged GETs pinned to the same version or ETag.
func (c *Copier) hashRead(ctx context.Context, ref trigger.ObjectRef, obj *source.Object, h io.Writer) (int64, error) {
	pinned := pin(ref, obj)
	n := int((obj.Size + readRange - 1) / readRange)
	type chunk struct {
		buf *[]byte
		n   int
		err error
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	results := make([]chan chunk, n)
	for i := range results {
		results[i] = make(chan chunk, 1)
	}
	slots := make(chan struct{}, readers)
	go func() {
		for i := range n {
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				return
			}
			go func() {
				from := int64(i) * readRange
				to := min(from+readRange, obj.Size) - 1
				bp := rangeBufs.Get().(*[]byte)
				body := obj.Body // the first range: the first read's own bytes
				if i > 0 {
					part, err := c.Source.OpenRange(ctx, pinned, fmt.Sprintf("bytes=%d-%d", from, to))
					if err != nil {
						results[i] <- chunk{buf: bp, err: err}
						return
					}
					body = part.Body
				}
				got, err := io.ReadFull(body, (*bp)[:to-from+1])
				body.Close()
				results[i] <- chunk{buf: bp, n: got, err: err}
			}()
		}
	}()
	var total int64
	for i := range n {
		var ch chunk
		select {
		case ch = <-results[i]:
		case <-ctx.Done():
			return total, ctx.Err()
		}
		if ch.err != nil {
			rangeBufs.Put(ch.buf)
			return total, fmt.Errorf("range %d of %d: %w", i+1, n, ch.err)
		}
		h.Write((*ch.buf)[:ch.n])
		total += int64(ch.n)
		rangeBufs.Put(ch.buf)
		<-slots
	}
	return total, nil
}

// pin is ref pinned to what its first read returned: the version, or the
// ETag of an unversioned source, even where the notification named neither.
func pin(ref trigger.ObjectRef, first *source.Object) trigger.ObjectRef {
	if first.VersionID != "" {
		ref.VersionID = first.VersionID
	} else if first.ETag != "" {
		ref.ETag = first.ETag
	}
	return ref
}
