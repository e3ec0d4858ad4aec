package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hadronhq/hadron/internal/hadrontest"
)

// The end-to-end tests of issue 6: SigV4 verification, access keys and their
// policies, and throttling, seen from the AWS CLI, boto3 and the JS SDK.

// adminKeyFile is where the server writes its first administrator key.
const adminKeyFile = "admin-key.txt"

var adminKeyFileRE = regexp.MustCompile(`it is in (\S+) \(readable by this user only\)`)

var adminKeyRE = regexp.MustCompile(`aws configure set aws_access_key_id (\S+) --profile hadron\n\s*aws configure set aws_secret_access_key (\S+) --profile hadron\n\s*aws configure set region (\S+) --profile hadron`)

// startAuthServer starts a server with --auth sigv4 (and flags) on a new data
// directory, reads the administrator key it printed on its first start, and
// makes the harness's calls and clients use that key.
func startAuthServer(t *testing.T, flags ...string) *server {
	t.Helper()
	return startAuthServerEnv(t, nil, flags...)
}

// startAuthServerEnv is startAuthServer with more environment variables for
// the server process (as startServerEnv).
func startAuthServerEnv(t *testing.T, env []string, flags ...string) *server {
	t.Helper()
	s := startServerEnv(t, t.TempDir(), env, append([]string{"--auth", "sigv4"}, flags...)...)
	// Not on a terminal, the server writes the key to a file and prints its path.
	keyFile := adminKeyFileRE.FindStringSubmatch(s.Log())
	if keyFile == nil {
		t.Fatalf("the server did not print where the administrator key is:\n%s", s.Log())
	}
	b, err := os.ReadFile(keyFile[1])
	if err != nil {
		t.Fatal(err)
	}
	m := adminKeyRE.FindStringSubmatch(string(b))
	if m == nil {
		t.Fatalf("the server did not print the aws configure lines of an administrator key:\n%s", s.Log())
	}
	if m[3] != region {
		t.Errorf("aws configure set region %s, want %s", m[3], region)
	}
	s.key, s.secret = m[1], m[2]
	return s
}

// createKey runs `hadron keys create` on the server's data directory while
// it runs, and returns the key it printed.
func (s *server) createKey(t *testing.T, flags ...string) (id, secret string) {
	t.Helper()
	out, err := exec.Command(hadronBin, append([]string{"keys", "create", "--data-dir", s.dataDir}, flags...)...).Output()
	if err != nil {
		t.Fatalf("hadron keys create %v: %v", flags, err)
	}
	var nk struct{ AccessKeyID, SecretAccessKey string }
	if err := json.Unmarshal(out, &nk); err != nil || nk.AccessKeyID == "" || len(nk.SecretAccessKey) < 40 {
		t.Fatalf("hadron keys create printed %q, want one JSON object with accessKeyId and secretAccessKey (%v)", out, err)
	}
	return nk.AccessKeyID, nk.SecretAccessKey
}

// keys runs another `hadron keys` action on the server's data directory.
func (s *server) keys(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command(hadronBin, append(append([]string{"keys"}, args...), "--data-dir", s.dataDir)...).CombinedOutput()
	if err != nil {
		t.Fatalf("hadron keys %v: %v\n%s", args, err, out)
	}
	return string(out)
}

// awsAdminOK runs `aws proton <args>` with the administrator key, fails the
// test unless it succeeds, and decodes its output into out.
func (s *server) awsAdminOK(t *testing.T, out any, args ...string) {
	t.Helper()
	res := s.awsAs(t, s.key, s.secret, args...)
	if res.Code != 0 {
		t.Fatalf("want success:\n%s", res)
	}
	if err := json.Unmarshal([]byte(res.Stdout), out); err != nil {
		t.Fatalf("decode the output: %v\n%s", err, res)
	}
}

// awsAs runs `aws proton <args>` with the given credentials.
func (s *server) awsAs(t *testing.T, key, secret string, args ...string) clientResult {
	t.Helper()
	args = append(append([]string{"proton"}, args...), "--endpoint-url", s.endpoint, "--region", region, "--output", "json")
	return runClient(t, clientEnv("AWS_ACCESS_KEY_ID="+key, "AWS_SECRET_ACCESS_KEY="+secret), awsBin, args...)
}

func wantCLIError(t *testing.T, res clientResult, code string, substrs ...string) {
	t.Helper()
	if res.Code == 0 || !strings.Contains(res.Stderr, "("+code+")") {
		t.Errorf("want a failure with %s:\n%s", code, res)
		return
	}
	for _, s := range substrs {
		if !strings.Contains(res.Stderr, s) {
			t.Errorf("the %s message does not say %q:\n%s", code, s, res.Stderr)
		}
	}
}

