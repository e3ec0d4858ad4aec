package codebuild

import (
	"context"
	"crypto/rand"
	"errors"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hadronhq/hadron/internal/provision/sandbox"
)

var errUserCancel = errors.New("user initiated cancellation")

func TestRunCancel(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		command    string
		grace      time.Duration
		wantKilled bool
		wantLog    []string
	}{
		{
			name:    "command exits on SIGTERM",
			command: `trap 'echo got TERM; exit 143' TERM; echo ready; while :; do sleep 0.05; done`,
			grace:   10 * time.Second, // the test would time out if it were used
			wantLog: []string{"[hadron] cancel requested: sending SIGTERM to process group\n", "got TERM\n", "[hadron] command exited with status 143\n"},
		},
		{
			name:       "command ignores SIGTERM",
			command:    `trap "" TERM; echo ready; while :; do sleep 0.1; done`,
			grace:      300 * time.Millisecond,
			wantKilled: true,
			wantLog:    []string{"[hadron] cancel requested: sending SIGTERM to process group\n", "[hadron] grace period 300ms over: sending SIGKILL\n", "[hadron] command was killed by signal SIGKILL\n"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			job, log := setup(t, "true", tt.command, "touch never-ran")
			job.Grace = tt.grace
			ctx, cancel := context.WithCancelCause(context.Background())
			defer cancel(nil)
			errc := runAsync(ctx, job)
			log.waitFor(t, "\nready\n")
			start := time.Now()
			cancel(errUserCancel)
			err := await(t, errc)
			elapsed := time.Since(start)

			var cerr *CanceledError
			if !errors.As(err, &cerr) {
				t.Fatalf("Run error = %v, want a *CanceledError\nlog:\n%s", err, log)
			}
			if !errors.Is(err, errUserCancel) {
				t.Errorf("errors.Is(%v, errUserCancel) = false; the cause is lost", err)
			}
			if cerr.Killed != tt.wantKilled || !cerr.Started || cerr.Index != 1 {
				t.Errorf("CanceledError = %+v, want Killed %v, Started, Index 1", cerr, tt.wantKilled)
			}
			if !tt.wantKilled && elapsed > 5*time.Second {
				t.Errorf("cancel took %v, want it prompt", elapsed)
			}
			if tt.wantKilled && elapsed < tt.grace {
				t.Errorf("cancel took %v, less than the grace period %v", elapsed, tt.grace)
			}
			got := log.String()
			for _, want := range tt.wantLog {
				if !strings.Contains(got, want) {
					t.Errorf("log lacks %q:\n%s", want, got)
				}
			}
			if _, err := os.Stat(filepath.Join(job.Dir, "never-ran")); err == nil {
				t.Error("a command after the cancel ran")
			}
		})
	}
}

// TestRunLeavesNoProcessBehind pins that no process of a command's group
// outlives the command, whether it ends by cancel or by itself.
func TestRunLeavesNoProcessBehind(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		command string
		cancel  bool
	}{
		{"cancel, grandchild in the background", `sleep 100 & echo $! > pid; echo ready; wait`, true},
		{"cancel, grandchild ignores SIGTERM", `(trap '' TERM; exec sleep 100) & echo $! > pid; echo ready; wait`, true},
		{"cancel, shell and grandchild ignore SIGTERM", `trap '' TERM; sleep 100 & echo $! > pid; echo ready; wait`, true},
		{"success, grandchild left running", `(trap '' TERM; exec sleep 100) & echo $! > pid; echo ready`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			job, log := setup(t, tt.command)
			job.Grace = 300 * time.Millisecond
			ctx, cancel := context.WithCancelCause(context.Background())
			defer cancel(nil)
			errc := runAsync(ctx, job)
			log.waitFor(t, "\nready\n")
			pid, err := strconv.Atoi(strings.TrimSpace(readFile(t, filepath.Join(job.Dir, "pid"))))
			if err != nil {
				t.Fatal(err)
			}
			if tt.cancel {
				cancel(errUserCancel)
			} else if err := os.WriteFile(filepath.Join(job.Dir, "looked"), nil, 0o644); err != nil {
				t.Fatal(err)
			}
			err = await(t, errc)
			if tt.cancel && !errors.Is(err, errUserCancel) || !tt.cancel && err != nil {
				t.Fatalf("Run error = %v\nlog:\n%s", err, log)
			}
			// Run returns only once the group is gone: no polling here.
			if processAlive(pid) {
				syscall.Kill(pid, syscall.SIGKILL)
				t.Fatalf("grandchild %d survived the command", pid)
			}
		})
	}
}

