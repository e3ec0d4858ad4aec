package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hadronhq/hadron/internal/hadrontest"
)

// The component tests: a directly defined component attached to a service
// instance, with the AWS CLI and with boto3.

// The fixture of the component tests, from testdata/bundles/component-service:
// a service template without a pipeline whose instances report their
// attached component's outputs, compatible with network major version 1 and
// allowing directly defined components.
const (
	compTemplate  = "storage-web"
	compBundleKey = "storage-web.tar.gz"
	compEnv       = "dev"
	componentRole = "arn:aws:iam::000000000000:role/hadron-component"
)

// componentManifest runs the component's template file, written into the
// working directory as component.sh, on the codebuild engine.
const componentManifest = `infrastructure:
  templates:
    - file: component.sh
      rendering_engine: codebuild
      settings:
        provision:
          - sh ./component.sh
        deprovision:
          - echo "deprovisioning component $RESOURCE_ARN"
`

// componentScript is a component's template file. It prints "component:
// started", works for seconds (one second at a time, so that SIGTERM ends it
// at once), exits 1 when fail is set, and otherwise writes the outputs
// Bucket=bucket and Instance: the instance its inputs file says it is
// attached to ("none" when detached).
func componentScript(bucket string, seconds int, fail bool) string {
	return fmt.Sprintf(`set -eu
trap 'echo "component: SIGTERM, stopping"; exit 143' TERM
name=$(sed -n 's/.*"component":{"name":"\([^"]*\)".*/\1/p' proton-inputs.json)
instance=$(sed -n 's/.*"service_instance":{.*"name":"\([^"]*\)"}}$/\1/p' proton-inputs.json)
echo "component: started ($name, bucket %[1]s, instance ${instance:-none})"
i=0
while [ "$i" -lt %[2]d ]; do sleep 1 & wait $!; i=$((i + 1)); done
if %[3]t; then echo "component: refusing to deploy" >&2; exit 1; fi
printf '{"Bucket": "%%s", "Instance": "%%s"}' "%[1]s" "${instance:-none}" > proton-outputs.json
echo "component: done"
`, bucket, seconds, fail)
}

// Shapes of the API for components, as far as the tests look at them.
type (
	component struct {
		Name                      string
		Arn                       string
		Description               string
		EnvironmentName           string
		ServiceName               string
		ServiceInstanceName       string
		ServiceSpec               string
		DeploymentStatus          string
		DeploymentStatusMessage   string
		LastAttemptedDeploymentID string `json:"lastAttemptedDeploymentId"`
		LastSucceededDeploymentID string `json:"lastSucceededDeploymentId"`
	}
	componentOut  struct{ Component component }
	componentsOut struct {
		Components []component
		NextToken  string
	}

	componentState struct {
		ServiceName         string
		ServiceInstanceName string
		ServiceSpec         string
		TemplateFile        string
	}
	compInstanceState struct {
		LastSuccessfulComponentDeploymentIDs []string `json:"lastSuccessfulComponentDeploymentIds"`
	}
	compDeploymentState struct {
		Component       *componentState
		ServiceInstance *compInstanceState
	}
	// compDeployment is a deployment of a component (or of an instance, as
	// far as its components go).
	compDeployment struct {
		ID                      string `json:"id"`
		DeploymentStatus        string
		DeploymentStatusMessage string
		EnvironmentName         string
		ServiceName             string
		ServiceInstanceName     string
		ComponentName           string
		TargetArn               string
		TargetResourceType      string
		InitialState            *compDeploymentState
		TargetState             *compDeploymentState
	}
	compDeploymentOut  struct{ Deployment compDeployment }
	compDeploymentsOut struct {
		Deployments []compDeployment
		NextToken   string
	}
)

