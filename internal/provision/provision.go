// Package provision is the contract between Hadron and its provisioning
// engines, and the registry that finds an engine by the name a manifest
// gives it ("codebuild", "customer_managed", "terraform", later
// "cloudformation"). Package proton asks the registry to check a resource's
// settings and to turn a deployment request into a stored Plan; package
// engine asks it for the Engine that runs a claimed deployment's plan.
// Neither imports a concrete engine: cmd/hadron registers them.
//
// # How to add an engine
//
//  1. Write one package under internal/provision/<name> with a type that
//     implements Engine, and assert it at compile time:
//
//     var _ provision.Engine = (*Engine)(nil)
//
//     Plan turns a Request into the engine's own JSON, kept inside the
//     stored Plan (Plan.Spec); Run deploys or deletes (Run.Operation) from
//     that Plan in Run.Dir, stops when ctx is cancelled (its cause is
//     ErrUserCancelled, ErrShutdown or ErrLeaseLost, to be wrapped in the
//     error returned for a stopped run), and returns the outputs and the
//     resources it provisioned. A Run may be retried by a new deployment,
//     never resumed: keep nothing between runs but what the Plan says
//     (Plan.PreviousDeploymentID tells whether an earlier deployment of the
//     resource succeeded).
//     Result.Resources of a successful deployment are kept with it and
//     answer List*ProvisionedResources.
//
//  2. Implement the optional interfaces the engine needs: ParamsChecker
//     (which roles or repository a resource needs to use it; the errors are
//     answered as ValidationException), ManifestChecker (the manifest part
//     of a template version, checked when the version is registered) and
//     Deprovisioner (a failed deploy may have left something to delete).
//     Every engine Proton defines has its settings rules in its own
//     CheckParams (protonRules, which held them until then, is empty).
//
//  3. Add one line to engines() in cmd/hadron/engines.go:
//
//     r.Register(yourengine.Name, yourengine.New(...))
//
//     A name registered twice panics at start-up. Tests that start a server
//     register the engines they use the same way.
//
// A manifest naming an engine that is not registered is still accepted:
// its deployments fail with a message naming the engine.
package provision

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hadronhq/hadron/internal/bundle"
)

// CustomerManaged is the engine of resources whose infrastructure Hadron
// does not provision (Proton's customer-managed environments), and of the
// deletes that have nothing to undo.
const CustomerManaged = "customer_managed"

// Operations of a deployment (the store's values).
const (
	OperationDeploy = "DEPLOY"
	OperationDelete = "DELETE"
)

// Kinds of deployable resources (the store's resource types).
const (
	KindEnvironment     = "ENVIRONMENT"
	KindServiceInstance = "SERVICE_INSTANCE"
	KindServicePipeline = "SERVICE_PIPELINE"
	KindComponent       = "COMPONENT"
)

// Causes a run's context is cancelled with; an engine wraps the cause in
// the error it returns for a run it stopped, so the deployment ends
// CANCELLED (user) or FAILED (shutdown, lease lost).
var (
	ErrUserCancelled = errors.New("deployment cancelled by user")
	ErrShutdown      = errors.New("server shutting down")
	ErrLeaseLost     = errors.New("lease on the deployment lost")
)

// Engine provisions and de-provisions resources of one kind of template.
type Engine interface {
	// Plan returns the engine's part of a deployment's stored plan (any
	// JSON, given back in Run.Plan.Spec), decided when the deployment is
	// accepted. An error refuses the request (ValidationException).
	Plan(req Request) (json.RawMessage, error)
	// Run deploys (Run.Operation OperationDeploy) or deletes
	// (OperationDelete) the plan's resource. Cancellation arrives only
	// through ctx; see the package doc.
	Run(ctx context.Context, run Run) (Result, error)
}

// HostCommandRunner is implemented by engines that may run a deployment's
// commands on the server's host: CodeBuild provisioning, Terraform run by
// Hadron (whose provisioners run commands). When a component's manifest
// names such an engine, its commands come through the API rather than from
// a registered template, and the server runs them only if it allows it and
// the caller holds the permission (see proton's components).
// RunsHostCommands says whether a resource of kind with settings st would
// have them run here.
type HostCommandRunner interface {
	RunsHostCommands(kind string, st Settings) bool
}

// ParamsChecker is implemented by engines that need settings of the
// resource (a role, a repository) to deploy it.
type ParamsChecker interface {
	// CheckParams returns why req's settings cannot deploy req.Target, or nil.
	CheckParams(req Request) error
}

// ManifestChecker is implemented by engines that check the manifest part
// of a template version when it is registered.
type ManifestChecker interface {
	CheckManifest(m bundle.Manifest, files map[string][]byte) error
}

