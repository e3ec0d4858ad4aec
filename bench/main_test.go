package bench

import (
	"flag"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/hadronhq/hadron/internal/provision/codebuild"
)

// Knobs of a run, for development; the defaults are what README.md reports.
var (
	flagEnvs     = flag.Int("envs", 10_000, "environments in the store for the API benchmarks")
	flagSamples  = flag.Int("samples", 200, "samples of each latency benchmark (cancel, dispatch, supervisor)")
	flagCell     = flag.Duration("cell", 3*time.Second, "duration of one API throughput cell (operation x clients x server)")
	flagPostgres = flag.String("postgres", os.Getenv("HADRON_TEST_POSTGRES_URL"), "PostgreSQL server for the PostgreSQL benchmarks (each makes a database of its own there); default $HADRON_TEST_POSTGRES_URL, none skips them")
	flagUpdates  = flag.Int("updates", 1000, "environment updates of the deployment throughput benchmark")
	flagProfile  = flag.String("profile", "", "directory to write a CPU profile of each Hadron throughput cell to (cpu-<operation>-<clients>.pprof)")
)

func TestMain(m *testing.M) {
	// Provisioning commands re-exec this test binary as their supervisor.
	codebuild.MaybeSupervise()
	flag.Parse()
	report.loadStart = loadAverage()
	code := m.Run()
	closeFixtures()
	report.print(os.Stdout)
	if err := report.save("results"); err != nil {
		fmt.Fprintln(os.Stderr, "bench: save results:", err)
	}
	os.Exit(code)
}
