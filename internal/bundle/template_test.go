package bundle

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestParseEnvironmentTemplateAcceptsEachEngine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		fixture    string
		engine     string
		templates  []string // ManifestTemplate.Files of the first entry
		rendering  string
		manifestOK func(*testing.T, Manifest)
	}{
		{fixture: "env-codebuild", engine: EngineCodebuild, rendering: RenderingCodebuild, manifestOK: func(t *testing.T, m Manifest) {
			s := m.Templates[0].Settings
			if s == nil {
				t.Fatal("codebuild entry has no settings")
			}
			if !slices.Equal(s.Provision, []string{"./deploy.sh apply", "echo deployed"}) || !slices.Equal(s.Deprovision, []string{"./deploy.sh destroy"}) {
				t.Errorf("commands = %q / %q", s.Provision, s.Deprovision)
			}
			if s.Image != "public.ecr.aws/example/builder:1" || s.Runtimes["python"] != "3.12" || s.InputType != InputTypeJSON {
				t.Errorf("settings = %+v", s)
			}
		}},
		{fixture: "env-cloudformation", engine: EngineCloudFormation, rendering: RenderingJinja, templates: []string{"network.yaml"}},
		{fixture: "env-terraform", engine: EngineTerraform, rendering: RenderingHCL, templates: []string{"main.tf", "outputs.tf"}},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			t.Parallel()
			files := fixture(t, tt.fixture)
			tmpl, err := ParseEnvironmentTemplate(unpackFiles(t, files), false)
			if err != nil {
				t.Fatalf("ParseEnvironmentTemplate: %v", err)
			}
			if tmpl.Schema.Raw != string(files["schema/schema.yaml"]) {
				t.Errorf("Schema.Raw is not the schema.yaml text")
			}
			if tmpl.Schema.EnvironmentInputType != "NetworkInputs" || tmpl.Pipeline != nil {
				t.Errorf("input type %q, pipeline %v", tmpl.Schema.EnvironmentInputType, tmpl.Pipeline)
			}
			m := tmpl.Infrastructure.Manifest
			if got := m.Engine(); got != tt.engine {
				t.Errorf("Engine() = %q, want %q", got, tt.engine)
			}
			if got := m.Templates[0].RenderingEngine; got != tt.rendering {
				t.Errorf("rendering engine %q, want %q", got, tt.rendering)
			}
			if got := m.Templates[0].Files; !slices.Equal(got, tt.templates) {
				t.Errorf("template files %v, want %v", got, tt.templates)
			}
			if _, ok := tmpl.Infrastructure.Files["manifest.yaml"]; !ok {
				t.Errorf("Infrastructure.Files lacks manifest.yaml: %v", tmpl.Infrastructure.Files)
			}
			if tt.manifestOK != nil {
				tt.manifestOK(t, m)
			}
		})
	}
}

func TestParseEnvironmentTemplateCustomerManagedIsSchemaOnly(t *testing.T) {
	t.Parallel()
	tmpl, err := ParseEnvironmentTemplate(unpackFiles(t, fixture(t, "env-customer-managed")), true)
	if err != nil {
		t.Fatalf("ParseEnvironmentTemplate: %v", err)
	}
	if tmpl.Infrastructure != nil || tmpl.Schema.EnvironmentInputType != "ExistingNetwork" {
		t.Errorf("got infrastructure %v, input type %q", tmpl.Infrastructure, tmpl.Schema.EnvironmentInputType)
	}
}

func TestParseServiceTemplate(t *testing.T) {
	t.Parallel()
	t.Run("with pipeline", func(t *testing.T) {
		t.Parallel()
		tmpl, err := ParseServiceTemplate(unpackFiles(t, fixture(t, "svc-pipeline")), false)
		if err != nil {
			t.Fatalf("ParseServiceTemplate: %v", err)
		}
		if tmpl.Pipeline == nil || tmpl.Pipeline.Manifest.Engine() != EngineCodebuild {
			t.Fatalf("pipeline = %+v", tmpl.Pipeline)
		}
		if got := tmpl.Infrastructure.Manifest.Templates[0].Settings.InputType; got != InputTypeHCL {
			t.Errorf("instance input type %q, want HCL", got)
		}
		if _, ok := tmpl.Pipeline.Files["pipeline.sh"]; !ok {
			t.Errorf("pipeline files %v lack pipeline.sh", tmpl.Pipeline.Files)
		}
		if s := tmpl.Schema; s.ServiceInputType != "WebInputs" || s.PipelineInputType != "BuildInputs" {
			t.Errorf("input types %q, %q", s.ServiceInputType, s.PipelineInputType)
		}
	})
	t.Run("without pipeline", func(t *testing.T) {
		t.Parallel()
		tmpl, err := ParseServiceTemplate(unpackFiles(t, fixture(t, "svc-no-pipeline")), true)
		if err != nil {
			t.Fatalf("ParseServiceTemplate: %v", err)
		}
		if tmpl.Pipeline != nil || tmpl.Infrastructure.Manifest.Engine() != EngineTerraform {
			t.Errorf("pipeline %v, engine %q", tmpl.Pipeline, tmpl.Infrastructure.Manifest.Engine())
		}
	})
}