// Deprovisioner is implemented by engines whose failed deploys may leave
// something behind, so that deleting a resource that never deployed
// successfully still runs them (CodeBuild commands may have half-built
// something). Other engines are not run for such a delete.
type Deprovisioner interface {
	DeprovisionUnfinished() bool
}

// NotifyFinisher is implemented by engines some of whose deployments wait
// on an outside party that reports the end with
// NotifyResourceDeploymentStatusChange (self-managed provisioning): a
// report of SUCCEEDED or FAILED then ends the deployment. The engine says
// which from the deployment's plan (the Terraform engine: a hand-off does,
// a local run does not). For other deployments the run's own end decides,
// and a reported status is only recorded.
type NotifyFinisher interface {
	FinalStatusFromNotify(p Plan) bool
}

// Waiting on an outside party.
//
// A run that hands the work to an outside party (the Terraform hand-off:
// a pull request the user's automation applies, hours or days later)
// returns a Result with Wait set instead of waiting itself. The
// deployment then stays active (IN_PROGRESS, or DELETE_IN_PROGRESS) but
// holds no worker and no lease: the store keeps Wait.State, and nothing
// runs until one of three things happens:
//
//   - a report (NotifyResourceDeploymentStatusChange, see NotifyFinisher)
//     ends it;
//   - Wait.CheckAfter passes: a worker claims it and runs the engine
//     again with Run.Waiting set to the state, to check on the outside
//     party (a pull request closed unmerged). That run returns a new Wait
//     to go on waiting, or ends the deployment (an error wrapping
//     ErrCancelledOutside ends it CANCELLED);
//   - a cancel: a worker claims it at once and runs the engine with
//     Run.Waiting set and ctx already cancelled with ErrUserCancelled; the
//     engine takes the hand-off back (closes the pull request) with a
//     context of its own and returns an error wrapping ErrUserCancelled
//     (CANCELLED), or another error when it could not (FAILED).
//
// A restart loses nothing: the state is in the store, and a check cut
// short by a shutdown or a lost lease puts the deployment back to wait.

// Wait is a run's answer that the deployment waits on an outside party.
type Wait struct {
	// State is the engine's record of the hand-off (JSON), given back in
	// Run.Waiting.
	State json.RawMessage
	// CheckAfter is how long until a worker checks on the outside party;
	// zero: no check, only a report or a cancel.
	CheckAfter time.Duration
}

// ErrCancelledOutside is wrapped by the error of a waiting deployment the
// outside party cancelled (a person closed the pull request unmerged):
// it ends CANCELLED with the error's message.
var ErrCancelledOutside = errors.New("cancelled outside Hadron")

// OutputsMasker is implemented by engines whose runs hold secret values
// (the CodeBuild engine's env secrets): outputs a run in progress reports
// through NotifyResourceDeploymentStatusChange have those values replaced
// by "***", as the engine does with the outputs the run ends with, since
// the API shows outputs. MaskOutputs changes outputs in place and returns
// the keys it changed.
type OutputsMasker interface {
	MaskOutputs(deploymentID string, outputs map[string]string) []string
}

// Target is the resource a deployment changes.
type Target struct {
	Kind string `json:"kind"`
	Name string `json:"name"`
	ARN  string `json:"arn"`
	// EnvironmentName and ServiceName place the resource (empty when they do not apply).
	EnvironmentName string `json:"environmentName,omitempty"`
	ServiceName     string `json:"serviceName,omitempty"`
	// The template version deployed; empty for a component.
	TemplateName  string `json:"templateName,omitempty"`
	TemplateMajor int    `json:"templateMajor,omitempty"`
	TemplateMinor int    `json:"templateMinor,omitempty"`
	// Tags are the resource's customer tags, as they are when its
	// deployment runs (the engine fills them in at run time, so a plan
	// made before the resource existed still carries them). Engines give
	// them to what they provision, beside Proton's own proton:* tags,
	// which win on a key both name.
	Tags map[string]string `json:"tags,omitempty"`
}

// Settings are the provisioning settings of a resource that engines may
// need: its environment's roles and repository, the account's pipeline roles.
type Settings struct {
	ProtonServiceRoleArn           string      `json:"protonServiceRoleArn,omitempty"`
	CodebuildRoleArn               string      `json:"codebuildRoleArn,omitempty"`
	ComponentRoleArn               string      `json:"componentRoleArn,omitempty"`
	EnvironmentAccountConnectionID string      `json:"environmentAccountConnectionId,omitempty"`
	PipelineServiceRoleArn         string      `json:"pipelineServiceRoleArn,omitempty"`
	PipelineCodebuildRoleArn       string      `json:"pipelineCodebuildRoleArn,omitempty"`
	ProvisioningRepository         *Repository `json:"provisioningRepository,omitempty"`
}

