package reconcile

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/semaphore"

	"github.com/logvault/logvault/internal/handler"
	"github.com/logvault/logvault/internal/schema"
	"github.com/logvault/logvault/internal/trigger"
	"github.com/logvault/logvault/internal/vault"
)

// Shipper ships one source object through the functions' path and returns
// only once the vault confirmed it (handler.S3Handler.ShipOne).
type Shipper func(ctx context.Context, ref trigger.ObjectRef) (vault.Receipt, error)

// Progress hears about a backfill as it goes.
type Progress interface {
	// Found counts an object to ship, of size bytes.
	Found(size int64)
	// Done counts an object shipped (or failed), of size bytes.
	Done(size int64)
}

// BackfillOptions say what to backfill.
type BackfillOptions struct {
	Options
	// AllVersions ships every version of a versioned source, oldest first.
	AllVersions bool
	// DryRun counts what would be shipped and writes nothing.
	DryRun bool
	// Ship is the functions' shipping path.
	Ship Shipper
	// Progress, when set, hears about every object to ship.
	Progress Progress
	// MemoryBudget bounds the bytes of objects in flight
	// (handler.DefaultMemoryBudget when 0).
	MemoryBudget int64
}

// Failure is an object that could not be shipped.
type Failure struct {
	Source    string `json:"source"`
	VersionID string `json:"version_id,omitempty"`
	Error     string `json:"error"`
}

// Summary is what a backfill did.
type Summary struct {
	Source      string `json:"source"`
	DryRun      bool   `json:"dry_run"`
	AllVersions bool   `json:"all_versions"`
	// Listed counts the source objects (versions, with AllVersions) in the window.
	Listed int `json:"listed"`
	// AlreadyInVault counts those the listings and the vault's records
	// showed in the vault: not read, counted as duplicates.
	AlreadyInVault int `json:"already_in_vault"`
	// Restored counts those whose vault key holds a version an operator
	// restored over the source's later bytes: not shipped over.
	Restored int `json:"restored_in_vault"`
	// ToShip counts those read and sent through the shipping path (with
	// DryRun: those that would be).
	ToShip    int   `json:"to_ship"`
	Created   int   `json:"created"`
	Duplicate int   `json:"duplicate"`
	Overwrote int   `json:"overwrote"`
	Failed    int   `json:"failed"`
	Bytes     int64 `json:"bytes_shipped"`
	// Failures name the objects that failed (a rerun tries them again).
	Failures []Failure `json:"failures"`
}

// Backfill ships every source object the vault lacks through o.Ship. The
// vault itself is the record of what is done: an object whose bytes the
// vault's current version holds is skipped without being read, and one
// the listings cannot decide is shipped and found a duplicate by the
// shipping path, so a rerun after an interruption ships nothing twice.
func Backfill(ctx context.Context, o BackfillOptions) (Summary, error) {
	b := &backfiller{o: o, sum: Summary{Source: o.Source.String(), DryRun: o.DryRun, AllVersions: o.AllVersions, Failures: []Failure{}}}
	if o.Ship == nil && !o.DryRun {
		return b.sum, fmt.Errorf("backfill %s: no shipping path", o.Source)
	}
	b.budget = o.MemoryBudget
	if b.budget <= 0 {
		b.budget = handler.DefaultMemoryBudget
	}
	b.unit = b.budget / int64(o.workers())
	b.mem = semaphore.NewWeighted(b.budget)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(o.workers())
	var err error
	if o.AllVersions {
		err = o.walkVersions(gctx, func(vg versionGroup) error {
			b.count(func(s *Summary) { s.Listed += len(vg.src) })
			if err := gctx.Err(); err != nil {
				return err // a comparison failed: stop listing
			}
			g.Go(func() error { return b.versions(gctx, vg) })
			return nil
		})
	} else {
		err = o.walk(gctx, func(p pair) error {
			b.count(func(s *Summary) { s.Listed++ })
			if err := gctx.Err(); err != nil {
				return err
			}
			g.Go(func() error { return b.current(gctx, p) })
			return nil
		}, nil)
	}
	if gerr := g.Wait(); gerr != nil {
		err = gerr // the comparison's error, not the listing's "context canceled"
	}
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		return b.sum, fmt.Errorf("backfill %s: %w", o.Source, err)
	}
	return b.sum, nil
}

// backfiller is one run's shared state: the summary and the memory budget.
type backfiller struct {
	o            BackfillOptions
	mu           sync.Mutex
	sum          Summary
	mem          *semaphore.Weighted
	budget, unit int64
}

// count changes the summary under the lock.
func (b *backfiller) count(f func(*Summary)) {
	b.mu.Lock()
	f(&b.sum)
	b.mu.Unlock()
}

// current decides one current object: already in the vault, restored over,
// a key the layout cannot hold, or to ship.
func (b *backfiller) current(ctx context.Context, p pair) error {
	if p.keyErr != nil {
		b.count(func(s *Summary) {
			s.Failed++
			s.Failures = append(s.Failures, Failure{Source: schema.SourceURI(p.bucket, p.src.Key), Error: p.keyErr.Error()})
		})
		return nil
	}
	v, err := b.o.compare(ctx, p, false)
	switch {
	case err != nil:
		return err
	case v.state == stateSame:
		b.count(func(s *Summary) { s.AlreadyInVault++; s.Duplicate++ })
	case v.state == stateRestored:
		b.count(func(s *Summary) { s.Restored++ })
	default:
		b.ship(ctx, []trigger.ObjectRef{ref(p.bucket, p.src)})
	}
	return nil
}

