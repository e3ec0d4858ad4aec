package bundle

import (
	"path"

	"go.yaml.in/yaml/v3"
)

// ComponentManifestName names a component's manifest in error messages.
const ComponentManifestName = "manifest"

// ParseComponentManifest parses the manifest of a directly defined component,
// which Proton takes as a string beside a single template file. The file the
// manifest's entry names (its `file`) is the template file; a manifest
// without one (codebuild) gets the file as "template". It returns the
// manifest and the component's files keyed by name.
func ParseComponentManifest(manifest, templateFile string) (*Manifest, map[string][]byte, error) {
	name := "template"
	var probe struct {
		Infrastructure struct {
			Templates []struct {
				File string `yaml:"file"`
			} `yaml:"templates"`
		} `yaml:"infrastructure"`
	}
	// A manifest too broken to probe gets its error from parseManifest below.
	if yaml.Unmarshal([]byte(manifest), &probe) == nil {
		if t := probe.Infrastructure.Templates; len(t) > 0 && t[0].File != "" && t[0].File != "*" {
			name = path.Clean(t[0].File)
		} else if len(t) > 0 && t[0].File == "*" {
			name = "main.tf"
		}
	}
	if err := checkComponentFileName(name); err != nil {
		return nil, nil, err
	}
	files := map[string][]byte{name: []byte(templateFile)}
	m, err := parseManifest(ComponentManifestName, []byte(manifest), files)
	if err != nil {
		return nil, nil, err
	}
	return m, files, nil
}

// checkComponentFileName refuses a template file name that would leave the
// working directory.
func checkComponentFileName(name string) error {
	if path.IsAbs(name) || name == ".." || len(name) >= 3 && name[:3] == "../" {
		return errorf("%s: file %q must be a relative name inside the component's directory", ComponentManifestName, name)
	}
	return nil
}
