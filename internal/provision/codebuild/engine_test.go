package codebuild

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/hadronhq/hadron/internal/bundle"
	"github.com/hadronhq/hadron/internal/provision"
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
