//go:build integration

package e2e

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/logvault/logvault/internal/eventgen"
)

// randomReader yields size pseudo-random bytes without holding them.
type randomReader struct{ left int64 }

func (r *randomReader) Read(p []byte) (int, error) {
	if r.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > r.left {
		p = p[:r.left]
	}
	rand.Read(p)
	r.left -= int64(len(p))
	return len(p), nil
}

// BenchmarkBillingCopy ships billing files of several sizes with each copy
// strategy, each in its own `logvault invoke billing` process, and reports
// the process's peak RSS and wall time. Run: make bench-memory.
func BenchmarkBillingCopy(b *testing.B) {
	sizes := []int64{256 << 20, 1 << 30}
	if s := os.Getenv("LOGVAULT_BENCH_SIZES_MIB"); s != "" {
		sizes = nil
		for _, f := range splitComma(s) {
			n, err := strconv.ParseInt(f, 10, 64)
			if err != nil {
				b.Fatal(err)
			}
			sizes = append(sizes, n<<20)
		}
	}
	for _, strategy := range []string{"spool", "reread"} {
		for _, size := range sizes {
			b.Run(fmt.Sprintf("%s/%dMiB", strategy, size>>20), func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					b.StopTimer()
					key := fmt.Sprintf("bench/%s/%d/%d.csv.gz", strategy, size, time.Now().UnixNano())
					out, err := accountBFor(b).PutObject(context.Background(), &s3.PutObjectInput{
						Bucket: aws.String(stack.env["SOURCE_BILLING_BUCKET"]), Key: aws.String(key),
						Body: &randomReader{left: size}, ContentLength: aws.Int64(size),
					})
					if err != nil {
						b.Fatal(err)
					}
					ev, _ := eventgen.Build("s3-put", eventgen.Object{Bucket: stack.env["SOURCE_BILLING_BUCKET"], Key: key,
						VersionID: aws.ToString(out.VersionId), ETag: trimQuotes(aws.ToString(out.ETag)), Size: size})
					f := filepath.Join(b.TempDir(), "ev.json")
					os.WriteFile(f, ev, 0o600)
					cmd := exec.Command(stack.bin, "invoke", "billing", f)
					cmd.Env = append(os.Environ(), "LOGVAULT_COPY_STRATEGY="+strategy)
					for k, v := range stack.env {
						cmd.Env = append(cmd.Env, k+"="+v)
					}
					b.StartTimer()
					start := time.Now()
					if out, err := cmd.CombinedOutput(); err != nil {
						b.Fatalf("invoke: %v\n%s", err, out)
					}
					wall := time.Since(start)
					b.StopTimer()
					ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
					b.ReportMetric(float64(ru.Maxrss)/1024, "peak-RSS-MiB")
					b.ReportMetric(float64(size)/(1<<20)/wall.Seconds(), "MiB/s")
					b.ReportMetric(0, "ns/op")
				}
			})
		}
	}
}

func splitComma(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ',' {
			if i > start {
				out = append(out, s[start:i])
			}
			start = i + 1
		}
	}
	return out
}
