package server_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hadronhq/hadron/internal/hadrontest"
)

// serviceSetup publishes the environment template "net" and deploys the
// environments, publishes the service template "web" compatible with it, and
// sets the account's pipeline role.
func serviceSetup(t *testing.T, envs ...string) *hadron {
	t.Helper()
	h := setup(t)
	h.publishedTemplate("net", "slow.tgz", "")
	for _, e := range envs {
		h.ok("CreateEnvironment", m{"name": e, "templateName": "net", "templateMajorVersion": "1", "codebuildRoleArn": codebuildRole,
			"spec": spec(fmt.Sprintf("  name: %s\n", e))})
	}
	for _, e := range envs {
		h.waitEnvironment(e, "SUCCEEDED")
	}
	h.ok("UpdateAccountSettings", m{"pipelineCodebuildRoleArn": "arn:aws:iam::123456789012:role/pipeline"})
	h.ok("CreateServiceTemplate", m{"name": "web"})
	r := h.ok("CreateServiceTemplateVersion", m{"templateName": "web", "source": m{"s3": m{"bucket": "bundles", "key": "svc.tgz"}},
		"compatibleEnvironmentTemplates": []m{{"templateName": "net", "majorVersion": "1"}}})
	if got := r.str("serviceTemplateVersion.majorVersion"); got != "1" {
		t.Fatalf("service template version = %v", r.body)
	}
	h.waitFor("GetServiceTemplateVersion", m{"templateName": "web", "majorVersion": "1", "minorVersion": "0"},
		"serviceTemplateVersion.status", "DRAFT", "REGISTRATION_IN_PROGRESS")
	h.ok("UpdateServiceTemplateVersion", m{"templateName": "web", "majorVersion": "1", "minorVersion": "0", "status": "PUBLISHED"})
	return h
}

// serviceSpec writes a service spec; each instance is "name@environment" plus optional inputs.
func serviceSpec(pipeline string, instances ...string) string {
	var b strings.Builder
	b.WriteString("proton: ServiceSpec\npipeline:\n  stages: 1\n" + pipeline + "instances:\n")
	for _, inst := range instances {
		name, rest, _ := strings.Cut(inst, "@")
		env, inputs, _ := strings.Cut(rest, " ")
		fmt.Fprintf(&b, "  - name: %s\n    environment: %s\n    spec:\n      port: 8080\n", name, env)
		if inputs != "" {
			for _, kv := range strings.Split(inputs, ",") {
				fmt.Fprintf(&b, "      %s\n", strings.Replace(kv, "=", ": ", 1))
			}
		}
	}
	return b.String()
}

func (h *hadron) waitService(name, want string) response {
	h.t.Helper()
	return h.waitFor("GetService", m{"name": name}, "service.status", want,
		"CREATE_IN_PROGRESS", "UPDATE_IN_PROGRESS", "DELETE_IN_PROGRESS", "CREATE_FAILED_CLEANUP_IN_PROGRESS", "UPDATE_FAILED_CLEANUP_IN_PROGRESS")
}

func (h *hadron) waitInstance(service, name, want string) response {
	h.t.Helper()
	return h.waitFor("GetServiceInstance", m{"serviceName": service, "name": name}, "serviceInstance.deploymentStatus", want,
		"IN_PROGRESS", "CANCELLING", "DELETE_IN_PROGRESS")
}

func outputValue(t *testing.T, r response, key string) string {
	t.Helper()
	for _, o := range r.body["outputs"].([]any) {
		if o.(map[string]any)["key"] == key {
			return o.(map[string]any)["valueString"].(string)
		}
	}
	return ""
}

