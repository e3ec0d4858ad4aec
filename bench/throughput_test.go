package bench

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/hadronhq/hadron/internal/engine"
	"github.com/hadronhq/hadron/internal/server"
)

// throughputTarget is issue 18's goal for deployment throughput on SQLite.
const throughputTarget = 200.0 // deployments/s

// BenchmarkDeployThroughput is BenchmarkDeployThroughputPostgres on one
// server with its SQLite store, the default installation: -updates
// UpdateEnvironment calls from 16 clients, each deployment's command exiting
// at once. Before it, -samples runs of `/bin/sh -c true` one after the other
// give the same run's fork/exec reference: every deployment starts at least
// one process, so 1/p50 of it is about what one serial worker could reach
// if starting the command were all it did.
func BenchmarkDeployThroughput(b *testing.B) {
	lines := []string{throughputHeader()}
	for range b.N {
		var forks []time.Duration
		for range *flagSamples {
			_, total, err := forkExec()
			if err != nil {
				b.Fatal(err)
			}
			forks = append(forks, total)
		}
		fork := summarize(forks)
		r, err := deployThroughputSQLite(*flagUpdates)
		if err != nil {
			b.Fatal(err)
		}
		verdict := "met"
		if r.rate < throughputTarget {
			verdict = "MISSED"
		}
		lines = append(lines, throughputLine(b, 1, *flagUpdates, r)+fmt.Sprintf("  >= %.0f/s: %s", throughputTarget, verdict),
			fmt.Sprintf("  reference, before it: os/exec /bin/sh -c true started and reaped, %d runs one after the other: p50 %s ms, p99 %s ms (1/p50 = %.0f/s per serial worker)",
				fork.N, ms(fork.P50), ms(fork.P99), float64(time.Second)/float64(fork.P50)))
	}
	report.add(fmt.Sprintf("12. Deployment throughput on SQLite: %d environment updates, command exits at once, 16 clients, one server with %d workers; dispatch = update answered -> command started", *flagUpdates, engine.DefaultWorkers), lines)
}

// deployThroughputSQLite runs one measurement on a new server, reading the
// deployments' statuses from its database file through connections of
// its own (WAL: readers do not block the server's writer).
func deployThroughputSQLite(updates int) (throughputResult, error) {
	h, err := startHadron("deploy-sqlite", "")
	if err != nil {
		return throughputResult{}, err
	}
	defer h.close()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(h.dataDir, server.DatabaseFile)+"?mode=ro&_pragma=busy_timeout(10000)")
	if err != nil {
		return throughputResult{}, err
	}
	defer db.Close()
	return deployThroughput([]*hadron{h}, func(ctx context.Context, query string, dest ...any) error {
		return db.QueryRowContext(ctx, query).Scan(dest...)
	}, updates)
}
