package e2e

import (
	"strings"
	"testing"

	"github.com/hadronhq/hadron/internal/hadrontest"
)

// TestCLIServiceErrors pins the errors the AWS CLI shows for service
// requests Hadron refuses: a bad service spec (ValidationException naming
// the instance and the input), and the concurrency rules (ConflictException
// saying why) for an instance that is deploying, a service that is updating
// or whose pipeline is deploying, and an environment with instances in it.
func TestCLIServiceErrors(t *testing.T) {
	hadrontest.Long(t)
	t.Parallel()
	requireAWS(t)
	s := startServer(t, t.TempDir())
	s.serviceFixture(t, "alpha", "beta")
	create := func(name, spec string) []string {
		return []string{"create-service", "--name", name, "--template-name", svcTemplate, "--template-major-version", "1",
			"--spec", fileArg(t, spec)}
	}

	t.Run("a bad service spec is a ValidationException naming the instance and the input", func(t *testing.T) {
		for _, c := range []struct {
			spec  string
			wants []string
		}{
			{serviceSpec(nil, inst("one", "alpha"), inst("two", "beta", "port: high")), []string{"'two'", "'port'"}},
			{serviceSpec(nil, inst("one", "alpha", "image: Not_An_Image")), []string{"'one'", "'image'"}},
			{serviceSpec([]string{"stages: 99"}, inst("one", "alpha")), []string{"pipeline", "'stages'"}},
		} {
			msg := s.awsErr(t, "ValidationException", create("bad", c.spec)...)
			for _, w := range c.wants {
				if !strings.Contains(msg, w) {
					t.Errorf("the error does not name %s: %s\nspec:\n%s", w, msg, c.spec)
				}
			}
		}
		msg := s.awsErr(t, "ResourceNotFoundException", create("bad", serviceSpec(nil, inst("one", "nowhere")))...)
		if !strings.Contains(msg, "nowhere") {
			t.Errorf("an instance in a missing environment: the error does not name it: %s", msg)
		}
		s.awsErr(t, "ResourceNotFoundException", "get-service", "--name", "bad")
	})

	spec := serviceSpec([]string{"stages: 1"}, inst("one", "alpha"))
	s.awsOK(t, nil, create("api", spec)...)
	s.waitService(t, "api", "ACTIVE")

	t.Run("an instance that is deploying cannot be updated", func(t *testing.T) {
		var out serviceInstanceOut
		s.awsOK(t, &out, "update-service-instance", "--service-name", "api", "--name", "one", "--deployment-type", "CURRENT_VERSION",
			"--spec", fileArg(t, serviceSpec([]string{"stages: 1"}, inst("one", "alpha", "seconds: 120"))))
		id := out.ServiceInstance.LastAttemptedDeploymentID
		s.waitDeploymentLog(t, id, "instance: started")
		msg := s.awsErr(t, "ConflictException", "update-service-instance", "--service-name", "api", "--name", "one",
			"--deployment-type", "CURRENT_VERSION")
		if !strings.Contains(msg, "one") || !strings.Contains(msg, id) || !strings.Contains(msg, "IN_PROGRESS") {
			t.Errorf("the error does not name the instance, its deployment and IN_PROGRESS: %s", msg)
		}
		msg = s.awsErr(t, "ConflictException", "delete-service", "--name", "api")
		if !strings.Contains(msg, "one") {
			t.Errorf("deleting a service whose instance deploys: the error does not name the instance: %s", msg)
		}
		s.awsOK(t, nil, "cancel-service-instance-deployment", "--service-name", "api", "--service-instance-name", "one")
		s.waitInstance(t, "api", "one", "CANCELLED")
	})

	t.Run("a service that is updating cannot be updated", func(t *testing.T) {
		slow := serviceSpec([]string{"stages: 1"}, inst("one", "alpha"), inst("slow", "beta", "seconds: 120"))
		s.awsOK(t, nil, "update-service", "--name", "api", "--spec", fileArg(t, slow))
		added := s.waitInstance(t, "api", "slow", "IN_PROGRESS")
		s.waitDeploymentLog(t, added.LastAttemptedDeploymentID, "instance: started")
		msg := s.awsErr(t, "ConflictException", "update-service", "--name", "api", "--spec", fileArg(t, spec))
		if !strings.Contains(msg, "UPDATE_IN_PROGRESS") {
			t.Errorf("the error does not name UPDATE_IN_PROGRESS: %s", msg)
		}
		msg = s.awsErr(t, "ConflictException", "update-service-pipeline", "--service-name", "api", "--deployment-type", "CURRENT_VERSION",
			"--spec", fileArg(t, spec))
		if !strings.Contains(msg, "UPDATE_IN_PROGRESS") {
			t.Errorf("updating the pipeline of an updating service: the error does not name UPDATE_IN_PROGRESS: %s", msg)
		}
		// Cancelling the added instance fails the update: the instance is
		// removed and the service's spec reverted.
		s.awsOK(t, nil, "cancel-service-instance-deployment", "--service-name", "api", "--service-instance-name", "slow")
		svc := s.waitService(t, "api", "UPDATE_FAILED_CLEANUP_COMPLETE", "UPDATE_FAILED_CLEANUP_FAILED", "ACTIVE")
		if svc.Status != "UPDATE_FAILED_CLEANUP_COMPLETE" || svc.Spec != spec || !strings.Contains(svc.StatusMessage, "slow") {
			t.Errorf("after cancelling the added instance: %+v, want UPDATE_FAILED_CLEANUP_COMPLETE naming slow, with the previous spec", svc)
		}
		s.awsErr(t, "ResourceNotFoundException", "get-service-instance", "--service-name", "api", "--name", "slow")
	})

	t.Run("a service whose pipeline is deploying cannot be updated", func(t *testing.T) {
		var out pipelineOut
		s.awsOK(t, &out, "update-service-pipeline", "--service-name", "api", "--deployment-type", "CURRENT_VERSION",
			"--spec", fileArg(t, serviceSpec([]string{"stages: 1", "seconds: 120"}, inst("one", "alpha"))))
		s.waitDeploymentLog(t, out.Pipeline.LastAttemptedDeploymentID, "pipeline: started")
		msg := s.awsErr(t, "ConflictException", "update-service", "--name", "api",
			"--spec", fileArg(t, serviceSpec([]string{"stages: 1"}, inst("one", "alpha"), inst("two", "beta"))))
		if !strings.Contains(msg, "pipeline") {
			t.Errorf("the error does not say the pipeline is deploying: %s", msg)
		}
		s.awsOK(t, nil, "cancel-service-pipeline-deployment", "--service-name", "api")
		s.waitPipeline(t, "api", "CANCELLED")
	})

	t.Run("an environment with instances in it cannot be deleted", func(t *testing.T) {
		msg := s.awsErr(t, "ConflictException", "delete-environment", "--name", "alpha")
		if !strings.Contains(msg, "api") {
			t.Errorf("the error does not name the service in the environment: %s", msg)
		}
		var out environmentOut
		s.awsOK(t, &out, "get-environment", "--name", "alpha")
		if out.Environment.DeploymentStatus != "SUCCEEDED" {
			t.Errorf("the environment after the refused delete: %+v", out.Environment)
		}
	})
}
