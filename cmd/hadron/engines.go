package main

import (
	"path/filepath"
	"time"

	"github.com/hadronhq/hadron/internal/awsaccess"
	"github.com/hadronhq/hadron/internal/provision"
	"github.com/hadronhq/hadron/internal/provision/cloudformation"
	"github.com/hadronhq/hadron/internal/provision/codebuild"
	"github.com/hadronhq/hadron/internal/provision/customermanaged"
	"github.com/hadronhq/hadron/internal/provision/sandbox"
	"github.com/hadronhq/hadron/internal/provision/terraform"
	"github.com/hadronhq/hadron/internal/runcreds"
	"github.com/hadronhq/hadron/internal/secrets"
)

// engineConfig is what the engines are configured with.
type engineConfig struct {
	// cancelGrace is the SIGTERM to SIGKILL grace period of a cancelled command.
	cancelGrace time.Duration
	// endpoint is the server's URL, given to provisioning commands.
	endpoint string
	// dataDir is the server's data directory; the Terraform engine keeps
	// the local state of resources under dataDir/terraform-state.
	dataDir string
	// aws is how the CloudFormation engine reaches AWS (hadron serve
	// --aws-region, --aws-endpoint-url); without it, its deployments fail
	// saying how to give it.
	aws awsaccess.Config
	// secrets reads the secrets CodeBuild manifests name (AWS when the
	// server has AWS access, else Hadron's own store).
	secrets *secrets.Resolver
	// region is the region of the runs' AWS calls (AWS_REGION).
	region string
	// awsEndpoint, when set, is where the runs' AWS calls go (AWS_ENDPOINT_URL).
	awsEndpoint string
	// credentials gives each CodeBuild run its credentials endpoint.
	credentials *runcreds.Server
	// isolation confines CodeBuild runs (serve's --isolation); nil: off.
	isolation *sandbox.Policy
	// supervisor starts each CodeBuild and Terraform run (serve's
	// --supervisor); nil: this binary re-executed.
	supervisor *codebuild.Supervisor
	// handOff configures the Terraform hand-off (serve's --repository-url,
	// --github-api-url and their credentials).
	handOff terraform.HandOff
}

// engines returns the provisioning engines this server runs, one
// registration each (see package provision for adding one).
func engines(c engineConfig) *provision.Registry {
	r := provision.NewRegistry()
	r.Register(codebuild.Name, &codebuild.Engine{Grace: c.cancelGrace, Env: codebuildEnv(c), Credentials: credentialsOrNil(c.credentials), Secrets: c.secrets, Isolation: c.isolation, Supervisor: c.supervisor})
	r.Register(customermanaged.Name, customermanaged.Engine{})
	stateDir, err := filepath.Abs(filepath.Join(c.dataDir, "terraform-state"))
	if err != nil {
		stateDir = filepath.Join(c.dataDir, "terraform-state")
	}
	// Terraform runs as a CodeBuild job would have: the same environment,
	// credentials and isolation (local-exec provisioners run commands).
	r.Register(terraform.Name, &terraform.Engine{StateDir: stateDir, Grace: c.cancelGrace, Env: codebuildEnv(c), Credentials: credentialsOrNil(c.credentials), Isolation: c.isolation, Supervisor: c.supervisor, HandOff: c.handOff})
	r.Register(cloudformation.Name, &cloudformation.Engine{AWS: c.aws})
	return r
}

// codebuildEnv is what every CodeBuild run is given besides its own
// credentials and RESOURCE_ARN: the region and where the AWS APIs are,
// Hadron's own Proton API among them.
func codebuildEnv(c engineConfig) map[string]string {
	env := map[string]string{
		"HADRON_ENDPOINT":         c.endpoint,
		"AWS_ENDPOINT_URL_PROTON": c.endpoint,
	}
	if c.region != "" {
		env["AWS_REGION"], env["AWS_DEFAULT_REGION"] = c.region, c.region
	}
	if c.awsEndpoint != "" {
		env["AWS_ENDPOINT_URL"] = c.awsEndpoint
	}
	return env
}

// credentialsOrNil keeps a nil server a nil interface.
func credentialsOrNil(s *runcreds.Server) codebuild.Credentials {
	if s == nil {
		return nil
	}
	return s
}
