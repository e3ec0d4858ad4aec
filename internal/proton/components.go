package proton

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"time"

	"github.com/hadronhq/hadron/internal/api"
	"github.com/hadronhq/hadron/internal/auth"
	"github.com/hadronhq/hadron/internal/bundle"
	"github.com/hadronhq/hadron/internal/provision"
	"github.com/hadronhq/hadron/internal/store"
)

func componentKey(name string) string { return "component/" + name }

// componentState is a component's deployed state, kept as its resource's Spec:
// what a deployment sets and a failed or cancelled one leaves as it was. The
// attachment is part of it, so a cancelled attach leaves the component detached.
type componentState struct {
	Manifest            string `json:"manifest"`
	TemplateFile        string `json:"templateFile"`
	ServiceSpec         string `json:"serviceSpec,omitempty"`
	ServiceName         string `json:"serviceName,omitempty"`
	ServiceInstanceName string `json:"serviceInstanceName,omitempty"`
}

func (c componentState) encode() string {
	raw, _ := json.Marshal(c)
	return string(raw)
}

func decodeComponentState(spec string) componentState {
	var c componentState
	json.Unmarshal([]byte(spec), &c)
	return c
}

// apiState is the model's ComponentState of c.
func (c componentState) apiState() string {
	raw, _ := json.Marshal(api.DeploymentState{Component: &api.ComponentState{
		ServiceInstanceName: c.ServiceInstanceName, ServiceName: c.ServiceName, ServiceSpec: c.ServiceSpec, TemplateFile: c.TemplateFile,
	}})
	return string(raw)
}

// CreateComponent creates a directly defined component, in an environment or
// attached to a service instance, and deploys it.
func (s *API) CreateComponent(ctx context.Context, in *api.CreateComponentInput) (*api.CreateComponentOutput, error) {
	if (in.ServiceName == "") != (in.ServiceInstanceName == "") {
		return nil, validationf("serviceName and serviceInstanceName go together: give both to attach the component, or neither")
	}
	tags, err := tagMap("tags", in.Tags)
	if err != nil {
		return nil, err
	}
	if in.ServiceName == "" && in.EnvironmentName == "" {
		return nil, validationf("a component needs environmentName, or serviceName and serviceInstanceName to attach it")
	}
	fingerprint := requestFingerprint("CreateComponent", in)
	if r, err := s.cfg.Store.ResourceGet(ctx, componentKey(in.Name)); err == nil {
		if token := deref(in.ClientToken); token != "" && token == r.LastClientRequestToken {
			if err := checkRetry(token, r.LastClientRequest, fingerprint); err != nil {
				return nil, err
			}
			return &api.CreateComponentOutput{Component: s.component(r)}, nil // a retry
		}
		return nil, conflictf("component %s already exists", in.Name)
	}
	target := componentState{Manifest: in.Manifest, TemplateFile: in.TemplateFile, ServiceSpec: in.ServiceSpec,
		ServiceName: in.ServiceName, ServiceInstanceName: in.ServiceInstanceName}
	if err := s.checkAPICommands(ctx, in.Name, in.EnvironmentName, target); err != nil {
		return nil, err
	}
	envName, err := s.componentEnvironment(ctx, in.EnvironmentName, target)
	if err != nil {
		return nil, err
	}
	if err := s.checkInstanceFree(ctx, in.Name, target); err != nil {
		return nil, err
	}
	now := s.now()
	r := &store.Resource{
		Key: componentKey(in.Name), Type: store.ResourceComponent, Name: in.Name, EnvironmentName: envName,
		Description: deref(in.Description), Spec: target.encode(), LastClientRequestToken: deref(in.ClientToken),
		LastClientRequest: fingerprint, CreatedAt: now, LastModifiedAt: now, Tags: tags,
	}
	d, err := s.componentDeployment(ctx, r, target, store.OperationDeploy, now)
	if err != nil {
		return nil, err
	}
	r, err = s.cfg.Store.DeploymentStart(ctx, store.DeploymentStartParams{Deployment: d, Create: r})
	if errors.Is(err, store.ErrExists) {
		return nil, conflictf("component %s already exists", in.Name)
	}
	if err != nil {
		return nil, err
	}
	s.engine.Notify()
	return &api.CreateComponentOutput{Component: s.component(r)}, nil
}

