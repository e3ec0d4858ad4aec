package server_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hadronhq/hadron/internal/auth"
	"github.com/hadronhq/hadron/internal/metrics"
	"github.com/hadronhq/hadron/internal/server"
	"github.com/hadronhq/hadron/internal/store"
)

// series is a scrape of /metrics: each sample's value by its name and labels.
type series []sample

type sample struct {
	name   string
	labels map[string]string
	value  float64
}

// scrape gets url's /metrics and parses its text format.
func scrape(t *testing.T, url string) series {
	t.Helper()
	resp, err := http.Get(url + metrics.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s = %d", metrics.Path, resp.StatusCode)
	}
	var out series
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		head, val, ok := strings.Cut(line, " ")
		if !ok {
			t.Fatalf("sample line %q has no value", line)
		}
		v, err := strconv.ParseFloat(val, 64)
		if err != nil {
			t.Fatalf("sample line %q: %v", line, err)
		}
		s := sample{labels: map[string]string{}, value: v}
		name, labels, _ := strings.Cut(head, "{")
		s.name = name
		for pair := range strings.SplitSeq(strings.TrimSuffix(labels, "}"), ",") {
			if k, v, ok := strings.Cut(pair, "="); ok {
				s.labels[k] = strings.Trim(v, `"`)
			}
		}
		out = append(out, s)
	}
	return out
}

// get returns the value of the sample name whose labels include want, and
// whether there is one.
func (ss series) get(name string, want map[string]string) (float64, bool) {
	for _, s := range ss {
		if s.name != name {
			continue
		}
		match := true
		for k, v := range want {
			if s.labels[k] != v {
				match = false
			}
		}
		if match {
			return s.value, true
		}
	}
	return 0, false
}

