package proton

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/hadronhq/hadron/internal/api"
	"github.com/hadronhq/hadron/internal/reposync"
	"github.com/hadronhq/hadron/internal/store"
)

// branchFiles is a branch's content at one commit (a reposync.Snapshot).
type branchFiles interface {
	// ReadFile returns the file at a path from the repository's root.
	ReadFile(path string) ([]byte, error)
}

// ServiceSyncer returns service sync as a syncer of the repository
// watcher: it watches the branches of the service sync configurations
// (where the proton-ops files are) and those the files name for
// instances, and syncs the services of a branch's repository when the
// branch moves.
func (s *API) ServiceSyncer() reposync.Syncer { return serviceSyncer{s} }

type serviceSyncer struct{ s *API }

// SyncType is store.SyncTypeService.
func (serviceSyncer) SyncType() string { return store.SyncTypeService }

// Branches lists the branches of every configuration and the other
// branches their proton-ops files named for instances, as the last sync
// of each file found them.
func (y serviceSyncer) Branches(ctx context.Context) ([]reposync.Branch, error) {
	configs, err := y.s.allServiceSyncConfigs(ctx)
	if err != nil {
		return nil, err
	}
	seen := map[reposync.Branch]bool{}
	var out []reposync.Branch
	add := func(b reposync.Branch) {
		if !seen[b] {
			seen[b] = true
			out = append(out, b)
		}
	}
	for _, c := range configs {
		add(reposync.Branch{Provider: c.Provider, Repository: c.RepositoryName, Branch: c.Branch})
		followed, err := y.s.followedEntries(ctx, c.ServiceName)
		if err != nil {
			return nil, err
		}
		for _, e := range followed {
			add(reposync.Branch{Provider: c.Provider, Repository: c.RepositoryName, Branch: cmp.Or(e.Branch, c.Branch)})
		}
	}
	return out, nil
}

// Sync runs the sync of every service configured on the branch's
// repository with the branch's new head.
func (y serviceSyncer) Sync(ctx context.Context, b reposync.Branch, snap *reposync.Snapshot) error {
	return y.s.syncBranch(ctx, b.Key(), b.Branch, snap.Commit, snap)
}

func (s *API) allServiceSyncConfigs(ctx context.Context) ([]*store.ServiceSyncConfig, error) {
	var all []*store.ServiceSyncConfig
	after := ""
	for {
		list, err := s.cfg.Store.ServiceSyncConfigList(ctx, store.ServiceSyncConfigFilter{}, store.Page{After: after, Limit: 500})
		if err != nil {
			return nil, err
		}
		all = append(all, list...)
		if len(list) < 500 {
			return all, nil
		}
		after = list[len(list)-1].ServiceName
	}
}

// syncBranch runs the sync of every service configured on repository
// with branch at commit. Errors of one service do not stop the others;
// they are joined, and the watcher offers the commit again at its next
// poll.
func (s *API) syncBranch(ctx context.Context, repository, branch, commit string, files branchFiles) error {
	var errs []error
	after := ""
	for {
		list, err := s.cfg.Store.ServiceSyncConfigList(ctx, store.ServiceSyncConfigFilter{Repository: repository}, store.Page{After: after, Limit: 100})
		if err != nil {
			return err
		}
		for _, c := range list {
			if err := s.syncService(ctx, c, branch, commit, files); err != nil {
				errs = append(errs, fmt.Errorf("service %s: %w", c.ServiceName, err))
			}
		}
		if len(list) < 100 {
			return errors.Join(errs...)
		}
		after = list[len(list)-1].ServiceName
	}
}

// Sync attempt statuses (the model's ResourceSyncStatus) and the types of
// the events an attempt records.
const (
	syncInitiated  = "INITIATED"
	syncInProgress = "IN_PROGRESS"
	syncSucceeded  = "SUCCEEDED"
	syncFailed     = "FAILED"

	eventSyncInitiated       = "SYNC_INITIATED"
	eventSyncFailed          = "SYNC_FAILED"
	eventSyncBlocked         = "SYNC_BLOCKED"
	eventDeploymentStarted   = "DEPLOYMENT_STARTED"
	eventDeploymentSucceeded = "DEPLOYMENT_SUCCEEDED"
	eventDeploymentFailed    = "DEPLOYMENT_FAILED"
)

