package s3mem

import (
	"context"
	"net/url"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// ListObjectVersions lists the versions and delete markers of the keys under
// Prefix, key by key in UTF-8 order, each key's newest first, in pages of at
// most MaxKeys (and the bucket's PageSize) entries continued from KeyMarker
// and VersionIdMarker. Delimiter is not supported (501 NotImplemented).
func (s *Server) ListObjectVersions(ctx context.Context, in *s3.ListObjectVersionsInput, _ ...func(*s3.Options)) (*s3.ListObjectVersionsOutput, error) {
	const op = "ListObjectVersions"
	if err := s.begin(ctx, op); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := s.bucket(op, in.Bucket, in.ExpectedBucketOwner)
	if err != nil {
		return nil, err
	}
	if aws.ToString(in.Delimiter) != "" {
		return nil, APIError(op, 501, "NotImplemented", "s3mem does not list with a delimiter")
	}
	type entry struct {
		key string
		v   *Version
	}
	var keys []string
	for k := range b.keys {
		if strings.HasPrefix(k, aws.ToString(in.Prefix)) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var all []entry
	for _, k := range keys {
		vs := b.keys[k]
		for i := len(vs) - 1; i >= 0; i-- {
			all = append(all, entry{k, vs[i]})
		}
	}

	start := 0
	if km, vim := aws.ToString(in.KeyMarker), aws.ToString(in.VersionIdMarker); km != "" {
		start = len(all)
		for i, e := range all {
			if vim != "" && e.key == km && e.v.VersionID == vim {
				start = i + 1
				break
			}
			if e.key > km {
				start = i
				break
			}
		}
	}
	page := 1000
	if b.PageSize > 0 {
		page = min(page, b.PageSize)
	}
	if m := aws.ToInt32(in.MaxKeys); m > 0 {
		page = min(page, int(m))
	}
	end := min(start+page, len(all))

	out := &s3.ListObjectVersionsOutput{
		Name: in.Bucket, Prefix: in.Prefix, KeyMarker: in.KeyMarker, VersionIdMarker: in.VersionIdMarker,
		MaxKeys: aws.Int32(int32(page)), IsTruncated: aws.Bool(end < len(all)), EncodingType: in.EncodingType,
	}
	enc := encoder(in.EncodingType)
	for i := start; i < end; i++ {
		e := all[i]
		latest := i == 0 || all[i-1].key != e.key
		if e.v.DeleteMarker {
			out.DeleteMarkers = append(out.DeleteMarkers, types.DeleteMarkerEntry{
				Key: aws.String(enc(e.key)), VersionId: aws.String(e.v.VersionID), IsLatest: aws.Bool(latest), LastModified: aws.Time(e.v.LastModified),
			})
			continue
		}
		ov := types.ObjectVersion{
			Key: aws.String(enc(e.key)), VersionId: aws.String(e.v.VersionID), IsLatest: aws.Bool(latest), LastModified: aws.Time(e.v.LastModified),
			Size: aws.Int64(int64(len(e.v.Body))), ETag: aws.String(e.v.ETag), StorageClass: types.ObjectVersionStorageClassStandard,
		}
		if e.v.ChecksumSHA256 != "" {
			ov.ChecksumAlgorithm, ov.ChecksumType = []types.ChecksumAlgorithm{types.ChecksumAlgorithmSha256}, checksumType(e.v.ChecksumSHA256)
		}
		out.Versions = append(out.Versions, ov)
	}
	if end < len(all) {
		out.NextKeyMarker, out.NextVersionIdMarker = aws.String(enc(all[end-1].key)), aws.String(all[end-1].v.VersionID)
	}
	return out, nil
}

// ListObjectsV2 lists the current versions (not delete markers) under
// Prefix in key order, a page at a time (ContinuationToken is the last key
// of the previous page).
func (s *Server) ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, _ ...func(*s3.Options)) (*s3.ListObjectsV2Output, error) {
	const op = "ListObjectsV2"
	if err := s.begin(ctx, op); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	b, err := s.bucket(op, in.Bucket, in.ExpectedBucketOwner)
	if err != nil {
		return nil, err
	}
	if aws.ToString(in.Delimiter) != "" {
		return nil, APIError(op, 501, "NotImplemented", "s3mem does not list with a delimiter")
	}
	after := aws.ToString(in.ContinuationToken)
	if sa := aws.ToString(in.StartAfter); sa > after {
		after = sa
	}
	var keys []string
	for k, vs := range b.keys {
		if strings.HasPrefix(k, aws.ToString(in.Prefix)) && k > after && len(vs) > 0 && !vs[len(vs)-1].DeleteMarker {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	page := 1000
	if b.PageSize > 0 {
		page = min(page, b.PageSize)
	}
	if m := aws.ToInt32(in.MaxKeys); m > 0 {
		page = min(page, int(m))
	}
	truncated := len(keys) > page
	if truncated {
		keys = keys[:page]
	}
	out := &s3.ListObjectsV2Output{Name: in.Bucket, Prefix: in.Prefix, ContinuationToken: in.ContinuationToken,
		MaxKeys: aws.Int32(int32(page)), IsTruncated: aws.Bool(truncated), KeyCount: aws.Int32(int32(len(keys))), EncodingType: in.EncodingType}
	enc := encoder(in.EncodingType)
	for _, k := range keys {
		v := b.keys[k][len(b.keys[k])-1]
		out.Contents = append(out.Contents, types.Object{Key: aws.String(enc(k)), Size: aws.Int64(int64(len(v.Body))), ETag: aws.String(v.ETag),
			LastModified: aws.Time(v.LastModified), StorageClass: types.ObjectStorageClassStandard})
	}
	if truncated {
		out.NextContinuationToken = aws.String(keys[len(keys)-1])
	}
	return out, nil
}

// encoder is how a listing asked for EncodingType=url writes keys, as S3
// does (form encoding: a space is "+"); otherwise keys are as they are.
func encoder(t types.EncodingType) func(string) string {
	if t == types.EncodingTypeUrl {
		return url.QueryEscape
	}
	return func(k string) string { return k }
}
