// Package supervisor is the process that stands between the server and the
// shell of a provisioning run: the protocol both sides speak, and Main, the
// supervisor's side of it.
//
// A supervisor is either cmd/hadron-supervisor, a small binary that links
// little more than this package and so starts in a few milliseconds, or, when
// that is not installed beside the server (`go run`), the server's own binary
// re-executed (codebuild.MaybeSupervise). Both run Main.
//
// Why a supervisor at all:
//
// A killed server must not leave provisioning running. Pdeathsig on the
// command's shell is not enough: it reaches only that one process, not the
// grandchildren in its process group (`sleep 300 & wait`), and the kernel
// sends it when the *thread* that forked exits, not the process. So
// codebuild.Run starts a supervisor, the leader of a fresh process group,
// with Pdeathsig set to ParentDeathSignal (catchable). The supervisor starts
// the phase's shell on its script (codebuild's shell.go) inside its own
// group and waits for it:
//
//   - It is started before its run is known and gets the run as the first
//     message on its lifeline (assignment.go), so that a server can keep a
//     few started and waiting (codebuild's pool.go).
//
//   - The script comes in the assignment, never as a path: the supervisor
//     puts it in a sealed in-memory file before it confines itself, and
//     hands it to the shell as fd ShellScriptFD, which the shell opens as
//     /proc/self/fd/ShellScriptFD (no size limit, unlike `sh -c script`,
//     and not in the shell's world-readable command line). The run can read
//     its own script, marker token included: see markers in codebuild's shell.go.
//
//   - On ParentDeathSignal it checks getppid: if the server is gone it
//     SIGKILLs its whole group (itself included). If getppid is unchanged the
//     signal came from the exit of the forking thread alone (the child was
//     reparented to another thread of the server, and the kernel will signal
//     again when that one exits), so it is ignored.
//
//   - Race closed at start: if the server died before prctl(PR_SET_PDEATHSIG)
//     ran, or before signal.Notify was in place (Go ignores an un-notified
//     SIGUSR1), the signal is lost. So after Notify the supervisor compares
//     getppid with the server pid it was given; if they differ it kills its
//     group before starting anything.
//
//   - A cancel comes on the lifeline (below): the supervisor sends SIGTERM
//     to its group. SIGTERM, SIGINT, SIGHUP and SIGQUIT sent to the group
//     reach the command's processes; the supervisor catches them and stays
//     alive until the shell exits, so it can report the shell's status.
//
//   - It reports the shell's pid on fd 3 once the shell has started, so that
//     the server sends a cancel's SIGTERM only to a group that already holds
//     the shell (a SIGTERM sent earlier would be swallowed by the supervisor).
//
//   - The server also holds the write end of a pipe whose read end is the
//     supervisor's LifelineFD. End of file on it means the server is gone
//     (however it died, whatever its threads did): the supervisor kills its
//     group. The same pipe carries the run's fence (lifeline.go): the time by
//     which the supervisor must have killed its group unless the server
//     extends it, so that a server paused past its lease (SIGSTOP, a frozen
//     VM) cannot keep a run going beside another node's.
//
//   - The supervisor is a child subreaper (or PID 1 of the run's
//     namespace): every process of the run stays its descendant, also one
//     that leaves the group (setsid) or is orphaned (a double fork), so it
//     reaches all of them and knows when the run is over (ECHILD) without
//     reading /proc of the host (reaper.go). A cancel's SIGTERM goes to the
//     group and to the daemons outside it.
//
//   - When the shell exits on its own, the supervisor SIGKILLs what it left
//     and reaps it. After a cancel's SIGTERM it outlives the shell until
//     every process the commands left is gone (a script's TERM trap still
//     cleaning up), still watching for the server's death and the fence, so
//     that a server killed during the grace period leaves nothing behind;
//     the server's "kill" on the lifeline at the end of the grace period
//     makes it SIGKILL them all. Either way it writes StatusClean on the
//     status pipe before it exits, so the server need not look for
//     processes of the run. On a kernel without /proc/<pid>/task/<tid>/children
//     it signals its group alone, and the server kills and looks for the
//     group's members itself.
//
//   - It forwards the shell's status faithfully: the same exit code, or death
//     by the same signal (re-raised with the default action).
//
//   - Under isolation it confines itself just before it starts the shell,
//     and may be PID 1 of the run's own PID namespace: isolation.go says
//     what changes then.
package supervisor

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"slices"
	"strconv"
	"syscall"
	"time"
	"unsafe"
)

