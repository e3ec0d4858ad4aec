package proton

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/hadronhq/hadron/internal/api"
	"github.com/hadronhq/hadron/internal/bundle"
	"github.com/hadronhq/hadron/internal/provision"
	"github.com/hadronhq/hadron/internal/store"
)

// envSettings is an environment's provisioning configuration, kept as the
// resource's settings JSON and returned as given.
type envSettings struct {
	ProtonServiceRoleArn           string `json:"protonServiceRoleArn,omitempty"`
	CodebuildRoleArn               string `json:"codebuildRoleArn,omitempty"`
	ComponentRoleArn               string `json:"componentRoleArn,omitempty"`
	EnvironmentAccountConnectionID string `json:"environmentAccountConnectionId,omitempty"`
	// EnvironmentAccountID is the account of the connection's environment
	// (set with EnvironmentAccountConnectionID).
	EnvironmentAccountID   string      `json:"environmentAccountId,omitempty"`
	ProvisioningRepository *repoBranch `json:"provisioningRepository,omitempty"`
	Provisioning           string      `json:"provisioning,omitempty"`
	// CreateRequest fingerprints the CreateEnvironment call, so that a retry of
	// the same call returns the environment instead of a conflict.
	CreateRequest string `json:"createRequest,omitempty"`
}

type repoBranch struct {
	Provider string `json:"provider"`
	Name     string `json:"name"`
	Branch   string `json:"branch"`
}

// CreateEnvironment creates an environment from a published template version
// and deploys it.
func (s *API) CreateEnvironment(ctx context.Context, in *api.CreateEnvironmentInput) (*api.CreateEnvironmentOutput, error) {
	tags, err := tagMap("tags", in.Tags)
	if err != nil {
		return nil, err
	}
	t, err := s.getTemplate(ctx, kindEnv, in.TemplateName)
	if err != nil {
		return nil, err
	}
	v, err := s.resolveVersion(ctx, t, in.TemplateMajorVersion, in.TemplateMinorVersion)
	if err != nil {
		return nil, err
	}
	settings := envSettings{
		ProtonServiceRoleArn: in.ProtonServiceRoleArn, CodebuildRoleArn: in.CodebuildRoleArn,
		ComponentRoleArn: in.ComponentRoleArn, EnvironmentAccountConnectionID: in.EnvironmentAccountConnectionId,
		Provisioning: t.Provisioning,
	}
	repo := ""
	if r := in.ProvisioningRepository; r != nil {
		settings.ProvisioningRepository = &repoBranch{Provider: r.Provider, Name: r.Name, Branch: r.Branch}
		if repo, err = s.linkedRepository(ctx, settings.ProvisioningRepository, KindNotFound); err != nil {
			return nil, err
		}
	}
	if id := in.EnvironmentAccountConnectionId; id != "" {
		c, err := s.checkConnection(ctx, id, in.Name)
		if err != nil {
			return nil, err
		}
		settings.EnvironmentAccountID = c.EnvironmentAccount
	}
	fingerprint, _ := json.Marshal([]string{in.TemplateName, in.TemplateMajorVersion, in.TemplateMinorVersion, in.Spec, deref(in.Description),
		in.ProtonServiceRoleArn, in.CodebuildRoleArn, in.ComponentRoleArn, in.EnvironmentAccountConnectionId})
	settings.CreateRequest = string(fingerprint)

	key := environmentKey(in.Name)
	plan, _, err := s.envDeployPlan(ctx, key, in.Name, v, in.Spec, "", settings, "")
	if err != nil {
		return nil, err
	}
	now := s.now()
	d := s.newEnvDeployment(ctx, key, in.Name, store.OperationDeploy, v, in.Spec, plan, now)
	settingsJSON, _ := json.Marshal(settings)
	var conn *string
	if in.EnvironmentAccountConnectionId != "" {
		conn = &in.EnvironmentAccountConnectionId
	}
	r, err := s.cfg.Store.DeploymentStart(ctx, store.DeploymentStartParams{
		Deployment: d, Connection: conn,
		Create: &store.Resource{
			Key: key, Type: store.ResourceEnvironment, Name: in.Name, EnvironmentName: in.Name, Description: deref(in.Description),
			TemplateName: v.TemplateName, TemplateMajor: strconv.Itoa(v.Major), TemplateMinor: strconv.Itoa(v.Minor),
			Spec: in.Spec, Settings: string(settingsJSON), Repository: repo, CreatedAt: now, LastModifiedAt: now, Tags: tags,
		},
	})
	if errors.Is(err, store.ErrExists) {
		return s.createEnvironmentRetry(ctx, key, settings.CreateRequest)
	}
	if errors.Is(err, store.ErrConnectionUnusable) {
		return nil, connectionUnusable(in.EnvironmentAccountConnectionId)
	}
	if errors.Is(err, store.ErrNotFound) {
		// The repository was unlinked since linkedRepository saw it.
		return nil, notLinked(settings.ProvisioningRepository, KindNotFound)
	}
	if err != nil {
		return nil, err
	}
	s.engine.Notify()
	return &api.CreateEnvironmentOutput{Environment: s.environment(r)}, nil
}

