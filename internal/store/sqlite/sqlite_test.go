package sqlite

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hadronhq/hadron/internal/store"
	"github.com/hadronhq/hadron/internal/store/storetest"
)

// open opens a store on a new database file in the test's temporary directory.
func open(t *testing.T) store.Store {
	t.Helper()
	return openPath(t, filepath.Join(t.TempDir(), "hadron.db"))
}

func openPath(t *testing.T, path string) *Store {
	t.Helper()
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, open)
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func TestMigrationsAreIdempotent(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "hadron.db")
	s := openPath(t, path)
	if err := s.TemplateCreate(t.Context(), &store.Template{Kind: store.KindEnvironmentTemplate, Name: "base",
		CreatedAt: t0, LastModifiedAt: t0}); err != nil {
		t.Fatal(err)
	}
	// A second process start while the first store is still open, then one
	// after it closed: neither re-runs a migration nor loses data.
	s2 := openPath(t, path)
	if err := s2.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s3 := openPath(t, path)
	defer s3.Close()
	files, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	var applied int
	if err := s3.reader.QueryRowContext(t.Context(), `SELECT count(*) FROM schema_migrations`).Scan(&applied); err != nil {
		t.Fatal(err)
	}
	if applied != len(files) {
		t.Errorf("schema_migrations has %d rows, want one per migration (%d)", applied, len(files))
	}
	if _, err := s3.TemplateGet(t.Context(), store.KindEnvironmentTemplate, "base"); err != nil {
		t.Errorf("template after reopening: %v", err)
	}
}

func TestOpenConfiguresTheConnection(t *testing.T) {
	t.Parallel()
	s := openPath(t, filepath.Join(t.TempDir(), "hadron.db"))
	defer s.Close()
	for _, c := range []struct{ pragma, want string }{
		{"journal_mode", "wal"},
		{"foreign_keys", "1"},
		{"synchronous", "2"}, // FULL: an acknowledged commit is on disk
		{"busy_timeout", "10000"},
	} {
		var got string
		if err := s.reader.QueryRowContext(t.Context(), "PRAGMA "+c.pragma).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != c.want {
			t.Errorf("PRAGMA %s = %s, want %s", c.pragma, got, c.want)
		}
	}
}

