package terraform

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hadronhq/hadron/internal/provision"
	"github.com/hadronhq/hadron/internal/provision/codebuild"
	"github.com/hadronhq/hadron/internal/runcreds"
)

func TestMain(m *testing.M) {
	codebuild.MaybeSupervise() // a supervisor started by codebuild.Run exits here
	os.Exit(m.Run())
}

// terraformBinary returns the real terraform, skipping the test without
// it (failing it when HADRON_E2E_REQUIRE=1, as CI sets).
func terraformBinary(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("terraform")
	if err != nil {
		if os.Getenv("HADRON_E2E_REQUIRE") == "1" {
			t.Fatal("terraform is not on PATH; these tests need Terraform 1.x")
		}
		t.Skip("terraform is not on PATH")
	}
	return bin
}

// mainTF is an environment template written as Proton users wrote them,
// with built-in resources only (no provider can be downloaded here).
const mainTF = `
resource "terraform_data" "app" {
  triggers_replace = var.environment.inputs.greeting
  input            = "${var.environment.inputs.greeting}, ${var.environment.name}"
}

locals {
  replicas = tonumber(var.environment.inputs.replicas)
}

output "greeting" {
  value = terraform_data.app.output
}

output "replicas_doubled" {
  value = local.replicas * 2
}

output "tags" {
  value = { account = var.proton_tags["proton:account"] }
}
`

// slowTF adds a resource whose creation runs a command that takes long:
// an apply to cancel midway.
const slowTF = `
resource "terraform_data" "slow" {
  provisioner "local-exec" {
    command = "echo hadron-test-sleeping; sleep 30"
  }
}
`

// failingTF adds a resource whose creation fails.
const failingTF = `
resource "terraform_data" "broken" {
  depends_on = [terraform_data.app]
  provisioner "local-exec" {
    command = "echo hadron-test-failing; exit 3"
  }
}
`

var envTarget = provision.Target{Kind: provision.KindEnvironment, Name: "dev", ARN: arnPrefixTest + "environment/dev",
	EnvironmentName: "dev", TemplateName: "tf-env", TemplateMajor: 1}

type fixture struct {
	engine *Engine
	state  string // the environment's state file
	n      int
}

func setup(t *testing.T) *fixture {
	t.Helper()
	terraformBinary(t)
	dir := t.TempDir()
	e := &Engine{StateDir: filepath.Join(dir, "terraform-state"), Grace: 20 * time.Second}
	path, err := StatePath(e.StateDir, envTarget)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{engine: e, state: path}
}

// watchLog is a deployment log that tells when a text appears in it.
type watchLog struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	want  string
	found chan struct{}
}

func newWatchLog(want string) *watchLog { return &watchLog{want: want, found: make(chan struct{})} }

func (w *watchLog) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if w.want != "" && strings.Contains(w.buf.String(), w.want) {
		close(w.found)
		w.want = ""
	}
	return len(p), nil
}

func (w *watchLog) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// run runs one deployment of the environment with inputs and the
// template's files, as package engine would.
func (f *fixture) run(t *testing.T, ctx context.Context, op string, inputs map[string]any, files map[string]string, log *watchLog) (provision.Result, error) {
	t.Helper()
	f.n++
	raw, err := json.Marshal(provision.Inputs{Environment: &provision.EnvironmentInputs{AccountID: "000000000000", Name: "dev", Inputs: inputs}})
	if err != nil {
		t.Fatal(err)
	}
	settings := provision.Settings{CodebuildRoleArn: "arn:aws:iam::000000000000:role/tf"}
	req := provision.Request{Engine: Name, Operation: op, Target: envTarget, Settings: settings}
	spec, err := f.engine.Plan(req)
	if err != nil {
		t.Fatal(err)
	}
	target := envTarget
	run := provision.Run{
		DeploymentID: "00000000-0000-4000-8000-00000000000" + string(rune('0'+f.n%10)), Operation: op,
		Plan: provision.Plan{Engine: Name, Target: &target, Settings: &settings, Inputs: raw, Spec: spec},
		Dir:  filepath.Join(t.TempDir(), "work"), Files: map[string][]byte{"manifest.yaml": []byte("infrastructure:\n  templates:\n    - {file: '*', rendering_engine: hcl, template_language: terraform}\n")},
		Log: log,
	}
	for name, data := range files {
		run.Files[name] = []byte(data)
	}
	if log == nil {
		run.Log = newWatchLog("")
	}
	res, err := f.engine.Run(ctx, run)
	if err != nil {
		t.Logf("log of the run:\n%s", run.Log.(*watchLog).String())
	}
	return res, err
}

