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
	single := Object{SHA256: sum, Size: int64(len(body)), Kind: "cloudtrail", Source: "s3://trail/x", ContentType: "application/json", ContentEncoding: "gzip"}
	multi := single
	multi.PartSHA256 = parts
	// logvault's own record of obj, with S3's checksum and type.
	rec := func(checksum string, typ types.ChecksumType) currentVersion {
		return currentVersion{versionID: "v1", size: single.Size, metaSHA256: hexSum, checksum: checksum, checksumType: typ,
			kind: "cloudtrail", source: "s3://trail/x", contentType: "application/json", contentEncoding: "gzip"}
	}
	with := func(c currentVersion, edit func(*currentVersion)) currentVersion { edit(&c); return c }
	for _, c := range []struct {
		name string
		cur  currentVersion
		obj  Object
		dup  bool
		why  string // substring of the reason; "" for none
	}{
		{"same bytes, single part", rec(full, types.ChecksumTypeFullObject), single, true, ""},
		{"same bytes, untyped checksum", rec(full, ""), single, true, ""},
		{"same bytes, composite", rec(composite, types.ChecksumTypeComposite), multi, true, ""},
		{"same bytes, STANDARD named", with(rec(full, ""), func(c *currentVersion) { c.storageClass = types.StorageClassStandard }), single, true, ""},
		{"other bytes by its own record", with(rec(base64.StdEncoding.EncodeToString(other[:]), ""), func(c *currentVersion) { c.metaSHA256 = hex.EncodeToString(other[:]) }), single, false, ""},
		{"metadata copied onto other bytes", rec(base64.StdEncoding.EncodeToString(other[:]), types.ChecksumTypeFullObject), single, false, "current version v1: S3's stored SHA-256 checksum"},
		// The part digests stored as an object of their own have, as a
		// single PUT, the composite's value for their full-object checksum.
		{"the part digests planted as bytes", with(rec(strings.Split(composite, "-")[0], types.ChecksumTypeFullObject), func(c *currentVersion) { c.size = 64 }), multi, false, "does not match its logvault-sha256"},
		{"composite without its part count", rec(strings.Split(composite, "-")[0], types.ChecksumTypeComposite), multi, false, "does not match its logvault-sha256"},
		{"composite typed as full object", rec(composite, types.ChecksumTypeFullObject), multi, false, "does not match its logvault-sha256"},
		{"full checksum typed composite", rec(full, types.ChecksumTypeComposite), single, false, "does not match its logvault-sha256"},
		{"another size", with(rec(full, ""), func(c *currentVersion) { c.size = 1 }), single, false, "expected 13 bytes"},
		{"composite of other parts", rec(compositeChecksum(parts[:1]), types.ChecksumTypeComposite), multi, false, "does not match its logvault-sha256"},
		{"no checksum stored", rec("", ""), single, false, "checksum (none)"},
		{"another source's record", with(rec(full, ""), func(c *currentVersion) { c.source = "s3://other/y" }), single, false, "under another record"},
		{"another kind", with(rec(full, ""), func(c *currentVersion) { c.kind = "billing" }), single, false, "under another record"},
		{"another content type", with(rec(full, ""), func(c *currentVersion) { c.contentType = "text/html" }), single, false, "under another record"},
		{"archived", with(rec(full, ""), func(c *currentVersion) { c.storageClass = types.StorageClassGlacier }), single, false, "storage class GLACIER"},
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
