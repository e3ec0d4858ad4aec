package reposync_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hadronhq/hadron/internal/gitrepo"
	"github.com/hadronhq/hadron/internal/reposync"
	"github.com/hadronhq/hadron/internal/store"
	"github.com/hadronhq/hadron/internal/store/postgres"
	"github.com/hadronhq/hadron/internal/store/postgres/pgtest"
	"github.com/hadronhq/hadron/internal/store/sqlite"
)

// git runs the git CLI to build test repositories.
func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@t")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// repo is a bare repository root/acme/templates.git and a clone to push from.
type repo struct {
	t    *testing.T
	work string
}

func newRepo(t *testing.T, root string) *repo {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("the git CLI is needed to build the test repositories")
	}
	bare := filepath.Join(root, "acme", "templates.git")
	git(t, root, "init", "-q", "--bare", "-b", "main", bare)
	work := t.TempDir()
	git(t, work, "clone", "-q", bare, ".")
	git(t, work, "checkout", "-q", "-b", "main")
	return &repo{t: t, work: work}
}

// push commits files and pushes main; it returns the commit.
func (r *repo) push(files map[string]string) string {
	r.t.Helper()
	for name, data := range files {
		p := filepath.Join(r.work, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			r.t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			r.t.Fatal(err)
		}
	}
	git(r.t, r.work, "add", "-A")
	git(r.t, r.work, "commit", "-q", "--allow-empty", "-m", "change")
	git(r.t, r.work, "push", "-q", "origin", "main")
	return git(r.t, r.work, "rev-parse", "HEAD")
}

// heads adapts gitrepo's mirrors to reposync.Git, as cmd/hadron does.
type heads struct{ m *gitrepo.Mirrors }

func (h heads) Head(ctx context.Context, b reposync.Branch) (reposync.Tree, error) {
	t, err := h.m.Head(ctx, b.Provider, b.Repository, b.Branch)
	if err != nil {
		return nil, err
	}
	return t, nil
}

// recorder is a syncer that records the snapshots it is given and fails
// while fail is set.
type recorder struct {
	branch reposync.Branch
	mu     sync.Mutex
	snaps  []*reposync.Snapshot
	fail   error
	synced chan string
}

func (r *recorder) SyncType() string { return store.SyncTypeTemplate }
func (r *recorder) Branches(context.Context) ([]reposync.Branch, error) {
	return []reposync.Branch{r.branch}, nil
}
func (r *recorder) Sync(_ context.Context, _ reposync.Branch, s *reposync.Snapshot) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.snaps = append(r.snaps, s)
	if r.synced != nil {
		r.synced <- s.Commit
	}
	return r.fail
}

func (r *recorder) calls() []*reposync.Snapshot {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.snaps)
}

type setup struct {
	repo  *repo
	store store.Store
	git   reposync.Git
	rec   *recorder
}

func newSetup(t *testing.T) *setup {
	t.Parallel()
	root := t.TempDir()
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "hadron.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ms := &gitrepo.Mirrors{Remotes: gitrepo.Remotes{Patterns: map[string]string{gitrepo.GitHub: "file://" + root + "/{name}.git"}}}
	return &setup{
		repo: newRepo(t, root), store: st, git: heads{ms},
		rec: &recorder{branch: reposync.Branch{Provider: gitrepo.GitHub, Repository: "acme/templates", Branch: "main"}},
	}
}

func (s *setup) watcher(owner string) *reposync.Watcher {
	return reposync.New(reposync.Config{Store: s.store, Git: s.git, Syncers: []reposync.Syncer{s.rec}, Owner: owner, Interval: time.Hour})
}

