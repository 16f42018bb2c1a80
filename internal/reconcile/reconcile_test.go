package reconcile_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/logvault/logvault/internal/reconcile"
	"github.com/logvault/logvault/internal/s3mem"
	"github.com/logvault/logvault/internal/schema"
	"github.com/logvault/logvault/internal/ship"
	"github.com/logvault/logvault/internal/source"
	"github.com/logvault/logvault/internal/trigger"
	"github.com/logvault/logvault/internal/vault"
)

const (
	acct     = "222222222222"
	src      = "source-bucket"
	vaultB   = "vault"
	pageSize = 7 // small pages: every listing spans several
)

type env struct {
	srv  *s3mem.Server
	ship reconcile.Shipper
	n    atomic.Int64 // shipments attempted
}

func newEnv(t *testing.T, versioned bool) *env {
	srv := s3mem.New()
	srv.CreateBucket(src, s3mem.BucketConfig{Versioned: versioned, PageSize: pageSize})
	srv.CreateBucket(vaultB, s3mem.BucketConfig{Versioned: true, PageSize: pageSize})
	c := &ship.Copier{
		Account: acct,
		Source:  &source.Reader{S3: srv},
		Vault:   &vault.Writer{S3: srv, Bucket: vaultB, Shipper: "logvault-cloudtrail/test"},
		Kind:    schema.Classifier(schema.FunctionCloudTrail),
	}
	e := &env{srv: srv}
	e.ship = func(ctx context.Context, ref trigger.ObjectRef) (vault.Receipt, error) {
		e.n.Add(1)
		return c.Ship(ctx, ref)
	}
	return e
}

func (e *env) opts() reconcile.Options {
	return reconcile.Options{Source: reconcile.Source{Bucket: src}, Function: schema.FunctionCloudTrail, Account: acct, SourceAPI: e.srv, VaultAPI: e.srv, VaultBucket: vaultB, Workers: 4}
}

func (e *env) put(t *testing.T, key string, body []byte) {
	t.Helper()
	if _, err := e.srv.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(src), Key: aws.String(key), Body: bytes.NewReader(body)}); err != nil {
		t.Fatal(err)
	}
}

// oddKeys are source keys of every awkward shape and of several kinds.
var oddKeys = []string{
	"a b.txt", "plus+sign", "pct%41%", "é/ü/deep/er/x", "zero", "z", "a-c", "a/b", "a/b/c",
	"AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/26/111122223333_CloudTrail_us-east-1_20261126T0005Z_a.json.gz",
	"AWSLogs/111122223333/Config/us-east-1/2026/11/26/ConfigSnapshot/x.json.gz",
	"AWSLogs/111122223333/elasticloadbalancing/us-east-1/2026/11/26/x.log.gz",
	"logs/2026-11-26-00-05-12-0123456789ABCDEF",
	"EMLARXS9EXAMPLE.2026-11-26-20.RT4KCN4SGK9.gz",
}

func body(i int, key string) []byte {
	if key == "zero" {
		return nil
	}
	return []byte(fmt.Sprintf("%d %s\n", i, key))
}

