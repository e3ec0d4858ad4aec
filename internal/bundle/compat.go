package bundle

import (
	"slices"
	"sort"
)

// CheckMinorCompatible reports whether a new minor version's schema can take
// every spec the previous minor version accepted, as Proton required of minor
// versions: no input removed or retyped, and no new required input without a
// default. Like Proton's own check it is best effort: it looks at the input
// types' top-level properties, not at patterns or ranges.
func (s *Schema) CheckMinorCompatible(prev *Schema) error {
	pairs := []struct{ what, oldName, newName string }{
		{"environment", prev.EnvironmentInputType, s.EnvironmentInputType},
		{"service instance", prev.ServiceInputType, s.ServiceInputType},
		{"pipeline", prev.PipelineInputType, s.PipelineInputType},
	}
	for _, p := range pairs {
		if p.oldName == "" {
			continue
		}
		if p.newName == "" {
			return errorf("not backward compatible with the previous minor version: the schema no longer declares %s inputs (make it a new major version)", p.what)
		}
		if err := compatible(p.what, prev.Types[p.oldName], s.Types[p.newName]); err != nil {
			return err
		}
	}
	return nil
}

func compatible(what string, old, new *Type) error {
	if old == nil || new == nil {
		return nil
	}
	names := make([]string, 0, len(old.Properties))
	for name := range old.Properties {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		n, ok := new.Properties[name]
		if !ok {
			return errorf("not backward compatible with the previous minor version: %s input '%s' was removed (make it a new major version)", what, name)
		}
		if o := old.Properties[name]; o.Type != n.Type {
			return errorf("not backward compatible with the previous minor version: %s input '%s' changed type from %s to %s (make it a new major version)", what, name, o.Type, n.Type)
		}
	}
	for _, name := range new.Required {
		if _, existed := old.Properties[name]; existed && slices.Contains(old.Required, name) {
			continue
		}
		if p := new.Properties[name]; p == nil || !p.HasDefault {
			return errorf("not backward compatible with the previous minor version: %s input '%s' is newly required and has no default (give it a default, or make it a new major version)", what, name)
		}
	}
	return nil
}
