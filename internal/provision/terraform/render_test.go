package terraform

import (
	"encoding/json"
	"flag"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/hadronhq/hadron/internal/provision"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/render")

const arnPrefixTest = "arn:aws:proton:us-east-1:000000000000:"

// renderCases are one deployment of each kind, with the inputs documents
// package proton builds for them.
var renderCases = []struct {
	name string
	d    Deployment
	in   provision.Inputs
}{
	{"environment", Deployment{ID: "11111111-1111-4111-8111-111111111111", Target: provision.Target{
		Kind: provision.KindEnvironment, Name: "dev", ARN: arnPrefixTest + "environment/dev", EnvironmentName: "dev",
		TemplateName: "tf-env", TemplateMajor: 1, TemplateMinor: 2}},
		provision.Inputs{Environment: &provision.EnvironmentInputs{AccountID: "000000000000", Name: "dev",
			Inputs: map[string]any{"vpc_cidr": "10.0.0.0/16", "az_count": 2, "public": true}}}},
	// The customer's tags join proton_tags; Proton's own keys stay Proton's.
	{"environment-customer-tags", Deployment{ID: "55555555-5555-4555-8555-555555555555", Target: provision.Target{
		Kind: provision.KindEnvironment, Name: "dev", ARN: arnPrefixTest + "environment/dev", EnvironmentName: "dev",
		TemplateName: "tf-env", TemplateMajor: 1, TemplateMinor: 2, Tags: map[string]string{"team": "net", "proton:account": "not mine"}}},
		provision.Inputs{Environment: &provision.EnvironmentInputs{AccountID: "000000000000", Name: "dev",
			Inputs: map[string]any{"vpc_cidr": "10.0.0.0/16"}}}},
	{"environment-list-input", Deployment{ID: "22222222-2222-4222-8222-222222222222", Target: provision.Target{
		Kind: provision.KindEnvironment, Name: "dev", ARN: arnPrefixTest + "environment/dev", EnvironmentName: "dev",
		TemplateName: "tf-env", TemplateMajor: 1}},
		provision.Inputs{Environment: &provision.EnvironmentInputs{AccountID: "000000000000", Name: "dev",
			Inputs: map[string]any{"subnets": []any{"a", "b"}, "name": "x"}}}},
	{"service-instance", Deployment{ID: "33333333-3333-4333-8333-333333333333", Target: provision.Target{
		Kind: provision.KindServiceInstance, Name: "front", ARN: arnPrefixTest + "service/web/service-instance/front",
		EnvironmentName: "dev", ServiceName: "web", TemplateName: "tf-svc", TemplateMajor: 2, TemplateMinor: 0}},
		provision.Inputs{
			Service:         &provision.ServiceInputs{Name: "web", BranchName: "main", RepositoryID: "o/r", RepositoryConnectionArn: "arn:aws:codestar-connections:us-east-1:000000000000:connection/c"},
			ServiceInstance: &provision.InstanceInputs{Name: "front", Inputs: map[string]any{"port": 8080, "image": "nginx"}, Components: &provision.InstanceComponents{Default: provision.ComponentOutputs{Name: "cache", Outputs: map[string]string{"url": "redis://x"}}}},
			Environment:     &provision.EnvironmentInputs{AccountID: "000000000000", Name: "dev", Outputs: map[string]string{"vpc_id": "vpc-1"}},
		}},
	{"service-pipeline", Deployment{ID: "44444444-4444-4444-8444-444444444444", Target: provision.Target{
		Kind: provision.KindServicePipeline, Name: "pipeline", ARN: arnPrefixTest + "service/web/pipeline",
		ServiceName: "web", TemplateName: "tf-svc", TemplateMajor: 2, TemplateMinor: 1}},
		provision.Inputs{
			Service:  &provision.ServiceInputs{Name: "web"},
			Pipeline: &provision.PipelineInputs{Inputs: map[string]any{"stages": 2}},
			ServiceInstances: []provision.PipelineInstance{
				{Name: "front", Inputs: map[string]any{"port": 8080}, Outputs: map[string]string{"url": "http://front"},
					Environment: provision.EnvironmentInputs{AccountID: "000000000000", Name: "dev", Outputs: map[string]string{"vpc_id": "vpc-1"}}},
				{Name: "back", Inputs: map[string]any{"port": 9090}, Outputs: map[string]string{},
					Environment: provision.EnvironmentInputs{AccountID: "000000000000", Name: "prod", Outputs: map[string]string{}}},
			},
		}},
	{"service-pipeline-mixed-instances", Deployment{ID: "55555555-5555-4555-8555-555555555555", Target: provision.Target{
		Kind: provision.KindServicePipeline, Name: "pipeline", ARN: arnPrefixTest + "service/web/pipeline",
		ServiceName: "web", TemplateName: "tf-svc", TemplateMajor: 2, TemplateMinor: 1}},
		provision.Inputs{
			Service:  &provision.ServiceInputs{Name: "web"},
			Pipeline: &provision.PipelineInputs{Inputs: map[string]any{}},
			ServiceInstances: []provision.PipelineInstance{
				{Name: "front", Inputs: map[string]any{"hosts": []any{"a"}}, Outputs: map[string]string{},
					Environment: provision.EnvironmentInputs{AccountID: "000000000000", Name: "dev", Outputs: map[string]string{}}},
				{Name: "back", Inputs: map[string]any{"port": 9090}, Outputs: map[string]string{},
					Environment: provision.EnvironmentInputs{AccountID: "000000000000", Name: "dev", Outputs: map[string]string{}}},
			},
		}},
	{"component-attached", Deployment{ID: "66666666-6666-4666-8666-666666666666", Target: provision.Target{
		Kind: provision.KindComponent, Name: "cache", ARN: arnPrefixTest + "component/cache", EnvironmentName: "dev", ServiceName: "web"}},
		provision.Inputs{
			Component:       &provision.ComponentInputs{Name: "cache"},
			Environment:     &provision.EnvironmentInputs{AccountID: "000000000000", Name: "dev", Outputs: map[string]string{"vpc_id": "vpc-1"}},
			Service:         &provision.ServiceInputs{Name: "web"},
			ServiceInstance: &provision.InstanceInputs{Name: "front", Inputs: map[string]any{"port": 8080}},
		}},
	{"component-detached-deleted", Deployment{ID: "77777777-7777-4777-8777-777777777777", Deleted: true, Target: provision.Target{
		Kind: provision.KindComponent, Name: "cache", ARN: arnPrefixTest + "component/cache", EnvironmentName: "dev"}},
		provision.Inputs{
			Component:   &provision.ComponentInputs{Name: "cache"},
			Environment: &provision.EnvironmentInputs{AccountID: "000000000000", Name: "dev", Outputs: map[string]string{}},
		}},
}

