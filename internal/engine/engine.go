// Package engine runs deployments: workers claim queued deployments from the
// store under a lease, hand them to the provisioning engine their plan names, and end
// them with a conditional write. It also carries cancels to the run they stop
// and finishes, honestly, deployments whose worker died.
//
// Some deployments are handed to an outside party and wait for its report
// for hours or days (the Terraform hand-off; see provision's "Waiting on
// an outside party"). A run that hands off returns provision.Result.Wait:
// the worker then parks the deployment (store.DeploymentWait: still
// active, its record kept, the lease released) and is free at once.
// A parked deployment is claimed again, as briefly, only when its check is
// due or a cancel lands on it; a report ends it through the store without
// any worker. Neither a restart nor the recovery of lost workers ends a
// parked deployment: a check cut short puts it back to wait.
//
// A deployment's life, as the engine sees it:
//
//	queued (IN_PROGRESS, unclaimed) --claim--> running --ok--------> SUCCEEDED / DELETE_COMPLETE
//	                                              |------error-----> FAILED / DELETE_FAILED
//	      (cancel: CANCELLING) ---stop the run--> |------stopped---> CANCELLED
//	                                              |------finished--> SUCCEEDED (the work won the race)
//
// The end state is decided only by conditional writes in the store, so "run
// finished" and "cancel landed" have exactly one winner.
package engine

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/hadronhq/hadron/internal/provision"
	"github.com/hadronhq/hadron/internal/store"
)

// Defaults for Config.
const (
	DefaultWorkers      = 4
	DefaultLease        = 30 * time.Second
	DefaultPollInterval = 2 * time.Second
)

// Causes a run's context is cancelled with; they reach the engine that runs
// it so it can tell a user's cancel from a shutdown. They are provision's,
// named here for the engine's callers.
var (
	ErrUserCancelled = provision.ErrUserCancelled
	ErrShutdown      = provision.ErrShutdown
	ErrLeaseLost     = provision.ErrLeaseLost
)

// Messages of deployments the engine ends without a provisioner's word.
const (
	MessageWorkerLost = "provisioning interrupted: worker lost"
	MessageShutdown   = "provisioning interrupted: server shut down before the run finished"
	MessageLeaseLost  = "provisioning interrupted: the node running it could not renew its lease in time"
)

// Steps of a run before the engine's work, as Config.OnStep names them.
const (
	StepBundle  = "read bundle"
	StepWorkDir = "prepare working directory"
	StepEngine  = "engine run"
)

// FileSource reads the files of a bundle directory.
type FileSource interface {
	BundleFiles(ctx context.Context, ref provision.BundleRef) (map[string][]byte, error)
}

// Config configures an Engine.
type Config struct {
	Store store.Store
	// Owner identifies this process in leases; unique per process start.
	Owner        string
	Workers      int
	Lease        time.Duration
	PollInterval time.Duration
	// DataDir holds work/<id> (working directories) and logs/<id>.log.
	DataDir string
	// Engines runs the plans, by the engine each names.
	Engines *provision.Registry
	Files   FileSource
	Logger  *slog.Logger
	// Now is the clock; tests may replace it.
	Now func() time.Time
	// OnClaim, when set, is called with each claimed deployment before it runs
	// (tests use it to hold a run at a known point).
	OnClaim func(d *store.Deployment)
	// OnStep, when set, is called before each step of a run between the
	// claim and the engine's Run (StepBundle, StepWorkDir, StepEngine):
	// tests cancel there to pin that a cancel wins whatever step it lands on.
	OnStep func(d *store.Deployment, step string)
	// OnFinish, when set, is called with each deployment this engine ended
	// (services advance when their instances' and pipeline's deployments end).
	OnFinish func(d *store.Deployment)
	// SharedStore says that other processes, alive, share the store
	// (PostgreSQL): a lease held by another owner is then theirs until it
	// expires. When false (SQLite), this process owns the store and start-up
	// treats every other owner's lease as lost.
	SharedStore bool
	// Notifier, when set, carries wake-ups and cancels to the other processes
	// sharing the store; without it they reach only this process's workers.
	Notifier Notifier
	// RecoverInterval is how often expired leases are looked for; default a
	// quarter of Lease.
	RecoverInterval time.Duration
	// Observer, when set, is told how deployments go (metrics).
	Observer Observer
}

