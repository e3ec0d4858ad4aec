package codebuild

import (
	"context"
	"debug/elf"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestOpenSupervisorRefusesAProgramOfAnotherProtocol(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for name, script := range map[string]string{
		"another protocol": "#!/bin/sh\necho 0\n",
		"not a supervisor": "#!/bin/sh\necho usage >&2; exit 2\n",
	} {
		path := filepath.Join(dir, strings.ReplaceAll(name, " ", "-"))
		if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
		if s, err := OpenSupervisor(path); err == nil {
			t.Errorf("%s: OpenSupervisor accepted %s", name, s.Path())
		} else if !strings.Contains(err.Error(), path) {
			t.Errorf("%s: the error does not name the program: %v", name, err)
		}
	}
}

// An upgrade in place replaces hadron-supervisor while the server runs; the
// new one may speak another protocol, so the server's runs fall back to
// re-executing the server's own image, which cannot have changed.
func TestReplacedSupervisorIsNotUsed(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sup, err := buildSupervisor(dir)
	if err != nil {
		t.Fatal(err)
	}
	job, log := setup(t, `cat /proc/$PPID/cmdline | tr '\0' ' ' > supervisor.txt`)
	job.Supervisor = sup
	if _, err := Run(context.Background(), job); err != nil {
		t.Fatalf("%v; log:\n%s", err, log)
	}
	if got := readFile(t, filepath.Join(job.Dir, "supervisor.txt")); !strings.HasPrefix(got, sup.Path()+" ") {
		t.Fatalf("the shell's parent is %q, want the standalone supervisor %s", got, sup.Path())
	}

	// Replaced by rename, as installers do.
	next := filepath.Join(dir, "next")
	if err := os.WriteFile(next, []byte("#!/bin/sh\nexit 99\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(next, sup.Path()); err != nil {
		t.Fatal(err)
	}
	job, log = setup(t, `cat /proc/$PPID/cmdline | tr '\0' ' ' > supervisor.txt`)
	job.Supervisor = sup
	if _, err := Run(context.Background(), job); err != nil {
		t.Fatalf("after the replacement: %v; log:\n%s", err, log)
	}
	if got := readFile(t, filepath.Join(job.Dir, "supervisor.txt")); strings.HasPrefix(got, sup.Path()+" ") {
		t.Fatalf("after the replacement the shell's parent is still %q", got)
	}
}

// hadron-supervisor starts for every provisioning command. A package that
// brings in cgo (os/user, go-landlock's psx) makes it a dynamically linked
// program, whose loader and cgo start-up cost about 3 ms of each run's
// start: it must stay static, built as `go install` builds it.
func TestSupervisorIsAStaticProgram(t *testing.T) {
	t.Parallel()
	f, err := elf.Open(testSupervisor.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Fatalf("%s is dynamically linked (it has a program interpreter): a package it links uses cgo", testSupervisor.Path())
		}
	}
}
