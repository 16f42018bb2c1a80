package reconcile

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"golang.org/x/sync/errgroup"

	"github.com/logvault/logvault/internal/s3err"
	"github.com/logvault/logvault/internal/schema"
)

// How an object in the vault was found to hold the source's bytes (or not).
const (
	ByETag         = "etag"          // the listings' ETags are equal single-part MD5s
	ByRecordedETag = "recorded-etag" // the vault version's logvault-source-etag is the source's ETag
	BySize         = "size"          // sizes differ: no read needed
	ByHash         = "hashed"        // the source was read and its SHA-256 compared with logvault-sha256
)

// Options say what to reconcile.
type Options struct {
	Source   Source
	Function string // the function whose path ships the source (cloudtrail, billing)
	// Account is the source account: its part of the vault is compared.
	Account string
	Window  Window
	// SourceAPI lists and reads the source (Account B's credentials).
	SourceAPI API
	// VaultAPI lists and reads the vault (the writer's credentials, or an
	// Account A reader's).
	VaultAPI      API
	VaultBucket   string
	ExpectedOwner string
	// Workers bounds the HEADs and reads in flight (DefaultWorkers when 0).
	Workers int
	// MaxItems bounds each list of a report (DefaultMaxItems when 0).
	MaxItems int
}

// DefaultWorkers is how many objects are compared or shipped at once.
const DefaultWorkers = 16

func (o Options) workers() int {
	if o.Workers > 0 {
		return o.Workers
	}
	return DefaultWorkers
}

// Item is one object of a report.
type Item struct {
	Source     string    `json:"source"` // s3://bucket/key; "" for vault-only objects
	VaultKey   string    `json:"vault_key"`
	Kind       string    `json:"kind,omitempty"`
	Size       int64     `json:"size"`
	Modified   time.Time `json:"last_modified"`
	ComparedBy string    `json:"compared_by,omitempty"`
	Reason     string    `json:"reason,omitempty"`
}

// Report is the source and the vault side by side. Its lists name at most
// Options.MaxItems objects each; Counts counts them all.
type Report struct {
	Source string `json:"source"`
	Vault  string `json:"vault"`
	Since  string `json:"since,omitempty"`
	Until  string `json:"until,omitempty"`
	// Listed counts the source objects inside the window.
	Listed int `json:"listed"`
	// InVault counts those whose bytes the vault's current version holds.
	InVault int `json:"in_vault"`
	// Counts counts every state, listed or not.
	Counts Counts `json:"counts"`
	// Missing: in the source, not in the vault.
	Missing []Item `json:"missing"`
	// Differs: the vault's current version is not the source's current bytes.
	Differs []Item `json:"differs"`
	// Restored: the vault's current version is one an operator restored
	// (logvault restore) over the source's later bytes: deliberate, listed,
	// not a failure, and never shipped over.
	Restored []Item `json:"restored"`
	// Changed: the source object changed or vanished while it was read to be
	// hashed; listed, not judged (run again).
	Changed []Item `json:"changed"`
	// VaultOnly: in the vault, gone from the source (expected where the
	// source expires objects); listed, not a failure. Judged only without
	// a time window.
	VaultOnly       []Item `json:"vault_only"`
	VaultOnlyJudged bool   `json:"vault_only_judged"`
	// ComparedBy counts how each object was compared (etag, recorded-etag,
	// size, hashed).
	ComparedBy map[string]int `json:"compared_by"`
	// Hashed names the source objects that had to be read and hashed.
	Hashed []string `json:"hashed"`
	// Truncated is set when a list names fewer objects than its count.
	Truncated bool `json:"truncated"`
	maxItems  int
}

// Counts are the number of objects in each state.
type Counts struct {
	Missing   int `json:"missing"`
	Differs   int `json:"differs"`
	Restored  int `json:"restored"`
	Changed   int `json:"changed"`
	VaultOnly int `json:"vault_only"`
}

// DefaultMaxItems bounds each list of a report (about 45 MB at most in all),
// so memory stays bounded whatever the source holds.
const DefaultMaxItems = 100_000

// Complete tells whether nothing is missing or differs.
func (r Report) Complete() bool { return r.Counts.Missing == 0 && r.Counts.Differs == 0 }

