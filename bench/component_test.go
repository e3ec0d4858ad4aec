package bench

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hadronhq/hadron/internal/api"
)

// The component benchmarks: cancel and dispatch latency of directly defined
// components, measured as for environments (BenchmarkCancel,
// BenchmarkDispatch), for a component in an environment and for one
// attached to a service instance.

const (
	// compEnvName is the environment of the component benchmarks, with a
	// component role.
	compEnvName = "comp-env"
	// compSvcTemplate is the service template of the attached components:
	// testdata/service with supportedComponentSources DIRECTLY_DEFINED.
	compSvcTemplate = "bench-component-service"
	// compService is the service whose instances the attached components
	// are attached to.
	compService = "comp-svc"
	// componentArn is the environment's componentRoleArn.
	componentArn = "arn:aws:iam::000000000000:role/hadron-component"
)

// compManifest sources the component's template file, written into the
// working directory as component.sh: no extra process between the shell's
// start and its work.
const compManifest = `infrastructure:
  templates:
    - file: component.sh
      rendering_engine: codebuild
      settings:
        provision:
          - . ./component.sh
        deprovision:
          - "true"
`

// compScripts are the component's template files by mode, as the service
// benchmarks' modes (testdata/service/instance_infrastructure/provision.sh):
// quick ends at once; hold traps SIGTERM, starts a long sleep in the
// background, creates the file "ready" in the working directory once the
// sleep has exec'd (so that a SIGTERM to the group surely ends it), then
// waits until a cancel's SIGTERM ends it (143).
var compScripts = map[string]string{
	"quick": "# quick: nothing to do\n:\n",
	"hold": `# hold: work until a cancel's SIGTERM
trap 'exit 143' TERM
sleep 3600 &
comm=
while [ "$comm" != sleep ]; do
  IFS= read -r comm < /proc/$!/comm || comm=
done
: > ready
while :; do
  wait $!
  sleep 3600 &
done
`,
}

var componentFixture lazy

// setupComponents starts a server with the codebuild environment compEnvName
// (with a component role), the service compService (instances "one" and
// "two" there) of a service template that allows directly defined
// components, and four components, all deployed: "env-cancel" and
// "env-dispatch" in the environment, "attached-cancel" attached to
// compService/one and "attached-dispatch" to compService/two.
func setupComponents() (*hadron, error) {
	h, err := startHadron("components", "")
	if err != nil {
		return nil, err
	}
	ctx := context.Background()
	if err := h.registerTemplate(ctx, cbTemplate, "codebuild", ""); err != nil {
		return h, err
	}
	var env api.CreateEnvironmentOutput
	if err := h.c.Call(ctx, "CreateEnvironment", map[string]any{
		"name": compEnvName, "templateName": cbTemplate, "templateMajorVersion": "1",
		"codebuildRoleArn": codebuildArn, "componentRoleArn": componentArn, "spec": yamlSpec("mode", "quick"),
	}, &env); err != nil {
		return h, err
	}
	if _, _, err := h.waitDeployment(ctx, env.Environment.LastAttemptedDeploymentId, time.Millisecond, setupTimeout); err != nil {
		return h, fmt.Errorf("create environment %s: %w", compEnvName, err)
	}
	if err := h.c.Call(ctx, "UpdateAccountSettings", map[string]any{"pipelineCodebuildRoleArn": pipelineArn}, nil); err != nil {
		return h, err
	}
	if err := h.registerServiceTemplate(ctx, compSvcTemplate, "service"); err != nil {
		return h, err
	}
	if err := h.c.Call(ctx, "UpdateServiceTemplateVersion", map[string]any{
		"templateName": compSvcTemplate, "majorVersion": "1", "minorVersion": "0", "supportedComponentSources": []string{"DIRECTLY_DEFINED"},
	}, nil); err != nil {
		return h, err
	}
	spec := svcSpec("quick", "0", svcInstance{"one", compEnvName, "quick", "0"}, svcInstance{"two", compEnvName, "quick", "0"})
	if err := h.c.Call(ctx, "CreateService", map[string]any{
		"name": compService, "templateName": compSvcTemplate, "templateMajorVersion": "1", "spec": spec,
	}, nil); err != nil {
		return h, err
	}
	if _, _, _, err := h.waitService(ctx, compService, 5*time.Millisecond, setupTimeout); err != nil {
		return h, err
	}
	for _, c := range []struct{ name, instance string }{
		{"env-cancel", ""}, {"env-dispatch", ""}, {"attached-cancel", "one"}, {"attached-dispatch", "two"},
	} {
		in := map[string]any{"name": c.name, "manifest": compManifest, "templateFile": compScripts["quick"]}
		if c.instance == "" {
			in["environmentName"] = compEnvName
		} else {
			in["serviceName"], in["serviceInstanceName"] = compService, c.instance
		}
		var out api.CreateComponentOutput
		if err := h.c.Call(ctx, "CreateComponent", in, &out); err != nil {
			return h, err
		}
		if _, _, err := h.waitDeployment(ctx, out.Component.LastAttemptedDeploymentId, time.Millisecond, setupTimeout); err != nil {
			return h, fmt.Errorf("create component %s: %w", c.name, err)
		}
	}
	return h, nil
}

