package storetest

import (
	"testing"

	"github.com/hadronhq/hadron/internal/store"
)

// syncConfig builds the template sync config of template name on repo.
func syncConfig(kind, name string, repo *store.Repository, branch string) *store.TemplateSyncConfig {
	return &store.TemplateSyncConfig{Kind: kind, TemplateName: name, Repository: repo.Key, Branch: branch,
		Subdirectory: "templates", CreatedAt: at(0), LastModifiedAt: at(0)}
}

// synced creates the template sync config of template name on repo.
func (h *harness) synced(kind, name string, repo *store.Repository, branch string) *store.TemplateSyncConfig {
	h.t.Helper()
	c := syncConfig(kind, name, repo, branch)
	if err := h.s.TemplateSyncConfigCreate(h.ctx, c); err != nil {
		h.t.Fatalf("create sync config of %s: %v", name, err)
	}
	return c
}

func revision(commit string) store.Revision {
	return store.Revision{Provider: "GITHUB", Repository: "acme/templates", Branch: "main", Directory: "templates/web/v1", Commit: commit}
}

func syncTests() []test {
	return []test{
		{"template_sync_config_reads_back_with_its_repository", func(t *testing.T, h *harness) {
			repo := h.linked("acme/templates")
			h.template(store.KindEnvironmentTemplate, "web")
			want := h.synced(store.KindEnvironmentTemplate, "web", repo, "main")
			if want.Provider != "GITHUB" || want.RepositoryName != "acme/templates" {
				t.Fatalf("create filled in repository %s %s, want GITHUB acme/templates", want.Provider, want.RepositoryName)
			}
			got, err := h.s.TemplateSyncConfigGet(h.ctx, store.KindEnvironmentTemplate, "web")
			if err != nil {
				t.Fatal(err)
			}
			same(t, "read back", got, want)
		}},
		{"a_second_config_for_one_template_exists", func(t *testing.T, h *harness) {
			repo := h.linked("acme/templates")
			h.template(store.KindEnvironmentTemplate, "web")
			h.synced(store.KindEnvironmentTemplate, "web", repo, "main")
			err := h.s.TemplateSyncConfigCreate(h.ctx, syncConfig(store.KindEnvironmentTemplate, "web", repo, "dev"))
			wantErr(t, "second config", err, store.ErrExists)
		}},
		{"a_config_needs_its_template_and_repository", func(t *testing.T, h *harness) {
			repo := h.linked("acme/templates")
			err := h.s.TemplateSyncConfigCreate(h.ctx, syncConfig(store.KindEnvironmentTemplate, "nope", repo, "main"))
			wantErr(t, "config of a missing template", err, store.ErrNotFound)
			h.template(store.KindServiceTemplate, "api")
			err = h.s.TemplateSyncConfigCreate(h.ctx, syncConfig(store.KindServiceTemplate, "api", repository("acme/unlinked"), "main"))
			wantErr(t, "config on an unlinked repository", err, store.ErrNotFound)
		}},
		{"a_repository_a_config_uses_cannot_be_deleted_until_the_config_is", func(t *testing.T, h *harness) {
			repo := h.linked("acme/templates")
			h.template(store.KindServiceTemplate, "api")
			h.synced(store.KindServiceTemplate, "api", repo, "main")
			_, err := h.s.RepositoryDelete(h.ctx, repo.Key)
			wantUsers(t, "delete used repository", err, "service-template/api")
			if _, err := h.s.TemplateSyncConfigDelete(h.ctx, store.KindServiceTemplate, "api"); err != nil {
				t.Fatal(err)
			}
			if _, err := h.s.RepositoryDelete(h.ctx, repo.Key); err != nil {
				t.Fatalf("delete repository once unused: %v", err)
			}
		}},
		{"update_moves_a_config_and_deleting_the_template_deletes_it", func(t *testing.T, h *harness) {
			repo, other := h.linked("acme/templates"), h.linked("acme/other")
			h.template(store.KindEnvironmentTemplate, "web")
			c := h.synced(store.KindEnvironmentTemplate, "web", repo, "main")
			c.Repository, c.Branch, c.Subdirectory, c.LastModifiedAt = other.Key, "dev", "", at(5)
			if err := h.s.TemplateSyncConfigUpdate(h.ctx, c); err != nil {
				t.Fatal(err)
			}
			if c.RepositoryName != "acme/other" || c.Branch != "dev" || !c.LastModifiedAt.Equal(at(5)) || !c.CreatedAt.Equal(at(0)) {
				t.Fatalf("after update: %+v", c)
			}
			list, err := h.s.TemplateSyncConfigList(h.ctx)
			if err != nil || len(list) != 1 {
				t.Fatalf("list = %v, %v; want the one config", list, err)
			}
			if _, err := h.s.TemplateDelete(h.ctx, store.KindEnvironmentTemplate, "web"); err != nil {
				t.Fatal(err)
			}
			_, err = h.s.TemplateSyncConfigGet(h.ctx, store.KindEnvironmentTemplate, "web")
			wantErr(t, "config of a deleted template", err, store.ErrNotFound)
		}},
		{"definitions_list_what_a_repository_drives", func(t *testing.T, h *harness) {
			repo, other := h.linked("acme/templates"), h.linked("acme/other")
			h.template(store.KindEnvironmentTemplate, "web")
			h.template(store.KindServiceTemplate, "api")
			h.template(store.KindServiceTemplate, "elsewhere")
			h.synced(store.KindEnvironmentTemplate, "web", repo, "main")
			h.synced(store.KindServiceTemplate, "api", repo, "dev")
			h.synced(store.KindServiceTemplate, "elsewhere", other, "main")
			got, err := h.s.SyncDefinitionList(h.ctx, store.SyncTypeTemplate, repo.Key)
			if err != nil {
				t.Fatal(err)
			}
			want := []store.SyncDefinition{
				{Branch: "dev", Directory: "templates", Parent: "api", Target: "api"},
				{Branch: "main", Directory: "templates", Parent: "web", Target: "web"},
			}
			if len(got) != len(want) {
				t.Fatalf("definitions = %+v, want %+v", got, want)
			}
			for i := range want {
				same(t, "definition", got[i], want[i])
			}
		}},
		{"one_owner_holds_a_branch_lease_until_it_expires_or_is_released", func(t *testing.T, h *harness) {
			lease := func(owner string, now int) bool {
				t.Helper()
				ok, err := h.s.SyncLeaseClaim(h.ctx, store.SyncLeaseParams{Repository: "repository/github:a/b", Branch: "main",
					Owner: owner, Now: at(now), Expires: at(now + 30)})
				if err != nil {
					t.Fatal(err)
				}
				return ok
			}
			if !lease("n1", 0) {
				t.Fatal("n1 could not take a free branch")
			}
			if lease("n2", 10) {
				t.Fatal("n2 took a branch n1 holds")
			}
			if !lease("n1", 20) {
				t.Fatal("n1 could not renew its lease")
			}
			if lease("n2", 49) {
				t.Fatal("n2 took n1's lease before it expired")
			}
			if !lease("n2", 51) {
				t.Fatal("n2 could not take n1's expired lease")
			}
			if err := h.s.SyncLeaseRelease(h.ctx, "repository/github:a/b", "main", "n2"); err != nil {
				t.Fatal(err)
			}
			if !lease("n1", 52) {
				t.Fatal("n1 could not take a released lease")
			}
		}},
		{"a_succeeded_repository_attempt_moves_the_head_a_failed_one_does_not", func(t *testing.T, h *harness) {
			const repo, branch = "repository/github:acme/templates", "main"
			head := func() string {
				t.Helper()
				c, err := h.s.SyncHeadGet(h.ctx, repo, branch, store.SyncTypeTemplate)
				if err != nil {
					t.Fatal(err)
				}
				return c
			}
			if got := head(); got != "" {
				t.Fatalf("head before any attempt = %q", got)
			}
			_, err := h.s.RepositorySyncAttemptLatest(h.ctx, repo, branch, store.SyncTypeTemplate)
			wantErr(t, "latest before any", err, store.ErrNotFound)
			ok := &store.RepositorySyncAttempt{Repository: repo, Branch: branch, SyncType: store.SyncTypeTemplate, Commit: "c1",
				Status: store.SyncSucceeded, StartedAt: at(1), Events: []store.SyncEvent{{Type: "STARTING", Event: "a", At: at(1)}, {Type: "SUCCEEDED", Event: "b", ExternalID: "x", At: at(2)}}}
			if err := h.s.RepositorySyncAttemptAdd(h.ctx, ok); err != nil {
				t.Fatal(err)
			}
			bad := &store.RepositorySyncAttempt{Repository: repo, Branch: branch, SyncType: store.SyncTypeTemplate, Commit: "c2",
				Status: store.SyncFailed, StartedAt: at(3), Events: []store.SyncEvent{{Type: "FAILED", Event: "boom", At: at(3)}}}
			if err := h.s.RepositorySyncAttemptAdd(h.ctx, bad); err != nil {
				t.Fatal(err)
			}
			if got := head(); got != "c1" {
				t.Fatalf("head = %q, want c1 (the failed c2 is retried)", got)
			}
			got, err := h.s.RepositorySyncAttemptLatest(h.ctx, repo, branch, store.SyncTypeTemplate)
			if err != nil {
				t.Fatal(err)
			}
			same(t, "latest", got, bad)
			if _, err := h.s.SyncHeadGet(h.ctx, repo, branch, store.SyncTypeService); err != nil {
				t.Fatal(err)
			}
		}},
		{"forgetting_a_repositorys_heads_of_one_sync_type_keeps_the_others", func(t *testing.T, h *harness) {
			const repo = "repository/github:acme/services"
			for _, a := range []*store.RepositorySyncAttempt{
				{Repository: repo, Branch: "main", SyncType: store.SyncTypeService, Commit: "s1", Status: store.SyncSucceeded, StartedAt: at(1)},
				{Repository: repo, Branch: "prod", SyncType: store.SyncTypeService, Commit: "s2", Status: store.SyncSucceeded, StartedAt: at(1)},
				{Repository: repo, Branch: "main", SyncType: store.SyncTypeTemplate, Commit: "t1", Status: store.SyncSucceeded, StartedAt: at(1)},
				{Repository: "repository/github:acme/other", Branch: "main", SyncType: store.SyncTypeService, Commit: "o1", Status: store.SyncSucceeded, StartedAt: at(1)},
			} {
				if err := h.s.RepositorySyncAttemptAdd(h.ctx, a); err != nil {
					t.Fatal(err)
				}
			}
			if err := h.s.SyncHeadsForget(h.ctx, repo, store.SyncTypeService); err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct{ repo, branch, syncType, want string }{
				{repo, "main", store.SyncTypeService, ""},
				{repo, "prod", store.SyncTypeService, ""},
				{repo, "main", store.SyncTypeTemplate, "t1"},
				{"repository/github:acme/other", "main", store.SyncTypeService, "o1"},
			} {
				got, err := h.s.SyncHeadGet(h.ctx, c.repo, c.branch, c.syncType)
				if err != nil {
					t.Fatal(err)
				}
				if got != c.want {
					t.Errorf("%s head of %s %s = %q, want %q", c.syncType, c.repo, c.branch, got, c.want)
				}
			}
		}},
		{"a_resource_attempt_registers_its_version_and_major_together", func(t *testing.T, h *harness) {
			h.template(store.KindEnvironmentTemplate, "web")
			h.version(store.KindEnvironmentTemplate, "web", -1, versionDraft)
			v := &store.TemplateVersion{Kind: store.KindEnvironmentTemplate, TemplateName: "web", Major: 1, Status: versionDraft,
				Schema: "schema", Bundle: []byte("tgz"), CreatedAt: at(4), LastModifiedAt: at(4)}
			a := &store.ResourceSyncAttempt{SyncType: store.SyncTypeTemplate, TargetKey: "environment-template/web:1", Target: "web",
				Status: store.SyncSucceeded, TargetRevision: revision("c1"), StartedAt: at(4),
				Events: []store.SyncEvent{{Type: "SUCCEEDED", Event: "registered 1.1", At: at(4)}}}
			err := h.s.ResourceSyncAttemptAdd(h.ctx, store.ResourceSyncAttemptAddParams{Attempt: a, Version: v,
				Major: &store.TemplateSyncMajor{Kind: store.KindEnvironmentTemplate, TemplateName: "web", Digest: "d1", Commit: "c1", SyncedAt: at(4)}})
			if err != nil {
				t.Fatal(err)
			}
			if v.Major != 1 || v.Minor != 1 {
				t.Fatalf("registered %d.%d, want 1.1", v.Major, v.Minor)
			}
			m, err := h.s.TemplateSyncMajorGet(h.ctx, store.KindEnvironmentTemplate, "web", 1)
			if err != nil {
				t.Fatal(err)
			}
			same(t, "major", m, &store.TemplateSyncMajor{Kind: store.KindEnvironmentTemplate, TemplateName: "web", Major: 1, Minor: 1, Digest: "d1", Commit: "c1", SyncedAt: at(4)})
			got, err := h.s.ResourceSyncAttemptLatest(h.ctx, store.SyncTypeTemplate, "environment-template/web:1", "")
			if err != nil {
				t.Fatal(err)
			}
			same(t, "attempt", got, a)
			if _, err := h.s.TemplateVersionGet(h.ctx, store.KindEnvironmentTemplate, "web", 1, 1); err != nil {
				t.Fatalf("registered version: %v", err)
			}
		}},
		{"a_resource_attempt_whose_version_fails_writes_nothing", func(t *testing.T, h *harness) {
			h.template(store.KindEnvironmentTemplate, "web")
			v := &store.TemplateVersion{Kind: store.KindEnvironmentTemplate, TemplateName: "web", Major: 3, Status: versionDraft, CreatedAt: at(4), LastModifiedAt: at(4)}
			a := &store.ResourceSyncAttempt{SyncType: store.SyncTypeTemplate, TargetKey: "environment-template/web:3", Target: "web",
				Status: store.SyncSucceeded, TargetRevision: revision("c1"), StartedAt: at(4)}
			err := h.s.ResourceSyncAttemptAdd(h.ctx, store.ResourceSyncAttemptAddParams{Attempt: a, Version: v,
				Major: &store.TemplateSyncMajor{Kind: store.KindEnvironmentTemplate, TemplateName: "web", Digest: "d", Commit: "c1", SyncedAt: at(4)}})
			wantErr(t, "version of a missing major", err, store.ErrNotFound)
			_, err = h.s.ResourceSyncAttemptLatest(h.ctx, store.SyncTypeTemplate, "environment-template/web:3", "")
			wantErr(t, "attempt of a failed add", err, store.ErrNotFound)
			_, err = h.s.TemplateSyncMajorGet(h.ctx, store.KindEnvironmentTemplate, "web", 3)
			wantErr(t, "major of a failed add", err, store.ErrNotFound)
		}},
		{"latest_resource_attempt_in_a_status", func(t *testing.T, h *harness) {
			add := func(status, commit string, sec int) *store.ResourceSyncAttempt {
				t.Helper()
				a := &store.ResourceSyncAttempt{SyncType: store.SyncTypeTemplate, TargetKey: "service-template/api:1", Target: "api",
					Status: status, TargetRevision: revision(commit), StartedAt: at(sec)}
				if status == store.SyncFailed {
					prev := revision("c0")
					a.Initial = &prev
					a.Events = []store.SyncEvent{{Type: "FAILED", Event: "bad bundle", At: at(sec)}}
				}
				if err := h.s.ResourceSyncAttemptAdd(h.ctx, store.ResourceSyncAttemptAddParams{Attempt: a}); err != nil {
					t.Fatal(err)
				}
				return a
			}
			good := add(store.SyncSucceeded, "c1", 1)
			bad := add(store.SyncFailed, "c2", 2)
			got, err := h.s.ResourceSyncAttemptLatest(h.ctx, store.SyncTypeTemplate, "service-template/api:1", store.SyncSucceeded)
			if err != nil {
				t.Fatal(err)
			}
			same(t, "latest succeeded", got, good)
			got, err = h.s.ResourceSyncAttemptLatest(h.ctx, store.SyncTypeTemplate, "service-template/api:1", "")
			if err != nil {
				t.Fatal(err)
			}
			same(t, "latest", got, bad)
		}},
	}
}
