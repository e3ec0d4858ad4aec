package storetest

import (
	"errors"
	"strconv"
	"testing"

	"github.com/hadronhq/hadron/internal/store"
)

var (
	activeStatuses = []string{store.StatusInProgress, store.StatusCancelling, store.StatusDeleteInProgress}
	endedStatuses  = []string{store.StatusSucceeded, store.StatusFailed, store.StatusCancelled,
		store.StatusDeleteFailed, store.StatusDeleteComplete}
)

func deploymentTests() []test {
	tests := []test{
		{"start_with_create_inserts_resource_and_deployment", func(t *testing.T, h *harness) {
			// One CreateEnvironment call: the resource and its first attempt share a time.
			r := environment("prod")
			r.CreatedAt, r.LastModifiedAt = at(3), at(3)
			d := deploymentOf(r, store.StatusInProgress, v1, at(3))
			want := *d
			got, err := h.s.DeploymentStart(h.ctx, store.DeploymentStartParams{Deployment: d, Create: r})
			if err != nil {
				t.Fatal(err)
			}
			wantR := *r
			wantR.DeploymentStatus = store.StatusInProgress
			wantR.LastAttemptedDeploymentID, wantR.LastDeploymentAttemptedAt = d.ID, at(3)
			same(t, "returned resource", got, &wantR)
			same(t, "stored resource", h.resource(r.Key), &wantR)

			stored := h.deployment(d.ID)
			if stored.Seq <= 0 {
				t.Errorf("seq = %d, want a positive sequence number", stored.Seq)
			}
			want.Seq, want.TargetCreatedAt = stored.Seq, r.CreatedAt
			same(t, "stored deployment", stored, &want)
		}},
		{"start_with_create_of_taken_key_is_ErrExists_and_changes_nothing", func(t *testing.T, h *harness) {
			r := environment("prod")
			first := h.create(r)
			before := h.resource(r.Key)
			again := environment("prod")
			again.Spec = "spec: other"
			d := deploymentOf(again, store.StatusInProgress, targetOf(again), at(9))
			_, err := h.s.DeploymentStart(h.ctx, store.DeploymentStartParams{Deployment: d, Create: again})
			wantErr(t, "second create", err, store.ErrExists)
			same(t, "resource", h.resource(r.Key), before)
			_, err = h.s.DeploymentGet(h.ctx, d.ID)
			wantErr(t, "get the refused deployment", err, store.ErrNotFound)
			list, err := h.s.DeploymentList(h.ctx, store.DeploymentFilter{}, store.Page{Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			sameList(t, "deployments", ids(list), []string{first.ID})
		}},
		{"start_of_missing_resource_is_ErrNotFound", func(t *testing.T, h *harness) {
			d := deploymentOf(environment("nope"), store.StatusInProgress, v2, at(1))
			_, err := h.s.DeploymentStart(h.ctx, store.DeploymentStartParams{Deployment: d})
			wantErr(t, "start", err, store.ErrNotFound)
			_, err = h.s.DeploymentGet(h.ctx, d.ID)
			wantErr(t, "get the refused deployment", err, store.ErrNotFound)
		}},
		{"start_points_the_resource_at_the_new_attempt", func(t *testing.T, h *harness) {
			r := h.newEnvironment("prod")
			d := deploymentOf(r, store.StatusInProgress, v2, at(10))
			got, err := h.s.DeploymentStart(h.ctx, store.DeploymentStartParams{Deployment: d,
				Description: strp("updated"), ClientToken: strp("token-2")})
			if err != nil {
				t.Fatal(err)
			}
			want := *r
			want.DeploymentStatus, want.DeploymentStatusMessage = store.StatusInProgress, ""
			want.LastAttemptedDeploymentID, want.LastDeploymentAttemptedAt = d.ID, at(10)
			want.Description, want.LastClientRequestToken, want.LastModifiedAt = "updated", "token-2", at(10)
			// The target state stays in the deployment until it succeeds.
			same(t, "returned resource", got, &want)
			same(t, "stored resource", h.resource(r.Key), &want)
			h.finish(d.ID, store.StatusFailed, "", at(11))
			d2 := deploymentOf(r, store.StatusDeleteInProgress, v2, at(20))
			got, err = h.s.DeploymentStart(h.ctx, store.DeploymentStartParams{Deployment: d2,
				Settings: strp(`{"role":"other"}`)})
			if err != nil {
				t.Fatal(err)
			}
			if got.Settings != `{"role":"other"}` || got.Description != "updated" || got.LastClientRequestToken != "token-2" {
				t.Errorf("after a start with settings only: settings %q description %q token %q",
					got.Settings, got.Description, got.LastClientRequestToken)
			}
			if got.DeploymentStatus != store.StatusDeleteInProgress || got.DeploymentStatusMessage != "" {
				t.Errorf("status = %s %q, want %s without message", got.DeploymentStatus, got.DeploymentStatusMessage,
					store.StatusDeleteInProgress)
			}
		}},
		{"start_records_the_previous_attempted_and_succeeded_ids", func(t *testing.T, h *harness) {
			r := h.newEnvironment("prod")
			first := r.LastSucceededDeploymentID
			d2 := h.start(r, store.StatusInProgress, v2, at(10))
			got := h.deployment(d2.ID)
			if got.LastAttemptedID != first || got.LastSucceededID != first {
				t.Errorf("second deployment: previous attempted %q succeeded %q, want both %q",
					got.LastAttemptedID, got.LastSucceededID, first)
			}
			h.finish(d2.ID, store.StatusFailed, "", at(11))
			d3 := h.start(r, store.StatusInProgress, v2, at(20))
			got = h.deployment(d3.ID)
			if got.LastAttemptedID != d2.ID || got.LastSucceededID != first {
				t.Errorf("third deployment: previous attempted %q succeeded %q, want %q and %q",
					got.LastAttemptedID, got.LastSucceededID, d2.ID, first)
			}
			if !got.TargetCreatedAt.Equal(r.CreatedAt) {
				t.Errorf("target created at = %v, want %v", got.TargetCreatedAt, r.CreatedAt)
			}
		}},
		{"concurrent_starts_on_one_resource_have_one_winner", raceStarts},

		{"claim_takes_the_oldest_first", func(t *testing.T, h *harness) {
			var want []*store.Deployment
			for _, n := range []string{"c", "a", "b"} {
				want = append(want, h.create(environment(n)))
			}
			for i, w := range want {
				got, err := h.s.DeploymentClaim(h.ctx, store.DeploymentClaimParams{Owner: "w1", Expires: at(60 + i)})
				if err != nil {
					t.Fatal(err)
				}
				if got == nil || got.ID != w.ID {
					t.Fatalf("claim %d = %v, want %s (%s)", i, got, w.ID, w.TargetKey)
				}
				if got.LeaseOwner != "w1" || !got.LeaseExpiresAt.Equal(at(60+i)) || got.Status != store.StatusInProgress {
					t.Errorf("claimed: owner %q expires %v status %s", got.LeaseOwner, got.LeaseExpiresAt, got.Status)
				}
				stored := h.deployment(w.ID)
				if stored.LeaseOwner != "w1" || !stored.LeaseExpiresAt.Equal(at(60+i)) {
					t.Errorf("stored lease: owner %q expires %v", stored.LeaseOwner, stored.LeaseExpiresAt)
				}
			}
			got, err := h.s.DeploymentClaim(h.ctx, store.DeploymentClaimParams{Owner: "w1", Expires: at(60)})
			if err != nil || got != nil {
				t.Errorf("claim of an empty queue = %v, %v; want nil, nil", got, err)
			}
		}},
		{"finish_and_claim_ends_one_and_leases_the_next", func(t *testing.T, h *harness) {
			a := h.create(environment("a"))
			b := h.create(environment("b"))
			h.claim("w1", a)
			ended, next, err := h.s.DeploymentFinishAndClaim(h.ctx, store.DeploymentFinishParams{
				ID: a.ID, Owner: "w1", From: []string{store.StatusInProgress}, To: store.StatusSucceeded, Outputs: `{"v":"2"}`,
			}, at(30), store.DeploymentClaimParams{Owner: "w1", Expires: at(90)})
			if err != nil {
				t.Fatal(err)
			}
			if ended == nil || ended.ID != a.ID || ended.Status != store.StatusSucceeded {
				t.Errorf("ended = %v, want %s SUCCEEDED", ended, a.ID)
			}
			if next == nil || next.ID != b.ID || next.LeaseOwner != "w1" || !next.LeaseExpiresAt.Equal(at(90)) {
				t.Fatalf("next = %v, want %s leased to w1 until %v", next, b.ID, at(90))
			}
			same(t, "finished as DeploymentFinish does", h.deployment(a.ID), ended)
			if r := h.resource(a.TargetKey); r.DeploymentStatus != store.StatusSucceeded || r.Outputs != `{"v":"2"}` {
				t.Errorf("resource after the finish: status %s outputs %s", r.DeploymentStatus, r.Outputs)
			}
			if stored := h.deployment(b.ID); stored.LeaseOwner != "w1" {
				t.Errorf("next stored with owner %q, want w1", stored.LeaseOwner)
			}
			// Nothing queued: the finish alone, no next.
			ended, next, err = h.s.DeploymentFinishAndClaim(h.ctx, store.DeploymentFinishParams{
				ID: b.ID, Owner: "w1", From: []string{store.StatusInProgress}, To: store.StatusFailed, Message: "boom",
			}, at(40), store.DeploymentClaimParams{Owner: "w1", Expires: at(90)})
			if err != nil || next != nil || ended == nil || ended.Status != store.StatusFailed {
				t.Errorf("finish and claim of an empty queue = %v, %v, %v; want b FAILED, nil, nil", ended, next, err)
			}
		}},
		{"finish_and_claim_claims_nothing_when_the_finish_is_refused", func(t *testing.T, h *harness) {
			a := h.create(environment("a"))
			b := h.create(environment("b"))
			h.claim("w1", a)
			if _, err := h.s.DeploymentCancel(h.ctx, store.DeploymentCancelParams{ID: a.ID, At: at(5)}); err != nil {
				t.Fatal(err)
			}
			ended, next, err := h.s.DeploymentFinishAndClaim(h.ctx, store.DeploymentFinishParams{
				ID: a.ID, Owner: "w1", From: []string{store.StatusInProgress}, To: store.StatusSucceeded,
			}, at(30), store.DeploymentClaimParams{Owner: "w1", Expires: at(90)})
			if !errors.Is(err, store.ErrStatusChanged) || next != nil {
				t.Fatalf("finish and claim of a CANCELLING deployment from IN_PROGRESS = %v, %v; want ErrStatusChanged, no next", next, err)
			}
			if ended == nil || ended.Status != store.StatusCancelling {
				t.Errorf("ended = %v, want the deployment as it is (CANCELLING)", ended)
			}
			if stored := h.deployment(b.ID); stored.LeaseOwner != "" {
				t.Errorf("b was claimed by %q although the finish was refused", stored.LeaseOwner)
			}
			h.claim("w2", b)
		}},
		{"claim_of_empty_queue_returns_nil", func(t *testing.T, h *harness) {
			got, err := h.s.DeploymentClaim(h.ctx, store.DeploymentClaimParams{Owner: "w1", Expires: at(60)})
			if err != nil || got != nil {
				t.Errorf("claim = %v, %v; want nil, nil", got, err)
			}
			h.newEnvironment("prod") // its deployment ended: nothing queued
			got, err = h.s.DeploymentClaim(h.ctx, store.DeploymentClaimParams{Owner: "w1", Expires: at(60)})
			if err != nil || got != nil {
				t.Errorf("claim with only ended deployments = %v, %v; want nil, nil", got, err)
			}
		}},
		{"claimed_deployment_is_not_claimed_again", func(t *testing.T, h *harness) {
			d := h.create(environment("prod"))
			h.claim("w1", d)
			got, err := h.s.DeploymentClaim(h.ctx, store.DeploymentClaimParams{Owner: "w2", Expires: at(60)})
			if err != nil || got != nil {
				t.Errorf("second claim = %v, %v; want nil, nil", got, err)
			}
			if owner := h.deployment(d.ID).LeaseOwner; owner != "w1" {
				t.Errorf("owner = %q, want w1", owner)
			}
		}},
		{"cancelled_deployment_is_never_claimed", func(t *testing.T, h *harness) {
			a := h.create(environment("a"))
			b := h.create(environment("b"))
			if _, err := h.s.DeploymentCancel(h.ctx, store.DeploymentCancelParams{ID: a.ID, At: at(5)}); err != nil {
				t.Fatal(err)
			}
			h.claim("w1", b)
			got, err := h.s.DeploymentClaim(h.ctx, store.DeploymentClaimParams{Owner: "w1", Expires: at(60)})
			if err != nil || got != nil {
				t.Errorf("claim = %v, %v; want nil, nil", got, err)
			}
		}},
		{"claim_takes_deletes_too", func(t *testing.T, h *harness) {
			r := h.newEnvironment("prod")
			d := h.start(r, store.StatusDeleteInProgress, targetOf(r), at(10))
			got := h.claim("w1", d)
			if got.Status != store.StatusDeleteInProgress || got.Operation != store.OperationDelete {
				t.Errorf("claimed %s %s, want a DELETE in %s", got.Operation, got.Status, store.StatusDeleteInProgress)
			}
		}},
		{"concurrent_claim_and_cancel_have_one_winner", raceClaimCancel},

		{"cancel_before_claim_ends_cancelled", func(t *testing.T, h *harness) {
			r := h.newEnvironment("prod")
			d := h.start(r, store.StatusInProgress, v2, at(10))
			res, err := h.s.DeploymentCancel(h.ctx, store.DeploymentCancelParams{ID: d.ID, At: at(12)})
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != store.StatusCancelled || res.Owner != "" {
				t.Errorf("cancel = %+v, want CANCELLED without owner", res)
			}
			got := h.deployment(d.ID)
			if got.Status != store.StatusCancelled || got.StatusMessage != store.CancelledMessage ||
				!got.CompletedAt.Equal(at(12)) {
				t.Errorf("deployment: %s %q completed %v; want %s %q completed %v", got.Status, got.StatusMessage,
					got.CompletedAt, store.StatusCancelled, store.CancelledMessage, at(12))
			}
			after := h.resource(r.Key)
			if after.DeploymentStatus != store.StatusCancelled || after.LastAttemptedDeploymentID != d.ID {
				t.Errorf("resource shows %s of %s, want %s of %s", after.DeploymentStatus,
					after.LastAttemptedDeploymentID, store.StatusCancelled, d.ID)
			}
			same(t, "deployed state", deployedState(after), deployedState(r))
			// Nothing is active any more, so the next update may start.
			h.start(after, store.StatusInProgress, v2, at(20))
		}},
		{"cancel_after_claim_is_cancelling_with_owner", func(t *testing.T, h *harness) {
			r := h.newEnvironment("prod")
			d := h.start(r, store.StatusInProgress, v2, at(10))
			h.claim("w1", d)
			res, err := h.s.DeploymentCancel(h.ctx, store.DeploymentCancelParams{ID: d.ID, At: at(12)})
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != store.StatusCancelling || res.Owner != "w1" {
				t.Errorf("cancel = %+v, want CANCELLING by w1", res)
			}
			got := h.deployment(d.ID)
			if got.Status != store.StatusCancelling || !got.CompletedAt.IsZero() || got.LeaseOwner != "w1" {
				t.Errorf("deployment: %s completed %v owner %q; want CANCELLING, not completed, owner w1",
					got.Status, got.CompletedAt, got.LeaseOwner)
			}
			if s := h.resource(r.Key).DeploymentStatus; s != store.StatusCancelling {
				t.Errorf("resource shows %s, want %s", s, store.StatusCancelling)
			}
		}},
		{"cancel_of_missing_is_ErrNotFound", func(t *testing.T, h *harness) {
			_, err := h.s.DeploymentCancel(h.ctx, store.DeploymentCancelParams{ID: newID(), At: at(1)})
			wantErr(t, "cancel", err, store.ErrNotFound)
		}},

		{"finish_delete_complete_removes_the_resource_and_keeps_the_deployment", func(t *testing.T, h *harness) {
			r := h.newEnvironment("prod")
			d := h.start(r, store.StatusDeleteInProgress, targetOf(r), at(10))
			h.claim("w1", d)
			got, err := h.s.DeploymentFinish(h.ctx, store.DeploymentFinishParams{ID: d.ID,
				From: []string{store.StatusDeleteInProgress}, To: store.StatusDeleteComplete, Owner: "w1"}, at(15))
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != store.StatusDeleteComplete || !got.CompletedAt.Equal(at(15)) {
				t.Errorf("returned deployment: %s completed %v", got.Status, got.CompletedAt)
			}
			_, err = h.s.ResourceGet(h.ctx, r.Key)
			wantErr(t, "get the deleted resource", err, store.ErrNotFound)
			if s := h.deployment(d.ID).Status; s != store.StatusDeleteComplete {
				t.Errorf("deployment record: %s, want %s", s, store.StatusDeleteComplete)
			}
			list, err := h.s.DeploymentList(h.ctx, store.DeploymentFilter{EnvironmentName: "prod"}, store.Page{Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			sameList(t, "history", ids(list), []string{d.ID, r.LastSucceededDeploymentID})
			// The name is free again.
			h.create(environment("prod"))
		}},
		{"finish_delete_failed_keeps_the_resource", func(t *testing.T, h *harness) {
			r := h.newEnvironment("prod")
			d := h.start(r, store.StatusDeleteInProgress, targetOf(r), at(10))
			h.claim("w1", d)
			if _, err := h.s.DeploymentFinish(h.ctx, store.DeploymentFinishParams{ID: d.ID,
				From: []string{store.StatusDeleteInProgress}, To: store.StatusDeleteFailed, Message: "stack busy",
				Owner: "w1"}, at(15)); err != nil {
				t.Fatal(err)
			}
			after := h.resource(r.Key)
			if after.DeploymentStatus != store.StatusDeleteFailed || after.DeploymentStatusMessage != "stack busy" {
				t.Errorf("resource shows %s %q, want %s %q", after.DeploymentStatus, after.DeploymentStatusMessage,
					store.StatusDeleteFailed, "stack busy")
			}
			same(t, "deployed state", deployedState(after), deployedState(r))
		}},
		{"finish_from_an_unexpected_status_is_ErrStatusChanged_and_changes_nothing", func(t *testing.T, h *harness) {
			r := h.newEnvironment("prod")
			d := h.start(r, store.StatusInProgress, v2, at(10))
			h.claim("w1", d)
			beforeD, beforeR := h.deployment(d.ID), h.resource(r.Key)
			_, err := h.s.DeploymentFinish(h.ctx, store.DeploymentFinishParams{ID: d.ID,
				From: []string{store.StatusCancelling}, To: store.StatusCancelled, Owner: "w1"}, at(15))
			wantErr(t, "finish from CANCELLING", err, store.ErrStatusChanged)
			same(t, "deployment", h.deployment(d.ID), beforeD)
			same(t, "resource", h.resource(r.Key), beforeR)
			// A second finish of an ended deployment loses the same way.
			h.finish(d.ID, store.StatusSucceeded, `{"v":"2"}`, at(16))
			beforeD, beforeR = h.deployment(d.ID), h.resource(r.Key)
			_, err = h.s.DeploymentFinish(h.ctx, store.DeploymentFinishParams{ID: d.ID,
				From: []string{store.StatusInProgress, store.StatusCancelling}, To: store.StatusFailed, Owner: "w1"}, at(17))
			wantErr(t, "finish twice", err, store.ErrStatusChanged)
			same(t, "deployment", h.deployment(d.ID), beforeD)
			same(t, "resource", h.resource(r.Key), beforeR)
		}},
		{"finish_by_a_non_owner_is_ErrStatusChanged", func(t *testing.T, h *harness) {
			r := h.newEnvironment("prod")
			d := h.start(r, store.StatusInProgress, v2, at(10))
			h.claim("w1", d)
			before := h.deployment(d.ID)
			_, err := h.s.DeploymentFinish(h.ctx, store.DeploymentFinishParams{ID: d.ID,
				From: []string{store.StatusInProgress}, To: store.StatusFailed, Owner: "w2"}, at(15))
			wantErr(t, "finish by w2", err, store.ErrStatusChanged)
			same(t, "deployment", h.deployment(d.ID), before)
			if _, err := h.s.DeploymentFinish(h.ctx, store.DeploymentFinishParams{ID: d.ID,
				From: []string{store.StatusInProgress}, To: store.StatusFailed, Owner: "w1"}, at(16)); err != nil {
				t.Fatalf("finish by the owner: %v", err)
			}
		}},
		{"finish_of_missing_is_ErrNotFound", func(t *testing.T, h *harness) {
			_, err := h.s.DeploymentFinish(h.ctx, store.DeploymentFinishParams{ID: newID(),
				From: []string{store.StatusInProgress}, To: store.StatusFailed}, at(1))
			wantErr(t, "finish", err, store.ErrNotFound)
		}},
		{"concurrent_finish_and_cancel_have_one_winner", raceFinishCancel},

		{"renew_extends_the_lease_and_reports_the_status", func(t *testing.T, h *harness) {
			d := h.create(environment("prod"))
			h.claim("w1", d)
			status, err := h.s.DeploymentRenew(h.ctx, store.DeploymentRenewParams{ID: d.ID, Owner: "w1", Expires: at(7200)})
			if err != nil || status != store.StatusInProgress {
				t.Fatalf("renew = %q, %v; want %s", status, err, store.StatusInProgress)
			}
			if exp := h.deployment(d.ID).LeaseExpiresAt; !exp.Equal(at(7200)) {
				t.Errorf("lease expires %v, want %v", exp, at(7200))
			}
			// A worker on another node learns of the cancel through its heartbeat.
			if _, err := h.s.DeploymentCancel(h.ctx, store.DeploymentCancelParams{ID: d.ID, At: at(10)}); err != nil {
				t.Fatal(err)
			}
			status, err = h.s.DeploymentRenew(h.ctx, store.DeploymentRenewParams{ID: d.ID, Owner: "w1", Expires: at(7300)})
			if err != nil || status != store.StatusCancelling {
				t.Errorf("renew after cancel = %q, %v; want %s", status, err, store.StatusCancelling)
			}
		}},
		{"renew_by_a_non_owner_or_after_the_end_is_ErrStatusChanged", func(t *testing.T, h *harness) {
			d := h.create(environment("prod"))
			_, err := h.s.DeploymentRenew(h.ctx, store.DeploymentRenewParams{ID: d.ID, Owner: "w1", Expires: at(7200)})
			wantErr(t, "renew of an unclaimed deployment", err, store.ErrStatusChanged)
			h.claim("w1", d)
			_, err = h.s.DeploymentRenew(h.ctx, store.DeploymentRenewParams{ID: d.ID, Owner: "w2", Expires: at(7200)})
			wantErr(t, "renew by w2", err, store.ErrStatusChanged)
			if exp := h.deployment(d.ID).LeaseExpiresAt; !exp.Equal(at(3600)) {
				t.Errorf("lease expires %v after a refused renew, want %v", exp, at(3600))
			}
			h.finish(d.ID, store.StatusSucceeded, "", at(20))
			_, err = h.s.DeploymentRenew(h.ctx, store.DeploymentRenewParams{ID: d.ID, Owner: "w1", Expires: at(7200)})
			wantErr(t, "renew after the end", err, store.ErrStatusChanged)
		}},
		{"orphaned_lists_expired_leases_and_other_owners", func(t *testing.T, h *harness) {
			claimed := func(env, owner string, expires int) *store.Deployment {
				t.Helper()
				d := h.create(environment(env))
				got, err := h.s.DeploymentClaim(h.ctx, store.DeploymentClaimParams{Owner: owner, Expires: at(expires)})
				if err != nil || got == nil || got.ID != d.ID {
					t.Fatalf("claim %s = %v, %v", env, got, err)
				}
				return d
			}
			expired := claimed("expired", "w1", 10)
			live := claimed("live", "w1", 100)
			foreign := claimed("foreign", "w2", 100)
			ended := claimed("ended", "w1", 10)
			h.finish(ended.ID, store.StatusFailed, "", at(20))
			cancelling := claimed("cancelling", "w1", 10)
			if _, err := h.s.DeploymentCancel(h.ctx, store.DeploymentCancelParams{ID: cancelling.ID, At: at(20)}); err != nil {
				t.Fatal(err)
			}
			h.create(environment("unclaimed")) // queued, not orphaned: no worker ever had it
			for _, c := range []struct {
				name   string
				before int
				alive  string
				want   []string
			}{
				{"expired", 50, "", []string{expired.ID, cancelling.ID}},
				{"expired or not w1", 50, "w1", []string{expired.ID, foreign.ID, cancelling.ID}},
				{"nothing expired yet", 5, "", nil},
				{"nothing expired, not w2", 5, "w2", []string{expired.ID, live.ID, cancelling.ID}},
			} {
				got, err := h.s.DeploymentsOrphaned(h.ctx, store.DeploymentsOrphanedParams{ExpiredBefore: at(c.before), Alive: c.alive})
				if err != nil {
					t.Fatal(err)
				}
				// The order is not part of the contract; compare as sets in creation order.
				var gotIDs []string
				for _, w := range []*store.Deployment{expired, live, foreign, cancelling} {
					for _, g := range got {
						if g.ID == w.ID {
							gotIDs = append(gotIDs, g.ID)
						}
					}
				}
				if len(got) != len(gotIDs) {
					t.Errorf("%s: %d orphans, unexpected ones among [%v]", c.name, len(got), ids(got))
				}
				sameList(t, c.name, gotIDs, c.want)
			}
		}},

		{"list_is_newest_first_and_pages_by_seq", func(t *testing.T, h *harness) {
			r := h.newEnvironment("prod")
			d2 := h.start(r, store.StatusInProgress, v2, at(10))
			h.finish(d2.ID, store.StatusFailed, "", at(11))
			d3 := h.start(r, store.StatusInProgress, v2, at(20))
			first := r.LastSucceededDeploymentID
			page := func(after string) []*store.Deployment {
				t.Helper()
				got, err := h.s.DeploymentList(h.ctx, store.DeploymentFilter{}, store.Page{After: after, Limit: 2})
				if err != nil {
					t.Fatal(err)
				}
				return got
			}
			p1 := page("")
			sameList(t, "first page", ids(p1), []string{d3.ID, d2.ID})
			if len(p1) != 2 {
				t.FailNow()
			}
			p2 := page(strconv.FormatInt(p1[1].Seq, 10))
			sameList(t, "second page", ids(p2), []string{first})
			if len(p2) != 1 {
				t.FailNow()
			}
			sameList(t, "past the end", ids(page(strconv.FormatInt(p2[0].Seq, 10))), nil)
		}},
		{"list_filters_by_environment_service_instance_and_component", func(t *testing.T, h *harness) {
			svc := target{svcTemplate, "1", "0", "spec"}
			d := map[string]string{}
			for _, c := range []struct {
				name string
				r    *store.Resource
			}{
				{"prod", environment("prod")},
				{"dev", environment("dev")},
				{"api/one", serviceInstance("api", "one", "prod", svc)},
				{"api/pipeline", pipeline("api", svc)},
				{"web/one", serviceInstance("web", "one", "dev", svc)},
				{"c1", component("c1", "prod")},
			} {
				d[c.name] = h.create(c.r).ID
			}
			for _, c := range []struct {
				name   string
				filter store.DeploymentFilter
				want   []string // newest first
			}{
				{"none", store.DeploymentFilter{}, []string{"c1", "web/one", "api/pipeline", "api/one", "dev", "prod"}},
				{"environment", store.DeploymentFilter{EnvironmentName: "prod"}, []string{"c1", "api/one", "prod"}},
				{"service", store.DeploymentFilter{ServiceName: "api"}, []string{"api/pipeline", "api/one"}},
				{"instance", store.DeploymentFilter{ServiceName: "api", ServiceInstance: "one"}, []string{"api/one"}},
				{"component", store.DeploymentFilter{ComponentName: "c1"}, []string{"c1"}},
				{"environment and service", store.DeploymentFilter{EnvironmentName: "dev", ServiceName: "web"},
					[]string{"web/one"}},
				{"nothing matches", store.DeploymentFilter{ServiceName: "nope"}, nil},
				{"status", store.DeploymentFilter{Statuses: []string{store.StatusInProgress}}, []string{"c1", "web/one", "api/pipeline", "api/one", "dev", "prod"}},
				{"status and environment", store.DeploymentFilter{EnvironmentName: "prod", Statuses: []string{store.StatusInProgress, store.StatusFailed}}, []string{"c1", "api/one", "prod"}},
				{"other status", store.DeploymentFilter{Statuses: []string{store.StatusSucceeded}}, nil},
			} {
				got, err := h.s.DeploymentList(h.ctx, c.filter, store.Page{Limit: 100})
				if err != nil {
					t.Fatal(err)
				}
				var want []string
				for _, n := range c.want {
					want = append(want, d[n])
				}
				sameList(t, "filter "+c.name, ids(got), want)
			}
		}},
		{"get_missing_is_ErrNotFound", func(t *testing.T, h *harness) {
			_, err := h.s.DeploymentGet(h.ctx, newID())
			wantErr(t, "get", err, store.ErrNotFound)
		}},
		{"delete_of_missing_is_ErrNotFound", func(t *testing.T, h *harness) {
			_, err := h.s.DeploymentDelete(h.ctx, newID())
			wantErr(t, "delete", err, store.ErrNotFound)
		}},
	}

	// A second start is refused in every active status, and the resource keeps
	// pointing at the first deployment.
	for _, status := range activeStatuses {
		tests = append(tests, test{"start_while_" + lower(status) + "_is_ErrActiveDeployment", func(t *testing.T, h *harness) {
			first := h.deploymentIn("prod", status)
			before := h.resource(first.TargetKey)
			for _, next := range []string{store.StatusInProgress, store.StatusDeleteInProgress} {
				d := deploymentOf(before, next, v2, at(30))
				_, err := h.s.DeploymentStart(h.ctx, store.DeploymentStartParams{Deployment: d, Description: strp("x")})
				wantErr(t, "second start ("+next+")", err, store.ErrActiveDeployment)
				_, err = h.s.DeploymentGet(h.ctx, d.ID)
				wantErr(t, "get the refused deployment", err, store.ErrNotFound)
			}
			after := h.resource(first.TargetKey)
			same(t, "resource", after, before)
			if after.LastAttemptedDeploymentID != first.ID || after.DeploymentStatus != status {
				t.Errorf("resource points at %s (%s), want %s (%s)", after.LastAttemptedDeploymentID,
					after.DeploymentStatus, first.ID, status)
			}
		}})
	}

	// Cancel only acts on IN_PROGRESS; otherwise it names the status it found.
	for _, status := range []string{store.StatusSucceeded, store.StatusFailed, store.StatusCancelled,
		store.StatusCancelling, store.StatusDeleteInProgress, store.StatusDeleteFailed, store.StatusDeleteComplete} {
		tests = append(tests, test{"cancel_of_" + lower(status) + "_is_ErrStatusChanged", func(t *testing.T, h *harness) {
			d := h.deploymentIn("prod", status)
			res, err := h.s.DeploymentCancel(h.ctx, store.DeploymentCancelParams{ID: d.ID, At: at(40)})
			wantErr(t, "cancel", err, store.ErrStatusChanged)
			if res.Status != status {
				t.Errorf("cancel result names %q, want %q", res.Status, status)
			}
			if status == store.StatusCancelling && res.Owner != "w1" {
				t.Errorf("cancel result owner = %q, want w1 (still cancelling)", res.Owner)
			}
			same(t, "deployment", h.deployment(d.ID), d)
		}})
	}

	// Every way a deployment of an update can end, and whether the resource
	// takes its target state.
	for _, c := range []struct {
		from, to string
		applies  bool
	}{
		{store.StatusInProgress, store.StatusSucceeded, true},
		{store.StatusInProgress, store.StatusFailed, false},
		// A hand-off cancelled by its outside party (a closed pull request).
		{store.StatusInProgress, store.StatusCancelled, false},
		{store.StatusCancelling, store.StatusCancelled, false},
		{store.StatusCancelling, store.StatusFailed, false},
		// The work finished before the cancel could stop it: the cancel had no effect.
		{store.StatusCancelling, store.StatusSucceeded, true},
	} {
		verb := "leaves_the_deployed_state"
		if c.applies {
			verb = "applies_the_target_state"
		}
		name := "finish_" + lower(c.from) + "_to_" + lower(c.to) + "_" + verb
		tests = append(tests, test{name, func(t *testing.T, h *harness) { finishCase(t, h, c.from, c.to, c.applies) }})
	}

	// Deployment records stay until deleted, and an active one cannot be.
	for _, status := range activeStatuses {
		tests = append(tests, test{"delete_while_" + lower(status) + "_is_ErrInUse", func(t *testing.T, h *harness) {
			d := h.deploymentIn("prod", status)
			_, err := h.s.DeploymentDelete(h.ctx, d.ID)
			wantErr(t, "delete", err, store.ErrInUse)
			same(t, "deployment", h.deployment(d.ID), d)
		}})
	}
	for _, status := range endedStatuses {
		tests = append(tests, test{"delete_after_" + lower(status) + "_removes_the_record", func(t *testing.T, h *harness) {
			d := h.deploymentIn("prod", status)
			got, err := h.s.DeploymentDelete(h.ctx, d.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got == nil || got.ID != d.ID {
				t.Errorf("delete returned %v, want deployment %s", got, d.ID)
			}
			_, err = h.s.DeploymentGet(h.ctx, d.ID)
			wantErr(t, "get after delete", err, store.ErrNotFound)
			_, err = h.s.DeploymentDelete(h.ctx, d.ID)
			wantErr(t, "second delete", err, store.ErrNotFound)
		}})
	}
	return tests
}

// finishCase runs an update of an environment from v1 to v2, brings it to from
// (claimed by w1), finishes it as to and checks the resource took the target
// state exactly when applies.
func finishCase(t *testing.T, h *harness, from, to string, applies bool) {
	r := h.newEnvironment("prod")
	d := h.start(r, store.StatusInProgress, v2, at(10))
	h.claim("w1", d)
	if from == store.StatusCancelling {
		if _, err := h.s.DeploymentCancel(h.ctx, store.DeploymentCancelParams{ID: d.ID, At: at(12)}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := h.s.DeploymentFinish(h.ctx, store.DeploymentFinishParams{ID: d.ID, From: []string{from}, To: to,
		Message: "ended " + to, Outputs: `{"url":"https://two"}`, Resources: `[{"name":"Bucket","identifier":"b-1"}]`, Owner: "w1"}, at(15))
	if err != nil {
		t.Fatal(err)
	}
	stored := h.deployment(d.ID)
	// The provisioned resources are kept with a successful deployment only.
	wantResources := `[]`
	if to == store.StatusSucceeded {
		wantResources = `[{"name":"Bucket","identifier":"b-1"}]`
	}
	if !sameJSON(stored.Resources, wantResources) {
		t.Errorf("deployment resources = %s, want %s", stored.Resources, wantResources)
	}
	same(t, "returned vs stored deployment", got, stored)
	if stored.Status != to || stored.StatusMessage != "ended "+to || !stored.CompletedAt.Equal(at(15)) {
		t.Errorf("deployment: %s %q completed %v; want %s %q completed %v", stored.Status, stored.StatusMessage,
			stored.CompletedAt, to, "ended "+to, at(15))
	}
	after := h.resource(r.Key)
	if after.DeploymentStatus != to || after.DeploymentStatusMessage != "ended "+to {
		t.Errorf("resource shows %s %q, want %s %q", after.DeploymentStatus, after.DeploymentStatusMessage, to, "ended "+to)
	}
	if after.LastAttemptedDeploymentID != d.ID || !after.LastDeploymentAttemptedAt.Equal(at(10)) {
		t.Errorf("last attempted %s at %v, want %s at %v", after.LastAttemptedDeploymentID,
			after.LastDeploymentAttemptedAt, d.ID, at(10))
	}
	want := deployedState(r)
	if applies {
		// lastDeploymentSucceededAt is the start of the successful attempt.
		want = deployed{v2.template, v2.major, v2.minor, v2.spec, `{"url":"https://two"}`, d.ID, at(10)}
		if !sameJSON(stored.Outputs, `{"url":"https://two"}`) {
			t.Errorf("deployment outputs = %s", stored.Outputs)
		}
	}
	same(t, "deployed state", deployedState(after), want)
	if after.Description != r.Description || after.Settings != r.Settings {
		t.Errorf("metadata changed: %q %q", after.Description, after.Settings)
	}
	// The deployment ended, so the resource takes the next one.
	h.start(after, store.StatusInProgress, v1, at(30))
}
