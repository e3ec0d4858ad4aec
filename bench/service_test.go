package bench

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hadronhq/hadron/internal/engine"

	"github.com/hadronhq/hadron/internal/api"
	"github.com/hadronhq/hadron/internal/hadrontest"
)

// Knobs of the service benchmarks.
var (
	flagServiceInstances = flag.Int("service-instances", 20, "instances of each service BenchmarkCreateService creates")
	flagServiceReps      = flag.Int("service-reps", 5, "services BenchmarkCreateService creates per work setting")
	flagServiceDir       = flag.String("service-dir", "", "parent directory of the service benchmarks' server data (SQLite file, work directories); default the temporary directory (disk), /dev/shm to take the disk out")
)

const (
	// svcTemplate is the service template of the service benchmarks:
	// testdata/service, compatible with cbTemplate major version 1.
	svcTemplate = "bench-service"
	// svcEnvs is how many environments the services' instances go to.
	svcEnvs = 4
	// servicePoll is how often BenchmarkCreateService polls GetService.
	servicePoll = 5 * time.Millisecond
	// pipelineArn is the account's pipelineCodebuildRoleArn.
	pipelineArn = "arn:aws:iam::000000000000:role/hadron-pipeline"
)

// createWork is the work of each command in BenchmarkCreateService, as the
// sleep(1) argument its script runs ("0": none).
var createWork = []string{"0", "0.2"}

var serviceFixture lazy

// svcEnvName is the i-th environment of the service benchmarks.
func svcEnvName(i int) string { return fmt.Sprintf("svc-env-%d", i) }

// svcInstance is one instance of a service spec.
type svcInstance struct {
	name, env, mode, work string
}

// svcSpec is a service spec with a pipeline of the given mode and work and
// the given instances.
func svcSpec(pipelineMode, pipelineWork string, instances ...svcInstance) string {
	var b strings.Builder
	fmt.Fprintf(&b, "proton: ServiceSpec\npipeline:\n  pipeline_mode: %q\n  pipeline_work: %q\ninstances:\n", pipelineMode, pipelineWork)
	for _, in := range instances {
		fmt.Fprintf(&b, "  - name: %s\n    environment: %s\n    spec:\n      instance_mode: %q\n      instance_work: %q\n",
			in.name, in.env, in.mode, in.work)
	}
	return b.String()
}

// setupServices starts a server with svcEnvs codebuild environments, the
// account's pipeline role, the published service template, and the services
// "cancel" and "dispatch" (instance "one" in the first environment, and a
// pipeline), all deployed.
func setupServices() (*hadron, error) {
	h, err := startHadron("services", *flagServiceDir)
	if err != nil {
		return nil, err
	}
	ctx := context.Background()
	if err := h.registerTemplate(ctx, cbTemplate, "codebuild", ""); err != nil {
		return h, err
	}
	var ids []string
	for i := range svcEnvs {
		var out api.CreateEnvironmentOutput
		if err := h.c.Call(ctx, "CreateEnvironment", map[string]any{
			"name": svcEnvName(i), "templateName": cbTemplate, "templateMajorVersion": "1",
			"codebuildRoleArn": codebuildArn, "spec": yamlSpec("mode", "quick"),
		}, &out); err != nil {
			return h, err
		}
		ids = append(ids, out.Environment.LastAttemptedDeploymentId)
	}
	for i, id := range ids {
		if _, _, err := h.waitDeployment(ctx, id, time.Millisecond, setupTimeout); err != nil {
			return h, fmt.Errorf("create environment %s: %w", svcEnvName(i), err)
		}
	}
	if err := h.c.Call(ctx, "UpdateAccountSettings", map[string]any{"pipelineCodebuildRoleArn": pipelineArn}, nil); err != nil {
		return h, err
	}
	if err := h.registerServiceTemplate(ctx, svcTemplate, "service"); err != nil {
		return h, err
	}
	for _, name := range []string{"cancel", "dispatch"} {
		spec := svcSpec("quick", "0", svcInstance{"one", svcEnvName(0), "quick", "0"})
		if err := h.c.Call(ctx, "CreateService", map[string]any{
			"name": name, "templateName": svcTemplate, "templateMajorVersion": "1", "spec": spec,
		}, nil); err != nil {
			return h, err
		}
		if _, _, _, err := h.waitService(ctx, name, 5*time.Millisecond, setupTimeout); err != nil {
			return h, err
		}
	}
	return h, nil
}

