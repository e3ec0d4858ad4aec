// Package reposync watches branches of linked repositories and hands each
// new commit to the syncers that watch them: template sync (package
// proton) and service sync register theirs. It is the machinery both
// share; what a commit means is the syncer's business.
//
// # The interface for a syncer
//
// A Syncer has a SyncType (store.SyncTypeTemplate or
// store.SyncTypeService: it names the syncer's state and its repository
// sync attempts), lists the Branches it watches (read again at every
// pass, so a new or changed config is picked up at the next poll), and
// Sync handles one branch's new head:
//
//	type Syncer interface {
//		SyncType() string
//		Branches(ctx context.Context) ([]Branch, error)
//		Sync(ctx context.Context, b Branch, snap *Snapshot) error
//	}
//
// The Snapshot gives the commit id (Commit), the commit this syncer last
// handled on the branch (Previous, "" for none), the paths that changed
// between them (Changed; AllChanged when there is no Previous or it is no
// longer in the branch's history), and the files at the commit (Paths,
// ReadFile, Files of a directory). Register a syncer with Config.Syncers.
//
// Sync is called at most once at a time per branch and syncer, in one
// process of all that share the store (see leases below), and only when
// the branch's head differs from the last commit the syncer handled
// there. When Sync returns nil the commit is recorded as handled (the
// syncer is not called again for it) with a SUCCEEDED repository sync
// attempt; an error is a FAILED attempt whose event carries the error,
// and the same commit is offered again at the next pass (the same error
// again on the same commit is not recorded again). So an error is
// for what may go better on retry (the store unreachable); what is wrong
// with the commit itself (a bad bundle, a bad spec) the syncer records as
// its own resource sync attempt and returns nil.
//
// # Passes, webhooks, leases
//
// The Watcher runs a pass every Config.Interval (DefaultInterval), and at
// once when Trigger is called (the webhook endpoint of package server
// calls it for a forge's push event). A pass takes, for each branch, the
// lease on it (store.SyncStore.SyncLeaseClaim; a node renews its leases
// at every pass and releases them at Stop), fetches the branch once, and
// calls every syncer watching it. The last handled commit of each syncer
// is in the store, so syncing resumes after a restart where it stopped,
// and of several nodes on one PostgreSQL database only the lease holder
// syncs a branch. With a Config.Notifier (PostgreSQL's LISTEN/NOTIFY), a
// Trigger is passed to every node, so the one holding the branch syncs at
// once whichever node the webhook reached; without one, a webhook that
// reaches a node not holding the branch's lease changes nothing there and
// the holder syncs at its next poll.
package reposync

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/hadronhq/hadron/internal/store"
)

// DefaultInterval is how often branches are polled (the --sync-interval
// default).
const DefaultInterval = time.Minute

// minLease is the shortest lease a node takes on a branch.
const minLease = 30 * time.Second

// Event types of repository sync attempts.
const (
	EventStarted   = "SYNC_STARTED"
	EventSucceeded = "SYNC_SUCCEEDED"
	EventFailed    = "SYNC_FAILED"
)

// Branch is one watched branch of a linked repository.
type Branch struct {
	// Provider is the repository's provider (GITHUB, GITHUB_ENTERPRISE,
	// BITBUCKET), Repository its owner/name.
	Provider, Repository, Branch string
}

// Key is the key of the branch's linked repository (store.RepositoryKey).
func (b Branch) Key() string { return store.RepositoryKey(b.Provider, b.Repository) }

func (b Branch) String() string {
	return fmt.Sprintf("%s %s branch %s", b.Provider, b.Repository, b.Branch)
}

// Syncer is one kind of sync driven by commits; see the package
// documentation for its contract.
type Syncer interface {
	// SyncType is store.SyncTypeTemplate or store.SyncTypeService.
	SyncType() string
	// Branches lists the branches the syncer watches now.
	Branches(ctx context.Context) ([]Branch, error)
	// Sync handles the branch's new head.
	Sync(ctx context.Context, b Branch, snap *Snapshot) error
}

// Git reads watched branches; cmd/hadron gives one on package gitrepo.
type Git interface {
	// Head fetches branch b and returns its tree at the tip.
	Head(ctx context.Context, b Branch) (Tree, error)
}

// Tree is a branch's content at one commit.
type Tree interface {
	Commit() string
	// Paths lists every file, sorted.
	Paths() ([]string, error)
	ReadFile(path string) ([]byte, error)
	// ChangedSince lists the files that differ from commit, sorted; an
	// error when commit is not in the history fetched.
	ChangedSince(commit string) ([]string, error)
}

