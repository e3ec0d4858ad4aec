package e2e

import (
	"strings"
	"testing"

	"github.com/hadronhq/hadron/internal/hadrontest"
)

// TestCLIServiceCreatedWithoutInstances: create-service with instances: []
// (the way an AWS sample starts a service before its instances) gives an
// ACTIVE service whose pipeline deployed; create-service-instance then adds
// an instance that deploys. A spec without instances is refused.
func TestCLIServiceCreatedWithoutInstances(t *testing.T) {
	hadrontest.Long(t)
	t.Parallel()
	requireAWS(t)
	s := startServer(t, t.TempDir())
	s.serviceFixture(t, "alpha")

	noInstances := "proton: ServiceSpec\npipeline:\n  stages: 1\n"
	msg := s.awsErr(t, "ValidationException", "create-service", "--name", "batch", "--template-name", svcTemplate,
		"--template-major-version", "1", "--spec", fileArg(t, noInstances))
	if !strings.Contains(msg, "instances is missing") {
		t.Errorf("create-service without instances: %s", msg)
	}
	var svcOut serviceOut
	s.awsOK(t, &svcOut, "create-service", "--name", "batch", "--template-name", svcTemplate,
		"--template-major-version", "1", "--spec", fileArg(t, noInstances+"instances: []\n"))
	if got := svcOut.Service.Status; got != "CREATE_IN_PROGRESS" && got != "ACTIVE" {
		t.Errorf("create-service with instances: [] answered %s", got)
	}
	s.awsOK(t, nil, "wait", "service-created", "--name", "batch")
	s.awsOK(t, &svcOut, "get-service", "--name", "batch")
	if svc := svcOut.Service; svc.Status != "ACTIVE" || svc.Pipeline == nil || svc.Pipeline.DeploymentStatus != "SUCCEEDED" {
		t.Fatalf("service after create = %+v (pipeline %+v)", svc, svc.Pipeline)
	}

	var instOut serviceInstanceOut
	s.awsOK(t, &instOut, "create-service-instance", "--service-name", "batch", "--name", "solo",
		"--spec", fileArg(t, serviceSpec([]string{"stages: 1"}, inst("solo", "alpha", "port: 9090"))))
	if i := instOut.ServiceInstance; i.DeploymentStatus != "IN_PROGRESS" || i.EnvironmentName != "alpha" {
		t.Errorf("create-service-instance answered %+v, want IN_PROGRESS in alpha", i)
	}
	s.awsOK(t, nil, "wait", "service-instance-deployed", "--service-name", "batch", "--name", "solo")
	var outs outputsOut
	s.awsOK(t, &outs, "list-service-instance-outputs", "--service-name", "batch", "--service-instance-name", "solo")
	if got := outputMap(outs.Outputs)["Endpoint"]; got != "http://solo.batch.alpha:9090" {
		t.Errorf("instance solo Endpoint output = %q", got)
	}
}
