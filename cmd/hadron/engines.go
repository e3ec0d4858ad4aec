package main

import (
	"path/filepath"
	"time"

	"github.com/hadronhq/hadron/internal/provision"
	"github.com/hadronhq/hadron/internal/provision/codebuild"
	"github.com/hadronhq/hadron/internal/provision/customermanaged"
	"github.com/hadronhq/hadron/internal/provision/terraform"
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
}

// engines returns the provisioning engines this server runs, one
// registration each (see package provision for adding one).
func engines(c engineConfig) *provision.Registry {
	r := provision.NewRegistry()
	r.Register(codebuild.Name, &codebuild.Engine{Grace: c.cancelGrace, Env: map[string]string{"HADRON_ENDPOINT": c.endpoint, "AWS_ENDPOINT_URL_PROTON": c.endpoint}})
	r.Register(customermanaged.Name, customermanaged.Engine{})
	stateDir, err := filepath.Abs(filepath.Join(c.dataDir, "terraform-state"))
	if err != nil {
		stateDir = filepath.Join(c.dataDir, "terraform-state")
	}
	r.Register(terraform.Name, &terraform.Engine{StateDir: stateDir, Grace: c.cancelGrace, Env: map[string]string{"HADRON_ENDPOINT": c.endpoint, "AWS_ENDPOINT_URL_PROTON": c.endpoint}})
	return r
}
