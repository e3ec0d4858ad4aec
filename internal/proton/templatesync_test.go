package proton

import (
	"context"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/hadronhq/hadron/internal/api"
	"github.com/hadronhq/hadron/internal/gitrepo"
	"github.com/hadronhq/hadron/internal/provision"
	"github.com/hadronhq/hadron/internal/reposync"
	"github.com/hadronhq/hadron/internal/store"
	"github.com/hadronhq/hadron/internal/store/sqlite"
)

const envSchema = `schema:
  format:
    openapi: "3.0.0"
  environment_input_type: "EnvInput"
  types:
    EnvInput:
      type: object
      properties:
        name:
          type: string
          default: "%s"
`

const svcSchema = `schema:
  format:
    openapi: "3.0.0"
  service_input_type: "SvcInput"
  types:
    SvcInput:
      type: object
      properties:
        port:
          type: integer
          default: 80
`

const manifest = `infrastructure:
  templates:
    - rendering_engine: codebuild
      settings:
        provision:
          - echo provisioning
        deprovision:
          - echo deprovisioning
`

// syncRig is an API over a fresh SQLite store, a bare repository
// acme/templates linked as GITHUB, a clone to push from, and a watcher
// running the template syncer.
type syncRig struct {
	t     *testing.T
	s     *API
	st    store.Store
	work  string
	watch *reposync.Watcher
	// git reads the repository; a test may run a watcher of its own on it.
	heads heads
}

func newSyncRig(t *testing.T) *syncRig {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("the git CLI is needed to build the test repositories")
	}
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "hadron.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	s := New(Config{Store: st, Region: "us-east-1", AccountID: "123456789012", Engines: provision.NewRegistry()})
	root := t.TempDir()
	r := &syncRig{t: t, s: s, st: st, work: t.TempDir()}
	bare := filepath.Join(root, "acme", "templates.git")
	r.git(root, "init", "-q", "--bare", "-b", "main", bare)
	r.git(r.work, "clone", "-q", bare, ".")
	r.git(r.work, "checkout", "-q", "-b", "main")
	ms := &gitrepo.Mirrors{Remotes: gitrepo.Remotes{Patterns: map[string]string{gitrepo.GitHub: "file://" + root + "/{name}.git"}}}
	r.heads = heads{ms}
	r.watch = reposync.New(reposync.Config{Store: st, Git: r.heads, Syncers: []reposync.Syncer{s.TemplateSyncer()}, Owner: "test"})
	if _, err := s.CreateRepository(t.Context(), &api.CreateRepositoryInput{Provider: "GITHUB", Name: "acme/templates", ConnectionArn: testConnection}); err != nil {
		t.Fatal(err)
	}
	return r
}

type heads struct{ m *gitrepo.Mirrors }

func (h heads) Head(ctx context.Context, b reposync.Branch) (reposync.Tree, error) {
	t, err := h.m.Head(ctx, b.Provider, b.Repository, b.Branch)
	if err != nil {
		return nil, err
	}
	return t, nil
}

