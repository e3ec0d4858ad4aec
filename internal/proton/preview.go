package proton

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/hadronhq/hadron/internal/bundle"
	"github.com/hadronhq/hadron/internal/provision"
	"github.com/hadronhq/hadron/internal/store"
)

// PreviewRequest asks what a deployment from a registered template version
// would run, without deploying (hadron render).
type PreviewRequest struct {
	// Service is false for an environment template, true for a service template.
	Service         bool
	Template        string
	Major, Minor    int
	Spec            string // an environment spec, or a whole service spec
	Name            string // the environment's or the service's name ("preview" if empty)
	Instance        string // service: the spec's instance to render ("" is the first)
	Pipeline        bool   // service: render the pipeline instead of an instance
	EnvironmentName string // service: overrides the instance's environment from the spec
	// EnvironmentOutputs stand for the outputs of the instances'
	// environment. When nil, an environment of that name in the store gives
	// its own outputs (and account), as a deployment of the instance would
	// see them; an environment that does not exist has none.
	EnvironmentOutputs map[string]string
}

// Preview is what a deployment would run: the bundle directory's files, the
// manifest's template file among them, and the inputs document.
type Preview struct {
	Engine string
	File   string
	Files  map[string][]byte
	Inputs *provision.Inputs
}

// Preview builds the inputs document of a deployment from req with the same
// builders deployments use, and returns it with the bundle directory it
// renders.
func (s *API) Preview(ctx context.Context, req PreviewRequest) (*Preview, error) {
	kind := kindEnv
	if req.Service {
		kind = kindSvc
	}
	v, err := s.cfg.Store.TemplateVersionGet(ctx, kind, req.Template, req.Major, req.Minor)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("%s template version %s:%d.%d is not registered", kind, req.Template, req.Major, req.Minor)
	}
	if err != nil {
		return nil, err
	}
	tmpl, err := s.parseBundle(ctx, v)
	if err != nil {
		return nil, fmt.Errorf("template version %s:%d.%d does not parse: %w", req.Template, req.Major, req.Minor, err)
	}
	name := req.Name
	if name == "" {
		name = "preview"
	}
	var infra *bundle.Infrastructure
	var doc *provision.Inputs
	if !req.Service {
		inputs, err := tmpl.Schema.EnvironmentInputs(req.Spec)
		if err != nil {
			return nil, err
		}
		infra, doc = tmpl.Infrastructure, s.envInputs(name, inputs)
	} else {
		spec, err := tmpl.Schema.ServiceSpec(req.Spec)
		if err != nil {
			return nil, err
		}
		svc := &store.Service{Name: name}
		envOf := func(i bundle.InstanceSpec) (*store.Resource, error) {
			envName := cmp.Or(req.EnvironmentName, i.Environment)
			if req.EnvironmentOutputs != nil {
				raw, err := json.Marshal(req.EnvironmentOutputs)
				if err != nil {
					return nil, fmt.Errorf("environment outputs: %w", err)
				}
				return &store.Resource{Name: envName, Outputs: string(raw)}, nil
			}
			// Previewing an instance of a running environment: render
			// against what that environment really deployed.
			env, err := s.cfg.Store.ResourceGet(ctx, environmentKey(envName))
			switch {
			case err == nil:
				return env, nil
			case errors.Is(err, store.ErrNotFound):
				return &store.Resource{Name: envName, Outputs: "{}"}, nil
			default:
				return nil, fmt.Errorf("read environment %s: %w", envName, err)
			}
		}
		if req.Pipeline {
			if tmpl.Pipeline == nil {
				return nil, fmt.Errorf("service template %s:%d.%d has no pipeline", req.Template, req.Major, req.Minor)
			}
			list := make([]provision.PipelineInstance, 0, len(spec.Instances))
			for _, i := range spec.Instances {
				env, err := envOf(i)
				if err != nil {
					return nil, err
				}
				list = append(list, provision.PipelineInstance{Name: i.Name, Inputs: i.Inputs, Outputs: map[string]string{},
					Environment: *s.environmentPart(env)})
			}
			infra = tmpl.Pipeline
			doc = &provision.Inputs{Service: serviceInputs(svc), Pipeline: &provision.PipelineInputs{Inputs: spec.Pipeline}, ServiceInstances: list}
		} else {
			var inst *bundle.InstanceSpec
			for k := range spec.Instances {
				if req.Instance == "" || spec.Instances[k].Name == req.Instance {
					inst = &spec.Instances[k]
					break
				}
			}
			if inst == nil {
				return nil, fmt.Errorf("the spec has no instance %q", req.Instance)
			}
			env, err := envOf(*inst)
			if err != nil {
				return nil, err
			}
			infra, doc = tmpl.Infrastructure, s.instanceInputs(svc, inst.Name, inst.Inputs, env)
		}
	}
	if infra == nil || len(infra.Manifest.Templates) == 0 {
		return nil, errors.New("the template version has no infrastructure to render (customer-managed)")
	}
	return &Preview{Engine: infra.Manifest.Engine(), File: infra.Manifest.Templates[0].File, Files: infra.Files, Inputs: doc}, nil
}
