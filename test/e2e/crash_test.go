package e2e

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The crash-safety tests speak the API directly: they need neither the AWS
// CLI nor boto3, so they never skip.

// goneTimeout is how long a provisioning process may outlive its server.
const goneTimeout = 5 * time.Second

// TestKilledServerLeavesNoProcessAndRecovers SIGKILLs the server while a
// deployment's command runs: the command's processes must die with it, and
// the next start on the same data directory must end the deployment FAILED
// ("provisioning interrupted: worker lost") and leave the environment
// deployable.
func TestKilledServerLeavesNoProcessAndRecovers(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	s := startServer(t, dataDir)
	s.publishNetwork(t)
	id, pids := s.createSleeper(t, "crash")

	s.kill(t)
	waitProcessesGone(t, pids)
	t.Logf("server killed; processes %v of deployment %s are gone", pids, id)

	s = startServer(t, dataDir)
	d := s.waitDeploymentEnded(t, id)
	if d.DeploymentStatus != "FAILED" || d.DeploymentStatusMessage != "provisioning interrupted: worker lost" {
		t.Errorf("after a restart the deployment is %s (%q), want FAILED (\"provisioning interrupted: worker lost\")",
			d.DeploymentStatus, d.DeploymentStatusMessage)
	}
	// Hole 8 of issue 17: the lost run's working directory is gone and its
	// log says what happened.
	if _, err := os.Stat(filepath.Join(dataDir, "work", id)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the lost run's working directory is still there after the restart (%v)", err)
	}
	if log := strings.TrimRight(s.deploymentLog(id), "\n"); !strings.Contains(log[strings.LastIndexByte(log, '\n')+1:], "worker lost") {
		t.Errorf("the lost run's log does not end saying the worker was lost:\n%s", log)
	}
	env, err := s.getEnvironment("crash")
	if err != nil || env.DeploymentStatus != "FAILED" {
		t.Errorf("after a restart the environment is %+v (%v), want FAILED", env, err)
	}

	// Not stuck: an update is accepted and runs.
	var out environmentOut
	s.mustCall(t, "UpdateEnvironment", map[string]string{
		"name": "crash", "deploymentType": "CURRENT_VERSION", "spec": "proton: EnvironmentSpec\nspec:\n  name_tag: again\n",
	}, &out)
	if out.Environment.DeploymentStatus != "IN_PROGRESS" || out.Environment.LastAttemptedDeploymentID == id {
		t.Fatalf("UpdateEnvironment answered %+v, want a new deployment IN_PROGRESS", out.Environment)
	}
	if env := s.waitEnvironment(t, "crash", "SUCCEEDED", "FAILED"); env.DeploymentStatus != "SUCCEEDED" {
		t.Errorf("the update after the restart ended %s (%q), want SUCCEEDED", env.DeploymentStatus, env.DeploymentStatusMessage)
	}
}

// TestKilledDuringCancelGraceLeavesNoProcess is hole 1 of issue 17: the
// provisioning script traps SIGTERM and keeps working after a cancel (the
// wrapper shell dies of it), and the server is SIGKILLed inside the grace
// period. Nothing of the run may survive, and the next start ends the
// deployment CANCELLED, as the user asked.
func TestKilledDuringCancelGraceLeavesNoProcess(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	s := startServer(t, dataDir, "--cancel-grace", "10m")
	s.publishNetwork(t)
	id, pids, arg := s.createTaggedSleeper(t, "stubborn", "  stubborn: true")

	s.mustCall(t, "CancelEnvironmentDeployment", map[string]string{"environmentName": "stubborn"}, nil)
	s.waitDeploymentLog(t, id, "provision: SIGTERM, ignoring it")
	var again int
	eventually(t, deployTimeout, "the script to start its sleep again after the SIGTERM", func() (bool, string) {
		again = processWithArg(arg)
		return again != 0 && again != pids[1], "deployment log:\n" + s.deploymentLog(id)
	})
	if processGone(pids[0]) {
		t.Fatalf("the script's shell %d did not survive the cancel's SIGTERM: this test proves nothing", pids[0])
	}

	s.kill(t)
	waitProcessesGone(t, []int{pids[0], again})
	if pid := processWithArg(arg); pid != 0 {
		t.Errorf("process %d of the run (%s) survived the server", pid, procStatus(pid))
		syscall.Kill(pid, syscall.SIGKILL)
	}

	s = startServer(t, dataDir)
	if d := s.waitDeploymentEnded(t, id); d.DeploymentStatus != "CANCELLED" {
		t.Errorf("after a restart the deployment is %s (%q), want CANCELLED", d.DeploymentStatus, d.DeploymentStatusMessage)
	}
}