// keep appends it to l unless l is full.
func (r *Report) keep(l *[]Item, it Item) {
	if len(*l) >= r.maxItems {
		r.Truncated = true
		return
	}
	*l = append(*l, it)
}

// Run reconciles o.Source with the vault. It reads the source only where the
// listings and the vault's record cannot decide.
func Run(ctx context.Context, o Options) (Report, error) {
	rep := Report{Source: o.Source.String(), Vault: "s3://" + o.VaultBucket, Missing: []Item{}, Differs: []Item{}, Restored: []Item{},
		Changed: []Item{}, VaultOnly: []Item{}, VaultOnlyJudged: o.Window.Open(), ComparedBy: map[string]int{}, Hashed: []string{}, maxItems: o.MaxItems}
	if rep.maxItems <= 0 {
		rep.maxItems = DefaultMaxItems
	}
	if !o.Window.Since.IsZero() {
		rep.Since = o.Window.Since.UTC().Format(time.RFC3339)
	}
	if !o.Window.Until.IsZero() {
		rep.Until = o.Window.Until.UTC().Format(time.RFC3339)
	}
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(o.workers())
	err := o.walk(gctx, func(p pair) error {
		mu.Lock()
		rep.Listed++
		mu.Unlock()
		if err := gctx.Err(); err != nil {
			return err // a comparison failed: stop listing
		}
		g.Go(func() error {
			v, err := o.compare(gctx, p, true)
			if err != nil {
				return err
			}
			mu.Lock()
			rep.add(p, v)
			mu.Unlock()
			return nil
		})
		return nil
	}, func(vaultKey string, e entry) {
		mu.Lock()
		rep.Counts.VaultOnly++
		rep.keep(&rep.VaultOnly, Item{VaultKey: vaultKey, Kind: string(schema.VaultKind(vaultKey)), Size: e.Size, Modified: e.LastModified})
		mu.Unlock()
	})
	if gerr := g.Wait(); gerr != nil {
		err = gerr // the comparison's error, not the listing's "context canceled"
	}
	if err != nil {
		return Report{}, fmt.Errorf("reconcile %s: %w", o.Source, err)
	}
	for _, l := range [][]Item{rep.Missing, rep.Differs, rep.Restored, rep.Changed, rep.VaultOnly} {
		sort.Slice(l, func(i, j int) bool { return l[i].Source+l[i].VaultKey < l[j].Source+l[j].VaultKey })
	}
	sort.Strings(rep.Hashed)
	return rep, nil
}

// The states of a compared object.
const (
	stateSame     = "same"
	stateMissing  = "missing"
	stateDiffers  = "differs"
	stateRestored = "restored"
	stateChanged  = "changed"
	stateUnsure   = "unsure" // not hashed: the shipping path decides
)

// verdict is what comparing one pair came to.
type verdict struct {
	state  string
	by     string
	reason string
}

func (r *Report) add(p pair, v verdict) {
	it := Item{Source: schema.SourceURI(p.bucket, p.src.Key), VaultKey: p.vaultKey, Kind: string(p.kind), Size: p.src.Size,
		Modified: p.src.LastModified, ComparedBy: v.by, Reason: v.reason}
	if v.by != "" {
		r.ComparedBy[v.by]++
	}
	if v.by == ByHash && len(r.Hashed) < r.maxItems {
		r.Hashed = append(r.Hashed, it.Source)
	}
	switch v.state {
	case stateSame:
		r.InVault++
	case stateMissing:
		r.Counts.Missing++
		r.keep(&r.Missing, it)
	case stateRestored:
		r.Counts.Restored++
		r.keep(&r.Restored, it)
	case stateChanged:
		r.Counts.Changed++
		r.keep(&r.Changed, it)
	default:
		r.Counts.Differs++
		r.keep(&r.Differs, it)
	}
}

