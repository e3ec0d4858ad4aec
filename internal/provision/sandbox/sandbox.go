// Package sandbox confines the processes of a provisioning run, so that a
// template's commands cannot reach the server that runs them: its keys, its
// database, its data directory, other runs, its /proc entries or the server
// process itself.
//
// The server resolves a Config once at start-up into a Policy (what this
// machine permits) and a Status (each mechanism on or off, and why). The
// codebuild supervisor, a re-exec of the server binary that is about to start
// a run's shell, calls Enter with that Policy: it hides the host's /proc and
// /tmp (when it was started in new PID and mount namespaces, see
// Policy.Cloneflags), gives the work directory to the run's user, sets the
// rlimits, PR_SET_NO_NEW_PRIVS and a Landlock domain, and returns how to start
// the shell. Everything is inherited by the shell and all it starts.
//
// What a run may reach:
//   - its working directory, read-write (and its private tmp inside it);
//   - /usr, /bin, /lib, /lib64, /etc, /opt, the directories on PATH (with
//     the root of a version manager whose shims are on it) and
//     Config.ReadOnly: read and execute;
//   - /dev/null, /dev/zero, /dev/full, /dev/random, /dev/urandom;
//   - /proc, only when it is the run's own (new PID namespace);
//   - the network, without restriction.
package sandbox

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
)

// Mode is how much isolation the server insists on.
type Mode string

// The isolation modes of `hadron serve --isolation`.
const (
	// Strict refuses to start unless every mechanism is in force.
	Strict Mode = "strict"
	// BestEffort uses every mechanism this machine permits and reports the
	// others as missing.
	BestEffort Mode = "best-effort"
	// Off runs commands as the server's own user with the server's reach.
	Off Mode = "off"
)

// ParseMode reads a --isolation value.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(s); m {
	case Strict, BestEffort, Off:
		return m, nil
	}
	return "", fmt.Errorf("isolation %q: the modes are strict, best-effort and off", s)
}

// Defaults of Config.
const (
	// DefaultRunAs is the user runs take when the server runs as root and
	// Config.RunAs is empty. When it does not exist runs keep the server's
	// user, without its capabilities, and Status says so: a shared user
	// such as nobody cannot read the tools commands need (an AWS CLI
	// installed under root's home), so it would break real bundles.
	DefaultRunAs = "hadron-run"
	// DefaultOpenFiles is the RLIMIT_NOFILE of a run.
	DefaultOpenFiles = 4096
	// DefaultProcesses is the RLIMIT_NPROC of a run. The kernel counts it per
	// user: every run of one run-as user shares it.
	DefaultProcesses = 4096
	// DefaultFileSizeBytes is the RLIMIT_FSIZE of a run: 8 GiB per file.
	DefaultFileSizeBytes = 8 << 30
	// TmpDirName is the run's private tmp directory, inside its working
	// directory (and mounted on /tmp when the run has its own mount namespace).
	TmpDirName = ".hadron-tmp"
)

// systemDirs are readable and executable by every run.
var systemDirs = []string{"/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32", "/etc", "/opt"}

// Limits are the rlimits of a run; zero leaves a limit as the server has it.
type Limits struct {
	OpenFiles     uint64 // RLIMIT_NOFILE
	Processes     uint64 // RLIMIT_NPROC, per user
	FileSizeBytes uint64 // RLIMIT_FSIZE
	MemoryBytes   uint64 // RLIMIT_AS (address space), optional
	CPUSeconds    uint64 // RLIMIT_CPU, optional
}

// Config is the server's isolation setting.
type Config struct {
	// Mode is strict, best-effort or off; empty means best-effort.
	Mode Mode
	// RunAs is the user runs take when the server runs as root; it must
	// exist. Empty means DefaultRunAs if it exists, else the server's user.
	RunAs string
	// ReadOnly are directories runs may read and execute from besides the
	// system directories and PATH.
	ReadOnly []string
	// Protect are paths no run may read: the data directory, the keys
	// directory. A read-only directory that holds one of them is dropped
	// (a PATH entry) or refused (a system or ReadOnly directory).
	Protect []string
	// Limits are the rlimits; zero fields take the defaults above, except
	// MemoryBytes and CPUSeconds, which stay unlimited.
	Limits Limits
	// Path is the commands' PATH, whose directories are readable; empty
	// means the server's.
	Path string
}

