package e2e

import (
	"strings"
	"testing"

	"github.com/hadronhq/hadron/internal/hadrontest"
)

// TestBoto3ServiceWorkflow runs the core service workflow with boto3
// (testdata/boto3_services.py): the waiters service_created,
// service_instance_deployed, service_pipeline_deployed, service_updated and
// service_deleted, the paginators list_service_instances and
// list_deployments, and cancel_service_instance_deployment and
// cancel_service_pipeline_deployment.
func TestBoto3ServiceWorkflow(t *testing.T) {
	hadrontest.Long(t)
	t.Parallel()
	requireBoto3(t)
	s := startServer(t, t.TempDir())
	s.deployEnvironments(t, "east", "west")
	s.putBundle(t, "service", svcBundleKey)

	var got struct {
		Created, Active, Updating, Updated, Deleting service
		Instances                                    []serviceInstance
		InstancePages                                int
		InstanceCancelling, InstanceCancelled        serviceInstance
		InstanceDeployed                             serviceInstance
		InstanceOutputs, PipelineOutputs             []output
		PipelineCancelling, PipelineCancelled        servicePipeline
		PipelineDeployed                             servicePipeline
		Deployments                                  []svcDeployment
		DeploymentPages                              int
		AfterDelete                                  *struct{ Code, Message string }
	}
	s.python(t, &got, "boto3_services.py", svcBundleKey, "east", "west")

	if got.Created.Status != "CREATE_IN_PROGRESS" {
		t.Errorf("create_service answered status %s, want CREATE_IN_PROGRESS", got.Created.Status)
	}
	if a := got.Active; a.Status != "ACTIVE" || a.Pipeline == nil || a.Pipeline.DeploymentStatus != "SUCCEEDED" {
		t.Errorf("after the service_created waiter: %+v (pipeline %+v), want ACTIVE with a SUCCEEDED pipeline", a, a.Pipeline)
	}
	if names := strings.Join(instanceNames(got.Instances), " "); names != "back front" || got.InstancePages != 2 {
		t.Errorf("list_service_instances paginator (page size 1) gave %s in %d pages, want back front in 2", names, got.InstancePages)
	}

	first := ""
	for _, i := range got.Instances {
		if i.Name == "front" {
			first = i.LastSucceededDeploymentID
		}
	}
	if got.InstanceCancelling.DeploymentStatus != "CANCELLING" {
		t.Errorf("cancel_service_instance_deployment answered deploymentStatus %s, want CANCELLING", got.InstanceCancelling.DeploymentStatus)
	}
	if c := got.InstanceCancelled; c.DeploymentStatus != "CANCELLED" || c.DeploymentStatusMessage != "User initiated cancellation." ||
		c.Spec != got.Active.Spec || c.LastSucceededDeploymentID != first {
		t.Errorf("the instance after the cancel: %+v; want CANCELLED, keeping the spec of its create %s", c, first)
	}
	if d := got.InstanceDeployed; d.DeploymentStatus != "SUCCEEDED" || !strings.Contains(d.Spec, "port: 9090") {
		t.Errorf("after the service_instance_deployed waiter: %+v, want SUCCEEDED with port 9090", d)
	}
	if m := outputMap(got.InstanceOutputs); m["Endpoint"] != "http://front.shop.east:9090" || m["EnvGreeting"] != "hello-east" {
		t.Errorf("list_service_instance_outputs front: %v", m)
	}

	if got.PipelineCancelling.DeploymentStatus != "CANCELLING" {
		t.Errorf("cancel_service_pipeline_deployment answered deploymentStatus %s, want CANCELLING", got.PipelineCancelling.DeploymentStatus)
	}
	if c := got.PipelineCancelled; c.DeploymentStatus != "CANCELLED" || c.DeploymentStatusMessage != "User initiated cancellation." ||
		c.Spec != got.Active.Spec || c.LastSucceededDeploymentID != got.Active.Pipeline.LastSucceededDeploymentID {
		t.Errorf("the pipeline after the cancel: %+v; want CANCELLED, keeping the spec of its first deployment", c)
	}
	if d := got.PipelineDeployed; d.DeploymentStatus != "SUCCEEDED" || !strings.Contains(d.Spec, "stages: 2") {
		t.Errorf("after the service_pipeline_deployed waiter: %+v, want SUCCEEDED with stages 2", d)
	}

	if got.Updating.Status != "UPDATE_IN_PROGRESS" {
		t.Errorf("update_service answered status %s, want UPDATE_IN_PROGRESS", got.Updating.Status)
	}
	if u := got.Updated; u.Status != "ACTIVE" || !strings.Contains(u.Spec, "extra") {
		t.Errorf("after the service_updated waiter: %+v, want ACTIVE with the instance extra", u)
	}
	assertOutputs(t, "list_service_pipeline_outputs after update_service", got.PipelineOutputs, map[string]string{
		"Stages": "2", "Instances": "3", "InstanceNames": "back extra front",
		"Endpoints":   "http://back.shop.west:80 http://extra.shop.east:80 http://front.shop.east:9090",
		"ResourceArn": "arn:aws:proton:us-east-1:000000000000:service/shop/pipeline",
	})

	// front: create, cancelled, update; back: create; extra: create;
	// pipeline: create, cancelled, update, after update_service.
	if n := len(got.Deployments); n != 9 || got.DeploymentPages != 5 {
		t.Errorf("list_deployments paginator (page size 2) gave %d deployments in %d pages, want 9 in 5: %s", n, got.DeploymentPages, jsonText(got.Deployments))
	}
	seen := map[string]bool{}
	for _, d := range got.Deployments {
		if seen[d.ID] || d.ServiceName != "shop" {
			t.Errorf("list_deployments paginator: %s listed twice or not of shop", jsonText(d))
		}
		seen[d.ID] = true
	}

	if got.Deleting.Status != "DELETE_IN_PROGRESS" {
		t.Errorf("delete_service answered status %s, want DELETE_IN_PROGRESS", got.Deleting.Status)
	}
	if got.AfterDelete == nil || got.AfterDelete.Code != "ResourceNotFoundException" {
		t.Errorf("get_service after the service_deleted waiter: %+v, want ResourceNotFoundException", got.AfterDelete)
	}
}
