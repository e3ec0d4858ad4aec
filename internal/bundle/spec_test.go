package bundle

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// schemaOf parses the schema of a fixture bundle.
func schemaOf(t testing.TB, name string, parse func(*Files, bool) (*Template, error)) *Schema {
	t.Helper()
	tmpl, err := parse(unpackFiles(t, fixture(t, name)), false)
	if err != nil {
		t.Fatalf("parse %s: %v", name, err)
	}
	return tmpl.Schema
}

func TestEnvironmentInputsAppliesDefaults(t *testing.T) {
	t.Parallel()
	s := schemaOf(t, "env-codebuild", ParseEnvironmentTemplate)
	got, err := s.EnvironmentInputs("proton: EnvironmentSpec\nspec:\n  tier: dev\n  az_count: 3\n  ratio: 0.25\n  owner: platform\n")
	if err != nil {
		t.Fatalf("EnvironmentInputs: %v", err)
	}
	want := map[string]any{
		"tier": "dev", "az_count": int64(3), "ratio": 0.25, "owner": "platform",
		"vpc_cidr": "10.10.0.0/16", "nat": false, "tags": []any{"hadron"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("inputs = %#v\nwant     %#v", got, want)
	}
	// Whole numbers encode without a fraction, whatever way YAML wrote them.
	got, err = s.EnvironmentInputs("proton: EnvironmentSpec\nspec: {tier: prod, az_count: 4.0, ratio: 1}\n")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(map[string]any{"az_count": got["az_count"], "ratio": got["ratio"]})
	if string(b) != `{"az_count":4,"ratio":1}` {
		t.Errorf("JSON = %s", b)
	}
	// Defaults are copied: changing one result must not change the next.
	got["tags"].([]any)[0] = "changed"
	again, _ := s.EnvironmentInputs("proton: EnvironmentSpec\nspec: {tier: prod}\n")
	if again["tags"].([]any)[0] != "hadron" {
		t.Errorf("a caller changed the schema's default: %v", again["tags"])
	}
}

func TestEnvironmentInputsReportsTheInput(t *testing.T) {
	t.Parallel()
	s := schemaOf(t, "env-codebuild", ParseEnvironmentTemplate)
	spec := func(inputs string) string { return "proton: EnvironmentSpec\nspec:\n" + inputs }
	tests := []struct {
		name  string
		spec  string
		input string
		want  string
	}{
		{"required missing", spec("  az_count: 2\n"), "tier", "invalid spec: input 'tier': is required, and the spec does not set it"},
		{"required null", spec("  tier:\n"), "tier", "input 'tier': is required"},
		{"wrong type", spec("  tier: dev\n  az_count: two\n"), "az_count", `invalid spec: input 'az_count': must be a whole number, not the string "two"`},
		{"fraction for integer", spec("  tier: dev\n  az_count: 2.5\n"), "az_count", "must be a whole number, not the number 2.5"},
		{"number for string", spec("  tier: dev\n  owner: 1.20\n"), "owner", `must be a string, not the number 1.2 (quote it, "1.2", to pass a string)`},
		{"boolean", spec("  tier: dev\n  nat: maybe\n"), "nat", `must be true or false, not the string "maybe"`},
		{"enum", spec("  tier: qa\n"), "tier", `invalid spec: input 'tier': must be one of "dev", "staging", "prod", not "qa"`},
		{"pattern", spec("  tier: dev\n  vpc_cidr: 192.168.0.0/16\n"), "vpc_cidr", `invalid spec: input 'vpc_cidr': must match pattern ^10\., and "192.168.0.0/16" does not`},
		{"minLength", spec("  tier: dev\n  owner: ab\n"), "owner", "must be at least 3 characters long, not 2"},
		{"maxLength", spec("  tier: dev\n  owner: " + strings.Repeat("x", 21) + "\n"), "owner", "must be at most 20 characters long, not 21"},
		{"minimum", spec("  tier: dev\n  az_count: 0\n"), "az_count", "must be at least 1, not 0"},
		{"maximum", spec("  tier: dev\n  az_count: 7\n"), "az_count", "must be at most 6, not 7"},
		{"exclusive minimum", spec("  tier: dev\n  ratio: 0\n"), "ratio", "must be greater than 0, not 0"},
		{"maxItems", spec("  tier: dev\n  tags: [a, b, c, d]\n"), "tags", "must have at most 3 items, not 4"},
		{"item constraint", spec("  tier: dev\n  tags: [ok, much-too-long]\n"), "tags[1]", "input 'tags[1]': must be at most 8 characters long"},
		{"list expected", spec("  tier: dev\n  tags: solo\n"), "tags", `must be a list, not the string "solo"`},
		{"CURRENT_VAL without a current deployment", spec("  tier: ${Proton::CURRENT_VAL}\n"), "tier", "input 'tier': ${Proton::CURRENT_VAL} keeps the current value, and there is none"},
		{"wrong kind", "proton: ServiceSpec\ninstances: []\n", "", "invalid spec: 'proton: ServiceSpec' is not a spec of this kind: it must say 'proton: EnvironmentSpec'"},
		{"no proton key", "spec:\n  tier: dev\n", "", "the spec must start with 'proton: EnvironmentSpec'"},
		{"empty", "", "", "the spec is empty"},
		{"unknown top-level key", "proton: EnvironmentSpec\nspecs:\n  tier: dev\n", "", "unknown key 'specs' at the top of the spec (it may hold only proton, spec)"},
		{"spec not a mapping", "proton: EnvironmentSpec\nspec: [a]\n", "", "spec must be a mapping of inputs, not a list"},
		{"YAML syntax error", "proton: EnvironmentSpec\nspec:\n  tier: dev\n  bad: : x\n", "", "invalid spec: line 4: mapping values are not allowed in this context"},
		{"infinite number", spec("  tier: dev\n  ratio: .inf\n"), "", "spec.ratio: .inf is not a finite number"},
		{"too long", "proton: EnvironmentSpec\n#" + strings.Repeat("x", MaxSpecChars), "", "over the limit of 51200"},
		{"alias bomb", billionLaughs(), "", "expands to too many values"},
		{"too deep", "proton: EnvironmentSpec\nspec:\n  tier: " + strings.Repeat("[", 100) + strings.Repeat("]", 100) + "\n", "", "nested too deeply"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := s.EnvironmentInputs(tt.spec)
			var se *SpecError
			if !errors.As(err, &se) {
				t.Fatalf("error %v (%T), want a *SpecError", err, err)
			}
			if se.Input != tt.input {
				t.Errorf("Input = %q, want %q", se.Input, tt.input)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q\ndoes not contain %q", err.Error(), tt.want)
			}
		})
	}
}