// Policy is a Config resolved for this machine: what Enter does in a run's
// supervisor. It travels to the supervisor in an environment variable.
type Policy struct {
	Mode Mode `json:"mode"`
	UID  int  `json:"uid"` // -1: keep the server's user
	GID  int  `json:"gid"`
	// DropCapabilities: the run keeps the server's user, root, but none of
	// its capabilities (no module loading, raw devices, mounts, kills
	// outside the run...).
	DropCapabilities bool     `json:"dropcaps,omitempty"`
	ReadOnly         []string `json:"ro"`
	// ReadOnlyFiles are files outside ReadOnly that files in /etc link to
	// (/etc/resolv.conf -> /run/systemd/resolve/...), readable so that name
	// resolution keeps working.
	ReadOnlyFiles []string `json:"rof,omitempty"`
	Limits        Limits   `json:"limits"`
	Namespaces    bool     `json:"ns"`       // new PID and mount namespaces
	Landlock      bool     `json:"landlock"` // false: the kernel has no Landlock
}

// Encode is the Policy as a string, for a process started with it.
func (p *Policy) Encode() string {
	b, _ := json.Marshal(p) // plain fields: cannot fail
	return string(b)
}

// Decode reads a Policy encoded by Encode.
func Decode(s string) (*Policy, error) {
	var p Policy
	if err := json.Unmarshal([]byte(s), &p); err != nil {
		return nil, fmt.Errorf("sandbox policy: %w", err)
	}
	return &p, nil
}

// Cloneflags are the namespaces the supervisor must be started in.
func (p *Policy) Cloneflags() uintptr {
	if p == nil || !p.Namespaces {
		return 0
	}
	return syscall.CLONE_NEWPID | syscall.CLONE_NEWNS
}

// Mechanism is one protection and whether it is in force.
type Mechanism struct {
	Name   string `json:"name"`
	On     bool   `json:"on"`
	Detail string `json:"detail"` // what it does, or why it is off
}

// Status says which protections are in force.
type Status struct {
	Mode       Mode        `json:"mode"`
	Mechanisms []Mechanism `json:"mechanisms"`
}

// inForce is the Status of the last Setup of this process.
var inForce atomic.Pointer[Status]

// InForce returns the protections in force in this process: the Status of
// its Setup (hadron serve's), and false if Setup has not run. It is what a
// server reports about itself (hadron status).
func InForce() (Status, bool) {
	st := inForce.Load()
	if st == nil {
		return Status{}, false
	}
	return *st, true
}

// Probe returns the protections Setup would put in force on this machine
// with cfg, without changing anything (the calling process stays dumpable)
// and without refusing what strict mode would refuse: for a command that
// reports on the machine rather than runs provisioning.
func Probe(cfg Config) Status {
	_, st, _ := resolve(cfg, false)
	return st
}

// Names of the mechanisms in a Status.
const (
	MechLandlock    = "landlock"
	MechNoNewPrivs  = "no_new_privs"
	MechRlimits     = "rlimits"
	MechRunAs       = "run_as"
	MechNamespaces  = "pid_mount_namespaces"
	MechUndumpable  = "server_undumpable"
	MechPrivateTmp  = "private_tmp"
	MechPrivateProc = "private_proc"
)

// Missing lists the mechanisms that are not in force.
func (s Status) Missing() []Mechanism {
	return slices.DeleteFunc(slices.Clone(s.Mechanisms), func(m Mechanism) bool { return m.On })
}

// Get returns the named mechanism.
func (s Status) Get(name string) (Mechanism, bool) {
	i := slices.IndexFunc(s.Mechanisms, func(m Mechanism) bool { return m.Name == name })
	if i < 0 {
		return Mechanism{}, false
	}
	return s.Mechanisms[i], true
}

// String is the Status as lines for a start-up banner.
func (s Status) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "isolation %s:", s.Mode)
	for _, m := range s.Mechanisms {
		state := "on "
		if !m.On {
			state = "OFF"
		}
		fmt.Fprintf(&b, "\n  %s %-22s %s", state, m.Name, m.Detail)
	}
	return b.String()
}

