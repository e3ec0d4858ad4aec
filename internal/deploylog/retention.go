package deploylog

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// Defaults of Retention.
const (
	// DefaultMaxAge keeps a log for 30 days after its last write.
	DefaultMaxAge = 30 * 24 * time.Hour
	// DefaultMaxBytes keeps the logs under 1 GiB in all.
	DefaultMaxBytes = 1 << 30
	// DefaultSweepInterval is how often old logs are looked for.
	DefaultSweepInterval = 10 * time.Minute
	// DefaultFirstSweep is how long after Start the first sweep runs. A
	// sweep reads every log's directory entry and size, so its cost grows
	// with the history (about 10^5 files after 10^5 deployments); right at
	// start it competed for the CPU with the server's first calls and made
	// start-up grow with the history. A minute's delay loses nothing: logs
	// are kept for days.
	DefaultFirstSweep = time.Minute
)

// Retention removes deployment logs older than MaxAge, then the oldest ones
// while all of them together are larger than MaxBytes. The log of a
// deployment in progress is never removed, whatever its age or size. Start
// it once; Stop is safe twice or before Start.
type Retention struct {
	// Dir holds the logs, <deployment id>.log.
	Dir string
	// MaxAge, when positive, is how long after its last write a log is kept.
	MaxAge time.Duration
	// MaxBytes, when positive, bounds the logs' total size.
	MaxBytes int64
	// Interval is how often Sweep runs (DefaultSweepInterval when zero).
	Interval time.Duration
	// FirstSweep is how long after Start the first sweep runs
	// (DefaultFirstSweep when zero).
	FirstSweep time.Duration
	// Active reports whether deployment id is in progress (its log is kept);
	// an error keeps the log too, until a later sweep.
	Active func(ctx context.Context, id string) (bool, error)
	Logger *slog.Logger
	// Now is the clock (time.Now when nil).
	Now func() time.Time

	stopOnce sync.Once
	cancel   context.CancelFunc
	done     chan struct{}
}

// Start sweeps after FirstSweep and then every Interval, until Stop. With
// neither MaxAge nor MaxBytes set it does nothing.
func (r *Retention) Start(ctx context.Context) {
	if r.MaxAge <= 0 && r.MaxBytes <= 0 {
		return
	}
	ctx, r.cancel = context.WithCancel(context.WithoutCancel(ctx))
	r.done = make(chan struct{})
	go func() {
		defer close(r.done)
		next := time.NewTimer(cmp.Or(r.FirstSweep, DefaultFirstSweep))
		defer next.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-next.C:
			}
			if _, err := r.Sweep(ctx); err != nil && ctx.Err() == nil {
				r.logger().Warn("log retention: sweep failed", "dir", r.Dir, "err", err)
			}
			next.Reset(cmp.Or(r.Interval, DefaultSweepInterval))
		}
	}()
}

// Stop ends the sweeps and waits for one in progress.
func (r *Retention) Stop() {
	r.stopOnce.Do(func() {
		if r.cancel != nil {
			r.cancel()
			<-r.done
		}
	})
}

type logFile struct {
	id   string
	path string
	size int64
	mod  time.Time
}

// Sweep removes the logs the limits say to, and returns the ids of the
// deployments whose logs it removed.
func (r *Retention) Sweep(ctx context.Context) ([]string, error) {
	entries, err := os.ReadDir(r.Dir)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("log retention: %w", err)
	}
	var logs []logFile
	var total int64
	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), ".log")
		if !ok || !e.Type().IsRegular() {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue // removed meanwhile
		}
		logs = append(logs, logFile{id: id, path: filepath.Join(r.Dir, e.Name()), size: info.Size(), mod: info.ModTime()})
		total += info.Size()
	}
	// Oldest first: the age limit takes from the front, and so does the size limit.
	slices.SortFunc(logs, func(a, b logFile) int { return a.mod.Compare(b.mod) })
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	var removed []string
	for _, l := range logs {
		tooOld := r.MaxAge > 0 && now().Sub(l.mod) > r.MaxAge
		tooBig := r.MaxBytes > 0 && total > r.MaxBytes
		if !tooOld && !tooBig {
			continue
		}
		active, err := r.Active(ctx, l.id)
		if err != nil {
			return removed, fmt.Errorf("log retention: is deployment %s in progress: %w", l.id, err)
		}
		if active {
			continue
		}
		if err := os.Remove(l.path); err != nil && !os.IsNotExist(err) {
			return removed, fmt.Errorf("log retention: %w", err)
		}
		total -= l.size
		removed = append(removed, l.id)
		reason := "age"
		if !tooOld {
			reason = "size"
		}
		r.logger().Info("log retention: removed a deployment's log", "deployment", l.id, "reason", reason, "bytes", l.size, "last_write", l.mod.UTC().Format(time.RFC3339))
	}
	return removed, nil
}

func (r *Retention) logger() *slog.Logger {
	if r.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return r.Logger
}