// Each kind's files are pinned byte for byte: the variables Proton
// declared for that kind only, typed from the document's keys, the values
// with proton_tags, and the deployment's metadata.
func TestRenderWritesProtonsFilesForEachKind(t *testing.T) {
	for _, c := range renderCases {
		t.Run(c.name, func(t *testing.T) {
			raw, err := json.Marshal(c.in)
			if err != nil {
				t.Fatal(err)
			}
			c.d.Inputs = raw
			files, err := Render(c.d)
			if err != nil {
				t.Fatal(err)
			}
			want := slices.Sorted(slices.Values([]string{MetadataFile, VariablesFile(c.d.Target.Kind), VarsFile}))
			if got := slices.Sorted(maps.Keys(files)); !slices.Equal(got, want) {
				t.Fatalf("files = %v, want %v", got, want)
			}
			dir := filepath.Join("testdata", "render", c.name)
			for name, data := range files {
				golden := filepath.Join(dir, filepath.FromSlash(name))
				if *update {
					os.MkdirAll(filepath.Dir(golden), 0o755)
					if err := os.WriteFile(golden, data, 0o644); err != nil {
						t.Fatal(err)
					}
					continue
				}
				wantData, err := os.ReadFile(golden)
				if err != nil {
					t.Fatalf("%v (run go test -update to write it)", err)
				}
				if string(data) != string(wantData) {
					t.Errorf("%s differs from %s:\n%s", name, golden, data)
				}
			}
		})
	}
}

func TestVariablesFileIsNamedForTheKind(t *testing.T) {
	for kind, want := range map[string]string{
		provision.KindEnvironment:     "proton.environment.variables.tf",
		provision.KindServiceInstance: "proton.service_instance.variables.tf",
		provision.KindServicePipeline: "proton.pipeline.variables.tf",
		provision.KindComponent:       "proton.component.variables.tf",
	} {
		if got := VariablesFile(kind); got != want {
			t.Errorf("VariablesFile(%s) = %s, want %s", kind, got, want)
		}
	}
}

func TestRenderRefusesATargetWithoutAProtonARN(t *testing.T) {
	_, err := Render(Deployment{ID: "x", Target: provision.Target{Kind: provision.KindEnvironment, ARN: "not-an-arn"}})
	if err == nil {
		t.Fatal("Render accepted a target without an ARN")
	}
}
