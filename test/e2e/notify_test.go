package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hadronhq/hadron/internal/hadrontest"
	"github.com/hadronhq/hadron/internal/mototest"
)

// The end-to-end tests of issue 10 (items 3 and 4): a CodeBuild bundle
// written as users wrote them reports its outputs with `aws proton
// notify-resource-deployment-status-change` from inside its commands, with
// the credentials the run is given (the stock AWS CLI reads them from the
// container credentials endpoint), against a server with --auth sigv4.

// publishNotify registers and publishes the notify template.
func (s *server) publishNotify(t *testing.T) {
	t.Helper()
	s.putBundle(t, "notify", "notify.tar.gz")
	s.mustCall(t, "CreateEnvironmentTemplate", map[string]string{"name": "notify"}, nil)
	s.mustCall(t, "CreateEnvironmentTemplateVersion", map[string]any{
		"templateName": "notify",
		"source":       map[string]any{"s3": map[string]string{"bucket": bundleBucket, "key": "notify.tar.gz"}},
	}, nil)
	if v := s.waitRegistered(t, "notify", "1", "0"); v.Status != "DRAFT" {
		t.Fatalf("notify 1.0 is %s (%s), want DRAFT", v.Status, v.StatusMessage)
	}
	s.mustCall(t, "UpdateEnvironmentTemplateVersion", map[string]string{
		"templateName": "notify", "majorVersion": "1", "minorVersion": "0", "status": "PUBLISHED",
	}, nil)
}

// deployNotify creates environment name from the notify template with
// spec's extra lines, waits for SUCCEEDED and returns its deployment id.
func (s *server) deployNotify(t *testing.T, name, specLines string) string {
	t.Helper()
	var out environmentOut
	s.mustCall(t, "CreateEnvironment", map[string]string{
		"name": name, "templateName": "notify", "templateMajorVersion": "1", "codebuildRoleArn": codebuildArn,
		"spec": "proton: EnvironmentSpec\nspec:\n  vpc_name: " + name + "\n" + specLines,
	}, &out)
	id := out.Environment.LastAttemptedDeploymentID
	if env := s.waitEnvironment(t, name, "SUCCEEDED", "FAILED"); env.DeploymentStatus != "SUCCEEDED" {
		t.Fatalf("environment %s: %s (%s)\nlog:\n%s", name, env.DeploymentStatus, env.DeploymentStatusMessage, s.deploymentLog(id))
	}
	return id
}

// environmentOutputs lists an environment's outputs with the AWS CLI.
func (s *server) environmentOutputs(t *testing.T, name string) map[string]string {
	t.Helper()
	var out struct{ Outputs []output }
	s.awsAdminOK(t, &out, "list-environment-outputs", "--environment-name", name)
	return outputMap(out.Outputs)
}

// notifyWithRunCredentials reports on arn with the credentials a run
// exported as its Creds output.
func (s *server) notifyWithRunCredentials(t *testing.T, creds, arn string) clientResult {
	t.Helper()
	parts := strings.Fields(creds)
	if len(parts) != 3 {
		t.Fatalf("the run exported %q, want an access key id, a secret and a token", creds)
	}
	return runClient(t, clientEnv("AWS_ACCESS_KEY_ID="+parts[0], "AWS_SECRET_ACCESS_KEY="+parts[1], "AWS_SESSION_TOKEN="+parts[2]),
		awsBin, "proton", "notify-resource-deployment-status-change", "--resource-arn", arn, "--status", "IN_PROGRESS",
		"--endpoint-url", s.endpoint, "--region", region, "--output", "json")
}

// checkRunReads checks that the run read its own environment with its
// credentials and was refused another.
func checkRunReads(t *testing.T, log string) {
	t.Helper()
	if !strings.Contains(log, "--query environment.deploymentStatus --output text\nIN_PROGRESS\n") {
		t.Errorf("the run did not read its own environment (IN_PROGRESS) with its credentials:\n%s", log)
	}
	if !strings.Contains(log, "(AccessDeniedException)") {
		t.Errorf("the run's read of another environment was not refused with AccessDeniedException:\n%s", log)
	}
}

// checkNotifiedOutputs checks what the bundle reports: notify's outputs
// win over proton-outputs.json, whose other keys stay.
func checkNotifiedOutputs(t *testing.T, got map[string]string, name string) {
	t.Helper()
	for k, want := range map[string]string{"VpcId": "vpc-" + name, "Region": region, "FileOnly": "kept"} {
		if got[k] != want {
			t.Errorf("output %s = %q, want %q (all: %v)", k, got[k], want, got)
		}
	}
}

