package e2e

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestCLIWalkthrough runs the README's walkthrough with the AWS CLI: register
// and publish a template, create an environment and wait for it, update it
// and cancel the update, read the history, delete it.
func TestCLIWalkthrough(t *testing.T) {
	t.Parallel()
	requireAWS(t)
	s := startServer(t, t.TempDir())
	s.putBundle(t, "network", "network.tar.gz")

	// Register and publish a template version.
	s.awsOK(t, nil, "create-environment-template", "--name", "network", "--display-name", "Network")
	var created templateVersionOut
	s.awsOK(t, &created, "create-environment-template-version", "--template-name", "network",
		"--source", "s3={bucket=templates,key=network.tar.gz}")
	if v := created.EnvironmentTemplateVersion; v.MajorVersion != "1" || v.MinorVersion != "0" {
		t.Fatalf("create-environment-template-version made %s.%s, want 1.0", v.MajorVersion, v.MinorVersion)
	}
	s.awsOK(t, nil, "wait", "environment-template-version-registered", "--template-name", "network",
		"--major-version", "1", "--minor-version", "0")
	s.publish(t, "network", "1", "0")
	var tmpl templateOut
	s.awsOK(t, &tmpl, "get-environment-template", "--name", "network")
	if got := tmpl.EnvironmentTemplate.RecommendedVersion; got != "1.0" {
		t.Errorf("recommendedVersion = %q after publishing 1.0, want 1.0", got)
	}

	// Create an environment and wait for it.
	spec, specText := specFile(t, "name_tag: dev", "seconds: 1")
	var out environmentOut
	s.awsOK(t, &out, "create-environment", "--name", "dev", "--template-name", "network", "--template-major-version", "1",
		"--codebuild-role-arn", codebuildArn, "--spec", spec)
	if out.Environment.DeploymentStatus != "IN_PROGRESS" {
		t.Errorf("create-environment answered deploymentStatus %s, want IN_PROGRESS", out.Environment.DeploymentStatus)
	}
	firstID := out.Environment.LastAttemptedDeploymentID
	s.awsOK(t, nil, "wait", "environment-deployed", "--name", "dev")
	var outs outputsOut
	s.awsOK(t, &outs, "list-environment-outputs", "--environment-name", "dev")
	wantOutputs := map[string]string{
		"Greeting":    "hello-dev",
		"Seconds":     "1",
		"ResourceArn": "arn:aws:proton:us-east-1:000000000000:environment/dev",
	}
	assertOutputs(t, "list-environment-outputs", outs.Outputs, wantOutputs)

	// Update it with a slow spec and cancel the update once the provisioning
	// command runs.
	slow, slowText := specFile(t, "name_tag: staging", "seconds: 120")
	s.awsOK(t, &out, "update-environment", "--name", "dev", "--deployment-type", "CURRENT_VERSION", "--spec", slow)
	updateID := out.Environment.LastAttemptedDeploymentID
	if out.Environment.DeploymentStatus != "IN_PROGRESS" || updateID == firstID {
		t.Fatalf("update-environment answered %+v, want a new deployment IN_PROGRESS", out.Environment)
	}
	s.waitDeploymentLog(t, updateID, "provision: started")
	s.awsOK(t, &out, "cancel-environment-deployment", "--environment-name", "dev")
	if out.Environment.DeploymentStatus != "CANCELLING" {
		t.Errorf("cancel-environment-deployment answered deploymentStatus %s, want CANCELLING", out.Environment.DeploymentStatus)
	}
	s.waitEnvironment(t, "dev", "CANCELLED")
	s.awsOK(t, &out, "get-environment", "--name", "dev")
	env := out.Environment
	if env.DeploymentStatus != "CANCELLED" || env.DeploymentStatusMessage != "User initiated cancellation." {
		t.Errorf("after the cancel: deploymentStatus %s, message %q; want CANCELLED, \"User initiated cancellation.\"",
			env.DeploymentStatus, env.DeploymentStatusMessage)
	}
	// The environment keeps the spec and version of its last success.
	if env.Spec != specText || env.TemplateMajorVersion != "1" || env.TemplateMinorVersion != "0" {
		t.Errorf("after the cancel: spec %q, version %s.%s; want the first spec %q, 1.0", env.Spec, env.TemplateMajorVersion, env.TemplateMinorVersion, specText)
	}
	if env.LastSucceededDeploymentID != firstID || env.LastAttemptedDeploymentID != updateID {
		t.Errorf("after the cancel: last succeeded %s, last attempted %s; want %s, %s", env.LastSucceededDeploymentID, env.LastAttemptedDeploymentID, firstID, updateID)
	}
	s.awsOK(t, &outs, "list-environment-outputs", "--environment-name", "dev")
	assertOutputs(t, "list-environment-outputs after the cancel", outs.Outputs, wantOutputs)

	// The history, newest first, one item per page: the CLI follows nextToken.
	var deps deploymentsOut
	s.awsOK(t, &deps, "list-deployments", "--environment-name", "dev", "--page-size", "1")
	if got := deploymentIDs(deps.Deployments); strings.Join(got, " ") != updateID+" "+firstID {
		t.Errorf("list-deployments --page-size 1 listed %v, want [%s %s] (newest first)", got, updateID, firstID)
	}
	if len(deps.Deployments) == 2 {
		if st := deps.Deployments[0].DeploymentStatus + " " + deps.Deployments[1].DeploymentStatus; st != "CANCELLED SUCCEEDED" {
			t.Errorf("list-deployments statuses %s, want CANCELLED SUCCEEDED", st)
		}
	}
	// --max-items 1 stops after one and hands out a token to go on from.
	s.awsOK(t, &deps, "list-deployments", "--environment-name", "dev", "--page-size", "1", "--max-items", "1")
	if got := deploymentIDs(deps.Deployments); len(got) != 1 || got[0] != updateID || deps.NextToken == "" {
		t.Fatalf("list-deployments --max-items 1 listed %v with NextToken %q, want [%s] and a token", got, deps.NextToken, updateID)
	}
	s.awsOK(t, &deps, "list-deployments", "--environment-name", "dev", "--page-size", "1", "--max-items", "1", "--starting-token", deps.NextToken)
	if got := deploymentIDs(deps.Deployments); len(got) != 1 || got[0] != firstID {
		t.Errorf("list-deployments --starting-token listed %v, want [%s]", got, firstID)
	}

	var dep deploymentOut
	s.awsOK(t, &dep, "get-deployment", "--id", updateID)
	d := dep.Deployment
	if d.DeploymentStatus != "CANCELLED" || d.EnvironmentName != "dev" {
		t.Errorf("get-deployment: status %s, environment %s; want CANCELLED, dev", d.DeploymentStatus, d.EnvironmentName)
	}
	if d.InitialState == nil || d.InitialState.Environment == nil || d.InitialState.Environment.Spec != specText {
		t.Errorf("get-deployment initialState = %s, want the environment with spec %q", jsonText(d.InitialState), specText)
	}
	if d.TargetState == nil || d.TargetState.Environment == nil || d.TargetState.Environment.Spec != slowText ||
		d.TargetState.Environment.TemplateName != "network" || d.TargetState.Environment.TemplateMajorVersion != "1" {
		t.Errorf("get-deployment targetState = %s, want network 1.x with spec %q", jsonText(d.TargetState), slowText)
	}
	s.awsOK(t, &outs, "list-environment-outputs", "--environment-name", "dev", "--deployment-id", firstID)
	assertOutputs(t, "list-environment-outputs --deployment-id <first>", outs.Outputs, wantOutputs)

	// A cancel with nothing in progress is a conflict that names the status.
	msg := s.awsErr(t, "ConflictException", "cancel-environment-deployment", "--environment-name", "dev")
	if !strings.Contains(msg, "CANCELLED") {
		t.Errorf("the second cancel's error does not name the status CANCELLED: %s", msg)
	}

	// Delete.
	s.awsOK(t, &out, "delete-environment", "--name", "dev")
	if out.Environment.DeploymentStatus != "DELETE_IN_PROGRESS" {
		t.Errorf("delete-environment answered deploymentStatus %s, want DELETE_IN_PROGRESS", out.Environment.DeploymentStatus)
	}
	s.waitEnvironmentGone(t, "dev")
	msg = s.awsErr(t, "ResourceNotFoundException", "get-environment", "--name", "dev")
	if !strings.Contains(msg, "GetEnvironment") {
		t.Errorf("the CLI's error does not name the operation: %s", msg)
	}
	msg = s.awsErr(t, "ResourceNotFoundException", "cancel-environment-deployment", "--environment-name", "dev")
	if !strings.Contains(msg, "dev") {
		t.Errorf("the cancel's error does not name the environment: %s", msg)
	}
}

// assertOutputs checks a list of outputs against want.
func assertOutputs(t *testing.T, what string, got []output, want map[string]string) {
	t.Helper()
	m := outputMap(got)
	if len(m) != len(want) {
		t.Errorf("%s: %v, want %v", what, m, want)
		return
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s: %v, want %v", what, m, want)
			return
		}
	}
}

func deploymentIDs(ds []deployment) []string {
	ids := make([]string, len(ds))
	for i, d := range ds {
		ids[i] = d.ID
	}
	return ids
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
