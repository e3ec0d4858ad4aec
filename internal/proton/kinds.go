package proton

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"github.com/hadronhq/hadron/internal/api"
	"github.com/hadronhq/hadron/internal/provision"
	"github.com/hadronhq/hadron/internal/store"
)

// The four kinds of resources Proton deploys share their deployments'
// cancel, outputs and provisioned resources; each kind differs only in how
// a request names one and how messages call it, which this table says.

// ref names a deployable resource as a request does: an environment or a
// component by Name, an instance by Service and Name, a pipeline by Service.
type ref struct{ Service, Name string }

// deployable is one kind of deployable resource.
type deployable struct {
	// noun calls the kind in messages, before the resource's name ("service
	// pipeline of" reads "service pipeline of <service>").
	noun string
	// get finds the resource, or answers that it (or its service) is not found.
	get func(s *API, ctx context.Context, r ref) (*store.Resource, error)
}

var (
	kindEnvironment = &deployable{noun: "environment", get: func(s *API, ctx context.Context, r ref) (*store.Resource, error) {
		return s.getEnvironment(ctx, r.Name)
	}}
	kindServiceInstance = &deployable{noun: "service instance", get: func(s *API, ctx context.Context, r ref) (*store.Resource, error) {
		return s.getInstance(ctx, r.Service, r.Name)
	}}
	kindServicePipeline = &deployable{noun: "service pipeline of", get: func(s *API, ctx context.Context, r ref) (*store.Resource, error) {
		return s.getPipeline(ctx, r.Service)
	}}
	kindComponent = &deployable{noun: "component", get: func(s *API, ctx context.Context, r ref) (*store.Resource, error) {
		return s.getComponent(ctx, r.Name)
	}}
)

// cancelDeployment is every Cancel*Deployment: the resource's IN_PROGRESS
// deployment is cancelled (see cancel).
func (s *API) cancelDeployment(ctx context.Context, k *deployable, name ref) (*store.Resource, error) {
	r, err := k.get(s, ctx, name)
	if err != nil {
		return nil, err
	}
	return s.cancel(ctx, k.noun, r)
}

// listOutputs is every List*Outputs: the outputs of the resource's last
// successful deployment, or of the given one.
func (s *API) listOutputs(ctx context.Context, k *deployable, name ref, deploymentID string) ([]api.Output, error) {
	r, err := k.get(s, ctx, name)
	if err != nil {
		return nil, err
	}
	return s.outputs(ctx, r, deploymentID)
}

