package bench

import (
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hadronhq/hadron/internal/api"
	"github.com/hadronhq/hadron/internal/deploylog"
	"github.com/hadronhq/hadron/internal/server"
	"github.com/hadronhq/hadron/internal/store/sqlite"
)

var (
	flagHistory     = flag.Int("history", 100_000, "largest history of the start-up benchmark, in finished deployments (it measures 0, 1000, 10000, ... up to this)")
	flagStartupRuns = flag.Int("startup-runs", 5, "starts per history size of the start-up benchmark")
)

const (
	// histEnv is the one environment the start-up benchmark creates through
	// the API; the others are copies of its row.
	histEnv = "hist-00000"
	// histPerEnv is how many deployments each environment of a history has
	// (up to histMaxEnvs environments).
	histPerEnv  = 100
	histMaxEnvs = 1000
)

// BenchmarkStartup starts a server on data directories with histories of 0,
// 10^3, 10^4 and 10^5 finished deployments (capped by -history), -startup-runs
// times each, and measures from the start (opening the SQLite store) to the
// answer of a first ListEnvironments. The phases are shown apart: opening
// the store (with its migration check) is the same run's reference for a
// start that reads no history, and the history of size 0 is a start on an
// empty store.
func BenchmarkStartup(b *testing.B) {
	ctx := context.Background()
	seed, err := os.MkdirTemp("", "hadron-bench-startup-seed-")
	if err != nil {
		b.Fatal(err)
	}
	defer os.RemoveAll(seed)
	if err := makeHistorySeed(ctx, seed); err != nil {
		b.Fatal(err)
	}
	sizes := []int{0}
	for n := 1000; n <= *flagHistory; n *= 10 {
		sizes = append(sizes, n)
	}
	for range b.N {
		lines := []string{fmt.Sprintf("  %-11s %-46s %5s %9s %9s %9s", "deployments", "measurement (ms)", "runs", "min", "median", "max")}
		for _, n := range sizes {
			dir, err := historyDir(ctx, seed, n)
			if err != nil {
				b.Fatal(err)
			}
			var open, start, first, total []time.Duration
			for range *flagStartupRuns {
				p, err := startOnce(ctx, dir)
				if err != nil {
					os.RemoveAll(dir)
					b.Fatalf("history %d: %v", n, err)
				}
				open, start, first, total = append(open, p.open), append(start, p.start), append(first, p.first), append(total, p.total)
			}
			os.RemoveAll(dir)
			b.ReportMetric(float64(median(total))/1e6, fmt.Sprintf("startup-%d-ms", n))
			for i, row := range []struct {
				name string
				s    []time.Duration
			}{
				{"start -> first ListEnvironments answered", total},
				{"  sqlite.Open (migration check)", open},
				{"  server.New (recovery, sweeps, engine start)", start},
				{"  first ListEnvironments call", first},
			} {
				label := ""
				if i == 0 {
					label = fmt.Sprint(n)
				}
				s := summarize(row.s)
				lines = append(lines, fmt.Sprintf("  %-11s %-46s %5d %9s %9s %9s", label, row.name, s.N, ms(s.Min), ms(median(row.s)), ms(s.Max)))
			}
		}
		report.add(fmt.Sprintf("13. Start-up time versus history size (%d starts per size, in process: sqlite.Open + server.New + serve, then ListEnvironments over HTTP; %d deployments per environment, up to %d environments, an empty log file each; log retention on, as hadron serve's defaults)",
			*flagStartupRuns, histPerEnv, histMaxEnvs), lines)
	}
}

// median is the middle of samples (sorted in place), the lower one of the
// two middles of an even count.
func median(samples []time.Duration) time.Duration {
	if len(samples) == 0 {
		return 0
	}
	slices.Sort(samples)
	return samples[(len(samples)-1)/2]
}

type startPhases struct{ open, start, first, total time.Duration }