// Observer is told how the deployments of this engine go; package metrics
// implements it. Kinds are the store's resource types (store.ResourceEnvironment
// ...), engines the names of the provision registry ("" when none was reached),
// statuses the store's end states. Its methods must be quick and safe for
// concurrent use.
type Observer interface {
	// DeploymentStarted: a worker began a deployment that waited queued for queued.
	DeploymentStarted(kind, engine string, queued time.Duration)
	// DeploymentEnded: a deployment reached its end state status; ran is how
	// long its run here took, negative when it did not run here (finished
	// for a lost worker, or cancelled while queued).
	DeploymentEnded(kind, engine, status string, ran time.Duration)
	// CancelEnded: a cancelled deployment reached its end state status,
	// sinceCancel after the cancel reached this process.
	CancelEnded(kind, status string, sinceCancel time.Duration)
}

// nopObserver is the Observer of an engine without one.
type nopObserver struct{}

func (nopObserver) DeploymentStarted(string, string, time.Duration)       {}
func (nopObserver) DeploymentEnded(string, string, string, time.Duration) {}
func (nopObserver) CancelEnded(string, string, time.Duration)             {}

// Engine runs deployments. Start it once; Stop is safe to call twice or before Start.
type Engine struct {
	cfg  Config
	wake chan struct{}
	// publish asks the publisher to tell other nodes a deployment was queued;
	// one pending request stands for any number of them.
	publish chan struct{}
	// checkLeases asks the lease keeper to renew (and so learn of cancels) now.
	checkLeases chan struct{}

	mu      sync.Mutex
	running map[string]context.CancelCauseFunc
	// fences are the running deployments' fences (SharedStore only).
	fences map[string]*provision.Fence
	// cancelled holds when a user's cancel reached each running deployment.
	cancelled map[string]time.Time

	stopOnce sync.Once
	cancel   context.CancelCauseFunc
	wg       sync.WaitGroup
}

