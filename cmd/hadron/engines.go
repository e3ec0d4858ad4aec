package main

import (
	"time"

	"github.com/hadronhq/hadron/internal/provision"
	"github.com/hadronhq/hadron/internal/provision/codebuild"
	"github.com/hadronhq/hadron/internal/provision/customermanaged"
)

// engines returns the provisioning engines this server runs, one
// registration each (see package provision for adding one). endpoint is the
// server's URL, given to provisioning commands.
func engines(cancelGrace time.Duration, endpoint string) *provision.Registry {
	r := provision.NewRegistry()
	r.Register(codebuild.Name, &codebuild.Engine{Grace: cancelGrace, Env: map[string]string{"HADRON_ENDPOINT": endpoint, "AWS_ENDPOINT_URL_PROTON": endpoint}})
	r.Register(customermanaged.Name, customermanaged.Engine{})
	return r
}