// componentFixture deploys the environment compEnv (network 1.0, with a
// component role), registers and publishes compTemplate 1.0 with
// supportedComponentSources DIRECTLY_DEFINED, and creates the service "api"
// with one instance "one" in compEnv, all through the API directly.
func (s *server) componentFixture(t *testing.T) {
	t.Helper()
	s.publishNetwork(t)
	s.mustCall(t, "CreateEnvironment", map[string]string{
		"name": compEnv, "templateName": "network", "templateMajorVersion": "1", "codebuildRoleArn": codebuildArn,
		"componentRoleArn": componentRole, "spec": "proton: EnvironmentSpec\nspec:\n  name_tag: " + compEnv + "\n",
	}, nil)
	s.putBundle(t, "component-service", compBundleKey)
	s.mustCall(t, "CreateServiceTemplate", map[string]string{"name": compTemplate}, nil)
	s.mustCall(t, "CreateServiceTemplateVersion", map[string]any{
		"templateName": compTemplate, "source": map[string]any{"s3": map[string]string{"bucket": bundleBucket, "key": compBundleKey}},
		"compatibleEnvironmentTemplates": []map[string]string{{"templateName": "network", "majorVersion": "1"}},
		"supportedComponentSources":      []string{"DIRECTLY_DEFINED"},
	}, nil)
	if v := s.waitServiceRegistered(t, compTemplate, "1", "0"); v.Status != "DRAFT" {
		t.Fatalf("service template version %s:1.0 is %s (%s), want DRAFT", compTemplate, v.Status, v.StatusMessage)
	}
	s.mustCall(t, "UpdateServiceTemplateVersion", map[string]string{
		"templateName": compTemplate, "majorVersion": "1", "minorVersion": "0", "status": "PUBLISHED",
	}, nil)
	s.waitEnvironment(t, compEnv, "SUCCEEDED")
	s.mustCall(t, "CreateService", map[string]string{
		"name": "api", "templateName": compTemplate, "templateMajorVersion": "1", "spec": serviceSpec(nil, inst("one", compEnv)),
	}, nil)
	s.waitService(t, "api", "ACTIVE")
}

func (s *server) getComponent(name string) (component, error) {
	var out componentOut
	err := s.call("GetComponent", map[string]string{"name": name}, &out)
	return out.Component, err
}

// waitComponent waits until the component's deploymentStatus is one of statuses.
func (s *server) waitComponent(t *testing.T, name string, statuses ...string) component {
	t.Helper()
	return hadrontest.AwaitStatus(t, deployTimeout, "component "+name, func() (component, error) { return s.getComponent(name) },
		func(c component) string { return c.DeploymentStatus }, statuses...)
}

// waitComponentGone waits until GetComponent answers ResourceNotFoundException.
func (s *server) waitComponentGone(t *testing.T, name string) {
	t.Helper()
	hadrontest.AwaitNotFound(t, deployTimeout, "component "+name, func() (component, error) { return s.getComponent(name) })
}

// awsJSON runs `aws proton <args>`, fails the test unless it succeeds, and
// returns its JSON output decoded into a new T (decoding into a used one
// would keep the members the answer omits, such as an empty valueString).
func awsJSON[T any](t *testing.T, s *server, args ...string) T {
	t.Helper()
	var out T
	s.awsOK(t, &out, args...)
	return out
}

// awaitComponentCLI waits through the API until the component's deployment
// has ended, then runs `aws proton wait component-deployed`, which then
// answers at its first poll instead of sleeping its 5 s delay.
func (s *server) awaitComponentCLI(t *testing.T, name string) component {
	t.Helper()
	s.waitComponent(t, name, "SUCCEEDED", "FAILED", "CANCELLED")
	s.awsOK(t, nil, "wait", "component-deployed", "--name", name)
	return awsJSON[componentOut](t, s, "get-component", "--name", name).Component
}

// awaitInstanceCLI is awaitComponentCLI for a service instance.
func (s *server) awaitInstanceCLI(t *testing.T, svc, name string) {
	t.Helper()
	s.waitInstance(t, svc, name, "SUCCEEDED", "FAILED", "CANCELLED")
	s.awsOK(t, nil, "wait", "service-instance-deployed", "--service-name", svc, "--name", name)
}

