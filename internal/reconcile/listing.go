// Package reconcile puts a source bucket and the vault side by side
// (missing, differs, vault-only) and backfills what is missing through the
// functions' own shipping path. Both walk the two listings in key order, so
// memory stays bounded whatever the number of objects.
package reconcile

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/logvault/logvault/internal/source"
)

// API is the part of the S3 API reconcile and backfill use.
type API interface {
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, optFns ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
	ListObjectVersions(ctx context.Context, in *s3.ListObjectVersionsInput, optFns ...func(*s3.Options)) (*s3.ListObjectVersionsOutput, error)
	HeadObject(ctx context.Context, in *s3.HeadObjectInput, optFns ...func(*s3.Options)) (*s3.HeadObjectOutput, error)
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

// Source is what to reconcile or backfill: a bucket and a key prefix.
type Source struct {
	Bucket, Prefix string
}

// ParseSource reads "s3://BUCKET[/PREFIX]".
func ParseSource(s string) (Source, error) {
	rest, ok := strings.CutPrefix(s, "s3://")
	if !ok {
		return Source{}, fmt.Errorf("source %q is not s3://BUCKET[/PREFIX]", s)
	}
	bucket, prefix, _ := strings.Cut(rest, "/")
	if bucket == "" {
		return Source{}, fmt.Errorf("source %q names no bucket (s3://BUCKET[/PREFIX])", s)
	}
	return Source{Bucket: bucket, Prefix: prefix}, nil
}

// String is the source as s3://bucket/prefix.
func (s Source) String() string { return "s3://" + s.Bucket + "/" + s.Prefix }

// Window limits the source objects considered by LastModified: Since
// inclusive, Until exclusive; zero times are open ends.
type Window struct {
	Since, Until time.Time
}

// Contains tells whether t falls inside the window.
func (w Window) Contains(t time.Time) bool {
	return (w.Since.IsZero() || !t.Before(w.Since)) && (w.Until.IsZero() || t.Before(w.Until))
}

// Open tells a window without bounds.
func (w Window) Open() bool { return w.Since.IsZero() && w.Until.IsZero() }

// entry is one object (or one version) of a listing.
type entry struct {
	Key          string
	Size         int64
	ETag         string // without quotes
	VersionID    string
	LastModified time.Time
}

// lister walks ListObjectsV2 under a prefix one entry at a time, holding one
// page.
type lister struct {
	pages *s3.ListObjectsV2Paginator
	page  []entry
	err   error
}

func newLister(api API, bucket, prefix, owner string) *lister {
	// URL-encoded keys: S3 sends a key with a control character as an XML
	// character reference the SDK refuses to decode, which would stop every
	// run at that page.
	in := &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix), EncodingType: types.EncodingTypeUrl}
	if owner != "" {
		in.ExpectedBucketOwner = aws.String(owner)
	}
	return &lister{pages: s3.NewListObjectsV2Paginator(api, in)}
}

// next returns the next entry; ok is false at the end or on an error (err).
func (l *lister) next(ctx context.Context) (entry, bool) {
	for len(l.page) == 0 {
		if l.err != nil || !l.pages.HasMorePages() {
			return entry{}, false
		}
		out, err := l.pages.NextPage(ctx)
		if err != nil {
			l.err = err
			return entry{}, false
		}
		for _, o := range out.Contents {
			key, err := listedKey(o.Key, out.EncodingType)
			if err != nil {
				l.err = err
				return entry{}, false
			}
			l.page = append(l.page, entry{Key: key, Size: aws.ToInt64(o.Size), ETag: source.UnquoteETag(aws.ToString(o.ETag)), LastModified: aws.ToTime(o.LastModified)})
		}
	}
	e := l.page[0]
	l.page = l.page[1:]
	return e, true
}

// versionLister walks ListObjectVersions under a prefix one key at a time:
// all of a key's versions (delete markers left out), oldest first. It pages
// by hand: with EncodingType=url the next key marker comes URL-encoded and
// must be decoded before it is sent back (the SDK's paginator would not).
type versionLister struct {
	api     API
	in      s3.ListObjectVersionsInput
	more    bool
	pending []entry // versions of keys not yet returned, in listing order
	done    bool
	err     error
}

func newVersionLister(api API, bucket, prefix, owner string) *versionLister {
	in := s3.ListObjectVersionsInput{Bucket: aws.String(bucket), Prefix: aws.String(prefix), EncodingType: types.EncodingTypeUrl}
	if owner != "" {
		in.ExpectedBucketOwner = aws.String(owner)
	}
	return &versionLister{api: api, in: in, more: true}
}

// next returns the next key's versions, oldest first.
func (l *versionLister) next(ctx context.Context) ([]entry, bool) {
	for {
		// A key is complete once a later key follows it, or the listing ended.
		if n := len(l.pending); n > 0 {
			first := l.pending[0].Key
			end := 0
			for end < n && l.pending[end].Key == first {
				end++
			}
			if end < n || l.done {
				vs := append([]entry(nil), l.pending[:end]...)
				l.pending = l.pending[end:]
				for i, j := 0, len(vs)-1; i < j; i, j = i+1, j-1 {
					vs[i], vs[j] = vs[j], vs[i] // S3 lists a key's versions newest first
				}
				return vs, true
			}
		}
		if l.done || l.err != nil {
			return nil, false
		}
		if !l.more {
			l.done = true
			continue
		}
		in := l.in
		out, err := l.api.ListObjectVersions(ctx, &in)
		if err != nil {
			l.err = err
			return nil, false
		}
		l.more = aws.ToBool(out.IsTruncated)
		if l.more {
			marker, err := listedKey(out.NextKeyMarker, out.EncodingType)
			if err != nil {
				l.err = err
				return nil, false
			}
			l.in.KeyMarker, l.in.VersionIdMarker = aws.String(marker), out.NextVersionIdMarker
		}
		for _, v := range out.Versions {
			key, err := listedKey(v.Key, out.EncodingType)
			if err != nil {
				l.err = err
				return nil, false
			}
			// A version written before versioning was enabled is "null":
			// kept, since GetObject?versionId=null reads it.
			l.pending = append(l.pending, entry{Key: key, Size: aws.ToInt64(v.Size), ETag: source.UnquoteETag(aws.ToString(v.ETag)),
				VersionID: aws.ToString(v.VersionId), LastModified: aws.ToTime(v.LastModified)})
		}
	}
}

// listedKey is a listed key, decoded when the listing says it is
// URL-encoded (S3 honours EncodingType=url; a server that ignores it sends
// keys as they are, and says nothing).
func listedKey(k *string, enc types.EncodingType) (string, error) {
	if enc != types.EncodingTypeUrl {
		return aws.ToString(k), nil
	}
	key, err := url.QueryUnescape(aws.ToString(k))
	if err != nil {
		return "", fmt.Errorf("listed key %q is not URL-encoded correctly: %w", aws.ToString(k), err)
	}
	return key, nil
}
