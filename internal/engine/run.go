package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"time"

	"github.com/hadronhq/hadron/internal/deploylog"
	"github.com/hadronhq/hadron/internal/provision"
	"github.com/hadronhq/hadron/internal/store"
	"github.com/hadronhq/hadron/internal/termtext"
)

// run executes one claimed deployment and ends it. Unless parent has
// ended, the end claims the next queued deployment in the same commit and
// run returns it (nil when none is queued).
func (e *Engine) run(parent context.Context, d *store.Deployment) (next *store.Deployment) {
	log := e.cfg.Logger.With("deployment", d.ID, "resource", d.TargetKey)
	// The run is cancelled with its own cause; parent's end (shutdown) reaches
	// it as ErrShutdown through the parent's cause.
	ctx, cancel := context.WithCancelCause(parent)
	defer cancel(nil)
	fence := e.newFence(d.LeaseExpiresAt)
	e.mu.Lock()
	e.running[d.ID] = cancel
	if fence != nil {
		e.fences[d.ID] = fence
	}
	e.mu.Unlock()
	defer func() {
		e.mu.Lock()
		delete(e.running, d.ID)
		delete(e.fences, d.ID)
		delete(e.cancelled, d.ID)
		e.mu.Unlock()
	}()
	if e.cfg.OnClaim != nil {
		e.cfg.OnClaim(d)
	}
	// A cancel that landed between the claim and the registration above found
	// no run to stop; the store knows of it, so ask it once now (a read: no
	// commit on the way to starting the work).
	if cur, err := e.cfg.Store.DeploymentGet(ctx, d.ID); err == nil && cur.Status == store.StatusCancelling {
		e.cancelRun(d.ID, ErrUserCancelled)
	}

	started := time.Now()
	logPath := deploylog.Path(e.cfg.DataDir, d.ID)
	var plan provision.Plan
	planErr := json.Unmarshal([]byte(d.Plan), &plan)
	// A check on a waiting deployment runs every few minutes for as long as
	// it waits: it is logged (and observed) only when it changes something.
	check := d.Wait != ""
	r := runInfo{engine: plan.Engine, started: started}
	if !check {
		e.cfg.Observer.DeploymentStarted(d.TargetType, plan.Engine, e.cfg.Now().Sub(d.CreatedAt))
		// The server's log says where each deployment's own log is, so that an
		// operator finds it from the server's output.
		log.Info("deployment started", "operation", d.Operation, "engine", plan.Engine,
			"queued", started.Sub(d.CreatedAt).Round(time.Millisecond), "log", logPath)
	}
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return e.finish(parent, d, provision.Result{}, fmt.Errorf("open deployment log: %w", err), log, r)
	}
	defer logFile.Close()
	if !check {
		fmt.Fprintf(logFile, "[hadron] %s deployment %s of %s started by %s\n", time.Now().UTC().Format(time.RFC3339), d.ID, d.TargetKey, e.cfg.Owner)
	}

	var res provision.Result
	if planErr != nil {
		err = fmt.Errorf("deployment plan is unreadable: %w", planErr)
	} else if err = e.addTags(ctx, d, &plan); err == nil {
		res, err = e.provision(ctx, d, plan, logFile, fence)
	}
	// A cancel (or a shutdown, or the loss of the lease) makes whatever step
	// it lands on fail with the context's error: reading the bundle,
	// resolving a secret, granting credentials, starting the command. Such a
	// failure is the cancel's doing, so the cancel decides the end
	// (CANCELLED for the user's). A failure of the step's own (or a run
	// that could not be stopped) keeps its error.
	if err != nil && ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		if cause := context.Cause(ctx); !errors.Is(err, cause) {
			err = fmt.Errorf("%w (%w)", cause, err)
		}
	}
	switch {
	case err != nil:
		fmt.Fprintf(logFile, "[hadron] deployment ended: %v\n", err)
	case res.Wait != nil && !check:
		fmt.Fprintf(logFile, "[hadron] %s the deployment waits for its outside party's report (NotifyResourceDeploymentStatusChange)\n", time.Now().UTC().Format(time.RFC3339))
	case res.Wait == nil:
		fmt.Fprintf(logFile, "[hadron] deployment ended well\n")
	}
	return e.finish(parent, d, res, err, log, r)
}

// runInfo is what the end of a run reports besides the deployment: which
// engine ran it and since when.
type runInfo struct {
	engine  string
	started time.Time
}

// planEngine is the engine a deployment's plan names, "" when the plan is
// unreadable.
func planEngine(raw string) string {
	var plan provision.Plan
	json.Unmarshal([]byte(raw), &plan)
	return plan.Engine
}

