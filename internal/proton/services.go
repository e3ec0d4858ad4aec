package proton

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hadronhq/hadron/internal/api"
	"github.com/hadronhq/hadron/internal/bundle"
	"github.com/hadronhq/hadron/internal/provision"
	"github.com/hadronhq/hadron/internal/store"
)

const kindSvc = store.KindServiceTemplate

// Service statuses (the model's ServiceStatus enum).
const (
	svcCreateInProgress            = api.ServiceStatusCreateInProgress
	svcCreateFailedCleanup         = api.ServiceStatusCreateFailedCleanupInProgress
	svcCreateFailedCleanupComplete = api.ServiceStatusCreateFailedCleanupComplete
	svcCreateFailedCleanupFailed   = api.ServiceStatusCreateFailedCleanupFailed
	svcCreateFailed                = api.ServiceStatusCreateFailed
	svcActive                      = api.ServiceStatusActive
	svcDeleteInProgress            = api.ServiceStatusDeleteInProgress
	svcDeleteFailed                = api.ServiceStatusDeleteFailed
	svcUpdateInProgress            = api.ServiceStatusUpdateInProgress
	svcUpdateFailedCleanup         = api.ServiceStatusUpdateFailedCleanupInProgress
	svcUpdateFailedCleanupComplete = api.ServiceStatusUpdateFailedCleanupComplete
	svcUpdateFailedCleanupFailed   = api.ServiceStatusUpdateFailedCleanupFailed
	svcUpdateFailed                = api.ServiceStatusUpdateFailed
	svcUpdateCompleteCleanupFailed = api.ServiceStatusUpdateCompleteCleanupFailed
)

// serviceAtRest lists the statuses in which a service accepts a new change.
var serviceAtRest = []string{svcActive, svcCreateFailed, svcCreateFailedCleanupComplete, svcCreateFailedCleanupFailed,
	svcUpdateFailed, svcUpdateFailedCleanupComplete, svcUpdateFailedCleanupFailed, svcUpdateCompleteCleanupFailed, svcDeleteFailed}

func serviceKey(name string) string     { return "service/" + name }
func pipelineKey(service string) string { return "service/" + service + "/pipeline" }
func instanceKey(service, name string) string {
	return "service/" + service + "/service-instance/" + name
}

// serviceOp is the change in flight on a service, kept in its Operation so
// that any process can drive it on (after a crash too).
type serviceOp struct {
	// Kind is create, update or delete.
	Kind serviceChangeKind `json:"kind"`
	// Phase is instances (instances being created or removed), pipeline (the
	// pipeline deploying after them) or cleanup (new instances being removed
	// after a failure).
	Phase   servicePhase `json:"phase"`
	Added   []string     `json:"added,omitempty"`
	Removed []string     `json:"removed,omitempty"`
	// PrevSpec is the spec an update reverts to if it fails.
	PrevSpec string `json:"prevSpec,omitempty"`
	// Message says why the change failed.
	Message      string `json:"message,omitempty"`
	DeleteFailed bool   `json:"deleteFailed,omitempty"`
	// Step counts the op's changes, so each stored Operation text is unique.
	Step int `json:"step"`
	// StartedBy is who began the change: the deployments its later steps
	// start (the pipeline after the instances, a cleanup) are theirs too.
	StartedBy *StartedBy `json:"startedBy,omitempty"`
}

func (op serviceOp) encode() *string {
	raw, _ := json.Marshal(op)
	s := string(raw)
	return &s
}

