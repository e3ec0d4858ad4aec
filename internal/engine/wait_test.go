package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hadronhq/hadron/internal/engine"
	"github.com/hadronhq/hadron/internal/provision"
	"github.com/hadronhq/hadron/internal/store"
)

// handOff is a provisioning engine that hands its work to an outside
// party, as the Terraform hand-off does: its first run returns a Wait;
// a check returns another, or ends the deployment when the outside party
// closed it; a cancel takes the hand-off back, or fails to when told to.
type handOff struct {
	checkAfter time.Duration
	closed     atomic.Bool // the outside party cancelled it
	stuck      atomic.Bool // taking it back fails (the pull request was merged)
	checks     atomic.Int64
	cancels    atomic.Int64
}

func (h *handOff) Plan(provision.Request) (json.RawMessage, error) { return nil, nil }

func (h *handOff) Run(ctx context.Context, run provision.Run) (provision.Result, error) {
	if run.Waiting == nil {
		return provision.Result{Wait: &provision.Wait{State: json.RawMessage(`{"checks":0}`), CheckAfter: h.checkAfter}}, nil
	}
	var st struct{ Checks int }
	if err := json.Unmarshal(run.Waiting, &st); err != nil {
		return provision.Result{}, err
	}
	if cause := context.Cause(ctx); errors.Is(cause, provision.ErrUserCancelled) {
		h.cancels.Add(1)
		if h.stuck.Load() {
			return provision.Result{}, errors.New("the pull request is already merged")
		}
		return provision.Result{}, fmt.Errorf("pull request closed: %w", cause)
	}
	h.checks.Add(1)
	if h.closed.Load() {
		return provision.Result{}, fmt.Errorf("the pull request was closed without being merged: %w", provision.ErrCancelledOutside)
	}
	st.Checks++
	raw, _ := json.Marshal(st)
	return provision.Result{Wait: &provision.Wait{State: raw, CheckAfter: h.checkAfter}}, nil
}

// waitParked waits until deployment id waits on its outside party, holding no lease.
func (f *fixture) waitParked(t *testing.T, id string) *store.Deployment {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		d, err := f.store.DeploymentGet(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if d.Wait != "" && d.LeaseOwner == "" {
			return d
		}
		if !store.IsActive(d.Status) {
			t.Fatalf("deployment %s ended %s %q instead of waiting", id, d.Status, d.StatusMessage)
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("deployment %s never waited", id)
	return nil
}

func TestHandedOffDeploymentWaitsWithoutHoldingAWorkerAndAReportEndsIt(t *testing.T) {
	t.Parallel()
	h := &handOff{}
	f := setup(t, func(c *engine.Config) {
		c.Workers = 1
		c.Engines.Register("hand-off", h)
	})
	f.start(t)
	d := f.deploy(t, provision.Plan{Engine: "hand-off"})
	parked := f.waitParked(t, d.ID)
	if parked.Status != store.StatusInProgress {
		t.Fatalf("waiting deployment is %s", parked.Status)
	}
	// The one worker is free for other deployments.
	other := f.deploy(t, codebuildPlan("true"))
	if got := f.waitEnded(t, other.ID); got.Status != store.StatusSucceeded {
		t.Fatalf("deployment queued behind the hand-off = %s %q", got.Status, got.StatusMessage)
	}
	// No check was asked for: nothing ran again.
	if got, _ := f.store.DeploymentGet(context.Background(), d.ID); got.Status != store.StatusInProgress || h.checks.Load() != 0 {
		t.Fatalf("hand-off = %s after %d checks", got.Status, h.checks.Load())
	}
	// The report (NotifyResourceDeploymentStatusChange) ends it, holding no lease.
	if _, err := f.store.DeploymentFinish(context.Background(), store.DeploymentSetSucceeded(d.ID, "", `{"url":"u"}`), time.Now()); err != nil {
		t.Fatal(err)
	}
	if got := f.waitEnded(t, d.ID); got.Status != store.StatusSucceeded {
		t.Errorf("hand-off = %s", got.Status)
	}
}

func TestCancelOfAWaitingDeploymentTakesTheHandOffBack(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name   string
		stuck  bool
		status string
		msg    string
	}{
		{"taken_back_ends_cancelled", false, store.StatusCancelled, store.CancelledMessage},
		{"cannot_be_taken_back_ends_failed", true, store.StatusFailed, "already merged"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			h := &handOff{}
			h.stuck.Store(c.stuck)
			f := setup(t, func(cfg *engine.Config) { cfg.Engines.Register("hand-off", h) })
			f.start(t)
			d := f.deploy(t, provision.Plan{Engine: "hand-off"})
			f.waitParked(t, d.ID)
			if res := f.cancel(t, d.ID); res.Status != store.StatusCancelling {
				t.Fatalf("cancel answered %s, want CANCELLING while the hand-off is taken back", res.Status)
			}
			got := f.waitEnded(t, d.ID)
			if got.Status != c.status || !strings.Contains(got.StatusMessage, c.msg) || h.cancels.Load() != 1 {
				t.Errorf("deployment = %s %q after %d take-backs, want %s %q after 1", got.Status, got.StatusMessage, h.cancels.Load(), c.status, c.msg)
			}
		})
	}
}

