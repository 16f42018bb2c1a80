package local

import (
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func x509Pool(pem []byte) *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	return pool
}

func pidFile(dir string) string { return filepath.Join(dir, "pid") }

// LogFile is where the background stack writes its output.
func LogFile(dir string) string { return filepath.Join(dir, "stack.log") }

// Up starts `<self> local serve` in the background (its own session, so it
// outlives the calling shell), waits until it is ready and returns the
// exports. If a stack already runs in dir, its exports are returned.
func Up(dir string, serveArgs []string, timeout time.Duration) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("local up: %w", err)
	}
	if pid, ok := running(dir); ok {
		if env, err := os.ReadFile(envFile(dir)); err == nil {
			return string(env), nil
		}
		return "", fmt.Errorf("local up: a stack (pid %d) is starting or broken in %s; run `logvault local down --dir %s`", pid, dir, dir)
	}
	os.Remove(envFile(dir))
	self, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("local up: %w", err)
	}
	logf, err := os.OpenFile(LogFile(dir), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return "", fmt.Errorf("local up: %w", err)
	}
	defer logf.Close()
	cmd := exec.Command(self, append([]string{"local", "serve", "--dir", dir}, serveArgs...)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("local up: start server: %w", err)
	}
	if err := os.WriteFile(pidFile(dir), []byte(strconv.Itoa(cmd.Process.Pid)), 0o600); err != nil {
		return "", fmt.Errorf("local up: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.After(timeout)
	for {
		if env, err := os.ReadFile(envFile(dir)); err == nil && len(env) > 0 {
			return string(env), nil
		}
		select {
		case err := <-exited:
			os.Remove(pidFile(dir))
			return "", fmt.Errorf("local up: the stack exited (%v): %s", err, lastLine(LogFile(dir)))
		case <-deadline:
			cmd.Process.Signal(syscall.SIGTERM)
			return "", fmt.Errorf("local up: not ready after %s; see %s", timeout, LogFile(dir))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Down stops the stack running in dir; stopping a stopped stack is fine.
func Down(dir string) error {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	pid, ok := running(dir)
	if !ok {
		os.Remove(pidFile(dir))
		os.Remove(envFile(dir))
		return nil
	}
	p, _ := os.FindProcess(pid)
	p.Signal(syscall.SIGTERM)
	for i := 0; i < 100; i++ {
		if p.Signal(syscall.Signal(0)) != nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if p.Signal(syscall.Signal(0)) == nil {
		p.Signal(syscall.SIGKILL)
	}
	os.Remove(pidFile(dir))
	os.Remove(envFile(dir))
	return nil
}

// running reports the pid of a live stack in dir.
func running(dir string) (int, bool) {
	data, err := os.ReadFile(pidFile(dir))
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 {
		return 0, false
	}
	p, err := os.FindProcess(pid)
	if err != nil || p.Signal(syscall.Signal(0)) != nil {
		return 0, false
	}
	// A recycled pid would not be our server; check its command line.
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err == nil && !strings.Contains(string(cmdline), "serve") {
		return 0, false
	}
	return pid, true
}

func lastLine(path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return errors.Unwrap(err).Error()
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	return lines[len(lines)-1]
}