func (e *Engine) provision(ctx context.Context, d *store.Deployment, plan provision.Plan, logw io.Writer, fence *provision.Fence) (provision.Result, error) {
	eng, ok := e.cfg.Engines.Lookup(plan.Engine)
	if !ok {
		return provision.Result{}, e.cfg.Engines.NotRunning(plan.Engine)
	}
	step := func(name string) {
		if e.cfg.OnStep != nil {
			e.cfg.OnStep(d, name)
		}
	}
	var files map[string][]byte
	// A check on a waiting deployment needs no files: it looks at the outside party.
	if plan.Bundle != nil && d.Wait == "" {
		step(StepBundle)
		var err error
		if files, err = e.cfg.Files.BundleFiles(ctx, *plan.Bundle); err != nil {
			if ctx.Err() != nil {
				// Whatever the store said (a driver may report an
				// interrupted query in its own words), the cancel did it.
				return provision.Result{}, fmt.Errorf("%w (read template bundle: %w)", context.Cause(ctx), err)
			}
			return provision.Result{}, fmt.Errorf("read template bundle: %w", err)
		}
	}
	if len(plan.Files) > 0 {
		files = maps.Clone(files)
		if files == nil {
			files = map[string][]byte{}
		}
		for name, data := range plan.Files {
			files[name] = []byte(data)
		}
	}
	dir := filepath.Join(e.cfg.DataDir, "work", d.ID)
	step(StepWorkDir)
	if err := os.RemoveAll(dir); err != nil {
		return provision.Result{}, fmt.Errorf("clean working directory: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return provision.Result{}, fmt.Errorf("create working directory: %w", err)
	}
	defer os.RemoveAll(dir)
	var waiting json.RawMessage
	if d.Wait != "" {
		waiting = json.RawMessage(d.Wait)
	}
	step(StepEngine)
	return eng.Run(ctx, provision.Run{DeploymentID: d.ID, Operation: d.Operation, Plan: plan, Dir: dir, Files: files, Log: logw,
		Fence: fence, Waiting: waiting})
}

// finish ends d according to how its run ended. The write is conditional on
// the status the run can have left it in, so a concurrent cancel and finish
// have one winner:
//   - the run succeeded: SUCCEEDED from IN_PROGRESS or CANCELLING (the work won);
//   - the run was stopped by the user's cancel: CANCELLED from CANCELLING;
//   - the server is shutting down: FAILED from IN_PROGRESS, CANCELLED from CANCELLING;
//   - the run failed, or could not be stopped: FAILED.
//
// A failure's message quotes commands' output: it is made plain text
// (termtext), since tools colour what they print; the log file keeps it raw.
// r says which engine ran it and since when, for the server's log and the Observer.
// Unless worker (the worker's context) has ended, the write also claims the
// next queued deployment, which finish returns.
func (e *Engine) finish(worker context.Context, d *store.Deployment, res provision.Result, runErr error, log *slog.Logger, r runInfo) *store.Deployment {
	claim := worker.Err() == nil
	deleting := d.Operation == store.OperationDelete
	if d.Wait != "" && (errors.Is(runErr, ErrShutdown) || errors.Is(runErr, ErrLeaseLost)) {
		// A check cut short: the hand-off is intact, it waits again.
		res, runErr = provision.Result{Wait: &provision.Wait{State: json.RawMessage(d.Wait)}}, nil
		if !d.WakeAt.IsZero() {
			res.Wait.CheckAfter = max(d.WakeAt.Sub(e.cfg.Now()), time.Millisecond)
		}
	}
	if runErr == nil && res.Wait != nil {
		e.park(d, *res.Wait, log)
		return nil
	}
	p := store.DeploymentFinishParams{ID: d.ID, Owner: e.cfg.Owner}
	switch {
	case runErr == nil && deleting:
		p.From, p.To = []string{store.StatusDeleteInProgress}, store.StatusDeleteComplete
	case runErr == nil:
		raw, err := json.Marshal(res.Outputs)
		if err != nil {
			runErr = fmt.Errorf("encode outputs: %w", err)
			break
		}
		resources := res.Resources
		if resources == nil {
			resources = []provision.Resource{}
		}
		rawRes, err := json.Marshal(resources)
		if err != nil {
			runErr = fmt.Errorf("encode provisioned resources: %w", err)
			break
		}
		p.From, p.To, p.Outputs, p.Resources = []string{store.StatusInProgress, store.StatusCancelling}, store.StatusSucceeded, string(raw), string(rawRes)
	case errors.Is(runErr, ErrUserCancelled):
		p.From, p.To, p.Message = []string{store.StatusCancelling}, store.StatusCancelled, store.CancelledMessage
	case errors.Is(runErr, provision.ErrCancelledOutside) && !deleting:
		p = store.DeploymentSetCancelledOutside(d.ID, e.cfg.Owner, termtext.Plain(runErr.Error()))
	}
	if p.To == "" {
		switch {
		case deleting:
			p.From, p.To, p.Message = []string{store.StatusDeleteInProgress}, store.StatusDeleteFailed, termtext.Plain(runErr.Error())
		case errors.Is(runErr, ErrShutdown) || errors.Is(runErr, ErrLeaseLost):
			// The user may have cancelled too: that cancel is then honoured.
			if ok, next := e.finishOnce(d, store.DeploymentFinishParams{ID: d.ID, Owner: e.cfg.Owner, From: []string{store.StatusCancelling},
				To: store.StatusCancelled, Message: store.CancelledMessage}, claim, log, r); ok {
				return next
			}
			p.From, p.To, p.Message = []string{store.StatusInProgress}, store.StatusFailed, MessageShutdown
			if errors.Is(runErr, ErrLeaseLost) {
				p.Message = MessageLeaseLost
			}
		default:
			p.From, p.To, p.Message = []string{store.StatusInProgress, store.StatusCancelling}, store.StatusFailed, termtext.Plain(runErr.Error())
		}
	}
	_, next := e.finishOnce(d, p, claim, log, r)
	return next
}

// finishOnce writes the end p of d, and with claim claims the next queued
// deployment in the same transaction. It reports whether the end was
// written, and the deployment claimed.
func (e *Engine) finishOnce(d *store.Deployment, p store.DeploymentFinishParams, claim bool, log *slog.Logger, r runInfo) (bool, *store.Deployment) {
	// The run's context may be gone (shutdown); the final write must still land.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// The store may be out of reach for a while (a database restart): the
	// outcome of the run is worth waiting for, until the lease runs out and
	// the deployment is another node's to recover.
	var next *store.Deployment
	write := func() (ended *store.Deployment, err error) {
		if !claim {
			return e.cfg.Store.DeploymentFinish(ctx, p, e.cfg.Now())
		}
		ended, next, err = e.cfg.Store.DeploymentFinishAndClaim(ctx, p, e.cfg.Now(), e.claimParams())
		return ended, err
	}
	ended, err := write()
	for wait := 100 * time.Millisecond; err != nil && !errors.Is(err, store.ErrStatusChanged) && !errors.Is(err, store.ErrNotFound); wait = min(2*wait, 2*time.Second) {
		log.Warn("finish deployment: retrying", "status", p.To, "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(wait):
			ended, err = write()
			continue
		}
		break
	}
	switch {
	case err == nil:
		level := slog.LevelInfo
		if p.To == store.StatusFailed || p.To == store.StatusDeleteFailed {
			level = slog.LevelWarn
		}
		took := time.Since(r.started)
		log.Log(ctx, level, "deployment finished", "status", p.To, "engine", r.engine,
			"duration", took.Round(time.Millisecond), "message", p.Message)
		e.cfg.Observer.DeploymentEnded(d.TargetType, r.engine, p.To, took)
		e.mu.Lock()
		cancelledAt, cancelled := e.cancelled[d.ID]
		e.mu.Unlock()
		if cancelled {
			e.cfg.Observer.CancelEnded(d.TargetType, p.To, e.cfg.Now().Sub(cancelledAt))
		}
		if e.cfg.OnFinish != nil {
			e.cfg.OnFinish(ended)
		}
		return true, next
	case errors.Is(err, store.ErrStatusChanged):
		return false, nil
	default:
		log.Error("finish deployment", "status", p.To, "err", err)
		return false, nil
	}
}

// addTags gives the plan's target the customer tags of its resource as
// they are now: a plan is made before a new resource's tags are stored,
// and tags may change between deployments. An instance or a pipeline also
// carries its service's tags, under its own.
//
// A check on a waiting deployment skips them: it provisions nothing, and a
// cancelled one must reach its engine with the cancelled context (to close
// a hand-off's pull request), not fail on the way in.
func (e *Engine) addTags(ctx context.Context, d *store.Deployment, plan *provision.Plan) error {
	if plan.Target == nil || d.Wait != "" {
		return nil
	}
	tags := map[string]string{}
	keys := []string{d.TargetKey}
	if d.ServiceName != "" && (d.TargetType == store.ResourceServiceInstance || d.TargetType == store.ResourceServicePipeline) {
		keys = []string{store.ServiceKey(d.ServiceName), d.TargetKey}
	}
	for _, key := range keys {
		t, err := e.cfg.Store.TagsGet(ctx, key)
		if err != nil {
			return fmt.Errorf("read the resource's tags: %w", err)
		}
		maps.Copy(tags, t)
	}
	if len(tags) > 0 {
		plan.Target.Tags = tags
	}
	return nil
}

// park leaves d waiting on its outside party (see the package doc), holding
// no lease. A report may have ended it already: then there is nothing to
// park. A cancel that landed meanwhile is taken up by a worker at once.
func (e *Engine) park(d *store.Deployment, w provision.Wait, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	p := store.DeploymentWaitParams{ID: d.ID, Owner: e.cfg.Owner, State: string(w.State), At: e.cfg.Now()}
	if w.CheckAfter > 0 {
		p.WakeAt = e.cfg.Now().Add(w.CheckAfter)
	}
	status, err := e.cfg.Store.DeploymentWait(ctx, p)
	switch {
	case errors.Is(err, store.ErrStatusChanged):
		log.Info("deployment ended before it could be parked", "err", err)
	case err != nil:
		// The lease runs out and the recovery of lost workers parks it.
		log.Error("park deployment", "err", err)
	case status == store.StatusCancelling:
		e.wakeLocal()
	case d.Wait == "":
		log.Info("deployment waits for its outside party", "check_after", w.CheckAfter)
	}
}