// TestCLIComponents runs the component story with the AWS CLI: create a
// component attached to a service instance and wait with `aws proton wait
// component-deployed`, see the instance's next deployment receive its
// outputs, update it and cancel the update while it runs (the template file
// in effect stays the first), detach it, re-attach it, detach and delete it
// (`aws proton wait component-deleted`), reading outputs (also of a past
// deployment) and the deployment history; and a component whose command
// fails ends the component-deployed waiter in failure.
func TestCLIComponents(t *testing.T) {
	hadrontest.Long(t)
	t.Parallel()
	requireAWS(t)
	s := startServer(t, t.TempDir(), "--allow-api-commands")
	s.componentFixture(t)
	manifest := "file://" + writeFile(t, "manifest.yaml", componentManifest)
	arn := "arn:aws:proton:us-east-1:000000000000:component/storage"

	// A component in the environment whose command exits 1, deploying beside
	// the story; its end is checked last.
	out := awsJSON[componentOut](t, s, "create-component", "--name", "broken", "--environment-name", compEnv, "--manifest", manifest,
		"--template-file", "file://"+writeFile(t, "component.sh", componentScript("broken", 0, true)))
	brokenID := out.Component.LastAttemptedDeploymentID

	// Create a component attached to instance api/one and wait for it.
	first := componentScript("first", 0, false)
	svcSpec := serviceSpec(nil, inst("one", compEnv))
	out = awsJSON[componentOut](t, s, "create-component", "--name", "storage", "--description", "Bucket of api/one",
		"--manifest", manifest, "--template-file", "file://"+writeFile(t, "component.sh", first),
		"--service-name", "api", "--service-instance-name", "one", "--service-spec", fileArg(t, svcSpec))
	if c := out.Component; c.DeploymentStatus != "IN_PROGRESS" || c.EnvironmentName != compEnv || c.ServiceName != "api" ||
		c.ServiceInstanceName != "one" || c.Arn != arn {
		t.Errorf("create-component answered %+v, want IN_PROGRESS, attached to api/one in %s, arn %s", c, compEnv, arn)
	}
	firstID := out.Component.LastAttemptedDeploymentID
	s.awsOK(t, nil, "wait", "component-deployed", "--name", "storage")
	out = awsJSON[componentOut](t, s, "get-component", "--name", "storage")
	if c := out.Component; c.DeploymentStatus != "SUCCEEDED" || c.LastSucceededDeploymentID != firstID || c.ServiceSpec != svcSpec ||
		c.Description != "Bucket of api/one" {
		t.Errorf("after the component-deployed waiter: %+v, want SUCCEEDED (deployment %s) with the service spec and the description", c, firstID)
	}
	outs := awsJSON[outputsOut](t, s, "list-component-outputs", "--component-name", "storage")
	assertOutputs(t, "list-component-outputs", outs.Outputs, map[string]string{"Bucket": "first", "Instance": "one"})

	// The instance's next deployment receives the component's outputs.
	s.awsOK(t, nil, "update-service-instance", "--service-name", "api", "--name", "one", "--deployment-type", "CURRENT_VERSION")
	s.awsOK(t, nil, "wait", "service-instance-deployed", "--service-name", "api", "--name", "one")
	outs = awsJSON[outputsOut](t, s, "list-service-instance-outputs", "--service-name", "api", "--service-instance-name", "one")
	assertOutputs(t, "list-service-instance-outputs after the component's deployment", outs.Outputs,
		map[string]string{"ComponentName": "storage", "ComponentBucket": "first", "Port": "80"})
	instOut := awsJSON[serviceInstanceOut](t, s, "get-service-instance", "--service-name", "api", "--name", "one")
	dep := awsJSON[compDeploymentOut](t, s, "get-deployment", "--id", instOut.ServiceInstance.LastSucceededDeploymentID)
	if ts := dep.Deployment.TargetState; ts == nil || ts.ServiceInstance == nil ||
		!slices.Equal(ts.ServiceInstance.LastSuccessfulComponentDeploymentIDs, []string{firstID}) {
		t.Errorf("the instance's deployment has targetState %s, want lastSuccessfulComponentDeploymentIds [%s]", jsonText(ts), firstID)
	}

	// Update the component with a template file whose command works for two
	// minutes, and cancel the update while it runs.
	slow := componentScript("second", 120, false)
	out = awsJSON[componentOut](t, s, "update-component", "--name", "storage", "--deployment-type", "CURRENT_VERSION",
		"--template-file", "file://"+writeFile(t, "component.sh", slow))
	updateID := out.Component.LastAttemptedDeploymentID
	if out.Component.DeploymentStatus != "IN_PROGRESS" || updateID == firstID {
		t.Fatalf("update-component answered %+v, want a new deployment IN_PROGRESS", out.Component)
	}
	s.waitDeploymentLog(t, updateID, "component: started (storage, bucket second, instance one)")
	if msg := s.awsErr(t, "ConflictException", "update-service-instance", "--service-name", "api", "--name", "one",
		"--deployment-type", "CURRENT_VERSION"); !strings.Contains(msg, "storage") {
		t.Errorf("update-service-instance while its component deploys: %q does not name the component", msg)
	}
	out = awsJSON[componentOut](t, s, "cancel-component-deployment", "--component-name", "storage")
	if out.Component.DeploymentStatus != "CANCELLING" {
		t.Errorf("cancel-component-deployment answered deploymentStatus %s, want CANCELLING", out.Component.DeploymentStatus)
	}
	s.waitComponent(t, "storage", "CANCELLED", "FAILED", "SUCCEEDED")
	out = awsJSON[componentOut](t, s, "get-component", "--name", "storage")
	if c := out.Component; c.DeploymentStatus != "CANCELLED" || c.DeploymentStatusMessage != "User initiated cancellation." ||
		c.LastAttemptedDeploymentID != updateID || c.LastSucceededDeploymentID != firstID {
		t.Errorf("after the cancel: %+v; want CANCELLED (\"User initiated cancellation.\"), last attempted %s, last succeeded %s", c, updateID, firstID)
	}
	dep = awsJSON[compDeploymentOut](t, s, "get-deployment", "--id", updateID, "--component-name", "storage")
	if d := dep.Deployment; d.DeploymentStatus != "CANCELLED" || d.ComponentName != "storage" || d.TargetArn != arn || d.TargetResourceType != "COMPONENT" ||
		d.InitialState == nil || d.InitialState.Component == nil || d.InitialState.Component.TemplateFile != first ||
		d.TargetState == nil || d.TargetState.Component == nil || d.TargetState.Component.TemplateFile != slow {
		t.Errorf("get-deployment of the cancelled update: %s; want CANCELLED, of COMPONENT storage, the first template file as initial state and the slow one as target",
			jsonText(d))
	}
	outs = awsJSON[outputsOut](t, s, "list-component-outputs", "--component-name", "storage")
	assertOutputs(t, "list-component-outputs after the cancel", outs.Outputs, map[string]string{"Bucket": "first", "Instance": "one"})
	outs = awsJSON[outputsOut](t, s, "list-component-outputs", "--component-name", "storage", "--deployment-id", updateID)
	if len(outs.Outputs) != 0 {
		t.Errorf("list-component-outputs --deployment-id of the cancelled update: %v, want none", outs.Outputs)
	}

	// The template file in effect is still the first: a redeployment without
	// a template file runs it.
	out = awsJSON[componentOut](t, s, "update-component", "--name", "storage", "--deployment-type", "CURRENT_VERSION")
	redeployID := out.Component.LastAttemptedDeploymentID
	s.awaitComponentCLI(t, "storage")
	dep = awsJSON[compDeploymentOut](t, s, "get-deployment", "--id", redeployID)
	if d := dep.Deployment; d.DeploymentStatus != "SUCCEEDED" || d.TargetState == nil || d.TargetState.Component == nil ||
		d.TargetState.Component.TemplateFile != first || d.InitialState == nil || d.InitialState.Component == nil ||
		d.InitialState.Component.TemplateFile != first {
		t.Errorf("the redeployment after the cancel: %s; want SUCCEEDED with the first template file as initial and target state", jsonText(d))
	}
	if !strings.Contains(s.deploymentLog(redeployID), "component: started (storage, bucket first, instance one)") {
		t.Errorf("the redeployment did not run the first template file; its log:\n%s", s.deploymentLog(redeployID))
	}

	// Attached, it cannot be deleted.
	if msg := s.awsErr(t, "ConflictException", "delete-component", "--name", "storage"); !strings.Contains(msg, "attached") {
		t.Errorf("delete-component of an attached component: %q does not say it is attached", msg)
	}

	// Detach it (empty names): its next outputs say so, and the instance's
	// next deployment receives no component.
	out = awsJSON[componentOut](t, s, "update-component", "--name", "storage", "--deployment-type", "CURRENT_VERSION",
		"--service-name", "", "--service-instance-name", "")
	detachID := out.Component.LastAttemptedDeploymentID
	if c := s.awaitComponentCLI(t, "storage"); c.DeploymentStatus != "SUCCEEDED" || c.ServiceName != "" || c.ServiceInstanceName != "" ||
		c.ServiceSpec != "" || c.EnvironmentName != compEnv {
		t.Errorf("after the detach: %+v, want SUCCEEDED in %s with no service, instance or service spec", c, compEnv)
	}
	outs = awsJSON[outputsOut](t, s, "list-component-outputs", "--component-name", "storage")
	assertOutputs(t, "list-component-outputs after the detach", outs.Outputs, map[string]string{"Bucket": "first", "Instance": "none"})
	list := awsJSON[componentsOut](t, s, "list-components", "--service-name", "api")
	if len(list.Components) != 0 {
		t.Errorf("list-components --service-name api after the detach: %+v, want none", list.Components)
	}
	s.awsOK(t, nil, "update-service-instance", "--service-name", "api", "--name", "one", "--deployment-type", "CURRENT_VERSION")
	s.awaitInstanceCLI(t, "api", "one")
	outs = awsJSON[outputsOut](t, s, "list-service-instance-outputs", "--service-name", "api", "--service-instance-name", "one")
	assertOutputs(t, "list-service-instance-outputs after the detach", outs.Outputs,
		map[string]string{"ComponentName": "", "ComponentBucket": "", "Port": "80"})

	// Re-attach it.
	out = awsJSON[componentOut](t, s, "update-component", "--name", "storage", "--deployment-type", "CURRENT_VERSION",
		"--service-name", "api", "--service-instance-name", "one")
	if c := s.awaitComponentCLI(t, "storage"); c.DeploymentStatus != "SUCCEEDED" || c.ServiceName != "api" || c.ServiceInstanceName != "one" {
		t.Errorf("after the re-attach: %+v, want SUCCEEDED attached to api/one", c)
	}
	list = awsJSON[componentsOut](t, s, "list-components", "--service-name", "api", "--service-instance-name", "one")
	if len(list.Components) != 1 || list.Components[0].Name != "storage" {
		t.Errorf("list-components of api/one after the re-attach: %+v, want storage", list.Components)
	}
	outs = awsJSON[outputsOut](t, s, "list-component-outputs", "--component-name", "storage")
	assertOutputs(t, "list-component-outputs after the re-attach", outs.Outputs, map[string]string{"Bucket": "first", "Instance": "one"})
	if msg := s.awsErr(t, "ConflictException", "delete-service", "--name", "api"); !strings.Contains(msg, "storage") {
		t.Errorf("delete-service with an attached component: %q does not name the component", msg)
	}

	// Outputs of past deployments.
	outs = awsJSON[outputsOut](t, s, "list-component-outputs", "--component-name", "storage", "--deployment-id", firstID)
	assertOutputs(t, "list-component-outputs --deployment-id (the first)", outs.Outputs, map[string]string{"Bucket": "first", "Instance": "one"})
	outs = awsJSON[outputsOut](t, s, "list-component-outputs", "--component-name", "storage", "--deployment-id", detachID)
	assertOutputs(t, "list-component-outputs --deployment-id (the detach)", outs.Outputs, map[string]string{"Bucket": "first", "Instance": "none"})

	// Detach it again and delete it.
	out = awsJSON[componentOut](t, s, "update-component", "--name", "storage", "--deployment-type", "CURRENT_VERSION",
		"--service-name", "", "--service-instance-name", "")
	s.awaitComponentCLI(t, "storage")
	out = awsJSON[componentOut](t, s, "delete-component", "--name", "storage")
	if out.Component.DeploymentStatus != "DELETE_IN_PROGRESS" {
		t.Errorf("delete-component answered deploymentStatus %s, want DELETE_IN_PROGRESS", out.Component.DeploymentStatus)
	}
	deleteID := out.Component.LastAttemptedDeploymentID
	s.awsOK(t, nil, "wait", "component-deleted", "--name", "storage")
	s.awsErr(t, "ResourceNotFoundException", "get-component", "--name", "storage")

	// The history outlives the component.
	hist := awsJSON[compDeploymentsOut](t, s, "list-deployments", "--component-name", "storage")
	var ids, statuses []string
	for _, d := range hist.Deployments {
		ids = append(ids, d.ID)
		statuses = append(statuses, d.DeploymentStatus)
		if d.ComponentName != "storage" {
			t.Errorf("list-deployments --component-name storage lists %s of component %q", d.ID, d.ComponentName)
		}
	}
	if len(ids) != 7 || ids[0] != deleteID || ids[len(ids)-1] != firstID || !slices.Contains(ids, updateID) {
		t.Errorf("list-deployments --component-name storage: %v, want 7 deployments from the delete %s to the create %s, with the cancelled %s",
			ids, deleteID, firstID, updateID)
	}
	if want := "DELETE_COMPLETE SUCCEEDED SUCCEEDED SUCCEEDED SUCCEEDED CANCELLED SUCCEEDED"; strings.Join(statuses, " ") != want {
		t.Errorf("list-deployments --component-name storage: statuses %v, want %s", statuses, want)
	}

	// The failing component: the waiter ends in failure, and it can be deleted.
	s.waitComponent(t, "broken", "FAILED", "SUCCEEDED")
	s.waiterFails(t, "FAILED", "component-deployed", "--name", "broken")
	if c, err := s.getComponent("broken"); err != nil || c.DeploymentStatus != "FAILED" || c.LastAttemptedDeploymentID != brokenID {
		t.Errorf("the failing component: %+v (%v), want FAILED", c, err)
	}
	if l := s.deploymentLog(brokenID); !strings.Contains(l, "component: refusing to deploy") {
		t.Errorf("the failing component's log lacks its command's error:\n%s", l)
	}
	s.awsOK(t, nil, "delete-component", "--name", "broken")
	s.waitComponentGone(t, "broken")
}