// TestSIGTERMDuringDeployment stops the server gracefully while a
// deployment's command runs: the server exits 0, no process of the command
// is left, and the deployment ends FAILED ("provisioning interrupted...") or
// CANCELLED, never IN_PROGRESS.
func TestSIGTERMDuringDeployment(t *testing.T) {
	t.Parallel()
	dataDir := t.TempDir()
	s := startServer(t, dataDir)
	s.publishNetwork(t)
	id, pids := s.createSleeper(t, "sigterm")

	if code := s.terminate(t); code != 0 {
		t.Errorf("server exited %d after SIGTERM during a deployment, want 0", code)
	}
	waitProcessesGone(t, pids)

	s = startServer(t, dataDir)
	d := s.waitDeploymentEnded(t, id)
	t.Logf("after SIGTERM and a restart, deployment %s is %s (%q)", id, d.DeploymentStatus, d.DeploymentStatusMessage)
	switch {
	case d.DeploymentStatus == "FAILED" && strings.HasPrefix(d.DeploymentStatusMessage, "provisioning interrupted"):
	case d.DeploymentStatus == "CANCELLED":
	default:
		t.Errorf("after a graceful stop the deployment is %s (%q), want FAILED (\"provisioning interrupted...\") or CANCELLED",
			d.DeploymentStatus, d.DeploymentStatusMessage)
	}
}

// publishNetwork registers and publishes version 1.0 of the template
// "network" from testdata/bundles/network.
func (s *server) publishNetwork(t *testing.T) {
	t.Helper()
	s.putBundle(t, "network", "network.tar.gz")
	s.mustCall(t, "CreateEnvironmentTemplate", map[string]string{"name": "network"}, nil)
	s.mustCall(t, "CreateEnvironmentTemplateVersion", map[string]any{
		"templateName": "network",
		"source":       map[string]any{"s3": map[string]string{"bucket": bundleBucket, "key": "network.tar.gz"}},
	}, nil)
	if v := s.waitRegistered(t, "network", "1", "0"); v.Status != "DRAFT" {
		t.Fatalf("network 1.0 is %s (%s), want DRAFT", v.Status, v.StatusMessage)
	}
	s.mustCall(t, "UpdateEnvironmentTemplateVersion", map[string]string{
		"templateName": "network", "majorVersion": "1", "minorVersion": "0", "status": "PUBLISHED",
	}, nil)
}

// createSleeper creates an environment whose provisioning starts `sleep
// 300.<tag>` and waits; it returns the deployment's id once the pids of the
// sleep and of the script's shell (its parent) are known. The run is
// isolated (its own PID namespace, nothing written outside its work
// directory), so the test finds them in the host's /proc by the tag.
// Extra are more lines of the spec ("  stubborn: true").
func (s *server) createSleeper(t *testing.T, name string, extra ...string) (id string, pids []int) {
	t.Helper()
	id, pids, _ = s.createTaggedSleeper(t, name, extra...)
	return id, pids
}

