package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTerraformRunByHadron deploys a Terraform environment template written
// as Proton users wrote them (schema.yaml; manifest.yaml with
// rendering_engine hcl, template_language terraform, file "*"; main.tf
// reading var.environment.inputs; outputs.tf) with --codebuild-role-arn, so
// Hadron runs terraform itself: create, update, a cancel in the middle of
// an apply, delete, all with the AWS CLI. The same template with a
// provisioning repository is handed off instead (handoff_test.go).
func TestTerraformRunByHadron(t *testing.T) {
	t.Parallel()
	requireAWS(t)
	requireTerraform(t)
	// A grace period terraform can use to stop at a safe point and write its state.
	s := startServer(t, t.TempDir(), "--cancel-grace", "20s")
	s.registerTemplate(t, "tf-env", "terraform")
	statePath := filepath.Join(s.dataDir, "terraform-state", "environment", "tfenv.tfstate")

	spec, _ := specFile(t, "greeting: hello", "replicas: 2")
	var out environmentOut
	s.awsOK(t, &out, "create-environment", "--name", "tfenv", "--template-name", "tf-env", "--template-major-version", "1",
		"--codebuild-role-arn", codebuildArn, "--spec", spec)
	created := s.waitEnvironment(t, "tfenv", "SUCCEEDED", "FAILED")
	if created.DeploymentStatus != "SUCCEEDED" {
		t.Fatalf("create: %s (%s); log:\n%s", created.DeploymentStatus, created.DeploymentStatusMessage, s.deploymentLog(created.LastAttemptedDeploymentID))
	}
	if log := s.deploymentLog(created.LastAttemptedDeploymentID); !strings.Contains(log, "Apply complete! Resources: 1 added, 0 changed, 0 destroyed.") {
		t.Errorf("the deployment log lacks terraform's apply:\n%s", log)
	}
	var outs outputsOut
	s.awsOK(t, &outs, "list-environment-outputs", "--environment-name", "tfenv")
	want := map[string]string{"greeting": "hello from tfenv", "replicas": "2", "account": "000000000000"}
	if got := outputMap(outs.Outputs); !equalStrings(got, want) {
		t.Errorf("outputs after create = %v, want %v", got, want)
	}
	firstID := s.terraformApp(t, "tfenv")
	if _, err := os.Stat(statePath); err != nil {
		t.Errorf("no state kept in the data directory: %v", err)
	}

	// Update: the changed input replaces terraform_data.app.
	spec, _ = specFile(t, "greeting: bonjour", "replicas: 2")
	s.awsOK(t, nil, "update-environment", "--name", "tfenv", "--deployment-type", "CURRENT_VERSION", "--spec", spec)
	updated := s.waitEnvironment(t, "tfenv", "SUCCEEDED", "FAILED")
	if updated.DeploymentStatus != "SUCCEEDED" || updated.LastAttemptedDeploymentID == created.LastAttemptedDeploymentID {
		t.Fatalf("update: %s (%s); log:\n%s", updated.DeploymentStatus, updated.DeploymentStatusMessage, s.deploymentLog(updated.LastAttemptedDeploymentID))
	}
	s.awsOK(t, &outs, "list-environment-outputs", "--environment-name", "tfenv")
	if got := outputMap(outs.Outputs)["greeting"]; got != "bonjour from tfenv" {
		t.Errorf("greeting after the update = %q", got)
	}
	if id := s.terraformApp(t, "tfenv"); id == firstID {
		t.Errorf("terraform_data.app kept id %s: the changed input did not replace it", id)
	}

	// Cancel in the middle of an apply: terraform stops at the interrupt,
	// the deployment ends CANCELLED and the environment keeps its spec.
	spec, _ = specFile(t, "greeting: bonjour", "replicas: 2", "pause_seconds: 120")
	s.awsOK(t, &out, "update-environment", "--name", "tfenv", "--deployment-type", "CURRENT_VERSION", "--spec", spec)
	id := out.Environment.LastAttemptedDeploymentID
	s.waitDeploymentLog(t, id, "slow resource: sleeping")
	s.awsOK(t, &out, "cancel-environment-deployment", "--environment-name", "tfenv")
	if out.Environment.DeploymentStatus != "CANCELLING" {
		t.Errorf("cancel answered %s, want CANCELLING", out.Environment.DeploymentStatus)
	}
	cancelled := s.waitEnvironment(t, "tfenv", "CANCELLED", "FAILED")
	log := s.deploymentLog(id)
	if cancelled.DeploymentStatus != "CANCELLED" {
		t.Fatalf("after the cancel: %s (%s); log:\n%s", cancelled.DeploymentStatus, cancelled.DeploymentStatusMessage, log)
	}
	if cancelled.Spec != updated.Spec || cancelled.LastSucceededDeploymentID != updated.LastAttemptedDeploymentID {
		t.Errorf("the cancelled update changed the environment: spec %q (want %q), last succeeded %s", cancelled.Spec, updated.Spec, cancelled.LastSucceededDeploymentID)
	}
	if !strings.Contains(log, "Interrupt received") || strings.Contains(log, "SIGKILL") {
		t.Errorf("terraform did not stop at the interrupt within the grace period:\n%s", log)
	}
	if state, err := os.ReadFile(statePath); err != nil || !strings.Contains(string(state), `"app"`) {
		t.Errorf("state after the cancel (%v) lost terraform_data.app:\n%s", err, state)
	}
	s.awsOK(t, &outs, "list-environment-outputs", "--environment-name", "tfenv")
	if got := outputMap(outs.Outputs)["greeting"]; got != "bonjour from tfenv" {
		t.Errorf("greeting after the cancel = %q, want the update's", got)
	}

	// Delete: terraform destroys what the state holds (the cancelled
	// apply's half-made resource too), and the state goes.
	s.awsOK(t, nil, "delete-environment", "--name", "tfenv")
	s.waitEnvironmentGone(t, "tfenv")
	if _, err := os.Stat(statePath); !os.IsNotExist(err) {
		t.Errorf("state after the delete: %v, want it removed", err)
	}

	// Neither setting: refused as Proton refused it, naming both.
	msg := s.awsErr(t, "ValidationException", "create-environment", "--name", "nothing", "--template-name", "tf-env",
		"--template-major-version", "1", "--spec", spec)
	if !strings.Contains(msg, "provisioningRepository is required") || !strings.Contains(msg, "codebuildRoleArn") {
		t.Errorf("create without settings: %s", msg)
	}
}

