package e2e

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/hadronhq/hadron/internal/hadrontest"
	"github.com/hadronhq/hadron/internal/mototest"
)

// The bundles of these tests are written the way Proton's CodeBuild users
// wrote theirs: testdata/bundles/terraform-codebuild (Terraform run from
// CodeBuild, with env variables and secrets) and
// testdata/bundles/cdk-codebuild (a CDK-style service instance).

const tfTemplate = "tf-vpc"

// requireTerraform skips t without the terraform binary, unless
// HADRON_E2E_REQUIRE=1.
func requireTerraform(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("terraform"); err != nil {
		missing(t, "terraform is not on PATH")
	}
}

// randomSecret is a value no test output could contain by chance.
func randomSecret(prefix string) string {
	b := make([]byte, 8)
	rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// hadronSecretsPut runs `hadron secrets put NAME` with the value on stdin.
func hadronSecretsPut(t *testing.T, dataDir, name, value string) {
	t.Helper()
	cmd := exec.Command(hadronBin, "secrets", "put", "--data-dir", dataDir, name)
	cmd.Stdin = strings.NewReader(value + "\n")
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "secret "+name) {
		t.Fatalf("hadron secrets put %s: %v\n%s", name, err, out)
	}
}

// awsMoto runs the AWS CLI against moto_server with the credentials in
// env (clientEnv's when empty), and decodes its output into out (if not nil).
func awsMoto(t *testing.T, motoURL string, env []string, out any, args ...string) {
	t.Helper()
	args = append(args, "--endpoint-url", motoURL, "--region", region, "--output", "json")
	res := runClient(t, clientEnv(env...), awsBin, args...)
	if res.Code != 0 {
		t.Fatalf("want success:\n%s", res)
	}
	if out != nil {
		decodeJSON(t, res, out)
	}
}

// asCodeBuildRole returns AWS CLI variables holding credentials of the
// environments' CodeBuild role, assumed through moto's STS: what the role
// creates lives in its account, where the runs' secrets are read.
func asCodeBuildRole(t *testing.T, motoURL string) []string {
	t.Helper()
	var out struct {
		Credentials struct{ AccessKeyId, SecretAccessKey, SessionToken string }
	}
	awsMoto(t, motoURL, nil, &out, "sts", "assume-role", "--role-arn", codebuildArn, "--role-session-name", "e2e-setup")
	c := out.Credentials
	return []string{"AWS_ACCESS_KEY_ID=" + c.AccessKeyId, "AWS_SECRET_ACCESS_KEY=" + c.SecretAccessKey, "AWS_SESSION_TOKEN=" + c.SessionToken}
}

// allLogs is every deployment log the server kept, concatenated.
func (s *server) allLogs(t *testing.T) string {
	t.Helper()
	paths, _ := filepath.Glob(filepath.Join(s.dataDir, "logs", "*.log"))
	var b strings.Builder
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(data)
	}
	return b.String()
}

// noSecretAnywhere fails t if a secret value shows in a deployment log, in
// the server's own log or in an API answer the test read.
func noSecretAnywhere(t *testing.T, s *server, answers string, values ...string) {
	t.Helper()
	logs := s.allLogs(t)
	for _, v := range values {
		for where, text := range map[string]string{"a deployment log": logs, "the server log": s.Log(), "an API answer": answers} {
			if strings.Contains(text, v) {
				t.Errorf("a secret value shows in %s", where)
			}
		}
	}
}

// tfEnvironment creates an environment of the Terraform bundle with the
// CLI and returns its deployment id.
func (s *server) tfEnvironment(t *testing.T, name string, inputs ...string) string {
	t.Helper()
	spec, _ := specFile(t, append([]string{"name: " + name}, inputs...)...)
	var out environmentOut
	s.awsOK(t, &out, "create-environment", "--name", name, "--template-name", tfTemplate, "--template-major-version", "1",
		"--codebuild-role-arn", codebuildArn, "--spec", spec)
	return out.Environment.LastAttemptedDeploymentID
}

