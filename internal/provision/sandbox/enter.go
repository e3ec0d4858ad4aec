package sandbox

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Shell is how the supervisor starts a run's shell after Enter.
type Shell struct {
	// Env is added to the shell's environment (TMPDIR, HOME).
	Env []string
	// Credential, when set, is the run's user.
	Credential *syscall.Credential
	// dropCaps: the shell keeps root's uid without its capabilities.
	dropCaps bool
}

// Start starts cmd as the run's shell: as Credential, and without any
// capability when the run keeps root's uid. It forks from the calling
// thread, which the caller must have locked (runtime.LockOSThread) before
// Enter and keep: Enter confines that thread alone (restrictFiles), and
// the shell is in its Landlock domain. Capabilities are a
// thread's too: dropped here, they are gone from that thread for good,
// which is all a supervisor needs (signals to the run's processes, of its
// own uid, need none).
func (s *Shell) Start(cmd *exec.Cmd) error {
	if s != nil && s.dropCaps {
		if err := dropCapabilities(); err != nil {
			return err
		}
	}
	return cmd.Start()
}

// Securebits of linux/securebits.h (golang.org/x/sys/unix lacks them).
const (
	secbitNoRoot       = 1 << 0
	secbitNoRootLocked = 1 << 1
)

// dropCapabilities empties the calling thread's inheritable, ambient and
// bounding capability sets and locks SECBIT_NOROOT, so that what it
// executes as uid 0 gets no capability.
func dropCapabilities() error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return fmt.Errorf("sandbox: capget: %w", err)
	}
	data[0].Inheritable, data[1].Inheritable = 0, 0
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("sandbox: capset: %w", err)
	}
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil {
		return fmt.Errorf("sandbox: clear ambient capabilities: %w", err)
	}
	for c := 0; ; c++ {
		err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0)
		if err == unix.EINVAL {
			break // past the kernel's last capability
		}
		if err != nil {
			return fmt.Errorf("sandbox: drop capability %d: %w", c, err)
		}
	}
	if err := unix.Prctl(unix.PR_SET_SECUREBITS, secbitNoRoot|secbitNoRootLocked, 0, 0, 0); err != nil {
		return fmt.Errorf("sandbox: securebits: %w", err)
	}
	return nil
}

// Enter confines a run's supervisor whose working directory is workDir:
// its mounts and rlimits, and the calling thread's no_new_privs and
// Landlock domain. It returns how to start the shell from that thread, which
// then inherits every restriction. It is called once, before the shell starts, and cannot
// be undone. When p.Namespaces is set the caller must be PID 1 of a new PID
// namespace in a new mount namespace (see Policy.Cloneflags). An error
// means the run must not start.
func Enter(p *Policy, workDir string) (*Shell, error) {
	tmp := filepath.Join(workDir, TmpDirName)
	if err := os.Mkdir(tmp, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("sandbox: private tmp: %w", err)
	}
	sh := &Shell{Env: []string{"TMPDIR=" + tmp}, dropCaps: p.DropCapabilities && p.UID < 0}
	if p.UID >= 0 {
		if err := chownTree(workDir, p.UID, p.GID); err != nil {
			return nil, err
		}
		sh.Credential = &syscall.Credential{Uid: uint32(p.UID), Gid: uint32(p.GID), Groups: []uint32{}}
		// The server's HOME (root's) is not the run's to write.
		sh.Env = append(sh.Env, "HOME="+tmp)
	}
	// A work directory under /tmp would be hidden by the run's /tmp: then
	// the run keeps only TMPDIR, and Landlock closes the host's /tmp.
	ownTmp := p.Namespaces && !within(workDir, "/tmp")
	if p.Namespaces {
		if err := privateMounts(tmp, ownTmp); err != nil {
			return nil, err
		}
	}
	if ownTmp {
		sh.Env[0] = "TMPDIR=/tmp"
	}
	if err := setLimits(p.Limits); err != nil {
		return nil, err
	}
	if err := prctl(unix.PR_SET_NO_NEW_PRIVS, 1); err != nil {
		return nil, fmt.Errorf("sandbox: PR_SET_NO_NEW_PRIVS: %w", err)
	}
	if p.Landlock {
		if err := restrictFiles(p, workDir, ownTmp); err != nil {
			return nil, err
		}
	}
	return sh, nil
}

