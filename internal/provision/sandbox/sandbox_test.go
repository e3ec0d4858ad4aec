package sandbox

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseMode(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"strict", "best-effort", "off"} {
		if m, err := ParseMode(s); err != nil || string(m) != s {
			t.Errorf("ParseMode(%q) = %q, %v", s, m, err)
		}
	}
	for _, s := range []string{"", "on", "STRICT", "besteffort"} {
		if _, err := ParseMode(s); err == nil {
			t.Errorf("ParseMode(%q) accepted it", s)
		}
	}
}

func TestParseLimits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    Limits
		wantErr string
	}{
		{"", Limits{}, ""},
		{"nofile=1024, nproc=64,fsize=1G,as=512M,cpu=600", Limits{OpenFiles: 1024, Processes: 64, FileSizeBytes: 1 << 30, MemoryBytes: 512 << 20, CPUSeconds: 600}, ""},
		{"fsize=4K", Limits{FileSizeBytes: 4096}, ""},
		{"nofile", Limits{}, "want key=value"},
		{"nofile=0", Limits{}, "not a positive number"},
		{"nofile=-1", Limits{}, "not a positive number"},
		{"fsize=99999999999999999999G", Limits{}, "not a positive number"},
		{"stack=1", Limits{}, "the limits are"},
	}
	for _, tt := range tests {
		got, err := ParseLimits(tt.in)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseLimits(%q) = %v, %v; want error %q", tt.in, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseLimits(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
}

func TestPolicyTravelsThroughItsEncoding(t *testing.T) {
	t.Parallel()
	p := &Policy{Mode: Strict, UID: 65534, GID: 65534, ReadOnly: []string{"/usr", "/opt/tools"},
		Limits: Limits{OpenFiles: 10, CPUSeconds: 5}, Namespaces: true, Landlock: true}
	got, err := Decode(p.Encode())
	if err != nil || !reflect.DeepEqual(got, p) {
		t.Fatalf("Decode(Encode) = %+v, %v; want %+v", got, err, p)
	}
	if _, err := Decode("{not json"); err == nil {
		t.Error("Decode accepted a broken policy")
	}
}

// TestReadOnlyDirsNeverHoldTheDataDirectory: a read-only directory that
// would open a protected path to runs is refused (system and configured
// directories) or dropped (PATH entries).
func TestReadOnlyDirsNeverHoldTheDataDirectory(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	data := filepath.Join(base, "srv", "hadron-data")
	tools := filepath.Join(base, "tools")
	for _, d := range []string{data, tools} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	dirs, err := readOnlyDirs(Config{Protect: []string{data}, Path: "bin:" + tools + ":" + filepath.Join(base, "srv") + ":" + data + ":/usr/bin"})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"/usr", "/etc", tools} {
		if !contains(dirs, want) {
			t.Errorf("read-only dirs %v lack %s", dirs, want)
		}
	}
	for _, not := range []string{"bin", filepath.Join(base, "srv"), data} {
		if contains(dirs, not) {
			t.Errorf("read-only dirs %v hold %s, which is relative or holds the data directory", dirs, not)
		}
	}
	if _, err := readOnlyDirs(Config{Protect: []string{data}, ReadOnly: []string{base}}); err == nil || !strings.Contains(err.Error(), "holds") {
		t.Errorf("a configured read-only directory holding the data directory: err = %v, want a refusal", err)
	}
	if _, err := readOnlyDirs(Config{Protect: []string{"/opt/hadron/data"}}); err == nil {
		t.Error("a data directory under /opt (read-only for runs) was accepted")
	}
}

