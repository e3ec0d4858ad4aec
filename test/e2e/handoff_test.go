package e2e

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hadronhq/hadron/internal/forge/github/githubfake"
	"github.com/hadronhq/hadron/internal/hadrontest"
)

// gitRepo is a bare repository standing for a provisioning repository,
// driven with the git CLI as the user's side would (Hadron needs no git).
type gitRepo struct {
	root, bare string
}

func (g gitRepo) git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=automation", "GIT_AUTHOR_EMAIL=ci@example.com",
		"GIT_COMMITTER_NAME=automation", "GIT_COMMITTER_EMAIL=ci@example.com")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// newGitRepo makes root/acme/infra.git with a main branch.
func newGitRepo(t *testing.T) gitRepo {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		missing(t, "git is not on PATH (the test's repositories are made with it)")
	}
	g := gitRepo{root: t.TempDir()}
	g.bare = filepath.Join(g.root, "acme", "infra.git")
	g.git(t, g.root, "init", "-q", "--bare", "-b", "main", g.bare)
	work := t.TempDir()
	g.git(t, work, "clone", "-q", g.bare, ".")
	g.git(t, work, "checkout", "-q", "-b", "main")
	if err := os.WriteFile(filepath.Join(work, "README.md"), []byte("Infrastructure, applied by our automation.\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	g.git(t, work, "add", "-A")
	g.git(t, work, "commit", "-q", "-m", "start")
	g.git(t, work, "push", "-q", "origin", "main")
	return g
}

// automation is the user's side of the hand-off, as the sample GitHub
// Actions workflow of Proton did it: on a merge to main it reads the
// folder's .proton/deployment-metadata.json, runs terraform (apply, or
// destroy when isResourceDeleted) and reports with notify.
type automation struct {
	repo gitRepo
	// state keeps terraform's local state between runs, per folder.
	state string
}

type deploymentMetadata struct {
	DeploymentID      string `json:"deploymentId"`
	IsResourceDeleted bool   `json:"isResourceDeleted"`
	ResourceMetadata  struct {
		Arn                  string `json:"arn"`
		TemplateArn          string `json:"templateArn"`
		TemplateMajorVersion string `json:"templateMajorVersion"`
	} `json:"resourceMetadata"`
	ComponentMetadata struct {
		Arn string `json:"arn"`
	} `json:"componentMetadata"`
}

// arn is the resource the metadata is about (a component's is componentMetadata).
func (m deploymentMetadata) arn() string {
	if m.ResourceMetadata.Arn != "" {
		return m.ResourceMetadata.Arn
	}
	return m.ComponentMetadata.Arn
}

// apply checks out main, runs terraform in folder and reports the end.
func (a automation) apply(t *testing.T, s *server, folder string) deploymentMetadata {
	t.Helper()
	work := t.TempDir()
	a.repo.git(t, work, "clone", "-q", "-b", "main", a.repo.bare, ".")
	dir := filepath.Join(work, folder)
	raw, err := os.ReadFile(filepath.Join(dir, ".proton", "deployment-metadata.json"))
	if err != nil {
		t.Fatal(err)
	}
	var meta deploymentMetadata
	if err := json.Unmarshal(raw, &meta); err != nil {
		t.Fatalf("deployment-metadata.json: %v\n%s", err, raw)
	}
	// The state is kept between runs, as a backend would keep it.
	state := filepath.Join(a.state, strings.ReplaceAll(folder, "/", "_")+".tfstate")
	if b, err := os.ReadFile(state); err == nil {
		if err := os.WriteFile(filepath.Join(dir, "terraform.tfstate"), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	defer func() {
		if b, err := os.ReadFile(filepath.Join(dir, "terraform.tfstate")); err == nil {
			os.WriteFile(state, b, 0o600)
		}
	}()
	tf := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("terraform", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "TF_IN_AUTOMATION=1", "CHECKPOINT_DISABLE=1")
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("terraform %v: %v\n%s%s", args, err, out, stderr.String())
		}
		return string(out)
	}
	tf("init", "-input=false", "-no-color")
	if meta.IsResourceDeleted {
		tf("destroy", "-auto-approve", "-input=false", "-no-color")
		s.awsOK(t, nil, "notify-resource-deployment-status-change", "--resource-arn", meta.arn(),
			"--deployment-id", meta.DeploymentID, "--status", "SUCCEEDED")
		return meta
	}
	tf("apply", "-auto-approve", "-input=false", "-no-color")
	var outs map[string]struct {
		Value any `json:"value"`
	}
	if err := json.Unmarshal([]byte(tf("output", "-json")), &outs); err != nil {
		t.Fatal(err)
	}
	var list []map[string]string
	for k, v := range outs {
		s, _ := json.Marshal(v.Value)
		val := strings.Trim(string(s), `"`)
		list = append(list, map[string]string{"key": k, "valueString": val})
	}
	outputs, _ := json.Marshal(list)
	s.awsOK(t, nil, "notify-resource-deployment-status-change", "--resource-arn", meta.arn(),
		"--deployment-id", meta.DeploymentID, "--status", "SUCCEEDED", "--outputs", string(outputs))
	return meta
}

// TestTerraformHandOffThroughGit is Proton's self-managed provisioning end
// to end with the AWS CLI: an environment whose provisioningRepository is
// a local bare repository (--repository-url GITHUB=file://...) and a fake
// GitHub API for its pull requests. The files land in the repository as
// Proton laid them out; the deployment waits IN_PROGRESS, across a
// restart of the server, until the simulated automation merges, runs the
// real terraform and notifies; a cancel closes the open pull request; a
// pull request closed by a person cancels; a delete is handed off with
// isResourceDeleted and ends when the automation has destroyed.
func TestTerraformHandOffThroughGit(t *testing.T) {
	hadrontest.Long(t)
	t.Parallel()
	requireAWS(t)
	requireTerraform(t)
	repo := newGitRepo(t)
	fake := &githubfake.Server{Token: "gh-token",
		BranchExists: func(_, branch string) bool {
			return exec.Command("git", "-C", repo.bare, "rev-parse", "--verify", "-q", "refs/heads/"+branch).Run() == nil
		},
		// A merge on GitHub: main moves to the pull request's head.
		OnMerge: func(_ string, pr githubfake.PullRequest) {
			if out, err := exec.Command("git", "-C", repo.bare, "update-ref", "refs/heads/main", "refs/heads/"+pr.Head).CombinedOutput(); err != nil {
				t.Errorf("merge: %v\n%s", err, out)
			}
		},
	}
	fake.AddRepository("acme/infra")
	gh := httptest.NewServer(fake)
	t.Cleanup(gh.Close)
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("gh-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	dataDir := t.TempDir()
	flags := []string{"--repository-url", "GITHUB=file://" + repo.root + "/{name}.git",
		"--github-api-url", gh.URL, "--github-token-file", tokenFile, "--pull-request-poll-interval", "200ms"}
	s := startServer(t, dataDir, flags...)
	s.registerTemplate(t, "tf-env", "terraform")
	// Linked first, as Proton required; Hadron reaches it at the --repository-url remote.
	s.awsOK(t, nil, "create-repository", "--provider", "GITHUB", "--name", "acme/infra", "--connection-arn", connectionArn)
	auto := automation{repo: repo, state: t.TempDir()}
	openPR := func(n int) githubfake.PullRequest {
		t.Helper()
		var pr githubfake.PullRequest
		hadrontest.Eventually(t, deployTimeout, fmt.Sprintf("pull request #%d", n), func() (bool, string) {
			prs := fake.PullRequests("acme/infra")
			if len(prs) < n {
				return false, fmt.Sprintf("%d pull requests", len(prs))
			}
			pr = prs[n-1]
			return pr.State == "open", pr.State
		})
		return pr
	}

	// Create: the files land on a branch, in the environment's folder.
	spec, _ := specFile(t, "greeting: hello", "replicas: 2")
	var out environmentOut
	s.awsOK(t, &out, "create-environment", "--name", "handoff", "--template-name", "tf-env", "--template-major-version", "1",
		"--provisioning-repository", "provider=GITHUB,name=acme/infra,branch=main", "--spec", spec)
	created := out.Environment.LastAttemptedDeploymentID
	pr := openPR(1)
	if pr.Base != "main" || !strings.Contains(pr.Title, created) {
		t.Errorf("pull request #1: %+v", pr)
	}
	files := repo.git(t, repo.root, "-C", repo.bare, "ls-tree", "-r", "--name-only", pr.Head)
	want := "README.md\nhandoff/.proton/deployment-metadata.json\nhandoff/main.tf\nhandoff/outputs.tf\nhandoff/proton.auto.tfvars.json\nhandoff/proton.environment.variables.tf"
	if files != want {
		t.Errorf("files handed off:\n%s\nwant, as Proton laid them out:\n%s", files, want)
	}
	if n := repo.git(t, repo.root, "-C", repo.bare, "rev-list", "--count", "main.."+pr.Head); n != "1" {
		t.Errorf("%s commits handed off, want one", n)
	}

	// It waits, holding nothing, across a restart of the server.
	if env, _ := s.getEnvironment("handoff"); env.DeploymentStatus != "IN_PROGRESS" {
		t.Fatalf("handed-off environment: %s (%s)", env.DeploymentStatus, env.DeploymentStatusMessage)
	}
	if code := s.terminate(t); code != 0 {
		t.Fatalf("server exited %d", code)
	}
	s = startServer(t, dataDir, flags...)
	if env, _ := s.getEnvironment("handoff"); env.DeploymentStatus != "IN_PROGRESS" {
		t.Fatalf("after a restart: %s (%s)", env.DeploymentStatus, env.DeploymentStatusMessage)
	}

	// The automation: merge, terraform apply, notify.
	if err := fake.Merge("acme/infra", pr.Number); err != nil {
		t.Fatal(err)
	}
	meta := auto.apply(t, s, "handoff")
	if meta.DeploymentID != created || meta.IsResourceDeleted || meta.ResourceMetadata.TemplateArn == "" {
		t.Errorf("metadata: %+v, want deployment %s", meta, created)
	}
	env := s.waitEnvironment(t, "handoff", "SUCCEEDED", "FAILED", "CANCELLED")
	if env.DeploymentStatus != "SUCCEEDED" || env.LastSucceededDeploymentID != created {
		t.Fatalf("after the automation's report: %s (%s)", env.DeploymentStatus, env.DeploymentStatusMessage)
	}
	var outs outputsOut
	s.awsOK(t, &outs, "list-environment-outputs", "--environment-name", "handoff")
	wantOut := map[string]string{"greeting": "hello from handoff", "replicas": "2", "account": "000000000000"}
	if got := outputMap(outs.Outputs); !equalStrings(got, wantOut) {
		t.Errorf("outputs = %v, want %v", got, wantOut)
	}

	// Cancel of an open hand-off: the pull request is closed, the branch deleted.
	spec, _ = specFile(t, "greeting: bonjour", "replicas: 2")
	s.awsOK(t, &out, "update-environment", "--name", "handoff", "--deployment-type", "CURRENT_VERSION", "--spec", spec)
	pr = openPR(2)
	s.awsOK(t, &out, "cancel-environment-deployment", "--environment-name", "handoff")
	if out.Environment.DeploymentStatus != "CANCELLING" {
		t.Errorf("cancel answered %s, want CANCELLING", out.Environment.DeploymentStatus)
	}
	env = s.waitEnvironment(t, "handoff", "CANCELLED", "FAILED", "SUCCEEDED")
	if env.DeploymentStatus != "CANCELLED" || env.LastSucceededDeploymentID != created {
		t.Errorf("after the cancel: %s (%s), last succeeded %s", env.DeploymentStatus, env.DeploymentStatusMessage, env.LastSucceededDeploymentID)
	}
	if got := fake.PullRequests("acme/infra")[1]; got.State != "closed" || got.Merged {
		t.Errorf("pull request #2 after the cancel: %+v", got)
	}
	if b := repo.git(t, repo.root, "-C", repo.bare, "branch", "--list", pr.Head); b != "" {
		t.Errorf("branch %s left after the cancel", pr.Head)
	}

	// A pull request closed unmerged by a person cancels the deployment.
	s.awsOK(t, &out, "update-environment", "--name", "handoff", "--deployment-type", "CURRENT_VERSION", "--spec", spec)
	pr = openPR(3)
	if err := fake.Close("acme/infra", pr.Number); err != nil {
		t.Fatal(err)
	}
	env = s.waitEnvironment(t, "handoff", "CANCELLED", "FAILED", "SUCCEEDED")
	if env.DeploymentStatus != "CANCELLED" || !strings.Contains(env.DeploymentStatusMessage, "closed without being merged") {
		t.Errorf("after the pull request was closed: %s (%s)", env.DeploymentStatus, env.DeploymentStatusMessage)
	}

	// A cancel of a hand-off already merged fails: the automation may apply it.
	s.awsOK(t, &out, "update-environment", "--name", "handoff", "--deployment-type", "CURRENT_VERSION", "--spec", spec)
	pr = openPR(4)
	if err := fake.Merge("acme/infra", pr.Number); err != nil {
		t.Fatal(err)
	}
	s.awsOK(t, &out, "cancel-environment-deployment", "--environment-name", "handoff")
	env = s.waitEnvironment(t, "handoff", "CANCELLED", "FAILED", "SUCCEEDED")
	if env.DeploymentStatus != "FAILED" || !strings.Contains(env.DeploymentStatusMessage, "already merged") {
		t.Errorf("cancel of a merged hand-off: %s (%s), want FAILED", env.DeploymentStatus, env.DeploymentStatusMessage)
	}

	// Delete: handed off with isResourceDeleted; the automation destroys and reports.
	s.awsOK(t, nil, "delete-environment", "--name", "handoff")
	pr = openPR(5)
	meta2 := deploymentMetadata{}
	if err := json.Unmarshal([]byte(repo.git(t, repo.root, "-C", repo.bare, "show", pr.Head+":handoff/.proton/deployment-metadata.json")), &meta2); err != nil || !meta2.IsResourceDeleted {
		t.Fatalf("metadata of the delete: %+v, %v", meta2, err)
	}
	if env, _ := s.getEnvironment("handoff"); env.DeploymentStatus != "DELETE_IN_PROGRESS" {
		t.Errorf("while the delete is handed off: %s", env.DeploymentStatus)
	}
	if err := fake.Merge("acme/infra", pr.Number); err != nil {
		t.Fatal(err)
	}
	auto.apply(t, s, "handoff")
	s.waitEnvironmentGone(t, "handoff")
}
