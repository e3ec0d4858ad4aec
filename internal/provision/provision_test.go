package provision_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/hadronhq/hadron/internal/bundle"
	"github.com/hadronhq/hadron/internal/provision"
)

// fakeEngine is an engine whose answers the test sets.
type fakeEngine struct {
	unfinished bool
	paramsErr  error
}

func (f *fakeEngine) Plan(req provision.Request) (json.RawMessage, error) {
	return json.Marshal(map[string]string{"op": req.Operation})
}

func (f *fakeEngine) Run(context.Context, provision.Run) (provision.Result, error) {
	return provision.Result{}, nil
}

func (f *fakeEngine) CheckParams(provision.Request) error { return f.paramsErr }
func (f *fakeEngine) DeprovisionUnfinished() bool         { return f.unfinished }

func TestRegisterTwicePanicsNamingTheEngine(t *testing.T) {
	r := provision.NewRegistry()
	r.Register("x", &fakeEngine{})
	defer func() {
		if p := recover(); p == nil || !strings.Contains(p.(string), `"x"`) {
			t.Errorf("second registration: panic %v, want one naming x", p)
		}
	}()
	r.Register("x", &fakeEngine{})
}

func TestNotRunningNamesTheEngineAndTheRegisteredOnes(t *testing.T) {
	r := provision.NewRegistry()
	r.Register("codebuild", &fakeEngine{})
	r.Register("customer_managed", &fakeEngine{})
	got := r.NotRunning("cloudformation").Error()
	want := "this deployment needs the cloudformation provisioning engine, which this Hadron server does not run; only codebuild, customer_managed can be deployed here for now"
	if got != want {
		t.Errorf("NotRunning = %q\nwant %q", got, want)
	}
}

func TestDeprovisionRunsOnlyWhereSomethingMayBeLeft(t *testing.T) {
	r := provision.NewRegistry()
	r.Register("leaves", &fakeEngine{unfinished: true})
	r.Register("clean", &fakeEngine{})
	for _, c := range []struct {
		engine, attempted, succeeded string
		want                         bool
	}{
		{"leaves", "", "", false},   // never deployed
		{"leaves", "d1", "", true},  // a failed deploy may have half-built something
		{"clean", "d1", "", false},  // nothing was ever provisioned
		{"clean", "d2", "d1", true}, // deployed once
		{"missing", "d1", "", false},
		{"missing", "d2", "d1", true}, // runs, and fails naming the engine
	} {
		if got := r.Deprovision(c.engine, c.attempted, c.succeeded); got != c.want {
			t.Errorf("Deprovision(%s, %q, %q) = %v, want %v", c.engine, c.attempted, c.succeeded, got, c.want)
		}
	}
}

func TestPlanKeepsTheEnginePartAndTheInputs(t *testing.T) {
	r := provision.NewRegistry()
	r.Register("x", &fakeEngine{})
	req := provision.Request{Engine: "x", Operation: provision.OperationDelete, Target: provision.Target{Kind: provision.KindEnvironment, Name: "e"},
		Inputs: &provision.Inputs{Component: &provision.ComponentInputs{Name: "c"}}}
	p, err := r.Plan(req)
	if err != nil {
		t.Fatal(err)
	}
	if string(p.Spec) != `{"op":"DELETE"}` || string(p.Inputs) != `{"component":{"name":"c"}}` || p.Target.Name != "e" || p.Settings != nil {
		t.Errorf("plan = %+v", p)
	}
	req.Engine = "cloudformation"
	if p, err = r.Plan(req); err != nil || p.Engine != "cloudformation" || p.Spec != nil {
		t.Errorf("plan of an engine not registered = %+v, %v; want one naming it, without an engine part", p, err)
	}
}

func TestCheckParamsUsesTheEngineOrProtonsRuleForAMissingOne(t *testing.T) {
	r := provision.NewRegistry()
	r.Register("x", &fakeEngine{paramsErr: errIs("x needs a role")})
	env := provision.Target{Kind: provision.KindEnvironment}
	for _, c := range []struct {
		req  provision.Request
		want string
	}{
		{provision.Request{Engine: "x", Target: env}, "x needs a role"},
		// Packages cloudformation and terraform check their own settings.
		{provision.Request{Engine: bundle.EngineCloudFormation, Target: env}, ""},
		{provision.Request{Engine: bundle.EngineTerraform, Target: env}, ""},
	} {
		err := r.CheckParams(c.req)
		if (c.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.want)) {
			t.Errorf("CheckParams(%s %s) = %v, want %q", c.req.Engine, c.req.Target.Kind, err, c.want)
		}
	}
}

type errIs string

func (e errIs) Error() string { return string(e) }