// The protocol between codebuild.Run and a supervisor. A supervisor is
// started as argv {name, Arg} with EnvParent in its environment, with these
// descriptors; its run comes later, as the first message on its lifeline
// (assignment.go).
const (
	// Protocol numbers this protocol; it changes with any change to the
	// arguments, descriptors, environment, assignment or lines below. A
	// standalone supervisor prints it when started as {name, ProtocolArg},
	// so that the server uses only one that speaks its own.
	Protocol = 2
	// ProtocolArg, as argv[1] alone, asks a standalone supervisor for its
	// Protocol.
	ProtocolArg = "protocol"
	// Arg, as argv[1], marks a supervisor process together with EnvParent;
	// both are needed so that no ordinary invocation of the server's binary
	// is mistaken for one.
	Arg = "__hadron-codebuild-supervisor__"
	// EnvParent carries the pid of the server that started the supervisor.
	// The shell's environment is the assignment's, never the supervisor's.
	EnvParent = "HADRON_CODEBUILD_SUPERVISOR"
	// ParentDeathSignal is the supervisor's Pdeathsig. It must be catchable,
	// since the supervisor has to kill its group before it dies.
	ParentDeathSignal = syscall.SIGUSR1
	// StatusFD is the supervisor's end of the pipe that carries the shell's
	// pid, and then StatusClean.
	StatusFD = 3
	// StatusClean, on the status pipe after the shell's pid, says that the
	// supervisor has reaped every process of the run: the server need not
	// look for any.
	StatusClean = "clean"
	// LifelineFD is the supervisor's read end of the lifeline pipe
	// (lifeline.go): the run's assignment, the server's fence updates, a
	// cancel's "term" and "kill", and end of file when the server is gone.
	LifelineFD = 4
	// ShellScriptFD is the shell's descriptor of the phase script; the
	// script's first line closes it.
	ShellScriptFD = 3
)

// Main runs a supervisor if this process was started as one (os.Args and
// EnvParent as described above), and then exits with the command's status,
// unless it dies of the shell's signal first; it never returns then. In any
// other process it returns at once.
func Main() {
	if len(os.Args) != 2 || os.Args[1] != Arg {
		return
	}
	parent, ok := os.LookupEnv(EnvParent)
	if !ok {
		return
	}
	// syscall.Exit, not os.Exit: the supervisor has nothing to flush, and
	// os.Exit's hooks cost time (the race detector sleeps a second at
	// exit) or print noise (coverage).
	syscall.Exit(supervise(parent))
}

