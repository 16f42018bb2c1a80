package reconcile

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
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

// job is what one worker ships in order: one object, or with AllVersions
// the versions of one key still missing from the vault, oldest first.
type job struct {
	refs []trigger.ObjectRef
}

// Backfill ships every source object the vault lacks through o.Ship. The
// vault itself is the record of what is done: an object whose bytes the
// vault's current version holds is skipped without being read, and one
// the listings cannot decide is shipped and found a duplicate by the
// shipping path, so a rerun after an interruption ships nothing twice.
func Backfill(ctx context.Context, o BackfillOptions) (Summary, error) {
	sum := Summary{Source: o.Source.String(), DryRun: o.DryRun, AllVersions: o.AllVersions, Failures: []Failure{}}
	if o.Ship == nil && !o.DryRun {
		return sum, fmt.Errorf("backfill %s: no shipping path", o.Source)
	}
	s := o.side()
	var mu sync.Mutex
	budget := o.MemoryBudget
	if budget <= 0 {
		budget = handler.DefaultMemoryBudget
	}
	unit := budget / int64(o.workers())
	mem := semaphore.NewWeighted(budget)
	work := make(chan func(), o.workers())
	var wg sync.WaitGroup
	for range o.workers() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for f := range work {
				f()
			}
		}()
	}
	var firstErr error
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
	}
	failed := func() error { mu.Lock(); defer mu.Unlock(); return firstErr }
	// run ships a job's objects in order; a failure stops the rest of the
	// key's versions (their order in the vault must follow the source's).
	run := func(j job) {
		for _, ref := range j.refs {
			if ctx.Err() != nil {
				return
			}
			w := handler.Weight(ref.Size, unit, budget)
			if err := mem.Acquire(ctx, w); err != nil {
				return
			}
			rec, err := o.Ship(ctx, ref)
			mem.Release(w)
			if o.Progress != nil {
				o.Progress.Done(ref.Size)
			}
			mu.Lock()
			if err != nil {
				sum.Failed++
				sum.Failures = append(sum.Failures, Failure{Source: schema.SourceURI(ref.Bucket, ref.Key), VersionID: ref.VersionID, Error: err.Error()})
			} else {
				switch rec.Outcome {
				case vault.Created:
					sum.Created++
				case vault.Duplicate:
					sum.Duplicate++
				case vault.Overwrote:
					sum.Overwrote++
				}
				sum.Bytes += rec.Bytes
			}
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}
	// enqueue counts a job and, unless it is a dry run, ships it.
	enqueue := func(j job) {
		mu.Lock()
		sum.ToShip += len(j.refs)
		mu.Unlock()
		if o.Progress != nil {
			for _, r := range j.refs {
				o.Progress.Found(r.Size)
			}
		}
		if !o.DryRun {
			run(j)
		}
	}
	already := func(n int) {
		mu.Lock()
		sum.AlreadyInVault += n
		sum.Duplicate += n
		mu.Unlock()
	}
	var err error
	if o.AllVersions {
		err = s.walkVersions(ctx, func(g versionGroup) error {
			if err := failed(); err != nil {
				return err
			}
			mu.Lock()
			sum.Listed += len(g.src)
			mu.Unlock()
			select {
			case work <- func() {
				if g.keyErr != nil {
					mu.Lock()
					sum.Failed += len(g.src)
					for _, v := range g.src {
						sum.Failures = append(sum.Failures, Failure{Source: schema.SourceURI(g.bucket, g.key), VersionID: v.VersionID, Error: g.keyErr.Error()})
					}
					mu.Unlock()
					return
				}
				ship, err := s.missingVersions(ctx, g)
				if err != nil {
					fail(err)
					return
				}
				already(len(g.src) - len(ship))
				if len(ship) > 0 {
					enqueue(job{refs: ship})
				}
			}:
			case <-ctx.Done():
				return ctx.Err()
			}
			return nil
		})
	} else {
		err = s.walk(ctx, func(p pair) error {
			if err := failed(); err != nil {
				return err
			}
			mu.Lock()
			sum.Listed++
			mu.Unlock()
			select {
			case work <- func() {
				if p.keyErr != nil {
					mu.Lock()
					sum.Failed++
					sum.Failures = append(sum.Failures, Failure{Source: schema.SourceURI(p.bucket, p.src.Key), Error: p.keyErr.Error()})
					mu.Unlock()
					return
				}
				v, err := s.compare(ctx, p, false)
				if err != nil {
					fail(err)
					return
				}
				switch v.state {
				case stateSame:
					already(1)
					return
				case stateRestored:
					mu.Lock()
					sum.Restored++
					mu.Unlock()
					return
				}
				enqueue(job{refs: []trigger.ObjectRef{ref(p.bucket, p.src)}})
			}:
			case <-ctx.Done():
				return ctx.Err()
			}
			return nil
		}, nil)
	}
	close(work)
	wg.Wait()
	if err == nil {
		err = failed()
	}
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		return sum, fmt.Errorf("backfill %s: %w", o.Source, err)
	}
	return sum, nil
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
func (s side) missingVersions(ctx context.Context, g versionGroup) ([]trigger.ObjectRef, error) {
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
func (s side) sameVersion(ctx context.Context, v, sv entry) (bool, error) {
	if v.Size != sv.Size {
		return false, nil
	}
	if sv.ETag != "" && v.ETag == sv.ETag && !strings.Contains(sv.ETag, "-") {
		return true, nil
	}
	in := &s3.HeadObjectInput{Bucket: aws.String(s.Vault), Key: aws.String(v.Key), VersionId: aws.String(v.VersionID)}
	if s.VaultOwner != "" {
		in.ExpectedBucketOwner = aws.String(s.VaultOwner)
	}
	head, err := s.VaultAPI.HeadObject(ctx, in)
	if err != nil {
		return false, fmt.Errorf("head s3://%s/%s version %s: %w", s.Vault, v.Key, v.VersionID, err)
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
