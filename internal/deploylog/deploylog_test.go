package deploylog_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hadronhq/hadron/internal/deploylog"
)

// writeLog writes a log of size bytes last written at mod.
func writeLog(t *testing.T, dir, id string, size int, mod time.Time) {
	t.Helper()
	path := filepath.Join(dir, id+".log")
	if err := os.WriteFile(path, bytes.Repeat([]byte("x"), size), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, mod, mod); err != nil {
		t.Fatal(err)
	}
}

func TestRetentionRemovesOldThenOldestLogsButNeverOneInProgress(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	for _, c := range []struct {
		name     string
		maxAge   time.Duration
		maxBytes int64
		active   []string
		want     []string // removed, oldest first
	}{
		{name: "age only", maxAge: 10 * day, want: []string{"a-40d", "b-20d"}},
		{name: "age keeps one in progress", maxAge: 10 * day, active: []string{"a-40d"}, want: []string{"b-20d"}},
		{name: "size removes the oldest until under", maxBytes: 250, want: []string{"a-40d", "b-20d"}},
		{name: "size passes over one in progress", maxBytes: 250, active: []string{"a-40d"}, want: []string{"b-20d", "c-5d"}},
		{name: "no limit removes nothing", want: nil},
		{name: "everything in progress is kept", maxAge: time.Nanosecond, maxBytes: 1, active: []string{"a-40d", "b-20d", "c-5d", "d-1h"}, want: nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			writeLog(t, dir, "a-40d", 100, now.Add(-40*day))
			writeLog(t, dir, "b-20d", 100, now.Add(-20*day))
			writeLog(t, dir, "c-5d", 100, now.Add(-5*day))
			writeLog(t, dir, "d-1h", 100, now.Add(-time.Hour))
			os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not a log"), 0o600)
			r := &deploylog.Retention{Dir: dir, MaxAge: c.maxAge, MaxBytes: c.maxBytes, Now: func() time.Time { return now },
				Active: func(_ context.Context, id string) (bool, error) { return slices.Contains(c.active, id), nil }}
			removed, err := r.Sweep(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(removed, c.want) {
				t.Errorf("removed %v, want %v", removed, c.want)
			}
			for _, id := range []string{"a-40d", "b-20d", "c-5d", "d-1h"} {
				_, err := os.Stat(filepath.Join(dir, id+".log"))
				if gone := os.IsNotExist(err); gone != slices.Contains(c.want, id) {
					t.Errorf("%s: gone = %v, want %v", id, gone, !gone)
				}
			}
			if _, err := os.Stat(filepath.Join(dir, "notes.txt")); err != nil {
				t.Errorf("a file that is not a log was touched: %v", err)
			}
		})
	}
}

// lockedBuffer is a Writer safe to read while Follow writes it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestFollowWaitsForTheLogAndCopiesItToTheDeploymentsEnd(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "d.log")
	var (
		out    lockedBuffer
		ended  atomic.Bool
		copied = make(chan struct{}, 100)
	)
	done := make(chan error, 1)
	var status string
	go func() {
		var err error
		status, err = deploylog.Follow(context.Background(), path, &out, func() { copied <- struct{}{} }, time.Millisecond,
			func(context.Context) (string, bool, error) {
				if ended.Load() {
					return "SUCCEEDED", true, nil
				}
				return "IN_PROGRESS", false, nil
			})
		done <- err
	}()
	// The log does not exist yet (queued); then it is written in two parts.
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	f.WriteString("first\n")
	<-copied
	if got := out.String(); got != "first\n" {
		t.Fatalf("after the first line: %q", got)
	}
	// The last line is written before the end is reported: Follow must copy it.
	f.WriteString("last\n")
	ended.Store(true)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "first\nlast\n" || status != "SUCCEEDED" {
		t.Errorf("followed %q ending %s, want first and last lines ending SUCCEEDED", got, status)
	}
}

func TestFollowEndsWithItsContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := deploylog.Follow(ctx, filepath.Join(t.TempDir(), "never.log"), &lockedBuffer{}, nil, time.Millisecond,
			func(context.Context) (string, bool, error) { return "IN_PROGRESS", false, nil })
		done <- err
	}()
	cancel()
	if err := <-done; err == nil || !strings.Contains(err.Error(), "canceled") {
		t.Errorf("Follow after cancel = %v, want context canceled", err)
	}
}

// retentionWithOldLog is a Retention on a directory holding one log older
// than its MaxAge, whose Active reports each sweep's look at that log on
// swept.
func retentionWithOldLog(t *testing.T, firstSweep time.Duration) (r *deploylog.Retention, log string, swept chan struct{}) {
	t.Helper()
	dir := t.TempDir()
	writeLog(t, dir, "old", 10, time.Now().Add(-48*time.Hour))
	swept = make(chan struct{}, 1)
	r = &deploylog.Retention{Dir: dir, MaxAge: time.Hour, FirstSweep: firstSweep, Interval: time.Hour,
		Active: func(context.Context, string) (bool, error) {
			select {
			case swept <- struct{}{}:
			default:
			}
			return false, nil
		}}
	return r, filepath.Join(dir, "old.log"), swept
}

func TestRetentionDoesNotSweepAtStartSoThatStartupIsFlatInHistory(t *testing.T) {
	t.Parallel()
	r, log, _ := retentionWithOldLog(t, time.Hour)
	r.Start(context.Background())
	r.Stop()
	if _, err := os.Stat(log); err != nil {
		t.Errorf("a log was removed by a retention stopped before its first sweep: %v", err)
	}
}

func TestRetentionSweepsOnceItsFirstSweepIsDue(t *testing.T) {
	t.Parallel()
	r, log, swept := retentionWithOldLog(t, time.Millisecond)
	r.Start(context.Background())
	select {
	case <-swept:
	case <-time.After(time.Minute):
		t.Fatal("no sweep within a minute of a first sweep due after 1ms")
	}
	// Stop waits for the sweep in progress, which removes the log.
	r.Stop()
	if _, err := os.Stat(log); !os.IsNotExist(err) {
		t.Errorf("the old log is still there after the first sweep: %v", err)
	}
}
