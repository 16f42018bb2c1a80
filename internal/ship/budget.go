package ship

import (
	"context"
	"fmt"
	"os"
	"syscall"
	"time"
)

// DefaultMinThroughput is the copy rate (read and write, bytes per second)
// assumed when deciding whether an object can be shipped in the time an
// invocation has left. It is deliberately low: failing early and being
// retried beats being killed mid-upload.
const DefaultMinThroughput = 32 << 20

// setupMargin covers the calls around the copy (look-ups, completion).
const setupMargin = 5 * time.Second

// checkTime fails when the invocation's deadline leaves too little time to
// copy size bytes at the assumed throughput.
func (c *Copier) checkTime(ctx context.Context, size int64) error {
	deadline, ok := ctx.Deadline()
	if !ok {
		return nil
	}
	rate := c.MinThroughput
	if rate <= 0 {
		rate = DefaultMinThroughput
	}
	// Read once and write once: twice the bytes at the assumed rate.
	need := time.Duration(float64(2*size)/float64(rate)*float64(time.Second)) + setupMargin
	if left := time.Until(deadline); left < need {
		return fmt.Errorf("%d MiB needs about %s at %d MiB/s, only %s of the invocation remain: not starting (the event will be retried; raise the function's timeout)",
			size>>20, need.Round(time.Second), rate>>20, left.Round(time.Second))
	}
	return nil
}

// checkSpace fails when the spool folder cannot hold size bytes.
func checkSpace(dir string, size int64) error {
	if dir == "" {
		dir = os.TempDir()
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return nil // cannot tell: let the write itself fail if it must
	}
	if free := int64(st.Bavail) * int64(st.Bsize); free < size {
		return fmt.Errorf("spool folder %s has %d MiB free, the object needs %d MiB (raise the function's ephemeral storage)", dir, free>>20, size>>20)
	}
	return nil
}
