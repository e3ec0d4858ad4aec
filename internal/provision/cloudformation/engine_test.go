package cloudformation

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/hadronhq/hadron/internal/awsaccess"
	"github.com/hadronhq/hadron/internal/bundle"
	"github.com/hadronhq/hadron/internal/bundle/jinja"
	"github.com/hadronhq/hadron/internal/provision"
	"github.com/hadronhq/hadron/internal/provision/cloudformation/cfnfake"
)

// engineTemplate is a Proton-style environment template: a loop over a
// list input, outputs.
const engineTemplate = `Resources:
{% for cidr in environment.inputs.subnets %}
  Subnet{{ loop.index }}:
    Type: AWS::EC2::Subnet
    Properties:
      CidrBlock: {{ cidr }}
{% endfor %}
  Bucket:
    Type: AWS::S3::Bucket
Outputs:
  BucketName:
    Value: !Ref Bucket
  Label:
    Value: {{ environment.inputs.label }}
`

const otherRole = "arn:aws:iam::123456789012:role/component-role"

func newTestEngine(url string) *Engine {
	return &Engine{
		AWS:    awsaccess.Config{Region: "us-east-1", EndpointURL: url, Credentials: credentials.NewStaticCredentialsProvider("AKIDBASE", "base-secret", "")},
		Driver: Config{PollInitial: 5 * time.Millisecond, PollMax: 50 * time.Millisecond},
	}
}

// envRun builds the plan and run of an environment deployment as package
// proton and the registry would.
func envRun(t *testing.T, e *Engine, id, op string, inputs map[string]any, prev string) provision.Run {
	t.Helper()
	r := provision.NewRegistry()
	r.Register(Name, e)
	m := bundle.Manifest{Templates: []bundle.ManifestTemplate{{File: "cloudformation.yaml", RenderingEngine: bundle.RenderingJinja, TemplateLanguage: "cloudformation"}}}
	req := provision.Request{
		Engine: Name, Operation: op, Manifest: &m, PreviousDeploymentID: prev,
		Target:   provision.Target{Kind: provision.KindEnvironment, Name: "prod", ARN: "arn:aws:proton:us-east-1:123456789012:environment/prod", EnvironmentName: "prod", TemplateName: "vpc", TemplateMajor: 1},
		Settings: provision.Settings{ProtonServiceRoleArn: testRole, ComponentRoleArn: otherRole},
		Inputs:   &provision.Inputs{Environment: &provision.EnvironmentInputs{AccountID: "123456789012", Name: "prod", Inputs: inputs}},
	}
	if err := r.CheckParams(req); err != nil {
		t.Fatal(err)
	}
	plan, err := r.Plan(req)
	if err != nil {
		t.Fatal(err)
	}
	return provision.Run{DeploymentID: id, Operation: op, Plan: plan, Dir: t.TempDir(),
		Files: map[string][]byte{"cloudformation.yaml": []byte(engineTemplate)}, Log: &syncBuffer{}}
}

func TestEngineRendersAndDeploysTheEnvironmentStackWithItsRoleAndTags(t *testing.T) {
	t.Parallel()
	fake := cfnfake.New()
	t.Cleanup(fake.Close)
	e := newTestEngine(fake.URL)
	run := envRun(t, e, "d1", provision.OperationDeploy, map[string]any{"subnets": []any{"10.0.0.0/24", "10.0.1.0/24"}, "label": "blue"}, "")
	res, err := e.Run(context.Background(), run)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, run.Log)
	}
	stack := EnvironmentStackName("prod")
	if got := fake.Template(stack); !strings.Contains(got, "Subnet2:") || !strings.Contains(got, "CidrBlock: 10.0.1.0/24") || strings.Contains(got, "{%") {
		t.Errorf("stack template is not the rendered one:\n%s", got)
	}
	if res.Outputs["Label"] != "blue" || res.Outputs["BucketName"] == "" {
		t.Errorf("outputs = %v", res.Outputs)
	}
	var names []string
	for _, r := range res.Resources {
		if r.Identifier == "" || r.Engine != "CLOUDFORMATION" {
			t.Errorf("resource %+v", r)
		}
		names = append(names, r.Name)
	}
	if strings.Join(names, ",") != "Bucket,Subnet1,Subnet2" {
		t.Errorf("resources = %v", names)
	}
	if roles := fake.AssumedRoles(); len(roles) == 0 || roles[0].RoleARN != testRole || roles[0].SessionName != "hadron-d1" {
		t.Errorf("assumed roles = %+v, want the environment's service role", roles)
	}
	log := run.Log.(*syncBuffer).String()
	if !strings.Contains(log, "--- rendered template cloudformation.yaml ---\nResources:") || !strings.Contains(log, "--- end of rendered template ---") {
		t.Errorf("log lacks the rendered template:\n%s", log)
	}

	del := envRun(t, e, "d2", provision.OperationDelete, nil, "d1")
	if _, err := e.Run(context.Background(), del); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if st := fake.Status(stack); st != "" && st != "DELETE_COMPLETE" {
		t.Errorf("stack after delete is %s", st)
	}
}

