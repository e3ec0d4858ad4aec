package codebuild

import (
	"context"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/hadronhq/hadron/internal/provision/sandbox"
)

// BenchmarkRunTrivialCommand measures one Run of `true`: directory setup,
// the phase script, the supervisor (the standalone one, and a re-exec of
// this binary), the shell, and the checks after it. Compare with
// BenchmarkShellBaseline for the supervisor's share. The start-µs metric is
// the time from Run's call to the command's start inside the shell
// (OnStart).
func BenchmarkRunTrivialCommand(b *testing.B) {
	for _, sup := range []struct {
		name string
		s    *Supervisor
	}{{"standalone", testSupervisor}, {"reexec", nil}} {
		b.Run(sup.name, func(b *testing.B) {
			base := b.TempDir()
			var startTotal time.Duration
			for i := 0; b.Loop(); i++ {
				begin := time.Now()
				_, err := Run(context.Background(), Job{
					Dir:        filepath.Join(base, strconv.Itoa(i)),
					Commands:   []string{"true"},
					OnStart:    func(int) { startTotal += time.Since(begin) },
					Supervisor: sup.s,
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(startTotal.Microseconds())/float64(b.N), "start-µs/op")
		})
	}
}

// BenchmarkShellBaseline is `/bin/sh -c true` started directly, without
// a supervisor, for comparison.
func BenchmarkShellBaseline(b *testing.B) {
	for b.Loop() {
		if err := exec.Command("/bin/sh", "-c", "true").Run(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRunIsolation measures what isolation costs a command's start:
// each iteration runs `true` once without isolation and once with this
// machine's policy (sandbox.Setup, best effort), alternating so that both
// see the same load. start-p50/p99 is the time from Run's call to the
// shell having started (the supervisor's re-exec, and for the isolated
// run its namespaces, chown, rlimits and Landlock); run-p50/p99 is the
// whole Run.
func BenchmarkRunIsolation(b *testing.B) {
	h := newHostileData(b)
	b.Logf("%s", h.status)
	var start, total [2][]time.Duration // [0] off, [1] on
	for i := 0; b.Loop(); i++ {
		for mode, policy := range []*sandbox.Policy{nil, h.policy} {
			begin := time.Now()
			job, _ := h.job("true")
			job.Log = nil
			job.Isolation = policy
			job.OnStart = func(int) { start[mode] = append(start[mode], time.Since(begin)) }
			if _, err := Run(context.Background(), job); err != nil {
				b.Fatal(err)
			}
			total[mode] = append(total[mode], time.Since(begin))
		}
	}
	for mode, name := range []string{"off", "on"} {
		for what, d := range map[string][]time.Duration{"start": start[mode], "run": total[mode]} {
			slices.Sort(d)
			b.ReportMetric(float64(percentile(d, 50).Microseconds()), what+"-p50-µs-"+name)
			b.ReportMetric(float64(percentile(d, 99).Microseconds()), what+"-p99-µs-"+name)
		}
	}
}

// percentile is the p-th percentile of sorted durations (nearest rank).
func percentile(sorted []time.Duration, p int) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := (len(sorted)*p + 99) / 100
	return sorted[max(i-1, 0)]
}

// BenchmarkRunFiveCommands measures one Run of five trivial commands: with
// one shell per phase, the shell's start is paid once, not per command.
func BenchmarkRunFiveCommands(b *testing.B) {
	base := b.TempDir()
	for i := 0; b.Loop(); i++ {
		_, err := Run(context.Background(), Job{
			Dir:      filepath.Join(base, strconv.Itoa(i)),
			Commands: []string{"true", "true", "true", "true", "true"},
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}