func TestWaitingDeploymentSurvivesARestart(t *testing.T) {
	t.Parallel()
	h := &handOff{}
	f := setup(t, func(c *engine.Config) { c.Engines.Register("hand-off", h) })
	f.start(t)
	d := f.deploy(t, provision.Plan{Engine: "hand-off"})
	f.waitParked(t, d.ID)
	f.engine.Stop()

	// A new process over the same store: start-up finishes what dead
	// workers left, but a waiting deployment has no worker to lose.
	cfg := f.cfg
	cfg.Owner += "-restarted"
	next := engine.New(cfg)
	if err := next.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(next.Stop)
	if got := f.waitParked(t, d.ID); got.Status != store.StatusInProgress {
		t.Fatalf("after the restart the hand-off is %s", got.Status)
	}
	if _, err := f.store.DeploymentCancel(context.Background(), store.DeploymentCancelParams{ID: d.ID, At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	next.Cancel(d.ID)
	if got := f.waitEnded(t, d.ID); got.Status != store.StatusCancelled {
		t.Errorf("cancelled after the restart: %s %q", got.Status, got.StatusMessage)
	}
}

func TestCheckOfAWaitingDeploymentCutShortByADeadWorkerWaitsAgain(t *testing.T) {
	t.Parallel()
	h := &handOff{}
	f := setup(t, func(c *engine.Config) { c.Engines.Register("hand-off", h) })
	ctx := context.Background()
	d := f.deploy(t, provision.Plan{Engine: "hand-off"})
	// A dead process had claimed it, handed it off and was checking on it.
	if got, err := f.store.DeploymentClaim(ctx, store.DeploymentClaimParams{Owner: "dead", Expires: time.Now().Add(time.Hour)}); err != nil || got == nil {
		t.Fatalf("claim: %v %v", got, err)
	}
	if _, err := f.store.DeploymentWait(ctx, store.DeploymentWaitParams{ID: d.ID, Owner: "dead", State: `{"checks":3}`, WakeAt: time.Now(), At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if got, err := f.store.DeploymentClaim(ctx, store.DeploymentClaimParams{Owner: "dead", Expires: time.Now().Add(time.Hour), Now: time.Now()}); err != nil || got == nil {
		t.Fatalf("claim for a check: %v %v", got, err)
	}
	f.start(t)
	// Start-up put it back to wait, and the due check ran.
	h.closed.Store(true)
	got := f.waitEnded(t, d.ID)
	if got.Status != store.StatusCancelled || !strings.Contains(got.StatusMessage, "closed without being merged") {
		t.Errorf("deployment = %s %q, want CANCELLED by its outside party", got.Status, got.StatusMessage)
	}
}

func TestDueChecksFollowTheOutsidePartyUntilItCancels(t *testing.T) {
	t.Parallel()
	h := &handOff{checkAfter: 20 * time.Millisecond}
	f := setup(t, func(c *engine.Config) { c.Engines.Register("hand-off", h) })
	f.start(t)
	d := f.deploy(t, provision.Plan{Engine: "hand-off"})
	f.waitParked(t, d.ID)
	deadline := time.Now().Add(20 * time.Second)
	for h.checks.Load() < 3 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	got := f.waitParked(t, d.ID)
	if got.Status != store.StatusInProgress || !strings.Contains(got.Wait, `"Checks":`) {
		t.Fatalf("after %d checks: %s wait %q", h.checks.Load(), got.Status, got.Wait)
	}
	h.closed.Store(true)
	got = f.waitEnded(t, d.ID)
	if got.Status != store.StatusCancelled || !strings.Contains(got.StatusMessage, "closed without being merged") {
		t.Errorf("deployment = %s %q, want CANCELLED by its outside party", got.Status, got.StatusMessage)
	}
}
