package s3mem

import (
	"bytes"
	"fmt"
	"slices"
)

// Object is a version for Store to write as a writer would have left it.
type Object struct {
	Body            []byte
	Metadata        map[string]string // names are lower-cased, as S3 stores them
	ContentType     string
	ContentEncoding string
	// PartSizes, when set, is the layout of the multipart upload that wrote
	// the version (summing to len(Body)): its checksum is then the
	// composite of the parts' SHA-256 digests and its ETag the multipart
	// one. Without it the version is a single PUT with a full-object SHA-256
	// checksum.
	PartSizes []int64
}

// Store writes obj as key's new current version (the "null" version of an
// unversioned bucket) and returns a copy of it. It is no call: no hook,
// injected failure or condition applies, part sizes are not checked against
// S3's limits and nothing is recorded in Calls. For ease of use in tests,
// as httptest.NewRequest, it panics on misuse: an unknown bucket, part
// sizes that do not add up to the body.
func (s *Server) Store(bucketName, key string, obj Object) Version {
	var total int64
	for _, n := range obj.PartSizes {
		if n <= 0 {
			panic(fmt.Sprintf("s3mem: Store %s/%s: part size %d", bucketName, key, n))
		}
		total += n
	}
	if len(obj.PartSizes) > 0 && total != int64(len(obj.Body)) {
		panic(fmt.Sprintf("s3mem: Store %s/%s: parts of %v bytes for a body of %d", bucketName, key, obj.PartSizes, len(obj.Body)))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.mustBucket("Store", bucketName)
	v := &Version{
		Body: bytes.Clone(obj.Body), ETag: etagOf(obj.Body, obj.PartSizes), ChecksumSHA256: ChecksumOf(obj.Body, obj.PartSizes),
		PartSizes: slices.Clone(obj.PartSizes), ContentType: obj.ContentType, ContentEncoding: obj.ContentEncoding, Metadata: lower(obj.Metadata),
	}
	s.add(b, key, v)
	return clone(v)
}

// Delete deletes key as DeleteObject without a version id would (as a
// break-glass role could), without a call: in a versioned bucket it adds a
// delete marker, which becomes the current version, and returns a copy of
// it; in an unversioned one it removes the object and returns the zero
// Version. It panics if the bucket does not exist.
func (s *Server) Delete(bucketName, key string) Version {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.mustBucket("Delete", bucketName)
	if !b.Versioned {
		delete(b.keys, key)
		return Version{}
	}
	v := &Version{DeleteMarker: true}
	s.add(b, key, v)
	return clone(v)
}

// Tamper edits a stored version in place, to simulate tampering or bit
// rot: edit receives a copy of version versionID of key and whatever it
// changes is stored, but for VersionID and DeleteMarker; nothing is
// recomputed (a changed Body keeps its ETag and checksum). edit runs
// without the twin's lock held, so it may call the twin. It panics if the
// bucket or version does not exist.
func (s *Server) Tamper(bucketName, key, versionID string, edit func(v *Version)) {
	s.mu.Lock()
	v, err := s.stored(bucketName, key, versionID)
	var c Version
	if err == nil {
		c = clone(v)
	}
	s.mu.Unlock()
	if err != nil {
		panic(err)
	}
	edit(&c)
	s.mu.Lock()
	defer s.mu.Unlock()
	if v, err = s.stored(bucketName, key, versionID); err != nil {
		panic(err)
	}
	id, marker := v.VersionID, v.DeleteMarker
	*v = clone(&c)
	v.VersionID, v.DeleteMarker, v.Metadata = id, marker, lower(v.Metadata)
}

// stored finds a stored version for Tamper; the caller holds s.mu.
func (s *Server) stored(bucketName, key, versionID string) (*Version, error) {
	b := s.buckets[bucketName]
	if b == nil {
		return nil, fmt.Errorf("s3mem: Tamper: no bucket %q", bucketName)
	}
	for _, v := range b.keys[key] {
		if v.VersionID == versionID {
			return v, nil
		}
	}
	return nil, fmt.Errorf("s3mem: Tamper: no version %s of %s/%s", versionID, bucketName, key)
}

// mustBucket looks a bucket up for a test helper; the caller holds s.mu.
func (s *Server) mustBucket(helper, name string) *bucket {
	b := s.buckets[name]
	if b == nil {
		panic(fmt.Sprintf("s3mem: %s: no bucket %q", helper, name))
	}
	return b
}