// terraformLifecycle deploys, updates and deletes an environment of the
// Terraform bundle with the CLI and its waiters, checking outputs, logs and
// that neither secret value shows anywhere.
func terraformLifecycle(t *testing.T, s *server, password, token string) {
	t.Helper()
	var answers strings.Builder
	id := s.tfEnvironment(t, "alpha")
	s.awsOK(t, nil, "wait", "environment-deployed", "--name", "alpha")
	var outs outputsOut
	s.awsOK(t, &outs, "list-environment-outputs", "--environment-name", "alpha")
	got := outputMap(outs.Outputs)
	want := map[string]string{"VpcName": "vpc-alpha", "PasswordSha256": sha256Hex(password),
		"TokenLength": strconv.Itoa(len(token)), "TerraformVersion": "1.11"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("output %s = %q, want %q (outputs %v)", k, got[k], v, got)
		}
	}
	log := s.deploymentLog(id)
	for _, line := range []string{
		"[hadron] $ cd infra",
		"terraform 1.11.", // the sourced helper ran, with TF_VERSION
		"connecting with password *** and token ***",
		"Apply complete!",
		"image", // image and runtimes are not applied, and the log says so
	} {
		if !strings.Contains(log, line) {
			t.Errorf("deployment log lacks %q:\n%s", line, log)
		}
	}

	spec, _ := specFile(t, "name: beta")
	s.awsOK(t, nil, "update-environment", "--name", "alpha", "--deployment-type", "CURRENT_VERSION", "--spec", spec)
	s.awsOK(t, nil, "wait", "environment-deployed", "--name", "alpha")
	s.awsOK(t, &outs, "list-environment-outputs", "--environment-name", "alpha")
	if got := outputMap(outs.Outputs)["VpcName"]; got != "vpc-beta" {
		t.Errorf("after the update VpcName = %q, want vpc-beta", got)
	}

	var del environmentOut
	s.awsOK(t, &del, "delete-environment", "--name", "alpha")
	s.waitEnvironmentGone(t, "alpha")
	if l := s.deploymentLog(del.Environment.LastAttemptedDeploymentID); !strings.Contains(l, "Destroy complete!") {
		t.Errorf("the delete did not run terraform destroy; its log:\n%s", l)
	}
	answers.WriteString(s.aws(t, "list-deployments").Stdout)
	noSecretAnywhere(t, s, answers.String(), password, token)
}

// TestCLITerraformBundleWithSecretsFromAWS runs the Terraform-from-CodeBuild
// bundle on a server with AWS access (moto_server standing in): its secrets
// come from Secrets Manager and Parameter Store.
func TestCLITerraformBundleWithSecretsFromAWS(t *testing.T) {
	hadrontest.Long(t)
	t.Parallel()
	requireAWS(t)
	requireTerraform(t)
	moto := mototest.URL(t)
	password, token := randomSecret("pw"), randomSecret("tok")
	role := asCodeBuildRole(t, moto)
	awsMoto(t, moto, role, nil, "secretsmanager", "create-secret", "--name", "e2e/database", "--secret-string", `{"username":"app","password":"`+password+`"}`)
	awsMoto(t, moto, role, nil, "ssm", "put-parameter", "--name", "/e2e/api-token", "--type", "SecureString", "--value", token)

	s := startServerEnv(t, t.TempDir(), []string{"AWS_ACCESS_KEY_ID=hadron-server", "AWS_SECRET_ACCESS_KEY=hadron-server",
		"AWS_CONFIG_FILE=" + os.DevNull, "AWS_SHARED_CREDENTIALS_FILE=" + os.DevNull, "AWS_EC2_METADATA_DISABLED=true"},
		"--aws-endpoint-url", moto, "--aws-region", region)
	s.registerTemplate(t, tfTemplate, "terraform-codebuild")
	terraformLifecycle(t, s, password, token)
}

