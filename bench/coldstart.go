package main

import (
	"bytes"
	"context"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/logvault/logvault/internal/eventgen"
)

// riePackage is the Lambda Runtime Interface Emulator, pinned.
const riePackage = "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@v0.0.0-20261030222936-bef5c4ba774d"

// lambdaFunctions are the functions with their template.yaml settings.
var lambdaFunctions = []struct {
	name            string
	memoryMB        int
	timeoutSeconds  int
	functionNameEnv string
}{
	{"cloudtrail", 256, 300, "logvault-cloudtrail"},
	{"billing", 512, 900, "logvault-billing"},
	{"applogs", 256, 120, "logvault-applogs"},
}

// bootstraps are the functions built as for Lambda, and the emulator.
type bootstraps struct {
	rie  string
	path map[string]map[string]string // arch -> function -> bootstrap
	size map[string]map[string]int64
}

// buildBootstraps builds each function's bootstrap as `make build` does
// (CGO_ENABLED=0, -trimpath, -tags lambda.norpc, -ldflags "-s -w"): for
// arm64, Lambda's architecture, to report its size, and for this machine's
// architecture, to run it under the emulator. It installs aws-lambda-rie
// when the working folder has none.
func buildBootstraps(ctx context.Context, work string) (*bootstraps, error) {
	b := &bootstraps{rie: filepath.Join(work, "bin", "aws-lambda-rie"), path: map[string]map[string]string{}, size: map[string]map[string]int64{}}
	if _, err := os.Stat(b.rie); err != nil {
		progress("aws-lambda-rie: go install %s", riePackage)
		cmd := exec.CommandContext(ctx, "go", "install", riePackage)
		cmd.Env = append(os.Environ(), "GOBIN="+filepath.Dir(b.rie))
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("go install aws-lambda-rie: %w\n%s", err, out)
		}
	}
	version := "bench"
	if out, err := exec.Command("git", "describe", "--always", "--dirty").Output(); err == nil {
		version = strings.TrimSpace(string(out))
	}
	host := goEnv("GOARCH")
	for _, arch := range []string{"arm64", host} {
		if b.path[arch] != nil {
			continue
		}
		b.path[arch], b.size[arch] = map[string]string{}, map[string]int64{}
		for _, fn := range lambdaFunctions {
			out := filepath.Join(work, "bootstrap", arch, fn.name, "bootstrap")
			progress("build %s bootstrap for linux/%s", fn.name, arch)
			cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-tags", "lambda.norpc",
				"-ldflags", "-s -w -X github.com/logvault/logvault/internal/functions.Version="+version,
				"-o", out, "./functions/"+fn.name)
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
			if o, err := cmd.CombinedOutput(); err != nil {
				return nil, fmt.Errorf("build %s for %s: %w\n%s", fn.name, arch, err, o)
			}
			fi, err := os.Stat(out)
			if err != nil {
				return nil, err
			}
			b.path[arch][fn.name], b.size[arch][fn.name] = out, fi.Size()
		}
	}
	return b, nil
}

