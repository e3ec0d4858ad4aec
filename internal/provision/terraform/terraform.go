// Package terraform is the engine of Proton's Terraform templates
// (manifest rendering_engine: hcl, template_language: terraform).
//
// Proton provisioned them "self-managed": it rendered the variable files
// of a deployment next to the template's .tf files (render.go), handed
// them to the user's automation through a pull request on the resource's
// provisioningRepository, and waited for that automation to report the end
// with NotifyResourceDeploymentStatusChange. Which of two modes a
// deployment takes is decided by the resource's settings when it is
// accepted (see Mode):
//
//   - the hand-off (provisioningRepository; for a pipeline, no
//     pipelineCodebuildRoleArn, and the account's
//     pipelineProvisioningRepository): Proton's own flow, through git
//     (handoff.go). The run pushes the files as one commit on a new
//     branch (and opens a pull request with a forge), then returns a
//     provision.Wait: the deployment stays IN_PROGRESS, parked in the store
//     without a worker or a lease, for the hours or days the user's
//     automation takes, across restarts, until the automation's
//     NotifyResourceDeploymentStatusChange ends it (FinalStatusFromNotify
//     is true for a hand-off only). A cancel, or a check every
//     HandOff.PollInterval that finds the pull request closed unmerged,
//     briefly claims it back. Its settings are checked as Proton checked
//     them.
//   - the local run (codebuildRoleArn; for a pipeline,
//     pipelineCodebuildRoleArn): Hadron's extension. Hadron runs the
//     `terraform` binary found on its PATH itself, as a CodeBuild job
//     would have (the same environment and credentials, see
//     Engine.Credentials): init, apply, output and show on a deploy, init and
//     destroy on a delete, through the CodeBuild command runner
//     (codebuild.Run), so the supervisor, the log streaming, the cancel
//     (SIGTERM to the process group, which terraform takes as an
//     interrupt: it stops at a safe point and writes its state; SIGKILL
//     after the grace period) and the isolation of runs all apply.
//
// State of a local run: a template that declares its own backend (a
// backend or cloud block) keeps its state there, and Hadron does nothing
// more. Otherwise the state is one file per resource under the engine's
// StateDir: copied into the working directory before terraform runs, and
// copied back after it, durably, whatever the outcome (a failed or
// cancelled apply leaves partial state that the next deployment needs);
// removed after a successful destroy.
package terraform

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/hadronhq/hadron/internal/provision"
	"github.com/hadronhq/hadron/internal/provision/codebuild"
	"github.com/hadronhq/hadron/internal/provision/sandbox"
)

// Name is the engine's name in manifests and plans.
const Name = "terraform"

// Modes of a Terraform deployment (see the package doc).
const (
	// ModeLocal: Hadron runs terraform.
	ModeLocal = "local"
	// ModeHandOff: the files go to the resource's provisioning repository.
	ModeHandOff = "hand-off"
	// ModeNone: the resource has neither setting.
	ModeNone = "none"
)

// Files the deploy commands write in the working directory for the engine
// to read back: what `terraform output -json` and `terraform show -json`
// print, kept out of the log (outputs may be sensitive).
const (
	outputsFile = ".hadron-terraform-outputs.json"
	showFile    = ".hadron-terraform-show.json"
)

// Engine runs Terraform templates (see the package doc).
type Engine struct {
	// StateDir holds the local state of the resources whose templates
	// declare no backend (DATA_DIR/terraform-state).
	StateDir string
	// Grace is the SIGTERM to SIGKILL grace period of a cancel: the time
	// terraform has to stop at a safe point and write its state.
	Grace time.Duration
	// Env is added to terraform's environment (the server's endpoint).
	Env map[string]string
	// Binary is the terraform binary; empty means the one on the server's
	// PATH, looked up at each run.
	Binary string
	// OnStart, when set, is called as each command's process starts.
	OnStart func(pid int)
	// Credentials, when set, gives each run the credentials a CodeBuild
	// run of the resource gets (codebuild.Grant): terraform's AWS
	// provider reads them from the container credentials endpoint.
	Credentials codebuild.Credentials
	// Isolation confines terraform and what it starts (local-exec
	// provisioners) as it confines CodeBuild commands (codebuild.Job.Isolation);
	// nil runs them with the server's own reach.
	Isolation *sandbox.Policy
	// Supervisor starts terraform's shell (codebuild.Job.Supervisor); nil
	// re-executes the server's binary.
	Supervisor *codebuild.Supervisor
	// HandOff configures the hand-off mode (handoff.go).
	HandOff HandOff
}

var (
	_ provision.Engine         = (*Engine)(nil)
	_ provision.ParamsChecker  = (*Engine)(nil)
	_ provision.Deprovisioner  = (*Engine)(nil)
	_ provision.NotifyFinisher = (*Engine)(nil)
)