func TestReconcileThenBackfill(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, false)
	for i, k := range oddKeys {
		e.put(t, k, body(i, k))
	}
	rep, err := reconcile.Run(ctx, e.opts())
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Missing) != len(oddKeys) || rep.Listed != len(oddKeys) || rep.Complete() || len(rep.Differs)+len(rep.VaultOnly) != 0 {
		t.Fatalf("before backfill: listed %d, missing %d, differs %d, vault-only %d; want %d missing", rep.Listed, len(rep.Missing), len(rep.Differs), len(rep.VaultOnly), len(oddKeys))
	}

	sum, err := reconcile.Backfill(ctx, reconcile.BackfillOptions{Options: e.opts(), Ship: e.ship})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Created != len(oddKeys) || sum.Failed != 0 || sum.Listed != len(oddKeys) {
		t.Fatalf("backfill %+v: want %d created", sum, len(oddKeys))
	}
	for i, k := range oddKeys {
		kind := schema.Classify(schema.FunctionCloudTrail, k)
		vk, _ := schema.CopiedKey(kind, acct, src, k)
		vs := e.srv.Versions(vaultB, vk)
		if len(vs) != 1 || !bytes.Equal(vs[0].Body, body(i, k)) || vs[0].Metadata[schema.MetaKind] != string(kind) {
			t.Errorf("%s: vault holds %d versions under %s (kind %s)", k, len(vs), vk, kind)
		}
	}

	// A second run reads nothing and writes nothing.
	before := e.n.Load()
	sum, err = reconcile.Backfill(ctx, reconcile.BackfillOptions{Options: e.opts(), Ship: e.ship})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Created+sum.Overwrote != 0 || sum.AlreadyInVault != len(oddKeys) || e.n.Load() != before {
		t.Errorf("second backfill %+v, %d shipments: want every object already in the vault", sum, e.n.Load()-before)
	}
	rep, err = reconcile.Run(ctx, e.opts())
	if err != nil || !rep.Complete() || rep.InVault != len(oddKeys) || len(rep.Hashed) != 0 {
		t.Fatalf("after backfill: %+v, %v: want complete, compared without reading", rep, err)
	}

	// Overwritten in the source (same size and other size), deleted from
	// the source, and an object the vault has under the old bytes.
	e.put(t, "a b.txt", []byte("0 a b.tXt\n"))
	e.put(t, "plus+sign", []byte("longer than before\n"))
	e.srv.Delete(src, "z")
	rep, err = reconcile.Run(ctx, e.opts())
	if err != nil {
		t.Fatal(err)
	}
	var differs []string
	for _, it := range rep.Differs {
		differs = append(differs, it.Source+" by "+it.ComparedBy)
	}
	want := []string{"s3://" + src + "/a b.txt by hashed", "s3://" + src + "/plus+sign by size"}
	if !slices.Equal(differs, want) {
		t.Errorf("differs %v, want %v", differs, want)
	}
	if len(rep.VaultOnly) != 1 || rep.VaultOnly[0].VaultKey != "s3/account="+acct+"/"+src+"/z" {
		t.Errorf("vault-only %+v, want s3/%s/z", rep.VaultOnly, src)
	}
	if len(rep.Hashed) != 1 || rep.Hashed[0] != "s3://"+src+"/a b.txt" {
		t.Errorf("hashed %v, want the same-size overwrite only", rep.Hashed)
	}

	// Backfill ships the two overwrites (new versions), nothing else.
	sum, err = reconcile.Backfill(ctx, reconcile.BackfillOptions{Options: e.opts(), Ship: e.ship})
	if err != nil || sum.Overwrote != 2 || sum.Created != 0 {
		t.Errorf("backfill after overwrites %+v, %v: want 2 overwrote", sum, err)
	}
}

// A window limits what is judged; vault-only is not judged inside one.
func TestWindow(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, false)
	e.put(t, "old", []byte("old"))
	o := e.opts()
	o.Window = reconcile.Window{Since: time.Now().Add(time.Hour)}
	rep, err := reconcile.Run(ctx, o)
	if err != nil || rep.Listed != 0 || !rep.Complete() || rep.VaultOnlyJudged {
		t.Fatalf("window after every object: %+v, %v", rep, err)
	}
	o.Window = reconcile.Window{Until: time.Now().Add(time.Hour)}
	rep, err = reconcile.Run(ctx, o)
	if err != nil || rep.Listed != 1 || len(rep.Missing) != 1 {
		t.Fatalf("window around the object: %+v, %v", rep, err)
	}
}

// A backfill interrupted part-way ships the rest when run again, and every
// object ends in the vault exactly once.
func TestBackfillResumes(t *testing.T) {
	e := newEnv(t, false)
	const n = 60
	for i := range n {
		e.put(t, fmt.Sprintf("k/%03d", i), []byte(fmt.Sprint(i)))
	}
	ctx, cancel := context.WithCancel(context.Background())
	var shipped atomic.Int64
	first := func(ctx context.Context, ref trigger.ObjectRef) (vault.Receipt, error) {
		if shipped.Add(1) == 20 {
			cancel()
		}
		return e.ship(ctx, ref)
	}
	o := e.opts()
	sum, err := reconcile.Backfill(ctx, reconcile.BackfillOptions{Options: o, Ship: first})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted backfill: %+v, %v: want context.Canceled", sum, err)
	}
	sum, err = reconcile.Backfill(context.Background(), reconcile.BackfillOptions{Options: o, Ship: e.ship})
	if err != nil || sum.Failed != 0 {
		t.Fatalf("second backfill %+v, %v", sum, err)
	}
	for i := range n {
		if vs := e.srv.Versions(vaultB, fmt.Sprintf("s3/account=%s/%s/k/%03d", acct, src, i)); len(vs) != 1 {
			t.Errorf("k/%03d: %d versions in the vault, want 1", i, len(vs))
		}
	}
	if sum.AlreadyInVault+sum.Created+sum.Duplicate-sum.AlreadyInVault != n {
		t.Errorf("second backfill %+v: want all %d accounted for", sum, n)
	}
}