// CreateService creates a service, its instances and (unless its template's
// pipeline is customer-managed) its pipeline, which deploys once the instances have.
func (s *API) CreateService(ctx context.Context, in *api.CreateServiceInput) (*api.CreateServiceOutput, error) {
	tags, err := tagMap("tags", in.Tags)
	if err != nil {
		return nil, err
	}
	t, err := s.getTemplate(ctx, kindSvc, in.TemplateName)
	if err != nil {
		return nil, err
	}
	v, err := s.resolveVersion(ctx, t, in.TemplateMajorVersion, in.TemplateMinorVersion)
	if err != nil {
		return nil, err
	}
	tmpl, err := s.parseBundle(ctx, v)
	if err != nil {
		return nil, fmt.Errorf("service template version %s:%d.%d no longer parses: %w", v.TemplateName, v.Major, v.Minor, err)
	}
	spec, err := tmpl.Schema.ServiceSpec(in.Spec)
	if err != nil {
		return nil, validationf("%s", err.Error())
	}
	// A service may start with no instance (instances: []). The user
	// guide's "you must create at least one service instance when you
	// create your service" predates 2023, when Proton added
	// CreateServiceInstance and service sync, which both add instances to
	// an existing service; an AWS-written sample creates its service with
	// an empty list and adds instances later. A spec without the key is
	// still refused: it is more likely a mistake than a choice.
	if !spec.InstancesListed {
		return nil, validationf("invalid spec: instances is missing: list the service's instances under instances: (instances: [] for none yet, then add them with CreateServiceInstance)")
	}
	// Proton required a source repository for a service with a pipeline;
	// Hadron runs the pipeline's commands itself, so one is kept but not needed.
	hasPipeline := tmpl.Pipeline != nil && t.Provisioning != api.ProvisioningCustomerManaged
	now := s.now()
	major, minor := strconv.Itoa(v.Major), strconv.Itoa(v.Minor)
	p := store.ServiceChangeParams{
		Name: in.Name,
		Create: &store.Service{
			Name: in.Name, Description: deref(in.Description), Spec: in.Spec, TemplateName: v.TemplateName,
			TemplateMajor: major, TemplateMinor: minor, Status: svcCreateInProgress, BranchName: in.BranchName,
			RepositoryConnectionArn: in.RepositoryConnectionArn, RepositoryID: in.RepositoryId, CreatedAt: now, LastModifiedAt: now,
			Tags: tags,
		},
		At: now,
	}
	op := serviceOp{Kind: opCreate, Phase: phaseInstances, StartedBy: ptr(starterOf(ctx))}
	for _, inst := range spec.Instances {
		start, err := s.instanceStart(ctx, p.Create, inst, in.Spec, v, tmpl, now)
		if err != nil {
			return nil, err
		}
		p.Starts = append(p.Starts, start)
		op.Added = append(op.Added, inst.Name)
	}
	if hasPipeline {
		if err := s.checkPipelineProvisioning(ctx, tmpl); err != nil {
			return nil, err
		}
		p.Resources = append(p.Resources, &store.Resource{
			Key: pipelineKey(in.Name), Type: store.ResourceServicePipeline, Name: "pipeline", ServiceName: in.Name,
			EnvironmentName: pipelineEnvironment(spec), TemplateName: v.TemplateName, TemplateMajor: major,
			TemplateMinor: minor, Spec: in.Spec, DeploymentStatus: store.StatusInProgress, CreatedAt: now, LastModifiedAt: now,
		})
	}
	p.Create.Operation = *op.encode()
	svc, err := s.cfg.Store.ServiceChange(ctx, p)
	switch {
	case errors.Is(err, store.ErrExists):
		return s.createServiceRetry(ctx, in, p.Create)
	case err != nil:
		return nil, err
	}
	s.engine.Notify()
	if len(spec.Instances) == 0 {
		// No instance deployment will finish to move the create on: the
		// pipeline starts (or, without one, the service is ACTIVE) now.
		s.advanceService(ctx, in.Name)
		if svc, err = s.cfg.Store.ServiceGet(ctx, in.Name); err != nil {
			return nil, err
		}
	}
	out, err := s.service(ctx, svc)
	if err != nil {
		return nil, err
	}
	return &api.CreateServiceOutput{Service: out}, nil
}