// Snapshot is what a syncer is given of a branch's new head.
type Snapshot struct {
	// Commit is the new head.
	Commit string
	// Previous is the commit the syncer last handled on the branch, ""
	// for none.
	Previous string
	// Changed lists the paths that differ between Previous and Commit,
	// sorted; nil with AllChanged set when there is no Previous to compare
	// with (a first sync, or a rewritten history).
	Changed    []string
	AllChanged bool

	tree  Tree
	paths []string
	// since caches ChangedSince's answers by commit; nil paths with
	// all set when the commit is not in the history fetched.
	since map[string]changes
}

// changes is what differs between a commit and the snapshot's.
type changes struct {
	paths []string
	all   bool
}

// NewSnapshot returns the snapshot of tree for a syncer that last handled
// previous ("" for none). Tests of syncers build theirs with it.
func NewSnapshot(tree Tree, previous string) *Snapshot {
	s := &Snapshot{Commit: tree.Commit(), Previous: previous, tree: tree}
	if previous == "" {
		s.AllChanged = true
		return s
	}
	changed, err := tree.ChangedSince(previous)
	if err != nil {
		// The history was rewritten (or the fetch lost it): look at all.
		s.AllChanged = true
		return s
	}
	s.Changed = changed
	return s
}

// Paths lists every file at the commit, sorted.
func (s *Snapshot) Paths() ([]string, error) {
	if s.paths == nil {
		p, err := s.tree.Paths()
		if err != nil {
			return nil, err
		}
		s.paths = p
	}
	return s.paths, nil
}

// ReadFile returns one file at the commit.
func (s *Snapshot) ReadFile(path string) ([]byte, error) { return s.tree.ReadFile(path) }

// Files returns every file under dir at the commit, keyed by path relative
// to dir ("" for the whole tree).
func (s *Snapshot) Files(dir string) (map[string][]byte, error) {
	paths, err := s.Paths()
	if err != nil {
		return nil, err
	}
	prefix := strings.Trim(dir, "/")
	if prefix != "" {
		prefix += "/"
	}
	out := map[string][]byte{}
	for _, p := range paths {
		rel, ok := strings.CutPrefix(p, prefix)
		if !ok {
			continue
		}
		data, err := s.tree.ReadFile(p)
		if err != nil {
			return nil, err
		}
		out[rel] = data
	}
	return out, nil
}

// ChangedUnder reports whether a file under dir changed ("" for any).
func (s *Snapshot) ChangedUnder(dir string) bool {
	if s.AllChanged {
		return true
	}
	return anyUnder(s.Changed, dir)
}

// ChangedUnderSince reports whether a file under dir ("" for any) differs
// between commit and the snapshot's commit. A syncer whose parts are not
// all looked at on every commit (template sync looks at a template major
// when it changed) asks it with the commit it last looked at the part:
// the branch's Previous tells what changed since the syncer last handled
// the branch, which misses what changed before a part was configured (a
// new config on a branch already synced, a config changed or re-created).
// True for "" and for a commit not in the branch's history fetched (a
// rewritten history): the part must be looked at.
func (s *Snapshot) ChangedUnderSince(dir, commit string) bool {
	switch commit {
	case "":
		return true
	case s.Commit:
		return false
	case s.Previous:
		return s.ChangedUnder(dir)
	}
	c, ok := s.since[commit]
	if !ok {
		paths, err := s.tree.ChangedSince(commit)
		c = changes{paths: paths, all: err != nil}
		if s.since == nil {
			s.since = map[string]changes{}
		}
		s.since[commit] = c
	}
	return c.all || anyUnder(c.paths, dir)
}

// anyUnder reports whether a path of paths is dir or under it ("" for any).
func anyUnder(paths []string, dir string) bool {
	prefix := strings.Trim(dir, "/")
	for _, p := range paths {
		if prefix == "" || p == prefix || strings.HasPrefix(p, prefix+"/") {
			return true
		}
	}
	return false
}

// Notifier exchanges notifications with the other processes sharing the
// store: Publish reaches every process, this one included; Listen sends
// what they publish to out until ctx ends ("" after a reconnection).
type Notifier interface {
	Publish(ctx context.Context, payload string) error
	Listen(ctx context.Context, out chan<- string)
}

// payloadTrigger, followed by provider, a space and owner/name, is a
// Trigger passed to every node (a PostgreSQL payload holds no NUL).
const payloadTrigger = "reposync-trigger:"

// Config configures a Watcher.
type Config struct {
	Store   store.SyncStore
	Git     Git
	Syncers []Syncer
	// Interval is the time between polls; DefaultInterval when 0.
	Interval time.Duration
	// Owner names this process in branch leases; unique per node.
	Owner string
	// Notifier, when set, carries triggers to the other processes sharing
	// Store (the shape of engine.Notifier; PostgreSQL's notifier).
	Notifier Notifier
	Logger   *slog.Logger
	// Now is the clock; tests may replace it.
	Now func() time.Time
}