// checkAPICommands refuses a component whose manifest would have this
// server run commands on its host (CodeBuild provisioning, Terraform)
// unless the server allows commands supplied through the API and the
// caller holds auth.ActionRunCommands. Whether it would depends on the
// engine and, for Terraform, on the settings of its environment (the
// named one, or its service instance's): a hand-off through git runs
// nothing here. It runs before the component's other checks, so an
// environment that cannot be read gives no settings (CodeBuild is gated
// all the same; Terraform without settings cannot deploy). Registered
// templates are another matter: their commands are the template author's,
// published by a key allowed to register templates.
//
// The settings are read at each of the component's deployments
// (CreateComponent, UpdateComponent), so a change of its environment is
// re-gated at the next one. A delete is not gated: it runs in the mode the
// component was accepted in, because an environment's mode cannot change
// under its components: a hand-off environment keeps its
// provisioningRepository (updateEnvSettings, as in Proton) and a repository
// wins over a codebuildRoleArn, a codebuildRoleArn cannot be removed, and no
// Terraform component is accepted in an environment with neither
// (TestSelfManagedEnvironmentStaysSelfManaged). An update that could turn a
// hand-off environment into a local run must gate its components first.
func (s *API) checkAPICommands(ctx context.Context, name, environment string, c componentState) error {
	m, _, err := bundle.ParseComponentManifest(c.Manifest, c.TemplateFile)
	if err != nil {
		return validationf("manifest: %s", err.Error())
	}
	if environment == "" && c.ServiceName != "" {
		if inst, err := s.getInstance(ctx, c.ServiceName, c.ServiceInstanceName); err == nil {
			environment = inst.EnvironmentName
		}
	}
	var settings provision.Settings
	if env, err := s.cfg.Store.ResourceGet(ctx, environmentKey(environment)); err == nil {
		settings = envSettingsOf(env).provisioning()
	}
	if !s.cfg.Engines.RunsHostCommands(m.Engine(), provision.KindComponent, settings) {
		return nil
	}
	if !s.cfg.AllowAPICommands {
		return validationf("component %s: its manifest uses the %s engine, whose commands would run on this server's host; "+
			"this server does not run commands supplied through the API (hadron serve --allow-api-commands allows them, "+
			"for keys that hold %s)", name, m.Engine(), auth.ActionRunCommands)
	}
	if c := auth.CallerFrom(ctx); !c.Allows(auth.ActionRunCommands) {
		id := ""
		if c != nil {
			id = c.AccessKeyID
		}
		return &auth.AccessDeniedError{AccessKeyID: id, Action: auth.ActionRunCommands, Resource: name}
	}
	return nil
}

// componentEnvironment checks Proton's rules for a component's place and
// returns its environment: an attached component lives in its instance's
// environment, whose service template version must allow directly defined
// components; the environment must have a componentRoleArn.
func (s *API) componentEnvironment(ctx context.Context, envName string, c componentState) (string, error) {
	if c.ServiceName != "" {
		inst, err := s.getInstance(ctx, c.ServiceName, c.ServiceInstanceName)
		if err != nil {
			return "", err
		}
		if envName != "" && envName != inst.EnvironmentName {
			return "", validationf("service instance %s is in environment %s, not %s", inst.Name, inst.EnvironmentName, envName)
		}
		envName = inst.EnvironmentName
		v, err := s.getVersion(ctx, kindSvc, inst.TemplateName, inst.TemplateMajor, inst.TemplateMinor)
		if err != nil {
			return "", err
		}
		extra, err := serviceVersionExtra(v)
		if err != nil {
			return "", err
		}
		if !extra.supportsComponentSource(api.ServiceTemplateSupportedComponentSourceTypeDirectlyDefined) {
			return "", validationf("service instance %s runs service template version %s:%d.%d, whose supportedComponentSources does not include DIRECTLY_DEFINED",
				inst.Name, v.TemplateName, v.Major, v.Minor)
		}
	}
	env, err := s.getEnvironment(ctx, envName)
	if err != nil {
		return "", err
	}
	var st envSettings
	json.Unmarshal([]byte(env.Settings), &st)
	if st.ComponentRoleArn == "" {
		return "", validationf("environment %s has no componentRoleArn: directly defined components need one (UpdateEnvironment --component-role-arn)", envName)
	}
	return envName, nil
}

