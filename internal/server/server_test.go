package server_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hadronhq/hadron/internal/hadrontest"
)

func TestEnvironmentWorkflowFromTemplateToDelete(t *testing.T) {
	t.Parallel()
	h := setup(t)
	h.publishedTemplate("net", "slow.tgz", "")
	if got := h.ok("GetEnvironmentTemplate", m{"name": "net"}).str("environmentTemplate.recommendedVersion"); got != "1.0" {
		t.Errorf("recommendedVersion = %q, want 1.0", got)
	}

	r := h.ok("CreateEnvironment", m{"name": "dev", "templateName": "net", "templateMajorVersion": "1",
		"codebuildRoleArn": codebuildRole, "spec": spec("  name: first\n")})
	if got := r.str("environment.deploymentStatus"); got != "IN_PROGRESS" {
		t.Errorf("create answers %s, want IN_PROGRESS", got)
	}
	first := h.waitEnvironment("dev", "SUCCEEDED").str("environment.lastSucceededDeploymentId")
	outputs := h.ok("ListEnvironmentOutputs", m{"environmentName": "dev"}).body["outputs"].([]any)
	if len(outputs) != 2 || outputs[0].(map[string]any)["valueString"] != "first" {
		t.Errorf("outputs = %v, want Name=first, Seconds=0", outputs)
	}

	// An update that runs long, cancelled while it runs.
	h.ok("UpdateEnvironment", m{"name": "dev", "deploymentType": "CURRENT_VERSION", "spec": spec("  name: second\n  seconds: 60\n")})
	h.waitFor("GetEnvironment", m{"name": "dev"}, "environment.deploymentStatus", "IN_PROGRESS")
	running := h.ok("GetEnvironment", m{"name": "dev"}).str("environment.lastAttemptedDeploymentId")
	waitLog(t, h, running, "$ sh ./run.sh")
	c := h.ok("CancelEnvironmentDeployment", m{"environmentName": "dev"})
	if got := c.str("environment.deploymentStatus"); got != "CANCELLING" {
		t.Errorf("cancel answers %s, want CANCELLING", got)
	}
	e := h.waitEnvironment("dev", "CANCELLED")
	if got := e.str("environment.deploymentStatusMessage"); got != "User initiated cancellation." {
		t.Errorf("message = %q", got)
	}
	if got := e.str("environment.spec"); !strings.Contains(got, "first") {
		t.Errorf("spec after cancel = %q, want the last successful one", got)
	}
	if got := e.str("environment.lastSucceededDeploymentId"); got != first {
		t.Errorf("lastSucceededDeploymentId = %s, want %s", got, first)
	}
	h.fails("CancelEnvironmentDeployment", m{"environmentName": "dev"}, "ConflictException", "CANCELLED")

	// History, newest first, one per page.
	var ids []string
	token := ""
	for {
		in := m{"environmentName": "dev", "maxResults": 1}
		if token != "" {
			in["nextToken"] = token
		}
		page := h.ok("ListDeployments", in)
		for _, d := range page.body["deployments"].([]any) {
			ids = append(ids, d.(map[string]any)["id"].(string))
		}
		if token = page.str("nextToken"); token == "" {
			break
		}
	}
	if len(ids) != 2 || ids[0] != running || ids[1] != first {
		t.Errorf("deployments = %v, want [%s %s]", ids, running, first)
	}
	d := h.ok("GetDeployment", m{"id": running})
	if d.str("deployment.deploymentStatus") != "CANCELLED" || !strings.Contains(d.str("deployment.targetState.environment.spec"), "second") ||
		!strings.Contains(d.str("deployment.initialState.environment.spec"), "first") {
		t.Errorf("deployment = %v", d.body)
	}
	past := h.ok("ListEnvironmentOutputs", m{"environmentName": "dev", "deploymentId": first}).body["outputs"].([]any)
	if len(past) != 2 {
		t.Errorf("outputs of the first deployment = %v", past)
	}
	h.fails("ListEnvironmentOutputs", m{"environmentName": "dev", "deploymentId": "00000000-0000-4000-8000-000000000000"}, "ResourceNotFoundException")

	h.fails("DeleteEnvironmentTemplateVersion", m{"templateName": "net", "majorVersion": "1", "minorVersion": "0"}, "ConflictException", "in use")
	del := h.ok("DeleteEnvironment", m{"name": "dev"})
	if got := del.str("environment.deploymentStatus"); got != "DELETE_IN_PROGRESS" {
		t.Errorf("delete answers %s", got)
	}
	h.waitFor("GetDeployment", m{"id": del.str("environment.lastAttemptedDeploymentId")}, "deployment.deploymentStatus", "DELETE_COMPLETE", "DELETE_IN_PROGRESS")
	h.fails("GetEnvironment", m{"name": "dev"}, "ResourceNotFoundException", "dev")
	h.ok("DeleteEnvironmentTemplateVersion", m{"templateName": "net", "majorVersion": "1", "minorVersion": "0"})
	h.ok("DeleteEnvironmentTemplate", m{"name": "net"})
}

