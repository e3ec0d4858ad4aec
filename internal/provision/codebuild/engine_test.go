package codebuild

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hadronhq/hadron/internal/bundle"
	"github.com/hadronhq/hadron/internal/provision"
	"github.com/hadronhq/hadron/internal/secrets"
)

func TestEngineRunsThePlannedCommandsWithInputsAndResourceARN(t *testing.T) {
	e := &Engine{Env: map[string]string{"HADRON_ENDPOINT": "http://h"}}
	m := &bundle.Manifest{Templates: []bundle.ManifestTemplate{{RenderingEngine: bundle.RenderingCodebuild, Settings: &bundle.CodebuildSettings{
		Provision:   []string{`printf '{"Arn":"%s","Endpoint":"%s","Name":"%s"}' "$RESOURCE_ARN" "$HADRON_ENDPOINT" "$(sed -n 's/.*"name":"\([^"]*\)".*/\1/p' proton-inputs.json)" > proton-outputs.json`},
		Deprovision: []string{"echo gone"},
	}}}}
	req := provision.Request{Engine: Name, Operation: provision.OperationDeploy, Manifest: m,
		Target: provision.Target{Kind: provision.KindEnvironment, Name: "e", ARN: "arn:aws:proton:us-east-1:1:environment/e"}}
	reg := provision.NewRegistry()
	reg.Register(Name, e)
	plan, err := reg.Plan(provision.Request{Engine: req.Engine, Operation: req.Operation, Manifest: m, Target: req.Target,
		Inputs: &provision.Inputs{Environment: &provision.EnvironmentInputs{Name: "e", Inputs: map[string]any{}}}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.Run(context.Background(), provision.Run{DeploymentID: "d", Operation: provision.OperationDeploy, Plan: plan, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"Arn": req.Target.ARN, "Endpoint": "http://h", "Name": "e"}
	if got, _ := json.Marshal(res.Outputs); string(got) != mustJSON(want) {
		t.Errorf("outputs = %s, want %s", got, mustJSON(want))
	}
	req.Operation = provision.OperationDelete
	spec, _ := e.Plan(req)
	if string(spec) != `{"commands":["echo gone"]}` {
		t.Errorf("delete plan = %s, want the deprovision commands", spec)
	}
}

func TestEngineParamsAreProtonsCodeBuildRoleRules(t *testing.T) {
	e := &Engine{}
	for _, c := range []struct {
		kind string
		st   provision.Settings
		op   string
		want string
	}{
		{provision.KindEnvironment, provision.Settings{}, provision.OperationDeploy, "the template uses CodeBuild provisioning: codebuildRoleArn (or environmentAccountConnectionId) is required"},
		{provision.KindEnvironment, provision.Settings{EnvironmentAccountConnectionID: "c"}, provision.OperationDeploy, ""},
		{provision.KindServiceInstance, provision.Settings{}, provision.OperationDeploy, "service instance i uses CodeBuild provisioning, but its environment e has no codebuildRoleArn"},
		{provision.KindServiceInstance, provision.Settings{}, provision.OperationDelete, ""},
		{provision.KindServicePipeline, provision.Settings{CodebuildRoleArn: "r"}, provision.OperationDeploy, "set pipelineCodebuildRoleArn with UpdateAccountSettings first"},
		{provision.KindComponent, provision.Settings{}, provision.OperationDeploy, ""},
	} {
		err := e.CheckParams(provision.Request{Operation: c.op, Settings: c.st, Target: provision.Target{Kind: c.kind, Name: "i", EnvironmentName: "e"}})
		if (c.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%s %s: %v, want %q", c.kind, c.op, err, c.want)
		}
	}
}

func mustJSON(v any) string {
	raw, _ := json.Marshal(v)
	return string(raw)
}

func TestEngineGivesTheManifestsEnvAndSecretsMaskedAndKeepsNoValueInThePlan(t *testing.T) {
	t.Parallel()
	st := &secrets.Store{Dir: t.TempDir()}
	st.Put("prod/db", []byte(`{"password":"s3cr3t-pw"}`))
	st.Put("/app/token", []byte("tok-value"))
	e := &Engine{Secrets: &secrets.Resolver{Store: st}}
	m := &bundle.Manifest{Templates: []bundle.ManifestTemplate{{RenderingEngine: bundle.RenderingCodebuild, Settings: &bundle.CodebuildSettings{
		Image:     "aws/codebuild/amazonlinux2-x86_64-standard:4.0",
		Runtimes:  map[string]string{"golang": "1.20"},
		Provision: []string{`echo "tf=$TF_VERSION pw=$DB_PASSWORD"`, `printf '{"tf":"%s","pwlen":"%s","tok":"%s","dsn":"db://app:%s@db"}' "$TF_VERSION" "${#DB_PASSWORD}" "$TOKEN" "$DB_PASSWORD" > proton-outputs.json`},
		Env: bundle.CodebuildEnv{
			Variables:      map[string]string{"TF_VERSION": "1.11.0", "DB_PASSWORD": "overridden"},
			SecretsManager: map[string]string{"DB_PASSWORD": "prod/db:password"},
			ParameterStore: map[string]string{"TOKEN": "/app/token"},
		},
	}}}}
	req := provision.Request{Engine: Name, Operation: provision.OperationDeploy, Manifest: m,
		Target: provision.Target{Kind: provision.KindEnvironment, Name: "e", ARN: "arn:aws:proton:us-east-1:1:environment/e"}}
	reg := provision.NewRegistry()
	reg.Register(Name, e)
	plan, err := reg.Plan(req)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(plan.Spec), "s3cr3t") || !strings.Contains(string(plan.Spec), "prod/db:password") {
		t.Errorf("plan spec = %s, want the references and no value", plan.Spec)
	}
	var log strings.Builder
	res, err := e.Run(context.Background(), provision.Run{DeploymentID: "d", Operation: provision.OperationDeploy, Plan: plan, Dir: t.TempDir(), Log: &log})
	if err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	// An output holding a secret's value is kept masked, as the log is.
	want := map[string]string{"tf": "1.11.0", "pwlen": "9", "tok": "***", "dsn": "db://app:***@db"}
	if got := mustJSON(res.Outputs); got != mustJSON(want) {
		t.Errorf("outputs = %s, want %s", got, mustJSON(want))
	}
	if strings.Contains(log.String(), "s3cr3t") || !strings.Contains(log.String(), "tf=1.11.0 pw=***") {
		t.Errorf("log does not mask the secret:\n%s", log.String())
	}
	if !strings.Contains(log.String(), "image") {
		t.Errorf("log does not say the image is not applied:\n%s", log.String())
	}
}

// TestEngineMasksTheRunsSecretsInOutputsReportedWhileItRuns: outputs a
// run reports through notify (Registry.MaskOutputs with the deployment
// id) have its secrets' values masked while it runs, and only then.
func TestEngineMasksTheRunsSecretsInOutputsReportedWhileItRuns(t *testing.T) {
	t.Parallel()
	st := &secrets.Store{Dir: t.TempDir()}
	st.Put("prod/db", []byte(`{"password":"s3cr3t-pw"}`))
	dir := t.TempDir()
	reg := provision.NewRegistry()
	report := func() (map[string]string, []string) {
		outputs := map[string]string{"Dsn": "db://app:s3cr3t-pw@db", "Plain": "x"}
		return outputs, reg.MaskOutputs(Name, "d1", outputs)
	}
	var during map[string]string
	var duringMasked []string
	e := &Engine{Secrets: &secrets.Resolver{Store: st}, OnStart: func(int) {
		during, duringMasked = report()
		if err := os.WriteFile(filepath.Join(dir, "reported"), nil, 0o600); err != nil {
			t.Error(err)
		}
	}}
	reg.Register(Name, e)
	m := &bundle.Manifest{Templates: []bundle.ManifestTemplate{{RenderingEngine: bundle.RenderingCodebuild, Settings: &bundle.CodebuildSettings{
		Provision: []string{`while [ ! -e reported ]; do sleep 0.01; done`},
		Env:       bundle.CodebuildEnv{SecretsManager: map[string]string{"DB_PASSWORD": "prod/db:password"}},
	}}}}
	plan, err := reg.Plan(provision.Request{Engine: Name, Operation: provision.OperationDeploy, Manifest: m,
		Target: provision.Target{Kind: provision.KindEnvironment, Name: "e", ARN: "arn:aws:proton:us-east-1:1:environment/e"}})
	if err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	if _, err := e.Run(context.Background(), provision.Run{DeploymentID: "d1", Operation: provision.OperationDeploy, Plan: plan, Dir: dir, Log: &log}); err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	if during["Dsn"] != "db://app:***@db" || during["Plain"] != "x" || !slices.Equal(duringMasked, []string{"Dsn"}) {
		t.Errorf("reported while running: %v, masked %v; want Dsn masked", during, duringMasked)
	}
	if after, masked := report(); masked != nil || after["Dsn"] != "db://app:s3cr3t-pw@db" {
		t.Errorf("reported after the run: %v, masked %v; want nothing to mask (no run holds the secret)", after, masked)
	}
}

func TestEngineFailsAMissingSecretBeforeAnyCommandRuns(t *testing.T) {
	t.Parallel()
	e := &Engine{Secrets: &secrets.Resolver{Store: &secrets.Store{Dir: t.TempDir()}}}
	dir := t.TempDir()
	m := &bundle.Manifest{Templates: []bundle.ManifestTemplate{{RenderingEngine: bundle.RenderingCodebuild, Settings: &bundle.CodebuildSettings{
		Provision: []string{"touch ran"},
		Env:       bundle.CodebuildEnv{SecretsManager: map[string]string{"API_KEY": "team/api:key"}},
	}}}}
	spec, err := e.Plan(provision.Request{Operation: provision.OperationDeploy, Manifest: m})
	if err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	_, err = e.Run(context.Background(), provision.Run{DeploymentID: "d", Plan: provision.Plan{Engine: Name, Spec: spec}, Dir: dir, Log: &log})
	if err == nil || !strings.Contains(err.Error(), "API_KEY") || !strings.Contains(err.Error(), "team/api:key") || !strings.Contains(err.Error(), "before any command ran") {
		t.Fatalf("Run = %v, want an error naming API_KEY and team/api:key", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "ran")); err == nil {
		t.Error("the command ran although a secret was missing")
	}
	if !strings.Contains(log.String(), "API_KEY") {
		t.Errorf("log does not say why:\n%s", log.String())
	}
}
