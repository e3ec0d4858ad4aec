package storetest

import (
	"encoding/json"
	"errors"
	"maps"
	"sync"
	"testing"

	"github.com/hadronhq/hadron/internal/store"
)

// notifyTests pin DeploymentNotify: reports merge into the running
// deployment, the last report wins on a key, they win over the run's own
// outputs at the finish, and an ended deployment takes no report.
func notifyTests() []test {
	notify := func(h *harness, id, outputs string, sec int) error {
		return h.s.DeploymentNotify(h.ctx, store.DeploymentNotifyParams{ID: id, Outputs: outputs, Status: store.StatusInProgress, At: at(sec)})
	}
	outputsOf := func(t *testing.T, doc string) map[string]string {
		t.Helper()
		var m map[string]string
		if err := json.Unmarshal([]byte(doc), &m); err != nil {
			t.Fatalf("outputs %q: %v", doc, err)
		}
		return m
	}
	return []test{
		{"notify_outputs_merge_and_win_over_the_runs_own_at_success", func(t *testing.T, h *harness) {
			r := h.newEnvironment("prod")
			d := h.start(r, store.StatusInProgress, v2, at(10))
			h.claim("w1", d)
			for i, o := range []string{`{"Vpc":"vpc-1","Subnet":"s-1"}`, `{"Vpc":"vpc-2"}`, `{}`, ``} {
				if err := notify(h, d.ID, o, 11+i); err != nil {
					t.Fatalf("notify %d: %v", i, err)
				}
			}
			// A report does not show before the deployment succeeds.
			if got := outputsOf(t, h.resource(r.Key).Outputs); got["Vpc"] != "" {
				t.Errorf("resource outputs before the finish: %v", got)
			}
			h.finish(d.ID, store.StatusSucceeded, `{"Vpc":"from-file","Port":"80"}`, at(20))
			want := map[string]string{"Vpc": "vpc-2", "Subnet": "s-1", "Port": "80"}
			if got := outputsOf(t, h.deployment(d.ID).Outputs); !maps.Equal(got, want) {
				t.Errorf("deployment outputs %v, want %v", got, want)
			}
			if got := outputsOf(t, h.resource(r.Key).Outputs); !maps.Equal(got, want) {
				t.Errorf("resource outputs %v, want %v", got, want)
			}
		}},
		{"notify_is_taken_while_cancelling", func(t *testing.T, h *harness) {
			r := h.newEnvironment("prod")
			d := h.start(r, store.StatusInProgress, v2, at(10))
			h.claim("w1", d)
			if _, err := h.s.DeploymentCancel(h.ctx, store.DeploymentCancelParams{ID: d.ID, At: at(11)}); err != nil {
				t.Fatal(err)
			}
			if err := notify(h, d.ID, `{"a":"1"}`, 12); err != nil {
				t.Fatalf("notify while CANCELLING: %v", err)
			}
		}},
		{"notify_of_an_ended_or_deleting_deployment_is_ErrStatusChanged_and_changes_nothing", func(t *testing.T, h *harness) {
			r := h.newEnvironment("prod")
			d := h.start(r, store.StatusInProgress, v2, at(10))
			h.claim("w1", d)
			h.finish(d.ID, store.StatusFailed, "", at(11))
			before := h.deployment(d.ID)
			wantErr(t, "notify after the end", notify(h, d.ID, `{"a":"1"}`, 12), store.ErrStatusChanged)
			same(t, "deployment", h.deployment(d.ID), before)

			del := h.start(r, store.StatusDeleteInProgress, targetOf(r), at(13))
			wantErr(t, "notify of a delete", notify(h, del.ID, `{"a":"1"}`, 14), store.ErrStatusChanged)
		}},
		{"notify_of_missing_is_ErrNotFound", func(t *testing.T, h *harness) {
			wantErr(t, "notify", notify(h, newID(), `{}`, 1), store.ErrNotFound)
		}},
		{"concurrent_notifies_all_land", func(t *testing.T, h *harness) {
			r := h.newEnvironment("prod")
			d := h.start(r, store.StatusInProgress, v2, at(10))
			h.claim("w1", d)
			const n = 8
			var wg sync.WaitGroup
			errs := make(chan error, n)
			for i := range n {
				wg.Go(func() {
					b, _ := json.Marshal(map[string]string{string(rune('a' + i)): "v"})
					errs <- notify(h, d.ID, string(b), 11)
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			h.finish(d.ID, store.StatusSucceeded, "", at(20))
			if got := outputsOf(t, h.deployment(d.ID).Outputs); len(got) != n {
				t.Errorf("outputs after %d concurrent notifies: %v", n, got)
			}
		}},
		{"notify_past_MaxOutputs_is_ErrTooManyOutputs_and_changes_nothing_even_when_concurrent", func(t *testing.T, h *harness) {
			r := h.newEnvironment("prod")
			d := h.start(r, store.StatusInProgress, v2, at(10))
			h.claim("w1", d)
			bounded := func(outputs string) error {
				return h.s.DeploymentNotify(h.ctx, store.DeploymentNotifyParams{ID: d.ID, Outputs: outputs, At: at(11), MaxOutputs: 4})
			}
			if err := bounded(`{"a":"1","b":"1","c":"1"}`); err != nil {
				t.Fatal(err)
			}
			// A key reported again does not count twice.
			if err := bounded(`{"a":"2"}`); err != nil {
				t.Fatalf("a report of a known key: %v", err)
			}
			before := h.deployment(d.ID)
			wantErr(t, "a report past the bound", bounded(`{"d":"1","e":"1"}`), store.ErrTooManyOutputs)
			same(t, "deployment", h.deployment(d.ID), before)
			// Of two reports that each fit alone but not together, one lands.
			errs := make(chan error, 2)
			for _, o := range []string{`{"x":"1"}`, `{"y":"1"}`} {
				go func() { errs <- bounded(o) }()
			}
			var failed int
			for range 2 {
				if err := <-errs; errors.Is(err, store.ErrTooManyOutputs) {
					failed++
				} else if err != nil {
					t.Fatal(err)
				}
			}
			h.finish(d.ID, store.StatusSucceeded, "", at(20))
			if got := outputsOf(t, h.deployment(d.ID).Outputs); failed != 1 || len(got) != 4 || got["a"] != "2" {
				t.Errorf("after two concurrent reports (%d refused): outputs %v, want 4 with a=2", failed, got)
			}
		}},
	}
}
