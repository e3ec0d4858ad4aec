package storetest

import (
	"errors"
	"fmt"
	"testing"

	"github.com/hadronhq/hadron/internal/store"
)

// repository builds a linked repository of provider GITHUB named name.
func repository(name string) *store.Repository {
	return &store.Repository{
		Key: "repository/github:" + name, Provider: "GITHUB", Name: name,
		ConnectionArn: "arn:aws:codestar-connections:us-east-1:000000000000:connection/c1",
		EncryptionKey: "arn:aws:kms:us-east-1:000000000000:key/k1", CreatedAt: at(0),
	}
}

// linked creates repository name.
func (h *harness) linked(name string) *store.Repository {
	h.t.Helper()
	r := repository(name)
	if err := h.s.RepositoryCreate(h.ctx, r); err != nil {
		h.t.Fatalf("create repository %s: %v", name, err)
	}
	return r
}

// selfManaged builds environment name provisioning through repository repo.
func selfManaged(name string, repo *store.Repository) *store.Resource {
	r := environment(name)
	r.Repository = repo.Key
	return r
}

// wantUsers fails the test unless err is a UsedByError (and ErrInUse)
// naming users.
func wantUsers(t *testing.T, what string, err error, users ...string) {
	t.Helper()
	wantErr(t, what, err, store.ErrInUse)
	var used *store.UsedByError
	if !errors.As(err, &used) {
		t.Fatalf("%s: err = %v, want a *store.UsedByError", what, err)
	}
	sameList(t, what+": users", used.Users, users)
}

