package codebuild

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/hadronhq/hadron/internal/awsaccess"
	"github.com/hadronhq/hadron/internal/provision"
	"github.com/hadronhq/hadron/internal/runcreds"
)

// Name is the engine's name in manifests and plans.
const Name = "codebuild"

// Engine is the CodeBuild provisioning engine: it runs a manifest's
// provision (or deprovision) commands as local processes, with the
// resource's proton-inputs.json in their working directory.
type Engine struct {
	// Grace is the SIGTERM to SIGKILL grace period of a cancel.
	Grace time.Duration
	// Env is added to every command's environment (the server's endpoint).
	Env map[string]string
	// OnStart, when set, is called as each command's process starts.
	OnStart func(pid int)
	// Credentials, when set, gives each run its credentials endpoint
	// (runcreds.Server); without it a run gets no credentials.
	Credentials Credentials
}

// Credentials gives a run the credentials CodeBuild gave a build.
type Credentials interface {
	Grant(ctx context.Context, req runcreds.Request) (*runcreds.Grant, error)
}

var (
	_ provision.Engine        = (*Engine)(nil)
	_ provision.ParamsChecker = (*Engine)(nil)
	_ provision.Deprovisioner = (*Engine)(nil)
)

// spec is the engine's part of a stored plan.
type spec struct {
	// Commands are the manifest's provision (or deprovision) commands.
	Commands []string `json:"commands,omitempty"`
}

// Plan keeps the commands of the request's operation.
func (e *Engine) Plan(req provision.Request) (json.RawMessage, error) {
	if req.Manifest == nil || len(req.Manifest.Templates) == 0 || req.Manifest.Templates[0].Settings == nil {
		return nil, errors.New("a CodeBuild deployment needs a manifest with codebuild settings")
	}
	settings := req.Manifest.Templates[0].Settings
	s := spec{Commands: settings.Provision}
	if req.Operation == provision.OperationDelete {
		s.Commands = settings.Deprovision
	}
	return json.Marshal(s)
}

// CheckParams applies Proton's rule that CodeBuild provisioning runs with a
// role: the environment's (or its account connection's) for an environment
// and its instances, the account's pipeline role for a pipeline. Deletes
// run with what the resource had.
func (e *Engine) CheckParams(req provision.Request) error {
	if req.Operation == provision.OperationDelete {
		return nil
	}
	st := req.Settings
	switch req.Target.Kind {
	case provision.KindEnvironment:
		if st.CodebuildRoleArn == "" && st.EnvironmentAccountConnectionID == "" {
			return errors.New("the template uses CodeBuild provisioning: codebuildRoleArn (or environmentAccountConnectionId) is required")
		}
	case provision.KindServiceInstance:
		if st.CodebuildRoleArn == "" && st.EnvironmentAccountConnectionID == "" {
			return fmt.Errorf("service instance %s uses CodeBuild provisioning, but its environment %s has no codebuildRoleArn", req.Target.Name, req.Target.EnvironmentName)
		}
	case provision.KindServicePipeline:
		if st.PipelineCodebuildRoleArn == "" {
			return errors.New("the service template's pipeline uses CodeBuild provisioning: set pipelineCodebuildRoleArn with UpdateAccountSettings first")
		}
	}
	return nil
}

// DeprovisionUnfinished is true: a failed run's commands may have built
// part of the resource, which the deprovision commands must remove.
func (e *Engine) DeprovisionUnfinished() bool { return true }

// Run runs the plan's commands in run.Dir with the files and
// proton-inputs.json. RESOURCE_ARN names the resource, as in CodeBuild.
// CodeBuild commands report no provisioned resources.
func (e *Engine) Run(ctx context.Context, run provision.Run) (provision.Result, error) {
	var s spec
	if len(run.Plan.Spec) > 0 {
		if err := json.Unmarshal(run.Plan.Spec, &s); err != nil {
			return provision.Result{}, fmt.Errorf("codebuild plan is unreadable: %w", err)
		}
	}
	env := make([]string, 0, len(e.Env)+1)
	for k, v := range e.Env {
		env = append(env, k+"="+v)
	}
	if t := run.Plan.Target; t != nil && t.ARN != "" {
		env = append(env, "RESOURCE_ARN="+t.ARN)
	}
	var mask []string
	if e.Credentials != nil && run.Plan.Target != nil {
		g, err := e.grant(ctx, run)
		if err != nil {
			return provision.Result{}, err
		}
		defer g.End()
		env = append(env, g.Env()...)
		mask = g.Mask()
	}
	res, err := Run(ctx, Job{
		Dir:      run.Dir,
		Files:    run.Files,
		Inputs:   run.Plan.Inputs,
		Commands: s.Commands,
		Env:      env,
		Mask:     mask,
		Log:      run.Log,
		Grace:    e.Grace,
		OnStart:  e.OnStart,
	})
	if err != nil {
		return provision.Result{}, err
	}
	return provision.Result{Outputs: res.Outputs}, nil
}

// grant gets the run its credentials, acting as the role CodeBuild ran the
// resource's builds with, and says in the log which credentials it has.
func (e *Engine) grant(ctx context.Context, run provision.Run) (*runcreds.Grant, error) {
	return Grant(ctx, e.Credentials, run)
}

// Grant gets run its credentials from c as a CodeBuild run gets them: the
// resource's codebuildRoleArn (pipelineCodebuildRoleArn for a pipeline)
// assumed, or Hadron-minted ones; it says in run.Log which. The Terraform
// engine, which runs terraform as a CodeBuild job would have, uses it too.
// run.Plan.Target must be set.
func Grant(ctx context.Context, c Credentials, run provision.Run) (*runcreds.Grant, error) {
	var role string
	if st := run.Plan.Settings; st != nil {
		role = st.CodebuildRoleArn
		if run.Plan.Target.Kind == provision.KindServicePipeline {
			role = st.PipelineCodebuildRoleArn
		}
	}
	g, err := c.Grant(ctx, runcreds.Request{DeploymentID: run.DeploymentID, Target: *run.Plan.Target, RoleARN: role})
	if err != nil {
		return nil, err
	}
	if run.Log != nil {
		if g.Assumed() {
			fmt.Fprintf(run.Log, "[hadron] credentials: role %s, session %s, from %s\n", role, awsaccess.SessionName(run.DeploymentID), runcreds.EnvFullURI)
		} else {
			fmt.Fprintf(run.Log, "[hadron] credentials: minted by Hadron for this run (Hadron has no AWS access, or the resource no CodeBuild role): good for Hadron's API on %s only, from %s\n", run.Plan.Target.ARN, runcreds.EnvFullURI)
		}
	}
	return g, nil
}
