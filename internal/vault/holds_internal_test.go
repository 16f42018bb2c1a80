package vault

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// TestHolds: what makes a current version a duplicate of the object about
// to be written (write rule 2 of docs/design.md).
func TestHolds(t *testing.T) {
	body := []byte("genuine bytes")
	sum := sha256.Sum256(body)
	hexSum := hex.EncodeToString(sum[:])
	full := base64.StdEncoding.EncodeToString(sum[:])
	parts := [][32]byte{sha256.Sum256([]byte("part one")), sha256.Sum256([]byte("part two"))}
	composite := compositeChecksum(parts)
	other := sha256.Sum256([]byte("other bytes"))
	single := Object{SHA256: sum}
	multi := Object{SHA256: sum, PartSHA256: parts}
	for _, c := range []struct {
		name string
		cur  currentVersion
		obj  Object
		dup  bool
		why  string // substring of the reason; "" for none
	}{
		{"same bytes, single part", currentVersion{metaSHA256: hexSum, checksum: full}, single, true, ""},
		{"same bytes, composite with its part count", currentVersion{metaSHA256: hexSum, checksum: composite}, multi, true, ""},
		{"same bytes, composite without its part count", currentVersion{metaSHA256: hexSum, checksum: strings.Split(composite, "-")[0]}, multi, true, ""},
		{"same bytes, full-object checksum of a multipart object", currentVersion{metaSHA256: hexSum, checksum: full}, multi, true, ""},
		{"same bytes, STANDARD named", currentVersion{metaSHA256: hexSum, checksum: full, storageClass: types.StorageClassStandard}, single, true, ""},
		{"other bytes by its own record", currentVersion{metaSHA256: hex.EncodeToString(other[:]), checksum: base64.StdEncoding.EncodeToString(other[:])}, single, false, ""},
		{"metadata copied onto other bytes", currentVersion{versionID: "v1", metaSHA256: hexSum, checksum: base64.StdEncoding.EncodeToString(other[:])}, single, false, "current version v1: S3's stored SHA-256 checksum"},
		{"composite of other parts", currentVersion{metaSHA256: hexSum, checksum: compositeChecksum(parts[:1])}, multi, false, "does not match its logvault-sha256"},
		{"no checksum stored", currentVersion{metaSHA256: hexSum}, single, false, "checksum (none)"},
		{"archived", currentVersion{metaSHA256: hexSum, checksum: full, storageClass: types.StorageClassGlacier}, single, false, "storage class GLACIER"},
		{"unreadable", currentVersion{versionID: "v2", unreadable: "HEAD answered 400"}, single, false, "current version v2 cannot be read (HEAD answered 400)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dup, why := c.cur.holds(hexSum, c.obj)
			if dup != c.dup || (c.why == "") != (why == "") || !strings.Contains(why, c.why) {
				t.Errorf("holds = %v, %q; want %v and a reason containing %q", dup, why, c.dup, c.why)
			}
		})
	}
}