// Setup resolves cfg for this machine and, unless isolation is off, makes
// the calling process (the server) non-dumpable, so that processes of its
// own user can neither ptrace it nor read /proc/<pid>/environ or mem. In
// strict mode it returns an error naming every missing mechanism. The
// Policy is nil when isolation is off.
func Setup(cfg Config) (*Policy, Status, error) {
	p, st, err := resolve(cfg, true)
	inForce.Store(&st)
	return p, st, err
}

// resolve is Setup; apply false changes nothing in the calling process.
func resolve(cfg Config, apply bool) (*Policy, Status, error) {
	mode := cmp.Or(cfg.Mode, BestEffort)
	st := Status{Mode: mode}
	if mode == Off {
		st.Mechanisms = []Mechanism{{Name: "all", Detail: "isolation is off (--isolation=off): commands run as the server's user with its reach"}}
		return nil, st, nil
	}
	p := &Policy{Mode: mode, UID: -1, GID: -1, Limits: withDefaults(cfg.Limits)}

	if !apply {
		st.add(MechUndumpable, true, "the server's /proc/<pid>/environ and memory are closed to other processes of its user")
	} else if err := setUndumpable(); err != nil {
		st.add(MechUndumpable, false, "prctl(PR_SET_DUMPABLE, 0): "+err.Error())
	} else {
		st.add(MechUndumpable, true, "the server's /proc/<pid>/environ and memory are closed to other processes of its user")
	}

	abi, err := landlockABI()
	switch {
	case err != nil || abi < 1:
		st.add(MechLandlock, false, fmt.Sprintf("the kernel has no Landlock (%v): file system access is not restricted", err))
	default:
		p.Landlock = true
		st.add(MechLandlock, true, landlockDetail(abi))
	}
	st.add(MechNoNewPrivs, true, "set-uid binaries cannot raise a run's privileges")
	st.add(MechRlimits, true, p.Limits.String())

	ro, err := readOnlyDirs(cfg)
	if err != nil {
		return nil, st, err
	}
	p.ReadOnly = ro
	p.ReadOnlyFiles = linkedFiles(ro, cfg.Protect)

	if cfg.RunAs != "" && os.Geteuid() != 0 {
		return nil, st, fmt.Errorf("isolation: --run-as %s: the server is not root (uid %d), so runs cannot change user", cfg.RunAs, os.Geteuid())
	}
	if os.Geteuid() == 0 {
		name, u, err := runAsUser(cfg.RunAs)
		switch {
		case err != nil:
			return nil, st, err
		case name == "":
			p.DropCapabilities = true
			st.add(MechRunAs, false, "user "+DefaultRunAs+" does not exist and --run-as is not set: runs keep the server's user (root) without its capabilities, under the other protections; a user of their own is stronger (create it: useradd --system "+DefaultRunAs+", or pass --run-as)")
		default:
			p.UID, p.GID = u.uid, u.gid
			st.add(MechRunAs, true, fmt.Sprintf("runs take user %s (uid %d)", name, u.uid))
		}
	} else {
		st.add(MechRunAs, false, fmt.Sprintf("the server is not root (uid %d): runs keep its user, so Landlock alone keeps them from its files", os.Geteuid()))
	}

	if err := probeNamespaces(); err != nil {
		st.add(MechNamespaces, false, "cannot create PID and mount namespaces ("+err.Error()+"): a daemonized process may outlive its run")
		st.add(MechPrivateProc, false, "no PID namespace: /proc is closed to runs instead")
		st.add(MechPrivateTmp, false, "no mount namespace: /tmp is closed to runs; TMPDIR points to a directory in the work directory")
	} else {
		p.Namespaces = true
		st.add(MechNamespaces, true, "each run is PID 1's tree in its own PID namespace: nothing it starts outlives it")
		st.add(MechPrivateProc, true, "/proc shows only the run's own processes")
		tmp := "/tmp and TMPDIR are a directory in the run's work directory"
		for _, p := range cfg.Protect {
			if abs, err := filepath.Abs(p); err == nil && within(abs, "/tmp") {
				tmp = "TMPDIR is a directory in the run's work directory; the host's /tmp is closed (the data directory is under /tmp, so /tmp cannot be replaced)"
			}
		}
		st.add(MechPrivateTmp, true, tmp)
	}

	if mode == Strict {
		if missing := st.Missing(); len(missing) > 0 {
			names := make([]string, len(missing))
			for i, m := range missing {
				names[i] = m.Name + " (" + m.Detail + ")"
			}
			return nil, st, fmt.Errorf("isolation strict: missing %s", strings.Join(names, "; "))
		}
	}
	return p, st, nil
}