// privateMounts stops mount events from leaking to the host, mounts a /proc
// of the run's PID namespace over the host's, and the run's tmp directory
// over /tmp.
func privateMounts(tmp string, ownTmp bool) error {
	if err := syscall.Mount("", "/", "", syscall.MS_REC|syscall.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("sandbox: make mounts private: %w", err)
	}
	if err := syscall.Mount("proc", "/proc", "proc", syscall.MS_NOSUID|syscall.MS_NODEV|syscall.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("sandbox: mount the run's /proc: %w", err)
	}
	if !ownTmp {
		return nil
	}
	if err := syscall.Mount(tmp, "/tmp", "", syscall.MS_BIND, ""); err != nil {
		return fmt.Errorf("sandbox: mount the run's /tmp: %w", err)
	}
	return nil
}

// chownTree gives dir and everything in it to the run's user. Symbolic
// links are changed themselves, never followed.
func chownTree(dir string, uid, gid int) error {
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(path, uid, gid)
	})
	if err != nil {
		return fmt.Errorf("sandbox: give the work directory to uid %d: %w", uid, err)
	}
	return nil
}

func setLimits(l Limits) error {
	for _, r := range []struct {
		resource int
		value    uint64
		name     string
	}{
		{syscall.RLIMIT_NOFILE, l.OpenFiles, "open files"},
		{unix.RLIMIT_NPROC, l.Processes, "processes"},
		{syscall.RLIMIT_FSIZE, l.FileSizeBytes, "file size"},
		{syscall.RLIMIT_AS, l.MemoryBytes, "address space"},
		{syscall.RLIMIT_CPU, l.CPUSeconds, "CPU time"},
	} {
		if r.value == 0 {
			continue
		}
		if err := syscall.Setrlimit(r.resource, &syscall.Rlimit{Cur: r.value, Max: r.value}); err != nil {
			return fmt.Errorf("sandbox: rlimit %s %d: %w", r.name, r.value, err)
		}
	}
	return nil
}

// restrictFiles puts the calling thread, which starts the shell, in a
// Landlock domain that reaches only the work directory (read-write), the
// read-only directories and a few devices, and that scopes signals and
// abstract unix sockets to the run. On a kernel older than the newest ABI
// it keeps what that kernel can do.
func restrictFiles(p *Policy, workDir string, ownTmp bool) error {
	abi, err := landlockABI()
	if err != nil {
		return fmt.Errorf("sandbox: landlock: %w", err)
	}
	rwDir := uint64(llRead | llWrite | unix.LANDLOCK_ACCESS_FS_REFER)
	rules := []llRule{{path: workDir, access: rwDir}}
	for _, d := range p.ReadOnly {
		rules = append(rules, llRule{path: d, access: llRead, optional: true})
	}
	for _, f := range []string{"/dev/null", "/dev/zero", "/dev/full"} {
		rules = append(rules, llRule{path: f, access: llFile, optional: true})
	}
	for _, f := range append([]string{"/dev/random", "/dev/urandom"}, p.ReadOnlyFiles...) {
		rules = append(rules, llRule{path: f, access: llRead & llFile, optional: true})
	}
	if p.Namespaces {
		rules = append(rules, llRule{path: "/proc", access: llRead}) // the run's PID namespace's
	}
	if ownTmp {
		rules = append(rules, llRule{path: "/tmp", access: rwDir})
	}
	if err := landlockRestrict(abi, rules); err != nil {
		return fmt.Errorf("sandbox: landlock: %w", err)
	}
	return nil
}

// within reports whether path is dir or below it.
func within(path, dir string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
}
