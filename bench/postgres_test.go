package bench

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hadronhq/hadron/internal/engine"
	"github.com/hadronhq/hadron/internal/server"
	"github.com/hadronhq/hadron/internal/store/postgres"
	"github.com/jackc/pgx/v5"

	"github.com/hadronhq/hadron/internal/api"
	"github.com/hadronhq/hadron/internal/hadrontest"
)

// The PostgreSQL benchmarks: the API throughput cells of BenchmarkAPI on a
// server whose store is PostgreSQL, and deployment throughput through one
// and through three nodes sharing a database. Each makes a database of its
// own on the -postgres server and drops it at the end.

// pgDatabase creates a new database on the -postgres server and returns its
// URL and the function that drops it.
func pgDatabase(name string) (string, func(), error) {
	if *flagPostgres == "" {
		return "", nil, fmt.Errorf("no PostgreSQL server: set -postgres or HADRON_TEST_POSTGRES_URL")
	}
	var b [4]byte
	rand.Read(b[:])
	db := "hadron_bench_" + name + "_" + hex.EncodeToString(b[:])
	admin := func(sql string) error {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		conn, err := pgx.Connect(ctx, *flagPostgres)
		if err != nil {
			return err
		}
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, sql)
		return err
	}
	if err := admin(`CREATE DATABASE ` + pgx.Identifier{db}.Sanitize()); err != nil {
		return "", nil, fmt.Errorf("create database %s: %w", db, err)
	}
	u, err := url.Parse(*flagPostgres)
	if err != nil {
		return "", nil, err
	}
	u.Path = "/" + db
	return u.String(), func() { admin(`DROP DATABASE ` + pgx.Identifier{db}.Sanitize() + ` WITH (FORCE)`) }, nil
}

