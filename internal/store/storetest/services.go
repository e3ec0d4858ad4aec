package storetest

import (
	"testing"

	"github.com/hadronhq/hadron/internal/store"
)

// newService is a service record at rest on svcTemplate 1.0.
func newService(name, status string) *store.Service {
	return &store.Service{
		Name: name, Description: "service " + name, Spec: "spec: service", TemplateName: svcTemplate, TemplateMajor: "1",
		TemplateMinor: "0", Status: status, Operation: `{"step":0}`, CreatedAt: at(0), LastModifiedAt: at(0),
	}
}

func serviceTests() []test {
	svc1 := target{svcTemplate, "1", "0", "spec: service"}
	return []test{
		{"create_inserts_the_service_its_instances_and_a_waiting_pipeline_at_once", func(t *testing.T, h *harness) {
			h.newEnvironment("e")
			inst := serviceInstance("api", "one", "e", svc1)
			pipe := pipeline("api", svc1)
			pipe.DeploymentStatus = store.StatusInProgress
			d := deploymentOf(inst, store.StatusInProgress, svc1, at(5))
			got, err := h.s.ServiceChange(h.ctx, store.ServiceChangeParams{
				Name: "api", Create: newService("api", "CREATE_IN_PROGRESS"), Resources: []*store.Resource{pipe},
				Starts: []store.DeploymentStartParams{{Deployment: d, Create: inst}}, At: at(5),
			})
			if err != nil {
				t.Fatal(err)
			}
			want := newService("api", "CREATE_IN_PROGRESS")
			want.LastModifiedAt = at(5) // the change's time
			same(t, "service", got, want)
			if r := h.resource(inst.Key); r.LastAttemptedDeploymentID != d.ID || r.DeploymentStatus != store.StatusInProgress {
				t.Errorf("instance = %s %s, want its deployment %s IN_PROGRESS", r.LastAttemptedDeploymentID, r.DeploymentStatus, d.ID)
			}
			if r := h.resource(pipe.Key); r.DeploymentStatus != store.StatusInProgress || r.LastAttemptedDeploymentID != "" {
				t.Errorf("waiting pipeline = %s %q", r.DeploymentStatus, r.LastAttemptedDeploymentID)
			}
		}},
		{"create_of_a_taken_name_is_ErrExists_and_changes_nothing", func(t *testing.T, h *harness) {
			h.newEnvironment("e")
			if _, err := h.s.ServiceChange(h.ctx, store.ServiceChangeParams{Name: "api", Create: newService("api", "ACTIVE"), At: at(1)}); err != nil {
				t.Fatal(err)
			}
			inst := serviceInstance("api", "one", "e", svc1)
			_, err := h.s.ServiceChange(h.ctx, store.ServiceChangeParams{
				Name: "api", Create: newService("api", "CREATE_IN_PROGRESS"),
				Starts: []store.DeploymentStartParams{{Deployment: deploymentOf(inst, store.StatusInProgress, svc1, at(2)), Create: inst}},
				At:     at(2),
			})
			wantErr(t, "second create", err, store.ErrExists)
			if _, err := h.s.ResourceGet(h.ctx, inst.Key); err == nil {
				t.Error("the refused create left its instance behind")
			}
		}},
		{"a_start_that_fails_undoes_the_whole_change", func(t *testing.T, h *harness) {
			h.newEnvironment("e")
			inst := serviceInstance("api", "one", "e", svc1)
			h.s.ServiceChange(h.ctx, store.ServiceChangeParams{Name: "api", Create: newService("api", "ACTIVE"), At: at(1)})
			h.create(inst) // one active deployment already
			_, err := h.s.ServiceChange(h.ctx, store.ServiceChangeParams{
				Name: "api", Status: strp("UPDATE_IN_PROGRESS"),
				Starts: []store.DeploymentStartParams{{Deployment: deploymentOf(inst, store.StatusInProgress, svc1, at(2))}},
				At:     at(2),
			})
			wantErr(t, "change with a second active deployment", err, store.ErrActiveDeployment)
			if got, _ := h.s.ServiceGet(h.ctx, "api"); got.Status != "ACTIVE" {
				t.Errorf("status after the refused change = %s, want ACTIVE", got.Status)
			}
		}},
		{"change_is_conditional_on_status_and_operation", func(t *testing.T, h *harness) {
			h.s.ServiceChange(h.ctx, store.ServiceChangeParams{Name: "api", Create: newService("api", "ACTIVE"), At: at(1)})
			_, err := h.s.ServiceChange(h.ctx, store.ServiceChangeParams{Name: "api", From: []string{"UPDATE_IN_PROGRESS"}, Status: strp("x"), At: at(2)})
			wantErr(t, "change from another status", err, store.ErrStatusChanged)
			_, err = h.s.ServiceChange(h.ctx, store.ServiceChangeParams{Name: "api", FromOperation: strp(`{"step":7}`), Status: strp("x"), At: at(2)})
			wantErr(t, "change from another operation", err, store.ErrStatusChanged)
			got, err := h.s.ServiceChange(h.ctx, store.ServiceChangeParams{Name: "api", From: []string{"ACTIVE"},
				FromOperation: strp(`{"step":0}`), Status: strp("UPDATE_IN_PROGRESS"), Operation: strp(`{"step":1}`), At: at(3)})
			if err != nil || got.Status != "UPDATE_IN_PROGRESS" || got.Operation != `{"step":1}` || !got.LastModifiedAt.Equal(at(3)) {
				t.Errorf("change = %+v, %v", got, err)
			}
		}},
		{"delete_removes_a_service_without_resources_only", func(t *testing.T, h *harness) {
			h.newEnvironment("e")
			h.s.ServiceChange(h.ctx, store.ServiceChangeParams{Name: "api", Create: newService("api", "ACTIVE"), At: at(1)})
			inst := serviceInstance("api", "one", "e", svc1)
			d := h.create(inst)
			_, err := h.s.ServiceChange(h.ctx, store.ServiceChangeParams{Name: "api", Delete: true, At: at(2)})
			wantErr(t, "delete with an instance left", err, store.ErrInUse)
			h.claim("w", d)
			h.finish(d.ID, store.StatusFailed, "", at(3))
			_, err = h.s.ServiceChange(h.ctx, store.ServiceChangeParams{Name: "api", DeleteResources: []string{inst.Key}, Delete: true, At: at(4)})
			if err != nil {
				t.Fatal(err)
			}
			_, err = h.s.ServiceGet(h.ctx, "api")
			wantErr(t, "get after delete", err, store.ErrNotFound)
		}},
		{"delete_resources_keeps_one_with_an_active_deployment", func(t *testing.T, h *harness) {
			h.newEnvironment("e")
			h.s.ServiceChange(h.ctx, store.ServiceChangeParams{Name: "api", Create: newService("api", "ACTIVE"), At: at(1)})
			inst := serviceInstance("api", "one", "e", svc1)
			h.create(inst)
			if _, err := h.s.ServiceChange(h.ctx, store.ServiceChangeParams{Name: "api", DeleteResources: []string{inst.Key}, At: at(2)}); err != nil {
				t.Fatal(err)
			}
			h.resource(inst.Key) // still there
		}},
		{"list_orders_by_name_and_pages", func(t *testing.T, h *harness) {
			for _, n := range []string{"c", "a", "b"} {
				h.s.ServiceChange(h.ctx, store.ServiceChangeParams{Name: n, Create: newService(n, "ACTIVE"), At: at(1)})
			}
			first, err := h.s.ServiceList(h.ctx, store.Page{Limit: 2})
			if err != nil || len(first) != 2 || first[0].Name != "a" || first[1].Name != "b" {
				t.Fatalf("first page = %v, %v", first, err)
			}
			rest, _ := h.s.ServiceList(h.ctx, store.Page{After: "b", Limit: 2})
			if len(rest) != 1 || rest[0].Name != "c" {
				t.Errorf("second page = %v", rest)
			}
		}},
	}
}