// createEnvironmentRetry answers a CreateEnvironment for a name that exists:
// the same call retried gets the environment, as long as nothing changed it since.
func (s *API) createEnvironmentRetry(ctx context.Context, key, fingerprint string) (*api.CreateEnvironmentOutput, error) {
	r, err := s.cfg.Store.ResourceGet(ctx, key)
	if err != nil {
		return nil, err
	}
	var prev envSettings
	json.Unmarshal([]byte(r.Settings), &prev)
	switch prev.CreateRequest {
	case fingerprint:
	case "": // created before fingerprints were kept: no telling a retry
		return nil, conflictf("environment %s already exists", r.Name)
	default:
		return nil, createMismatch("environment", r.Name)
	}
	// Changed since by an update or delete: the create's deployment, the only
	// one without an initial state, is no longer the last attempt.
	last, err := s.cfg.Store.DeploymentGet(ctx, r.LastAttemptedDeploymentID)
	if err != nil || last.InitialState != "" {
		return nil, conflictf("environment %s already exists and was changed since it was created", r.Name)
	}
	return &api.CreateEnvironmentOutput{Environment: s.environment(r)}, nil
}

// resolveVersion finds the published version a resource deploys: the given
// minor, or the recommended (highest published) minor of the major.
func (s *API) resolveVersion(ctx context.Context, t *store.Template, majorS, minorS string) (*store.TemplateVersion, error) {
	major, err := strconv.Atoi(majorS)
	if err != nil {
		return nil, validationf("templateMajorVersion %q is not a number", majorS)
	}
	minor := -1
	if minorS != "" {
		if minor, err = strconv.Atoi(minorS); err != nil {
			return nil, validationf("templateMinorVersion %q is not a number", minorS)
		}
	} else {
		versions, err := s.cfg.Store.TemplateVersionList(ctx, t.Kind, t.Name, major, store.Page{Limit: 1})
		if err != nil {
			return nil, err
		}
		if len(versions) == 0 || versions[0].RecommendedMinor < 0 {
			return nil, validationf("%s template %s has no published version in major version %d", t.Kind, t.Name, major)
		}
		minor = versions[0].RecommendedMinor
	}
	v, err := s.cfg.Store.TemplateVersionGet(ctx, t.Kind, t.Name, major, minor)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFoundf("%s template %s has no version %d.%d", t.Kind, t.Name, major, minor)
	}
	if err != nil {
		return nil, err
	}
	if v.Status != api.TemplateVersionStatusPublished {
		return nil, validationf("%s template version %s:%d.%d is %s: only a PUBLISHED version can be deployed", t.Kind, t.Name, major, minor, v.Status)
	}
	return v, nil
}