// spec is the engine's part of a stored plan.
type spec struct {
	// Mode is decided when the deployment is accepted.
	Mode string `json:"mode"`
}

// Mode returns how a Terraform deployment of a resource of kind with
// settings st runs. A pipeline runs locally with the account's
// pipelineCodebuildRoleArn and is handed off otherwise. Any other
// resource is handed off when its environment has a
// provisioningRepository (Proton's flow wins when both are set), runs
// locally with the environment's codebuildRoleArn, and has no mode
// without either.
func Mode(kind string, st provision.Settings) string {
	switch {
	case kind == provision.KindServicePipeline && st.PipelineCodebuildRoleArn != "":
		return ModeLocal
	case kind == provision.KindServicePipeline:
		return ModeHandOff
	case st.ProvisioningRepository != nil:
		return ModeHandOff
	case st.CodebuildRoleArn != "":
		return ModeLocal
	}
	return ModeNone
}

// Plan keeps the mode the resource's settings call for.
func (e *Engine) Plan(req provision.Request) (json.RawMessage, error) {
	return json.Marshal(spec{Mode: Mode(req.Target.Kind, req.Settings)})
}

// CheckParams applies Proton's rule for a Terraform environment (it needs
// a provisioningRepository) with Hadron's extension: a codebuildRoleArn
// does too, for Hadron to run Terraform itself. A service instance or a
// component needs its environment to have one of them. A pipeline is not
// checked, as Proton did not check it here: without
// pipelineCodebuildRoleArn its deployment is a hand-off. Deletes run with
// what the resource had.
func (e *Engine) CheckParams(req provision.Request) error {
	if req.Operation == provision.OperationDelete {
		return nil
	}
	if Mode(req.Target.Kind, req.Settings) != ModeNone {
		return nil
	}
	switch req.Target.Kind {
	case provision.KindEnvironment:
		return errors.New("the template uses self-managed (Terraform) provisioning: provisioningRepository is required " +
			"(or codebuildRoleArn, for Hadron to run Terraform itself)")
	case provision.KindServiceInstance:
		return fmt.Errorf("service instance %s uses Terraform, but its environment %s has neither provisioningRepository nor codebuildRoleArn", req.Target.Name, req.Target.EnvironmentName)
	case provision.KindComponent:
		return fmt.Errorf("component %s uses Terraform, but its environment %s has neither provisioningRepository nor codebuildRoleArn", req.Target.Name, req.Target.EnvironmentName)
	}
	return nil
}

// DeprovisionUnfinished is true: a failed apply may have created part of
// the resource, which its state records and destroy removes.
func (e *Engine) DeprovisionUnfinished() bool { return true }

// RunsHostCommands says that a local run's terraform runs on this host,
// and with it whatever a configuration's provisioners and external data
// sources run (provision.HostCommandRunner); a hand-off runs nothing here.
func (e *Engine) RunsHostCommands(kind string, st provision.Settings) bool {
	return Mode(kind, st) == ModeLocal
}

// Run deploys or deletes the plan's resource in the mode its plan says.
func (e *Engine) Run(ctx context.Context, run provision.Run) (provision.Result, error) {
	var s spec
	if len(run.Plan.Spec) > 0 {
		if err := json.Unmarshal(run.Plan.Spec, &s); err != nil {
			return provision.Result{}, fmt.Errorf("terraform plan is unreadable: %w", err)
		}
	}
	t := run.Plan.Target
	if t == nil {
		return provision.Result{}, errors.New("terraform plan names no resource")
	}
	if s.Mode == "" {
		var st provision.Settings
		if run.Plan.Settings != nil {
			st = *run.Plan.Settings
		}
		s.Mode = Mode(t.Kind, st)
	}
	log := run.Log
	if log == nil {
		log = io.Discard
	}
	switch s.Mode {
	case ModeLocal:
		return e.runLocal(ctx, run, *t, log)
	case ModeHandOff:
		return e.runHandOff(ctx, run, *t, log)
	}
	if run.Operation == provision.OperationDelete {
		fmt.Fprintf(log, "[hadron] terraform: nothing to delete: the resource was never provisioned\n")
		return provision.Result{}, nil
	}
	return provision.Result{}, errors.New("this Terraform resource's environment has neither provisioningRepository nor codebuildRoleArn")
}