// registerServiceTemplate packs testdata/<bundle> into the bundle
// directory, creates the service template name, registers version 1.0
// compatible with cbTemplate major version 1, and publishes it.
func (h *hadron) registerServiceTemplate(ctx context.Context, name, bundle string) error {
	key := bundle + ".tar.gz"
	if err := hadrontest.PutBundle(filepath.Join(h.dataDir, "bundles"), bundleBucket, key, filepath.Join("testdata", bundle)); err != nil {
		return err
	}
	if err := h.c.Call(ctx, "CreateServiceTemplate", map[string]any{"name": name, "displayName": name}, nil); err != nil {
		return err
	}
	var v api.CreateServiceTemplateVersionOutput
	if err := h.c.Call(ctx, "CreateServiceTemplateVersion", map[string]any{
		"templateName":                   name,
		"source":                         map[string]any{"s3": map[string]string{"bucket": bundleBucket, "key": key}},
		"compatibleEnvironmentTemplates": []map[string]string{{"templateName": cbTemplate, "majorVersion": "1"}},
	}, &v); err != nil {
		return err
	}
	err := hadrontest.Wait(ctx, 5*time.Millisecond, setupTimeout, "registration of service template "+name, func() (bool, string, error) {
		if v.ServiceTemplateVersion.Status != "REGISTRATION_IN_PROGRESS" {
			return true, "", nil
		}
		err := h.c.Call(ctx, "GetServiceTemplateVersion", map[string]any{
			"templateName": name, "majorVersion": "1", "minorVersion": "0",
		}, &v)
		return false, v.ServiceTemplateVersion.Status, err
	})
	if err != nil {
		return err
	}
	if s := v.ServiceTemplateVersion.Status; s != "DRAFT" {
		return fmt.Errorf("service template %s: registration ended %s: %s", name, s, v.ServiceTemplateVersion.StatusMessage)
	}
	return h.c.Call(ctx, "UpdateServiceTemplateVersion", map[string]any{
		"templateName": name, "majorVersion": "1", "minorVersion": "0", "status": "PUBLISHED",
	}, nil)
}

// waitService polls GetService every pollEvery until the service is no
// longer in a change, and returns it and the arrival time of the answer that
// showed it. A status other than ACTIVE is an error.
func (h *hadron) waitService(ctx context.Context, name string, pollEvery, timeout time.Duration) (api.Service, time.Time, int, error) {
	body := []byte(`{"name":"` + name + `"}`)
	var (
		svc   api.Service
		at    time.Time
		polls int
	)
	err := hadrontest.Wait(ctx, pollEvery, timeout, "service "+name+" to be ACTIVE", func() (bool, string, error) {
		polls++
		raw, err := h.c.Raw(ctx, "GetService", body)
		if err != nil {
			return false, "", err
		}
		at = time.Now()
		var out api.GetServiceOutput
		if err := decode(raw, &out); err != nil {
			return false, "", err
		}
		if out.Service == nil {
			return false, "", fmt.Errorf("GetService %s answered no service", name)
		}
		svc = *out.Service
		switch s := svc.Status; s {
		case "CREATE_IN_PROGRESS", "UPDATE_IN_PROGRESS", "DELETE_IN_PROGRESS",
			"CREATE_FAILED_CLEANUP_IN_PROGRESS", "UPDATE_FAILED_CLEANUP_IN_PROGRESS":
			return false, s, nil
		case "ACTIVE":
			return true, s, nil
		default:
			return false, s, fmt.Errorf("service %s ended %s: %s", name, s, svc.StatusMessage)
		}
	})
	return svc, at, polls, err
}

// redeployTarget is what the cancel and dispatch benchmarks redeploy: a service
// instance or a service pipeline.
type redeployTarget struct {
	kind     string // "service instance", "service pipeline"
	updateOp string
	cancelOp string
	// update is the body of a CURRENT_VERSION redeployment whose command
	// behaves as mode says.
	update func(mode string) []byte
	cancel []byte
	// deployment reads the deployment id from the update's answer, status
	// the deployment status from the cancel's answer.
	deployment func(raw []byte) (string, error)
	status     func(raw []byte) (string, error)
	// dispatchSection names the report section of the same kind's dispatch.
	dispatchSection string
}