func TestServiceWorkflowWithInstancesPipelineAndCancels(t *testing.T) {
	t.Parallel()
	h := serviceSetup(t, "alpha", "beta")
	created := h.ok("CreateService", m{"name": "api", "templateName": "web", "templateMajorVersion": "1",
		"spec": serviceSpec("", "one@alpha", "two@beta")})
	if got := created.str("service.status"); got != "CREATE_IN_PROGRESS" {
		t.Errorf("CreateService answers %s", got)
	}
	if got := created.str("service.pipeline.deploymentStatus"); got != "IN_PROGRESS" {
		t.Errorf("pipeline at create = %q, want IN_PROGRESS", got)
	}
	// Proton's create examples: attempted at its creation, no success yet.
	pipe := created.body["service"].(map[string]any)["pipeline"].(map[string]any)
	if pipe["lastDeploymentAttemptedAt"] != pipe["createdAt"] || pipe["lastDeploymentSucceededAt"] != nil {
		t.Errorf("pipeline at create: lastDeploymentAttemptedAt %v (createdAt %v), lastDeploymentSucceededAt %v; want createdAt and none",
			pipe["lastDeploymentAttemptedAt"], pipe["createdAt"], pipe["lastDeploymentSucceededAt"])
	}
	h.waitService("api", "ACTIVE")
	if got := outputValue(t, h.ok("ListServiceInstanceOutputs", m{"serviceName": "api", "serviceInstanceName": "two"}), "EnvName"); got != "beta" {
		t.Errorf("instance two saw environment output Name = %q, want beta", got)
	}
	if got := outputValue(t, h.ok("ListServicePipelineOutputs", m{"serviceName": "api"}), "Instances"); got != "2" {
		t.Errorf("pipeline saw %q instances, want 2", got)
	}

	// Update one instance slowly and cancel it: it keeps its last good spec.
	before := h.ok("GetServiceInstance", m{"serviceName": "api", "name": "one"}).str("serviceInstance.spec")
	h.ok("UpdateServiceInstance", m{"serviceName": "api", "name": "one", "deploymentType": "CURRENT_VERSION",
		"spec": serviceSpec("", "one@alpha seconds=60", "two@beta")})
	id := h.ok("GetServiceInstance", m{"serviceName": "api", "name": "one"}).str("serviceInstance.lastAttemptedDeploymentId")
	waitLog(t, h, id, "$ sh ./run.sh")
	h.fails("UpdateServiceInstance", m{"serviceName": "api", "name": "one", "deploymentType": "CURRENT_VERSION"}, "ConflictException", "IN_PROGRESS")
	if got := h.ok("CancelServiceInstanceDeployment", m{"serviceName": "api", "serviceInstanceName": "one"}).str("serviceInstance.deploymentStatus"); got != "CANCELLING" {
		t.Errorf("instance cancel answers %s", got)
	}
	inst := h.waitInstance("api", "one", "CANCELLED")
	if inst.str("serviceInstance.spec") != before || inst.str("serviceInstance.deploymentStatusMessage") != "User initiated cancellation." {
		t.Errorf("instance after cancel = %v", inst.body)
	}
	h.fails("CancelServiceInstanceDeployment", m{"serviceName": "api", "serviceInstanceName": "one"}, "ConflictException", "CANCELLED")

	// The same for the pipeline.
	h.ok("UpdateServicePipeline", m{"serviceName": "api", "deploymentType": "CURRENT_VERSION",
		"spec": serviceSpec("  seconds: 60\n", "one@alpha", "two@beta")})
	pid := h.ok("GetService", m{"name": "api"}).str("service.pipeline.lastAttemptedDeploymentId")
	waitLog(t, h, pid, "$ sh ./pipeline.sh")
	if got := h.ok("CancelServicePipelineDeployment", m{"serviceName": "api"}).str("pipeline.deploymentStatus"); got != "CANCELLING" {
		t.Errorf("pipeline cancel answers %s", got)
	}
	h.waitFor("GetService", m{"name": "api"}, "service.pipeline.deploymentStatus", "CANCELLED", "IN_PROGRESS", "CANCELLING")
	if msg := h.fails("CancelServicePipelineDeployment", m{"serviceName": "api"}, "ConflictException", "service pipeline of api ", "CANCELLED"); strings.Contains(msg, "of pipeline") {
		t.Errorf("the conflict names the pipeline, not its service: %q", msg)
	}

	// Add an instance, remove another: the pipeline deploys again with the new set.
	h.ok("UpdateService", m{"name": "api", "spec": serviceSpec("", "one@alpha", "three@alpha")})
	h.fails("UpdateService", m{"name": "api", "spec": serviceSpec("", "one@alpha")}, "ConflictException")
	h.waitService("api", "ACTIVE")
	h.fails("GetServiceInstance", m{"serviceName": "api", "name": "two"}, "ResourceNotFoundException", "two")
	h.waitInstance("api", "three", "SUCCEEDED")
	if got := outputValue(t, h.ok("ListServicePipelineOutputs", m{"serviceName": "api"}), "Instances"); got != "2" {
		t.Errorf("pipeline after the update saw %q instances, want 2", got)
	}

	// Add one more with CreateServiceInstance.
	h.ok("CreateServiceInstance", m{"serviceName": "api", "name": "four", "spec": serviceSpec("", "four@beta")})
	h.waitInstance("api", "four", "SUCCEEDED")
	list := h.ok("ListServiceInstances", m{"serviceName": "api", "sortBy": "name", "sortOrder": "DESCENDING", "maxResults": 2})
	names := []string{}
	for _, i := range list.body["serviceInstances"].([]any) {
		names = append(names, i.(map[string]any)["name"].(string))
	}
	if strings.Join(names, ",") != "three,one" || list.str("nextToken") == "" {
		t.Errorf("first page of instances by name descending = %v (token %q)", names, list.str("nextToken"))
	}
	filtered := h.ok("ListServiceInstances", m{"filters": []m{{"key": "environmentName", "value": "beta"}}})
	if n := len(filtered.body["serviceInstances"].([]any)); n != 1 {
		t.Errorf("instances in beta = %d, want 1 (four)", n)
	}
	deps := h.ok("ListDeployments", m{"serviceName": "api", "serviceInstanceName": "one"}).body["deployments"].([]any)
	if len(deps) != 2 {
		t.Errorf("deployments of instance one = %d, want 2 (create, cancelled update)", len(deps))
	}

	h.fails("DeleteEnvironment", m{"name": "alpha"}, "ConflictException", "service/api")
	h.ok("DeleteService", m{"name": "api"})
	h.waitFor("ListServices", m{}, "nextToken", "")
	hadrontest.Eventually(t, 20*time.Second, "service api to go away", func() (bool, string) {
		r := h.call("GetService", m{"name": "api"})
		return r.errTyp == "ResourceNotFoundException", fmt.Sprint(r.status, r.body)
	})
	h.ok("DeleteEnvironment", m{"name": "alpha"})
}

