package terraform

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hadronhq/hadron/internal/forge/github"
	"github.com/hadronhq/hadron/internal/forge/github/githubfake"
	"github.com/hadronhq/hadron/internal/gitrepo"
	"github.com/hadronhq/hadron/internal/provision"
)

func TestFolderIsWhereProtonPutTheResource(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		t    provision.Target
		want string
	}{
		{provision.Target{Kind: provision.KindEnvironment, Name: "prod", EnvironmentName: "prod"}, "prod"},
		{provision.Target{Kind: provision.KindServiceInstance, Name: "web", EnvironmentName: "prod", ServiceName: "shop"}, "prod/web"},
		{provision.Target{Kind: provision.KindServicePipeline, Name: "pipeline", EnvironmentName: "prod", ServiceName: "shop"}, "shop/pipeline"},
		{provision.Target{Kind: provision.KindComponent, Name: "queue", EnvironmentName: "prod"}, "prod/components/queue"},
	} {
		if got := Folder(c.t); got != c.want {
			t.Errorf("Folder(%s %s) = %q, want %q", c.t.Kind, c.t.Name, got, c.want)
		}
	}
}

func TestFinalStatusComesFromNotifyForAHandOffOnly(t *testing.T) {
	t.Parallel()
	e := &Engine{}
	target := envTarget
	for _, c := range []struct {
		spec     string
		settings provision.Settings
		want     bool
	}{
		{`{"mode":"hand-off"}`, provision.Settings{}, true},
		{`{"mode":"local"}`, provision.Settings{ProvisioningRepository: repo}, false},
		{``, provision.Settings{ProvisioningRepository: repo}, true},
		{``, provision.Settings{CodebuildRoleArn: "r"}, false},
	} {
		st := c.settings
		p := provision.Plan{Engine: Name, Target: &target, Settings: &st, Spec: json.RawMessage(c.spec)}
		if got := e.FinalStatusFromNotify(p); got != c.want {
			t.Errorf("FinalStatusFromNotify(spec %s, %+v) = %v, want %v", c.spec, c.settings, got, c.want)
		}
	}
}

// gitCLI runs the git CLI on a test repository (Hadron itself needs none).
func gitCLI(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@t")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

type handOffFixture struct {
	engine *Engine
	bare   string
	fake   *githubfake.Server
	log    bytes.Buffer
}

// handOffSetup makes the bare repository acme/infra with a main branch
// and an engine that hands off to it, with the fake GitHub when forge.
func handOffSetup(t *testing.T, forge bool) *handOffFixture {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("the git CLI is needed to build the test repositories")
	}
	root := t.TempDir()
	f := &handOffFixture{bare: filepath.Join(root, "acme", "infra.git")}
	gitCLI(t, root, "init", "-q", "--bare", "-b", "main", f.bare)
	work := t.TempDir()
	gitCLI(t, work, "clone", "-q", f.bare, ".")
	gitCLI(t, work, "checkout", "-q", "-b", "main")
	os.WriteFile(filepath.Join(work, "README.md"), []byte("infra\n"), 0o644)
	gitCLI(t, work, "add", "-A")
	gitCLI(t, work, "commit", "-q", "-m", "start")
	gitCLI(t, work, "push", "-q", "origin", "main")
	f.engine = &Engine{StateDir: t.TempDir(), HandOff: HandOff{
		Remotes:      gitrepo.Remotes{Patterns: map[string]string{"GITHUB": "file://" + root + "/{name}.git"}},
		PollInterval: 5 * time.Second,
	}}
	if forge {
		f.fake = &githubfake.Server{BranchExists: func(_, branch string) bool {
			return exec.Command("git", "-C", f.bare, "rev-parse", "--verify", "-q", "refs/heads/"+branch).Run() == nil
		}}
		f.fake.AddRepository("acme/infra")
		srv := httptest.NewServer(f.fake)
		t.Cleanup(srv.Close)
		f.engine.HandOff.Forge = &github.Client{APIURL: srv.URL}
	}
	return f
}

var infraRepo = &provision.Repository{Provider: "GITHUB", Name: "acme/infra", Branch: "main"}

// run runs deployment id of the dev environment, waiting on state when set.
func (f *handOffFixture) run(t *testing.T, ctx context.Context, op string, waiting json.RawMessage) (provision.Result, error) {
	t.Helper()
	target := envTarget
	settings := provision.Settings{ProvisioningRepository: infraRepo}
	return f.engine.Run(ctx, provision.Run{
		DeploymentID: "0f4b6d1e-8c53-4a7e-9d2f-1b2c3d4e5f60", Operation: op, Dir: t.TempDir(), Log: &f.log, Waiting: waiting,
		Files: map[string][]byte{
			"main.tf":       []byte("resource \"terraform_data\" \"x\" {}\n"),
			"outputs.tf":    []byte("output \"name\" { value = var.environment.name }\n"),
			"manifest.yaml": []byte("infrastructure:\n  templates:\n    - file: \"*\"\n"),
		},
		Plan: provision.Plan{Engine: Name, Target: &target, Settings: &settings, Spec: json.RawMessage(`{"mode":"hand-off"}`),
			Inputs: json.RawMessage(`{"environment":{"name":"dev","inputs":{"size":"small"}}}`)},
	})
}