func repositoryTests() []test {
	return []test{
		{"create_then_get_returns_every_field", func(t *testing.T, h *harness) {
			want := h.linked("acme/infra")
			got, err := h.s.RepositoryGet(h.ctx, want.Key)
			if err != nil {
				t.Fatal(err)
			}
			same(t, "read back", got, want)
		}},
		{"encryption_key_may_be_empty", func(t *testing.T, h *harness) {
			want := repository("acme/plain")
			want.EncryptionKey = ""
			if err := h.s.RepositoryCreate(h.ctx, want); err != nil {
				t.Fatal(err)
			}
			got, err := h.s.RepositoryGet(h.ctx, want.Key)
			if err != nil {
				t.Fatal(err)
			}
			same(t, "read back", got, want)
		}},
		{"create_of_a_taken_key_is_ErrExists_and_keeps_the_first", func(t *testing.T, h *harness) {
			first := h.linked("acme/infra")
			again := repository("acme/infra")
			again.ConnectionArn = "arn:aws:codestar-connections:us-east-1:000000000000:connection/other"
			wantErr(t, "second create", h.s.RepositoryCreate(h.ctx, again), store.ErrExists)
			got, err := h.s.RepositoryGet(h.ctx, first.Key)
			if err != nil {
				t.Fatal(err)
			}
			same(t, "after the refused create", got, first)
		}},
		{"get_of_a_missing_repository_is_ErrNotFound", func(t *testing.T, h *harness) {
			_, err := h.s.RepositoryGet(h.ctx, "repository/github:acme/none")
			wantErr(t, "get", err, store.ErrNotFound)
		}},
		{"list_pages_in_key_order", func(t *testing.T, h *harness) {
			for _, n := range []string{"b/two", "a/one", "c/three", "a/zero"} {
				h.linked(n)
			}
			var got []string
			after := ""
			for page := 0; page < 5; page++ {
				list, err := h.s.RepositoryList(h.ctx, store.Page{After: after, Limit: 3})
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range list {
					got = append(got, r.Name)
				}
				if len(list) < 3 {
					break
				}
				after = list[len(list)-1].Key
			}
			sameList(t, "names", got, []string{"a/one", "a/zero", "b/two", "c/three"})
		}},
		{"delete_returns_the_repository_and_it_is_gone", func(t *testing.T, h *harness) {
			r := h.linked("acme/infra")
			got, err := h.s.RepositoryDelete(h.ctx, r.Key)
			if err != nil {
				t.Fatal(err)
			}
			same(t, "deleted", got, r)
			_, err = h.s.RepositoryGet(h.ctx, r.Key)
			wantErr(t, "get after delete", err, store.ErrNotFound)
			_, err = h.s.RepositoryDelete(h.ctx, r.Key)
			wantErr(t, "second delete", err, store.ErrNotFound)
		}},
		{"a_resource_keeps_its_repository", func(t *testing.T, h *harness) {
			if got := h.newEnvironment("plain").Repository; got != "" {
				t.Errorf("repository of a resource created without one = %q", got)
			}
			repo := h.linked("acme/infra")
			env := selfManaged("prod", repo)
			h.create(env)
			if got := h.resource(env.Key).Repository; got != repo.Key {
				t.Errorf("resource repository = %q, want %q", got, repo.Key)
			}
		}},
		{"delete_while_resources_use_it_is_refused_naming_them", func(t *testing.T, h *harness) {
			repo := h.linked("acme/infra")
			h.create(selfManaged("prod", repo))
			h.create(selfManaged("dev", repo))
			h.create(environment("other"))
			_, err := h.s.RepositoryDelete(h.ctx, repo.Key)
			wantUsers(t, "delete", err, "environment/dev", "environment/prod")
			if _, err := h.s.RepositoryGet(h.ctx, repo.Key); err != nil {
				t.Errorf("get after the refused delete: %v", err)
			}
		}},
		{"a_refused_delete_names_at_most_five_users", func(t *testing.T, h *harness) {
			repo := h.linked("acme/infra")
			for i := range 7 {
				h.create(selfManaged(fmt.Sprintf("env%d", i), repo))
			}
			_, err := h.s.RepositoryDelete(h.ctx, repo.Key)
			wantUsers(t, "delete", err, "environment/env0", "environment/env1", "environment/env2", "environment/env3", "environment/env4")
		}},
		{"delete_succeeds_once_the_user_is_deleted", func(t *testing.T, h *harness) {
			repo := h.linked("acme/infra")
			env := selfManaged("prod", repo)
			d := h.create(env)
			h.claim("setup", d)
			h.finish(d.ID, store.StatusSucceeded, `{}`, at(1))
			del := h.start(h.resource(env.Key), store.StatusDeleteInProgress, v1, at(2))
			_, err := h.s.RepositoryDelete(h.ctx, repo.Key)
			wantUsers(t, "delete while the environment is being deleted", err, env.Key)
			h.claim("w1", del)
			h.finish(del.ID, store.StatusDeleteComplete, `{}`, at(3))
			if _, err := h.s.RepositoryDelete(h.ctx, repo.Key); err != nil {
				t.Errorf("delete after the environment is gone: %v", err)
			}
		}},
		{"create_naming_a_missing_repository_is_ErrNotFound_and_creates_nothing", func(t *testing.T, h *harness) {
			env := selfManaged("prod", repository("acme/none"))
			d := deploymentOf(env, store.StatusInProgress, v1, at(0))
			_, err := h.s.DeploymentStart(h.ctx, store.DeploymentStartParams{Deployment: d, Create: env})
			wantErr(t, "create", err, store.ErrNotFound)
			_, err = h.s.ResourceGet(h.ctx, env.Key)
			wantErr(t, "get resource", err, store.ErrNotFound)
			_, err = h.s.DeploymentGet(h.ctx, d.ID)
			wantErr(t, "get deployment", err, store.ErrNotFound)
		}},
		{"start_changes_the_repository_or_clears_it", func(t *testing.T, h *harness) {
			one, two := h.linked("acme/one"), h.linked("acme/two")
			env := selfManaged("prod", one)
			d := h.create(env)
			h.claim("setup", d)
			h.finish(d.ID, store.StatusSucceeded, `{}`, at(1))

			d = deploymentOf(h.resource(env.Key), store.StatusInProgress, v2, at(2))
			r, err := h.s.DeploymentStart(h.ctx, store.DeploymentStartParams{Deployment: d, Repository: &two.Key})
			if err != nil {
				t.Fatal(err)
			}
			if r.Repository != two.Key {
				t.Errorf("repository after the start = %q, want %q", r.Repository, two.Key)
			}
			if _, err := h.s.RepositoryDelete(h.ctx, one.Key); err != nil {
				t.Errorf("delete of the repository no longer used: %v", err)
			}
			h.claim("w1", d)
			h.finish(d.ID, store.StatusSucceeded, `{}`, at(3))

			none := ""
			d = deploymentOf(h.resource(env.Key), store.StatusInProgress, v2, at(4))
			if r, err = h.s.DeploymentStart(h.ctx, store.DeploymentStartParams{Deployment: d, Repository: &none}); err != nil {
				t.Fatal(err)
			}
			if r.Repository != "" {
				t.Errorf("repository after clearing it = %q", r.Repository)
			}
			if _, err := h.s.RepositoryDelete(h.ctx, two.Key); err != nil {
				t.Errorf("delete after the resource let it go: %v", err)
			}
		}},
		{"start_naming_a_missing_repository_is_ErrNotFound_and_starts_nothing", func(t *testing.T, h *harness) {
			env := h.newEnvironment("prod")
			missing := "repository/github:acme/none"
			d := deploymentOf(env, store.StatusInProgress, v2, at(2))
			_, err := h.s.DeploymentStart(h.ctx, store.DeploymentStartParams{Deployment: d, Repository: &missing})
			wantErr(t, "start", err, store.ErrNotFound)
			same(t, "resource after the refused start", h.resource(env.Key), env)
			_, err = h.s.DeploymentGet(h.ctx, d.ID)
			wantErr(t, "get deployment", err, store.ErrNotFound)
		}},
		{"metadata_update_changes_the_repository_or_refuses_a_missing_one", func(t *testing.T, h *harness) {
			repo := h.linked("acme/infra")
			env := h.newEnvironment("prod")
			r, err := h.s.ResourceUpdateMetadata(h.ctx, store.ResourceUpdateMetadataParams{Key: env.Key, Repository: &repo.Key, At: at(5)})
			if err != nil {
				t.Fatal(err)
			}
			if r.Repository != repo.Key {
				t.Errorf("repository after the update = %q, want %q", r.Repository, repo.Key)
			}
			_, err = h.s.RepositoryDelete(h.ctx, repo.Key)
			wantUsers(t, "delete", err, env.Key)

			missing := "repository/github:acme/none"
			_, err = h.s.ResourceUpdateMetadata(h.ctx, store.ResourceUpdateMetadataParams{Key: env.Key, Repository: &missing, At: at(6)})
			wantErr(t, "update naming a missing repository", err, store.ErrNotFound)
			if got := h.resource(env.Key).Repository; got != repo.Key {
				t.Errorf("repository after the refused update = %q, want %q", got, repo.Key)
			}
		}},
		{"the_pipeline_repository_setting_must_name_a_repository_and_keeps_it", func(t *testing.T, h *harness) {
			missing := "repository/github:acme/none"
			_, err := h.s.SettingsUpdate(h.ctx, store.SettingsUpdateParams{
				Set: map[string]string{store.SettingPipelineRepository: missing, "other": "x"}, At: at(1)})
			wantErr(t, "set to a missing repository", err, store.ErrNotFound)
			if got, err := h.s.SettingsGet(h.ctx); err != nil || len(got) != 0 {
				t.Errorf("settings after the refused update = %v, %v; want none", got, err)
			}
			repo := h.linked("acme/pipelines")
			if _, err := h.s.SettingsUpdate(h.ctx, store.SettingsUpdateParams{
				Set: map[string]string{store.SettingPipelineRepository: repo.Key}, At: at(2)}); err != nil {
				t.Fatal(err)
			}
			env := h.create(selfManaged("prod", repo))
			_, err = h.s.RepositoryDelete(h.ctx, repo.Key)
			wantUsers(t, "delete", err, env.TargetKey, store.SettingPipelineRepositoryUser)
			if _, err := h.s.SettingsUpdate(h.ctx, store.SettingsUpdateParams{
				Delete: []string{store.SettingPipelineRepository}, At: at(3)}); err != nil {
				t.Fatal(err)
			}
			_, err = h.s.RepositoryDelete(h.ctx, repo.Key)
			wantUsers(t, "delete after the setting let it go", err, env.TargetKey)
		}},
		{"race_delete_against_a_create_that_uses_it", raceRepositoryDeleteCreate},
	}
}