// Watcher polls the watched branches and calls the syncers; see the
// package documentation.
type Watcher struct {
	cfg Config

	trigger chan struct{}
	mu      sync.Mutex
	// pending are the repositories (provider, owner/name) a Trigger asked
	// to sync at once; a pass triggered with none pending syncs all.
	pending map[[2]string]bool
	// held are the branches whose lease this node holds.
	held map[Branch]bool
	// failed remembers the last fetch error of each branch, and
	// syncFailed the last error of each syncer on a branch with its
	// commit, so that what keeps failing is recorded once per error, not
	// at every poll (it is retried at every poll all the same).
	failed     map[Branch]string
	syncFailed map[syncKey]string

	stop     context.CancelFunc
	ctx      context.Context
	done     chan struct{}
	stopOnce sync.Once
}

// New returns a watcher; Start starts it.
func New(cfg Config) *Watcher {
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Watcher{cfg: cfg, trigger: make(chan struct{}, 1), pending: map[[2]string]bool{},
		held: map[Branch]bool{}, failed: map[Branch]string{}, syncFailed: map[syncKey]string{}}
}

// Start runs the watcher's passes in the background until Stop or ctx ends.
func (w *Watcher) Start(ctx context.Context) {
	ctx, w.stop = context.WithCancel(ctx)
	w.done = make(chan struct{})
	w.ctx = ctx
	if w.cfg.Notifier != nil {
		notes := make(chan string, 16)
		go w.cfg.Notifier.Listen(ctx, notes)
		go w.receive(ctx, notes)
	}
	go func() {
		defer close(w.done)
		t := time.NewTicker(w.cfg.Interval)
		defer t.Stop()
		for {
			w.Pass(ctx)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			case <-w.trigger:
			}
		}
	}()
}

// Stop ends the background passes, waits for the one running, and
// releases this node's leases. Safe to call twice or before Start.
func (w *Watcher) Stop() {
	w.stopOnce.Do(func() {
		if w.stop == nil {
			return
		}
		w.stop()
		<-w.done
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		w.mu.Lock()
		defer w.mu.Unlock()
		for b := range w.held {
			if err := w.cfg.Store.SyncLeaseRelease(ctx, b.Key(), b.Branch, w.cfg.Owner); err != nil {
				w.cfg.Logger.Warn("release sync lease", "branch", b.String(), "err", err)
			}
		}
	})
}

// Trigger asks for a pass at once over the branches of repository (owner/
// name) of provider; provider "" matches any provider. With a Notifier it
// asks every node. It does not wait.
func (w *Watcher) Trigger(provider, repository string) {
	if w.cfg.Notifier != nil && w.ctx != nil {
		ctx, cancel := context.WithTimeout(w.ctx, 5*time.Second)
		defer cancel()
		err := w.cfg.Notifier.Publish(ctx, payloadTrigger+provider+" "+repository)
		if err == nil {
			return // this node hears it too
		}
		w.cfg.Logger.Warn("pass a sync trigger to the other nodes: they sync at their next poll", "err", err)
	}
	w.triggerLocal(provider, repository)
}

// receive acts on the triggers of every node.
func (w *Watcher) receive(ctx context.Context, notes <-chan string) {
	for {
		select {
		case <-ctx.Done():
			return
		case n := <-notes:
			if rest, ok := strings.CutPrefix(n, payloadTrigger); ok {
				provider, repository, _ := strings.Cut(rest, " ")
				w.triggerLocal(provider, repository)
			}
		}
	}
}

// triggerLocal asks this node for a pass at once.
func (w *Watcher) triggerLocal(provider, repository string) {
	w.mu.Lock()
	w.pending[[2]string{provider, repository}] = true
	w.mu.Unlock()
	select {
	case w.trigger <- struct{}{}:
	default:
	}
}

// Pass syncs, once, every watched branch (or, when triggered, the branches
// of the repositories triggered) whose lease this node holds or takes.
func (w *Watcher) Pass(ctx context.Context) {
	w.mu.Lock()
	pending := w.pending
	w.pending = map[[2]string]bool{}
	w.mu.Unlock()

	watched := map[Branch][]Syncer{}
	var order []Branch
	for _, s := range w.cfg.Syncers {
		branches, err := s.Branches(ctx)
		if err != nil {
			w.cfg.Logger.Error("list watched branches", "syncType", s.SyncType(), "err", err)
			continue
		}
		for _, b := range branches {
			if len(pending) > 0 && !pending[[2]string{b.Provider, b.Repository}] && !pending[[2]string{"", b.Repository}] {
				continue
			}
			if _, seen := watched[b]; !seen {
				order = append(order, b)
			}
			watched[b] = append(watched[b], s)
		}
	}
	for _, b := range order {
		if ctx.Err() != nil {
			return
		}
		w.syncBranch(ctx, b, watched[b])
	}
}

