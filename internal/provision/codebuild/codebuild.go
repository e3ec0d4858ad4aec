// Package codebuild runs the commands of a Proton CodeBuild-provisioning
// manifest as local processes.
//
// Proton ran a manifest's provision (or deprovision) commands in order in a
// build container, with proton-inputs.json in the working directory. Run
// does the same on the local machine: one `/bin/sh -c` per command, in
// order, stopping at the first failure, each in a process group of its own
// so that a cancel reaches every process the command started.
//
// Every binary that calls Run must call MaybeSupervise first thing in main
// (and in TestMain): each command runs under a small supervisor, a re-exec
// of the binary itself, that kills the command's whole process group if the
// server dies. supervisor.go explains why.
package codebuild

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hadronhq/hadron/internal/provision/sandbox"
)

const (
	// InputsFile is the file, in the working directory, that holds the
	// deployment's inputs as Proton renders them.
	InputsFile = "proton-inputs.json"
	// OutputsFile is the file a command may write, in the working
	// directory, to report the deployment's outputs.
	OutputsFile = "proton-outputs.json"
	// DefaultGrace is how long a cancelled command has between SIGTERM and
	// SIGKILL when Job.Grace is zero.
	DefaultGrace = 10 * time.Second

	// stopTimeout is how long the processes of a command may take to
	// disappear after SIGKILL before Run reports a StopError.
	stopTimeout = 3 * time.Second
	// drainTimeout is how long Run waits, once a command's process group is
	// gone, for the end of its output; only a process that escaped the group
	// can hold the output open that long.
	drainTimeout = 2 * time.Second
	// defaultPath is the PATH of the commands when the server has none.
	defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
)

// inheritedEnv lists the only variables of the server's environment that
// the commands see; anything else could carry the server's secrets.
var inheritedEnv = []string{"PATH", "HOME", "LANG", "TMPDIR"}

// Job is one run of a manifest's commands.
type Job struct {
	// Dir is the working directory. Run creates it if it is missing; if it
	// exists it must be empty. Run leaves it in place for the caller.
	Dir string
	// Files are written into Dir before the first command, keyed by
	// slash-separated relative path; an absolute path or one with a ".."
	// element is refused. A file that starts with "#!" is made executable,
	// since a bundle's file modes do not travel in this map.
	Files map[string][]byte
	// Inputs is written as Dir/proton-inputs.json ("{}" when nil).
	Inputs []byte
	// Commands are run in order, each by `/bin/sh -c` (the default shell of
	// CodeBuild); the first failure stops the run.
	Commands []string
	// Env is added, as "KEY=value" entries, to the few variables inherited
	// from the server (PATH, HOME, LANG, TMPDIR); it wins over them.
	Env []string
	// Log receives the combined stdout and stderr of every command as it is
	// produced, with a line "[hadron] $ <command>" before each command and
	// "[hadron] ..." lines for how it ended and for a cancel. It is written
	// from one goroutine at a time and all writes are done when Run
	// returns. A slow Log slows a chatty command (its output pipe fills) but
	// never delays a cancel. Nil discards the output.
	Log io.Writer
	// Grace is the time between SIGTERM and SIGKILL on cancel; zero or
	// negative means DefaultGrace.
	Grace time.Duration
	// OnStart, if set, is called with the pid of each command's shell as
	// soon as it has started, on Run's goroutine; it must return quickly,
	// since a cancel waits for it.
	OnStart func(pid int)
	// Isolation confines the commands (isolation.go); nil means the
	// server's default, set by SetIsolation.
	Isolation *sandbox.Policy
}

// Result is what a successful run produced.
type Result struct {
	// Outputs are read from Dir/proton-outputs.json; nil if the commands
	// did not write it.
	Outputs map[string]string
}

// Run runs job's commands in order and returns their outputs.
//
// A command that fails ends the run with a *CommandError. Cancellation
// comes only through ctx: when ctx is done, the running command's process
// group gets SIGTERM, then SIGKILL if the command has not exited after the
// grace period, and Run returns a *CanceledError that wraps
// context.Cause(ctx). Whatever the outcome, no process of a command's
// group outlives it: its leftovers are SIGKILLed when the command ends. If
// some process cannot be stopped, Run returns a *StopError instead.
//
// A cancel that comes after the last command has exited does not count:
// the run has finished, and Run returns its result.
func Run(ctx context.Context, job Job) (Result, error) {
	if !supervisorReady.Load() {
		return Result{}, errors.New("codebuild: MaybeSupervise was not called at program start; Run needs it to start the command supervisor")
	}
	if len(job.Commands) > 0 && ctx.Err() != nil {
		return Result{}, &CanceledError{Cause: context.Cause(ctx), Count: len(job.Commands), Command: job.Commands[0]}
	}
	env, err := commandEnv(job.Env)
	if err != nil {
		return Result{}, err
	}
	if err := prepareDir(job); err != nil {
		return Result{}, err
	}

	r := &run{job: job, env: env, log: newLogger(job.Log), grace: job.Grace}
	defer r.log.close()
	if r.grace <= 0 {
		r.grace = DefaultGrace
	}
	for i := range job.Commands {
		// Between commands a cancel needs no signal: nothing runs.
		if ctx.Err() != nil {
			r.log.notef("cancel requested: not running the remaining commands")
			return Result{}, &CanceledError{Cause: context.Cause(ctx), Index: i, Count: len(job.Commands), Command: job.Commands[i]}
		}
		if err := r.command(ctx, i); err != nil {
			return Result{}, err
		}
	}
	outputs, err := readOutputs(filepath.Join(job.Dir, OutputsFile))
	if err != nil {
		return Result{}, err
	}
	return Result{Outputs: outputs}, nil
}

