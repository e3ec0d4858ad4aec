package e2e

import (
	"strings"
	"testing"

	"github.com/hadronhq/hadron/internal/hadrontest"
)

// TestCLITemplateVersionUpdates pins Proton's version rules with the AWS CLI:
// MINOR_VERSION moves to the recommended minor of the major in use,
// MAJOR_VERSION to a higher major; a version in use, or a template with
// versions left, cannot be deleted.
func TestCLITemplateVersionUpdates(t *testing.T) {
	hadrontest.Long(t)
	t.Parallel()
	requireAWS(t)
	s := startServer(t, t.TempDir())
	s.registerTemplate(t, "network", "network") // 1.0, published
	spec, _ := specFile(t, "name_tag: versions")
	var out environmentOut
	s.awsOK(t, &out, "create-environment", "--name", "versions", "--template-name", "network", "--template-major-version", "1",
		"--codebuild-role-arn", codebuildArn, "--spec", spec)
	s.waitEnvironment(t, "versions", "SUCCEEDED")

	// 1.1 (a new minor of major 1) and 2.0 (no major given: a new major).
	if v := s.createVersion(t, "network", "network.tar.gz", "--major-version", "1"); v.MajorVersion != "1" || v.MinorVersion != "1" || v.Status != "DRAFT" {
		t.Fatalf("create-environment-template-version --major-version 1 made %+v, want DRAFT 1.1", v)
	}
	if v := s.createVersion(t, "network", "network.tar.gz"); v.MajorVersion != "2" || v.MinorVersion != "0" || v.Status != "DRAFT" {
		t.Fatalf("create-environment-template-version without --major-version made %+v, want DRAFT 2.0", v)
	}
	s.publish(t, "network", "1", "1")
	s.publish(t, "network", "2", "0")
	var tmpl templateOut
	s.awsOK(t, &tmpl, "get-environment-template", "--name", "network")
	if got := tmpl.EnvironmentTemplate.RecommendedVersion; got != "2.0" {
		t.Errorf("recommendedVersion = %q with 1.0, 1.1 and 2.0 published, want 2.0", got)
	}

	// MINOR_VERSION: the recommended minor of major 1.
	s.awsOK(t, &out, "update-environment", "--name", "versions", "--deployment-type", "MINOR_VERSION")
	if got := out.Environment.TemplateMajorVersion + "." + out.Environment.TemplateMinorVersion; got != "1.0" {
		t.Errorf("update-environment answered version %s while deploying: want the deployed 1.0 until the update succeeds", got)
	}
	env := s.waitEnvironment(t, "versions", "SUCCEEDED", "FAILED")
	if got := env.TemplateMajorVersion + "." + env.TemplateMinorVersion; env.DeploymentStatus != "SUCCEEDED" || got != "1.1" {
		t.Fatalf("after MINOR_VERSION: %s on %s (%s), want SUCCEEDED on 1.1", env.DeploymentStatus, got, env.DeploymentStatusMessage)
	}

	// MAJOR_VERSION must go to a higher major.
	msg := s.awsErr(t, "ValidationException", "update-environment", "--name", "versions", "--deployment-type", "MAJOR_VERSION",
		"--template-major-version", "1")
	if !strings.Contains(msg, "MAJOR_VERSION") {
		t.Errorf("the error does not say what is wrong with MAJOR_VERSION to major 1: %s", msg)
	}
	s.awsOK(t, &out, "update-environment", "--name", "versions", "--deployment-type", "MAJOR_VERSION")
	env = s.waitEnvironment(t, "versions", "SUCCEEDED", "FAILED")
	if got := env.TemplateMajorVersion + "." + env.TemplateMinorVersion; env.DeploymentStatus != "SUCCEEDED" || got != "2.0" {
		t.Fatalf("after MAJOR_VERSION: %s on %s (%s), want SUCCEEDED on 2.0", env.DeploymentStatus, got, env.DeploymentStatusMessage)
	}

	// The version in use stays; an unused one goes; the template stays while it has versions.
	s.awsErr(t, "ConflictException", "delete-environment-template-version", "--template-name", "network",
		"--major-version", "2", "--minor-version", "0")
	var deleted templateVersionOut
	s.awsOK(t, &deleted, "delete-environment-template-version", "--template-name", "network",
		"--major-version", "1", "--minor-version", "0")
	if v := deleted.EnvironmentTemplateVersion; v.MajorVersion != "1" || v.MinorVersion != "0" {
		t.Errorf("delete-environment-template-version 1.0 answered %+v", v)
	}
	s.awsErr(t, "ResourceNotFoundException", "get-environment-template-version", "--template-name", "network",
		"--major-version", "1", "--minor-version", "0")
	s.awsErr(t, "ConflictException", "delete-environment-template", "--name", "network")
}