// createTaggedSleeper is createSleeper that also returns the sleep's
// argument, "300.<tag>".
func (s *server) createTaggedSleeper(t *testing.T, name string, extra ...string) (id string, pids []int, arg string) {
	t.Helper()
	tag := strconv.FormatInt(time.Now().UnixNano(), 10)
	var out environmentOut
	spec := fmt.Sprintf("proton: EnvironmentSpec\nspec:\n  sleep_tag: \"%s\"\n", tag)
	for _, line := range extra {
		spec += line + "\n"
	}
	s.mustCall(t, "CreateEnvironment", map[string]string{
		"name": name, "templateName": "network", "templateMajorVersion": "1", "codebuildRoleArn": codebuildArn,
		"spec": spec,
	}, &out)
	id = out.Environment.LastAttemptedDeploymentID
	s.waitDeploymentLog(t, id, "provision: sleeping")
	arg = "300." + tag
	eventually(t, deployTimeout, "the process `sleep "+arg+"`", func() (bool, string) {
		sleeper := processWithArg(arg)
		if sleeper == 0 {
			return false, "no such process; deployment log:\n" + s.deploymentLog(id)
		}
		pids = []int{parentPid(sleeper), sleeper}
		return pids[0] > 1, fmt.Sprintf("pids %v", pids)
	})
	for _, pid := range pids {
		if processGone(pid) {
			t.Fatalf("process %d of the provisioning command is not running", pid)
		}
	}
	return id, pids, arg
}

// processWithArg returns the pid of a process, in the host's /proc, one of
// whose arguments is arg; 0 if there is none.
func processWithArg(arg string) int {
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		if err == nil && slices.Contains(strings.Split(string(cmdline), "\x00"), arg) {
			return pid
		}
	}
	return 0
}

// parentPid returns the parent of pid as the host's /proc sees it; 0 if it
// cannot be read.
func parentPid(pid int) int {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "PPid:"); ok {
			ppid, _ := strconv.Atoi(strings.TrimSpace(v))
			return ppid
		}
	}
	return 0
}

// waitDeploymentEnded waits until the deployment is neither IN_PROGRESS nor
// CANCELLING.
func (s *server) waitDeploymentEnded(t *testing.T, id string) deployment {
	t.Helper()
	var d deployment
	eventually(t, deployTimeout, "deployment "+id+" to end", func() (bool, string) {
		var out deploymentOut
		if err := s.call("GetDeployment", map[string]string{"id": id}, &out); err != nil {
			return false, err.Error()
		}
		d = out.Deployment
		return d.DeploymentStatus != "IN_PROGRESS" && d.DeploymentStatus != "CANCELLING", fmt.Sprintf("%+v", d)
	})
	return d
}

// waitProcessesGone waits up to goneTimeout for every pid to be gone.
func waitProcessesGone(t *testing.T, pids []int) {
	t.Helper()
	eventually(t, goneTimeout, fmt.Sprintf("processes %v to be gone", pids), func() (bool, string) {
		var alive []string
		for _, pid := range pids {
			if !processGone(pid) {
				alive = append(alive, fmt.Sprintf("%d: %s", pid, procStatus(pid)))
			}
		}
		return len(alive) == 0, strings.Join(alive, "; ")
	})
}

// processGone reports whether pid no longer runs: it does not exist, or it
// is a zombie waiting for a parent (an orphan's new parent may be slow to reap).
func processGone(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	return procState(pid) == "Z"
}

// procState returns the state letter of /proc/<pid>/stat ("R", "S", "Z"...),
// or "" if it cannot be read.
func procState(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return ""
	}
	// pid (comm) state ...: comm may hold spaces and parentheses.
	_, rest, ok := strings.Cut(string(b[strings.LastIndexByte(string(b), ')')+1:]), " ")
	if !ok || rest == "" {
		return ""
	}
	return rest[:1]
}

// procStatus describes a process for a failure message.
func procStatus(pid int) string {
	cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return fmt.Sprintf("state %q, command %q", procState(pid), strings.ReplaceAll(string(cmdline), "\x00", " "))
}