// --all-versions ships a versioned source's versions oldest first, and a
// rerun (or a run after a current-only backfill) adds nothing.
func TestBackfillAllVersions(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, true)
	for i := range 4 {
		e.put(t, "multi", []byte(fmt.Sprintf("version %d", i)))
	}
	e.put(t, "single", []byte("one"))
	o := reconcile.BackfillOptions{Options: e.opts(), Ship: e.ship, AllVersions: true}
	o.Workers = 3
	dry := o
	dry.DryRun = true
	sum, err := reconcile.Backfill(ctx, dry)
	if err != nil || sum.ToShip != 5 || e.n.Load() != 0 || sum.Created != 0 {
		t.Fatalf("dry run %+v, %v, %d shipments: want 5 to ship and nothing shipped", sum, err, e.n.Load())
	}
	sum, err = reconcile.Backfill(ctx, o)
	if err != nil || sum.Created != 2 || sum.Overwrote != 3 || sum.Listed != 5 {
		t.Fatalf("backfill --all-versions %+v, %v: want 2 created, 3 overwrote", sum, err)
	}
	srcVs := e.srv.Versions(src, "multi")
	vaultVs := e.srv.Versions(vaultB, "s3/account="+acct+"/"+src+"/multi")
	if len(vaultVs) != len(srcVs) {
		t.Fatalf("vault holds %d versions of multi, the source %d", len(vaultVs), len(srcVs))
	}
	for i := range srcVs {
		if !bytes.Equal(srcVs[i].Body, vaultVs[i].Body) || vaultVs[i].Metadata[schema.MetaSourceVersionID] != srcVs[i].VersionID {
			t.Errorf("version %d: vault %q (source version %s), source %q (%s): order differs", i, vaultVs[i].Body, vaultVs[i].Metadata[schema.MetaSourceVersionID], srcVs[i].Body, srcVs[i].VersionID)
		}
	}
	before := e.n.Load()
	sum, err = reconcile.Backfill(ctx, o)
	if err != nil || sum.AlreadyInVault != 5 || e.n.Load() != before {
		t.Errorf("rerun %+v, %v: want all 5 versions found in the vault, none shipped", sum, err)
	}
	// A new version in the source: only it is shipped.
	e.put(t, "multi", []byte("version 4"))
	sum, err = reconcile.Backfill(ctx, o)
	if err != nil || sum.Overwrote != 1 || sum.AlreadyInVault != 5 {
		t.Errorf("after a new version %+v, %v: want it alone shipped", sum, err)
	}
}

// A key the layout cannot hold is named as failed; the rest ship.
func TestBackfillKeyTooLong(t *testing.T) {
	e := newEnv(t, false)
	long := strings.Repeat("k", 1020)
	e.put(t, long, []byte("x"))
	e.put(t, "short", []byte("y"))
	sum, err := reconcile.Backfill(context.Background(), reconcile.BackfillOptions{Options: e.opts(), Ship: e.ship})
	if err != nil || sum.Failed != 1 || sum.Created != 1 || !strings.Contains(sum.Failures[0].Error, "limit") {
		t.Fatalf("backfill %+v, %v: want the long key failed by name, the other created", sum, err)
	}
	rep, err := reconcile.Run(context.Background(), e.opts())
	if err != nil || len(rep.Missing) != 1 || rep.Missing[0].Reason == "" {
		t.Fatalf("reconcile %+v, %v: want the long key missing with its reason", rep, err)
	}
}

func TestParseSource(t *testing.T) {
	for in, want := range map[string]string{"s3://b": "s3://b/", "s3://b/": "s3://b/", "s3://b/p/q": "s3://b/p/q", "b": "", "s3://": "", "s3:///p": ""} {
		got, err := reconcile.ParseSource(in)
		if (err == nil) != (want != "") || (err == nil && got.String() != want) {
			t.Errorf("ParseSource(%q) = %v, %v; want %q", in, got, err, want)
		}
	}
}