func TestServiceWhoseInstanceFailsIsCleanedUp(t *testing.T) {
	t.Parallel()
	h := serviceSetup(t, "alpha")
	h.ok("CreateService", m{"name": "bad", "templateName": "web", "templateMajorVersion": "1",
		"spec": serviceSpec("", "ok@alpha", "broken@alpha fail=true")})
	svc := h.waitService("bad", "CREATE_FAILED_CLEANUP_COMPLETE")
	if msg := svc.str("service.statusMessage"); !strings.Contains(msg, "broken") || !strings.Contains(msg, "refused") {
		t.Errorf("statusMessage = %q, want it to name the failed instance and why", msg)
	}
	if got := h.ok("ListServiceInstances", m{"serviceName": "bad"}).body["serviceInstances"].([]any); len(got) != 0 {
		t.Errorf("instances left after cleanup: %v", got)
	}
	h.ok("DeleteService", m{"name": "bad"})
}

func TestServiceUpdateWhoseNewInstanceFailsRevertsItsSpec(t *testing.T) {
	t.Parallel()
	h := serviceSetup(t, "alpha")
	first := serviceSpec("", "one@alpha")
	h.ok("CreateService", m{"name": "api", "templateName": "web", "templateMajorVersion": "1", "spec": first})
	h.waitService("api", "ACTIVE")
	h.ok("UpdateService", m{"name": "api", "spec": serviceSpec("", "one@alpha", "broken@alpha fail=true")})
	svc := h.waitService("api", "UPDATE_FAILED_CLEANUP_COMPLETE")
	if svc.str("service.spec") != first {
		t.Errorf("spec after the failed update = %q, want the previous one", svc.str("service.spec"))
	}
	h.fails("GetServiceInstance", m{"serviceName": "api", "name": "broken"}, "ResourceNotFoundException")
	h.waitInstance("api", "one", "SUCCEEDED")
}

func TestServiceRulesRefuseBadInput(t *testing.T) {
	t.Parallel()
	h := serviceSetup(t, "alpha")
	create := func(spec string) m {
		return m{"name": "api", "templateName": "web", "templateMajorVersion": "1", "spec": spec}
	}
	h.fails("CreateService", create(serviceSpec("", "one@nowhere")), "ResourceNotFoundException", "nowhere")
	h.fails("CreateService", create(serviceSpec("", "one@alpha port=high")), "ValidationException", "port")
	h.fails("CreateService", create("proton: ServiceSpec\npipeline:\n  stages: 1\n"), "ValidationException", "instances is missing")
	h.fails("GetService", m{"name": "api"}, "ResourceNotFoundException", "api")
	h.fails("CancelServicePipelineDeployment", m{"serviceName": "api"}, "ResourceNotFoundException", "api")
	h.fails("ListServiceInstances", m{"filters": []m{{"key": "createdAtBefore", "value": "yesterday"}}}, "ValidationException", "createdAtBefore")
}

