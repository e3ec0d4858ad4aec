package bundle

import (
	"bytes"
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Where a spec's inputs sit, for ResolveCurrentValues.
const (
	SectionEnvironment = "spec"     // an environment spec's spec:
	SectionPipeline    = "pipeline" // a service spec's pipeline:
)

// SectionInstance names the inputs of instance name in a service spec.
func SectionInstance(name string) string { return "instance:" + name }

// ResolveCurrentValues returns specYAML with every input whose value is
// CurrentValue replaced by the value it stood for, as value gives it for the
// input's section (SectionEnvironment, SectionPipeline or SectionInstance)
// and name. A spec is kept as the resource's spec, and the next update reads
// its values as the current ones: the placeholder must not outlive the
// update that resolved it. A spec without the placeholder is returned as it
// is; one value does not know stays as it was.
func ResolveCurrentValues(specYAML string, value func(section, input string) (any, bool)) (string, error) {
	if !strings.Contains(specYAML, CurrentValue) {
		return specYAML, nil
	}
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(specYAML), &doc); err != nil {
		return "", fmt.Errorf("resolve %s: %w", CurrentValue, err)
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return specYAML, nil
	}
	replace := func(section string, inputs *yaml.Node) error {
		if inputs == nil || inputs.Kind != yaml.MappingNode {
			return nil
		}
		for i := 0; i+1 < len(inputs.Content); i += 2 {
			name, v := inputs.Content[i].Value, inputs.Content[i+1]
			if v.Kind != yaml.ScalarNode || strings.TrimSpace(v.Value) != CurrentValue {
				continue
			}
			resolved, ok := value(section, name)
			if !ok {
				continue
			}
			var n yaml.Node
			if err := n.Encode(resolved); err != nil {
				return fmt.Errorf("resolve %s of input %s: %w", CurrentValue, name, err)
			}
			*v = n
		}
		return nil
	}
	top := doc.Content[0]
	for i := 0; i+1 < len(top.Content); i += 2 {
		key, v := top.Content[i].Value, top.Content[i+1]
		switch key {
		case SectionEnvironment, SectionPipeline:
			if err := replace(key, v); err != nil {
				return "", err
			}
		case "instances":
			if v.Kind != yaml.SequenceNode {
				continue
			}
			for _, inst := range v.Content {
				name, spec := mappingValue(inst, "name"), mappingNode(inst, "spec")
				if name == nil {
					continue
				}
				if err := replace(SectionInstance(name.Value), spec); err != nil {
					return "", err
				}
			}
		}
	}
	var out bytes.Buffer
	enc := yaml.NewEncoder(&out)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return "", fmt.Errorf("resolve %s: %w", CurrentValue, err)
	}
	return out.String(), enc.Close()
}

func mappingNode(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func mappingValue(n *yaml.Node, key string) *yaml.Node {
	if v := mappingNode(n, key); v != nil && v.Kind == yaml.ScalarNode {
		return v
	}
	return nil
}
