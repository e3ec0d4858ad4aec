package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hadronhq/hadron/internal/hadrontest"
)

// requireChromium returns the system's Chromium for the browser tests, with
// playwright-core installed (npm ci in test/e2e/js) to drive it; it skips t
// when either is missing, or fails it when HADRON_E2E_REQUIRE=1. No browser
// is ever downloaded: Playwright is given this binary.
func requireChromium(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("HADRON_CHROMIUM")
	if bin == "" {
		for _, name := range []string{"chromium", "chromium-browser"} {
			if p, err := exec.LookPath(name); err == nil {
				bin = p
				break
			}
		}
	}
	if bin == "" {
		missing(t, "chromium is not on PATH (apt-get install chromium; or set HADRON_CHROMIUM)")
	}
	if _, err := os.Stat(filepath.Join("js", "node_modules", "playwright-core", "package.json")); err != nil {
		missing(t, "playwright-core is not installed: run npm ci in test/e2e/js")
	}
	return bin
}

// consoleSeen is what js/console.mjs prints.
type consoleSeen struct {
	Steps               []string
	Error               string
	SearchRows          int
	Deployment          string
	LogGrew             bool
	SpecDiff            []string
	ReaderCancelButtons int
	ForgedCancelStatus  int
	ForgedCancelBody    bool
	CancelButtons       int
	Confirm             string
	Statuses            []string
	Message             string
	CancelledListed     int
	StartedBy           string
	SignedOut           bool
}