func TestEnginePlanNamesTheStackRoleAndTagsOfEachKind(t *testing.T) {
	t.Parallel()
	st := provision.Settings{ProtonServiceRoleArn: "svc-role", ComponentRoleArn: "comp-role", PipelineServiceRoleArn: "pipe-role"}
	const p = "arn:aws:proton:us-east-1:123456789012:"
	for _, c := range []struct {
		target provision.Target
		stack  string
		role   string
		tags   map[string]string
	}{
		{provision.Target{Kind: provision.KindServiceInstance, Name: "i1", ServiceName: "s", EnvironmentName: "prod", ARN: p + "service/s/service-instance/i1", TemplateName: "web"},
			ServiceInstanceStackName("s", "i1"), "svc-role", map[string]string{TagAccount: "123456789012", TagEnvironment: p + "environment/prod",
				TagService: p + "service/s", TagServiceInstance: p + "service/s/service-instance/i1", TagTemplate: p + "service-template/web"}},
		{provision.Target{Kind: provision.KindServicePipeline, Name: "s", ServiceName: "s", ARN: p + "service/s/pipeline", TemplateName: "web"},
			PipelineStackName("s"), "pipe-role", map[string]string{TagAccount: "123456789012", TagService: p + "service/s", TagTemplate: p + "service-template/web"}},
		{provision.Target{Kind: provision.KindComponent, Name: "c", EnvironmentName: "prod", ARN: p + "component/c"},
			ComponentStackName("c"), "comp-role", map[string]string{TagAccount: "123456789012", TagEnvironment: p + "environment/prod", TagComponent: p + "component/c"}},
	} {
		e := &Engine{}
		raw, err := e.Plan(provision.Request{Operation: provision.OperationDelete, Target: c.target, Settings: st})
		if err != nil {
			t.Fatal(err)
		}
		var s spec
		json.Unmarshal(raw, &s)
		if s.StackName != c.stack || s.RoleARN != c.role || len(s.Tags) != len(c.tags) {
			t.Errorf("%s: plan %+v", c.target.Kind, s)
		}
		for k, v := range c.tags {
			if s.Tags[k] != v {
				t.Errorf("%s: tag %s = %q, want %q", c.target.Kind, k, s.Tags[k], v)
			}
		}
	}
}

func TestEngineRenderErrorNamesTheLineAndTheUndefinedName(t *testing.T) {
	t.Parallel()
	fake := cfnfake.New()
	t.Cleanup(fake.Close)
	e := newTestEngine(fake.URL)
	run := envRun(t, e, "d1", provision.OperationDeploy, map[string]any{"subnets": []any{}}, "")
	_, err := e.Run(context.Background(), run)
	var je *jinja.Error
	if !errors.As(err, &je) || je.Line != 14 || je.Undefined != "environment.inputs.label" {
		t.Fatalf("error = %v, want a jinja.Error at line 14 naming environment.inputs.label", err)
	}
	if !strings.Contains(err.Error(), "cloudformation.yaml:14: environment.inputs.label is undefined") {
		t.Errorf("message = %q", err)
	}
	if n := countCalls(fake, "CreateStack"); n != 0 {
		t.Errorf("%d CreateStack calls after a render error", n)
	}
}