// New returns an Engine for cfg, applying defaults.
func New(cfg Config) *Engine {
	cfg.Workers = cmp.Or(cfg.Workers, DefaultWorkers)
	cfg.Lease = cmp.Or(cfg.Lease, DefaultLease)
	cfg.PollInterval = cmp.Or(cfg.PollInterval, DefaultPollInterval)
	cfg.RecoverInterval = cmp.Or(cfg.RecoverInterval, cfg.Lease/4)
	if cfg.RecoverInterval >= cfg.Lease {
		cfg.RecoverInterval = cfg.Lease / 4
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Observer == nil {
		cfg.Observer = nopObserver{}
	}
	return &Engine{cfg: cfg, wake: make(chan struct{}, 1), publish: make(chan struct{}, 1),
		checkLeases: make(chan struct{}, 1), running: map[string]context.CancelCauseFunc{}, cancelled: map[string]time.Time{},
		fences: map[string]*provision.Fence{}}
}

// Start finishes deployments left behind by a dead process, then starts the
// workers, the lease keeper, the recovery of expired leases and, with a
// Notifier, the exchange of notifications with other nodes.
func (e *Engine) Start(ctx context.Context) error {
	for _, dir := range []string{"work", "logs"} {
		if err := os.MkdirAll(filepath.Join(e.cfg.DataDir, dir), 0o700); err != nil {
			return fmt.Errorf("engine: %w", err)
		}
	}
	alive := e.cfg.Owner
	if e.cfg.SharedStore {
		alive = ""
	}
	if err := e.Recover(ctx, alive); err != nil {
		return err
	}
	if err := e.sweepWork(ctx); err != nil {
		return err
	}
	runCtx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	e.cancel = cancel
	for range e.cfg.Workers {
		e.wg.Go(func() { e.work(runCtx) })
	}
	e.wg.Go(func() { e.keepLeases(runCtx) })
	e.wg.Go(func() { e.recoverExpired(runCtx) })
	if e.cfg.Notifier != nil {
		notes := make(chan string, 64)
		e.wg.Go(func() { e.cfg.Notifier.Listen(runCtx, notes) })
		e.wg.Go(func() { e.receive(runCtx, notes) })
		e.wg.Go(func() { e.publishQueued(runCtx) })
	}
	return nil
}

// Stop stops claiming, cancels running deployments with ErrShutdown, and waits
// for them to end.
func (e *Engine) Stop() {
	e.stopOnce.Do(func() {
		if e.cancel != nil {
			e.cancel(ErrShutdown)
		}
	})
	e.wg.Wait()
}

// Notify wakes a worker: a deployment was queued. With a Notifier, the other
// nodes sharing the store hear of it too, so that their idle workers compete
// for it.
func (e *Engine) Notify() {
	e.wakeLocal()
	if e.cfg.Notifier != nil {
		select {
		case e.publish <- struct{}{}:
		default:
		}
	}
}

// wakeLocal wakes one of this engine's idle workers.
func (e *Engine) wakeLocal() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// Running returns the ids of the deployments this engine runs now, sorted.
func (e *Engine) Running() []string {
	e.mu.Lock()
	ids := make([]string, 0, len(e.running))
	for id := range e.running {
		ids = append(ids, id)
	}
	e.mu.Unlock()
	slices.Sort(ids)
	return ids
}

// Workers is how many deployments the engine runs at once.
func (e *Engine) Workers() int { return e.cfg.Workers }

// Cancel stops the run of deployment id: at once when this engine runs it,
// otherwise, with a Notifier, by telling the node that does. The store already
// says CANCELLING; the run's end decides the final state. A notification that
// is lost is made up for by the runner's next lease renewal, which reads the
// status.
func (e *Engine) Cancel(id string) {
	if e.cancelRun(id, ErrUserCancelled) {
		return
	}
	// A deployment waiting on an outside party has no run: the cancel made
	// it claimable, and a worker takes the hand-off back.
	e.wakeLocal()
	if e.cfg.Notifier != nil {
		ctx, done := context.WithTimeout(context.Background(), publishTimeout)
		defer done()
		if err := e.cfg.Notifier.Publish(ctx, payloadCancel+id); err != nil {
			e.cfg.Logger.Warn("publish cancel: the runner learns of it at its next lease renewal", "deployment", id, "err", err)
		}
	}
}

// Recover ends the active deployments whose worker is gone: any other owner
// than alive (SQLite: one process owns the database), or an expired lease
// (alive empty: the only rule when several live nodes share the store). A
// deployment this engine still runs is left to its lease keeper, which either
// renews the lease or gives the run up.
func (e *Engine) Recover(ctx context.Context, alive string) error {
	orphans, err := e.cfg.Store.DeploymentsOrphaned(ctx, store.DeploymentsOrphanedParams{ExpiredBefore: e.cfg.Now(), Alive: alive})
	if err != nil {
		return fmt.Errorf("recover deployments: %w", err)
	}
	for _, d := range orphans {
		e.mu.Lock()
		_, mine := e.running[d.ID]
		e.mu.Unlock()
		if mine {
			continue
		}
		if d.Wait != "" {
			// A check on a hand-off was cut short: the hand-off itself is
			// intact, so the deployment goes back to waiting (a cancel
			// pending on it is claimed again at once).
			_, err := e.cfg.Store.DeploymentWait(ctx, store.DeploymentWaitParams{ID: d.ID, Owner: d.LeaseOwner,
				State: d.Wait, WakeAt: d.WakeAt, At: e.cfg.Now()})
			if err != nil && !errors.Is(err, store.ErrStatusChanged) {
				return fmt.Errorf("recover waiting deployment %s: %w", d.ID, err)
			}
			e.cfg.Logger.Info("a check on a waiting deployment was cut short: it waits again", "deployment", d.ID, "owner", d.LeaseOwner)
			e.wakeLocal()
			continue
		}
		to, msg := store.StatusFailed, MessageWorkerLost
		switch d.Status {
		case store.StatusCancelling:
			to, msg = store.StatusCancelled, store.CancelledMessage
		case store.StatusDeleteInProgress:
			to, msg = store.StatusDeleteFailed, "deprovisioning interrupted: worker lost"
		}
		ended, err := e.cfg.Store.DeploymentFinish(ctx, store.DeploymentFinishParams{
			ID: d.ID, From: []string{d.Status}, To: to, Message: msg, Owner: d.LeaseOwner,
		}, e.cfg.Now())
		if err != nil && !errors.Is(err, store.ErrStatusChanged) {
			return fmt.Errorf("recover deployment %s: %w", d.ID, err)
		}
		if err == nil {
			e.closeLostRun(d.ID, to)
			e.cfg.Observer.DeploymentEnded(d.TargetType, planEngine(d.Plan), to, -1)
			if d.Status == store.StatusCancelling {
				e.cfg.Observer.CancelEnded(d.TargetType, to, e.cfg.Now().Sub(d.LastModifiedAt))
			}
			if e.cfg.OnFinish != nil {
				e.cfg.OnFinish(ended)
			}
		}
		e.cfg.Logger.Warn("finished deployment left by a lost worker", "deployment", d.ID, "resource", d.TargetKey,
			"was", d.Status, "now", to, "owner", d.LeaseOwner)
	}
	return nil
}

func (e *Engine) work(ctx context.Context) {
	ticker := time.NewTicker(e.cfg.PollInterval)
	defer ticker.Stop()
	for {
		// next was claimed with the last finish, in the same commit
		// (DeploymentFinishAndClaim); it is run even if ctx ended since,
		// as a deployment claimed just before the end always was.
		var next *store.Deployment
		for next != nil || ctx.Err() == nil {
			d := next
			if d == nil {
				var err error
				d, err = e.cfg.Store.DeploymentClaim(ctx, e.claimParams())
				if err != nil {
					if ctx.Err() == nil {
						e.cfg.Logger.Error("claim deployment", "err", err)
					}
					break
				}
			}
			if d == nil {
				break
			}
			// Another deployment may be queued behind this one: pass the wake-up on.
			e.wakeLocal()
			next = e.run(ctx, d)
		}
		select {
		case <-ctx.Done():
			return
		case <-e.wake:
		case <-ticker.C:
		}
	}
}

// claimParams claims the oldest deployment with work to do for this engine.
func (e *Engine) claimParams() store.DeploymentClaimParams {
	return store.DeploymentClaimParams{Owner: e.cfg.Owner, Expires: e.leaseExpiry(), Now: e.cfg.Now()}
}

// leaseExpiry is when a lease taken or renewed now runs out: early enough that
// a dead owner's deployments are recovered (RecoverInterval later at most)
// within Lease of its death, with the renewals (every Lease/4) leaving room
// for two to fail.
func (e *Engine) leaseExpiry() time.Time {
	return e.cfg.Now().Add(e.cfg.Lease - e.cfg.RecoverInterval)
}

// keepLeases renews the leases of running deployments, and learns through the
// store of cancels this process did not see (sent to another node).
func (e *Engine) keepLeases(ctx context.Context) {
	ticker := time.NewTicker(e.cfg.Lease / 4)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		case <-e.checkLeases:
		}
		e.mu.Lock()
		ids := make([]string, 0, len(e.running))
		for id := range e.running {
			ids = append(ids, id)
		}
		e.mu.Unlock()
		for _, id := range ids {
			expires := e.leaseExpiry()
			status, err := e.cfg.Store.DeploymentRenew(ctx, store.DeploymentRenewParams{ID: id, Owner: e.cfg.Owner, Expires: expires})
			if err == nil {
				e.extendFence(id, expires)
			}
			switch {
			case errors.Is(err, store.ErrStatusChanged):
				e.cancelRun(id, ErrLeaseLost)
			case err != nil:
				e.cfg.Logger.Error("renew lease", "deployment", id, "err", err)
			case status == store.StatusCancelling:
				e.cancelRun(id, ErrUserCancelled)
			}
		}
	}
}

