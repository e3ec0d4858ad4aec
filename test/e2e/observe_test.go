package e2e

import (
	"bufio"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLogsFollowAndMetricsAfterADeployAndCancel is the operator
// walkthrough on the real binary with SigV4: a deployment that succeeds and
// one that is cancelled while `hadron logs --follow` (credentials from the
// hadron profile, as the first start's lines configure it) prints its log;
// the follow ends with the deployment, saying CANCELLED; then `curl
// /metrics` shows each series with its labels.
func TestLogsFollowAndMetricsAfterADeployAndCancel(t *testing.T) {
	t.Parallel()
	s := startAuthServer(t, "--log-format", "json")
	s.publishNetwork(t)
	s.mustCall(t, "CreateEnvironment", map[string]string{
		"name": "ops", "templateName": "network", "templateMajorVersion": "1", "codebuildRoleArn": codebuildArn,
		"spec": "proton: EnvironmentSpec\nspec:\n  name_tag: ops\n",
	}, nil)
	s.waitEnvironment(t, "ops", "SUCCEEDED")
	var out environmentOut
	s.mustCall(t, "UpdateEnvironment", map[string]string{
		"name": "ops", "deploymentType": "CURRENT_VERSION",
		"spec": "proton: EnvironmentSpec\nspec:\n  name_tag: ops\n  seconds: 120\n",
	}, &out)
	id := out.Environment.LastAttemptedDeploymentID
	s.waitDeploymentLog(t, id, "provision: started")

	home := t.TempDir()
	config, creds := filepath.Join(home, "config"), filepath.Join(home, "credentials")
	os.WriteFile(config, []byte("[profile hadron]\nregion = "+region+"\n"), 0o600)
	os.WriteFile(creds, []byte("[hadron]\naws_access_key_id = "+s.key+"\naws_secret_access_key = "+s.secret+"\n"), 0o600)
	env := append(withoutPrefixes(os.Environ(), "AWS_", "HADRON_"),
		"AWS_CONFIG_FILE="+config, "AWS_SHARED_CREDENTIALS_FILE="+creds, "AWS_EC2_METADATA_DISABLED=true")
	followed := make(chan clientResult, 1)
	go func() { followed <- runClient(t, env, hadronBin, "logs", id, "--follow", "--endpoint-url", s.endpoint) }()
	// The follow has started once the server's metrics count it.
	eventually(t, startTimeout, "hadron logs --follow to reach the server", func() (bool, string) {
		m := scrapeMetrics(t, s.endpoint)
		return strings.Contains(m, `hadron_api_requests_total{code="OK",operation="GetDeploymentLog"}`), ""
	})
	s.mustCall(t, "CancelEnvironmentDeployment", map[string]string{"environmentName": "ops"}, &out)
	res := <-followed
	if res.Code != 0 || !strings.Contains(res.Stdout, "provision: started") || !strings.Contains(res.Stderr, "ended CANCELLED") {
		t.Errorf("hadron logs --follow: want the log and 'ended CANCELLED':\n%s", res)
	}
	// A plain read of the ended deployment has the whole log.
	if res := runClient(t, env, hadronBin, "logs", id, "--endpoint-url", s.endpoint); res.Code != 0 || !strings.Contains(res.Stdout, "[hadron] deployment ended") {
		t.Errorf("hadron logs after the end:\n%s", res)
	}

	// The deployment reads CANCELLED once its end is committed; the worker
	// observes the end (metrics, the server's log line) just after.
	var m string
	eventually(t, startTimeout, "the worker to observe the cancelled run's end", func() (bool, string) {
		m = scrapeMetrics(t, s.endpoint)
		return strings.Contains(m, `hadron_deployments_running 0`) &&
			strings.Contains(m, `hadron_deployments_finished_total{engine="codebuild",kind="ENVIRONMENT",status="CANCELLED"} 1`), ""
	})
	for _, want := range []string{
		`hadron_api_requests_total{code="OK",operation="CreateEnvironment"} 1`,
		`hadron_api_requests_total{code="OK",operation="CancelEnvironmentDeployment"} 1`,
		`hadron_api_request_duration_seconds_count{code="OK",operation="UpdateEnvironment"} 1`,
		`hadron_deployments_started_total{engine="codebuild",kind="ENVIRONMENT"} 2`,
		`hadron_deployments_finished_total{engine="codebuild",kind="ENVIRONMENT",status="SUCCEEDED"} 1`,
		`hadron_deployments_finished_total{engine="codebuild",kind="ENVIRONMENT",status="CANCELLED"} 1`,
		`hadron_deployment_queue_wait_seconds_count{engine="codebuild",kind="ENVIRONMENT"} 2`,
		`hadron_deployment_run_duration_seconds_count{engine="codebuild",kind="ENVIRONMENT",status="CANCELLED"} 1`,
		`hadron_deployment_cancels_total{kind="ENVIRONMENT",status="CANCELLED"} 1`,
		`hadron_deployment_cancel_to_end_seconds_count{kind="ENVIRONMENT",status="CANCELLED"} 1`,
		`hadron_store_transaction_duration_seconds_count{result="commit"}`,
		`hadron_deployments_running 0`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	// The server's JSON log says where the deployment's log is, and how it ended.
	for _, want := range []string{`"msg":"deployment started"`, `"log":"`, `"msg":"deployment finished"`, `"status":"CANCELLED"`} {
		if !strings.Contains(s.Log(), want) {
			t.Errorf("the server's JSON log lacks %s", want)
		}
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", m)
	}
}

// scrapeMetrics GETs /metrics and returns its sample lines.
func scrapeMetrics(t *testing.T, endpoint string) string {
	t.Helper()
	resp, err := http.Get(endpoint + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	sc := bufio.NewScanner(io.LimitReader(resp.Body, 4<<20))
	for sc.Scan() {
		if line := sc.Text(); !strings.HasPrefix(line, "#") {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}
