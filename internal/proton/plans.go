package proton

import (
	"cmp"
	"context"
	"encoding/json"

	"github.com/hadronhq/hadron/internal/bundle"
	"github.com/hadronhq/hadron/internal/provision"
	"github.com/hadronhq/hadron/internal/store"
)

// This file turns resources into what the provisioning engines see: the
// Proton inputs document, the target and settings of a request, and the
// plan the registry makes of it.

// provisioning is the part of an environment's settings engines see.
func (st envSettings) provisioning() provision.Settings {
	p := provision.Settings{
		ProtonServiceRoleArn: st.ProtonServiceRoleArn, CodebuildRoleArn: st.CodebuildRoleArn,
		ComponentRoleArn: st.ComponentRoleArn, EnvironmentAccountConnectionID: st.EnvironmentAccountConnectionID,
	}
	if r := st.ProvisioningRepository; r != nil {
		p.ProvisioningRepository = &provision.Repository{Provider: r.Provider, Name: r.Name, Branch: r.Branch}
	}
	return p
}

// envSettingsOf reads the settings of environment r.
func envSettingsOf(r *store.Resource) envSettings {
	var st envSettings
	json.Unmarshal([]byte(r.Settings), &st)
	return st
}

// target names resource key of kind, deployed from v (nil for a component).
func (s *API) target(kind, key, name, environment, service string, v *store.TemplateVersion) provision.Target {
	t := provision.Target{Kind: kind, Name: name, ARN: s.arn(key), EnvironmentName: environment, ServiceName: service}
	if v != nil {
		t.TemplateName, t.TemplateMajor, t.TemplateMinor = v.TemplateName, v.Major, v.Minor
	}
	return t
}

// bundleRef names directory dir of version v's bundle.
func bundleRef(v *store.TemplateVersion, dir string) *provision.BundleRef {
	return &provision.BundleRef{Kind: v.Kind, Template: v.TemplateName, Major: v.Major, Minor: v.Minor, Dir: dir}
}

// plan turns a request into the plan stored with its deployment; a deploy's
// settings are checked first against what its engine needs.
func (s *API) plan(ctx context.Context, req provision.Request) (provision.Plan, error) {
	if err := s.useConnection(ctx, &req); err != nil {
		return provision.Plan{}, err
	}
	if req.Operation == provision.OperationDeploy {
		if err := s.cfg.Engines.CheckParams(req); err != nil {
			return provision.Plan{}, validationf("%s", err.Error())
		}
	}
	return s.cfg.Engines.Plan(req)
}

// deprovision says whether deleting r runs its engine (provision.Registry.Deprovision).
func (s *API) deprovision(engine string, r *store.Resource) bool {
	return s.cfg.Engines.Deprovision(engine, r.LastAttemptedDeploymentID, r.LastSucceededDeploymentID)
}

// outputsOf reads a resource's outputs.
func outputsOf(r *store.Resource) map[string]string {
	var m map[string]string
	json.Unmarshal([]byte(r.Outputs), &m)
	return m
}

// environmentPart is an environment as the resources deployed in it see it.
func (s *API) environmentPart(env *store.Resource) *provision.EnvironmentInputs {
	return &provision.EnvironmentInputs{AccountID: s.environmentAccount(env), Name: env.Name, Outputs: outputsOf(env)}
}

// environmentAccount is the account an environment's infrastructure is in:
// its account connection's environment account when it uses one, the
// server's otherwise. (A run's document gets it again from the connection
// itself, useConnection; a pipeline's service_instances get it only here.)
func (s *API) environmentAccount(env *store.Resource) string {
	return cmp.Or(envSettingsOf(env).EnvironmentAccountID, s.cfg.AccountID)
}

// serviceInputs is the service part of an instance's or pipeline's document.
func serviceInputs(svc *store.Service) *provision.ServiceInputs {
	return &provision.ServiceInputs{Name: svc.Name, BranchName: svc.BranchName, RepositoryID: svc.RepositoryID,
		RepositoryConnectionArn: svc.RepositoryConnectionArn}
}

