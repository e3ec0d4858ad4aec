package e2e

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hadronhq/hadron/internal/hadrontest"
)

// TestCLITwoServicesInOneEnvironment pins that two services deploy into the
// same environment at once: their instances' deployments run side by side
// on the server's workers (four by default). Each instance's command calls
// the test's rendezvous (an HTTP server on loopback: isolated runs share no
// directory) and waits until an instance of the other service has called,
// so both services reach ACTIVE only if their instances really ran at the
// same time.
func TestCLITwoServicesInOneEnvironment(t *testing.T) {
	hadrontest.Long(t)
	t.Parallel()
	requireAWS(t)
	s := startServer(t, t.TempDir())
	s.serviceFixture(t, "shared")
	rendezvous := "rendezvous: " + startRendezvous(t)

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

// startRendezvous serves GET /?who=<service>.<instance> on loopback: the
// answer, the instances of other services that have called so far, comes
// once there is at least one, or 408 after 30 s. It returns the URL.
func startRendezvous(t *testing.T) string {
	t.Helper()
	var (
		mu      sync.Mutex
		arrived []string
		changed = make(chan struct{})
	)
	others := func(service string) []string {
		var o []string
		for _, w := range arrived {
			if !strings.HasPrefix(w, service+".") {
				o = append(o, w)
			}
		}
		return o
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		who := r.URL.Query().Get("who")
		service, _, _ := strings.Cut(who, ".")
		mu.Lock()
		arrived = append(arrived, who)
		close(changed)
		changed = make(chan struct{})
		mu.Unlock()
		timeout := time.After(30 * time.Second)
		for {
			mu.Lock()
			o, wait := others(service), changed
			mu.Unlock()
			if len(o) > 0 {
				fmt.Fprint(w, strings.Join(o, " "))
				return
			}
			select {
			case <-wait:
			case <-timeout:
				http.Error(w, "nobody of another service came", http.StatusRequestTimeout)
				return
			case <-r.Context().Done():
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/"
}
