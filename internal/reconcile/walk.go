package reconcile

import (
	"context"
	"fmt"
	"strings"

	"github.com/logvault/logvault/internal/schema"
)

// pair is one source object (or version) with what the vault holds under
// its key's current version.
type pair struct {
	bucket   string // the source bucket
	src      entry
	kind     schema.Kind
	vaultKey string
	vault    *entry // nil when the vault has no object under vaultKey
	keyErr   error  // the source key cannot be vaulted under the layout
}

// vaultPrefixes are the vault prefixes a source's objects can land under,
// one per copied kind prefix.
func vaultPrefixes() []string { return schema.KindPrefixes(schema.Copied) }

// stream is the vault's listing under one kind prefix of the source, read
// in step with the source's listing: both are in key order, and the vault
// key is the source key behind a fixed prefix.
type stream struct {
	l     *lister
	strip string // "<kind-prefix>/<source-bucket>/"
	cur   *entry // the next unmatched vault entry; nil at the end
}

func (st *stream) advance(ctx context.Context) {
	e, ok := st.l.next(ctx)
	if !ok {
		st.cur = nil
		return
	}
	e.Key = strings.TrimPrefix(e.Key, st.strip)
	st.cur = &e
}

// walk lists the source and, in step, the vault under every kind prefix;
// it calls visit for every source object inside the window and vaultOnly
// for every vault object whose source object is gone (only when the window
// is open: a vault object of a source object outside the window is not
// judged).
func (s Options) walk(ctx context.Context, visit func(pair) error, vaultOnly func(vaultKey string, e entry)) error {
	streams := map[string]*stream{}
	for _, p := range vaultPrefixes() {
		strip := p + "/" + schema.AccountSegment + s.Account + "/" + s.Source.Bucket + "/"
		st := &stream{l: newLister(s.VaultAPI, s.VaultBucket, strip+s.Source.Prefix, s.ExpectedOwner), strip: strip}
		st.advance(ctx)
		streams[p] = st
	}
	// skipTo consumes the vault entries before key (vault-only ones) and
	// returns the entry for key itself, if any.
	skipTo := func(st *stream, key string) *entry {
		for st.cur != nil && st.cur.Key < key {
			if s.Window.Open() && vaultOnly != nil {
				vaultOnly(st.strip+st.cur.Key, *st.cur)
			}
			st.advance(ctx)
		}
		if st.cur != nil && st.cur.Key == key {
			e := *st.cur
			st.advance(ctx)
			return &e
		}
		return nil
	}
	src := newLister(s.SourceAPI, s.Source.Bucket, s.Source.Prefix, "")
	for {
		e, ok := src.next(ctx)
		if !ok {
			break
		}
		p := pair{bucket: s.Source.Bucket, src: e, kind: schema.Classify(s.Function, e.Key)}
		spec, _ := schema.Lookup(p.kind)
		p.vaultKey, p.keyErr = schema.CopiedKey(p.kind, s.Account, s.Source.Bucket, e.Key)
		if st := streams[spec.Prefix]; st != nil && p.keyErr == nil {
			p.vault = skipTo(st, e.Key)
			if st.l.err != nil { // not "missing": the vault could not be listed
				return fmt.Errorf("list s3://%s/%s: %w", s.VaultBucket, st.strip+s.Source.Prefix, st.l.err)
			}
		}
		if !s.Window.Contains(e.LastModified) {
			continue
		}
		if err := visit(p); err != nil {
			return err
		}
	}
	if src.err != nil {
		return fmt.Errorf("list %s: %w", s.Source, src.err)
	}
	for _, p := range vaultPrefixes() {
		st := streams[p]
		for ; st.cur != nil; st.advance(ctx) { // every key left is vault-only
			if s.Window.Open() && vaultOnly != nil {
				vaultOnly(st.strip+st.cur.Key, *st.cur)
			}
		}
		if st.l.err != nil {
			return fmt.Errorf("list s3://%s/%s: %w", s.VaultBucket, st.strip+s.Source.Prefix, st.l.err)
		}
	}
	return nil
}

// versionGroup is one source key with all its versions (oldest first) and
// the vault's versions under its vault key (oldest first).
type versionGroup struct {
	bucket   string
	key      string
	kind     schema.Kind
	vaultKey string
	keyErr   error
	src      []entry // inside the window
	vault    []entry
}

// versionStream is stream for ListObjectVersions: one key at a time.
type versionStream struct {
	l     *versionLister
	strip string
	cur   []entry // the next unmatched key's versions; nil at the end
}

func (st *versionStream) advance(ctx context.Context) {
	vs, ok := st.l.next(ctx)
	if !ok {
		st.cur = nil
		return
	}
	st.cur = vs
}

func (st *versionStream) key() string { return strings.TrimPrefix(st.cur[0].Key, st.strip) }

// walkVersions is walk over every version: visit gets each source key that
// has versions inside the window, with the vault's versions of its key.
func (s Options) walkVersions(ctx context.Context, visit func(versionGroup) error) error {
	streams := map[string]*versionStream{}
	for _, p := range vaultPrefixes() {
		strip := p + "/" + schema.AccountSegment + s.Account + "/" + s.Source.Bucket + "/"
		st := &versionStream{l: newVersionLister(s.VaultAPI, s.VaultBucket, strip+s.Source.Prefix, s.ExpectedOwner), strip: strip}
		st.advance(ctx)
		streams[p] = st
	}
	src := newVersionLister(s.SourceAPI, s.Source.Bucket, s.Source.Prefix, "")
	for {
		vs, ok := src.next(ctx)
		if !ok {
			break
		}
		key := vs[0].Key
		g := versionGroup{bucket: s.Source.Bucket, key: key, kind: schema.Classify(s.Function, key)}
		spec, _ := schema.Lookup(g.kind)
		g.vaultKey, g.keyErr = schema.CopiedKey(g.kind, s.Account, s.Source.Bucket, key)
		if st := streams[spec.Prefix]; st != nil && g.keyErr == nil {
			for st.cur != nil && st.key() < key {
				st.advance(ctx)
			}
			if st.cur != nil && st.key() == key {
				g.vault = st.cur
				st.advance(ctx)
			}
			if st.l.err != nil {
				return fmt.Errorf("list versions of s3://%s/%s: %w", s.VaultBucket, st.strip+s.Source.Prefix, st.l.err)
			}
		}
		for _, v := range vs {
			if s.Window.Contains(v.LastModified) {
				g.src = append(g.src, v)
			}
		}
		if len(g.src) == 0 {
			continue
		}
		if err := visit(g); err != nil {
			return err
		}
	}
	if src.err != nil {
		return fmt.Errorf("list versions of %s: %w", s.Source, src.err)
	}
	for _, st := range streams {
		if st.l.err != nil {
			return fmt.Errorf("list versions of s3://%s/%s: %w", s.VaultBucket, st.strip+s.Source.Prefix, st.l.err)
		}
	}
	return nil
}
