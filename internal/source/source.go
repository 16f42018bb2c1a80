// Package source reads the objects that notifications announce, pinned to
// the exact version (or ETag) the notification names, so the bytes hashed
// are the bytes shipped even if the key is overwritten meanwhile.
package source

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/logvault/logvault/internal/s3err"
	"github.com/logvault/logvault/internal/trigger"
)

// Object is an open source object with the attributes the vault keeps.
type Object struct {
	Bucket          string
	Key             string
	VersionID       string // "" when the bucket is not versioned
	ETag            string // without quotes
	Size            int64
	ContentType     string
	ContentEncoding string
	Metadata        map[string]string
	Body            io.ReadCloser
}

// Getter is the part of the S3 API the reader needs.
type Getter interface {
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

// Reader opens source objects.
type Reader struct {
	S3 Getter
}

// ErrNotFound reports a source object (or the named version) that is gone.
var ErrNotFound = errors.New("source object not found")

// Open starts reading ref's object, pinned to its version id when the
// notification names one, else to its ETag.
func (r *Reader) Open(ctx context.Context, ref trigger.ObjectRef) (*Object, error) {
	return r.OpenRange(ctx, ref, "")
}

// OpenRange is Open of the bytes rng names ("bytes=first-last"; "" for
// all of them).
func (r *Reader) OpenRange(ctx context.Context, ref trigger.ObjectRef, rng string) (*Object, error) {
	in := &s3.GetObjectInput{Bucket: aws.String(ref.Bucket), Key: aws.String(ref.Key)}
	if rng != "" {
		in.Range = aws.String(rng)
	}
	pin := "latest"
	switch {
	case ref.VersionID != "":
		in.VersionId = aws.String(ref.VersionID)
		pin = "version " + ref.VersionID
	case ref.ETag != "":
		in.IfMatch = aws.String(`"` + ref.ETag + `"`)
		pin = "ETag " + ref.ETag
	}
	out, err := r.S3.GetObject(ctx, in)
	if err != nil {
		name := fmt.Sprintf("s3://%s/%s (%s)", ref.Bucket, ref.Key, pin)
		switch code := s3err.Code(err); {
		case s3err.NotFound(err) || s3err.NoSuchBucket(err):
			return nil, fmt.Errorf("source: %s: %w (%s): %w", name, ErrNotFound, cmp.Or(code, "404"), err)
		case code == "InvalidArgument" && ref.VersionID != "":
			return nil, fmt.Errorf("source: %s: %w: the bucket does not know this version id (%w)", name, ErrNotFound, err)
		case s3err.Is(err, 412):
			return nil, fmt.Errorf("source: %s: %w: the key now holds different bytes than the notification announced", name, ErrNotFound)
		}
		return nil, fmt.Errorf("source: read %s: %w", name, err)
	}
	o := &Object{
		Bucket:          ref.Bucket,
		Key:             ref.Key,
		VersionID:       aws.ToString(out.VersionId),
		ETag:            UnquoteETag(aws.ToString(out.ETag)),
		Size:            aws.ToInt64(out.ContentLength),
		ContentType:     aws.ToString(out.ContentType),
		ContentEncoding: aws.ToString(out.ContentEncoding),
		Metadata:        out.Metadata,
		Body:            out.Body,
	}
	if o.VersionID == "null" {
		o.VersionID = ""
	}
	return o, nil
}

// UnquoteETag is an ETag as S3 sends it ("\"…\""), without its quotes.
func UnquoteETag(s string) string {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return s[1 : len(s)-1]
	}
	return s
}