// startHadronPG starts a server on the PostgreSQL database dbURL, with its
// logs and work directories in a new temporary directory.
func startHadronPG(name, dbURL string) (*hadron, error) {
	dir, err := os.MkdirTemp("", "hadron-bench-"+name+"-")
	if err != nil {
		return nil, err
	}
	h, err := startHadronWith(name, dir, func(c *server.Config) error {
		pg, err := postgres.Open(context.Background(), dbURL)
		if err != nil {
			return err
		}
		c.Store, c.SharedStore, c.Notifier = pg, true, pg.Notifier(slog.New(slog.DiscardHandler))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("on PostgreSQL: %w", err)
	}
	return h, nil
}

var apiPGFixture lazy

// setupAPIPostgres creates -envs customer-managed environments on a server
// on a new PostgreSQL database.
func setupAPIPostgres() (*hadron, error) {
	dbURL, drop, err := pgDatabase("api")
	if err != nil {
		return nil, err
	}
	h, err := startHadronPG("api-pg", dbURL)
	if err != nil {
		drop()
		return nil, err
	}
	h.onClose = append(h.onClose, func() { go func() { time.Sleep(time.Second); drop() }() })
	return h, createEnvironments(h, *flagEnvs)
}

// BenchmarkAPIPostgres is BenchmarkAPI with the store on PostgreSQL.
func BenchmarkAPIPostgres(b *testing.B) {
	if *flagPostgres == "" {
		b.Skip("skipping: no PostgreSQL server (set -postgres or HADRON_TEST_POSTGRES_URL)")
	}
	h, err := apiPGFixture.get(setupAPIPostgres)
	if err != nil {
		b.Fatal(err)
	}
	a := newAPIServers(h)
	if err := a.prepare(); err != nil {
		b.Fatal(err)
	}
	var lines []string
	lines = append(lines, fmt.Sprintf("  %-16s %7s  %9s %9s %9s %12s", "operation", "clients", "req/s", "p50 ms", "p99 ms", "% of ceiling"))
	for _, op := range []string{"GetEnvironment", "ListEnvironments"} {
		for _, clients := range clientCounts {
			b.Run(fmt.Sprintf("%s/clients=%d", op, clients), func(b *testing.B) {
				for range b.N {
					hr, cr, err := a.measureCell(op, clients, *flagCell)
					if err != nil {
						b.Fatal(err)
					}
					if hr.errors > 0 {
						b.Errorf("%d errors from hadron", hr.errors)
					}
					b.ReportMetric(hr.rate(), "hadron-req/s")
					b.ReportMetric(float64(hr.lat.P99)/1e6, "hadron-p99-ms")
					b.StopTimer()
					lines = append(lines, fmt.Sprintf("  %-16s %7d  %9.0f %9s %9s %11.1f%%", op, clients, hr.rate(),
						ms(hr.lat.P50), ms(hr.lat.P99), 100*hr.rate()/cr.rate()))
					b.StartTimer()
				}
			})
		}
	}
	report.add(fmt.Sprintf("5. API throughput on PostgreSQL with %d environments (%s per cell; same loads and ceiling as 3)", *flagEnvs, *flagCell), lines)
}

// recordWatcher follows a file that provisioning commands append their
// deployment ids to, and notes when each id appeared.
type recordWatcher struct {
	path string
	mu   sync.Mutex
	seen map[string]time.Time
	stop chan struct{}
	done chan struct{}
}

// watchRecord starts following path, checking for new lines every 100 µs.
func watchRecord(path string) *recordWatcher {
	w := &recordWatcher{path: path, seen: map[string]time.Time{}, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		var off int64
		var partial []byte
		buf := make([]byte, 64<<10)
		for {
			f, err := os.Open(path)
			if err == nil {
				n, _ := f.ReadAt(buf, off)
				f.Close()
				if n > 0 {
					at := time.Now()
					off += int64(n)
					partial = append(partial, buf[:n]...)
					w.mu.Lock()
					for {
						i := bytes.IndexByte(partial, '\n')
						if i < 0 {
							break
						}
						w.seen[string(partial[:i])] = at
						partial = partial[i+1:]
					}
					w.mu.Unlock()
					continue
				}
			}
			select {
			case <-w.stop:
				return
			case <-time.After(100 * time.Microsecond):
			}
		}
	}()
	return w
}

func (w *recordWatcher) close() { close(w.stop); <-w.done }

// startedAt returns when deployment id's command was seen starting.
func (w *recordWatcher) startedAt(id string) (time.Time, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	at, ok := w.seen[id]
	return at, ok
}

// BenchmarkDeployThroughputPostgres sends -updates UpdateEnvironment calls
// (one per environment, 16 clients, spread round-robin over the nodes) with a
// command that exits at once, through 1 node and through 3 nodes sharing one
// PostgreSQL database, and measures deployments per second (first update
// sent to the last deployment SUCCEEDED) and the dispatch latency of each
// (its update answered to its command started, on whichever node ran it).
func BenchmarkDeployThroughputPostgres(b *testing.B) {
	if *flagPostgres == "" {
		b.Skip("skipping: no PostgreSQL server (set -postgres or HADRON_TEST_POSTGRES_URL)")
	}
	lines := []string{throughputHeader()}
	for _, nodes := range []int{1, 3} {
		b.Run(fmt.Sprintf("nodes=%d", nodes), func(b *testing.B) {
			for range b.N {
				r, err := deployThroughputPostgres(nodes, *flagUpdates)
				if err != nil {
					b.Fatal(err)
				}
				lines = append(lines, throughputLine(b, nodes, *flagUpdates, r))
			}
		})
	}
	report.add(fmt.Sprintf("6. Deployment throughput on PostgreSQL: %d environment updates, command exits at once, 16 clients round-robin over the nodes, %d workers per node; dispatch = update answered -> command started", *flagUpdates, engine.DefaultWorkers), lines)
}

// deployThroughputPostgres runs one measurement on a new database with
// nodes servers.
func deployThroughputPostgres(nodes, updates int) (throughputResult, error) {
	dbURL, drop, err := pgDatabase(fmt.Sprintf("deploy%d", nodes))
	if err != nil {
		return throughputResult{}, err
	}
	defer drop()
	hs := make([]*hadron, nodes)
	for i := range hs {
		if hs[i], err = startHadronPG(fmt.Sprintf("deploy-%d", i), dbURL); err != nil {
			return throughputResult{}, err
		}
		defer hs[i].close()
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return throughputResult{}, err
	}
	defer conn.Close(ctx)
	return deployThroughput(hs, func(ctx context.Context, query string, dest ...any) error {
		return conn.QueryRow(ctx, query).Scan(dest...)
	}, updates)
}

// throughputHeader and throughputLine are the table of the deployment
// throughput benchmarks (6. and 12.); throughputLine also attaches the main
// numbers to b's result line.
func throughputHeader() string {
	return fmt.Sprintf("  %-6s %9s %8s %13s %9s %9s %9s %9s", "nodes", "updates", "seconds", "deployments/s", "p50 ms", "p90 ms", "p99 ms", "max ms")
}

func throughputLine(b *testing.B, nodes, updates int, r throughputResult) string {
	b.ReportMetric(r.rate, "deployments/s")
	b.ReportMetric(float64(r.dispatch.P99)/1e6, "dispatch-p99-ms")
	return fmt.Sprintf("  %-6d %9d %8.2f %13.1f %9s %9s %9s %9s", nodes, updates, r.elapsed.Seconds(), r.rate,
		ms(r.dispatch.P50), ms(r.p90), ms(r.dispatch.P99), ms(r.dispatch.Max))
}

type throughputResult struct {
	elapsed  time.Duration
	rate     float64
	dispatch summary
	p90      time.Duration
}

// queryRow runs a query without arguments that returns one row on the
// servers' database and scans it into dest: how a throughput measurement
// reads the deployments' statuses, on either store.
type queryRow func(ctx context.Context, query string, dest ...any) error

// deployThroughput runs one measurement on the servers hs, which share one
// store (read through query): it creates updates codebuild environments
// (set-up, not measured), then updates each once and times the updates'
// deployments.
func deployThroughput(hs []*hadron, query queryRow, updates int) (throughputResult, error) {
	var res throughputResult
	ctx := context.Background()
	if err := hs[0].registerTemplate(ctx, "record", "pg-record", ""); err != nil {
		return res, err
	}
	record := filepath.Join(hs[0].dataDir, "record.log")
	spec := fmt.Sprintf("proton: EnvironmentSpec\nspec:\n  record: %q\n", record)
	// Set-up, not measured: the environments, each deployed once.
	err := fanOut(hs, updates, func(h *hadron, c *client, i int) (string, error) {
		raw, err := c.Raw(ctx, "CreateEnvironment", mustJSON(map[string]string{
			"name": envName("tp", i), "templateName": "record", "templateMajorVersion": "1",
			"codebuildRoleArn": codebuildArn, "spec": spec,
		}))
		return string(raw), err
	}, nil)
	if err != nil {
		return res, err
	}
	if err := waitIdle(ctx, query); err != nil {
		return res, err
	}
	w := watchRecord(record)
	defer w.close()
	answered := make([]time.Time, updates)
	ids := make([]string, updates)
	begin := time.Now()
	err = fanOut(hs, updates, func(h *hadron, c *client, i int) (string, error) {
		raw, err := c.Raw(ctx, "UpdateEnvironment", mustJSON(map[string]string{
			"name": envName("tp", i), "deploymentType": "CURRENT_VERSION", "spec": spec,
		}))
		answered[i] = time.Now()
		return string(raw), err
	}, func(i int, raw string) error {
		var out api.UpdateEnvironmentOutput
		if err := json.Unmarshal([]byte(raw), &out); err != nil {
			return err
		}
		ids[i] = out.Environment.LastAttemptedDeploymentId
		return nil
	})
	if err != nil {
		return res, err
	}
	if err := waitIdle(ctx, query); err != nil {
		return res, err
	}
	res.elapsed = time.Since(begin)
	res.rate = float64(updates) / res.elapsed.Seconds()
	var lat []time.Duration
	for i, id := range ids {
		at, ok := w.startedAt(id)
		if !ok {
			return res, fmt.Errorf("deployment %s ended but its command was not seen starting", id)
		}
		lat = append(lat, at.Sub(answered[i]))
	}
	slices.Sort(lat)
	res.dispatch = summarize(lat)
	res.p90 = percentile(lat, 90)
	return res, nil
}

// fanOut calls fn for i in [0, n) from 16 clients, request i going to node
// i mod len(hs), and hands each answer to done (when set).
func fanOut(hs []*hadron, n int, fn func(h *hadron, c *client, i int) (string, error), done func(i int, raw string) error) error {
	const clients = 16
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	for range clients {
		cs := make([]*client, len(hs))
		for j, h := range hs {
			cs[j] = newClient(h.endpoint)
		}
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				j := i % len(hs)
				raw, err := fn(hs[j], cs[j], i)
				if err == nil && done != nil {
					err = done(i, raw)
				}
				if err != nil {
					errs <- err
					next.Store(int64(n))
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// waitIdle waits until no deployment in the database is active, and then
// fails if any ended otherwise than SUCCEEDED. On SQLite the poll runs in
// the servers' process, on the same CPUs: a count of the whole table every
// 2 ms took a third of the process's CPU, and even this count of the active
// deployments (from the index of active deployments) a fifth, most of it
// preparing the statement. Every 10 ms it costs little, and the end of a
// run of seconds is still known to within 10 ms. The SQL is the same for
// SQLite and PostgreSQL.
func waitIdle(ctx context.Context, query queryRow) error {
	err := hadrontest.Wait(ctx, 10*time.Millisecond, 10*time.Minute, "every deployment to end", func() (bool, string, error) {
		var active int
		err := query(ctx, `SELECT count(*) FROM deployments WHERE status IN ('IN_PROGRESS', 'CANCELLING', 'DELETE_IN_PROGRESS')`, &active)
		return active == 0, fmt.Sprintf("%d deployments still active", active), err
	})
	if err != nil {
		return err
	}
	var bad int
	if err := query(ctx, `SELECT count(*) FROM deployments WHERE status <> 'SUCCEEDED'`, &bad); err != nil {
		return err
	}
	if bad > 0 {
		var msg string
		query(ctx, `SELECT status || ': ' || status_message FROM deployments WHERE status <> 'SUCCEEDED' LIMIT 1`, &msg)
		return fmt.Errorf("%d deployments did not succeed (%s)", bad, strings.TrimSpace(msg))
	}
	return nil
}

func mustJSON(v any) []byte {
	raw, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return raw
}