// pipelineSync is the InstanceSync row that keeps what sync last applied
// to the service's pipeline; no instance can have this name.
const pipelineSync = ""

// opsFile is a proton-ops file: for each service, for each instance, the
// branch and the spec file the instance follows.
type opsFile struct {
	Sync struct {
		Services map[string]map[string]opsEntry `yaml:"services"`
	} `yaml:"sync"`
}

type opsEntry struct {
	Branch string `yaml:"branch"`
	Spec   string `yaml:"spec"`
}

// repoPath turns a path of a proton-ops file ("./svc/spec.yaml") into a
// path from the repository's root; a path out of the repository is an error.
func repoPath(p string) (string, error) {
	clean := path.Clean("/" + strings.TrimPrefix(p, "./"))
	if clean == "/" || strings.Contains(p, "..") {
		return "", fmt.Errorf("path %q is not a file in the repository", p)
	}
	return strings.TrimPrefix(clean, "/"), nil
}

// errRetry marks what the next offer of the same commit may do better:
// an instance whose deployment is in progress.
var errRetry = errors.New("retry at the next poll")

// syncService runs the sync of one service with branch at commit: it
// settles the deployments earlier syncs started; on the configuration's
// branch it reads the proton-ops file and keeps its entries for the
// service (so that instances on other branches are followed there too);
// then, for each entry that follows this branch and that no ACTIVE
// blocker stops, it creates or updates the instance from its entry in
// its spec file when that entry changed since the last sync (or the
// instance never synced or does not exist). Syncs of one process take
// turns; across nodes the watcher's lease on the branch keeps one node
// syncing it.
func (s *API) syncService(ctx context.Context, c *store.ServiceSyncConfig, branch, commit string, files branchFiles) error {
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	if _, err := s.cfg.Store.ServiceGet(ctx, c.ServiceName); errors.Is(err, store.ErrNotFound) {
		return nil // deleted meanwhile: its configuration went with it
	} else if err != nil {
		return err
	}
	if err := s.settleSyncDeployments(ctx, c.ServiceName); err != nil {
		return err
	}
	var entries map[string]opsEntry
	if branch == c.Branch {
		opsPath, err := repoPath(c.FilePath)
		if err != nil {
			return err
		}
		raw, err := files.ReadFile(opsPath)
		if err != nil {
			return fmt.Errorf("proton-ops file %s at %s: %w", opsPath, short(commit), err)
		}
		var ops opsFile
		if err := yaml.Unmarshal(raw, &ops); err != nil {
			return fmt.Errorf("proton-ops file %s at %s: %w", opsPath, short(commit), err)
		}
		entries = ops.Sync.Services[c.ServiceName]
		if err := s.followEntries(ctx, c, entries); err != nil {
			return err
		}
	} else {
		var err error
		if entries, err = s.followedEntries(ctx, c.ServiceName); err != nil {
			return err
		}
	}
	blockers, err := s.cfg.Store.SyncBlockerList(ctx, store.SyncBlockerFilter{ServiceName: c.ServiceName, Status: store.BlockerActive}, 1)
	if err != nil {
		return err
	}
	var serviceBlocker *store.SyncBlocker
	if len(blockers) > 0 {
		serviceBlocker = blockers[0]
	}
	var pipelineSpec *syncedSpec
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(entries)) {
		if cmp.Or(entries[name].Branch, c.Branch) != branch {
			continue
		}
		spec, err := s.syncInstance(ctx, c, name, entries[name], commit, files, serviceBlocker)
		if err != nil {
			errs = append(errs, fmt.Errorf("instance %s: %w", name, err))
		}
		if pipelineSpec == nil && spec != nil && spec.pipeline != "" {
			pipelineSpec = spec
		}
	}
	if pipelineSpec != nil && serviceBlocker == nil {
		if err := s.syncPipeline(ctx, c.ServiceName, pipelineSpec); err != nil {
			errs = append(errs, fmt.Errorf("pipeline: %w", err))
		}
	}
	return errors.Join(errs...)
}