func TestCancelRepeatedWhileCancellingAnswersTheSame(t *testing.T) {
	t.Parallel()
	h := setup(t)
	h.publishedTemplate("net", "slow.tgz", "")
	h.ok("CreateEnvironment", m{"name": "e", "templateName": "net", "templateMajorVersion": "1", "codebuildRoleArn": codebuildRole,
		"spec": spec("  seconds: 60\n  ignore_term: true\n")})
	id := h.waitFor("GetEnvironment", m{"name": "e"}, "environment.deploymentStatus", "IN_PROGRESS").str("environment.lastAttemptedDeploymentId")
	waitLog(t, h, id, "$ sh ./run.sh")
	first := h.ok("CancelEnvironmentDeployment", m{"environmentName": "e"})
	second := h.ok("CancelEnvironmentDeployment", m{"environmentName": "e"})
	for _, r := range []response{first, second} {
		if got := r.str("environment.deploymentStatus"); got != "CANCELLING" {
			t.Errorf("cancel answers %s, want CANCELLING", got)
		}
	}
	// The command ignores SIGTERM; SIGKILL after the grace period ends it.
	h.waitEnvironment("e", "CANCELLED")
}

func TestUpdateOrDeleteWhileDeployingIsAConflictNamingTheDeployment(t *testing.T) {
	t.Parallel()
	h := setup(t)
	h.publishedTemplate("net", "slow.tgz", "")
	h.ok("CreateEnvironment", m{"name": "e", "templateName": "net", "templateMajorVersion": "1", "codebuildRoleArn": codebuildRole,
		"spec": spec("  seconds: 60\n")})
	h.fails("UpdateEnvironment", m{"name": "e", "deploymentType": "CURRENT_VERSION"}, "ConflictException", "IN_PROGRESS")
	h.fails("UpdateEnvironment", m{"name": "e", "deploymentType": "NONE", "description": "x"}, "ConflictException", "IN_PROGRESS")
	h.fails("DeleteEnvironment", m{"name": "e"}, "ConflictException", "IN_PROGRESS")
	h.ok("CancelEnvironmentDeployment", m{"environmentName": "e"})
	h.waitEnvironment("e", "CANCELLED")
}

