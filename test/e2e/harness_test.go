package e2e

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hadronhq/hadron/internal/hadrontest"
	"github.com/hadronhq/hadron/internal/mototest"
)

// Settings shared by every test.
const (
	region       = "us-east-1"
	accessKey    = "hadron-e2e" // any key works: the server runs with --auth none
	codebuildArn = "arn:aws:iam::000000000000:role/hadron-codebuild"
	serviceArn   = "arn:aws:iam::000000000000:role/hadron-proton-service"
	bundleBucket = "templates"

	// cancelGrace is the server's --cancel-grace: short, so that a command
	// that ignores SIGTERM costs the suite little.
	cancelGrace = "2s"
	// startTimeout bounds a server's start-up, stopTimeout its graceful exit
	// after SIGTERM.
	startTimeout = 30 * time.Second
	stopTimeout  = 30 * time.Second
	// clientTimeout bounds one run of the AWS CLI or of a Python snippet
	// (waiters included).
	clientTimeout = 2 * time.Minute
	// deployTimeout bounds how long a test waits for a deployment to end.
	deployTimeout = 60 * time.Second
)

// hadronBin is the binary TestMain built.
var hadronBin string

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	defer mototest.Stop() // started by the tests that need AWS APIs
	dir, err := os.MkdirTemp("", "hadron-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	if hadronBin, err = hadrontest.Build(dir); err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		return 1
	}
	return m.Run()
}

// The real clients.

var (
	toolsOnce    sync.Once
	awsBin       = "aws"
	pythonBin    = "python3"
	awsMissing   string // why the AWS CLI cannot be used; empty when it can
	boto3Missing string // why boto3 cannot be used; empty when it can
)

// checkTools finds the AWS CLI and a python3 that imports boto3. Where they
// are pyenv shims (shell scripts that cost most of a second per run), it
// resolves them to the programs they run.
func checkTools() {
	toolsOnce.Do(func() {
		if path, err := exec.LookPath("aws"); err != nil {
			awsMissing = "the AWS CLI (aws) is not on PATH"
		} else if out, err := exec.Command(path, "--version").CombinedOutput(); err != nil {
			awsMissing = fmt.Sprintf("`aws --version` fails: %v: %s", err, out)
		} else if strings.Contains(path, "/shims/") {
			if out, err := exec.Command("pyenv", "which", "aws").Output(); err == nil {
				awsBin = strings.TrimSpace(string(out))
			}
		}
		if _, err := exec.LookPath("python3"); err != nil {
			boto3Missing = "python3 is not on PATH"
		} else if out, err := exec.Command("python3", "-c", "import boto3, sys; print(sys.executable)").CombinedOutput(); err != nil {
			lines := strings.Split(strings.TrimSpace(string(out)), "\n")
			boto3Missing = fmt.Sprintf("python3 cannot import boto3 (pip install boto3): %v: %s", err, lines[len(lines)-1])
		} else if exe := strings.TrimSpace(string(out)); filepath.IsAbs(exe) {
			pythonBin = exe
		}
	})
}

// requireAWS skips t when the AWS CLI is missing, or fails it when
// HADRON_E2E_REQUIRE=1 says the tools must be there.
func requireAWS(t *testing.T) {
	t.Helper()
	checkTools()
	missing(t, awsMissing)
}

// requireBoto3 is requireAWS for python3 with boto3.
func requireBoto3(t *testing.T) {
	t.Helper()
	checkTools()
	missing(t, boto3Missing)
}

func missing(t *testing.T, why string) {
	t.Helper()
	if why == "" {
		return
	}
	if os.Getenv("HADRON_E2E_REQUIRE") == "1" {
		t.Fatalf("HADRON_E2E_REQUIRE=1 but %s", why)
	}
	t.Skipf("skipping: %s (set HADRON_E2E_REQUIRE=1 to fail instead)", why)
}

// The server.