func TestEachNewHeadIsHandedOverOnceWithWhatChanged(t *testing.T) {
	s := newSetup(t)
	w := s.watcher("n1")
	first := s.repo.push(map[string]string{"t/web/v1/a": "1", "README": "r"})
	w.Pass(t.Context())
	w.Pass(t.Context())
	second := s.repo.push(map[string]string{"t/web/v1/a": "2"})
	w.Pass(t.Context())

	calls := s.rec.calls()
	if len(calls) != 2 {
		t.Fatalf("syncer called %d times, want 2 (one per new head)", len(calls))
	}
	if c := calls[0]; c.Commit != first || c.Previous != "" || !c.AllChanged {
		t.Fatalf("first call: commit %s previous %q all %v; want %s, none, all changed", c.Commit, c.Previous, c.AllChanged, first)
	}
	c := calls[1]
	if c.Commit != second || c.Previous != first || c.AllChanged || !slices.Equal(c.Changed, []string{"t/web/v1/a"}) {
		t.Fatalf("second call: commit %s previous %s changed %v all %v", c.Commit, c.Previous, c.Changed, c.AllChanged)
	}
	if !c.ChangedUnder("t/web") || c.ChangedUnder("t/api") {
		t.Fatal("ChangedUnder disagrees with Changed")
	}
	files, err := c.Files("t/web")
	if err != nil || len(files) != 1 || string(files["v1/a"]) != "2" {
		t.Fatalf("files of t/web = %v, %v", files, err)
	}
	a, err := s.store.RepositorySyncAttemptLatest(t.Context(), "repository/github:acme/templates", "main", store.SyncTypeTemplate)
	if err != nil {
		t.Fatal(err)
	}
	if a.Status != store.SyncSucceeded || a.Commit != second || len(a.Events) != 2 {
		t.Fatalf("latest attempt = %+v, want SUCCEEDED on %s with a start and an end event", a, second)
	}

	// What changed since a commit older than Previous, as a syncer asks
	// for a part it last looked at then.
	third := s.repo.push(map[string]string{"README": "r2"})
	w.Pass(t.Context())
	if calls = s.rec.calls(); len(calls) != 3 || calls[2].Commit != third {
		t.Fatalf("syncer calls = %d, want a third for %s", len(calls), third)
	}
	last := calls[2]
	for _, q := range []struct {
		dir, since string
		want       bool
	}{
		{"t/web", second, false}, // Previous: only README changed
		{"t/web", first, true},   // changed by the second commit
		{"t/api", first, false},
		{"t/web", third, false},
		{"t/web", "", true},
		{"t/web", strings.Repeat("0", 40), true}, // not in the history: look
	} {
		if got := last.ChangedUnderSince(q.dir, q.since); got != q.want {
			t.Errorf("ChangedUnderSince(%q, %.7s) = %v, want %v", q.dir, q.since, got, q.want)
		}
	}
}

func TestAFailedSyncIsRecordedAndRetriedAtTheNextPass(t *testing.T) {
	s := newSetup(t)
	w := s.watcher("n1")
	head := s.repo.push(map[string]string{"a": "1"})
	s.rec.fail = errors.New("store went away")
	w.Pass(t.Context())
	a, err := s.store.RepositorySyncAttemptLatest(t.Context(), "repository/github:acme/templates", "main", store.SyncTypeTemplate)
	if err != nil {
		t.Fatal(err)
	}
	if a.Status != store.SyncFailed || !strings.Contains(a.Events[len(a.Events)-1].Event, "store went away") {
		t.Fatalf("attempt = %+v, want FAILED with the error", a)
	}
	w.Pass(t.Context()) // the same error again: retried, not recorded again
	again, err := s.store.RepositorySyncAttemptLatest(t.Context(), "repository/github:acme/templates", "main", store.SyncTypeTemplate)
	if err != nil || again.ID != a.ID {
		t.Fatalf("latest attempt after the same failure = %+v, %v; want the first one still", again, err)
	}
	s.rec.mu.Lock()
	s.rec.fail = nil
	s.rec.mu.Unlock()
	w.Pass(t.Context())
	if calls := s.rec.calls(); len(calls) != 3 || calls[2].Commit != head || calls[2].Previous != "" {
		t.Fatalf("calls = %d, want the failed head offered again as a first sync", len(calls))
	}
}