// billionLaughs is a small spec whose aliases expand to 10^9 values.
func billionLaughs() string {
	var b strings.Builder
	b.WriteString("proton: EnvironmentSpec\na0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n")
	for i := 1; i < 9; i++ {
		fmt.Fprintf(&b, "a%d: &a%d [", i, i)
		for j := range 10 {
			if j > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "*a%d", i-1)
		}
		b.WriteString("]\n")
	}
	b.WriteString("spec:\n  tier: *a8\n")
	return b.String()
}

func TestEnvironmentInputsWithCurrentKeepsCurrentValues(t *testing.T) {
	t.Parallel()
	s := schemaOf(t, "env-codebuild", ParseEnvironmentTemplate)
	current, err := s.EnvironmentInputs("proton: EnvironmentSpec\nspec: {tier: staging, owner: team-a, az_count: 5}\n")
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.EnvironmentInputsWithCurrent("proton: EnvironmentSpec\nspec:\n  tier: ${Proton::CURRENT_VAL}\n  az_count: ${Proton::CURRENT_VAL}\n  owner: team-b\n  nat: ${Proton::CURRENT_VAL}\n  ratio: ${Proton::CURRENT_VAL}\n", current)
	if err != nil {
		t.Fatalf("EnvironmentInputsWithCurrent: %v", err)
	}
	want := maps.Clone(current)
	want["owner"] = "team-b"
	if !reflect.DeepEqual(got, want) {
		t.Errorf("inputs = %v\nwant     %v", got, want)
	}
	// An input the current deployment does not have counts as omitted.
	_, err = s.EnvironmentInputsWithCurrent("proton: EnvironmentSpec\nspec: {tier: '${Proton::CURRENT_VAL}'}\n", map[string]any{})
	if err == nil || !strings.Contains(err.Error(), "input 'tier': is required") {
		t.Errorf("error = %v, want tier required", err)
	}
}