func TestEngineWithoutAWSAccessFailsSayingHowToGiveIt(t *testing.T) {
	t.Parallel()
	e := &Engine{}
	run := envRun(t, e, "d1", provision.OperationDeploy, map[string]any{"subnets": []any{}, "label": "x"}, "")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := e.Run(ctx, run)
	if err == nil || !strings.Contains(err.Error(), "--aws-region") || !strings.Contains(err.Error(), "--aws-endpoint-url") || !strings.Contains(err.Error(), "credentials") {
		t.Fatalf("error = %v, want one naming --aws-region, --aws-endpoint-url and credentials", err)
	}
	// A delete of a resource that never deployed has no stack to remove.
	if _, err := e.Run(ctx, envRun(t, e, "d2", provision.OperationDelete, nil, "")); err != nil {
		t.Errorf("delete of a never-deployed resource without AWS access: %v", err)
	}
}

func TestEngineCheckParamsAppliesProtonsRolesRules(t *testing.T) {
	t.Parallel()
	e := &Engine{}
	env := provision.Target{Kind: provision.KindEnvironment}
	for _, c := range []struct {
		req  provision.Request
		want string
	}{
		{provision.Request{Operation: provision.OperationDeploy, Target: env}, "the template uses AWS-managed provisioning: protonServiceRoleArn (or environmentAccountConnectionId) is required"},
		{provision.Request{Operation: provision.OperationDeploy, Target: env, Settings: provision.Settings{ProtonServiceRoleArn: "arn"}}, ""},
		{provision.Request{Operation: provision.OperationDeploy, Target: provision.Target{Kind: provision.KindServicePipeline}}, "the service template's pipeline uses AWS-managed provisioning: set pipelineServiceRoleArn with UpdateAccountSettings first"},
		{provision.Request{Operation: provision.OperationDelete, Target: provision.Target{Kind: provision.KindServicePipeline}}, ""},
	} {
		err := e.CheckParams(c.req)
		if (c.want == "") != (err == nil) || (err != nil && err.Error() != c.want) {
			t.Errorf("CheckParams(%s %s) = %v, want %q", c.req.Operation, c.req.Target.Kind, err, c.want)
		}
	}
}

// A user's cancel ends as the driver's report table says: an update rolled
// back (the error wraps provision.ErrUserCancelled, so the deployment ends
// CANCELLED) with the previous template kept; a create deleted.
func TestEngineUserCancelRollsBackAnUpdateAndDeletesACreate(t *testing.T) {
	t.Parallel()
	fake := cfnfake.New()
	t.Cleanup(fake.Close)
	e := newTestEngine(fake.URL)
	stack := EnvironmentStackName("prod")
	first := envRun(t, e, "d1", provision.OperationDeploy, map[string]any{"subnets": []any{"10.0.0.0/24"}, "label": "v1"}, "")
	if _, err := e.Run(context.Background(), first); err != nil {
		t.Fatal(err)
	}
	before := fake.Template(stack)

	fake.SetBehavior(stack, cfnfake.Behavior{Hold: true})
	ctx, cancel := context.WithCancelCause(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := e.Run(ctx, envRun(t, e, "d2", provision.OperationDeploy, map[string]any{"subnets": []any{"10.0.0.0/24"}, "label": "v2"}, "d1"))
		done <- err
	}()
	must(t, fake.WaitForStatus(waitCtx(t), stack, "UPDATE_IN_PROGRESS"))
	cancel(provision.ErrUserCancelled)
	must(t, fake.WaitForStatus(waitCtx(t), stack, "UPDATE_ROLLBACK_IN_PROGRESS"))
	must(t, fake.Release(stack))
	must(t, fake.WaitForStatus(waitCtx(t), stack, "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS"))
	must(t, fake.Release(stack))
	err := <-done
	if !errors.Is(err, provision.ErrUserCancelled) {
		t.Fatalf("cancelled update: %v, want it to wrap ErrUserCancelled", err)
	}
	if st, got := fake.Status(stack), fake.Template(stack); st != "UPDATE_ROLLBACK_COMPLETE" || got != before {
		t.Errorf("after the cancel the stack is %s with template\n%s\nwant the previous one", st, got)
	}

	// A create in flight is deleted.
	fake2 := cfnfake.New()
	t.Cleanup(fake2.Close)
	e2 := newTestEngine(fake2.URL)
	fake2.SetBehavior(stack, cfnfake.Behavior{Hold: true})
	ctx2, cancel2 := context.WithCancelCause(context.Background())
	go func() {
		_, err := e2.Run(ctx2, envRun(t, e2, "d3", provision.OperationDeploy, map[string]any{"subnets": []any{}, "label": "v1"}, ""))
		done <- err
	}()
	must(t, fake2.WaitForStatus(waitCtx(t), stack, "CREATE_IN_PROGRESS"))
	cancel2(provision.ErrUserCancelled)
	must(t, fake2.WaitForStatus(waitCtx(t), stack, "DELETE_IN_PROGRESS"))
	must(t, fake2.Release(stack))
	if err := <-done; !errors.Is(err, provision.ErrUserCancelled) {
		t.Fatalf("cancelled create: %v", err)
	}
	if st := fake2.Status(stack); st != "" && st != "DELETE_COMPLETE" {
		t.Errorf("stack after a cancelled create is %s", st)
	}
}

