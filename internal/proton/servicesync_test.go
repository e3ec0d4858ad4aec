package proton

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"testing"
	"time"

	"github.com/hadronhq/hadron/internal/api"
	"github.com/hadronhq/hadron/internal/reposync"
	"github.com/hadronhq/hadron/internal/store"
)

// files is a branch's content at one commit, as the watcher's snapshot
// gives it (fs.ErrNotExist for a path it does not hold).
type branchContent map[string]string

func (f branchContent) ReadFile(p string) ([]byte, error) {
	c, ok := f[p]
	if !ok {
		return nil, fmt.Errorf("%s: %w", p, fs.ErrNotExist)
	}
	return []byte(c), nil
}

// serviceSyncSetup returns an API over a fresh store holding service "api" (with
// no instance) and the linked repository acme/ops.
func serviceSyncSetup(t *testing.T) (*API, store.Store) {
	t.Helper()
	s, st := repoService(t)
	now := time.Now()
	if _, err := st.ServiceChange(t.Context(), store.ServiceChangeParams{Name: "api", Create: &store.Service{Name: "api",
		TemplateName: "web", TemplateMajor: "1", TemplateMinor: "0", Status: svcActive, CreatedAt: now, LastModifiedAt: now}, At: now}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateRepository(t.Context(), &api.CreateRepositoryInput{Provider: "GITHUB", Name: "acme/ops", ConnectionArn: testConnection}); err != nil {
		t.Fatal(err)
	}
	return s, st
}

func serviceSyncInput(service string) *api.CreateServiceSyncConfigInput {
	return &api.CreateServiceSyncConfigInput{ServiceName: service, RepositoryProvider: "GITHUB", RepositoryName: "acme/ops",
		Branch: "main", FilePath: "ops/proton-ops.yaml"}
}

func TestServiceSyncConfigLifecycleAndErrors(t *testing.T) {
	t.Parallel()
	s, _ := serviceSyncSetup(t)
	ctx := t.Context()

	_, err := s.CreateServiceSyncConfig(ctx, serviceSyncInput("none"))
	wantKind(t, "create for a missing service", err, KindValidation, "service none not found")
	in := serviceSyncInput("api")
	in.RepositoryName = "acme/unlinked"
	_, err = s.CreateServiceSyncConfig(ctx, in)
	wantKind(t, "create on an unlinked repository", err, KindValidation, "acme/unlinked is not linked")

	created, err := s.CreateServiceSyncConfig(ctx, serviceSyncInput("api"))
	if err != nil {
		t.Fatal(err)
	}
	want := api.ServiceSyncConfig{ServiceName: "api", RepositoryProvider: "GITHUB", RepositoryName: "acme/ops", Branch: "main", FilePath: "ops/proton-ops.yaml"}
	if *created.ServiceSyncConfig != want {
		t.Errorf("created = %+v, want %+v", created.ServiceSyncConfig, want)
	}
	_, err = s.CreateServiceSyncConfig(ctx, serviceSyncInput("api"))
	wantKind(t, "second create", err, KindConflict, "already has a service sync configuration")
	if got, err := s.GetServiceSyncConfig(ctx, &api.GetServiceSyncConfigInput{ServiceName: "api"}); err != nil || *got.ServiceSyncConfig != want {
		t.Errorf("get = %+v, %v", got, err)
	}
	_, err = s.DeleteRepository(ctx, &api.DeleteRepositoryInput{Provider: "GITHUB", Name: "acme/ops"})
	wantKind(t, "delete of the repository a config names", err, KindConflict, "service-sync-config api")

	_, err = s.UpdateServiceSyncConfig(ctx, &api.UpdateServiceSyncConfigInput{ServiceName: "api", RepositoryProvider: "GITHUB",
		RepositoryName: "acme/unlinked", Branch: "dev", FilePath: "x.yaml"})
	wantKind(t, "update to an unlinked repository", err, KindNotFound, "acme/unlinked is not linked")
	updated, err := s.UpdateServiceSyncConfig(ctx, &api.UpdateServiceSyncConfigInput{ServiceName: "api", RepositoryProvider: "GITHUB",
		RepositoryName: "acme/ops", Branch: "dev", FilePath: "x.yaml"})
	if err != nil || updated.ServiceSyncConfig.Branch != "dev" || updated.ServiceSyncConfig.FilePath != "x.yaml" {
		t.Errorf("update = %+v, %v", updated, err)
	}
	if _, err := s.DeleteServiceSyncConfig(ctx, &api.DeleteServiceSyncConfigInput{ServiceName: "api"}); err != nil {
		t.Fatal(err)
	}
	_, err = s.GetServiceSyncConfig(ctx, &api.GetServiceSyncConfigInput{ServiceName: "api"})
	wantKind(t, "get after delete", err, KindNotFound, "service api has no service sync configuration")
	_, err = s.DeleteServiceSyncConfig(ctx, &api.DeleteServiceSyncConfigInput{ServiceName: "api"})
	wantKind(t, "second delete", err, KindNotFound, "no service sync configuration")
	_, err = s.GetServiceSyncConfig(ctx, &api.GetServiceSyncConfigInput{ServiceName: "none"})
	wantKind(t, "get for a missing service", err, KindNotFound, "service none not found")
	_, err = s.UpdateServiceSyncConfig(ctx, &api.UpdateServiceSyncConfigInput{ServiceName: "api", RepositoryProvider: "GITHUB",
		RepositoryName: "acme/ops", Branch: "dev", FilePath: "x.yaml"})
	wantKind(t, "update without a config", err, KindNotFound, "no service sync configuration")
}

func TestManualChangesOfASyncedServiceRaiseOneBlocker(t *testing.T) {
	t.Parallel()
	s, st := serviceSyncSetup(t)
	ctx := t.Context()
	active := func(instance string) []*store.SyncBlocker {
		t.Helper()
		list, err := st.SyncBlockerList(ctx, store.SyncBlockerFilter{ServiceName: "api", InstanceName: instance, Status: store.BlockerActive}, 10)
		if err != nil {
			t.Fatal(err)
		}
		return list
	}
	s.blockManualChange(ctx, "api", "one", "manual")
	if n := len(active("one")); n != 0 {
		t.Fatalf("a service without sync got %d blockers", n)
	}
	if _, err := s.CreateServiceSyncConfig(ctx, serviceSyncInput("api")); err != nil {
		t.Fatal(err)
	}
	s.blockManualChange(withSync(ctx), "api", "one", "by sync")
	if n := len(active("one")); n != 0 {
		t.Fatalf("sync's own change raised %d blockers", n)
	}
	s.blockManualChange(ctx, "api", "one", "manual update", store.SyncBlockerContext{Key: "deploymentId", Value: "d1"})
	s.blockManualChange(ctx, "api", "one", "second manual update")
	s.blockManualChange(ctx, "api", "", "instance removed")
	got := active("one")
	if len(got) != 1 || got[0].CreatedReason != "manual update" || got[0].Type != store.BlockerAutomated || got[0].Contexts[0].Value != "d1" {
		t.Fatalf("blockers of one = %+v, want the first manual update's only", got)
	}
	if n := len(active("")); n != 1 {
		t.Errorf("service blockers = %d, want 1", n)
	}
}

func TestUpdateServiceSyncBlockerResolvesOnceAndForgetsWhatWasSynced(t *testing.T) {
	t.Parallel()
	s, st := serviceSyncSetup(t)
	ctx := t.Context()
	if _, err := s.CreateServiceSyncConfig(ctx, serviceSyncInput("api")); err != nil {
		t.Fatal(err)
	}
	if err := st.InstanceSyncPut(ctx, &store.InstanceSync{ServiceName: "api", InstanceName: "one", SpecDigest: "d", UpdatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	cfg, err := st.ServiceSyncConfigGet(ctx, "api")
	if err != nil {
		t.Fatal(err)
	}
	handled := &store.RepositorySyncAttempt{Repository: cfg.Repository, Branch: cfg.Branch, SyncType: store.SyncTypeService,
		Commit: "c1", Status: store.SyncSucceeded, StartedAt: time.Now()}
	if err := st.RepositorySyncAttemptAdd(ctx, handled); err != nil {
		t.Fatal(err)
	}
	s.blockManualChange(ctx, "api", "one", "manual update")
	sum, err := s.GetServiceSyncBlockerSummary(ctx, &api.GetServiceSyncBlockerSummaryInput{ServiceName: "api", ServiceInstanceName: "one"})
	if err != nil {
		t.Fatal(err)
	}
	if b := sum.ServiceSyncBlockerSummary.LatestBlockers; len(b) != 1 || b[0].Status != "ACTIVE" || b[0].Type != "AUTOMATED" || !b[0].ResolvedAt.IsZero() {
		t.Fatalf("summary = %+v", sum.ServiceSyncBlockerSummary)
	}
	if sum, _ := s.GetServiceSyncBlockerSummary(ctx, &api.GetServiceSyncBlockerSummaryInput{ServiceName: "api"}); len(sum.ServiceSyncBlockerSummary.LatestBlockers) != 0 {
		t.Errorf("the service's own summary shows the instance's blocker: %+v", sum.ServiceSyncBlockerSummary)
	}
	id := sum.ServiceSyncBlockerSummary.LatestBlockers[0].Id
	out, err := s.UpdateServiceSyncBlocker(ctx, &api.UpdateServiceSyncBlockerInput{Id: id, ResolvedReason: "kept by hand"})
	if err != nil {
		t.Fatal(err)
	}
	if b := out.ServiceSyncBlocker; out.ServiceName != "api" || out.ServiceInstanceName != "one" || b.Status != "RESOLVED" ||
		b.ResolvedReason != "kept by hand" || b.ResolvedAt.IsZero() {
		t.Errorf("resolved = %+v", out)
	}
	if got, _ := st.InstanceSyncGet(ctx, "api", "one"); got.SpecDigest != "" {
		t.Errorf("after the resolve the instance still counts as synced (digest %q): the next pass would not apply the repository", got.SpecDigest)
	}
	if head, err := st.SyncHeadGet(ctx, cfg.Repository, cfg.Branch, store.SyncTypeService); err != nil || head != "" {
		t.Errorf("after the resolve the branch's head is still handled (%q, %v): the watcher would wait for a new commit", head, err)
	}
	_, err = s.UpdateServiceSyncBlocker(ctx, &api.UpdateServiceSyncBlockerInput{Id: id, ResolvedReason: "again"})
	wantKind(t, "second resolve", err, KindConflict, "RESOLVED already")
	_, err = s.UpdateServiceSyncBlocker(ctx, &api.UpdateServiceSyncBlockerInput{Id: "nope", ResolvedReason: "x"})
	wantKind(t, "resolve of a missing blocker", err, KindNotFound, "nope")
	_, err = s.GetServiceSyncBlockerSummary(ctx, &api.GetServiceSyncBlockerSummaryInput{ServiceName: "none"})
	wantKind(t, "summary of a missing service", err, KindNotFound, "service none")
}

const testOps = `sync:
  services:
    api:
      one:
        branch: main
        spec: ./specs/api.yaml
    other:
      x:
        branch: main
        spec: ./specs/other.yaml
`

// latestAttempt reads an instance's latest sync attempt.
func latestInstanceAttempt(t *testing.T, st store.Store, instance string) (api.ResourceSyncAttempt, api.Revision) {
	t.Helper()
	got, err := st.InstanceSyncGet(t.Context(), "api", instance)
	if err != nil {
		t.Fatal(err)
	}
	var a api.ResourceSyncAttempt
	var rev api.Revision
	if err := json.Unmarshal([]byte(got.LatestAttempt), &a); err != nil {
		t.Fatalf("attempt %q: %v", got.LatestAttempt, err)
	}
	if err := json.Unmarshal([]byte(got.Desired), &rev); err != nil {
		t.Fatalf("desired %q: %v", got.Desired, err)
	}
	return a, rev
}

func TestServiceSyncRecordsAFailedAttemptOncePerCommitWhenTheSpecFileIsMissing(t *testing.T) {
	t.Parallel()
	s, st := serviceSyncSetup(t)
	ctx := t.Context()
	if _, err := s.CreateServiceSyncConfig(ctx, serviceSyncInput("api")); err != nil {
		t.Fatal(err)
	}
	cfg, _ := st.ServiceSyncConfigGet(ctx, "api")
	commit := strings.Repeat("a", 40)
	head := branchContent{"ops/proton-ops.yaml": testOps}
	if err := s.syncService(ctx, cfg, "main", commit, head); err != nil {
		t.Fatal(err)
	}
	a, rev := latestInstanceAttempt(t, st, "one")
	wantRev := api.Revision{Branch: "main", Directory: "specs", RepositoryName: "acme/ops", RepositoryProvider: "GITHUB", Sha: commit}
	if rev != wantRev || a.TargetRevision != wantRev || a.Target != "one" || a.Status != "FAILED" {
		t.Errorf("attempt = %+v, desired %+v; want FAILED at %+v", a, rev, wantRev)
	}
	if len(a.Events) != 1 || a.Events[0].Type != eventSyncFailed || !strings.Contains(a.Events[0].Event, "specs/api.yaml") {
		t.Errorf("events = %+v, want one SYNC_FAILED naming the spec file", a.Events)
	}
	if _, err := st.InstanceSyncGet(ctx, "api", "x"); err == nil {
		t.Error("the pass synced an instance of another service")
	}
	if err := s.syncService(ctx, cfg, "main", commit, head); err != nil {
		t.Fatal(err)
	}
	if again, _ := latestInstanceAttempt(t, st, "one"); !again.StartedAt.Equal(a.StartedAt.Time) {
		t.Errorf("a second pass at the same commit wrote a new attempt: %+v", again)
	}
}

func TestServiceSyncSkipsBlockedInstancesAndReportsThem(t *testing.T) {
	t.Parallel()
	for _, onService := range []bool{false, true} {
		t.Run(fmt.Sprintf("blocker_on_service_%v", onService), func(t *testing.T) {
			t.Parallel()
			s, st := serviceSyncSetup(t)
			ctx := t.Context()
			if _, err := s.CreateServiceSyncConfig(ctx, serviceSyncInput("api")); err != nil {
				t.Fatal(err)
			}
			target := "one"
			if onService {
				target = ""
			}
			s.blockManualChange(ctx, "api", target, "changed by hand")
			cfg, _ := st.ServiceSyncConfigGet(ctx, "api")
			head := branchContent{"ops/proton-ops.yaml": testOps,
				"specs/api.yaml": "proton: ServiceSpec\ninstances:\n  - name: one\n    environment: dev\n    spec:\n      port: 80\n"}
			if err := s.syncService(ctx, cfg, "main", strings.Repeat("b", 40), head); err != nil {
				t.Fatal(err)
			}
			a, _ := latestInstanceAttempt(t, st, "one")
			if a.Status != "FAILED" || len(a.Events) != 1 || a.Events[0].Type != eventSyncBlocked || !strings.Contains(a.Events[0].Event, "changed by hand") {
				t.Errorf("attempt = %+v, want FAILED with one SYNC_BLOCKED event giving the blocker's reason", a)
			}
			if _, err := st.ResourceGet(ctx, instanceKey("api", "one")); err == nil {
				t.Error("the blocked instance was created")
			}
		})
	}
}

func TestServiceSyncFollowsInstancesOnTheBranchesTheOpsFileNames(t *testing.T) {
	t.Parallel()
	s, st := serviceSyncSetup(t)
	ctx := t.Context()
	if _, err := s.CreateServiceSyncConfig(ctx, serviceSyncInput("api")); err != nil {
		t.Fatal(err)
	}
	y := s.ServiceSyncer()
	branches := func() []string {
		t.Helper()
		list, err := y.Branches(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, b := range list {
			out = append(out, b.Provider+" "+b.Repository+" "+b.Branch)
		}
		return out
	}
	if got := strings.Join(branches(), ","); got != "GITHUB acme/ops main" {
		t.Fatalf("branches before any sync = %s", got)
	}
	ops := "sync:\n  services:\n    api:\n      one:\n        branch: dev\n        spec: ./specs/api.yaml\n"
	cfg, _ := st.ServiceSyncConfigGet(ctx, "api")
	if err := s.syncService(ctx, cfg, "main", strings.Repeat("a", 40), branchContent{"ops/proton-ops.yaml": ops}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.InstanceSyncGet(ctx, "api", "one"); err != nil {
		t.Fatalf("the entry of one is not kept: %v", err)
	}
	if got := strings.Join(branches(), ","); got != "GITHUB acme/ops main,GITHUB acme/ops dev" {
		t.Fatalf("branches after the ops file named dev = %s", got)
	}
	// The dev branch's commit is read for one (here it lacks the spec file).
	dev := strings.Repeat("d", 40)
	if err := s.syncService(ctx, cfg, "dev", dev, branchContent{}); err != nil {
		t.Fatal(err)
	}
	a, rev := latestInstanceAttempt(t, st, "one")
	if rev.Branch != "dev" || rev.Sha != dev || a.Status != "FAILED" || !strings.Contains(a.Events[0].Event, "specs/api.yaml") {
		t.Errorf("attempt on dev = %+v, desired %+v", a, rev)
	}
	// The ops file dropping the instance stops following it.
	if err := s.syncService(ctx, cfg, "main", strings.Repeat("b", 40), branchContent{"ops/proton-ops.yaml": "sync:\n  services: {}\n"}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(branches(), ","); got != "GITHUB acme/ops main" {
		t.Errorf("branches after the ops file dropped one = %s", got)
	}
}

func TestTheEndOfASyncDeploymentEndsItsAttemptAndAFailureBlocksTheInstance(t *testing.T) {
	t.Parallel()
	for _, end := range []string{store.StatusSucceeded, store.StatusFailed} {
		t.Run(end, func(t *testing.T) {
			t.Parallel()
			s, st := serviceSyncSetup(t)
			ctx := t.Context()
			key := instanceKey("api", "one")
			svcTmplStart(t, st, store.ResourceServiceInstance, key, "1", true)
			id := mustLastAttempt(t, st, key)
			rev := api.Revision{Branch: "main", Directory: "specs", RepositoryName: "acme/ops", RepositoryProvider: "GITHUB", Sha: strings.Repeat("a", 40)}
			sync := &store.InstanceSync{ServiceName: "api", InstanceName: "one", SpecDigest: "d", DeploymentID: id}
			attempt := s.newAttempt(sync, "one", rev)
			attempt.Status = syncInProgress
			if err := s.putSync(ctx, sync, rev, &attempt); err != nil {
				t.Fatal(err)
			}
			s.settleSync(ctx, "api") // still running: nothing to settle
			if got, _ := st.InstanceSyncGet(ctx, "api", "one"); got.DeploymentID != id {
				t.Fatalf("a running deployment was settled: %+v", got)
			}
			d, err := st.DeploymentFinish(ctx, store.DeploymentFinishParams{ID: id, From: []string{store.StatusInProgress}, To: end,
				Message: "exit status 1", Outputs: `{}`}, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			s.DeploymentEnded(d) // what the engine calls
			a, _ := latestInstanceAttempt(t, st, "one")
			got, _ := st.InstanceSyncGet(ctx, "api", "one")
			blockers, _ := st.SyncBlockerList(ctx, store.SyncBlockerFilter{ServiceName: "api", InstanceName: "one", Status: store.BlockerActive}, 10)
			last := a.Events[len(a.Events)-1]
			if end == store.StatusSucceeded {
				if a.Status != "SUCCEEDED" || last.Type != eventDeploymentSucceeded || last.ExternalId != id || got.LatestSuccess != got.LatestAttempt || len(blockers) != 0 {
					t.Errorf("after success: attempt %+v, sync %+v, blockers %d", a, got, len(blockers))
				}
			} else if a.Status != "FAILED" || last.Type != eventDeploymentFailed || got.LatestSuccess != "" || len(blockers) != 1 ||
				!strings.Contains(blockers[0].CreatedReason, "ended FAILED: exit status 1") || blockers[0].Contexts[0].Value != id {
				t.Errorf("after failure: attempt %+v, sync %+v, blockers %+v", a, got, blockers)
			}
			if got.DeploymentID != "" {
				t.Errorf("the settled deployment is still awaited: %+v", got)
			}
		})
	}
}

// A commit that changes the pipeline section while the pipeline deploys is
// offered again (the watcher records a handled head only when the sync
// returns nil), so the change is applied once the deployment ends instead
// of waiting for the next commit.
func TestServiceSyncOffersAPipelineChangeAgainWhileThePipelineDeploys(t *testing.T) {
	t.Parallel()
	s, st := serviceSyncSetup(t)
	ctx := t.Context()
	if _, err := s.CreateServiceSyncConfig(ctx, serviceSyncInput("api")); err != nil {
		t.Fatal(err)
	}
	cfg, _ := st.ServiceSyncConfigGet(ctx, "api")
	svcTmplStart(t, st, store.ResourceServicePipeline, pipelineKey("api"), "1", true)
	head := branchContent{"ops/proton-ops.yaml": testOps,
		"specs/api.yaml": "proton: ServiceSpec\npipeline:\n  stages: 2\ninstances:\n  - name: one\n    environment: dev\n    spec:\n      port: 80\n"}
	commit := strings.Repeat("c", 40)
	if err := s.syncService(ctx, cfg, "main", commit, head); !errors.Is(err, errRetry) {
		t.Fatalf("sync while the pipeline deploys: err = %v, want one the watcher retries", err)
	}
	if _, err := st.InstanceSyncGet(ctx, "api", pipelineSync); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the pipeline's change counts as applied while it could not be (%v)", err)
	}

	if _, err := st.DeploymentFinish(ctx, store.DeploymentFinishParams{ID: mustLastAttempt(t, st, pipelineKey("api")),
		From: []string{store.StatusInProgress}, To: store.StatusSucceeded, Outputs: `{}`}, time.Now()); err != nil {
		t.Fatal(err)
	}
	// The same commit offered again: the update is tried (here the
	// template it names is missing, which counts as applied: a content
	// error is not retried until the content changes).
	if err := s.syncService(ctx, cfg, "main", commit, head); err != nil {
		t.Fatalf("sync once the pipeline is idle: %v", err)
	}
	if got, err := st.InstanceSyncGet(ctx, "api", pipelineSync); err != nil || got.SpecDigest == "" {
		t.Errorf("the pipeline's change was not tried once the pipeline was idle: %+v, %v", got, err)
	}
}

// A service sync configuration created or changed on a repository whose
// branch service sync already handled for another service is synced at
// the next pass, without waiting for a new commit.
func TestAServiceSyncConfigAddedToASyncedRepositoryIsSyncedWithoutANewCommit(t *testing.T) {
	t.Parallel()
	r := newSyncRig(t) // links acme/templates
	ctx := t.Context()
	now := time.Now()
	for _, name := range []string{"api", "other"} {
		if _, err := r.st.ServiceChange(ctx, store.ServiceChangeParams{Name: name, Create: &store.Service{Name: name,
			TemplateName: "web", TemplateMajor: "1", TemplateMinor: "0", Status: svcActive, CreatedAt: now, LastModifiedAt: now}, At: now}); err != nil {
			t.Fatal(err)
		}
	}
	w := reposync.New(reposync.Config{Store: r.st, Git: r.heads, Syncers: []reposync.Syncer{r.s.ServiceSyncer()}, Owner: "test"})
	r.push(map[string]string{"ops/proton-ops.yaml": testOps,
		"specs/api.yaml":   "proton: ServiceSpec\ninstances:\n  - name: one\n    environment: dev\n    spec: {}\n",
		"specs/other.yaml": "proton: ServiceSpec\ninstances:\n  - name: x\n    environment: dev\n    spec: {}\n"})
	config := func(service, file string) *api.CreateServiceSyncConfigInput {
		return &api.CreateServiceSyncConfigInput{ServiceName: service, RepositoryProvider: "GITHUB", RepositoryName: "acme/templates",
			Branch: "main", FilePath: file}
	}
	if _, err := r.s.CreateServiceSyncConfig(ctx, config("api", "ops/proton-ops.yaml")); err != nil {
		t.Fatal(err)
	}
	w.Pass(ctx)
	attempted := func(service, instance string) string {
		t.Helper()
		st, err := r.st.InstanceSyncGet(ctx, service, instance)
		if errors.Is(err, store.ErrNotFound) {
			return ""
		}
		if err != nil {
			t.Fatal(err)
		}
		return st.LatestAttempt
	}
	// No template web exists here: each attempt fails with the reason,
	// which is enough to see that sync looked at the instance.
	if attempted("api", "one") == "" {
		t.Fatal("the first pass did not sync api")
	}

	if _, err := r.s.CreateServiceSyncConfig(ctx, config("other", "ops/proton-ops.yaml")); err != nil {
		t.Fatal(err)
	}
	w.Pass(ctx) // no new commit
	if attempted("other", "x") == "" {
		t.Error("a service configured on a branch already synced waits for a new commit")
	}

	// A changed configuration reads its new file at the next pass.
	r.push(map[string]string{"ops/next-ops.yaml": strings.ReplaceAll(testOps, "      x:", "      y:")})
	w.Pass(ctx)
	if _, err := r.s.UpdateServiceSyncConfig(ctx, &api.UpdateServiceSyncConfigInput{ServiceName: "other", RepositoryProvider: "GITHUB",
		RepositoryName: "acme/templates", Branch: "main", FilePath: "ops/next-ops.yaml"}); err != nil {
		t.Fatal(err)
	}
	w.Pass(ctx)
	if attempted("other", "y") == "" {
		t.Error("a service whose configuration changed waits for a new commit to read its new file")
	}
}
