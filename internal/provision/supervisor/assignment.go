package supervisor

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/hadronhq/hadron/internal/provision/sandbox"
)

// The assignment: what a supervisor runs, given after it has started.
//
// A supervisor starts knowing nothing of its run: no working directory,
// environment or script. The first message on its lifeline is the run
// (WriteAssignment), and it starts the shell as soon as it has read it.
// So a server can start supervisors before it has runs for them and keep
// them waiting (codebuild's pool.go): a run then waits only for the shell
// to start, not for a whole Go program to start before it. A supervisor
// that reads end of file before its assignment exits at once, status 0:
// the server is gone or no longer needs it, and nothing ran.

// LineRun, followed by the length in bytes of the JSON Assignment that
// follows the line, gives a supervisor its run.
const LineRun = "run "

// maxAssignment bounds the assignment a supervisor reads (a script of any
// reasonable size, and its environment).
const maxAssignment = 64 << 20

// Assignment is one run of a supervisor.
type Assignment struct {
	// Dir is the run's working directory.
	Dir string `json:"dir"`
	// Shell is the path of the shell that runs Script.
	Shell string `json:"shell"`
	// Env is the shell's whole environment.
	Env []string `json:"env"`
	// Script is the phase script, which the shell reads as
	// /proc/self/fd/ShellScriptFD.
	Script string `json:"script"`
	// Policy confines the run; nil: not isolated. The supervisor must have
	// been started in the namespaces it asks for (Policy.Cloneflags).
	Policy *sandbox.Policy `json:"policy,omitempty"`
	// Fence is the run's first fence (lifeline.go), a CLOCK_MONOTONIC time
	// in nanoseconds; 0: none.
	Fence int64 `json:"fence,omitempty"`
}

// WriteAssignment gives the supervisor whose lifeline is w its run.
func WriteAssignment(w io.Writer, a *Assignment) error {
	body, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("supervisor assignment: %w", err)
	}
	msg := make([]byte, 0, len(LineRun)+24+len(body))
	msg = append(msg, LineRun...)
	msg = strconv.AppendInt(msg, int64(len(body)), 10)
	msg = append(msg, '\n')
	if _, err := w.Write(append(msg, body...)); err != nil {
		return fmt.Errorf("supervisor assignment: %w", err)
	}
	return nil
}

// readAssignment reads the run from the lifeline. It reads the header one
// byte at a time and then exactly the body, so that the fence lines that
// follow stay in the pipe for watchLifeline. io.EOF: the server closed the
// lifeline before giving a run.
func readAssignment(f io.Reader) (*Assignment, error) {
	var line []byte
	var b [1]byte
	for {
		if _, err := io.ReadFull(f, b[:]); err != nil {
			return nil, err // io.EOF also in the middle: the server is gone
		}
		if b[0] == '\n' {
			break
		}
		if line = append(line, b[0]); len(line) > 32 {
			return nil, fmt.Errorf("assignment: header %q is not %q and a length", line, LineRun)
		}
	}
	rest, ok := strings.CutPrefix(string(line), LineRun)
	n, err := strconv.Atoi(rest)
	if !ok || err != nil || n < 0 || n > maxAssignment {
		return nil, fmt.Errorf("assignment: header %q is not %q and a length up to %d", line, LineRun, maxAssignment)
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(f, body); err != nil {
		return nil, fmt.Errorf("assignment: %d-byte body: %w", n, err)
	}
	var a Assignment
	if err := json.Unmarshal(body, &a); err != nil {
		return nil, fmt.Errorf("assignment: %w", err)
	}
	if a.Dir == "" || a.Shell == "" {
		return nil, errors.New("assignment: no working directory or shell")
	}
	return &a, nil
}

// warmUp does, while the supervisor waits for its run, what it would
// otherwise do for the first time after the run arrived, each about a
// millisecond of a dispatch on a small virtual machine: it decodes a
// sample assignment (the decoder builds its per-type state), and has the
// os package probe pidfd support, which it does at a process's first
// start of a child, with a fork of its own (os.checkPidfd).
func warmUp() {
	sample, _ := json.Marshal(&Assignment{Env: []string{""}, Policy: &sandbox.Policy{ReadOnly: []string{""}}})
	json.Unmarshal(sample, new(Assignment))
	if p, err := os.FindProcess(os.Getpid()); err == nil {
		p.Release()
	}
}

// sealedScript returns a sealed in-memory file (memfd) holding script, for
// the shell's ShellScriptFD. Nothing on disk: an isolated run reaches no
// directory but its own, and the working directory is the user's. The seals
// keep anyone holding a descriptor from changing it.
func sealedScript(script string) (*os.File, error) {
	fd, err := unix.MemfdCreate("hadron-phase-script", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, fmt.Errorf("phase script: memfd_create: %w", err)
	}
	f := os.NewFile(uintptr(fd), "phase-script")
	if _, err := f.WriteString(script); err != nil {
		f.Close()
		return nil, fmt.Errorf("phase script: write: %w", err)
	}
	seals := unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE
	if _, err := unix.FcntlInt(f.Fd(), unix.F_ADD_SEALS, seals); err != nil {
		f.Close()
		return nil, fmt.Errorf("phase script: seal: %w", err)
	}
	return f, nil
}
