package proton

import (
	"cmp"
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

// CreateServiceInstance adds an instance to a service. The spec is a service
// spec whose instances list holds an entry with the instance's name.
func (s *API) CreateServiceInstance(ctx context.Context, in *api.CreateServiceInstanceInput) (*api.CreateServiceInstanceOutput, error) {
	tags, err := tagMap("tags", in.Tags)
	if err != nil {
		return nil, err
	}
	svc, err := s.getService(ctx, in.ServiceName)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(serviceAtRest, svc.Status) {
		return nil, conflictf("service %s is %s: wait for the change in progress to end", svc.Name, svc.Status)
	}
	fingerprint := requestFingerprint("CreateServiceInstance", in)
	if r, err := s.cfg.Store.ResourceGet(ctx, instanceKey(svc.Name, in.Name)); err == nil {
		if token := deref(in.ClientToken); token != "" && r.LastClientRequestToken == token {
			if err := checkRetry(token, r.LastClientRequest, fingerprint); err != nil {
				return nil, err
			}
			return &api.CreateServiceInstanceOutput{ServiceInstance: s.instance(r)}, nil // a retry
		}
		return nil, conflictf("service %s already has an instance %s", svc.Name, in.Name)
	}
	t, err := s.getTemplate(ctx, kindSvc, svc.TemplateName)
	if err != nil {
		return nil, err
	}
	v, err := s.resolveVersion(ctx, t, cmp.Or(in.TemplateMajorVersion, svc.TemplateMajor), in.TemplateMinorVersion)
	if err != nil {
		return nil, err
	}
	tmpl, err := s.parseBundle(ctx, v)
	if err != nil {
		return nil, err
	}
	inst, err := instanceFromSpec(tmpl.Schema, in.Spec, in.Name, nil)
	if err != nil {
		return nil, err
	}
	now := s.now()
	start, err := s.instanceStart(ctx, svc, inst, in.Spec, v, tmpl, now)
	if err != nil {
		return nil, err
	}
	start.Create.LastClientRequestToken, start.Create.LastClientRequest = deref(in.ClientToken), fingerprint
	start.Create.Tags = tags
	r, err := s.cfg.Store.DeploymentStart(ctx, start)
	switch {
	case errors.Is(err, store.ErrExists):
		return nil, conflictf("service %s already has an instance %s", svc.Name, in.Name)
	case err != nil:
		return nil, err
	}
	s.engine.Notify()
	s.blockManualChange(ctx, svc.Name, in.Name, fmt.Sprintf("service instance %s was created outside of service sync (CreateServiceInstance): sync of it stops until this blocker is resolved", in.Name),
		store.SyncBlockerContext{Key: "deploymentId", Value: r.LastAttemptedDeploymentID})
	return &api.CreateServiceInstanceOutput{ServiceInstance: s.instance(r)}, nil
}

// instanceFromSpec takes an instance's entry out of a whole service spec.
func instanceFromSpec(schema *bundle.Schema, spec, name string, current *bundle.ServiceSpec) (bundle.InstanceSpec, error) {
	parsed, err := schema.ServiceSpecWithCurrent(spec, current)
	if err != nil {
		return bundle.InstanceSpec{}, validationf("%s", err.Error())
	}
	for _, inst := range parsed.Instances {
		if inst.Name == name {
			return inst, nil
		}
	}
	return bundle.InstanceSpec{}, validationf("invalid spec: it has no entry for instance '%s' under instances:", name)
}

// GetServiceInstance returns one instance.
func (s *API) GetServiceInstance(ctx context.Context, in *api.GetServiceInstanceInput) (*api.GetServiceInstanceOutput, error) {
	r, err := s.getInstance(ctx, in.ServiceName, in.Name)
	if err != nil {
		return nil, err
	}
	return &api.GetServiceInstanceOutput{ServiceInstance: s.instance(r)}, nil
}

func (s *API) getInstance(ctx context.Context, service, name string) (*store.Resource, error) {
	r, err := s.cfg.Store.ResourceGet(ctx, instanceKey(service, name))
	if errors.Is(err, store.ErrNotFound) {
		if _, serr := s.getService(ctx, service); serr != nil {
			return nil, serr
		}
		return nil, notFoundf("service %s has no instance %s", service, name)
	}
	return r, err
}

// ListServiceInstances lists instances, of one service or of all, filtered
// and sorted as asked (by default by service, then name).
func (s *API) ListServiceInstances(ctx context.Context, in *api.ListServiceInstancesInput) (*api.ListServiceInstancesOutput, error) {
	if in.ServiceName != "" {
		if _, err := s.getService(ctx, in.ServiceName); err != nil {
			return nil, err
		}
	}
	offsetS, err := decodeToken("service-instances", in.NextToken)
	if err != nil {
		return nil, err
	}
	offset, _ := strconv.Atoi(offsetS)
	// Check the filters once, so a bad one is refused also when nothing is listed.
	if _, err := instanceMatches(&store.Resource{}, in.Filters); err != nil {
		return nil, err
	}
	all, err := s.allResources(ctx, store.ResourceFilter{Type: store.ResourceServiceInstance, ServiceName: in.ServiceName})
	if err != nil {
		return nil, err
	}
	var list []api.ServiceInstanceSummary
	for _, r := range all {
		keep, err := instanceMatches(r, in.Filters)
		if err != nil {
			return nil, err
		}
		if keep {
			i := s.instance(r)
			list = append(list, api.ServiceInstanceSummary{
				Arn: i.Arn, CreatedAt: i.CreatedAt, DeploymentStatus: i.DeploymentStatus, DeploymentStatusMessage: i.DeploymentStatusMessage,
				EnvironmentName: i.EnvironmentName, LastAttemptedDeploymentId: i.LastAttemptedDeploymentId,
				LastDeploymentAttemptedAt: i.LastDeploymentAttemptedAt, LastDeploymentSucceededAt: i.LastDeploymentSucceededAt,
				LastSucceededDeploymentId: i.LastSucceededDeploymentId, Name: i.Name, ServiceName: i.ServiceName,
				TemplateMajorVersion: i.TemplateMajorVersion, TemplateMinorVersion: i.TemplateMinorVersion, TemplateName: i.TemplateName,
			})
		}
	}
	sortInstances(list, in.SortBy, in.SortOrder)
	out := &api.ListServiceInstancesOutput{ServiceInstances: []api.ServiceInstanceSummary{}}
	if offset < len(list) {
		end := min(offset+pageSize(in.MaxResults), len(list))
		out.ServiceInstances = list[offset:end]
		if end < len(list) {
			out.NextToken = encodeToken("service-instances", strconv.Itoa(end))
		}
	}
	return out, nil
}

// allResources reads every resource a filter selects, page by page.
func (s *API) allResources(ctx context.Context, f store.ResourceFilter) ([]*store.Resource, error) {
	var all []*store.Resource
	after := ""
	for {
		page, err := s.cfg.Store.ResourceList(ctx, f, store.Page{After: after, Limit: 500})
		if err != nil {
			return nil, err
		}
		all = append(all, page...)
		if len(page) < 500 {
			return all, nil
		}
		after = page[len(page)-1].Key
	}
}

func instanceMatches(r *store.Resource, filters []api.ListServiceInstancesFilter) (bool, error) {
	keep := true
	for _, f := range filters {
		var ok bool
		switch f.Key {
		case api.ListServiceInstancesFilterByName:
			ok = r.Name == f.Value
		case api.ListServiceInstancesFilterByDeploymentStatus:
			ok = r.DeploymentStatus == f.Value
		case api.ListServiceInstancesFilterByTemplateName:
			ok = r.TemplateName == f.Value
		case api.ListServiceInstancesFilterByServiceName:
			ok = r.ServiceName == f.Value
		case api.ListServiceInstancesFilterByEnvironmentName:
			ok = r.EnvironmentName == f.Value
		case api.ListServiceInstancesFilterByDeployedTemplateVersionStatus:
			// Only published versions deploy, so every deployed version is PUBLISHED.
			ok = f.Value == api.TemplateVersionStatusPublished
		case api.ListServiceInstancesFilterByLastDeploymentAttemptedAtBefore, api.ListServiceInstancesFilterByLastDeploymentAttemptedAtAfter,
			api.ListServiceInstancesFilterByCreatedAtBefore, api.ListServiceInstancesFilterByCreatedAtAfter:
			at, err := time.Parse(time.RFC3339, f.Value)
			if err != nil {
				return false, validationf("filter %s: value %q is not an RFC 3339 time such as 2026-01-02T15:04:05Z", f.Key, f.Value)
			}
			t := r.CreatedAt
			if strings.HasPrefix(f.Key, "lastDeploymentAttemptedAt") {
				t = r.LastDeploymentAttemptedAt
			}
			ok = (strings.HasSuffix(f.Key, "Before") && t.Before(at)) || (strings.HasSuffix(f.Key, "After") && t.After(at))
		default:
			return false, validationf("filter key %q is not supported", f.Key)
		}
		keep = keep && ok
	}
	return keep, nil
}

func sortInstances(list []api.ServiceInstanceSummary, by, order string) {
	key := func(i api.ServiceInstanceSummary) string {
		switch by {
		case api.ListServiceInstancesSortByName:
			return i.Name
		case api.ListServiceInstancesSortByDeploymentStatus:
			return i.DeploymentStatus
		case api.ListServiceInstancesSortByTemplateName:
			return i.TemplateName
		case api.ListServiceInstancesSortByEnvironmentName:
			return i.EnvironmentName
		case api.ListServiceInstancesSortByLastDeploymentAttemptedAt:
			return fmt.Sprintf("%020d", i.LastDeploymentAttemptedAt.UnixMilli())
		case api.ListServiceInstancesSortByCreatedAt:
			return fmt.Sprintf("%020d", i.CreatedAt.UnixMilli())
		}
		return i.ServiceName
	}
	slices.SortStableFunc(list, func(a, b api.ServiceInstanceSummary) int {
		c := cmp.Or(cmp.Compare(key(a), key(b)), cmp.Compare(a.ServiceName, b.ServiceName), cmp.Compare(a.Name, b.Name))
		if order == api.SortOrderDescending {
			return -c
		}
		return c
	})
}

// UpdateServiceInstance deploys an instance again, with the deployment types
// of UpdateEnvironment. The spec is a whole service spec; the instance takes
// its entry by name. Refused while the instance (or its service) is changing.
func (s *API) UpdateServiceInstance(ctx context.Context, in *api.UpdateServiceInstanceInput) (*api.UpdateServiceInstanceOutput, error) {
	r, err := s.getInstance(ctx, in.ServiceName, in.Name)
	if err != nil {
		return nil, err
	}
	fingerprint := requestFingerprint("UpdateServiceInstance", in)
	if token := deref(in.ClientToken); token != "" && token == r.LastClientRequestToken {
		if err := checkRetry(token, r.LastClientRequest, fingerprint); err != nil {
			return nil, err
		}
		return &api.UpdateServiceInstanceOutput{ServiceInstance: s.instance(r)}, nil // a retry
	}
	if in.DeploymentType == api.DeploymentUpdateTypeNone {
		if in.Spec != "" || in.TemplateMajorVersion != "" || in.TemplateMinorVersion != "" {
			return nil, validationf("deploymentType NONE deploys nothing: spec and template versions need CURRENT_VERSION, MINOR_VERSION or MAJOR_VERSION")
		}
		return &api.UpdateServiceInstanceOutput{ServiceInstance: s.instance(r)}, nil
	}
	if store.IsActive(r.DeploymentStatus) {
		return nil, activeConflict("service instance", r)
	}
	svc, err := s.getService(ctx, in.ServiceName)
	if err != nil {
		return nil, err
	}
	if svc.Status == svcDeleteInProgress || (svc.Status == svcUpdateInProgress && strings.Contains(svc.Operation, `"`+r.Name+`"`)) {
		return nil, conflictf("service %s is %s and this instance is part of that change", svc.Name, svc.Status)
	}
	v, err := s.deployVersion(ctx, kindSvc, r, in.DeploymentType, in.TemplateMajorVersion, in.TemplateMinorVersion)
	if err != nil {
		return nil, err
	}
	tmpl, err := s.parseBundle(ctx, v)
	if err != nil {
		return nil, err
	}
	spec := cmp.Or(in.Spec, r.Spec)
	current, _ := tmpl.Schema.ServiceSpec(r.Spec)
	inst, err := instanceFromSpec(tmpl.Schema, spec, r.Name, current)
	if err != nil {
		return nil, err
	}
	if spec, err = resolveServiceSpec(tmpl.Schema, spec, current); err != nil {
		return nil, err
	}
	if inst.Environment != r.EnvironmentName {
		return nil, validationf("invalid spec: instance '%s' is in environment %s, not %s", r.Name, r.EnvironmentName, inst.Environment)
	}
	env, err := s.instanceEnvironment(ctx, r.EnvironmentName, v)
	if err != nil {
		return nil, err
	}
	components, err := s.attachedComponents(ctx, r.ServiceName, r.Name)
	if err != nil {
		return nil, err
	}
	var componentIDs []string
	for _, c := range components {
		if store.IsActive(c.DeploymentStatus) {
			return nil, conflictf("service instance %s: its component %s is being deployed (%s): wait for it to end", r.Name, c.Name, c.DeploymentStatus)
		}
		if c.LastSucceededDeploymentID != "" {
			componentIDs = append(componentIDs, c.LastSucceededDeploymentID)
		}
	}
	plan, err := s.instancePlan(ctx, svc, r.Name, inst.Inputs, env, v, tmpl, store.OperationDeploy, r.LastSucceededDeploymentID, components...)
	if err != nil {
		return nil, err
	}
	d := s.newDeployment(ctx, r.Key, store.ResourceServiceInstance, store.OperationDeploy, v, spec, plan, s.now())
	d.EnvironmentName, d.ServiceName, d.ServiceInstance = r.EnvironmentName, r.ServiceName, r.Name
	pipelineID := ""
	if pipe, err := s.cfg.Store.ResourceGet(ctx, pipelineKey(r.ServiceName)); err == nil {
		pipelineID = pipe.LastSucceededDeploymentID
	}
	d.InitialState = instanceState(r.TemplateName, r.TemplateMajor, r.TemplateMinor, r.Spec, "", "")
	d.TargetState = instanceState(v.TemplateName, d.TargetMajor, d.TargetMinor, spec, env.LastSucceededDeploymentID, pipelineID, componentIDs...)
	r, err = s.cfg.Store.DeploymentStart(ctx, store.DeploymentStartParams{Deployment: d, ClientToken: in.ClientToken, ClientRequest: &fingerprint})
	if errors.Is(err, store.ErrActiveDeployment) {
		return nil, activeConflict("service instance", r)
	}
	if err != nil {
		return nil, err
	}
	s.engine.Notify()
	s.blockManualChange(ctx, r.ServiceName, r.Name, fmt.Sprintf("service instance %s was updated outside of service sync (UpdateServiceInstance): sync of it stops until this blocker is resolved", r.Name),
		store.SyncBlockerContext{Key: "deploymentId", Value: r.LastAttemptedDeploymentID})
	return &api.UpdateServiceInstanceOutput{ServiceInstance: s.instance(r)}, nil
}

// CancelServiceInstanceDeployment cancels the instance's IN_PROGRESS
// deployment, exactly as CancelEnvironmentDeployment does.
func (s *API) CancelServiceInstanceDeployment(ctx context.Context, in *api.CancelServiceInstanceDeploymentInput) (*api.CancelServiceInstanceDeploymentOutput, error) {
	r, err := s.cancelDeployment(ctx, kindServiceInstance, ref{Service: in.ServiceName, Name: in.ServiceInstanceName})
	if err != nil {
		return nil, err
	}
	return &api.CancelServiceInstanceDeploymentOutput{ServiceInstance: s.instance(r)}, nil
}

// ListServiceInstanceOutputs lists an instance's outputs, or those of one of its deployments.
func (s *API) ListServiceInstanceOutputs(ctx context.Context, in *api.ListServiceInstanceOutputsInput) (*api.ListServiceInstanceOutputsOutput, error) {
	outputs, err := s.listOutputs(ctx, kindServiceInstance, ref{Service: in.ServiceName, Name: in.ServiceInstanceName}, in.DeploymentId)
	if err != nil {
		return nil, err
	}
	return &api.ListServiceInstanceOutputsOutput{Outputs: outputs}, nil
}

// ListServiceInstanceProvisionedResources lists what the provisioning of the resource created (see listProvisionedResources).
func (s *API) ListServiceInstanceProvisionedResources(ctx context.Context, in *api.ListServiceInstanceProvisionedResourcesInput) (*api.ListServiceInstanceProvisionedResourcesOutput, error) {
	list, err := s.listProvisionedResources(ctx, kindServiceInstance, ref{Service: in.ServiceName, Name: in.ServiceInstanceName})
	if err != nil {
		return nil, err
	}
	return &api.ListServiceInstanceProvisionedResourcesOutput{ProvisionedResources: list}, nil
}

// resourceDeleteStart starts the de-provisioning of a service's instance or
// pipeline, with the manifest of the version it runs; nothing is run when
// provision.Registry.Deprovision says there is nothing to undo, or when the
// version no longer parses.
func (s *API) resourceDeleteStart(ctx context.Context, r *store.Resource, now time.Time) (store.DeploymentStartParams, error) {
	v, tmpl, err := s.parsedVersion(ctx, kindSvc, r.TemplateName, r.TemplateMajor, r.TemplateMinor)
	plan := provision.Nothing()
	if err == nil {
		plan, err = s.deletePlan(ctx, r, v, tmpl)
	}
	if err != nil && v == nil {
		return store.DeploymentStartParams{}, err
	}
	if err != nil {
		plan = provision.Nothing()
	}
	d := s.newDeployment(ctx, r.Key, r.Type, store.OperationDelete, v, r.Spec, plan, now)
	d.EnvironmentName, d.ServiceName = r.EnvironmentName, r.ServiceName
	if r.Type == store.ResourceServiceInstance {
		d.ServiceInstance = r.Name
		d.InitialState = instanceState(r.TemplateName, r.TemplateMajor, r.TemplateMinor, r.Spec, "", "")
	} else {
		d.InitialState = pipelineState(r.TemplateName, r.TemplateMajor, r.TemplateMinor, r.Spec)
	}
	d.TargetState = d.InitialState
	return store.DeploymentStartParams{Deployment: d}, nil
}

func (s *API) deletePlan(ctx context.Context, r *store.Resource, v *store.TemplateVersion, tmpl *bundle.Template) (provision.Plan, error) {
	infra := tmpl.Infrastructure
	if r.Type == store.ResourceServicePipeline {
		infra = tmpl.Pipeline
	}
	// A pipeline still waiting for its instances never deployed.
	if infra == nil || !s.deprovision(infra.Manifest.Engine(), r) {
		return provision.Nothing(), nil
	}
	if r.Type == store.ResourceServicePipeline {
		return s.pipelinePlan(ctx, r, v, tmpl, r.Spec, provision.OperationDelete)
	}
	env, err := s.cfg.Store.ResourceGet(ctx, environmentKey(r.EnvironmentName))
	if err != nil {
		return provision.Nothing(), err
	}
	inst, err := instanceFromSpec(tmpl.Schema, r.Spec, r.Name, nil)
	if err != nil {
		inst.Inputs = map[string]any{}
	}
	svc, err := s.cfg.Store.ServiceGet(ctx, r.ServiceName)
	if err != nil {
		svc = &store.Service{Name: r.ServiceName}
	}
	return s.instancePlan(ctx, svc, r.Name, inst.Inputs, env, v, tmpl, store.OperationDelete, r.LastSucceededDeploymentID)
}

func instanceState(template, major, minor, spec, envDeployment, pipelineDeployment string, componentDeployments ...string) string {
	raw, _ := json.Marshal(api.DeploymentState{ServiceInstance: &api.ServiceInstanceState{
		TemplateName: template, TemplateMajorVersion: major, TemplateMinorVersion: minor, Spec: spec,
		LastSuccessfulEnvironmentDeploymentId: envDeployment, LastSuccessfulServicePipelineDeploymentId: pipelineDeployment,
		LastSuccessfulComponentDeploymentIds: componentDeployments,
	}})
	return string(raw)
}

func (s *API) instance(r *store.Resource) api.ServiceInstance {
	return api.ServiceInstance{
		Arn: s.arn(r.Key), CreatedAt: apiTime(r.CreatedAt), DeploymentStatus: r.DeploymentStatus,
		DeploymentStatusMessage: r.DeploymentStatusMessage, EnvironmentName: r.EnvironmentName,
		LastAttemptedDeploymentId: r.LastAttemptedDeploymentID, LastClientRequestToken: r.LastClientRequestToken,
		LastDeploymentAttemptedAt: apiTime(r.LastDeploymentAttemptedAt), LastDeploymentSucceededAt: apiTime(r.LastDeploymentSucceededAt),
		LastSucceededDeploymentId: r.LastSucceededDeploymentID, Name: r.Name, ServiceName: r.ServiceName, Spec: r.Spec,
		TemplateMajorVersion: r.TemplateMajor, TemplateMinorVersion: r.TemplateMinor, TemplateName: r.TemplateName,
	}
}

// resolveServiceSpec returns a service spec with ${Proton::CURRENT_VAL}
// resolved against current, the spec to keep: the next update reads its
// values as the current ones.
func resolveServiceSpec(schema *bundle.Schema, spec string, current *bundle.ServiceSpec) (string, error) {
	parsed, err := schema.ServiceSpecWithCurrent(spec, current)
	if err != nil {
		return "", validationf("%s", err.Error())
	}
	return bundle.ResolveCurrentValues(spec, func(section, input string) (any, bool) {
		if section == bundle.SectionPipeline {
			v, ok := parsed.Pipeline[input]
			return v, ok
		}
		for _, i := range parsed.Instances {
			if bundle.SectionInstance(i.Name) == section {
				v, ok := i.Inputs[input]
				return v, ok
			}
		}
		return nil, false
	})
}