func resourceID(t *testing.T, res provision.Result, name string) string {
	t.Helper()
	for _, r := range res.Resources {
		if r.Name == name {
			if r.Engine != "TERRAFORM" || r.Identifier == "" {
				t.Errorf("resource %+v: want provisioningEngine TERRAFORM and an identifier", r)
			}
			return r.Identifier
		}
	}
	t.Fatalf("resources %+v lack %s", res.Resources, name)
	return ""
}

// A create applies the template with Proton's variables and reports its
// outputs (non-strings as JSON) and resources; a redeploy with the same
// inputs finds the state and changes nothing; an update with a changed
// input replaces the resource; a delete destroys it and forgets the state.
func TestLocalRunCreatesUpdatesAndDestroys(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	files := map[string]string{"main.tf": mainTF}

	res, err := f.run(t, ctx, provision.OperationDeploy, map[string]any{"greeting": "hello", "replicas": 2}, files, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"greeting": "hello, dev", "replicas_doubled": "4", "tags": `{"account":"000000000000"}`}
	if !equalMaps(res.Outputs, want) {
		t.Errorf("outputs = %v, want %v", res.Outputs, want)
	}
	first := resourceID(t, res, "terraform_data.app")
	if len(res.Resources) != 1 {
		t.Errorf("resources = %+v, want terraform_data.app only", res.Resources)
	}
	if _, err := os.Stat(f.state); err != nil {
		t.Fatalf("state not kept: %v", err)
	}

	res, err = f.run(t, ctx, provision.OperationDeploy, map[string]any{"greeting": "hello", "replicas": 2}, files, nil)
	if err != nil {
		t.Fatal(err)
	}
	if id := resourceID(t, res, "terraform_data.app"); id != first {
		t.Errorf("a redeploy without changes replaced the resource (%s, then %s): the state was not found", first, id)
	}

	log := newWatchLog("")
	res, err = f.run(t, ctx, provision.OperationDeploy, map[string]any{"greeting": "bonjour", "replicas": 3}, files, log)
	if err != nil {
		t.Fatal(err)
	}
	if id := resourceID(t, res, "terraform_data.app"); id == first {
		t.Errorf("the changed input did not replace terraform_data.app (id %s)", id)
	}
	if res.Outputs["greeting"] != "bonjour, dev" || res.Outputs["replicas_doubled"] != "6" {
		t.Errorf("outputs after the update = %v", res.Outputs)
	}
	if !strings.Contains(log.String(), "1 added, 0 changed, 1 destroyed") {
		t.Errorf("the log does not show terraform's apply replacing the resource:\n%s", log)
	}

	log = newWatchLog("")
	if _, err := f.run(t, ctx, provision.OperationDelete, map[string]any{"greeting": "bonjour", "replicas": 3}, files, log); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "Destroy complete! Resources: 1 destroyed.") {
		t.Errorf("the log does not show the destroy:\n%s", log)
	}
	if _, err := os.Stat(f.state); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("state after a successful destroy: %v, want it removed", err)
	}
}

// A cancel in the middle of an apply stops terraform (SIGTERM, which it
// takes as an interrupt) within the grace period; the error wraps the
// user's cancel, and the state terraform wrote is kept: the resource the
// earlier deployment created is still in it.
func TestCancelMidApplyKeepsTheState(t *testing.T) {
	t.Parallel()
	f := setup(t)
	inputs := map[string]any{"greeting": "hello", "replicas": 1}
	if _, err := f.run(t, context.Background(), provision.OperationDeploy, inputs, map[string]string{"main.tf": mainTF}, nil); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	log := newWatchLog("hadron-test-sleeping")
	done := make(chan error, 1)
	start := time.Now()
	go func() {
		_, err := f.run(t, ctx, provision.OperationDeploy, inputs, map[string]string{"main.tf": mainTF, "slow.tf": slowTF}, log)
		done <- err
	}()
	select {
	case <-log.found:
	case err := <-done:
		t.Fatalf("the run ended before its slow provisioner started: %v\n%s", err, log)
	case <-time.After(2 * time.Minute):
		t.Fatalf("the slow provisioner never started:\n%s", log)
	}
	cancel(provision.ErrUserCancelled)
	err := <-done
	if !errors.Is(err, provision.ErrUserCancelled) {
		t.Fatalf("err = %v, want one wrapping the user's cancel", err)
	}
	if elapsed := time.Since(start); elapsed > 25*time.Second {
		t.Errorf("the cancelled run took %s: terraform did not stop at the interrupt", elapsed)
	}
	after, err := os.ReadFile(f.state)
	if err != nil {
		t.Fatalf("state after the cancel: %v", err)
	}
	if !strings.Contains(string(after), `"terraform_data"`) || !strings.Contains(string(after), `"app"`) {
		t.Errorf("the kept state lost terraform_data.app:\n%s", after)
	}
	if !strings.Contains(log.String(), "Interrupt received") {
		t.Errorf("terraform did not report the interrupt:\n%s", log)
	}
}