// server is one running hadron serve process and the harness's client for it.
type server struct {
	*hadrontest.Process
	dataDir  string
	endpoint string // http://127.0.0.1:port
	// key and secret, when set, sign the harness's calls (a server started
	// with --auth sigv4); empty, calls go unsigned.
	key, secret string
}

// startServer starts hadron serve on a free loopback port with data in dataDir,
// authentication off (--auth none) and a short --cancel-grace. At the test's end the server gets SIGTERM and
// must exit 0 within stopTimeout, unless the test has already stopped it.
func startServer(t *testing.T, dataDir string, flags ...string) *server {
	t.Helper()
	return startServerEnv(t, dataDir, nil, flags...)
}

// startServerEnv is startServer with more environment variables for the
// server process (AWS credentials for its own AWS calls, say).
func startServerEnv(t *testing.T, dataDir string, env []string, flags ...string) *server {
	t.Helper()
	// Port 0: the kernel picks a free port and the server prints it.
	// Isolation is the default (best effort): the tests' commands write
	// only in their work directory and report through the deployment's
	// log and outputs.
	args := []string{"serve", "--listen", "127.0.0.1:0", "--data-dir", dataDir, "--cancel-grace", cancelGrace, "--auth", "none"}
	p, err := hadrontest.StartEnv(hadronBin, append(args, flags...), env, startTimeout) // later flags win
	if err != nil {
		t.Fatalf("server: %v", err)
	}
	s := &server{Process: p, dataDir: dataDir, endpoint: p.Endpoint}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server log (%s):\n%s", s.dataDir, s.Log())
		}
		if !s.Exited() {
			if code := s.terminate(t); code != 0 {
				t.Errorf("server exited %d after SIGTERM, want 0", code)
			}
		}
	})
	return s
}

// terminate sends SIGTERM and waits for the exit; it fails the test if the
// server takes longer than stopTimeout (then kills it), and returns the exit code.
func (s *server) terminate(t *testing.T) int {
	t.Helper()
	code, killed, err := s.Terminate(stopTimeout)
	if err != nil {
		t.Errorf("stop the server: %v", err)
	}
	if killed {
		t.Errorf("server still running %s after SIGTERM; killed it", stopTimeout)
	}
	return code
}

// kill SIGKILLs the server and waits until it is reaped.
func (s *server) kill(t *testing.T) {
	t.Helper()
	if err := s.Kill(); err != nil {
		t.Fatalf("kill the server: %v", err)
	}
}

// putBundle packs testdata/bundles/<name> as a gzipped tarball into the
// server's bundle directory, where source s3 {bucket: templates, key: key} is read.
func (s *server) putBundle(t *testing.T, name, key string) {
	t.Helper()
	if err := hadrontest.PutBundle(filepath.Join(s.dataDir, "bundles"), bundleBucket, key, filepath.Join("testdata", "bundles", name)); err != nil {
		t.Fatal(err)
	}
}

// deploymentLog returns the output the server kept of a deployment.
func (s *server) deploymentLog(id string) string {
	b, _ := os.ReadFile(filepath.Join(s.dataDir, "logs", id+".log"))
	return string(b)
}

// waitDeploymentLog waits until the deployment's log holds substr: its
// provisioning commands have got that far.
func (s *server) waitDeploymentLog(t *testing.T, id, substr string) {
	t.Helper()
	eventually(t, deployTimeout, "deployment "+id+" log to contain "+substr, func() (bool, string) {
		l := s.deploymentLog(id)
		return strings.Contains(l, substr), l
	})
}

// The API, spoken directly (AWS JSON 1.0), for polling and for the tests that
// need no real client.

// apiError is an error response of the API.
type apiError = hadrontest.APIError

