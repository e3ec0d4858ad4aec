package codebuild

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"

	"github.com/hadronhq/hadron/internal/provision/supervisor"
)

// Supervisors started ahead of their runs.
//
// Starting a supervisor is a whole Go program's start: on a small virtual
// machine about 6 ms of CPU and 8 ms of wall time before it can start the
// shell, the larger part of a run's dispatch. A supervisor learns its run
// only after it has started (package supervisor's assignment.go), so a
// standalone Supervisor keeps idleSupervisors of them started and waiting,
// per set of namespaces, and a run takes one and only waits for its shell.
// The one taken is replaced in the background. Runs without an idle one
// (the first, a burst, or a server re-executing itself) start their own, as
// before. An idle supervisor holds no run and nothing of one; it exits when
// the server closes its lifeline, or dies.

// idleSupervisors is how many started supervisors a Supervisor keeps
// waiting, per set of namespaces.
const idleSupervisors = 2

// standby is a started supervisor without a run yet, and the server's ends
// of its pipes.
type standby struct {
	cmd    *exec.Cmd
	out    *os.File // read end of its stdout and stderr
	status *os.File // read end of its status pipe
	life   *os.File // write end of its lifeline
}

// startStandby starts a supervisor (s's, or this binary re-executed) in
// the namespaces flags.
func startStandby(s *Supervisor, flags uintptr) (*standby, error) {
	path, args, err := supervisorCommand(s)
	if err != nil {
		return nil, err
	}
	var pipes [3][2]*os.File // output, status, lifeline: {read, write}
	for i := range pipes {
		r, w, err := os.Pipe()
		if err != nil {
			closeAll(pipes[:i])
			return nil, fmt.Errorf("supervisor pipe: %w", err)
		}
		pipes[i] = [2]*os.File{r, w}
	}
	out, status, life := pipes[0], pipes[1], pipes[2]
	cmd := &exec.Cmd{
		Path: path,
		Args: args,
		Dir:  "/", // its run's directory comes with the run
		// One P: the supervisor's few goroutines need no more, and the
		// runtime then starts fewer threads (a third less CPU to start).
		Env:        []string{supervisor.EnvParent + "=" + strconv.Itoa(os.Getpid()), "GOMAXPROCS=1"},
		Stdout:     out[1],
		Stderr:     out[1],
		ExtraFiles: []*os.File{status[1], life[0]}, // supervisor.StatusFD, LifelineFD
		SysProcAttr: &syscall.SysProcAttr{
			Setpgid:    true, // the supervisor leads a group of its own: pgid == its pid
			Pdeathsig:  supervisor.ParentDeathSignal,
			Cloneflags: flags,
		},
	}
	// No runtime.LockOSThread here although Pdeathsig fires when the
	// forking thread exits, not the process: the supervisor checks getppid
	// on that signal and ignores it while this process lives.
	err = cmd.Start()
	out[1].Close()
	status[1].Close()
	life[0].Close()
	if err != nil {
		out[0].Close()
		status[0].Close()
		life[1].Close()
		return nil, fmt.Errorf("start supervisor: %w", err)
	}
	return &standby{cmd: cmd, out: out[0], status: status[0], life: life[1]}, nil
}

func closeAll(pipes [][2]*os.File) {
	for _, p := range pipes {
		p[0].Close()
		p[1].Close()
	}
}

// discard lets a standby that will get no run go: it reads end of file on
// its lifeline and exits.
func (sb *standby) discard() {
	sb.life.Close()
	sb.out.Close()
	sb.status.Close()
	go sb.cmd.Wait()
}

// assign gives run to a supervisor in the namespaces flags: an idle one of
// s's if it has one, else one started now.
func assign(s *Supervisor, flags uintptr, run *supervisor.Assignment) (*standby, error) {
	sb := s.takeIdle(flags)
	if sb != nil {
		if err := supervisor.WriteAssignment(sb.life, run); err == nil {
			return sb, nil
		}
		// It died waiting (killed from outside, out of memory).
		sb.discard()
	}
	sb, err := startStandby(s, flags)
	if err != nil {
		return nil, err
	}
	if err := supervisor.WriteAssignment(sb.life, run); err != nil {
		sb.discard()
		return nil, fmt.Errorf("supervisor: %w", err)
	}
	return sb, nil
}

// pool is a Supervisor's idle supervisors.
type pool struct {
	mu       sync.Mutex
	idle     map[uintptr][]*standby // by Cloneflags
	starting map[uintptr]int
	closed   bool
}

// takeIdle returns one of s's idle supervisors in the namespaces flags, or
// nil, and has another started in its place. A nil s (the server
// re-executes itself) keeps none.
func (s *Supervisor) takeIdle(flags uintptr) *standby {
	if s == nil {
		return nil
	}
	p := &s.pool
	p.mu.Lock()
	defer p.mu.Unlock()
	if !s.current() {
		// Replaced: runs fall back to the server's own binary, whose image
		// cannot have changed (supervisorCommand).
		for _, idle := range p.idle {
			for _, sb := range idle {
				sb.discard()
			}
		}
		clear(p.idle)
		return nil
	}
	var sb *standby
	if idle := p.idle[flags]; len(idle) > 0 {
		sb = idle[len(idle)-1]
		p.idle[flags] = idle[:len(idle)-1]
	}
	for n := len(p.idle[flags]) + p.starting[flags]; n < idleSupervisors && !p.closed; n++ {
		if p.starting == nil {
			p.idle, p.starting = map[uintptr][]*standby{}, map[uintptr]int{}
		}
		p.starting[flags]++
		go s.startIdle(flags)
	}
	return sb
}

// startIdle starts an idle supervisor for s's pool.
func (s *Supervisor) startIdle(flags uintptr) {
	sb, err := startStandby(s, flags)
	p := &s.pool
	p.mu.Lock()
	defer p.mu.Unlock()
	p.starting[flags]--
	switch {
	case err != nil:
		// The next run starts its own and meets the error there.
	case p.closed:
		sb.discard()
	default:
		p.idle[flags] = append(p.idle[flags], sb)
	}
}

// Close lets s's idle supervisors go; runs started after it start their
// own supervisors.
func (s *Supervisor) Close() {
	p := &s.pool
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	for _, idle := range p.idle {
		for _, sb := range idle {
			sb.discard()
		}
	}
	clear(p.idle)
}