// TestCLITerraformBundleWithHadronsSecretStore runs the same bundle on a
// server without AWS access: its secrets come from `hadron secrets put`. A
// missing secret fails the deployment before any command runs, naming it;
// a cancel during `terraform apply` ends CANCELLED.
func TestCLITerraformBundleWithHadronsSecretStore(t *testing.T) {
	hadrontest.Long(t)
	t.Parallel()
	requireAWS(t)
	requireTerraform(t)
	dir := t.TempDir()
	password, token := randomSecret("pw"), randomSecret("tok")
	hadronSecretsPut(t, dir, "/e2e/api-token", token)
	s := startServer(t, dir)
	s.registerTemplate(t, tfTemplate, "terraform-codebuild")

	// The database secret is not there yet.
	id := s.tfEnvironment(t, "early")
	if res := s.aws(t, "wait", "environment-deployed", "--name", "early"); res.Code == 0 {
		t.Fatalf("the waiter succeeded for an environment whose secret is missing:\n%s", res)
	}
	env := s.waitEnvironment(t, "early", "FAILED")
	for _, want := range []string{"DB_PASSWORD", `"e2e/database:password"`, "not found in Hadron's secret store", "before any command ran"} {
		if !strings.Contains(env.DeploymentStatusMessage, want) {
			t.Errorf("status message %q lacks %q", env.DeploymentStatusMessage, want)
		}
	}
	if l := s.deploymentLog(id); strings.Contains(l, "[hadron] $ ") || !strings.Contains(l, "DB_PASSWORD") {
		t.Errorf("want a log that names DB_PASSWORD and shows no command:\n%s", l)
	}

	hadronSecretsPut(t, dir, "e2e/database", `{"username":"app","password":"`+password+`"}`)
	list, err := exec.Command(hadronBin, "secrets", "list", "--data-dir", dir).CombinedOutput()
	if err != nil || !strings.Contains(string(list), "e2e/database") || strings.Contains(string(list), password) {
		t.Errorf("hadron secrets list: %v\n%s", err, list)
	}
	terraformLifecycle(t, s, password, token)

	// Cancel while terraform apply works (the environment-deployed waiter
	// knows no CANCELLED state, so it is not used here).
	id = s.tfEnvironment(t, "slow", "pause_seconds: 300")
	s.waitDeploymentLog(t, id, "Provisioning with 'local-exec'")
	s.awsOK(t, nil, "cancel-environment-deployment", "--environment-name", "slow")
	if env := s.waitEnvironment(t, "slow", "CANCELLED"); env.DeploymentStatusMessage != "User initiated cancellation." {
		t.Errorf("cancelled deployment's message = %q", env.DeploymentStatusMessage)
	}
	noSecretAnywhere(t, s, "", password, token)

	// Deleted from the store, the secret is missing again for the next run.
	if out, err := exec.Command(hadronBin, "secrets", "delete", "--data-dir", dir, "e2e/database").CombinedOutput(); err != nil {
		t.Fatalf("hadron secrets delete: %v\n%s", err, out)
	}
	if list, _ := exec.Command(hadronBin, "secrets", "list", "--data-dir", dir).CombinedOutput(); strings.Contains(string(list), "e2e/database") {
		t.Errorf("hadron secrets list after delete:\n%s", list)
	}
	s.tfEnvironment(t, "late")
	if env := s.waitEnvironment(t, "late", "FAILED"); !strings.Contains(env.DeploymentStatusMessage, "DB_PASSWORD") {
		t.Errorf("after the delete: %q, want a failure naming DB_PASSWORD", env.DeploymentStatusMessage)
	}
}