// followed is an instance's entry of the proton-ops file as the last read
// of the file found it, kept with the instance's desired revision.
type followed struct {
	api.Revision
	// Spec is the entry's spec file; "" when the file no longer lists the instance.
	Spec string `json:"specFile,omitempty"`
}

func readFollowed(st *store.InstanceSync) followed {
	var f followed
	if st.Desired != "" {
		json.Unmarshal([]byte(st.Desired), &f)
	}
	return f
}

// followEntries keeps entries as what the service's instances follow:
// an instance the file no longer lists is no longer followed.
func (s *API) followEntries(ctx context.Context, c *store.ServiceSyncConfig, entries map[string]opsEntry) error {
	list, err := s.cfg.Store.InstanceSyncList(ctx, c.ServiceName)
	if err != nil {
		return err
	}
	known := map[string]*store.InstanceSync{}
	for _, st := range list {
		if st.InstanceName != pipelineSync {
			known[st.InstanceName] = st
		}
	}
	for name, e := range entries {
		st := known[name]
		delete(known, name)
		if st == nil {
			st = &store.InstanceSync{ServiceName: c.ServiceName, InstanceName: name}
		}
		f := readFollowed(st)
		branch := cmp.Or(e.Branch, c.Branch)
		if f.Spec == e.Spec && f.Branch == branch {
			continue
		}
		f.Spec, f.Branch, f.RepositoryName, f.RepositoryProvider = e.Spec, branch, c.RepositoryName, c.Provider
		if p, err := repoPath(e.Spec); err == nil {
			f.Directory = path.Dir(p)
		}
		if err := s.putFollowed(ctx, st, f); err != nil {
			return err
		}
	}
	for _, st := range known {
		if f := readFollowed(st); f.Spec != "" {
			f.Spec = ""
			if err := s.putFollowed(ctx, st, f); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *API) putFollowed(ctx context.Context, st *store.InstanceSync, f followed) error {
	raw, _ := json.Marshal(f)
	st.Desired, st.UpdatedAt = string(raw), s.now()
	return s.cfg.Store.InstanceSyncPut(ctx, st)
}

// followedEntries returns the entries the service's instances follow.
func (s *API) followedEntries(ctx context.Context, service string) (map[string]opsEntry, error) {
	list, err := s.cfg.Store.InstanceSyncList(ctx, service)
	if err != nil {
		return nil, err
	}
	out := map[string]opsEntry{}
	for _, st := range list {
		if f := readFollowed(st); st.InstanceName != pipelineSync && f.Spec != "" {
			out[st.InstanceName] = opsEntry{Branch: f.Branch, Spec: f.Spec}
		}
	}
	return out, nil
}

func short(commit string) string { return commit[:min(len(commit), 12)] }

// syncedSpec is a spec file as one pass read it for an instance.
type syncedSpec struct {
	content  string
	rev      api.Revision
	digest   string // of the instance's entry
	pipeline string // digest of the pipeline section, "" for none
}

// readSpec reads the spec file of entry for instance name.
func readSpec(files branchFiles, rev api.Revision, specPath, name string) (*syncedSpec, error) {
	raw, err := files.ReadFile(specPath)
	if err != nil {
		return nil, fmt.Errorf("spec file %s at %s: %w", specPath, short(rev.Sha), err)
	}
	var doc struct {
		Instances []map[string]any `yaml:"instances"`
		Pipeline  any              `yaml:"pipeline"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("spec file %s at %s: %w", specPath, short(rev.Sha), err)
	}
	out := &syncedSpec{content: string(raw), rev: rev}
	for _, inst := range doc.Instances {
		if inst["name"] == name {
			out.digest = digestOf(inst)
		}
	}
	if out.digest == "" {
		return nil, fmt.Errorf("spec file %s at %s has no entry for instance %s under instances:", specPath, short(rev.Sha), name)
	}
	if doc.Pipeline != nil {
		out.pipeline = digestOf(doc.Pipeline)
	}
	return out, nil
}

// digestOf is the digest of v's JSON (whose object keys are sorted, so
// that reordered YAML keys make the same digest).
func digestOf(v any) string {
	raw, _ := json.Marshal(v)
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:])
}

// syncInstance runs the sync of one instance and returns the spec it read
// (nil when it could not).
func (s *API) syncInstance(ctx context.Context, c *store.ServiceSyncConfig, name string, e opsEntry, commit string, files branchFiles, serviceBlocker *store.SyncBlocker) (*syncedSpec, error) {
	st, err := s.cfg.Store.InstanceSyncGet(ctx, c.ServiceName, name)
	if errors.Is(err, store.ErrNotFound) {
		st = &store.InstanceSync{ServiceName: c.ServiceName, InstanceName: name}
	} else if err != nil {
		return nil, err
	}
	branch := cmp.Or(e.Branch, c.Branch)
	rev := api.Revision{Branch: branch, RepositoryName: c.RepositoryName, RepositoryProvider: c.Provider, Sha: commit}
	specPath, err := repoPath(e.Spec)
	var spec *syncedSpec
	if err == nil {
		rev.Directory = path.Dir(specPath)
		spec, err = readSpec(files, rev, specPath, name)
	}
	if err != nil {
		// Nothing to deploy: the attempt fails with the reason, once per commit.
		if lastAttemptSha(st) != rev.Sha {
			attempt := s.newAttempt(st, name, rev)
			attempt.Status = syncFailed
			s.addEvent(&attempt, eventSyncFailed, err.Error(), "")
			return nil, s.putSync(ctx, st, rev, &attempt)
		}
		return nil, nil
	}
	_, rerr := s.cfg.Store.ResourceGet(ctx, instanceKey(c.ServiceName, name))
	exists := rerr == nil
	if rerr != nil && !errors.Is(rerr, store.ErrNotFound) {
		return nil, rerr
	}
	upToDate := exists && spec.digest == st.SpecDigest
	blocker := serviceBlocker
	if blocker == nil {
		list, err := s.cfg.Store.SyncBlockerList(ctx, store.SyncBlockerFilter{ServiceName: c.ServiceName, InstanceName: name, Status: store.BlockerActive}, 1)
		if err != nil {
			return nil, err
		}
		if len(list) > 0 {
			blocker = list[0]
		}
	}
	switch {
	case blocker != nil:
		if !upToDate && lastAttemptSha(st) != rev.Sha {
			attempt := s.newAttempt(st, name, rev)
			attempt.Status = syncFailed
			s.addEvent(&attempt, eventSyncBlocked, "sync blocker "+blocker.ID+" is ACTIVE: "+blocker.CreatedReason+" Resolve it with UpdateServiceSyncBlocker to resume.", blocker.ID)
			return spec, s.putSync(ctx, st, rev, &attempt)
		}
		return spec, nil
	case st.DeploymentID != "":
		// The deployment sync started before still runs: the watcher
		// offers this commit again at its next poll.
		return spec, fmt.Errorf("deployment %s of the previous sync is still running: %w", st.DeploymentID, errRetry)
	case upToDate:
		return spec, nil
	}
	attempt := s.newAttempt(st, name, rev)
	s.addEvent(&attempt, eventSyncInitiated, fmt.Sprintf("sync of %s from %s at %s", name, specPath, short(rev.Sha)), "")
	syncCtx := withSync(ctx)
	var inst api.ServiceInstance
	if exists {
		var out *api.UpdateServiceInstanceOutput
		out, err = s.UpdateServiceInstance(syncCtx, &api.UpdateServiceInstanceInput{
			ServiceName: c.ServiceName, Name: name, DeploymentType: api.DeploymentUpdateTypeCurrentVersion, Spec: spec.content,
		})
		if err == nil {
			inst = out.ServiceInstance
		}
	} else {
		var out *api.CreateServiceInstanceOutput
		out, err = s.CreateServiceInstance(syncCtx, &api.CreateServiceInstanceInput{ServiceName: c.ServiceName, Name: name, Spec: spec.content})
		if err == nil {
			inst = out.ServiceInstance
		}
	}
	if err != nil {
		var pe *Error
		if !errors.As(err, &pe) {
			return spec, err
		}
		attempt.Status = syncFailed
		s.addEvent(&attempt, eventSyncFailed, err.Error(), "")
		s.cfg.Logger.Warn("service sync failed", "service", c.ServiceName, "instance", name, "commit", rev.Sha, "err", err)
		if pe.Kind == KindConflict {
			// A deployment or a change of the service is in progress: the
			// watcher offers the commit again at its next poll.
			if perr := s.putSync(ctx, st, rev, &attempt); perr != nil {
				return spec, perr
			}
			return spec, fmt.Errorf("%v: %w", err, errRetry)
		}
		// The content is wrong: it is not tried again until it changes.
		st.SpecDigest = spec.digest
		return spec, s.putSync(ctx, st, rev, &attempt)
	}
	attempt.Status = syncInProgress
	s.addEvent(&attempt, eventDeploymentStarted, "deployment "+inst.LastAttemptedDeploymentId+" started", inst.LastAttemptedDeploymentId)
	st.SpecDigest, st.DeploymentID = spec.digest, inst.LastAttemptedDeploymentId
	s.cfg.Logger.Info("service sync deploying", "service", c.ServiceName, "instance", name, "commit", rev.Sha, "deployment", st.DeploymentID)
	return spec, s.putSync(ctx, st, rev, &attempt)
}

// syncPipeline updates the service's pipeline with the spec file's
// pipeline section when that changed since sync last applied it. While the
// pipeline or the service is changing it returns an error wrapping
// errRetry, as syncInstance does for an instance: the watcher records a
// commit as handled only when the sync returns nil, so a nil here would
// drop the change until the next commit.
func (s *API) syncPipeline(ctx context.Context, service string, spec *syncedSpec) error {
	pipe, err := s.cfg.Store.ResourceGet(ctx, pipelineKey(service))
	if errors.Is(err, store.ErrNotFound) {
		return nil // customer-managed pipeline, or none
	} else if err != nil {
		return err
	}
	st, err := s.cfg.Store.InstanceSyncGet(ctx, service, pipelineSync)
	if errors.Is(err, store.ErrNotFound) {
		st = &store.InstanceSync{ServiceName: service, InstanceName: pipelineSync}
	} else if err != nil {
		return err
	}
	if st.SpecDigest == spec.pipeline {
		return nil
	}
	if store.IsActive(pipe.DeploymentStatus) {
		return fmt.Errorf("pipeline deployment %s is %s: %w", pipe.LastAttemptedDeploymentID, pipe.DeploymentStatus, errRetry)
	}
	_, err = s.UpdateServicePipeline(withSync(ctx), &api.UpdateServicePipelineInput{
		ServiceName: service, DeploymentType: api.DeploymentUpdateTypeCurrentVersion, Spec: spec.content,
	})
	var pe *Error
	if err != nil && !errors.As(err, &pe) {
		return err
	}
	if pe != nil && pe.Kind == KindConflict {
		return fmt.Errorf("%v: %w", err, errRetry) // the service or pipeline is changing
	}
	if err != nil {
		s.cfg.Logger.Warn("service sync: pipeline not updated", "service", service, "commit", spec.rev.Sha, "err", err)
	}
	st.SpecDigest, st.UpdatedAt = spec.pipeline, s.now()
	return s.cfg.Store.InstanceSyncPut(ctx, st)
}

// settleSync settles the sync deployments of service as soon as one ends
// (the engine's OnFinish), so that a failure blocks the instance without
// waiting for the next pass; a service without sync has nothing to settle.
func (s *API) settleSync(ctx context.Context, service string) {
	s.syncMu.Lock()
	defer s.syncMu.Unlock()
	if err := s.settleSyncDeployments(ctx, service); err != nil {
		s.cfg.Logger.Error("service sync: settle deployments", "service", service, "err", err)
	}
}

// settleSyncDeployments records the end of the deployments sync started
// that ended since the last pass: a success ends the attempt SUCCEEDED; a
// failure (or a cancel) ends it FAILED and blocks the instance's sync, so
// that a broken spec is not deployed again and again.
func (s *API) settleSyncDeployments(ctx context.Context, service string) error {
	list, err := s.cfg.Store.InstanceSyncList(ctx, service)
	if err != nil {
		return err
	}
	for _, st := range list {
		if st.DeploymentID == "" {
			continue
		}
		d, err := s.cfg.Store.DeploymentGet(ctx, st.DeploymentID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		if d != nil && store.IsActive(d.Status) {
			continue
		}
		var attempt api.ResourceSyncAttempt
		if st.LatestAttempt != "" {
			if err := json.Unmarshal([]byte(st.LatestAttempt), &attempt); err != nil {
				return fmt.Errorf("sync attempt of %s/%s: %w", service, st.InstanceName, err)
			}
		}
		switch {
		case d == nil:
			attempt.Status = syncFailed
			s.addEvent(&attempt, eventDeploymentFailed, "deployment "+st.DeploymentID+" was deleted before it was seen to end", st.DeploymentID)
		case d.Status == store.StatusSucceeded:
			attempt.Status = syncSucceeded
			s.addEvent(&attempt, eventDeploymentSucceeded, "deployment "+d.ID+" succeeded", d.ID)
		default:
			attempt.Status = syncFailed
			msg := fmt.Sprintf("deployment %s that service sync started ended %s: %s", d.ID, d.Status, d.StatusMessage)
			s.addEvent(&attempt, eventDeploymentFailed, msg, d.ID)
			// Raised before the deployment is settled: if it cannot be, the
			// next settle tries again.
			if err := s.raiseBlocker(ctx, service, st.InstanceName, msg+" Sync of this instance stops until this blocker is resolved.",
				store.SyncBlockerContext{Key: "deploymentId", Value: d.ID}); err != nil {
				return err
			}
		}
		raw, _ := json.Marshal(attempt)
		st.LatestAttempt, st.DeploymentID, st.UpdatedAt = string(raw), "", s.now()
		if attempt.Status == syncSucceeded {
			st.LatestSuccess = st.LatestAttempt
		}
		if err := s.cfg.Store.InstanceSyncPut(ctx, st); err != nil {
			return err
		}
	}
	return nil
}

// newAttempt starts an attempt of target at rev; its initial revision is
// that of the latest successful sync (rev when none).
func (s *API) newAttempt(st *store.InstanceSync, target string, rev api.Revision) api.ResourceSyncAttempt {
	a := api.ResourceSyncAttempt{Events: []api.ResourceSyncEvent{}, InitialRevision: rev, StartedAt: apiTime(s.now()),
		Status: syncInitiated, Target: target, TargetRevision: rev}
	var last api.ResourceSyncAttempt
	if st.LatestSuccess != "" && json.Unmarshal([]byte(st.LatestSuccess), &last) == nil {
		a.InitialRevision = last.TargetRevision
	}
	return a
}

func (s *API) addEvent(a *api.ResourceSyncAttempt, typ, event, externalID string) {
	a.Events = append(a.Events, api.ResourceSyncEvent{Type: typ, Event: event, ExternalId: externalID, Time: apiTime(s.now())})
}

// lastAttemptSha is the commit of an instance's latest attempt, "" for none.
func lastAttemptSha(st *store.InstanceSync) string {
	var a api.ResourceSyncAttempt
	if st.LatestAttempt == "" || json.Unmarshal([]byte(st.LatestAttempt), &a) != nil {
		return ""
	}
	return a.TargetRevision.Sha
}

// putSync keeps st with rev as the desired state and attempt as the latest.
func (s *API) putSync(ctx context.Context, st *store.InstanceSync, rev api.Revision, attempt *api.ResourceSyncAttempt) error {
	f := readFollowed(st)
	f.Revision = rev
	desired, _ := json.Marshal(f)
	st.Desired, st.UpdatedAt = string(desired), s.now()
	if attempt != nil {
		raw, _ := json.Marshal(attempt)
		st.LatestAttempt = string(raw)
	}
	return s.cfg.Store.InstanceSyncPut(ctx, st)
}
