package proton

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/hadronhq/hadron/internal/store"
)

// A service's status follows its instances' and pipeline's deployments, the
// way Proton documents it:
//
//	CreateService: CREATE_IN_PROGRESS -- instances deployed --> pipeline deploys --> ACTIVE
//	                                                                       `--> CREATE_FAILED
//	               an instance failed --> CREATE_FAILED_CLEANUP_IN_PROGRESS (new instances
//	               de-provisioned) --> CREATE_FAILED_CLEANUP_COMPLETE / _CLEANUP_FAILED
//	UpdateService: UPDATE_IN_PROGRESS -- added created, removed deleted --> pipeline --> ACTIVE
//	               (UPDATE_COMPLETE_CLEANUP_FAILED if a removal failed; UPDATE_FAILED if the pipeline did)
//	               an added instance failed --> UPDATE_FAILED_CLEANUP_IN_PROGRESS (added ones
//	               removed, spec reverted) --> UPDATE_FAILED_CLEANUP_COMPLETE / _CLEANUP_FAILED
//	DeleteService: DELETE_IN_PROGRESS -- everything de-provisioned --> gone, or DELETE_FAILED
//
// The change in flight is kept in the service's Operation; advanceService moves
// it on whenever one of the service's deployments ends, and at start-up. Each
// step is one ServiceChange conditional on the Operation it read, so two
// drivers of one service (two workers ending two instances at once) have one winner.

// DeploymentEnded is told of every deployment the engine ends, and moves the
// deployment's service on.
func (s *API) DeploymentEnded(d *store.Deployment) {
	if d.ServiceName != "" {
		s.advanceService(context.Background(), d.ServiceName)
	}
	if d.ServiceInstance != "" {
		s.settleSync(context.Background(), d.ServiceName)
	}
}

// advanceService drives a service's change on as far as its deployments allow.
func (s *API) advanceService(ctx context.Context, name string) {
	for range 10 {
		progressed, err := s.advanceServiceOnce(ctx, name)
		switch {
		case errors.Is(err, store.ErrStatusChanged):
			continue // another driver moved it: look again
		case err != nil:
			s.cfg.Logger.Error("advance service", "service", name, "err", err)
			return
		case !progressed:
			return
		}
	}
}

// resumeServices drives on the changes a previous process left in flight.
func (s *API) resumeServices(ctx context.Context) error {
	after := ""
	for {
		list, err := s.cfg.Store.ServiceList(ctx, store.Page{After: after, Limit: 500})
		if err != nil {
			return fmt.Errorf("resume services: %w", err)
		}
		for _, svc := range list {
			if svc.Operation != "" {
				s.advanceService(ctx, svc.Name)
			}
		}
		if len(list) < 500 {
			return nil
		}
		after = list[len(list)-1].Name
	}
}

