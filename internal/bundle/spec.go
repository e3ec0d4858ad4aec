package bundle

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"unicode/utf8"
)

// CurrentValue, as the value of an input in a spec, keeps that input's
// current value (Proton's ${Proton::CURRENT_VAL}).
const CurrentValue = "${Proton::CURRENT_VAL}"

// ServiceSpec is a validated service spec file.
type ServiceSpec struct {
	// Pipeline holds the pipeline's inputs, defaults applied; nil when the
	// schema has no pipeline_input_type.
	Pipeline map[string]any
	// Instances lists the service instances in the order the spec gives them.
	Instances []InstanceSpec
	// InstancesListed is whether the spec has an instances list, empty or
	// not: `instances: []` lists none, a spec without the key (or with
	// `instances:` and no value) does not list them.
	InstancesListed bool
}

// InstanceSpec is one service instance of a service spec.
type InstanceSpec struct {
	Name        string
	Environment string
	Inputs      map[string]any // defaults applied
}

// EnvironmentInputs parses an environment spec (`proton: EnvironmentSpec`,
// inputs under `spec:`) and returns its inputs validated against the
// schema's environment_input_type, defaults applied. Errors are *SpecError.
// A spec using CurrentValue needs EnvironmentInputsWithCurrent.
func (s *Schema) EnvironmentInputs(specYAML string) (map[string]any, error) {
	return s.EnvironmentInputsWithCurrent(specYAML, nil)
}

// EnvironmentInputsWithCurrent is EnvironmentInputs for an update: an input
// whose value is CurrentValue takes its value from current, the inputs of
// the environment's current deployment. An input current does not hold is
// treated as omitted (its default applies); with current nil there is no
// current value and CurrentValue is an error.
func (s *Schema) EnvironmentInputsWithCurrent(specYAML string, current map[string]any) (map[string]any, error) {
	doc, err := parseSpec(specYAML, "EnvironmentSpec", "proton", "spec")
	if err != nil {
		return nil, err
	}
	if s.EnvironmentInputType == "" {
		return nil, &SpecError{Message: "the template's schema names no environment_input_type: it is not an environment template"}
	}
	inputs, err := specInputs(doc["spec"], "spec")
	if err != nil {
		return nil, err
	}
	return s.inputs(s.EnvironmentInputType, inputs, current, "")
}

// ServiceSpec parses a service spec (`proton: ServiceSpec`, optional
// `pipeline:` inputs, `instances: [{name, environment, spec}]`) and validates
// each instance's inputs against service_input_type and the pipeline's
// against pipeline_input_type, defaults applied. It does not enforce how
// many instances a spec lists; callers apply the rule of their operation.
// Errors are *SpecError naming the instance. A spec using CurrentValue
// needs ServiceSpecWithCurrent.
func (s *Schema) ServiceSpec(specYAML string) (*ServiceSpec, error) {
	return s.ServiceSpecWithCurrent(specYAML, nil)
}

// ServiceSpecWithCurrent is ServiceSpec for an update: CurrentValue takes
// the current value from current's pipeline, or from current's instance of
// the same name (see EnvironmentInputsWithCurrent for missing values).
func (s *Schema) ServiceSpecWithCurrent(specYAML string, current *ServiceSpec) (*ServiceSpec, error) {
	doc, err := parseSpec(specYAML, "ServiceSpec", "proton", "pipeline", "instances")
	if err != nil {
		return nil, err
	}
	if s.ServiceInputType == "" {
		return nil, &SpecError{Message: "the template's schema names no service_input_type: it is not a service template"}
	}
	out := &ServiceSpec{}
	pipeline, err := specInputs(doc["pipeline"], "pipeline")
	if err != nil {
		return nil, err
	}
	// The pipeline's and every instance's violations are reported together.
	var vs violations
	if s.PipelineInputType == "" {
		if len(pipeline) > 0 {
			vs.add(&SpecError{Pipeline: true, Message: "the template has no pipeline inputs (its schema names no pipeline_input_type), so the spec must not set any"})
		}
	} else {
		var cur map[string]any
		if current != nil {
			cur = current.Pipeline
		}
		if out.Pipeline, err = s.inputs(s.PipelineInputType, pipeline, cur, ""); err != nil {
			var pv violations
			if !pv.addError(err) {
				return nil, err
			}
			pv.each(func(e *SpecError) { e.Pipeline = true })
			vs.list = append(vs.list, pv.list...)
		}
	}
	list, ok := doc["instances"].([]any)
	out.InstancesListed = ok
	if doc["instances"] != nil && !ok {
		vs.add(&SpecError{Message: fmt.Sprintf("instances must be a list of instances, not %s", describe(doc["instances"]))})
	}
	seen := map[string]bool{}
	for i, item := range list {
		inst, err := s.instance(item, i, current)
		if err != nil {
			if !vs.addError(err) {
				return nil, err
			}
			continue
		}
		if seen[inst.Name] {
			vs.add(&SpecError{Instance: inst.Name, Message: "the spec lists this instance more than once"})
			continue
		}
		seen[inst.Name] = true
		out.Instances = append(out.Instances, *inst)
	}
	if err := vs.err(); err != nil {
		return nil, err
	}
	return out, nil
}

