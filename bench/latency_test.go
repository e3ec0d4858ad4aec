package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/hadronhq/hadron/internal/provision/codebuild"

	"github.com/hadronhq/hadron/internal/api"
)

// Targets of the latency benchmarks (p99).
const (
	cancelTarget   = 20 * time.Millisecond
	dispatchTarget = 10 * time.Millisecond
)

const (
	// pollEvery is how often a waiting benchmark polls GetDeployment.
	pollEvery = 500 * time.Microsecond
	// stepTimeout bounds one step of a cycle (a command's start, a deployment's end).
	stepTimeout = 30 * time.Second
	// cbTemplate is the codebuild template of the latency benchmarks.
	cbTemplate = "bench-codebuild"
	// readyFile is what the provisioning command creates in its working
	// directory (DATA_DIR/work/<deployment id>) once its SIGTERM trap is set.
	readyFile = "ready"
)

var latencyFixture lazy

// setupLatency starts a server with the codebuild template and the two
// environments the cancel and dispatch benchmarks redeploy, both deployed.
func setupLatency() (*hadron, error) {
	h, err := startHadron("latency", "")
	if err != nil {
		return nil, err
	}
	ctx := context.Background()
	if err := h.registerTemplate(ctx, cbTemplate, "codebuild", ""); err != nil {
		return h, err
	}
	for _, name := range []string{"cancel", "dispatch"} {
		var out api.CreateEnvironmentOutput
		if err := h.c.Call(ctx, "CreateEnvironment", map[string]any{
			"name": name, "templateName": cbTemplate, "templateMajorVersion": "1",
			"codebuildRoleArn": codebuildArn, "spec": yamlSpec("mode", "quick"),
		}, &out); err != nil {
			return h, err
		}
		if _, _, err := h.waitDeployment(ctx, out.Environment.LastAttemptedDeploymentId, time.Millisecond, setupTimeout); err != nil {
			return h, fmt.Errorf("create environment %s: %w", name, err)
		}
	}
	return h, nil
}

// updateBody is an UpdateEnvironment of env with the same template version
// and a spec of the given mode.
func updateBody(env, mode string) []byte {
	body, _ := json.Marshal(map[string]string{
		"name": env, "deploymentType": "CURRENT_VERSION", "spec": yamlSpec("mode", mode),
	})
	return body
}

// drainStarts forgets the command starts seen so far.
func drainStarts(h *hadron) {
	for {
		select {
		case <-h.starts:
		default:
			return
		}
	}
}

// nextStart waits for the next command start.
func nextStart(h *hadron) (commandStart, error) {
	select {
	case s := <-h.starts:
		return s, nil
	case <-time.After(stepTimeout):
		return commandStart{}, fmt.Errorf("no provisioning command started within %s", stepTimeout)
	}
}

