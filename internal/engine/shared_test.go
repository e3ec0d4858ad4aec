package engine_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/hadronhq/hadron/internal/engine"
	"github.com/hadronhq/hadron/internal/store"
)

// With a shared store (PostgreSQL), a lease held by another node is that
// node's until it expires: start-up leaves it alone, and the periodic
// recovery finishes a deployment only once its lease has run out.
func TestSharedStoreRecoversOnlyExpiredLeases(t *testing.T) {
	t.Parallel()
	f := setup(t, func(c *engine.Config) {
		c.SharedStore = true
		c.Lease = time.Second // recovery every 250 ms
	})
	ctx := context.Background()
	live := f.deploy(t, codebuildPlan("true"))
	dying := f.deploy(t, codebuildPlan("true"))
	if d, err := f.store.DeploymentClaim(ctx, store.DeploymentClaimParams{Owner: "live-node", Expires: time.Now().Add(time.Hour)}); err != nil || d == nil || d.ID != live.ID {
		t.Fatalf("claim by the live node: %v %v", d, err)
	}
	expires := time.Now().Add(500 * time.Millisecond)
	if d, err := f.store.DeploymentClaim(ctx, store.DeploymentClaimParams{Owner: "dying-node", Expires: expires}); err != nil || d == nil || d.ID != dying.ID {
		t.Fatalf("claim by the dying node: %v %v", d, err)
	}
	f.start(t)
	got := f.waitEnded(t, dying.ID)
	if got.Status != store.StatusFailed || got.StatusMessage != engine.MessageWorkerLost {
		t.Errorf("deployment of the dead node = %s %q, want FAILED %q", got.Status, got.StatusMessage, engine.MessageWorkerLost)
	}
	if got.CompletedAt.Before(expires.Truncate(time.Millisecond)) {
		t.Errorf("finished at %v, before its lease expired at %v", got.CompletedAt, expires)
	}
	if d, _ := f.store.DeploymentGet(ctx, live.ID); d.Status != store.StatusInProgress || d.LeaseOwner != "live-node" {
		t.Errorf("deployment of the live node = %s owned by %q, want left IN_PROGRESS to it", d.Status, d.LeaseOwner)
	}
}

// bus is an in-memory Notifier shared by engines: what one publishes, all hear.
type bus struct {
	mu   sync.Mutex
	subs []chan<- string
}

func (b *bus) Publish(ctx context.Context, payload string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, s := range b.subs {
		select {
		case s <- payload:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

func (b *bus) Listen(ctx context.Context, out chan<- string) {
	b.mu.Lock()
	b.subs = append(b.subs, out)
	b.mu.Unlock()
	<-ctx.Done()
}

// A cancel handed to an engine that does not run the deployment reaches the
// engine that does through the Notifier, long before a lease renewal would.
func TestCancelReachesTheRunOnAnotherEngineThroughTheNotifier(t *testing.T) {
	t.Parallel()
	b := &bus{}
	var mu sync.Mutex
	runner := map[string]string{}
	onClaim := func(owner string) func(*store.Deployment) {
		return func(d *store.Deployment) {
			mu.Lock()
			runner[d.ID] = owner
			mu.Unlock()
		}
	}
	f := setup(t, func(c *engine.Config) {
		c.SharedStore, c.Notifier, c.Lease = true, b, time.Minute // renewals every 15 s: too slow to matter
		c.OnClaim = onClaim(c.Owner)
	})
	cfg := f.cfg
	cfg.Owner += "-b"
	cfg.OnClaim = onClaim(cfg.Owner)
	other := engine.New(cfg)
	if err := other.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(other.Stop)
	f.start(t)
	engines := map[string]*engine.Engine{f.cfg.Owner: f.engine, cfg.Owner: other}

	started := filepath.Join(t.TempDir(), "started")
	d := f.deploy(t, codebuildPlan(fmt.Sprintf(`trap 'exit 143' TERM; touch %s; while :; do sleep 1 & wait $!; done`, started)))
	waitFile(t, started)
	mu.Lock()
	owner := runner[d.ID]
	mu.Unlock()
	var notRunner *engine.Engine
	for name, e := range engines {
		if name != owner {
			notRunner = e
		}
	}
	begin := time.Now()
	res, err := f.store.DeploymentCancel(context.Background(), store.DeploymentCancelParams{ID: d.ID, At: time.Now()})
	if err != nil || res.Status != store.StatusCancelling {
		t.Fatalf("cancel = %v, %v", res, err)
	}
	notRunner.Cancel(d.ID)
	got := f.waitEnded(t, d.ID)
	if got.Status != store.StatusCancelled {
		t.Errorf("deployment = %s %q, want CANCELLED", got.Status, got.StatusMessage)
	}
	if took := time.Since(begin); took > 5*time.Second {
		t.Errorf("the cancel took %s to stop the run on the other engine", took)
	}
}