// call posts one operation and decodes its output into out (if not nil).
// A non-2xx answer is an *apiError.
//
// Like the AWS SDKs, it retries a ThrottlingException with backoff: a test's
// own set-up calls against a server started with a low --throttle-rate must
// not fail for being throttled.
func (s *server) call(op string, in, out any) error {
	c := hadrontest.Client{Endpoint: s.endpoint, Key: s.key, Secret: s.secret, Region: region}
	for wait := 50 * time.Millisecond; ; wait *= 2 {
		err := c.Call(context.Background(), op, in, out)
		var apiErr *hadrontest.APIError
		if !errors.As(err, &apiErr) || apiErr.Type != "ThrottlingException" || wait > 2*time.Second {
			return err
		}
		time.Sleep(wait)
	}
}

// mustCall is call that fails the test on an error.
func (s *server) mustCall(t *testing.T, op string, in, out any) {
	t.Helper()
	if err := s.call(op, in, out); err != nil {
		t.Fatalf("%s %v: %v", op, in, err)
	}
}

// Shapes of the API, as far as the tests look at them. encoding/json matches
// the wire's camelCase names to these field names.
type (
	environment struct {
		Name                      string
		Arn                       string
		DeploymentStatus          string
		DeploymentStatusMessage   string
		Spec                      string
		TemplateName              string
		TemplateMajorVersion      string
		TemplateMinorVersion      string
		Provisioning              string
		LastAttemptedDeploymentID string `json:"lastAttemptedDeploymentId"`
		LastSucceededDeploymentID string `json:"lastSucceededDeploymentId"`
		EnvironmentAccountID      string `json:"environmentAccountId"`
	}
	environmentOut struct{ Environment environment }

	environmentState struct {
		Spec                 string
		TemplateName         string
		TemplateMajorVersion string
		TemplateMinorVersion string
	}
	deploymentState struct{ Environment *environmentState }
	deployment      struct {
		ID                      string `json:"id"`
		DeploymentStatus        string
		DeploymentStatusMessage string
		EnvironmentName         string
		TargetArn               string
		InitialState            *deploymentState
		TargetState             *deploymentState
	}
	deploymentOut  struct{ Deployment deployment }
	deploymentsOut struct {
		Deployments []deployment
		NextToken   string
	}

	templateVersion struct {
		TemplateName            string
		MajorVersion            string
		MinorVersion            string
		RecommendedMinorVersion string
		Status                  string
		StatusMessage           string
	}
	templateVersionOut struct{ EnvironmentTemplateVersion templateVersion }
	templateOut        struct {
		EnvironmentTemplate struct {
			Name               string
			RecommendedVersion string
			Provisioning       string
		}
	}

	output     struct{ Key, ValueString string }
	outputsOut struct{ Outputs []output }
)

// outputMap turns a list of outputs into a map.
func outputMap(outs []output) map[string]string {
	m := map[string]string{}
	for _, o := range outs {
		m[o.Key] = o.ValueString
	}
	return m
}

// getEnvironment returns an environment, or the API's error.
func (s *server) getEnvironment(name string) (environment, error) {
	var out environmentOut
	err := s.call("GetEnvironment", map[string]string{"name": name}, &out)
	return out.Environment, err
}

// waitEnvironment waits until the environment's deploymentStatus is one of statuses.
func (s *server) waitEnvironment(t *testing.T, name string, statuses ...string) environment {
	t.Helper()
	return hadrontest.AwaitStatus(t, deployTimeout, "environment "+name, func() (environment, error) { return s.getEnvironment(name) },
		func(e environment) string { return e.DeploymentStatus }, statuses...)
}

// waitEnvironmentGone waits until GetEnvironment answers ResourceNotFoundException.
func (s *server) waitEnvironmentGone(t *testing.T, name string) {
	t.Helper()
	hadrontest.AwaitNotFound(t, deployTimeout, "environment "+name, func() (environment, error) { return s.getEnvironment(name) })
}