func (s *Status) add(name string, on bool, detail string) {
	s.Mechanisms = append(s.Mechanisms, Mechanism{Name: name, On: on, Detail: detail})
}

func withDefaults(l Limits) Limits {
	l.OpenFiles = cmp.Or(l.OpenFiles, DefaultOpenFiles)
	l.Processes = cmp.Or(l.Processes, DefaultProcesses)
	l.FileSizeBytes = cmp.Or(l.FileSizeBytes, DefaultFileSizeBytes)
	return l
}

// String lists the limits for the Status.
func (l Limits) String() string {
	s := fmt.Sprintf("open files %d, processes %d (per user), file size %d bytes", l.OpenFiles, l.Processes, l.FileSizeBytes)
	if l.MemoryBytes > 0 {
		s += fmt.Sprintf(", address space %d bytes", l.MemoryBytes)
	}
	if l.CPUSeconds > 0 {
		s += fmt.Sprintf(", CPU %ds", l.CPUSeconds)
	}
	return s
}

func landlockDetail(abi int) string {
	s := fmt.Sprintf("ABI %d: file system limited to the work directory and read-only system directories", abi)
	if abi >= 2 {
		s += "; links and renames out of the work directory refused"
	}
	if abi >= 3 {
		s += "; truncate"
	}
	if abi >= 5 {
		s += "; device ioctls"
	}
	if abi >= 6 {
		s += "; signals and abstract unix sockets scoped to the run"
	} else {
		s += "; signals NOT scoped (needs ABI 6)"
	}
	return s + "; network not restricted (by policy)"
}

// runAsUser picks the run's user: name, an error if it does not exist or is
// root; else DefaultRunAs if it exists; else "" (keep the server's user).
func runAsUser(name string) (string, account, error) {
	if name != "" {
		u, err := lookupUser(passwdFile, name)
		if err != nil {
			return "", account{}, fmt.Errorf("isolation: --run-as %s: %w", name, err)
		}
		if u.uid == 0 {
			return "", account{}, fmt.Errorf("isolation: --run-as %s is root; runs need an unprivileged user", name)
		}
		return name, u, nil
	}
	if u, err := lookupUser(passwdFile, DefaultRunAs); err == nil {
		return DefaultRunAs, u, nil
	}
	return "", account{}, nil
}

// passwdFile is where the run's user is looked up.
const passwdFile = "/etc/passwd"

// account is a user's ids.
type account struct{ uid, gid int }

// lookupUser finds name in the passwd file at path. It reads the file as
// os/user does in a build without cgo, and not through the C library's
// name services: cgo would make the supervisor, which links this package,
// a dynamically linked program that starts slower on every run. The run's
// user is a local system account (useradd --system); one that only a
// directory service knows is not found.
func lookupUser(path, name string) (account, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return account{}, fmt.Errorf("look up user %s: %w", name, err)
	}
	for line := range strings.Lines(string(data)) {
		// name:password:uid:gid:gecos:home:shell
		f := strings.Split(strings.TrimRight(line, "\n"), ":")
		if len(f) < 4 || f[0] != name {
			continue
		}
		uid, err1 := strconv.Atoi(f[2])
		gid, err2 := strconv.Atoi(f[3])
		if err := errors.Join(err1, err2); err != nil {
			return account{}, fmt.Errorf("look up user %s: %s: %w", name, path, err)
		}
		return account{uid: uid, gid: gid}, nil
	}
	return account{}, fmt.Errorf("user %s: not in %s", name, path)
}

// readOnlyDirs are the system directories, cfg.ReadOnly and PATH's
// directories, minus those that hold a protected path.
func readOnlyDirs(cfg Config) ([]string, error) {
	protected := make([]string, 0, len(cfg.Protect))
	for _, p := range cfg.Protect {
		if abs, err := filepath.Abs(p); err == nil {
			if r, err := filepath.EvalSymlinks(abs); err == nil {
				abs = r
			}
			protected = append(protected, abs)
		}
	}
	holds := func(dir string) string {
		for _, p := range protected {
			if p == dir || strings.HasPrefix(p, dir+"/") || dir == "/" {
				return p
			}
		}
		return ""
	}
	var dirs []string
	for _, d := range append(slices.Clone(systemDirs), cfg.ReadOnly...) {
		if p := holds(resolved(d)); p != "" {
			return nil, fmt.Errorf("isolation: %s would be readable by runs, but it holds %s; move the data directory", d, p)
		}
		dirs = append(dirs, d)
	}
	for _, d := range pathDirs(cmp.Or(cfg.Path, os.Getenv("PATH"))) {
		if !filepath.IsAbs(d) || holds(resolved(d)) != "" || slices.Contains(dirs, d) {
			continue // a relative entry, or one that would open the data directory
		}
		dirs = append(dirs, d)
	}
	return dirs, nil
}