// instanceTarget redeploys instance "one" of service.
func instanceTarget(service string) redeployTarget {
	return redeployTarget{
		kind: "service instance", updateOp: "UpdateServiceInstance", cancelOp: "CancelServiceInstanceDeployment", dispatchSection: "8",
		update: func(mode string) []byte {
			return mustMarshal(map[string]string{
				"serviceName": service, "name": "one", "deploymentType": "CURRENT_VERSION",
				"spec": svcSpec("quick", "0", svcInstance{"one", svcEnvName(0), mode, "0"}),
			})
		},
		cancel: mustMarshal(map[string]string{"serviceName": service, "serviceInstanceName": "one"}),
		deployment: func(raw []byte) (string, error) {
			var out api.UpdateServiceInstanceOutput
			err := decode(raw, &out)
			return out.ServiceInstance.LastAttemptedDeploymentId, err
		},
		status: func(raw []byte) (string, error) {
			var out api.UpdateServiceInstanceOutput
			err := decode(raw, &out)
			return out.ServiceInstance.DeploymentStatus, err
		},
	}
}

// pipelineTarget redeploys the pipeline of service.
func pipelineTarget(service string) redeployTarget {
	return redeployTarget{
		kind: "service pipeline", updateOp: "UpdateServicePipeline", cancelOp: "CancelServicePipelineDeployment", dispatchSection: "8",
		update: func(mode string) []byte {
			return mustMarshal(map[string]string{
				"serviceName": service, "deploymentType": "CURRENT_VERSION",
				"spec": svcSpec(mode, "0", svcInstance{"one", svcEnvName(0), "quick", "0"}),
			})
		},
		cancel: mustMarshal(map[string]string{"serviceName": service}),
		deployment: func(raw []byte) (string, error) {
			var out api.UpdateServicePipelineOutput
			err := decode(raw, &out)
			return out.Pipeline.LastAttemptedDeploymentId, err
		},
		status: func(raw []byte) (string, error) {
			var out api.UpdateServicePipelineOutput
			err := decode(raw, &out)
			return out.Pipeline.DeploymentStatus, err
		},
	}
}

func mustMarshal(v any) []byte {
	data, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return data
}

// BenchmarkServiceCancel is BenchmarkCancel for a service instance
// (UpdateServiceInstance, CancelServiceInstanceDeployment) and a service
// pipeline (UpdateServicePipeline, CancelServicePipelineDeployment): -samples
// cancels each of a command that runs until SIGTERM, once it has set its
// trap, with GetDeployment polled every 0.5 ms until it reads CANCELLED.
func BenchmarkServiceCancel(b *testing.B) {
	h, err := serviceFixture.get(setupServices)
	if err != nil {
		b.Fatal(err)
	}
	for i, t := range []redeployTarget{instanceTarget("cancel"), pipelineTarget("cancel")} {
		b.Run(strings.TrimPrefix(t.kind, "service "), func(b *testing.B) {
			for range b.N {
				benchRedeployCancel(b, h, t, fmt.Sprintf("7%c", 'a'+i))
			}
		})
	}
}

