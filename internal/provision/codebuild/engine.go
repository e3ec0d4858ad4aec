package codebuild

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hadronhq/hadron/internal/awsaccess"
	"github.com/hadronhq/hadron/internal/provision"
	"github.com/hadronhq/hadron/internal/provision/sandbox"
	"github.com/hadronhq/hadron/internal/runcreds"
	"github.com/hadronhq/hadron/internal/secrets"
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
	// Secrets reads the values of the secrets a manifest's env names, at
	// the start of each run; nil fails a run whose manifest names any.
	Secrets SecretResolver
	// Isolation confines every run's commands (see Job.Isolation); nil
	// runs them with the server's own reach.
	Isolation *sandbox.Policy
	// Supervisor starts every run's shell (see Job.Supervisor); nil
	// re-executes the server's binary.
	Supervisor *Supervisor

	// running holds the secret values of each run in progress, by
	// deployment id, for MaskOutputs.
	running sync.Map
}

// SecretResolver reads the values of secret references for a run
// (package secrets implements it).
type SecretResolver interface {
	// Resolve returns the values by variable name, or an error that names
	// the variable and the reference but never a value.
	Resolve(ctx context.Context, req secrets.Request) (map[string]string, error)
}

// Credentials gives a run the credentials CodeBuild gave a build.
type Credentials interface {
	Grant(ctx context.Context, req runcreds.Request) (*runcreds.Grant, error)
}

var (
	_ provision.Engine        = (*Engine)(nil)
	_ provision.ParamsChecker = (*Engine)(nil)
	_ provision.Deprovisioner = (*Engine)(nil)
	_ provision.OutputsMasker = (*Engine)(nil)
)

// spec is the engine's part of a stored plan. It holds the manifest's
// secret references, never their values: those are read when the run
// starts, so that a stored plan (and a retried or recovered deployment)
// holds no secret, and a rotated secret is picked up by the next run.
type spec struct {
	// Commands are the manifest's provision (or deprovision) commands.
	Commands []string `json:"commands,omitempty"`
	// Variables, SecretsManager and ParameterStore are the manifest's env.
	Variables      map[string]string `json:"variables,omitempty"`
	SecretsManager map[string]string `json:"secretsManager,omitempty"`
	ParameterStore map[string]string `json:"parameterStore,omitempty"`
	// Image and Runtimes are not applied; the run says so in its log.
	Image    string            `json:"image,omitempty"`
	Runtimes map[string]string `json:"runtimes,omitempty"`
}

// Plan keeps the commands of the request's operation and the manifest's
// env, image and runtimes (the env applies to both phases, as a
// buildspec's env applied to all of its phases).
func (e *Engine) Plan(req provision.Request) (json.RawMessage, error) {
	if req.Manifest == nil || len(req.Manifest.Templates) == 0 || req.Manifest.Templates[0].Settings == nil {
		return nil, errors.New("a CodeBuild deployment needs a manifest with codebuild settings")
	}
	settings := req.Manifest.Templates[0].Settings
	s := spec{Commands: settings.Provision, Variables: settings.Env.Variables,
		SecretsManager: settings.Env.SecretsManager, ParameterStore: settings.Env.ParameterStore,
		Image: settings.Image, Runtimes: settings.Runtimes}
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

// RunsHostCommands says that the manifest's commands run on this host
// (provision.HostCommandRunner).
func (e *Engine) RunsHostCommands(string, provision.Settings) bool { return true }

// Run runs the plan's commands in run.Dir with the files and
// proton-inputs.json. RESOURCE_ARN names the resource, as in CodeBuild.
// CodeBuild commands report no provisioned resources.
//
// The secrets the manifest names are read first, with the run's CodeBuild
// role: if one cannot be read, the run fails before any command runs,
// with a message naming the variable and the secret (never a value).
// Their values are given to the commands as variables and masked ("***")
// in the log and in error messages.
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
	values, err := e.resolveSecrets(ctx, run, s)
	if err != nil {
		if run.Log != nil {
			fmt.Fprintf(run.Log, "[hadron] %v\n", err)
		}
		return provision.Result{}, err
	}
	if len(values) > 0 && run.DeploymentID != "" {
		e.running.Store(run.DeploymentID, values)
		defer e.running.Delete(run.DeploymentID)
	}
	var mask func() []string
	if e.Credentials != nil && run.Plan.Target != nil {
		g, err := e.grant(ctx, run)
		if err != nil {
			return provision.Result{}, err
		}
		defer g.End()
		env = append(env, g.Env()...)
		mask = g.Mask
	}
	res, err := Run(ctx, Job{
		Dir:        run.Dir,
		Files:      run.Files,
		Inputs:     run.Plan.Inputs,
		Commands:   s.Commands,
		Variables:  s.Variables,
		Secrets:    values,
		Image:      s.Image,
		Runtimes:   s.Runtimes,
		Env:        env,
		Mask:       mask,
		Log:        run.Log,
		Grace:      e.Grace,
		OnStart:    e.OnStart,
		Isolation:  e.Isolation,
		Supervisor: e.Supervisor,
		Fence:      run.Fence,
	})
	if err != nil {
		return provision.Result{}, err
	}
	maskOutputs(res.Outputs, values, run.Log)
	return provision.Result{Outputs: res.Outputs}, nil
}

