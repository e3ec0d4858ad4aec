package multinode

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/hadronhq/hadron/internal/api"
	"github.com/hadronhq/hadron/internal/hadrontest"
)

// TestPausedNodesRunStopsBeforeAnotherNodeTakesOver is hole 2 of issue 17:
// a node paused past its lease (SIGSTOP: a frozen VM, a long pause) cannot
// renew it, and another node then finishes the deployment FAILED and runs
// the next one of the same environment. The paused node's run must be gone
// before that: at no moment may the deployment be ended by another node
// while a process of its run still works. Then, resumed, the paused node
// changes nothing.
func TestPausedNodesRunStopsBeforeAnotherNodeTakesOver(t *testing.T) {
	c := setup(t, 2)
	ctx := t.Context()
	id, err := c.createEnvironment(ctx, c.nodes[0], "paused", "hold")
	if err != nil {
		t.Fatal(err)
	}
	victim := c.runner(t, id)
	survivor := c.nodes[(slices.Index(c.nodes, victim)+1)%len(c.nodes)]
	work := filepath.Join(victim.dataDir, "work", id)
	if pids := processesIn(work); len(pids) == 0 {
		t.Fatalf("no process runs in %s", work)
	}

	if err := victim.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { victim.Signal(syscall.SIGCONT) })
	paused := time.Now()
	var gone time.Duration
	deadline := paused.Add(4 * lease)
	var d api.Deployment
	for {
		var out api.GetDeploymentOutput
		if err := survivor.call(ctx, "GetDeployment", map[string]string{"id": id}, &out); err != nil {
			t.Fatal(err)
		}
		d = *out.Deployment
		// Read after the status: a process alive now was alive when the
		// status was read.
		alive := processesIn(work)
		if len(alive) > 0 && hadrontest.Ended(d.DeploymentStatus) {
			for _, pid := range alive {
				syscall.Kill(pid, syscall.SIGKILL)
			}
			t.Fatalf("%s ended the deployment %s while processes %v of the paused %s's run still ran", survivor.name, d.DeploymentStatus, alive, victim.name)
		}
		if len(alive) == 0 && gone == 0 {
			gone = time.Since(paused)
		}
		if hadrontest.Ended(d.DeploymentStatus) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the deployment is still %s %s after the pause (processes %v)", d.DeploymentStatus, 4*lease, alive)
		}
		time.Sleep(pollEvery)
	}
	took := time.Since(paused)
	t.Logf("%s paused; its run was gone %s later, %s ended the deployment %s later (lease %s)", victim.name, gone.Round(time.Millisecond), survivor.name, took.Round(time.Millisecond), lease)
	if d.DeploymentStatus != "FAILED" || d.DeploymentStatusMessage != "provisioning interrupted: worker lost" {
		t.Errorf("deployment ended %s %q, want FAILED \"provisioning interrupted: worker lost\"", d.DeploymentStatus, d.DeploymentStatusMessage)
	}

	next, err := c.update(ctx, survivor, "paused", "quick")
	if err != nil {
		t.Fatalf("update after recovery: %v", err)
	}
	if d := waitEnded(t, survivor, next, deployTimeout); d.DeploymentStatus != "SUCCEEDED" {
		t.Errorf("the next deployment ended %s: %s", d.DeploymentStatus, d.DeploymentStatusMessage)
	}

	// Resumed, the paused node finds its run stopped and its lease gone.
	if err := victim.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	hadrontest.Eventually(t, deployTimeout, victim.name+" to give up the run", func() (bool, string) {
		return !victim.runs(id), "its working directory is still there"
	})
	if d := waitEnded(t, survivor, id, deployTimeout); d.DeploymentStatus != "FAILED" {
		t.Errorf("after %s resumed the deployment is %s %q, want FAILED still", victim.name, d.DeploymentStatus, d.DeploymentStatusMessage)
	}
	if runs := c.recorded(t)[id]; runs != 1 {
		t.Errorf("the deployment ran %d times, want once", runs)
	}
}

// processesIn lists the live processes whose working directory is dir.
func processesIn(dir string) []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cwd, err := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid))
		if err != nil || cwd != dir {
			continue
		}
		if stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
			if i := lastParen(stat); i > 0 && i+2 < len(stat) && stat[i+2] != 'Z' {
				pids = append(pids, pid)
			}
		}
	}
	return pids
}

func lastParen(b []byte) int {
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] == ')' {
			return i
		}
	}
	return -1
}