// syncBranch takes the branch's lease, fetches it and calls its syncers.
func (w *Watcher) syncBranch(ctx context.Context, b Branch, syncers []Syncer) {
	now := w.cfg.Now()
	ok, err := w.cfg.Store.SyncLeaseClaim(ctx, store.SyncLeaseParams{Repository: b.Key(), Branch: b.Branch, Owner: w.cfg.Owner,
		Now: now, Expires: now.Add(max(3*w.cfg.Interval, minLease))})
	w.mu.Lock()
	w.held[b] = ok && err == nil
	w.mu.Unlock()
	if err != nil {
		w.cfg.Logger.Error("claim sync lease", "branch", b.String(), "err", err)
		return
	}
	if !ok {
		return
	}
	tree, err := w.cfg.Git.Head(ctx, b)
	if err != nil {
		w.fetchFailed(ctx, b, syncers, err)
		return
	}
	w.mu.Lock()
	delete(w.failed, b)
	w.mu.Unlock()
	for _, s := range syncers {
		if err := w.syncOne(ctx, b, s, tree); err != nil {
			w.cfg.Logger.Error("sync", "branch", b.String(), "syncType", s.SyncType(), "err", err)
		}
	}
}

// fetchFailed records a failed attempt for each syncer of a branch that
// could not be fetched, once per distinct error.
func (w *Watcher) fetchFailed(ctx context.Context, b Branch, syncers []Syncer, err error) {
	w.cfg.Logger.Warn("fetch watched branch", "branch", b.String(), "err", err)
	msg := err.Error()
	w.mu.Lock()
	seen := w.failed[b] == msg
	w.failed[b] = msg
	w.mu.Unlock()
	if seen {
		return
	}
	now := w.cfg.Now()
	for _, s := range syncers {
		a := &store.RepositorySyncAttempt{Repository: b.Key(), Branch: b.Branch, SyncType: s.SyncType(), Status: store.SyncFailed, StartedAt: now,
			Events: []store.SyncEvent{{Type: EventFailed, Event: "fetch " + b.String() + ": " + msg, At: now}}}
		if err := w.cfg.Store.RepositorySyncAttemptAdd(ctx, a); err != nil {
			w.cfg.Logger.Error("record sync attempt", "branch", b.String(), "err", err)
		}
	}
}

// syncKey names one syncer's state on a branch.
type syncKey struct {
	Branch
	syncType string
}

// syncOne hands tree to syncer s when its head differs from what s last
// handled, and records the attempt.
func (w *Watcher) syncOne(ctx context.Context, b Branch, s Syncer, tree Tree) error {
	prev, err := w.cfg.Store.SyncHeadGet(ctx, b.Key(), b.Branch, s.SyncType())
	if err != nil {
		return err
	}
	if prev == tree.Commit() {
		return nil
	}
	started := w.cfg.Now()
	a := &store.RepositorySyncAttempt{Repository: b.Key(), Branch: b.Branch, SyncType: s.SyncType(), Commit: tree.Commit(), StartedAt: started,
		Events: []store.SyncEvent{{Type: EventStarted, Event: "sync of commit " + tree.Commit() + " started", ExternalID: tree.Commit(), At: started}}}
	key := syncKey{b, s.SyncType()}
	if err := s.Sync(ctx, b, NewSnapshot(tree, prev)); err != nil {
		seen := tree.Commit() + "\x00" + err.Error()
		w.mu.Lock()
		again := w.syncFailed[key] == seen
		w.syncFailed[key] = seen
		w.mu.Unlock()
		if again {
			return err
		}
		a.Status = store.SyncFailed
		a.Events = append(a.Events, store.SyncEvent{Type: EventFailed, Event: err.Error(), ExternalID: tree.Commit(), At: w.cfg.Now()})
		if rerr := w.cfg.Store.RepositorySyncAttemptAdd(context.WithoutCancel(ctx), a); rerr != nil {
			return errors.Join(err, rerr)
		}
		return err
	}
	w.mu.Lock()
	delete(w.syncFailed, key)
	w.mu.Unlock()
	a.Status = store.SyncSucceeded
	a.Events = append(a.Events, store.SyncEvent{Type: EventSucceeded, Event: "sync of commit " + tree.Commit() + " succeeded", ExternalID: tree.Commit(), At: w.cfg.Now()})
	return w.cfg.Store.RepositorySyncAttemptAdd(context.WithoutCancel(ctx), a)
}
