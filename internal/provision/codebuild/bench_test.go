package codebuild

import (
	"context"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// BenchmarkRunTrivialCommand measures one Run of `true`: directory setup,
// the phase script, the supervisor's re-exec, the shell, and the checks
// after it. Compare with BenchmarkShellBaseline for the supervisor's share.
// The start-µs metric is the time from Run's call to the command's start
// inside the shell (OnStart).
func BenchmarkRunTrivialCommand(b *testing.B) {
	base := b.TempDir()
	var startTotal time.Duration
	for i := 0; b.Loop(); i++ {
		begin := time.Now()
		_, err := Run(context.Background(), Job{
			Dir:      filepath.Join(base, strconv.Itoa(i)),
			Commands: []string{"true"},
			OnStart:  func(int) { startTotal += time.Since(begin) },
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(startTotal.Microseconds())/float64(b.N), "start-µs/op")
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
