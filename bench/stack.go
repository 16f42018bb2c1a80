package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/logvault/logvault/infra"
	"github.com/logvault/logvault/internal/local"
)

// stack is a local stack started with `logvault local up`.
type stack struct {
	bin, dir string
	env      local.Env
	admin    *s3.Client // Account A's administrator (the gateway's root)
	b        *s3.Client // Account B, which owns the source buckets
}

// startStack starts a fresh local stack in dir and puts its exports into
// this process's environment, as `eval "$(logvault local up)"` would, so
// the functions built in-process see the same configuration as in Lambda.
// The stack takes its policies from governanceTemplate.
func startStack(ctx context.Context, bin, dir string) (*stack, error) {
	exec.Command(bin, "local", "down", "--dir", dir).Run()
	if err := os.RemoveAll(dir); err != nil {
		return nil, err
	}
	tmpl, err := governanceTemplate(filepath.Dir(dir))
	if err != nil {
		return nil, err
	}
	progress("local stack: %s local up --dir %s --template %s", bin, dir, tmpl)
	out, err := exec.CommandContext(ctx, bin, "local", "up", "--dir", dir, "--template", tmpl).Output()
	if err != nil {
		return nil, fmt.Errorf("logvault local up: %w (see %s/stack.log)", err, dir)
	}
	st := &stack{bin: bin, dir: dir, env: local.ParseExports(string(out))}
	for k, v := range st.env {
		os.Setenv(k, v)
	}
	if st.admin, err = local.ClientFor(st.env, st.env["VAULT_ADMIN_ACCESS_KEY_ID"], st.env["VAULT_ADMIN_SECRET_ACCESS_KEY"], ""); err != nil {
		return nil, err
	}
	if st.b, err = local.ClientFor(st.env, st.env["AWS_ACCESS_KEY_ID"], st.env["AWS_SECRET_ACCESS_KEY"], ""); err != nil {
		return nil, err
	}
	return st, nil
}

// governanceTemplate writes infra/vault.yaml into dir with GOVERNANCE as
// the ObjectLockMode default, and returns its path. Under the template's
// COMPLIANCE default the local vault, like AWS, refuses every deletion of a
// version for 365 days, and purge could not keep the rounds from filling
// the disk. The mode changes nothing the functions, the CLI or the AWS CLI
// do when writing; it only lets purge delete what a round wrote.
func governanceTemplate(dir string) (string, error) {
	const compliance = "  ObjectLockMode:\n    Type: String\n    Default: COMPLIANCE\n"
	t := string(infra.VaultTemplate)
	if !strings.Contains(t, compliance) {
		return "", fmt.Errorf("infra/vault.yaml: no ObjectLockMode parameter defaulting to COMPLIANCE (%q) to turn into GOVERNANCE", compliance)
	}
	path := filepath.Join(dir, "vault-governance.yaml")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	return path, os.WriteFile(path, []byte(strings.Replace(t, compliance, strings.Replace(compliance, "COMPLIANCE", "GOVERNANCE", 1), 1)), 0o644)
}

func (st *stack) stop() {
	exec.Command(st.bin, "local", "down", "--dir", st.dir).Run()
	os.RemoveAll(st.dir)
}

// processEnv is this process's environment (which holds the stack's
// exports) without GOMEMLIMIT, so a child runs with the functions' default.
func processEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GOMEMLIMIT=") {
			env = append(env, kv)
		}
	}
	return env
}

// purge deletes every version under prefix in bucket, as Account A's
// administrator (the gateway's root, not bound by the vault's policy, like
// Account A's root), bypassing the vault's GOVERNANCE retention
// (see governanceTemplate), so rounds do not fill the disk.
func (st *stack) purge(ctx context.Context, bucket, prefix string) error {
	p := s3.NewListObjectVersionsPaginator(st.admin, &s3.ListObjectVersionsInput{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("purge s3://%s/%s: %w", bucket, prefix, err)
		}
		var ids []types.ObjectIdentifier
		for _, v := range page.Versions {
			ids = append(ids, types.ObjectIdentifier{Key: v.Key, VersionId: v.VersionId})
		}
		for _, m := range page.DeleteMarkers {
			ids = append(ids, types.ObjectIdentifier{Key: m.Key, VersionId: m.VersionId})
		}
		for len(ids) > 0 {
			n := min(len(ids), 1000)
			out, err := st.admin.DeleteObjects(ctx, &s3.DeleteObjectsInput{Bucket: aws.String(bucket), Delete: &types.Delete{Objects: ids[:n], Quiet: aws.Bool(true)}, BypassGovernanceRetention: aws.Bool(true)})
			if err != nil {
				return fmt.Errorf("purge s3://%s/%s: %w", bucket, prefix, err)
			}
			if len(out.Errors) > 0 {
				return fmt.Errorf("purge s3://%s/%s: %s: %s", bucket, prefix, aws.ToString(out.Errors[0].Key), aws.ToString(out.Errors[0].Message))
			}
			ids = ids[n:]
		}
	}
	return nil
}

// count returns the number of current objects under prefix and their bytes.
func (st *stack) count(ctx context.Context, bucket, prefix string) (int, int64, error) {
	p := s3.NewListObjectsV2Paginator(st.admin, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	var n int
	var size int64
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return 0, 0, err
		}
		for _, o := range page.Contents {
			n++
			size += aws.ToInt64(o.Size)
		}
	}
	return n, size, nil
}

// sourceObject is an object put into a source bucket, as a notification
// would announce it.
type sourceObject struct {
	Key, VersionID, ETag string
	Size                 int64
}

// put uploads size pseudo-random bytes (seeded, so a rerun sends the same
// bytes) as Account B.
func (st *stack) put(ctx context.Context, bucket, key string, size int64, seed uint64) (sourceObject, error) {
	out, err := st.b.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(bucket), Key: aws.String(key),
		Body: &randomReader{left: size, rng: rand.NewChaCha8(seedBytes(seed))}, ContentLength: aws.Int64(size),
		ContentType: aws.String("application/octet-stream"),
	})
	if err != nil {
		return sourceObject{}, fmt.Errorf("put s3://%s/%s: %w", bucket, key, err)
	}
	return sourceObject{Key: key, VersionID: aws.ToString(out.VersionId), ETag: strings.Trim(aws.ToString(out.ETag), `"`), Size: size}, nil
}

// putMany uploads objects of the given sizes under keys, 16 at a time.
func (st *stack) putMany(ctx context.Context, bucket string, keys []string, sizes []int64, seed uint64) ([]sourceObject, error) {
	objs := make([]sourceObject, len(keys))
	errs := make([]error, len(keys))
	sem := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for i := range keys {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			objs[i], errs[i] = st.put(ctx, bucket, keys[i], sizes[i], seed+uint64(i))
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return objs, nil
}

// randomReader yields pseudo-random bytes (incompressible, like a gzip
// file) without holding them.
type randomReader struct {
	left int64
	rng  *rand.ChaCha8
}

func (r *randomReader) Read(p []byte) (int, error) {
	if r.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > r.left {
		p = p[:r.left]
	}
	r.rng.Read(p)
	r.left -= int64(len(p))
	return len(p), nil
}

func seedBytes(seed uint64) [32]byte {
	var b [32]byte
	for i := 0; i < 8; i++ {
		b[i] = byte(seed >> (8 * i))
	}
	return b
}
