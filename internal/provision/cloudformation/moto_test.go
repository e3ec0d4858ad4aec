package cloudformation

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"
)

// moto is one moto_server shared by the package's tests: it takes many
// seconds to start on a busy machine. Each test uses stack names of its own.
var moto struct {
	once sync.Once
	cmd  *exec.Cmd
	url  string
	err  error
}

// motoURL starts moto_server on a free loopback port (once) and returns its
// URL. The test is skipped when moto_server is missing, unless
// HADRON_E2E_REQUIRE=1.
func motoURL(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("moto_server")
	if err != nil {
		if os.Getenv("HADRON_E2E_REQUIRE") == "1" {
			t.Fatalf("moto_server is required (HADRON_E2E_REQUIRE=1): %v", err)
		}
		t.Skipf("moto_server not installed: %v", err)
	}
	moto.once.Do(func() { moto.url, moto.err = startMoto(path) })
	if moto.err != nil {
		t.Fatal(moto.err)
	}
	return moto.url
}

func startMoto(path string) (string, error) {
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

func TestMain(m *testing.M) {
	code := m.Run()
	if moto.cmd != nil {
		syscall.Kill(-moto.cmd.Process.Pid, syscall.SIGKILL)
	}
	os.Exit(code)
}

// newTestDriver returns a driver on endpoint with static base credentials
// (moto and the fake accept any) and fast polling.
func newTestDriver(t *testing.T, endpoint string, mod ...func(*Config)) *Driver {
	t.Helper()
	cfg := Config{
		Region:      "us-east-1",
		EndpointURL: endpoint,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDBASE", "base-secret", ""),
		PollInitial: 5 * time.Millisecond,
		PollMax:     50 * time.Millisecond,
	}
	for _, f := range mod {
		f(&cfg)
	}
	d, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func readTestdata(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
