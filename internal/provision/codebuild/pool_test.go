package codebuild

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// ownSupervisor is the tests' standalone supervisor with a pool of its own,
// so that parallel tests do not take each other's idle supervisors.
func ownSupervisor(t *testing.T) *Supervisor {
	t.Helper()
	s, err := OpenSupervisor(testSupervisor.Path())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// idlePids lists s's idle supervisors (not isolated) once it has
// idleSupervisors of them.
func idlePids(s *Supervisor) ([]int, error) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		s.pool.mu.Lock()
		var pids []int
		for _, sb := range s.pool.idle[0] {
			pids = append(pids, sb.cmd.Process.Pid)
		}
		s.pool.mu.Unlock()
		if len(pids) == idleSupervisors {
			return pids, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%d idle supervisors 10 s after a run, want %d", len(pids), idleSupervisors)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// parentOf runs `echo $PPID` under s and returns the shell's parent: the
// run's supervisor.
func parentOf(t *testing.T, s *Supervisor) int {
	t.Helper()
	job, log := setup(t, `echo $PPID > parent.txt`)
	job.Supervisor = s
	if _, err := Run(context.Background(), job); err != nil {
		t.Fatalf("%v; log:\n%s", err, log)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(readFile(t, filepath.Join(job.Dir, "parent.txt"))))
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

func TestRunTakesASupervisorStartedBeforeIt(t *testing.T) {
	t.Parallel()
	s := ownSupervisor(t)
	first := parentOf(t, s) // the pool fills after the first run
	idle, err := idlePids(s)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(idle, first) {
		t.Fatalf("the first run's supervisor %d is idle again; a supervisor runs one run", first)
	}
	if second := parentOf(t, s); !slices.Contains(idle, second) {
		t.Fatalf("the second run's supervisor is %d, not one of the idle ones %v", second, idle)
	}
}

// filledPool returns a supervisor with a pool of its own, filled by one
// run, and its idle supervisors.
func filledPool(t *testing.T) (*Supervisor, []int) {
	t.Helper()
	s := ownSupervisor(t)
	parentOf(t, s)
	idle, err := idlePids(s)
	if err != nil {
		t.Fatal(err)
	}
	return s, idle
}

func TestRunReplacesAnIdleSupervisorThatDied(t *testing.T) {
	t.Parallel()
	s, idle := filledPool(t)
	for _, pid := range idle {
		syscall.Kill(pid, syscall.SIGKILL)
	}
	for _, pid := range idle {
		waitThreadsGone(t, pid)
	}
	if got := parentOf(t, s); slices.Contains(idle, got) {
		t.Fatalf("the run's supervisor %d is one that was killed", got)
	}
}

func TestClosedSupervisorLetsItsIdleOnesGo(t *testing.T) {
	t.Parallel()
	s, idle := filledPool(t)
	s.Close()
	for _, pid := range idle {
		waitGone(t, pid)
	}
	// Runs still run, under supervisors of their own.
	if got := parentOf(t, s); slices.Contains(idle, got) {
		t.Fatalf("the run after Close took the idle supervisor %d", got)
	}
}

// waitGone waits until pid has exited (a zombie counts as gone).
func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for processAlive(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("process %d still runs after 5 s", pid)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// waitThreadsGone waits until every thread of pid has exited. A killed Go
// program's main thread is a zombie while its other threads are still
// exiting and holding its descriptors (its lifeline's read end among them).
func waitThreadsGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		tasks, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/task")
		if err != nil || len(tasks) <= 1 && !processAlive(pid) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %d still has %d threads after 5 s", pid, len(tasks))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// poolHelper, as the value of helperEnv, makes the test binary a server
// that fills its pool of supervisors, prints their pids and waits to be
// killed.
const (
	poolHelper       = "pool"
	helperSupervisor = "HADRON_CODEBUILD_TEST_SUPERVISOR"
)

func poolServer() int {
	s, err := OpenSupervisor(os.Getenv(helperSupervisor))
	if err == nil {
		_, err = Run(context.Background(), Job{Dir: os.Getenv(helperDirEnv), Commands: []string{"true"}, Log: os.Stdout, Supervisor: s})
	}
	var idle []int
	if err == nil {
		idle, err = idlePids(s)
	}
	if err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		return 2
	}
	fmt.Printf("idle %d %d\n", idle[0], idle[1])
	select {} // until the test kills us
}

// A server killed with supervisors waiting in its pool leaves none behind:
// each reads end of file on its lifeline and exits.
func TestServerDeathEndsItsIdleSupervisors(t *testing.T) {
	t.Parallel()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	log := newLogSink()
	server := exec.Command(exe)
	server.Env = append(os.Environ(), helperEnv+"="+poolHelper, helperDirEnv+"="+filepath.Join(t.TempDir(), "work"), helperSupervisor+"="+testSupervisor.Path())
	server.Stdout, server.Stderr = log, log
	if err := server.Start(); err != nil {
		t.Fatal(err)
	}
	defer server.Process.Kill()
	// The helper's line "idle <pid> <pid>".
	line := regexp.MustCompile(`(?m)^idle (\d+) (\d+)$`)
	var m []string
	deadline := time.Now().Add(15 * time.Second)
	for m = line.FindStringSubmatch(log.String()); m == nil; m = line.FindStringSubmatch(log.String()) {
		if time.Now().After(deadline) {
			t.Fatalf("no idle supervisors in the helper's log:\n%s", log)
		}
		time.Sleep(5 * time.Millisecond)
	}
	a, _ := strconv.Atoi(m[1])
	b, _ := strconv.Atoi(m[2])
	for _, pid := range []int{a, b} {
		if !processAlive(pid) {
			t.Fatalf("idle supervisor %d is not running before the server dies", pid)
		}
	}
	server.Process.Signal(syscall.SIGKILL)
	server.Wait()
	waitGone(t, a)
	waitGone(t, b)
}