// deployingEnvironment publishes the network template, deploys environment
// name, and starts a two-minute update of it; it returns the update's
// deployment id once its provisioning command runs.
func (s *server) deployingEnvironment(t *testing.T, name string) string {
	t.Helper()
	s.publishNetwork(t)
	s.mustCall(t, "CreateEnvironment", map[string]string{
		"name": name, "templateName": "network", "templateMajorVersion": "1", "codebuildRoleArn": codebuildArn,
		"spec": "proton: EnvironmentSpec\nspec:\n  name_tag: " + name + "\n",
	}, nil)
	s.waitEnvironment(t, name, "SUCCEEDED")
	var out environmentOut
	s.mustCall(t, "UpdateEnvironment", map[string]string{
		"name": name, "deploymentType": "CURRENT_VERSION",
		"spec": "proton: EnvironmentSpec\nspec:\n  name_tag: " + name + "\n  seconds: 600\n", // ended by the tests' cancels; long enough for slow AWS CLI starts on a loaded machine
	}, &out)
	id := out.Environment.LastAttemptedDeploymentID
	s.waitDeploymentLog(t, id, "provision: started")
	return id
}

// TestAuthAWSCLI: the right key works, a wrong secret, an unknown key and no
// signature are refused as AWS refuses them, a key created while the server
// runs works at once, a Get*-only key may not cancel a deployment (and the
// deployment goes on untouched), a key limited to other resources may not
// even read, and a disabled or deleted key stops working. Secrets stay out
// of the server's log.
func TestAuthAWSCLI(t *testing.T) {
	hadrontest.Long(t)
	t.Parallel()
	requireAWS(t)
	s := startAuthServer(t)
	id := s.deployingEnvironment(t, "web")

	var env environmentOut
	s.awsAdminOK(t, &env, "get-environment", "--name", "web")
	if env.Environment.DeploymentStatus != "IN_PROGRESS" {
		t.Fatalf("web is %s, want IN_PROGRESS", env.Environment.DeploymentStatus)
	}
	wantCLIError(t, s.awsAs(t, s.key, "not-the-secret", "get-environment", "--name", "web"), "InvalidSignatureException",
		"The request signature we calculated does not match the signature you provided.")
	wantCLIError(t, s.awsAs(t, "HKUNKNOWNUNKNOWN0000", s.secret, "get-environment", "--name", "web"), "UnrecognizedClientException",
		"The security token included in the request is invalid.")
	wantCLIError(t, s.awsAs(t, s.key, s.secret, "get-environment", "--name", "web", "--no-sign-request"), "MissingAuthenticationTokenException",
		"Request is missing Authentication Token")

	readKey, readSecret := s.createKey(t, "--allow", "proton:Get*", "--description", "read-only")
	if res := s.awsAs(t, readKey, readSecret, "get-environment", "--name", "web"); res.Code != 0 {
		t.Fatalf("a key created while the server runs does not work at once:\n%s", res)
	}
	wantCLIError(t, s.awsAs(t, readKey, readSecret, "cancel-environment-deployment", "--environment-name", "web"), "AccessDeniedException",
		"User: "+readKey+" is not authorized to perform: proton:CancelEnvironmentDeployment on resource: web")
	wantCLIError(t, s.awsAs(t, readKey, readSecret, "list-environments"), "AccessDeniedException", "proton:ListEnvironments")
	// Nothing changed: the deployment still runs, the environment still shows it.
	var dep deploymentOut
	s.mustCall(t, "GetDeployment", map[string]string{"id": id}, &dep)
	got, _ := s.getEnvironment("web")
	if dep.Deployment.DeploymentStatus != "IN_PROGRESS" || got.DeploymentStatus != "IN_PROGRESS" || got.LastAttemptedDeploymentID != id {
		t.Errorf("after the denied cancel: deployment %s, environment %+v; want both IN_PROGRESS with deployment %s",
			dep.Deployment.DeploymentStatus, got, id)
	}
	if strings.Contains(s.deploymentLog(id), "SIGTERM") {
		t.Errorf("the denied cancel reached the provisioning command:\n%s", s.deploymentLog(id))
	}

	devKey, devSecret := s.createKey(t, "--resource", "dev-*")
	wantCLIError(t, s.awsAs(t, devKey, devSecret, "get-environment", "--name", "web"), "AccessDeniedException",
		"proton:GetEnvironment on resource: web")
	wantCLIError(t, s.awsAs(t, devKey, devSecret, "get-environment", "--name", "dev-web"), "ResourceNotFoundException")

	list := s.keys(t, "list")
	for _, want := range []string{s.key, readKey, devKey, "proton:Get*", "dev-*", "read-only"} {
		if !strings.Contains(list, want) {
			t.Errorf("hadron keys list does not show %q:\n%s", want, list)
		}
	}
	s.keys(t, "disable", readKey)
	eventually(t, deployTimeout, "the disabled key to be refused", func() (bool, string) {
		res := s.awsAs(t, readKey, readSecret, "get-environment", "--name", "web")
		return strings.Contains(res.Stderr, "(UnrecognizedClientException)"), res.String()
	})
	s.keys(t, "delete", devKey)
	eventually(t, deployTimeout, "the deleted key to be refused", func() (bool, string) {
		res := s.awsAs(t, devKey, devSecret, "get-environment", "--name", "dev-web")
		return strings.Contains(res.Stderr, "(UnrecognizedClientException)"), res.String()
	})

	// The administrator can cancel: the denial was the policy's doing.
	s.awsAdminOK(t, &env, "cancel-environment-deployment", "--environment-name", "web")
	if env.Environment.DeploymentStatus != "CANCELLING" {
		t.Errorf("the administrator's cancel answered %s, want CANCELLING", env.Environment.DeploymentStatus)
	}

	log := s.Log()
	// Not a terminal: the secret is only in the 0600 key file (issue 17, hole 7).
	if n := strings.Count(log, s.secret); n != 0 {
		t.Errorf("the administrator's secret appears %d times in the server's output, want none (it goes to %s)", n, adminKeyFile)
	}
	if fi, err := os.Stat(filepath.Join(s.dataDir, adminKeyFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the administrator key file: %v, %v; want mode 0600", fi, err)
	}
	for _, secret := range []string{readSecret, devSecret, "not-the-secret"} {
		if strings.Contains(log, secret) || strings.Contains(s.deploymentLog(id), secret) {
			t.Errorf("a secret appears in the server's output or a deployment log")
		}
	}
	keysFile, _ := os.ReadFile(filepath.Join(s.dataDir, "keys.json"))
	if strings.Contains(string(keysFile), readSecret) || strings.Contains(string(keysFile), s.secret) {
		t.Errorf("keys.json holds a secret in the clear")
	}
	for _, name := range []string{"keys.json", "keys.master"} {
		if info, err := os.Stat(filepath.Join(s.dataDir, name)); err != nil || info.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v, mode %v; want 0600", name, err, info.Mode().Perm())
		}
	}
}

