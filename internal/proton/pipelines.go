package proton

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/hadronhq/hadron/internal/api"
	"github.com/hadronhq/hadron/internal/bundle"
	"github.com/hadronhq/hadron/internal/provision"
	"github.com/hadronhq/hadron/internal/store"
)

// UpdateServicePipeline deploys a service's pipeline again, with the
// deployment types of UpdateEnvironment. The spec is a whole service spec;
// the pipeline takes its pipeline: section.
func (s *API) UpdateServicePipeline(ctx context.Context, in *api.UpdateServicePipelineInput) (*api.UpdateServicePipelineOutput, error) {
	r, err := s.getPipeline(ctx, in.ServiceName)
	if err != nil {
		return nil, err
	}
	if in.DeploymentType == api.DeploymentUpdateTypeNone {
		return &api.UpdateServicePipelineOutput{Pipeline: s.pipeline(r)}, nil
	}
	if store.IsActive(r.DeploymentStatus) {
		return nil, activeConflict("service pipeline of", &store.Resource{Name: in.ServiceName, LastAttemptedDeploymentID: r.LastAttemptedDeploymentID, DeploymentStatus: r.DeploymentStatus})
	}
	svc, err := s.getService(ctx, in.ServiceName)
	if err != nil {
		return nil, err
	}
	if svc.Operation != "" {
		return nil, conflictf("service %s is %s: its pipeline changes with it", svc.Name, svc.Status)
	}
	v, err := s.deployVersion(ctx, kindSvc, r, in.DeploymentType, in.TemplateMajorVersion, in.TemplateMinorVersion)
	if err != nil {
		return nil, err
	}
	start, err := s.pipelineStart(ctx, r, v, in.Spec)
	if err != nil {
		return nil, err
	}
	r, err = s.cfg.Store.DeploymentStart(ctx, start)
	if errors.Is(err, store.ErrActiveDeployment) {
		return nil, conflictf("the pipeline of service %s has a deployment in progress", in.ServiceName)
	}
	if err != nil {
		return nil, err
	}
	s.engine.Notify()
	return &api.UpdateServicePipelineOutput{Pipeline: s.pipeline(r)}, nil
}

// pipelineStart validates a pipeline deployment of version v with spec and
// returns its start.
func (s *API) pipelineStart(ctx context.Context, r *store.Resource, v *store.TemplateVersion, spec string) (store.DeploymentStartParams, error) {
	tmpl, err := s.parseBundle(ctx, v)
	if err != nil {
		return store.DeploymentStartParams{}, err
	}
	if tmpl.Pipeline == nil {
		return store.DeploymentStartParams{}, validationf("service template version %s:%d.%d has no pipeline_infrastructure", v.TemplateName, v.Major, v.Minor)
	}
	if err := s.checkPipelineProvisioning(ctx, tmpl); err != nil {
		return store.DeploymentStartParams{}, err
	}
	current, _ := tmpl.Schema.ServiceSpec(r.Spec)
	if spec, err = resolveServiceSpec(tmpl.Schema, spec, current); err != nil {
		return store.DeploymentStartParams{}, err
	}
	plan, err := s.pipelinePlan(ctx, r, v, tmpl, spec, provision.OperationDeploy)
	if err != nil {
		return store.DeploymentStartParams{}, err
	}
	d := s.newDeployment(ctx, r.Key, store.ResourceServicePipeline, store.OperationDeploy, v, spec, plan, s.now())
	d.EnvironmentName, d.ServiceName = r.EnvironmentName, r.ServiceName
	if r.LastSucceededDeploymentID != "" {
		d.InitialState = pipelineState(r.TemplateName, r.TemplateMajor, r.TemplateMinor, r.Spec)
	}
	d.TargetState = pipelineState(v.TemplateName, d.TargetMajor, d.TargetMinor, spec)
	return store.DeploymentStartParams{Deployment: d}, nil
}

// pipelinePlan builds the plan of a deployment (deploy or delete) of
// pipeline r with spec, on the engine its manifest names.
func (s *API) pipelinePlan(ctx context.Context, r *store.Resource, v *store.TemplateVersion, tmpl *bundle.Template, spec, op string) (provision.Plan, error) {
	inputs, err := s.pipelineInputs(ctx, r.ServiceName, tmpl.Schema, spec)
	if err != nil {
		return provision.Plan{}, err
	}
	settings, err := s.accountSettings(ctx)
	if err != nil {
		return provision.Plan{}, err
	}
	m := tmpl.Pipeline.Manifest
	return s.cfg.Engines.Plan(provision.Request{
		Engine: m.Engine(), Operation: op, Target: s.target(provision.KindServicePipeline, r.Key, r.Name, r.EnvironmentName, r.ServiceName, v),
		Settings: settings.pipelineProvisioning(),
		Manifest: &m, Inputs: inputs, Bundle: bundleRef(v, "pipeline_infrastructure"), PreviousDeploymentID: r.LastSucceededDeploymentID,
	})
}

