package proton

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/hadronhq/hadron/internal/store"
)

// engineRecorder is an Engine that records what it is told.
type engineRecorder struct {
	mu                sync.Mutex
	cancelled, queued []string
}

func (e *engineRecorder) Notify() {}
func (e *engineRecorder) Cancel(id string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.cancelled = append(e.cancelled, id)
}
func (e *engineRecorder) CancelledQueued(kind string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.queued = append(e.queued, kind)
}

// A cancel that names a deployment acts on that deployment only: once it
// has ended, a newer deployment of the same resource is left running.
func TestCancelDeploymentIfActiveNeverCancelsANewerDeployment(t *testing.T) {
	t.Parallel()
	env := &store.Resource{Key: "environment/web", Type: store.ResourceEnvironment, Name: "web", EnvironmentName: "web"}
	s := searchAPI(t, env)
	eng := &engineRecorder{}
	s.SetEngine(eng)
	ctx := t.Context()
	first := "00000000-0000-4000-8000-000000000000" // searchAPI's deployment of web
	if _, err := s.cfg.Store.DeploymentClaim(ctx, store.DeploymentClaimParams{Owner: "w", Expires: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.cfg.Store.DeploymentFinish(ctx, store.DeploymentFinishParams{ID: first, From: []string{store.StatusInProgress},
		To: store.StatusSucceeded, Owner: "w"}, time.Now()); err != nil {
		t.Fatal(err)
	}
	second := "00000000-0000-4000-8000-000000000001"
	now := time.Now()
	if _, err := s.cfg.Store.DeploymentStart(ctx, store.DeploymentStartParams{Deployment: &store.Deployment{ID: second, TargetKey: env.Key,
		TargetType: env.Type, EnvironmentName: "web", Operation: store.OperationDeploy, Status: store.StatusInProgress,
		Plan: "{}", Outputs: "{}", Resources: "[]", CreatedAt: now, LastModifiedAt: now}}); err != nil {
		t.Fatal(err)
	}

	_, err := s.CancelDeploymentIfActive(ctx, first)
	var ended *DeploymentNotActiveError
	if !errors.As(err, &ended) || ended.Deployment.Id != first || ended.Deployment.DeploymentStatus != store.StatusSucceeded {
		t.Fatalf("cancel of the ended deployment: %v, want a DeploymentNotActiveError showing it SUCCEEDED", err)
	}
	if d, _ := s.cfg.Store.DeploymentGet(ctx, second); d.Status != store.StatusInProgress {
		t.Fatalf("the newer deployment is %s, want IN_PROGRESS", d.Status)
	}
	if len(eng.cancelled)+len(eng.queued) != 0 {
		t.Fatalf("the engine was told of a cancel: %v %v", eng.cancelled, eng.queued)
	}

	d, err := s.CancelDeploymentIfActive(ctx, second)
	if err != nil || d.DeploymentStatus != store.StatusCancelled {
		t.Fatalf("cancel of the deployment in flight (unclaimed) = %v, %v; want CANCELLED", d, err)
	}
	if len(eng.queued) != 1 {
		t.Errorf("the engine was told of %d queued cancels, want 1", len(eng.queued))
	}
}
