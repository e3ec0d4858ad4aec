package cloudformation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"strings"
	"sync"

	"github.com/hadronhq/hadron/internal/awsaccess"
	"github.com/hadronhq/hadron/internal/bundle"
	"github.com/hadronhq/hadron/internal/bundle/jinja"
	"github.com/hadronhq/hadron/internal/provision"
)

// Name is the engine's name in manifests and plans.
const Name = bundle.EngineCloudFormation

// ProvisioningEngine is how List*ProvisionedResources names the engine.
const ProvisioningEngine = "CLOUDFORMATION"

// NoAccessMessage is the error of a deployment on a server without AWS access.
const NoAccessMessage = "this deployment runs on the cloudformation provisioning engine, which needs AWS access this Hadron server was not given: " +
	"start hadron serve with --aws-region (or --aws-endpoint-url for a private endpoint or a local stand-in) and " +
	"AWS credentials in its default chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or an instance role)"

// Engine is the CloudFormation provisioning engine (Proton's AWS-managed
// provisioning): it renders the bundle's Jinja template with the Proton
// inputs document and deploys it as one stack per resource, with the role
// Proton assumed for that kind of resource.
type Engine struct {
	// AWS is how the driver reaches AWS; without a region or an endpoint
	// (AWS.Enabled false) every deployment fails with NoAccessMessage.
	AWS awsaccess.Config
	// Driver tunes the stack driver (polling, cancel timeout); its Region,
	// EndpointURL and Credentials are taken from AWS.
	Driver Config
	// OnRendered, when set, is called with each deployment's rendered template.
	OnRendered func(deploymentID string, template []byte)

	once   sync.Mutex
	driver *Driver
}

var (
	_ provision.Engine        = (*Engine)(nil)
	_ provision.ParamsChecker = (*Engine)(nil)
	_ provision.Deprovisioner = (*Engine)(nil)
)

// spec is the engine's part of a stored plan: everything a run needs
// besides the files and the inputs document, decided at acceptance.
type spec struct {
	// File is the template file to render (the manifest's file).
	File      string            `json:"file,omitempty"`
	StackName string            `json:"stackName"`
	RoleARN   string            `json:"roleArn,omitempty"`
	Tags      map[string]string `json:"tags,omitempty"`
}

// Plan names the stack, the role and the tags of the request's resource.
func (e *Engine) Plan(req provision.Request) (json.RawMessage, error) {
	s := spec{StackName: StackName(req.Target), RoleARN: roleOf(req.Target.Kind, req.Settings), Tags: tagsOf(req.Target)}
	if s.StackName == "" {
		return nil, fmt.Errorf("the cloudformation engine cannot deploy a %s", req.Target.Kind)
	}
	if req.Manifest != nil && len(req.Manifest.Templates) > 0 {
		s.File = req.Manifest.Templates[0].File
	}
	if req.Operation == provision.OperationDeploy && s.File == "" {
		return nil, errors.New("a CloudFormation deployment needs a manifest naming its template file")
	}
	return json.Marshal(s)
}

// StackName is the stack of a target.
func StackName(t provision.Target) string {
	switch t.Kind {
	case provision.KindEnvironment:
		return EnvironmentStackName(t.Name)
	case provision.KindServiceInstance:
		return ServiceInstanceStackName(t.ServiceName, t.Name)
	case provision.KindServicePipeline:
		return PipelineStackName(t.ServiceName)
	case provision.KindComponent:
		return ComponentStackName(t.Name)
	}
	return ""
}

// roleOf is the role Proton assumed for a kind of resource: the
// environment's service role for it and its instances, the account's
// pipeline role for pipelines, the environment's component role for
// components.
func roleOf(kind string, st provision.Settings) string {
	switch kind {
	case provision.KindServicePipeline:
		return st.PipelineServiceRoleArn
	case provision.KindComponent:
		return st.ComponentRoleArn
	default:
		return st.ProtonServiceRoleArn
	}
}

