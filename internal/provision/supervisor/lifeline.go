package supervisor

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// The lifeline: a pipe from the server to its supervisor (LifelineFD).
//
// The first message on it is the run (assignment.go), which holds the
// run's first fence (provision.Fence). The server writes every later one as
// a line "fence <CLOCK_MONOTONIC nanoseconds>", whenever the engine extends
// the lease. A time of the monotonic clock, which both processes share (no
// time namespace is made): a step of the wall clock cannot move it, and
// neither can the time the line takes to reach the supervisor (a duration
// would start late). The supervisor kills its group when the last fence it
// read passes; a paused server writes nothing more, and
// its supervisor, which is not paused, does the rest.
//
// A cancel comes on it too, as the line "term": the supervisor notes that
// the run is stopping before it sends SIGTERM to its group itself. Were
// the server to signal the group, the supervisor could see its shell die
// of the SIGTERM before it saw the signal, take the end for an ordinary
// one and exit, leaving a script that traps TERM without an owner.
//
// The end of a cancel's grace period comes as the line "kill": the
// supervisor SIGKILLs every process of the run, reaps them, and exits
// (see the top of supervisor.go). The server SIGKILLs the group itself only
// if the supervisor has not done so stopTimeout later.
//
// The server never closes its end while the supervisor runs, so end of
// file means the server is gone (or gave the run up, StopError): the
// supervisor kills its group then too.

// Lines of the lifeline.
const (
	// LineFence, followed by a CLOCK_MONOTONIC time in nanoseconds
	// (MonotonicNow), sets the fence.
	LineFence = "fence "
	// LineTerm is a cancel.
	LineTerm = "term"
	// LineKill ends a cancel's grace period.
	LineKill = "kill"
)

// lifeline is what the supervisor reads on its lifeline, as events for its
// main loop: only the main loop's thread may signal the run (see supervise).
type lifeline struct {
	term   chan struct{} // a cancel: one value per "term" line
	kill   chan struct{} // the grace period is over: closed at the "kill" line
	fences chan int64    // each fence, as a CLOCK_MONOTONIC time
	gone   chan struct{} // closed at end of file: the server is gone
}

// watchLifeline starts reading f.
func watchLifeline(f *os.File) *lifeline {
	l := &lifeline{term: make(chan struct{}, 1), kill: make(chan struct{}), fences: make(chan int64, 1), gone: make(chan struct{})}
	go func() {
		defer close(l.gone)
		sc := bufio.NewScanner(f)
		killed := false
		for sc.Scan() {
			line := sc.Text()
			if line == LineKill {
				if !killed {
					killed = true
					close(l.kill)
				}
				continue
			}
			if line == LineTerm {
				select {
				case l.term <- struct{}{}:
				default: // one pending is as good as two
				}
				continue
			}
			rest, ok := strings.CutPrefix(line, LineFence)
			ns, err := strconv.ParseInt(rest, 10, 64)
			if !ok || err != nil {
				continue
			}
			l.fences <- ns
		}
	}()
	return l
}

// fenceKill kills the group because the server did not extend the fence in
// time: another node may take the deployment over soon.
func fenceKill() {
	fmt.Fprintf(os.Stderr, "\n[hadron] this node could not renew its lease on the deployment in time: stopping the commands (SIGKILL) before another node may take it over\n")
	killGroup()
}

// MonotonicNow reads CLOCK_MONOTONIC in nanoseconds.
func MonotonicNow() int64 {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts) // cannot fail for this clock
	return ts.Nano()
}

// untilMonotonic is the time left until t of CLOCK_MONOTONIC.
func untilMonotonic(t int64) time.Duration { return time.Duration(t - MonotonicNow()) }
