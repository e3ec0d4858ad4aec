package engine

import (
	"context"
	"maps"
	"time"

	"github.com/hadronhq/hadron/internal/provision/codebuild"
)

// Engine names used in plans.
const (
	EngineCodebuild       = "codebuild"
	EngineCustomerManaged = "customer_managed"
)

// CustomerManaged provisions nothing: the resource's outputs are given by its
// spec, as for Proton's customer-managed environments.
var CustomerManaged = ProvisionerFunc(func(ctx context.Context, w Work) (map[string]string, error) {
	return maps.Clone(w.Plan.Outputs), nil
})

// Codebuild runs a CodeBuild-provisioning manifest's commands as local processes.
type Codebuild struct {
	// Grace is the SIGTERM to SIGKILL grace period of a cancel.
	Grace time.Duration
	// Env is added to every command's environment (the server's endpoint).
	Env map[string]string
	// OnStart, when set, is called as each command's process starts.
	OnStart func(pid int)
}

// Provision runs the plan's commands in w.Dir with the bundle directory's files
// and proton-inputs.json.
func (c Codebuild) Provision(ctx context.Context, w Work) (map[string]string, error) {
	env := make([]string, 0, len(c.Env)+len(w.Plan.Env))
	for _, m := range []map[string]string{c.Env, w.Plan.Env} {
		for k, v := range m {
			env = append(env, k+"="+v)
		}
	}
	res, err := codebuild.Run(ctx, codebuild.Job{
		Dir:      w.Dir,
		Files:    w.Files,
		Inputs:   w.Plan.Inputs,
		Commands: w.Plan.Commands,
		Env:      env,
		Log:      w.Log,
		Grace:    c.Grace,
		OnStart:  c.OnStart,
	})
	if err != nil {
		return nil, err
	}
	return res.Outputs, nil
}