// tagsOf gives the proton:* tags of a target, by ARN, from the target's own
// ARN ("arn:aws:proton:<region>:<account>:<key>").
func tagsOf(t provision.Target) map[string]string {
	parts := strings.SplitN(t.ARN, ":", 6)
	if len(parts) < 6 {
		return nil
	}
	prefix := strings.Join(parts[:5], ":") + ":"
	v := TagValues{Account: parts[4]}
	templateKind := "service"
	switch t.Kind {
	case provision.KindEnvironment:
		v.Environment, templateKind = t.ARN, "environment"
	case provision.KindServiceInstance:
		v.Environment = prefix + "environment/" + t.EnvironmentName
		v.Service = prefix + "service/" + t.ServiceName
		v.ServiceInstance = t.ARN
	case provision.KindServicePipeline:
		v.Service = prefix + "service/" + t.ServiceName
	case provision.KindComponent:
		v.Environment = prefix + "environment/" + t.EnvironmentName
		v.Component = t.ARN
		if t.ServiceName != "" {
			v.Service = prefix + "service/" + t.ServiceName
		}
	}
	if t.TemplateName != "" {
		v.Template = prefix + templateKind + "-template/" + t.TemplateName
	}
	return ProtonTags(v)
}

// stackTags are the tags of a stack: the resource's customer tags with the
// plan's proton:* tags over them (a customer cannot set those).
func stackTags(t *provision.Target, proton map[string]string) map[string]string {
	if t == nil || len(t.Tags) == 0 {
		return proton
	}
	tags := maps.Clone(t.Tags)
	maps.Copy(tags, proton)
	return tags
}

// CheckParams applies Proton's rules for AWS-managed provisioning: an
// environment needs a service role (or an account connection), a pipeline
// the account's pipeline role. Deletes run with what the resource had.
func (e *Engine) CheckParams(req provision.Request) error {
	if req.Operation == provision.OperationDelete {
		return nil
	}
	st := req.Settings
	switch req.Target.Kind {
	case provision.KindEnvironment:
		if st.ProtonServiceRoleArn == "" && st.EnvironmentAccountConnectionID == "" {
			return errors.New("the template uses AWS-managed provisioning: protonServiceRoleArn (or environmentAccountConnectionId) is required")
		}
	case provision.KindServicePipeline:
		if st.PipelineServiceRoleArn == "" {
			return errors.New("the service template's pipeline uses AWS-managed provisioning: set pipelineServiceRoleArn with UpdateAccountSettings first")
		}
	}
	return nil
}

// DeprovisionUnfinished is true: a create that failed leaves its stack in
// ROLLBACK_COMPLETE, which the delete removes. Deleting a stack that does
// not exist succeeds.
func (e *Engine) DeprovisionUnfinished() bool { return true }

// driverFor returns the stack driver, loading the AWS configuration on
// first use; a failure is retried on the next deployment.
func (e *Engine) driverFor(ctx context.Context) (*Driver, error) {
	e.once.Lock()
	defer e.once.Unlock()
	if e.driver != nil {
		return e.driver, nil
	}
	if !e.AWS.Enabled() {
		return nil, errors.New(NoAccessMessage)
	}
	cfg := e.Driver
	cfg.Region, cfg.EndpointURL, cfg.Credentials = e.AWS.Region, e.AWS.EndpointURL, e.AWS.Credentials
	if cfg.IsUserCancel == nil {
		cfg.IsUserCancel = func(ctx context.Context) bool { return errors.Is(context.Cause(ctx), provision.ErrUserCancelled) }
	}
	d, err := New(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("%s (%w)", NoAccessMessage, err)
	}
	e.driver = d
	return d, nil
}

