package storetest

import (
	"slices"
	"testing"

	"github.com/hadronhq/hadron/internal/store"
)

func startedByTests() []test {
	svc1 := target{svcTemplate, "1", "0", "spec: service"}
	check := func(t *testing.T, h *harness, id, key, name string) {
		t.Helper()
		got := h.deployment(id)
		if got.StartedByKeyID != key || got.StartedBy != name {
			t.Errorf("deployment %s started by %q %q, want %q %q", id, got.StartedByKeyID, got.StartedBy, key, name)
		}
	}
	return []test{
		{"a_start_keeps_who_started_it_through_claim_finish_and_list", func(t *testing.T, h *harness) {
			r := environment("prod")
			d := deploymentOf(r, store.StatusInProgress, v1, at(1))
			d.StartedByKeyID, d.StartedBy = "AKIDALICE", "alice's laptop"
			if _, err := h.s.DeploymentStart(h.ctx, store.DeploymentStartParams{Deployment: d, Create: r}); err != nil {
				t.Fatal(err)
			}
			claimed := h.claim("w1", d)
			if claimed.StartedByKeyID != "AKIDALICE" || claimed.StartedBy != "alice's laptop" {
				t.Errorf("claimed deployment started by %q %q", claimed.StartedByKeyID, claimed.StartedBy)
			}
			h.finish(d.ID, store.StatusSucceeded, `{}`, at(2))
			check(t, h, d.ID, "AKIDALICE", "alice's laptop")

			// Hadron's own start: a label and no key.
			u := deploymentOf(h.resource(r.Key), store.StatusInProgress, v2, at(3))
			u.StartedByKeyID, u.StartedBy = "", "hadron (template sync)"
			if _, err := h.s.DeploymentStart(h.ctx, store.DeploymentStartParams{Deployment: u}); err != nil {
				t.Fatal(err)
			}
			list, err := h.s.DeploymentList(h.ctx, store.DeploymentFilter{EnvironmentName: "prod"}, store.Page{Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			var got [][2]string
			for _, x := range list {
				got = append(got, [2]string{x.StartedByKeyID, x.StartedBy})
			}
			if want := [][2]string{{"", "hadron (template sync)"}, {"AKIDALICE", "alice's laptop"}}; !slices.Equal(got, want) {
				t.Errorf("listed starters (newest first) = %q, want %q", got, want)
			}
		}},
		{"a_service_change_start_keeps_who_started_it", func(t *testing.T, h *harness) {
			h.newEnvironment("e")
			inst := serviceInstance("api", "one", "e", svc1)
			d := deploymentOf(inst, store.StatusInProgress, svc1, at(5))
			d.StartedByKeyID, d.StartedBy = "", "hadron (service sync)"
			if _, err := h.s.ServiceChange(h.ctx, store.ServiceChangeParams{
				Name: "api", Create: newService("api", "CREATE_IN_PROGRESS"),
				Starts: []store.DeploymentStartParams{{Deployment: d, Create: inst}}, At: at(5),
			}); err != nil {
				t.Fatal(err)
			}
			check(t, h, d.ID, "", "hadron (service sync)")
		}},
	}
}