// versions ships the versions of one key the vault lacks, oldest first.
func (b *backfiller) versions(ctx context.Context, g versionGroup) error {
	if g.keyErr != nil {
		b.count(func(s *Summary) {
			s.Failed += len(g.src)
			for _, v := range g.src {
				s.Failures = append(s.Failures, Failure{Source: schema.SourceURI(g.bucket, g.key), VersionID: v.VersionID, Error: g.keyErr.Error()})
			}
		})
		return nil
	}
	refs, err := b.o.missingVersions(ctx, g)
	if err != nil {
		return err
	}
	b.count(func(s *Summary) { s.AlreadyInVault += len(g.src) - len(refs); s.Duplicate += len(g.src) - len(refs) })
	if len(refs) > 0 {
		b.ship(ctx, refs)
	}
	return nil
}

// ship counts refs as to ship and, unless it is a dry run, ships them in
// order; a failure stops the rest (a key's versions must reach the vault in
// the source's order).
func (b *backfiller) ship(ctx context.Context, refs []trigger.ObjectRef) {
	b.count(func(s *Summary) { s.ToShip += len(refs) })
	if b.o.Progress != nil {
		for _, r := range refs {
			b.o.Progress.Found(r.Size)
		}
	}
	if b.o.DryRun {
		return
	}
	for _, r := range refs {
		w := handler.Weight(r.Size, b.unit, b.budget)
		if b.mem.Acquire(ctx, w) != nil {
			return // cancelled: Backfill reports it
		}
		rec, err := b.o.Ship(ctx, r)
		b.mem.Release(w)
		if b.o.Progress != nil {
			b.o.Progress.Done(r.Size)
		}
		b.count(func(s *Summary) {
			if err != nil {
				s.Failed++
				s.Failures = append(s.Failures, Failure{Source: schema.SourceURI(r.Bucket, r.Key), VersionID: r.VersionID, Error: err.Error()})
				return
			}
			switch rec.Outcome {
			case vault.Created:
				s.Created++
			case vault.Duplicate:
				s.Duplicate++
			case vault.Overwrote:
				s.Overwrote++
			}
			s.Bytes += rec.Bytes
		})
		if err != nil {
			return
		}
	}
}

// ref is the reference a listed object is shipped by: pinned to its version
// when listed with one ("null" included: GetObject?versionId=null reads a
// version written before versioning), else to its ETag, so the bytes read
// are the bytes listed.
func ref(bucket string, e entry) trigger.ObjectRef {
	r := trigger.ObjectRef{Bucket: bucket, Key: e.Key, Size: e.Size, VersionID: e.VersionID, EventName: "Backfill", EventTime: e.LastModified}
	if e.VersionID == "" {
		r.ETag = e.ETag
	}
	return r
}

// missingVersions returns the source versions of g the vault lacks, oldest
// first: the vault's versions are matched in order against the source's
// (equal size and single-part ETag, or the vault version's recorded source
// version id or ETag), and everything after the last match is shipped.
func (s Options) missingVersions(ctx context.Context, g versionGroup) ([]trigger.ObjectRef, error) {
	j := 0
	for i, sv := range g.src {
		found := false
		for ; j < len(g.vault) && !found; j++ {
			ok, err := s.sameVersion(ctx, g.vault[j], sv)
			if err != nil {
				return nil, err
			}
			found = ok
		}
		if !found {
			out := make([]trigger.ObjectRef, 0, len(g.src)-i)
			for _, v := range g.src[i:] {
				out = append(out, ref(g.bucket, v))
			}
			return out, nil
		}
	}
	return nil, nil
}

// sameVersion tells whether vault version v holds source version sv.
func (s Options) sameVersion(ctx context.Context, v, sv entry) (bool, error) {
	if v.Size != sv.Size {
		return false, nil
	}
	if sv.ETag != "" && v.ETag == sv.ETag && !strings.Contains(sv.ETag, "-") {
		return true, nil
	}
	in := &s3.HeadObjectInput{Bucket: aws.String(s.VaultBucket), Key: aws.String(v.Key), VersionId: aws.String(v.VersionID)}
	if s.ExpectedOwner != "" {
		in.ExpectedBucketOwner = aws.String(s.ExpectedOwner)
	}
	head, err := s.VaultAPI.HeadObject(ctx, in)
	if err != nil {
		return false, fmt.Errorf("head s3://%s/%s version %s: %w", s.VaultBucket, v.Key, v.VersionID, err)
	}
	vid := sv.VersionID
	if vid == "null" { // written before versioning: the vault records no version id
		vid = ""
	}
	if vid != "" && head.Metadata[schema.MetaSourceVersionID] == vid {
		return true, nil
	}
	return vid == "" && head.Metadata[schema.MetaSourceETag] == sv.ETag, nil
}