// raceRepositoryDeleteCreate is the race "a repository is deleted while an
// environment is created on it". Exactly one of two histories happens:
//   - the create lands first, and the delete is refused naming the
//     environment;
//   - the delete lands first, and the create is refused with ErrNotFound,
//     leaving no environment.
//
// Never both: no resource may name a repository that is gone.
func raceRepositoryDeleteCreate(t *testing.T, h *harness) {
	var createFirst, deleteFirst int
	for i := range raceRounds {
		repo := h.linked(fmt.Sprintf("acme/race-%02d", i))
		env := selfManaged(fmt.Sprintf("race-%02d", i), repo)
		var createErr, deleteErr error
		together(
			func() {
				d := deploymentOf(env, store.StatusInProgress, v1, at(0))
				_, createErr = h.s.DeploymentStart(h.ctx, store.DeploymentStartParams{Deployment: d, Create: env})
			},
			func() { _, deleteErr = h.s.RepositoryDelete(h.ctx, repo.Key) },
		)
		_, getErr := h.s.ResourceGet(h.ctx, env.Key)
		switch {
		case createErr == nil && errors.Is(deleteErr, store.ErrInUse) && getErr == nil:
			createFirst++
		case deleteErr == nil && errors.Is(createErr, store.ErrNotFound) && errors.Is(getErr, store.ErrNotFound):
			deleteFirst++
		default:
			t.Errorf("round %d: create = %v, delete = %v, environment afterwards = %v; want exactly one to win", i, createErr, deleteErr, getErr)
		}
	}
	t.Logf("create first %d, delete first %d", createFirst, deleteFirst)
}
