package verify

import (
	"crypto/sha256"
	"encoding/base64"
	"hash"
	"io"
	"strconv"
	"strings"

	"github.com/logvault/logvault/internal/vault"
)

// CompositeParts returns N when checksum is an S3 composite multipart
// checksum ("<base64>-N"), and 0 for a full-object checksum.
func CompositeParts(checksum string) int {
	i := strings.LastIndexByte(checksum, '-')
	if i < 0 {
		return 0
	}
	n, err := strconv.Atoi(checksum[i+1:])
	if err != nil || n < 1 {
		return 0
	}
	return n
}

// Composite is S3's checksum of a multipart object written with SHA256 part
// checksums: base64(SHA-256 of the concatenated part digests) + "-<parts>".
func Composite(parts [][32]byte) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write(p[:])
	}
	return base64.StdEncoding.EncodeToString(h.Sum(nil)) + "-" + strconv.Itoa(len(parts))
}

// FullChecksum is S3's full-object SHA256 checksum of a digest: its base64.
func FullChecksum(sum [32]byte) string { return base64.StdEncoding.EncodeToString(sum[:]) }

// partCount is how many parts of partSize an object of size bytes has.
func partCount(size, partSize int64) int {
	if size <= 0 || partSize <= 0 {
		return 1
	}
	return int((size + partSize - 1) / partSize)
}

// layout is a multipart object's part sizes: either uniform (every part
// Uniform bytes but the last) or Sizes listed one by one. Exact layouts were
// read from S3 part by part; the others are inferred.
type layout struct {
	Uniform int64
	Sizes   []int64
	Exact   bool
}

// sizes expands l for an object of size bytes.
func (l layout) sizes(size int64) []int64 {
	if l.Sizes != nil {
		return l.Sizes
	}
	var out []int64
	for left := size; left > 0; left -= l.Uniform {
		out = append(out, min(left, l.Uniform))
	}
	if len(out) == 0 {
		out = []int64{0}
	}
	return out
}

// sameAs reports whether l and o cut an object of size bytes alike.
func (l layout) sameAs(o layout, size int64) bool {
	a, b := l.sizes(size), o.sizes(size)
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// digester hashes an object in one pass: the whole and, per its layout, each part.
type digester interface {
	io.Writer
	Sums() (whole [32]byte, parts [][32]byte)
}

// newDigester uses the writer's own vault.Hasher for logvault's part layout
// and a general part hasher for any other.
func newDigester(size int64, l layout) digester {
	if l.Sizes == nil && (l.Uniform == 0 || l.Uniform == vault.PartSize(size)) {
		return vault.NewHasher(size)
	}
	return &partHasher{sizes: l.sizes(size), whole: sha256.New(), part: sha256.New()}
}

// partHasher is vault.Hasher for an arbitrary list of part sizes.
type partHasher struct {
	sizes  []int64
	whole  hash.Hash
	part   hash.Hash
	inPart int64
	parts  [][32]byte
}

func (h *partHasher) limit() int64 {
	if i := len(h.parts); i < len(h.sizes) {
		return h.sizes[i]
	}
	return 1 << 62 // more bytes than the layout holds: the last part grows
}

// Write implements io.Writer.
func (h *partHasher) Write(p []byte) (int, error) {
	n := len(p)
	h.whole.Write(p)
	for len(p) > 0 {
		take := h.limit() - h.inPart
		if int64(len(p)) < take {
			take = int64(len(p))
		}
		h.part.Write(p[:take])
		h.inPart += take
		p = p[take:]
		if h.inPart == h.limit() {
			h.closePart()
		}
	}
	return n, nil
}

func (h *partHasher) closePart() {
	var s [32]byte
	copy(s[:], h.part.Sum(nil))
	h.parts = append(h.parts, s)
	h.part.Reset()
	h.inPart = 0
}

// Sums returns the whole object's SHA-256 and each part's.
func (h *partHasher) Sums() (whole [32]byte, parts [][32]byte) {
	if h.inPart > 0 || len(h.parts) == 0 {
		h.closePart()
	}
	copy(whole[:], h.whole.Sum(nil))
	return whole, h.parts
}