// componentDeployment validates a component's manifest and builds the
// deployment of r toward target (or its de-provisioning). A manifest naming
// an engine Hadron does not run is accepted; its deployment fails naming it.
func (s *API) componentDeployment(ctx context.Context, r *store.Resource, target componentState, op string, now time.Time) (*store.Deployment, error) {
	m, files, err := bundle.ParseComponentManifest(target.Manifest, target.TemplateFile)
	if err != nil {
		return nil, validationf("manifest: %s", err.Error())
	}
	req := provision.Request{
		Engine: m.Engine(), Operation: op, Manifest: m, Files: map[string]string{},
		Target:               s.target(provision.KindComponent, r.Key, r.Name, r.EnvironmentName, target.ServiceName, nil),
		PreviousDeploymentID: r.LastSucceededDeploymentID,
	}
	for name, data := range files {
		req.Files[name] = string(data)
	}
	if env, err := s.cfg.Store.ResourceGet(ctx, environmentKey(r.EnvironmentName)); err == nil {
		req.Settings = envSettingsOf(env).provisioning()
	}
	if req.Inputs, err = s.componentInputs(ctx, r, target); err != nil {
		return nil, err
	}
	var plan provision.Plan
	if op == provision.OperationDelete && !s.deprovision(req.Engine, r) {
		plan = provision.Nothing()
	} else if plan, err = s.plan(ctx, req); err != nil {
		return nil, err
	}
	planJSON, _ := json.Marshal(plan)
	status := store.StatusInProgress
	if op == store.OperationDelete {
		status = store.StatusDeleteInProgress
	}
	d := &store.Deployment{
		ID: newDeploymentID(), TargetKey: r.Key, TargetType: store.ResourceComponent, EnvironmentName: r.EnvironmentName,
		ServiceName: target.ServiceName, ServiceInstance: target.ServiceInstanceName, ComponentName: r.Name,
		Operation: op, Status: status, Plan: string(planJSON), TargetSpec: target.encode(), TargetState: target.apiState(),
		CreatedAt: now, LastModifiedAt: now,
	}
	d.StartedByKeyID, d.StartedBy = starterOf(ctx).record()
	if r.LastAttemptedDeploymentID != "" {
		d.InitialState = decodeComponentState(r.Spec).apiState()
	}
	return d, nil
}

// GetComponent returns one component.
func (s *API) GetComponent(ctx context.Context, in *api.GetComponentInput) (*api.GetComponentOutput, error) {
	r, err := s.getComponent(ctx, in.Name)
	if err != nil {
		return nil, err
	}
	c := s.component(r)
	return &api.GetComponentOutput{Component: &c}, nil
}

func (s *API) getComponent(ctx context.Context, name string) (*store.Resource, error) {
	r, err := s.cfg.Store.ResourceGet(ctx, componentKey(name))
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFoundf("component %s not found", name)
	}
	return r, err
}