// run is the state of one Run.
type run struct {
	job   Job
	env   []string
	log   *logger
	grace time.Duration
}

// command runs job.Commands[i] under a supervisor and waits until it and
// every process of its group are gone.
func (r *run) command(ctx context.Context, i int) error {
	text := r.job.Commands[i]
	r.log.notef("$ %s", text)

	outR, outW, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("command %d: output pipe: %w", i+1, err)
	}
	statusR, statusW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return fmt.Errorf("command %d: status pipe: %w", i+1, err)
	}
	sup := &exec.Cmd{
		Path:       selfExe,
		Args:       []string{os.Args[0], supervisorArg, text},
		Dir:        r.job.Dir,
		Env:        append(slices.Clip(r.env), supervisorEnv+"="+strconv.Itoa(os.Getpid())),
		Stdout:     outW,
		Stderr:     outW,
		ExtraFiles: []*os.File{statusW}, // fd 3, statusFD
		SysProcAttr: &syscall.SysProcAttr{
			Setpgid:   true, // the supervisor leads a group of its own: pgid == its pid
			Pdeathsig: parentDeathSignal,
		},
	}
	isolate(sup, r.job.Isolation)
	// No runtime.LockOSThread here although Pdeathsig fires when the
	// forking thread exits, not the process: the supervisor checks getppid
	// on that signal and ignores it while this process lives.
	err = sup.Start()
	outW.Close()
	statusW.Close()
	if err != nil {
		outR.Close()
		statusR.Close()
		return fmt.Errorf("command %d: start supervisor: %w", i+1, err)
	}
	pgid := sup.Process.Pid
	out := startPump(outR, r.log)

	started := make(chan int, 1)
	go func() {
		defer close(started)
		defer statusR.Close()
		var pid int
		if _, err := fmt.Fscan(statusR, &pid); err == nil {
			started <- pid
		}
	}()
	exited := make(chan struct{})
	go func() {
		waitExited(pgid)
		close(exited)
	}()

	var (
		canceled, killed, shellUp, termPending bool
		cancel                                 = ctx.Done()
		graceC, stopC                          <-chan time.Time
		graceEnd                               time.Time
	)
	sendTerm := func() { syscall.Kill(-pgid, syscall.SIGTERM) }
	onStarted := func(pid int, ok bool) {
		started = nil
		if !ok {
			return
		}
		shellUp = true
		if r.job.OnStart != nil {
			r.job.OnStart(pid)
		}
	}