// checkPipelineProvisioning applies the rule of the pipeline's engine on
// the account's pipeline roles.
func (s *API) checkPipelineProvisioning(ctx context.Context, tmpl *bundle.Template) error {
	if tmpl.Pipeline == nil {
		return nil
	}
	settings, err := s.accountSettings(ctx)
	if err != nil {
		return err
	}
	err = s.cfg.Engines.CheckParams(provision.Request{
		Engine: tmpl.Pipeline.Manifest.Engine(), Operation: provision.OperationDeploy, Target: provision.Target{Kind: provision.KindServicePipeline},
		Settings: settings.pipelineProvisioning(),
	})
	if err != nil {
		return validationf("%s", err.Error())
	}
	return nil
}

// CancelServicePipelineDeployment cancels the pipeline's IN_PROGRESS
// deployment, exactly as CancelEnvironmentDeployment does.
func (s *API) CancelServicePipelineDeployment(ctx context.Context, in *api.CancelServicePipelineDeploymentInput) (*api.CancelServicePipelineDeploymentOutput, error) {
	r, err := s.cancelDeployment(ctx, kindServicePipeline, ref{Service: in.ServiceName})
	if err != nil {
		return nil, err
	}
	return &api.CancelServicePipelineDeploymentOutput{Pipeline: s.pipeline(r)}, nil
}

// ListServicePipelineOutputs lists the pipeline's outputs, or those of one of its deployments.
func (s *API) ListServicePipelineOutputs(ctx context.Context, in *api.ListServicePipelineOutputsInput) (*api.ListServicePipelineOutputsOutput, error) {
	outputs, err := s.listOutputs(ctx, kindServicePipeline, ref{Service: in.ServiceName}, in.DeploymentId)
	if err != nil {
		return nil, err
	}
	return &api.ListServicePipelineOutputsOutput{Outputs: outputs}, nil
}

// ListServicePipelineProvisionedResources lists what the provisioning of the resource created (see listProvisionedResources).
func (s *API) ListServicePipelineProvisionedResources(ctx context.Context, in *api.ListServicePipelineProvisionedResourcesInput) (*api.ListServicePipelineProvisionedResourcesOutput, error) {
	list, err := s.listProvisionedResources(ctx, kindServicePipeline, ref{Service: in.ServiceName})
	if err != nil {
		return nil, err
	}
	return &api.ListServicePipelineProvisionedResourcesOutput{ProvisionedResources: list}, nil
}

func (s *API) getPipeline(ctx context.Context, service string) (*store.Resource, error) {
	r, err := s.cfg.Store.ResourceGet(ctx, pipelineKey(service))
	if errors.Is(err, store.ErrNotFound) {
		if _, serr := s.getService(ctx, service); serr != nil {
			return nil, serr
		}
		return nil, notFoundf("service %s has no pipeline", service)
	}
	return r, err
}

func pipelineState(template, major, minor, spec string) string {
	raw, _ := json.Marshal(api.DeploymentState{ServicePipeline: &api.ServicePipelineState{
		TemplateName: template, TemplateMajorVersion: major, TemplateMinorVersion: minor, Spec: spec,
	}})
	return string(raw)
}

// pipeline is the model's ServicePipeline of r.
//
// The model marks lastDeploymentAttemptedAt and lastDeploymentSucceededAt
// required. A pipeline CreateService made waits for its instances before
// its deployment starts, yet it already shows IN_PROGRESS: its attempt
// time is then its creation time, as in the user guide's create examples,
// where lastDeploymentAttemptedAt equals createdAt. lastDeploymentSucceededAt
// is left out until a deployment succeeded, as the user guide's
// create-environment response example leaves it out: there is no time to
// give that would be true.
func (s *API) pipeline(r *store.Resource) api.ServicePipeline {
	attempted := r.LastDeploymentAttemptedAt
	if attempted.IsZero() {
		attempted = r.CreatedAt
	}
	return api.ServicePipeline{
		Arn: s.arn(r.Key), CreatedAt: apiTime(r.CreatedAt), DeploymentStatus: r.DeploymentStatus,
		DeploymentStatusMessage: r.DeploymentStatusMessage, LastAttemptedDeploymentId: r.LastAttemptedDeploymentID,
		LastDeploymentAttemptedAt: apiTime(attempted), LastDeploymentSucceededAt: apiTime(r.LastDeploymentSucceededAt),
		LastSucceededDeploymentId: r.LastSucceededDeploymentID, Spec: r.Spec, TemplateMajorVersion: r.TemplateMajor,
		TemplateMinorVersion: r.TemplateMinor, TemplateName: r.TemplateName,
	}
}

// pipelineProvisioning is the part of the account settings a pipeline's
// engine sees: its roles, and the repository a self-managed (Terraform)
// pipeline is handed off to, as Proton took it from the account.
func (st accountSettings) pipelineProvisioning() provision.Settings {
	p := provision.Settings{PipelineServiceRoleArn: st.PipelineServiceRoleArn, PipelineCodebuildRoleArn: st.PipelineCodebuildRoleArn}
	if r := st.PipelineProvisioningRepository; r != nil {
		p.ProvisioningRepository = &provision.Repository{Provider: r.Provider, Name: r.Name, Branch: r.Branch}
	}
	return p
}
