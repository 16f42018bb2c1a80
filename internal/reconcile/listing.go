// Package reconcile puts a source bucket and the vault side by side
// (missing, differs, vault-only) and backfills what is missing through the
// functions' own shipping path. Both walk the two listings in key order, so
// memory stays bounded whatever the number of objects.
package reconcile

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
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
	in := &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)}
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
			l.page = append(l.page, entry{Key: aws.ToString(o.Key), Size: aws.ToInt64(o.Size), ETag: trimQuotes(aws.ToString(o.ETag)), LastModified: aws.ToTime(o.LastModified)})
		}
	}
	e := l.page[0]
	l.page = l.page[1:]
	return e, true
}

// versionLister walks ListObjectVersions under a prefix one key at a time:
// all of a key's versions (delete markers left out), oldest first.
type versionLister struct {
	pages   *s3.ListObjectVersionsPaginator
	pending []entry // versions of keys not yet returned, in listing order
	done    bool
	err     error
}

func newVersionLister(api API, bucket, prefix, owner string) *versionLister {
	in := &s3.ListObjectVersionsInput{Bucket: aws.String(bucket), Prefix: aws.String(prefix)}
	if owner != "" {
		in.ExpectedBucketOwner = aws.String(owner)
	}
	return &versionLister{pages: s3.NewListObjectVersionsPaginator(api, in)}
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
		if !l.pages.HasMorePages() {
			l.done = true
			continue
		}
		out, err := l.pages.NextPage(ctx)
		if err != nil {
			l.err = err
			return nil, false
		}
		for _, v := range out.Versions {
			vid := aws.ToString(v.VersionId)
			if vid == "null" {
				vid = ""
			}
			l.pending = append(l.pending, entry{Key: aws.ToString(v.Key), Size: aws.ToInt64(v.Size), ETag: trimQuotes(aws.ToString(v.ETag)),
				VersionID: vid, LastModified: aws.ToTime(v.LastModified)})
		}
	}
}

func trimQuotes(s string) string {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return s[1 : len(s)-1]
	}
	return s
}
