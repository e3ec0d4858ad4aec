package e2e

import (
	"strings"
	"testing"

	"github.com/hadronhq/hadron/internal/hadrontest"
)

// TestCLIFailedTeardownIsRetriedOnceFixed pins that a resource whose
// deprovision commands fail stays deletable: the environment ends
// DELETE_FAILED and is still there, a service whose failed create could
// not be cleaned up ends CREATE_FAILED_CLEANUP_FAILED, and once the cause
// is fixed (here the secret the teardown guard reads, put again with
// `hadron secrets put`) a second delete removes each. Bundles:
// testdata/bundles/guarded and guarded-service.
func TestCLIFailedTeardownIsRetriedOnceFixed(t *testing.T) {
	hadrontest.Long(t)
	t.Parallel()
	requireAWS(t)
	dir := t.TempDir()
	hadronSecretsPut(t, dir, "e2e/teardown", "teardown-locked")
	s := startServer(t, dir)
	s.registerTemplate(t, "guarded", "guarded")
	spec, _ := specFile(t, "owner: payments")
	for _, name := range []string{"shared", "hosting"} {
		s.awsOK(t, nil, "create-environment", "--name", name, "--template-name", "guarded", "--template-major-version", "1",
			"--codebuild-role-arn", codebuildArn, "--spec", spec)
		s.awsOK(t, nil, "wait", "environment-deployed", "--name", name)
	}

	// The environment: the guard refuses, the delete fails, the
	// environment stays.
	var out environmentOut
	s.awsOK(t, &out, "delete-environment", "--name", "shared")
	env := s.waitEnvironment(t, "shared", "DELETE_FAILED")
	for _, want := range []string{"command 1 of 1", "guard.sh", "refused by the guard"} {
		if !strings.Contains(env.DeploymentStatusMessage, want) {
			t.Errorf("DELETE_FAILED message %q lacks %q", env.DeploymentStatusMessage, want)
		}
	}

	// The service: its only instance fails to deploy, and the clean-up of
	// the failed create is refused too.
	s.putBundle(t, "guarded-service", "guarded-service.tar.gz")
	s.awsOK(t, nil, "create-service-template", "--name", "guarded-web")
	s.awsOK(t, nil, "create-service-template-version", "--template-name", "guarded-web",
		"--source", "s3={bucket=templates,key=guarded-service.tar.gz}",
		"--compatible-environment-templates", "templateName=guarded,majorVersion=1")
	if v := s.waitServiceRegistered(t, "guarded-web", "1", "0"); v.Status != "DRAFT" {
		t.Fatalf("guarded-web 1.0 is %s (%s), want DRAFT", v.Status, v.StatusMessage)
	}
	s.awsOK(t, nil, "update-service-template-version", "--template-name", "guarded-web",
		"--major-version", "1", "--minor-version", "0", "--status", "PUBLISHED")
	s.awsOK(t, nil, "create-service", "--name", "shop", "--template-name", "guarded-web", "--template-major-version", "1",
		"--spec", fileArg(t, serviceSpec(nil, inst("web", "hosting", "fail: true"))))
	s.waiterFails(t, "CREATE_FAILED_CLEANUP_FAILED", "service-created", "--name", "shop")
	if svc := s.waitService(t, "shop", "CREATE_FAILED_CLEANUP_FAILED"); svc.StatusMessage == "" {
		t.Error("CREATE_FAILED_CLEANUP_FAILED without a status message")
	}
	// A second delete while the cause remains fails the same way and
	// changes nothing else.
	s.awsOK(t, nil, "delete-environment", "--name", "shared")
	s.waitEnvironment(t, "shared", "DELETE_FAILED")

	// Fixed: the guard allows the teardown; each delete now succeeds.
	hadronSecretsPut(t, dir, "e2e/teardown", "teardown-approved")
	s.awsOK(t, nil, "delete-service", "--name", "shop")
	s.waitServiceGone(t, "shop")
	s.awsOK(t, nil, "delete-environment", "--name", "shared")
	s.waitEnvironmentGone(t, "shared")
	if logs := s.allLogs(t); !strings.Contains(logs, "teardown of arn:aws:proton:") || !strings.Contains(logs, " allowed\n") {
		t.Errorf("no log shows the allowed teardown:\n%s", logs)
	}
}