// advanceServiceOnce takes one step, if the service's deployments allow one,
// and reports whether it did.
func (s *API) advanceServiceOnce(ctx context.Context, name string) (bool, error) {
	svc, err := s.cfg.Store.ServiceGet(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil || svc.Operation == "" {
		return false, err
	}
	var op serviceOp
	if err := json.Unmarshal([]byte(svc.Operation), &op); err != nil {
		return false, fmt.Errorf("service %s: unreadable operation: %w", name, err)
	}
	if op.StartedBy != nil {
		ctx = WithStartedBy(ctx, *op.StartedBy)
	} else if _, ok := StartedByFrom(ctx); !ok {
		ctx = WithStartedBy(ctx, HadronServiceChange)
	}
	resources, err := s.allResources(ctx, store.ResourceFilter{ServiceName: name})
	if err != nil {
		return false, err
	}
	instances := map[string]*store.Resource{}
	var pipe *store.Resource
	for _, r := range resources {
		switch r.Type {
		case store.ResourceServiceInstance:
			instances[r.Name] = r
		case store.ResourceServicePipeline:
			pipe = r
		}
	}
	now := s.now()
	st := &serviceStep{op: op, resources: resources, instances: instances, pipe: pipe, now: now,
		change: store.ServiceChangeParams{Name: name, FromOperation: &svc.Operation, At: now}}
	st.op.Step++
	phase := servicePhases[op.Phase]
	if op.Kind == opDelete {
		phase = servicePhases[phaseDeleting]
	}
	if phase == nil {
		return false, fmt.Errorf("service %s: unknown phase %q", name, op.Phase)
	}
	ready, err := phase(s, ctx, svc, st)
	if err != nil || !ready {
		return false, err
	}
	if _, err := s.cfg.Store.ServiceChange(ctx, st.change); err != nil {
		return false, err
	}
	if len(st.change.Starts) > 0 {
		s.engine.Notify()
	}
	return true, nil
}

// serviceChangeKind is the kind of a service change (serviceOp.Kind).
type serviceChangeKind string

// Kinds of service change.
const (
	opCreate serviceChangeKind = "create"
	opUpdate serviceChangeKind = "update"
	opDelete serviceChangeKind = "delete"
)

// servicePhase is the phase of a service change (serviceOp.Phase).
type servicePhase string

// Phases of a service change. A delete has one phase, stored as
// "instances"; phaseDeleting names its step in servicePhases.
const (
	phaseInstances servicePhase = "instances"
	phasePipeline               = "pipeline"
	phaseCleanup                = "cleanup"
	phaseDeleting               = "deleting"
)

// serviceStep is what one step of a service change reads, and the change it
// writes (when its phase says it is ready).
type serviceStep struct {
	op        serviceOp
	resources []*store.Resource
	instances map[string]*store.Resource
	pipe      *store.Resource
	now       time.Time
	change    store.ServiceChangeParams
}

// done ends the change with status and message.
func (st *serviceStep) done(status, message string) {
	st.change.Status, st.change.StatusMessage, st.change.Operation = &status, &message, ptr("")
}

// servicePhases are the steps of a service change, by phase: each fills
// the step's change and reports whether the service's deployments allow
// the step yet.
var servicePhases = map[servicePhase]func(s *API, ctx context.Context, svc *store.Service, st *serviceStep) (bool, error){
	phaseInstances: (*API).stepInstances,
	phasePipeline:  (*API).stepPipeline,
	phaseCleanup:   (*API).stepCleanup,
	phaseDeleting:  (*API).stepDeleting,
}

// stepDeleting ends a delete once every resource is de-provisioned: the
// service goes, or is DELETE_FAILED naming the first failure.
func (s *API) stepDeleting(_ context.Context, _ *store.Service, st *serviceStep) (bool, error) {
	for _, r := range st.resources {
		if store.IsActive(r.DeploymentStatus) {
			return false, nil
		}
	}
	if len(st.resources) == 0 {
		st.change.Delete = true
		return true, nil
	}
	st.done(svcDeleteFailed, firstMessage(st.resources, "de-provisioning failed"))
	return true, nil
}

// stepInstances follows a create's or update's instances: when one it
// added failed, the added ones are removed (cleanup); when all are done,
// the pipeline deploys (or, without one, the change ends).
func (s *API) stepInstances(ctx context.Context, svc *store.Service, st *serviceStep) (bool, error) {
	op, instances, pipe := &st.op, st.instances, st.pipe
	failed := ""
	for _, n := range op.Added {
		r := instances[n]
		switch {
		case r == nil:
			failed = fmt.Sprintf("service instance %s is gone", n)
		case store.IsActive(r.DeploymentStatus):
			return false, nil
		case r.DeploymentStatus != store.StatusSucceeded && failed == "":
			failed = fmt.Sprintf("service instance %s: %s %s", n, r.DeploymentStatus, r.DeploymentStatusMessage)
		}
	}
	for _, n := range op.Removed {
		if r := instances[n]; r != nil {
			if store.IsActive(r.DeploymentStatus) {
				return false, nil
			}
			op.DeleteFailed = true
		}
	}
	if failed != "" {
		op.Phase, op.Message = phaseCleanup, failed
		status := svcCreateFailedCleanup
		if op.Kind == opUpdate {
			status = svcUpdateFailedCleanup
			st.change.Spec = &op.PrevSpec
		} else if pipe != nil && pipe.LastAttemptedDeploymentID == "" {
			st.change.DeleteResources = append(st.change.DeleteResources, pipe.Key)
		}
		st.change.Status, st.change.StatusMessage, st.change.Operation = &status, &failed, op.encode()
		for _, n := range op.Added {
			if r := instances[n]; r != nil {
				start, err := s.resourceDeleteStart(ctx, r, st.now)
				if err != nil {
					return false, err
				}
				st.change.Starts = append(st.change.Starts, start)
			}
		}
		return true, nil
	}
	if pipe == nil {
		st.done(s.completedStatus(*op), "")
		return true, nil
	}
	v, err := s.getVersion(ctx, kindSvc, pipe.TemplateName, pipe.TemplateMajor, pipe.TemplateMinor)
	var start store.DeploymentStartParams
	if err == nil {
		start, err = s.pipelineStart(ctx, pipe, v, svc.Spec)
	}
	if err != nil {
		// The pipeline cannot even start (its spec no longer fits, say). A
		// pipeline that never deployed goes with the failed create.
		st.done(s.failedStatus(*op), fmt.Sprintf("the pipeline could not be deployed: %v", err))
		if pipe.LastAttemptedDeploymentID == "" {
			st.change.DeleteResources = append(st.change.DeleteResources, pipe.Key)
		}
		return true, nil
	}
	op.Phase = phasePipeline
	st.change.Operation, st.change.Starts = op.encode(), []store.DeploymentStartParams{start}
	return true, nil
}

// stepPipeline ends a create or update with its pipeline's deployment.
func (s *API) stepPipeline(_ context.Context, _ *store.Service, st *serviceStep) (bool, error) {
	pipe := st.pipe
	if pipe != nil && store.IsActive(pipe.DeploymentStatus) {
		return false, nil
	}
	if pipe == nil || pipe.DeploymentStatus != store.StatusSucceeded {
		msg := "the pipeline is gone"
		if pipe != nil {
			msg = fmt.Sprintf("the pipeline deployment %s is %s: %s", pipe.LastAttemptedDeploymentID, pipe.DeploymentStatus, pipe.DeploymentStatusMessage)
		}
		st.done(s.failedStatus(st.op), msg)
		return true, nil
	}
	st.done(s.completedStatus(st.op), "")
	return true, nil
}

// stepCleanup ends a failed create or update once its added instances are
// removed, or could not be.
func (s *API) stepCleanup(_ context.Context, _ *store.Service, st *serviceStep) (bool, error) {
	cleanupFailed := false
	for _, n := range st.op.Added {
		if r := st.instances[n]; r != nil {
			if store.IsActive(r.DeploymentStatus) {
				return false, nil
			}
			cleanupFailed = true
		}
	}
	status := map[[2]bool]string{
		{false, false}: svcCreateFailedCleanupComplete, {false, true}: svcCreateFailedCleanupFailed,
		{true, false}: svcUpdateFailedCleanupComplete, {true, true}: svcUpdateFailedCleanupFailed,
	}[[2]bool{st.op.Kind == opUpdate, cleanupFailed}]
	st.done(status, st.op.Message)
	return true, nil
}

// completedStatus is the status of a change that went through.
func (s *API) completedStatus(op serviceOp) string {
	if op.Kind == opUpdate && op.DeleteFailed {
		return svcUpdateCompleteCleanupFailed
	}
	return svcActive
}

// failedStatus is the status of a change whose pipeline failed: as in
// Proton, nothing is rolled back.
func (s *API) failedStatus(op serviceOp) string {
	if op.Kind == opUpdate {
		return svcUpdateFailed
	}
	return svcCreateFailed
}

func firstMessage(resources []*store.Resource, fallback string) string {
	for _, r := range resources {
		if r.DeploymentStatusMessage != "" {
			return fmt.Sprintf("%s: %s", r.Key, r.DeploymentStatusMessage)
		}
	}
	return fallback
}