// supervise waits for its assignment, runs it as described at the top of
// this file and returns the exit code for the supervisor, unless it dies of
// the shell's signal first.
func supervise(parent string) int {
	ppid, err := strconv.Atoi(parent)
	if err != nil || syscall.Getpgrp() != os.Getpid() {
		// Killing "our group" below would hit somebody else's processes.
		fmt.Fprintf(os.Stderr, "[hadron] supervisor started wrongly (parent %q, pgid %d, pid %d)\n", parent, syscall.Getpgrp(), os.Getpid())
		return 126
	}
	// The shell must not inherit the status pipe, or the server would wait
	// for the shell's background processes to close it.
	syscall.CloseOnExec(StatusFD)
	status := os.NewFile(StatusFD, "status")

	// The sandbox confines only the thread that enters it (Landlock and
	// no_new_privs are a thread's), and the shell inherits the domain of
	// the thread that forks it. So the sandbox is entered, the shell
	// started, and every signal to the run sent, from this one thread.
	runtime.LockOSThread()
	syscall.CloseOnExec(LifelineFD)
	lifeline := os.NewFile(LifelineFD, "lifeline")

	sigs := make(chan os.Signal, 16)
	signal.Notify(sigs, ParentDeathSignal, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT)
	watchParent(ppid)
	if parentGone(ppid) {
		killGroup() // the server died before our death signal was armed
	}
	// Orphans of the run come to us, so that we know when the run is over
	// and reach all of it (reaper.go).
	if os.Getpid() != 1 {
		prctl(prSetChildSubreaper, 1)
	}
	procs = openRunProcs()

	// All the above is done before the run is known (assignment.go).
	warmUp()
	run, err := readAssignment(lifeline)
	if err == io.EOF {
		return 0 // given up before it had a run: nothing to report
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "[hadron] supervisor: %v\n", err)
		return 126
	}
	if err := os.Chdir(run.Dir); err != nil {
		fmt.Fprintf(os.Stderr, "[hadron] cannot enter the working directory: %v\n", err)
		return 126
	}
	// Made before the sandbox: the script's file is nowhere the run may open.
	script, err := sealedScript(run.Script)
	if err != nil {
		fmt.Fprintf(os.Stderr, "[hadron] %v\n", err)
		return 126
	}
	life := watchLifeline(lifeline)
	// Isolation (isolation.go): confine this process, which the shell
	// inherits, just before the shell starts.
	sb, err := enterSandbox(run.Policy, run.Dir)
	if err != nil {
		fmt.Fprintf(os.Stderr, "[hadron] cannot isolate the command: %v\n", err)
		return 126
	}
	attr, sbEnv := shellAttr(sb)

	sh := exec.Command(run.Shell, "/proc/self/fd/"+strconv.Itoa(ShellScriptFD))
	sh.Stdin, sh.Stdout, sh.Stderr = os.Stdin, os.Stdout, os.Stderr
	sh.ExtraFiles = []*os.File{script} // ShellScriptFD
	sh.SysProcAttr = attr
	sh.Env = slices.Concat([]string{}, run.Env, sbEnv) // never nil: nil would pass on the supervisor's own
	if err := sb.Start(sh); err != nil {
		fmt.Fprintf(os.Stderr, "[hadron] cannot start command: %v\n", err)
		return 127
	}
	script.Close()
	// The status pipe stays open: StatusClean follows when the run is over.
	fmt.Fprintf(status, "%d\n", sh.Process.Pid)

	exited := make(chan struct{})
	go func() {
		sh.Wait() // the status is in sh.ProcessState
		close(exited)
	}()
	var (
		stopping  bool // a SIGTERM or the like reached the group
		killing   bool // every process of the run is to be SIGKILLed
		reaped    <-chan int
		lingering <-chan struct{}
		fence     *time.Timer
		fenceC    <-chan time.Time
		kill      = life.kill
	)
	if run.Fence != 0 {
		fence = time.NewTimer(untilMonotonic(run.Fence))
		fenceC = fence.C
	}
	for {
		select {
		case <-life.term:
			stopping = true
			procs.term()
		case <-kill:
			// The grace period is over.
			kill = nil
			if !procs.known() {
				killGroup() // what the server did itself before
			}
			stopping, killing = true, true
			procs.kill()
		case at := <-life.fences:
			if fence == nil {
				fence = time.NewTimer(untilMonotonic(at))
				fenceC = fence.C
			} else {
				fence.Reset(untilMonotonic(at))
			}
		case <-fenceC:
			fenceKill()
		case <-life.gone:
			killGroup()
		case sig := <-sigs:
			if sig == ParentDeathSignal && parentGone(ppid) {
				killGroup()
			}
			if sig != ParentDeathSignal {
				// It went to the whole group (from elsewhere than the
				// lifeline), so the command got it too; we outlive it to
				// report how the command ended.
				stopping = true
			}
		case <-exited:
			exited = nil
			if !procs.known() {
				if !stopping {
					return shellStatus(sh)
				}
				// The grace period's cleanup: wait for what the shell
				// left, still watching the server and the fence.
				done := make(chan struct{})
				go func() {
					awaitDescendants()
					close(done)
				}()
				lingering = done
				continue
			}
			// An ordinary end: what the shell left goes now. After a
			// SIGTERM: what the shell left keeps the rest of the grace
			// period to clean up, until the server's "kill".
			if !stopping {
				killing = true
			}
			if killing {
				procs.kill()
			}
			reaped = reapAll()
		case _, ok := <-reaped:
			if !ok {
				// ECHILD: nothing of the run is left.
				fmt.Fprintln(status, StatusClean)
				status.Close()
				return shellStatus(sh)
			}
			if killing {
				procs.kill() // the orphans of what died
			}
		case <-lingering:
			return shellStatus(sh)
		}
	}
}