// envDeployPlan validates spec against the version's schema and the settings
// against its manifest, and returns what the deployment will run.
// currentSpec, when set, supplies the values ${Proton::CURRENT_VAL} keeps.
// It also returns spec with ${Proton::CURRENT_VAL} resolved, the spec to keep.
// prev is the environment's last successful deployment ("" for a create).
func (s *API) envDeployPlan(ctx context.Context, key, name string, v *store.TemplateVersion, spec, currentSpec string, settings envSettings, prev string) (provision.Plan, string, error) {
	tmpl, err := s.parseBundle(ctx, v)
	if err != nil {
		return provision.Plan{}, "", fmt.Errorf("template version %s:%d.%d no longer parses: %w", v.TemplateName, v.Major, v.Minor, err)
	}
	var current map[string]any
	if currentSpec != "" {
		current, _ = tmpl.Schema.EnvironmentInputs(currentSpec)
	}
	inputs, err := tmpl.Schema.EnvironmentInputsWithCurrent(spec, current)
	if err != nil {
		return provision.Plan{}, "", validationf("%s", err.Error())
	}
	spec, err = bundle.ResolveCurrentValues(spec, func(section, input string) (any, bool) {
		v, ok := inputs[input]
		return v, ok && section == bundle.SectionEnvironment
	})
	if err != nil {
		return provision.Plan{}, "", err
	}
	plan, err := s.envPlan(ctx, key, name, v, tmpl, inputs, settings, provision.OperationDeploy, prev)
	return plan, spec, err
}

// envPlan builds the plan of a deployment (deploy or delete) of an
// environment: a customer-managed one (or one whose template has no
// infrastructure) on the customer-managed engine, the others on the engine
// their manifest names.
func (s *API) envPlan(ctx context.Context, key, name string, v *store.TemplateVersion, tmpl *bundle.Template, inputs map[string]any, settings envSettings, op, prev string) (provision.Plan, error) {
	req := provision.Request{
		Engine: provision.CustomerManaged, Operation: op, Target: s.target(provision.KindEnvironment, key, name, name, "", v),
		Settings: settings.provisioning(), Inputs: s.envInputs(name, inputs), PreviousDeploymentID: prev,
	}
	if settings.Provisioning != api.ProvisioningCustomerManaged && tmpl.Infrastructure != nil {
		m := tmpl.Infrastructure.Manifest
		req.Engine, req.Manifest, req.Bundle = m.Engine(), &m, bundleRef(v, "infrastructure")
	}
	plan, err := s.plan(ctx, req)
	if err != nil {
		return provision.Plan{}, err
	}
	// Proton's own rule, whatever the engine.
	if op == provision.OperationDeploy && req.Engine != provision.CustomerManaged &&
		settings.ProvisioningRepository != nil && (settings.ProtonServiceRoleArn != "" || settings.EnvironmentAccountConnectionID != "") {
		return provision.Plan{}, validationf("provisioningRepository (self-managed provisioning) cannot be combined with protonServiceRoleArn or environmentAccountConnectionId")
	}
	return plan, nil
}

func (s *API) newEnvDeployment(ctx context.Context, key, name, op string, v *store.TemplateVersion, spec string, plan provision.Plan, now time.Time) *store.Deployment {
	d := s.newDeployment(ctx, key, store.ResourceEnvironment, op, v, spec, plan, now)
	d.EnvironmentName = name
	target, _ := json.Marshal(api.DeploymentState{Environment: &api.EnvironmentState{
		TemplateName: v.TemplateName, TemplateMajorVersion: d.TargetMajor, TemplateMinorVersion: d.TargetMinor, Spec: spec,
	}})
	d.TargetState = string(target)
	return d
}