// Repository is a provisioning repository (self-managed provisioning).
type Repository struct {
	Provider string `json:"provider"`
	Name     string `json:"name"`
	Branch   string `json:"branch"`
}

// BundleRef points at a directory of a template version's bundle.
type BundleRef struct {
	Kind     string `json:"kind"`
	Template string `json:"template"`
	Major    int    `json:"major"`
	Minor    int    `json:"minor"`
	Dir      string `json:"dir"`
}

// Request is what package proton knows of a deployment when it accepts it.
type Request struct {
	// Engine names the engine that runs it.
	Engine    string
	Operation string
	Target    Target
	Settings  Settings
	// Manifest is the manifest of the bundle directory (or component) the
	// deployment runs; nil for a customer-managed resource.
	Manifest *bundle.Manifest
	// Inputs is Proton's inputs document of the resource.
	Inputs *Inputs
	// Bundle names the bundle directory whose files the run needs, if any.
	Bundle *BundleRef
	// Files are more files for the working directory (a component's template file).
	Files map[string]string
	// PreviousDeploymentID is the resource's last successful deployment, "" if none.
	PreviousDeploymentID string
}

// Plan is what a deployment runs, stored with it as JSON.
type Plan struct {
	Engine               string            `json:"engine"`
	Target               *Target           `json:"target,omitempty"`
	Settings             *Settings         `json:"settings,omitempty"`
	PreviousDeploymentID string            `json:"previousDeploymentId,omitempty"`
	Inputs               json.RawMessage   `json:"inputs,omitempty"`
	Bundle               *BundleRef        `json:"bundle,omitempty"`
	Files                map[string]string `json:"files,omitempty"`
	// Spec is the engine's own part, from Engine.Plan.
	Spec json.RawMessage `json:"spec,omitempty"`
}

// Run is one run of a deployment handed to an engine.
type Run struct {
	DeploymentID string
	Operation    string
	Plan         Plan
	// Dir is a fresh, empty working directory the run may use.
	Dir string
	// Files are the bundle directory's files and the plan's extra files.
	Files map[string][]byte
	// Log receives the run's output; it is kept as the deployment's log.
	Log io.Writer
	// Fence, when set, is when every process of the run must be gone unless
	// the engine extends it (see Fence); nil when no other node can take the
	// deployment over (a store of one process).
	Fence *Fence
	// Waiting, when set, is the State of the Wait an earlier run of this
	// deployment returned: this run checks on the outside party, or takes
	// the hand-off back when ctx is cancelled with ErrUserCancelled.
	Waiting json.RawMessage
}

// Result is what a run provisioned.
type Result struct {
	Outputs   map[string]string
	Resources []Resource
	// Wait, when set, says the work was handed to an outside party and the
	// deployment waits for it (see Waiting on an outside party).
	Wait *Wait
}

// Resource is one provisioned resource, as ListProvisionedResources shows it.
type Resource struct {
	Name       string `json:"name"`
	Identifier string `json:"identifier"`
	Engine     string `json:"provisioningEngine"`
}

// Registry holds the engines by name. The zero value is not usable: call NewRegistry.
type Registry struct {
	mu      sync.RWMutex
	engines map[string]Engine
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{engines: map[string]Engine{}} }

