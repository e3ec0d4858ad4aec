package sandbox

import (
	"errors"
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Landlock, called directly. The supervisor confines only the thread that
// starts the run's shell (Shell.Start), so it needs none of what a library
// adds to confine every thread of a Go process: go-landlock does that
// through libcap's psx, which is cgo, and cgo made hadron-supervisor a
// dynamically linked program that spent about 3 ms of every run's start in
// the dynamic loader and cgo's thread set-up. Without it the supervisor is
// a static binary.

// Access rights a rule grants, as go-landlock groups them: reading,
// writing, and the subset of both that applies to a file (a rule on a file
// may hold no other right).
const (
	llRead = unix.LANDLOCK_ACCESS_FS_EXECUTE | unix.LANDLOCK_ACCESS_FS_READ_FILE | unix.LANDLOCK_ACCESS_FS_READ_DIR
	// llWrite is everything that changes the file system under a rule's
	// directory, except REFER (links and renames from elsewhere), which a
	// rule grants only when it says so.
	llWrite = unix.LANDLOCK_ACCESS_FS_WRITE_FILE | unix.LANDLOCK_ACCESS_FS_REMOVE_DIR | unix.LANDLOCK_ACCESS_FS_REMOVE_FILE |
		unix.LANDLOCK_ACCESS_FS_MAKE_CHAR | unix.LANDLOCK_ACCESS_FS_MAKE_DIR | unix.LANDLOCK_ACCESS_FS_MAKE_REG |
		unix.LANDLOCK_ACCESS_FS_MAKE_SOCK | unix.LANDLOCK_ACCESS_FS_MAKE_FIFO | unix.LANDLOCK_ACCESS_FS_MAKE_BLOCK |
		unix.LANDLOCK_ACCESS_FS_MAKE_SYM | unix.LANDLOCK_ACCESS_FS_TRUNCATE
	llFile = unix.LANDLOCK_ACCESS_FS_EXECUTE | unix.LANDLOCK_ACCESS_FS_WRITE_FILE | unix.LANDLOCK_ACCESS_FS_READ_FILE |
		unix.LANDLOCK_ACCESS_FS_TRUNCATE
)

// llHandledFS is the file system rights Landlock ABI abi knows, all of
// which a run's domain handles: whatever no rule grants is refused.
func llHandledFS(abi int) uint64 {
	switch {
	case abi < 1:
		return 0
	case abi == 1:
		return 1<<13 - 1
	case abi == 2:
		return 1<<14 - 1 // + REFER
	case abi <= 4:
		return 1<<15 - 1 // + TRUNCATE
	case abi <= 8:
		return 1<<16 - 1 // + IOCTL_DEV
	default:
		return 1<<17 - 1 // + RESOLVE_UNIX
	}
}

// llScoped is what ABI abi can scope to the domain: signals and abstract
// unix sockets from ABI 6.
func llScoped(abi int) uint64 {
	if abi < 6 {
		return 0
	}
	return unix.LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET | unix.LANDLOCK_SCOPE_SIGNAL
}

// landlockABI returns the kernel's Landlock ABI version; an error when it
// has none (not built in, or disabled at boot).
func landlockABI() (int, error) {
	v, _, errno := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, 0, 0, unix.LANDLOCK_CREATE_RULESET_VERSION)
	if errno != 0 {
		return 0, errno
	}
	return int(v), nil
}

// llRule grants access to the file or directory tree at path.
type llRule struct {
	path   string
	access uint64
	// optional: a path that does not exist is passed over.
	optional bool
}

// landlockRestrict puts the calling thread, and what it starts from then on,
// in a new Landlock domain of ABI abi that handles every file system right
// the ABI knows and grants only rules' rights (each cut to what its path's
// kind and the ABI allow), and that scopes what the ABI can scope. The
// thread must have no_new_privs set. It cannot be undone.
func landlockRestrict(abi int, rules []llRule) error {
	handled := llHandledFS(abi)
	attr := unix.LandlockRulesetAttr{Handled_access_fs: handled, Scoped: llScoped(abi)}
	// The size of the three fields this code sets: a kernel that knows
	// fewer of them accepts the longer struct while the fields it does not
	// know are zero, which llScoped sees to.
	size := unsafe.Offsetof(attr.Scoped) + unsafe.Sizeof(attr.Scoped)
	fd, _, errno := unix.Syscall(unix.SYS_LANDLOCK_CREATE_RULESET, uintptr(unsafe.Pointer(&attr)), size, 0)
	if errno != 0 {
		return fmt.Errorf("create ruleset: %w", errno)
	}
	defer unix.Close(int(fd))
	for _, r := range rules {
		if err := llAddRule(int(fd), r, handled); err != nil {
			return err
		}
	}
	if _, _, errno := unix.Syscall(unix.SYS_LANDLOCK_RESTRICT_SELF, fd, 0, 0); errno != 0 {
		return fmt.Errorf("restrict self: %w", errno)
	}
	return nil
}

func llAddRule(ruleset int, r llRule, handled uint64) error {
	fd, err := unix.Open(r.path, unix.O_PATH|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ENOENT) && r.optional {
		return nil
	}
	if err != nil {
		return fmt.Errorf("open %s: %w", r.path, err)
	}
	defer unix.Close(fd)
	access := r.access & handled
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("stat %s: %w", r.path, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		access &= llFile // the kernel refuses directory rights on a file
	}
	if access == 0 {
		return nil
	}
	attr := unix.LandlockPathBeneathAttr{Allowed_access: access, Parent_fd: int32(fd)}
	_, _, errno := unix.Syscall6(unix.SYS_LANDLOCK_ADD_RULE, uintptr(ruleset), unix.LANDLOCK_RULE_PATH_BENEATH,
		uintptr(unsafe.Pointer(&attr)), 0, 0, 0)
	if errno != 0 {
		return fmt.Errorf("rule on %s: %w", r.path, errno)
	}
	return nil
}
