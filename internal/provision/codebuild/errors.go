package codebuild

import (
	"fmt"
	"strings"
	"syscall"
)

// CommandError reports a command that did not succeed: it exited with a
// non-zero status or was killed by a signal that no cancel of ours sent.
// The commands after it were not run.
type CommandError struct {
	Index    int    // index of the command in Job.Commands, from 0
	Count    int    // len(Job.Commands)
	Command  string // the command as written in the manifest
	ExitCode int    // exit status, or -1 if the command was killed by a signal
	Signal   string // name of the signal that killed the command ("SIGKILL"), or ""
	Tail     string // the last lines the command printed, so a user sees why
	// EndedShell is set when the command called `exit 0` before the last
	// command: it ended the shell that runs the phase, so the commands
	// after it could not run (see the package comment).
	EndedShell bool
}

func (e *CommandError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "command %d of %d %s ", e.Index+1, e.Count, quoteCommand(e.Command))
	switch {
	case e.EndedShell:
		rest := fmt.Sprintf("commands %d to %d", e.Index+2, e.Count)
		if e.Index+2 == e.Count {
			rest = fmt.Sprintf("command %d", e.Count)
		}
		fmt.Fprintf(&b, "called exit 0, which ends the one shell a phase's commands run in (as on CodeBuild, cd, export and functions carry over from command to command), so %s could not run: end the command without exit", rest)
	case e.Signal != "":
		fmt.Fprintf(&b, "was killed by signal %s", e.Signal)
	default:
		fmt.Fprintf(&b, "exited with status %d", e.ExitCode)
	}
	if e.Tail != "" {
		b.WriteString(": ")
		b.WriteString(e.Tail)
	}
	return b.String()
}

// CanceledError reports a run stopped because its context was done. Unwrap
// returns context.Cause of that context, so that a caller that cancels with
// context.WithCancelCause can tell a user's cancel from a server shutdown:
//
//	errors.Is(err, errUserCancel)
//
// The commands after Index were not run; the command at Index was stopped
// (or, when Started is false, never started).
type CanceledError struct {
	Cause   error  // context.Cause of Run's context
	Killed  bool   // the command outlived the grace period and needed SIGKILL
	Started bool   // the command at Index had been started when the cancel came
	Index   int    // index of the command that was running or due next, from 0
	Count   int    // len(Job.Commands)
	Command string // the command at Index
}

func (e *CanceledError) Error() string {
	how := "canceled"
	if e.Killed {
		how = "canceled (killed with SIGKILL after the grace period)"
	}
	if !e.Started {
		return fmt.Sprintf("canceled before command %d of %d %s: %v", e.Index+1, e.Count, quoteCommand(e.Command), e.Cause)
	}
	return fmt.Sprintf("command %d of %d %s %s: %v", e.Index+1, e.Count, quoteCommand(e.Command), how, e.Cause)
}

// Unwrap returns the cause of the cancel.
func (e *CanceledError) Unwrap() error { return e.Cause }

// StopError reports that the processes of a command could not be stopped:
// after SIGKILL and a short wait, its process group still had live members
// (a process stuck in uninterruptible sleep, for instance). The caller must
// not report the work as cancelled: something may still be running.
//
// StopError deliberately does not unwrap to the cancel's cause, so that
// errors.Is(err, cause) does not mistake it for a clean cancel.
type StopError struct {
	Index   int    // index of the command, from 0
	Count   int    // len(Job.Commands)
	Command string // the command
	Pgid    int    // the process group that would not die
	Cause   error  // the cancel's cause, if the stop was a cancel; informative only
}

func (e *StopError) Error() string {
	return fmt.Sprintf("command %d of %d %s could not be stopped: process group %d still has live processes after SIGKILL",
		e.Index+1, e.Count, quoteCommand(e.Command), e.Pgid)
}

// quoteCommand quotes a command for an error message, shortened so that a
// long multi-line script does not swamp the message.
func quoteCommand(cmd string) string {
	const max = 120
	if r := []rune(cmd); len(r) > max {
		cmd = string(r[:max]) + "…"
	}
	return fmt.Sprintf("%q", cmd)
}

// signalNames names the signals a command is likely to die of; syscall's
// own names ("killed", "terminated") read poorly in a deployment message.
var signalNames = map[syscall.Signal]string{
	syscall.SIGHUP:  "SIGHUP",
	syscall.SIGINT:  "SIGINT",
	syscall.SIGQUIT: "SIGQUIT",
	syscall.SIGILL:  "SIGILL",
	syscall.SIGTRAP: "SIGTRAP",
	syscall.SIGABRT: "SIGABRT",
	syscall.SIGBUS:  "SIGBUS",
	syscall.SIGFPE:  "SIGFPE",
	syscall.SIGKILL: "SIGKILL",
	syscall.SIGUSR1: "SIGUSR1",
	syscall.SIGSEGV: "SIGSEGV",
	syscall.SIGUSR2: "SIGUSR2",
	syscall.SIGPIPE: "SIGPIPE",
	syscall.SIGALRM: "SIGALRM",
	syscall.SIGTERM: "SIGTERM",
	syscall.SIGXCPU: "SIGXCPU",
	syscall.SIGXFSZ: "SIGXFSZ",
	syscall.SIGSYS:  "SIGSYS",
}

func signalName(sig syscall.Signal) string {
	if name, ok := signalNames[sig]; ok {
		return name
	}
	return fmt.Sprintf("signal %d", int(sig))
}