// Register adds an engine under name. It panics when name is empty, e is
// nil or name is taken: these are wiring mistakes, found at start-up.
func (r *Registry) Register(name string, e Engine) {
	if name == "" || e == nil {
		panic("provision: Register needs a name and an engine")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, dup := r.engines[name]; dup {
		panic(fmt.Sprintf("provision: engine %q registered twice", name))
	}
	r.engines[name] = e
}

// Lookup returns the engine registered under name. A nil registry has none.
func (r *Registry) Lookup(name string) (Engine, bool) {
	if r == nil {
		return nil, false
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	e, ok := r.engines[name]
	return e, ok
}

// Names lists the registered engines, sorted.
func (r *Registry) Names() []string {
	if r == nil {
		return nil
	}
	r.mu.RLock()
	defer r.mu.RUnlock()
	names := make([]string, 0, len(r.engines))
	for name := range r.engines {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// RunsHostCommands reports whether the engine registered as name runs
// commands on the server's host (HostCommandRunner).
func (r *Registry) RunsHostCommands(name, kind string, st Settings) bool {
	e, ok := r.Lookup(name)
	if !ok {
		return false
	}
	h, ok := e.(HostCommandRunner)
	return ok && h.RunsHostCommands(kind, st)
}

// NotRunning is the error of a deployment whose engine is not registered.
func (r *Registry) NotRunning(name string) error {
	return fmt.Errorf("this deployment needs the %s provisioning engine, which this Hadron server does not run; "+
		"only %s can be deployed here for now", name, strings.Join(r.Names(), ", "))
}

// CheckParams checks req's settings against what its engine needs. For an
// engine that is not registered, Proton's documented rule for it applies
// (see protonRules), so a request is refused as Proton would refuse it.
func (r *Registry) CheckParams(req Request) error {
	if e, ok := r.Lookup(req.Engine); ok {
		if c, ok := e.(ParamsChecker); ok {
			return c.CheckParams(req)
		}
		return nil
	}
	return protonRules(req)
}

// CheckManifest checks a manifest with its engine, if the engine checks manifests.
func (r *Registry) CheckManifest(m bundle.Manifest, files map[string][]byte) error {
	if e, ok := r.Lookup(m.Engine()); ok {
		if c, ok := e.(ManifestChecker); ok {
			return c.CheckManifest(m, files)
		}
	}
	return nil
}

// Deprovision says whether deleting a resource must run its engine: not
// when it never had a deployment, nor when none succeeded unless the
// engine is a Deprovisioner that asks for it. Every delete decides here.
func (r *Registry) Deprovision(engine, lastAttemptedID, lastSucceededID string) bool {
	switch {
	case lastAttemptedID == "":
		return false
	case lastSucceededID != "":
		return true
	}
	e, ok := r.Lookup(engine)
	if !ok {
		return false
	}
	d, ok := e.(Deprovisioner)
	return ok && d.DeprovisionUnfinished()
}

// FinalStatusFromNotify says whether a report's SUCCEEDED or FAILED ends
// the deployment of plan p (see NotifyFinisher).
func (r *Registry) FinalStatusFromNotify(p Plan) bool {
	e, ok := r.Lookup(p.Engine)
	if !ok {
		return false
	}
	f, ok := e.(NotifyFinisher)
	return ok && f.FinalStatusFromNotify(p)
}

// MaskOutputs masks, in outputs reported for deployment id of engine, the
// values of its run's secrets (see OutputsMasker), and returns the keys it
// changed.
func (r *Registry) MaskOutputs(engine, id string, outputs map[string]string) []string {
	e, ok := r.Lookup(engine)
	if !ok {
		return nil
	}
	m, ok := e.(OutputsMasker)
	if !ok {
		return nil
	}
	return m.MaskOutputs(id, outputs)
}

// Nothing is the plan of a delete with nothing to undo: it runs no engine
// work and succeeds.
func Nothing() Plan { return Plan{Engine: CustomerManaged} }

// Plan turns req into the plan stored with the deployment. An engine that
// is not registered gets a plan all the same: its deployment fails, naming it.
func (r *Registry) Plan(req Request) (Plan, error) {
	p := Plan{Engine: req.Engine, PreviousDeploymentID: req.PreviousDeploymentID, Bundle: req.Bundle, Files: req.Files}
	target, settings := req.Target, req.Settings
	p.Target, p.Settings = &target, &settings
	if req.Settings == (Settings{}) {
		p.Settings = nil
	}
	if req.Inputs != nil {
		raw, err := json.Marshal(req.Inputs)
		if err != nil {
			return Plan{}, fmt.Errorf("encode proton-inputs.json: %w", err)
		}
		p.Inputs = raw
	}
	if e, ok := r.Lookup(req.Engine); ok {
		spec, err := e.Plan(req)
		if err != nil {
			return Plan{}, err
		}
		p.Spec = spec
	}
	return p, nil
}

// protonRules are Proton's rules of which setting each provisioning method
// needs, for the methods Hadron has no engine registered for. The
// CloudFormation and Terraform engines have taken theirs over as their
// CheckParams, so none is left: a request naming an engine that is not
// registered is accepted, and its deployment fails naming the engine.
func protonRules(Request) error {
	return nil
}

// UnmarshalJSON reads a plan, also one stored before engines had their own
// part (a deployment queued by an older Hadron): its top-level commands
// and outputs become the engine's part, which both engines of that time
// read under those names, and env's RESOURCE_ARN the target's ARN.
func (p *Plan) UnmarshalJSON(b []byte) error {
	type plain Plan
	var v struct {
		plain
		Commands json.RawMessage   `json:"commands"`
		Outputs  json.RawMessage   `json:"outputs"`
		Env      map[string]string `json:"env"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*p = Plan(v.plain)
	if p.Spec == nil && (v.Commands != nil || v.Outputs != nil) {
		legacy := map[string]json.RawMessage{}
		if v.Commands != nil {
			legacy["commands"] = v.Commands
		}
		if v.Outputs != nil {
			legacy["outputs"] = v.Outputs
		}
		p.Spec, _ = json.Marshal(legacy)
	}
	if arn := v.Env["RESOURCE_ARN"]; arn != "" && p.Target == nil {
		p.Target = &Target{ARN: arn}
	}
	return nil
}