// TestReadOnlyDirsOpenAVersionManagersRootForItsShims: a tool installed
// with pyenv (the AWS CLI here) runs from the manager's root, not from the
// shims directory on PATH; the root opens unless it holds the data directory.
func TestReadOnlyDirsOpenAVersionManagersRootForItsShims(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	pyenv := filepath.Join(base, ".pyenv")
	home := filepath.Join(base, "home")
	data := filepath.Join(home, "hadron-data")
	dirs, err := readOnlyDirs(Config{Protect: []string{data}, Path: filepath.Join(pyenv, "shims") + ":" + filepath.Join(home, "shims")})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{filepath.Join(pyenv, "shims"), pyenv, filepath.Join(home, "shims")} {
		if !contains(dirs, want) {
			t.Errorf("read-only dirs %v lack %s", dirs, want)
		}
	}
	if contains(dirs, home) {
		t.Errorf("read-only dirs %v hold %s, the parent of a shims directory that holds the data directory", dirs, home)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestSetupOffHasNoPolicy(t *testing.T) {
	t.Parallel()
	p, st, err := Setup(Config{Mode: Off})
	if p != nil || err != nil || len(st.Missing()) != 1 {
		t.Errorf("Setup(off) = %+v, %+v, %v; want no policy and one line saying isolation is off", p, st, err)
	}
}

// TestSetupReportsEveryMechanism: best effort lists each protection, on or
// off with a reason; strict fails exactly when one is off.
func TestSetupReportsEveryMechanism(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	p, st, err := Setup(Config{Mode: BestEffort, Protect: []string{data}})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s", st)
	for _, name := range []string{MechUndumpable, MechLandlock, MechNoNewPrivs, MechRlimits, MechRunAs, MechNamespaces, MechPrivateProc, MechPrivateTmp} {
		m, ok := st.Get(name)
		if !ok || m.Detail == "" {
			t.Errorf("status lacks %s: %+v", name, st)
		}
	}
	if m, _ := st.Get(MechNamespaces); m.On != p.Namespaces {
		t.Errorf("status says namespaces %v, policy %v", m.On, p.Namespaces)
	}
	if m, _ := st.Get(MechRunAs); m.On != (p.UID >= 0) || m.On && os.Geteuid() != 0 {
		t.Errorf("status says run-as %v, policy uid %d, euid %d", m.On, p.UID, os.Geteuid())
	}
	// Root without a user for runs: they keep uid 0 without capabilities.
	if want := os.Geteuid() == 0 && p.UID < 0; p.DropCapabilities != want {
		t.Errorf("policy drops capabilities: %v, want %v (uid %d, euid %d)", p.DropCapabilities, want, p.UID, os.Geteuid())
	}
	if p.Limits.OpenFiles != DefaultOpenFiles || p.Limits.MemoryBytes != 0 {
		t.Errorf("limits %+v, want the defaults", p.Limits)
	}
	_, _, err = Setup(Config{Mode: Strict, Protect: []string{data}})
	if missing := st.Missing(); (len(missing) == 0) != (err == nil) {
		t.Errorf("strict: err %v with missing %v", err, missing)
	}
	if _, _, err := Setup(Config{Mode: BestEffort, RunAs: "no-such-user-hadron"}); err == nil {
		t.Error("an unknown --run-as user was accepted")
	}
}

// TestLinkedFilesFollowEtcLinksOutOfTheReadOnlyDirs: /etc/resolv.conf
// linking into /run (systemd-resolved) stays readable; a link into a
// read-only directory or into a protected one adds nothing.
func TestLinkedFilesFollowEtcLinksOutOfTheReadOnlyDirs(t *testing.T) {
	base := t.TempDir()
	run, data, usr := filepath.Join(base, "run"), filepath.Join(base, "data"), filepath.Join(base, "usr")
	for _, d := range []string{run, data, usr} {
		os.MkdirAll(d, 0o755)
		os.WriteFile(filepath.Join(d, "f"), []byte("x"), 0o644)
	}
	etc := filepath.Join(base, "etc")
	os.MkdirAll(etc, 0o755)
	links := map[string]string{"resolv.conf": filepath.Join(run, "f"), "hosts": filepath.Join(data, "f"), "localtime": filepath.Join(usr, "f")}
	saved := etcLinks
	t.Cleanup(func() { etcLinks = saved })
	etcLinks = nil
	for name, target := range links {
		os.Symlink(target, filepath.Join(etc, name))
		etcLinks = append(etcLinks, filepath.Join(etc, name))
	}
	got := linkedFiles([]string{usr}, []string{data})
	if want := []string{filepath.Join(run, "f")}; !reflect.DeepEqual(got, want) {
		t.Errorf("linkedFiles = %v, want %v", got, want)
	}
}

// TestProbeReportsWhatSetupPutsInForce: Probe, for hadron status, reports
// the mechanisms Setup puts in force on this machine, and InForce returns
// Setup's own Status.
func TestProbeReportsWhatSetupPutsInForce(t *testing.T) {
	cfg := Config{Mode: BestEffort, Protect: []string{t.TempDir()}}
	probed := Probe(cfg)
	_, st, err := Setup(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(probed.Mechanisms) != len(st.Mechanisms) {
		t.Fatalf("Probe reports %d mechanisms, Setup %d", len(probed.Mechanisms), len(st.Mechanisms))
	}
	for i, m := range st.Mechanisms {
		if p := probed.Mechanisms[i]; p.Name != m.Name || p.On != m.On {
			t.Errorf("Probe says %s on=%v, Setup %s on=%v", p.Name, p.On, m.Name, m.On)
		}
	}
	got, ok := InForce()
	if !ok || got.Mode != st.Mode || len(got.Mechanisms) != len(st.Mechanisms) {
		t.Errorf("InForce() = %+v, %v; want Setup's status", got, ok)
	}
}

func TestLookupUserReadsThePasswdFile(t *testing.T) {
	t.Parallel()
	passwd := filepath.Join(t.TempDir(), "passwd")
	if err := os.WriteFile(passwd, []byte("root:x:0:0:root:/root:/bin/bash\n"+
		"hadron-run:x:998:997::/nonexistent:/usr/sbin/nologin\n"+
		"broken:x:abc:1::/:/bin/sh\n"+
		"short:x\n"+
		"last:x:1001:1001::/home/last:/bin/sh"), 0o644); err != nil { // no newline at the end
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		want    account
		wantErr string
	}{
		{"hadron-run", account{uid: 998, gid: 997}, ""},
		{"root", account{uid: 0, gid: 0}, ""},
		{"last", account{uid: 1001, gid: 1001}, ""},
		{"hadron", account{}, "not in " + passwd},
		{"short", account{}, "not in " + passwd},
		{"broken", account{}, "invalid syntax"},
	}
	for _, tt := range tests {
		got, err := lookupUser(passwd, tt.name)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("lookupUser(%q) = %v, %v; want an error with %q", tt.name, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("lookupUser(%q) = %v, %v; want %v", tt.name, got, err, tt.want)
		}
	}
}

// The rights a Landlock domain handles grow with the kernel's ABI; a right
// an ABI does not know must not be asked for (the kernel refuses the
// ruleset), and every right it knows must be (or it stays allowed).
func TestLandlockHandlesEveryRightOfTheKernelsABI(t *testing.T) {
	t.Parallel()
	const refer, truncate, ioctlDev, resolveUnix = 1 << 13, 1 << 14, 1 << 15, 1 << 16
	tests := []struct {
		abi          int
		has, hasNot  uint64
		scopesSignal bool
	}{
		{1, llRead | llWrite&^truncate, refer | truncate, false},
		{2, refer, truncate, false},
		{3, truncate, ioctlDev, false},
		{5, ioctlDev, resolveUnix, false},
		{6, ioctlDev, resolveUnix, true},
		{7, ioctlDev, resolveUnix, true},
		{9, resolveUnix, 0, true},
	}
	for _, tt := range tests {
		h := llHandledFS(tt.abi)
		if h&tt.has != tt.has || h&tt.hasNot != 0 {
			t.Errorf("ABI %d handles %#x; want %#x and not %#x", tt.abi, h, tt.has, tt.hasNot)
		}
		if got := llScoped(tt.abi) != 0; got != tt.scopesSignal {
			t.Errorf("ABI %d scopes: %v, want %v", tt.abi, got, tt.scopesSignal)
		}
	}
	if abi, err := landlockABI(); err == nil {
		t.Logf("this kernel: Landlock ABI %d", abi)
	}
}
