package proton

import (
	"context"
	"errors"
	"strconv"

	"github.com/hadronhq/hadron/internal/api"
	"github.com/hadronhq/hadron/internal/store"
)

// Search narrows a list further than the Proton API's list operations can:
// the web console's search box and status filter. Like the list operations
// it reads one page from the store, so its cost does not grow with the
// number of resources. Its pages and tokens are those of the list operation
// it extends (a SearchEnvironments token is a ListEnvironments token).
type Search struct {
	// NameContains keeps names that contain it, ignoring ASCII case.
	NameContains string
	// Statuses keeps deployment statuses that are one of these.
	Statuses  []string
	NextToken string
	// MaxResults is the page size (default and most: 100).
	MaxResults int
}

func (q Search) limit() int {
	if q.MaxResults <= 0 {
		return defaultPageSize
	}
	return min(q.MaxResults, maxPageSize)
}

// SearchEnvironments is ListEnvironments narrowed by name and deployment
// status. Callers authorize it as proton:ListEnvironments.
func (s *API) SearchEnvironments(ctx context.Context, q Search) (*api.ListEnvironmentsOutput, error) {
	after, err := decodeToken("environments", q.NextToken)
	if err != nil {
		return nil, err
	}
	f := store.ResourceFilter{Type: store.ResourceEnvironment, NameContains: q.NameContains, Statuses: q.Statuses}
	return s.listEnvironments(ctx, f, after, q.limit())
}

// SearchComponents is ListComponents narrowed by name and deployment status,
// paged in the store by name. Callers authorize it as proton:ListComponents.
func (s *API) SearchComponents(ctx context.Context, q Search) (*api.ListComponentsOutput, error) {
	after, err := decodeToken("component-search", q.NextToken)
	if err != nil {
		return nil, err
	}
	limit := q.limit()
	list, err := s.cfg.Store.ResourceList(ctx, store.ResourceFilter{Type: store.ResourceComponent,
		NameContains: q.NameContains, Statuses: q.Statuses}, store.Page{After: after, Limit: limit + 1})
	if err != nil {
		return nil, err
	}
	out := &api.ListComponentsOutput{Components: make([]api.ComponentSummary, 0, len(list))}
	for i, r := range list {
		if i == limit {
			out.NextToken = encodeToken("component-search", list[i-1].Key)
			break
		}
		out.Components = append(out.Components, s.componentSummary(r))
	}
	return out, nil
}

// SearchServices is ListServices narrowed by name, service status (Search's
// Statuses are service statuses here) and service template, paged in the
// store by name. Callers authorize it as proton:ListServices.
func (s *API) SearchServices(ctx context.Context, q Search, templateName string) (*api.ListServicesOutput, error) {
	after, err := decodeToken("service-search", q.NextToken)
	if err != nil {
		return nil, err
	}
	limit := q.limit()
	list, err := s.cfg.Store.ServiceSearch(ctx, store.ServiceFilter{NameContains: q.NameContains, Statuses: q.Statuses,
		TemplateName: templateName}, store.Page{After: after, Limit: limit + 1})
	if err != nil {
		return nil, err
	}
	out := &api.ListServicesOutput{Services: make([]api.ServiceSummary, 0, len(list))}
	for i, svc := range list {
		if i == limit {
			out.NextToken = encodeToken("service-search", list[i-1].Name)
			break
		}
		out.Services = append(out.Services, s.serviceSummary(svc))
	}
	return out, nil
}

// HistoryEntry is one deployment of a history: the API's whole Deployment
// and who started it (which the API does not answer).
type HistoryEntry struct {
	*api.Deployment
	StartedBy StartedBy
}

// SearchDeployments is ListDeployments narrowed by deployment status, and
// answering whole deployments (their target state and status message,
// which a deployment history shows) with who started them, rather than
// summaries. Callers authorize it as proton:ListDeployments with in as the
// input.
func (s *API) SearchDeployments(ctx context.Context, in *api.ListDeploymentsInput, statuses []string) (list []HistoryEntry, nextToken string, err error) {
	if in.ServiceInstanceName != "" && in.ServiceName == "" {
		return nil, "", validationf("serviceInstanceName needs serviceName")
	}
	after, err := decodeToken("deployments", in.NextToken)
	if err != nil {
		return nil, "", err
	}
	limit := pageSize(in.MaxResults)
	found, err := s.cfg.Store.DeploymentList(ctx, store.DeploymentFilter{
		EnvironmentName: in.EnvironmentName, ServiceName: in.ServiceName, ServiceInstance: in.ServiceInstanceName,
		ComponentName: in.ComponentName, Statuses: statuses,
	}, store.Page{After: after, Limit: limit + 1})
	if err != nil {
		return nil, "", err
	}
	for i, d := range found {
		if i == limit {
			nextToken = encodeToken("deployments", strconv.FormatInt(found[i-1].Seq, 10))
			break
		}
		list = append(list, HistoryEntry{Deployment: s.deployment(d), StartedBy: startedByOf(d)})
	}
	return list, nextToken, nil
}

// DeploymentStartedBy returns who started deployment id. Callers authorize
// it as proton:GetDeployment of the deployment.
func (s *API) DeploymentStartedBy(ctx context.Context, id string) (StartedBy, error) {
	d, err := s.cfg.Store.DeploymentGet(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return StartedBy{}, notFoundf("deployment %s not found", id)
	}
	if err != nil {
		return StartedBy{}, err
	}
	return startedByOf(d), nil
}
