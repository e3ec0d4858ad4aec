package proton

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"

	"github.com/hadronhq/hadron/internal/api"
	"github.com/hadronhq/hadron/internal/store"
)

// templateKind is the template kind of a TemplateType (ENVIRONMENT, SERVICE).
func templateKind(templateType string) (string, error) {
	switch templateType {
	case api.TemplateTypeEnvironment:
		return kindEnv, nil
	case api.TemplateTypeService:
		return kindSvc, nil
	}
	return "", validationf("templateType %q is not ENVIRONMENT or SERVICE", templateType)
}

// templateType is the TemplateType of a template kind.
func templateType(kind string) string {
	if kind == kindEnv {
		return api.TemplateTypeEnvironment
	}
	return api.TemplateTypeService
}

// cleanSubdirectory is a config's subdirectory as sync reads it: relative,
// without a trailing slash; "" for the whole repository.
func cleanSubdirectory(dir string) (string, error) {
	if dir == "" {
		return "", nil
	}
	for _, el := range strings.Split(dir, "/") {
		if el == ".." {
			return "", validationf("subdirectory %q must not go up (..)", dir)
		}
	}
	clean := strings.Trim(path.Clean("/"+dir), "/")
	return clean, nil
}

// syncConfigInput is what Create and UpdateTemplateSyncConfig ask for.
type syncConfigInput struct {
	templateName, templateType, provider, repository, branch, subdirectory string
}

// CreateTemplateSyncConfig has a template's new versions registered from
// a branch of a linked repository (see TemplateSyncer). The template must
// exist and the repository be linked; the operation's error list has no
// ResourceNotFoundException, so either missing is a ValidationException
// (as linkedRepository explains). A template has one config at most: a
// second is a ConflictException.
func (s *API) CreateTemplateSyncConfig(ctx context.Context, in *api.CreateTemplateSyncConfigInput) (*api.CreateTemplateSyncConfigOutput, error) {
	c, err := s.syncConfig(ctx, syncConfigInput{in.TemplateName, in.TemplateType, in.RepositoryProvider, in.RepositoryName, in.Branch, in.Subdirectory}, KindValidation)
	if err != nil {
		return nil, err
	}
	c.CreatedAt, c.LastModifiedAt = s.now(), s.now()
	err = s.cfg.Store.TemplateSyncConfigCreate(ctx, c)
	switch {
	case errors.Is(err, store.ErrExists):
		return nil, conflictf("%s template %s already has a template sync config: update or delete it", c.Kind, c.TemplateName)
	case errors.Is(err, store.ErrNotFound): // the template or repository went meanwhile
		return nil, validationf("%s template %s or %s is gone", c.Kind, c.TemplateName, repositoryName(in.RepositoryProvider, in.RepositoryName))
	case err != nil:
		return nil, err
	}
	if err := s.forgetTemplateSyncHeads(ctx, c); err != nil {
		return nil, err
	}
	return &api.CreateTemplateSyncConfigOutput{TemplateSyncConfig: templateSyncConfig(c)}, nil
}

// forgetTemplateSyncHeads has the watcher hand c's branch to template sync
// at its next pass even when the head did not move: the watcher offers a
// branch only when its head differs from the last one handled, and a
// branch other templates' configs watch has its head handled already, so
// a new or changed config would wait for the next push. The syncer looks
// again only at the majors changed since it last looked at them (see
// changedSinceLooked), so the others cost nothing. The config is written
// first: a pass that listed the configs before it and records its head
// after this call leaves the config to the next commit, which syncs it.
func (s *API) forgetTemplateSyncHeads(ctx context.Context, c *store.TemplateSyncConfig) error {
	if err := s.cfg.Store.SyncHeadsForget(ctx, c.Repository, store.SyncTypeTemplate); err != nil {
		return fmt.Errorf("sync %s template %s at the next pass: %w", c.Kind, c.TemplateName, err)
	}
	return nil
}

// syncConfig checks a config's template and repository, with errors of
// kind for either missing.
func (s *API) syncConfig(ctx context.Context, in syncConfigInput, kind ErrorKind) (*store.TemplateSyncConfig, error) {
	tk, err := templateKind(in.templateType)
	if err != nil {
		return nil, err
	}
	sub, err := cleanSubdirectory(in.subdirectory)
	if err != nil {
		return nil, err
	}
	if _, err := s.cfg.Store.TemplateGet(ctx, tk, in.templateName); errors.Is(err, store.ErrNotFound) {
		return nil, &Error{Kind: kind, Message: tk + " template " + in.templateName + " not found: template sync registers versions of an existing template"}
	} else if err != nil {
		return nil, err
	}
	repo, err := s.linkedRepository(ctx, &repoBranch{Provider: in.provider, Name: in.repository}, kind)
	if err != nil {
		return nil, err
	}
	return &store.TemplateSyncConfig{Kind: tk, TemplateName: in.templateName, Repository: repo, Branch: in.branch, Subdirectory: sub}, nil
}

