package e2e

import (
	"strings"
	"testing"

	"github.com/hadronhq/hadron/internal/hadrontest"
)

// TestCLITwoServicesInOneEnvironment pins that two services deploy into the
// same environment at once: their instances' deployments run side by side
// on the server's workers (four by default). Each instance's command leaves
// a mark in a shared rendezvous directory and waits until an instance of the
// other service has left one, so both services reach ACTIVE only if their
// instances really ran at the same time.
func TestCLITwoServicesInOneEnvironment(t *testing.T) {
	hadrontest.Long(t)
	t.Parallel()
	requireAWS(t)
	s := startServer(t, t.TempDir())
	s.serviceFixture(t, "shared")
	rendezvous := "rendezvous: " + t.TempDir()

	for _, svc := range []string{"orders", "payments"} {
		spec := serviceSpec([]string{"stages: 1"}, inst(svc+"-a", "shared", rendezvous), inst(svc+"-b", "shared", rendezvous))
		var out serviceOut
		s.awsOK(t, &out, "create-service", "--name", svc, "--template-name", svcTemplate, "--template-major-version", "1",
			"--spec", fileArg(t, spec))
		if out.Service.Status != "CREATE_IN_PROGRESS" {
			t.Errorf("create-service %s answered status %s, want CREATE_IN_PROGRESS", svc, out.Service.Status)
		}
	}
	s.awsOK(t, nil, "wait", "service-created", "--name", "orders")
	s.awsOK(t, nil, "wait", "service-created", "--name", "payments")

	var list serviceInstancesOut
	s.awsOK(t, &list, "list-service-instances", "--filters", "key=environmentName,value=shared", "--sort-by", "name")
	if got := strings.Join(instanceNames(list.ServiceInstances), " "); got != "orders-a orders-b payments-a payments-b" {
		t.Errorf("list-service-instances in shared: %s, want the four instances of both services", got)
	}
	for _, i := range list.ServiceInstances {
		other := "payments."
		if i.ServiceName == "payments" {
			other = "orders."
		}
		log := s.deploymentLog(i.LastSucceededDeploymentID)
		if i.DeploymentStatus != "SUCCEEDED" || !strings.Contains(log, "instance: met "+other) {
			t.Errorf("instance %s/%s is %s; its deployment did not meet an instance of the other service:\n%s",
				i.ServiceName, i.Name, i.DeploymentStatus, log)
		}
	}
	for _, svc := range []string{"orders", "payments"} {
		var outs outputsOut
		s.awsOK(t, &outs, "list-service-pipeline-outputs", "--service-name", svc)
		if got := outputMap(outs.Outputs)["InstanceNames"]; got != svc+"-a "+svc+"-b" {
			t.Errorf("the pipeline of %s saw the instances %q, want its own two only", svc, got)
		}
	}
}