// createServiceRetry answers a CreateService for a name that exists: the
// same call retried gets the service, without starting anything. A service
// keeps no fingerprint of its create, so a retry is told by the create's
// parameters (want) still being the service's; the minor version only
// when the create named one, since the recommended minor may have moved.
// A service changed since its create cannot be told from a create with
// other parameters then: both answer IdempotentParameterMismatch, where
// Proton answers the first with ConflictException.
func (s *API) createServiceRetry(ctx context.Context, in *api.CreateServiceInput, want *store.Service) (*api.CreateServiceOutput, error) {
	svc, err := s.cfg.Store.ServiceGet(ctx, in.Name)
	if err != nil {
		return nil, err
	}
	if svc.TemplateName != want.TemplateName || svc.TemplateMajor != want.TemplateMajor ||
		in.TemplateMinorVersion != "" && svc.TemplateMinor != want.TemplateMinor ||
		svc.Spec != want.Spec || svc.Description != want.Description || svc.BranchName != want.BranchName ||
		svc.RepositoryConnectionArn != want.RepositoryConnectionArn || svc.RepositoryID != want.RepositoryID {
		return nil, createMismatch("service", in.Name)
	}
	out, err := s.service(ctx, svc)
	if err != nil {
		return nil, err
	}
	return &api.CreateServiceOutput{Service: out}, nil
}

// pipelineEnvironment is the environment a new service's pipeline record
// names: its first instance's, "" for a service created without one.
func pipelineEnvironment(spec *bundle.ServiceSpec) string {
	if len(spec.Instances) == 0 {
		return ""
	}
	return spec.Instances[0].Environment
}

// instanceStart validates one instance of a service spec and returns the start
// of its first deployment.
func (s *API) instanceStart(ctx context.Context, svc *store.Service, inst bundle.InstanceSpec, spec string, v *store.TemplateVersion, tmpl *bundle.Template, now time.Time) (store.DeploymentStartParams, error) {
	env, err := s.instanceEnvironment(ctx, inst.Environment, v)
	if err != nil {
		return store.DeploymentStartParams{}, fmt.Errorf("instance %s: %w", inst.Name, err)
	}
	plan, err := s.instancePlan(ctx, svc, inst.Name, inst.Inputs, env, v, tmpl, store.OperationDeploy, "")
	if err != nil {
		return store.DeploymentStartParams{}, err
	}
	service := svc.Name
	key := instanceKey(service, inst.Name)
	d := s.newDeployment(ctx, key, store.ResourceServiceInstance, store.OperationDeploy, v, spec, plan, now)
	d.EnvironmentName, d.ServiceName, d.ServiceInstance = env.Name, service, inst.Name
	d.TargetState = instanceState(v.TemplateName, d.TargetMajor, d.TargetMinor, spec, env.LastSucceededDeploymentID, "")
	return store.DeploymentStartParams{
		Deployment: d,
		Create: &store.Resource{
			Key: key, Type: store.ResourceServiceInstance, Name: inst.Name, ServiceName: service, EnvironmentName: env.Name,
			TemplateName: v.TemplateName, TemplateMajor: d.TargetMajor, TemplateMinor: d.TargetMinor, Spec: spec,
			CreatedAt: now, LastModifiedAt: now,
		},
	}, nil
}

// instanceEnvironment returns the environment an instance deploys into,
// checking that it exists, has deployed, and runs a template the service
// template version is compatible with.
func (s *API) instanceEnvironment(ctx context.Context, name string, v *store.TemplateVersion) (*store.Resource, error) {
	env, err := s.cfg.Store.ResourceGet(ctx, environmentKey(name))
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFoundf("environment %s not found", name)
	}
	if err != nil {
		return nil, err
	}
	if env.LastSucceededDeploymentID == "" {
		return nil, validationf("environment %s has not deployed successfully yet (its deployment is %s)", name, env.DeploymentStatus)
	}
	compatible, err := compatibleEnvironmentTemplates(v)
	if err != nil {
		return nil, err
	}
	for _, c := range compatible {
		if c.TemplateName == env.TemplateName && c.MajorVersion == env.TemplateMajor {
			return env, nil
		}
	}
	return nil, validationf("environment %s runs environment template %s major version %s, which service template version %s:%d.%d is not compatible with",
		name, env.TemplateName, env.TemplateMajor, v.TemplateName, v.Major, v.Minor)
}

