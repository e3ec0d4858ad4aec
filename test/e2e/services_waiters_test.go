package e2e

import (
	"strings"
	"testing"

	"github.com/hadronhq/hadron/internal/hadrontest"
)

// TestCLIServiceWaitersFail pins that the AWS CLI's service waiters end in
// failure (a non-zero exit naming the status) when a provisioning command
// exits 1: a new service whose instance fails (service-created), an instance
// update that fails (service-instance-deployed), and an update-service whose
// new instance fails (service-updated). The failing commands work 3 s first,
// so that each waiter sees the change in progress before it fails. Each
// failure leaves the service as Proton would: cleaned up, or on its last
// good state.
func TestCLIServiceWaitersFail(t *testing.T) {
	hadrontest.Long(t)
	t.Parallel()
	requireAWS(t)
	s := startServer(t, t.TempDir())
	s.serviceFixture(t, "alpha")

	t.Run("service-created fails on CREATE_FAILED_CLEANUP_COMPLETE", func(t *testing.T) {
		t.Parallel()
		spec := serviceSpec([]string{"stages: 1"}, inst("ok", "alpha"), inst("bad", "alpha", "fail: true", "seconds: 3"))
		s.awsOK(t, nil, "create-service", "--name", "broken", "--template-name", svcTemplate, "--template-major-version", "1",
			"--spec", fileArg(t, spec))
		s.waiterFails(t, "CREATE_FAILED_CLEANUP_COMPLETE", "service-created", "--name", "broken")
		var out serviceOut
		s.awsOK(t, &out, "get-service", "--name", "broken")
		if svc := out.Service; svc.Status != "CREATE_FAILED_CLEANUP_COMPLETE" || !strings.Contains(svc.StatusMessage, "bad") {
			t.Errorf("get-service: %s with statusMessage %q, want CREATE_FAILED_CLEANUP_COMPLETE naming the instance bad", svc.Status, svc.StatusMessage)
		}
		// The instances the create made are de-provisioned, the failed one too.
		var list serviceInstancesOut
		s.awsOK(t, &list, "list-service-instances", "--service-name", "broken")
		if len(list.ServiceInstances) != 0 {
			t.Errorf("instances left after the cleanup: %s", jsonText(list.ServiceInstances))
		}
		// A failed service can be deleted.
		s.awsOK(t, nil, "delete-service", "--name", "broken")
		s.waitServiceGone(t, "broken")
	})

	t.Run("service-instance-deployed fails on FAILED", func(t *testing.T) {
		t.Parallel()
		spec := serviceSpec([]string{"stages: 1"}, inst("one", "alpha", "port: 8080"))
		s.awsOK(t, nil, "create-service", "--name", "flaky", "--template-name", svcTemplate, "--template-major-version", "1",
			"--spec", fileArg(t, spec))
		good := s.waitInstance(t, "flaky", "one", "SUCCEEDED")
		s.waitService(t, "flaky", "ACTIVE")
		bad := serviceSpec([]string{"stages: 1"}, inst("one", "alpha", "port: 9090", "fail: true", "seconds: 3"))
		s.awsOK(t, nil, "update-service-instance", "--service-name", "flaky", "--name", "one", "--deployment-type", "CURRENT_VERSION",
			"--spec", fileArg(t, bad))
		s.waiterFails(t, "FAILED", "service-instance-deployed", "--service-name", "flaky", "--name", "one")
		var out serviceInstanceOut
		s.awsOK(t, &out, "get-service-instance", "--service-name", "flaky", "--name", "one")
		if i := out.ServiceInstance; i.DeploymentStatus != "FAILED" || i.Spec != spec || i.LastSucceededDeploymentID != good.LastSucceededDeploymentID {
			t.Errorf("after the failed update: %+v, want FAILED keeping the spec of %s", i, good.LastSucceededDeploymentID)
		}
		if log := s.deploymentLog(out.ServiceInstance.LastAttemptedDeploymentID); !strings.Contains(log, "refusing to deploy") {
			t.Errorf("the failed deployment's log does not hold the command's error output:\n%s", log)
		}
		// The instance's failure leaves the service ACTIVE.
		if svc := s.waitService(t, "flaky", "ACTIVE"); svc.Spec != spec {
			t.Errorf("the service after its instance failed: %+v", svc)
		}
	})

	t.Run("service-updated fails on UPDATE_FAILED_CLEANUP_COMPLETE", func(t *testing.T) {
		t.Parallel()
		spec := serviceSpec([]string{"stages: 1"}, inst("one", "alpha"))
		s.awsOK(t, nil, "create-service", "--name", "grow", "--template-name", svcTemplate, "--template-major-version", "1",
			"--spec", fileArg(t, spec))
		s.waitService(t, "grow", "ACTIVE")
		pipeline := s.waitPipeline(t, "grow", "SUCCEEDED")
		bigger := serviceSpec([]string{"stages: 1"}, inst("one", "alpha"), inst("bad", "alpha", "fail: true", "seconds: 3"))
		s.awsOK(t, nil, "update-service", "--name", "grow", "--spec", fileArg(t, bigger))
		s.waiterFails(t, "UPDATE_FAILED_CLEANUP_COMPLETE", "service-updated", "--name", "grow")
		var out serviceOut
		s.awsOK(t, &out, "get-service", "--name", "grow")
		svc := out.Service
		if svc.Status != "UPDATE_FAILED_CLEANUP_COMPLETE" || !strings.Contains(svc.StatusMessage, "bad") || svc.Spec != spec {
			t.Errorf("get-service: %+v; want UPDATE_FAILED_CLEANUP_COMPLETE naming bad, with the previous spec", svc)
		}
		// The new instance is gone, the pipeline did not deploy again.
		s.awsErr(t, "ResourceNotFoundException", "get-service-instance", "--service-name", "grow", "--name", "bad")
		if p := svc.Pipeline; p == nil || p.LastAttemptedDeploymentID != pipeline.LastAttemptedDeploymentID {
			t.Errorf("the pipeline after the failed update: %+v, want it untouched (%s)", p, pipeline.LastAttemptedDeploymentID)
		}
	})
}