func TestRunCanceledBeforeStart(t *testing.T) {
	t.Parallel()
	job, log := setup(t, "touch ran")
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(errUserCancel)
	_, err := Run(ctx, job)
	var cerr *CanceledError
	if !errors.As(err, &cerr) || !errors.Is(err, errUserCancel) || cerr.Started {
		t.Fatalf("Run error = %#v, want a *CanceledError before start with the cause", err)
	}
	if log.String() != "" {
		t.Errorf("log = %q, want nothing", log)
	}
}

// TestRunCancelWhileStarting cancels while the supervisor is starting,
// before the shell exists, when a SIGTERM would be swallowed.
func TestRunCancelWhileStarting(t *testing.T) {
	t.Parallel()
	job, _ := setup(t, "sleep 30")
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	job.Log = writerFunc(func(p []byte) (int, error) {
		cancel(errUserCancel) // the header is written while the supervisor starts
		return len(p), nil
	})
	start := time.Now()
	_, err := Run(ctx, job)
	var cerr *CanceledError
	if !errors.As(err, &cerr) || !errors.Is(err, errUserCancel) || cerr.Killed {
		t.Fatalf("Run error = %#v, want a *CanceledError without SIGKILL", err)
	}
	if elapsed := time.Since(start); elapsed > 5*time.Second {
		t.Errorf("cancel took %v; the SIGTERM was lost", elapsed)
	}
}

type writerFunc func(p []byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// TestRunSlowLog pins that a stuck Log delays neither the command's death on
// cancel nor loses output: Run returns once the Log has taken everything.
func TestRunSlowLog(t *testing.T) {
	t.Parallel()
	gate := make(chan struct{})
	var got strings.Builder
	job, _ := setup(t, "seq 1 50000; exec sleep 30")
	job.Log = writerFunc(func(p []byte) (int, error) {
		<-gate
		return got.Write(p)
	})
	pids := make(chan int, 1)
	job.OnStart = func(pid int) { pids <- pid }
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	errc := runAsync(ctx, job)
	pid := <-pids
	// Cancel once seq is done and its output queued for the stuck Log.
	for {
		comm, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
		if err != nil {
			t.Fatal(err)
		}
		if string(comm) == "sleep\n" {
			break
		}
		time.Sleep(time.Millisecond)
	}
	cancel(errUserCancel)
	deadline := time.Now().Add(5 * time.Second)
	for processAlive(pid) {
		if time.Now().After(deadline) {
			t.Fatal("the command outlived the cancel while the Log was stuck")
		}
		time.Sleep(5 * time.Millisecond)
	}
	close(gate)
	err := await(t, errc)
	if !errors.Is(err, errUserCancel) {
		t.Fatalf("Run error = %v, want the cancel", err)
	}
	if !strings.Contains(got.String(), "\n49999\n50000\n") {
		t.Errorf("log lost output; its end: %q", got.String()[max(0, got.Len()-200):])
	}
}

// Helper server for TestServerDeathLeavesNoOrphan: a process that runs a
// command through Run and is then SIGKILLed, like a crashed server.
const (
	helperEnv    = "HADRON_CODEBUILD_TEST_HELPER"
	helperDirEnv = "HADRON_CODEBUILD_TEST_DIR"
)

func helperServer() int {
	switch os.Getenv(helperEnv) {
	case trapHelper:
		return trapServer()
	case fenceHelper:
		return fenceServer()
	case poolHelper:
		return poolServer()
	}
	_, err := Run(context.Background(), Job{
		Dir:      os.Getenv(helperDirEnv),
		Commands: []string{`sleep 300 & echo $! > pidfile; echo ready; wait`},
		Log:      os.Stdout,
	})
	if err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
	}
	return 1 // the test kills us before this
}