func goEnv(name string) string {
	out, err := exec.Command("go", "env", name).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// coldResult is row 4 for one function.
type coldResult struct {
	function  string
	sizeArm64 int64
	sizeHost  int64
	hostArch  string
	init      []time.Duration // the emulator's Init Duration
	first     []time.Duration // first invocation, as its caller sees it
	warm      []time.Duration // a second invocation in the same environment
}

// benchColdStart starts each bootstrap under aws-lambda-rie, one emulator
// and one request at a time (the emulator serves one invocation at once),
// sends a first and a second invocation that each ship a new object into
// the local stack, and reads the Init Duration from the emulator's REPORT
// line. Functions take turns, in a rotating order, round after round.
func benchColdStart(ctx context.Context, o options, st *stack, b *bootstraps) ([]*coldResult, error) {
	host := goEnv("GOARCH")
	results := map[string]*coldResult{}
	var order []*coldResult
	for _, fn := range lambdaFunctions {
		r := &coldResult{function: fn.name, sizeArm64: b.size["arm64"][fn.name], sizeHost: b.size[host][fn.name], hostArch: host}
		results[fn.name] = r
		order = append(order, r)
	}
	rounds := max(o.rounds, 5)
	for r := 0; r < rounds; r++ {
		for i := range lambdaFunctions {
			fn := lambdaFunctions[(i+r)%len(lambdaFunctions)]
			var events [2][]byte
			for k := range events {
				ev, err := coldEvent(ctx, st, fn.name, r*2+k)
				if err != nil {
					return nil, err
				}
				events[k] = ev
			}
			initD, first, warm, err := runRIE(ctx, b.rie, b.path[host][fn.name], fn.functionNameEnv, fn.memoryMB, fn.timeoutSeconds, events)
			if err != nil {
				return nil, fmt.Errorf("coldstart %s: %w", fn.name, err)
			}
			res := results[fn.name]
			res.init = append(res.init, initD)
			res.first = append(res.first, first)
			res.warm = append(res.warm, warm)
			progress("  %-10s init %s, first invocation %s, second %s", fn.name, initD.Round(10*time.Microsecond), first.Round(10*time.Microsecond), warm.Round(10*time.Microsecond))
		}
	}
	for _, p := range [][2]string{{st.env["SOURCE_CLOUDTRAIL_BUCKET"], "bench-cold/"}, {st.env["SOURCE_BILLING_BUCKET"], "bench-cold/"}, {st.env["VAULT_BUCKET"], "cloudtrail/" + st.env["SOURCE_CLOUDTRAIL_BUCKET"] + "/bench-cold/"},
		{st.env["VAULT_BUCKET"], "billing/" + st.env["SOURCE_BILLING_BUCKET"] + "/bench-cold/"}, {st.env["VAULT_BUCKET"], "applogs/"}} {
		if err := st.purge(ctx, p[0], p[1]); err != nil {
			return nil, err
		}
	}
	return order, nil
}

// coldEvent prepares what Lambda would hand each function: for cloudtrail
// an SQS batch with one S3 notification of a new 20 KiB file, for billing
// an SQS message of an EventBridge event of a new 1 MiB report, for
// applogs a 64 KB CloudWatch Logs subscription payload.
func coldEvent(ctx context.Context, st *stack, fn string, n int) ([]byte, error) {
	stamp := time.Now().UnixNano()
	switch fn {
	case "cloudtrail":
		src := st.env["SOURCE_CLOUDTRAIL_BUCKET"]
		obj, err := st.put(ctx, src, fmt.Sprintf("bench-cold/AWSLogs/222222222222/CloudTrail/us-east-1/2026/11/27/%d.json.gz", stamp), 20<<10, uint64(stamp))
		if err != nil {
			return nil, err
		}
		return eventgen.Build("sqs-s3", eventgen.Object{Bucket: src, Key: obj.Key, VersionID: obj.VersionID, ETag: obj.ETag, Size: obj.Size})
	case "billing":
		src := st.env["SOURCE_BILLING_BUCKET"]
		obj, err := st.put(ctx, src, fmt.Sprintf("bench-cold/cur2/data/%d.csv.gz", stamp), 1<<20, uint64(stamp))
		if err != nil {
			return nil, err
		}
		return eventgen.Build("sqs-eventbridge", eventgen.Object{Bucket: src, Key: obj.Key, VersionID: obj.VersionID, ETag: obj.ETag, Size: obj.Size})
	default:
		d := logBatch(mrand.New(mrand.NewPCG(uint64(stamp), 1)), n, 64_000)
		d.LogStream = fmt.Sprintf("bench-cold/%d", stamp)
		return eventgen.CloudWatchLogs(d), nil
	}
}

// initDuration matches the emulator's INIT REPORT line. Its REPORT line's
// "Init Duration" is a placeholder (0.02 ms) in this emulator; the INIT
// REPORT is the time from the bootstrap's start to its first call for the
// next event, which is what Lambda reports as Init Duration.
var initDuration = regexp.MustCompile(`INIT REPORT\(durationMs: ([0-9.]+)\)`)

// runRIE runs one emulator with bootstrap, sends events one after the
// other, and returns the init duration and both invocations' latencies.
func runRIE(ctx context.Context, rie, bootstrap, name string, memoryMB, timeout int, events [2][]byte) (initD, first, warm time.Duration, err error) {
	apiPort, err := freePort()
	if err != nil {
		return 0, 0, 0, err
	}
	riePort, err := freePort()
	if err != nil {
		return 0, 0, 0, err
	}
	cmd := exec.CommandContext(ctx, rie,
		"--runtime-interface-emulator-address", fmt.Sprintf("127.0.0.1:%d", riePort),
		"--runtime-api-address", fmt.Sprintf("127.0.0.1:%d", apiPort),
		bootstrap)
	cmd.Dir = filepath.Dir(bootstrap)
	cmd.Env = append(processEnv(),
		"AWS_LAMBDA_FUNCTION_NAME="+name,
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE="+strconv.Itoa(memoryMB),
		"AWS_LAMBDA_FUNCTION_TIMEOUT="+strconv.Itoa(timeout),
		"LOG_LEVEL=info")
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return 0, 0, 0, err
	}
	defer func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
	}()
	addr := fmt.Sprintf("127.0.0.1:%d", riePort)
	for deadline := time.Now().Add(10 * time.Second); ; {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			return 0, 0, 0, fmt.Errorf("aws-lambda-rie did not listen on %s:\n%s", addr, tail(out.String(), 2000))
		}
		time.Sleep(5 * time.Millisecond)
	}
	client := &http.Client{Timeout: time.Duration(timeout+30) * time.Second}
	var lat [2]time.Duration
	for i, ev := range events {
		start := time.Now()
		resp, err := client.Post("http://"+addr+"/2015-03-31/functions/function/invocations", "application/json", bytes.NewReader(ev))
		if err != nil {
			return 0, 0, 0, fmt.Errorf("invoke: %w\n%s", err, tail(out.String(), 2000))
		}
		var body bytes.Buffer
		body.ReadFrom(resp.Body)
		resp.Body.Close()
		lat[i] = time.Since(start)
		if resp.StatusCode != http.StatusOK || strings.Contains(body.String(), "errorType") || strings.Contains(body.String(), "itemIdentifier") {
			return 0, 0, 0, fmt.Errorf("invocation %d: %s %s\n%s", i+1, resp.Status, body.String(), tail(out.String(), 3000))
		}
	}
	// The INIT REPORT line precedes the first invocation, but the output
	// may still be in flight; give the emulator a moment.
	for deadline := time.Now().Add(2 * time.Second); ; {
		if m := initDuration.FindStringSubmatch(out.String()); m != nil {
			ms, _ := strconv.ParseFloat(m[1], 64)
			return time.Duration(ms * float64(time.Millisecond)), lat[0], lat[1], nil
		}
		if time.Now().After(deadline) {
			return 0, 0, 0, fmt.Errorf("no INIT REPORT line:\n%s", tail(out.String(), 3000))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// syncBuffer is a bytes.Buffer safe for the emulator's two output streams.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
