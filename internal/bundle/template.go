package bundle

import (
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// The bundle directories that hold a manifest and infrastructure files.
const (
	dirInfrastructure = "infrastructure"          // environment templates
	dirInstance       = "instance_infrastructure" // service templates: each service instance
	dirPipeline       = "pipeline_infrastructure" // service templates: the service pipeline
	manifestName      = "manifest.yaml"           // in each of those directories
)

// Rendering engines a manifest may name: all that Proton had. Every one is
// valid at registration, whichever of them Hadron can run.
const (
	RenderingJinja     = "jinja"     // CloudFormation templates with Jinja
	RenderingHCL       = "hcl"       // Terraform
	RenderingCodebuild = "codebuild" // shell commands (CodeBuild provisioning)
)

// Provisioning engines, as Manifest.Engine names them.
const (
	EngineCodebuild      = "codebuild"
	EngineCloudFormation = "cloudformation"
	EngineTerraform      = "terraform"
)

// Input formats of proton-inputs for CodeBuild provisioning.
const (
	InputTypeJSON = "JSON"
	InputTypeHCL  = "HCL"
)

// Template is a parsed, validated template bundle.
type Template struct {
	Schema *Schema
	// Infrastructure is infrastructure/ of an environment template (nil for a
	// customer-managed one) or instance_infrastructure/ of a service template.
	Infrastructure *Infrastructure
	// Pipeline is pipeline_infrastructure/ of a service template; nil when
	// the template has no pipeline.
	Pipeline *Infrastructure
}

// Infrastructure is one bundle directory holding a manifest.
type Infrastructure struct {
	Manifest Manifest
	// Files holds the directory's files keyed relative to it, manifest.yaml
	// included. The contents are shared with the Files they came from.
	Files map[string][]byte
}

// Manifest is a manifest.yaml: `infrastructure: {templates: [...]}`. All its
// templates use the same rendering engine.
type Manifest struct {
	Templates []ManifestTemplate
}

// ManifestTemplate is one entry of a manifest's templates.
type ManifestTemplate struct {
	File             string // as written; "*" for all .tf files (hcl); empty for codebuild
	RenderingEngine  string // RenderingJinja, RenderingHCL or RenderingCodebuild
	TemplateLanguage string // "cloudformation", "terraform"; may be empty for codebuild
	// Files lists the IaC template files this entry stands for, relative to
	// the manifest's directory: File itself, or the .tf files "*" matches.
	// Empty for codebuild.
	Files []string
	// Settings holds the commands of a codebuild entry.
	Settings *CodebuildSettings
}

// CodebuildSettings are the settings of a codebuild manifest entry.
type CodebuildSettings struct {
	Image       string
	Runtimes    map[string]string // runtime → version, as written ("nodejs: 16" gives "16")
	Provision   []string          // never empty
	Deprovision []string          // may be empty: then deleting runs nothing
	InputType   string            // InputTypeJSON (the default) or InputTypeHCL
	Env         CodebuildEnv      // settings.env, as in a buildspec's env
}

// CodebuildEnv is the env of a codebuild manifest entry, as a buildspec
// 0.2 env: the variables to set for the commands, by name. Values are the
// YAML scalars as written ("TF_VERSION: 1.5" gives "1.5"; null gives "").
// Its exported-variables, shell and git-credential-helper are accepted
// and ignored: they concern a CodeBuild project Hadron does not have.
type CodebuildEnv struct {
	// Variables are plain values: `variables: {TF_VERSION: "1.5.0"}`.
	Variables map[string]string
	// SecretsManager names AWS Secrets Manager secrets, as CodeBuild wrote
	// them: "secret-id[:json-key[:version-stage[:version-id]]]". The
	// manifest key is secrets-manager (secrets_manager is accepted too).
	SecretsManager map[string]string
	// ParameterStore names SSM parameters by name. The manifest key is
	// parameter-store (parameter_store is accepted too).
	//
	// A name may appear in more than one of the maps, as CodeBuild let it;
	// the runner decides which wins (codebuild.Job: secrets over variables).
	ParameterStore map[string]string
}

// Engine returns the provisioning engine the manifest calls for:
// EngineCodebuild, EngineCloudFormation (jinja) or EngineTerraform (hcl);
// "" for an empty manifest.
func (m Manifest) Engine() string {
	if len(m.Templates) == 0 {
		return ""
	}
	switch m.Templates[0].RenderingEngine {
	case RenderingCodebuild:
		return EngineCodebuild
	case RenderingJinja:
		return EngineCloudFormation
	case RenderingHCL:
		return EngineTerraform
	}
	return ""
}

// ParseEnvironmentTemplate validates an environment template bundle: the
// schema must name an environment_input_type; a standard template needs
// infrastructure/manifest.yaml and the files it names, a customer-managed one
// (customerManaged) is schema only and its inputs (the environment's
// outputs) must be strings. Every error is an *Error worded for the
// template's author.
func ParseEnvironmentTemplate(f *Files, customerManaged bool) (*Template, error) {
	s, err := parseSchema(f)
	if err != nil {
		return nil, err
	}
	if s.EnvironmentInputType == "" {
		hint := ""
		if s.ServiceInputType != "" {
			hint = " (it names a service_input_type: is this a service template bundle?)"
		}
		return nil, errorf("%s: schema.environment_input_type is missing: an environment template's schema must name the type of its inputs%s", schemaPath, hint)
	}
	in, err := s.inputType("environment_input_type", s.EnvironmentInputType)
	if err != nil {
		return nil, err
	}
	t := &Template{Schema: s}
	if customerManaged {
		if f.HasDir(dirInfrastructure) {
			return nil, errorf("a customer-managed environment template bundle holds only %s: remove %s/ from the bundle", schemaPath, dirInfrastructure)
		}
		for _, name := range slices.Sorted(maps.Keys(in.Properties)) {
			if p := in.Properties[name]; p.Type != TypeString {
				return nil, errorf("%s: schema.types.%s.properties.%s is of type %s: the inputs of a customer-managed environment are its outputs, which must be strings", schemaPath, s.EnvironmentInputType, name, p.Type)
			}
		}
	} else {
		hint := ""
		if f.HasDir(dirInstance) {
			hint = fmt.Sprintf(" (it has %s/: is this a service template bundle?)", dirInstance)
		}
		if t.Infrastructure, err = parseInfrastructure(f, dirInfrastructure, hint); err != nil {
			return nil, err
		}
	}
	if err := checkBundle(f, t, dirInfrastructure); err != nil {
		return nil, err
	}
	return t, nil
}

// ParseServiceTemplate validates a service template bundle: the schema must
// name a service_input_type (and may name a pipeline_input_type);
// instance_infrastructure/manifest.yaml is required; pipeline_infrastructure/
// is optional, and not allowed when the template's pipeline provisioning is
// customer-managed (pipelineCustomerManaged). Every error is an *Error.
func ParseServiceTemplate(f *Files, pipelineCustomerManaged bool) (*Template, error) {
	s, err := parseSchema(f)
	if err != nil {
		return nil, err
	}
	if s.ServiceInputType == "" {
		hint := ""
		if s.EnvironmentInputType != "" {
			hint = " (it names an environment_input_type: is this an environment template bundle?)"
		}
		return nil, errorf("%s: schema.service_input_type is missing: a service template's schema must name the type of its instances' inputs%s", schemaPath, hint)
	}
	if _, err := s.inputType("service_input_type", s.ServiceInputType); err != nil {
		return nil, err
	}
	if s.PipelineInputType != "" {
		if _, err := s.inputType("pipeline_input_type", s.PipelineInputType); err != nil {
			return nil, err
		}
	}
	t := &Template{Schema: s}
	hint := ""
	if f.HasDir(dirInfrastructure) {
		hint = fmt.Sprintf(" (it has %s/: is this an environment template bundle?)", dirInfrastructure)
	}
	if t.Infrastructure, err = parseInfrastructure(f, dirInstance, hint); err != nil {
		return nil, err
	}
	if f.HasDir(dirPipeline) {
		if pipelineCustomerManaged {
			return nil, errorf("the template's pipeline provisioning is CUSTOMER_MANAGED, so the bundle must not hold %s/: remove it, or create the template without pipelineProvisioning CUSTOMER_MANAGED", dirPipeline)
		}
		if t.Pipeline, err = parseInfrastructure(f, dirPipeline, ""); err != nil {
			return nil, err
		}
	}
	if err := checkBundle(f, t, dirInstance); err != nil {
		return nil, err
	}
	return t, nil
}

// checkBundle applies the rules about the bundle as a whole: at most
// MaxTemplateFiles IaC template files. infraDir is where t.Infrastructure
// came from. Other files are not parsed, as Proton parsed only the schema
// and the manifests: a .yml file may be a Terraform templatefile() source
// that is not YAML at all.
func checkBundle(f *Files, t *Template, infraDir string) error {
	var templates []string
	parts := []struct {
		dir string
		in  *Infrastructure
	}{{infraDir, t.Infrastructure}, {dirPipeline, t.Pipeline}}
	for _, part := range parts {
		if part.in == nil {
			continue
		}
		for _, mt := range part.in.Manifest.Templates {
			for _, file := range mt.Files {
				templates = append(templates, part.dir+"/"+file)
			}
		}
	}
	if len(templates) > MaxTemplateFiles {
		slices.Sort(templates)
		return errorf("the manifests name %d template files, over Proton's limit of %d per bundle: %s", len(templates), MaxTemplateFiles, strings.Join(templates, ", "))
	}
	return nil
}

// parseInfrastructure parses dir/manifest.yaml and checks that the files it
// names exist. hint is appended to the message when the manifest is missing.
func parseInfrastructure(f *Files, dir, hint string) (*Infrastructure, error) {
	file := dir + "/" + manifestName
	data, ok := f.Get(file)
	if !ok {
		if _, yml := f.Get(dir + "/manifest.yml"); yml {
			hint = fmt.Sprintf(" (found %s/manifest.yml: the manifest must be named manifest.yaml)", dir)
		}
		return nil, errorf("%s not found in the bundle%s", file, hint)
	}
	files := f.Dir(dir)
	m, err := parseManifest(file, data, files)
	if err != nil {
		return nil, err
	}
	return &Infrastructure{Manifest: *m, Files: files}, nil
}

// parseManifest parses a manifest and applies Proton's rules for each
// rendering engine; files are the files of the manifest's directory.
func parseManifest(file string, data []byte, files map[string][]byte) (*Manifest, error) {
	doc, err := parseYAML(file, data)
	if err != nil {
		return nil, err
	}
	if doc == nil {
		return nil, errorf("%s is empty: it must hold infrastructure.templates", file)
	}
	top, err := mapping(file, doc, "the file")
	if err != nil {
		return nil, err
	}
	var infra *yaml.Node
	for _, kv := range top {
		if kv.key == "infrastructure" {
			infra = kv.value
		}
	}
	if infra == nil {
		return nil, nodeError(file, doc, "the top-level 'infrastructure' key is missing")
	}
	entries, err := mapping(file, infra, "infrastructure")
	if err != nil {
		return nil, err
	}
	var list *yaml.Node
	for _, kv := range entries {
		if kv.key == "templates" {
			list = kv.value
		}
	}
	if list == nil {
		return nil, nodeError(file, infra, "infrastructure.templates is missing")
	}
	if list.Kind != yaml.SequenceNode || len(list.Content) == 0 {
		return nil, nodeError(file, list, "infrastructure.templates must be a non-empty list")
	}
	m := &Manifest{}
	for i, n := range list.Content {
		mt, err := parseManifestTemplate(file, deref(n), fmt.Sprintf("infrastructure.templates[%d]", i), files)
		if err != nil {
			return nil, err
		}
		if i > 0 && mt.RenderingEngine != m.Templates[0].RenderingEngine {
			return nil, nodeError(file, n, "infrastructure.templates[%d] uses rendering_engine %s, but templates[0] uses %s: a manifest uses one engine", i, mt.RenderingEngine, m.Templates[0].RenderingEngine)
		}
		m.Templates = append(m.Templates, *mt)
	}
	switch eng := m.Templates[0].RenderingEngine; {
	case eng == RenderingJinja && len(m.Templates) > 1:
		return nil, nodeError(file, list, "a CloudFormation (jinja) manifest lists exactly one file, and this one lists %d", len(m.Templates))
	case eng == RenderingCodebuild && len(m.Templates) > 1:
		return nil, nodeError(file, list, "a codebuild manifest has exactly one entry, and this one has %d", len(m.Templates))
	case eng == RenderingHCL:
		seen := map[string]bool{}
		for _, mt := range m.Templates {
			for _, tf := range mt.Files {
				if seen[tf] {
					return nil, nodeError(file, list, "%s is listed more than once", tf)
				}
				seen[tf] = true
			}
		}
	}
	return m, nil
}

// parseManifestTemplate parses one entry of infrastructure.templates.
func parseManifestTemplate(file string, n *yaml.Node, where string, files map[string][]byte) (*ManifestTemplate, error) {
	entries, err := mapping(file, n, where)
	if err != nil {
		return nil, err
	}
	mt := &ManifestTemplate{}
	var settings, engineN, inputTypeN *yaml.Node
	for _, kv := range entries {
		var err error
		switch kv.key {
		case "file":
			mt.File, err = scalarString(file, kv.value, where+".file")
		case "rendering_engine":
			engineN = kv.value
			mt.RenderingEngine, err = scalarString(file, kv.value, where+".rendering_engine")
		case "template_language":
			mt.TemplateLanguage, err = scalarString(file, kv.value, where+".template_language")
		case "settings":
			settings = kv.value
		case "input_type":
			// Accepted beside rendering_engine as well as in settings.
			inputTypeN = kv.value
		}
		if err != nil {
			return nil, err
		}
	}
	if engineN == nil {
		return nil, nodeError(file, n, "%s.rendering_engine is missing (Proton's engines are jinja, hcl and codebuild)", where)
	}
	lang := func(want string) error {
		if mt.TemplateLanguage != want {
			return nodeError(file, n, "%s: rendering_engine %s needs template_language: %s, not %q", where, mt.RenderingEngine, want, mt.TemplateLanguage)
		}
		return nil
	}
	switch mt.RenderingEngine {
	case RenderingJinja:
		if err := lang("cloudformation"); err != nil {
			return nil, err
		}
		if mt.File == "" {
			return nil, nodeError(file, n, "%s.file is missing: name the CloudFormation template", where)
		}
		if _, ok := files[mt.File]; !ok {
			return nil, nodeError(file, n, "%s.file %q is not in the bundle: expected %s", where, mt.File, path.Join(path.Dir(file), mt.File))
		}
		mt.Files = []string{mt.File}
	case RenderingHCL:
		if err := lang("terraform"); err != nil {
			return nil, err
		}
		switch {
		case mt.File == "":
			return nil, nodeError(file, n, "%s.file is missing: name a .tf file, or \"*\" for all of them", where)
		case mt.File == "*":
			for name := range files {
				if !strings.Contains(name, "/") && strings.HasSuffix(name, ".tf") {
					mt.Files = append(mt.Files, name)
				}
			}
			if len(mt.Files) == 0 {
				return nil, nodeError(file, n, "%s.file \"*\" matches no .tf file in %s/", where, path.Dir(file))
			}
			slices.Sort(mt.Files)
		case !strings.HasSuffix(mt.File, ".tf"):
			return nil, nodeError(file, n, "%s.file %q is not a .tf file", where, mt.File)
		default:
			if _, ok := files[mt.File]; !ok {
				return nil, nodeError(file, n, "%s.file %q is not in the bundle: expected %s", where, mt.File, path.Join(path.Dir(file), mt.File))
			}
			mt.Files = []string{mt.File}
		}
	case RenderingCodebuild:
		if settings == nil {
			return nil, nodeError(file, n, "%s.settings is missing: a codebuild template needs settings.provision", where)
		}
		if mt.Settings, err = parseCodebuildSettings(file, settings, where+".settings"); err != nil {
			return nil, err
		}
		if inputTypeN != nil {
			it, err := inputType(file, inputTypeN, where+".input_type")
			if err != nil {
				return nil, err
			}
			mt.Settings.InputType = it
		}
	default:
		return nil, nodeError(file, engineN, "%s: unknown rendering_engine %q (Proton's engines are jinja for CloudFormation, hcl for Terraform and codebuild)", where, mt.RenderingEngine)
	}
	return mt, nil
}

// parseCodebuildSettings parses the settings of a codebuild entry.
// Settings Hadron does not use (project_properties and the like) are
// accepted and ignored, as they were meaningful to Proton.
func parseCodebuildSettings(file string, n *yaml.Node, where string) (*CodebuildSettings, error) {
	entries, err := mapping(file, n, where)
	if err != nil {
		return nil, err
	}
	s := &CodebuildSettings{InputType: InputTypeJSON}
	var provisionN *yaml.Node
	for _, kv := range entries {
		var err error
		switch kv.key {
		case "image":
			s.Image, err = scalarString(file, kv.value, where+".image")
		case "runtimes":
			var rts []keyValue
			if rts, err = mapping(file, kv.value, where+".runtimes"); err == nil {
				s.Runtimes = map[string]string{}
				for _, rt := range rts {
					if s.Runtimes[rt.key], err = scalarString(file, rt.value, where+".runtimes."+rt.key); err != nil {
						break
					}
				}
			}
		case "provision":
			provisionN = kv.value
			s.Provision, err = stringList(file, kv.value, where+".provision")
		case "deprovision":
			if !isNull(kv.value) {
				s.Deprovision, err = stringList(file, kv.value, where+".deprovision")
			}
		case "input_type":
			s.InputType, err = inputType(file, kv.value, where+".input_type")
		case "env":
			if !isNull(kv.value) {
				s.Env, err = parseCodebuildEnv(file, kv.value, where+".env")
			}
		}
		if err != nil {
			return nil, err
		}
	}
	if provisionN == nil {
		return nil, nodeError(file, n, "%s.provision is missing: list the commands that deploy the infrastructure", where)
	}
	if len(s.Provision) == 0 {
		return nil, nodeError(file, provisionN, "%s.provision is empty: list the commands that deploy the infrastructure", where)
	}
	return s, nil
}

// parseCodebuildEnv parses the env of a codebuild entry's settings.
func parseCodebuildEnv(file string, n *yaml.Node, where string) (CodebuildEnv, error) {
	var env CodebuildEnv
	entries, err := mapping(file, n, where)
	if err != nil {
		return env, err
	}
	seen := map[string]string{} // which of the spellings of a map was used
	for _, kv := range entries {
		var dst *map[string]string
		switch kv.key {
		case "variables":
			dst = &env.Variables
		case "secrets-manager", "secrets_manager":
			dst = &env.SecretsManager
		case "parameter-store", "parameter_store":
			dst = &env.ParameterStore
		default:
			continue // exported-variables, shell, git-credential-helper
		}
		canon := strings.ReplaceAll(kv.key, "_", "-")
		if other, dup := seen[canon]; dup {
			return env, nodeError(file, kv.keyN, "%s: %s and %s are the same setting: give it once", where, other, kv.key)
		}
		seen[canon] = kv.key
		if isNull(kv.value) {
			continue
		}
		m, err := scalarMap(file, kv.value, where+"."+kv.key)
		if err != nil {
			return env, err
		}
		*dst = m
	}
	return env, nil
}

// scalarMap returns a mapping of names to scalars as strings; null is "".
func scalarMap(file string, n *yaml.Node, where string) (map[string]string, error) {
	entries, err := mapping(file, n, where)
	if err != nil {
		return nil, err
	}
	m := make(map[string]string, len(entries))
	for _, kv := range entries {
		if kv.key == "" {
			return nil, nodeError(file, kv.keyN, "%s: a variable name must not be empty", where)
		}
		if isNull(kv.value) {
			m[kv.key] = ""
			continue
		}
		if m[kv.key], err = scalarString(file, kv.value, where+"."+kv.key); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// inputType parses an input_type: JSON or HCL, in any case.
func inputType(file string, n *yaml.Node, where string) (string, error) {
	v, err := scalarString(file, n, where)
	if err != nil {
		return "", err
	}
	switch strings.ToUpper(v) {
	case InputTypeJSON:
		return InputTypeJSON, nil
	case InputTypeHCL:
		return InputTypeHCL, nil
	}
	return "", nodeError(file, n, "%s is %q: it must be JSON or HCL", where, v)
}
