package main

import (
	"time"

	"github.com/hadronhq/hadron/internal/awsaccess"
	"github.com/hadronhq/hadron/internal/provision"
	"github.com/hadronhq/hadron/internal/provision/cloudformation"
	"github.com/hadronhq/hadron/internal/provision/codebuild"
	"github.com/hadronhq/hadron/internal/provision/customermanaged"
)

// engineConfig is what the engines are configured with.
type engineConfig struct {
	// cancelGrace is the SIGTERM to SIGKILL grace period of a cancelled command.
	cancelGrace time.Duration
	// endpoint is the server's URL, given to provisioning commands.
	endpoint string
	// aws is how the CloudFormation engine reaches AWS (hadron serve
	// --aws-region, --aws-endpoint-url); without it, its deployments fail
	// saying how to give it.
	aws awsaccess.Config
}

// engines returns the provisioning engines this server runs, one
// registration each (see package provision for adding one).
func engines(c engineConfig) *provision.Registry {
	r := provision.NewRegistry()
	r.Register(codebuild.Name, &codebuild.Engine{Grace: c.cancelGrace, Env: map[string]string{"HADRON_ENDPOINT": c.endpoint, "AWS_ENDPOINT_URL_PROTON": c.endpoint}})
	r.Register(customermanaged.Name, customermanaged.Engine{})
	r.Register(cloudformation.Name, &cloudformation.Engine{AWS: c.aws})
	return r
}
