// Package codebuild runs the commands of a Proton CodeBuild-provisioning
// manifest as local processes.
//
// Proton ran a manifest's provision (or deprovision) commands as one phase
// of a CodeBuild build (buildspec 0.2), with proton-inputs.json in the
// working directory. Run does the same on the local machine: the commands
// run in order in one shell (bash when the PATH has it, else /bin/sh), so
// that `cd`, `export`, functions and sourced scripts carry over from one
// command to the next; the first command that fails stops the phase. The
// shell leads a process group of its own, so that a cancel reaches every
// process the commands started. shell.go tells how.
//
// `exit` in a command ends the phase's shell, as it ends any shell. A
// non-zero status fails the command. `exit 0` in the last command ends the
// phase successfully; in any other command it fails the run with a
// *CommandError saying so (EndedShell), rather than silently skipping the
// commands after it (which may be the ones that report the outputs) or
// running them in a new shell without the state the earlier commands set
// up.
//
// The shell runs under a supervisor (package supervisor) that kills the
// shell's whole process group if the server dies: the standalone
// hadron-supervisor when Job.Supervisor names it, else a re-exec of the
// binary itself, so every binary that calls Run must call MaybeSupervise
// first thing in main (and in TestMain). supervisor.go says which and why.
package codebuild

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/hadronhq/hadron/internal/provision"
	"github.com/hadronhq/hadron/internal/provision/sandbox"
	"github.com/hadronhq/hadron/internal/provision/supervisor"
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
	// since a bundle's file modes do not travel in this map. A bundle's own
	// proton-inputs.json (an example file) is not written: Inputs replace
	// it, and the log says so.
	Files map[string][]byte
	// Inputs is written as Dir/proton-inputs.json ("{}" when nil).
	Inputs []byte
	// Commands are run in order in one shell, each as if typed at its
	// prompt; the first failure stops the run (see the package comment).
	Commands []string
	// Variables are the manifest's env.variables. They come after the few
	// variables inherited from the server and before Secrets and Env,
	// which win over them, as CodeBuild's project variables won over a
	// buildspec's.
	Variables map[string]string
	// Secrets are the values of the manifest's env.secrets-manager and
	// env.parameter-store entries, resolved by the caller, by variable name.
	// They are set like Variables (winning over them), and their values
	// are replaced by "***" wherever the commands print them, in the Log
	// and in a CommandError's Tail.
	Secrets map[string]string
	// Env is added, as "KEY=value" entries, to the few variables inherited
	// from the server (PATH, HOME, LANG, TMPDIR), to Variables and to
	// Secrets; it wins over all of them. It is for what the server gives
	// every run (RESOURCE_ARN and the like).
	Env []string
	// Mask, when set, lists further values to replace by "***" in the
	// output, as Secrets' values are: credentials the caller gives through
	// Env, say. It is called again whenever output arrives, so a value
	// that appears while the run lasts (an assumed role's credentials
	// renewed mid-run) is masked from then on. Empty strings are ignored.
	Mask func() []string
	// Image and Runtimes are the manifest's settings of those names. Run
	// does not apply them (the commands run on this host): it says so once
	// in the Log, naming the tools of those runtimes missing from PATH.
	Image    string
	Runtimes map[string]string
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
	// OnStart, if set, is called as each command starts with the pid of
	// the shell that runs it (the same shell for every command of the
	// run), on Run's goroutine; it must return quickly, since a cancel
	// waits for it.
	OnStart func(pid int)
	// Supervisor is the standalone supervisor to start the shell under
	// (supervisor.go); nil, or one replaced since it was checked, re-executes
	// the running binary, which must have called MaybeSupervise.
	Supervisor *Supervisor
	// Isolation confines the commands (isolation.go); nil runs them with
	// the server's own reach.
	Isolation *sandbox.Policy
	// Fence, when set, is when every process of the run must be gone unless
	// the engine extends it: the supervisor kills the group at the fence by
	// itself, even while the server is paused (fence.go). A run stopped so
	// ends with an error that wraps provision.ErrLeaseLost.
	Fence *provision.Fence
}

// Result is what a successful run produced.
type Result struct {
	// Outputs are read from Dir/proton-outputs.json; nil if the commands
	// did not write it.
	Outputs map[string]string
}

