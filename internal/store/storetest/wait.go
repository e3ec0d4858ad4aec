package storetest

import (
	"testing"
	"time"

	"github.com/hadronhq/hadron/internal/store"
)

// waitTests pin DeploymentWait: a deployment handed to an outside party
// holds no lease and no worker while it waits, is claimed again only for
// a due check or a cancel, survives the recovery of lost workers, and
// ends as any deployment does.
func waitTests() []test {
	const state = `{"branch":"hadron/1"}`
	// parked starts an update of a new environment, claims it for w1 and
	// parks it, due at wake (zero: never).
	parked := func(t *testing.T, h *harness, wake time.Time) (*store.Resource, *store.Deployment) {
		t.Helper()
		r := h.newEnvironment("prod")
		d := h.start(r, store.StatusInProgress, v2, at(10))
		h.claim("w1", d)
		status, err := h.s.DeploymentWait(h.ctx, store.DeploymentWaitParams{ID: d.ID, Owner: "w1", State: state, WakeAt: wake, At: at(11)})
		if err != nil || status != store.StatusInProgress {
			t.Fatalf("wait = %q, %v; want IN_PROGRESS", status, err)
		}
		return r, d
	}
	claimNone := func(t *testing.T, h *harness, now time.Time) {
		t.Helper()
		d, err := h.s.DeploymentClaim(h.ctx, store.DeploymentClaimParams{Owner: "w2", Expires: at(3600), Now: now})
		if err != nil || d != nil {
			t.Fatalf("claim = %v, %v; want nothing to claim", d, err)
		}
	}
	claimAt := func(t *testing.T, h *harness, now time.Time, want *store.Deployment) *store.Deployment {
		t.Helper()
		d, err := h.s.DeploymentClaim(h.ctx, store.DeploymentClaimParams{Owner: "w2", Expires: at(3600), Now: now})
		if err != nil || d == nil || d.ID != want.ID {
			t.Fatalf("claim = %v, %v; want deployment %s", d, err, want.ID)
		}
		return d
	}
	return []test{
		{"a_waiting_deployment_holds_no_lease_and_is_not_claimed_before_its_wake", func(t *testing.T, h *harness) {
			_, d := parked(t, h, at(100))
			got := h.deployment(d.ID)
			if got.Status != store.StatusInProgress || got.LeaseOwner != "" || got.Wait != state || !got.WakeAt.Equal(at(100)) {
				t.Fatalf("parked deployment: %s owner %q wait %q wake %v", got.Status, got.LeaseOwner, got.Wait, got.WakeAt)
			}
			claimNone(t, h, at(99))
			claimNone(t, h, time.Time{})
			orphans, err := h.s.DeploymentsOrphaned(h.ctx, store.DeploymentsOrphanedParams{ExpiredBefore: at(1 << 20), Alive: "nobody"})
			if err != nil || len(orphans) != 0 {
				t.Fatalf("orphaned = %v, %v; a waiting deployment has no worker to lose", ids(orphans), err)
			}
		}},
		{"a_due_check_claims_it_with_its_record", func(t *testing.T, h *harness) {
			_, d := parked(t, h, at(100))
			got := claimAt(t, h, at(100), d)
			if got.Wait != state || got.LeaseOwner != "w2" {
				t.Fatalf("claimed: wait %q owner %q", got.Wait, got.LeaseOwner)
			}
			// Parked again by its new owner, with a new record.
			if _, err := h.s.DeploymentWait(h.ctx, store.DeploymentWaitParams{ID: d.ID, Owner: "w2", State: `{"n":2}`, At: at(101)}); err != nil {
				t.Fatal(err)
			}
			if got := h.deployment(d.ID); got.Wait != `{"n":2}` || !got.WakeAt.IsZero() {
				t.Fatalf("re-parked: wait %q wake %v", got.Wait, got.WakeAt)
			}
			claimNone(t, h, at(1<<20))
		}},
		{"a_cancel_makes_it_cancelling_and_claimable_at_once", func(t *testing.T, h *harness) {
			r, d := parked(t, h, time.Time{})
			res, err := h.s.DeploymentCancel(h.ctx, store.DeploymentCancelParams{ID: d.ID, At: at(20)})
			if err != nil || res.Status != store.StatusCancelling {
				t.Fatalf("cancel = %+v, %v; want CANCELLING (the hand-off must be taken back)", res, err)
			}
			if got := h.resource(r.Key).DeploymentStatus; got != store.StatusCancelling {
				t.Errorf("resource shows %s", got)
			}
			got := claimAt(t, h, time.Time{}, d)
			if got.Status != store.StatusCancelling {
				t.Fatalf("claimed as %s", got.Status)
			}
			if _, err := h.s.DeploymentFinish(h.ctx, store.DeploymentSetCancelled(d.ID, "w2"), at(21)); err != nil {
				t.Fatal(err)
			}
		}},
		{"only_the_lease_holder_parks_an_active_deployment", func(t *testing.T, h *harness) {
			r := h.newEnvironment("prod")
			d := h.start(r, store.StatusInProgress, v2, at(10))
			_, err := h.s.DeploymentWait(h.ctx, store.DeploymentWaitParams{ID: d.ID, Owner: "w1", State: state, At: at(11)})
			wantErr(t, "park unclaimed", err, store.ErrStatusChanged)
			h.claim("w1", d)
			_, err = h.s.DeploymentWait(h.ctx, store.DeploymentWaitParams{ID: d.ID, Owner: "w9", State: state, At: at(11)})
			wantErr(t, "park by another owner", err, store.ErrStatusChanged)
			h.finish(d.ID, store.StatusFailed, "", at(12))
			_, err = h.s.DeploymentWait(h.ctx, store.DeploymentWaitParams{ID: d.ID, Owner: "w1", State: state, At: at(13)})
			wantErr(t, "park ended", err, store.ErrStatusChanged)
		}},
		{"a_report_ends_a_waiting_deployment_without_a_lease", func(t *testing.T, h *harness) {
			r, d := parked(t, h, at(100))
			if _, err := h.s.DeploymentFinish(h.ctx, store.DeploymentSetSucceeded(d.ID, "", `{"url":"u"}`), at(30)); err != nil {
				t.Fatal(err)
			}
			if got := h.resource(r.Key); got.DeploymentStatus != store.StatusSucceeded || got.LastSucceededDeploymentID != d.ID {
				t.Fatalf("resource: %s, last succeeded %s", got.DeploymentStatus, got.LastSucceededDeploymentID)
			}
			claimNone(t, h, at(1<<20))
		}},
		{"a_closed_hand_off_ends_cancelled_from_in_progress", func(t *testing.T, h *harness) {
			r, d := parked(t, h, at(100))
			claimAt(t, h, at(100), d)
			got, err := h.s.DeploymentFinish(h.ctx, store.DeploymentSetCancelledOutside(d.ID, "w2", "closed unmerged"), at(101))
			if err != nil || got.Status != store.StatusCancelled || got.StatusMessage != "closed unmerged" {
				t.Fatalf("finish = %v, %v", got, err)
			}
			if got := h.resource(r.Key); got.DeploymentStatus != store.StatusCancelled || got.TemplateMajor != v1.major {
				t.Fatalf("resource: %s on %s", got.DeploymentStatus, got.TemplateMajor)
			}
		}},
	}
}