// A failed apply keeps the partial state terraform wrote: the next
// deployment starts from the resource that was created.
func TestFailedApplyKeepsThePartialState(t *testing.T) {
	t.Parallel()
	f := setup(t)
	inputs := map[string]any{"greeting": "hello", "replicas": 1}
	_, err := f.run(t, context.Background(), provision.OperationDeploy, inputs, map[string]string{"main.tf": mainTF, "broken.tf": failingTF}, nil)
	var cmdErr *codebuild.CommandError
	if !errors.As(err, &cmdErr) || !strings.Contains(err.Error(), "apply") {
		t.Fatalf("err = %v, want the apply command's failure", err)
	}
	state, err := os.ReadFile(f.state)
	if err != nil {
		t.Fatalf("no state kept after the failed apply: %v", err)
	}
	if !strings.Contains(string(state), `"app"`) {
		t.Errorf("the partial state lacks terraform_data.app:\n%s", state)
	}
	res, err := f.run(t, context.Background(), provision.OperationDeploy, inputs, map[string]string{"main.tf": mainTF}, nil)
	if err != nil {
		t.Fatal(err)
	}
	resourceID(t, res, "terraform_data.app")
}

// A template that declares its backend keeps its state there: Hadron
// keeps none.
func TestTemplateWithItsOwnBackendKeepsItsState(t *testing.T) {
	t.Parallel()
	f := setup(t)
	own := filepath.Join(t.TempDir(), "own.tfstate")
	backend := "terraform {\n  backend \"local\" {\n    path = \"" + own + "\"\n  }\n}\n"
	files := map[string]string{"main.tf": mainTF, "backend.tf": backend}
	inputs := map[string]any{"greeting": "hello", "replicas": 1}
	res, err := f.run(t, context.Background(), provision.OperationDeploy, inputs, files, nil)
	if err != nil {
		t.Fatal(err)
	}
	resourceID(t, res, "terraform_data.app")
	if _, err := os.Stat(own); err != nil {
		t.Errorf("the template's backend has no state: %v", err)
	}
	if _, err := os.Stat(f.state); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Hadron kept a state of its own (%v) for a template with a backend", err)
	}
	if _, err := f.run(t, context.Background(), provision.OperationDelete, inputs, files, nil); err != nil {
		t.Fatal(err)
	}
}

// A delete of a resource of which no state was kept runs nothing.
func TestDeleteWithoutStateRunsNothing(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.engine.Binary = "/nonexistent/terraform" // would fail if it ran
	log := newWatchLog("")
	if _, err := f.run(t, context.Background(), provision.OperationDelete, map[string]any{}, map[string]string{"main.tf": mainTF}, log); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "nothing to destroy") {
		t.Errorf("log = %s", log)
	}
}

// A deploy without the binary fails saying what to install.
func TestMissingBinaryIsNamed(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.engine.Binary = "/nonexistent/terraform"
	_, err := f.run(t, context.Background(), provision.OperationDeploy, map[string]any{"greeting": "x", "replicas": 1}, map[string]string{"main.tf": mainTF}, nil)
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/terraform") {
		t.Errorf("err = %v", err)
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if bv, ok := b[k]; !ok || bv != v {
			return false
		}
	}
	return true
}

