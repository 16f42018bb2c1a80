package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// debianAWS is where Debian's awscli package installs the AWS CLI. The bench
// uses that one (not whatever `aws` comes first on PATH, e.g. a pip install
// of CLI v1), so every machine compares against the same baseline; set
// AWS_CLI to use another.
const debianAWS = "/usr/bin/aws"

// awsCLI runs the AWS CLI against the local stack as Account A's
// administrator: the only local identity that can both read the source
// buckets and write the vault, as a user copying between the two would
// need (the writer role cannot read the sources; Account B cannot write
// the vault).
type awsCLI struct {
	path, version, config string
	env                   []string
	base                  []string
}

// ensureAWSCLI finds the AWS CLI, installing Debian's awscli package when it
// is missing.
func ensureAWSCLI(ctx context.Context, work string) (*awsCLI, error) {
	path := os.Getenv("AWS_CLI")
	if path == "" {
		path = debianAWS
		if _, err := os.Stat(path); err != nil {
			progress("AWS CLI: %s missing; installing Debian's awscli package", path)
			if err := aptInstall(ctx, "awscli"); err != nil {
				return nil, err
			}
		}
	}
	out, err := exec.CommandContext(ctx, path, "--version").CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("%s --version: %w: %s", path, err, out)
	}
	c := &awsCLI{path: path, version: strings.Fields(string(out))[0], config: filepath.Join(work, "aws-config")}
	progress("AWS CLI: %s (%s)", path, strings.TrimSpace(string(out)))
	// Path-style addressing for the local server. Debian's CLI (2.9) predates
	// AWS_ENDPOINT_URL_S3 (2.13), so the endpoint goes on the command line.
	cfg := "[default]\nregion = us-east-1\ns3 =\n  addressing_style = path\n"
	return c, os.WriteFile(c.config, []byte(cfg), 0o600)
}

// aptInstall installs Debian packages, with sudo when not root.
func aptInstall(ctx context.Context, pkgs ...string) error {
	prefix := []string{}
	if os.Geteuid() != 0 {
		if _, err := exec.LookPath("sudo"); err != nil {
			return fmt.Errorf("need root or sudo to install %v", pkgs)
		}
		prefix = []string{"sudo", "-n"}
	}
	for _, args := range [][]string{{"apt-get", "update", "-qq"}, append([]string{"apt-get", "install", "-y", "-qq", "--no-install-recommends"}, pkgs...)} {
		args = append(prefix, args...)
		cmd := exec.CommandContext(ctx, args[0], args[1:]...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%s: %w\n%s", strings.Join(args, " "), err, out)
		}
	}
	return nil
}

// configure runs the CLI in the shell `eval "$(logvault local up)"` leaves
// (the stack's exports, nothing else of this process's AWS settings), as
// Account A's administrator, with the config file above. Debian's CLI
// (2.9) predates AWS_ENDPOINT_URL_S3 (2.13), so the endpoint also goes on
// the command line; newer CLIs take it from the exports.
func (c *awsCLI) configure(st *stack) {
	c.env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "AWS_CONFIG_FILE=" + c.config,
		"AWS_SHARED_CREDENTIALS_FILE=" + c.config + ".none", "AWS_PAGER="}
	for k, v := range st.env {
		c.env = append(c.env, k+"="+v)
	}
	c.env = append(c.env, "AWS_ACCESS_KEY_ID="+st.env["VAULT_ADMIN_ACCESS_KEY_ID"], "AWS_SECRET_ACCESS_KEY="+st.env["VAULT_ADMIN_SECRET_ACCESS_KEY"])
	c.base = []string{"--endpoint-url", st.env["AWS_ENDPOINT_URL_S3"]}
}

// run runs the CLI and returns its wall time and peak RSS.
func (c *awsCLI) run(ctx context.Context, args ...string) (measure, error) {
	cmd := exec.CommandContext(ctx, c.path, append(append([]string{}, c.base...), args...)...)
	cmd.Env = c.env
	return runMeasured(cmd)
}

// measure is one process's wall time, peak RSS and CPU time.
type measure struct {
	wall time.Duration
	rss  int64 // bytes
	cpu  time.Duration
}

// gnuTime is GNU time, which reports a child's peak RSS. The peak RSS
// that wait4 gives this process for its own child is no use: Go starts
// children with vfork, so a child's high-water mark starts at this
// process's resident size. GNU time is a small process; the children it
// starts report their own.
const gnuTime = "/usr/bin/time"

// ensureGNUTime installs Debian's time package when GNU time is missing.
func ensureGNUTime(ctx context.Context) error {
	if _, err := os.Stat(gnuTime); err == nil {
		return nil
	}
	progress("GNU time: %s missing; installing Debian's time package", gnuTime)
	return aptInstall(ctx, "time")
}

// runMeasured runs cmd under GNU time and returns its wall time (as seen
// here), peak RSS and CPU time. A caller that reads the child's stdout sets
// cmd.Stdout; otherwise stdout goes with stderr into the error message.
func runMeasured(cmd *exec.Cmd) (measure, error) {
	f, err := os.CreateTemp("", "logvault-bench-time-*")
	if err != nil {
		return measure{}, err
	}
	f.Close()
	defer os.Remove(f.Name())
	cmd.Args = append([]string{gnuTime, "-f", "%M", "-o", f.Name()}, cmd.Args...)
	cmd.Path = gnuTime
	var out bytes.Buffer
	if cmd.Stdout == nil {
		cmd.Stdout = &out
	}
	cmd.Stderr = &out
	start := time.Now()
	err = cmd.Run()
	wall := time.Since(start)
	if err != nil {
		return measure{}, fmt.Errorf("%s: %w\n%s", strings.Join(cmd.Args[4:], " "), err, tail(out.String(), 2000))
	}
	report, err := os.ReadFile(f.Name())
	if err != nil {
		return measure{}, err
	}
	fields := strings.Fields(string(report))
	if len(fields) == 0 {
		return measure{}, fmt.Errorf("GNU time wrote no report for %s", cmd.Args[4])
	}
	kib, err := strconv.ParseInt(fields[len(fields)-1], 10, 64)
	if err != nil {
		return measure{}, fmt.Errorf("GNU time report %q: %w", report, err)
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage) // time's, with its child's
	return measure{
		wall: wall,
		rss:  kib << 10,
		cpu:  time.Duration(ru.Utime.Nano() + ru.Stime.Nano()),
	}, nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
