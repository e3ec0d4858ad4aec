package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/hadronhq/hadron/internal/store"
)

// A run whose worker was lost (a crashed or killed server, a node that lost
// its lease) leaves its working directory behind and a log that stops
// mid-run. Whoever finds it ended removes the directory (it may hold the
// run's credentials files, state and secrets written by the commands) and
// ends the log with a line saying what happened, so that its reader does
// not take the silence for a run still going.

// lostLine is the last line of a lost run's log.
func lostLine(now time.Time, status string) string {
	return fmt.Sprintf("[hadron] %s worker lost: the server running this deployment stopped before the run ended "+
		"(it crashed, was killed, or lost its lease). Its commands were stopped with it; what they had done stays done, "+
		"so the resource may be partly provisioned. The deployment ended %s; deploy again to converge.\n",
		now.UTC().Format(time.RFC3339), status)
}

// closeLostRun removes deployment id's working directory from this data
// directory and ends its log there, if this node ran it, with lostLine.
func (e *Engine) closeLostRun(id, status string) {
	dir := filepath.Join(e.cfg.DataDir, "work", id)
	if err := os.RemoveAll(dir); err != nil {
		e.cfg.Logger.Warn("remove the working directory of a lost run", "deployment", id, "err", err)
	}
	path := filepath.Join(e.cfg.DataDir, "logs", id+".log")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_APPEND, 0)
	if err != nil {
		return // not run from this data directory
	}
	defer f.Close()
	if endsLog(f) {
		return
	}
	if _, err := f.WriteString("\n" + lostLine(e.cfg.Now(), status)); err != nil {
		e.cfg.Logger.Warn("end the log of a lost run", "deployment", id, "err", err)
	}
}

// endsLog reports whether the log already ends with the line of a run's
// end (its own, or a lost run's).
func endsLog(f *os.File) bool {
	st, err := f.Stat()
	if err != nil {
		return false
	}
	buf := make([]byte, min(st.Size(), 4096))
	if _, err := f.ReadAt(buf, st.Size()-int64(len(buf))); err != nil && !errors.Is(err, io.EOF) {
		return false
	}
	buf = bytes.TrimRight(buf, "\n")
	last := buf[bytes.LastIndexByte(buf, '\n')+1:]
	return bytes.HasPrefix(last, []byte("[hadron] deployment ended")) || bytes.Contains(last, []byte(" worker lost: "))
}

// sweepWork closes the lost runs whose working directories are still in
// this data directory although their deployments have ended (recovered by
// this node just now, or by another node sharing the store). It runs at
// start, before this engine runs anything; the directory of a deployment
// still active is left to whoever recovers it.
func (e *Engine) sweepWork(ctx context.Context) error {
	entries, err := os.ReadDir(filepath.Join(e.cfg.DataDir, "work"))
	if err != nil {
		return fmt.Errorf("engine: sweep working directories: %w", err)
	}
	for _, ent := range entries {
		d, err := e.cfg.Store.DeploymentGet(ctx, ent.Name())
		switch {
		case errors.Is(err, store.ErrNotFound):
			e.closeLostRun(ent.Name(), "unknown (the deployment is gone)")
		case err != nil:
			return fmt.Errorf("engine: sweep working directories: %w", err)
		case !store.IsActive(d.Status):
			e.closeLostRun(ent.Name(), d.Status)
		}
	}
	return nil
}