// newDeployment returns a deployment of resource key to version v with spec,
// to be started (IN_PROGRESS, or DELETE_IN_PROGRESS for a delete).
func (s *API) newDeployment(ctx context.Context, key, targetType, op string, v *store.TemplateVersion, spec string, plan provision.Plan, now time.Time) *store.Deployment {
	planJSON, _ := json.Marshal(plan)
	status := store.StatusInProgress
	if op == store.OperationDelete {
		status = store.StatusDeleteInProgress
	}
	d := &store.Deployment{
		ID: newDeploymentID(), TargetKey: key, TargetType: targetType, Operation: op, Status: status,
		Plan: string(planJSON), TargetTemplate: v.TemplateName, TargetMajor: strconv.Itoa(v.Major),
		TargetMinor: strconv.Itoa(v.Minor), TargetSpec: spec, CreatedAt: now, LastModifiedAt: now,
	}
	d.StartedByKeyID, d.StartedBy = starterOf(ctx).record()
	return d
}

// GetEnvironment returns one environment.
func (s *API) GetEnvironment(ctx context.Context, in *api.GetEnvironmentInput) (*api.GetEnvironmentOutput, error) {
	r, err := s.getEnvironment(ctx, in.Name)
	if err != nil {
		return nil, err
	}
	return &api.GetEnvironmentOutput{Environment: s.environment(r)}, nil
}

func (s *API) getEnvironment(ctx context.Context, name string) (*store.Resource, error) {
	r, err := s.cfg.Store.ResourceGet(ctx, environmentKey(name))
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFoundf("environment %s not found", name)
	}
	return r, err
}

// ListEnvironments lists environments by name, optionally only those on the
// given template major versions.
func (s *API) ListEnvironments(ctx context.Context, in *api.ListEnvironmentsInput) (*api.ListEnvironmentsOutput, error) {
	after, err := decodeToken("environments", in.NextToken)
	if err != nil {
		return nil, err
	}
	f := store.ResourceFilter{Type: store.ResourceEnvironment}
	for _, t := range in.EnvironmentTemplates {
		f.Templates = append(f.Templates, store.TemplateMajor{Name: t.TemplateName, Major: t.MajorVersion})
	}
	return s.listEnvironments(ctx, f, after, pageSize(in.MaxResults))
}

// listEnvironments returns one page of the environments f selects, after
// the key after.
func (s *API) listEnvironments(ctx context.Context, f store.ResourceFilter, after string, limit int) (*api.ListEnvironmentsOutput, error) {
	list, err := s.cfg.Store.ResourceList(ctx, f, store.Page{After: after, Limit: limit + 1})
	if err != nil {
		return nil, err
	}
	out := &api.ListEnvironmentsOutput{Environments: make([]api.EnvironmentSummary, 0, len(list))}
	for i, r := range list {
		if i == limit {
			out.NextToken = encodeToken("environments", list[i-1].Key)
			break
		}
		e := s.environment(r)
		out.Environments = append(out.Environments, api.EnvironmentSummary{
			Arn: e.Arn, ComponentRoleArn: e.ComponentRoleArn, CreatedAt: e.CreatedAt, DeploymentStatus: e.DeploymentStatus,
			DeploymentStatusMessage: e.DeploymentStatusMessage, Description: e.Description,
			EnvironmentAccountConnectionId: e.EnvironmentAccountConnectionId, EnvironmentAccountId: e.EnvironmentAccountId,
			LastAttemptedDeploymentId: e.LastAttemptedDeploymentId, LastDeploymentAttemptedAt: e.LastDeploymentAttemptedAt,
			LastDeploymentSucceededAt: e.LastDeploymentSucceededAt, LastSucceededDeploymentId: e.LastSucceededDeploymentId,
			Name: e.Name, ProtonServiceRoleArn: e.ProtonServiceRoleArn, Provisioning: e.Provisioning,
			TemplateMajorVersion: e.TemplateMajorVersion, TemplateMinorVersion: e.TemplateMinorVersion, TemplateName: e.TemplateName,
		})
	}
	return out, nil
}