// startOnce starts a server on dir as startHadronIn does (without removing
// dir), asks it for ListEnvironments, and stops it.
func startOnce(ctx context.Context, dir string) (startPhases, error) {
	var p startPhases
	begin := time.Now()
	var opened time.Time
	h, err := startHadronWith("startup", dir, func(c *server.Config) error {
		st, err := sqlite.Open(ctx, filepath.Join(dir, server.DatabaseFile))
		opened = time.Now()
		c.Store = st
		// Log retention on, as hadron serve's defaults have it
		// (--log-retention-age 30d, --log-retention-size 1G).
		c.LogRetentionAge, c.LogRetentionBytes = deploylog.DefaultMaxAge, deploylog.DefaultMaxBytes
		return err
	})
	if err != nil {
		return p, err
	}
	defer h.stop()
	started := time.Now()
	raw, err := h.c.Raw(ctx, "ListEnvironments", []byte(`{"maxResults": 10}`))
	answered := time.Now()
	if err != nil {
		return p, err
	}
	var out api.ListEnvironmentsOutput
	if err := json.Unmarshal(raw, &out); err != nil {
		return p, err
	}
	return startPhases{open: opened.Sub(begin), start: started.Sub(opened), first: answered.Sub(started), total: answered.Sub(begin)}, nil
}

// makeHistorySeed makes, in dir, the database every history is grown from:
// a customer-managed environment template and the environment histEnv,
// created through the API, with its one deployment SUCCEEDED.
func makeHistorySeed(ctx context.Context, dir string) error {
	h, err := startHadronIn("startup-seed", dir)
	if err != nil {
		return err
	}
	defer h.stop()
	if err := h.registerTemplate(ctx, "hist", "customer-managed", "CUSTOMER_MANAGED"); err != nil {
		return err
	}
	var out api.CreateEnvironmentOutput
	if err := h.c.Call(ctx, "CreateEnvironment", map[string]string{
		"name": histEnv, "templateName": "hist", "templateMajorVersion": "1", "spec": yamlSpec("vpc_id", "vpc-00000000"),
	}, &out); err != nil {
		return err
	}
	_, _, err = h.waitDeployment(ctx, out.Environment.LastAttemptedDeploymentId, time.Millisecond, setupTimeout)
	return err
}

// historyDir makes a data directory with n finished deployments: a copy of
// the seed's database grown by historyGrow, and an empty log file for each
// deployment, as finished runs leave one. n = 0 is a new, empty store.
func historyDir(ctx context.Context, seed string, n int) (string, error) {
	dir, err := os.MkdirTemp("", fmt.Sprintf("hadron-bench-startup-%d-", n))
	if err != nil {
		return "", err
	}
	err = func() error {
		path := filepath.Join(dir, server.DatabaseFile)
		if n > 0 {
			if err := copyFile(filepath.Join(seed, server.DatabaseFile), path); err != nil {
				return err
			}
		}
		// Open runs the migrations (all of them on the empty store, none on
		// the seed's copy): the starts measured find the schema current.
		st, err := sqlite.Open(ctx, path)
		if err != nil {
			return err
		}
		st.Close()
		if n == 0 {
			return nil
		}
		ids, err := historyGrow(ctx, path, n)
		if err != nil {
			return fmt.Errorf("grow history to %d deployments: %w", n, err)
		}
		if err := os.MkdirAll(filepath.Join(dir, deploylog.Dir), 0o700); err != nil {
			return err
		}
		for _, id := range ids {
			f, err := os.OpenFile(deploylog.Path(dir, id), os.O_CREATE|os.O_WRONLY, 0o600)
			if err != nil {
				return err
			}
			f.Close()
		}
		return nil
	}()
	if err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	return dir, nil
}

