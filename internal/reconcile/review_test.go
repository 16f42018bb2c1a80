package reconcile_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/logvault/logvault/internal/reconcile"
	"github.com/logvault/logvault/internal/restore"
	"github.com/logvault/logvault/internal/s3mem"
)

// flaky fails the nth ListObjectsV2 of bucket, and GetObject of one key.
type flaky struct {
	reconcile.API
	bucket string
	nth    int32
	lists  atomic.Int32
	getKey string
}

func (f *flaky) ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, o ...func(*s3.Options)) (*s3.ListObjectsV2Output, error) {
	if aws.ToString(in.Bucket) == f.bucket && f.lists.Add(1) == f.nth {
		return nil, s3mem.APIError("ListObjectsV2", 500, "InternalError", "We encountered an internal error.")
	}
	return f.API.ListObjectsV2(ctx, in, o...)
}

func (f *flaky) GetObject(ctx context.Context, in *s3.GetObjectInput, o ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	if aws.ToString(in.Key) == f.getKey {
		return nil, s3mem.APIError("GetObject", 412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold")
	}
	return f.API.GetObject(ctx, in, o...)
}

// A vault listing that fails part-way stops the run at once: nothing after
// it is taken for missing and shipped again.
func TestVaultListingFailsMidway(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, false)
	for i := range 60 {
		e.put(t, fmt.Sprintf("k/%03d", i), []byte(fmt.Sprint(i)))
	}
	if _, err := reconcile.Backfill(ctx, reconcile.BackfillOptions{Options: e.opts(), Ship: e.ship}); err != nil {
		t.Fatal(err)
	}
	before := e.n.Load()
	o := e.opts()
	// The vault's s3/ stream is listed page after page (7 keys a page): fail its third page.
	o.VaultAPI = &flaky{API: e.srv, bucket: vaultB, nth: int32(len(vaultPrefixCount())) + 3}
	_, err := reconcile.Backfill(ctx, reconcile.BackfillOptions{Options: o, Ship: e.ship})
	if err == nil || !strings.Contains(err.Error(), "InternalError") {
		t.Fatalf("backfill with a failing vault listing: %v, want the listing's error", err)
	}
	if n := e.n.Load() - before; n > 8 {
		t.Errorf("%d objects shipped again after the vault listing failed, want none past the failure", n)
	}
}

// vaultPrefixCount stands for the first page of every kind prefix's stream,
// listed before the walk starts.
func vaultPrefixCount() []string {
	return []string{"billing", "cloudfront", "cloudtrail", "config", "elb", "guardduty", "route53-resolver", "s3", "s3-access-logs", "vpc-flow-logs", "waf"}
}

// A source object that changes while reconcile reads it is listed as
// changed; the run goes on.
func TestSourceChangesWhileHashed(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, false)
	e.put(t, "a", []byte("one"))
	e.put(t, "b", []byte("two"))
	if _, err := reconcile.Backfill(ctx, reconcile.BackfillOptions{Options: e.opts(), Ship: e.ship}); err != nil {
		t.Fatal(err)
	}
	e.put(t, "a", []byte("ONE")) // same size: only hashing can tell
	e.put(t, "b", []byte("TWO"))
	o := e.opts()
	o.SourceAPI = &flaky{API: e.srv, getKey: "a"}
	rep, err := reconcile.Run(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Counts.Changed != 1 || rep.Changed[0].Source != "s3://"+src+"/a" || rep.Counts.Differs != 1 || rep.Differs[0].Source != "s3://"+src+"/b" {
		t.Fatalf("changed %+v, differs %+v: want a changed while read, b differing", rep.Changed, rep.Differs)
	}
}

// A version an operator restored over the source's later (tampered) bytes
// is reported restored, and backfill does not ship the tampered bytes over
// it again.
func TestRestoredIsNotShippedOver(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, false)
	e.put(t, "evidence", []byte("genuine"))
	if _, err := reconcile.Backfill(ctx, reconcile.BackfillOptions{Options: e.opts(), Ship: e.ship}); err != nil {
		t.Fatal(err)
	}
	e.put(t, "evidence", []byte("tampered by Account B"))
	if sum, err := reconcile.Backfill(ctx, reconcile.BackfillOptions{Options: e.opts(), Ship: e.ship}); err != nil || sum.Overwrote != 1 {
		t.Fatalf("shipping the overwrite: %+v, %v", sum, err)
	}
	vk := "s3/account=" + acct + "/" + src + "/evidence"
	genuine := e.srv.Versions(vaultB, vk)[0].VersionID
	if _, err := restore.Restore(ctx, e.srv, vaultB, vk, genuine, restore.Options{Shipper: "logvault-restore/test"}); err != nil {
		t.Fatal(err)
	}
	rep, err := reconcile.Run(ctx, e.opts())
	if err != nil || rep.Counts.Restored != 1 || !rep.Complete() {
		t.Fatalf("reconcile after a restore: %+v, %v: want restored, complete", rep, err)
	}
	sum, err := reconcile.Backfill(ctx, reconcile.BackfillOptions{Options: e.opts(), Ship: e.ship})
	if err != nil || sum.Restored != 1 || sum.Overwrote+sum.Created != 0 {
		t.Fatalf("backfill after a restore: %+v, %v: want the restore left current", sum, err)
	}
	vs := e.srv.Versions(vaultB, vk)
	if !bytes.Equal(vs[len(vs)-1].Body, []byte("genuine")) {
		t.Errorf("the vault's current version is %q, want the restored genuine bytes", vs[len(vs)-1].Body)
	}
}

// --all-versions goes on past a key too long for the layout, and handles
// awkward keys across pages.
func TestAllVersionsKeyTooLongAndOddKeys(t *testing.T) {
	e := newEnv(t, true)
	e.put(t, strings.Repeat("k", 1020), []byte("x"))
	for i, k := range oddKeys {
		e.put(t, k, body(i, k))
		e.put(t, k, append(body(i, k), '2'))
	}
	sum, err := reconcile.Backfill(context.Background(), reconcile.BackfillOptions{Options: e.opts(), Ship: e.ship, AllVersions: true})
	if err != nil || sum.Failed != 1 || sum.Created != len(oddKeys) || sum.Overwrote != len(oddKeys) {
		t.Fatalf("backfill --all-versions: %+v, %v: want the long key failed by name and every odd key's two versions shipped", sum, err)
	}
	sum, err = reconcile.Backfill(context.Background(), reconcile.BackfillOptions{Options: e.opts(), Ship: e.ship, AllVersions: true})
	if sum.AlreadyInVault != 2*len(oddKeys) || sum.Created+sum.Overwrote != 0 {
		t.Fatalf("rerun: %+v, %v", sum, err)
	}
}