func TestParseEnvironmentTemplateReportsWhatIsWrong(t *testing.T) {
	t.Parallel()
	codebuild := fixture(t, "env-codebuild")
	cfn := fixture(t, "env-cloudformation")
	tf := fixture(t, "env-terraform")
	schemaWith := func(props string) string {
		return "schema:\n  format:\n    openapi: \"3.0.0\"\n  environment_input_type: In\n  types:\n    In:\n      type: object\n      properties:\n" + props
	}
	manyTF := map[string]string{}
	for i := range MaxTemplateFiles + 1 {
		manyTF[fmt.Sprintf("infrastructure/m%02d.tf", i)] = "# module\n"
	}
	tests := []struct {
		name            string
		files           map[string][]byte
		customerManaged bool
		want            string
	}{
		{"missing schema", with(codebuild, map[string]string{"schema/schema.yaml": deleteFile}), false,
			"schema/schema.yaml not found in the bundle (its top level holds: infrastructure/)"},
		// The parser reports the line where the enclosing block starts for
		// parse errors, the offending line for scanner errors.
		{"schema YAML syntax error with line", with(codebuild, map[string]string{"schema/schema.yaml": "schema:\n  format:\n    openapi: \"3.0.0\"\n  types:\n    In:\n      type: object\n     bad: [\n"}), false,
			"schema/schema.yaml: line 4: did not find expected key"},
		{"schema without top-level key", with(codebuild, map[string]string{"schema/schema.yaml": "types: {}\n"}), false,
			"schema/schema.yaml: line 1: the top-level 'schema' key is missing"},
		{"openapi version", with(codebuild, map[string]string{"schema/schema.yaml": "schema:\n  format:\n    openapi: \"2.0\"\n"}), false,
			`schema/schema.yaml: line 3: schema.format.openapi is "2.0"`},
		{"input type not declared", with(codebuild, map[string]string{"schema/schema.yaml": "schema:\n  format: {openapi: 3.0.0}\n  environment_input_type: Missing\n  types:\n    In: {type: object}\n"}), false,
			`schema.environment_input_type names type "Missing", which schema.types does not declare (it declares: In)`},
		{"no environment input type in a service schema", with(codebuild, map[string]string{"schema/schema.yaml": "schema:\n  format: {openapi: 3.0.0}\n  service_input_type: In\n  types:\n    In: {type: object}\n"}), false,
			"schema.environment_input_type is missing: an environment template's schema must name the type of its inputs (it names a service_input_type: is this a service template bundle?)"},
		{"unknown property type", with(codebuild, map[string]string{"schema/schema.yaml": schemaWith("        port:\n          type: int\n")}), false,
			`schema/schema.yaml: line 10: schema.types.In.properties.port: unknown type "int" (the types are string, number, integer, boolean, array, object)`},
		{"property without type", with(codebuild, map[string]string{"schema/schema.yaml": schemaWith("        port:\n          default: 1\n")}), false,
			"schema.types.In.properties.port has no type"},
		{"pattern does not compile", with(codebuild, map[string]string{"schema/schema.yaml": schemaWith("        name:\n          type: string\n          pattern: \"(?=x)\"\n")}), false,
			`schema.types.In.properties.name: pattern "(?=x)" does not compile (Hadron uses RE2 syntax)`},
		{"required names no property", with(codebuild, map[string]string{"schema/schema.yaml": schemaWith("        a:\n          type: string\n      required: [b]\n")}), false,
			`schema.types.In.required lists "b", which is not one of its properties`},
		{"$ref unsupported", with(codebuild, map[string]string{"schema/schema.yaml": schemaWith("        a:\n          $ref: '#/x'\n")}), false,
			"schema.types.In.properties.a: $ref is not supported"},
		{"duplicate key", with(codebuild, map[string]string{"schema/schema.yaml": schemaWith("        a:\n          type: string\n        a:\n          type: number\n")}), false,
			`schema/schema.yaml: line 11: schema.types.In.properties: key "a" appears twice (first at line 9)`},
		{"type that contains itself through an alias", with(codebuild, map[string]string{"schema/schema.yaml": schemaWith("        list: &l\n          type: array\n          items: *l\n")}), false,
			"nested too deeply or expands to too many values"},
		{"missing manifest", with(codebuild, map[string]string{"infrastructure/manifest.yaml": deleteFile}), false,
			"infrastructure/manifest.yaml not found in the bundle"},
		{"manifest named .yml", with(codebuild, map[string]string{"infrastructure/manifest.yaml": deleteFile, "infrastructure/manifest.yml": "x: 1\n"}), false,
			"found infrastructure/manifest.yml: the manifest must be named manifest.yaml"},
		{"manifest YAML syntax error", with(codebuild, map[string]string{"infrastructure/manifest.yaml": "infrastructure:\n  templates:\n    - rendering_engine: codebuild\n      settings: {provision: [a}\n"}), false,
			"infrastructure/manifest.yaml: line 3: did not find expected ',' or ']'"},
		{"unknown engine", with(codebuild, map[string]string{"infrastructure/manifest.yaml": "infrastructure:\n  templates:\n    - rendering_engine: pulumi\n      file: index.ts\n"}), false,
			`infrastructure/manifest.yaml: line 3: infrastructure.templates[0]: unknown rendering_engine "pulumi" (Proton's engines are jinja for CloudFormation, hcl for Terraform and codebuild)`},
		{"missing engine", with(codebuild, map[string]string{"infrastructure/manifest.yaml": "infrastructure:\n  templates:\n    - file: a.yaml\n"}), false,
			"infrastructure.templates[0].rendering_engine is missing"},
		{"codebuild without provision", with(codebuild, map[string]string{"infrastructure/manifest.yaml": "infrastructure:\n  templates:\n    - rendering_engine: codebuild\n      settings:\n        deprovision: [x]\n"}), false,
			"infrastructure/manifest.yaml: line 5: infrastructure.templates[0].settings.provision is missing"},
		{"codebuild with empty provision", with(codebuild, map[string]string{"infrastructure/manifest.yaml": "infrastructure:\n  templates:\n    - rendering_engine: codebuild\n      settings:\n        provision: []\n"}), false,
			"infrastructure.templates[0].settings.provision is empty"},
		{"codebuild provision not strings", with(codebuild, map[string]string{"infrastructure/manifest.yaml": "infrastructure:\n  templates:\n    - rendering_engine: codebuild\n      settings:\n        provision:\n          - {run: x}\n"}), false,
			"infrastructure/manifest.yaml: line 6: infrastructure.templates[0].settings.provision[0] must be a string, not a mapping"},
		{"codebuild unknown input type", with(codebuild, map[string]string{"infrastructure/manifest.yaml": "infrastructure:\n  templates:\n    - rendering_engine: codebuild\n      settings:\n        provision: [x]\n        input_type: XML\n"}), false,
			`infrastructure.templates[0].settings.input_type is "XML": it must be JSON or HCL`},
		{"jinja file missing", with(cfn, map[string]string{"infrastructure/network.yaml": deleteFile}), false,
			`infrastructure.templates[0].file "network.yaml" is not in the bundle: expected infrastructure/network.yaml`},
		{"jinja without template_language", with(cfn, map[string]string{"infrastructure/manifest.yaml": "infrastructure:\n  templates:\n    - file: network.yaml\n      rendering_engine: jinja\n"}), false,
			`rendering_engine jinja needs template_language: cloudformation, not ""`},
		{"jinja with two files", with(cfn, map[string]string{"infrastructure/manifest.yaml": "infrastructure:\n  templates:\n    - {file: network.yaml, rendering_engine: jinja, template_language: cloudformation}\n    - {file: network.yaml, rendering_engine: jinja, template_language: cloudformation}\n"}), false,
			"a CloudFormation (jinja) manifest lists exactly one file, and this one lists 2"},
		{"mixed engines", with(cfn, map[string]string{"infrastructure/manifest.yaml": "infrastructure:\n  templates:\n    - {file: network.yaml, rendering_engine: jinja, template_language: cloudformation}\n    - {file: main.tf, rendering_engine: hcl, template_language: terraform}\n", "infrastructure/main.tf": "# tf\n"}), false,
			"templates[1] uses rendering_engine hcl, but templates[0] uses jinja"},
		{"hcl star without .tf files", with(tf, map[string]string{"infrastructure/main.tf": deleteFile, "infrastructure/outputs.tf": deleteFile}), false,
			`infrastructure.templates[0].file "*" matches no .tf file in infrastructure/`},
		{"hcl named file missing", with(tf, map[string]string{"infrastructure/manifest.yaml": "infrastructure:\n  templates:\n    - {file: vpc.tf, rendering_engine: hcl, template_language: terraform}\n"}), false,
			`infrastructure.templates[0].file "vpc.tf" is not in the bundle: expected infrastructure/vpc.tf`},
		{"too many template files", with(tf, manyTF), false,
			"the manifests name 13 template files, over Proton's limit of 10 per bundle"},
		{"customer-managed with infrastructure", codebuild, true,
			"a customer-managed environment template bundle holds only schema/schema.yaml: remove infrastructure/ from the bundle"},
		{"customer-managed output not a string", with(fixture(t, "env-customer-managed"), map[string]string{"schema/schema.yaml": schemaWith("        count:\n          type: integer\n")}), true,
			"schema.types.In.properties.count is of type integer: the inputs of a customer-managed environment are its outputs, which must be strings"},
		{"service bundle registered as environment", fixture(t, "svc-no-pipeline"), false,
			"schema.environment_input_type is missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tmpl, err := ParseEnvironmentTemplate(unpackFiles(t, tt.files), tt.customerManaged)
			if tmpl != nil {
				t.Errorf("got a template along with the error")
			}
			wantError(t, err, tt.want)
		})
	}
}

