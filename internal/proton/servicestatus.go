package proton

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

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
	change := store.ServiceChangeParams{Name: name, FromOperation: &svc.Operation, At: now}
	op.Step++
	done := func(status, message string) {
		change.Status, change.StatusMessage, change.Operation = &status, &message, ptr("")
	}

	switch op.Phase {
	case "instances":
		if op.Kind == "delete" {
			for _, r := range resources {
				if store.IsActive(r.DeploymentStatus) {
					return false, nil
				}
			}
			if len(resources) == 0 {
				change.Delete = true
				break
			}
			done(svcDeleteFailed, firstMessage(resources, "de-provisioning failed"))
			break
		}
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
			op.Phase, op.Message = "cleanup", failed
			status := svcCreateFailedCleanup
			if op.Kind == "update" {
				status = svcUpdateFailedCleanup
				change.Spec = &op.PrevSpec
			} else if pipe != nil && pipe.LastAttemptedDeploymentID == "" {
				change.DeleteResources = append(change.DeleteResources, pipe.Key)
			}
			change.Status, change.StatusMessage, change.Operation = &status, &failed, op.encode()
			for _, n := range op.Added {
				if r := instances[n]; r != nil {
					start, err := s.resourceDeleteStart(ctx, r, now)
					if err != nil {
						return false, err
					}
					change.Starts = append(change.Starts, start)
				}
			}
			break
		}
		if pipe == nil {
			done(s.completedStatus(op), "")
			break
		}
		v, err := s.getVersion(ctx, kindSvc, pipe.TemplateName, pipe.TemplateMajor, pipe.TemplateMinor)
		var start store.DeploymentStartParams
		if err == nil {
			start, err = s.pipelineStart(ctx, pipe, v, svc.Spec)
		}
		if err != nil {
			// The pipeline cannot even start (its spec no longer fits, say). A
			// pipeline that never deployed goes with the failed create.
			done(s.failedStatus(op), fmt.Sprintf("the pipeline could not be deployed: %v", err))
			if pipe.LastAttemptedDeploymentID == "" {
				change.DeleteResources = append(change.DeleteResources, pipe.Key)
			}
			break
		}
		op.Phase = "pipeline"
		change.Operation, change.Starts = op.encode(), []store.DeploymentStartParams{start}
	case "pipeline":
		if pipe != nil && store.IsActive(pipe.DeploymentStatus) {
			return false, nil
		}
		if pipe == nil || pipe.DeploymentStatus != store.StatusSucceeded {
			msg := "the pipeline is gone"
			if pipe != nil {
				msg = fmt.Sprintf("the pipeline deployment %s is %s: %s", pipe.LastAttemptedDeploymentID, pipe.DeploymentStatus, pipe.DeploymentStatusMessage)
			}
			done(s.failedStatus(op), msg)
			break
		}
		done(s.completedStatus(op), "")
	case "cleanup":
		cleanupFailed := false
		for _, n := range op.Added {
			if r := instances[n]; r != nil {
				if store.IsActive(r.DeploymentStatus) {
					return false, nil
				}
				cleanupFailed = true
			}
		}
		status := map[[2]bool]string{
			{false, false}: svcCreateFailedCleanupComplete, {false, true}: svcCreateFailedCleanupFailed,
			{true, false}: svcUpdateFailedCleanupComplete, {true, true}: svcUpdateFailedCleanupFailed,
		}[[2]bool{op.Kind == "update", cleanupFailed}]
		done(status, op.Message)
	default:
		return false, fmt.Errorf("service %s: unknown phase %q", name, op.Phase)
	}
	if _, err := s.cfg.Store.ServiceChange(ctx, change); err != nil {
		return false, err
	}
	if len(change.Starts) > 0 {
		s.engine.Notify()
	}
	return true, nil
}

// completedStatus is the status of a change that went through.
func (s *API) completedStatus(op serviceOp) string {
	if op.Kind == "update" && op.DeleteFailed {
		return svcUpdateCompleteCleanupFailed
	}
	return svcActive
}

// failedStatus is the status of a change whose pipeline failed: as in
// Proton, nothing is rolled back.
func (s *API) failedStatus(op serviceOp) string {
	if op.Kind == "update" {
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
