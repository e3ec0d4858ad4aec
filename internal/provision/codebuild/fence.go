package codebuild

import (
	"fmt"
	"io"
	"time"

	"github.com/hadronhq/hadron/internal/provision"
	"github.com/hadronhq/hadron/internal/provision/supervisor"
)

// The lifeline and its lines are described in package supervisor
// (lifeline.go).

// fenceAt is fence f as a CLOCK_MONOTONIC time, and a channel closed when
// it moves.
func fenceAt(f *provision.Fence) (int64, <-chan struct{}) {
	until, changed := f.Until()
	return supervisor.MonotonicNow() + int64(time.Until(until)), changed
}

// writeFence tells the supervisor how long it has until fence f.
func writeFence(w io.Writer, f *provision.Fence) <-chan struct{} {
	at, changed := fenceAt(f)
	fmt.Fprintf(w, "%s%d\n", supervisor.LineFence, at)
	return changed
}

// feedFence writes every extension of f until done is closed.
func feedFence(w io.Writer, f *provision.Fence, changed <-chan struct{}, done <-chan struct{}) {
	for {
		select {
		case <-changed:
			changed = writeFence(w, f)
		case <-done:
			return
		}
	}
}
