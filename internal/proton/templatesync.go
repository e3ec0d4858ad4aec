package proton

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/hadronhq/hadron/internal/api"
	"github.com/hadronhq/hadron/internal/bundle"
	"github.com/hadronhq/hadron/internal/reposync"
	"github.com/hadronhq/hadron/internal/store"
)

// Event types of template sync's resource sync attempts.
const (
	templateSyncStarted   = "SYNC_STARTED"
	templateSyncSucceeded = "SYNC_SUCCEEDED"
	templateSyncFailed    = "SYNC_FAILED"
)

// TemplateSyncer returns template sync's reposync.Syncer. For each
// template sync config on a branch, at each new commit, it finds the
// template's major version directories, `<subdirectory>/<template>/v<N>/`
// (without a subdirectory, under the first directory named after the
// template that holds such majors), and registers a new version from each
// whose content changed since the last version sync registered of it, or
// whose last synced minor was deleted: a new minor of major N, or major N
// itself when it is the template's next major. A version is checked as
// Create*TemplateVersion's registration checks it (the same parse, minor
// compatibility and manifest checks) before anything is written, and is
// registered DRAFT together with its attempt; a bundle that fails is a
// FAILED attempt whose events say why, and nothing is registered.
//
// Service template majors name their compatible environment templates in
// `.template-registration.yaml` (compatible_environments: [name:major],
// supported_component_sources) or, in the older format, `.compatible-envs`
// (one name:major a line). Environment templates sync before service
// templates, so a service template may name an environment template the
// same commit brought.
func (s *API) TemplateSyncer() reposync.Syncer { return templateSyncer{s} }

type templateSyncer struct{ s *API }

func (t templateSyncer) SyncType() string { return store.SyncTypeTemplate }

// Branches lists the branches of every template sync config.
func (t templateSyncer) Branches(ctx context.Context) ([]reposync.Branch, error) {
	configs, err := t.s.cfg.Store.TemplateSyncConfigList(ctx)
	if err != nil {
		return nil, err
	}
	var out []reposync.Branch
	for _, c := range configs {
		b := reposync.Branch{Provider: c.Provider, Repository: c.RepositoryName, Branch: c.Branch}
		if !slices.Contains(out, b) {
			out = append(out, b)
		}
	}
	return out, nil
}

// Sync registers the versions a branch's new head brings, for every
// config on the branch, environment templates first.
func (t templateSyncer) Sync(ctx context.Context, b reposync.Branch, snap *reposync.Snapshot) error {
	configs, err := t.s.cfg.Store.TemplateSyncConfigList(ctx)
	if err != nil {
		return err
	}
	configs = slices.DeleteFunc(configs, func(c *store.TemplateSyncConfig) bool {
		return c.Repository != b.Key() || c.Branch != b.Branch
	})
	slices.SortStableFunc(configs, func(x, y *store.TemplateSyncConfig) int {
		return cmp.Compare(kindOrder(x.Kind), kindOrder(y.Kind))
	})
	var errs []error
	for _, c := range configs {
		if err := t.syncTemplate(ctx, b, snap, c); err != nil {
			errs = append(errs, fmt.Errorf("%s template %s: %w", c.Kind, c.TemplateName, err))
		}
	}
	return errors.Join(errs...)
}

func kindOrder(kind string) int {
	if kind == kindEnv {
		return 0
	}
	return 1
}

// majorDir matches a major version directory's name.
var majorDir = regexp.MustCompile(`^v([1-9][0-9]*)$`)

// templateMajors finds the template's directory and its majors: the
// directory of major N is base + "/v" + N.
func templateMajors(paths []string, subdir, name string) (base string, majors []int) {
	found := map[string]map[int]bool{}
	for _, p := range paths {
		els := strings.Split(p, "/")
		for i := 0; i+2 < len(els); i++ {
			if els[i] != name {
				continue
			}
			m := majorDir.FindStringSubmatch(els[i+1])
			if m == nil {
				continue
			}
			dir := path.Join(els[:i+1]...)
			if subdir != "" && dir != path.Join(subdir, name) {
				continue
			}
			n, _ := strconv.Atoi(m[1])
			if found[dir] == nil {
				found[dir] = map[int]bool{}
			}
			found[dir][n] = true
		}
	}
	if len(found) == 0 {
		return "", nil
	}
	base = slices.Sorted(maps.Keys(found))[0]
	return base, slices.Sorted(maps.Keys(found[base]))
}

// syncTemplate registers what changed of one template.
func (t templateSyncer) syncTemplate(ctx context.Context, b reposync.Branch, snap *reposync.Snapshot, c *store.TemplateSyncConfig) error {
	paths, err := snap.Paths()
	if err != nil {
		return err
	}
	base, majors := templateMajors(paths, c.Subdirectory, c.TemplateName)
	for _, major := range majors {
		if err := t.syncMajor(ctx, b, snap, c, path.Join(base, "v"+strconv.Itoa(major)), major); err != nil {
			return err
		}
	}
	return nil
}

