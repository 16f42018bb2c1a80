package main

import (
	"crypto/sha256"
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

// benchSHA hashes the same in-memory buffer, in 32 KiB writes (io.Copy's
// size, as a source read delivers it), with crypto/sha256 (the machine's
// floor for hashing) and with vault.Hasher, which the copy pipeline feeds
// every byte of an object through: it computes the whole object's SHA-256
// and each 8 MiB part's (for S3's composite checksum), so it hashes every
// byte twice.
func benchSHA(o options) *shaResult {
	size := max(int64(float64(512<<20)*o.scale), 32<<20)
	buf := make([]byte, size)
	rng := mrand.NewChaCha8([32]byte{5})
	rng.Read(buf)
	res := &shaResult{bytes: size}
	feed := func(w interface{ Write([]byte) (int, error) }) {
		for off := int64(0); off < size; off += 32 << 10 {
			w.Write(buf[off:min(off+32<<10, size)])
		}
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