// listProvisionedResources is every List*ProvisionedResources: the
// resources the resource's last successful deployment provisioned, as its
// engine reported them (a CloudFormation stack's resources; CodeBuild
// commands and customer-managed resources report none).
func (s *API) listProvisionedResources(ctx context.Context, k *deployable, name ref) ([]api.ProvisionedResource, error) {
	r, err := k.get(s, ctx, name)
	if err != nil {
		return nil, err
	}
	out := []api.ProvisionedResource{}
	if r.LastSucceededDeploymentID == "" {
		return out, nil
	}
	d, err := s.cfg.Store.DeploymentGet(ctx, r.LastSucceededDeploymentID)
	if errors.Is(err, store.ErrNotFound) {
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	var list []provision.Resource
	if d.Resources != "" {
		if err := json.Unmarshal([]byte(d.Resources), &list); err != nil {
			return nil, fmt.Errorf("provisioned resources of %s: %w", r.Key, err)
		}
	}
	for _, p := range list {
		out = append(out, api.ProvisionedResource{Name: p.Name, Identifier: p.Identifier, ProvisioningEngine: p.Engine})
	}
	return out, nil
}

// cancel cancels r's IN_PROGRESS deployment. The answer shows CANCELLING
// (CANCELLED when no worker had started it); the run is stopped and the
// deployment ends CANCELLED, or FAILED when it could not be stopped, or
// SUCCEEDED when it finished first. A cancel repeated while CANCELLING
// answers as the first did.
func (s *API) cancel(ctx context.Context, noun string, r *store.Resource) (*store.Resource, error) {
	if r.DeploymentStatus == store.StatusCancelling {
		return r, nil
	}
	if r.DeploymentStatus != store.StatusInProgress || r.LastAttemptedDeploymentID == "" {
		if r.LastAttemptedDeploymentID == "" {
			return nil, conflictf("%s has no deployment to cancel yet: it waits for the service's instances", describe(noun, r))
		}
		return nil, conflictf("%s has no deployment in progress to cancel: its last deployment %s is %s", describe(noun, r), r.LastAttemptedDeploymentID, r.DeploymentStatus)
	}
	return s.cancelID(ctx, noun, r, r.LastAttemptedDeploymentID)
}

// cancelID cancels deployment id of resource r in one conditional write
// (store.DeploymentCancel): only while id is IN_PROGRESS, so a deployment
// that ended since r was read, or one started after it, is never touched.
// A conflict says which status id is in instead.
func (s *API) cancelID(ctx context.Context, noun string, r *store.Resource, id string) (*store.Resource, error) {
	res, err := s.cfg.Store.DeploymentCancel(ctx, store.DeploymentCancelParams{ID: id, At: s.now()})
	switch {
	case errors.Is(err, store.ErrStatusChanged) && res.Status == store.StatusCancelling:
	case errors.Is(err, store.ErrStatusChanged):
		return nil, conflictf("%s has no deployment in progress to cancel: its last deployment %s is %s", describe(noun, r), id, res.Status)
	case err != nil:
		return nil, err
	case res.Status == store.StatusCancelling:
		// The answer is read before the run is told to stop: a run that stops
		// at once (on another node, the read is a round trip later) would
		// otherwise show CANCELLED in the cancel's own answer.
		after, err := s.cfg.Store.ResourceGet(ctx, r.Key)
		s.engine.Cancel(id)
		return after, err
	case res.Status == store.StatusCancelled:
		s.engine.CancelledQueued(r.Type)
	}
	return s.cfg.Store.ResourceGet(ctx, r.Key)
}

// CancelDeploymentIfActive cancels deployment id only while it is its
// resource's deployment in flight (IN_PROGRESS: a resource has one active
// deployment at most), in one conditional write, and returns it as it is
// after. It is for a caller that shows a person one deployment and must
// not cancel another one started since (the web console's cancel button):
// a Cancel*Deployment call names the resource and cancels whichever
// deployment is in flight when it arrives. When id has ended, or was
// never IN_PROGRESS, it changes nothing and the error is a
// *DeploymentNotActiveError carrying the deployment as it is; a repeat
// while id is CANCELLING answers as the first cancel did. Callers
// authorize it as the Cancel*Deployment operation of id's resource.
func (s *API) CancelDeploymentIfActive(ctx context.Context, id string) (*api.Deployment, error) {
	d, err := s.cfg.Store.DeploymentGet(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFoundf("deployment %s not found", id)
	}
	if err != nil {
		return nil, err
	}
	if d.Status != store.StatusInProgress && d.Status != store.StatusCancelling {
		return nil, &DeploymentNotActiveError{Deployment: s.deployment(d)}
	}
	r, err := s.cfg.Store.ResourceGet(ctx, d.TargetKey)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFoundf("the resource of deployment %s is gone", id)
	}
	if err != nil {
		return nil, err
	}
	if _, err := s.cancelID(ctx, nounOf(r.Type), r, id); err != nil {
		var perr *Error
		if errors.As(err, &perr) && perr.Kind == KindConflict {
			if now, gerr := s.cfg.Store.DeploymentGet(ctx, id); gerr == nil {
				return nil, &DeploymentNotActiveError{Deployment: s.deployment(now)}
			}
		}
		return nil, err
	}
	after, err := s.cfg.Store.DeploymentGet(ctx, id)
	if err != nil {
		return nil, err
	}
	return s.deployment(after), nil
}

// DeploymentNotActiveError is CancelDeploymentIfActive's answer for a
// deployment no longer (or never) in flight: nothing was cancelled, and
// Deployment is as it is now (its end state and message).
type DeploymentNotActiveError struct {
	Deployment *api.Deployment
}

func (e *DeploymentNotActiveError) Error() string {
	return fmt.Sprintf("deployment %s is %s: only a deployment in progress can be cancelled", e.Deployment.Id, e.Deployment.DeploymentStatus)
}

// nounOf is the noun of a resource type's kind, for messages.
func nounOf(resourceType string) string {
	switch resourceType {
	case store.ResourceServiceInstance:
		return kindServiceInstance.noun
	case store.ResourceServicePipeline:
		return kindServicePipeline.noun
	case store.ResourceComponent:
		return kindComponent.noun
	}
	return kindEnvironment.noun
}

// outputs lists the outputs of r's last successful deployment, or of the
// given deployment of r.
func (s *API) outputs(ctx context.Context, r *store.Resource, deploymentID string) ([]api.Output, error) {
	raw := r.Outputs
	if deploymentID != "" {
		d, err := s.cfg.Store.DeploymentGet(ctx, deploymentID)
		if errors.Is(err, store.ErrNotFound) || (err == nil && d.TargetKey != r.Key) {
			return nil, notFoundf("deployment %s of %s not found", deploymentID, r.Key)
		}
		if err != nil {
			return nil, err
		}
		raw = d.Outputs
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		return nil, fmt.Errorf("outputs of %s: %w", r.Key, err)
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]api.Output, 0, len(keys))
	for _, k := range keys {
		out = append(out, api.Output{Key: k, ValueString: m[k]})
	}
	return out, nil
}

// describe names r in a message: its kind's noun and its name, or for a
// pipeline (whose own name is "pipeline") the service it belongs to.
func describe(noun string, r *store.Resource) string {
	if r.Type == store.ResourceServicePipeline {
		return noun + " " + r.ServiceName
	}
	return noun + " " + r.Name
}