// clientAuthResult is what boto3_auth.py and js/auth.mjs print.
type clientAuthResult struct {
	Right, WrongSecret, UnknownKey, Unsigned, ReadGet, ReadCancel struct {
		Code, Message string
		Status        int
	}
	Burst struct {
		Calls, Succeeded, Retries int
		Errors                    []string
	}
}

// Throttling of the client tests: a burst of burstCalls calls against a key
// allowed throttleRate calls a second after a first throttleBurst.
const (
	throttleRate  = "10"
	throttleBurst = "5"
	burstCalls    = 40
)

func checkClientAuth(t *testing.T, client string, got clientAuthResult, readKey string, unsigned bool) {
	t.Helper()
	type want struct {
		name   string
		code   string
		status int
		msg    string
	}
	cases := []struct {
		got struct {
			Code, Message string
			Status        int
		}
		want want
	}{
		{got.Right, want{"the right key", "", 200, ""}},
		{got.WrongSecret, want{"a wrong secret", "InvalidSignatureException", 403, "signature we calculated does not match"}},
		{got.UnknownKey, want{"an unknown key", "UnrecognizedClientException", 403, "security token included in the request is invalid"}},
		{got.ReadGet, want{"the Get*-only key's GetEnvironment", "", 200, ""}},
		{got.ReadCancel, want{"the Get*-only key's CancelEnvironmentDeployment", "AccessDeniedException", 400,
			"User: " + readKey + " is not authorized to perform: proton:CancelEnvironmentDeployment on resource: web"}},
	}
	if unsigned {
		cases = append(cases, struct {
			got struct {
				Code, Message string
				Status        int
			}
			want want
		}{got.Unsigned, want{"no signature", "MissingAuthenticationTokenException", 403, "missing Authentication Token"}})
	}
	for _, c := range cases {
		if c.got.Code != c.want.code || c.got.Status != c.want.status || !strings.Contains(c.got.Message, c.want.msg) {
			t.Errorf("%s, %s: answered %+v; want %s (HTTP %d) saying %q", client, c.want.name, c.got, cmpOr(c.want.code, "success"), c.want.status, c.want.msg)
		}
	}
	b := got.Burst
	if b.Calls != burstCalls || b.Succeeded != burstCalls || len(b.Errors) > 0 {
		t.Errorf("%s: a throttled burst of %d calls: %d made, %d succeeded, errors %v; want every call to succeed through retries", client, burstCalls, b.Calls, b.Succeeded, b.Errors)
	}
	if b.Retries == 0 {
		t.Errorf("%s: the burst needed no retries: the server did not throttle (--throttle-rate %s --throttle-burst %s)", client, throttleRate, throttleBurst)
	}
	t.Logf("%s: %d calls over --throttle-rate %s --throttle-burst %s succeeded after %d retries of ThrottlingException", client, b.Calls, throttleRate, throttleBurst, b.Retries)
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// TestAuthBoto3 checks each answer with boto3, and that boto3's standard
// retry mode carries a throttled burst through.
func TestAuthBoto3(t *testing.T) {
	hadrontest.Long(t)
	t.Parallel()
	requireBoto3(t)
	s := startAuthServer(t, "--throttle-rate", throttleRate, "--throttle-burst", throttleBurst)
	s.publishNetwork(t)
	s.mustCall(t, "CreateEnvironment", map[string]string{
		"name": "web", "templateName": "network", "templateMajorVersion": "1", "codebuildRoleArn": codebuildArn,
		"spec": "proton: EnvironmentSpec\nspec:\n  name_tag: web\n",
	}, nil)
	readKey, readSecret := s.createKey(t, "--allow", "proton:Get*")
	env := clientEnv("HADRON_ENDPOINT="+s.endpoint, "ADMIN_KEY="+s.key, "ADMIN_SECRET="+s.secret,
		"READ_KEY="+readKey, "READ_SECRET="+readSecret, "ENVIRONMENT=web",
		"BURST_CALLS=40", "BURST_THREADS=10")
	res := runClient(t, env, pythonBin, filepath.Join("testdata", "boto3_auth.py"))
	if res.Code != 0 {
		t.Fatalf("want success:\n%s", res)
	}
	var got clientAuthResult
	if err := json.Unmarshal([]byte(res.Stdout), &got); err != nil {
		t.Fatalf("decode: %v\n%s", err, res)
	}
	checkClientAuth(t, "boto3", got, readKey, true)
}

// requireNode skips t when node or the JS SDK (npm ci in test/e2e/js) is
// missing, or fails it when HADRON_E2E_REQUIRE=1.
func requireNode(t *testing.T) string {
	t.Helper()
	node, err := exec.LookPath("node")
	if err != nil {
		missing(t, "node is not on PATH (the JS SDK tests need it)")
	}
	if _, err := os.Stat(filepath.Join("js", "node_modules", "@aws-sdk", "client-proton", "package.json")); err != nil {
		missing(t, "the JS SDK is not installed: run npm ci in test/e2e/js")
	}
	return node
}

// TestAuthJSSDK checks each answer with the JS SDK v3, which signs more
// headers than the others (amz-sdk-invocation-id, amz-sdk-request,
// x-amz-content-sha256, x-amz-user-agent, content-length), and its retries.
func TestAuthJSSDK(t *testing.T) {
	hadrontest.Long(t)
	t.Parallel()
	node := requireNode(t)
	s := startAuthServer(t, "--throttle-rate", throttleRate, "--throttle-burst", throttleBurst)
	s.publishNetwork(t)
	s.mustCall(t, "CreateEnvironment", map[string]string{
		"name": "web", "templateName": "network", "templateMajorVersion": "1", "codebuildRoleArn": codebuildArn,
		"spec": "proton: EnvironmentSpec\nspec:\n  name_tag: web\n",
	}, nil)
	readKey, readSecret := s.createKey(t, "--allow", "proton:Get*")
	env := clientEnv("HADRON_ENDPOINT="+s.endpoint, "ADMIN_KEY="+s.key, "ADMIN_SECRET="+s.secret,
		"READ_KEY="+readKey, "READ_SECRET="+readSecret, "ENVIRONMENT=web", "BURST_CALLS=40")
	res := runClient(t, env, node, filepath.Join("js", "auth.mjs"))
	if res.Code != 0 {
		t.Fatalf("want success:\n%s", res)
	}
	var got clientAuthResult
	if err := json.Unmarshal([]byte(res.Stdout), &got); err != nil {
		t.Fatalf("decode: %v\n%s", err, res)
	}
	checkClientAuth(t, "JS SDK", got, readKey, false)
}
