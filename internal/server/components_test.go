package server_test

import (
	"strconv"
	"strings"
	"testing"
)

const componentManifest = `infrastructure:
  templates:
    - file: component.sh
      rendering_engine: codebuild
      settings:
        provision:
          - sh ./component.sh
        deprovision:
          - echo "deprovisioning $RESOURCE_ARN"
`

// componentScript writes the output Bucket=bucket after seconds.
func componentScript(bucket string, seconds int) string {
	return "i=0\nwhile [ \"$i\" -lt " + strconv.Itoa(seconds*20) + " ]; do sleep 0.05; i=$((i + 1)); done\n" +
		"printf '{\"Bucket\": \"" + bucket + "\"}' > proton-outputs.json\n"
}

// componentSetup is serviceSetup with an environment that has a component
// role and a service "api" (one instance "one" in alpha) whose template
// version allows directly defined components.
func componentSetup(t *testing.T) *hadron {
	t.Helper()
	h := serviceSetup(t, "alpha")
	h.ok("UpdateEnvironment", m{"name": "alpha", "deploymentType": "NONE", "componentRoleArn": "arn:aws:iam::123456789012:role/component"})
	h.ok("UpdateServiceTemplateVersion", m{"templateName": "web", "majorVersion": "1", "minorVersion": "0", "supportedComponentSources": []string{"DIRECTLY_DEFINED"}})
	h.ok("CreateService", m{"name": "api", "templateName": "web", "templateMajorVersion": "1", "spec": serviceSpec("", "one@alpha")})
	h.waitService("api", "ACTIVE")
	return h
}

func (h *hadron) waitComponent(name, want string) response {
	h.t.Helper()
	return h.waitFor("GetComponent", m{"name": name}, "component.deploymentStatus", want, "IN_PROGRESS", "CANCELLING", "DELETE_IN_PROGRESS")
}

func TestComponentLifecycleAttachedToAnInstance(t *testing.T) {
	t.Parallel()
	h := componentSetup(t)
	attach := m{"serviceName": "api", "serviceInstanceName": "one"}
	h.ok("CreateComponent", m{"name": "storage", "manifest": componentManifest, "templateFile": componentScript("first", 0),
		"serviceName": "api", "serviceInstanceName": "one", "serviceSpec": serviceSpec("", "one@alpha")})
	c := h.waitComponent("storage", "SUCCEEDED")
	if c.str("component.environmentName") != "alpha" || c.str("component.serviceInstanceName") != "one" {
		t.Errorf("component = %v", c.body)
	}
	firstDeployment := c.str("component.lastSucceededDeploymentId")
	if got := outputValue(t, h.ok("ListComponentOutputs", m{"componentName": "storage"}), "Bucket"); got != "first" {
		t.Errorf("component output Bucket = %q", got)
	}

	// The instance's next deployment sees the component's outputs.
	h.ok("UpdateServiceInstance", m{"serviceName": "api", "name": "one", "deploymentType": "CURRENT_VERSION"})
	inst := h.waitInstance("api", "one", "SUCCEEDED")
	if got := outputValue(t, h.ok("ListServiceInstanceOutputs", m{"serviceName": "api", "serviceInstanceName": "one"}), "ComponentBucket"); got != "first" {
		t.Errorf("instance saw component output %q, want first", got)
	}
	d := h.ok("GetDeployment", m{"id": inst.str("serviceInstance.lastSucceededDeploymentId")})
	if ids, _ := d.body["deployment"].(map[string]any)["targetState"].(map[string]any)["serviceInstance"].(map[string]any)["lastSuccessfulComponentDeploymentIds"].([]any); len(ids) != 1 || ids[0] != firstDeployment {
		t.Errorf("instance deployment rendered against components %v, want [%s]", ids, firstDeployment)
	}

	// An update that runs long, cancelled: the template file in effect stays.
	h.ok("UpdateComponent", m{"name": "storage", "deploymentType": "CURRENT_VERSION", "templateFile": componentScript("second", 60)})
	running := h.ok("GetComponent", m{"name": "storage"}).str("component.lastAttemptedDeploymentId")
	waitLog(t, h, running, "$ sh ./component.sh")
	h.fails("UpdateServiceInstance", m{"serviceName": "api", "name": "one", "deploymentType": "CURRENT_VERSION"}, "ConflictException", "storage")
	h.fails("UpdateComponent", m{"name": "storage", "deploymentType": "CURRENT_VERSION"}, "ConflictException", "IN_PROGRESS")
	if got := h.ok("CancelComponentDeployment", m{"componentName": "storage"}).str("component.deploymentStatus"); got != "CANCELLING" {
		t.Errorf("cancel answers %s", got)
	}
	h.waitComponent("storage", "CANCELLED")
	dep := h.ok("GetDeployment", m{"id": running, "componentName": "storage"})
	if !strings.Contains(dep.str("deployment.initialState.component.templateFile"), "first") ||
		!strings.Contains(dep.str("deployment.targetState.component.templateFile"), "second") {
		t.Errorf("cancelled deployment states = %v", dep.body)
	}
	h.ok("UpdateComponent", m{"name": "storage", "deploymentType": "CURRENT_VERSION"})
	h.waitComponent("storage", "SUCCEEDED")
	if got := outputValue(t, h.ok("ListComponentOutputs", m{"componentName": "storage"}), "Bucket"); got != "first" {
		t.Errorf("after the cancel the component runs template %q, want the last successful one (first)", got)
	}

	// An instance has one component.
	h.fails("CreateComponent", m{"name": "second", "manifest": componentManifest, "templateFile": componentScript("x", 0),
		"serviceName": "api", "serviceInstanceName": "one"}, "ConflictException", "storage")

	// Attached: neither it nor its service can be deleted.
	h.fails("DeleteComponent", m{"name": "storage"}, "ConflictException", "attached")
	h.fails("DeleteService", m{"name": "api"}, "ConflictException", "storage")
	h.fails("UpdateComponent", m{"name": "storage", "deploymentType": "NONE", "serviceName": "api", "serviceInstanceName": "one"}, "ValidationException", "NONE")

	// Detach, re-attach, detach, delete.
	h.ok("UpdateComponent", m{"name": "storage", "deploymentType": "CURRENT_VERSION", "serviceName": "", "serviceInstanceName": ""})
	if got := h.waitComponent("storage", "SUCCEEDED").str("component.serviceName"); got != "" {
		t.Errorf("detached component still names service %q", got)
	}
	h.ok("UpdateComponent", m{"name": "storage", "deploymentType": "CURRENT_VERSION", "serviceName": attach["serviceName"], "serviceInstanceName": attach["serviceInstanceName"]})
	if got := h.waitComponent("storage", "SUCCEEDED").str("component.serviceInstanceName"); got != "one" {
		t.Errorf("re-attached component names instance %q", got)
	}
	list := h.ok("ListComponents", m{"serviceName": "api", "serviceInstanceName": "one"}).body["components"].([]any)
	if len(list) != 1 {
		t.Errorf("components of api/one = %v", list)
	}
	h.ok("UpdateComponent", m{"name": "storage", "deploymentType": "CURRENT_VERSION", "serviceName": "", "serviceInstanceName": ""})
	h.waitComponent("storage", "SUCCEEDED")
	del := h.ok("DeleteComponent", m{"name": "storage"})
	h.waitFor("GetDeployment", m{"id": del.str("component.lastAttemptedDeploymentId")}, "deployment.deploymentStatus", "DELETE_COMPLETE", "DELETE_IN_PROGRESS")
	h.fails("GetComponent", m{"name": "storage"}, "ResourceNotFoundException", "storage")
	if got := h.ok("ListDeployments", m{"componentName": "storage"}).body["deployments"].([]any); len(got) < 6 {
		t.Errorf("component history has %d deployments, want every attempt", len(got))
	}
}