// Fencing. With a shared store another node recovers a deployment whose
// lease has run out and may start the next deployment of its resource. So
// that the two runs never overlap, a run is given a fence a margin before
// its lease runs out, moved at each renewal; the provisioning engine stops
// the run's processes at the fence by itself, even if this process is
// paused (provision.Fence). Without a shared store nobody else takes over,
// and runs have no fence.

// fenceMargin is how long before its lease runs out a run must be gone.
func (e *Engine) fenceMargin() time.Duration { return e.cfg.Lease / 8 }

// newFence returns the fence of a run whose lease runs out at expires; nil
// without a shared store.
func (e *Engine) newFence(expires time.Time) *provision.Fence {
	if !e.cfg.SharedStore {
		return nil
	}
	if expires.IsZero() {
		expires = e.leaseExpiry()
	}
	return provision.NewFence(e.fenceAt(expires))
}

// fenceAt turns a lease expiry of the store's clock into a fence on this
// process's monotonic clock.
func (e *Engine) fenceAt(expires time.Time) time.Time {
	return time.Now().Add(expires.Sub(e.cfg.Now()) - e.fenceMargin())
}

func (e *Engine) extendFence(id string, expires time.Time) {
	e.mu.Lock()
	f := e.fences[id]
	e.mu.Unlock()
	if f != nil {
		f.Extend(e.fenceAt(expires))
	}
}

// cancelRun cancels the local run of deployment id with cause, and reports
// whether there was one. The time of a user's first cancel is kept for the
// Observer.
func (e *Engine) cancelRun(id string, cause error) bool {
	e.mu.Lock()
	cancel := e.running[id]
	if _, seen := e.cancelled[id]; cancel != nil && !seen && errors.Is(cause, ErrUserCancelled) {
		e.cancelled[id] = e.cfg.Now()
	}
	e.mu.Unlock()
	if cancel != nil {
		cancel(cause)
	}
	return cancel != nil
}

// RunningCount returns how many deployments this engine's workers run now.
func (e *Engine) RunningCount() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.running)
}

// CancelledQueued is told of a deployment cancelled before any worker took
// it (it ended CANCELLED at once, without running), for the Observer.
func (e *Engine) CancelledQueued(kind string) {
	e.cfg.Observer.DeploymentEnded(kind, "", store.StatusCancelled, -1)
	e.cfg.Observer.CancelEnded(kind, store.StatusCancelled, 0)
}