// envInputs is the document of an environment's own deployment.
func (s *API) envInputs(name string, inputs map[string]any) *provision.Inputs {
	if inputs == nil {
		inputs = map[string]any{} // an environment's document always has its inputs
	}
	return &provision.Inputs{Environment: &provision.EnvironmentInputs{AccountID: s.cfg.AccountID, Name: name, Inputs: inputs}}
}

// instanceInputs is the document of an instance: its service, its inputs,
// its environment's outputs, and its attached component's outputs.
func (s *API) instanceInputs(svc *store.Service, name string, inputs map[string]any, env *store.Resource, components ...*store.Resource) *provision.Inputs {
	instance := &provision.InstanceInputs{Name: name, Inputs: inputs}
	for _, c := range components {
		instance.Components = &provision.InstanceComponents{Default: provision.ComponentOutputs{Name: c.Name, Outputs: outputsOf(c)}}
	}
	return &provision.Inputs{Service: serviceInputs(svc), ServiceInstance: instance, Environment: s.environmentPart(env)}
}

// pipelineInputs is the document of a pipeline: the service, the pipeline's
// inputs from the spec, and every instance with its inputs, outputs and
// environment.
func (s *API) pipelineInputs(ctx context.Context, service string, schema *bundle.Schema, spec string) (*provision.Inputs, error) {
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
	list := make([]provision.PipelineInstance, 0, len(instances))
	envs := map[string]*provision.EnvironmentInputs{} // instances share environments
	for _, r := range instances {
		env, seen := envs[r.EnvironmentName]
		if !seen {
			env = &provision.EnvironmentInputs{AccountID: s.cfg.AccountID, Name: r.EnvironmentName}
			if e, err := s.cfg.Store.ResourceGet(ctx, environmentKey(r.EnvironmentName)); err == nil {
				env = s.environmentPart(e)
			}
			envs[r.EnvironmentName] = env
		}
		inputs := map[string]any{}
		if inst, err := instanceFromSpec(schema, r.Spec, r.Name, nil); err == nil {
			inputs = inst.Inputs
		}
		list = append(list, provision.PipelineInstance{Name: r.Name, Inputs: inputs, Outputs: outputsOf(r), Environment: *env})
	}
	// An empty list is written as [], as it always was.
	in := &provision.Inputs{Service: serviceInputs(svc), Pipeline: &provision.PipelineInputs{Inputs: parsed.Pipeline}, ServiceInstances: list}
	return in, nil
}

// componentInputs is the document of a component: its name, the service
// and instance it is attached to with the instance's inputs, and its
// environment's outputs.
func (s *API) componentInputs(ctx context.Context, r *store.Resource, c componentState) (*provision.Inputs, error) {
	env, err := s.getEnvironment(ctx, r.EnvironmentName)
	if err != nil {
		return nil, err
	}
	in := &provision.Inputs{Component: &provision.ComponentInputs{Name: r.Name}, Environment: s.environmentPart(env)}
	if c.ServiceName != "" {
		inputs := map[string]any{}
		if inst, err := s.getInstance(ctx, c.ServiceName, c.ServiceInstanceName); err == nil {
			if _, tmpl, err := s.parsedVersion(ctx, kindSvc, inst.TemplateName, inst.TemplateMajor, inst.TemplateMinor); err == nil {
				spec := cmp.Or(c.ServiceSpec, inst.Spec)
				if i, err := instanceFromSpec(tmpl.Schema, spec, inst.Name, nil); err == nil {
					inputs = i.Inputs
				}
			}
		}
		in.Service = &provision.ServiceInputs{Name: c.ServiceName}
		if svc, err := s.cfg.Store.ServiceGet(ctx, c.ServiceName); err == nil {
			in.Service = serviceInputs(svc)
		}
		in.ServiceInstance = &provision.InstanceInputs{Name: c.ServiceInstanceName, Inputs: inputs}
	}
	return in, nil
}