func (r *syncRig) git(dir string, args ...string) string {
	r.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@t")
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// push writes files (content "" removes one), commits, pushes, and runs a
// sync pass; it returns the commit.
func (r *syncRig) push(files map[string]string) string {
	r.t.Helper()
	for name, data := range files {
		p := filepath.Join(r.work, name)
		if data == "" {
			os.Remove(p)
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			r.t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			r.t.Fatal(err)
		}
	}
	r.git(r.work, "add", "-A")
	r.git(r.work, "commit", "-q", "--allow-empty", "-m", "change")
	r.git(r.work, "push", "-q", "origin", "main")
	r.watch.Pass(r.t.Context())
	return r.git(r.work, "rev-parse", "HEAD")
}

// versions lists a template's versions as "major.minor STATUS".
func (r *syncRig) versions(kind, name string) []string {
	r.t.Helper()
	list, err := r.st.TemplateVersionList(r.t.Context(), kind, name, -1, store.Page{Limit: 100})
	if err != nil {
		r.t.Fatal(err)
	}
	var out []string
	for _, v := range list {
		out = append(out, strings.Join([]string{itoa(v.Major) + "." + itoa(v.Minor), v.Status}, " "))
	}
	return out
}

func itoa(n int) string { return strconv.Itoa(n) }

func (r *syncRig) wantVersions(kind, name string, want ...string) {
	r.t.Helper()
	if got := r.versions(kind, name); strings.Join(got, ",") != strings.Join(want, ",") {
		r.t.Fatalf("versions of %s = %v, want %v", name, got, want)
	}
}

func (r *syncRig) status(typ, name, major string) *api.GetTemplateSyncStatusOutput {
	r.t.Helper()
	out, err := r.s.GetTemplateSyncStatus(r.t.Context(), &api.GetTemplateSyncStatusInput{TemplateType: typ, TemplateName: name, TemplateVersion: major})
	if err != nil {
		r.t.Fatal(err)
	}
	return out
}

func envBundle(dir, name string) map[string]string {
	return map[string]string{
		dir + "/schema/schema.yaml":               strings.Replace(envSchema, "%s", name, 1),
		dir + "/infrastructure/manifest.yaml":     manifest,
		dir + "/infrastructure/provision-note.md": "synced",
	}
}

func TestTemplateSyncRegistersAVersionPerChangedMajorAndNothingForABrokenBundle(t *testing.T) {
	t.Parallel()
	r := newSyncRig(t)
	ctx := t.Context()
	if _, err := r.s.CreateEnvironmentTemplate(ctx, &api.CreateEnvironmentTemplateInput{Name: "web"}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.s.CreateTemplateSyncConfig(ctx, &api.CreateTemplateSyncConfigInput{TemplateName: "web", TemplateType: "ENVIRONMENT",
		RepositoryProvider: "GITHUB", RepositoryName: "acme/templates", Branch: "main", Subdirectory: "templates"}); err != nil {
		t.Fatal(err)
	}

	first := r.push(envBundle("templates/web/v1", "one"))
	r.wantVersions(kindEnv, "web", "1.0 DRAFT")
	st := r.status("ENVIRONMENT", "web", "1")
	if st.LatestSync == nil || st.LatestSync.Status != store.SyncSucceeded || st.DesiredState.Sha != first || st.DesiredState.Directory != "templates/web/v1" {
		t.Fatalf("status after the first sync = %+v", st)
	}
	v, err := r.st.TemplateVersionGet(ctx, kindEnv, "web", 1, 0)
	if err != nil || !strings.Contains(v.Schema, "EnvInput") {
		t.Fatalf("version 1.0 = %+v, %v; want its schema registered", v, err)
	}

	r.push(map[string]string{"README.md": "nothing to do with the template"})
	r.wantVersions(kindEnv, "web", "1.0 DRAFT")

	r.push(envBundle("templates/web/v1", "two"))
	r.wantVersions(kindEnv, "web", "1.0 DRAFT", "1.1 DRAFT")

	bad := r.push(map[string]string{"templates/web/v1/schema/schema.yaml": "schema: [not: a schema"})
	r.wantVersions(kindEnv, "web", "1.0 DRAFT", "1.1 DRAFT")
	st = r.status("ENVIRONMENT", "web", "1")
	if st.LatestSync.Status != store.SyncFailed || st.LatestSync.TargetRevision.Sha != bad {
		t.Fatalf("latest sync = %+v, want FAILED on %s", st.LatestSync, bad)
	}
	last := st.LatestSync.Events[len(st.LatestSync.Events)-1]
	if last.Type != templateSyncFailed || !strings.Contains(last.Event, "schema") {
		t.Fatalf("last event = %+v, want the reason", last)
	}
	if st.LatestSuccessfulSync == nil || st.LatestSuccessfulSync.Status != store.SyncSucceeded {
		t.Fatalf("latest successful sync = %+v", st.LatestSuccessfulSync)
	}

	r.push(envBundle("templates/web/v2", "two")) // a new major; v1 still broken and unchanged
	r.wantVersions(kindEnv, "web", "1.0 DRAFT", "1.1 DRAFT", "2.0 DRAFT")

	// Back to the content of 1.1: nothing to register, and the major's
	// status is no longer failed.
	r.push(envBundle("templates/web/v1", "two"))
	r.wantVersions(kindEnv, "web", "1.0 DRAFT", "1.1 DRAFT", "2.0 DRAFT")
	if st := r.status("ENVIRONMENT", "web", "1"); st.LatestSync.Status != store.SyncSucceeded {
		t.Fatalf("latest sync after the fix = %+v, want SUCCEEDED", st.LatestSync)
	}

	// The last synced minor deleted: the next commit registers the content again.
	r.push(envBundle("templates/web/v1", "three"))
	r.wantVersions(kindEnv, "web", "1.0 DRAFT", "1.1 DRAFT", "1.2 DRAFT", "2.0 DRAFT")
	if _, err := r.s.DeleteEnvironmentTemplateVersion(ctx, &api.DeleteEnvironmentTemplateVersionInput{TemplateName: "web", MajorVersion: "1", MinorVersion: "2"}); err != nil {
		t.Fatal(err)
	}
	r.push(map[string]string{"README.md": "again"})
	r.wantVersions(kindEnv, "web", "1.0 DRAFT", "1.1 DRAFT", "1.2 DRAFT", "2.0 DRAFT")
}

func TestTemplateSyncOfAServiceTemplateReadsItsRegistration(t *testing.T) {
	t.Parallel()
	r := newSyncRig(t)
	ctx := t.Context()
	for _, c := range []struct{ typ, name string }{{"ENVIRONMENT", "net"}, {"SERVICE", "api"}, {"SERVICE", "old"}} {
		if c.typ == "ENVIRONMENT" {
			if _, err := r.s.CreateEnvironmentTemplate(ctx, &api.CreateEnvironmentTemplateInput{Name: c.name}); err != nil {
				t.Fatal(err)
			}
		} else if _, err := r.s.CreateServiceTemplate(ctx, &api.CreateServiceTemplateInput{Name: c.name, PipelineProvisioning: api.ProvisioningCustomerManaged}); err != nil {
			t.Fatal(err)
		}
		if _, err := r.s.CreateTemplateSyncConfig(ctx, &api.CreateTemplateSyncConfigInput{TemplateName: c.name, TemplateType: c.typ,
			RepositoryProvider: "GITHUB", RepositoryName: "acme/templates", Branch: "main"}); err != nil {
			t.Fatal(err)
		}
	}
	files := envBundle("net/v1", "n") // the environment template comes in the same commit
	svc := func(dir string) {
		files[dir+"/schema/schema.yaml"] = svcSchema
		files[dir+"/instance_infrastructure/manifest.yaml"] = manifest
	}
	svc("svc/api/v1")
	files["svc/api/v1/.template-registration.yaml"] = "compatible_environments:\n  - net:1\nsupported_component_sources:\n  - DIRECTLY_DEFINED\n"
	svc("svc/old/v1")
	files["svc/old/v1/.compatible-envs"] = "net:1\n"
	r.push(files)
	r.wantVersions(kindSvc, "api", "1.0 DRAFT")
	r.wantVersions(kindSvc, "old", "1.0 DRAFT")
	got, err := r.s.GetServiceTemplateVersion(ctx, &api.GetServiceTemplateVersionInput{TemplateName: "api", MajorVersion: "1", MinorVersion: "0"})
	if err != nil {
		t.Fatal(err)
	}
	if v := got.ServiceTemplateVersion; len(v.CompatibleEnvironmentTemplates) != 1 || v.CompatibleEnvironmentTemplates[0].TemplateName != "net" || len(v.SupportedComponentSources) != 1 {
		t.Fatalf("api 1.0 = %+v, want compatible with net:1 and DIRECTLY_DEFINED components", v)
	}

	r.push(map[string]string{"svc/api/v1/.template-registration.yaml": "compatible_environments:\n  - nope:1\n"})
	r.wantVersions(kindSvc, "api", "1.0 DRAFT")
	st := r.status("SERVICE", "api", "1")
	if st.LatestSync.Status != store.SyncFailed || !strings.Contains(st.LatestSync.Events[len(st.LatestSync.Events)-1].Event, "nope") {
		t.Fatalf("latest sync = %+v, want FAILED naming the missing environment template", st.LatestSync)
	}
}

func TestTemplateSyncConfigErrors(t *testing.T) {
	t.Parallel()
	s, _ := repoService(t)
	ctx := t.Context()
	in := &api.CreateTemplateSyncConfigInput{TemplateName: "web", TemplateType: "ENVIRONMENT", RepositoryProvider: "GITHUB", RepositoryName: "acme/templates", Branch: "main"}
	_, err := s.CreateTemplateSyncConfig(ctx, in)
	wantKind(t, "config of a missing template", err, KindValidation, "web")
	if _, err := s.CreateEnvironmentTemplate(ctx, &api.CreateEnvironmentTemplateInput{Name: "web"}); err != nil {
		t.Fatal(err)
	}
	_, err = s.CreateTemplateSyncConfig(ctx, in)
	wantKind(t, "config on an unlinked repository", err, KindValidation, "acme/templates", "CreateRepository")
	if _, err := s.CreateRepository(ctx, &api.CreateRepositoryInput{Provider: "GITHUB", Name: "acme/templates", ConnectionArn: testConnection}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateTemplateSyncConfig(ctx, in); err != nil {
		t.Fatal(err)
	}
	_, err = s.CreateTemplateSyncConfig(ctx, in)
	wantKind(t, "second config", err, KindConflict, "web")
	_, err = s.DeleteRepository(ctx, &api.DeleteRepositoryInput{Provider: "GITHUB", Name: "acme/templates"})
	wantKind(t, "delete a repository a config uses", err, KindConflict, "environment-template web")
	_, err = s.UpdateTemplateSyncConfig(ctx, &api.UpdateTemplateSyncConfigInput{TemplateName: "web", TemplateType: "ENVIRONMENT", RepositoryProvider: "GITHUB", RepositoryName: "acme/other", Branch: "main"})
	wantKind(t, "update onto an unlinked repository", err, KindNotFound, "acme/other")
	_, err = s.CreateTemplateSyncConfig(ctx, &api.CreateTemplateSyncConfigInput{TemplateName: "web", TemplateType: "ENVIRONMENT", RepositoryProvider: "GITHUB", RepositoryName: "acme/templates", Branch: "main", Subdirectory: "../x"})
	wantKind(t, "subdirectory going up", err, KindValidation, "..")
	defs, err := s.ListRepositorySyncDefinitions(ctx, &api.ListRepositorySyncDefinitionsInput{RepositoryProvider: "GITHUB", RepositoryName: "acme/templates", SyncType: "TEMPLATE_SYNC"})
	if err != nil || len(defs.SyncDefinitions) != 1 || defs.SyncDefinitions[0].Target != "web" {
		t.Fatalf("definitions = %+v, %v", defs, err)
	}
	if _, err := s.DeleteTemplateSyncConfig(ctx, &api.DeleteTemplateSyncConfigInput{TemplateName: "web", TemplateType: "ENVIRONMENT"}); err != nil {
		t.Fatal(err)
	}
	_, err = s.GetTemplateSyncConfig(ctx, &api.GetTemplateSyncConfigInput{TemplateName: "web", TemplateType: "ENVIRONMENT"})
	wantKind(t, "get a deleted config", err, KindNotFound, "web")
}

// A config created or changed on a branch that sync already handles for
// other templates reads the branch as it is at the next pass: the bundle
// already in the repository is registered without waiting for a commit
// that touches it. The majors sync looked at before are not looked at
// again (a broken one records no second failure).
func TestTemplateSyncOfAConfigAddedToASyncedBranchRegistersWhatIsThere(t *testing.T) {
	t.Parallel()
	r := newSyncRig(t)
	ctx := t.Context()
	for _, name := range []string{"web", "api", "bad"} {
		if _, err := r.s.CreateEnvironmentTemplate(ctx, &api.CreateEnvironmentTemplateInput{Name: name}); err != nil {
			t.Fatal(err)
		}
	}
	config := func(name, subdir string) *api.CreateTemplateSyncConfigInput {
		return &api.CreateTemplateSyncConfigInput{TemplateName: name, TemplateType: "ENVIRONMENT",
			RepositoryProvider: "GITHUB", RepositoryName: "acme/templates", Branch: "main", Subdirectory: subdir}
	}
	for _, name := range []string{"web", "bad"} {
		if _, err := r.s.CreateTemplateSyncConfig(ctx, config(name, "templates")); err != nil {
			t.Fatal(err)
		}
	}
	files := envBundle("templates/web/v1", "one")
	maps.Copy(files, envBundle("templates/api/v1", "api")) // api has no config yet
	maps.Copy(files, envBundle("other/web/v1", "other"))   // nor this directory
	files["templates/bad/v1/schema/schema.yaml"] = "schema: [broken"
	files["templates/bad/v1/infrastructure/manifest.yaml"] = manifest
	r.push(files)
	r.wantVersions(kindEnv, "web", "1.0 DRAFT")
	r.wantVersions(kindEnv, "api")
	failed := r.status("ENVIRONMENT", "bad", "1").LatestSync
	if failed == nil || failed.Status != store.SyncFailed {
		t.Fatalf("the broken bundle's sync = %+v, want FAILED", failed)
	}

	if _, err := r.s.CreateTemplateSyncConfig(ctx, config("api", "templates")); err != nil {
		t.Fatal(err)
	}
	r.watch.Pass(ctx) // no new commit
	r.wantVersions(kindEnv, "api", "1.0 DRAFT")
	r.wantVersions(kindEnv, "web", "1.0 DRAFT")
	if again := r.status("ENVIRONMENT", "bad", "1").LatestSync; !again.StartedAt.Equal(failed.StartedAt.Time) {
		t.Errorf("the broken major, unchanged, was synced again: %+v", again)
	}

	if _, err := r.s.UpdateTemplateSyncConfig(ctx, &api.UpdateTemplateSyncConfigInput{TemplateName: "web", TemplateType: "ENVIRONMENT",
		RepositoryProvider: "GITHUB", RepositoryName: "acme/templates", Branch: "main", Subdirectory: "other"}); err != nil {
		t.Fatal(err)
	}
	r.watch.Pass(ctx)
	r.wantVersions(kindEnv, "web", "1.0 DRAFT", "1.1 DRAFT")
	if st := r.status("ENVIRONMENT", "web", "1"); st.DesiredState.Directory != "other/web/v1" {
		t.Errorf("web's sync after its config moved read %s, want other/web/v1", st.DesiredState.Directory)
	}

	// A config deleted while its directory changed, then created again:
	// the change made meanwhile is registered.
	if _, err := r.s.DeleteTemplateSyncConfig(ctx, &api.DeleteTemplateSyncConfigInput{TemplateName: "web", TemplateType: "ENVIRONMENT"}); err != nil {
		t.Fatal(err)
	}
	r.push(envBundle("other/web/v1", "changed while unwatched"))
	r.push(map[string]string{"README.md": "a later commit"})
	if _, err := r.s.CreateTemplateSyncConfig(ctx, config("web", "other")); err != nil {
		t.Fatal(err)
	}
	r.push(map[string]string{"README.md": "and another"})
	r.wantVersions(kindEnv, "web", "1.0 DRAFT", "1.1 DRAFT", "1.2 DRAFT")
}
