package proton

import (
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
	// EnvironmentOutputs stand for the outputs of the instances' environment.
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
		envOf := func(i bundle.InstanceSpec) *store.Resource {
			env := &store.Resource{Name: i.Environment, Outputs: "{}"}
			if req.EnvironmentName != "" {
				env.Name = req.EnvironmentName
			}
			if raw, err := json.Marshal(req.EnvironmentOutputs); err == nil && req.EnvironmentOutputs != nil {
				env.Outputs = string(raw)
			}
			return env
		}
		if req.Pipeline {
			if tmpl.Pipeline == nil {
				return nil, fmt.Errorf("service template %s:%d.%d has no pipeline", req.Template, req.Major, req.Minor)
			}
			list := make([]provision.PipelineInstance, 0, len(spec.Instances))
			for _, i := range spec.Instances {
				list = append(list, provision.PipelineInstance{Name: i.Name, Inputs: i.Inputs, Outputs: map[string]string{},
					Environment: *s.environmentPart(envOf(i))})
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
			infra, doc = tmpl.Infrastructure, s.instanceInputs(svc, inst.Name, inst.Inputs, envOf(*inst))
		}
	}
	if infra == nil || len(infra.Manifest.Templates) == 0 {
		return nil, errors.New("the template version has no infrastructure to render (customer-managed)")
	}
	return &Preview{Engine: infra.Manifest.Engine(), File: infra.Manifest.Templates[0].File, Files: infra.Files, Inputs: doc}, nil
}
