package server_test

import (
	"fmt"
	"maps"
	"testing"
	"time"

	"github.com/hadronhq/hadron/internal/proton"
	"github.com/hadronhq/hadron/internal/provision"
	"github.com/hadronhq/hadron/internal/provision/codebuild"
	"github.com/hadronhq/hadron/internal/provision/customermanaged"
)

const devARN = "arn:aws:proton:us-east-1:123456789012:environment/dev"

// outputsOf lists an environment's outputs as a map.
func outputsOf(h *hadron, env string) map[string]string {
	got := map[string]string{}
	for _, o := range h.ok("ListEnvironmentOutputs", m{"environmentName": env}).body["outputs"].([]any) {
		got[o.(map[string]any)["key"].(string)] = o.(map[string]any)["valueString"].(string)
	}
	return got
}

// runningDev creates environment dev whose provisioning works for seconds,
// and returns its deployment id once the command runs.
func runningDev(t *testing.T, h *hadron, seconds string) string {
	t.Helper()
	h.publishedTemplate("net", "slow.tgz", "")
	r := h.ok("CreateEnvironment", m{"name": "dev", "templateName": "net", "templateMajorVersion": "1",
		"codebuildRoleArn": codebuildRole, "spec": spec("  name: first\n  seconds: " + seconds + "\n")})
	id := r.str("environment.lastAttemptedDeploymentId")
	waitLog(t, h, id, "$ sh ./run.sh")
	return id
}

// TestNotifyDuringACodeBuildRunMergesOutputsAndTheExitDecides: a CodeBuild
// run's report of SUCCEEDED is recorded, not obeyed; its outputs win over
// proton-outputs.json once the run succeeds.
func TestNotifyDuringACodeBuildRunMergesOutputsAndTheExitDecides(t *testing.T) {
	t.Parallel()
	h := setup(t)
	id := runningDev(t, h, "3")
	h.ok("NotifyResourceDeploymentStatusChange", m{"resourceArn": devARN, "deploymentId": id, "status": "SUCCEEDED",
		"outputs": []m{{"key": "Name", "valueString": "old"}, {"key": "Extra", "valueString": "x"}}})
	h.ok("NotifyResourceDeploymentStatusChange", m{"resourceArn": devARN, "status": "IN_PROGRESS",
		"outputs": []m{{"key": "Name", "valueString": "from-notify"}}})
	if got := h.ok("GetEnvironment", m{"name": "dev"}).str("environment.deploymentStatus"); got != "IN_PROGRESS" {
		t.Errorf("after a CodeBuild run reported SUCCEEDED the environment is %s, want IN_PROGRESS until the commands exit", got)
	}
	if got := outputsOf(h, "dev"); len(got) != 0 {
		t.Errorf("outputs before the deployment succeeded: %v", got)
	}
	h.waitEnvironment("dev", "SUCCEEDED")
	want := map[string]string{"Name": "from-notify", "Seconds": "3", "Extra": "x"}
	if got := outputsOf(h, "dev"); !maps.Equal(got, want) {
		t.Errorf("outputs = %v, want %v", got, want)
	}
	h.fails("NotifyResourceDeploymentStatusChange", m{"resourceArn": devARN, "status": "IN_PROGRESS"}, "ConflictException", "SUCCEEDED")
}

// finisher is the CodeBuild engine posing as one whose deployments wait for
// a report (as self-managed provisioning's do).
type finisher struct{ *codebuild.Engine }

func (finisher) FinalStatusFromNotify(provision.Plan) bool { return true }

// TestNotifyEndsTheDeploymentOfAnEngineThatWaitsForReports: with an engine
// that takes its final status from reports, SUCCEEDED ends the deployment at
// once, with the reported outputs.
func TestNotifyEndsTheDeploymentOfAnEngineThatWaitsForReports(t *testing.T) {
	t.Parallel()
	r := provision.NewRegistry()
	r.Register(codebuild.Name, finisher{&codebuild.Engine{Grace: 300 * time.Millisecond}})
	r.Register(customermanaged.Name, customermanaged.Engine{})
	h := setupWith(t, r)
	runningDev(t, h, "60")
	h.ok("NotifyResourceDeploymentStatusChange", m{"resourceArn": devARN, "status": "SUCCEEDED",
		"outputs": []m{{"key": "Url", "valueString": "https://dev"}}})
	if got := h.ok("GetEnvironment", m{"name": "dev"}).str("environment.deploymentStatus"); got != "SUCCEEDED" {
		t.Errorf("after the report the environment is %s, want SUCCEEDED", got)
	}
	if got := outputsOf(h, "dev"); got["Url"] != "https://dev" {
		t.Errorf("outputs = %v, want the reported Url", got)
	}
}

// TestNotifyPastTheOutputsQuotaIsServiceQuotaExceeded: the reports of one
// deployment hold at most proton.MaxNotifiedOutputs distinct keys; a report
// past it is refused whole, while one that only reports known keys again is
// taken.
func TestNotifyPastTheOutputsQuotaIsServiceQuotaExceeded(t *testing.T) {
	t.Parallel()
	h := setup(t)
	runningDev(t, h, "60")
	report := func(from, n int) m {
		outs := make([]m, 0, n)
		for i := from; i < from+n; i++ {
			outs = append(outs, m{"key": fmt.Sprintf("Out%03d", i), "valueString": "v"})
		}
		return m{"resourceArn": devARN, "status": "IN_PROGRESS", "outputs": outs}
	}
	for from := 0; from < proton.MaxNotifiedOutputs; from += 50 {
		h.ok("NotifyResourceDeploymentStatusChange", report(from, 50))
	}
	h.fails("NotifyResourceDeploymentStatusChange", report(proton.MaxNotifiedOutputs-1, 2), "ServiceQuotaExceededException",
		fmt.Sprintf("more than %d distinct outputs", proton.MaxNotifiedOutputs))
	h.ok("NotifyResourceDeploymentStatusChange", report(0, 50))
	h.ok("CancelEnvironmentDeployment", m{"environmentName": "dev"})
	h.waitEnvironment("dev", "CANCELLED")
}
