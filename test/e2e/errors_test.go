package e2e

import (
	"strings"
	"testing"

	"github.com/hadronhq/hadron/internal/hadrontest"
)

// TestCLIErrors pins the errors the AWS CLI shows for requests Hadron refuses
// and for deployments it cannot run.
func TestCLIErrors(t *testing.T) {
	hadrontest.Long(t)
	t.Parallel()
	requireAWS(t)
	s := startServer(t, t.TempDir())

	t.Run("a name with a space is a ValidationException naming the member", func(t *testing.T) {
		msg := s.awsErr(t, "ValidationException", "create-environment-template", "--name", "my template")
		if !strings.Contains(msg, "'name'") {
			t.Errorf("the error does not name 'name': %s", msg)
		}
	})
	t.Run("a missing environment is a ResourceNotFoundException", func(t *testing.T) {
		msg := s.awsErr(t, "ResourceNotFoundException", "get-environment", "--name", "nowhere")
		if !strings.Contains(msg, "nowhere") {
			t.Errorf("the error does not name the environment: %s", msg)
		}
		s.awsErr(t, "ResourceNotFoundException", "cancel-environment-deployment", "--environment-name", "nowhere")
	})
	t.Run("the sync status of a repository not linked is a ResourceNotFoundException", func(t *testing.T) {
		msg := s.awsErr(t, "ResourceNotFoundException", "get-repository-sync-status", "--repository-name", "acme/infra",
			"--repository-provider", "GITHUB", "--branch", "main", "--sync-type", "TEMPLATE_SYNC")
		if !strings.Contains(msg, "acme/infra") {
			t.Errorf("the error does not name the repository: %s", msg)
		}
	})

	s.registerTemplate(t, "network", "network")
	t.Run("a spec whose input fails its pattern is a ValidationException naming the input", func(t *testing.T) {
		spec, _ := specFile(t, "name_tag: Not A Tag")
		msg := s.awsErr(t, "ValidationException", "create-environment", "--name", "bad-spec", "--template-name", "network",
			"--template-major-version", "1", "--codebuild-role-arn", codebuildArn, "--spec", spec)
		if !strings.Contains(msg, "name_tag") {
			t.Errorf("the error does not name the input name_tag: %s", msg)
		}
		s.awsErr(t, "ResourceNotFoundException", "get-environment", "--name", "bad-spec")
	})
	t.Run("a manifest with an unknown engine fails registration naming it", func(t *testing.T) {
		s.putBundle(t, "unknown-engine", "pulumi.tar.gz")
		s.awsOK(t, nil, "create-environment-template", "--name", "pulumi")
		v := s.createVersion(t, "pulumi", "pulumi.tar.gz")
		if v.Status != "REGISTRATION_FAILED" || !strings.Contains(v.StatusMessage, "pulumi") || !strings.Contains(v.StatusMessage, "manifest.yaml") {
			t.Errorf("version %s.%s is %s with statusMessage %q, want REGISTRATION_FAILED naming the manifest and pulumi",
				v.MajorVersion, v.MinorVersion, v.Status, v.StatusMessage)
		}
		res := s.aws(t, "wait", "environment-template-version-registered", "--template-name", "pulumi",
			"--major-version", v.MajorVersion, "--minor-version", v.MinorVersion)
		if res.Code == 0 || !strings.Contains(res.Stderr, "REGISTRATION_FAILED") {
			t.Errorf("want the waiter to fail on REGISTRATION_FAILED:\n%s", res)
		}
		msg := s.awsErr(t, "ValidationException", "update-environment-template-version", "--template-name", "pulumi",
			"--major-version", v.MajorVersion, "--minor-version", v.MinorVersion, "--status", "PUBLISHED")
		if !strings.Contains(msg, "REGISTRATION_FAILED") {
			t.Errorf("publishing a failed version: the error does not name its status: %s", msg)
		}
	})
	t.Run("an AWS-managed deployment on a server without AWS access fails saying how to give it, and the waiter fails", func(t *testing.T) {
		s.registerTemplate(t, "bucket", "jinja")
		spec, _ := specFile(t, "bucket_name: my-bucket")
		s.awsOK(t, nil, "create-environment", "--name", "bucket", "--template-name", "bucket", "--template-major-version", "1",
			"--proton-service-role-arn", serviceArn, "--spec", spec)
		res := s.aws(t, "wait", "environment-deployed", "--name", "bucket")
		if res.Code == 0 || !strings.Contains(res.Stderr, "FAILED") {
			t.Errorf("want the environment-deployed waiter to fail on FAILED:\n%s", res)
		}
		var out environmentOut
		s.awsOK(t, &out, "get-environment", "--name", "bucket")
		if e := out.Environment; e.DeploymentStatus != "FAILED" || !strings.Contains(e.DeploymentStatusMessage, "--aws-region") {
			t.Errorf("get-environment: %s with message %q, want FAILED naming --aws-region", e.DeploymentStatus, e.DeploymentStatusMessage)
		}
	})
}