// The resource's customer tags reach its stack beside Proton's own, which
// a customer tag of the same key cannot replace.
func TestEngineTagsTheStackWithTheCustomersTagsUnderProtons(t *testing.T) {
	t.Parallel()
	fake := cfnfake.New()
	t.Cleanup(fake.Close)
	e := newTestEngine(fake.URL)
	run := envRun(t, e, "d1", provision.OperationDeploy, map[string]any{"subnets": []any{"10.0.0.0/24"}, "label": "blue"}, "")
	run.Plan.Target.Tags = map[string]string{"team": "net", TagEnvironment: "not mine"}
	if _, err := e.Run(context.Background(), run); err != nil {
		t.Fatalf("run: %v\n%s", err, run.Log)
	}
	tags := fake.Tags(EnvironmentStackName("prod"))
	if tags["team"] != "net" || tags[TagEnvironment] != "arn:aws:proton:us-east-1:123456789012:environment/prod" || tags[TagAccount] != "123456789012" {
		t.Errorf("stack tags = %v, want team=net with Proton's own tags kept", tags)
	}
}

// A run without the role Proton would have assumed fails before any AWS
// call, saying which setting is missing and how to give it. Environments on
// account connections are supported (their connection's role is the
// environment's), so the message must not say otherwise.
func TestEngineRunWithoutTheRoleSaysWhichSettingToGive(t *testing.T) {
	t.Parallel()
	fake := cfnfake.New()
	t.Cleanup(fake.Close)
	e := newTestEngine(fake.URL)
	const p = "arn:aws:proton:us-east-1:123456789012:"
	for _, c := range []struct {
		target provision.Target
		want   []string
	}{
		{provision.Target{Kind: provision.KindServiceInstance, Name: "i1", ServiceName: "s", EnvironmentName: "prod", ARN: p + "service/s/service-instance/i1", TemplateName: "web"},
			[]string{"protonServiceRoleArn", "environment prod", "UpdateEnvironment", "environment account connection"}},
		{provision.Target{Kind: provision.KindServicePipeline, Name: "s", ServiceName: "s", ARN: p + "service/s/pipeline", TemplateName: "web"},
			[]string{"pipelineServiceRoleArn", "UpdateAccountSettings"}},
		{provision.Target{Kind: provision.KindComponent, Name: "c", EnvironmentName: "prod", ARN: p + "component/c"},
			[]string{"componentRoleArn", "environment prod"}},
	} {
		m := bundle.Manifest{Templates: []bundle.ManifestTemplate{{File: "cloudformation.yaml", RenderingEngine: bundle.RenderingJinja, TemplateLanguage: "cloudformation"}}}
		req := provision.Request{Engine: Name, Operation: provision.OperationDeploy, Manifest: &m, Target: c.target}
		raw, err := e.Plan(req)
		if err != nil {
			t.Fatal(err)
		}
		target := c.target
		run := provision.Run{DeploymentID: "d-" + c.target.Kind, Operation: provision.OperationDeploy,
			Plan:  provision.Plan{Engine: Name, Spec: raw, Target: &target},
			Files: map[string][]byte{"cloudformation.yaml": []byte("Resources:\n  Bucket:\n    Type: AWS::S3::Bucket\n")}, Log: &syncBuffer{}}
		_, err = e.Run(context.Background(), run)
		if err == nil {
			t.Errorf("%s: run without a role succeeded", c.target.Kind)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not say %q", c.target.Kind, err, w)
			}
		}
		if strings.Contains(err.Error(), "not supported") {
			t.Errorf("%s: error %q says something is not supported", c.target.Kind, err)
		}
	}
	if calls := fake.Calls(); len(calls) != 0 {
		t.Errorf("AWS calls of runs without a role: %+v", calls)
	}
}