// UpdateEnvironment changes an environment's metadata (NONE) or deploys it
// again: with the same version (CURRENT_VERSION), another minor of its major
// (MINOR_VERSION) or a higher major (MAJOR_VERSION).
func (s *API) UpdateEnvironment(ctx context.Context, in *api.UpdateEnvironmentInput) (*api.UpdateEnvironmentOutput, error) {
	r, err := s.getEnvironment(ctx, in.Name)
	if err != nil {
		return nil, err
	}
	var settings envSettings
	json.Unmarshal([]byte(r.Settings), &settings)
	if err := updateEnvSettings(&settings, in); err != nil {
		return nil, err
	}
	if id := in.EnvironmentAccountConnectionId; id != "" {
		c, err := s.checkConnection(ctx, id, r.Name)
		if err != nil {
			return nil, err
		}
		if prev := envSettingsOf(r).EnvironmentAccountID; prev != "" && prev != c.EnvironmentAccount {
			return nil, validationf("environment account connection %s is of account %s: environment %s is in account %s", id, c.EnvironmentAccount, r.Name, prev)
		}
		settings.EnvironmentAccountID = c.EnvironmentAccount
	}
	settingsJSON, _ := json.Marshal(settings)
	settingsS := string(settingsJSON)
	// The connection the environment uses from now on, when the update
	// changes it: the store locks it and records it (see RejectEnvironmentAccountConnection).
	var conn *string
	switch {
	case in.EnvironmentAccountConnectionId != "":
		conn = &in.EnvironmentAccountConnectionId
	case in.ProtonServiceRoleArn != "":
		conn = ptr("")
	}
	var repo *string
	if in.ProvisioningRepository != nil {
		key, err := s.linkedRepository(ctx, settings.ProvisioningRepository, KindNotFound)
		if err != nil {
			return nil, err
		}
		repo = &key
	}

	if in.DeploymentType == api.DeploymentUpdateTypeNone {
		if in.Spec != "" || in.TemplateMajorVersion != "" || in.TemplateMinorVersion != "" {
			return nil, validationf("deploymentType NONE changes metadata only: spec, templateMajorVersion and templateMinorVersion need CURRENT_VERSION, MINOR_VERSION or MAJOR_VERSION")
		}
		r, err = s.cfg.Store.ResourceUpdateMetadata(ctx, store.ResourceUpdateMetadataParams{Key: r.Key, Description: in.Description, Settings: &settingsS, Repository: repo, Connection: conn, At: s.now()})
		if errors.Is(err, store.ErrActiveDeployment) {
			return nil, activeConflict("environment", r)
		}
		if errors.Is(err, store.ErrConnectionUnusable) {
			return nil, connectionUnusable(in.EnvironmentAccountConnectionId)
		}
		if errors.Is(err, store.ErrNotFound) && repo != nil {
			return nil, notLinked(settings.ProvisioningRepository, KindNotFound)
		}
		if err != nil {
			return nil, err
		}
		return &api.UpdateEnvironmentOutput{Environment: s.environment(r)}, nil
	}
	if store.IsActive(r.DeploymentStatus) {
		return nil, activeConflict("environment", r)
	}
	v, err := s.deployVersion(ctx, kindEnv, r, in.DeploymentType, in.TemplateMajorVersion, in.TemplateMinorVersion)
	if err != nil {
		return nil, err
	}
	spec := in.Spec
	if spec == "" {
		spec = r.Spec
	}
	plan, spec, err := s.envDeployPlan(ctx, r.Key, r.Name, v, spec, r.Spec, settings, r.LastSucceededDeploymentID)
	if err != nil {
		return nil, err
	}
	d := s.newEnvDeployment(ctx, r.Key, r.Name, store.OperationDeploy, v, spec, plan, s.now())
	d.InitialState = envState(r)
	r, err = s.cfg.Store.DeploymentStart(ctx, store.DeploymentStartParams{Deployment: d, Description: in.Description, Settings: &settingsS, Repository: repo, Connection: conn})
	if errors.Is(err, store.ErrActiveDeployment) {
		return nil, activeConflict("environment", r)
	}
	if errors.Is(err, store.ErrConnectionUnusable) {
		return nil, connectionUnusable(in.EnvironmentAccountConnectionId)
	}
	if errors.Is(err, store.ErrNotFound) && repo != nil {
		return nil, notLinked(settings.ProvisioningRepository, KindNotFound)
	}
	if err != nil {
		return nil, err
	}
	s.engine.Notify()
	return &api.UpdateEnvironmentOutput{Environment: s.environment(r)}, nil
}