func (f *handOffFixture) state(t *testing.T, res provision.Result) handOffState {
	t.Helper()
	if res.Wait == nil {
		t.Fatalf("the run returned no Wait: %+v", res)
	}
	var st handOffState
	if err := json.Unmarshal(res.Wait.State, &st); err != nil {
		t.Fatal(err)
	}
	return st
}

func cancelled() context.Context {
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(provision.ErrUserCancelled)
	return ctx
}

func TestHandOffPushesProtonsFilesAndOpensAPullRequest(t *testing.T) {
	t.Parallel()
	f := handOffSetup(t, true)
	res, err := f.run(t, context.Background(), provision.OperationDeploy, nil)
	if err != nil {
		t.Fatalf("%v\n%s", err, f.log.String())
	}
	st := f.state(t, res)
	if res.Wait.CheckAfter != 5*time.Second || st.PullRequest != 1 || st.Folder != "dev" || st.Base != "main" {
		t.Errorf("wait %s, state %+v", res.Wait.CheckAfter, st)
	}
	files := gitCLI(t, f.bare, "ls-tree", "-r", "--name-only", st.Branch)
	want := "README.md\ndev/.proton/deployment-metadata.json\ndev/main.tf\ndev/outputs.tf\ndev/proton.auto.tfvars.json\ndev/proton.environment.variables.tf"
	if files != want {
		t.Errorf("files on %s:\n%s\nwant:\n%s", st.Branch, files, want)
	}
	if got := gitCLI(t, f.bare, "rev-list", "--count", "main.."+st.Branch); got != "1" {
		t.Errorf("%s commits handed off, want one", got)
	}
	var meta struct {
		DeploymentID      string `json:"deploymentId"`
		IsResourceDeleted bool   `json:"isResourceDeleted"`
	}
	json.Unmarshal([]byte(gitCLI(t, f.bare, "show", st.Branch+":dev/.proton/deployment-metadata.json")), &meta)
	if meta.DeploymentID != "0f4b6d1e-8c53-4a7e-9d2f-1b2c3d4e5f60" || meta.IsResourceDeleted {
		t.Errorf("metadata: %+v", meta)
	}
	prs := f.fake.PullRequests("acme/infra")
	if len(prs) != 1 || prs[0].Head != st.Branch || prs[0].Base != "main" || !strings.Contains(prs[0].Title, "Deploy environment dev") {
		t.Fatalf("pull requests: %+v", prs)
	}

	// Checks: open, the hand-off stands; merged, the checks stop.
	res, err = f.run(t, context.Background(), provision.OperationDeploy, res.Wait.State)
	if err != nil || res.Wait == nil || res.Wait.CheckAfter != 5*time.Second {
		t.Fatalf("check of an open pull request = %+v, %v", res.Wait, err)
	}
	f.fake.Merge("acme/infra", 1)
	res, err = f.run(t, context.Background(), provision.OperationDeploy, res.Wait.State)
	if err != nil || res.Wait == nil || res.Wait.CheckAfter != 0 || !f.state(t, res).Merged {
		t.Fatalf("check of a merged pull request = %+v, %v", res.Wait, err)
	}
	// A cancel of a merged hand-off fails.
	_, err = f.run(t, cancelled(), provision.OperationDeploy, res.Wait.State)
	if err == nil || errors.Is(err, provision.ErrUserCancelled) || !strings.Contains(err.Error(), "already merged") {
		t.Errorf("cancel of a merged hand-off: %v, want a failure saying it is merged", err)
	}
}

func TestPullRequestClosedByAPersonCancelsTheDeployment(t *testing.T) {
	t.Parallel()
	f := handOffSetup(t, true)
	res, err := f.run(t, context.Background(), provision.OperationDeploy, nil)
	if err != nil {
		t.Fatal(err)
	}
	f.fake.Close("acme/infra", 1)
	_, err = f.run(t, context.Background(), provision.OperationDeploy, res.Wait.State)
	if !errors.Is(err, provision.ErrCancelledOutside) || !strings.Contains(err.Error(), "closed without being merged") {
		t.Errorf("check of a closed pull request: %v", err)
	}
}

func TestCancelClosesThePullRequestAndDeletesTheBranch(t *testing.T) {
	t.Parallel()
	f := handOffSetup(t, true)
	res, err := f.run(t, context.Background(), provision.OperationDeploy, nil)
	if err != nil {
		t.Fatal(err)
	}
	st := f.state(t, res)
	_, err = f.run(t, cancelled(), provision.OperationDeploy, res.Wait.State)
	if !errors.Is(err, provision.ErrUserCancelled) {
		t.Fatalf("cancel: %v, want it taken back", err)
	}
	if prs := f.fake.PullRequests("acme/infra"); prs[0].State != "closed" || prs[0].Merged {
		t.Errorf("pull request after the cancel: %+v", prs[0])
	}
	if got := gitCLI(t, f.bare, "branch", "--list", st.Branch); got != "" {
		t.Errorf("branch %s still there", st.Branch)
	}
}