// waitFile waits until path exists, checking every 100 µs.
func waitFile(path string) error {
	deadline := time.Now().Add(stepTimeout)
	for {
		if _, err := os.Stat(path); err == nil {
			return nil
		} else if !errors.Is(err, os.ErrNotExist) {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not appear within %s", path, stepTimeout)
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// BenchmarkCancel redeploys one environment with a command that runs until
// SIGTERM, cancels it once the command has set its trap, and polls
// GetDeployment every 0.5 ms until it reads CANCELLED. One benchmark
// iteration is the whole series of -samples cancels.
func BenchmarkCancel(b *testing.B) {
	h, err := latencyFixture.get(setupLatency)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	n := *flagSamples
	b.ResetTimer()
	for range b.N {
		var calls, cancels, totals, dispatches []time.Duration
		for i := range n {
			drainStarts(h)
			raw, err := h.c.Raw(ctx, "UpdateEnvironment", updateBody("cancel", "hold"))
			answered := time.Now()
			if err != nil {
				b.Fatalf("cancel %d: %v", i, err)
			}
			var up api.UpdateEnvironmentOutput
			if err := decode(raw, &up); err != nil {
				b.Fatal(err)
			}
			id := up.Environment.LastAttemptedDeploymentId
			start, err := nextStart(h)
			if err != nil {
				b.Fatalf("cancel %d: %v", i, err)
			}
			if err := waitFile(filepath.Join(h.dataDir, "work", id, readyFile)); err != nil {
				b.Fatalf("cancel %d: provisioning command not ready: %v", i, err)
			}

			cancelSent := time.Now()
			raw, err = h.c.Raw(ctx, "CancelEnvironmentDeployment", []byte(`{"environmentName":"cancel"}`))
			cancelAnswered := time.Now()
			if err != nil {
				b.Fatalf("cancel %d: %v", i, err)
			}
			var co api.CancelEnvironmentDeploymentOutput
			if err := decode(raw, &co); err != nil {
				b.Fatal(err)
			}
			if s := co.Environment.DeploymentStatus; s != "CANCELLING" {
				b.Fatalf("cancel %d: CancelEnvironmentDeployment answered %s, want CANCELLING", i, s)
			}
			status, done, err := h.waitDeployment(ctx, id, pollEvery, stepTimeout)
			if err != nil {
				b.Fatalf("cancel %d: %v", i, err)
			}
			if status != "CANCELLED" {
				b.Fatalf("cancel %d: deployment ended %s, want CANCELLED", i, status)
			}
			calls = append(calls, cancelAnswered.Sub(cancelSent))
			cancels = append(cancels, done.Sub(cancelAnswered))
			totals = append(totals, done.Sub(cancelSent))
			dispatches = append(dispatches, start.at.Sub(answered))
		}
		b.StopTimer()
		cancel := summarize(cancels)
		reportMetrics(b, "", cancel)
		report.add(fmt.Sprintf("1. Cancel latency (%d cancels of a running codebuild deployment; GetDeployment polled every %s over HTTP)", n, pollEvery),
			latencyTable([]latencyRow{
				{"CancelEnvironmentDeployment call (round trip)", summarize(calls), 0},
				{"cancel answered -> GetDeployment reads CANCELLED", cancel, cancelTarget},
				{"cancel sent -> GetDeployment reads CANCELLED", summarize(totals), 0},
				{"(dispatch of the same runs, see 2.)", summarize(dispatches), 0},
			}))
		b.StartTimer()
	}
}

// BenchmarkDispatch redeploys one environment with a command that exits at
// once and measures from the UpdateEnvironment answer to the command's shell
// having started (server.Config.OnCommandStart), then waits for SUCCEEDED.
func BenchmarkDispatch(b *testing.B) {
	h, err := latencyFixture.get(setupLatency)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	n := *flagSamples
	body := updateBody("dispatch", "quick")
	b.ResetTimer()
	for range b.N {
		var fromAnswer, fromRequest, calls, deploys, forks, bashes []time.Duration
		for i := range n {
			// The same-run references, between two samples.
			_, fork, err := forkExec()
			if err != nil {
				b.Fatal(err)
			}
			forks = append(forks, fork)
			bash, err := bashExec()
			if err != nil {
				b.Fatal(err)
			}
			bashes = append(bashes, bash)
			drainStarts(h)
			sent := time.Now()
			raw, err := h.c.Raw(ctx, "UpdateEnvironment", body)
			answered := time.Now()
			if err != nil {
				b.Fatalf("dispatch %d: %v", i, err)
			}
			var up api.UpdateEnvironmentOutput
			if err := decode(raw, &up); err != nil {
				b.Fatal(err)
			}
			start, err := nextStart(h)
			if err != nil {
				b.Fatalf("dispatch %d: %v", i, err)
			}
			status, done, err := h.waitDeployment(ctx, up.Environment.LastAttemptedDeploymentId, pollEvery, stepTimeout)
			if err != nil {
				b.Fatalf("dispatch %d: %v", i, err)
			}
			if status != "SUCCEEDED" {
				b.Fatalf("dispatch %d: deployment ended %s, want SUCCEEDED", i, status)
			}
			calls = append(calls, answered.Sub(sent))
			fromAnswer = append(fromAnswer, start.at.Sub(answered))
			fromRequest = append(fromRequest, start.at.Sub(sent))
			deploys = append(deploys, done.Sub(answered))
		}
		b.StopTimer()
		dispatch := summarize(fromAnswer)
		reportMetrics(b, "", dispatch)
		lines := latencyTable([]latencyRow{
			{"UpdateEnvironment call (round trip)", summarize(calls), 0},
			{"update answered -> command started", dispatch, dispatchTarget},
			{"update sent -> command started", summarize(fromRequest), 0},
			{"update answered -> GetDeployment reads SUCCEEDED", summarize(deploys), 0},
			{"reference: os/exec sh -c true, started + reaped", summarize(forks), 0},
			{"reference: os/exec bash -c true, started + reaped", summarize(bashes), 0},
		})
		if dispatch.Negative > 0 {
			lines = append(lines, fmt.Sprintf("  (%d of %d commands started before the UpdateEnvironment answer reached the client: negative samples, kept)", dispatch.Negative, dispatch.N))
		}
		report.add(fmt.Sprintf("2. Dispatch latency (%d redeployments of a codebuild environment whose command exits at once)", n), lines)
		b.StartTimer()
	}
}

// BenchmarkSupervisor separates the supervisor's share of a command's start:
// codebuild.Run of `true` from its call to OnStart (working directory set-up,
// the supervisor, the shell), under the standalone hadron-supervisor and
// under a re-exec of this binary (a server without hadron-supervisor beside
// it), each beside starting `/bin/sh -c true` directly with os/exec. The
// three alternate, so that they see the same load.
func BenchmarkSupervisor(b *testing.B) {
	base := b.TempDir()
	n := *flagSamples
	b.ResetTimer()
	for iter := range b.N {
		var standStart, standTotal, selfStart, selfTotal, shStart, shTotal []time.Duration
		run := func(i int, sup *codebuild.Supervisor, start, total *[]time.Duration) {
			begin := time.Now()
			var started time.Time
			name := "self"
			if sup != nil {
				name = "standalone"
			}
			_, err := codebuild.Run(context.Background(), codebuild.Job{
				Dir:        filepath.Join(base, strconv.Itoa(iter), name, strconv.Itoa(i)),
				Commands:   []string{"true"},
				OnStart:    func(int) { started = time.Now() },
				Supervisor: sup,
			})
			if err != nil {
				b.Fatal(err)
			}
			*total = append(*total, time.Since(begin))
			*start = append(*start, started.Sub(begin))
		}
		for i := range n {
			run(i, supervisor, &standStart, &standTotal)
			run(i, nil, &selfStart, &selfTotal)
			start, total, err := forkExec()
			if err != nil {
				b.Fatal(err)
			}
			shStart, shTotal = append(shStart, start), append(shTotal, total)
		}
		b.StopTimer()
		stand, self, ss := summarize(standStart), summarize(selfStart), summarize(shStart)
		reportMetrics(b, "", stand)
		lines := latencyTable([]latencyRow{
			{"hadron-supervisor: Run(true) call -> shell started", stand, 0},
			{"re-exec of the binary: Run call -> shell started", self, 0},
			{"os/exec /bin/sh -c true: Start returned", ss, 0},
			{"hadron-supervisor: whole Run(true)", summarize(standTotal), 0},
			{"re-exec of the binary: whole Run(true)", summarize(selfTotal), 0},
			{"os/exec /bin/sh -c true: whole run", summarize(shTotal), 0},
		})
		lines = append(lines, fmt.Sprintf("  per-command supervisor overhead at start (p50 difference to os/exec): hadron-supervisor %s ms, re-exec %s ms", ms(stand.P50-ss.P50), ms(self.P50-ss.P50)))
		report.add(fmt.Sprintf("2b. Supervisor overhead (%d runs each, outside the server)", n), lines)
		b.StartTimer()
	}
}

// forkExec is the fork/exec reference: `/bin/sh -c true` started with
// os/exec, the time until Start returned and until it was reaped.
func forkExec() (start, total time.Duration, err error) {
	return startReaped("/bin/sh", "-c", "true")
}

// bashExec is forkExec of `bash -c true`, with the benchmark's environment
// (its LANG too): the shell each codebuild run starts, so a floor under a
// dispatch.
func bashExec() (total time.Duration, err error) {
	_, total, err = startReaped("bash", "-c", "true")
	return total, err
}

// startReaped starts name with args through os/exec and waits for it: the
// time until Start returned, and until it was reaped.
func startReaped(name string, args ...string) (start, total time.Duration, err error) {
	begin := time.Now()
	cmd := exec.Command(name, args...)
	if err := cmd.Start(); err != nil {
		return 0, 0, err
	}
	start = time.Since(begin)
	if err := cmd.Wait(); err != nil {
		return 0, 0, err
	}
	return start, time.Since(begin), nil
}
