package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hadronhq/hadron/internal/engine"
	"github.com/hadronhq/hadron/internal/provision"
	"github.com/hadronhq/hadron/internal/provision/codebuild"
	"github.com/hadronhq/hadron/internal/provision/customermanaged"
	"github.com/hadronhq/hadron/internal/store"
	"github.com/hadronhq/hadron/internal/store/sqlite"
)

func TestMain(m *testing.M) {
	codebuild.MaybeSupervise()
	os.Exit(m.Run())
}

type fixture struct {
	store  store.Store
	engine *engine.Engine
	dir    string
	cfg    engine.Config
}

var seq atomic.Int64

// setup opens a fresh SQLite store and an engine over it (not started).
func setup(t *testing.T, mutate func(*engine.Config)) *fixture {
	t.Helper()
	dir := t.TempDir()
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "hadron.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cfg := engine.Config{
		Store:        st,
		Owner:        fmt.Sprintf("test-%d", seq.Add(1)),
		Workers:      2,
		Lease:        3 * time.Second,
		PollInterval: 50 * time.Millisecond,
		DataDir:      dir,
		Engines:      provision.NewRegistry(),
	}
	cfg.Engines.Register(codebuild.Name, &codebuild.Engine{Grace: 300 * time.Millisecond})
	cfg.Engines.Register(customermanaged.Name, customermanaged.Engine{})
	if mutate != nil {
		mutate(&cfg)
	}
	return &fixture{store: st, engine: engine.New(cfg), dir: dir, cfg: cfg}
}

func (f *fixture) start(t *testing.T) {
	t.Helper()
	if err := f.engine.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.engine.Stop)
}

// deploy queues a deployment of a new environment with the given plan.
func (f *fixture) deploy(t *testing.T, plan provision.Plan) *store.Deployment {
	t.Helper()
	return f.deployAs(t, store.ResourceEnvironment, plan)
}

// deployAs queues a deployment of a new resource of the given type: the
// engine treats every deployable type alike, and the race tests prove it.
func (f *fixture) deployAs(t *testing.T, typ string, plan provision.Plan) *store.Deployment {
	t.Helper()
	n := seq.Add(1)
	raw, _ := json.Marshal(plan)
	now := time.Now().UTC().Truncate(time.Millisecond)
	env := fmt.Sprintf("env%d", n)
	key, name, service := "environment/"+env, env, ""
	switch typ {
	case store.ResourceServiceInstance:
		service, name = fmt.Sprintf("svc%d", n), "inst"
		key = "service/" + service + "/service-instance/inst"
	case store.ResourceServicePipeline:
		service, name = fmt.Sprintf("svc%d", n), "pipeline"
		key = "service/" + service + "/pipeline"
	}
	d := &store.Deployment{
		ID: fmt.Sprintf("00000000-0000-4000-8000-%012d", n), TargetKey: key, TargetType: typ,
		EnvironmentName: env, ServiceName: service, Operation: store.OperationDeploy, Status: store.StatusInProgress,
		Plan: string(raw), TargetTemplate: "t", TargetMajor: "1", TargetMinor: "0", TargetSpec: "new spec",
		CreatedAt: now, LastModifiedAt: now,
	}
	_, err := f.store.DeploymentStart(context.Background(), store.DeploymentStartParams{
		Deployment: d,
		Create: &store.Resource{Key: key, Type: typ, Name: name, ServiceName: service, EnvironmentName: env, TemplateName: "t",
			TemplateMajor: "1", TemplateMinor: "0", Spec: "old spec", CreatedAt: now, LastModifiedAt: now},
	})
	if err != nil {
		t.Fatal(err)
	}
	f.engine.Notify()
	return d
}

// cancel does what CancelEnvironmentDeployment does: the conditional write, then
// the in-process signal to the run.
func (f *fixture) cancel(t *testing.T, id string) store.CancelResult {
	t.Helper()
	res, err := f.store.DeploymentCancel(context.Background(), store.DeploymentCancelParams{ID: id, At: time.Now()})
	if err != nil {
		t.Fatalf("cancel: %v", err)
	}
	if res.Status == store.StatusCancelling {
		f.engine.Cancel(id)
	}
	return res
}