func TestWithoutAForgeTheBranchIsTheHandOff(t *testing.T) {
	t.Parallel()
	f := handOffSetup(t, false)
	res, err := f.run(t, context.Background(), provision.OperationDeploy, nil)
	if err != nil {
		t.Fatal(err)
	}
	st := f.state(t, res)
	if res.Wait.CheckAfter != 0 || st.PullRequest != 0 {
		t.Errorf("wait %s, state %+v: nothing to poll without a forge", res.Wait.CheckAfter, st)
	}
	// Cancel: the branch is deleted.
	if _, err := f.run(t, cancelled(), provision.OperationDeploy, res.Wait.State); !errors.Is(err, provision.ErrUserCancelled) {
		t.Fatalf("cancel: %v", err)
	}
	if got := gitCLI(t, f.bare, "branch", "--list", st.Branch); got != "" {
		t.Errorf("branch %s still there", st.Branch)
	}
	// A branch already merged cannot be taken back.
	res, err = f.run(t, context.Background(), provision.OperationDeploy, nil)
	if err != nil {
		t.Fatal(err)
	}
	st = f.state(t, res)
	gitCLI(t, f.bare, "update-ref", "refs/heads/main", st.Commit)
	_, err = f.run(t, cancelled(), provision.OperationDeploy, res.Wait.State)
	if err == nil || errors.Is(err, provision.ErrUserCancelled) || !strings.Contains(err.Error(), "already merged") {
		t.Errorf("cancel of a merged branch: %v", err)
	}
}

func TestDeleteHandsOffTheMetadataWithIsResourceDeleted(t *testing.T) {
	t.Parallel()
	f := handOffSetup(t, false)
	res, err := f.run(t, context.Background(), provision.OperationDeploy, nil)
	if err != nil {
		t.Fatal(err)
	}
	gitCLI(t, f.bare, "update-ref", "refs/heads/main", f.state(t, res).Commit) // the automation merged it
	res, err = f.run(t, context.Background(), provision.OperationDelete, nil)
	if err != nil {
		t.Fatal(err)
	}
	st := f.state(t, res)
	changed := gitCLI(t, f.bare, "diff", "--name-only", "main", st.Branch)
	if changed != "" {
		// The same deployment id: only isResourceDeleted changes.
		if changed != "dev/.proton/deployment-metadata.json" {
			t.Errorf("a delete changed %q, want only the metadata", changed)
		}
	}
	meta := gitCLI(t, f.bare, "show", st.Branch+":dev/.proton/deployment-metadata.json")
	if !strings.Contains(meta, `"isResourceDeleted": true`) {
		t.Errorf("metadata of the delete:\n%s", meta)
	}
	if files := gitCLI(t, f.bare, "ls-tree", "-r", "--name-only", st.Branch, "dev/"); !strings.Contains(files, "dev/main.tf") {
		t.Errorf("the template's files must stay for terraform destroy: %s", files)
	}
}

func TestHandOffWithoutARepositorySaysWhatIsMissing(t *testing.T) {
	t.Parallel()
	e := &Engine{}
	target := provision.Target{Kind: provision.KindServicePipeline, Name: "pipeline", ServiceName: "shop", ARN: arnPrefixTest + "service/shop/pipeline"}
	_, err := e.Run(context.Background(), provision.Run{DeploymentID: "d", Operation: provision.OperationDeploy, Dir: t.TempDir(),
		Plan: provision.Plan{Engine: Name, Target: &target, Spec: json.RawMessage(`{"mode":"hand-off"}`)}})
	if err == nil || !strings.Contains(err.Error(), "pipelineProvisioningRepository") {
		t.Errorf("pipeline hand-off without a repository: %v", err)
	}
}

// A cancel seen during a check (the lease keeper cancels the check's
// context) takes the hand-off back, not only ends the check.
func TestCancelDuringACheckTakesTheHandOffBack(t *testing.T) {
	t.Parallel()
	f := handOffSetup(t, true)
	res, err := f.run(t, context.Background(), provision.OperationDeploy, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The forge answers only after the cancel: the read fails on it.
	ctx, cancel := context.WithCancelCause(context.Background())
	hook := func() { cancel(provision.ErrUserCancelled) }
	f.engine.HandOff.Forge = cancellingForge{Forge: f.engine.HandOff.Forge, hook: &hook}
	_, err = f.run(t, ctx, provision.OperationDeploy, res.Wait.State)
	if !errors.Is(err, provision.ErrUserCancelled) {
		t.Fatalf("check cut by a cancel: %v", err)
	}
	if prs := f.fake.PullRequests("acme/infra"); prs[0].State != "closed" {
		t.Errorf("pull request after a cancel during a check: %+v", prs[0])
	}
}

// cancellingForge runs a hook before each read, then fails the read as a
// cancelled request does.
type cancellingForge struct {
	Forge
	hook *func()
}

func (c cancellingForge) GetPullRequest(ctx context.Context, repo string, n int) (github.PullRequest, error) {
	(*c.hook)()
	return github.PullRequest{}, context.Cause(ctx)
}
