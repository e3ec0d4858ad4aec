package engine_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hadronhq/hadron/internal/engine"
	"github.com/hadronhq/hadron/internal/provision"
	"github.com/hadronhq/hadron/internal/store"
)

// handoffCounter counts how a worker came by each deployment it ran: by a
// claim of its own, or with the previous one's finish.
type handoffCounter struct {
	store.Store
	claimed, handedOff atomic.Int64
}

func (c *handoffCounter) DeploymentClaim(ctx context.Context, p store.DeploymentClaimParams) (*store.Deployment, error) {
	d, err := c.Store.DeploymentClaim(ctx, p)
	if d != nil {
		c.claimed.Add(1)
	}
	return d, err
}

func (c *handoffCounter) DeploymentFinishAndClaim(ctx context.Context, p store.DeploymentFinishParams, at time.Time, cp store.DeploymentClaimParams) (*store.Deployment, *store.Deployment, error) {
	ended, next, err := c.Store.DeploymentFinishAndClaim(ctx, p, at, cp)
	if next != nil {
		c.handedOff.Add(1)
	}
	return ended, next, err
}

func TestWorkerTakesTheQueuedDeploymentWithTheFinishOfTheLast(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	first := make(chan struct{}, 1)
	var counter *handoffCounter
	f := setup(t, func(c *engine.Config) {
		counter = &handoffCounter{Store: c.Store}
		c.Store = counter
		c.Workers = 1
		c.Engines.Register("gate", runFunc(func(ctx context.Context, _ provision.Run) (provision.Result, error) {
			select {
			case first <- struct{}{}: // the first run waits until all are queued
				<-release
			default:
			}
			return provision.Result{}, nil
		}))
	})
	f.start(t)
	plan := provision.Plan{Engine: "gate"}
	ds := []*store.Deployment{f.deploy(t, plan)}
	<-first
	for range 3 {
		ds = append(ds, f.deploy(t, plan))
	}
	close(release)
	for _, d := range ds {
		if got := f.waitEnded(t, d.ID); got.Status != store.StatusSucceeded {
			t.Fatalf("deployment %s = %s (%s), want SUCCEEDED", d.ID, got.Status, got.StatusMessage)
		}
	}
	if c, h := counter.claimed.Load(), counter.handedOff.Load(); c != 1 || h != 3 {
		t.Errorf("claimed alone %d, with the last finish %d; want 1 and 3 (one commit per hand-off)", c, h)
	}
}