// waitRegistered waits until a template version is no longer
// REGISTRATION_IN_PROGRESS and returns it.
func (s *server) waitRegistered(t *testing.T, template, major, minor string) templateVersion {
	t.Helper()
	return s.waitVersion(t, "GetEnvironmentTemplateVersion", template, major, minor)
}

// waitVersion waits until a template version, read with op, is no longer
// REGISTRATION_IN_PROGRESS and returns it.
func (s *server) waitVersion(t *testing.T, op, template, major, minor string) templateVersion {
	t.Helper()
	get := func() (templateVersion, error) {
		var out struct {
			EnvironmentTemplateVersion, ServiceTemplateVersion *templateVersion
		}
		err := s.call(op, map[string]string{"templateName": template, "majorVersion": major, "minorVersion": minor}, &out)
		if v := cmp.Or(out.EnvironmentTemplateVersion, out.ServiceTemplateVersion); v != nil {
			return *v, err
		}
		return templateVersion{}, err
	}
	return hadrontest.AwaitStatus(t, deployTimeout, fmt.Sprintf("template version %s:%s.%s (%s)", template, major, minor, op), get,
		func(v templateVersion) string { return v.Status }, "DRAFT", "PUBLISHED", "REGISTRATION_FAILED")
}

// eventually polls cond until it reports done, and fails the test with
// cond's last description of the state when timeout passes first.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() (done bool, state string)) {
	t.Helper()
	hadrontest.Eventually(t, timeout, what, cond)
}

// The AWS CLI and boto3.

// clientResult is how one run of a client ended.
type clientResult struct {
	Args   []string
	Stdout string
	Stderr string
	Code   int
}

func (r clientResult) String() string {
	return fmt.Sprintf("%s: exit %d\nstdout: %s\nstderr: %s", strings.Join(r.Args, " "), r.Code, r.Stdout, r.Stderr)
}

// clientEnv is the environment of the AWS CLI and of boto3: any access key
// (authentication is off), no retries (a retried error would hide the first
// answer), and nothing from the user's own AWS configuration.
func clientEnv(extra ...string) []string {
	env := withoutPrefixes(os.Environ(), "AWS_", "HADRON_")
	env = append(env,
		"AWS_ACCESS_KEY_ID="+accessKey,
		"AWS_SECRET_ACCESS_KEY="+accessKey,
		"AWS_DEFAULT_REGION="+region,
		"AWS_MAX_ATTEMPTS=1",
		"AWS_RETRY_MODE=standard",
		"AWS_CONFIG_FILE="+os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE="+os.DevNull,
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_PAGER=",
		"PYTHONDONTWRITEBYTECODE=1",
	)
	return append(env, extra...)
}

func withoutPrefixes(env []string, prefixes ...string) []string {
	return hadrontest.WithoutPrefixes(env, prefixes...)
}

func runClient(t *testing.T, env []string, name string, args ...string) clientResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), clientTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	res := clientResult{Args: append([]string{name}, args...), Stdout: stdout.String(), Stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit):
		res.Code = exit.ExitCode()
	default:
		t.Fatalf("run %s: %v", strings.Join(res.Args, " "), err)
	}
	if ctx.Err() != nil {
		t.Fatalf("%s did not finish within %s\n%s", strings.Join(res.Args, " "), clientTimeout, res)
	}
	return res
}

// aws runs `aws proton <args>` against the server.
func (s *server) aws(t *testing.T, args ...string) clientResult {
	t.Helper()
	args = append(append([]string{"proton"}, args...), "--endpoint-url", s.endpoint, "--region", region, "--output", "json")
	return runClient(t, clientEnv(), awsBin, args...)
}

// awsOK runs `aws proton <args>`, fails the test unless it succeeds, and
// decodes its JSON output into out (if not nil).
func (s *server) awsOK(t *testing.T, out any, args ...string) {
	t.Helper()
	res := s.aws(t, args...)
	if res.Code != 0 {
		t.Fatalf("want success:\n%s", res)
	}
	if out != nil {
		if err := json.Unmarshal([]byte(res.Stdout), out); err != nil {
			t.Fatalf("decode the output: %v\n%s", err, res)
		}
	}
}