// runLocal runs terraform in run.Dir (see the package doc).
func (e *Engine) runLocal(ctx context.Context, run provision.Run, t provision.Target, log io.Writer) (provision.Result, error) {
	deleting := run.Operation == provision.OperationDelete
	bin := e.Binary
	if bin == "" {
		var err error
		if bin, err = exec.LookPath("terraform"); err != nil {
			return provision.Result{}, fmt.Errorf("the terraform binary is not on the Hadron server's PATH (install Terraform to run hcl templates with codebuildRoleArn): %w", err)
		}
	}
	if abs, err := filepath.Abs(bin); err == nil {
		bin = abs // the commands run in the working directory
	}
	rendered, err := Render(Deployment{ID: run.DeploymentID, Deleted: deleting, Target: t, Inputs: run.Plan.Inputs})
	if err != nil {
		return provision.Result{}, fmt.Errorf("render Proton's Terraform files: %w", err)
	}
	files := maps.Clone(run.Files)
	if files == nil {
		files = map[string][]byte{}
	}
	for name, data := range rendered {
		if _, ok := files[name]; ok {
			fmt.Fprintf(log, "[hadron] terraform: the bundle's own %s is replaced by the deployment's, as Proton replaced it\n", name)
		}
		files[name] = data
	}

	backend := HasBackend(run.Files)
	var statePath string
	if backend {
		fmt.Fprintf(log, "[hadron] terraform: the template declares its backend: the state is kept there\n")
	} else {
		if statePath, err = StatePath(e.StateDir, t); err != nil {
			return provision.Result{}, err
		}
		if _, ok := files[stateFile]; ok {
			fmt.Fprintf(log, "[hadron] terraform: the bundle's own %s is ignored: Hadron keeps the resource's state\n", stateFile)
			delete(files, stateFile)
		}
		state, err := readState(statePath)
		if err != nil {
			return provision.Result{}, err
		}
		switch {
		case state != nil:
			files[stateFile] = state
		case deleting:
			fmt.Fprintf(log, "[hadron] terraform: nothing to destroy: no state was kept for this resource\n")
			return provision.Result{}, nil
		}
	}

	tf := shellQuote(bin)
	commands := []string{tf + " init -input=false -no-color"}
	if deleting {
		commands = append(commands, tf+" destroy -auto-approve -input=false -no-color")
	} else {
		commands = append(commands,
			tf+" apply -auto-approve -input=false -no-color",
			tf+" output -json > "+outputsFile,
			tf+" show -json > "+showFile,
		)
	}
	env := []string{"TF_IN_AUTOMATION=1", "TF_INPUT=0", "CHECKPOINT_DISABLE=1", "RESOURCE_ARN=" + t.ARN}
	for k, v := range e.Env {
		env = append(env, k+"="+v)
	}
	var mask func() []string
	if e.Credentials != nil {
		g, err := codebuild.Grant(ctx, e.Credentials, run)
		if err != nil {
			return provision.Result{}, fmt.Errorf("credentials of the run: %w", err)
		}
		defer g.End()
		env = append(env, g.Env()...)
		mask = g.Mask
	}
	_, runErr := codebuild.Run(ctx, codebuild.Job{
		Dir:        run.Dir,
		Files:      files,
		Inputs:     run.Plan.Inputs,
		Commands:   commands,
		Env:        env,
		Mask:       mask,
		Log:        log,
		Isolation:  e.Isolation,
		Supervisor: e.Supervisor,
		Fence:      run.Fence,
		Grace:      e.Grace,
		OnStart:    e.OnStart,
	})
	if runErr != nil {
		runErr = fmt.Errorf("terraform: %w", runErr)
	}
	if !backend {
		// Whatever the outcome: a failed or cancelled apply wrote partial
		// state, which the next deployment must start from.
		saved, err := saveState(run.Dir, e.StateDir, statePath)
		if errors.Is(err, errTornState) {
			fmt.Fprintf(log, "[hadron] terraform: %v: the state from before this run is kept\n", err)
			err = nil
		}
		switch {
		case err != nil && runErr != nil:
			// Not wrapped: a lost state fails the deployment, even a cancelled one.
			return provision.Result{}, fmt.Errorf("%v; and the state terraform left could not be kept: %v", runErr, err)
		case err != nil:
			return provision.Result{}, err
		case saved:
			fmt.Fprintf(log, "[hadron] terraform: state kept for the next deployment\n")
		}
	}
	if runErr != nil {
		return provision.Result{}, runErr
	}
	if deleting {
		if !backend {
			if err := removeState(statePath); err != nil {
				return provision.Result{}, err
			}
		}
		return provision.Result{}, nil
	}
	outJSON, err := os.ReadFile(filepath.Join(run.Dir, outputsFile))
	if err != nil {
		return provision.Result{}, fmt.Errorf("terraform outputs: %w", err)
	}
	outputs, err := parseOutputs(outJSON)
	if err != nil {
		return provision.Result{}, err
	}
	showJSON, err := os.ReadFile(filepath.Join(run.Dir, showFile))
	if err != nil {
		return provision.Result{}, fmt.Errorf("terraform resources: %w", err)
	}
	resources, err := parseResources(showJSON)
	if err != nil {
		return provision.Result{}, err
	}
	return provision.Result{Outputs: outputs, Resources: resources}, nil
}

// shellQuote quotes s for the shell the commands run in.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