// TestCodeBuildNotifyWithAssumedRole: with AWS access (moto's STS), a run
// acts as its environment's CodeBuild role (`aws sts get-caller-identity`
// answers with the assumed role and the deployment's session) and reports
// its outputs to Hadron with the same credentials; once the run is over,
// they are refused.
func TestCodeBuildNotifyWithAssumedRole(t *testing.T) {
	hadrontest.Long(t)
	requireAWS(t)
	moto := mototest.URL(t)
	// The server's own AWS credentials (moto takes any), read by its default chain.
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDHADRONSERVER")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "server-secret")
	s := startAuthServer(t, "--aws-region", region, "--aws-endpoint-url", moto)
	s.publishNotify(t)

	id := s.deployNotify(t, "assumed", "  export_credentials: true\n")
	log := s.deploymentLog(id)
	if want := "assumed-role/hadron-codebuild/hadron-" + id; !strings.Contains(log, want) {
		t.Errorf("the log does not show sts get-caller-identity answering with %s:\n%s", want, log)
	}
	if !strings.Contains(log, "[hadron] credentials: role "+codebuildArn) {
		t.Errorf("the log does not say which role the run acts as:\n%s", log)
	}
	checkRunReads(t, log)
	outs := s.environmentOutputs(t, "assumed")
	checkNotifiedOutputs(t, outs, "assumed")
	secret := strings.Fields(outs["Creds"])
	if len(secret) == 3 && (strings.Contains(log, secret[1]) || strings.Contains(log, secret[2])) {
		t.Errorf("the run's secret or session token is in its log:\n%s", log)
	}
	wantCLIError(t, s.notifyWithRunCredentials(t, outs["Creds"], "arn:aws:proton:us-east-1:000000000000:environment/assumed"),
		"UnrecognizedClientException")
}

// TestCodeBuildNotifyWithMintedCredentials: without AWS access the run gets
// credentials Hadron mints; notify works with them (and STS is not called),
// they are good for the run's resource only, and they are refused after the
// run. Then notify's errors, as the AWS CLI shows them.
func TestCodeBuildNotifyWithMintedCredentials(t *testing.T) {
	hadrontest.Long(t)
	requireAWS(t)
	s := startAuthServer(t)
	s.publishNotify(t)

	id := s.deployNotify(t, "minted", "  call_sts: false\n  export_credentials: true\n")
	log := s.deploymentLog(id)
	if strings.Contains(log, "assumed-role") || !strings.Contains(log, "[hadron] credentials: minted by Hadron") {
		t.Errorf("the log should show Hadron-minted credentials and no STS call:\n%s", log)
	}
	checkRunReads(t, log)
	outs := s.environmentOutputs(t, "minted")
	checkNotifiedOutputs(t, outs, "minted")
	wantCLIError(t, s.notifyWithRunCredentials(t, outs["Creds"], "arn:aws:proton:us-east-1:000000000000:environment/minted"),
		"UnrecognizedClientException")

	arn := "arn:aws:proton:us-east-1:000000000000:environment/"
	notify := func(args ...string) clientResult {
		return s.awsAs(t, s.key, s.secret, append([]string{"notify-resource-deployment-status-change"}, args...)...)
	}
	wantCLIError(t, notify("--resource-arn", arn+"minted", "--status", "IN_PROGRESS"), "ConflictException", "SUCCEEDED")
	wantCLIError(t, notify("--resource-arn", arn+"nowhere", "--status", "IN_PROGRESS"), "ResourceNotFoundException", arn+"nowhere")

	running := s.deployingEnvironment(t, "busy")
	const otherID = "00000000-0000-4000-8000-000000000000"
	wantCLIError(t, notify("--resource-arn", arn+"busy", "--deployment-id", otherID, "--status", "IN_PROGRESS"), "ConflictException", otherID, running)
	outputs := make([]map[string]string, 51)
	for i := range outputs {
		outputs[i] = map[string]string{"key": fmt.Sprintf("k%d", i), "valueString": "v"}
	}
	many, _ := json.Marshal(outputs)
	file := filepath.Join(t.TempDir(), "outputs.json")
	if err := os.WriteFile(file, many, 0o600); err != nil {
		t.Fatal(err)
	}
	wantCLIError(t, notify("--resource-arn", arn+"busy", "--status", "IN_PROGRESS", "--outputs", "file://"+file), "ValidationException", "outputs")
	// The right deployment id: accepted; its outputs show once it succeeds.
	res := notify("--resource-arn", arn+"busy", "--deployment-id", running, "--status", "IN_PROGRESS",
		"--outputs", "key=FromOutside,valueString=yes")
	if res.Code != 0 {
		t.Errorf("notify with the running deployment's id:\n%s", res)
	}
}
