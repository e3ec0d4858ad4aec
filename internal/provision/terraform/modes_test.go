package terraform

import (
	"strings"
	"testing"

	"github.com/hadronhq/hadron/internal/provision"
)

var repo = &provision.Repository{Provider: "GITHUB", Name: "o/r", Branch: "main"}

// The resource's settings choose the mode: the repository hands off (as
// Proton did, even with a role), the CodeBuild role runs terraform here.
func TestModeFollowsTheResourcesSettings(t *testing.T) {
	for _, c := range []struct {
		kind string
		st   provision.Settings
		want string
	}{
		{provision.KindEnvironment, provision.Settings{CodebuildRoleArn: "r"}, ModeLocal},
		{provision.KindEnvironment, provision.Settings{ProvisioningRepository: repo}, ModeHandOff},
		{provision.KindEnvironment, provision.Settings{ProvisioningRepository: repo, CodebuildRoleArn: "r"}, ModeHandOff},
		{provision.KindEnvironment, provision.Settings{ProtonServiceRoleArn: "r"}, ModeNone},
		{provision.KindServiceInstance, provision.Settings{CodebuildRoleArn: "r"}, ModeLocal},
		{provision.KindComponent, provision.Settings{ProvisioningRepository: repo}, ModeHandOff},
		{provision.KindServicePipeline, provision.Settings{PipelineCodebuildRoleArn: "r"}, ModeLocal},
		{provision.KindServicePipeline, provision.Settings{CodebuildRoleArn: "r"}, ModeHandOff},
	} {
		if got := Mode(c.kind, c.st); got != c.want {
			t.Errorf("Mode(%s, %+v) = %s, want %s", c.kind, c.st, got, c.want)
		}
	}
}

// Proton's rule for a Terraform environment, with the same message,
// extended to accept codebuildRoleArn; instances and components need
// their environment to have one of the two; deletes are not checked.
func TestCheckParamsNeedsARepositoryOrACodebuildRole(t *testing.T) {
	e := &Engine{}
	env := provision.Target{Kind: provision.KindEnvironment, Name: "e"}
	inst := provision.Target{Kind: provision.KindServiceInstance, Name: "i", EnvironmentName: "e"}
	for _, c := range []struct {
		req  provision.Request
		want string
	}{
		{provision.Request{Target: env}, "the template uses self-managed (Terraform) provisioning: provisioningRepository is required (or codebuildRoleArn, for Hadron to run Terraform itself)"},
		{provision.Request{Target: env, Settings: provision.Settings{ProvisioningRepository: repo}}, ""},
		{provision.Request{Target: env, Settings: provision.Settings{CodebuildRoleArn: "r"}}, ""},
		{provision.Request{Target: env, Operation: provision.OperationDelete}, ""},
		{provision.Request{Target: inst}, "service instance i uses Terraform, but its environment e has neither provisioningRepository nor codebuildRoleArn"},
		{provision.Request{Target: inst, Settings: provision.Settings{CodebuildRoleArn: "r"}}, ""},
		{provision.Request{Target: provision.Target{Kind: provision.KindComponent, Name: "c", EnvironmentName: "e"}}, "component c uses Terraform"},
		{provision.Request{Target: provision.Target{Kind: provision.KindServicePipeline}}, ""},
	} {
		c.req.Engine = Name
		if c.req.Operation == "" {
			c.req.Operation = provision.OperationDeploy
		}
		err := e.CheckParams(c.req)
		if (c.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.want)) {
			t.Errorf("CheckParams(%s %+v) = %v, want %q", c.req.Target.Kind, c.req.Settings, err, c.want)
		}
	}
}

func TestHasBackendFindsBackendAndCloudBlocksOnly(t *testing.T) {
	for _, c := range []struct {
		name string
		tf   string
		want bool
	}{
		{"main.tf", "terraform {\n  backend \"s3\" {\n    bucket = \"b\"\n  }\n}\n", true},
		{"main.tf", "terraform {\n  cloud {\n    organization = \"o\"\n  }\n}\n", true},
		{"main.tf", "terraform { backend \"local\" {} }\n", true},
		{"main.tf", "# backend \"s3\" {\n// backend \"s3\" {\n/*\nbackend \"s3\" {\n*/\n", false},
		{"modules/x/main.tf", "terraform {\n  backend \"s3\" {}\n}\n", false},
		{"backend.txt", "backend \"s3\" {\n", false},
		{"main.tf", "resource \"terraform_data\" \"a\" {}\n", false},
	} {
		got := HasBackend(map[string][]byte{c.name: []byte(c.tf)})
		if got != c.want {
			t.Errorf("HasBackend(%s: %q) = %v, want %v", c.name, c.tf, got, c.want)
		}
	}
}

// TestOnlyALocalRunRunsCommandsOnTheHost: the gate on commands supplied
// through the API (components) applies to Hadron running terraform, not
// to a hand-off through git.
func TestOnlyALocalRunRunsCommandsOnTheHost(t *testing.T) {
	t.Parallel()
	e := &Engine{}
	for _, c := range []struct {
		name string
		st   provision.Settings
		want bool
	}{
		{"codebuildRoleArn: local run", provision.Settings{CodebuildRoleArn: "arn:aws:iam::1:role/r"}, true},
		{"provisioningRepository: hand-off", provision.Settings{ProvisioningRepository: &provision.Repository{Provider: "GITHUB", Name: "o/r", Branch: "main"}}, false},
		{"neither: cannot deploy", provision.Settings{}, false},
	} {
		if got := e.RunsHostCommands(provision.KindComponent, c.st); got != c.want {
			t.Errorf("%s: RunsHostCommands = %v, want %v", c.name, got, c.want)
		}
	}
}