// ListComponents lists components by name, filtered by environment, service
// or service instance.
func (s *API) ListComponents(ctx context.Context, in *api.ListComponentsInput) (*api.ListComponentsOutput, error) {
	if in.ServiceInstanceName != "" && in.ServiceName == "" {
		return nil, validationf("serviceInstanceName needs serviceName")
	}
	offsetS, err := decodeToken("components", in.NextToken)
	if err != nil {
		return nil, err
	}
	offset, _ := strconv.Atoi(offsetS)
	all, err := s.allResources(ctx, store.ResourceFilter{Type: store.ResourceComponent, EnvironmentName: in.EnvironmentName})
	if err != nil {
		return nil, err
	}
	var list []api.ComponentSummary
	for _, r := range all {
		c := decodeComponentState(r.Spec)
		if (in.ServiceName != "" && c.ServiceName != in.ServiceName) || (in.ServiceInstanceName != "" && c.ServiceInstanceName != in.ServiceInstanceName) {
			continue
		}
		list = append(list, s.componentSummary(r))
	}
	out := &api.ListComponentsOutput{Components: []api.ComponentSummary{}}
	if offset < len(list) {
		end := min(offset+pageSize(in.MaxResults), len(list))
		out.Components = list[offset:end]
		if end < len(list) {
			out.NextToken = encodeToken("components", strconv.Itoa(end))
		}
	}
	return out, nil
}

// UpdateComponent changes a component's description (NONE) or deploys it
// again with a new template file, service spec or attachment (CURRENT_VERSION).
// Omitted names keep the attachment; empty names detach.
func (s *API) UpdateComponent(ctx context.Context, in *api.UpdateComponentInput) (*api.UpdateComponentOutput, error) {
	r, err := s.getComponent(ctx, in.Name)
	if err != nil {
		return nil, err
	}
	fingerprint := requestFingerprint("UpdateComponent", in)
	if token := deref(in.ClientToken); token != "" && token == r.LastClientRequestToken {
		if err := checkRetry(token, r.LastClientRequest, fingerprint); err != nil {
			return nil, err
		}
		return &api.UpdateComponentOutput{Component: s.component(r)}, nil // a retry
	}
	if in.DeploymentType == api.ComponentDeploymentUpdateTypeNone {
		if in.ServiceSpec != "" || in.TemplateFile != "" || in.ServiceName != nil || in.ServiceInstanceName != nil {
			return nil, validationf("deploymentType NONE changes the description only: templateFile, serviceSpec and the attachment need CURRENT_VERSION")
		}
		r, err = s.cfg.Store.ResourceUpdateMetadata(ctx, store.ResourceUpdateMetadataParams{Key: r.Key, Description: in.Description, At: s.now()})
		if errors.Is(err, store.ErrActiveDeployment) {
			return nil, activeConflict("component", r)
		}
		if err != nil {
			return nil, err
		}
		return &api.UpdateComponentOutput{Component: s.component(r)}, nil
	}
	if store.IsActive(r.DeploymentStatus) {
		return nil, activeConflict("component", r)
	}
	cur := decodeComponentState(r.Spec)
	target := cur
	target.TemplateFile = cmp.Or(in.TemplateFile, cur.TemplateFile)
	target.ServiceSpec = cmp.Or(in.ServiceSpec, cur.ServiceSpec)
	if (in.ServiceName == nil) != (in.ServiceInstanceName == nil) || (in.ServiceName != nil && (*in.ServiceName == "") != (*in.ServiceInstanceName == "")) {
		return nil, validationf("serviceName and serviceInstanceName go together: give both (empty to detach), or neither to keep the attachment")
	}
	if in.ServiceName != nil {
		target.ServiceName, target.ServiceInstanceName = *in.ServiceName, *in.ServiceInstanceName
		if target.ServiceName == "" {
			target.ServiceSpec = ""
		}
	}
	if cur.ServiceName != "" && target.ServiceName != "" && (cur.ServiceName != target.ServiceName || cur.ServiceInstanceName != target.ServiceInstanceName) {
		return nil, validationf("component %s is attached to %s/%s: detach it first (empty serviceName and serviceInstanceName), then attach it elsewhere",
			r.Name, cur.ServiceName, cur.ServiceInstanceName)
	}
	if err := s.checkAPICommands(ctx, r.Name, r.EnvironmentName, target); err != nil {
		return nil, err
	}
	if _, err := s.componentEnvironment(ctx, r.EnvironmentName, target); err != nil {
		return nil, err
	}
	if err := s.checkInstanceFree(ctx, r.Name, target); err != nil {
		return nil, err
	}
	for _, c := range []componentState{cur, target} {
		if c.ServiceName == "" {
			continue
		}
		if inst, err := s.getInstance(ctx, c.ServiceName, c.ServiceInstanceName); err == nil && store.IsActive(inst.DeploymentStatus) {
			return nil, conflictf("component %s: service instance %s/%s is being deployed (%s): wait for it to end", r.Name, c.ServiceName, c.ServiceInstanceName, inst.DeploymentStatus)
		}
	}
	d, err := s.componentDeployment(ctx, r, target, store.OperationDeploy, s.now())
	if err != nil {
		return nil, err
	}
	r, err = s.cfg.Store.DeploymentStart(ctx, store.DeploymentStartParams{Deployment: d, Description: in.Description, ClientToken: in.ClientToken,
		ClientRequest: &fingerprint})
	if errors.Is(err, store.ErrActiveDeployment) {
		return nil, activeConflict("component", r)
	}
	if err != nil {
		return nil, err
	}
	s.engine.Notify()
	return &api.UpdateComponentOutput{Component: s.component(r)}, nil
}