// The inputs document is written as proton-inputs.json has always been:
// keys in alphabetical order (service's name first), an environment's own
// document with inputs and no outputs, an empty instance list as [].
func TestInputsDocumentIsWrittenAsProtonInputsJSON(t *testing.T) {
	svc := &provision.ServiceInputs{Name: "s"}
	for _, c := range []struct {
		name string
		in   provision.Inputs
		want string
	}{
		{"environment", provision.Inputs{Environment: &provision.EnvironmentInputs{AccountID: "1", Name: "e", Inputs: map[string]any{}}},
			`{"environment":{"account_id":"1","inputs":{},"name":"e"}}`},
		{"instance", provision.Inputs{Service: svc, Environment: &provision.EnvironmentInputs{AccountID: "1", Name: "e", Outputs: map[string]string{"A": "b"}},
			ServiceInstance: &provision.InstanceInputs{Name: "i", Inputs: map[string]any{"port": 80},
				Components: &provision.InstanceComponents{Default: provision.ComponentOutputs{Name: "c", Outputs: map[string]string{"B": "x"}}}}},
			`{"environment":{"account_id":"1","name":"e","outputs":{"A":"b"}},` +
				`"service":{"name":"s","branch_name":"","repository_id":"","repository_connection_arn":""},` +
				`"service_instance":{"components":{"default":{"name":"c","outputs":{"B":"x"}}},"inputs":{"port":80},"name":"i"}}`},
		{"pipeline", provision.Inputs{Service: svc, Pipeline: &provision.PipelineInputs{Inputs: map[string]any{}}, ServiceInstances: []provision.PipelineInstance{}},
			`{"pipeline":{"inputs":{}},"service":{"name":"s","branch_name":"","repository_id":"","repository_connection_arn":""},"service_instances":[]}`},
		{"component", provision.Inputs{Component: &provision.ComponentInputs{Name: "c"}, Environment: &provision.EnvironmentInputs{AccountID: "1", Name: "e"}},
			`{"component":{"name":"c"},"environment":{"account_id":"1","name":"e","outputs":null}}`},
	} {
		raw, err := json.Marshal(c.in)
		if err != nil || string(raw) != c.want {
			t.Errorf("%s: %s, %v\nwant %s", c.name, raw, err, c.want)
		}
	}
}

func TestPlanStoredBeforeEnginePartsIsReadIntoOne(t *testing.T) {
	var p provision.Plan
	old := `{"engine":"codebuild","commands":["make"],"inputs":{"environment":{"name":"e"}},"env":{"RESOURCE_ARN":"arn:e"},` +
		`"bundle":{"kind":"ENVIRONMENT","template":"t","major":1,"minor":0,"dir":"infrastructure"}}`
	if err := json.Unmarshal([]byte(old), &p); err != nil {
		t.Fatal(err)
	}
	if p.Engine != "codebuild" || string(p.Spec) != `{"commands":["make"]}` || p.Target == nil || p.Target.ARN != "arn:e" ||
		string(p.Inputs) != `{"environment":{"name":"e"}}` || p.Bundle == nil || p.Bundle.Dir != "infrastructure" {
		t.Errorf("old plan read as %+v (spec %s)", p, p.Spec)
	}
	var cm provision.Plan
	if err := json.Unmarshal([]byte(`{"engine":"customer_managed","outputs":{"A":"b"}}`), &cm); err != nil || string(cm.Spec) != `{"outputs":{"A":"b"}}` {
		t.Errorf("old customer-managed plan read as %+v (spec %s), %v", cm, cm.Spec, err)
	}
	var now provision.Plan
	raw := `{"engine":"codebuild","target":{"kind":"ENVIRONMENT","name":"e","arn":"arn:e"},"spec":{"commands":[]}}`
	if err := json.Unmarshal([]byte(raw), &now); err != nil || string(now.Spec) != `{"commands":[]}` || now.Target.Name != "e" {
		t.Errorf("plan read as %+v (spec %s), %v", now, now.Spec, err)
	}
}

// notifyFinisher is an engine some of whose deployments a report ends (as
// the Terraform hand-off's): those whose plan says "waits".
type notifyFinisher struct{ fakeEngine }

func (notifyFinisher) FinalStatusFromNotify(p provision.Plan) bool {
	return string(p.Spec) == `"waits"`
}

func TestFinalStatusFromNotifyOnlyForDeploymentsTheEngineSaysSo(t *testing.T) {
	r := provision.NewRegistry()
	r.Register("runs-itself", &fakeEngine{})
	r.Register("waits-for-reports", &notifyFinisher{})
	for _, c := range []struct {
		engine, spec string
		want         bool
	}{
		{"runs-itself", `"waits"`, false},
		{"waits-for-reports", `"waits"`, true},
		{"waits-for-reports", `"runs"`, false},
		{"not-registered", `"waits"`, false},
	} {
		if got := r.FinalStatusFromNotify(provision.Plan{Engine: c.engine, Spec: json.RawMessage(c.spec)}); got != c.want {
			t.Errorf("FinalStatusFromNotify(%s, %s) = %v, want %v", c.engine, c.spec, got, c.want)
		}
	}
}
