package e2e

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hadronhq/hadron/internal/hadrontest"
)

// templateRepo is a bare repository acme/templates and a clone the
// user's side pushes from with the git CLI.
type templateRepo struct {
	gitRepo
	work string
}

func newTemplateRepo(t *testing.T) templateRepo {
	t.Helper()
	g := newGitRepo(t) // acme/infra.git; the templates go to a repository of their own
	g.bare = filepath.Join(g.root, "acme", "templates.git")
	g.git(t, g.root, "init", "-q", "--bare", "-b", "main", g.bare)
	r := templateRepo{gitRepo: g, work: t.TempDir()}
	g.git(t, r.work, "clone", "-q", g.bare, ".")
	g.git(t, r.work, "checkout", "-q", "-b", "main")
	return r
}

// push writes files under the clone, commits and pushes main.
func (r templateRepo) push(t *testing.T, message string, files map[string]string) {
	t.Helper()
	for name, data := range files {
		p := filepath.Join(r.work, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r.git(t, r.work, "add", "-A")
	r.git(t, r.work, "commit", "-q", "-m", message)
	r.git(t, r.work, "push", "-q", "origin", "main")
}

// syncedBundle is an environment template major whose schema's default
// says which revision it is.
func syncedBundle(rev string) map[string]string {
	return map[string]string{
		"templates/web/v1/schema/schema.yaml": `schema:
  format:
    openapi: "3.0.0"
  environment_input_type: "WebInput"
  types:
    WebInput:
      type: object
      properties:
        revision:
          type: string
          default: "` + rev + `"
`,
		"templates/web/v1/infrastructure/manifest.yaml": `infrastructure:
  templates:
    - rendering_engine: codebuild
      settings:
        provision:
          - echo provisioning
        deprovision:
          - echo deprovisioning
`,
	}
}

// versionsOf lists a template's versions as "major.minor STATUS".
func (s *server) versionsOf(t *testing.T, template string) []string {
	t.Helper()
	var out struct{ TemplateVersions []templateVersion }
	s.mustCall(t, "ListEnvironmentTemplateVersions", map[string]string{"templateName": template}, &out)
	var list []string
	for _, v := range out.TemplateVersions {
		list = append(list, v.MajorVersion+"."+v.MinorVersion+" "+v.Status)
	}
	return list
}

// awaitVersions waits until the template's versions are want and returns
// when it saw them (polling every 20 ms, for the delays the test reports).
func (s *server) awaitVersions(t *testing.T, template string, want ...string) time.Time {
	t.Helper()
	err := hadrontest.Wait(t.Context(), 20*time.Millisecond, 30*time.Second, template+" versions "+strings.Join(want, ", "), func() (bool, string, error) {
		got := s.versionsOf(t, template)
		return strings.Join(got, ",") == strings.Join(want, ","), strings.Join(got, ","), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return time.Now()
}

// webhook posts a GitHub push event of acme/templates, signed with secret.
func (s *server) webhook(t *testing.T, secret string) int {
	t.Helper()
	code, err := hadrontest.PushWebhook(t.Context(), s.endpoint, secret, "acme/templates")
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// TestTemplateSyncWithTheAWSCLI: template versions appear from pushed
// commits, by poll and by webhook; a broken bundle shows FAILED with its
// reason and registers nothing; sync continues across a restart.
func TestTemplateSyncWithTheAWSCLI(t *testing.T) {
	hadrontest.Long(t)
	requireAWS(t)
	repo := newTemplateRepo(t)
	dataDir := t.TempDir()
	secretFile := filepath.Join(t.TempDir(), "webhook-secret")
	const secret = "s3cret-shared-with-the-forge"
	if err := os.WriteFile(secretFile, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	flags := []string{"--repository-url", "GITHUB=file://" + repo.root + "/{name}.git", "--sync-webhook-secret-file", secretFile}
	s := startServer(t, dataDir, append(flags, "--sync-interval", "1s")...)

	s.awsOK(t, nil, "create-repository", "--provider", "GITHUB", "--name", "acme/templates",
		"--connection-arn", "arn:aws:codestar-connections:us-east-1:123456789012:connection/c1")
	s.awsOK(t, nil, "create-environment-template", "--name", "web")
	var cfg struct {
		TemplateSyncConfig struct{ TemplateName, TemplateType, Branch, Subdirectory, RepositoryName string }
	}
	s.awsOK(t, &cfg, "create-template-sync-config", "--template-name", "web", "--template-type", "ENVIRONMENT",
		"--repository-provider", "GITHUB", "--repository-name", "acme/templates", "--branch", "main", "--subdirectory", "templates")
	if c := cfg.TemplateSyncConfig; c.TemplateType != "ENVIRONMENT" || c.Subdirectory != "templates" || c.RepositoryName != "acme/templates" {
		t.Fatalf("created config = %+v", c)
	}
	s.awsErr(t, "ConflictException", "create-template-sync-config", "--template-name", "web", "--template-type", "ENVIRONMENT",
		"--repository-provider", "GITHUB", "--repository-name", "acme/templates", "--branch", "dev")
	s.awsErr(t, "ConflictException", "delete-repository", "--provider", "GITHUB", "--name", "acme/templates")

	// By poll (--sync-interval 1s).
	repo.push(t, "web v1", syncedBundle("one"))
	pushed := time.Now()
	firstDelay := s.awaitVersions(t, "web", "1.0 DRAFT").Sub(pushed)
	repo.push(t, "web v1, second revision", syncedBundle("two"))
	pushed = time.Now()
	secondDelay := s.awaitVersions(t, "web", "1.0 DRAFT", "1.1 DRAFT").Sub(pushed)
	t.Logf("push to registered version by poll (--sync-interval 1s): %s, %s", firstDelay.Round(time.Millisecond), secondDelay.Round(time.Millisecond))

	// A broken bundle: FAILED with the reason, no version.
	repo.push(t, "break the schema", map[string]string{"templates/web/v1/schema/schema.yaml": "schema: [broken"})
	type syncStatus struct {
		LatestSync *struct {
			Status string
			Events []struct{ Type, Event string }
		}
		LatestSuccessfulSync *struct{ Status string }
		DesiredState         *struct{ Sha, Directory string }
	}
	var st syncStatus
	eventually(t, 30*time.Second, "the broken bundle's sync to fail", func() (bool, string) {
		st = syncStatus{}
		s.awsOK(t, &st, "get-template-sync-status", "--template-name", "web", "--template-type", "ENVIRONMENT", "--template-version", "1")
		return st.LatestSync != nil && st.LatestSync.Status == "FAILED", jsonText(st)
	})
	if ev := st.LatestSync.Events; len(ev) == 0 || !strings.Contains(ev[len(ev)-1].Event, "schema") {
		t.Fatalf("the failed sync's events do not say what is wrong: %+v", ev)
	}
	if st.LatestSuccessfulSync == nil || st.LatestSuccessfulSync.Status != "SUCCEEDED" || st.DesiredState.Directory != "templates/web/v1" {
		t.Fatalf("status = %s", jsonText(st))
	}
	if got := s.versionsOf(t, "web"); len(got) != 2 {
		t.Fatalf("versions after the broken bundle = %v, want 1.0 and 1.1 only", got)
	}

	// Restart; the fix pushed while the server is down is synced when it
	// is back. The poll is now an hour: only the webhook syncs at once.
	s.terminate(t)
	repo.push(t, "fix the schema", syncedBundle("three"))
	s = startServer(t, dataDir, append(flags, "--sync-interval", "1h")...)
	s.awaitVersions(t, "web", "1.0 DRAFT", "1.1 DRAFT", "1.2 DRAFT")

	if code := s.webhook(t, "not-the-secret"); code != http.StatusUnauthorized {
		t.Fatalf("webhook with a bad signature answered %d, want 401", code)
	}
	repo.push(t, "web v1, fourth revision", syncedBundle("four"))
	pushed = time.Now()
	if code := s.webhook(t, secret); code != http.StatusAccepted {
		t.Fatalf("webhook answered %d, want 202", code)
	}
	webhookDelay := s.awaitVersions(t, "web", "1.0 DRAFT", "1.1 DRAFT", "1.2 DRAFT", "1.3 DRAFT").Sub(pushed)
	t.Logf("push to registered version by webhook (--sync-interval 1h): %s", webhookDelay.Round(time.Millisecond))

	var repoStatus struct {
		LatestSync struct {
			Status string
			Events []struct{ Type, Event, ExternalId string }
		}
	}
	s.awsOK(t, &repoStatus, "get-repository-sync-status", "--repository-provider", "GITHUB", "--repository-name", "acme/templates",
		"--branch", "main", "--sync-type", "TEMPLATE_SYNC")
	if repoStatus.LatestSync.Status != "SUCCEEDED" || len(repoStatus.LatestSync.Events) < 2 {
		t.Fatalf("repository sync status = %+v", repoStatus)
	}
	var defs struct {
		SyncDefinitions []struct{ Branch, Directory, Parent, Target string }
	}
	s.awsOK(t, &defs, "list-repository-sync-definitions", "--repository-provider", "GITHUB", "--repository-name", "acme/templates",
		"--sync-type", "TEMPLATE_SYNC")
	if len(defs.SyncDefinitions) != 1 || defs.SyncDefinitions[0].Target != "web" || defs.SyncDefinitions[0].Directory != "templates" {
		t.Fatalf("sync definitions = %+v", defs)
	}
	var got struct {
		TemplateSyncConfig struct{ TemplateName, Branch, Subdirectory, RepositoryName string }
	}
	s.awsOK(t, &got, "get-template-sync-config", "--template-name", "web", "--template-type", "ENVIRONMENT")
	if c := got.TemplateSyncConfig; c.TemplateName != "web" || c.Branch != "main" || c.Subdirectory != "templates" || c.RepositoryName != "acme/templates" {
		t.Fatalf("get-template-sync-config = %+v", c)
	}
	got.TemplateSyncConfig.Branch = ""
	s.awsOK(t, &got, "update-template-sync-config", "--template-name", "web", "--template-type", "ENVIRONMENT",
		"--repository-provider", "GITHUB", "--repository-name", "acme/templates", "--branch", "release", "--subdirectory", "templates")
	if got.TemplateSyncConfig.Branch != "release" {
		t.Fatalf("update-template-sync-config = %+v", got.TemplateSyncConfig)
	}
	s.awsOK(t, nil, "delete-template-sync-config", "--template-name", "web", "--template-type", "ENVIRONMENT")
	s.awsErr(t, "ResourceNotFoundException", "get-template-sync-config", "--template-name", "web", "--template-type", "ENVIRONMENT")
	s.awsOK(t, nil, "delete-repository", "--provider", "GITHUB", "--name", "acme/templates")
}

// bundleFiles reads the e2e bundle dir as the files of a template major at
// prefix in a repository.
func bundleFiles(t *testing.T, dir, prefix string) map[string]string {
	t.Helper()
	files := map[string]string{}
	root := filepath.Join("testdata", "bundles", dir)
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		files[prefix+"/"+filepath.ToSlash(rel)] = string(data)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// A bundle written as users wrote them (several dependent commands, exports,
// jq over proton-inputs.json, outputs reported with aws proton notify from
// inside the run) deploys from a version that template sync registered.
func TestTemplateSyncedBundleDeploys(t *testing.T) {
	hadrontest.Long(t)
	requireAWS(t)
	repo := newTemplateRepo(t)
	s := startServer(t, t.TempDir(), "--repository-url", "GITHUB=file://"+repo.root+"/{name}.git", "--sync-interval", "1s")
	s.awsOK(t, nil, "create-repository", "--provider", "GITHUB", "--name", "acme/templates",
		"--connection-arn", "arn:aws:codestar-connections:us-east-1:123456789012:connection/c1")
	s.awsOK(t, nil, "create-environment-template", "--name", "notify")
	s.awsOK(t, nil, "create-template-sync-config", "--template-name", "notify", "--template-type", "ENVIRONMENT",
		"--repository-provider", "GITHUB", "--repository-name", "acme/templates", "--branch", "main")
	repo.push(t, "notify v1", bundleFiles(t, "notify", "notify/v1"))
	s.awaitVersions(t, "notify", "1.0 DRAFT")
	s.awsOK(t, nil, "update-environment-template-version", "--template-name", "notify", "--major-version", "1",
		"--minor-version", "0", "--status", "PUBLISHED")

	var out environmentOut
	s.mustCall(t, "CreateEnvironment", map[string]string{
		"name": "synced", "templateName": "notify", "templateMajorVersion": "1", "codebuildRoleArn": codebuildArn,
		"spec": "proton: EnvironmentSpec\nspec:\n  vpc_name: synced\n  call_sts: false\n",
	}, &out)
	id := out.Environment.LastAttemptedDeploymentID
	if env := s.waitEnvironment(t, "synced", "SUCCEEDED", "FAILED"); env.DeploymentStatus != "SUCCEEDED" {
		t.Fatalf("environment from the synced version: %s (%s)\nlog:\n%s", env.DeploymentStatus, env.DeploymentStatusMessage, s.deploymentLog(id))
	}
	var outs struct{ Outputs []output }
	s.mustCall(t, "ListEnvironmentOutputs", map[string]string{"environmentName": "synced"}, &outs)
	if got := outputMap(outs.Outputs); got["VpcId"] != "vpc-synced" || got["Region"] == "" {
		t.Fatalf("outputs the run reported with notify = %v\nlog:\n%s", got, s.deploymentLog(id))
	}
}
