// Package motoserver starts moto_server (python moto's stand-in for AWS:
// CloudFormation, STS, EC2, ECS, IAM, S3, ...) for tests. One server is
// shared by a test binary's tests, since it takes seconds to start on a
// busy machine; tests keep apart by the names they use. Call Stop from
// TestMain.
package motoserver

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

var shared struct {
	once sync.Once
	cmd  *exec.Cmd
	url  string
	err  error
}

// URL starts moto_server on a free loopback port (once per test binary) and
// returns its URL. The test is skipped when moto_server is not installed,
// unless HADRON_E2E_REQUIRE=1.
func URL(t testing.TB) string {
	t.Helper()
	path, err := exec.LookPath("moto_server")
	if err != nil {
		if os.Getenv("HADRON_E2E_REQUIRE") == "1" {
			t.Fatalf("moto_server is required (HADRON_E2E_REQUIRE=1): %v", err)
		}
		t.Skipf("moto_server not installed: %v", err)
	}
	shared.once.Do(func() { shared.url, shared.err = start(path) })
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.url
}

// Stop kills the shared moto_server, if one was started.
func Stop() {
	if shared.cmd != nil {
		syscall.Kill(-shared.cmd.Process.Pid, syscall.SIGKILL)
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
	shared.cmd = cmd
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	deadline := time.After(90 * time.Second)
	for delay := 50 * time.Millisecond; ; delay = min(2*delay, time.Second) {
		if resp, err := http.Get(url + "/moto-api/"); err == nil {
			resp.Body.Close()
			return url, nil
		}
		select {
		case err := <-exited:
			return "", fmt.Errorf("moto_server exited: %v: %s", err, out.String())
		case <-deadline:
			return "", fmt.Errorf("moto_server did not answer on %s within 90s: %s", url, out.String())
		case <-time.After(delay):
		}
	}
}