func benchRedeployCancel(b *testing.B, h *hadron, t redeployTarget, section string) {
	ctx := context.Background()
	n := *flagSamples
	hold := t.update("hold")
	var calls, cancels, totals, dispatches []time.Duration
	for i := range n {
		drainStarts(h)
		raw, err := h.c.Raw(ctx, t.updateOp, hold)
		answered := time.Now()
		if err != nil {
			b.Fatalf("cancel %d: %v", i, err)
		}
		id, err := t.deployment(raw)
		if err != nil {
			b.Fatal(err)
		}
		start, err := nextStart(h)
		if err != nil {
			b.Fatalf("cancel %d: %v", i, err)
		}
		if err := waitFile(filepath.Join(h.dataDir, "work", id, readyFile)); err != nil {
			b.Fatalf("cancel %d: provisioning command not ready: %v", i, err)
		}

		cancelSent := time.Now()
		raw, err = h.c.Raw(ctx, t.cancelOp, t.cancel)
		cancelAnswered := time.Now()
		if err != nil {
			b.Fatalf("cancel %d: %v", i, err)
		}
		if s, err := t.status(raw); err != nil || s != "CANCELLING" {
			b.Fatalf("cancel %d: %s answered %q (%v), want CANCELLING", i, t.cancelOp, s, err)
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
	report.add(fmt.Sprintf("%s. Cancel latency, %s (%d cancels of a running codebuild deployment; GetDeployment polled every %s over HTTP)", section, t.kind, n, pollEvery),
		latencyTable([]latencyRow{
			{t.cancelOp + " call", summarize(calls), 0},
			{"cancel answered -> GetDeployment reads CANCELLED", cancel, cancelTarget},
			{"cancel sent -> GetDeployment reads CANCELLED", summarize(totals), 0},
			{"(dispatch of the same runs, see " + t.dispatchSection + ".)", summarize(dispatches), 0},
		}))
	b.StartTimer()
}

// BenchmarkServiceDispatch is BenchmarkDispatch for a service instance
// (UpdateServiceInstance) and a service pipeline (UpdateServicePipeline):
// -samples redeployments each with a command that exits at once, from the
// update's answer to the command's shell having started.
func BenchmarkServiceDispatch(b *testing.B) {
	h, err := serviceFixture.get(setupServices)
	if err != nil {
		b.Fatal(err)
	}
	for i, t := range []redeployTarget{instanceTarget("dispatch"), pipelineTarget("dispatch")} {
		b.Run(strings.TrimPrefix(t.kind, "service "), func(b *testing.B) {
			for range b.N {
				benchRedeployDispatch(b, h, t, fmt.Sprintf("8%c", 'a'+i))
			}
		})
	}
}

func benchRedeployDispatch(b *testing.B, h *hadron, t redeployTarget, section string) {
	ctx := context.Background()
	n := *flagSamples
	body := t.update("quick")
	var fromAnswer, fromRequest, calls, deploys []time.Duration
	for i := range n {
		drainStarts(h)
		sent := time.Now()
		raw, err := h.c.Raw(ctx, t.updateOp, body)
		answered := time.Now()
		if err != nil {
			b.Fatalf("dispatch %d: %v", i, err)
		}
		id, err := t.deployment(raw)
		if err != nil {
			b.Fatal(err)
		}
		start, err := nextStart(h)
		if err != nil {
			b.Fatalf("dispatch %d: %v", i, err)
		}
		status, done, err := h.waitDeployment(ctx, id, pollEvery, stepTimeout)
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
		{t.updateOp + " call", summarize(calls), 0},
		{"update answered -> command started", dispatch, dispatchTarget},
		{"update sent -> command started", summarize(fromRequest), 0},
		{"update answered -> GetDeployment reads SUCCEEDED", summarize(deploys), 0},
	})
	if dispatch.Negative > 0 {
		lines = append(lines, fmt.Sprintf("  (%d of %d commands started before the %s answer reached the client: negative samples, kept)", dispatch.Negative, dispatch.N, t.updateOp))
	}
	report.add(fmt.Sprintf("%s. Dispatch latency, %s (%d redeployments whose command exits at once)", section, t.kind, n), lines)
	b.StartTimer()
}

// cmdRun is one provisioning command's own run, as its script reported it.
type cmdRun struct {
	pid        int
	start, end time.Time
}

func (r cmdRun) own() time.Duration { return r.end.Sub(r.start) }

// createRun is what one CreateService measured.
type createRun struct {
	answered, active time.Time
	instances        []cmdRun // by start
	pipeline         cmdRun
	hadronStarts     map[int]time.Time // OnCommandStart by pid
	// cpuSelf and cpuChildren are the CPU time (user + system) this process
	// (server and benchmark client) and its waited-for descendants (the
	// commands' supervisors, shells, date and sleep) used from the
	// CreateService call until ACTIVE.
	cpuSelf, cpuChildren time.Duration
	polls                int // GetService calls until ACTIVE
}

// cpuTimes returns the CPU time of this process and of its children.
func cpuTimes() (self, children time.Duration) {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	self = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru)
	return self, time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkCreateService creates -service-reps services of
// -service-instances instances each (spread over svcEnvs environments) and a
// pipeline, for each work setting of createWork, and compares the time from
// the CreateService answer until GetService reads ACTIVE with the commands'
// own run time: their sum, and the critical path on the engine's workers.
func BenchmarkCreateService(b *testing.B) {
	h, err := serviceFixture.get(setupServices)
	if err != nil {
		b.Fatal(err)
	}
	workers := engine.DefaultWorkers
	var lines []string
	for _, work := range createWork {
		b.Run("work="+work, func(b *testing.B) {
			for iter := range b.N {
				var runs []createRun
				stop, err := startProfile("cpu-CreateService-work" + work + ".pprof")
				if err != nil {
					b.Fatal(err)
				}
				for rep := range *flagServiceReps {
					r, err := createOnce(h, fmt.Sprintf("create-w%s-%d-%d", strings.ReplaceAll(work, ".", ""), iter, rep), work)
					if err != nil {
						b.Fatal(err)
					}
					runs = append(runs, r)
				}
				stop()
				b.StopTimer()
				rows, overhead := createRows(runs, workers)
				reportMetrics(b, "overhead-", overhead)
				lines = append(lines, fmt.Sprintf("  each command's work: %s (%s)", workLabel(work), fmt.Sprintf("%d services", len(runs))))
				lines = append(lines, rows...)
				b.StartTimer()
			}
		})
	}
	report.add(fmt.Sprintf("9. CreateService with %d instances in %d environments and a pipeline (%d services per setting; %d workers; GetService polled every %s)",
		*flagServiceInstances, svcEnvs, *flagServiceReps, workers, servicePoll), lines)
}

func workLabel(work string) string {
	if work == "0" {
		return "none, the script only takes its two timestamps"
	}
	return "sleep " + work + " s"
}

// createOnce creates one service, waits until it is ACTIVE and reads its
// commands' timestamps from the instances' and the pipeline's outputs.
func createOnce(h *hadron, name, work string) (createRun, error) {
	ctx := context.Background()
	var instances []svcInstance
	for i := range *flagServiceInstances {
		instances = append(instances, svcInstance{fmt.Sprintf("i%02d", i), svcEnvName(i % svcEnvs), "timed", work})
	}
	body := mustMarshal(map[string]string{
		"name": name, "templateName": svcTemplate, "templateMajorVersion": "1",
		"spec": svcSpec("timed", work, instances...),
	})
	drainStarts(h)
	self0, children0 := cpuTimes()
	raw, err := h.c.Raw(ctx, "CreateService", body)
	r := createRun{answered: time.Now(), hadronStarts: map[int]time.Time{}}
	if err != nil {
		return r, err
	}
	var created api.CreateServiceOutput
	if err := decode(raw, &created); err != nil {
		return r, err
	}
	if s := created.Service.Status; s != "CREATE_IN_PROGRESS" {
		return r, fmt.Errorf("CreateService %s answered %s, want CREATE_IN_PROGRESS", name, s)
	}
	if _, r.active, r.polls, err = h.waitService(ctx, name, servicePoll, setupTimeout); err != nil {
		return r, err
	}
	self1, children1 := cpuTimes()
	r.cpuSelf, r.cpuChildren = self1-self0, children1-children0
	for range len(instances) + 1 {
		s, err := nextStart(h)
		if err != nil {
			return r, err
		}
		r.hadronStarts[s.pid] = s.at
	}
	for _, in := range instances {
		var out api.ListServiceInstanceOutputsOutput
		if err := h.c.Call(ctx, "ListServiceInstanceOutputs", map[string]string{"serviceName": name, "serviceInstanceName": in.name}, &out); err != nil {
			return r, err
		}
		run, err := parseRun(out.Outputs)
		if err != nil {
			return r, fmt.Errorf("instance %s of %s: %w", in.name, name, err)
		}
		r.instances = append(r.instances, run)
	}
	var out api.ListServicePipelineOutputsOutput
	if err := h.c.Call(ctx, "ListServicePipelineOutputs", map[string]string{"serviceName": name}, &out); err != nil {
		return r, err
	}
	if r.pipeline, err = parseRun(out.Outputs); err != nil {
		return r, fmt.Errorf("pipeline of %s: %w", name, err)
	}
	slices.SortFunc(r.instances, func(a, b cmdRun) int { return a.start.Compare(b.start) })
	return r, nil
}

// parseRun reads the outputs Pid, Started and Ended of a timed command.
func parseRun(outputs []api.Output) (cmdRun, error) {
	var run cmdRun
	var started, ended int64
	for _, o := range outputs {
		v, err := strconv.ParseInt(o.ValueString, 10, 64)
		if err != nil {
			return run, fmt.Errorf("output %s = %q: %w", o.Key, o.ValueString, err)
		}
		switch o.Key {
		case "Pid":
			run.pid = int(v)
		case "Started":
			started = v
		case "Ended":
			ended = v
		}
	}
	if started == 0 || ended == 0 {
		return run, fmt.Errorf("outputs %v lack Started or Ended", outputs)
	}
	run.start, run.end = time.Unix(0, started), time.Unix(0, ended)
	return run, nil
}

// criticalPath is the least time the instances' commands (in the order they
// started), then the pipeline's, take on workers with no overhead at all:
// each instance goes to the first worker free.
func criticalPath(r createRun, workers int) time.Duration {
	free := make([]time.Duration, workers)
	var end time.Duration
	for _, in := range r.instances {
		w := slices.Index(free, slices.Min(free))
		free[w] += in.own()
		end = max(end, free[w])
	}
	return end + r.pipeline.own()
}

// handoffGaps pairs each instance that started once every worker was busy
// with the earliest end, not yet paired, of an instance that started before
// it: the gap is the time a worker took from one command's end to the next
// command's first statement.
func handoffGaps(r createRun, workers int) []time.Duration {
	var gaps []time.Duration
	var ends []time.Time // of started instances, not yet paired
	for i, in := range r.instances {
		if i >= workers && len(ends) > 0 {
			slices.SortFunc(ends, time.Time.Compare)
			gaps = append(gaps, in.start.Sub(ends[0]))
			ends = ends[1:]
		}
		ends = append(ends, in.end)
	}
	return gaps
}

// createRows formats the measurements of a set of CreateService runs and
// returns the distribution of Hadron's overhead.
func createRows(runs []createRun, workers int) ([]string, summary) {
	var total, sumOwn, crit, overhead, share, first, handoff, toPipeline, toActive, shellToScript, cpuSelf, cpuChildren []time.Duration
	polls := 0
	for _, r := range runs {
		cpuSelf, cpuChildren = append(cpuSelf, r.cpuSelf), append(cpuChildren, r.cpuChildren)
		polls += r.polls
		t := r.active.Sub(r.answered)
		cp := criticalPath(r, workers)
		total = append(total, t)
		var sum time.Duration
		last := r.instances[0].end
		for _, in := range r.instances {
			sum += in.own()
			if in.end.After(last) {
				last = in.end
			}
		}
		sumOwn = append(sumOwn, sum+r.pipeline.own())
		crit = append(crit, cp)
		overhead = append(overhead, t-cp)
		share = append(share, time.Duration(float64(t-cp)/float64(t)*1e6)) // per million
		first = append(first, r.instances[0].start.Sub(r.answered))
		handoff = append(handoff, handoffGaps(r, workers)...)
		toPipeline = append(toPipeline, r.pipeline.start.Sub(last))
		toActive = append(toActive, r.active.Sub(r.pipeline.end))
		for _, c := range append(slices.Clone(r.instances), r.pipeline) {
			if at, ok := r.hadronStarts[c.pid]; ok {
				shellToScript = append(shellToScript, c.start.Sub(at))
			}
		}
	}
	n := *flagServiceInstances
	row := func(name string, samples []time.Duration) string {
		s := summarize(samples)
		return fmt.Sprintf("  %-62s %5d %9s %9s %9s %9s", name, s.N, ms(s.P50), ms(s.Mean), ms(s.Min), ms(s.Max))
	}
	sh := summarize(share)
	ov := summarize(overhead)
	lines := []string{
		fmt.Sprintf("  %-62s %5s %9s %9s %9s %9s", "measurement (ms)", "N", "p50", "mean", "min", "max"),
		row("CreateService answered -> GetService reads ACTIVE", total),
		row(fmt.Sprintf("sum of the %d commands' own run time", n+1), sumOwn),
		row(fmt.Sprintf("critical path on %d workers (own run time only)", workers), crit),
		row("Hadron's overhead: ACTIVE minus critical path", overhead),
		fmt.Sprintf("  %-62s %5d %8.1f%% %8s %8.1f%% %8.1f%%", "  overhead as a share of the time to ACTIVE", sh.N, float64(sh.P50)/1e4, "", float64(sh.Min)/1e4, float64(sh.Max)/1e4),
		row("  where: answered -> first instance command's first statement", first),
		row("         a command's last statement -> next one's first, per worker", handoff),
		row("         last instance's last statement -> pipeline's first", toPipeline),
		row("         pipeline's last statement -> GetService reads ACTIVE", toActive),
		row("  (OnCommandStart -> the script's first statement, per command)", shellToScript),
		row("CPU time of this process (server and client), call -> ACTIVE", cpuSelf),
		row("CPU time of the commands' processes (supervisor, sh, date...)", cpuChildren),
		fmt.Sprintf("  (%d GetService polls per service on average)", polls/max(1, len(runs))),
	}
	return lines, ov
}