// GetTemplateSyncConfig returns a template's sync config.
func (s *API) GetTemplateSyncConfig(ctx context.Context, in *api.GetTemplateSyncConfigInput) (*api.GetTemplateSyncConfigOutput, error) {
	c, err := s.getSyncConfig(ctx, in.TemplateType, in.TemplateName)
	if err != nil {
		return nil, err
	}
	return &api.GetTemplateSyncConfigOutput{TemplateSyncConfig: templateSyncConfig(c)}, nil
}

func (s *API) getSyncConfig(ctx context.Context, templateType, name string) (*store.TemplateSyncConfig, error) {
	kind, err := templateKind(templateType)
	if err != nil {
		return nil, err
	}
	c, err := s.cfg.Store.TemplateSyncConfigGet(ctx, kind, name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFoundf("%s template %s has no template sync config", kind, name)
	}
	return c, err
}

// UpdateTemplateSyncConfig changes the repository, branch or subdirectory
// a template is synced from. Syncs of the old branch already running end
// first; the next pass reads the new one.
func (s *API) UpdateTemplateSyncConfig(ctx context.Context, in *api.UpdateTemplateSyncConfigInput) (*api.UpdateTemplateSyncConfigOutput, error) {
	prev, err := s.getSyncConfig(ctx, in.TemplateType, in.TemplateName)
	if err != nil {
		return nil, err
	}
	c, err := s.syncConfig(ctx, syncConfigInput{in.TemplateName, in.TemplateType, in.RepositoryProvider, in.RepositoryName, in.Branch, in.Subdirectory}, KindNotFound)
	if err != nil {
		return nil, err
	}
	c.CreatedAt, c.LastModifiedAt = prev.CreatedAt, s.now()
	err = s.cfg.Store.TemplateSyncConfigUpdate(ctx, c)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFoundf("%s template %s has no template sync config, or %s is gone", c.Kind, c.TemplateName, repositoryName(in.RepositoryProvider, in.RepositoryName))
	}
	if err != nil {
		return nil, err
	}
	if err := s.forgetTemplateSyncHeads(ctx, c); err != nil {
		return nil, err
	}
	return &api.UpdateTemplateSyncConfigOutput{TemplateSyncConfig: templateSyncConfig(c)}, nil
}

// DeleteTemplateSyncConfig stops a template's sync; the versions it
// registered stay.
func (s *API) DeleteTemplateSyncConfig(ctx context.Context, in *api.DeleteTemplateSyncConfigInput) (*api.DeleteTemplateSyncConfigOutput, error) {
	kind, err := templateKind(in.TemplateType)
	if err != nil {
		return nil, err
	}
	c, err := s.cfg.Store.TemplateSyncConfigDelete(ctx, kind, in.TemplateName)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFoundf("%s template %s has no template sync config", kind, in.TemplateName)
	}
	if err != nil {
		return nil, err
	}
	return &api.DeleteTemplateSyncConfigOutput{TemplateSyncConfig: templateSyncConfig(c)}, nil
}

func templateSyncConfig(c *store.TemplateSyncConfig) *api.TemplateSyncConfig {
	return &api.TemplateSyncConfig{
		Branch: c.Branch, RepositoryName: c.RepositoryName, RepositoryProvider: c.Provider,
		Subdirectory: c.Subdirectory, TemplateName: c.TemplateName, TemplateType: templateType(c.Kind),
	}
}

// templateMajorKey is the key of a template major's sync attempts.
func templateMajorKey(kind, name string, major int) string {
	return store.TemplateKey(kind, name) + ":" + strconv.Itoa(major)
}

