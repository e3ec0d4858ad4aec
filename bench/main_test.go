package bench

import (
	"flag"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/hadronhq/hadron/internal/hadrontest"
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

// supervisor is the standalone hadron-supervisor the benchmark servers
// start their runs under, as an installed server does.
var supervisor *codebuild.Supervisor

func TestMain(m *testing.M) {
	// BenchmarkSupervisor also re-execs this test binary as a supervisor,
	// as a server without hadron-supervisor beside it does.
	codebuild.MaybeSupervise()
	flag.Parse()
	report.loadStart = loadAverage()
	dir, err := os.MkdirTemp("", "hadron-bench-supervisor-")
	if err == nil {
		supervisor, err = buildSupervisor(dir)
		defer os.RemoveAll(dir)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	code := m.Run()
	closeFixtures()
	report.print(os.Stdout)
	if err := report.save("results"); err != nil {
		fmt.Fprintln(os.Stderr, "bench: save results:", err)
	}
	os.RemoveAll(dir)
	os.Exit(code)
}

func buildSupervisor(dir string) (*codebuild.Supervisor, error) {
	path, err := hadrontest.BuildSupervisor(dir)
	if err != nil {
		return nil, err
	}
	return codebuild.OpenSupervisor(path)
}