// terraformApp returns the identifier of terraform_data.app among the
// environment's provisioned resources, failing t if it is not listed as a
// TERRAFORM resource.
func (s *server) terraformApp(t *testing.T, env string) string {
	t.Helper()
	var res provisionedResourcesOut
	s.awsOK(t, &res, "list-environment-provisioned-resources", "--environment-name", env)
	for _, r := range res.ProvisionedResources {
		if r.Name == "terraform_data.app" && r.ProvisioningEngine == "TERRAFORM" && r.Identifier != "" {
			return r.Identifier
		}
	}
	t.Fatalf("provisioned resources = %+v, want terraform_data.app (TERRAFORM)", res.ProvisionedResources)
	return ""
}

func equalStrings(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// TestTerraformServiceRunByHadron deploys a Terraform service template (an
// instance and a pipeline, main.tf reading var.service_instance.inputs,
// var.environment.outputs and var.service_instances) into a Terraform
// environment run by Hadron, with the account's pipelineCodebuildRoleArn
// for the pipeline: the documents of both kinds reach terraform as Proton
// rendered them; deleting the service destroys both and drops their state.
func TestTerraformServiceRunByHadron(t *testing.T) {
	t.Parallel()
	requireAWS(t)
	requireTerraform(t)
	s := startServer(t, t.TempDir())
	s.registerTemplate(t, "tf-env", "terraform")
	spec, _ := specFile(t, "greeting: hello")
	s.awsOK(t, nil, "create-environment", "--name", "tfenv", "--template-name", "tf-env", "--template-major-version", "1",
		"--codebuild-role-arn", codebuildArn, "--spec", spec)
	if env := s.waitEnvironment(t, "tfenv", "SUCCEEDED", "FAILED"); env.DeploymentStatus != "SUCCEEDED" {
		t.Fatalf("environment: %s (%s)", env.DeploymentStatus, env.DeploymentStatusMessage)
	}
	s.awsOK(t, nil, "update-account-settings", "--pipeline-codebuild-role-arn", pipelineRole)
	s.putBundle(t, "terraform-service", "tf-svc.tar.gz")
	s.awsOK(t, nil, "create-service-template", "--name", "tf-svc")
	s.awsOK(t, nil, "create-service-template-version", "--template-name", "tf-svc",
		"--source", "s3={bucket="+bundleBucket+",key=tf-svc.tar.gz}", "--compatible-environment-templates", "templateName=tf-env,majorVersion=1")
	if v := s.waitServiceRegistered(t, "tf-svc", "1", "0"); v.Status != "DRAFT" {
		t.Fatalf("service template version: %s (%s)", v.Status, v.StatusMessage)
	}
	s.awsOK(t, nil, "update-service-template-version", "--template-name", "tf-svc", "--major-version", "1", "--minor-version", "0", "--status", "PUBLISHED")

	svcSpec := serviceSpec([]string{"stages: 3"}, inst("front", "tfenv", "port: 8080"))
	s.awsOK(t, nil, "create-service", "--name", "api", "--template-name", "tf-svc", "--template-major-version", "1", "--spec", fileArg(t, svcSpec))
	if svc := s.waitService(t, "api", "ACTIVE", "CREATE_FAILED"); svc.Status != "ACTIVE" {
		i, _ := s.getInstance("api", "front")
		t.Fatalf("service: %+v; instance: %+v\n%s", svc, i, s.deploymentLog(i.LastAttemptedDeploymentID))
	}

	var outs outputsOut
	s.awsOK(t, &outs, "list-service-instance-outputs", "--service-name", "api", "--service-instance-name", "front")
	want := map[string]string{"endpoint": "api/front on port 8080 in tfenv", "environment_greeting": "hello from tfenv"}
	if got := outputMap(outs.Outputs); !equalStrings(got, want) {
		t.Errorf("instance outputs = %v, want %v", got, want)
	}
	var res provisionedResourcesOut
	s.awsOK(t, &res, "list-service-instance-provisioned-resources", "--service-name", "api", "--service-instance-name", "front")
	if len(res.ProvisionedResources) != 1 || res.ProvisionedResources[0].Name != "terraform_data.instance" || res.ProvisionedResources[0].ProvisioningEngine != "TERRAFORM" {
		t.Errorf("instance provisioned resources = %+v", res.ProvisionedResources)
	}
	s.waitPipeline(t, "api", "SUCCEEDED")
	s.awsOK(t, &outs, "list-service-pipeline-outputs", "--service-name", "api")
	want = map[string]string{"stages": "3", "instances": "front@tfenv"}
	if got := outputMap(outs.Outputs); !equalStrings(got, want) {
		t.Errorf("pipeline outputs = %v, want %v", got, want)
	}

	stateDir := filepath.Join(s.dataDir, "terraform-state", "service", "api")
	for _, f := range []string{"service-instance/front.tfstate", "pipeline.tfstate"} {
		if _, err := os.Stat(filepath.Join(stateDir, f)); err != nil {
			t.Errorf("state of %s: %v", f, err)
		}
	}
	s.awsOK(t, nil, "delete-service", "--name", "api")
	s.waitServiceGone(t, "api")
	for _, f := range []string{"service-instance/front.tfstate", "pipeline.tfstate"} {
		if _, err := os.Stat(filepath.Join(stateDir, f)); !os.IsNotExist(err) {
			t.Errorf("state of %s after the delete: %v, want it removed", f, err)
		}
	}
}