func TestComponentRulesRefuseWhatProtonRefused(t *testing.T) {
	t.Parallel()
	h := componentSetup(t)
	base := func(extra m) m {
		in := m{"name": "c", "manifest": componentManifest, "templateFile": componentScript("x", 0)}
		for k, v := range extra {
			in[k] = v
		}
		return in
	}
	h.fails("CreateComponent", base(m{"serviceName": "api"}), "ValidationException", "serviceInstanceName")
	h.fails("CreateComponent", base(nil), "ValidationException", "environmentName")
	h.fails("CreateComponent", base(m{"serviceName": "api", "serviceInstanceName": "nope"}), "ResourceNotFoundException", "nope")
	h.fails("CreateComponent", base(m{"environmentName": "alpha", "manifest": "infrastructure: ["}), "ValidationException", "manifest")
	h.fails("CreateComponent", base(m{"environmentName": "alpha", "templateFile": strings.Repeat("x", 51201)}), "ValidationException", "templateFile")

	// An environment without a component role.
	h.ok("CreateEnvironment", m{"name": "norole", "templateName": "net", "templateMajorVersion": "1", "codebuildRoleArn": codebuildRole, "spec": spec("  name: b\n")})
	h.waitEnvironment("norole", "SUCCEEDED")
	h.fails("CreateComponent", base(m{"environmentName": "norole"}), "ValidationException", "componentRoleArn")

	// A component whose manifest names an engine Hadron does not run is
	// accepted, and its deployment fails naming the engine.
	cfn := "infrastructure:\n  templates:\n    - file: cloudformation.yaml\n      rendering_engine: jinja\n      template_language: cloudformation\n"
	h.ok("CreateComponent", base(m{"name": "cfn", "environmentName": "alpha", "manifest": cfn, "templateFile": "Resources: {}\n"}))
	if msg := h.waitComponent("cfn", "FAILED").str("component.deploymentStatusMessage"); !strings.Contains(msg, "cloudformation") {
		t.Errorf("message = %q", msg)
	}
	// Its environment cannot be deleted while it is there.
	h.fails("DeleteEnvironment", m{"name": "alpha"}, "ConflictException", "component/cfn")
	h.ok("DeleteComponent", m{"name": "cfn"})
}