// awsErr runs `aws proton <args>`, fails the test unless the CLI fails with
// the error code errType, and returns the CLI's error message.
func (s *server) awsErr(t *testing.T, errType string, args ...string) string {
	t.Helper()
	res := s.aws(t, args...)
	if res.Code == 0 || !strings.Contains(res.Stderr, "("+errType+")") {
		t.Fatalf("want a failure with %s:\n%s", errType, res)
	}
	return strings.TrimSpace(res.Stderr)
}

// python runs testdata/<script> with python3; the script finds the server in
// HADRON_ENDPOINT and prints its results as JSON, decoded into out.
func (s *server) python(t *testing.T, out any, script string, args ...string) {
	t.Helper()
	env := clientEnv("HADRON_ENDPOINT="+s.endpoint, "HADRON_DATA_DIR="+s.dataDir)
	res := runClient(t, env, pythonBin, append([]string{filepath.Join("testdata", script)}, args...)...)
	if res.Code != 0 {
		t.Fatalf("want success:\n%s", res)
	}
	if err := json.Unmarshal([]byte(res.Stdout), out); err != nil {
		t.Fatalf("decode the output: %v\n%s", err, res)
	}
}

// Helpers of the tests.

// writeFile writes content to a new file in a temporary directory and returns its path.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// specFile writes an environment spec file with the given inputs (YAML lines
// "key: value") and returns its file:// argument for the CLI and its text.
func specFile(t *testing.T, inputs ...string) (arg, text string) {
	t.Helper()
	text = "proton: EnvironmentSpec\nspec:\n"
	for _, in := range inputs {
		text += "  " + in + "\n"
	}
	return "file://" + writeFile(t, "spec.yaml", text), text
}

// registerTemplate creates an environment template with the CLI (extra
// arguments such as --provisioning CUSTOMER_MANAGED go to
// create-environment-template), registers version 1.0 from the bundle, and
// publishes it.
func (s *server) registerTemplate(t *testing.T, name, bundle string, extra ...string) {
	t.Helper()
	s.putBundle(t, bundle, name+".tar.gz")
	s.awsOK(t, nil, append([]string{"create-environment-template", "--name", name}, extra...)...)
	v := s.createVersion(t, name, name+".tar.gz")
	if v.Status != "DRAFT" {
		t.Fatalf("version %s:%s.%s is %s (%s), want DRAFT", name, v.MajorVersion, v.MinorVersion, v.Status, v.StatusMessage)
	}
	s.publish(t, name, v.MajorVersion, v.MinorVersion)
}

// createVersion registers a version of template from the bundle key with
// the CLI (extra arguments such as --major-version 1 go to
// create-environment-template-version) and waits until registration ends.
func (s *server) createVersion(t *testing.T, template, key string, extra ...string) templateVersion {
	t.Helper()
	var out templateVersionOut
	s.awsOK(t, &out, append([]string{"create-environment-template-version", "--template-name", template,
		"--source", fmt.Sprintf("s3={bucket=%s,key=%s}", bundleBucket, key)}, extra...)...)
	v := out.EnvironmentTemplateVersion
	return s.waitRegistered(t, template, v.MajorVersion, v.MinorVersion)
}

// publish publishes a template version with the CLI.
func (s *server) publish(t *testing.T, template, major, minor string) {
	t.Helper()
	var out templateVersionOut
	s.awsOK(t, &out, "update-environment-template-version", "--template-name", template,
		"--major-version", major, "--minor-version", minor, "--status", "PUBLISHED")
	if out.EnvironmentTemplateVersion.Status != "PUBLISHED" {
		t.Fatalf("update-environment-template-version --status PUBLISHED answered %+v", out.EnvironmentTemplateVersion)
	}
}
