package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"sync"
	"testing"
	"time"

	"github.com/hadronhq/hadron/internal/store"
	"github.com/hadronhq/hadron/internal/store/postgres/pgtest"
	"github.com/hadronhq/hadron/internal/store/storetest"
)

// openURL opens a store on url and closes it when t ends.
func openURL(t *testing.T, url string) *Store {
	t.Helper()
	s, err := Open(t.Context(), url)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return s
}

func TestConformance(t *testing.T) {
	pgtest.URL(t)
	storetest.Run(t, func(t *testing.T) store.Store { return openURL(t, pgtest.Schema(t)) })
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// Nodes starting at once on an empty schema apply every migration exactly
// once: the advisory lock makes all but one wait, and they find them applied.
func TestMigrationsOfNodesStartingAtOnce(t *testing.T) {
	t.Parallel()
	url := pgtest.Schema(t)
	const nodes = 6
	stores := make([]*Store, nodes)
	errs := make([]error, nodes)
	var wg sync.WaitGroup
	for i := range nodes {
		wg.Go(func() { stores[i], errs[i] = Open(t.Context(), url) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
		defer stores[i].Close()
	}
	files, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	var applied int
	if err := stores[0].db.QueryRowContext(t.Context(), `SELECT count(*) FROM schema_migrations`).Scan(&applied); err != nil {
		t.Fatal(err)
	}
	if applied != len(files) {
		t.Errorf("schema_migrations has %d rows, want one per migration (%d)", applied, len(files))
	}
	// Every node sees what another wrote.
	if err := stores[1].TemplateCreate(t.Context(), &store.Template{Kind: store.KindEnvironmentTemplate, Name: "base",
		CreatedAt: t0, LastModifiedAt: t0}); err != nil {
		t.Fatal(err)
	}
	if _, err := stores[nodes-1].TemplateGet(t.Context(), store.KindEnvironmentTemplate, "base"); err != nil {
		t.Errorf("template written by another node: %v", err)
	}
}

// When the database drops the store's connections (a restart, a failover),
// calls fail with an error rather than hang, and the store recovers by itself.
func TestStoreRecoversFromLostConnections(t *testing.T) {
	t.Parallel()
	url := pgtest.Schema(t)
	s := openURL(t, url+"&application_name=victim")
	defer s.Close()
	ctx := t.Context()
	if err := s.TemplateCreate(ctx, &store.Template{Kind: store.KindEnvironmentTemplate, Name: "base",
		CreatedAt: t0, LastModifiedAt: t0}); err != nil {
		t.Fatal(err)
	}
	killConnections(t, url, "victim")
	deadline := time.Now().Add(10 * time.Second)
	for {
		callCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := s.TemplateGet(callCtx, store.KindEnvironmentTemplate, "base")
		hung := callCtx.Err() != nil
		cancel()
		if err == nil {
			break
		}
		if hung {
			t.Fatalf("a call after the connections were dropped hung: %v", err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("the store did not recover: %v", err)
		}
		t.Logf("call while reconnecting failed fast: %v", err)
		time.Sleep(50 * time.Millisecond)
	}
}

// killConnections terminates the connections to the schema of url that
// carry application_name app (the store under test), as a database restart
// would.
func killConnections(t *testing.T, url, app string) {
	t.Helper()
	s := openURL(t, url)
	defer s.Close()
	var n int
	err := s.db.QueryRowContext(t.Context(), `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND application_name = $1`, app).Scan(&n)
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatalf("no connection named %s to terminate", app)
	}
	t.Logf("terminated %d connections", n)
}

// A payload published by one node reaches the listeners of every node on the
// schema, and a listener whose connection was dropped reconnects, says that
// it may have missed payloads, and hears the next ones.
func TestNotifierDeliversAcrossNodesAndAfterReconnecting(t *testing.T) {
	t.Parallel()
	url := pgtest.Schema(t)
	a := openURL(t, url)
	defer a.Close()
	// pool_max_conns: the listener's connection goes without the pool's
	// parameters, which the server would refuse.
	b := openURL(t, url+"&application_name=listener&pool_max_conns=4")
	defer b.Close()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	heard := make(chan string, 16)
	done := make(chan struct{})
	go func() {
		defer close(done)
		b.Notifier(nil).Listen(ctx, heard)
	}()
	defer func() { cancel(); <-done }()

	expect := func(want string) {
		t.Helper()
		select {
		case got := <-heard:
			if got != want {
				t.Fatalf("heard %q, want %q", got, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("did not hear %q", want)
		}
	}
	// The listener may not be listening yet: publish until it hears.
	publishUntilHeard(t, a.Notifier(nil), heard, "hello")
	if err := a.Notifier(nil).Publish(ctx, "cancel:x"); err != nil {
		t.Fatal(err)
	}
	expect("cancel:x")

	killConnections(t, url, "listener")
	expect("") // reconnected: anything may have been missed
	if err := a.Notifier(nil).Publish(ctx, "queued"); err != nil {
		t.Fatal(err)
	}
	expect("queued")
}

// Schemas are separate Hadron installations: a node does not hear another
// schema's payloads.
func TestNotifierStaysInItsSchema(t *testing.T) {
	t.Parallel()
	a := openURL(t, pgtest.Schema(t))
	defer a.Close()
	b := openURL(t, pgtest.Schema(t))
	defer b.Close()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	heardA, heardB := make(chan string, 16), make(chan string, 16)
	go a.Notifier(nil).Listen(ctx, heardA)
	go b.Notifier(nil).Listen(ctx, heardB)
	publishUntilHeard(t, b.Notifier(nil), heardB, "b")
	publishUntilHeard(t, a.Notifier(nil), heardA, "a")
	select {
	case got := <-heardB:
		t.Errorf("schema b heard %q from schema a", got)
	case <-time.After(200 * time.Millisecond):
	}
}

// publishUntilHeard publishes payload until heard receives it: a listener
// that has just started may not be listening yet.
func publishUntilHeard(t *testing.T, n *Notifier, heard <-chan string, payload string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if err := n.Publish(t.Context(), payload); err != nil {
			t.Fatal(err)
		}
		select {
		case got := <-heard:
			if got != payload {
				t.Fatalf("heard %q, want %q", got, payload)
			}
			// Drain the copies of earlier attempts.
			for {
				select {
				case got := <-heard:
					if got != payload {
						t.Fatalf("heard %q, want %q", got, payload)
					}
				case <-time.After(100 * time.Millisecond):
					return
				}
			}
		case <-time.After(100 * time.Millisecond):
		}
	}
	t.Fatalf("no listener heard %q", payload)
}

// After the database dropped every connection of the pool (a restart, a
// failover), no call fails for it: the dead connections are found and
// discarded before a statement is sent on them, and the calls run on fresh
// ones. The connections die while checked out and go back to the pool just
// before the calls; they were handed out once before, so none has gone
// unused long enough for pgx's own idle-time ping to find it.
func TestStoreCallsAfterConnectionsDroppedAllSucceed(t *testing.T) {
	t.Parallel()
	url := pgtest.Schema(t)
	// Its own application name: the tests share a database, and killConnections
	// picks the connections by name.
	s := openURL(t, url+"&application_name=dropped")
	defer s.Close()
	ctx := t.Context()
	if err := s.TemplateCreate(ctx, &store.Template{Kind: store.KindEnvironmentTemplate, Name: "base",
		CreatedAt: t0, LastModifiedAt: t0}); err != nil {
		t.Fatal(err)
	}
	const held = 6
	conns := make([]*sql.Conn, held)
	hold := func() {
		for i := range conns {
			c, err := s.db.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			conns[i] = c
		}
	}
	release := func() {
		for _, c := range conns {
			c.Close()
		}
	}
	// The first round opens the connections; the second takes them again
	// from the pool, which starts their idle time afresh.
	hold()
	release()
	hold()
	killConnections(t, url, "dropped")
	waitNoConnections(t, url, "dropped")
	release()
	for i := range 2 * held {
		if _, err := s.TemplateGet(ctx, store.KindEnvironmentTemplate, "base"); err != nil {
			t.Fatalf("read %d after the connections were dropped: %v", i, err)
		}
		if err := s.TemplateCreate(ctx, &store.Template{Kind: store.KindEnvironmentTemplate, Name: fmt.Sprintf("t%d", i),
			CreatedAt: t0, LastModifiedAt: t0}); err != nil {
			t.Fatalf("write %d after the connections were dropped: %v", i, err)
		}
		if _, err := s.DeploymentClaim(ctx, store.DeploymentClaimParams{Owner: "w", Expires: t0}); err != nil {
			t.Fatalf("claim %d after the connections were dropped: %v", i, err)
		}
	}
}

// A transaction whose connection is lost half-way is not carried on, or run
// again, on another connection behind its caller's back: its next statement
// and its commit fail, and nothing it wrote is there.
func TestTransactionThatLostItsConnectionFails(t *testing.T) {
	t.Parallel()
	url := pgtest.Schema(t)
	s := openURL(t, url)
	defer s.Close()
	ctx := t.Context()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	var pid int
	if err := tx.QueryRowContext(ctx, `SELECT pg_backend_pid()`).Scan(&pid); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value, last_modified_at) VALUES ('half', 'written', 0)`); err != nil {
		t.Fatal(err)
	}
	var killed bool
	if err := s.db.QueryRowContext(ctx, `SELECT pg_terminate_backend($1)`, pid).Scan(&killed); err != nil || !killed {
		t.Fatalf("terminate backend %d: %v %v", pid, killed, err)
	}
	waitBackendGone(t, s, pid)
	if _, err := tx.ExecContext(ctx, `INSERT INTO settings (key, value, last_modified_at) VALUES ('rest', 'written', 0)`); err == nil {
		t.Fatal("a statement on the lost connection of a transaction succeeded")
	}
	if err := tx.Commit(); err == nil {
		t.Fatal("the commit of a transaction that lost its connection succeeded")
	}
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM settings WHERE key IN ('half', 'rest')`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d rows of the failed transaction are in the database", n)
	}
}

// waitNoConnections waits until the server has no connection left named app
// on url's database: pg_terminate_backend only signals the backends.
func waitNoConnections(t *testing.T, url, app string) {
	t.Helper()
	s := openURL(t, url)
	defer s.Close()
	waitFor(t, "the terminated connections to end", func() bool {
		var n int
		err := s.db.QueryRowContext(t.Context(), `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND application_name = $1`, app).Scan(&n)
		if err != nil {
			t.Fatal(err)
		}
		return n == 0
	})
}

// waitBackendGone waits until backend pid has exited.
func waitBackendGone(t *testing.T, s *Store, pid int) {
	t.Helper()
	waitFor(t, fmt.Sprintf("backend %d to end", pid), func() bool {
		var n int
		if err := s.db.QueryRowContext(t.Context(), `SELECT count(*) FROM pg_stat_activity WHERE pid = $1`, pid).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n == 0
	})
}

// waitFor polls cond, the server's view, until it holds or 10 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Deployments starting on some environments while others finish, all on one
// template, move resources between the same two count rows in opposite
// directions. The rows must be taken in one order: taken in the order of
// the change (migration 0008) such pairs deadlocked, PostgreSQL aborted one
// of each, and under steady load deployments stalled. The test counts the
// deadlocks the database reports once every connection is closed (a
// backend's statistics are flushed when it ends).
func TestStatusChangesOnOneTemplateDoNotDeadlock(t *testing.T) {
	t.Parallel()
	url := pgtest.Database(t)
	s := openURL(t, url)
	const workers, rounds = 8, 60
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	start := func(name string, create bool, n int) (string, error) {
		key := "environment/" + name
		d := &store.Deployment{ID: fmt.Sprintf("%s-%d", name, n), TargetKey: key, TargetType: store.ResourceEnvironment,
			EnvironmentName: name, Operation: store.OperationDeploy, Status: store.StatusInProgress, CreatedAt: at, LastModifiedAt: at}
		p := store.DeploymentStartParams{Deployment: d}
		if create {
			p.Create = &store.Resource{Key: key, Type: store.ResourceEnvironment, Name: name, EnvironmentName: name,
				TemplateName: "net", TemplateMajor: "1", TemplateMinor: "0", CreatedAt: at, LastModifiedAt: at}
		}
		_, err := s.DeploymentStart(t.Context(), p)
		return d.ID, err
	}
	finish := func(id string) error {
		_, err := s.DeploymentFinish(t.Context(), store.DeploymentFinishParams{ID: id,
			From: []string{store.StatusInProgress}, To: store.StatusSucceeded}, at)
		return err
	}
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			name := fmt.Sprintf("env-%d", w)
			for n := range rounds {
				id, err := start(name, n == 0, n)
				if err == nil {
					err = finish(id)
				}
				if err != nil {
					errs <- fmt.Errorf("%s round %d: %w", name, n, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	s.Close()

	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var deadlocks int64
	// The closed connections' backends report as they exit.
	for range 50 {
		if err := db.QueryRowContext(t.Context(), `SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()`).Scan(&deadlocks); err != nil {
			t.Fatal(err)
		}
		if deadlocks > 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if deadlocks > 0 {
		t.Errorf("PostgreSQL reported %d deadlocks among %d workers starting and finishing deployments on one template", deadlocks, workers)
	}
}
