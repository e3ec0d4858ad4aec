package e2e

import (
	"strings"
	"testing"
)

// TestCancelGivesCleanupItsGracePeriod pins that a cancel lets every process
// of the provisioning command use the grace period (--cancel-grace 2s): the
// manifest runs `sh ./provision.sh`, as the README's example does, and the
// script's SIGTERM trap takes half a second to clean up and then says so in
// the deployment's log. It speaks the API directly, so it needs no AWS CLI
// or boto3.
func TestCancelGivesCleanupItsGracePeriod(t *testing.T) {
	t.Parallel()
	s := startServer(t, t.TempDir())
	s.publishNetwork(t)
	s.mustCall(t, "CreateEnvironment", map[string]string{
		"name": "tidy", "templateName": "network", "templateMajorVersion": "1", "codebuildRoleArn": codebuildArn,
		"spec": "proton: EnvironmentSpec\nspec:\n  name_tag: tidy\n",
	}, nil)
	s.waitEnvironment(t, "tidy", "SUCCEEDED")

	var out environmentOut
	s.mustCall(t, "UpdateEnvironment", map[string]string{
		"name": "tidy", "deploymentType": "CURRENT_VERSION",
		"spec": "proton: EnvironmentSpec\nspec:\n  name_tag: tidy\n  seconds: 120\n  cleanup: true\n",
	}, &out)
	id := out.Environment.LastAttemptedDeploymentID
	s.waitDeploymentLog(t, id, "provision: started")
	s.mustCall(t, "CancelEnvironmentDeployment", map[string]string{"environmentName": "tidy"}, &out)
	if out.Environment.DeploymentStatus != "CANCELLING" {
		t.Errorf("CancelEnvironmentDeployment answered deploymentStatus %s, want CANCELLING", out.Environment.DeploymentStatus)
	}
	env := s.waitEnvironment(t, "tidy", "CANCELLED", "FAILED")
	if env.DeploymentStatus != "CANCELLED" {
		t.Errorf("after the cancel: %s (%q), want CANCELLED", env.DeploymentStatus, env.DeploymentStatusMessage)
	}
	if log := s.deploymentLog(id); !strings.Contains(log, "provision: SIGTERM, stopping\nprovision: cleaned up\n") {
		t.Errorf("the script's SIGTERM trap did not finish its cleanup within the grace period; deployment log:\n%s", log)
	}
}
