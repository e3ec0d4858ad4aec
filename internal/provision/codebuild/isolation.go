package codebuild

import (
	"os/exec"

	"github.com/hadronhq/hadron/internal/provision/sandbox"
)

// Isolation: how a run is confined (package sandbox holds the mechanisms).
//
// Run passes the Policy to the supervisor in sandbox.EnvVar and starts the
// supervisor in the namespaces the Policy asks for; the supervisor calls
// sandbox.Enter just before it starts the shell (package supervisor's
// isolation.go says what changes for it).

// isolate makes sup start the supervisor under policy p (the job's; nil:
// not isolated).
func isolate(sup *exec.Cmd, p *sandbox.Policy) {
	if p == nil {
		return
	}
	sup.Env = append(sup.Env, sandbox.EnvVar+"="+p.Encode())
	sup.SysProcAttr.Cloneflags |= p.Cloneflags()
}