// compare decides whether the vault's current version under p's key holds
// the source's bytes: from the listings when their ETags are single-part
// MD5s of equal sizes, else from the vault's record (logvault-source-etag),
// else by reading the source and comparing its SHA-256 with the vault's
// logvault-sha256 (only when hash is set; otherwise "unsure"). A current
// version written by `logvault restore` is "restored", never "differs": an
// operator chose it over the source's later bytes.
func (s Options) compare(ctx context.Context, p pair, hash bool) (verdict, error) {
	switch {
	case p.keyErr != nil:
		return verdict{state: stateMissing, reason: p.keyErr.Error()}, nil
	case p.vault == nil:
		return verdict{state: stateMissing}, nil
	case p.vault.Size == p.src.Size && p.src.ETag != "" && p.src.ETag == p.vault.ETag && !strings.Contains(p.src.ETag, "-"):
		return verdict{state: stateSame, by: ByETag}, nil
	}
	in := &s3.HeadObjectInput{Bucket: aws.String(s.VaultBucket), Key: aws.String(p.vaultKey)}
	if s.ExpectedOwner != "" {
		in.ExpectedBucketOwner = aws.String(s.ExpectedOwner)
	}
	head, err := s.VaultAPI.HeadObject(ctx, in)
	if err != nil {
		return verdict{}, fmt.Errorf("head s3://%s/%s: %w", s.VaultBucket, p.vaultKey, err)
	}
	sizeDiffers := p.vault.Size != p.src.Size
	if rec := head.Metadata[schema.MetaSourceETag]; !sizeDiffers && rec != "" && rec == p.src.ETag {
		return verdict{state: stateSame, by: ByRecordedETag}, nil
	}
	if from := head.Metadata[schema.MetaRestoredFrom]; from != "" {
		return verdict{state: stateRestored, reason: fmt.Sprintf("the vault's current version %s restores version %s (logvault restore); the source's current bytes are not shipped over it",
			aws.ToString(head.VersionId), from)}, nil
	}
	if sizeDiffers {
		return verdict{state: stateDiffers, by: BySize, reason: fmt.Sprintf("the vault's current version has %d bytes, the source %d", p.vault.Size, p.src.Size)}, nil
	}
	if !hash {
		return verdict{state: stateUnsure}, nil
	}
	want := head.Metadata[schema.MetaSHA256]
	got, err := s.hashSource(ctx, p.src)
	if errors.Is(err, errChanged) {
		return verdict{state: stateChanged, reason: err.Error()}, nil
	}
	if err != nil {
		return verdict{}, err
	}
	if got == want {
		return verdict{state: stateSame, by: ByHash}, nil
	}
	return verdict{state: stateDiffers, by: ByHash, reason: fmt.Sprintf("source SHA-256 %s, the vault's current version records %s", got, orNone(want))}, nil
}

// errChanged marks a source object that changed or vanished after it was
// listed.
var errChanged = errors.New("the source object changed or vanished after it was listed; run again")

// hashSource reads a source object, pinned to the listed ETag, and returns
// its SHA-256.
func (s Options) hashSource(ctx context.Context, e entry) (string, error) {
	in := &s3.GetObjectInput{Bucket: aws.String(s.Source.Bucket), Key: aws.String(e.Key)}
	if e.VersionID != "" {
		in.VersionId = aws.String(e.VersionID)
	} else if e.ETag != "" {
		in.IfMatch = aws.String(`"` + e.ETag + `"`)
	}
	out, err := s.SourceAPI.GetObject(ctx, in)
	// Only S3's own words for "not that object any more": a bare 404 (an
	// unreadable answer) stays an error, so reconcile does not pass over it.
	if code := s3err.Code(err); s3err.Is(err, 412) || code == "NoSuchKey" || code == "NoSuchVersion" {
		return "", fmt.Errorf("read s3://%s/%s: %w (%s)", s.Source.Bucket, e.Key, errChanged, cmp.Or(code, "412"))
	}
	if err != nil {
		return "", fmt.Errorf("read s3://%s/%s: %w", s.Source.Bucket, e.Key, err)
	}
	defer out.Body.Close()
	h := sha256.New()
	n, err := io.Copy(h, out.Body)
	if err == nil && n != e.Size {
		err = errChanged
	}
	if err != nil {
		return "", fmt.Errorf("read s3://%s/%s: %w", s.Source.Bucket, e.Key, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func orNone(s string) string {
	if s == "" {
		return "no logvault-sha256"
	}
	return s
}