func TestCustomerManagedSpecValuesAreTheOutputs(t *testing.T) {
	t.Parallel()
	tmpl, err := ParseEnvironmentTemplate(unpackFiles(t, fixture(t, "env-customer-managed")), true)
	if err != nil {
		t.Fatal(err)
	}
	got, err := tmpl.Schema.EnvironmentInputs("proton: EnvironmentSpec\nspec:\n  vpc_id: vpc-123\n")
	if err != nil || !reflect.DeepEqual(got, map[string]any{"vpc_id": "vpc-123"}) {
		t.Errorf("inputs = %v, %v", got, err)
	}
}

func TestServiceSpec(t *testing.T) {
	t.Parallel()
	s := schemaOf(t, "svc-pipeline", ParseServiceTemplate)
	got, err := s.ServiceSpec(`proton: ServiceSpec
pipeline:
  test_command: go test ./...
instances:
  - name: web-dev
    environment: dev
    spec:
      port: 80
  - name: web-prod
    environment: prod
    spec:
      size: large
      replicas: 2.5
`)
	if err != nil {
		t.Fatalf("ServiceSpec: %v", err)
	}
	want := &ServiceSpec{
		Pipeline: map[string]any{"test_command": "go test ./..."},
		Instances: []InstanceSpec{
			{Name: "web-dev", Environment: "dev", Inputs: map[string]any{"port": int64(80), "replicas": int64(1), "size": "small"}},
			{Name: "web-prod", Environment: "prod", Inputs: map[string]any{"port": int64(8080), "replicas": 2.5, "size": "large"}},
		},
		InstancesListed: true,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("spec = %#v\nwant   %#v", got, want)
	}

	// instances: [] lists none; a spec without the key (or with no value) does not list them.
	for spec, listed := range map[string]bool{
		"proton: ServiceSpec\ninstances: []\n": true,
		"proton: ServiceSpec\ninstances:\n":    false,
		"proton: ServiceSpec\npipeline: {}\n":  false,
	} {
		got, err := s.ServiceSpec(spec)
		if err != nil || got.InstancesListed != listed || len(got.Instances) != 0 {
			t.Errorf("ServiceSpec(%q) = %+v, %v; want no instances, listed %v", spec, got, err, listed)
		}
	}

	// Updating: CURRENT_VAL reads the instance of the same name.
	next, err := s.ServiceSpecWithCurrent(`proton: ServiceSpec
instances:
  - name: web-prod
    environment: prod
    spec: {size: "${Proton::CURRENT_VAL}", port: 9090}
`, got)
	if err != nil {
		t.Fatalf("ServiceSpecWithCurrent: %v", err)
	}
	if in := next.Instances[0].Inputs; in["size"] != "large" || in["port"] != int64(9090) {
		t.Errorf("inputs = %v", in)
	}
	if next.Pipeline["test_command"] != "make test" {
		t.Errorf("pipeline = %v, want the default applied", next.Pipeline)
	}
}

func TestServiceSpecNamesTheInstance(t *testing.T) {
	t.Parallel()
	s := schemaOf(t, "svc-pipeline", ParseServiceTemplate)
	noPipeline := schemaOf(t, "svc-no-pipeline", ParseServiceTemplate)
	tests := []struct {
		name   string
		schema *Schema
		spec   string
		want   string
	}{
		{"instance input out of range", s, "proton: ServiceSpec\ninstances:\n  - name: api\n    environment: dev\n    spec: {port: 70000}\n",
			"invalid spec: instance 'api': input 'port': must be at most 65535, not 70000"},
		{"instance required missing", noPipeline, "proton: ServiceSpec\ninstances:\n  - name: worker\n    environment: dev\n",
			"invalid spec: instance 'worker': input 'queue': is required"},
		{"instance without environment", s, "proton: ServiceSpec\ninstances:\n  - name: api\n",
			"invalid spec: instance 'api': environment is missing"},
		{"instance without name", s, "proton: ServiceSpec\ninstances:\n  - environment: dev\n",
			"invalid spec: instances[0] has no name"},
		{"duplicate instance", s, "proton: ServiceSpec\ninstances:\n  - {name: a, environment: dev}\n  - {name: a, environment: prod}\n",
			"invalid spec: instance 'a': the spec lists this instance more than once"},
		{"pipeline input wrong type", s, "proton: ServiceSpec\npipeline: {test_command: [a]}\ninstances: []\n",
			"invalid spec: pipeline: input 'test_command': must be a string, not a list"},
		{"pipeline inputs without pipeline type", noPipeline, "proton: ServiceSpec\npipeline: {x: 1}\ninstances: []\n",
			"invalid spec: pipeline: the template has no pipeline inputs"},
		{"environment spec given", s, "proton: EnvironmentSpec\nspec: {}\n",
			"it must say 'proton: ServiceSpec'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := tt.schema.ServiceSpec(tt.spec)
			var se *SpecError
			if !errors.As(err, &se) {
				t.Fatalf("error %v (%T), want a *SpecError", err, err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q\ndoes not contain %q", err.Error(), tt.want)
			}
		})
	}
}