// Run runs job's commands in order, in one shell, and returns their
// outputs.
//
// A command that fails ends the run with a *CommandError. Cancellation
// comes only through ctx: when ctx is done, the shell's process group gets
// SIGTERM, then SIGKILL if the shell has not exited after the grace
// period, and Run returns a *CanceledError that wraps context.Cause(ctx).
// Processes a command leaves in the background live on through the next
// commands, as on CodeBuild; whatever the outcome, none outlives the run:
// the group's leftovers are SIGKILLed when the shell ends. If some process
// cannot be stopped, Run returns a *StopError instead.
//
// A cancel that comes after the last command has exited does not count:
// the run has finished, and Run returns its result.
func Run(ctx context.Context, job Job) (Result, error) {
	if _, _, err := supervisorCommand(job.Supervisor); err != nil {
		return Result{}, err
	}
	if len(job.Commands) > 0 && ctx.Err() != nil {
		return Result{}, &CanceledError{Cause: context.Cause(ctx), Count: len(job.Commands), Command: job.Commands[0]}
	}
	env, err := commandEnv(job)
	if err != nil {
		return Result{}, err
	}
	for i, c := range job.Commands {
		if strings.IndexByte(c, 0) >= 0 {
			return Result{}, fmt.Errorf("command %d: a NUL byte cannot be passed to a shell", i+1)
		}
	}
	r := &run{job: job, env: env, log: newLogger(job.Log), grace: job.Grace}
	defer r.log.close()
	if r.grace <= 0 {
		r.grace = DefaultGrace
	}
	if err := prepareDir(job, r.log); err != nil {
		return Result{}, err
	}
	noteRuntimes(r.log, job, env)
	if len(job.Commands) > 0 {
		if err := r.phase(ctx); err != nil {
			return Result{}, err
		}
	}
	return Result{Outputs: readOutputs(filepath.Join(job.Dir, OutputsFile), r.log)}, nil
}

// run is the state of one Run.
type run struct {
	job   Job
	env   []string
	log   *logger
	grace time.Duration
}

