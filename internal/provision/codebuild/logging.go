package codebuild

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const (
	// maxLogQueue bounds the output waiting for a slow Job.Log. Beyond it the
	// command's output pipe fills and the command blocks on its next write,
	// as it would on a slow terminal; our own notes never wait.
	maxLogQueue = 1 << 20
	// tailKeep is how much of a command's latest output is kept for
	// CommandError.Tail; tailLines and tailBytes bound the tail itself.
	tailKeep  = 8 << 10
	tailLines = 20
	tailBytes = 2 << 10
)

// logger writes to Job.Log from a single goroutine of its own, so that the
// Log is never written concurrently and a slow or stuck Log never delays
// Run's signals: a note queues without waiting.
type logger struct {
	w io.Writer

	mu      sync.Mutex
	cond    sync.Cond // signalled when the queue gains data or room, or on close
	queue   []byte
	midLine bool // the last byte queued was not a newline
	closed  bool

	done chan struct{}
}

func newLogger(w io.Writer) *logger {
	l := &logger{w: w, done: make(chan struct{})}
	l.cond.L = &l.mu
	if w == nil {
		l.w = io.Discard
	}
	go l.run()
	return l
}

func (l *logger) run() {
	defer close(l.done)
	var spare []byte
	broken := false
	for {
		l.mu.Lock()
		for len(l.queue) == 0 && !l.closed {
			l.cond.Wait()
		}
		if len(l.queue) == 0 {
			l.mu.Unlock()
			return
		}
		chunk := l.queue
		l.queue = spare[:0]
		l.cond.Broadcast() // room for output again
		l.mu.Unlock()

		// After the first error the Log is dropped: a broken log must not
		// break a deployment, and its writer would only fail again.
		if !broken {
			if _, err := l.w.Write(chunk); err != nil {
				broken = true
			}
		}
		spare = chunk
	}
}

// output queues a command's output, waiting while the queue is full.
func (l *logger) output(p []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for len(l.queue) >= maxLogQueue && !l.closed {
		l.cond.Wait()
	}
	if l.closed {
		return // a pump that outlived Run (StopError): nobody writes any more
	}
	l.queue = append(l.queue, p...)
	l.midLine = len(p) > 0 && p[len(p)-1] != '\n'
	l.cond.Broadcast()
}

// notef queues a line of our own, starting it on a fresh line. It never waits.
func (l *logger) notef(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.midLine {
		l.queue = append(l.queue, '\n')
	}
	l.queue = fmt.Appendf(l.queue, "[hadron] "+format+"\n", args...)
	l.midLine = false
	l.cond.Broadcast()
}

// close flushes everything queued to the Log and stops the writer.
func (l *logger) close() {
	l.mu.Lock()
	l.closed = true
	l.cond.Broadcast()
	l.mu.Unlock()
	<-l.done
}

// pump copies a phase's output pipe into the logger: it takes the script's
// markers out of the stream, masks secret values, notes each command's
// start and end in the log, and keeps the tail of the current command's
// output.
type pump struct {
	r       *os.File
	reading atomic.Bool // blocked in Read, as opposed to handing output on
	tail    tailBuffer  // the current command's output; read only after done
	done    chan struct{}
	// events receives every marker, in order; it is buffered for all the
	// markers a phase can write, so the pump never waits on it.
	events chan markerEvent

	log      *logger
	split    splitter
	mask     *masker
	commands []string
}

func startPump(r *os.File, l *logger, token string, commands []string, mask *masker) *pump {
	p := &pump{
		r:        r,
		done:     make(chan struct{}),
		events:   make(chan markerEvent, 2*len(commands)),
		log:      l,
		split:    splitter{start: []byte(markerStart + token + " ")},
		mask:     mask,
		commands: commands,
	}
	go func() {
		defer close(p.done)
		buf := make([]byte, 32<<10)
		for {
			p.reading.Store(true)
			n, err := r.Read(buf)
			p.reading.Store(false)
			if n > 0 {
				p.split.split(buf[:n], p.output, p.marker)
			}
			if err != nil {
				p.output(p.split.flush())
				p.emit(p.mask.flush())
				return
			}
		}
	}()
	return p
}

// output masks and hands on a piece of the commands' output.
func (p *pump) output(b []byte) { p.emit(p.mask.write(b)) }

func (p *pump) emit(b []byte) {
	if len(b) > 0 {
		p.tail.Write(b)
		p.log.output(b)
	}
}

// marker notes a command's start or end in the log and passes it on.
func (p *pump) marker(ev markerEvent) {
	if ev.index >= len(p.commands) {
		return // not written by our script: the token is ours alone
	}
	p.emit(p.mask.flush())
	if ev.end {
		p.log.notef("command exited with status %d", ev.status)
	} else {
		p.tail.Reset()
		// A YAML `|` block ends in a newline; the log needs no blank line.
		p.log.notef("$ %s", strings.TrimRight(p.commands[ev.index], "\n"))
	}
	select {
	case p.events <- ev:
	default: // more markers than the script writes: not ours
	}
}

// finish waits until the pipe reports end of file, which it does once every
// process holding its write end is gone. Only a process that left the
// process group (setsid) can hold it longer; once the pump has waited
// drain for more output and is idle in Read, finish stops it and reports
// true. The pipe is closed on return.
func (p *pump) finish(drain time.Duration) (abandoned bool) {
	defer p.r.Close()
	deadline := time.NewTimer(drain)
	defer deadline.Stop()
	select {
	case <-p.done:
		return false
	case <-deadline.C:
	}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		// A pump busy handing output to a slow Log is making progress; the
		// Log's speed is the caller's affair, so it is not cut short.
		if p.reading.Load() {
			p.r.SetReadDeadline(time.Unix(1, 0))
		}
		select {
		case <-p.done:
			return true
		case <-tick.C:
		}
	}
}

// tailBuffer keeps the last tailKeep bytes written to it (at most twice that
// in memory between compactions).
type tailBuffer struct{ buf []byte }

// Reset forgets what was written.
func (t *tailBuffer) Reset() { t.buf = t.buf[:0] }

func (t *tailBuffer) Write(p []byte) {
	t.buf = append(t.buf, p...)
	if len(t.buf) > 2*tailKeep {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-tailKeep:]...)
	}
}

// String returns the last tailLines lines, at most tailBytes, without the
// final newline.
func (t *tailBuffer) String() string {
	b := t.buf
	if len(b) > tailKeep {
		b = b[len(b)-tailKeep:]
	}
	s := strings.TrimRight(string(b), "\r\n")
	lines := strings.Split(s, "\n")
	if len(lines) > tailLines {
		s = strings.Join(lines[len(lines)-tailLines:], "\n")
	}
	if len(s) > tailBytes {
		s = s[len(s)-tailBytes:]
		if i := strings.IndexByte(s, '\n'); i >= 0 && i < len(s)-1 {
			s = s[i+1:] // start at a line boundary
		}
	}
	return strings.ToValidUTF8(s, "")
}