// Run renders the template and deploys it as the resource's stack, or
// deletes the stack. The rendered template is written to the log between
// "--- rendered template <file> ---" and "--- end of rendered template ---"
// lines, so the log shows what was deployed.
func (e *Engine) Run(ctx context.Context, run provision.Run) (provision.Result, error) {
	var s spec
	if err := json.Unmarshal(run.Plan.Spec, &s); err != nil {
		return provision.Result{}, fmt.Errorf("cloudformation plan is unreadable: %w", err)
	}
	if s.StackName == "" {
		return provision.Result{}, errors.New("cloudformation plan names no stack")
	}
	log := run.Log
	if log == nil {
		log = io.Discard
	}
	if run.Operation == provision.OperationDelete {
		if !e.AWS.Enabled() && run.Plan.PreviousDeploymentID == "" {
			// Nothing was ever deployed: without AWS access there is no stack.
			fmt.Fprintf(log, "[hadron] no AWS access and no successful deployment: stack %s was never created\n", s.StackName)
			return provision.Result{}, nil
		}
		d, err := e.driverFor(ctx)
		if err != nil {
			return provision.Result{}, err
		}
		if err := e.needRole(run.Plan, s); err != nil {
			return provision.Result{}, err
		}
		return provision.Result{}, d.Delete(ctx, DeleteRequest{StackName: s.StackName, RoleARN: s.RoleARN, DeploymentID: run.DeploymentID, Log: log})
	}
	d, err := e.driverFor(ctx)
	if err != nil {
		return provision.Result{}, err
	}
	tpl, err := Render(ctx, s.File, run.Files, run.Plan.Inputs)
	if err != nil {
		return provision.Result{}, err
	}
	fmt.Fprintf(log, "[hadron] --- rendered template %s ---\n%s", s.File, tpl)
	if len(tpl) > 0 && tpl[len(tpl)-1] != '\n' {
		fmt.Fprintln(log)
	}
	fmt.Fprintf(log, "[hadron] --- end of rendered template ---\n")
	if e.OnRendered != nil {
		e.OnRendered(run.DeploymentID, tpl)
	}
	if err := e.needRole(run.Plan, s); err != nil {
		return provision.Result{}, err
	}
	res, err := d.Deploy(ctx, Request{
		StackName: s.StackName, TemplateBody: string(tpl), Tags: stackTags(run.Plan.Target, s.Tags),
		RoleARN: s.RoleARN, DeploymentID: run.DeploymentID, Log: log,
	})
	if err != nil {
		return provision.Result{}, err
	}
	out := provision.Result{Outputs: res.Outputs, Resources: make([]provision.Resource, 0, len(res.Resources))}
	for _, r := range res.Resources {
		out.Resources = append(out.Resources, provision.Resource{Name: r.LogicalID, Identifier: r.PhysicalID, Engine: ProvisioningEngine})
	}
	return out, nil
}

// needRole refuses a run without the role Proton would have assumed. An
// environment on an account connection has the connection's role by now
// (package proton puts it in the settings before the plan), so only an
// environment with neither lacks one: an instance of an AWS-managed service
// template in an environment deployed otherwise, for instance.
func (e *Engine) needRole(p provision.Plan, s spec) error {
	if s.RoleARN != "" {
		return nil
	}
	kind, env := "", ""
	if p.Target != nil {
		kind, env = p.Target.Kind, p.Target.EnvironmentName
	}
	switch kind {
	case provision.KindServicePipeline:
		return errors.New("AWS-managed pipelines run with the account's pipelineServiceRoleArn, which is not set: set it with UpdateAccountSettings")
	case provision.KindComponent:
		return fmt.Errorf("components run with their environment's componentRoleArn, which environment %s does not have", env)
	default:
		return fmt.Errorf("AWS-managed provisioning runs with the environment's protonServiceRoleArn, which environment %s does not have: "+
			"give it one with UpdateEnvironment (protonServiceRoleArn) or an environment account connection", env)
	}
}

// Render renders template file of files with the Proton inputs document
// (JSON). An error names the template line and, for an undefined
// variable, its name (*jinja.Error).
func Render(ctx context.Context, file string, files map[string][]byte, inputs json.RawMessage) ([]byte, error) {
	src, ok := files[file]
	if !ok {
		return nil, fmt.Errorf("render: the bundle has no template file %s", file)
	}
	vars := map[string]any{}
	if len(inputs) > 0 {
		if err := json.Unmarshal(inputs, &vars); err != nil {
			return nil, fmt.Errorf("render %s: inputs document is unreadable: %w", file, err)
		}
	}
	out, err := jinja.RenderContext(ctx, file, src, vars, jinja.Limits{})
	if err != nil {
		return nil, fmt.Errorf("render template: %w", err)
	}
	return out, nil
}