func TestParseServiceTemplateReportsWhatIsWrong(t *testing.T) {
	t.Parallel()
	svc := fixture(t, "svc-pipeline")
	tests := []struct {
		name             string
		files            map[string][]byte
		pipelineCustomer bool
		want             string
	}{
		{"pipeline directory with customer-managed pipeline", svc, true,
			"the template's pipeline provisioning is CUSTOMER_MANAGED, so the bundle must not hold pipeline_infrastructure/"},
		{"missing instance manifest", with(svc, map[string]string{"instance_infrastructure/manifest.yaml": deleteFile}), false,
			"instance_infrastructure/manifest.yaml not found in the bundle"},
		{"pipeline directory without manifest", with(svc, map[string]string{"pipeline_infrastructure/manifest.yaml": deleteFile}), false,
			"pipeline_infrastructure/manifest.yaml not found in the bundle"},
		{"pipeline input type not declared", with(svc, map[string]string{"schema/schema.yaml": "schema:\n  format: {openapi: 3.0.0}\n  service_input_type: In\n  pipeline_input_type: P\n  types:\n    In: {type: object}\n"}), false,
			`schema.pipeline_input_type names type "P", which schema.types does not declare`},
		{"environment bundle registered as service", fixture(t, "env-codebuild"), false,
			"schema.service_input_type is missing: a service template's schema must name the type of its instances' inputs (it names an environment_input_type: is this an environment template bundle?)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := ParseServiceTemplate(unpackFiles(t, tt.files), tt.pipelineCustomer)
			wantError(t, err, tt.want)
		})
	}
}

func TestParseAcceptsJinjaTemplatesThatAreNotYAMLYet(t *testing.T) {
	t.Parallel()
	// network.yaml has {% if %} lines: YAML only after rendering, as in
	// Proton's own samples, so it is exempt from the YAML check.
	files := fixture(t, "env-cloudformation")
	if !strings.Contains(string(files["infrastructure/network.yaml"]), "{% if") {
		t.Fatal("fixture no longer has a Jinja block")
	}
	if _, err := ParseEnvironmentTemplate(unpackFiles(t, files), false); err != nil {
		t.Fatalf("ParseEnvironmentTemplate: %v", err)
	}
}

func TestParseReportsScannerErrorsAtTheirLine(t *testing.T) {
	t.Parallel()
	files := with(fixture(t, "env-codebuild"), map[string]string{
		"schema/schema.yaml": "schema:\n  format:\n    openapi: \"3.0.0\"\n  environment_input_type: In\n  types:\n    In:\n      type: object: broken\n",
	})
	_, err := ParseEnvironmentTemplate(unpackFiles(t, files), false)
	wantError(t, err, "schema/schema.yaml: line 7: mapping values are not allowed in this context")
}
