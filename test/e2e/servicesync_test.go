package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hadronhq/hadron/internal/hadrontest"
)

// Service sync with the AWS CLI: a service's instances follow a proton-ops
// file and spec files in a local bare repository (pushed to with the git
// CLI, as a user would), linked with create-repository.

// syncTimeout bounds how long a pushed commit takes to reach an instance:
// the next poll of the watcher, then a deployment.
const syncTimeout = 90 * time.Second

// opsRepo is the repository acme/svc holding the service's proton-ops file
// and spec files, with a work tree the test commits in.
type opsRepo struct {
	gitRepo
	work string
}

func newOpsRepo(t *testing.T) opsRepo {
	t.Helper()
	g := newGitRepo(t)
	// newGitRepo makes acme/infra.git; service sync reads acme/svc.git.
	bare := filepath.Join(g.root, "acme", "svc.git")
	if err := os.Rename(g.bare, bare); err != nil {
		t.Fatal(err)
	}
	g.bare = bare
	r := opsRepo{gitRepo: g, work: t.TempDir()}
	g.git(t, r.work, "clone", "-q", "-b", "main", g.bare, ".")
	return r
}

// push commits files (path -> content) on main and pushes; it returns the commit.
func (r opsRepo) push(t *testing.T, msg string, files map[string]string) string {
	t.Helper()
	for p, c := range files {
		full := filepath.Join(r.work, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r.git(t, r.work, "add", "-A")
	r.git(t, r.work, "commit", "-q", "-m", msg)
	r.git(t, r.work, "push", "-q", "origin", "main")
	return r.git(t, r.work, "rev-parse", "HEAD")
}

// opsFile lists instances of service api, each following api/spec.yaml on main.
func opsFile(instances ...string) string {
	var b strings.Builder
	b.WriteString("sync:\n  services:\n    api:\n")
	for _, i := range instances {
		b.WriteString("      " + i + ":\n        branch: main\n        spec: ./api/spec.yaml\n")
	}
	return b.String()
}

type (
	syncRevision struct{ Sha, Branch, Directory, RepositoryName, RepositoryProvider string }
	syncAttempt  struct {
		Status         string
		Target         string
		TargetRevision syncRevision
		Events         []struct{ Type, Event, ExternalId string }
	}
	instanceSyncStatus struct {
		DesiredState         *syncRevision
		LatestSync           *syncAttempt
		LatestSuccessfulSync *syncAttempt
	}
	syncBlocker struct {
		Id, Status, Type, CreatedReason, ResolvedReason string
	}
	blockerSummaryOut struct {
		ServiceSyncBlockerSummary struct {
			ServiceName, ServiceInstanceName string
			LatestBlockers                   []syncBlocker
		}
	}
)

// waitSpec waits until the instance's last deployment succeeded with a spec holding want.
func (s *server) waitSpec(t *testing.T, name, want string) serviceInstance {
	t.Helper()
	var got serviceInstance
	eventually(t, syncTimeout, "instance "+name+" deployed with "+want, func() (bool, string) {
		var err error
		got, err = s.getInstance("api", name)
		return err == nil && got.DeploymentStatus == "SUCCEEDED" && strings.Contains(got.Spec, want), got.DeploymentStatus + " " + got.Spec
	})
	return got
}

// TestServiceSyncFollowsTheRepositoryAndStopsAtABlocker walks the story of
// issue 13's service sync with the AWS CLI, restarting the server in the
// middle: the first sync, a pushed spec change, a pushed new instance, a
// manual update that blocks the instance's sync (a further push leaves it
// alone while the other instance follows), and the resolve after which
// the instance follows the repository again.
func TestServiceSyncFollowsTheRepositoryAndStopsAtABlocker(t *testing.T) {
	t.Parallel()
	hadrontest.Long(t)
	requireAWS(t)
	repo := newOpsRepo(t)
	dataDir := t.TempDir()
	flags := syncFlags(repo.root)
	s := startServer(t, dataDir, flags...)
	s.serviceFixture(t, "dev")

	spec := func(image string, names ...string) string {
		var list []svcInstance
		for _, n := range names {
			list = append(list, inst(n, "dev", "image: "+image+"-"+n))
		}
		return serviceSpec(nil, list...)
	}
	first := repo.push(t, "the ops file and one instance", map[string]string{
		"ops/proton-ops.yaml": opsFile("one"), "api/spec.yaml": spec("v1", "one"),
	})
	s.mustCall(t, "CreateService", map[string]string{"name": "api", "templateName": svcTemplate, "templateMajorVersion": "1",
		"spec": spec("v0", "one")}, nil)
	s.waitService(t, "api", "ACTIVE")
	s.awsOK(t, nil, "create-repository", "--provider", "GITHUB", "--name", "acme/svc",
		"--connection-arn", "arn:aws:codestar-connections:us-east-1:000000000000:connection/sync")
	var cfg struct {
		ServiceSyncConfig struct{ ServiceName, Branch, FilePath, RepositoryName, RepositoryProvider string }
	}
	s.awsOK(t, &cfg, "create-service-sync-config", "--service-name", "api", "--repository-provider", "GITHUB",
		"--repository-name", "acme/svc", "--branch", "main", "--file-path", "ops/proton-ops.yaml")
	if c := cfg.ServiceSyncConfig; c.ServiceName != "api" || c.Branch != "main" || c.FilePath != "ops/proton-ops.yaml" || c.RepositoryName != "acme/svc" {
		t.Errorf("create-service-sync-config = %+v", c)
	}
	s.awsErr(t, "ConflictException", "create-service-sync-config", "--service-name", "api", "--repository-provider", "GITHUB",
		"--repository-name", "acme/svc", "--branch", "main", "--file-path", "ops/proton-ops.yaml")
	s.awsErr(t, "ConflictException", "delete-repository", "--provider", "GITHUB", "--name", "acme/svc")

	// The first sync applies the file: the instance never synced.
	s.waitSpec(t, "one", "image: v1-one")
	var st instanceSyncStatus
	eventually(t, syncTimeout, "the first sync's status SUCCEEDED", func() (bool, string) {
		st = awsJSON[instanceSyncStatus](t, s, "get-service-instance-sync-status", "--service-name", "api", "--service-instance-name", "one")
		return st.LatestSync != nil && st.LatestSync.Status == "SUCCEEDED", syncShow(st)
	})
	if st.LatestSuccessfulSync == nil || st.LatestSync.TargetRevision.Sha != first || st.DesiredState == nil || st.DesiredState.Sha != first ||
		st.DesiredState.Directory != "api" || st.LatestSync.Target != "one" {
		t.Errorf("sync status after the first sync = %s, want %s", syncShow(st), first)
	}

	// The repository says what it drives and how its last sync went.
	var defs struct {
		SyncDefinitions []struct{ Branch, Directory, Parent, Target string }
	}
	s.awsOK(t, &defs, "list-repository-sync-definitions", "--repository-provider", "GITHUB", "--repository-name", "acme/svc", "--sync-type", "SERVICE_SYNC")
	if d := defs.SyncDefinitions; len(d) != 1 || d[0].Target != "api" || d[0].Branch != "main" || d[0].Directory != "ops/proton-ops.yaml" {
		t.Errorf("list-repository-sync-definitions = %s", syncShow(defs))
	}
	var repoStatus struct{ LatestSync *struct{ Status string } }
	s.awsOK(t, &repoStatus, "get-repository-sync-status", "--repository-provider", "GITHUB", "--repository-name", "acme/svc",
		"--branch", "main", "--sync-type", "SERVICE_SYNC")
	if repoStatus.LatestSync == nil || repoStatus.LatestSync.Status != "SUCCEEDED" {
		t.Errorf("get-repository-sync-status = %s", syncShow(repoStatus))
	}

	// A pushed spec change reaches the instance; a new instance is created.
	repo.push(t, "image v2", map[string]string{"api/spec.yaml": spec("v2", "one")})
	s.waitSpec(t, "one", "image: v2-one")
	repo.push(t, "instance two", map[string]string{"ops/proton-ops.yaml": opsFile("one", "two"), "api/spec.yaml": spec("v2", "one", "two")})
	s.waitSpec(t, "two", "image: v2-two")

	// A manual update blocks the sync of that instance.
	s.awsOK(t, nil, "update-service-instance", "--service-name", "api", "--name", "one", "--deployment-type", "CURRENT_VERSION",
		"--spec", fileArg(t, spec("manual", "one")))
	s.waitSpec(t, "one", "image: manual-one")
	sum := awsJSON[blockerSummaryOut](t, s, "get-service-sync-blocker-summary", "--service-name", "api", "--service-instance-name", "one")
	blockers := sum.ServiceSyncBlockerSummary.LatestBlockers
	if len(blockers) != 1 || blockers[0].Status != "ACTIVE" || blockers[0].Type != "AUTOMATED" || !strings.Contains(blockers[0].CreatedReason, "UpdateServiceInstance") {
		t.Fatalf("blockers of one after the manual update = %s", syncShow(sum))
	}

	// Restart the server: sync goes on from what the database holds.
	if code := s.terminate(t); code != 0 {
		t.Fatalf("server exited %d", code)
	}
	s = startServer(t, dataDir, flags...)

	third := repo.push(t, "image v3", map[string]string{"api/spec.yaml": spec("v3", "one", "two")})
	s.waitSpec(t, "two", "image: v3-two")
	eventually(t, syncTimeout, "the blocked attempt of one at the third commit", func() (bool, string) {
		st = awsJSON[instanceSyncStatus](t, s, "get-service-instance-sync-status", "--service-name", "api", "--service-instance-name", "one")
		return st.LatestSync != nil && st.LatestSync.TargetRevision.Sha == third, syncShow(st)
	})
	if st.LatestSync.Status != "FAILED" || len(st.LatestSync.Events) == 0 || st.LatestSync.Events[0].Type != "SYNC_BLOCKED" ||
		st.LatestSync.Events[0].ExternalId != blockers[0].Id {
		t.Errorf("the blocked instance's attempt = %s, want FAILED with SYNC_BLOCKED naming %s", syncShow(st), blockers[0].Id)
	}
	if got, err := s.getInstance("api", "one"); err != nil || !strings.Contains(got.Spec, "image: manual-one") {
		t.Fatalf("the blocked instance was touched: %+v, %v", got, err)
	}

	// Resolving the blocker resumes the sync: the instance follows the repository again.
	var resolved struct {
		ServiceName, ServiceInstanceName string
		ServiceSyncBlocker               syncBlocker
	}
	s.awsOK(t, &resolved, "update-service-sync-blocker", "--id", blockers[0].Id, "--resolved-reason", "the manual change is in the repository now")
	if resolved.ServiceSyncBlocker.Status != "RESOLVED" || resolved.ServiceInstanceName != "one" {
		t.Errorf("update-service-sync-blocker = %s", syncShow(resolved))
	}
	s.awsErr(t, "ConflictException", "update-service-sync-blocker", "--id", blockers[0].Id, "--resolved-reason", "again")
	repo.push(t, "image v4", map[string]string{"api/spec.yaml": spec("v4", "one", "two")})
	s.waitSpec(t, "one", "image: v4-one")
	s.waitSpec(t, "two", "image: v4-two")

	// A deployment sync started that fails blocks its instance.
	failing := serviceSpec(nil, inst("one", "dev", "image: v4-one"), inst("two", "dev", "image: v5-two", "fail: true"))
	repo.push(t, "two fails", map[string]string{"api/spec.yaml": failing})
	s.waitInstance(t, "api", "two", "FAILED")
	var failed []syncBlocker
	eventually(t, syncTimeout, "the blocker of the failed deployment", func() (bool, string) {
		sum := awsJSON[blockerSummaryOut](t, s, "get-service-sync-blocker-summary", "--service-name", "api", "--service-instance-name", "two")
		failed = sum.ServiceSyncBlockerSummary.LatestBlockers
		return len(failed) > 0 && failed[0].Status == "ACTIVE", syncShow(sum)
	})
	if !strings.Contains(failed[0].CreatedReason, "ended FAILED") {
		t.Errorf("the failed deployment's blocker says %q", failed[0].CreatedReason)
	}

	// Removing an instance by hand blocks the whole service.
	s.awsOK(t, nil, "update-service", "--name", "api", "--spec", fileArg(t, spec("v4", "one")))
	sum = awsJSON[blockerSummaryOut](t, s, "get-service-sync-blocker-summary", "--service-name", "api")
	if b := sum.ServiceSyncBlockerSummary.LatestBlockers; len(b) != 1 || b[0].Status != "ACTIVE" || !strings.Contains(b[0].CreatedReason, "two") {
		t.Errorf("the service's blockers after two was removed by hand = %s", syncShow(sum))
	}
}

// TestServiceSyncUpdatesThePipeline: a spec file's pipeline section
// reaches the service's pipeline, and a change pushed while the pipeline
// still deploys the previous one is applied once that ends (not left for
// the next commit). The configuration's own operations answer the CLI.
func TestServiceSyncUpdatesThePipeline(t *testing.T) {
	t.Parallel()
	hadrontest.Long(t)
	requireAWS(t)
	repo := newOpsRepo(t)
	s := startServer(t, t.TempDir(), syncFlags(repo.root)...)
	s.serviceFixture(t, "dev")
	one := inst("one", "dev", "image: v1-one")
	s.mustCall(t, "CreateService", map[string]string{"name": "api", "templateName": svcTemplate, "templateMajorVersion": "1",
		"spec": serviceSpec(nil, one)}, nil)
	s.waitService(t, "api", "ACTIVE")
	before := s.waitPipeline(t, "api", "SUCCEEDED")

	repo.push(t, "the ops file; a pipeline of two stages that takes a while", map[string]string{
		"ops/proton-ops.yaml": opsFile("one"), "api/spec.yaml": serviceSpec([]string{"stages: 2", "seconds: 5"}, one),
	})
	s.awsOK(t, nil, "create-repository", "--provider", "GITHUB", "--name", "acme/svc",
		"--connection-arn", "arn:aws:codestar-connections:us-east-1:000000000000:connection/sync")
	s.awsOK(t, nil, "create-service-sync-config", "--service-name", "api", "--repository-provider", "GITHUB",
		"--repository-name", "acme/svc", "--branch", "main", "--file-path", "ops/proton-ops.yaml")
	var got struct {
		ServiceSyncConfig struct{ ServiceName, Branch, FilePath string }
	}
	s.awsOK(t, &got, "get-service-sync-config", "--service-name", "api")
	if c := got.ServiceSyncConfig; c.ServiceName != "api" || c.Branch != "main" || c.FilePath != "ops/proton-ops.yaml" {
		t.Errorf("get-service-sync-config = %+v", c)
	}

	var deploying servicePipeline
	eventually(t, syncTimeout, "the pipeline deploying the synced spec", func() (bool, string) {
		svc, err := s.getService("api")
		if err != nil || svc.Pipeline == nil {
			return false, fmt.Sprint(err)
		}
		deploying = *svc.Pipeline
		return deploying.LastAttemptedDeploymentID != before.LastAttemptedDeploymentID, deploying.DeploymentStatus
	})
	repo.push(t, "three stages", map[string]string{"api/spec.yaml": serviceSpec([]string{"stages: 3"}, one)})
	if p := s.waitPipeline(t, "api", "SUCCEEDED", "FAILED"); p.DeploymentStatus != "SUCCEEDED" {
		t.Fatalf("the synced pipeline deployment ended %s (%s)", p.DeploymentStatus, p.DeploymentStatusMessage)
	}
	eventually(t, syncTimeout, "the pipeline deployed with three stages", func() (bool, string) {
		svc, err := s.getService("api")
		if err != nil || svc.Pipeline == nil {
			return false, fmt.Sprint(err)
		}
		p := svc.Pipeline
		return p.DeploymentStatus == "SUCCEEDED" && strings.Contains(p.Spec, "stages: 3"), p.DeploymentStatus + " " + p.Spec
	})
	if outs := outputsOf(t, s, "list-service-pipeline-outputs", "--service-name", "api"); outs["Stages"] != "3" {
		t.Errorf("pipeline outputs = %v, want Stages 3", outs)
	}

	var updated struct {
		ServiceSyncConfig struct{ Branch, FilePath string }
	}
	s.awsOK(t, &updated, "update-service-sync-config", "--service-name", "api", "--repository-provider", "GITHUB",
		"--repository-name", "acme/svc", "--branch", "main", "--file-path", "ops/other-proton-ops.yaml")
	if updated.ServiceSyncConfig.FilePath != "ops/other-proton-ops.yaml" {
		t.Errorf("update-service-sync-config = %+v", updated.ServiceSyncConfig)
	}
	s.awsOK(t, nil, "delete-service-sync-config", "--service-name", "api")
	s.awsErr(t, "ResourceNotFoundException", "get-service-sync-config", "--service-name", "api")
	s.awsOK(t, nil, "delete-repository", "--provider", "GITHUB", "--name", "acme/svc")
}

// syncShow is v as JSON, for failure messages.
func syncShow(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// syncFlags points GITHUB repositories at the bare repositories under root
// and polls them every half second.
func syncFlags(root string) []string {
	return []string{"--repository-url", "GITHUB=file://" + root + "/{name}.git", "--sync-interval", "500ms"}
}
