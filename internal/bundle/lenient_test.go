package bundle

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// The tests in this file pin where registration and specs are as lenient
// as Proton was (issue 10): bundles and specs that Proton took, and that
// published samples rely on, must not be refused.

// lenientSchema is an environment schema with the defaults Proton
// registered unchecked, and one closed object type.
const lenientSchema = `schema:
  format:
    openapi: "3.0.0"
  environment_input_type: In
  types:
    In:
      type: object
      properties:
        public:
          type: boolean
          default: "public"
        password:
          type: string
          minLength: 12
          default: ""
        size:
          type: string
          enum: [s, m]
          default: xl
        port:
          type: integer
          maximum: 10
          default: 80
        limits:
          type: object
          additionalProperties: false
          properties:
            cpu: {type: integer}
        labels:
          type: object
          additionalProperties:
            type: string
            maxLength: 5
`

func TestParseEnvironmentTemplateDoesNotValidateDefaults(t *testing.T) {
	t.Parallel()
	files := with(fixture(t, "env-codebuild"), map[string]string{"schema/schema.yaml": lenientSchema})
	tmpl, err := ParseEnvironmentTemplate(unpackFiles(t, files), false)
	if err != nil {
		t.Fatalf("ParseEnvironmentTemplate: %v", err)
	}
	got, err := tmpl.Schema.EnvironmentInputs("proton: EnvironmentSpec\nspec: {}\n")
	if err != nil {
		t.Fatalf("EnvironmentInputs: %v", err)
	}
	// Defaults are passed on as written, as Proton passed them.
	want := map[string]any{"public": "public", "password": "", "size": "xl", "port": int64(80)}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("inputs = %#v\nwant     %#v", got, want)
	}
	// A value the spec gives is still checked.
	if _, err := tmpl.Schema.EnvironmentInputs("proton: EnvironmentSpec\nspec: {port: 80}\n"); err == nil || !strings.Contains(err.Error(), "must be at most 10") {
		t.Errorf("a spec value over the maximum: error %v", err)
	}
}

func TestParseEnvironmentTemplateParsesOnlySchemaAndManifests(t *testing.T) {
	t.Parallel()
	files := with(fixture(t, "env-codebuild"), map[string]string{
		// A Terraform templatefile() source: .yml, and not YAML.
		"infrastructure/cloud-init.yml": "users:\n%{ for u in users ~}\n  - name: ${u}\n%{ endfor ~}\n",
		"infrastructure/config.yml":     "a: [\n",
	})
	if _, err := ParseEnvironmentTemplate(unpackFiles(t, files), false); err != nil {
		t.Fatalf("ParseEnvironmentTemplate: %v", err)
	}
}

func TestSpecUnknownKeysFollowAdditionalProperties(t *testing.T) {
	t.Parallel()
	files := with(fixture(t, "env-codebuild"), map[string]string{"schema/schema.yaml": lenientSchema})
	tmpl, err := ParseEnvironmentTemplate(unpackFiles(t, files), false)
	if err != nil {
		t.Fatalf("ParseEnvironmentTemplate: %v", err)
	}
	s := tmpl.Schema
	spec := func(inputs string) string { return "proton: EnvironmentSpec\nspec: " + inputs + "\n" }

	// The sample README's spec names a key the schema does not: accepted, kept.
	got, err := s.EnvironmentInputs(spec("{public: true, vpc_name: main, labels: {team: core}}"))
	if err != nil {
		t.Fatalf("EnvironmentInputs: %v", err)
	}
	if got["vpc_name"] != "main" || !reflect.DeepEqual(got["labels"], map[string]any{"team": "core"}) {
		t.Errorf("inputs = %#v, want the unknown key kept", got)
	}

	tests := []struct {
		name, spec, input, want string
	}{
		{"additionalProperties false", spec("{limits: {cpu: 1, memory: 2}}"), "limits.memory",
			"input 'limits.memory': is not a property of 'limits', whose schema sets additionalProperties: false (its properties are: cpu)"},
		{"additionalProperties schema", spec("{labels: {team: platform}}"), "labels.team",
			"must be at most 5 characters long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := s.EnvironmentInputs(tt.spec)
			var se *SpecError
			if !errors.As(err, &se) {
				t.Fatalf("error %v (%T), want a *SpecError", err, err)
			}
			if se.Input != tt.input || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q (input %q), want input %q and %q", err, se.Input, tt.input, tt.want)
			}
		})
	}
}

func TestParseCodebuildEnv(t *testing.T) {
	t.Parallel()
	manifest := `infrastructure:
  templates:
    - rendering_engine: codebuild
      settings:
        image: aws/codebuild/amazonlinux2-x86_64-standard:4.0
        runtimes: {nodejs: 18, python: 3.11}
        env:
          variables:
            TF_VERSION: "1.5.0"
            RATIO: 1.5
            EMPTY:
          secrets-manager:
            DB_PASSWORD: prod/db:password
          parameter_store:
            API_URL: /app/api-url
          exported-variables: [VPC_ID]
          shell: bash
        provision:
          - echo hi
`
	files := with(fixture(t, "env-codebuild"), map[string]string{"infrastructure/manifest.yaml": manifest})
	tmpl, err := ParseEnvironmentTemplate(unpackFiles(t, files), false)
	if err != nil {
		t.Fatalf("ParseEnvironmentTemplate: %v", err)
	}
	got := tmpl.Infrastructure.Manifest.Templates[0].Settings.Env
	want := CodebuildEnv{
		Variables:      map[string]string{"TF_VERSION": "1.5.0", "RATIO": "1.5", "EMPTY": ""},
		SecretsManager: map[string]string{"DB_PASSWORD": "prod/db:password"},
		ParameterStore: map[string]string{"API_URL": "/app/api-url"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Env = %#v\nwant  %#v", got, want)
	}

	bad := []struct{ name, env, want string }{
		{"variables not a mapping", "variables: [A]", "infrastructure.templates[0].settings.env.variables must be a mapping, not a list"},
		{"value not a scalar", "variables: {A: [1]}", "settings.env.variables.A must be a string, not a list"},
		{"both spellings", "secrets-manager: {A: x}\n          secrets_manager: {B: y}", "secrets-manager and secrets_manager are the same setting"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m := strings.Replace(manifest, `variables:
            TF_VERSION: "1.5.0"
            RATIO: 1.5
            EMPTY:
          secrets-manager:
            DB_PASSWORD: prod/db:password
          parameter_store:
            API_URL: /app/api-url`, tt.env, 1)
			_, err := ParseEnvironmentTemplate(unpackFiles(t, with(fixture(t, "env-codebuild"), map[string]string{"infrastructure/manifest.yaml": m})), false)
			wantError(t, err, tt.want)
		})
	}
}