// deployVersion returns the published template version an update of r with
// deploymentType deploys (see targetVersion).
func (s *API) deployVersion(ctx context.Context, kind string, r *store.Resource, deploymentType, major, minor string) (*store.TemplateVersion, error) {
	t, err := s.getTemplate(ctx, kind, r.TemplateName)
	if err != nil {
		return nil, err
	}
	if major, minor, err = targetVersion(t, r, deploymentType, major, minor); err != nil {
		return nil, err
	}
	return s.resolveVersion(ctx, t, major, minor)
}

// targetVersion applies Proton's version rules of an update's deploymentType
// and returns the major and minor ("" for the recommended minor) to deploy.
func targetVersion(t *store.Template, r *store.Resource, deploymentType, major, minor string) (string, string, error) {
	switch deploymentType {
	case api.DeploymentUpdateTypeCurrentVersion:
		if major != "" || minor != "" {
			return "", "", validationf("deploymentType CURRENT_VERSION deploys the version in use: leave templateMajorVersion and templateMinorVersion out, or use MINOR_VERSION or MAJOR_VERSION")
		}
		return r.TemplateMajor, r.TemplateMinor, nil
	case api.DeploymentUpdateTypeMinorVersion:
		if major != "" && major != r.TemplateMajor {
			return "", "", validationf("deploymentType MINOR_VERSION stays in major version %s: templateMajorVersion %s needs MAJOR_VERSION", r.TemplateMajor, major)
		}
		return r.TemplateMajor, minor, nil
	case api.DeploymentUpdateTypeMajorVersion:
		cur, _ := strconv.Atoi(r.TemplateMajor)
		if major == "" {
			if t.RecommendedMajor <= cur {
				return "", "", validationf("template %s has no published major version higher than %d", t.Name, cur)
			}
			return strconv.Itoa(t.RecommendedMajor), minor, nil
		}
		if m, _ := strconv.Atoi(major); m <= cur {
			return "", "", validationf("deploymentType MAJOR_VERSION moves to a higher major version than %d: templateMajorVersion %s is not higher (use MINOR_VERSION or CURRENT_VERSION)", cur, major)
		}
		return major, minor, nil
	}
	return "", "", validationf("deploymentType %q is not one of NONE, CURRENT_VERSION, MINOR_VERSION, MAJOR_VERSION", deploymentType)
}

// updateEnvSettings applies an update's provisioning changes with Proton's rules.
func updateEnvSettings(st *envSettings, in *api.UpdateEnvironmentInput) error {
	if in.ProtonServiceRoleArn != "" && in.EnvironmentAccountConnectionId != "" {
		return validationf("update protonServiceRoleArn or environmentAccountConnectionId, not both")
	}
	if st.ProvisioningRepository != nil && (in.ProtonServiceRoleArn != "" || in.EnvironmentAccountConnectionId != "") {
		return validationf("environment uses self-managed provisioning (provisioningRepository): protonServiceRoleArn and environmentAccountConnectionId do not apply")
	}
	if in.ProtonServiceRoleArn != "" {
		st.ProtonServiceRoleArn, st.EnvironmentAccountConnectionID, st.EnvironmentAccountID = in.ProtonServiceRoleArn, "", ""
	}
	if in.EnvironmentAccountConnectionId != "" {
		st.EnvironmentAccountConnectionID, st.ProtonServiceRoleArn = in.EnvironmentAccountConnectionId, ""
	}
	if in.CodebuildRoleArn != "" {
		st.CodebuildRoleArn = in.CodebuildRoleArn
	}
	if in.ComponentRoleArn != "" {
		st.ComponentRoleArn = in.ComponentRoleArn
	}
	if r := in.ProvisioningRepository; r != nil {
		if st.ProvisioningRepository == nil {
			return validationf("provisioningRepository can only be changed on an environment that uses self-managed provisioning")
		}
		st.ProvisioningRepository = &repoBranch{Provider: r.Provider, Name: r.Name, Branch: r.Branch}
	}
	return nil
}

