package multinode

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hadronhq/hadron/internal/api"
)

// 200 deployments accepted by three nodes are spread over the workers of all
// three, and each runs exactly once.
func TestDeploymentsSpreadOverNodesRunOnce(t *testing.T) {
	c := setup(t, 3)
	const n, clients = 200, 12
	ids := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	next := make(chan int)
	for range clients {
		wg.Go(func() {
			for i := range next {
				ids[i], errs[i] = c.createEnvironment(t.Context(), c.nodes[i%len(c.nodes)], fmt.Sprintf("env-%03d", i), "quick")
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("create env-%03d: %v", i, err)
		}
	}
	for _, id := range ids {
		if d := waitEnded(t, c.nodes[0], id, deployTimeout); d.DeploymentStatus != "SUCCEEDED" {
			t.Errorf("deployment %s ended %s: %s", id, d.DeploymentStatus, d.DeploymentStatusMessage)
		}
	}
	runs := c.recorded(t)
	for _, id := range ids {
		if runs[id] != 1 {
			t.Errorf("deployment %s ran %d times, want once", id, runs[id])
		}
	}
	if len(runs) != n {
		t.Errorf("%d deployments ran, want %d", len(runs), n)
	}
	perNode := make([]int, len(c.nodes))
	for _, id := range ids {
		var by []string
		for i, nd := range c.nodes {
			if nd.ran(id) {
				perNode[i]++
				by = append(by, nd.name)
			}
		}
		if len(by) != 1 {
			t.Errorf("deployment %s was run by %v, want one node", id, by)
		}
	}
	t.Logf("runs per node: %v", perNode)
	for i, count := range perNode {
		if count == 0 {
			t.Errorf("%s ran none of the %d deployments", c.nodes[i].name, n)
		}
	}
}

// A cancel accepted by one node stops the run on another at once, through
// the notification (the lease heartbeat, every lease/4, would take longer).
func TestCancelThroughOneNodeStopsTheRunOnAnother(t *testing.T) {
	c := setup(t, 3)
	for round := range 3 {
		name := fmt.Sprintf("hold-%d", round)
		id, err := c.createEnvironment(t.Context(), c.nodes[round%3], name, "hold")
		if err != nil {
			t.Fatal(err)
		}
		runner := c.runner(t, id)
		other := c.nodes[(slices.Index(c.nodes, runner)+1)%len(c.nodes)]
		start := time.Now()
		var out api.CancelEnvironmentDeploymentOutput
		if err := other.call(t.Context(), "CancelEnvironmentDeployment", map[string]any{"environmentName": name}, &out); err != nil {
			t.Fatalf("cancel through %s: %v", other.name, err)
		}
		if s := out.Environment.DeploymentStatus; s != "CANCELLING" {
			t.Errorf("cancel answered %s, want CANCELLING", s)
		}
		d := waitEnded(t, other, id, deployTimeout)
		took := time.Since(start)
		if d.DeploymentStatus != "CANCELLED" {
			t.Errorf("deployment ended %s: %s, want CANCELLED", d.DeploymentStatus, d.DeploymentStatusMessage)
		}
		t.Logf("round %d: run on %s cancelled through %s in %s", round, runner.name, other.name, took.Round(time.Millisecond))
		// How fast the notification carries the cancel is measured in bench/
		// and pinned without timing races in internal/engine (shared_test.go).
	}
}

// A node killed mid-deployment: another finishes the deployment FAILED
// within about a lease, the run is not repeated, and the environment takes
// the next update.
func TestKilledNodesDeploymentIsFinishedByAnother(t *testing.T) {
	c := setup(t, 3)
	id, err := c.createEnvironment(t.Context(), c.nodes[0], "doomed", "hold")
	if err != nil {
		t.Fatal(err)
	}
	victim := c.runner(t, id)
	survivor := c.nodes[(slices.Index(c.nodes, victim)+1)%len(c.nodes)]
	killed := time.Now()
	victim.kill(t)
	d := waitEnded(t, survivor, id, 4*lease)
	took := time.Since(killed)
	if d.DeploymentStatus != "FAILED" || d.DeploymentStatusMessage != "provisioning interrupted: worker lost" {
		t.Errorf("deployment ended %s %q, want FAILED \"provisioning interrupted: worker lost\"",
			d.DeploymentStatus, d.DeploymentStatusMessage)
	}
	t.Logf("%s killed; %s finished its deployment %s later (lease %s)", victim.name, survivor.name, took.Round(time.Millisecond), lease)
	// A lease runs out three quarters of a lease after its last renewal and
	// recovery looks every quarter lease, so this is within a lease of the
	// kill; waitEnded above bounds it, and the time is reported, not asserted.
	if runs := c.recorded(t)[id]; runs != 1 {
		t.Errorf("the deployment ran %d times, want once", runs)
	}
	next, err := c.update(t.Context(), survivor, "doomed", "quick")
	if err != nil {
		t.Fatalf("update after recovery: %v", err)
	}
	if d := waitEnded(t, survivor, next, deployTimeout); d.DeploymentStatus != "SUCCEEDED" {
		t.Errorf("the next deployment ended %s: %s", d.DeploymentStatus, d.DeploymentStatusMessage)
	}
}

// UpdateEnvironment of one environment sent to every node at once: the
// database admits exactly one, the others are refused with ConflictException.
// The accepted deployment holds until it is cancelled, so that no late
// request finds the environment idle again within the round.
func TestConcurrentUpdatesThroughDifferentNodesHaveOneWinner(t *testing.T) {
	c := setup(t, 3)
	first, err := c.createEnvironment(t.Context(), c.nodes[0], "contested", "quick")
	if err != nil {
		t.Fatal(err)
	}
	waitEnded(t, c.nodes[0], first, deployTimeout)
	const perNode = 3
	for round := range 5 {
		var (
			mu       sync.Mutex
			accepted []string
			refused  int
			wg       sync.WaitGroup
		)
		start := make(chan struct{})
		for _, nd := range c.nodes {
			for range perNode {
				wg.Go(func() {
					<-start
					id, err := c.update(t.Context(), nd, "contested", "hold")
					mu.Lock()
					defer mu.Unlock()
					var ae *apiError
					switch {
					case err == nil:
						accepted = append(accepted, id)
					case errors.As(err, &ae) && ae.Type == "ConflictException":
						refused++
					default:
						t.Errorf("round %d: update through %s: %v", round, nd.name, err)
					}
				})
			}
		}
		close(start)
		wg.Wait()
		if len(accepted) != 1 || refused != len(c.nodes)*perNode-1 {
			t.Fatalf("round %d: %d accepted, %d refused with ConflictException; want 1 and %d", round, len(accepted),
				refused, len(c.nodes)*perNode-1)
		}
		nd := c.nodes[round%3]
		if err := nd.call(t.Context(), "CancelEnvironmentDeployment", map[string]any{"environmentName": "contested"}, nil); err != nil {
			t.Fatalf("round %d: cancel the accepted update: %v", round, err)
		}
		if d := waitEnded(t, nd, accepted[0], deployTimeout); d.DeploymentStatus != "CANCELLED" {
			t.Fatalf("round %d: the accepted update ended %s: %s", round, d.DeploymentStatus, d.DeploymentStatusMessage)
		}
	}
}