func TestServerDeathLeavesNoOrphan(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "work")
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	log := newLogSink()
	server := exec.Command(exe)
	server.Env = append(os.Environ(), helperEnv+"=server", helperDirEnv+"="+dir)
	server.Stdout = log
	server.Stderr = log
	if err := server.Start(); err != nil {
		t.Fatal(err)
	}
	defer server.Process.Kill()
	log.waitFor(t, "\nready\n")
	pid, err := strconv.Atoi(strings.TrimSpace(readFile(t, filepath.Join(dir, "pidfile"))))
	if err != nil {
		t.Fatal(err)
	}
	_, pgid, ok := procStat(pid)
	if !ok || !processAlive(pid) {
		t.Fatalf("grandchild %d is not running before the server dies", pid)
	}

	server.Process.Signal(syscall.SIGKILL)
	server.Wait()

	deadline := time.Now().Add(5 * time.Second)
	for processAlive(pid) || groupAlive(pgid) {
		if time.Now().After(deadline) {
			syscall.Kill(-pgid, syscall.SIGKILL)
			t.Fatalf("grandchild %d (group %d) outlived the server by 5 s", pid, pgid)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestRunLeavesNoDaemon pins that a daemon a command leaves, out of the
// process group (setsid) and reparented (a double fork), is killed when the
// run ends, by cancel (after the SIGTERM it gets too) or by itself: the
// supervisor is a child subreaper and reaches it without looking in /proc.
func TestRunLeavesNoDaemon(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("setsid"); err != nil {
		t.Skip("no setsid")
	}
	// The daemon: setsid, then a fork whose parent exits at once. It notes
	// a SIGTERM in a file, and ignores it, so only a SIGKILL ends it.
	const daemon = `setsid sh -c 'sh -c "trap \"echo > termed\" TERM; echo \$\$ > pid.tmp; mv pid.tmp pid; while :; do sleep 0.05; done" & exit 0' </dev/null >/dev/null 2>&1 & while [ ! -e pid ]; do sleep 0.01; done; echo ready`
	tests := []struct {
		name   string
		cancel bool
	}{
		{"cancel", true},
		{"success", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// Either way the shell waits: for the cancel, or for the test to
			// have looked at the daemon (a run that ended first would have
			// killed it already).
			command := daemon + "; while [ ! -e looked ]; do sleep 0.01; done"
			job, log := setup(t, command)
			job.Grace = 300 * time.Millisecond
			shells := make(chan int, 1)
			job.OnStart = func(pid int) { shells <- pid }
			ctx, cancel := context.WithCancelCause(context.Background())
			defer cancel(nil)
			errc := runAsync(ctx, job)
			log.waitFor(t, "\nready\n")
			pid, err := strconv.Atoi(strings.TrimSpace(readFile(t, filepath.Join(job.Dir, "pid"))))
			if err != nil {
				t.Fatal(err)
			}
			runGroup, _ := syscall.Getpgid(<-shells)
			if g, err := syscall.Getpgid(pid); err != nil || g == runGroup {
				t.Fatalf("daemon %d: group %d, %v; want it out of the run's group %d", pid, g, err, runGroup)
			}
			if tt.cancel {
				cancel(errUserCancel)
			} else if err := os.WriteFile(filepath.Join(job.Dir, "looked"), nil, 0o644); err != nil {
				t.Fatal(err)
			}
			err = await(t, errc)
			if tt.cancel && !errors.Is(err, errUserCancel) || !tt.cancel && err != nil {
				t.Fatalf("Run error = %v\nlog:\n%s", err, log)
			}
			// Run returns only once the run is gone: no polling here.
			if processAlive(pid) {
				syscall.Kill(pid, syscall.SIGKILL)
				t.Fatalf("daemon %d survived the run\nlog:\n%s", pid, log)
			}
			if _, err := os.Stat(filepath.Join(job.Dir, "termed")); tt.cancel && err != nil {
				t.Errorf("the daemon got no SIGTERM before the SIGKILL: %v", err)
			}
			if strings.Contains(log.String(), "output still held open") {
				t.Errorf("Run waited for the output:\n%s", log)
			}
		})
	}
}

// TestRunOutputHeldOutsideTheRun pins that a process outside the run (here
// the test itself) that holds the command's output open cannot make Run
// wait for it forever.
func TestRunOutputHeldOutsideTheRun(t *testing.T) {
	t.Parallel()
	job, log := setup(t, `echo $$ > pid; while [ ! -e held ]; do sleep 0.01; done`)
	errc := runAsync(context.Background(), job)
	deadline := time.Now().Add(10 * time.Second)
	var held *os.File
	for held == nil {
		if b, err := os.ReadFile(filepath.Join(job.Dir, "pid")); err == nil && len(b) > 0 && b[len(b)-1] == '\n' {
			f, err := os.OpenFile("/proc/"+strings.TrimSpace(string(b))+"/fd/1", os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			held = f
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the command did not start")
		}
		time.Sleep(5 * time.Millisecond)
	}
	defer held.Close()
	if err := os.WriteFile(filepath.Join(job.Dir, "held"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := await(t, errc); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if want := "[hadron] output still held open by a process outside the process group"; !strings.Contains(log.String(), want) {
		t.Errorf("log lacks %q:\n%s", want, log)
	}
}

// Helper server for TestServerDeathDuringGraceLeavesNoProcess: it runs a
// command whose script traps SIGTERM and keeps working, cancels it on
// SIGUSR2, with a grace period longer than any test, and is SIGKILLed
// during that grace period.
const (
	trapHelper      = "trap"
	helperTagEnv    = "HADRON_CODEBUILD_TEST_TAG"
	helperPolicyEnv = "HADRON_CODEBUILD_TEST_POLICY"
)

func trapServer() int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGUSR2)
	defer stop()
	var policy *sandbox.Policy
	if enc := os.Getenv(helperPolicyEnv); enc != "" {
		var err error
		if policy, err = sandbox.Decode(enc); err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			return 2
		}
	}
	tag := os.Getenv(helperTagEnv)
	_, err := Run(ctx, Job{
		Dir:       os.Getenv(helperDirEnv),
		Commands:  []string{`sh -c 'trap "echo trapped" TERM; echo ready; while :; do sleep 300.` + tag + ` & wait; done'`},
		Log:       os.Stdout,
		Grace:     time.Hour,
		Isolation: policy,
	})
	if err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
	}
	return 1 // the test kills us before this
}