// TestMetricsAfterADeployAndCancelShowEachSeries walks a deployment that
// succeeds, one that is cancelled while it runs, one cancelled while queued
// and a failed call, then reads each series of /metrics with its labels.
func TestMetricsAfterADeployAndCancelShowEachSeries(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	h := setupConfig(t, testEngines(0), func(cfg *server.Config) {
		cfg.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
		cfg.Workers = 1
	})
	h.publishedTemplate("net", "slow.tgz", "")
	h.ok("CreateEnvironment", m{"name": "dev", "templateName": "net", "templateMajorVersion": "1",
		"codebuildRoleArn": codebuildRole, "spec": spec("  name: first\n")})
	h.waitEnvironment("dev", "SUCCEEDED")
	h.ok("UpdateEnvironment", m{"name": "dev", "deploymentType": "CURRENT_VERSION", "spec": spec("  seconds: 60\n")})
	running := h.waitFor("GetEnvironment", m{"name": "dev"}, "environment.deploymentStatus", "IN_PROGRESS").str("environment.lastAttemptedDeploymentId")
	waitLog(t, h, running, "$ sh ./run.sh")
	// The one worker is busy: a second environment's deployment stays queued
	// and its cancel ends it at once.
	h.ok("CreateEnvironment", m{"name": "queued", "templateName": "net", "templateMajorVersion": "1",
		"codebuildRoleArn": codebuildRole, "spec": spec("  name: q\n")})
	if got := h.ok("CancelEnvironmentDeployment", m{"environmentName": "queued"}).str("environment.deploymentStatus"); got != "CANCELLED" {
		t.Fatalf("cancel of the queued deployment answers %s, want CANCELLED", got)
	}
	h.ok("CancelEnvironmentDeployment", m{"environmentName": "dev"})
	h.waitEnvironment("dev", "CANCELLED")
	h.fails("GetEnvironment", m{"name": "absent"}, "ResourceNotFoundException")

	env := store.ResourceEnvironment
	// The environment reads CANCELLED once the finish is committed; the
	// worker observes the end just after it: wait for that.
	s := scrape(t, h.url)
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); s = scrape(t, h.url) {
		if _, ok := s.get("hadron_deployments_finished_total", map[string]string{"kind": env, "engine": "codebuild", "status": "CANCELLED"}); ok {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, c := range []struct {
		name    string
		labels  map[string]string
		atLeast float64
	}{
		{"hadron_api_requests_total", map[string]string{"operation": "CreateEnvironment", "code": "OK"}, 2},
		{"hadron_api_requests_total", map[string]string{"operation": "CancelEnvironmentDeployment", "code": "OK"}, 2},
		{"hadron_api_requests_total", map[string]string{"operation": "GetEnvironment", "code": "ResourceNotFoundException"}, 1},
		{"hadron_api_request_duration_seconds_count", map[string]string{"operation": "UpdateEnvironment", "code": "OK"}, 1},
		{"hadron_api_request_duration_seconds_bucket", map[string]string{"operation": "UpdateEnvironment", "code": "OK", "le": "+Inf"}, 1},
		{"hadron_deployments_started_total", map[string]string{"kind": env, "engine": "codebuild"}, 2},
		{"hadron_deployments_finished_total", map[string]string{"kind": env, "engine": "codebuild", "status": "SUCCEEDED"}, 1},
		{"hadron_deployments_finished_total", map[string]string{"kind": env, "engine": "codebuild", "status": "CANCELLED"}, 1},
		{"hadron_deployments_finished_total", map[string]string{"kind": env, "engine": metrics.NoEngine, "status": "CANCELLED"}, 1},
		{"hadron_deployment_queue_wait_seconds_count", map[string]string{"kind": env, "engine": "codebuild"}, 2},
		{"hadron_deployment_run_duration_seconds_count", map[string]string{"kind": env, "engine": "codebuild", "status": "SUCCEEDED"}, 1},
		{"hadron_deployment_run_duration_seconds_count", map[string]string{"kind": env, "engine": "codebuild", "status": "CANCELLED"}, 1},
		{"hadron_deployment_cancels_total", map[string]string{"kind": env, "status": "CANCELLED"}, 2},
		{"hadron_deployment_cancel_to_end_seconds_count", map[string]string{"kind": env, "status": "CANCELLED"}, 2},
		{"hadron_store_transaction_duration_seconds_count", map[string]string{"result": "commit"}, 5},
		{"hadron_deployments_running", nil, 0},
		{"go_goroutines", nil, 1},
	} {
		got, ok := s.get(c.name, c.labels)
		if !ok || got < c.atLeast {
			t.Errorf("%s%v = %v (present %v), want at least %v", c.name, c.labels, got, ok, c.atLeast)
		}
	}
	// The run cancelled while it ran took more than no time to stop; the
	// queued one none, so the sum is the running one's.
	if sum, _ := s.get("hadron_deployment_cancel_to_end_seconds_sum", map[string]string{"kind": env, "status": "CANCELLED"}); sum <= 0 {
		t.Errorf("cancel to end sum = %v, want more than 0", sum)
	}

	// The failed call is in the server's log with its operation and code.
	if !logs.hasRecord(func(r map[string]any) bool {
		return r["msg"] == "request failed" && r["operation"] == "GetEnvironment" && r["code"] == "ResourceNotFoundException" && r["level"] == "INFO"
	}) {
		t.Errorf("no INFO 'request failed' record for GetEnvironment ResourceNotFoundException in:\n%s", logs.String())
	}
	// A deployment's start names its resource, engine and log; a cancelled end its status and duration.
	if !logs.hasRecord(func(r map[string]any) bool {
		return r["msg"] == "deployment started" && r["deployment"] == running && r["resource"] != nil && r["engine"] == "codebuild" &&
			strings.HasSuffix(r["log"].(string), running+".log")
	}) {
		t.Errorf("no 'deployment started' record naming resource, engine and log for %s in:\n%s", running, logs.String())
	}
	if !logs.hasRecord(func(r map[string]any) bool {
		return r["msg"] == "deployment finished" && r["deployment"] == running && r["status"] == "CANCELLED" && r["duration"] != nil
	}) {
		t.Errorf("no 'deployment finished' record with status CANCELLED and a duration for %s in:\n%s", running, logs.String())
	}
}

// TestThrottledCallsAreCountedAndFailedCallsLoggedWithTheirKey: a key over
// its rate gets ThrottlingException, which shows in the throttle counter
// (not in the log: the SDKs retry them); a call that fails otherwise is
// logged with the key's id.
func TestThrottledCallsAreCountedAndFailedCallsLoggedWithTheirKey(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	keys := &auth.Store{Dir: dir}
	admin, _, err := keys.CreateFirst("admin")
	if err != nil {
		t.Fatal(err)
	}
	ring, err := auth.OpenKeyring(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	h := setupConfig(t, testEngines(0), func(cfg *server.Config) {
		cfg.Auth = auth.New(auth.Config{Keys: ring, Rate: 0.001, Burst: 3})
		cfg.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
	})
	h.key, h.secret = admin.AccessKeyID, admin.SecretAccessKey
	h.ok("GetAccountSettings", m{})
	h.fails("GetEnvironment", m{"name": "absent"}, "ResourceNotFoundException")
	h.ok("GetAccountSettings", m{})
	h.fails("GetAccountSettings", m{}, "ThrottlingException")
	// Hadron's own endpoints are counted by their action's name.
	resp, err := http.Get(h.url + server.HadronPrefix + "status")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	s := scrape(t, h.url)
	if got, _ := s.get("hadron_api_requests_total", map[string]string{"operation": "GetStatus", "code": "MissingAuthenticationTokenException"}); got != 1 {
		t.Errorf("requests GetStatus MissingAuthenticationTokenException = %v, want 1", got)
	}
	if got, _ := s.get("hadron_api_throttled_requests_total", map[string]string{"operation": "GetAccountSettings"}); got != 1 {
		t.Errorf("throttled GetAccountSettings = %v, want 1", got)
	}
	if got, _ := s.get("hadron_api_requests_total", map[string]string{"operation": "GetAccountSettings", "code": "ThrottlingException"}); got != 1 {
		t.Errorf("requests GetAccountSettings ThrottlingException = %v, want 1", got)
	}
	if !logs.hasRecord(func(r map[string]any) bool {
		return r["msg"] == "request failed" && r["operation"] == "GetEnvironment" && r["code"] == "ResourceNotFoundException" &&
			r["access_key_id"] == admin.AccessKeyID
	}) {
		t.Errorf("no 'request failed' record of GetEnvironment ResourceNotFoundException with access key %s in:\n%s", admin.AccessKeyID, logs.String())
	}
	if logs.hasRecord(func(r map[string]any) bool { return r["code"] == "ThrottlingException" }) {
		t.Errorf("a throttled call was logged:\n%s", logs.String())
	}
}

// TestMetricsElsewhereAreNotServedOnTheAPIAddress: with --metrics-listen the
// API address answers GET /metrics as any other unknown GET.
func TestMetricsElsewhereAreNotServedOnTheAPIAddress(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	srv, err := server.New(context.Background(), server.Config{
		DataDir: dir, BundleDir: dir, Region: "us-east-1", AccountID: "123456789012", Owner: "test",
		Store: openSQLite(t, dir), Engines: testEngines(0), MetricsElsewhere: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(func() {
		ts.Close()
		srv.Close()
	})
	resp, err := http.Get(ts.URL + metrics.Path)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 404 || bytes.Contains(body, []byte("hadron_")) {
		t.Errorf("GET %s on the API address = %d %q, want 404 without series", metrics.Path, resp.StatusCode, body)
	}
	// The series are still kept, for the other address.
	rec := httptest.NewRecorder()
	srv.Metrics().Handler().ServeHTTP(rec, httptest.NewRequest("GET", metrics.Path, nil))
	if !strings.Contains(rec.Body.String(), "hadron_deployments_running") {
		t.Errorf("the metrics handler serves %q, want the series", rec.Body.String())
	}
}

// syncBuffer is a log destination safe for the server's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// hasRecord reports whether a JSON log record satisfies match.
func (b *syncBuffer) hasRecord(match func(map[string]any) bool) bool {
	for line := range strings.SplitSeq(b.String(), "\n") {
		var r map[string]any
		if json.Unmarshal([]byte(line), &r) == nil && match(r) {
			return true
		}
	}
	return false
}
