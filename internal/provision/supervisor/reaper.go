package supervisor

import (
	"os"
	"strconv"
	"syscall"
)

// How the supervisor reaches every process of its run without scanning
// /proc (which costs a read of every process's stat file on the host).
//
// The supervisor is a child subreaper (or PID 1 of the run's PID
// namespace), so every process of the run is its descendant for as long as
// it lives: a process that leaves the group (setsid) or whose parent exits
// (a double fork) is reparented to it, not to the host's init. So:
//   - the run is over when wait4(-1) says ECHILD: no child, live or zombie,
//     hence no descendant;
//   - every live process of the run is a child of the supervisor or below a
//     live one; killing the children and each child's group, then again
//     after every reap (the killed ones' children come to the supervisor
//     when they die), reaches them all, however deep, without a listing of
//     the host;
//   - as PID 1, kill(-1) reaches every process of the namespace at once.
//
// The children are read from /proc/self/task/<tid>/children of the two
// threads that can have any: the main thread, to which the kernel
// reparents orphans (the first live thread of the reaper), and the locked
// thread that forks the shell. Both files are opened before the sandbox
// (Landlock would refuse the open after it) and re-read from offset 0,
// which makes the kernel list the children afresh.

// runProcs reaches the processes of the supervisor's run.
type runProcs struct {
	pid1  bool       // PID 1 of the run's namespace: kill(-1) reaches the run
	files []*os.File // children lists of the threads that can have children
	pgid  int        // the supervisor's group
	buf   []byte
}

// openRunProcs prepares runProcs; the caller's goroutine must be locked to
// the thread that will start the shell, and the sandbox not entered yet.
func openRunProcs() *runProcs {
	p := &runProcs{pid1: os.Getpid() == 1, pgid: syscall.Getpgrp()}
	if p.pid1 {
		return p
	}
	tids := []int{os.Getpid()}
	if tid := syscall.Gettid(); tid != tids[0] {
		tids = append(tids, tid)
	}
	for _, tid := range tids {
		f, err := os.Open("/proc/self/task/" + strconv.Itoa(tid) + "/children")
		if err != nil { // a kernel without CONFIG_PROC_CHILDREN
			p.close()
			return p
		}
		p.files = append(p.files, f)
	}
	return p
}

// known reports whether the supervisor can reach every process of its run;
// if not it signals its group alone, as a supervisor did before.
func (p *runProcs) known() bool { return p.pid1 || len(p.files) > 0 }

func (p *runProcs) close() {
	for _, f := range p.files {
		f.Close()
	}
	p.files = nil
}

// children lists the supervisor's children (zombies included); nil when
// not known.
func (p *runProcs) children() []int {
	var kids []int
	for _, f := range p.files {
		if p.buf == nil {
			p.buf = make([]byte, 64<<10)
		}
		n, err := f.ReadAt(p.buf, 0)
		if n == len(p.buf) {
			p.buf = make([]byte, 2*len(p.buf)) // rare: read it whole next time
		}
		if err != nil && n == 0 {
			continue
		}
		for _, field := range splitSpaces(p.buf[:n]) {
			if pid, err := strconv.Atoi(field); err == nil {
				kids = append(kids, pid)
			}
		}
	}
	return kids
}

func splitSpaces(b []byte) []string {
	var out []string
	start := -1
	for i, c := range b {
		if c == ' ' || c == '\n' {
			if start >= 0 {
				out = append(out, string(b[start:i]))
				start = -1
			}
		} else if start < 0 {
			start = i
		}
	}
	if start >= 0 {
		out = append(out, string(b[start:]))
	}
	return out
}

// term sends SIGTERM, once, to the run: the supervisor's group (the
// supervisor catches it), and each child outside the group with its own
// group (a daemon a command left, `setsid cmd &`). A process outside the
// group below a live process outside the group gets no SIGTERM; it gets the
// SIGKILL at the end of the grace period all the same (kill).
func (p *runProcs) term() {
	if p.pid1 {
		syscall.Kill(-1, syscall.SIGTERM)
		return
	}
	syscall.Kill(0, syscall.SIGTERM)
	for _, pid := range p.children() {
		p.signalOutside(pid, syscall.SIGTERM)
	}
}

// signalOutside signals child pid and its group, unless it is in the
// supervisor's group (which has had the signal).
func (p *runProcs) signalOutside(pid int, sig syscall.Signal) {
	g, err := syscall.Getpgid(pid)
	if err != nil || g == p.pgid {
		return
	}
	syscall.Kill(pid, sig)
	if g == pid {
		syscall.Kill(-pid, sig)
	}
}

// kill SIGKILLs every process of the run that is a child of the supervisor,
// and each child's group, or, as PID 1, every other process of the
// namespace. Called again after each reap, it reaches the whole run.
func (p *runProcs) kill() {
	if p.pid1 {
		syscall.Kill(-1, syscall.SIGKILL)
		return
	}
	for _, pid := range p.children() {
		syscall.Kill(pid, syscall.SIGKILL)
		if g, err := syscall.Getpgid(pid); err == nil && g == pid {
			syscall.Kill(-pid, syscall.SIGKILL)
		}
	}
}

// reapAll reaps the supervisor's children as they end, sending each pid,
// and closes the channel when there is none left (ECHILD): every process
// of the run is gone. It must start only once the shell has been reaped
// (exec.Cmd.Wait), or it would take the shell's status.
func reapAll() <-chan int {
	reaped := make(chan int)
	go func() {
		defer close(reaped)
		for {
			pid, err := syscall.Wait4(-1, nil, 0, nil)
			if err == syscall.EINTR {
				continue
			}
			if err != nil {
				return // ECHILD: nobody left
			}
			reaped <- pid
		}
	}()
	return reaped
}

// killRun kills every process of the run it can reach, the supervisor last
// (the server is gone, or the fence passed): children first, round after
// round as their orphans come to the supervisor, for at most a moment,
// then the supervisor's group with the supervisor.
func (p *runProcs) killRun() {
	if p == nil || !p.known() || p.pid1 {
		return // killGroup: the group, or as PID 1 the namespace
	}
	for range 200 {
		kids := p.children()
		if len(kids) == 0 {
			return
		}
		p.kill()
		// Reap what died, so that its orphans are ours to list next.
		for {
			pid, err := syscall.Wait4(-1, nil, syscall.WNOHANG, nil)
			if err == syscall.ECHILD {
				return
			}
			if pid <= 0 {
				break
			}
		}
		syscall.Select(0, nil, nil, nil, &syscall.Timeval{Usec: 500})
	}
}
