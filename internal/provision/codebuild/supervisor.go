package codebuild

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hadronhq/hadron/internal/provision/supervisor"
)

// Which program supervises a run (package supervisor says what a
// supervisor does). Exec'ing the server's own 50 MB binary costs every
// package's init, the AWS SDK's service models among them, on every
// command: tens of milliseconds of each dispatch. cmd/hadron-supervisor
// links little more than package supervisor and starts in a few. So a
// server uses the standalone supervisor when one that speaks its protocol
// is installed beside its executable (`go install ./cmd/...` puts both in
// one directory), and re-executes itself otherwise (`go run`, or a
// hadron-supervisor replaced since the server checked it).

// SupervisorName is the file name of the standalone supervisor
// (cmd/hadron-supervisor), looked for beside the server's executable.
const SupervisorName = "hadron-supervisor"

// selfExe names the running binary even if its file was replaced or
// deleted since (an upgrade in place): the kernel resolves it in the child
// at execve, where it still names the server's own image.
const selfExe = "/proc/self/exe"

// supervisorReady records that MaybeSupervise ran in this process and found
// it is not a supervisor. Run refuses to re-execute a binary without it:
// starting a supervisor that does not know it is one would run a second
// server.
var supervisorReady atomic.Bool

// MaybeSupervise must be the first call in main of every binary that calls
// Run, and in TestMain of every test binary whose tests call Run. Run may
// re-execute the running binary as a supervisor of a command; in such a
// process MaybeSupervise runs the supervisor and exits with the command's
// status, and it never returns. In any other process it returns at once.
func MaybeSupervise() {
	supervisor.Main()
	supervisorReady.Store(true)
}

// Supervisor is a standalone supervisor binary that the server checked
// speaks its protocol, and the supervisors of it that wait for runs
// (pool.go).
type Supervisor struct {
	path string
	id   fileID // the file as checked
	pool pool
}

// fileID tells a file apart from one that replaced it.
type fileID struct {
	dev, ino uint64
	size     int64
	mtime    int64
}

func statID(path string) (fileID, error) {
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		return fileID{}, err
	}
	return fileID{dev: st.Dev, ino: st.Ino, size: st.Size, mtime: st.Mtim.Nano()}, nil
}

// OpenSupervisor checks that the program at path is a standalone supervisor
// speaking this server's protocol.
func OpenSupervisor(path string) (*Supervisor, error) {
	path, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("supervisor %s: %w", path, err)
	}
	before, err := statID(path)
	if err != nil {
		return nil, fmt.Errorf("supervisor: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, supervisor.ProtocolArg).Output()
	if err != nil {
		return nil, fmt.Errorf("supervisor %s: asking for its protocol: %w", path, err)
	}
	if got := strings.TrimSpace(string(out)); got != strconv.Itoa(supervisor.Protocol) {
		return nil, fmt.Errorf("supervisor %s speaks protocol %q, this server %d: install the hadron-supervisor built with this server", path, got, supervisor.Protocol)
	}
	after, err := statID(path)
	if err != nil || after != before {
		return nil, fmt.Errorf("supervisor %s changed while it was checked", path)
	}
	return &Supervisor{path: path, id: before}, nil
}

// FindSupervisor returns the standalone supervisor installed beside the
// running executable, or nil when there is none. One that is there but
// cannot be used is an error.
func FindSupervisor() (*Supervisor, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, nil
	}
	path := filepath.Join(filepath.Dir(exe), SupervisorName)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	return OpenSupervisor(path)
}

// Path is where the supervisor is installed.
func (s *Supervisor) Path() string { return s.path }

// current reports whether the file at s's path is still the one checked; a
// replaced one (an upgrade in place) may speak another protocol.
func (s *Supervisor) current() bool {
	id, err := statID(s.path)
	return err == nil && id == s.id
}

// supervisorCommand is the program and arguments that start a supervisor.
func supervisorCommand(s *Supervisor) (path string, args []string, err error) {
	if s != nil && s.current() {
		return s.path, []string{s.path, supervisor.Arg}, nil
	}
	if !supervisorReady.Load() {
		if s != nil {
			return "", nil, fmt.Errorf("codebuild: the supervisor %s was replaced since the server checked it, and this binary cannot supervise (MaybeSupervise was not called): restart the server", s.path)
		}
		return "", nil, errors.New("codebuild: MaybeSupervise was not called at program start; Run needs it to start the command supervisor")
	}
	return selfExe, []string{os.Args[0], supervisor.Arg}, nil
}