// prSetChildSubreaper is prctl's PR_SET_CHILD_SUBREAPER.
const prSetChildSubreaper = 36

func prctl(option, arg uintptr) {
	syscall.RawSyscall6(syscall.SYS_PRCTL, option, arg, 0, 0, 0, 0)
}

// shellStatus forwards the shell's end: it re-raises the shell's fatal
// signal, or returns its exit status.
func shellStatus(sh *exec.Cmd) int {
	ws := sh.ProcessState.Sys().(syscall.WaitStatus)
	if ws.Signaled() {
		reraise(ws.Signal())
		return 128 + int(ws.Signal()) // only if the signal did not kill us
	}
	return ws.ExitStatus()
}

// awaitDescendants reaps the supervisor's children until none is left:
// every orphan of the run is reparented to the supervisor (PID 1 of the
// run's namespace, or a child subreaper).
func awaitDescendants() {
	for {
		if _, err := syscall.Wait4(-1, nil, 0, nil); err != nil && err != syscall.EINTR {
			return // ECHILD: nobody left
		}
	}
}

// procs reaches the processes of the supervisor's run (reaper.go); nil
// until supervise has opened it.
var procs *runProcs

// killGroup SIGKILLs the processes of the run, those outside the
// supervisor's process group included when it can reach them (reaper.go),
// then the group, the supervisor included.
func killGroup() {
	procs.killRun()
	if os.Getpid() == 1 {
		// PID 1 of the run's namespace ignores its own SIGKILL; its exit
		// takes every other process of the namespace with it.
		syscall.Kill(-1, syscall.SIGKILL)
		syscall.Exit(128 + int(syscall.SIGKILL))
	}
	syscall.Kill(0, syscall.SIGKILL)
	for {
		time.Sleep(time.Hour) // not reached: the SIGKILL is delivered before kill returns
	}
}

// reraise makes the supervisor die of sig, as its command did, so that the
// server's wait status says "killed by sig". Go's own handlers cannot do it
// (an un-notified SIGSEGV sent by kill is ignored, SIGQUIT dumps goroutines),
// so it resets the kernel disposition to SIG_DFL directly and signals its
// own thread.
func reraise(sig syscall.Signal) {
	if os.Getpid() == 1 {
		return // PID 1 of the run's namespace cannot die of its own signal
	}
	runtime.LockOSThread()
	// The command may have dumped core already; the supervisor's core would
	// only fill the working directory with a copy of the server's memory.
	syscall.Setrlimit(syscall.RLIMIT_CORE, &syscall.Rlimit{})
	// A struct sigaction with every field zero is SIG_DFL with no flags and
	// an empty mask on every Linux ABI, whatever the field order.
	var act [4]uint64
	syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(sig), uintptr(unsafe.Pointer(&act)), 0, 8, 0, 0)
	syscall.Tgkill(os.Getpid(), syscall.Gettid(), sig)
	time.Sleep(50 * time.Millisecond) // a blocked signal may still be delivered
}