func TestVersionRulesOfUpdates(t *testing.T) {
	t.Parallel()
	h := setup(t)
	h.publishedTemplate("net", "slow.tgz", "")
	h.ok("CreateEnvironment", m{"name": "e", "templateName": "net", "templateMajorVersion": "1", "codebuildRoleArn": codebuildRole, "spec": spec("  name: a\n")})
	h.waitEnvironment("e", "SUCCEEDED")
	h.version("net", "1", "slow.tgz", "DRAFT") // 1.1
	h.version("net", "", "slow.tgz", "DRAFT")  // 2.0
	h.fails("UpdateEnvironment", m{"name": "e", "deploymentType": "MINOR_VERSION", "templateMinorVersion": "1"}, "ValidationException", "1.1", "DRAFT")
	for _, v := range [][2]string{{"1", "1"}, {"2", "0"}} {
		h.ok("UpdateEnvironmentTemplateVersion", m{"templateName": "net", "majorVersion": v[0], "minorVersion": v[1], "status": "PUBLISHED"})
	}
	h.fails("UpdateEnvironmentTemplateVersion", m{"templateName": "net", "majorVersion": "1", "minorVersion": "1", "status": "DRAFT"}, "ValidationException", "DRAFT to PUBLISHED")

	h.fails("UpdateEnvironment", m{"name": "e", "deploymentType": "CURRENT_VERSION", "templateMinorVersion": "1"}, "ValidationException", "CURRENT_VERSION")
	h.fails("UpdateEnvironment", m{"name": "e", "deploymentType": "MINOR_VERSION", "templateMajorVersion": "2"}, "ValidationException", "MAJOR_VERSION")
	h.fails("UpdateEnvironment", m{"name": "e", "deploymentType": "NONE", "spec": spec("  name: b\n")}, "ValidationException", "NONE")

	h.ok("UpdateEnvironment", m{"name": "e", "deploymentType": "MINOR_VERSION"})
	if got := h.waitEnvironment("e", "SUCCEEDED").str("environment.templateMinorVersion"); got != "1" {
		t.Errorf("after MINOR_VERSION minor = %s, want 1", got)
	}
	h.fails("UpdateEnvironment", m{"name": "e", "deploymentType": "MAJOR_VERSION", "templateMajorVersion": "1"}, "ValidationException", "higher")
	h.ok("UpdateEnvironment", m{"name": "e", "deploymentType": "MAJOR_VERSION"})
	e := h.waitEnvironment("e", "SUCCEEDED")
	if e.str("environment.templateMajorVersion") != "2" || e.str("environment.templateMinorVersion") != "0" {
		t.Errorf("after MAJOR_VERSION version = %s.%s, want 2.0", e.str("environment.templateMajorVersion"), e.str("environment.templateMinorVersion"))
	}
	if !strings.Contains(e.str("environment.spec"), "name: a") {
		t.Errorf("spec = %q, want the one in use kept", e.str("environment.spec"))
	}
	h.ok("UpdateEnvironment", m{"name": "e", "deploymentType": "NONE", "description": "described"})
	if got := h.ok("GetEnvironment", m{"name": "e"}).str("environment.description"); got != "described" {
		t.Errorf("description = %q", got)
	}
}

func TestBadInputIsRefusedNamingWhatIsWrongAndChangesNothing(t *testing.T) {
	t.Parallel()
	h := setup(t)
	h.publishedTemplate("net", "slow.tgz", "")
	create := func(name, spec string) m {
		return m{"name": name, "templateName": "net", "templateMajorVersion": "1", "codebuildRoleArn": codebuildRole, "spec": spec}
	}
	h.fails("CreateEnvironment", create("has space", spec("")), "ValidationException", "'name'", "regular expression")
	h.fails("CreateEnvironment", create(strings.Repeat("a", 101), spec("")), "ValidationException", "'name'", "100")
	h.fails("CreateEnvironment", create("e", spec("  name: UPPER\n")), "ValidationException", "name")
	h.fails("CreateEnvironment", create("e", spec("  unknown: 1\n")), "ValidationException", "unknown")
	// Every mistake of a spec in one answer, each naming its input.
	h.fails("CreateEnvironment", create("e", spec("  name: UPPER\n  seconds: soon\n  ignore_term: maybe\n")), "ValidationException",
		"invalid spec: 3 validation errors detected: ", "input 'ignore_term': must be true or false", "input 'name': must match pattern", "input 'seconds': must be a whole number")
	h.fails("CreateEnvironment", create("e", "proton: ServiceSpec\n"), "ValidationException")
	h.fails("CreateEnvironment", m{"name": "e", "templateName": "net", "templateMajorVersion": "1", "spec": spec("")}, "ValidationException", "codebuildRoleArn")
	h.fails("CreateEnvironment", m{"name": "e", "templateName": "none", "templateMajorVersion": "1", "spec": spec("")}, "ResourceNotFoundException", "none")
	h.fails("ListEnvironments", m{"maxResults": 101}, "ValidationException", "maxResults")
	h.fails("ListEnvironments", m{"nextToken": "bm90IGEgdG9rZW4="}, "ValidationException", "nextToken")
	h.fails("GetEnvironment", m{}, "ValidationException", "'name'", "null")
	h.fails("GetEnvironment", m{"name": 7}, "SerializationException")
	h.fails("NoSuchOperation", m{}, "UnknownOperationException", "NoSuchOperation")
	r := h.raw("GetEnvironment", `{"name": `)
	if r.errTyp != "SerializationException" {
		t.Errorf("truncated JSON: %s", r.errTyp)
	}
	if got := h.ok("ListEnvironments", m{}).body["environments"].([]any); len(got) != 0 {
		t.Errorf("refused creates left environments behind: %v", got)
	}
}

