// Package mototest starts moto's server (moto_server, from Python's moto)
// for tests that need AWS APIs (STS, CloudFormation, Secrets Manager, SSM):
// one server per test binary, on a free loopback port, stopped by Stop in
// TestMain. Tests are skipped when moto_server is missing, unless
// HADRON_E2E_REQUIRE=1.
package mototest

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"
)

// startTimeout is how long moto_server may take to answer: many seconds
// on a busy machine.
const startTimeout = 90 * time.Second

var moto struct {
	once sync.Once
	cmd  *exec.Cmd
	url  string
	err  error
}

// URL starts moto_server (once per test binary) and returns its URL. Tests
// share it: each uses names of its own.
func URL(t testing.TB) string {
	t.Helper()
	path, err := exec.LookPath("moto_server")
	if err != nil {
		if os.Getenv("HADRON_E2E_REQUIRE") == "1" {
			t.Fatalf("moto_server is required (HADRON_E2E_REQUIRE=1): %v", err)
		}
		t.Skipf("moto_server not installed: %v", err)
	}
	moto.once.Do(func() { moto.url, moto.err = start(path) })
	if moto.err != nil {
		t.Fatal(moto.err)
	}
	return moto.url
}

// Stop kills moto_server if URL started it; call it from TestMain after m.Run.
func Stop() {
	if moto.cmd != nil {
		syscall.Kill(-moto.cmd.Process.Pid, syscall.SIGKILL)
	}
}

func start(path string) (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	var out bytes.Buffer
	cmd := exec.Command(path, "-H", "127.0.0.1", "-p", fmt.Sprint(port))
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("start moto_server: %w", err)
	}
	moto.cmd = cmd
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	deadline := time.After(startTimeout)
	for delay := 50 * time.Millisecond; ; delay = min(2*delay, time.Second) {
		if resp, err := http.Get(url + "/moto-api/"); err == nil {
			resp.Body.Close()
			return url, nil
		}
		select {
		case err := <-exited:
			return "", fmt.Errorf("moto_server exited: %v: %s", err, out.String())
		case <-deadline:
			return "", fmt.Errorf("moto_server did not answer on %s within %s: %s", url, startTimeout, out.String())
		case <-time.After(delay):
		}
	}
}