// phase runs the job's commands in one shell under a supervisor and waits
// until the shell and every process of its group are gone.
func (r *run) phase(ctx context.Context) error {
	n := len(r.job.Commands)
	sh := findShell(r.env)
	token, err := newToken()
	if err != nil {
		return err
	}
	plural := "s"
	if n == 1 {
		plural = ""
	}
	r.log.notef("running %d command%s in one shell (%s)", n, plural, sh.path)
	run := &supervisor.Assignment{
		Dir:    r.job.Dir,
		Shell:  sh.path,
		Env:    r.env,
		Script: phaseScript(sh, token, r.job.Commands),
		Policy: r.job.Isolation,
	}
	var fenceMoved <-chan struct{}
	if r.job.Fence != nil {
		run.Fence, fenceMoved = fenceAt(r.job.Fence) // in the run itself: no moment without a fence
	}
	sb, err := assign(r.job.Supervisor, r.job.Isolation.Cloneflags(), run)
	if err != nil {
		return err
	}
	sup, outR, statusR, lifeW := sb.cmd, sb.out, sb.status, sb.life
	// The lifeline's write end stays open here until the phase is over, so
	// that the supervisor reads end of file only if this process is gone
	// (fence.go).
	defer lifeW.Close()
	if fenceMoved != nil {
		done := make(chan struct{})
		defer close(done)
		go feedFence(lifeW, r.job.Fence, fenceMoved, done)
	}
	pgid := sup.Process.Pid
	mask := newMasker(slices.Collect(maps.Values(r.job.Secrets)), r.job.Mask)
	out := startPump(outR, r.log, token, r.job.Commands, mask)

	// The status pipe: the shell's pid once it has started, then
	// supervisor.StatusClean if the supervisor saw the whole run end.
	started := make(chan int, 1)
	statusDone := make(chan struct{})
	var clean bool // set before statusDone is closed
	go func(started chan<- int) {
		defer close(statusDone)
		defer statusR.Close()
		rd := bufio.NewReader(statusR)
		var pid int
		if _, err := fmt.Fscanln(rd, &pid); err != nil {
			close(started)
			return
		}
		started <- pid
		close(started)
		line, _ := rd.ReadString('\n')
		clean = strings.TrimSpace(line) == supervisor.StatusClean
	}(started)
	exited := make(chan struct{})
	go func() {
		waitExited(pgid)
		close(exited)
	}()

	var (
		canceled, killed, shellUp, termPending bool
		groupKilled                            bool
		cancel                                 = ctx.Done()
		graceC, stopC                          <-chan time.Time
		graceEnd                               time.Time
		shellPid                               int
		prog                                   = progress{current: -1, ended: -1}
		announced                              = 0 // commands OnStart was called for
	)
	// The supervisor sends the SIGTERM itself, knowing then that the run
	// is stopping (fence.go).
	sendTerm := func() { fmt.Fprintln(lifeW, supervisor.LineTerm) }
	announce := func() {
		for ; shellUp && announced <= prog.current; announced++ {
			if r.job.OnStart != nil {
				r.job.OnStart(shellPid)
			}
		}
	}
	onStarted := func(pid int, ok bool) {
		started = nil
		if !ok {
			return
		}
		shellUp, shellPid = true, pid
		announce()
	}
	onMarker := func(ev markerEvent) {
		prog.record(ev)
		announce()
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
		case ev := <-out.events:
			onMarker(ev)
		case <-cancel:
			cancel = nil
			select {
			case <-exited: // it finished first: not a cancel
				break wait
			default:
			}
			// Even if the markers say the last command has ended: the
			// run can write markers (it may read its script's token), and
			// must not make itself immune to a cancel. A run that really
			// had finished still ends as a success (allDone below).
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
			// The supervisor kills every process of the run, also those
			// that left the group, and reaps them; should it not, the
			// group is killed from here.
			fmt.Fprintln(lifeW, supervisor.LineKill)
			killed = true
			stopC = time.After(stopTimeout)
		case <-stopC:
			if !groupKilled {
				groupKilled = true
				syscall.Kill(-pgid, syscall.SIGKILL)
				stopC = time.After(stopTimeout)
				continue
			}
			// The supervisor itself survives SIGKILL: stuck in the kernel.
			r.log.notef("processes still running %s after SIGKILL; giving up", stopTimeout)
			go func() { // reap it if it ever dies
				<-exited
				sup.Wait()
			}()
			i := prog.due(n)
			return &StopError{Index: i, Count: n, Command: r.job.Commands[i], Pgid: pgid, Cause: context.Cause(ctx)}
		}
	}
	if started != nil {
		// The status pipe is closed now that the supervisor is gone.
		pid, ok := <-started
		onStarted(pid, ok)
	}
	<-statusDone // closed with the pipe, which the supervisor's exit closes

	// Unless the supervisor reaped every process of the run itself
	// (reaper.go), look for them in the group.

	// A cancelled command's shell often ends at SIGTERM before the processes
	// it started (dash running a script's own trap): they keep the rest of the
	// grace period to clean up, as promised, before the SIGKILL below. They
	// get no second SIGTERM: it would also hit the processes their cleanup
	// starts.
	if !clean && canceled && !killed && !waitGroupGone(pgid, time.Until(graceEnd)) {
		r.log.notef("grace period %s over: sending SIGKILL", r.grace)
		killed = true
	}
	// The supervisor has exited but is not reaped, so pgid still names our
	// group: take the processes the commands left behind, then reap.
	if !clean {
		syscall.Kill(-pgid, syscall.SIGKILL)
	}
	waitErr := sup.Wait() // the status is in sup.ProcessState
	gone := clean || waitGroupGone(pgid, stopTimeout)
	if out.finish(drainTimeout) {
		r.log.notef("output still held open by a process outside the process group; no longer reading it")
	}
	// The pump is done: every marker it saw is in the channel.
	for drained := false; !drained; {
		select {
		case ev := <-out.events:
			onMarker(ev)
		default:
			drained = true
		}
	}
	if sup.ProcessState == nil {
		// Only if someone else reaped it (a SIGCHLD set to SIG_IGN).
		return fmt.Errorf("wait for supervisor: %w", waitErr)
	}

	i := prog.due(n)
	text := r.job.Commands[i]
	ws := sup.ProcessState.Sys().(syscall.WaitStatus)
	// The script noted the end of every command that ended without taking
	// the shell with it; the shell's own end is noted here.
	endedInShell := prog.ended == prog.current && prog.current >= 0
	if !endedInShell || prog.status == 0 && !prog.allDone(n) {
		if ws.Signaled() {
			r.log.notef("command was killed by signal %s", signalName(ws.Signal()))
		} else {
			r.log.notef("command exited with status %d", ws.ExitStatus())
		}
	}
	switch {
	case !gone:
		r.log.notef("processes of the commands still running %s after SIGKILL", stopTimeout)
		var cause error
		if canceled {
			cause = context.Cause(ctx)
		}
		return &StopError{Index: i, Count: n, Command: text, Pgid: pgid, Cause: cause}
	case prog.allDone(n):
		return nil // even if a cancel came after the last command ended
	case r.job.Fence.Passed():
		r.log.notef("the lease on this deployment ran out before the commands ended: they were stopped")
		return fmt.Errorf("command %d of %d (%s): %w", i+1, n, text, provision.ErrLeaseLost)
	case canceled:
		started := prog.current == i && !endedInShell
		return &CanceledError{Cause: context.Cause(ctx), Killed: killed, Started: started, Index: i, Count: n, Command: text}
	case endedInShell && prog.status != 0:
		return &CommandError{Index: i, Count: n, Command: text, ExitCode: prog.status, Tail: out.tail.String()}
	case ws.Signaled():
		return &CommandError{Index: i, Count: n, Command: text, ExitCode: -1, Signal: signalName(ws.Signal()), Tail: out.tail.String()}
	case ws.ExitStatus() != 0:
		return &CommandError{Index: i, Count: n, Command: text, ExitCode: ws.ExitStatus(), Tail: out.tail.String()}
	case i == n-1 && prog.current == i:
		return nil // the last command ended the shell with exit 0
	}
	return &CommandError{Index: i, Count: n, Command: text, ExitCode: 0, EndedShell: prog.current == i, Tail: out.tail.String()}
}

