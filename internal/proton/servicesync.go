package proton

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/hadronhq/hadron/internal/api"
	"github.com/hadronhq/hadron/internal/store"
)

// Service sync (issue 13): a service sync configuration names a proton-ops
// file in a linked repository; its entries name, for each instance of the
// service, the branch and the spec file the instance follows. This file
// holds the operations on configurations, blockers and status; the sync
// itself is in servicesyncer.go.

// maxBlockersShown is how many of a target's latest blockers
// GetServiceSyncBlockerSummary returns.
const maxBlockersShown = 20

// CreateServiceSyncConfig has a service's instances follow a proton-ops
// file. The service must exist and the repository be linked; the model
// gives this operation no ResourceNotFoundException, so either missing is a
// ValidationException. A service has one configuration: a second is a
// ConflictException.
func (s *API) CreateServiceSyncConfig(ctx context.Context, in *api.CreateServiceSyncConfigInput) (*api.CreateServiceSyncConfigOutput, error) {
	if _, err := s.cfg.Store.ServiceGet(ctx, in.ServiceName); errors.Is(err, store.ErrNotFound) {
		return nil, validationf("service %s not found: create the service before its sync configuration", in.ServiceName)
	} else if err != nil {
		return nil, err
	}
	repo := &repoBranch{Provider: in.RepositoryProvider, Name: in.RepositoryName, Branch: in.Branch}
	key, err := s.linkedRepository(ctx, repo, KindValidation)
	if err != nil {
		return nil, err
	}
	now := s.now()
	c := &store.ServiceSyncConfig{
		ServiceName: in.ServiceName, Repository: key, Provider: in.RepositoryProvider, RepositoryName: in.RepositoryName,
		Branch: in.Branch, FilePath: in.FilePath, CreatedAt: now, LastModifiedAt: now,
	}
	err = s.cfg.Store.ServiceSyncConfigCreate(ctx, c)
	switch {
	case errors.Is(err, store.ErrExists):
		return nil, conflictf("service %s already has a service sync configuration: change it with UpdateServiceSyncConfig", in.ServiceName)
	case errors.Is(err, store.ErrNotFound):
		return nil, validationf("service %s or %s is gone: %v", in.ServiceName, repositoryName(repo.Provider, repo.Name), err)
	case err != nil:
		return nil, err
	}
	if err := s.forgetServiceSyncHeads(ctx, c); err != nil {
		return nil, err
	}
	s.cfg.Logger.Info("service sync configured", "service", c.ServiceName, "repository", c.Repository, "branch", c.Branch, "file", c.FilePath)
	return &api.CreateServiceSyncConfigOutput{ServiceSyncConfig: serviceSyncConfig(c)}, nil
}

// GetServiceSyncConfig returns a service's sync configuration;
// ResourceNotFoundException when the service has none.
func (s *API) GetServiceSyncConfig(ctx context.Context, in *api.GetServiceSyncConfigInput) (*api.GetServiceSyncConfigOutput, error) {
	c, err := s.getServiceSyncConfig(ctx, in.ServiceName)
	if err != nil {
		return nil, err
	}
	return &api.GetServiceSyncConfigOutput{ServiceSyncConfig: serviceSyncConfig(c)}, nil
}

func (s *API) getServiceSyncConfig(ctx context.Context, service string) (*store.ServiceSyncConfig, error) {
	c, err := s.cfg.Store.ServiceSyncConfigGet(ctx, service)
	if errors.Is(err, store.ErrNotFound) {
		if _, err := s.getService(ctx, service); err != nil {
			return nil, err
		}
		return nil, notFoundf("service %s has no service sync configuration", service)
	}
	return c, err
}