// componentKinds say where the benchmarks' two components are.
var componentKinds = []string{"in an environment", "attached to a service instance"}

// componentTarget redeploys component name (kind says where it is) with
// CURRENT_VERSION updates whose template file behaves as the mode says.
func componentTarget(kind, name string) redeployTarget {
	return redeployTarget{
		kind: "component " + kind, updateOp: "UpdateComponent", cancelOp: "CancelComponentDeployment", dispatchSection: "11",
		update: func(mode string) []byte {
			return mustMarshal(map[string]string{"name": name, "deploymentType": "CURRENT_VERSION", "templateFile": compScripts[mode]})
		},
		cancel: mustMarshal(map[string]string{"componentName": name}),
		deployment: func(raw []byte) (string, error) {
			var out api.UpdateComponentOutput
			err := decode(raw, &out)
			return out.Component.LastAttemptedDeploymentId, err
		},
		status: func(raw []byte) (string, error) {
			var out api.UpdateComponentOutput
			err := decode(raw, &out)
			return out.Component.DeploymentStatus, err
		},
	}
}

// BenchmarkComponentCancel is BenchmarkCancel for components
// (UpdateComponent, CancelComponentDeployment), in an environment and
// attached to a service instance: -samples cancels each of a command that
// runs until SIGTERM, once it has set its trap, with GetDeployment polled
// every 0.5 ms until it reads CANCELLED.
func BenchmarkComponentCancel(b *testing.B) {
	h, err := componentFixture.get(setupComponents)
	if err != nil {
		b.Fatal(err)
	}
	for i, name := range []string{"env-cancel", "attached-cancel"} {
		t := componentTarget(componentKinds[i], name)
		b.Run(name, func(b *testing.B) {
			for range b.N {
				benchRedeployCancel(b, h, t, fmt.Sprintf("10%c", 'a'+i))
			}
		})
	}
}

// BenchmarkComponentDispatch is BenchmarkDispatch for components
// (UpdateComponent), in an environment and attached to a service instance:
// -samples redeployments each with a command that exits at once, from the
// update's answer to the command's shell having started.
func BenchmarkComponentDispatch(b *testing.B) {
	h, err := componentFixture.get(setupComponents)
	if err != nil {
		b.Fatal(err)
	}
	for i, name := range []string{"env-dispatch", "attached-dispatch"} {
		t := componentTarget(componentKinds[i], name)
		b.Run(name, func(b *testing.B) {
			for range b.N {
				benchRedeployDispatch(b, h, t, fmt.Sprintf("11%c", 'a'+i))
			}
		})
	}
}
