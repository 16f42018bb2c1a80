package ship

import (
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/logvault/logvault/internal/source"
	"github.com/logvault/logvault/internal/trigger"
)

// The hashing read of a large object: ranged GETs of readRange bytes,
// readers at once, pinned to the first read's version (or ETag), fed to the
// hasher in order. Memory: readers × readRange, whatever the size.
const (
	readRange = 8 << 20
	readers   = 4
)

var rangeBufs = sync.Pool{New: func() any { b := make([]byte, readRange); return &b }}

// hashRead feeds every byte of obj, as first opened, to h in order and
// returns how many there were. obj.Body is closed: the ranges are read
// afresh, concurrently.
func (c *Copier) hashRead(ctx context.Context, ref trigger.ObjectRef, obj *source.Object, h io.Writer) (int64, error) {
	obj.Body.Close()
	pinned := ref
	if obj.VersionID != "" {
		pinned.VersionID = obj.VersionID
	} else if obj.ETag != "" {
		pinned.ETag = obj.ETag
	}
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
				part, err := c.Source.OpenRange(ctx, pinned, fmt.Sprintf("bytes=%d-%d", from, to))
				if err != nil {
					results[i] <- chunk{buf: bp, err: err}
					return
				}
				got, err := io.ReadFull(part.Body, (*bp)[:to-from+1])
				part.Body.Close()
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