// instancePlan builds the plan of an instance deployment (deploy or delete)
// on the engine its manifest names. prev is the instance's last successful
// deployment ("" for a create).
func (s *API) instancePlan(ctx context.Context, svc *store.Service, name string, inputs map[string]any, env *store.Resource, v *store.TemplateVersion, tmpl *bundle.Template, op, prev string, components ...*store.Resource) (provision.Plan, error) {
	if tmpl.Infrastructure == nil {
		return provision.Plan{}, validationf("service template version %s:%d.%d has no instance_infrastructure", v.TemplateName, v.Major, v.Minor)
	}
	m := tmpl.Infrastructure.Manifest
	key := instanceKey(svc.Name, name)
	return s.plan(ctx, provision.Request{
		Engine: m.Engine(), Operation: op, Target: s.target(provision.KindServiceInstance, key, name, env.Name, svc.Name, v),
		Settings: envSettingsOf(env).provisioning(), Manifest: &m, Inputs: s.instanceInputs(svc, name, inputs, env, components...),
		Bundle: bundleRef(v, "instance_infrastructure"), PreviousDeploymentID: prev,
	})
}

// GetService returns a service with its pipeline.
func (s *API) GetService(ctx context.Context, in *api.GetServiceInput) (*api.GetServiceOutput, error) {
	svc, err := s.getService(ctx, in.Name)
	if err != nil {
		return nil, err
	}
	out, err := s.service(ctx, svc)
	if err != nil {
		return nil, err
	}
	return &api.GetServiceOutput{Service: &out}, nil
}

func (s *API) getService(ctx context.Context, name string) (*store.Service, error) {
	svc, err := s.cfg.Store.ServiceGet(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFoundf("service %s not found", name)
	}
	return svc, err
}

// ListServices lists services by name.
func (s *API) ListServices(ctx context.Context, in *api.ListServicesInput) (*api.ListServicesOutput, error) {
	after, err := decodeToken("services", in.NextToken)
	if err != nil {
		return nil, err
	}
	limit := pageSize(in.MaxResults)
	list, err := s.cfg.Store.ServiceList(ctx, store.Page{After: after, Limit: limit + 1})
	if err != nil {
		return nil, err
	}
	out := &api.ListServicesOutput{Services: make([]api.ServiceSummary, 0, len(list))}
	for i, svc := range list {
		if i == limit {
			out.NextToken = encodeToken("services", list[i-1].Name)
			break
		}
		out.Services = append(out.Services, s.serviceSummary(svc))
	}
	return out, nil
}

func (s *API) serviceSummary(svc *store.Service) api.ServiceSummary {
	return api.ServiceSummary{
		Arn: s.arn(serviceKey(svc.Name)), CreatedAt: apiTime(svc.CreatedAt), Description: svc.Description,
		LastModifiedAt: apiTime(svc.LastModifiedAt), Name: svc.Name, Status: svc.Status, StatusMessage: svc.StatusMessage,
		TemplateName: svc.TemplateName,
	}
}