// DeleteComponent de-provisions and deletes a detached component. A retry
// while it runs returns the component.
func (s *API) DeleteComponent(ctx context.Context, in *api.DeleteComponentInput) (*api.DeleteComponentOutput, error) {
	r, err := s.getComponent(ctx, in.Name)
	if err != nil {
		return nil, err
	}
	if r.DeploymentStatus == store.StatusDeleteInProgress {
		c := s.component(r)
		return &api.DeleteComponentOutput{Component: &c}, nil
	}
	if store.IsActive(r.DeploymentStatus) {
		return nil, activeConflict("component", r)
	}
	cur := decodeComponentState(r.Spec)
	if cur.ServiceName != "" {
		return nil, conflictf("component %s is attached to service instance %s/%s: detach it first", r.Name, cur.ServiceName, cur.ServiceInstanceName)
	}
	d, err := s.componentDeployment(ctx, r, cur, store.OperationDelete, s.now())
	if err != nil {
		return nil, err
	}
	r, err = s.cfg.Store.DeploymentStart(ctx, store.DeploymentStartParams{Deployment: d})
	if errors.Is(err, store.ErrActiveDeployment) {
		return nil, activeConflict("component", r)
	}
	if err != nil {
		return nil, err
	}
	s.engine.Notify()
	c := s.component(r)
	return &api.DeleteComponentOutput{Component: &c}, nil
}

// CancelComponentDeployment cancels the component's IN_PROGRESS deployment,
// exactly as CancelEnvironmentDeployment does.
func (s *API) CancelComponentDeployment(ctx context.Context, in *api.CancelComponentDeploymentInput) (*api.CancelComponentDeploymentOutput, error) {
	r, err := s.cancelDeployment(ctx, kindComponent, ref{Name: in.ComponentName})
	if err != nil {
		return nil, err
	}
	return &api.CancelComponentDeploymentOutput{Component: s.component(r)}, nil
}

// ListComponentOutputs lists a component's outputs, or those of one of its deployments.
func (s *API) ListComponentOutputs(ctx context.Context, in *api.ListComponentOutputsInput) (*api.ListComponentOutputsOutput, error) {
	outputs, err := s.listOutputs(ctx, kindComponent, ref{Name: in.ComponentName}, in.DeploymentId)
	if err != nil {
		return nil, err
	}
	return &api.ListComponentOutputsOutput{Outputs: outputs}, nil
}

