package terraform

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/hadronhq/hadron/internal/provision"
)

// ProvisioningEngine is the provisioningEngine of what terraform provisioned.
const ProvisioningEngine = "TERRAFORM"

// parseOutputs reads `terraform output -json`: a string output's value as
// it is, any other value as its JSON (Proton's outputs are strings).
// Sensitive outputs are included: Proton's outputs are sensitive as a
// whole, and the value is what the template asked to export.
func parseOutputs(b []byte) (map[string]string, error) {
	var outs map[string]struct {
		Value json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(b, &outs); err != nil {
		return nil, fmt.Errorf("read terraform output -json: %w", err)
	}
	m := make(map[string]string, len(outs))
	for name, o := range outs {
		var s string
		if err := json.Unmarshal(o.Value, &s); err == nil {
			m[name] = s
			continue
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, o.Value); err != nil {
			return nil, fmt.Errorf("output %s: %w", name, err)
		}
		m[name] = buf.String()
	}
	return m, nil
}

// module is a module of `terraform show -json`'s values.
type module struct {
	Resources []struct {
		Address string                     `json:"address"`
		Mode    string                     `json:"mode"`
		Values  map[string]json.RawMessage `json:"values"`
	} `json:"resources"`
	ChildModules []module `json:"child_modules"`
}

// parseResources reads `terraform show -json` of the state: every managed
// resource (data sources provision nothing), in the root module and its
// children, named by its address and identified by its id attribute (the
// address when it has none).
func parseResources(b []byte) ([]provision.Resource, error) {
	var show struct {
		Values *struct {
			RootModule module `json:"root_module"`
		} `json:"values"`
	}
	if err := json.Unmarshal(b, &show); err != nil {
		return nil, fmt.Errorf("read terraform show -json: %w", err)
	}
	list := []provision.Resource{}
	if show.Values == nil {
		return list, nil // no state yet, or an empty one
	}
	var walk func(m module)
	walk = func(m module) {
		for _, r := range m.Resources {
			if r.Mode != "managed" {
				continue
			}
			id := r.Address
			var s string
			if raw, ok := r.Values["id"]; ok && json.Unmarshal(raw, &s) == nil && s != "" {
				id = s
			}
			list = append(list, provision.Resource{Name: r.Address, Identifier: id, Engine: ProvisioningEngine})
		}
		for _, c := range m.ChildModules {
			walk(c)
		}
	}
	walk(show.Values.RootModule)
	return list, nil
}