// maskOutputs replaces secret values inside outputs by "***", noting each
// masked output in the log: outputs are shown by the API, where a secret's
// value must never appear.
func maskOutputs(outputs, secretValues map[string]string, log io.Writer) (masked []string) {
	for _, k := range slices.Sorted(maps.Keys(outputs)) {
		v := outputs[k]
		for _, secret := range secretValues {
			if secret != "" {
				v = strings.ReplaceAll(v, secret, "***")
			}
		}
		if v != outputs[k] {
			outputs[k] = v
			masked = append(masked, k)
			if log != nil {
				fmt.Fprintf(log, "[hadron] output %s holds the value of a secret: it is kept with the value replaced by ***\n", k)
			}
		}
	}
	return masked
}

// MaskOutputs replaces, in outputs a run in progress reports through
// NotifyResourceDeploymentStatusChange, the values of the run's secrets by
// "***", as in the outputs file, and returns the keys it changed.
func (e *Engine) MaskOutputs(deploymentID string, outputs map[string]string) []string {
	v, ok := e.running.Load(deploymentID)
	if !ok {
		return nil
	}
	return maskOutputs(outputs, v.(map[string]string), nil)
}

// resolveSecrets reads the values of the plan's secret references.
func (e *Engine) resolveSecrets(ctx context.Context, run provision.Run, s spec) (map[string]string, error) {
	var refs []secrets.Ref
	for _, src := range []struct {
		source string
		m      map[string]string
	}{{secrets.SourceSecretsManager, s.SecretsManager}, {secrets.SourceParameterStore, s.ParameterStore}} {
		for _, v := range slices.Sorted(maps.Keys(src.m)) {
			refs = append(refs, secrets.Ref{Variable: v, Source: src.source, ID: src.m[v]})
		}
	}
	if len(refs) == 0 {
		return nil, nil
	}
	if e.Secrets == nil {
		return nil, errors.New("the manifest's env names secrets, but this server cannot read secrets")
	}
	req := secrets.Request{DeploymentID: run.DeploymentID, Refs: refs}
	if st := run.Plan.Settings; st != nil {
		req.RoleARN = st.CodebuildRoleArn
		if run.Plan.Target != nil && run.Plan.Target.Kind == provision.KindServicePipeline {
			req.RoleARN = st.PipelineCodebuildRoleArn
		}
	}
	values, err := e.Secrets.Resolve(ctx, req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("reading the manifest's secrets: %w", context.Cause(ctx))
		}
		return nil, fmt.Errorf("reading the manifest's secrets, before any command ran: %w", err)
	}
	return values, nil
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