// UpdateService changes a service's description, or its spec: instances the
// spec adds are created, instances it drops are deleted, and then the pipeline
// deploys again. Existing instances are changed with UpdateServiceInstance.
func (s *API) UpdateService(ctx context.Context, in *api.UpdateServiceInput) (*api.UpdateServiceOutput, error) {
	svc, err := s.getService(ctx, in.Name)
	if err != nil {
		return nil, err
	}
	if in.Spec == "" {
		svc, err = s.cfg.Store.ServiceChange(ctx, store.ServiceChangeParams{Name: in.Name, Description: in.Description, At: s.now()})
		if err != nil {
			return nil, err
		}
		out, err := s.service(ctx, svc)
		if err != nil {
			return nil, err
		}
		return &api.UpdateServiceOutput{Service: out}, nil
	}
	if !slices.Contains(serviceAtRest, svc.Status) {
		return nil, conflictf("service %s is %s: wait for the change in progress to end", in.Name, svc.Status)
	}
	v, tmpl, err := s.serviceVersion(ctx, svc)
	if err != nil {
		return nil, err
	}
	spec, err := tmpl.Schema.ServiceSpec(in.Spec)
	if err != nil {
		return nil, validationf("%s", err.Error())
	}
	if len(spec.Instances) == 0 {
		return nil, validationf("invalid spec: a service keeps at least one instance")
	}
	current, err := s.cfg.Store.ResourceList(ctx, store.ResourceFilter{Type: store.ResourceServiceInstance, ServiceName: in.Name}, store.Page{Limit: 1000})
	if err != nil {
		return nil, err
	}
	if pipe, err := s.cfg.Store.ResourceGet(ctx, pipelineKey(in.Name)); err == nil && store.IsActive(pipe.DeploymentStatus) {
		return nil, conflictf("service %s: its pipeline is being deployed (%s): wait for it to end", in.Name, pipe.DeploymentStatus)
	}
	now := s.now()
	op := serviceOp{Kind: opUpdate, Phase: phaseInstances, PrevSpec: svc.Spec, StartedBy: ptr(starterOf(ctx))}
	p := store.ServiceChangeParams{Name: in.Name, From: serviceAtRest, FromOperation: &svc.Operation, Spec: &in.Spec,
		Description: in.Description, Status: ptr(svcUpdateInProgress), StatusMessage: ptr(""), At: now}
	existing := map[string]*store.Resource{}
	for _, r := range current {
		existing[r.Name] = r
	}
	wanted := map[string]bool{}
	for _, inst := range spec.Instances {
		wanted[inst.Name] = true
		if r := existing[inst.Name]; r != nil {
			if r.EnvironmentName != inst.Environment {
				return nil, validationf("invalid spec: instance '%s' is in environment %s; an instance cannot move to %s", inst.Name, r.EnvironmentName, inst.Environment)
			}
			continue
		}
		start, err := s.instanceStart(ctx, svc, inst, in.Spec, v, tmpl, now)
		if err != nil {
			return nil, err
		}
		p.Starts = append(p.Starts, start)
		op.Added = append(op.Added, inst.Name)
	}
	for _, r := range current {
		if wanted[r.Name] {
			continue
		}
		if store.IsActive(r.DeploymentStatus) {
			return nil, conflictf("service instance %s is being deployed (%s): it cannot be removed now", r.Name, r.DeploymentStatus)
		}
		if attached, err := s.attachedComponents(ctx, in.Name, r.Name); err != nil {
			return nil, err
		} else if len(attached) > 0 {
			return nil, conflictf("service instance %s has component %s attached: detach or delete it before removing the instance", r.Name, attached[0].Name)
		}
		start, err := s.resourceDeleteStart(ctx, r, now)
		if err != nil {
			return nil, err
		}
		p.Starts = append(p.Starts, start)
		op.Removed = append(op.Removed, r.Name)
	}
	p.Operation = op.encode()
	svc, err = s.cfg.Store.ServiceChange(ctx, p)
	switch {
	case errors.Is(err, store.ErrStatusChanged) || errors.Is(err, store.ErrActiveDeployment):
		return nil, conflictf("service %s changed meanwhile: %v", in.Name, err)
	case err != nil:
		return nil, err
	}
	s.engine.Notify()
	if len(op.Removed) > 0 {
		s.blockManualChange(ctx, in.Name, "", fmt.Sprintf("service instances %s were removed from the service outside of service sync (UpdateService): sync of every instance stops until this blocker is resolved", strings.Join(op.Removed, ", ")))
	}
	s.advanceService(ctx, in.Name) // nothing to wait for when the spec only changed inputs of existing instances
	out, err := s.service(ctx, svc)
	if err != nil {
		return nil, err
	}
	return &api.UpdateServiceOutput{Service: out}, nil
}