// The rendered files of every kind are accepted by terraform: a template
// reading each variable Proton declared for that kind gets the document's
// values, the inputs as strings (map(string)) unless one of them is a list.
func TestRenderedVariablesWorkWithTerraformForEachKind(t *testing.T) {
	t.Parallel()
	terraformBinary(t)
	want := map[string]string{
		"environment":            `{"account_id":"000000000000","inputs":{"az_count":"2","public":"true","vpc_cidr":"10.0.0.0/16"},"name":"dev"}`,
		"environment-list-input": `{"account_id":"000000000000","inputs":{"name":"x","subnets":["a","b"]},"name":"dev"}`,
	}
	for _, c := range renderCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			raw, err := json.Marshal(c.in)
			if err != nil {
				t.Fatal(err)
			}
			var doc map[string]json.RawMessage
			json.Unmarshal(raw, &doc)
			var tf strings.Builder
			for name := range doc {
				tf.WriteString("output \"" + name + "\" {\n  value = jsonencode(var." + name + ")\n}\n")
			}
			tf.WriteString("output \"proton_tags\" {\n  value = var.proton_tags\n}\n")
			settings := provision.Settings{CodebuildRoleArn: "r", PipelineCodebuildRoleArn: "r"}
			target := c.d.Target
			e := &Engine{StateDir: t.TempDir()}
			spec, _ := e.Plan(provision.Request{Target: target, Settings: settings})
			log := newWatchLog("")
			res, err := e.Run(context.Background(), provision.Run{
				DeploymentID: c.d.ID, Operation: provision.OperationDeploy, Dir: filepath.Join(t.TempDir(), "work"), Log: log,
				Plan:  provision.Plan{Engine: Name, Target: &target, Settings: &settings, Inputs: raw, Spec: spec},
				Files: map[string][]byte{"main.tf": []byte(tf.String())},
			})
			if err != nil {
				t.Fatalf("%v\n%s", err, log)
			}
			for name := range doc {
				if res.Outputs[name] == "" {
					t.Errorf("output %s is empty", name)
				}
			}
			if w, ok := want[c.name]; ok && res.Outputs["environment"] != w {
				t.Errorf("var.environment = %s, want %s", res.Outputs["environment"], w)
			}
			if !strings.Contains(res.Outputs["proton_tags"], `"proton:account":"000000000000"`) {
				t.Errorf("proton_tags = %s", res.Outputs["proton_tags"])
			}
		})
	}
}

// A run gets the credentials a CodeBuild run of the resource gets: the
// container credentials endpoint in terraform's environment (here
// Hadron-minted credentials: no AWS access is configured).
func TestRunGetsTheCredentialsOfACodeBuildRun(t *testing.T) {
	t.Parallel()
	f := setup(t)
	creds, err := runcreds.Listen(runcreds.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer creds.Close()
	f.engine.Credentials = creds
	reader := `
resource "terraform_data" "creds" {
  provisioner "local-exec" {
    command = "printf '%s' \"$AWS_CONTAINER_CREDENTIALS_FULL_URI\" > creds-uri"
  }
}
`
	log := newWatchLog("")
	dir := filepath.Join(t.TempDir(), "work")
	raw, _ := json.Marshal(provision.Inputs{Environment: &provision.EnvironmentInputs{AccountID: "000000000000", Name: "dev", Inputs: map[string]any{"greeting": "hi", "replicas": 1}}})
	settings := provision.Settings{CodebuildRoleArn: "arn:aws:iam::000000000000:role/tf"}
	target := envTarget
	spec, _ := f.engine.Plan(provision.Request{Target: target, Settings: settings})
	_, err = f.engine.Run(context.Background(), provision.Run{
		DeploymentID: "00000000-0000-4000-8000-0000000000cc", Operation: provision.OperationDeploy, Dir: dir, Log: log,
		Plan:  provision.Plan{Engine: Name, Target: &target, Settings: &settings, Inputs: raw, Spec: spec},
		Files: map[string][]byte{"main.tf": []byte(mainTF), "creds.tf": []byte(reader)},
	})
	if err != nil {
		t.Fatalf("%v\n%s", err, log)
	}
	uri, err := os.ReadFile(filepath.Join(dir, "creds-uri"))
	if err != nil || !strings.HasPrefix(string(uri), "http://127.0.0.1:") {
		t.Errorf("terraform's environment had AWS_CONTAINER_CREDENTIALS_FULL_URI %q (%v), want the run's endpoint", uri, err)
	}
	if !strings.Contains(log.String(), "[hadron] credentials:") {
		t.Errorf("the log does not say which credentials the run has:\n%s", log)
	}
}