// historyGrow turns the seed's one environment and one deployment into
// n SUCCEEDED deployments over min(max(n/histPerEnv, 1), histMaxEnvs)
// environments, in one transaction, by copying the seed's rows with SQL
// (every column as the store wrote it, but for names, ids and times), and
// points each environment at its newest deployment. It returns the ids of
// all deployments.
func historyGrow(ctx context.Context, path string, n int) ([]string, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=foreign_keys(1)&_txlock=immediate")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	var seedKey, seedID string
	if err := tx.QueryRowContext(ctx, `SELECT key FROM resources WHERE type = 'ENVIRONMENT' AND name = ?`, histEnv).Scan(&seedKey); err != nil {
		return nil, fmt.Errorf("seed environment: %w", err)
	}
	var deployments int
	if err := tx.QueryRowContext(ctx, `SELECT count(*), max(id) FROM deployments`).Scan(&deployments, &seedID); err != nil || deployments != 1 {
		return nil, fmt.Errorf("seed deployment: %d deployments (want 1), %v", deployments, err)
	}
	envs := min(max(n/histPerEnv, 1), histMaxEnvs)
	// x numbers the copies; environment x mod envs gets copy x.
	envName := func(x string) string { return `printf('hist-%05d', ` + x + `)` }
	rename := func(col, x string) string { return `replace(` + col + `, '` + histEnv + `', ` + envName(x) + `)` }
	copies := func(count int) string {
		return fmt.Sprintf(`WITH RECURSIVE copy(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM copy WHERE x < %d) `, count)
	}
	if envs > 1 {
		cols, err := tableColumns(ctx, tx, "resources")
		if err != nil {
			return nil, err
		}
		exprs := make([]string, len(cols))
		for i, c := range cols {
			exprs[i] = c
			if c == "key" || c == "name" || c == "environment_name" {
				exprs[i] = rename(c, "x")
			}
		}
		q := `INSERT INTO resources (` + strings.Join(cols, ", ") + `) ` + copies(envs-1) +
			`SELECT ` + strings.Join(exprs, ", ") + ` FROM resources, copy WHERE key = ?`
		if _, err := tx.ExecContext(ctx, q, seedKey); err != nil {
			return nil, fmt.Errorf("copy environments: %w", err)
		}
	}
	if n > 1 {
		cols, err := tableColumns(ctx, tx, "deployments")
		if err != nil {
			return nil, err
		}
		cols = slices.DeleteFunc(cols, func(c string) bool { return c == "seq" })
		exprs := make([]string, len(cols))
		env := fmt.Sprintf("(x %% %d)", envs)
		for i, c := range cols {
			switch c {
			case "id":
				// Unique, and shaped like the UUIDs the API makes.
				exprs[i] = `printf('%08x-0000-4000-8000-000000000000', x)`
			case "target_key", "environment_name":
				exprs[i] = rename(c, env)
			case "created_at", "last_modified_at", "completed_at", "target_created_at":
				// A minute apart, the newest last.
				exprs[i] = fmt.Sprintf("%s - (%d - x) * 60000", c, n)
			default:
				exprs[i] = c
			}
		}
		q := `INSERT INTO deployments (` + strings.Join(cols, ", ") + `) ` + copies(n-1) +
			`SELECT ` + strings.Join(exprs, ", ") + ` FROM deployments, copy WHERE id = ?`
		if _, err := tx.ExecContext(ctx, q, seedID); err != nil {
			return nil, fmt.Errorf("copy deployments: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE resources SET
			last_attempted_deployment_id = (SELECT id FROM deployments d WHERE d.target_key = resources.key ORDER BY seq DESC LIMIT 1),
			last_succeeded_deployment_id = (SELECT id FROM deployments d WHERE d.target_key = resources.key ORDER BY seq DESC LIMIT 1)
			WHERE type = 'ENVIRONMENT'`); err != nil {
			return nil, fmt.Errorf("point environments at their deployments: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	rows, err := db.QueryContext(ctx, `SELECT id FROM deployments`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(ids) != n {
		return nil, fmt.Errorf("%d deployments, want %d", len(ids), n)
	}
	return ids, nil
}

// tableColumns lists the columns of table, in order.
func tableColumns(ctx context.Context, tx *sql.Tx, table string) ([]string, error) {
	rows, err := tx.QueryContext(ctx, `SELECT name FROM pragma_table_info(?)`, table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var cols []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, err
		}
		cols = append(cols, c)
	}
	return cols, rows.Err()
}
