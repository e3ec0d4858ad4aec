package supervisor

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"syscall"

	"github.com/hadronhq/hadron/internal/provision/sandbox"
)

// Isolation: how a run is confined (package sandbox holds the mechanisms).
//
// codebuild.Run passes the Policy to the supervisor in its Assignment and
// starts the supervisor in the namespaces the Policy asks for; the supervisor calls
// sandbox.Enter just before it starts the shell. With new namespaces the
// supervisor is PID 1 of the run's PID namespace, which changes three things
// described at the top of supervisor.go:
//   - getppid returns 0, so the supervisor watches the server through a
//     descriptor of the server's /proc directory opened before the run's
//     own /proc hides it (parentGone);
//   - PID 1 cannot be killed by its own signals: killGroup kills every
//     other process of the namespace and exits, and the kernel kills what
//     is left (a `setsid cmd &` too) when PID 1 exits;
//   - it cannot re-raise the shell's fatal signal, so a shell killed by
//     signal N is reported as exit status 128+N, as shells do;
//   - its exit kills every process of the namespace at once. On a cancel,
//     the processes a shell's trap left to clean up are promised the rest
//     of the grace period, so after a SIGTERM the supervisor outlives the
//     shell until every process of the namespace is gone (awaitDescendants,
//     as without a namespace); the server's SIGKILL at the end of the grace
//     period ends the wait.

// parentDir is, in a supervisor that is PID 1 of its namespace, a
// descriptor of the server's /proc/<pid> directory (of the host's /proc);
// -1 otherwise.
var parentDir = -1

// watchParent prepares parentGone; it must run before enterSandbox mounts
// the run's own /proc.
func watchParent(ppid int) {
	if os.Getpid() != 1 {
		return
	}
	fd, err := syscall.Open("/proc/"+strconv.Itoa(ppid), syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
	if err != nil {
		killGroup() // the server is gone already
	}
	parentDir = fd
}

// parentGone reports whether the server that started this supervisor has
// exited. A /proc/<pid> descriptor stays bound to its process, so a reused
// pid cannot fool it; a zombie counts as gone.
func parentGone(ppid int) bool {
	if parentDir < 0 {
		return os.Getppid() != ppid
	}
	fd, err := syscall.Openat(parentDir, "stat", syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return true
	}
	defer syscall.Close(fd)
	var buf [512]byte
	n, _ := syscall.Read(fd, buf[:])
	b := buf[:max(n, 0)]
	i := bytes.LastIndexByte(b, ')')
	return i < 0 || i+2 >= len(b) || b[i+2] == 'Z' || b[i+2] == 'X'
}

// enterSandbox confines the supervisor under p (see sandbox.Enter) and says
// how to start the shell; nil when not isolated (p nil).
func enterSandbox(p *sandbox.Policy, dir string) (*sandbox.Shell, error) {
	if p == nil {
		return nil, nil
	}
	if p.Namespaces && os.Getpid() != 1 {
		return nil, fmt.Errorf("sandbox: the policy wants namespaces but the supervisor is pid %d, not 1", os.Getpid())
	}
	return sandbox.Enter(p, dir)
}

// shellAttr is how the supervisor starts the shell under sb (nil: not
// isolated).
func shellAttr(sb *sandbox.Shell) (*syscall.SysProcAttr, []string) {
	if sb == nil {
		return nil, nil
	}
	return &syscall.SysProcAttr{Credential: sb.Credential}, sb.Env
}
