// Package deploylog holds the logs of deployments: where each one is, how a
// reader follows one while its deployment runs, and how old ones are
// removed (Retention). The engine writes them; the server reads them.
package deploylog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"
)

// Dir is the directory of the logs inside the data directory.
const Dir = "logs"

// DefaultPollInterval is how often a follower looks for more of a log.
const DefaultPollInterval = 250 * time.Millisecond

// Path is the log of deployment id under the data directory dataDir.
func Path(dataDir, id string) string {
	return filepath.Join(dataDir, Dir, id+".log")
}

// Follow copies the log at path to w from the start, and then what is
// appended to it, until ended reports that the deployment has ended: then
// what was written before its end is copied and Follow returns the end's
// status. A log that does not exist yet (the deployment is queued) is
// waited for. flush, when not nil, is called after each copy (to send a
// streamed HTTP answer on). ended is asked only when the log has nothing
// more to give, so the engine's last line, written before the deployment's
// end, is always copied.
func Follow(ctx context.Context, path string, w io.Writer, flush func(), every time.Duration, ended func(context.Context) (status string, done bool, err error)) (string, error) {
	if every <= 0 {
		every = DefaultPollInterval
	}
	ticker := time.NewTicker(every)
	defer ticker.Stop()
	var f *os.File
	defer func() {
		if f != nil {
			f.Close()
		}
	}()
	for {
		if f == nil {
			var err error
			f, err = os.Open(path)
			if err != nil && !errors.Is(err, os.ErrNotExist) {
				return "", fmt.Errorf("open deployment log: %w", err)
			}
		}
		if f != nil {
			if err := copyAll(w, f, flush); err != nil {
				return "", err
			}
		}
		status, done, err := ended(ctx)
		if err != nil {
			return "", err
		}
		if done {
			if f == nil {
				if f, err = os.Open(path); err != nil {
					if errors.Is(err, os.ErrNotExist) {
						return status, nil // it never ran: cancelled while queued
					}
					return "", fmt.Errorf("open deployment log: %w", err)
				}
			}
			return status, copyAll(w, f, flush)
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-ticker.C:
		}
	}
}

// copyAll copies what f has from its offset on to w.
func copyAll(w io.Writer, f *os.File, flush func()) error {
	n, err := io.Copy(w, f)
	if err != nil {
		return fmt.Errorf("copy deployment log: %w", err)
	}
	if n > 0 && flush != nil {
		flush()
	}
	return nil
}