// digest is the content digest of a major's files: the same files give
// the same digest whatever else the commit changed.
func digest(files map[string][]byte) string {
	h := sha256.New()
	for _, name := range slices.Sorted(maps.Keys(files)) {
		fmt.Fprintf(h, "%s\x00%d\x00", name, len(files[name]))
		h.Write(files[name])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// syncMajor registers a version from dir when its content differs from
// what sync last registered of the major, or that version was deleted.
func (t templateSyncer) syncMajor(ctx context.Context, b reposync.Branch, snap *reposync.Snapshot, c *store.TemplateSyncConfig, dir string, major int) error {
	st := t.s.cfg.Store
	last, err := st.TemplateSyncMajorGet(ctx, c.Kind, c.TemplateName, major)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	lastGone := false
	if last != nil {
		_, err := st.TemplateVersionGet(ctx, c.Kind, c.TemplateName, major, last.Minor)
		if errors.Is(err, store.ErrNotFound) {
			lastGone = true
		} else if err != nil {
			return err
		}
	}
	target := store.Revision{Provider: b.Provider, Repository: b.Repository, Branch: b.Branch, Directory: dir, Commit: snap.Commit}
	key := templateMajorKey(c.Kind, c.TemplateName, major)
	prev, err := st.ResourceSyncAttemptLatest(ctx, store.SyncTypeTemplate, key, "")
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if !lastGone && !changedSinceLooked(snap, prev, target) {
		return nil
	}
	files, err := snap.Files(dir)
	if err != nil {
		return err
	}
	sum := digest(files)
	started := t.s.now()
	a := &store.ResourceSyncAttempt{
		SyncType: store.SyncTypeTemplate, TargetKey: key, Target: c.TemplateName,
		TargetRevision: target, StartedAt: started,
		Events: []store.SyncEvent{{Type: templateSyncStarted, Event: fmt.Sprintf("sync of %s from commit %s started", dir, snap.Commit), ExternalID: snap.Commit, At: started}},
	}
	if last != nil {
		a.Initial = &store.Revision{Provider: b.Provider, Repository: b.Repository, Branch: b.Branch, Directory: dir, Commit: last.Commit}
	}
	if last != nil && last.Digest == sum && !lastGone {
		// The content is the version sync registered last: nothing to
		// register. After a failed attempt, say the major is well again.
		if prev == nil || prev.Status != store.SyncFailed {
			return nil
		}
		a.Status = store.SyncSucceeded
		a.Events = append(a.Events, store.SyncEvent{Type: templateSyncSucceeded,
			Event: fmt.Sprintf("the content is version %d.%d's, registered from commit %s: nothing to register", major, last.Minor, last.Commit), ExternalID: snap.Commit, At: t.s.now()})
		return st.ResourceSyncAttemptAdd(ctx, store.ResourceSyncAttemptAddParams{Attempt: a})
	}
	v, err := t.s.syncedVersion(ctx, c, major, files, snap.Commit)
	if err == nil {
		a.Status = store.SyncSucceeded
		// The numbers the store chooses unless a version of the major is
		// created by hand meanwhile.
		a.Events = append(a.Events, store.SyncEvent{Type: templateSyncSucceeded,
			Event: fmt.Sprintf("registered version %d.%d (DRAFT) from %s", major, v.Minor, dir), ExternalID: snap.Commit, At: t.s.now()})
		err = st.ResourceSyncAttemptAdd(ctx, store.ResourceSyncAttemptAddParams{Attempt: a, Version: v,
			Major: &store.TemplateSyncMajor{Kind: c.Kind, TemplateName: c.TemplateName, Digest: sum, Commit: snap.Commit, SyncedAt: started}})
		if err == nil {
			t.s.cfg.Logger.Info("template sync registered a version", "template", c.TemplateName, "version", fmt.Sprintf("%d.%d", v.Major, v.Minor), "commit", snap.Commit)
			return nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		a.Events = a.Events[:1]
		err = fmt.Errorf("major version %d was deleted meanwhile", major)
	}
	var perr *Error
	if !errors.As(err, &perr) && !isBundleError(err) {
		return err
	}
	a.Status = store.SyncFailed
	a.Events = append(a.Events, store.SyncEvent{Type: templateSyncFailed, Event: err.Error(), ExternalID: snap.Commit, At: t.s.now()})
	t.s.cfg.Logger.Warn("template sync refused a bundle", "template", c.TemplateName, "major", major, "commit", snap.Commit, "err", err)
	return st.ResourceSyncAttemptAdd(ctx, store.ResourceSyncAttemptAddParams{Attempt: a})
}

// changedSinceLooked reports whether a major's directory (target's) may
// hold what sync has not looked at: it was never looked at, the latest
// attempt read another repository, branch or directory (the config
// changed), or a file under it changed since the commit that attempt
// read. It does not ask what changed since the branch's previous head:
// that misses the bundles already in the branch when a config is created
// or changed, or re-created after its directory changed, on a branch sync
// handles for other templates too.
func changedSinceLooked(snap *reposync.Snapshot, prev *store.ResourceSyncAttempt, target store.Revision) bool {
	if prev == nil {
		return true
	}
	looked := prev.TargetRevision
	if looked.Provider != target.Provider || looked.Repository != target.Repository || looked.Branch != target.Branch || looked.Directory != target.Directory {
		return true
	}
	return snap.ChangedUnderSince(target.Directory, looked.Commit)
}

// bundleError marks what is wrong with a synced bundle (as opposed to a
// failure to reach the store).
type bundleError struct{ err error }

func (e *bundleError) Error() string { return e.err.Error() }
func (e *bundleError) Unwrap() error { return e.err }

func isBundleError(err error) bool {
	var b *bundleError
	return errors.As(err, &b)
}

// syncedVersion checks the bundle of major's files as registration would
// and returns the DRAFT version to insert: a new minor of major, or major
// itself as a new major when it is the template's next one.
func (s *API) syncedVersion(ctx context.Context, c *store.TemplateSyncConfig, major int, files map[string][]byte, commit string) (*store.TemplateVersion, error) {
	existing, err := s.cfg.Store.TemplateVersionList(ctx, c.Kind, c.TemplateName, -1, store.Page{Limit: 1 << 20})
	if err != nil {
		return nil, err
	}
	maxMajor, minor := 0, 0
	for _, v := range existing {
		maxMajor = max(maxMajor, v.Major)
		if v.Major == major {
			minor = max(minor, v.Minor+1)
		}
	}
	storeMajor := major
	if minor == 0 { // major has no version yet
		if major != maxMajor+1 {
			return nil, validationf("directory v%d: the template's next major version is %d; sync adds majors in order", major, maxMajor+1)
		}
		storeMajor = -1
	}
	now := s.now()
	v := &store.TemplateVersion{
		Kind: c.Kind, TemplateName: c.TemplateName, Major: major, Minor: minor, Status: api.TemplateVersionStatusDraft,
		Description: "Synced from commit " + commit, CreatedAt: now, LastModifiedAt: now,
	}
	if c.Kind == kindSvc {
		compatible, sources, err := registration(files)
		if err != nil {
			return nil, err
		}
		checked, err := s.checkCompatibleEnvironmentTemplates(ctx, compatible)
		if err != nil {
			return nil, err
		}
		if v.Extra, err = (serviceExtra{CompatibleEnvironmentTemplates: checked, SupportedComponentSources: sources}).encode(); err != nil {
			return nil, err
		}
	}
	if v.Bundle, err = bundle.Pack(files); err != nil {
		return nil, err
	}
	tmpl, err := s.parseBundle(ctx, v)
	if err == nil {
		err = s.checkMinorCompatible(ctx, v, tmpl)
	}
	if err == nil {
		err = s.checkManifests(tmpl)
	}
	if err != nil {
		return nil, &bundleError{err}
	}
	v.Schema = tmpl.Schema.Raw
	v.Major = storeMajor
	return v, nil
}

// registration reads a service template major's compatible environment
// templates and supported component sources from .template-registration.yaml
// or the older .compatible-envs.
func registration(files map[string][]byte) ([]api.CompatibleEnvironmentTemplateInput, []string, error) {
	var names []string
	var sources []string
	if data, ok := files[".template-registration.yaml"]; ok {
		var reg struct {
			CompatibleEnvironments    []string `yaml:"compatible_environments"`
			SupportedComponentSources []string `yaml:"supported_component_sources"`
		}
		if err := yaml.Unmarshal(data, &reg); err != nil {
			return nil, nil, validationf(".template-registration.yaml: %v", err)
		}
		names, sources = reg.CompatibleEnvironments, reg.SupportedComponentSources
	} else if data, ok := files[".compatible-envs"]; ok {
		for _, line := range strings.Split(string(data), "\n") {
			if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
				names = append(names, line)
			}
		}
	} else {
		return nil, nil, validationf("a service template major needs .template-registration.yaml (compatible_environments) or .compatible-envs")
	}
	if len(names) == 0 {
		return nil, nil, validationf("no compatible environment template named: compatible_environments lists env-template-name:major")
	}
	for _, src := range sources {
		if src != api.ServiceTemplateSupportedComponentSourceTypeDirectlyDefined {
			return nil, nil, validationf("supported_component_sources: %q is not DIRECTLY_DEFINED", src)
		}
	}
	out := make([]api.CompatibleEnvironmentTemplateInput, 0, len(names))
	for _, n := range names {
		name, major, ok := strings.Cut(n, ":")
		if !ok || name == "" || major == "" {
			return nil, nil, validationf("compatible environment %q is not env-template-name:major", n)
		}
		out = append(out, api.CompatibleEnvironmentTemplateInput{TemplateName: name, MajorVersion: major})
	}
	return out, sources, nil
}