// TestCLICDKBundle runs a CDK-style service instance bundle: it ships its
// own example proton-inputs.json (replaced by the real inputs, and the log
// says so), and `cdk deploy` writes a nested proton-outputs.json, which is
// left alone with a log line, not a failure, while the commands convert it
// with jq and report it with `aws proton
// notify-resource-deployment-status-change`. Deploy, update and delete with
// the AWS CLI and its waiters.
func TestCLICDKBundle(t *testing.T) {
	hadrontest.Long(t)
	t.Parallel()
	requireAWS(t)
	s := startServer(t, t.TempDir())
	s.publishNetwork(t)
	spec, _ := specFile(t, "name_tag: cdk-env")
	s.awsOK(t, nil, "create-environment", "--name", "cdk-env", "--template-name", "network", "--template-major-version", "1",
		"--codebuild-role-arn", codebuildArn, "--spec", spec)
	s.putBundle(t, "cdk-codebuild", "cdk-web.tar.gz")
	s.awsOK(t, nil, "create-service-template", "--name", "cdk-web")
	s.awsOK(t, nil, "create-service-template-version", "--template-name", "cdk-web",
		"--source", "s3={bucket=templates,key=cdk-web.tar.gz}", "--compatible-environment-templates", compatibleNet1)
	if v := s.waitServiceRegistered(t, "cdk-web", "1", "0"); v.Status != "DRAFT" {
		t.Fatalf("cdk-web 1.0 is %s (%s), want DRAFT", v.Status, v.StatusMessage)
	}
	s.awsOK(t, nil, "update-service-template-version", "--template-name", "cdk-web", "--major-version", "1", "--minor-version", "0", "--status", "PUBLISHED")
	s.awsOK(t, nil, "wait", "environment-deployed", "--name", "cdk-env")

	s.awsOK(t, nil, "create-service", "--name", "shop", "--template-name", "cdk-web", "--template-major-version", "1",
		"--spec", fileArg(t, serviceSpec(nil, inst("web", "cdk-env", "port: 8080"))))
	s.awsOK(t, nil, "wait", "service-created", "--name", "shop")
	var got serviceInstanceOut
	s.awsOK(t, &got, "get-service-instance", "--service-name", "shop", "--name", "web")
	if i := got.ServiceInstance; i.DeploymentStatus != "SUCCEEDED" {
		t.Fatalf("instance web is %s (%s), want SUCCEEDED", i.DeploymentStatus, i.DeploymentStatusMessage)
	}
	log := s.deploymentLog(got.ServiceInstance.LastAttemptedDeploymentID)
	for _, line := range []string{
		"the bundle's own proton-inputs.json is replaced by the deployment's inputs",
		"proton-outputs.json is not a flat JSON object",
		"left alone",
		// The real inputs, not the example file's (example-instance, 1234).
		`converted outputs [{"key":"ServiceUrl","valueString":"http://web.internal:8080"},{"key":"Port","valueString":"8080"}]`,
	} {
		if !strings.Contains(log, line) {
			t.Errorf("deployment log lacks %q:\n%s", line, log)
		}
	}
	var outs outputsOut
	s.awsOK(t, &outs, "list-service-instance-outputs", "--service-name", "shop", "--service-instance-name", "web")
	// The outputs are the notify call's, not the nested file's.
	if got := outputMap(outs.Outputs); len(got) != 2 || got["ServiceUrl"] != "http://web.internal:8080" || got["Port"] != "8080" {
		t.Errorf("outputs = %v, want ServiceUrl and Port from the notify call", got)
	}

	s.awsOK(t, nil, "update-service-instance", "--service-name", "shop", "--name", "web", "--deployment-type", "CURRENT_VERSION",
		"--spec", fileArg(t, serviceSpec(nil, inst("web", "cdk-env", "port: 9090"))))
	s.waitInstance(t, "shop", "web", "SUCCEEDED", "FAILED")
	s.awsOK(t, nil, "wait", "service-instance-deployed", "--service-name", "shop", "--name", "web")
	s.awsOK(t, &got, "get-service-instance", "--service-name", "shop", "--name", "web")
	if l := s.deploymentLog(got.ServiceInstance.LastAttemptedDeploymentID); !strings.Contains(l, "http://web.internal:9090") {
		t.Errorf("the update did not deploy port 9090:\n%s", l)
	}

	s.awsOK(t, nil, "delete-service", "--name", "shop")
	s.waitServiceGone(t, "shop")
	if logs := s.allLogs(t); !strings.Contains(logs, "WebStack: destroyed") {
		t.Errorf("no log shows cdk destroy:\n%s", logs)
	}
}