// GetTemplateSyncStatus returns the latest sync of a template major, the
// latest that succeeded, and the revision the latest aimed at. A template
// never synced answers with none of them.
func (s *API) GetTemplateSyncStatus(ctx context.Context, in *api.GetTemplateSyncStatusInput) (*api.GetTemplateSyncStatusOutput, error) {
	kind, err := templateKind(in.TemplateType)
	if err != nil {
		return nil, err
	}
	if _, err := s.getTemplate(ctx, kind, in.TemplateName); err != nil {
		return nil, err
	}
	major, err := strconv.Atoi(in.TemplateVersion)
	if err != nil {
		return nil, validationf("templateVersion %q is not a major version number", in.TemplateVersion)
	}
	key := templateMajorKey(kind, in.TemplateName, major)
	out := &api.GetTemplateSyncStatusOutput{}
	latest, err := s.cfg.Store.ResourceSyncAttemptLatest(ctx, store.SyncTypeTemplate, key, "")
	if errors.Is(err, store.ErrNotFound) {
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	out.LatestSync = resourceSyncAttempt(latest)
	out.DesiredState = ptr(revision(latest.TargetRevision))
	ok, err := s.cfg.Store.ResourceSyncAttemptLatest(ctx, store.SyncTypeTemplate, key, store.SyncSucceeded)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	if ok != nil {
		out.LatestSuccessfulSync = resourceSyncAttempt(ok)
	}
	return out, nil
}

func revision(r store.Revision) api.Revision {
	return api.Revision{Branch: r.Branch, Directory: r.Directory, RepositoryName: r.Repository, RepositoryProvider: r.Provider, Sha: r.Commit}
}

// resourceSyncAttempt is an attempt as the API shows it; a first sync,
// which has no initial revision, shows its target as its initial one (the
// model requires one).
func resourceSyncAttempt(a *store.ResourceSyncAttempt) *api.ResourceSyncAttempt {
	initial := a.TargetRevision
	if a.Initial != nil {
		initial = *a.Initial
	}
	out := &api.ResourceSyncAttempt{
		Events: make([]api.ResourceSyncEvent, 0, len(a.Events)), InitialRevision: revision(initial), StartedAt: apiTime(a.StartedAt),
		Status: a.Status, Target: a.Target, TargetRevision: revision(a.TargetRevision),
	}
	for _, e := range a.Events {
		out.Events = append(out.Events, api.ResourceSyncEvent{Event: e.Event, ExternalId: e.ExternalID, Time: apiTime(e.At), Type: e.Type})
	}
	return out
}

// GetRepositorySyncStatus returns the latest sync of a branch of a linked
// repository by one sync type; none when it was never synced.
func (s *API) GetRepositorySyncStatus(ctx context.Context, in *api.GetRepositorySyncStatusInput) (*api.GetRepositorySyncStatusOutput, error) {
	r, err := s.getRepository(ctx, in.RepositoryProvider, in.RepositoryName)
	if err != nil {
		return nil, err
	}
	a, err := s.cfg.Store.RepositorySyncAttemptLatest(ctx, r.Key, in.Branch, in.SyncType)
	if errors.Is(err, store.ErrNotFound) {
		return &api.GetRepositorySyncStatusOutput{}, nil
	}
	if err != nil {
		return nil, err
	}
	out := &api.RepositorySyncAttempt{Events: make([]api.RepositorySyncEvent, 0, len(a.Events)), StartedAt: apiTime(a.StartedAt), Status: a.Status}
	for _, e := range a.Events {
		out.Events = append(out.Events, api.RepositorySyncEvent{Event: e.Event, ExternalId: e.ExternalID, Time: apiTime(e.At), Type: e.Type})
	}
	return &api.GetRepositorySyncStatusOutput{LatestSync: out}, nil
}

// ListRepositorySyncDefinitions lists what a repository drives by one
// sync type: for template sync, each template synced from it (parent and
// target are the template's name, directory the config's subdirectory).
// The model's token is always empty: the list is one page.
func (s *API) ListRepositorySyncDefinitions(ctx context.Context, in *api.ListRepositorySyncDefinitionsInput) (*api.ListRepositorySyncDefinitionsOutput, error) {
	defs, err := s.cfg.Store.SyncDefinitionList(ctx, in.SyncType, repositoryKey(in.RepositoryProvider, in.RepositoryName))
	if err != nil {
		return nil, err
	}
	out := &api.ListRepositorySyncDefinitionsOutput{SyncDefinitions: make([]api.RepositorySyncDefinition, 0, len(defs))}
	for _, d := range defs {
		out.SyncDefinitions = append(out.SyncDefinitions, api.RepositorySyncDefinition{Branch: d.Branch, Directory: d.Directory, Parent: d.Parent, Target: d.Target})
	}
	return out, nil
}