func TestOneWatcherOfManySyncsABranchUntilItStops(t *testing.T) {
	s := newSetup(t)
	w1, w2 := s.watcher("n1"), s.watcher("n2")
	s.repo.push(map[string]string{"a": "1"})
	w1.Pass(t.Context())
	s.repo.push(map[string]string{"a": "2"})
	w2.Pass(t.Context())
	if calls := s.rec.calls(); len(calls) != 1 {
		t.Fatalf("syncer called %d times, want once: n2 must not sync a branch n1 holds", len(calls))
	}
	w1.Start(t.Context())
	w1.Stop() // releases n1's lease
	w2.Pass(t.Context())
	if calls := s.rec.calls(); len(calls) < 2 {
		t.Fatalf("syncer called %d times, want n2 to take the released branch", len(calls))
	}
}

// Two nodes on one PostgreSQL database, each with its own connections:
// one syncs the branch, the other waits for its lease.
func TestOneNodeOfManySyncsABranchOnPostgreSQL(t *testing.T) {
	s := newSetup(t)
	url := pgtest.Schema(t)
	nodes := make([]*reposync.Watcher, 2)
	for i := range nodes {
		st, err := postgres.Open(t.Context(), url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		nodes[i] = reposync.New(reposync.Config{Store: st, Git: s.git, Syncers: []reposync.Syncer{s.rec}, Owner: "node" + strconv.Itoa(i), Interval: time.Hour})
	}
	s.repo.push(map[string]string{"a": "1"})
	var wg sync.WaitGroup
	for _, n := range nodes {
		wg.Go(func() { n.Pass(t.Context()) })
	}
	wg.Wait()
	if calls := s.rec.calls(); len(calls) != 1 {
		t.Fatalf("syncer called %d times by two nodes, want once", len(calls))
	}
}

// A webhook reaching the node that does not hold the branch: the trigger
// goes to every node through PostgreSQL, and the holder syncs at once.
func TestATriggerOnAnyNodeReachesTheNodeHoldingTheBranch(t *testing.T) {
	s := newSetup(t)
	s.rec.synced = make(chan string, 4)
	url := pgtest.Schema(t)
	nodes := make([]*reposync.Watcher, 2)
	for i := range nodes {
		st, err := postgres.Open(t.Context(), url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		nodes[i] = reposync.New(reposync.Config{Store: st, Git: s.git, Syncers: []reposync.Syncer{s.rec}, Owner: "node" + strconv.Itoa(i),
			Interval: time.Hour, Notifier: st.Notifier(nil)})
	}
	s.repo.push(map[string]string{"a": "1"})
	nodes[0].Start(t.Context())
	t.Cleanup(nodes[0].Stop)
	<-s.rec.synced // node0 holds the branch now
	nodes[1].Start(t.Context())
	t.Cleanup(nodes[1].Stop)
	head := s.repo.push(map[string]string{"a": "2"})
	nodes[1].Trigger("GITHUB", "acme/templates")
	select {
	case got := <-s.rec.synced:
		if got != head {
			t.Fatalf("synced %s, want the pushed %s", got, head)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the node holding the branch did not sync within 30 s of a trigger on the other node (the poll is an hour)")
	}
}

func TestTriggerSyncsWithoutWaitingForThePoll(t *testing.T) {
	s := newSetup(t)
	s.rec.synced = make(chan string, 4)
	s.repo.push(map[string]string{"a": "1"})
	w := s.watcher("n1")
	w.Start(t.Context())
	t.Cleanup(w.Stop)
	<-s.rec.synced // the first pass, at start
	head := s.repo.push(map[string]string{"a": "2"})
	w.Trigger("", "acme/templates")
	select {
	case got := <-s.rec.synced:
		if got != head {
			t.Fatalf("synced %s, want the pushed %s", got, head)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no sync within 30 s of the trigger (the poll is an hour)")
	}
}
