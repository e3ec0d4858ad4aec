package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/hadronhq/hadron/internal/buildinfo"
	"github.com/hadronhq/hadron/internal/console"
	"github.com/hadronhq/hadron/internal/server"
	"github.com/hadronhq/hadron/internal/store"
)

// stalledStore is the real store with a switch that makes SettingsGet hang
// until its context ends, as a query to an unreachable database does.
type stalledStore struct {
	store.Store
	stalled atomic.Bool
}

func (s *stalledStore) SettingsGet(ctx context.Context) (map[string]string, error) {
	if s.stalled.Load() {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return s.Store.SettingsGet(ctx)
}

func TestOperationalEndpointsAnswerBesideTheAPI(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	st := &stalledStore{Store: openSQLite(t, dir)}
	srv, err := server.New(context.Background(), server.Config{
		DataDir: dir, BundleDir: dir, Region: "us-east-1", AccountID: "123456789012", Owner: "test", Store: st, Engines: testEngines(0),
	})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(func() {
		ts.Close()
		srv.Close()
	})
	get := func(path string) (int, string, http.Header) {
		t.Helper()
		resp, err := http.Get(ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body), resp.Header
	}
	want := buildinfo.Read().String()

	if status, body, hdr := get(server.HealthPath); status != 200 || hdr.Get(server.VersionHeader) != want {
		t.Errorf("GET %s = %d %q, version header %q; want 200 and %q", server.HealthPath, status, body, hdr.Get(server.VersionHeader), want)
	}
	if status, body, _ := get(server.ReadyPath); status != 200 {
		t.Errorf("GET %s with the store up = %d %q, want 200", server.ReadyPath, status, body)
	}
	status, body, _ := get(server.VersionPath)
	var info buildinfo.Info
	if err := json.Unmarshal([]byte(body), &info); status != 200 || err != nil || info != buildinfo.Read() {
		t.Errorf("GET %s = %d %q (%v), want 200 and %+v", server.VersionPath, status, body, err, buildinfo.Read())
	}

	st.stalled.Store(true)
	if status, body, _ := get(server.ReadyPath); status != http.StatusServiceUnavailable || !strings.Contains(body, "store") {
		t.Errorf("GET %s with the store stalled = %d %q, want 503 naming the store", server.ReadyPath, status, body)
	}
	if status, _, _ := get(server.HealthPath); status != 200 {
		t.Errorf("GET %s with the store stalled = %d, want 200 (the process is up)", server.HealthPath, status)
	}
	st.stalled.Store(false)
	if status, body, _ := get(server.ReadyPath); status != 200 {
		t.Errorf("GET %s with the store back = %d %q, want 200", server.ReadyPath, status, body)
	}

	// The API keeps POST /, and other GETs stay AWS JSON errors.
	if status, body, _ := get("/"); status != 404 || !strings.Contains(body, "UnknownOperationException") {
		t.Errorf("GET / = %d %q, want the API's 404 UnknownOperationException", status, body)
	}
	req, _ := http.NewRequest("POST", ts.URL+"/", strings.NewReader(`{}`))
	req.Header.Set("X-Amz-Target", "AwsProton20200720.GetAccountSettings")
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get(server.VersionHeader) != want {
		t.Errorf("POST / GetAccountSettings = %d, version header %q; want 200 and %q", resp.StatusCode, resp.Header.Get(server.VersionHeader), want)
	}
}

// The web console shows a deployment's log to exactly the keys that may
// read it at the log endpoint: both ask for the same action.
func TestConsoleReadsLogsUnderTheLogEndpointsAction(t *testing.T) {
	t.Parallel()
	if console.LogAction != server.ActionGetDeploymentLog {
		t.Errorf("console reads logs as %s, the endpoint as %s", console.LogAction, server.ActionGetDeploymentLog)
	}
}