func TestConcurrentReadsKeepTheirConnections(t *testing.T) {
	t.Parallel()
	s := openPath(t, filepath.Join(t.TempDir(), "hadron.db"))
	defer s.Close()
	var wg sync.WaitGroup
	for range readConns {
		wg.Go(func() {
			for range 50 {
				if _, err := s.ResourceGet(t.Context(), "environment/none"); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("ResourceGet of a missing environment: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	if st := s.reader.Stats(); st.MaxIdleClosed > 0 || st.OpenConnections > readConns {
		t.Errorf("the reads closed %d idle connections (%d open): each reopened costs pragmas and a schema read", st.MaxIdleClosed, st.OpenConnections)
	}
}

// TestDataSurvivesReopen writes one of everything, closes the store, opens the
// file again and reads it all back.
func TestDataSurvivesReopen(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "hadron.db")
	s := openPath(t, path)
	tmpl := &store.Template{Kind: store.KindEnvironmentTemplate, Name: "base", DisplayName: "Base",
		CreatedAt: t0, LastModifiedAt: t0}
	if err := s.TemplateCreate(ctx, tmpl); err != nil {
		t.Fatal(err)
	}
	v := &store.TemplateVersion{Kind: tmpl.Kind, TemplateName: "base", Major: -1, Status: "DRAFT",
		Bundle: []byte{0x1f, 0x8b, 8}, CreatedAt: t0, LastModifiedAt: t0}
	if err := s.TemplateVersionCreate(ctx, v); err != nil {
		t.Fatal(err)
	}
	r := &store.Resource{Key: "environment/prod", Type: store.ResourceEnvironment, Name: "prod",
		EnvironmentName: "prod", TemplateName: "base", TemplateMajor: "1", TemplateMinor: "0", Spec: "spec",
		CreatedAt: t0, LastModifiedAt: t0}
	d := &store.Deployment{ID: "0b7e2d6c-3c1f-4b8e-9a52-5d0f7c1e2a11", TargetKey: r.Key, TargetType: r.Type,
		EnvironmentName: "prod", Operation: store.OperationDeploy, Status: store.StatusInProgress,
		TargetTemplate: "base", TargetMajor: "1", TargetMinor: "0", TargetSpec: "spec", CreatedAt: t0, LastModifiedAt: t0}
	if _, err := s.DeploymentStart(ctx, store.DeploymentStartParams{Deployment: d, Create: r}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeploymentClaim(ctx, store.DeploymentClaimParams{Owner: "w1", Expires: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeploymentFinish(ctx, store.DeploymentFinishParams{ID: d.ID, From: []string{store.StatusInProgress},
		To: store.StatusSucceeded, Outputs: `{"url":"x"}`, Owner: "w1"}, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	wantT, _ := s.TemplateGet(ctx, tmpl.Kind, "base")
	wantV, _ := s.TemplateVersionGet(ctx, tmpl.Kind, "base", 1, 0)
	wantR, _ := s.ResourceGet(ctx, r.Key)
	wantD, _ := s.DeploymentGet(ctx, d.ID)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openPath(t, path)
	defer s.Close()
	gotT, err := s.TemplateGet(ctx, tmpl.Kind, "base")
	if err != nil {
		t.Fatal(err)
	}
	gotV, err := s.TemplateVersionGet(ctx, tmpl.Kind, "base", 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	gotR, err := s.ResourceGet(ctx, r.Key)
	if err != nil {
		t.Fatal(err)
	}
	gotD, err := s.DeploymentGet(ctx, d.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		what      string
		got, want any
	}{
		{"template", gotT, wantT}, {"version", gotV, wantV}, {"resource", gotR, wantR}, {"deployment", gotD, wantD},
	} {
		if g, w := fmt.Sprintf("%+v", c.got), fmt.Sprintf("%+v", c.want); g != w {
			t.Errorf("%s after reopen:\n got %s\nwant %s", c.what, g, w)
		}
	}
	if gotR.LastSucceededDeploymentID != d.ID || gotR.Outputs != `{"url":"x"}` {
		t.Errorf("resource after reopen lost its deployment: %+v", gotR)
	}
}

// TestOneActiveDeploymentIsEnforcedByTheDatabase writes to the table directly,
// past the store's code, to show the unique partial index itself refuses a
// second active deployment of a resource, while any number of ended ones may
// sit beside the active one.
func TestOneActiveDeploymentIsEnforcedByTheDatabase(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	s := openPath(t, filepath.Join(t.TempDir(), "hadron.db"))
	defer s.Close()
	var sqlText string
	if err := s.reader.QueryRowContext(ctx, `SELECT sql FROM sqlite_master WHERE type = 'index'
		AND name = 'deployments_one_active'`).Scan(&sqlText); err != nil {
		t.Fatalf("index deployments_one_active: %v", err)
	}
	if !strings.Contains(sqlText, "UNIQUE") || !strings.Contains(sqlText, "WHERE") {
		t.Errorf("index is not unique and partial: %s", sqlText)
	}
	insert := func(id, status string) error {
		_, err := s.writer.ExecContext(ctx, `INSERT INTO deployments (id, target_key, target_type, target_created_at,
			operation, status, created_at, last_modified_at) VALUES ($1, 'environment/prod', 'ENVIRONMENT', 1, 'DEPLOY', $2, 1, 1)`,
			id, status)
		return err
	}
	for i, status := range []string{store.StatusSucceeded, store.StatusFailed, store.StatusCancelled, store.StatusInProgress} {
		if err := insert(fmt.Sprintf("d%d", i), status); err != nil {
			t.Fatalf("insert %s: %v", status, err)
		}
	}
	for _, status := range []string{store.StatusInProgress, store.StatusCancelling, store.StatusDeleteInProgress} {
		err := insert("second-"+status, status)
		if err == nil {
			t.Errorf("a second active deployment (%s) was accepted", status)
		} else if index, ok := (dialect{}).UniqueViolation(err); !ok || index != "deployments_one_active" {
			t.Errorf("second active deployment (%s): %v (index %q), want a violation of deployments_one_active", status, err, index)
		}
	}
	if err := insert("other", store.StatusFailed); err != nil {
		t.Errorf("an ended deployment beside the active one: %v", err)
	}
}

// TestConcurrentDeploymentsDoNotBusy drives the store from several goroutines
// at once, as the API handlers and the workers of one process do: each starts,
// claims, renews and finishes deployments of its own resource while others
// read. No call may fail with SQLITE_BUSY (or anything else).
func TestConcurrentDeploymentsDoNotBusy(t *testing.T) {
	t.Parallel()
	const (
		goroutines = 8
		rounds     = 15
	)
	ctx := t.Context()
	s := openPath(t, filepath.Join(t.TempDir(), "hadron.db"))
	defer s.Close()
	errs := make(chan error, goroutines*rounds*8)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			name := fmt.Sprintf("env-%d", g)
			owner := fmt.Sprintf("worker-%d", g)
			r := &store.Resource{Key: "environment/" + name, Type: store.ResourceEnvironment, Name: name,
				EnvironmentName: name, CreatedAt: t0, LastModifiedAt: t0}
			for i := range rounds {
				d := &store.Deployment{ID: fmt.Sprintf("%08x-0000-4000-8000-%012x", g, i), TargetKey: r.Key,
					TargetType: r.Type, EnvironmentName: name, Operation: store.OperationDeploy,
					Status: store.StatusInProgress, TargetSpec: fmt.Sprint(i), CreatedAt: t0, LastModifiedAt: t0}
				p := store.DeploymentStartParams{Deployment: d}
				if i == 0 {
					p.Create = r
				}
				if _, err := s.DeploymentStart(ctx, p); err != nil {
					errs <- fmt.Errorf("%s start %d: %w", name, i, err)
					return
				}
				// Claims are global: this worker may get another goroutine's
				// deployment, which it then runs to the end like its own.
				claimed, err := s.DeploymentClaim(ctx, store.DeploymentClaimParams{Owner: owner, Expires: t0.Add(time.Hour)})
				if err != nil {
					errs <- fmt.Errorf("%s claim: %w", name, err)
				}
				if claimed != nil {
					// The goroutine the deployment belongs to may end it at any
					// moment (below), which makes renew and finish lose cleanly.
					if _, err := s.DeploymentRenew(ctx, store.DeploymentRenewParams{ID: claimed.ID, Owner: owner, Expires: t0.Add(2 * time.Hour)}); err != nil &&
						!errors.Is(err, store.ErrStatusChanged) {
						errs <- fmt.Errorf("%s renew: %w", name, err)
					}
					if _, err := s.DeploymentFinish(ctx, store.DeploymentFinishParams{ID: claimed.ID,
						From: []string{store.StatusInProgress}, To: store.StatusSucceeded, Owner: owner}, t0); err != nil &&
						!errors.Is(err, store.ErrStatusChanged) {
						errs <- fmt.Errorf("%s finish claimed: %w", name, err)
					}
				}
				if _, err := s.ResourceList(ctx, store.ResourceFilter{}, store.Page{Limit: 100}); err != nil {
					errs <- fmt.Errorf("%s list: %w", name, err)
				}
				// Our own deployment may still be queued; end it directly (as
				// recovery would). If a worker already ended it, the conditional
				// write loses, and either way it is no longer active.
				_, err = s.DeploymentFinish(ctx, store.DeploymentFinishParams{ID: d.ID,
					From: []string{store.StatusInProgress}, To: store.StatusFailed}, t0)
				if err != nil && !errors.Is(err, store.ErrStatusChanged) {
					errs <- fmt.Errorf("%s finish own: %w", name, err)
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if strings.Contains(err.Error(), "SQLITE_BUSY") || strings.Contains(err.Error(), "database is locked") {
			t.Errorf("busy: %v", err)
		} else {
			t.Error(err)
		}
	}
	list, err := s.DeploymentList(ctx, store.DeploymentFilter{}, store.Page{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != goroutines*rounds {
		t.Errorf("%d deployments recorded, want %d", len(list), goroutines*rounds)
	}
}

// TestBackupDuringWritesIsAConsistentUsableDatabase copies the database
// while a writer commits one template after another: the copy holds every
// template committed before the backup began, then no gap (a prefix of
// the writes, as one snapshot), passes Verify, and opens as a store that
// takes new writes.
func TestBackupDuringWritesIsAConsistentUsableDatabase(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := openPath(t, filepath.Join(dir, "hadron.db"))
	defer s.Close()
	var (
		mu    sync.Mutex
		acked int // templates committed
		stop  = make(chan struct{})
		done  = make(chan error, 1)
		// begun is closed once a few writes are in, so the copy is taken
		// in the middle of the writes, not before them.
		begun = make(chan struct{})
	)
	go func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				done <- nil
				return
			default:
			}
			err := s.TemplateCreate(t.Context(), &store.Template{Kind: store.KindEnvironmentTemplate, Name: fmt.Sprintf("t-%05d", i),
				CreatedAt: t0, LastModifiedAt: t0})
			if err != nil {
				done <- err
				return
			}
			mu.Lock()
			acked = i + 1
			mu.Unlock()
			if i == 20 {
				close(begun)
			}
		}
	}()
	<-begun
	mu.Lock()
	before := acked
	mu.Unlock()
	backup := filepath.Join(dir, "backup.db")
	if err := s.BackupTo(t.Context(), backup); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	after := acked
	mu.Unlock()
	close(stop)
	if err := <-done; err != nil {
		t.Fatalf("a write during the backup failed: %v", err)
	}
	if err := s.BackupTo(t.Context(), backup); err == nil {
		t.Error("a backup overwrote an existing file")
	}
	if _, err := Verify(t.Context(), backup); err != nil {
		t.Fatal(err)
	}
	copy := openPath(t, backup)
	defer copy.Close()
	list, err := copy.TemplateList(t.Context(), store.KindEnvironmentTemplate, store.Page{Limit: 100000})
	if err != nil {
		t.Fatal(err)
	}
	for i, tpl := range list {
		if want := fmt.Sprintf("t-%05d", i); tpl.Name != want {
			t.Fatalf("template %d of the copy is %s, want %s: the copy is not one snapshot", i, tpl.Name, want)
		}
	}
	if n := len(list); n < before || n > after+1 {
		t.Errorf("the copy holds %d templates; %d were committed before the backup began and %d when it ended", n, before, after)
	}
	if err := copy.TemplateCreate(t.Context(), &store.Template{Kind: store.KindEnvironmentTemplate, Name: "after-restore",
		CreatedAt: t0, LastModifiedAt: t0}); err != nil {
		t.Errorf("the copy takes no write: %v", err)
	}
}

func TestVerifyRefusesWhatIsNotAHadronDatabase(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage")
	os.WriteFile(garbage, []byte("not a database at all, just some text that is long enough"), 0o600)
	for _, path := range []string{garbage, filepath.Join(dir, "missing"), dir} {
		if _, err := Verify(t.Context(), path); err == nil {
			t.Errorf("Verify(%s) passed", path)
		}
	}
}
