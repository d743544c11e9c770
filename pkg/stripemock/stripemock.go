// Package stripemock runs Stripe's official mock server (stripe-mock, the version pinned in the
// Makefile) on a loopback port for tests. `make test` installs it into var/tools/bin and puts
// it on PATH. Without it, tests that need it skip locally and fail under CI=true.
package stripemock

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// Start returns the base URL (http://127.0.0.1:port) of the test binary's stripe-mock, starting
// it on first use (or when it has died). stripe-mock is stateless, so tests share it: starting
// one loads Stripe's whole OpenAPI specification, a second of CPU per test. It stops with the
// test binary (on Linux through the parent-death signal).
func Start(t testing.TB) string {
	t.Helper()
	bin, err := find()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("stripe-mock is required in CI: %v", err)
		}
		t.Skipf("stripe-mock not installed (run make tools): %v", err)
	}
	shared.Lock()
	defer shared.Unlock()
	select {
	case <-shared.exited:
	default:
		if shared.url != "" {
			return shared.url
		}
	}
	url, exited, err := start(bin)
	if err != nil {
		t.Fatal(err)
	}
	shared.url, shared.exited = url, exited
	return url
}

// shared is the running stripe-mock.
var shared struct {
	sync.Mutex
	url    string
	exited chan struct{}
}

// start runs stripe-mock and waits until it serves.
func start(bin string) (string, chan struct{}, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	// stripe-mock also serves HTTPS, on the fixed port 12112 unless told otherwise: give it an
	// ephemeral port so parallel instances do not collide.
	cmd := exec.Command(bin, "-http-addr", addr, "-https-addr", "127.0.0.1:")
	dieWithParent(cmd)
	var out lockedBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return "", nil, fmt.Errorf("start stripe-mock: %w", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return "", nil, fmt.Errorf("stripe-mock exited before serving:\n%s", out.String())
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			return "http://" + addr, exited, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	_ = cmd.Process.Kill()
	return "", nil, fmt.Errorf("stripe-mock did not start on %s within 60s:\n%s", addr, out.String())
}

// lockedBuffer collects a child process's output safely.
type lockedBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf.Len() < 64<<10 {
		b.buf.Write(p)
	}
	return len(p), nil
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// find looks on PATH, then in the repository's var/tools/bin.
func find() (string, error) {
	if p, err := exec.LookPath("stripe-mock"); err == nil {
		return p, nil
	}
	_, file, _, _ := runtime.Caller(0)
	p := filepath.Join(filepath.Dir(file), "..", "..", "var", "tools", "bin", "stripe-mock")
	if _, err := os.Stat(p); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("not on PATH (%s) nor at %s", strings.Split(os.Getenv("PATH"), ":")[0], p)
}
