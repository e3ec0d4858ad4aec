package storetest

import (
	"testing"

	"github.com/hadronhq/hadron/internal/store"
)

// syncedService creates service name at rest and returns a sync
// configuration of it on repository repo (not yet created).
func (h *harness) syncedService(name string, repo *store.Repository) *store.ServiceSyncConfig {
	h.t.Helper()
	if _, err := h.s.ServiceChange(h.ctx, store.ServiceChangeParams{Name: name, Create: newService(name, "ACTIVE"), At: at(0)}); err != nil {
		h.t.Fatalf("create service %s: %v", name, err)
	}
	return &store.ServiceSyncConfig{
		ServiceName: name, Repository: repo.Key, Provider: repo.Provider, RepositoryName: repo.Name,
		Branch: "main", FilePath: "ops/proton-ops.yaml", CreatedAt: at(1), LastModifiedAt: at(1),
	}
}

func blocker(id, service, instance string, created int) *store.SyncBlocker {
	return &store.SyncBlocker{
		ID: id, ServiceName: service, InstanceName: instance, Type: store.BlockerAutomated,
		CreatedReason: "manual update", CreatedAt: at(created),
		Contexts: []store.SyncBlockerContext{{Key: "deploymentId", Value: "d-" + id}},
	}
}

func serviceSyncTests() []test {
	return []test{
		{"config_create_then_get_returns_every_field", func(t *testing.T, h *harness) {
			want := h.syncedService("api", h.linked("acme/ops"))
			if err := h.s.ServiceSyncConfigCreate(h.ctx, want); err != nil {
				t.Fatal(err)
			}
			got, err := h.s.ServiceSyncConfigGet(h.ctx, "api")
			if err != nil {
				t.Fatal(err)
			}
			same(t, "read back", got, want)
		}},
		{"config_second_for_a_service_is_ErrExists_and_keeps_the_first", func(t *testing.T, h *harness) {
			first := h.syncedService("api", h.linked("acme/ops"))
			if err := h.s.ServiceSyncConfigCreate(h.ctx, first); err != nil {
				t.Fatal(err)
			}
			again := *first
			again.Branch = "other"
			wantErr(t, "second create", h.s.ServiceSyncConfigCreate(h.ctx, &again), store.ErrExists)
			got, _ := h.s.ServiceSyncConfigGet(h.ctx, "api")
			same(t, "after the refused create", got, first)
		}},
		{"config_needs_its_service_and_its_repository", func(t *testing.T, h *harness) {
			repo := h.linked("acme/ops")
			c := h.syncedService("api", repo)
			c.ServiceName = "none"
			wantErr(t, "create for a missing service", h.s.ServiceSyncConfigCreate(h.ctx, c), store.ErrNotFound)
			c.ServiceName, c.Repository = "api", "repository/github:acme/none"
			wantErr(t, "create on a missing repository", h.s.ServiceSyncConfigCreate(h.ctx, c), store.ErrNotFound)
			_, err := h.s.ServiceSyncConfigGet(h.ctx, "api")
			wantErr(t, "get after refused creates", err, store.ErrNotFound)
		}},
		{"config_update_replaces_repository_branch_and_path_and_keeps_created_at", func(t *testing.T, h *harness) {
			c := h.syncedService("api", h.linked("acme/ops"))
			if err := h.s.ServiceSyncConfigCreate(h.ctx, c); err != nil {
				t.Fatal(err)
			}
			other := h.linked("acme/other")
			want := *c
			want.Repository, want.RepositoryName, want.Branch, want.FilePath, want.LastModifiedAt = other.Key, other.Name, "dev", "x.yaml", at(9)
			in := want
			in.CreatedAt = at(7) // not the store's to change
			got, err := h.s.ServiceSyncConfigUpdate(h.ctx, &in)
			if err != nil {
				t.Fatal(err)
			}
			same(t, "updated", got, &want)
			in.Repository = "repository/github:acme/none"
			_, err = h.s.ServiceSyncConfigUpdate(h.ctx, &in)
			wantErr(t, "update to a missing repository", err, store.ErrNotFound)
			in.ServiceName, in.Repository = "none", other.Key
			_, err = h.s.ServiceSyncConfigUpdate(h.ctx, &in)
			wantErr(t, "update of a missing config", err, store.ErrNotFound)
		}},
		{"config_list_filters_by_repository_and_branch", func(t *testing.T, h *harness) {
			a, b := h.linked("acme/a"), h.linked("acme/b")
			for _, c := range []struct {
				svc, branch string
				repo        *store.Repository
			}{{"s1", "main", a}, {"s2", "dev", a}, {"s3", "main", b}} {
				cfg := h.syncedService(c.svc, c.repo)
				cfg.Branch = c.branch
				if err := h.s.ServiceSyncConfigCreate(h.ctx, cfg); err != nil {
					t.Fatal(err)
				}
			}
			names := func(f store.ServiceSyncConfigFilter) []string {
				list, err := h.s.ServiceSyncConfigList(h.ctx, f, store.Page{Limit: 10})
				if err != nil {
					t.Fatal(err)
				}
				var out []string
				for _, c := range list {
					out = append(out, c.ServiceName)
				}
				return out
			}
			sameList(t, "all", names(store.ServiceSyncConfigFilter{}), []string{"s1", "s2", "s3"})
			sameList(t, "repository a", names(store.ServiceSyncConfigFilter{Repository: a.Key}), []string{"s1", "s2"})
			sameList(t, "repository a, main", names(store.ServiceSyncConfigFilter{Repository: a.Key, Branch: "main"}), []string{"s1"})
		}},
		{"config_is_a_service_sync_definition_of_its_repository", func(t *testing.T, h *harness) {
			repo := h.linked("acme/ops")
			c := h.syncedService("api", repo)
			if err := h.s.ServiceSyncConfigCreate(h.ctx, c); err != nil {
				t.Fatal(err)
			}
			h.linked("acme/other")
			defs, err := h.s.SyncDefinitionList(h.ctx, store.SyncTypeService, repo.Key)
			if err != nil {
				t.Fatal(err)
			}
			if want := (store.SyncDefinition{Branch: "main", Directory: "ops/proton-ops.yaml", Parent: "api", Target: "api"}); len(defs) != 1 || defs[0] != want {
				t.Errorf("definitions = %+v, want %+v", defs, want)
			}
			if defs, _ := h.s.SyncDefinitionList(h.ctx, store.SyncTypeService, "repository/github:acme/other"); len(defs) != 0 {
				t.Errorf("definitions of another repository = %+v", defs)
			}
		}},
		{"config_keeps_its_repository_from_deletion_until_deleted", func(t *testing.T, h *harness) {
			repo := h.linked("acme/ops")
			c := h.syncedService("api", repo)
			if err := h.s.ServiceSyncConfigCreate(h.ctx, c); err != nil {
				t.Fatal(err)
			}
			_, err := h.s.RepositoryDelete(h.ctx, repo.Key)
			wantUsers(t, "delete of the used repository", err, "service-sync-config/api")
			got, err := h.s.ServiceSyncConfigDelete(h.ctx, "api")
			if err != nil {
				t.Fatal(err)
			}
			same(t, "deleted", got, c)
			_, err = h.s.ServiceSyncConfigDelete(h.ctx, "api")
			wantErr(t, "second delete", err, store.ErrNotFound)
			if _, err := h.s.RepositoryDelete(h.ctx, repo.Key); err != nil {
				t.Errorf("delete of the repository no longer used: %v", err)
			}
		}},
		{"config_blockers_and_instance_syncs_go_with_their_service", func(t *testing.T, h *harness) {
			c := h.syncedService("api", h.linked("acme/ops"))
			if err := h.s.ServiceSyncConfigCreate(h.ctx, c); err != nil {
				t.Fatal(err)
			}
			if err := h.s.SyncBlockerCreate(h.ctx, blocker("b1", "api", "", 2)); err != nil {
				t.Fatal(err)
			}
			if err := h.s.InstanceSyncPut(h.ctx, &store.InstanceSync{ServiceName: "api", InstanceName: "one", UpdatedAt: at(2)}); err != nil {
				t.Fatal(err)
			}
			if _, err := h.s.ServiceChange(h.ctx, store.ServiceChangeParams{Name: "api", Delete: true, At: at(3)}); err != nil {
				t.Fatal(err)
			}
			_, err := h.s.ServiceSyncConfigGet(h.ctx, "api")
			wantErr(t, "config of the deleted service", err, store.ErrNotFound)
			_, err = h.s.SyncBlockerGet(h.ctx, "b1")
			wantErr(t, "blocker of the deleted service", err, store.ErrNotFound)
			_, err = h.s.InstanceSyncGet(h.ctx, "api", "one")
			wantErr(t, "instance sync of the deleted service", err, store.ErrNotFound)
		}},
		{"blocker_create_then_get_returns_every_field_ACTIVE", func(t *testing.T, h *harness) {
			h.syncedService("api", h.linked("acme/ops"))
			b := blocker("b1", "api", "one", 2)
			if err := h.s.SyncBlockerCreate(h.ctx, b); err != nil {
				t.Fatal(err)
			}
			got, err := h.s.SyncBlockerGet(h.ctx, "b1")
			if err != nil {
				t.Fatal(err)
			}
			want := blocker("b1", "api", "one", 2)
			want.Status = store.BlockerActive
			same(t, "read back", got, want)
			_, err = h.s.SyncBlockerGet(h.ctx, "none")
			wantErr(t, "get of a missing blocker", err, store.ErrNotFound)
		}},
		{"blocker_a_target_has_one_ACTIVE_blocker_and_a_new_one_after_resolve", func(t *testing.T, h *harness) {
			h.syncedService("api", h.linked("acme/ops"))
			if err := h.s.SyncBlockerCreate(h.ctx, blocker("b1", "api", "one", 2)); err != nil {
				t.Fatal(err)
			}
			wantErr(t, "second on the instance", h.s.SyncBlockerCreate(h.ctx, blocker("b2", "api", "one", 3)), store.ErrExists)
			if err := h.s.SyncBlockerCreate(h.ctx, blocker("b3", "api", "two", 3)); err != nil {
				t.Errorf("on another instance: %v", err)
			}
			if err := h.s.SyncBlockerCreate(h.ctx, blocker("b4", "api", "", 3)); err != nil {
				t.Errorf("on the service: %v", err)
			}
			if _, err := h.s.SyncBlockerResolve(h.ctx, store.SyncBlockerResolveParams{ID: "b1", Reason: "ok", At: at(4)}); err != nil {
				t.Fatal(err)
			}
			if err := h.s.SyncBlockerCreate(h.ctx, blocker("b5", "api", "one", 5)); err != nil {
				t.Errorf("after the first was resolved: %v", err)
			}
		}},
		{"blocker_resolve_is_conditional_on_ACTIVE", func(t *testing.T, h *harness) {
			h.syncedService("api", h.linked("acme/ops"))
			if err := h.s.SyncBlockerCreate(h.ctx, blocker("b1", "api", "one", 2)); err != nil {
				t.Fatal(err)
			}
			got, err := h.s.SyncBlockerResolve(h.ctx, store.SyncBlockerResolveParams{ID: "b1", Reason: "fixed by hand", At: at(4)})
			if err != nil {
				t.Fatal(err)
			}
			want := blocker("b1", "api", "one", 2)
			want.Status, want.ResolvedReason, want.ResolvedAt = store.BlockerResolved, "fixed by hand", at(4)
			same(t, "resolved", got, want)
			again, err := h.s.SyncBlockerResolve(h.ctx, store.SyncBlockerResolveParams{ID: "b1", Reason: "again", At: at(5)})
			wantErr(t, "second resolve", err, store.ErrStatusChanged)
			same(t, "blocker the second resolve returns", again, want)
			_, err = h.s.SyncBlockerResolve(h.ctx, store.SyncBlockerResolveParams{ID: "none", Reason: "x", At: at(5)})
			wantErr(t, "resolve of a missing blocker", err, store.ErrNotFound)
		}},
		{"blocker_list_is_per_target_newest_first", func(t *testing.T, h *harness) {
			h.syncedService("api", h.linked("acme/ops"))
			for i, id := range []string{"b1", "b2", "b3"} {
				if err := h.s.SyncBlockerCreate(h.ctx, blocker(id, "api", "one", 2+i)); err != nil {
					t.Fatal(err)
				}
				if id != "b3" {
					h.s.SyncBlockerResolve(h.ctx, store.SyncBlockerResolveParams{ID: id, Reason: "r", At: at(3 + i)})
				}
			}
			h.s.SyncBlockerCreate(h.ctx, blocker("s1", "api", "", 2))
			list := func(f store.SyncBlockerFilter, limit int) []string {
				bs, err := h.s.SyncBlockerList(h.ctx, f, limit)
				if err != nil {
					t.Fatal(err)
				}
				var out []string
				for _, b := range bs {
					out = append(out, b.ID)
				}
				return out
			}
			sameList(t, "instance one", list(store.SyncBlockerFilter{ServiceName: "api", InstanceName: "one"}, 10), []string{"b3", "b2", "b1"})
			sameList(t, "instance one, 2", list(store.SyncBlockerFilter{ServiceName: "api", InstanceName: "one"}, 2), []string{"b3", "b2"})
			sameList(t, "instance one, ACTIVE", list(store.SyncBlockerFilter{ServiceName: "api", InstanceName: "one", Status: store.BlockerActive}, 10), []string{"b3"})
			sameList(t, "service", list(store.SyncBlockerFilter{ServiceName: "api"}, 10), []string{"s1"})
		}},
		{"instance_sync_put_replaces_and_lists_by_name", func(t *testing.T, h *harness) {
			h.syncedService("api", h.linked("acme/ops"))
			_, err := h.s.InstanceSyncGet(h.ctx, "api", "one")
			wantErr(t, "get before any put", err, store.ErrNotFound)
			first := &store.InstanceSync{ServiceName: "api", InstanceName: "one", SpecDigest: "d1", DeploymentID: "dep1",
				Desired: `{"sha":"a"}`, LatestAttempt: `{"status":"IN_PROGRESS"}`, UpdatedAt: at(2)}
			if err := h.s.InstanceSyncPut(h.ctx, first); err != nil {
				t.Fatal(err)
			}
			second := *first
			second.DeploymentID, second.LatestSuccess, second.UpdatedAt = "", `{"status":"SUCCEEDED"}`, at(3)
			if err := h.s.InstanceSyncPut(h.ctx, &second); err != nil {
				t.Fatal(err)
			}
			got, err := h.s.InstanceSyncGet(h.ctx, "api", "one")
			if err != nil {
				t.Fatal(err)
			}
			same(t, "after the second put", got, &second)
			h.s.InstanceSyncPut(h.ctx, &store.InstanceSync{ServiceName: "api", InstanceName: "a", UpdatedAt: at(2)})
			all, err := h.s.InstanceSyncList(h.ctx, "api")
			if err != nil {
				t.Fatal(err)
			}
			if len(all) != 2 || all[0].InstanceName != "a" || all[1].InstanceName != "one" {
				t.Errorf("list = %s, want a then one", show(all))
			}
		}},
	}
}
