package ship

import (
	"context"
	"errors"
	"io"

	"github.com/logvault/logvault/internal/source"
	"github.com/logvault/logvault/internal/trigger"
)

// Strategy is how a large object's SHA-256 is known before it is written.
type Strategy string

// The strategies; see docs/how-it-works.md for the measurements behind the default.
const (
	// Spool reads the source once into ephemeral storage while hashing,
	// then uploads from there. Needs free /tmp the size of the object.
	Spool Strategy = "spool"
	// Reread hashes a first read of the source, then uploads a second read
	// pinned to the same version (or ETag). Needs no disk.
	Reread Strategy = "reread"
)

// rereader is a rewindable view of a pinned source object: every rewind
// opens it again, so retries and the upload read exactly the hashed bytes
// (S3 rejects any part, or the whole, whose checksum differs).
type rereader struct {
	ctx  context.Context
	src  *source.Reader
	ref  trigger.ObjectRef
	body io.ReadCloser
}

func newRereader(ctx context.Context, src *source.Reader, ref trigger.ObjectRef, first *source.Object) *rereader {
	return &rereader{ctx: ctx, src: src, ref: pin(ref, first)}
}

// Read implements io.Reader.
func (r *rereader) Read(p []byte) (int, error) {
	if r.body == nil {
		o, err := r.src.Open(r.ctx, r.ref)
		if err != nil {
			return 0, err
		}
		r.body = o.Body
	}
	return r.body.Read(p)
}

// Seek implements io.Seeker for rewinds only.
func (r *rereader) Seek(offset int64, whence int) (int64, error) {
	if offset != 0 || whence != io.SeekStart {
		return 0, errors.New("ship: a re-read source can only be rewound to its start")
	}
	r.Close()
	return 0, nil
}

// Close releases the current read.
func (r *rereader) Close() error {
	if r.body == nil {
		return nil
	}
	err := r.body.Close()
	r.body = nil
	return err
}