func TestCurrentValueInAServiceSpecKeepsTheInstancesValue(t *testing.T) {
	t.Parallel()
	h := serviceSetup(t, "alpha")
	h.ok("CreateService", m{"name": "api", "templateName": "web", "templateMajorVersion": "1", "spec": serviceSpec("", "one@alpha seconds=1")})
	h.waitService("api", "ACTIVE")
	for range 2 {
		h.ok("UpdateServiceInstance", m{"serviceName": "api", "name": "one", "deploymentType": "CURRENT_VERSION",
			"spec": serviceSpec("", `one@alpha seconds="${Proton::CURRENT_VAL}"`)})
		inst := h.waitInstance("api", "one", "SUCCEEDED")
		if got := inst.str("serviceInstance.spec"); strings.Contains(got, "CURRENT_VAL") || !strings.Contains(got, "seconds: 1") {
			t.Fatalf("instance spec kept after the update = %q, want seconds: 1", got)
		}
	}
	h.ok("UpdateServiceInstance", m{"serviceName": "api", "name": "one", "deploymentType": "CURRENT_VERSION"})
	h.waitInstance("api", "one", "SUCCEEDED")
	h.ok("UpdateServicePipeline", m{"serviceName": "api", "deploymentType": "CURRENT_VERSION", "spec": serviceSpec("  seconds: \"${Proton::CURRENT_VAL}\"\n", "one@alpha seconds=1")})
	h.waitFor("GetService", m{"name": "api"}, "service.pipeline.deploymentStatus", "SUCCEEDED", "IN_PROGRESS")
	if got := h.ok("GetService", m{"name": "api"}).str("service.pipeline.spec"); strings.Contains(got, "CURRENT_VAL") {
		t.Errorf("pipeline spec kept the placeholder: %q", got)
	}
}

// A service may be created with no instance (instances: []): its pipeline
// deploys at once (seeing no instances) and the service is ACTIVE; instances
// come later with CreateServiceInstance. A spec without the instances key
// is refused, naming it. Without a pipeline, the create answers ACTIVE.
func TestServiceCreatedWithNoInstancesGetsThemLater(t *testing.T) {
	t.Parallel()
	h := serviceSetup(t, "alpha")
	noKey := "proton: ServiceSpec\npipeline:\n  stages: 1\n"
	h.fails("CreateService", m{"name": "api", "templateName": "web", "templateMajorVersion": "1", "spec": noKey},
		"ValidationException", "instances is missing", "instances: []")
	h.ok("CreateService", m{"name": "api", "templateName": "web", "templateMajorVersion": "1", "spec": noKey + "instances: []\n"})
	h.waitService("api", "ACTIVE")
	if got := h.ok("GetService", m{"name": "api"}).str("service.pipeline.deploymentStatus"); got != "SUCCEEDED" {
		t.Errorf("pipeline = %s, want SUCCEEDED", got)
	}
	if got := outputValue(t, h.ok("ListServicePipelineOutputs", m{"serviceName": "api"}), "Instances"); got != "0" {
		t.Errorf("pipeline saw %q instances, want 0", got)
	}
	h.ok("CreateServiceInstance", m{"serviceName": "api", "name": "one", "spec": serviceSpec("", "one@alpha")})
	h.waitInstance("api", "one", "SUCCEEDED")
	if got := outputValue(t, h.ok("ListServiceInstanceOutputs", m{"serviceName": "api", "serviceInstanceName": "one"}), "EnvName"); got != "alpha" {
		t.Errorf("instance one saw environment output Name = %q, want alpha", got)
	}

	h.putBundles("svc-nopipe")
	h.ok("CreateServiceTemplate", m{"name": "bare"})
	h.ok("CreateServiceTemplateVersion", m{"templateName": "bare", "source": m{"s3": m{"bucket": "bundles", "key": "svc-nopipe.tgz"}},
		"compatibleEnvironmentTemplates": []m{{"templateName": "net", "majorVersion": "1"}}})
	h.waitFor("GetServiceTemplateVersion", m{"templateName": "bare", "majorVersion": "1", "minorVersion": "0"},
		"serviceTemplateVersion.status", "DRAFT", "REGISTRATION_IN_PROGRESS")
	h.ok("UpdateServiceTemplateVersion", m{"templateName": "bare", "majorVersion": "1", "minorVersion": "0", "status": "PUBLISHED"})
	created := h.ok("CreateService", m{"name": "lone", "templateName": "bare", "templateMajorVersion": "1", "spec": "proton: ServiceSpec\ninstances: []\n"})
	if got := created.str("service.status"); got != "ACTIVE" {
		t.Errorf("a service without a pipeline or instances answers %s at create, want ACTIVE", got)
	}
}