// waitFor polls the store until the deployment reaches a status that is not active.
func (f *fixture) waitEnded(t *testing.T, id string) *store.Deployment {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		d, err := f.store.DeploymentGet(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if !store.IsActive(d.Status) {
			return d
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("deployment %s did not end", id)
	return nil
}

// waitFile waits until a provisioning command has created path.
func waitFile(t *testing.T, path string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(path); err == nil {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("%s never appeared", path)
}

func codebuildPlan(commands ...string) provision.Plan {
	spec, _ := json.Marshal(map[string][]string{"commands": commands})
	return provision.Plan{Engine: codebuild.Name, Spec: spec, Inputs: json.RawMessage(`{"environment":{"name":"e","inputs":{}}}`)}
}

// runFunc is an engine made of its Run, for tests that hold a run at a known point.
type runFunc func(ctx context.Context, run provision.Run) (provision.Result, error)

func (f runFunc) Plan(provision.Request) (json.RawMessage, error) { return nil, nil }

func (f runFunc) Run(ctx context.Context, run provision.Run) (provision.Result, error) {
	return f(ctx, run)
}

func TestSuccessfulRunMakesTargetStateCurrentWithOutputs(t *testing.T) {
	t.Parallel()
	f := setup(t, nil)
	f.start(t)
	d := f.deploy(t, codebuildPlan(`test -f proton-inputs.json`, `echo '{"VpcId": "vpc-1"}' > proton-outputs.json`))
	got := f.waitEnded(t, d.ID)
	if got.Status != store.StatusSucceeded {
		t.Fatalf("status = %s (%s), want SUCCEEDED", got.Status, got.StatusMessage)
	}
	r, err := f.store.ResourceGet(context.Background(), d.TargetKey)
	if err != nil {
		t.Fatal(err)
	}
	if r.Spec != "new spec" || r.Outputs != `{"VpcId":"vpc-1"}` || r.LastSucceededDeploymentID != d.ID {
		t.Errorf("resource after success = spec %q outputs %s last succeeded %s", r.Spec, r.Outputs, r.LastSucceededDeploymentID)
	}
	log, err := os.ReadFile(filepath.Join(f.dir, "logs", d.ID+".log"))
	if err != nil || !strings.Contains(string(log), "proton-outputs.json") {
		t.Errorf("deployment log = %q, %v; want the commands in it", log, err)
	}
}

func TestSuccessfulRunKeepsTheProvisionedResourcesWithTheDeployment(t *testing.T) {
	t.Parallel()
	f := setup(t, func(c *engine.Config) {
		c.Engines.Register("stack", runFunc(func(context.Context, provision.Run) (provision.Result, error) {
			return provision.Result{Resources: []provision.Resource{{Name: "VPC", Identifier: "vpc-1", Engine: "CLOUDFORMATION"}}}, nil
		}))
	})
	f.start(t)
	d := f.deploy(t, provision.Plan{Engine: "stack"})
	got := f.waitEnded(t, d.ID)
	if got.Status != store.StatusSucceeded || got.Resources != `[{"name":"VPC","identifier":"vpc-1","provisioningEngine":"CLOUDFORMATION"}]` {
		t.Errorf("deployment = %s with resources %s", got.Status, got.Resources)
	}
	// A run that reports none keeps an empty list.
	d = f.deploy(t, codebuildPlan(`true`))
	if got := f.waitEnded(t, d.ID); got.Resources != `[]` {
		t.Errorf("resources of a run that reports none = %s, want []", got.Resources)
	}
}

func TestFailedCommandFailsDeploymentNamingCommandAndKeepsState(t *testing.T) {
	t.Parallel()
	f := setup(t, nil)
	f.start(t)
	d := f.deploy(t, codebuildPlan(`echo about to fail; exit 3`))
	got := f.waitEnded(t, d.ID)
	if got.Status != store.StatusFailed || !strings.Contains(got.StatusMessage, "exit 3") || !strings.Contains(got.StatusMessage, "status 3") ||
		!strings.Contains(got.StatusMessage, "about to fail") {
		t.Errorf("status = %s %q; want FAILED naming the command, its status and its output", got.Status, got.StatusMessage)
	}
	r, _ := f.store.ResourceGet(context.Background(), d.TargetKey)
	if r.Spec != "old spec" || r.DeploymentStatus != store.StatusFailed {
		t.Errorf("resource = spec %q status %s; want old spec kept, FAILED", r.Spec, r.DeploymentStatus)
	}
}

func TestEngineHadronCannotRunFailsNamingIt(t *testing.T) {
	t.Parallel()
	f := setup(t, nil)
	f.start(t)
	d := f.deploy(t, provision.Plan{Engine: "cloudformation"})
	got := f.waitEnded(t, d.ID)
	if got.Status != store.StatusFailed || !strings.Contains(got.StatusMessage, "cloudformation") {
		t.Errorf("status = %s %q; want FAILED naming cloudformation", got.Status, got.StatusMessage)
	}
}

func TestCancelBeforePickupEndsCancelledAndNothingRuns(t *testing.T) {
	t.Parallel()
	forEachResourceType(t, func(t *testing.T, typ string) {
		f := setup(t, nil) // not started: nothing can claim
		marker := filepath.Join(t.TempDir(), "ran")
		d := f.deployAs(t, typ, codebuildPlan("touch "+marker))
		if res := f.cancel(t, d.ID); res.Status != store.StatusCancelled {
			t.Fatalf("cancel of an unclaimed deployment = %s, want CANCELLED", res.Status)
		}
		f.start(t)
		// A deployment queued after the cancelled one runs; by then the cancelled one
		// would have run too, since claims go oldest first.
		later := f.deployAs(t, typ, codebuildPlan("true"))
		f.waitEnded(t, later.ID)
		if _, err := os.Stat(marker); err == nil {
			t.Error("the cancelled deployment ran")
		}
		got, _ := f.store.DeploymentGet(context.Background(), d.ID)
		if got.Status != store.StatusCancelled || got.StatusMessage != store.CancelledMessage {
			t.Errorf("deployment = %s %q", got.Status, got.StatusMessage)
		}
	})
}

func TestCancelWhileRunningStopsTheProcessAndEndsCancelled(t *testing.T) {
	t.Parallel()
	forEachResourceType(t, func(t *testing.T, typ string) {
		f := setup(t, nil)
		f.start(t)
		dir := t.TempDir()
		started, pidfile := filepath.Join(dir, "started"), filepath.Join(dir, "pid")
		d := f.deployAs(t, typ, codebuildPlan(fmt.Sprintf(`sleep 300 & echo $! > %s; trap 'kill $!; exit 143' TERM; touch %s; wait`, pidfile, started)))
		waitFile(t, started)
		if res := f.cancel(t, d.ID); res.Status != store.StatusCancelling {
			t.Fatalf("cancel of a running deployment = %s, want CANCELLING", res.Status)
		}
		r, _ := f.store.ResourceGet(context.Background(), d.TargetKey)
		if r.DeploymentStatus != store.StatusCancelling {
			t.Errorf("resource right after cancel = %s, want CANCELLING", r.DeploymentStatus)
		}
		got := f.waitEnded(t, d.ID)
		if got.Status != store.StatusCancelled || got.StatusMessage != store.CancelledMessage {
			t.Fatalf("deployment = %s %q, want CANCELLED", got.Status, got.StatusMessage)
		}
		r, _ = f.store.ResourceGet(context.Background(), d.TargetKey)
		if r.Spec != "old spec" || r.DeploymentStatus != store.StatusCancelled {
			t.Errorf("resource = spec %q status %s; want old spec, CANCELLED", r.Spec, r.DeploymentStatus)
		}
		assertProcessGone(t, pidfile)
	})
}

func TestCancelOfCommandIgnoringSIGTERMKillsAfterGrace(t *testing.T) {
	t.Parallel()
	f := setup(t, nil)
	f.start(t)
	dir := t.TempDir()
	started := filepath.Join(dir, "started")
	d := f.deploy(t, codebuildPlan(fmt.Sprintf(`trap '' TERM; touch %s; while :; do sleep 0.05; done`, started)))
	waitFile(t, started)
	f.cancel(t, d.ID)
	got := f.waitEnded(t, d.ID)
	if got.Status != store.StatusCancelled {
		t.Fatalf("deployment = %s %q, want CANCELLED after SIGKILL", got.Status, got.StatusMessage)
	}
	log, _ := os.ReadFile(filepath.Join(f.dir, "logs", d.ID+".log"))
	if !strings.Contains(string(log), "SIGKILL") {
		t.Errorf("log does not say the run was killed:\n%s", log)
	}
}

// The race "run finishing while the cancel is landing", both ways, made
// deterministic with a provisioner that waits at the finish line.
func TestRunThatFinishesWhileCancelLandsEndsSucceeded(t *testing.T) {
	t.Parallel()
	forEachResourceType(t, func(t *testing.T, typ string) {
		atFinish, release := make(chan struct{}), make(chan struct{})
		f := setup(t, func(c *engine.Config) {
			c.Engines.Register("hold", runFunc(func(ctx context.Context, _ provision.Run) (provision.Result, error) {
				close(atFinish)
				<-release
				return provision.Result{Outputs: map[string]string{"done": "yes"}}, nil // the work completed: the cancel came too late
			}))
		})
		f.start(t)
		d := f.deployAs(t, typ, provision.Plan{Engine: "hold"})
		<-atFinish
		if res := f.cancel(t, d.ID); res.Status != store.StatusCancelling {
			t.Fatalf("cancel = %s, want CANCELLING", res.Status)
		}
		close(release)
		got := f.waitEnded(t, d.ID)
		if got.Status != store.StatusSucceeded {
			t.Fatalf("deployment = %s %q, want SUCCEEDED: the work won the race", got.Status, got.StatusMessage)
		}
		r, _ := f.store.ResourceGet(context.Background(), d.TargetKey)
		if r.Spec != "new spec" || r.DeploymentStatus != store.StatusSucceeded {
			t.Errorf("resource = spec %q status %s; want the new state", r.Spec, r.DeploymentStatus)
		}
	})
}

func TestCancelAfterTheRunFinishedIsRefusedNamingStatus(t *testing.T) {
	t.Parallel()
	f := setup(t, nil)
	f.start(t)
	d := f.deploy(t, codebuildPlan("true"))
	f.waitEnded(t, d.ID)
	res, err := f.store.DeploymentCancel(context.Background(), store.DeploymentCancelParams{ID: d.ID, At: time.Now()})
	if !errors.Is(err, store.ErrStatusChanged) || res.Status != store.StatusSucceeded {
		t.Errorf("cancel after success = %v, %v; want ErrStatusChanged naming SUCCEEDED", res, err)
	}
}

func TestRunThatCannotBeStoppedEndsFailed(t *testing.T) {
	t.Parallel()
	atRun := make(chan struct{})
	f := setup(t, func(c *engine.Config) {
		c.Engines.Register("stuck", runFunc(func(ctx context.Context, _ provision.Run) (provision.Result, error) {
			close(atRun)
			<-ctx.Done()
			return provision.Result{}, errors.New("process group 4242 survived SIGKILL")
		}))
	})
	f.start(t)
	d := f.deploy(t, provision.Plan{Engine: "stuck"})
	<-atRun
	f.cancel(t, d.ID)
	got := f.waitEnded(t, d.ID)
	if got.Status != store.StatusFailed || !strings.Contains(got.StatusMessage, "survived") {
		t.Errorf("deployment = %s %q, want FAILED saying why", got.Status, got.StatusMessage)
	}
}

func TestShutdownStopsRunsAndEndsThemFailed(t *testing.T) {
	t.Parallel()
	f := setup(t, nil)
	f.start(t)
	started := filepath.Join(t.TempDir(), "started")
	d := f.deploy(t, codebuildPlan(fmt.Sprintf(`touch %s; sleep 300`, started)))
	waitFile(t, started)
	f.engine.Stop()
	got, _ := f.store.DeploymentGet(context.Background(), d.ID)
	if got.Status != store.StatusFailed || got.StatusMessage != engine.MessageShutdown {
		t.Errorf("deployment after shutdown = %s %q", got.Status, got.StatusMessage)
	}
}

func TestStartFinishesDeploymentsOfADeadWorkerHonestly(t *testing.T) {
	t.Parallel()
	f := setup(t, nil)
	ctx := context.Background()
	running := f.deploy(t, codebuildPlan("true"))
	cancelling := f.deploy(t, codebuildPlan("true"))
	queued := f.deploy(t, codebuildPlan("true"))
	// A previous process claimed two and died; one of them was being cancelled.
	for range 2 {
		if d, err := f.store.DeploymentClaim(ctx, store.DeploymentClaimParams{Owner: "dead-process", Expires: time.Now().Add(time.Hour)}); err != nil || d == nil {
			t.Fatalf("claim: %v %v", d, err)
		}
	}
	if res, err := f.store.DeploymentCancel(ctx, store.DeploymentCancelParams{ID: cancelling.ID, At: time.Now()}); err != nil || res.Status != store.StatusCancelling {
		t.Fatalf("cancel: %v %v", res, err)
	}
	// What the dead process left on disk (hole 8 of issue 17): the running
	// deployment's working directory and a log that stops mid-run, and the
	// directory of a deployment the store no longer knows.
	for _, dir := range []string{running.ID, "00000000-0000-4000-8000-ffffffffffff"} {
		if err := os.MkdirAll(filepath.Join(f.dir, "work", dir, "sub"), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(f.dir, "work", dir, "sub", "state"), []byte("secret"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	os.MkdirAll(filepath.Join(f.dir, "logs"), 0o700)
	if err := os.WriteFile(filepath.Join(f.dir, "logs", running.ID+".log"), []byte("[hadron] $ sh ./provision.sh\nprovision: working 3/10\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f.start(t)
	for _, c := range []struct {
		id, status, message string
	}{
		{running.ID, store.StatusFailed, engine.MessageWorkerLost},
		{cancelling.ID, store.StatusCancelled, store.CancelledMessage},
		{queued.ID, store.StatusSucceeded, ""},
	} {
		got := f.waitEnded(t, c.id)
		if got.Status != c.status || got.StatusMessage != c.message {
			t.Errorf("deployment %s = %s %q, want %s %q", c.id, got.Status, got.StatusMessage, c.status, c.message)
		}
	}
	for _, dir := range []string{running.ID, "00000000-0000-4000-8000-ffffffffffff"} {
		if _, err := os.Stat(filepath.Join(f.dir, "work", dir)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the lost run's working directory %s is still there (%v)", dir, err)
		}
	}
	log, err := os.ReadFile(filepath.Join(f.dir, "logs", running.ID+".log"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(string(log), "\n"), "\n")
	if last := lines[len(lines)-1]; !strings.Contains(last, "worker lost") || !strings.Contains(last, "ended FAILED") ||
		!strings.Contains(last, "partly provisioned") || !strings.Contains(string(log), "provision: working 3/10\n") {
		t.Errorf("the lost run's log does not end saying the worker was lost and what it means:\n%s", log)
	}
}

func assertProcessGone(t *testing.T, pidfile string) {
	t.Helper()
	raw, err := os.ReadFile(pidfile)
	if err != nil {
		t.Fatal(err)
	}
	var pid int
	fmt.Sscan(string(raw), &pid)
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if !alive(pid) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Errorf("process %d survived the cancel", pid)
}

// forEachResourceType runs a test for environments, service instances and
// service pipelines: one cancel path serves them all.
func forEachResourceType(t *testing.T, fn func(t *testing.T, typ string)) {
	for _, typ := range []string{store.ResourceEnvironment, store.ResourceServiceInstance, store.ResourceServicePipeline} {
		t.Run(typ, func(t *testing.T) {
			t.Parallel()
			fn(t, typ)
		})
	}
}

// ctxFiles is a bundle source that, like proton's, fails with the context's
// error once the run is cancelled.
type ctxFiles struct{}

func (ctxFiles) BundleFiles(ctx context.Context, ref provision.BundleRef) (map[string][]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("open bundle %s: %w", ref.Dir, err)
	}
	return map[string][]byte{"hello.sh": []byte("echo hello\n")}, nil
}

// TestCancelEndsCancelledWhateverStepItLandsOn is hole 4 of issue 17: a
// cancel that lands between the claim and the command's start makes the
// step it lands on fail with the context's error, and the deployment must
// still end CANCELLED, never FAILED ("read template bundle: ... context
// canceled"). The cancel is made inside the engine's hook before each step,
// so each case lands exactly where it says.
func TestCancelEndsCancelledWhateverStepItLandsOn(t *testing.T) {
	t.Parallel()
	// preparing is an engine whose Run does work of its own before any
	// command (resolving secrets, granting credentials), honouring ctx.
	preparing := runFunc(func(ctx context.Context, run provision.Run) (provision.Result, error) {
		if err := ctx.Err(); err != nil {
			return provision.Result{}, fmt.Errorf("resolve secret DB_PASSWORD: %w", err)
		}
		return provision.Result{}, nil
	})
	for _, tc := range []struct {
		name, step, engine string
	}{
		{"at the claim", "claim", "preparing"},
		{"before the bundle read", engine.StepBundle, "preparing"},
		{"before the working directory", engine.StepWorkDir, "preparing"},
		{"inside the engine before its commands", engine.StepEngine, "preparing"},
		{"before the codebuild command starts", engine.StepEngine, codebuild.Name},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var f *fixture
			var seen atomic.Bool
			cancelAt := func(d *store.Deployment, step string) {
				if step == tc.step {
					seen.Store(true)
					f.cancel(t, d.ID)
				}
			}
			f = setup(t, func(c *engine.Config) {
				c.Files = ctxFiles{}
				c.Engines.Register("preparing", preparing)
				c.OnClaim = func(d *store.Deployment) { cancelAt(d, "claim") }
				c.OnStep = cancelAt
			})
			f.start(t)
			plan := codebuildPlan("sh hello.sh")
			plan.Engine = tc.engine
			plan.Bundle = &provision.BundleRef{Dir: "bundle"}
			d := f.deploy(t, plan)
			got := f.waitEnded(t, d.ID)
			if !seen.Load() {
				t.Fatalf("the run never reached step %q", tc.step)
			}
			if got.Status != store.StatusCancelled {
				t.Errorf("deployment = %s %q, want CANCELLED", got.Status, got.StatusMessage)
			}
		})
	}
}

// TestRunsHaveAFenceMovedByEachRenewalOnlyWithASharedStore: with a shared
// store a run gets a fence before its lease runs out, and each renewal moves
// it (hole 2 of issue 17); a store of one process gives none.
func TestRunsHaveAFenceMovedByEachRenewalOnlyWithASharedStore(t *testing.T) {
	t.Parallel()
	for _, shared := range []bool{true, false} {
		t.Run(fmt.Sprintf("shared=%v", shared), func(t *testing.T) {
			t.Parallel()
			f := setup(t, func(c *engine.Config) {
				c.SharedStore = shared
				c.Engines.Register("fenced", runFunc(func(ctx context.Context, run provision.Run) (provision.Result, error) {
					if run.Fence == nil {
						if shared {
							return provision.Result{}, errors.New("no fence with a shared store")
						}
						return provision.Result{}, nil
					}
					if !shared {
						return provision.Result{}, errors.New("a fence without a shared store")
					}
					first, moved := run.Fence.Until()
					if left := time.Until(first); left <= 0 || left > c.Lease {
						return provision.Result{}, fmt.Errorf("fence %s away, want within the lease %s", left, c.Lease)
					}
					select {
					case <-moved:
					case <-time.After(2 * c.Lease):
						return provision.Result{}, errors.New("the fence did not move in two leases")
					}
					if next, _ := run.Fence.Until(); !next.After(first) {
						return provision.Result{}, fmt.Errorf("the fence moved from %s to %s", first, next)
					}
					return provision.Result{}, nil
				}))
			})
			f.start(t)
			d := f.deploy(t, provision.Plan{Engine: "fenced"})
			if got := f.waitEnded(t, d.ID); got.Status != store.StatusSucceeded {
				t.Errorf("deployment = %s %q", got.Status, got.StatusMessage)
			}
		})
	}
}

// A run sees its resource's customer tags as they are when it runs (a plan
// is made before a new resource's tags are stored), an instance's over its
// service's.
func TestRunCarriesTheResourcesTagsOverItsServices(t *testing.T) {
	t.Parallel()
	got := make(chan map[string]string, 1)
	f := setup(t, func(c *engine.Config) {
		c.Engines.Register("stack", runFunc(func(_ context.Context, run provision.Run) (provision.Result, error) {
			got <- run.Plan.Target.Tags
			return provision.Result{}, nil
		}))
	})
	d := f.deployAs(t, store.ResourceServiceInstance, provision.Plan{Engine: "stack", Target: &provision.Target{Kind: provision.KindServiceInstance}})
	ctx := context.Background()
	for key, tags := range map[string]map[string]string{
		store.ServiceKey(d.ServiceName): {"team": "svc", "cost": "1"},
		d.TargetKey:                     {"team": "inst"},
	} {
		if _, err := f.store.TagsChange(ctx, store.TagsChangeParams{Key: key, Set: tags}); err != nil {
			t.Fatal(err)
		}
	}
	f.start(t)
	if ended := f.waitEnded(t, d.ID); ended.Status != store.StatusSucceeded {
		t.Fatalf("deployment = %s %s", ended.Status, ended.StatusMessage)
	}
	if tags := <-got; !maps.Equal(tags, map[string]string{"team": "inst", "cost": "1"}) {
		t.Errorf("tags the run saw = %v, want the instance's over the service's", tags)
	}
}
