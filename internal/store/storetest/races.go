package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/hadronhq/hadron/internal/store"
)

// raceRounds is how many fresh deployments each race test plays out. The
// scheduler decides which side wins each round; every round must end in one of
// the outcomes the contract allows, whichever it is.
const raceRounds = 50

// together runs fns at once, released by one signal so that they contend, and
// waits for all of them.
func together(fns ...func()) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for _, fn := range fns {
		wg.Go(func() {
			<-start
			fn()
		})
	}
	close(start)
	wg.Wait()
}

// raceFinishCancel is the race "the run finishes while the cancel lands": a
// worker finishes its claimed deployment as SUCCEEDED, accepting IN_PROGRESS or
// CANCELLING, while a user cancels it. Exactly one of two histories happens:
//   - the cancel lands first (CANCELLING, naming the worker), then the finish
//     moves CANCELLING → SUCCEEDED: the cancel had no effect;
//   - the finish lands first, and the cancel fails with ErrStatusChanged
//     naming SUCCEEDED.
//
// Either way the deployment ends SUCCEEDED and nothing stays active.
func raceFinishCancel(t *testing.T, h *harness) {
	var cancelFirst, finishFirst int
	for i := range raceRounds {
		d := h.create(environment(fmt.Sprintf("race-%02d", i)))
		h.claim("w1", d)
		var (
			res                  store.CancelResult
			cancelErr, finishErr error
		)
		together(
			func() {
				res, cancelErr = h.s.DeploymentCancel(h.ctx, store.DeploymentCancelParams{ID: d.ID, At: at(100)})
			},
			func() {
				_, finishErr = h.s.DeploymentFinish(h.ctx, store.DeploymentFinishParams{ID: d.ID,
					From: []string{store.StatusInProgress, store.StatusCancelling}, To: store.StatusSucceeded,
					Outputs: `{"done":"yes"}`, Owner: "w1"}, at(101))
			},
		)
		if finishErr != nil {
			t.Errorf("round %d: finish: %v (it accepts both IN_PROGRESS and CANCELLING, so it must win)", i, finishErr)
		}
		switch {
		case cancelErr == nil && res.Status == store.StatusCancelling && res.Owner == "w1":
			cancelFirst++
		case errors.Is(cancelErr, store.ErrStatusChanged) && res.Status == store.StatusSucceeded:
			finishFirst++
		default:
			t.Errorf("round %d: cancel = %+v, %v; want CANCELLING by w1, or ErrStatusChanged naming SUCCEEDED", i, res, cancelErr)
		}
		if got := h.deployment(d.ID); got.Status != store.StatusSucceeded {
			t.Errorf("round %d: deployment ended %s, want SUCCEEDED", i, got.Status)
		}
		r := h.resource(d.TargetKey)
		if r.DeploymentStatus != store.StatusSucceeded || r.LastSucceededDeploymentID != d.ID {
			t.Errorf("round %d: resource shows %s, last succeeded %s; want SUCCEEDED by %s", i,
				r.DeploymentStatus, r.LastSucceededDeploymentID, d.ID)
		}
	}
	noneActive(t, h)
	t.Logf("cancel first %d times, finish first %d times", cancelFirst, finishFirst)
}