// boto3Components is the component story with boto3 (see TestBoto3Components).
// Usage: python3 SCRIPT MANIFEST FIRST SLOW BROKEN SERVICE_SPEC (files).
const boto3Components = `
import json, os, sys, time

import boto3
from botocore.exceptions import ClientError, WaiterError

FAST = {"Delay": 1, "MaxAttempts": 60}


def poll(what, fn):
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        got = fn()
        if got is not None:
            return got
        time.sleep(0.1)
    raise SystemExit("timed out waiting for " + what)


def log_contains(deployment_id, text):
    path = os.path.join(os.environ["HADRON_DATA_DIR"], "logs", deployment_id + ".log")
    try:
        with open(path) as f:
            return True if text in f.read() else None
    except FileNotFoundError:
        return None


def main():
    manifest, first, slow, broken, spec = [open(p).read() for p in sys.argv[1:6]]
    p = boto3.client("proton", endpoint_url=os.environ["HADRON_ENDPOINT"], region_name="us-east-1",
                     aws_access_key_id="x", aws_secret_access_key="y")
    r = {}

    r["created"] = p.create_component(name="storage", manifest=manifest, templateFile=first,
                                      serviceName="api", serviceInstanceName="one", serviceSpec=spec)["component"]
    p.get_waiter("component_deployed").wait(name="storage", WaiterConfig=FAST)
    r["deployed"] = p.get_component(name="storage")["component"]
    r["outputs"] = p.list_component_outputs(componentName="storage")["outputs"]

    p.update_service_instance(serviceName="api", name="one", deploymentType="CURRENT_VERSION")
    p.get_waiter("service_instance_deployed").wait(serviceName="api", name="one", WaiterConfig=FAST)
    r["instanceOutputs"] = p.list_service_instance_outputs(serviceName="api", serviceInstanceName="one")["outputs"]

    up = p.update_component(name="storage", deploymentType="CURRENT_VERSION", templateFile=slow)["component"]
    r["updated"] = up
    poll("the update's command to start", lambda: log_contains(up["lastAttemptedDeploymentId"], "component: started"))
    r["cancelled"] = p.cancel_component_deployment(componentName="storage")["component"]

    def ended():
        c = p.get_component(name="storage")["component"]
        return None if c["deploymentStatus"] in ("IN_PROGRESS", "CANCELLING") else c

    r["final"] = poll("the cancel to end", ended)
    r["cancelledDeployment"] = p.get_deployment(id=up["lastAttemptedDeploymentId"], componentName="storage")["deployment"]

    p.update_component(name="storage", deploymentType="CURRENT_VERSION", serviceName="", serviceInstanceName="")
    p.get_waiter("component_deployed").wait(name="storage", WaiterConfig=FAST)
    r["detached"] = p.get_component(name="storage")["component"]
    r["detachedOutputs"] = p.list_component_outputs(componentName="storage")["outputs"]

    r["deleted"] = p.delete_component(name="storage")["component"]
    p.get_waiter("component_deleted").wait(name="storage", WaiterConfig=FAST)
    try:
        p.get_component(name="storage")
        r["afterDelete"] = None
    except ClientError as e:
        r["afterDelete"] = e.response["Error"]
    r["history"] = p.list_deployments(componentName="storage")["deployments"]

    p.create_component(name="broken", environmentName="dev", manifest=manifest, templateFile=broken)
    r["waiterError"] = None
    try:
        p.get_waiter("component_deployed").wait(name="broken", WaiterConfig=FAST)
    except WaiterError as e:
        r["waiterError"] = str(e)
        r["lastResponse"] = e.last_response
    print(json.dumps(r, default=str))


main()
`

