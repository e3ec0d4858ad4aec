package e2e

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"

	"github.com/hadronhq/hadron/internal/hadrontest"
)

// handedOffBranch waits until a branch under hadron/<kind>/<name>/ is in
// the repository and returns it.
func (g gitRepo) handedOffBranch(t *testing.T, kind, name string) string {
	t.Helper()
	var branch string
	hadrontest.Eventually(t, deployTimeout, "branch of "+kind+" "+name, func() (bool, string) {
		out, err := exec.Command("git", "-C", g.bare, "for-each-ref", "--format=%(refname:short)", "refs/heads/hadron/"+kind+"/"+name+"/").Output()
		branch = strings.TrimSpace(string(out))
		return err == nil && branch != "" && !strings.Contains(branch, "\n"), branch
	})
	return branch
}

// merge fast-forwards main to branch, as a merge of the hand-off would.
func (g gitRepo) merge(t *testing.T, branch string) {
	t.Helper()
	g.git(t, g.root, "-C", g.bare, "update-ref", "refs/heads/main", "refs/heads/"+branch)
	g.git(t, g.root, "-C", g.bare, "update-ref", "-d", "refs/heads/"+branch)
}

// TestTerraformServiceHandOffThroughGit hands off, without a forge (the
// pushed branch is the hand-off), a Terraform environment, a service
// instance, a pipeline (the account's pipelineProvisioningRepository) and
// a component: each lands in the folder Proton used, and the simulated automation
// completes each in turn, the instance's document carrying the
// environment's reported outputs.
func TestTerraformServiceHandOffThroughGit(t *testing.T) {
	hadrontest.Long(t)
	t.Parallel()
	requireAWS(t)
	requireTerraform(t)
	repo := newGitRepo(t)
	s := startServer(t, t.TempDir(), "--repository-url", "GITHUB=file://"+repo.root+"/{name}.git")
	auto := automation{repo: repo, state: t.TempDir()}
	s.registerTemplate(t, "tf-env", "terraform")
	s.awsOK(t, nil, "create-repository", "--provider", "GITHUB", "--name", "acme/infra", "--connection-arn", connectionArn)
	spec, _ := specFile(t, "greeting: hello")
	s.awsOK(t, nil, "create-environment", "--name", "shared", "--template-name", "tf-env", "--template-major-version", "1",
		"--provisioning-repository", "provider=GITHUB,name=acme/infra,branch=main", "--component-role-arn", codebuildArn, "--spec", spec)
	repo.merge(t, repo.handedOffBranch(t, "environment", "shared"))
	auto.apply(t, s, "shared")
	if env := s.waitEnvironment(t, "shared", "SUCCEEDED", "FAILED"); env.DeploymentStatus != "SUCCEEDED" {
		t.Fatalf("environment: %s (%s)", env.DeploymentStatus, env.DeploymentStatusMessage)
	}

	s.awsOK(t, nil, "update-account-settings", "--pipeline-provisioning-repository", "provider=GITHUB,name=acme/infra,branch=main")
	s.putBundle(t, "terraform-service", "tf-svc.tar.gz")
	s.awsOK(t, nil, "create-service-template", "--name", "tf-svc")
	s.awsOK(t, nil, "create-service-template-version", "--template-name", "tf-svc",
		"--source", "s3={bucket="+bundleBucket+",key=tf-svc.tar.gz}", "--compatible-environment-templates", "templateName=tf-env,majorVersion=1")
	if v := s.waitServiceRegistered(t, "tf-svc", "1", "0"); v.Status != "DRAFT" {
		t.Fatalf("service template version: %s (%s)", v.Status, v.StatusMessage)
	}
	s.awsOK(t, nil, "update-service-template-version", "--template-name", "tf-svc", "--major-version", "1", "--minor-version", "0", "--status", "PUBLISHED")
	svcSpec := serviceSpec([]string{"stages: 3"}, inst("front", "shared", "port: 8080"))
	s.awsOK(t, nil, "create-service", "--name", "api", "--template-name", "tf-svc", "--template-major-version", "1", "--spec", fileArg(t, svcSpec))

	// The instance, in its environment's folder.
	branch := repo.handedOffBranch(t, "service_instance", "front")
	files := repo.git(t, repo.root, "-C", repo.bare, "ls-tree", "-r", "--name-only", branch, "shared/front/")
	want := "shared/front/.proton/deployment-metadata.json\nshared/front/main.tf\nshared/front/proton.auto.tfvars.json\nshared/front/proton.service_instance.variables.tf"
	if files != want {
		t.Errorf("instance files:\n%s\nwant:\n%s", files, want)
	}
	repo.merge(t, branch)
	auto.apply(t, s, "shared/front")

	// Then the pipeline, in <service>/pipeline.
	branch = repo.handedOffBranch(t, "pipeline", "pipeline")
	files = repo.git(t, repo.root, "-C", repo.bare, "ls-tree", "-r", "--name-only", branch, "api/")
	want = "api/pipeline/.proton/deployment-metadata.json\napi/pipeline/main.tf\napi/pipeline/proton.auto.tfvars.json\napi/pipeline/proton.pipeline.variables.tf"
	if files != want {
		t.Errorf("pipeline files:\n%s\nwant:\n%s", files, want)
	}
	repo.merge(t, branch)
	auto.apply(t, s, "api/pipeline")
	if svc := s.waitService(t, "api", "ACTIVE", "CREATE_FAILED"); svc.Status != "ACTIVE" {
		t.Fatalf("service: %+v", svc)
	}
	var outs outputsOut
	s.awsOK(t, &outs, "list-service-instance-outputs", "--service-name", "api", "--service-instance-name", "front")
	if got := outputMap(outs.Outputs); got["endpoint"] != "api/front on port 8080 in shared" || got["environment_greeting"] != "hello from shared" {
		t.Errorf("instance outputs = %v", got)
	}
	s.awsOK(t, &outs, "list-service-pipeline-outputs", "--service-name", "api")
	if got := outputMap(outs.Outputs); got["stages"] != "3" || got["instances"] != "front@shared" {
		t.Errorf("pipeline outputs = %v", got)
	}

	// A directly defined component, in its environment's components folder.
	manifest := "infrastructure:\n  templates:\n    - file: main.tf\n      rendering_engine: hcl\n      template_language: terraform\n"
	tf := "output \"where\" {\n  value = \"${var.component.name} in ${var.environment.name}\"\n}\n"
	s.awsOK(t, nil, "create-component", "--name", "cache", "--environment-name", "shared", "--manifest", manifest,
		"--template-file", "file://"+writeFile(t, "main.tf", tf))
	branch = repo.handedOffBranch(t, "component", "cache")
	files = repo.git(t, repo.root, "-C", repo.bare, "ls-tree", "-r", "--name-only", branch, "shared/components/")
	want = "shared/components/cache/.proton/deployment-metadata.json\nshared/components/cache/main.tf\nshared/components/cache/proton.auto.tfvars.json\nshared/components/cache/proton.component.variables.tf"
	if files != want {
		t.Errorf("component files:\n%s\nwant:\n%s", files, want)
	}
	repo.merge(t, branch)
	auto.apply(t, s, "shared/components/cache")
	hadrontest.Eventually(t, deployTimeout, "component cache", func() (bool, string) {
		res := s.aws(t, "list-component-outputs", "--component-name", "cache")
		var o outputsOut
		json.Unmarshal([]byte(res.Stdout), &o)
		got := outputMap(o.Outputs)["where"]
		return got == "cache in shared", got
	})
}