// raceClaimCancel is the race "cancel before pickup": a worker claims while a
// user cancels a queued deployment. Exactly one wins: either the worker has it
// and the cancel asks it to stop (CANCELLING), or the cancel ends it at once
// (CANCELLED) and no worker ever gets it.
func raceClaimCancel(t *testing.T, h *harness) {
	var claimFirst, cancelFirst int
	for i := range raceRounds {
		d := h.create(environment(fmt.Sprintf("race-%02d", i)))
		var (
			claimed             *store.Deployment
			res                 store.CancelResult
			claimErr, cancelErr error
		)
		together(
			func() {
				claimed, claimErr = h.s.DeploymentClaim(h.ctx, store.DeploymentClaimParams{Owner: "w1", Expires: at(3600)})
			},
			func() {
				res, cancelErr = h.s.DeploymentCancel(h.ctx, store.DeploymentCancelParams{ID: d.ID, At: at(100)})
			},
		)
		if claimErr != nil || cancelErr != nil {
			t.Fatalf("round %d: claim: %v; cancel: %v", i, claimErr, cancelErr)
		}
		got := h.deployment(d.ID)
		switch {
		case claimed != nil && claimed.ID == d.ID && res.Status == store.StatusCancelling && res.Owner == "w1":
			claimFirst++
			if got.Status != store.StatusCancelling || got.LeaseOwner != "w1" {
				t.Errorf("round %d: claimed then cancelled, deployment is %s owned by %q", i, got.Status, got.LeaseOwner)
			}
			// The worker stops the run and ends it.
			if _, err := h.s.DeploymentFinish(h.ctx, store.DeploymentFinishParams{ID: d.ID,
				From: []string{store.StatusCancelling}, To: store.StatusCancelled, Message: store.CancelledMessage,
				Owner: "w1"}, at(101)); err != nil {
				t.Fatalf("round %d: finish the cancelled run: %v", i, err)
			}
		case claimed == nil && res.Status == store.StatusCancelled && res.Owner == "":
			cancelFirst++
			if got.Status != store.StatusCancelled || got.LeaseOwner != "" {
				t.Errorf("round %d: cancelled before pickup, deployment is %s owned by %q", i, got.Status, got.LeaseOwner)
			}
			if again, err := h.s.DeploymentClaim(h.ctx, store.DeploymentClaimParams{Owner: "w2", Expires: at(3600)}); err != nil || again != nil {
				t.Fatalf("round %d: claim after the cancel = %v, %v; want nothing to claim", i, again, err)
			}
		default:
			t.Fatalf("round %d: claim = %v, cancel = %+v: not one of the allowed outcomes", i, claimed, res)
		}
	}
	noneActive(t, h)
	t.Logf("claim first %d times, cancel first %d times", claimFirst, cancelFirst)
}

// raceStarts starts deployments of one idle resource from several goroutines
// at once: the database admits exactly one, the others get ErrActiveDeployment.
func raceStarts(t *testing.T, h *harness) {
	const starters = 8
	r := h.newEnvironment("prod")
	for round := range 5 {
		ds := make([]*store.Deployment, starters)
		errs := make([]error, starters)
		fns := make([]func(), starters)
		for i := range fns {
			ds[i] = deploymentOf(r, store.StatusInProgress, v2, at(10+round))
			fns[i] = func() {
				_, errs[i] = h.s.DeploymentStart(h.ctx, store.DeploymentStartParams{Deployment: ds[i]})
			}
		}
		together(fns...)
		var winner *store.Deployment
		for i, err := range errs {
			switch {
			case err == nil && winner == nil:
				winner = ds[i]
			case err == nil:
				t.Errorf("round %d: two starts succeeded: %s and %s", round, winner.ID, ds[i].ID)
			case !errors.Is(err, store.ErrActiveDeployment):
				t.Errorf("round %d: start: %v, want ErrActiveDeployment", round, err)
			}
		}
		if winner == nil {
			t.Fatalf("round %d: no start succeeded", round)
		}
		if got := h.resource(r.Key); got.LastAttemptedDeploymentID != winner.ID {
			t.Errorf("round %d: resource points at %s, want the winner %s", round, got.LastAttemptedDeploymentID, winner.ID)
		}
		h.finish(winner.ID, store.StatusFailed, "", at(20+round))
	}
	list, err := h.s.DeploymentList(h.ctx, store.DeploymentFilter{EnvironmentName: "prod"}, store.Page{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1+5 {
		t.Errorf("%d deployments recorded, want 6 (the create and one per round)", len(list))
	}
}

// noneActive fails the test if any deployment is still active: queued, or
// claimed by anyone.
func noneActive(t *testing.T, h *harness) {
	t.Helper()
	list, err := h.s.DeploymentList(h.ctx, store.DeploymentFilter{}, store.Page{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range list {
		if store.IsActive(d.Status) {
			t.Errorf("deployment %s of %s is stuck in %s", d.ID, d.TargetKey, d.Status)
		}
	}
}