// One call reports every violation it can see, each naming its input, so that
// three mistakes cost one round trip, not three.
func TestSpecValidationReportsEveryViolationAtOnce(t *testing.T) {
	t.Parallel()
	env := schemaOf(t, "env-codebuild", ParseEnvironmentTemplate)
	svc := schemaOf(t, "svc-pipeline", ParseServiceTemplate)
	tests := []struct {
		name   string
		parse  func(string) error
		spec   string
		want   string
		inputs []string // the Input of each violation, in order
	}{
		{"three inputs of an environment",
			func(s string) error { _, err := env.EnvironmentInputs(s); return err },
			"proton: EnvironmentSpec\nspec:\n  az_count: 9\n  owner: ab\n",
			"invalid spec: 3 validation errors detected: input 'az_count': must be at most 6, not 9; " +
				"input 'owner': must be at least 3 characters long, not 2; input 'tier': is required, and the spec does not set it",
			[]string{"az_count", "owner", "tier"}},
		{"list items and an input",
			func(s string) error { _, err := env.EnvironmentInputs(s); return err },
			"proton: EnvironmentSpec\nspec:\n  tier: qa\n  tags: [much-too-long, ok, also-too-long]\n",
			"invalid spec: 3 validation errors detected: input 'tags[0]': must be at most 8 characters long, not 13; " +
				"input 'tags[2]': must be at most 8 characters long, not 13; input 'tier': must be one of",
			[]string{"tags[0]", "tags[2]", "tier"}},
		{"pipeline and two instances of a service",
			func(s string) error { _, err := svc.ServiceSpec(s); return err },
			"proton: ServiceSpec\npipeline: {test_command: [a]}\ninstances:\n" +
				"  - {name: api, environment: dev, spec: {port: 70000}}\n  - {name: web, environment: dev, spec: {port: 0}}\n",
			"invalid spec: 3 validation errors detected: pipeline: input 'test_command': must be a string, not a list; " +
				"instance 'api': input 'port': must be at most 65535, not 70000; instance 'web': input 'port': must be at least",
			[]string{"test_command", "port", "port"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.parse(tt.spec)
			var se *SpecError
			if !errors.As(err, &se) {
				t.Fatalf("error %v (%T), want a *SpecError", err, err)
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("error %q\ndoes not start with %q", err.Error(), tt.want)
			}
			got := []string{se.Input}
			for _, a := range se.Also {
				got = append(got, a.Input)
			}
			if !slices.Equal(got, tt.inputs) {
				t.Errorf("violations name inputs %q, want %q", got, tt.inputs)
			}
		})
	}
}

func TestSpecErrorListsAtMostTenViolations(t *testing.T) {
	t.Parallel()
	s := schemaOf(t, "env-codebuild", ParseEnvironmentTemplate)
	tags := strings.TrimSuffix(strings.Repeat("much-too-long, ", 12), ", ")
	_, err := s.EnvironmentInputs("proton: EnvironmentSpec\nspec:\n  tier: dev\n  tags: [" + tags + "]\n")
	if err == nil {
		t.Fatal("a spec with 13 violations validated")
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "invalid spec: 13 validation errors detected (the first 10 follow): input 'tags': must have at most 3 items") {
		t.Errorf("error %q does not count 13 violations and say it lists 10", msg)
	}
	if n := strings.Count(msg, "; ") + 1; n != 10 {
		t.Errorf("error lists %d violations, want 10: %q", n, msg)
	}
}
