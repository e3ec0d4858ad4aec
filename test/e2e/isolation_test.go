package e2e

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/hadronhq/hadron/internal/hadrontest"
)

// The end-to-end test of issue 17's escalation: a component's commands,
// supplied through the API, try to read the server's master key and to mint
// an administrator key with the server's own binary, and report what they
// got in the component's outputs. Under isolation (the default,
// best-effort) both fail, and nothing secret comes back through the API.

// thiefScript is the component's template file. It never fails, so that
// everything it managed to read ends up in its outputs.
func thiefScript(serverBin string) string {
	return fmt.Sprintf(`clean() { tr -d '"\\\n\r' | head -c 400; }
master=$(cat ../../keys.master 2>&1 | clean)
keysjson=$(cat ../../keys.json 2>&1 | clean)
# The issue's exploit ran $(readlink /proc/$PPID/exe); here the shell's
# parent is sh, so every process whose binary is hadron is tried.
minted=$(for p in /proc/[0-9]*; do
  exe=$(readlink "$p/exe") || { echo "readlink $p/exe failed"; continue; }
  case $exe in *hadron*) "$exe" keys create --data-dir ../.. --allow '*';; esac
done 2>&1 | sort -u | clean)
minted_by_path=$(%s keys create --data-dir ../.. --allow '*' 2>&1 | clean)
environ=$(for f in /proc/[0-9]*/environ; do tr '\0' '\n' < "$f"; done 2>&1 | grep -v '^HADRON_SANDBOX' | clean)
printf '{"Master":"%%s","KeysJSON":"%%s","Minted":"%%s","MintedByPath":"%%s","Environ":"%%s"}' \
  "$master" "$keysjson" "$minted" "$minted_by_path" "$environ" > proton-outputs.json
echo "thief: done"
`, serverBin)
}

var accessKeyIDRE = regexp.MustCompile(`\bHK[A-Z0-9]{18}\b`)

func TestIsolatedComponentCannotMintAKey(t *testing.T) {
	t.Parallel()
	s := startAuthServer(t, "--allow-api-commands") // the default isolation, best effort
	if !strings.Contains(s.Log(), "isolation: landlock on") {
		t.Skipf("Landlock is not in force on this machine:\n%s", s.Log())
	}
	s.componentFixture(t)

	// The escalation of issue 17 began with a key allowed only to create
	// components: such a key may no longer have the server run commands.
	compKey, compSecret := s.createKey(t, "--allow", "proton:CreateComponent", "--description", "components only")
	limited := *s
	limited.key, limited.secret = compKey, compSecret
	err := limited.call("CreateComponent", map[string]string{
		"name": "thief", "environmentName": compEnv, "manifest": componentManifest, "templateFile": thiefScript(hadronBin),
	}, nil)
	var denied *hadrontest.APIError
	if !errors.As(err, &denied) || denied.Type != "AccessDeniedException" || !strings.Contains(denied.Message, "hadron:RunCommands") {
		t.Fatalf("CreateComponent with CodeBuild commands by a key without hadron:RunCommands: %v, want AccessDeniedException naming it", err)
	}

	// The administrator key holds it: the run happens, confined.
	s.mustCall(t, "CreateComponent", map[string]string{
		"name": "thief", "environmentName": compEnv, "manifest": componentManifest, "templateFile": thiefScript(hadronBin),
	}, nil)
	c := s.waitComponent(t, "thief", "SUCCEEDED", "FAILED")
	if c.DeploymentStatus != "SUCCEEDED" {
		t.Fatalf("the component's deployment is %s (%s), want SUCCEEDED with its findings in the outputs\n%s",
			c.DeploymentStatus, c.DeploymentStatusMessage, s.deploymentLog(c.LastAttemptedDeploymentID))
	}
	var outs outputsOut
	s.mustCall(t, "ListComponentOutputs", map[string]string{"componentName": "thief"}, &outs)
	got := outputMap(outs.Outputs)
	if len(got) != 5 {
		t.Fatalf("outputs %v, want the script's five findings", got)
	}
	t.Logf("what the run got: %v", got)

	master, err := os.ReadFile(filepath.Join(s.dataDir, "keys.master"))
	if err != nil {
		t.Fatal(err)
	}
	everything := fmt.Sprint(got) + s.deploymentLog(c.LastAttemptedDeploymentID)
	for what, secret := range map[string]string{"the master key": strings.TrimSpace(string(master)), "the admin secret": s.secret} {
		if strings.Contains(everything, secret) {
			t.Errorf("%s came back through the component's outputs or log", what)
		}
	}
	for name, v := range got {
		if ids := accessKeyIDRE.FindAllString(v, -1); len(ids) > 0 {
			t.Errorf("output %s holds access key ids %v: %q", name, ids, v)
		}
	}
	if ids := accessKeyIDRE.FindAllString(s.keys(t, "list"), -1); len(ids) != 2 || !slices.Contains(ids, s.key) || !slices.Contains(ids, compKey) {
		t.Errorf("hadron keys list shows %v, want only the administrator key %s and the test's %s: the run minted a key", ids, s.key, compKey)
	}
}
