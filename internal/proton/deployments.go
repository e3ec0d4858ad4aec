package proton

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"

	"github.com/hadronhq/hadron/internal/api"
	"github.com/hadronhq/hadron/internal/store"
)

// GetDeployment returns one deployment. The optional names must be those of
// the deployment's target.
func (s *API) GetDeployment(ctx context.Context, in *api.GetDeploymentInput) (*api.GetDeploymentOutput, error) {
	if in.ServiceInstanceName != "" && in.ServiceName == "" {
		return nil, validationf("serviceInstanceName needs serviceName")
	}
	d, err := s.cfg.Store.DeploymentGet(ctx, in.Id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFoundf("deployment %s not found", in.Id)
	}
	if err != nil {
		return nil, err
	}
	if (in.EnvironmentName != "" && in.EnvironmentName != d.EnvironmentName) ||
		(in.ServiceName != "" && in.ServiceName != d.ServiceName) ||
		(in.ServiceInstanceName != "" && in.ServiceInstanceName != d.ServiceInstance) ||
		(in.ComponentName != "" && in.ComponentName != d.ComponentName) {
		return nil, notFoundf("deployment %s not found for the given resource", in.Id)
	}
	return &api.GetDeploymentOutput{Deployment: s.deployment(d)}, nil
}

// ListDeployments lists deployments newest first, filtered by resource.
func (s *API) ListDeployments(ctx context.Context, in *api.ListDeploymentsInput) (*api.ListDeploymentsOutput, error) {
	if in.ServiceInstanceName != "" && in.ServiceName == "" {
		return nil, validationf("serviceInstanceName needs serviceName")
	}
	after, err := decodeToken("deployments", in.NextToken)
	if err != nil {
		return nil, err
	}
	return s.listDeployments(ctx, store.DeploymentFilter{
		EnvironmentName: in.EnvironmentName, ServiceName: in.ServiceName, ServiceInstance: in.ServiceInstanceName,
		ComponentName: in.ComponentName,
	}, after, pageSize(in.MaxResults))
}

// listDeployments returns one page of the deployments f selects, newest
// first, older than the sequence number after ("" for the newest).
func (s *API) listDeployments(ctx context.Context, f store.DeploymentFilter, after string, limit int) (*api.ListDeploymentsOutput, error) {
	list, err := s.cfg.Store.DeploymentList(ctx, f, store.Page{After: after, Limit: limit + 1})
	if err != nil {
		return nil, err
	}
	out := &api.ListDeploymentsOutput{Deployments: make([]api.DeploymentSummary, 0, len(list))}
	for i, d := range list {
		if i == limit {
			out.NextToken = encodeToken("deployments", strconv.FormatInt(list[i-1].Seq, 10))
			break
		}
		full := s.deployment(d)
		out.Deployments = append(out.Deployments, api.DeploymentSummary{
			Arn: full.Arn, CompletedAt: full.CompletedAt, ComponentName: full.ComponentName, CreatedAt: full.CreatedAt,
			DeploymentStatus: full.DeploymentStatus, EnvironmentName: full.EnvironmentName, Id: full.Id,
			LastAttemptedDeploymentId: full.LastAttemptedDeploymentId, LastModifiedAt: full.LastModifiedAt,
			LastSucceededDeploymentId: full.LastSucceededDeploymentId, ServiceInstanceName: full.ServiceInstanceName,
			ServiceName: full.ServiceName, TargetArn: full.TargetArn, TargetResourceCreatedAt: full.TargetResourceCreatedAt,
			TargetResourceType: full.TargetResourceType,
		})
	}
	return out, nil
}

// DeleteDeployment deletes the record of a deployment that has ended.
func (s *API) DeleteDeployment(ctx context.Context, in *api.DeleteDeploymentInput) (*api.DeleteDeploymentOutput, error) {
	d, err := s.cfg.Store.DeploymentDelete(ctx, in.Id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, notFoundf("deployment %s not found", in.Id)
	case errors.Is(err, store.ErrInUse):
		// The model lists no ConflictException for DeleteDeployment.
		return nil, validationf("deployment %s is %s: only a deployment that has ended can be deleted", in.Id, d.Status)
	case err != nil:
		return nil, err
	}
	return &api.DeleteDeploymentOutput{Deployment: s.deployment(d)}, nil
}

func (s *API) deployment(d *store.Deployment) *api.Deployment {
	out := &api.Deployment{
		Arn: s.arn(deploymentKey(d.ID)), CompletedAt: apiTime(d.CompletedAt), ComponentName: d.ComponentName,
		CreatedAt: apiTime(d.CreatedAt), DeploymentStatus: d.Status, DeploymentStatusMessage: d.StatusMessage,
		EnvironmentName: d.EnvironmentName, Id: d.ID, LastAttemptedDeploymentId: d.LastAttemptedID,
		LastModifiedAt: apiTime(d.LastModifiedAt), LastSucceededDeploymentId: d.LastSucceededID,
		ServiceInstanceName: d.ServiceInstance, ServiceName: d.ServiceName, TargetArn: s.arn(d.TargetKey),
		TargetResourceCreatedAt: apiTime(d.TargetCreatedAt), TargetResourceType: d.TargetType,
	}
	out.InitialState = state(d.InitialState)
	out.TargetState = state(d.TargetState)
	return out
}

func state(raw string) *api.DeploymentState {
	if raw == "" {
		return nil
	}
	var st api.DeploymentState
	if json.Unmarshal([]byte(raw), &st) != nil {
		return nil
	}
	return &st
}