// ListComponentProvisionedResources lists what the provisioning of the resource created (see listProvisionedResources).
func (s *API) ListComponentProvisionedResources(ctx context.Context, in *api.ListComponentProvisionedResourcesInput) (*api.ListComponentProvisionedResourcesOutput, error) {
	list, err := s.listProvisionedResources(ctx, kindComponent, ref{Name: in.ComponentName})
	if err != nil {
		return nil, err
	}
	return &api.ListComponentProvisionedResourcesOutput{ProvisionedResources: list}, nil
}

// checkInstanceFree refuses to attach component name to an instance that has
// another component: an instance has one component, its "default".
func (s *API) checkInstanceFree(ctx context.Context, name string, c componentState) error {
	if c.ServiceName == "" {
		return nil
	}
	attached, err := s.attachedComponents(ctx, c.ServiceName, c.ServiceInstanceName)
	if err != nil {
		return err
	}
	for _, other := range attached {
		if other.Name != name {
			return conflictf("service instance %s/%s already has component %s attached: an instance has one component", c.ServiceName, c.ServiceInstanceName, other.Name)
		}
	}
	return nil
}

// attachedComponents returns the components attached to an instance of
// service (instance "" for any), as deployed or as an active deployment aims.
func (s *API) attachedComponents(ctx context.Context, service, instance string) ([]*store.Resource, error) {
	all, err := s.allResources(ctx, store.ResourceFilter{Type: store.ResourceComponent})
	if err != nil {
		return nil, err
	}
	var out []*store.Resource
	for _, r := range all {
		c := decodeComponentState(r.Spec)
		attached := c.ServiceName == service && (instance == "" || c.ServiceInstanceName == instance)
		if !attached && store.IsActive(r.DeploymentStatus) {
			if d, err := s.cfg.Store.DeploymentGet(ctx, r.LastAttemptedDeploymentID); err == nil {
				t := decodeComponentState(d.TargetSpec)
				attached = t.ServiceName == service && (instance == "" || t.ServiceInstanceName == instance)
			}
		}
		if attached {
			out = append(out, r)
		}
	}
	return out, nil
}

func (s *API) component(r *store.Resource) api.Component {
	c := decodeComponentState(r.Spec)
	return api.Component{
		Arn: s.arn(r.Key), CreatedAt: apiTime(r.CreatedAt), DeploymentStatus: r.DeploymentStatus,
		DeploymentStatusMessage: r.DeploymentStatusMessage, Description: r.Description, EnvironmentName: r.EnvironmentName,
		LastAttemptedDeploymentId: r.LastAttemptedDeploymentID, LastClientRequestToken: r.LastClientRequestToken,
		LastDeploymentAttemptedAt: apiTime(r.LastDeploymentAttemptedAt), LastDeploymentSucceededAt: apiTime(r.LastDeploymentSucceededAt),
		LastModifiedAt: apiTime(r.LastModifiedAt), LastSucceededDeploymentId: r.LastSucceededDeploymentID, Name: r.Name,
		ServiceInstanceName: c.ServiceInstanceName, ServiceName: c.ServiceName, ServiceSpec: c.ServiceSpec,
	}
}

func (s *API) componentSummary(r *store.Resource) api.ComponentSummary {
	full := s.component(r)
	return api.ComponentSummary{
		Arn: full.Arn, CreatedAt: full.CreatedAt, DeploymentStatus: full.DeploymentStatus, DeploymentStatusMessage: full.DeploymentStatusMessage,
		EnvironmentName: full.EnvironmentName, LastAttemptedDeploymentId: full.LastAttemptedDeploymentId,
		LastDeploymentAttemptedAt: full.LastDeploymentAttemptedAt, LastDeploymentSucceededAt: full.LastDeploymentSucceededAt,
		LastModifiedAt: full.LastModifiedAt, LastSucceededDeploymentId: full.LastSucceededDeploymentId, Name: full.Name,
		ServiceInstanceName: full.ServiceInstanceName, ServiceName: full.ServiceName,
	}
}