// UpdateServiceSyncConfig changes the repository, branch or file path a
// service follows. The next sync reads the new file; what the instances
// last synced stays, so an instance whose entry is unchanged is not
// deployed again.
func (s *API) UpdateServiceSyncConfig(ctx context.Context, in *api.UpdateServiceSyncConfigInput) (*api.UpdateServiceSyncConfigOutput, error) {
	if _, err := s.getServiceSyncConfig(ctx, in.ServiceName); err != nil {
		return nil, err
	}
	repo := &repoBranch{Provider: in.RepositoryProvider, Name: in.RepositoryName, Branch: in.Branch}
	key, err := s.linkedRepository(ctx, repo, KindNotFound)
	if err != nil {
		return nil, err
	}
	c, err := s.cfg.Store.ServiceSyncConfigUpdate(ctx, &store.ServiceSyncConfig{
		ServiceName: in.ServiceName, Repository: key, Provider: in.RepositoryProvider, RepositoryName: in.RepositoryName,
		Branch: in.Branch, FilePath: in.FilePath, LastModifiedAt: s.now(),
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFoundf("service %s has no service sync configuration, or %s is no longer linked", in.ServiceName, repositoryName(repo.Provider, repo.Name))
	}
	if err != nil {
		return nil, err
	}
	if err := s.forgetServiceSyncHeads(ctx, c); err != nil {
		return nil, err
	}
	return &api.UpdateServiceSyncConfigOutput{ServiceSyncConfig: serviceSyncConfig(c)}, nil
}

// forgetServiceSyncHeads has the watcher hand the branches of c's
// repository to service sync at its next pass even when their heads did
// not move: the watcher offers a branch only when its head differs from
// the last one handled, and on a repository that service sync already
// handles for another service a new or changed configuration would wait
// for the next push. Syncing the others again costs nothing: an instance
// whose entry did not change is not deployed again, and what failed is
// recorded once per commit. The configuration is written first: a pass
// that listed the configurations before it and records its head after
// this call leaves the service to the next commit, which syncs it.
func (s *API) forgetServiceSyncHeads(ctx context.Context, c *store.ServiceSyncConfig) error {
	if err := s.cfg.Store.SyncHeadsForget(ctx, c.Repository, store.SyncTypeService); err != nil {
		return fmt.Errorf("sync service %s at the next pass: %w", c.ServiceName, err)
	}
	return nil
}

// DeleteServiceSyncConfig stops the sync of a service and returns the
// configuration it had. The instances stay as they are; their blockers and
// sync status are kept for a later configuration.
func (s *API) DeleteServiceSyncConfig(ctx context.Context, in *api.DeleteServiceSyncConfigInput) (*api.DeleteServiceSyncConfigOutput, error) {
	c, err := s.cfg.Store.ServiceSyncConfigDelete(ctx, in.ServiceName)
	if errors.Is(err, store.ErrNotFound) {
		_, err = s.getServiceSyncConfig(ctx, in.ServiceName)
		return nil, err
	}
	if err != nil {
		return nil, err
	}
	return &api.DeleteServiceSyncConfigOutput{ServiceSyncConfig: serviceSyncConfig(c)}, nil
}

func serviceSyncConfig(c *store.ServiceSyncConfig) *api.ServiceSyncConfig {
	return &api.ServiceSyncConfig{
		Branch: c.Branch, FilePath: c.FilePath, RepositoryName: c.RepositoryName, RepositoryProvider: c.Provider, ServiceName: c.ServiceName,
	}
}

// GetServiceInstanceSyncStatus returns the latest sync attempt of an
// instance, its latest successful one and the revision it should be at;
// the members are absent while the instance never synced.
func (s *API) GetServiceInstanceSyncStatus(ctx context.Context, in *api.GetServiceInstanceSyncStatusInput) (*api.GetServiceInstanceSyncStatusOutput, error) {
	if _, err := s.getInstance(ctx, in.ServiceName, in.ServiceInstanceName); err != nil {
		return nil, err
	}
	st, err := s.cfg.Store.InstanceSyncGet(ctx, in.ServiceName, in.ServiceInstanceName)
	if errors.Is(err, store.ErrNotFound) {
		return &api.GetServiceInstanceSyncStatusOutput{}, nil
	}
	if err != nil {
		return nil, err
	}
	out := &api.GetServiceInstanceSyncStatusOutput{}
	if f := readFollowed(st); f.Sha != "" {
		out.DesiredState = &f.Revision
	}
	for _, a := range []struct {
		raw string
		to  **api.ResourceSyncAttempt
	}{{st.LatestAttempt, &out.LatestSync}, {st.LatestSuccess, &out.LatestSuccessfulSync}} {
		if a.raw == "" {
			continue
		}
		*a.to = new(api.ResourceSyncAttempt)
		if err := json.Unmarshal([]byte(a.raw), *a.to); err != nil {
			return nil, fmt.Errorf("sync status of %s/%s: %w", in.ServiceName, in.ServiceInstanceName, err)
		}
	}
	return out, nil
}

// GetServiceSyncBlockerSummary returns the latest blockers, newest first,
// of a service (those that stop all its instances) or, given an instance
// name, of that instance; ACTIVE ones stop the sync until resolved.
func (s *API) GetServiceSyncBlockerSummary(ctx context.Context, in *api.GetServiceSyncBlockerSummaryInput) (*api.GetServiceSyncBlockerSummaryOutput, error) {
	if _, err := s.getService(ctx, in.ServiceName); err != nil {
		return nil, err
	}
	list, err := s.cfg.Store.SyncBlockerList(ctx, store.SyncBlockerFilter{ServiceName: in.ServiceName, InstanceName: in.ServiceInstanceName}, maxBlockersShown)
	if err != nil {
		return nil, err
	}
	out := &api.ServiceSyncBlockerSummary{ServiceName: in.ServiceName, ServiceInstanceName: in.ServiceInstanceName, LatestBlockers: []api.SyncBlocker{}}
	for _, b := range list {
		out.LatestBlockers = append(out.LatestBlockers, syncBlocker(b))
	}
	return &api.GetServiceSyncBlockerSummaryOutput{ServiceSyncBlockerSummary: out}, nil
}

// UpdateServiceSyncBlocker resolves an ACTIVE blocker; the sync of its
// target resumes at the next poll (or webhook), applying what the repository
// holds then even where it did not change since the blocker. Resolving a
// resolved blocker is a ConflictException (it is not ACTIVE any more).
func (s *API) UpdateServiceSyncBlocker(ctx context.Context, in *api.UpdateServiceSyncBlockerInput) (*api.UpdateServiceSyncBlockerOutput, error) {
	b, err := s.cfg.Store.SyncBlockerResolve(ctx, store.SyncBlockerResolveParams{ID: in.Id, Reason: in.ResolvedReason, At: s.now()})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, notFoundf("service sync blocker %s not found", in.Id)
	case errors.Is(err, store.ErrStatusChanged):
		return nil, conflictf("service sync blocker %s is %s already (%s): only an ACTIVE blocker can be resolved", in.Id, b.Status, b.ResolvedReason)
	case err != nil:
		return nil, err
	}
	if err := s.forgetSynced(ctx, b.ServiceName, b.InstanceName); err != nil {
		return nil, err
	}
	// The watcher hands a branch to a syncer only when its head moves: forget
	// the heads service sync handled in the service's repository, so the next
	// poll applies the repository as it is now, not the next commit.
	if c, err := s.cfg.Store.ServiceSyncConfigGet(ctx, b.ServiceName); err == nil {
		if err := s.cfg.Store.SyncHeadsForget(ctx, c.Repository, store.SyncTypeService); err != nil {
			return nil, err
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	s.cfg.Logger.Info("service sync blocker resolved", "id", b.ID, "service", b.ServiceName, "instance", b.InstanceName, "reason", b.ResolvedReason)
	return &api.UpdateServiceSyncBlockerOutput{ServiceName: b.ServiceName, ServiceInstanceName: b.InstanceName, ServiceSyncBlocker: syncBlocker(b)}, nil
}

func syncBlocker(b *store.SyncBlocker) api.SyncBlocker {
	out := api.SyncBlocker{
		Id: b.ID, Type: b.Type, Status: b.Status, CreatedReason: b.CreatedReason, CreatedAt: apiTime(b.CreatedAt),
		ResolvedReason: b.ResolvedReason, ResolvedAt: apiTime(b.ResolvedAt),
	}
	for _, c := range b.Contexts {
		out.Contexts = append(out.Contexts, api.SyncBlockerContext{Key: c.Key, Value: c.Value})
	}
	return out
}

// forgetSynced clears what sync applied last to an instance (or, for "",
// to every instance of the service), so that its next pass applies the
// repository's content whether or not it changed.
func (s *API) forgetSynced(ctx context.Context, service, instance string) error {
	list, err := s.cfg.Store.InstanceSyncList(ctx, service)
	if err != nil {
		return err
	}
	for _, st := range list {
		if instance != "" && st.InstanceName != instance {
			continue
		}
		st.SpecDigest, st.UpdatedAt = "", s.now()
		if err := s.cfg.Store.InstanceSyncPut(ctx, st); err != nil {
			return err
		}
	}
	return nil
}

// Blockers raised by calls made outside of service sync.

// syncKey marks a call's context as made by service sync.
type syncKey struct{}

// withSync marks ctx as service sync's; the deployments its calls start
// are recorded as started by HadronServiceSync.
func withSync(ctx context.Context) context.Context {
	return WithStartedBy(context.WithValue(ctx, syncKey{}, true), HadronServiceSync)
}

func bySync(ctx context.Context) bool { v, _ := ctx.Value(syncKey{}).(bool); return v }

// blockManualChange raises a blocker on instance of a synced service (on
// the service itself for instance "") when a call not made by sync
// changed it, so that sync does not undo the change; nothing when the
// service has no sync configuration or the call is sync's own.
func (s *API) blockManualChange(ctx context.Context, service, instance, reason string, contexts ...store.SyncBlockerContext) {
	if bySync(ctx) {
		return
	}
	if _, err := s.cfg.Store.ServiceSyncConfigGet(ctx, service); err != nil {
		if !errors.Is(err, store.ErrNotFound) {
			s.cfg.Logger.Error("service sync: read configuration", "service", service, "err", err)
		}
		return
	}
	if err := s.raiseBlocker(ctx, service, instance, reason, contexts...); err != nil {
		// The change is made and answered; the blocker is what is missing.
		s.cfg.Logger.Error("service sync: raise blocker", "service", service, "instance", instance, "err", err)
	}
}

// raiseBlocker creates an ACTIVE blocker on a target that has none (one
// that has one is blocked already: that blocker stands for this too).
func (s *API) raiseBlocker(ctx context.Context, service, instance, reason string, contexts ...store.SyncBlockerContext) error {
	b := &store.SyncBlocker{
		ID: newDeploymentID(), ServiceName: service, InstanceName: instance, Type: store.BlockerAutomated,
		CreatedReason: reason, CreatedAt: s.now(), Contexts: contexts,
	}
	switch err := s.cfg.Store.SyncBlockerCreate(ctx, b); {
	case errors.Is(err, store.ErrExists):
		return nil
	case err != nil:
		return err
	}
	s.cfg.Logger.Warn("service sync blocked", "service", service, "instance", instance, "blocker", b.ID, "reason", reason)
	return nil
}