// progress is how far the script got, as its markers tell.
type progress struct {
	current int // the last command that started; -1 before the first
	ended   int // the last command that ended in the shell; -1 before
	status  int // the exit status of command ended
}

func (p *progress) record(ev markerEvent) {
	if ev.end {
		p.ended, p.status = ev.index, ev.status
	} else {
		p.current = ev.index
	}
}

// allDone reports whether the last of n commands has ended with status 0.
func (p *progress) allDone(n int) bool { return p.ended == n-1 && p.status == 0 }

// due returns the command that was running, or that was due next if the
// one before it had ended well.
func (p *progress) due(n int) int {
	switch {
	case p.current < 0:
		return 0
	case p.ended == p.current && p.status == 0 && p.current < n-1:
		return p.current + 1
	}
	return p.current
}

// commandEnv is the environment of the commands: the inherited few, then
// the job's Variables, Secrets and Env, each winning over the ones before.
func commandEnv(job Job) ([]string, error) {
	env := make([]string, 0, len(inheritedEnv)+len(job.Variables)+len(job.Secrets)+len(job.Env)+1)
	for _, k := range inheritedEnv {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		} else if k == "PATH" {
			env = append(env, "PATH="+defaultPath)
		}
	}
	check := func(k, kv string) error {
		switch {
		case k == "" || strings.ContainsAny(k, "=\x00"):
			return fmt.Errorf("environment entry %q: want KEY=value", kv)
		case k == supervisor.EnvParent:
			return fmt.Errorf("environment entry %q: %s is reserved", kv, k)
		}
		return nil
	}
	for _, m := range []map[string]string{job.Variables, job.Secrets} {
		for _, k := range slices.Sorted(maps.Keys(m)) {
			if err := check(k, k); err != nil { // never the value: it may be a secret
				return nil, err
			}
			if strings.IndexByte(m[k], 0) >= 0 {
				return nil, fmt.Errorf("environment variable %s: its value holds a NUL byte", k)
			}
			env = append(env, k+"="+m[k])
		}
	}
	for _, kv := range job.Env {
		k, _, ok := strings.Cut(kv, "=")
		if !ok {
			k = ""
		}
		if err := check(k, kv); err != nil {
			return nil, err
		}
	}
	return append(env, job.Env...), nil
}

// prepareDir creates the working directory and writes the job's files and
// inputs into it.
func prepareDir(job Job, log *logger) error {
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
		if path.Clean(name) == InputsFile {
			// An example file shipped in the bundle; CodeBuild overwrote it.
			log.notef("the bundle's own %s is replaced by the deployment's inputs", InputsFile)
			continue
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
// directory.
func checkFileName(name string) error {
	switch {
	case name == "" || path.IsAbs(name):
		return fmt.Errorf("file %q: want a relative path", name)
	case slices.Contains(strings.Split(name, "/"), ".."):
		return fmt.Errorf("file %q: path must not contain ..", name)
	case path.Clean(name) == ".":
		return fmt.Errorf("file %q: not a file name", name)
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