func TestBadBundleEndsRegistrationFailedSayingWhy(t *testing.T) {
	t.Parallel()
	h := setup(t)
	h.ok("CreateEnvironmentTemplate", m{"name": "net"})
	r := h.version("net", "", "garbage.tgz", "REGISTRATION_FAILED")
	if msg := r.str("environmentTemplateVersion.statusMessage"); msg == "" {
		t.Error("REGISTRATION_FAILED without a statusMessage")
	}
	h.version("net", "", "slow.tgz", "DRAFT") // 2.0
	r = h.version("net", "2", "incompatible.tgz", "REGISTRATION_FAILED")
	if msg := r.str("environmentTemplateVersion.statusMessage"); !strings.Contains(msg, "2.1 is not backward compatible") || !strings.Contains(msg, "'name' was removed") {
		t.Errorf("statusMessage of an incompatible minor version = %q", msg)
	}
	r = h.version("net", "", "missing.tgz", "REGISTRATION_FAILED")
	if msg := r.str("environmentTemplateVersion.statusMessage"); !strings.Contains(msg, "missing.tgz") {
		t.Errorf("statusMessage = %q, want it to name the missing bundle", msg)
	}
}

func TestDeploymentOfAnEngineHadronCannotRunFailsNamingIt(t *testing.T) {
	t.Parallel()
	h := setup(t)
	h.publishedTemplate("cfn", "cfn.tgz", "")
	h.ok("CreateEnvironment", m{"name": "e", "templateName": "cfn", "templateMajorVersion": "1",
		"protonServiceRoleArn": "arn:aws:iam::123456789012:role/proton", "spec": spec("  name: a\n")})
	if msg := h.waitEnvironment("e", "FAILED").str("environment.deploymentStatusMessage"); !strings.Contains(msg, "cloudformation") {
		t.Errorf("message = %q, want it to name the cloudformation engine", msg)
	}
	// Nothing was ever provisioned, so the environment can be deleted.
	h.ok("DeleteEnvironment", m{"name": "e"})
	h.waitFor("ListEnvironments", m{}, "nextToken", "")
}

func TestCustomerManagedEnvironmentOutputsAreItsSpec(t *testing.T) {
	t.Parallel()
	h := setup(t)
	h.publishedTemplate("byo", "cm.tgz", "CUSTOMER_MANAGED")
	h.ok("CreateEnvironment", m{"name": "e", "templateName": "byo", "templateMajorVersion": "1", "spec": spec("  VpcId: vpc-123\n")})
	e := h.waitEnvironment("e", "SUCCEEDED")
	if e.str("environment.provisioning") != "CUSTOMER_MANAGED" {
		t.Errorf("provisioning = %q", e.str("environment.provisioning"))
	}
	outputs := h.ok("ListEnvironmentOutputs", m{"environmentName": "e"}).body["outputs"].([]any)
	if len(outputs) != 1 || outputs[0].(map[string]any)["valueString"] != "vpc-123" {
		t.Errorf("outputs = %v", outputs)
	}
	h.fails("CreateEnvironment", m{"name": "f", "templateName": "byo", "templateMajorVersion": "1", "spec": spec("  ClusterName: c\n")}, "ValidationException", "VpcId")
}

