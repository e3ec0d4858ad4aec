package e2e

import (
	"strings"
	"testing"
)

// TestBoto3Workflow runs the core workflow with boto3: its waiters
// environment_template_version_registered and environment_deployed, a cancel,
// and its list_deployments paginator.
func TestBoto3Workflow(t *testing.T) {
	t.Parallel()
	requireBoto3(t)
	s := startServer(t, t.TempDir())
	s.putBundle(t, "network", "network.tar.gz")

	spec := "proton: EnvironmentSpec\nspec:\n  name_tag: boto\n  seconds: 1\n"
	slow := "proton: EnvironmentSpec\nspec:\n  name_tag: slow\n  seconds: 120\n"
	var got struct {
		Created, Deployed, Updated, Cancelled, Final, Deleted environment
		Outputs                                               []output
		Pages                                                 int
		Deployments                                           []deployment
		AfterDelete                                           struct{ Code, Message string }
	}
	s.python(t, &got, "boto3_workflow.py", "network", "network.tar.gz", "web", spec, slow)

	if got.Created.DeploymentStatus != "IN_PROGRESS" {
		t.Errorf("create_environment answered deploymentStatus %s, want IN_PROGRESS", got.Created.DeploymentStatus)
	}
	if got.Deployed.DeploymentStatus != "SUCCEEDED" {
		t.Errorf("after the environment_deployed waiter: deploymentStatus %s, want SUCCEEDED", got.Deployed.DeploymentStatus)
	}
	assertOutputs(t, "list_environment_outputs", got.Outputs, map[string]string{
		"Greeting": "hello-boto", "Seconds": "1", "ResourceArn": "arn:aws:proton:us-east-1:000000000000:environment/web",
	})
	if got.Cancelled.DeploymentStatus != "CANCELLING" {
		t.Errorf("cancel_environment_deployment answered deploymentStatus %s, want CANCELLING", got.Cancelled.DeploymentStatus)
	}
	if f := got.Final; f.DeploymentStatus != "CANCELLED" || f.DeploymentStatusMessage != "User initiated cancellation." || f.Spec != spec {
		t.Errorf("after the cancel: %+v; want CANCELLED, \"User initiated cancellation.\" and the first spec", f)
	}
	firstID, updateID := got.Created.LastAttemptedDeploymentID, got.Updated.LastAttemptedDeploymentID
	if ids := deploymentIDs(got.Deployments); strings.Join(ids, " ") != updateID+" "+firstID || got.Pages != 2 {
		t.Errorf("list_deployments paginator (page size 1) gave %v in %d pages, want [%s %s] in 2", ids, got.Pages, updateID, firstID)
	}
	if got.Deleted.DeploymentStatus != "DELETE_IN_PROGRESS" {
		t.Errorf("delete_environment answered deploymentStatus %s, want DELETE_IN_PROGRESS", got.Deleted.DeploymentStatus)
	}
	if got.AfterDelete.Code != "ResourceNotFoundException" {
		t.Errorf("get_environment after the delete failed with %+v, want ResourceNotFoundException", got.AfterDelete)
	}
}

// TestBoto3RegistrationWaiterFails pins that boto3's
// environment_template_version_registered waiter ends in a WaiterError for a
// bundle whose schema is not YAML, and that the version says where.
func TestBoto3RegistrationWaiterFails(t *testing.T) {
	t.Parallel()
	requireBoto3(t)
	s := startServer(t, t.TempDir())
	s.putBundle(t, "bad-yaml", "bad.tar.gz")

	var got struct {
		Created      templateVersion
		WaiterError  *string
		LastResponse templateVersionOut
	}
	s.python(t, &got, "boto3_bad_bundle.py", "broken", "bad.tar.gz")
	if got.WaiterError == nil {
		t.Fatalf("the waiter succeeded on a bad bundle; last version %+v", got.LastResponse.EnvironmentTemplateVersion)
	}
	if !strings.Contains(*got.WaiterError, "REGISTRATION_FAILED") {
		t.Errorf("WaiterError %q does not name REGISTRATION_FAILED", *got.WaiterError)
	}
	v := got.LastResponse.EnvironmentTemplateVersion
	if v.Status != "REGISTRATION_FAILED" || !strings.Contains(v.StatusMessage, "schema/schema.yaml") || !strings.Contains(v.StatusMessage, "line 9") {
		t.Errorf("version %s.%s is %s with statusMessage %q, want REGISTRATION_FAILED naming schema/schema.yaml line 9",
			v.MajorVersion, v.MinorVersion, v.Status, v.StatusMessage)
	}
}
