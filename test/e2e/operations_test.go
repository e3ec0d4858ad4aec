package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestOperatorsView pins what an operator sees of the built binary: hadron
// version and --version name the build, the server answers /healthz, /readyz
// and /version beside the API, and its log shows each deployment's start
// (with the path of the deployment's own log) and end.
func TestOperatorsView(t *testing.T) {
	t.Parallel()
	for _, arg := range []string{"version", "--version"} {
		out, err := exec.Command(hadronBin, arg).CombinedOutput()
		if err != nil || !strings.HasPrefix(string(out), "hadron ") || !strings.Contains(string(out), "\ncommit:  ") ||
			!strings.Contains(string(out), "\ngo:      "+runtime.Version()+"\n") {
			t.Errorf("hadron %s = %v:\n%s\nwant the version, the commit and %s", arg, err, out, runtime.Version())
		}
	}

	dataDir := t.TempDir()
	s := startServer(t, dataDir)
	get := func(path string) (int, string, http.Header) {
		t.Helper()
		resp, err := http.Get(s.endpoint + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body), resp.Header
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		if status, body, hdr := get(path); status != 200 || !strings.Contains(hdr.Get("X-Hadron-Version"), runtime.Version()) {
			t.Errorf("GET %s = %d %q, X-Hadron-Version %q; want 200 naming the build", path, status, body, hdr.Get("X-Hadron-Version"))
		}
	}
	status, body, _ := get("/version")
	var v struct{ Version, GoVersion string }
	if err := json.Unmarshal([]byte(body), &v); status != 200 || err != nil || v.Version == "" || v.GoVersion != runtime.Version() {
		t.Errorf("GET /version = %d %q (%v), want the build as JSON", status, body, err)
	}

	s.publishNetwork(t)
	var out environmentOut
	s.mustCall(t, "CreateEnvironment", map[string]string{
		"name": "ops", "templateName": "network", "templateMajorVersion": "1", "codebuildRoleArn": codebuildArn,
		"spec": "proton: EnvironmentSpec\nspec:\n  name_tag: ops\n",
	}, &out)
	id := out.Environment.LastAttemptedDeploymentID
	if d := s.waitDeploymentEnded(t, id); d.DeploymentStatus != "SUCCEEDED" {
		t.Fatalf("deployment %s = %s (%q), want SUCCEEDED", id, d.DeploymentStatus, d.DeploymentStatusMessage)
	}
	logPath := filepath.Join(dataDir, "logs", id+".log")
	eventually(t, deployTimeout, "the server's log to show the deployment's end", func() (bool, string) {
		return strings.Contains(s.Log(), `msg="deployment finished" deployment=`+id), s.Log()
	})
	var started, finished string
	for line := range strings.Lines(s.Log()) {
		switch {
		case strings.Contains(line, `msg="deployment started" deployment=`+id):
			started = line
		case strings.Contains(line, `msg="deployment finished" deployment=`+id):
			finished = line
		}
	}
	for _, want := range []string{"level=INFO", "resource=environment/ops", "engine=codebuild", "log=" + logPath} {
		if !strings.Contains(started, want) {
			t.Errorf("start line %q does not say %s", started, want)
		}
	}
	for _, want := range []string{"level=INFO", "status=SUCCEEDED", "duration="} {
		if !strings.Contains(finished, want) {
			t.Errorf("end line %q does not say %s", finished, want)
		}
	}
}
