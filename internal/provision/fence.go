package provision

import (
	"sync"
	"time"
)

// Fence is the time by which a run must have stopped every process it
// started, unless the engine extends it first. The engine sets it a margin
// before the deployment's lease runs out and extends it at each renewal,
// so that a node that cannot renew (paused by SIGSTOP, a frozen VM, cut off
// from the database) has stopped its run before another node may recover
// the deployment and start the next one of the same resource. An engine
// that starts processes hands the fence to whatever outlives a paused
// server (the codebuild supervisor); an engine whose work is elsewhere
// (CloudFormation) may ignore it.
//
// A Fence is safe for concurrent use. A nil *Fence is no fence.
type Fence struct {
	mu      sync.Mutex
	until   time.Time
	changed chan struct{}
}

// NewFence returns a fence at until.
func NewFence(until time.Time) *Fence {
	return &Fence{until: until, changed: make(chan struct{})}
}

// Extend moves the fence to until, if that is later.
func (f *Fence) Extend(until time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !until.After(f.until) {
		return
	}
	f.until = until
	close(f.changed)
	f.changed = make(chan struct{})
}

// Until returns the fence and a channel closed when it next moves.
func (f *Fence) Until() (time.Time, <-chan struct{}) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.until, f.changed
}

// Passed reports whether the fence lies in the past.
func (f *Fence) Passed() bool {
	if f == nil {
		return false
	}
	until, _ := f.Until()
	return !time.Now().Before(until)
}
