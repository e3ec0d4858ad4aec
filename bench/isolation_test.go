package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"time"

	"testing"

	"github.com/hadronhq/hadron/internal/api"
	"github.com/hadronhq/hadron/internal/provision/codebuild"
	"github.com/hadronhq/hadron/internal/provision/sandbox"
	"github.com/hadronhq/hadron/internal/server"
)

// setupIsolation starts a server whose CodeBuild runs are confined by
// policy (nil: not confined), with the codebuild template and the
// environment "dispatch" deployed.
func setupIsolation(name string, policy *sandbox.Policy) (*hadron, error) {
	dir, err := os.MkdirTemp("", "hadron-bench-"+name+"-")
	if err != nil {
		return nil, err
	}
	h, err := startHadronWith(name, dir, func(cfg *server.Config) error {
		e, ok := cfg.Engines.Lookup(codebuild.Name)
		if !ok {
			return fmt.Errorf("no codebuild engine")
		}
		e.(*codebuild.Engine).Isolation = policy
		return nil
	})
	if err != nil {
		return nil, err
	}
	ctx := context.Background()
	if err := h.registerTemplate(ctx, cbTemplate, "codebuild", ""); err != nil {
		return h, err
	}
	var out api.CreateEnvironmentOutput
	if err := h.c.Call(ctx, "CreateEnvironment", map[string]any{
		"name": "dispatch", "templateName": cbTemplate, "templateMajorVersion": "1",
		"codebuildRoleArn": codebuildArn, "spec": yamlSpec("mode", "quick"),
	}, &out); err != nil {
		return h, err
	}
	if _, _, err := h.waitDeployment(ctx, out.Environment.LastAttemptedDeploymentId, time.Millisecond, setupTimeout); err != nil {
		return h, fmt.Errorf("create environment dispatch: %w", err)
	}
	return h, nil
}

// BenchmarkDispatchIsolation measures what isolation costs dispatch: two
// servers, one running commands unconfined (--isolation off) and one under
// this machine's best-effort policy, are redeployed in turn (so that both
// see the same load), from the UpdateEnvironment answer to the command's
// shell having started, as in BenchmarkDispatch. Between them each round
// starts `/bin/sh -c true` with os/exec, the fork/exec reference.
func BenchmarkDispatchIsolation(b *testing.B) {
	policy, st, err := sandbox.Setup(sandbox.Config{Mode: sandbox.BestEffort, Protect: []string{os.TempDir() + "/hadron-bench-protected"}})
	if err != nil {
		b.Fatal(err)
	}
	off, err := setupIsolation("isolation-off", nil)
	if off != nil {
		defer off.close()
	}
	if err != nil {
		b.Fatal(err)
	}
	on, err := setupIsolation("isolation-on", policy)
	if on != nil {
		defer on.close()
	}
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	n := *flagSamples
	body := updateBody("dispatch", "quick")
	dispatch := func(h *hadron) (time.Duration, error) {
		drainStarts(h)
		raw, err := h.c.Raw(ctx, "UpdateEnvironment", body)
		answered := time.Now()
		if err != nil {
			return 0, err
		}
		var up api.UpdateEnvironmentOutput
		if err := decode(raw, &up); err != nil {
			return 0, err
		}
		start, err := nextStart(h)
		if err != nil {
			return 0, err
		}
		status, _, err := h.waitDeployment(ctx, up.Environment.LastAttemptedDeploymentId, pollEvery, stepTimeout)
		if err == nil && status != "SUCCEEDED" {
			err = fmt.Errorf("deployment ended %s, want SUCCEEDED", status)
		}
		return start.at.Sub(answered), err
	}
	b.ResetTimer()
	for range b.N {
		var offS, onS, forkS []time.Duration
		for i := range n {
			d, err := dispatch(off)
			if err != nil {
				b.Fatalf("dispatch %d, isolation off: %v", i, err)
			}
			offS = append(offS, d)
			d, err = dispatch(on)
			if err != nil {
				b.Fatalf("dispatch %d, isolation on: %v", i, err)
			}
			onS = append(onS, d)
			begin := time.Now()
			cmd := exec.Command("/bin/sh", "-c", "true")
			if err := cmd.Start(); err != nil {
				b.Fatal(err)
			}
			forkS = append(forkS, time.Since(begin))
			cmd.Wait()
		}
		b.StopTimer()
		so, sn, sf := summarize(offS), summarize(onS), summarize(forkS)
		reportMetrics(b, "off-", so)
		reportMetrics(b, "on-", sn)
		lines := latencyTable([]latencyRow{
			{"dispatch, --isolation off", so, dispatchTarget},
			{"dispatch, isolation on (best effort)", sn, dispatchTarget},
			{"os/exec /bin/sh -c true: Start returned", sf, 0},
		})
		lines = append(lines, fmt.Sprintf("  isolation's cost: p50 %s ms, p99 %s ms", ms(sn.P50-so.P50), ms(sn.P99-so.P99)))
		for _, m := range st.Mechanisms {
			state := "on "
			if !m.On {
				state = "OFF"
			}
			lines = append(lines, fmt.Sprintf("  %s %s", state, m.Name))
		}
		report.add(fmt.Sprintf("2c. Cost of isolation on dispatch (%d redeployments on each of two servers, alternating)", n), lines)
		b.StartTimer()
	}
}