func TestCreateEnvironmentRetriedReturnsTheEnvironment(t *testing.T) {
	t.Parallel()
	h := setup(t)
	h.publishedTemplate("byo", "cm.tgz", "CUSTOMER_MANAGED")
	in := m{"name": "e", "templateName": "byo", "templateMajorVersion": "1", "spec": spec("  VpcId: v\n")}
	first := h.ok("CreateEnvironment", in).str("environment.lastAttemptedDeploymentId")
	if again := h.ok("CreateEnvironment", in).str("environment.lastAttemptedDeploymentId"); again != first {
		t.Errorf("retry started deployment %s, want the first one %s", again, first)
	}
	in["spec"] = spec("  VpcId: other\n")
	h.fails("CreateEnvironment", in, "ValidationException", "already exists", "IdempotentParameterMismatch")
}

func TestListsPageInAStableOrder(t *testing.T) {
	t.Parallel()
	h := setup(t)
	h.publishedTemplate("byo", "cm.tgz", "CUSTOMER_MANAGED")
	for _, n := range []string{"c", "a", "e", "b", "d"} {
		h.ok("CreateEnvironment", m{"name": n, "templateName": "byo", "templateMajorVersion": "1", "spec": spec("  VpcId: v\n")})
	}
	var names []string
	token := ""
	for {
		in := m{"maxResults": 2, "environmentTemplates": []m{{"templateName": "byo", "majorVersion": "1"}}}
		if token != "" {
			in["nextToken"] = token
		}
		page := h.ok("ListEnvironments", in)
		for _, e := range page.body["environments"].([]any) {
			names = append(names, e.(map[string]any)["name"].(string))
		}
		if token = page.str("nextToken"); token == "" {
			break
		}
	}
	if strings.Join(names, "") != "abcde" {
		t.Errorf("environments = %v, want a..e in order", names)
	}
	if got := h.ok("ListEnvironments", m{"environmentTemplates": []m{{"templateName": "byo", "majorVersion": "2"}}}).body["environments"].([]any); len(got) != 0 {
		t.Errorf("filter on major 2 = %v", got)
	}
}

// waitLog waits until a deployment's log shows text: the command is running.
func waitLog(t *testing.T, h *hadron, id, text string) {
	t.Helper()
	path := filepath.Join(h.dataDir, "logs", id+".log")
	hadrontest.Eventually(t, 20*time.Second, fmt.Sprintf("log of %s to show %q", id, text), func() (bool, string) {
		data, _ := os.ReadFile(path)
		return strings.Contains(string(data), text), string(data)
	})
}

func TestCurrentValueKeepsTheValueUpdateAfterUpdate(t *testing.T) {
	t.Parallel()
	h := setup(t)
	h.publishedTemplate("net", "slow.tgz", "")
	h.ok("CreateEnvironment", m{"name": "e", "templateName": "net", "templateMajorVersion": "1", "codebuildRoleArn": codebuildRole, "spec": spec("  name: kept\n")})
	h.waitEnvironment("e", "SUCCEEDED")
	for range 2 {
		h.ok("UpdateEnvironment", m{"name": "e", "deploymentType": "CURRENT_VERSION", "spec": spec("  name: \"${Proton::CURRENT_VAL}\"\n")})
		e := h.waitEnvironment("e", "SUCCEEDED")
		if got := e.str("environment.spec"); strings.Contains(got, "CURRENT_VAL") || !strings.Contains(got, "kept") {
			t.Fatalf("spec kept after the update = %q, want the resolved value", got)
		}
	}
	h.ok("UpdateEnvironment", m{"name": "e", "deploymentType": "CURRENT_VERSION"}) // no spec: the kept one
	h.waitEnvironment("e", "SUCCEEDED")
	if got := outputValue(t, h.ok("ListEnvironmentOutputs", m{"environmentName": "e"}), "Name"); got != "kept" {
		t.Errorf("output Name = %q, want kept", got)
	}
}

func TestGetDeploymentWithAnInstanceButNoServiceIsRefused(t *testing.T) {
	t.Parallel()
	h := setup(t)
	h.fails("GetDeployment", m{"id": "00000000-0000-4000-8000-000000000000", "serviceInstanceName": "one"}, "ValidationException", "serviceInstanceName needs serviceName")
}
