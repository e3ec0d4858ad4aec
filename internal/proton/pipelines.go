package proton

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/hadronhq/hadron/internal/api"
	"github.com/hadronhq/hadron/internal/bundle"
	"github.com/hadronhq/hadron/internal/engine"
	"github.com/hadronhq/hadron/internal/store"
)

// UpdateServicePipeline deploys a service's pipeline again, with the
// deployment types of UpdateEnvironment. The spec is a whole service spec;
// the pipeline takes its pipeline: section.
func (s *Service) UpdateServicePipeline(ctx context.Context, in *api.UpdateServicePipelineInput) (*api.UpdateServicePipelineOutput, error) {
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
func (s *Service) pipelineStart(ctx context.Context, r *store.Resource, v *store.TemplateVersion, spec string) (store.DeploymentStartParams, error) {
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
	inputs, err := s.pipelineInputs(ctx, r.ServiceName, tmpl.Schema, spec)
	if err != nil {
		return store.DeploymentStartParams{}, err
	}
	plan := s.codebuildPlan(tmpl.Pipeline.Manifest.Engine(), tmpl.Pipeline, v, "pipeline_infrastructure", r.Key, inputs, store.OperationDeploy)
	d := s.newDeployment(r.Key, store.ResourceServicePipeline, store.OperationDeploy, v, spec, plan, s.now())
	d.EnvironmentName, d.ServiceName = r.EnvironmentName, r.ServiceName
	if r.LastSucceededDeploymentID != "" {
		d.InitialState = pipelineState(r.TemplateName, r.TemplateMajor, r.TemplateMinor, r.Spec)
	}
	d.TargetState = pipelineState(v.TemplateName, d.TargetMajor, d.TargetMinor, spec)
	return store.DeploymentStartParams{Deployment: d}, nil
}

// pipelineInputs is Proton's inputs file of a pipeline: the service, the
// pipeline's inputs from the spec, and every instance with its inputs,
// outputs and environment.
func (s *Service) pipelineInputs(ctx context.Context, service string, schema *bundle.Schema, spec string) ([]byte, error) {
	parsed, err := schema.ServiceSpec(spec)
	if err != nil {
		return nil, validationf("%s", err.Error())
	}
	svc, err := s.getService(ctx, service)
	if err != nil {
		return nil, err
	}
	instances, err := s.allResources(ctx, store.ResourceFilter{Type: store.ResourceServiceInstance, ServiceName: service})
	if err != nil {
		return nil, err
	}
	list := make([]map[string]any, 0, len(instances))
	envOutputsOf := map[string]map[string]string{} // instances share environments
	for _, r := range instances {
		var outputs map[string]string
		json.Unmarshal([]byte(r.Outputs), &outputs)
		envOutputs, seen := envOutputsOf[r.EnvironmentName]
		if !seen {
			if env, err := s.cfg.Store.ResourceGet(ctx, environmentKey(r.EnvironmentName)); err == nil {
				json.Unmarshal([]byte(env.Outputs), &envOutputs)
			}
			envOutputsOf[r.EnvironmentName] = envOutputs
		}
		inputs := map[string]any{}
		if inst, err := instanceFromSpec(schema, r.Spec, r.Name, nil); err == nil {
			inputs = inst.Inputs
		}
		list = append(list, map[string]any{
			"name": r.Name, "inputs": inputs, "outputs": outputs,
			"environment": map[string]any{"name": r.EnvironmentName, "account_id": s.cfg.AccountID, "outputs": envOutputs},
		})
	}
	raw, err := json.Marshal(map[string]any{
		"service": map[string]any{"name": service, "branch_name": svc.BranchName, "repository_id": svc.RepositoryID,
			"repository_connection_arn": svc.RepositoryConnectionArn},
		"pipeline":          map[string]any{"inputs": parsed.Pipeline},
		"service_instances": list,
	})
	if err != nil {
		return nil, fmt.Errorf("encode proton-inputs.json: %w", err)
	}
	return raw, nil
}

// checkPipelineProvisioning applies Proton's rule that a pipeline runs with
// the account's pipeline role of its engine.
func (s *Service) checkPipelineProvisioning(ctx context.Context, tmpl *bundle.Template) error {
	if tmpl.Pipeline == nil {
		return nil
	}
	settings, err := s.accountSettings(ctx)
	if err != nil {
		return err
	}
	switch tmpl.Pipeline.Manifest.Engine() {
	case engine.EngineCodebuild:
		if settings.PipelineCodebuildRoleArn == "" {
			return validationf("the service template's pipeline uses CodeBuild provisioning: set pipelineCodebuildRoleArn with UpdateAccountSettings first")
		}
	case "cloudformation":
		if settings.PipelineServiceRoleArn == "" {
			return validationf("the service template's pipeline uses AWS-managed provisioning: set pipelineServiceRoleArn with UpdateAccountSettings first")
		}
	}
	return nil
}

// CancelServicePipelineDeployment cancels the pipeline's IN_PROGRESS
// deployment, exactly as CancelEnvironmentDeployment does.
func (s *Service) CancelServicePipelineDeployment(ctx context.Context, in *api.CancelServicePipelineDeploymentInput) (*api.CancelServicePipelineDeploymentOutput, error) {
	r, err := s.getPipeline(ctx, in.ServiceName)
	if err != nil {
		return nil, err
	}
	if r, err = s.cancel(ctx, "service pipeline of", r); err != nil {
		return nil, err
	}
	return &api.CancelServicePipelineDeploymentOutput{Pipeline: s.pipeline(r)}, nil
}

// ListServicePipelineOutputs lists the pipeline's outputs, or those of one of its deployments.
func (s *Service) ListServicePipelineOutputs(ctx context.Context, in *api.ListServicePipelineOutputsInput) (*api.ListServicePipelineOutputsOutput, error) {
	r, err := s.getPipeline(ctx, in.ServiceName)
	if err != nil {
		return nil, err
	}
	outputs, err := s.outputs(ctx, r, in.DeploymentId)
	if err != nil {
		return nil, err
	}
	return &api.ListServicePipelineOutputsOutput{Outputs: outputs}, nil
}

// ListServicePipelineProvisionedResources lists what the pipeline's
// provisioning created: nothing Hadron can know of for commands it ran.
func (s *Service) ListServicePipelineProvisionedResources(ctx context.Context, in *api.ListServicePipelineProvisionedResourcesInput) (*api.ListServicePipelineProvisionedResourcesOutput, error) {
	if _, err := s.getPipeline(ctx, in.ServiceName); err != nil {
		return nil, err
	}
	return &api.ListServicePipelineProvisionedResourcesOutput{ProvisionedResources: []api.ProvisionedResource{}}, nil
}

func (s *Service) getPipeline(ctx context.Context, service string) (*store.Resource, error) {
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

func (s *Service) pipeline(r *store.Resource) api.ServicePipeline {
	return api.ServicePipeline{
		Arn: s.arn(r.Key), CreatedAt: apiTime(r.CreatedAt), DeploymentStatus: r.DeploymentStatus,
		DeploymentStatusMessage: r.DeploymentStatusMessage, LastAttemptedDeploymentId: r.LastAttemptedDeploymentID,
		LastDeploymentAttemptedAt: apiTime(r.LastDeploymentAttemptedAt), LastDeploymentSucceededAt: apiTime(r.LastDeploymentSucceededAt),
		LastSucceededDeploymentId: r.LastSucceededDeploymentID, Spec: r.Spec, TemplateMajorVersion: r.TemplateMajor,
		TemplateMinorVersion: r.TemplateMinor, TemplateName: r.TemplateName,
	}
}
