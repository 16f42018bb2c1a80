package main

import (
	"bytes"
	"crypto/sha256"
	"io"
	mrand "math/rand/v2"
	"time"

	"github.com/logvault/logvault/internal/vault"
)

// shaResult is row 5: per round, the time to hash the buffer with
// crypto/sha256 alone and with the shipper's hasher.
type shaResult struct {
	bytes   int64
	machine []time.Duration
	shipper []time.Duration
}

// benchSHA hashes the same in-memory buffer, read as a body is, with
// crypto/sha256 (the machine's floor for hashing) and with vault.Hasher,
// which the copy pipeline feeds every byte of an object through: it computes
// the whole object's SHA-256 and each 8 MiB part's (for S3's composite
// checksum): the first part's bytes once, the others twice, on two cores.
func benchSHA(o options) *shaResult {
	size := max(int64(float64(512<<20)*o.scale), 32<<20)
	buf := make([]byte, size)
	rng := mrand.NewChaCha8([32]byte{5})
	rng.Read(buf)
	res := &shaResult{bytes: size}
	// Both read the buffer as a network body is read (io.Copy from a reader
	// with no WriterTo): crypto/sha256 gets io.Copy's 32 KiB writes, the
	// hasher reads it in its own blocks (vault.Hasher.ReadFrom).
	feed := func(w io.Writer) {
		io.Copy(w, bodyReader{bytes.NewReader(buf)})
	}
	machine := func() error {
		h := sha256.New()
		feed(h)
		h.Sum(nil)
		return nil
	}
	shipper := func() error {
		h := vault.NewHasher(size)
		feed(h)
		h.Sums()
		return nil
	}
	machine()
	shipper()
	for r := 0; r < max(o.rounds, 5); r++ {
		alternate(r,
			func() error { t := time.Now(); machine(); res.machine = append(res.machine, time.Since(t)); return nil },
			func() error { t := time.Now(); shipper(); res.shipper = append(res.shipper, time.Since(t)); return nil })
	}
	return res
}

// bodyReader hides a reader's WriterTo, as a network body has none.
type bodyReader struct{ r io.Reader }

func (b bodyReader) Read(p []byte) (int, error) { return b.r.Read(p) }
