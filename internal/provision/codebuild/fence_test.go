package codebuild

import (
	"context"
	"crypto/rand"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hadronhq/hadron/internal/provision"
)

// TestFenceStopsARunWhoseLeaseIsNotRenewed: a fence that is not extended
// stops the run by itself, and Run says the lease was lost.
func TestFenceStopsARunWhoseLeaseIsNotRenewed(t *testing.T) {
	t.Parallel()
	job, log := setup(t, `sleep 30 & wait`, `echo never`)
	job.Fence = provision.NewFence(time.Now().Add(300 * time.Millisecond))
	start := time.Now()
	_, err := Run(context.Background(), job)
	if !errors.Is(err, provision.ErrLeaseLost) {
		t.Fatalf("Run error = %v, want one wrapping ErrLeaseLost\nlog:\n%s", err, log)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("the fenced run took %s to end", took)
	}
	if !strings.Contains(log.String(), "could not renew its lease") || strings.Contains(log.String(), "never") {
		t.Errorf("log does not say why the run was stopped, or the run went on:\n%s", log)
	}
}

// TestFenceMovedInTimeLetsTheRunFinish: each extension moves the fence, so
// a run whose lease is renewed is never stopped by it.
func TestFenceMovedInTimeLetsTheRunFinish(t *testing.T) {
	t.Parallel()
	// The run outlives its first fence by far; only the extensions (every
	// 100 ms, each 2 s ahead: room for a loaded machine) keep it going.
	job, log := setup(t, `sleep 4`, `echo finished`)
	fence := provision.NewFence(time.Now().Add(2 * time.Second))
	job.Fence = fence
	done := make(chan struct{})
	defer close(done)
	go func() {
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				fence.Extend(time.Now().Add(2 * time.Second))
			}
		}
	}()
	if _, err := Run(context.Background(), job); err != nil {
		t.Fatalf("Run: %v\nlog:\n%s", err, log)
	}
	if !strings.Contains(log.String(), "\nfinished\n") {
		t.Errorf("the run did not finish:\n%s", log)
	}
}

// fenceHelper, as the value of helperEnv, makes the test binary a server
// whose run has a fence of three seconds that it never extends: the test
// pauses it (SIGSTOP) and the run must stop by itself.
const fenceHelper = "fence"

func fenceServer() int {
	tag := os.Getenv(helperTagEnv)
	_, err := Run(context.Background(), Job{
		Dir:      os.Getenv(helperDirEnv),
		Commands: []string{`echo ready; sleep 300.` + tag},
		Log:      os.Stdout,
		Fence:    provision.NewFence(time.Now().Add(3 * time.Second)),
	})
	if err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
	}
	return 0
}

// TestFenceStopsTheRunOfAPausedServer is hole 2 of issue 17 in one
// process: a server paused past its lease (SIGSTOP) cannot renew it, and
// its run must be gone by the fence although the server is not running.
func TestFenceStopsTheRunOfAPausedServer(t *testing.T) {
	t.Parallel()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var b [3]byte
	rand.Read(b[:])
	tag := strconv.Itoa(int(b[0])<<16 | int(b[1])<<8 | int(b[2]))
	server := exec.Command(exe)
	server.Env = append(os.Environ(), helperEnv+"="+fenceHelper, helperDirEnv+"="+t.TempDir()+"/work", helperTagEnv+"="+tag)
	log := newLogSink()
	server.Stdout, server.Stderr = log, log
	if err := server.Start(); err != nil {
		t.Fatal(err)
	}
	defer server.Process.Kill()
	log.waitFor(t, "\nready\n")
	// The sleeper starts just after "ready", and a stop signal takes effect
	// a moment after it is sent: wait for both, so that the loop below sees
	// the sleeper end under a stopped server, not before either began.
	pollUntil(t, "the run's sleeper to start", func() bool { return len(sleepers("300."+tag)) > 0 })
	server.Process.Signal(syscall.SIGSTOP)
	defer server.Process.Signal(syscall.SIGCONT)
	pollUntil(t, "the server to stop", func() bool { state, _, _ := procStat(server.Process.Pid); return state == 'T' })
	deadline := time.Now().Add(10 * time.Second)
	for pids := sleepers("300." + tag); len(pids) > 0; pids = sleepers("300." + tag) {
		if time.Now().After(deadline) {
			for _, pid := range pids {
				syscall.Kill(pid, syscall.SIGKILL)
			}
			t.Fatalf("the run of the paused server outlived its fence by 9 s: pids %v", pids)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if state, _, _ := procStat(server.Process.Pid); state != 'T' {
		t.Errorf("the server is in state %q, not stopped: the run ended some other way", state)
	}
}

// pollUntil waits up to 10 s for cond, checking every 10 ms.
func pollUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
	}
}
