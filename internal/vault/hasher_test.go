package vault_test

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/logvault/logvault/internal/vault"
)

// The hasher's sums are the object's SHA-256 and each PartSize part's,
// however the bytes are cut into writes.
func TestHasher(t *testing.T) {
	part := vault.PartSize(0)
	buf := make([]byte, 3*part+17)
	rand.NewChaCha8([32]byte{9}).Read(buf)
	for _, size := range []int64{0, 1, part - 1, part, part + 1, 2 * part, 3*part + 17} {
		data := buf[:size]
		want := sha256.Sum256(data)
		var wantParts [][32]byte
		for off := int64(0); off < size || off == 0; off += part {
			wantParts = append(wantParts, sha256.Sum256(data[off:min(off+part, size)]))
			if size == 0 {
				break
			}
		}
		for _, write := range []int64{1 << 10, 1000, 32 << 10, 1 << 20, 5 << 20, max(size, 1)} {
			if write < 32<<10 && size > 2*part {
				continue // byte-sized writes of the large sizes only slow the test down
			}
			t.Run(fmt.Sprintf("%d bytes in writes of %d", size, write), func(t *testing.T) {
				h := vault.NewHasher(size)
				if write == max(size, 1) {
					// One reader, as io.Copy from a body: ReadFrom's blocks.
					if n, err := io.Copy(h, onlyReader{bytes.NewReader(data)}); n != size || err != nil {
						t.Fatalf("io.Copy: %d, %v", n, err)
					}
				} else {
					for off := int64(0); off < size; off += write {
						h.Write(data[off:min(off+write, size)])
					}
				}
				got, parts := h.Sums()
				if got != want {
					t.Errorf("whole %x, want %x", got, want)
				}
				if len(parts) != len(wantParts) {
					t.Fatalf("%d parts, want %d", len(parts), len(wantParts))
				}
				for i := range parts {
					if parts[i] != wantParts[i] {
						t.Errorf("part %d: %x, want %x", i, parts[i], wantParts[i])
					}
				}
			})
		}
	}
}

// onlyReader hides a reader's WriterTo, as a network body has none.
type onlyReader struct{ r io.Reader }

func (o onlyReader) Read(p []byte) (int, error) { return o.r.Read(p) }

// BenchmarkHasher is the shipper's hashing rate (compare with
// crypto/sha256's: go test -bench 'Hasher|SHA256' ./internal/vault).
func BenchmarkHasher(b *testing.B) {
	const size = 64 << 20
	buf := make([]byte, size)
	b.SetBytes(size)
	for b.Loop() {
		h := vault.NewHasher(size)
		io.Copy(h, onlyReader{bytes.NewReader(buf)}) // as the copy path reads a body
		h.Sums()
	}
}

// BenchmarkSHA256 is the machine's floor for BenchmarkHasher.
func BenchmarkSHA256(b *testing.B) {
	const size = 64 << 20
	buf := make([]byte, size)
	b.SetBytes(size)
	for b.Loop() {
		h := sha256.New()
		io.Copy(h, onlyReader{bytes.NewReader(buf)}) // a body read into crypto/sha256 alone
		h.Sum(nil)
	}
}

func TestCopySourceHeader(t *testing.T) {
	for _, tc := range []struct{ bucket, key, version, want string }{
		{"vault", "cloudtrail/t/a b+c é?x=1&y", "3/L4kqtJl.cpXs+_=", "vault/cloudtrail/t/a%20b%2Bc%20%C3%A9%3Fx%3D1%26y?versionId=3%2FL4kqtJl.cpXs%2B_%3D"},
		{"src", "AWSLogs/1/x.json.gz", "", "src/AWSLogs/1/x.json.gz"},
	} {
		if got := vault.CopySourceHeader(tc.bucket, tc.key, tc.version); got != tc.want {
			t.Errorf("CopySourceHeader(%q, %q, %q) = %q, want %q", tc.bucket, tc.key, tc.version, got, tc.want)
		}
	}
}
