package proton

import (
	"testing"

	"github.com/hadronhq/hadron/internal/api"
	"github.com/hadronhq/hadron/internal/store"
)

func TestTargetVersionFollowsProtonsDeploymentTypeRules(t *testing.T) {
	t.Parallel()
	tmpl := &store.Template{Name: "net", RecommendedMajor: 3, RecommendedMinor: 1}
	onMajor := func(major string) *store.Resource {
		return &store.Resource{TemplateMajor: major, TemplateMinor: "2"}
	}
	tests := []struct {
		name           string
		current        string
		deploymentType string
		major, minor   string
		wantMajor      string
		wantMinor      string
		wantErr        bool
	}{
		{"current version keeps the version in use", "1", "CURRENT_VERSION", "", "", "1", "2", false},
		{"current version refuses a major", "1", "CURRENT_VERSION", "1", "", "", "", true},
		{"current version refuses a minor", "1", "CURRENT_VERSION", "", "3", "", "", true},
		{"minor version defaults to the recommended minor", "1", "MINOR_VERSION", "", "", "1", "", false},
		{"minor version takes a named minor", "1", "MINOR_VERSION", "", "4", "1", "4", false},
		{"minor version accepts its own major", "1", "MINOR_VERSION", "1", "4", "1", "4", false},
		{"minor version refuses another major", "1", "MINOR_VERSION", "2", "", "", "", true},
		{"major version defaults to the recommended major", "1", "MAJOR_VERSION", "", "", "3", "", false},
		{"major version takes a higher major", "1", "MAJOR_VERSION", "2", "0", "2", "0", false},
		{"major version refuses the same major", "2", "MAJOR_VERSION", "2", "", "", "", true},
		{"major version refuses a lower major", "2", "MAJOR_VERSION", "1", "", "", "", true},
		{"major version without a higher published major", "3", "MAJOR_VERSION", "", "", "", "", true},
		{"unknown deployment type", "1", "SIDEWAYS", "", "", "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			major, minor, err := targetVersion(tmpl, onMajor(tt.current), tt.deploymentType, tt.major, tt.minor)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if err != nil {
				if pe, ok := err.(*Error); !ok || pe.Kind != KindValidation {
					t.Errorf("err = %#v, want a validation error", err)
				}
				return
			}
			if major != tt.wantMajor || minor != tt.wantMinor {
				t.Errorf("target = %s.%s, want %s.%s", major, minor, tt.wantMajor, tt.wantMinor)
			}
		})
	}
}

func TestPageTokensAreOpaqueAndBoundToTheirList(t *testing.T) {
	t.Parallel()
	tok := encodeToken("environments", "environment/b")
	if after, err := decodeToken("environments", tok); err != nil || after != "environment/b" {
		t.Errorf("round trip = %q, %v", after, err)
	}
	for _, bad := range []string{encodeToken("deployments", "5"), "!!!", "bm9wZQ=="} {
		if _, err := decodeToken("environments", bad); err == nil {
			t.Errorf("token %q accepted by another list", bad)
		}
	}
}

// TestSelfManagedEnvironmentStaysSelfManaged pins what the gate on commands
// supplied through the API (checkAPICommands) relies on for Terraform
// components: an environment that hands Terraform off through git
// (provisioningRepository) keeps its repository through every update, as in
// Proton, so its components never become local terraform runs that were not
// gated when they were accepted. A codebuildRoleArn added to it is kept but
// does not make a local run (a repository wins: terraform.Mode).
func TestSelfManagedEnvironmentStaysSelfManaged(t *testing.T) {
	t.Parallel()
	repo := &api.RepositoryBranchInput{Provider: "GITHUB", Name: "acme/infra", Branch: "main"}
	for _, tt := range []struct {
		name    string
		in      api.UpdateEnvironmentInput
		wantErr bool
	}{
		{"a codebuildRoleArn is added", api.UpdateEnvironmentInput{CodebuildRoleArn: "arn:aws:iam::123456789012:role/cb"}, false},
		{"a componentRoleArn is added", api.UpdateEnvironmentInput{ComponentRoleArn: "arn:aws:iam::123456789012:role/c"}, false},
		{"the repository moves", api.UpdateEnvironmentInput{ProvisioningRepository: repo}, false},
		{"a protonServiceRoleArn is refused", api.UpdateEnvironmentInput{ProtonServiceRoleArn: "arn:aws:iam::123456789012:role/p"}, true},
		{"an account connection is refused", api.UpdateEnvironmentInput{EnvironmentAccountConnectionId: "0a1b2c3d-0000-4000-8000-000000000000"}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			st := envSettings{ProvisioningRepository: &repoBranch{Provider: "GITHUB", Name: "acme/old", Branch: "main"}}
			err := updateEnvSettings(&st, &tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if st.ProvisioningRepository == nil {
				t.Fatal("the update removed the environment's provisioningRepository: its Terraform components would run here ungated")
			}
		})
	}
}