// instance validates the i-th entry of a service spec's instances.
func (s *Schema) instance(item any, i int, current *ServiceSpec) (*InstanceSpec, error) {
	m, ok := item.(map[string]any)
	if !ok {
		return nil, &SpecError{Message: fmt.Sprintf("instances[%d] must be a mapping with name, environment and spec, not %s", i, describe(item))}
	}
	name, _ := m["name"].(string)
	if name == "" {
		return nil, &SpecError{Message: fmt.Sprintf("instances[%d] has no name", i)}
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if k != "name" && k != "environment" && k != "spec" {
			return nil, &SpecError{Instance: name, Message: fmt.Sprintf("unknown key '%s': an instance has name, environment and spec", k)}
		}
	}
	env, _ := m["environment"].(string)
	if env == "" {
		return nil, &SpecError{Instance: name, Message: "environment is missing: name the environment the instance deploys to"}
	}
	inputs, err := specInputs(m["spec"], "spec")
	if err != nil {
		err.(*SpecError).Instance = name
		return nil, err
	}
	var cur map[string]any
	if current != nil {
		for _, ci := range current.Instances {
			if ci.Name == name {
				cur = map[string]any{}
				if ci.Inputs != nil {
					cur = ci.Inputs
				}
			}
		}
		if cur == nil {
			cur = map[string]any{} // a new instance: nothing to keep
		}
	}
	validated, err := s.inputs(s.ServiceInputType, inputs, cur, name)
	if err != nil {
		return nil, err
	}
	return &InstanceSpec{Name: name, Environment: env, Inputs: validated}, nil
}

// inputs substitutes CurrentValue and validates inputs against the object
// type named typeName. instance names the service instance for errors.
func (s *Schema) inputs(typeName string, inputs, current map[string]any, instance string) (map[string]any, error) {
	t, ok := s.Types[typeName]
	if !ok || t.Type != TypeObject {
		return nil, &SpecError{Instance: instance, Message: fmt.Sprintf("the template's schema does not declare the object type %q", typeName)}
	}
	resolved := make(map[string]any, len(inputs))
	for k, v := range inputs {
		if v != CurrentValue {
			resolved[k] = v
			continue
		}
		if current == nil {
			return nil, &SpecError{Instance: instance, Input: k, Message: CurrentValue + " keeps the current value, and there is none: set a value"}
		}
		if cv, ok := current[k]; ok {
			resolved[k] = copyValue(cv)
		}
	}
	var vs violations
	out := t.validateObject(resolved, "", &vs)
	if err := vs.err(); err != nil {
		vs.each(func(e *SpecError) { e.Instance = instance })
		return nil, vs.err()
	}
	return out, nil
}

// parseSpec parses a spec file into its top-level keys, checking its size,
// its `proton:` kind and that it holds only the keys given.
func parseSpec(specYAML, kind string, keys ...string) (map[string]any, error) {
	if n := utf8.RuneCountInString(specYAML); n > MaxSpecChars {
		return nil, &SpecError{Message: fmt.Sprintf("the spec is %d characters long, over the limit of %d", n, MaxSpecChars)}
	}
	node, err := parseYAML("spec", []byte(specYAML))
	if err != nil {
		return nil, &SpecError{Message: strings.TrimPrefix(err.Error(), "spec: ")}
	}
	if node == nil {
		return nil, &SpecError{Message: fmt.Sprintf("the spec is empty: it must start with 'proton: %s'", kind)}
	}
	v, err := newConverter().value(node, 0)
	if err != nil {
		var ve *valueError
		if errors.As(err, &ve) {
			return nil, &SpecError{Message: fmt.Sprintf("line %d: %s: %s", ve.line, ve.path, ve.msg)}
		}
		return nil, &SpecError{Message: err.Error()}
	}
	doc, ok := v.(map[string]any)
	if !ok {
		return nil, &SpecError{Message: fmt.Sprintf("the spec must be a mapping starting with 'proton: %s', not %s", kind, describe(v))}
	}
	switch p, ok := doc["proton"]; {
	case !ok:
		return nil, &SpecError{Message: fmt.Sprintf("the spec must start with 'proton: %s'", kind)}
	case p != kind:
		return nil, &SpecError{Message: fmt.Sprintf("'proton: %s' is not a spec of this kind: it must say 'proton: %s'", valueTextPlain(p), kind)}
	}
	for _, k := range slices.Sorted(maps.Keys(doc)) {
		if !slices.Contains(keys, k) {
			return nil, &SpecError{Message: fmt.Sprintf("unknown key '%s' at the top of the spec (it may hold only %s)", k, strings.Join(keys, ", "))}
		}
	}
	return doc, nil
}

// specInputs returns the inputs mapping under key (null or absent: none).
func specInputs(v any, key string) (map[string]any, error) {
	if v == nil {
		return map[string]any{}, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, &SpecError{Message: fmt.Sprintf("%s must be a mapping of inputs, not %s", key, describe(v))}
	}
	return m, nil
}

// valueTextPlain renders a value unquoted, as it appears in YAML.
func valueTextPlain(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return valueText(v)
}
