package engine_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hadronhq/hadron/internal/engine"
	"github.com/hadronhq/hadron/internal/provision/codebuild"
	"github.com/hadronhq/hadron/internal/store"
)

// lockedBuffer is a bytes.Buffer safe for a logger's concurrent writes.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// records returns the JSON log records with the given message, by deployment id.
func (l *lockedBuffer) records(t *testing.T, msg string) map[string]map[string]any {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string]map[string]any{}
	sc := bufio.NewScanner(bytes.NewReader(l.b.Bytes()))
	for sc.Scan() {
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("log line %q is not JSON: %v", sc.Text(), err)
		}
		if rec["msg"] == msg {
			out[rec["deployment"].(string)] = rec
		}
	}
	return out
}

// The server's log shows each deployment: a line when it starts (resource,
// engine, where its own log is) and one when it ends (status, duration), at
// WARN when it failed.
func TestServerLogShowsEachDeploymentsStartAndEnd(t *testing.T) {
	t.Parallel()
	var logs lockedBuffer
	ended := make(chan string, 2)
	f := setup(t, func(c *engine.Config) {
		c.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
		c.OnFinish = func(d *store.Deployment) { ended <- d.ID }
	})
	f.start(t)
	ok := f.deploy(t, codebuildPlan(`true`))
	bad := f.deploy(t, codebuildPlan(`exit 4`))
	for range 2 {
		select {
		case <-ended:
		case <-time.After(20 * time.Second):
			t.Fatal("the deployments did not end")
		}
	}
	starts, ends := logs.records(t, "deployment started"), logs.records(t, "deployment finished")
	for _, tt := range []struct {
		d      *store.Deployment
		status string
		level  string
	}{{ok, store.StatusSucceeded, "INFO"}, {bad, store.StatusFailed, "WARN"}} {
		start := starts[tt.d.ID]
		if start == nil || start["resource"] != tt.d.TargetKey || start["engine"] != codebuild.Name || start["level"] != "INFO" {
			t.Errorf("start line of %s = %v; want INFO with resource %s and engine %s", tt.d.ID, start, tt.d.TargetKey, codebuild.Name)
		} else if path, _ := start["log"].(string); !strings.HasSuffix(path, tt.d.ID+".log") {
			t.Errorf("start line names the log %q, want the deployment's log file", path)
		} else if _, err := os.Stat(path); err != nil {
			t.Errorf("the log the start line names: %v", err)
		}
		end := ends[tt.d.ID]
		if end == nil || end["status"] != tt.status || end["level"] != tt.level || end["resource"] != tt.d.TargetKey {
			t.Errorf("end line of %s = %v; want %s at %s", tt.d.ID, end, tt.status, tt.level)
		} else if d, _ := end["duration"].(float64); d <= 0 {
			t.Errorf("end line's duration = %v, want a positive duration", end["duration"])
		}
	}
}

// Tools colour their output; the status message quoting it is plain text,
// while the deployment's log file keeps what the command wrote.
func TestFailureMessageDropsTerminalEscapesAndTheLogKeepsThem(t *testing.T) {
	t.Parallel()
	f := setup(t, nil)
	f.start(t)
	d := f.deploy(t, codebuildPlan(`printf '\033[31;1mError:\033[0m \033]8;;https://docs.test/x\033\\bad input\033]8;;\033\\\n'; exit 1`))
	got := f.waitEnded(t, d.ID)
	if got.Status != store.StatusFailed || !strings.Contains(got.StatusMessage, "Error: bad input") || strings.ContainsRune(got.StatusMessage, 0x1b) {
		t.Errorf("status = %s %q; want FAILED quoting the output as plain text", got.Status, got.StatusMessage)
	}
	raw, err := os.ReadFile(filepath.Join(f.dir, "logs", d.ID+".log"))
	if err != nil || !strings.Contains(string(raw), "\x1b[31;1mError:\x1b[0m") {
		t.Errorf("deployment log = %q, %v; want the command's colours kept", raw, err)
	}
}