// TestConsoleInABrowser drives the web console in headless Chromium: sign
// in, find an environment, start an update through the API, watch its log
// grow in the page, cancel it and see CANCELLING then CANCELLED; a key
// without cancel permission sees no cancel button and the server refuses
// its forged cancel. Screenshots of the main pages are written to
// $HADRON_ARTIFACTS/console (default: the test's temporary directory, kept
// in the log on failure); overview.png is the README's docs/console.png
// (see the README's console section for how to refresh it).
func TestConsoleInABrowser(t *testing.T) {
	hadrontest.Long(t)
	t.Parallel()
	node := requireNode(t)
	chromium := requireChromium(t)
	s := startAuthServer(t)
	s.putBundle(t, "ticker", "ticker.tar.gz")
	s.mustCall(t, "CreateEnvironmentTemplate", map[string]string{"name": "ticker"}, nil)
	s.mustCall(t, "CreateEnvironmentTemplateVersion", map[string]any{
		"templateName": "ticker", "source": map[string]any{"s3": map[string]string{"bucket": bundleBucket, "key": "ticker.tar.gz"}},
	}, nil)
	if v := s.waitRegistered(t, "ticker", "1", "0"); v.Status != "DRAFT" {
		t.Fatalf("ticker 1.0 is %s (%s), want DRAFT", v.Status, v.StatusMessage)
	}
	s.mustCall(t, "UpdateEnvironmentTemplateVersion", map[string]string{
		"templateName": "ticker", "majorVersion": "1", "minorVersion": "0", "status": "PUBLISHED"}, nil)
	for _, name := range []string{"console-web", "console-db", "other"} {
		s.mustCall(t, "CreateEnvironment", map[string]string{"name": name, "templateName": "ticker", "templateMajorVersion": "1",
			"codebuildRoleArn": codebuildArn, "spec": "proton: EnvironmentSpec\nspec:\n  seconds: 0\n"}, nil)
	}
	for _, name := range []string{"console-web", "console-db", "other"} {
		if e := s.waitEnvironment(t, name, "SUCCEEDED", "FAILED"); e.DeploymentStatus != "SUCCEEDED" {
			t.Fatalf("%s: %s (%s)", name, e.DeploymentStatus, e.DeploymentStatusMessage)
		}
	}
	// More environments, in more states, for the overview screenshot (the
	// README's): one that failed and one still deploying.
	s.mustCall(t, "CreateEnvironment", map[string]string{"name": "payments", "templateName": "ticker", "templateMajorVersion": "1",
		"codebuildRoleArn": codebuildArn, "spec": "proton: EnvironmentSpec\nspec:\n  seconds: 0\n  fail: true\n"}, nil)
	s.mustCall(t, "CreateEnvironment", map[string]string{"name": "batch-jobs", "templateName": "ticker", "templateMajorVersion": "1",
		"codebuildRoleArn": codebuildArn, "spec": "proton: EnvironmentSpec\nspec:\n  seconds: 600\n"}, nil)
	if e := s.waitEnvironment(t, "payments", "SUCCEEDED", "FAILED"); e.DeploymentStatus != "FAILED" {
		t.Fatalf("payments: %s (%s), want FAILED", e.DeploymentStatus, e.DeploymentStatusMessage)
	}
	readKey, readSecret := s.createKey(t, "--allow", "proton:Get*", "--allow", "proton:List*")
	artifacts := filepath.Join(t.TempDir(), "console")
	if dir := os.Getenv("HADRON_ARTIFACTS"); dir != "" {
		artifacts = filepath.Join(dir, "console")
	}
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatal(err)
	}
	env := append(withoutPrefixes(os.Environ(), "AWS_", "HADRON_"),
		"HADRON_ENDPOINT="+s.endpoint, "ADMIN_KEY="+s.key, "ADMIN_SECRET="+s.secret,
		"READ_KEY="+readKey, "READ_SECRET="+readSecret, "ENVIRONMENT=console-web", "SEARCH=WEB",
		"CHROMIUM="+chromium, "ARTIFACTS="+artifacts, "AWS_CONFIG_FILE="+os.DevNull, "AWS_SHARED_CREDENTIALS_FILE="+os.DevNull)
	res := runClient(t, env, node, filepath.Join("js", "console.mjs"))
	var seen consoleSeen
	if err := json.Unmarshal([]byte(strings.TrimSpace(res.Stdout)), &seen); err != nil {
		t.Fatalf("decode what the browser saw: %v\n%s", err, res)
	}
	if res.Code != 0 || seen.Error != "" {
		t.Fatalf("the browser test failed at %s\n%s\nscreenshots in %s", seen.Error, res, artifacts)
	}
	t.Logf("screenshots in %s", artifacts)
	for _, c := range []struct {
		what string
		ok   bool
	}{
		{"the search for WEB lists console-web alone", seen.SearchRows == 1},
		{"the log grew in the page without a reload", seen.LogGrew},
		{"the spec change is shown", len(seen.SpecDiff) == 1 && strings.Contains(seen.SpecDiff[0], "seconds: 120")},
		{"the reader sees no cancel button", seen.ReaderCancelButtons == 0},
		{"the reader's forged cancel is refused (403, naming the action)", seen.ForgedCancelStatus == 403 && seen.ForgedCancelBody},
		{"the administrator sees a cancel button", seen.CancelButtons == 1},
		{"the cancel asks for confirmation", strings.Contains(seen.Confirm, "console-web")},
		{"the page showed CANCELLING then CANCELLED", strings.Join(seen.Statuses, ",") == "CANCELLING,CANCELLED"},
		{"the message is Proton's", seen.Message == "User initiated cancellation."},
		{"the history lists the cancelled deployment", seen.CancelledListed > 0},
		{"the history says the administrator's key started it", strings.HasSuffix(seen.StartedBy, "("+s.key+")")},
		{"sign-out ends the session", seen.SignedOut},
	} {
		if !c.ok {
			t.Errorf("%s: no (%+v)", c.what, seen)
		}
	}
	var dep struct {
		Deployment struct{ DeploymentStatus string }
	}
	s.mustCall(t, "GetDeployment", map[string]string{"id": seen.Deployment}, &dep)
	if dep.Deployment.DeploymentStatus != "CANCELLED" {
		t.Errorf("the API says the deployment is %s, want CANCELLED", dep.Deployment.DeploymentStatus)
	}
	for _, f := range []string{"environments.png", "overview.png", "environment.png", "deployment-live.png", "deployment-cancelling.png", "deployment-cancelled.png", "deployments.png", "templates.png"} {
		if info, err := os.Stat(filepath.Join(artifacts, f)); err != nil || info.Size() == 0 {
			t.Errorf("screenshot %s: %v", f, err)
		}
	}
}
