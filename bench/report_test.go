package bench

import (
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// summary is the distribution of a set of durations.
type summary struct {
	N                  int
	Min, P50, P99, Max time.Duration
	Mean               time.Duration
	Negative           int // samples below zero (kept in the statistics)
}

// summarize sorts samples in place and describes them. P50 and P99 are the
// nearest-rank percentiles.
func summarize(samples []time.Duration) summary {
	s := summary{N: len(samples)}
	if s.N == 0 {
		return s
	}
	slices.Sort(samples)
	var total time.Duration
	for _, d := range samples {
		total += d
		if d < 0 {
			s.Negative++
		}
	}
	s.Min, s.Max = samples[0], samples[s.N-1]
	s.P50, s.P99 = percentile(samples, 50), percentile(samples, 99)
	s.Mean = total / time.Duration(s.N)
	return s
}

// percentile is the nearest-rank p-th percentile of sorted samples.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

// ms formats d in milliseconds with three decimals.
func ms(d time.Duration) string { return fmt.Sprintf("%.3f", float64(d)/float64(time.Millisecond)) }

// reportMetrics attaches s to b's result line, in milliseconds.
func reportMetrics(b *testing.B, prefix string, s summary) {
	b.ReportMetric(float64(s.P50)/1e6, prefix+"p50-ms")
	b.ReportMetric(float64(s.P99)/1e6, prefix+"p99-ms")
	b.ReportMetric(float64(s.Mean)/1e6, prefix+"mean-ms")
}

// results collects the tables of a run; TestMain prints them at the end.
type results struct {
	mu        sync.Mutex
	sections  []section
	loadStart string // /proc/loadavg when the run started
}

type section struct {
	title string
	lines []string
}

var report results

// add records a section and prints it at once too.
func (r *results) add(title string, lines []string) {
	r.mu.Lock()
	r.sections = append(r.sections, section{title, lines})
	r.mu.Unlock()
	fmt.Printf("\n%s\n%s\n", title, strings.Join(lines, "\n"))
}

func (r *results) write(w io.Writer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.sections) == 0 {
		return
	}
	host, _ := os.Hostname()
	fmt.Fprintf(w, "\n=== Hadron benchmark results, %s, %s/%s, %d CPUs (GOMAXPROCS %d), %s, host %s ===\n",
		time.Now().Format("2006-01-02 15:04 MST"), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.GOMAXPROCS(0), runtime.Version(), host)
	fmt.Fprintf(w, "load average (1, 5, 15 min) at start: %s, at end: %s\n", r.loadStart, loadAverage())
	for _, s := range r.sections {
		fmt.Fprintf(w, "\n%s\n%s\n", s.title, strings.Join(s.lines, "\n"))
	}
}

// loadAverage is the machine's load average, which says how much else ran
// beside the benchmark.
func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(data))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func (r *results) print(w io.Writer) { r.write(w) }

// save writes the results to dir/<timestamp>.txt and dir/latest.txt.
func (r *results) save(dir string) error {
	r.mu.Lock()
	empty := len(r.sections) == 0
	r.mu.Unlock()
	if empty {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var b strings.Builder
	r.write(&b)
	name := filepath.Join(dir, time.Now().Format("20060102-150405")+".txt")
	if err := os.WriteFile(name, []byte(b.String()), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "latest.txt"), []byte(b.String()), 0o644)
}

// latencyTable formats rows of named distributions with a target column.
type latencyRow struct {
	name   string
	s      summary
	target time.Duration // zero: no target
}

func latencyTable(rows []latencyRow) []string {
	lines := []string{fmt.Sprintf("  %-50s %6s %9s %9s %9s %9s %9s  %s", "measurement (ms)", "N", "p50", "p99", "mean", "min", "max", "target")}
	for _, r := range rows {
		target := ""
		if r.target > 0 {
			verdict := "met"
			if r.s.P99 >= r.target {
				verdict = "MISSED"
			}
			target = fmt.Sprintf("p99 < %s: %s", r.target, verdict)
		}
		lines = append(lines, fmt.Sprintf("  %-50s %6d %9s %9s %9s %9s %9s  %s", r.name, r.s.N, ms(r.s.P50), ms(r.s.P99), ms(r.s.Mean), ms(r.s.Min), ms(r.s.Max), target))
	}
	return lines
}

func TestPercentile(t *testing.T) {
	t.Parallel()
	var samples []time.Duration
	for i := 100; i >= 1; i-- {
		samples = append(samples, time.Duration(i)*time.Millisecond)
	}
	s := summarize(samples)
	want := summary{N: 100, Min: time.Millisecond, P50: 50 * time.Millisecond, P99: 99 * time.Millisecond,
		Max: 100 * time.Millisecond, Mean: 50500 * time.Microsecond}
	if s != want {
		t.Errorf("summarize(1..100 ms) = %+v, want %+v", s, want)
	}
	if got := summarize(nil); got != (summary{}) {
		t.Errorf("summarize(nil) = %+v, want zero", got)
	}
}