wait:
	for {
		select {
		case <-exited:
			break wait
		case pid, ok := <-started:
			onStarted(pid, ok)
			if shellUp && termPending {
				sendTerm()
			}
		case <-cancel:
			cancel = nil
			select {
			case <-exited: // it finished first: not a cancel
				break wait
			default:
			}
			canceled = true
			r.log.notef("cancel requested: sending SIGTERM to process group")
			// Before the shell is up the supervisor would swallow the
			// SIGTERM; it is sent as soon as the shell is there.
			if shellUp {
				sendTerm()
			} else {
				termPending = true
			}
			graceC, graceEnd = time.After(r.grace), time.Now().Add(r.grace)
		case <-graceC:
			graceC = nil
			r.log.notef("grace period %s over: sending SIGKILL", r.grace)
			syscall.Kill(-pgid, syscall.SIGKILL)
			killed = true
			stopC = time.After(stopTimeout)
		case <-stopC:
			// The supervisor itself survives SIGKILL: stuck in the kernel.
			r.log.notef("processes still running %s after SIGKILL; giving up", stopTimeout)
			go func() { // reap it if it ever dies
				<-exited
				sup.Wait()
			}()
			return &StopError{Index: i, Count: len(r.job.Commands), Command: text, Pgid: pgid, Cause: context.Cause(ctx)}
		}
	}
	if started != nil {
		// The status pipe is closed now that the supervisor is gone.
		pid, ok := <-started
		onStarted(pid, ok)
	}

	// A cancelled command's shell often ends at SIGTERM before the processes
	// it started (dash running a script's own trap): they keep the rest of the
	// grace period to clean up, as promised, before the SIGKILL below. They
	// get no second SIGTERM: it would also hit the processes their cleanup
	// starts.
	if canceled && !killed && !waitGroupGone(pgid, time.Until(graceEnd)) {
		r.log.notef("grace period %s over: sending SIGKILL", r.grace)
		killed = true
	}
	// The supervisor has exited but is not reaped, so pgid still names our
	// group: take the processes the command left behind, then reap.
	syscall.Kill(-pgid, syscall.SIGKILL)
	waitErr := sup.Wait() // the status is in sup.ProcessState
	gone := waitGroupGone(pgid, stopTimeout)
	if out.finish(drainTimeout) {
		r.log.notef("output still held open by a process outside the process group; no longer reading it")
	}
	if sup.ProcessState == nil {
		// Only if someone else reaped it (a SIGCHLD set to SIG_IGN).
		return fmt.Errorf("command %d: wait for supervisor: %w", i+1, waitErr)
	}

	ws := sup.ProcessState.Sys().(syscall.WaitStatus)
	if ws.Signaled() {
		r.log.notef("command was killed by signal %s", signalName(ws.Signal()))
	} else {
		r.log.notef("command exited with status %d", ws.ExitStatus())
	}
	switch {
	case !gone:
		r.log.notef("processes of the command still running %s after SIGKILL", stopTimeout)
		var cause error
		if canceled {
			cause = context.Cause(ctx)
		}
		return &StopError{Index: i, Count: len(r.job.Commands), Command: text, Pgid: pgid, Cause: cause}
	case canceled:
		return &CanceledError{Cause: context.Cause(ctx), Killed: killed, Started: true, Index: i, Count: len(r.job.Commands), Command: text}
	case ws.Signaled():
		return &CommandError{Index: i, Count: len(r.job.Commands), Command: text, ExitCode: -1, Signal: signalName(ws.Signal()), Tail: out.tail.String()}
	case ws.ExitStatus() != 0:
		return &CommandError{Index: i, Count: len(r.job.Commands), Command: text, ExitCode: ws.ExitStatus(), Tail: out.tail.String()}
	}
	return nil
}

// commandEnv is the environment of every command: the inherited few plus
// the job's own.
func commandEnv(extra []string) ([]string, error) {
	env := make([]string, 0, len(inheritedEnv)+len(extra)+1)
	for _, k := range inheritedEnv {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		} else if k == "PATH" {
			env = append(env, "PATH="+defaultPath)
		}
	}
	for _, kv := range extra {
		k, _, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("environment entry %q: want KEY=value", kv)
		}
		if k == supervisorEnv || k == sandbox.EnvVar {
			return nil, fmt.Errorf("environment entry %q: %s is reserved", kv, k)
		}
	}
	return append(env, extra...), nil
}

// prepareDir creates the working directory and writes the job's files and
// inputs into it.
func prepareDir(job Job) error {
	if job.Dir == "" {
		return errors.New("working directory: empty path")
	}
	entries, err := os.ReadDir(job.Dir)
	switch {
	case err == nil && len(entries) > 0:
		return fmt.Errorf("working directory %s is not empty", job.Dir)
	case err == nil:
	case errors.Is(err, fs.ErrNotExist):
		if err := os.MkdirAll(job.Dir, 0o700); err != nil {
			return fmt.Errorf("create working directory: %w", err)
		}
	default:
		return fmt.Errorf("working directory: %w", err)
	}

	names := make([]string, 0, len(job.Files))
	for name := range job.Files {
		if err := checkFileName(name); err != nil {
			return err
		}
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if err := writeNew(job.Dir, name, job.Files[name]); err != nil {
			return err
		}
	}
	inputs := job.Inputs
	if inputs == nil {
		inputs = []byte("{}")
	}
	return writeNew(job.Dir, InputsFile, inputs)
}

// checkFileName refuses a Files key that could land outside the working
// directory, or that would be overwritten by the inputs.
func checkFileName(name string) error {
	switch {
	case name == "" || path.IsAbs(name):
		return fmt.Errorf("file %q: want a relative path", name)
	case slices.Contains(strings.Split(name, "/"), ".."):
		return fmt.Errorf("file %q: path must not contain ..", name)
	case path.Clean(name) == ".":
		return fmt.Errorf("file %q: not a file name", name)
	case path.Clean(name) == InputsFile:
		return fmt.Errorf("file %q: %s is written from the inputs", name, InputsFile)
	}
	return nil
}

// writeNew writes a file that must not exist yet, creating its directories.
func writeNew(dir, name string, data []byte) error {
	p := filepath.Join(dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("write file %s: %w", name, err)
	}
	mode := os.FileMode(0o644)
	if strings.HasPrefix(string(data[:min(len(data), 2)]), "#!") {
		mode = 0o755
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return fmt.Errorf("write file %s: %w", name, err)
	}
	_, err = f.Write(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write file %s: %w", name, err)
	}
	return nil
}