// TestBoto3Components runs the core component story with boto3: its
// component_deployed and component_deleted waiters, cancel_component_deployment,
// a detach, and the component_deployed waiter's failure on a component whose
// command exits 1.
func TestBoto3Components(t *testing.T) {
	hadrontest.Long(t)
	t.Parallel()
	requireBoto3(t)
	s := startServer(t, t.TempDir(), "--allow-api-commands")
	s.componentFixture(t)

	dir := t.TempDir()
	files := map[string]string{
		"boto3_components.py": boto3Components,
		"manifest.yaml":       componentManifest,
		"first.sh":            componentScript("first", 0, false),
		"slow.sh":             componentScript("second", 120, false),
		"broken.sh":           componentScript("broken", 0, true),
		"spec.yaml":           serviceSpec(nil, inst("one", compEnv)),
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var args []string
	for _, name := range []string{"boto3_components.py", "manifest.yaml", "first.sh", "slow.sh", "broken.sh", "spec.yaml"} {
		args = append(args, filepath.Join(dir, name))
	}
	env := clientEnv("HADRON_ENDPOINT="+s.endpoint, "HADRON_DATA_DIR="+s.dataDir)
	res := runClient(t, env, pythonBin, args...)
	if res.Code != 0 {
		t.Fatalf("want success:\n%s", res)
	}
	var got struct {
		Created, Deployed, Updated, Cancelled, Final, Detached, Deleted component
		Outputs, InstanceOutputs, DetachedOutputs                       []output
		CancelledDeployment                                             compDeployment
		AfterDelete                                                     *struct{ Code, Message string }
		History                                                         []compDeployment
		WaiterError                                                     *string
		LastResponse                                                    componentOut
	}
	decodeJSON(t, res, &got)

	if got.Created.DeploymentStatus != "IN_PROGRESS" || got.Created.ServiceInstanceName != "one" {
		t.Errorf("create_component answered %+v, want IN_PROGRESS attached to one", got.Created)
	}
	if got.Deployed.DeploymentStatus != "SUCCEEDED" {
		t.Errorf("after the component_deployed waiter: %+v, want SUCCEEDED", got.Deployed)
	}
	assertOutputs(t, "list_component_outputs", got.Outputs, map[string]string{"Bucket": "first", "Instance": "one"})
	assertOutputs(t, "list_service_instance_outputs", got.InstanceOutputs,
		map[string]string{"ComponentName": "storage", "ComponentBucket": "first", "Port": "80"})
	if got.Cancelled.DeploymentStatus != "CANCELLING" {
		t.Errorf("cancel_component_deployment answered deploymentStatus %s, want CANCELLING", got.Cancelled.DeploymentStatus)
	}
	if f := got.Final; f.DeploymentStatus != "CANCELLED" || f.DeploymentStatusMessage != "User initiated cancellation." ||
		f.LastSucceededDeploymentID != got.Created.LastAttemptedDeploymentID {
		t.Errorf("after the cancel: %+v; want CANCELLED (\"User initiated cancellation.\") with the first deployment as last succeeded", f)
	}
	if d := got.CancelledDeployment; d.DeploymentStatus != "CANCELLED" || d.InitialState == nil || d.InitialState.Component == nil ||
		d.InitialState.Component.TemplateFile != files["first.sh"] || d.TargetState == nil || d.TargetState.Component == nil ||
		d.TargetState.Component.TemplateFile != files["slow.sh"] {
		t.Errorf("get_deployment of the cancelled update: %s", jsonText(d))
	}
	if d := got.Detached; d.DeploymentStatus != "SUCCEEDED" || d.ServiceName != "" || d.ServiceInstanceName != "" {
		t.Errorf("after the detach: %+v, want SUCCEEDED with no service or instance", d)
	}
	// The detach ran the template file in effect, the first, not the cancelled one.
	assertOutputs(t, "list_component_outputs after the detach", got.DetachedOutputs, map[string]string{"Bucket": "first", "Instance": "none"})
	if got.Deleted.DeploymentStatus != "DELETE_IN_PROGRESS" {
		t.Errorf("delete_component answered deploymentStatus %s, want DELETE_IN_PROGRESS", got.Deleted.DeploymentStatus)
	}
	if got.AfterDelete == nil || got.AfterDelete.Code != "ResourceNotFoundException" {
		t.Errorf("get_component after the component_deleted waiter: %+v, want ResourceNotFoundException", got.AfterDelete)
	}
	var statuses []string
	for _, d := range got.History {
		statuses = append(statuses, d.DeploymentStatus)
	}
	if want := "DELETE_COMPLETE SUCCEEDED CANCELLED SUCCEEDED"; strings.Join(statuses, " ") != want {
		t.Errorf("list_deployments(componentName=storage): statuses %v, want %s", statuses, want)
	}
	if got.WaiterError == nil {
		t.Fatalf("the component_deployed waiter succeeded on a component whose command exits 1; last %+v", got.LastResponse.Component)
	}
	if !strings.Contains(*got.WaiterError, "FAILED") {
		t.Errorf("WaiterError %q does not name FAILED", *got.WaiterError)
	}
	if c := got.LastResponse.Component; c.DeploymentStatus != "FAILED" || c.Name != "broken" {
		t.Errorf("the waiter's last response: %+v, want component broken FAILED", c)
	}
}

// decodeJSON decodes a client's JSON output into out.
func decodeJSON(t *testing.T, res clientResult, out any) {
	t.Helper()
	if err := json.Unmarshal([]byte(res.Stdout), out); err != nil {
		t.Fatalf("decode the output: %v\n%s", err, res)
	}
}