// TestServerDeathDuringGraceLeavesNoProcess is hole 1 of issue 17: a cancel
// sends SIGTERM, the command's script traps it and keeps running while the
// wrapper shell dies, and the server is then SIGKILLed inside the grace
// period. Nothing of the run may survive it, isolated or not.
func TestServerDeathDuringGraceLeavesNoProcess(t *testing.T) {
	t.Parallel()
	h := newHostileData(t)
	cases := []struct {
		name   string
		policy *sandbox.Policy
	}{
		{"not isolated", nil},
		{"isolated", h.policy},
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var b [3]byte
			rand.Read(b[:])
			tag := strconv.Itoa(int(b[0])<<16 | int(b[1])<<8 | int(b[2]))
			job, _ := h.job()
			server := exec.Command(exe)
			server.Env = append(os.Environ(), helperEnv+"="+trapHelper, helperDirEnv+"="+job.Dir, helperTagEnv+"="+tag)
			if c.policy != nil {
				server.Env = append(server.Env, helperPolicyEnv+"="+c.policy.Encode())
			}
			log := newLogSink()
			server.Stdout, server.Stderr = log, log
			if err := server.Start(); err != nil {
				t.Fatal(err)
			}
			defer server.Process.Kill()
			log.waitFor(t, "\nready\n")
			server.Process.Signal(syscall.SIGUSR2)
			log.waitFor(t, "\ntrapped\n")
			if len(sleepers("300."+tag)) == 0 {
				t.Fatalf("the script did not survive the cancel's SIGTERM, so this test proves nothing; log:\n%s", log)
			}

			server.Process.Signal(syscall.SIGKILL)
			server.Wait()

			deadline := time.Now().Add(5 * time.Second)
			for pids := sleepers("300." + tag); len(pids) > 0; pids = sleepers("300." + tag) {
				if time.Now().After(deadline) {
					for _, pid := range pids {
						syscall.Kill(pid, syscall.SIGKILL)
					}
					t.Fatalf("processes %v of the run outlived the server killed during the grace period; log:\n%s", pids, log)
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
}