// DeleteEnvironment de-provisions and deletes an environment. A retry while the
// delete runs returns the environment.
func (s *API) DeleteEnvironment(ctx context.Context, in *api.DeleteEnvironmentInput) (*api.DeleteEnvironmentOutput, error) {
	r, err := s.getEnvironment(ctx, in.Name)
	if alreadyGone(err) {
		return &api.DeleteEnvironmentOutput{}, nil
	}
	if err != nil {
		return nil, err
	}
	if r.DeploymentStatus == store.StatusDeleteInProgress {
		return &api.DeleteEnvironmentOutput{Environment: ptr(s.environment(r))}, nil
	}
	if store.IsActive(r.DeploymentStatus) {
		return nil, activeConflict("environment", r)
	}
	users, err := s.cfg.Store.ResourceList(ctx, store.ResourceFilter{EnvironmentName: in.Name}, store.Page{Limit: 2})
	if err != nil {
		return nil, err
	}
	for _, u := range users {
		if u.Type != store.ResourceEnvironment {
			return nil, conflictf("environment %s still has %s deployed in it: delete them first", in.Name, u.Key)
		}
	}
	plan, v, err := s.envDeletePlan(ctx, r)
	if err != nil {
		return nil, err
	}
	d := s.newEnvDeployment(ctx, r.Key, r.Name, store.OperationDelete, v, r.Spec, plan, s.now())
	d.InitialState = envState(r)
	r, err = s.cfg.Store.DeploymentStart(ctx, store.DeploymentStartParams{Deployment: d})
	if errors.Is(err, store.ErrActiveDeployment) {
		return nil, activeConflict("environment", r)
	}
	if err != nil {
		return nil, err
	}
	s.engine.Notify()
	return &api.DeleteEnvironmentOutput{Environment: ptr(s.environment(r))}, nil
}

// envDeletePlan decides how to de-provision an environment: with the engine
// of the version it runs, when provision.Registry.Deprovision says there is
// something to undo; not at all when the template no longer parses.
func (s *API) envDeletePlan(ctx context.Context, r *store.Resource) (provision.Plan, *store.TemplateVersion, error) {
	major, _ := strconv.Atoi(r.TemplateMajor)
	minor, _ := strconv.Atoi(r.TemplateMinor)
	v, err := s.cfg.Store.TemplateVersionGet(ctx, kindEnv, r.TemplateName, major, minor)
	if err != nil {
		return provision.Plan{}, nil, fmt.Errorf("template version of environment %s: %w", r.Name, err)
	}
	settings := envSettingsOf(r)
	tmpl, err := s.parseBundle(ctx, v)
	if err != nil || settings.Provisioning == api.ProvisioningCustomerManaged || tmpl.Infrastructure == nil ||
		!s.deprovision(tmpl.Infrastructure.Manifest.Engine(), r) {
		return provision.Nothing(), v, nil
	}
	inputs, err := tmpl.Schema.EnvironmentInputs(r.Spec)
	if err != nil {
		inputs = map[string]any{}
	}
	plan, err := s.envPlan(ctx, r.Key, r.Name, v, tmpl, inputs, settings, provision.OperationDelete, r.LastSucceededDeploymentID)
	return plan, v, err
}

// CancelEnvironmentDeployment cancels the environment's IN_PROGRESS deployment.
// The answer shows CANCELLING (CANCELLED when no worker had started it); the run
// is stopped and the deployment ends CANCELLED, or FAILED when it could not be
// stopped, or SUCCEEDED when it finished first. A cancel repeated while
// CANCELLING answers as the first did.
func (s *API) CancelEnvironmentDeployment(ctx context.Context, in *api.CancelEnvironmentDeploymentInput) (*api.CancelEnvironmentDeploymentOutput, error) {
	r, err := s.cancelDeployment(ctx, kindEnvironment, ref{Name: in.EnvironmentName})
	if err != nil {
		return nil, err
	}
	return &api.CancelEnvironmentDeploymentOutput{Environment: s.environment(r)}, nil
}