// pathDirs returns the directories of PATH and, for a "shims" directory,
// its parent: the shims of version managers (pyenv, rbenv, nodenv, asdf)
// are scripts that run the real tool from under the manager's root (the
// AWS CLI installed with pyenv runs from ~/.pyenv/versions/...).
func pathDirs(path string) []string {
	var dirs []string
	for _, d := range filepath.SplitList(path) {
		dirs = append(dirs, d)
		if filepath.Base(d) == "shims" {
			dirs = append(dirs, filepath.Dir(d))
		}
	}
	return dirs
}

// etcLinks are files in /etc that runs need and that are often symbolic
// links out of /etc.
var etcLinks = []string{"/etc/resolv.conf", "/etc/hosts", "/etc/nsswitch.conf", "/etc/passwd", "/etc/group", "/etc/localtime"}

// linkedFiles are the targets of etcLinks outside the read-only
// directories, other than protected paths.
func linkedFiles(ro, protect []string) []string {
	var files []string
	for _, f := range etcLinks {
		target, err := filepath.EvalSymlinks(f)
		if err != nil || target == f {
			continue
		}
		covered := slices.ContainsFunc(ro, func(d string) bool { return within(target, resolved(d)) }) ||
			slices.ContainsFunc(protect, func(p string) bool { return within(target, resolved(p)) })
		if !covered {
			files = append(files, target)
		}
	}
	return files
}

func resolved(d string) string {
	if r, err := filepath.EvalSymlinks(d); err == nil {
		return r
	}
	return filepath.Clean(d)
}

// probeNamespaces starts /bin/true in new PID and mount namespaces.
func probeNamespaces() error {
	cmd := exec.Command("/bin/true")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWPID | syscall.CLONE_NEWNS}
	return cmd.Run()
}

func setUndumpable() error {
	return prctl(syscall.PR_SET_DUMPABLE, 0)
}

func prctl(option, arg uintptr) error {
	if _, _, errno := syscall.RawSyscall6(syscall.SYS_PRCTL, option, arg, 0, 0, 0, 0); errno != 0 {
		return errno
	}
	return nil
}

// ParseLimits reads `nofile=N,nproc=N,fsize=BYTES,as=BYTES,cpu=SECONDS`;
// sizes take a K, M or G suffix (powers of 1024). Missing keys stay zero
// (the defaults).
func ParseLimits(s string) (Limits, error) {
	var l Limits
	for kv := range strings.SplitSeq(s, ",") {
		if kv = strings.TrimSpace(kv); kv == "" {
			continue
		}
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return Limits{}, fmt.Errorf("%q: want key=value", kv)
		}
		n, err := parseSize(v)
		if err != nil {
			return Limits{}, fmt.Errorf("%s: %w", k, err)
		}
		switch k {
		case "nofile":
			l.OpenFiles = n
		case "nproc":
			l.Processes = n
		case "fsize":
			l.FileSizeBytes = n
		case "as":
			l.MemoryBytes = n
		case "cpu":
			l.CPUSeconds = n
		default:
			return Limits{}, fmt.Errorf("%q: the limits are nofile, nproc, fsize, as and cpu", k)
		}
	}
	return l, nil
}

func parseSize(v string) (uint64, error) {
	shift := 0
	switch {
	case strings.HasSuffix(v, "K"):
		shift = 10
	case strings.HasSuffix(v, "M"):
		shift = 20
	case strings.HasSuffix(v, "G"):
		shift = 30
	}
	if shift > 0 {
		v = v[:len(v)-1]
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil || n == 0 || n > (1<<63)>>shift {
		return 0, fmt.Errorf("%q is not a positive number", v)
	}
	return n << shift, nil
}