// DeleteService de-provisions every instance and the pipeline, then deletes
// the service. A retry while it runs returns the service.
func (s *API) DeleteService(ctx context.Context, in *api.DeleteServiceInput) (*api.DeleteServiceOutput, error) {
	svc, err := s.getService(ctx, in.Name)
	if alreadyGone(err) {
		return &api.DeleteServiceOutput{}, nil
	}
	if err != nil {
		return nil, err
	}
	if svc.Status == svcDeleteInProgress {
		out, err := s.service(ctx, svc)
		if err != nil {
			return nil, err
		}
		return &api.DeleteServiceOutput{Service: &out}, nil
	}
	if !slices.Contains(serviceAtRest, svc.Status) {
		return nil, conflictf("service %s is %s: wait for the change in progress to end", in.Name, svc.Status)
	}
	resources, err := s.cfg.Store.ResourceList(ctx, store.ResourceFilter{ServiceName: in.Name}, store.Page{Limit: 1000})
	if err != nil {
		return nil, err
	}
	now := s.now()
	op := serviceOp{Kind: opDelete, Phase: phaseInstances, StartedBy: ptr(starterOf(ctx))}
	p := store.ServiceChangeParams{Name: in.Name, From: serviceAtRest, FromOperation: &svc.Operation,
		Status: ptr(svcDeleteInProgress), StatusMessage: ptr(""), At: now}
	if attached, err := s.attachedComponents(ctx, in.Name, ""); err != nil {
		return nil, err
	} else if len(attached) > 0 {
		return nil, conflictf("service %s has component %s attached: detach or delete it first", in.Name, attached[0].Name)
	}
	for _, r := range resources {
		if store.IsActive(r.DeploymentStatus) {
			return nil, conflictf("%s is being deployed (%s): wait for it to end or cancel it", r.Key, r.DeploymentStatus)
		}
		start, err := s.resourceDeleteStart(ctx, r, now)
		if err != nil {
			return nil, err
		}
		p.Starts = append(p.Starts, start)
	}
	p.Operation = op.encode()
	svc, err = s.cfg.Store.ServiceChange(ctx, p)
	switch {
	case errors.Is(err, store.ErrStatusChanged) || errors.Is(err, store.ErrActiveDeployment):
		return nil, conflictf("service %s changed meanwhile: %v", in.Name, err)
	case err != nil:
		return nil, err
	}
	s.engine.Notify()
	out, err := s.service(ctx, svc)
	if err != nil {
		return nil, err
	}
	s.advanceService(ctx, in.Name) // a service with nothing to de-provision goes at once
	return &api.DeleteServiceOutput{Service: &out}, nil
}

// serviceVersion returns the template version a service was created from, parsed.
func (s *API) serviceVersion(ctx context.Context, svc *store.Service) (*store.TemplateVersion, *bundle.Template, error) {
	return s.parsedVersion(ctx, kindSvc, svc.TemplateName, svc.TemplateMajor, svc.TemplateMinor)
}

// parsedVersion reads and parses a template version.
func (s *API) parsedVersion(ctx context.Context, kind, template, majorS, minorS string) (*store.TemplateVersion, *bundle.Template, error) {
	v, err := s.getVersion(ctx, kind, template, majorS, minorS)
	if err != nil {
		return nil, nil, err
	}
	tmpl, err := s.parseBundle(ctx, v)
	if err != nil {
		return nil, nil, fmt.Errorf("%s template version %s:%d.%d no longer parses: %w", kind, template, v.Major, v.Minor, err)
	}
	return v, tmpl, nil
}

func (s *API) service(ctx context.Context, svc *store.Service) (api.Service, error) {
	out := api.Service{
		Arn: s.arn(serviceKey(svc.Name)), BranchName: svc.BranchName, CreatedAt: apiTime(svc.CreatedAt),
		Description: svc.Description, LastModifiedAt: apiTime(svc.LastModifiedAt), Name: svc.Name,
		RepositoryConnectionArn: svc.RepositoryConnectionArn, RepositoryId: svc.RepositoryID, Spec: svc.Spec,
		Status: svc.Status, StatusMessage: svc.StatusMessage, TemplateName: svc.TemplateName,
	}
	pipe, err := s.cfg.Store.ResourceGet(ctx, pipelineKey(svc.Name))
	switch {
	case err == nil:
		p := s.pipeline(pipe)
		out.Pipeline = &p
	case !errors.Is(err, store.ErrNotFound):
		return api.Service{}, err
	}
	return out, nil
}