// ListEnvironmentOutputs lists the outputs of the environment's last successful
// deployment, or of the given deployment.
func (s *API) ListEnvironmentOutputs(ctx context.Context, in *api.ListEnvironmentOutputsInput) (*api.ListEnvironmentOutputsOutput, error) {
	outputs, err := s.listOutputs(ctx, kindEnvironment, ref{Name: in.EnvironmentName}, in.DeploymentId)
	if err != nil {
		return nil, err
	}
	return &api.ListEnvironmentOutputsOutput{Outputs: outputs}, nil
}

// ListEnvironmentProvisionedResources lists what the provisioning of the resource created (see listProvisionedResources).
func (s *API) ListEnvironmentProvisionedResources(ctx context.Context, in *api.ListEnvironmentProvisionedResourcesInput) (*api.ListEnvironmentProvisionedResourcesOutput, error) {
	list, err := s.listProvisionedResources(ctx, kindEnvironment, ref{Name: in.EnvironmentName})
	if err != nil {
		return nil, err
	}
	return &api.ListEnvironmentProvisionedResourcesOutput{ProvisionedResources: list}, nil
}

func envState(r *store.Resource) string {
	raw, _ := json.Marshal(api.DeploymentState{Environment: &api.EnvironmentState{
		TemplateName: r.TemplateName, TemplateMajorVersion: r.TemplateMajor, TemplateMinorVersion: r.TemplateMinor, Spec: r.Spec,
	}})
	return string(raw)
}

// environment is the model's Environment of r. lastDeploymentSucceededAt,
// which the model marks required, is left out until a deployment
// succeeded, as in the user guide's CreateEnvironment response example
// (the same holds for instances and pipelines; see pipeline).
func (s *API) environment(r *store.Resource) api.Environment {
	var st envSettings
	json.Unmarshal([]byte(r.Settings), &st)
	e := api.Environment{
		Arn: s.arn(r.Key), CodebuildRoleArn: st.CodebuildRoleArn, ComponentRoleArn: st.ComponentRoleArn,
		CreatedAt: apiTime(r.CreatedAt), DeploymentStatus: r.DeploymentStatus, DeploymentStatusMessage: r.DeploymentStatusMessage,
		Description: r.Description, EnvironmentAccountConnectionId: st.EnvironmentAccountConnectionID,
		EnvironmentAccountId:      st.EnvironmentAccountID,
		LastAttemptedDeploymentId: r.LastAttemptedDeploymentID, LastDeploymentAttemptedAt: apiTime(r.LastDeploymentAttemptedAt),
		LastDeploymentSucceededAt: apiTime(r.LastDeploymentSucceededAt), LastSucceededDeploymentId: r.LastSucceededDeploymentID,
		Name: r.Name, ProtonServiceRoleArn: st.ProtonServiceRoleArn, Provisioning: st.Provisioning, Spec: r.Spec,
		TemplateMajorVersion: r.TemplateMajor, TemplateMinorVersion: r.TemplateMinor, TemplateName: r.TemplateName,
	}
	if p := st.ProvisioningRepository; p != nil {
		e.ProvisioningRepository = &api.RepositoryBranch{
			Arn: s.repositoryArn(p), Branch: p.Branch, Name: p.Name, Provider: p.Provider,
		}
	}
	return e
}

func activeConflict(noun string, r *store.Resource) error {
	return conflictf("%s %s has a deployment in progress (%s is %s): wait for it to end or cancel it", noun, r.Name, r.LastAttemptedDeploymentID, r.DeploymentStatus)
}

// connectionUnusable is the answer to a create or update onto a connection
// that was rejected or deleted after it was checked.
func connectionUnusable(id string) error {
	return validationf("environment account connection %s was rejected or deleted meanwhile: only a CONNECTED connection can be used", id)
}
