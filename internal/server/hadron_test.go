package server_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/hadronhq/hadron/internal/auth"
	"github.com/hadronhq/hadron/internal/hadronclient"
	"github.com/hadronhq/hadron/internal/server"
	"github.com/hadronhq/hadron/internal/store/sqlite"
)

// signedServer starts a server with --auth sigv4 over a new data directory
// and returns its URL, the directory and the keys store.
func signedServer(t *testing.T) (string, string, *auth.Store) {
	t.Helper()
	dir := t.TempDir()
	keys := &auth.Store{Dir: dir}
	if _, _, err := keys.CreateFirst("admin"); err != nil {
		t.Fatal(err)
	}
	ring, err := auth.OpenKeyring(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(context.Background(), server.Config{
		DataDir: dir, BundleDir: dir, Region: "us-east-1", AccountID: "123456789012", Owner: "node-1", Store: openSQLite(t, dir),
		Engines: testEngines(0), Workers: 3, Auth: auth.New(auth.Config{Keys: ring}),
		Database:  server.Database{Kind: "sqlite", Location: filepath.Join(dir, server.DatabaseFile)},
		Isolation: &server.Isolation{Mode: "best-effort", Protections: []server.Protection{{Name: "landlock", On: true}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(func() {
		ts.Close()
		srv.Close()
	})
	return ts.URL, dir, keys
}

func clientAs(t *testing.T, url string, key auth.NewKey) *hadronclient.Client {
	t.Helper()
	c, err := hadronclient.New(t.Context(), hadronclient.Options{EndpointURL: url,
		Credentials: credentials.NewStaticCredentialsProvider(key.AccessKeyID, key.SecretAccessKey, "")})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestStatusIsSignedAndAuthorizedAsHadronGetStatus(t *testing.T) {
	t.Parallel()
	url, _, keys := signedServer(t)
	admin, _ := keys.Create(auth.Policy{}, "")
	protonOnly, _ := keys.Create(auth.Policy{Allow: []string{"proton:*"}}, "")
	var st server.Status
	if err := clientAs(t, url, admin).GetJSON(t.Context(), "status", &st); err != nil {
		t.Fatal(err)
	}
	if st.Node != "node-1" || st.Workers != 3 || st.Running == nil || !st.Database.Reachable || st.Database.Kind != "sqlite" ||
		st.Auth != "sigv4" || st.Isolation == nil || st.Isolation.Protections[0].Name != "landlock" || st.Build.GoVersion == "" {
		t.Errorf("status = %+v", st)
	}
	err := clientAs(t, url, protonOnly).GetJSON(t.Context(), "status", &st)
	if !hadronclient.IsCode(err, "AccessDeniedException") {
		t.Errorf("a key allowed proton:* only: %v, want AccessDeniedException", err)
	}
	err = clientAs(t, url, auth.NewKey{AccessKeyID: "HKNOPE", SecretAccessKey: "x"}).GetJSON(t.Context(), "status", &st)
	if !hadronclient.IsCode(err, "UnrecognizedClientException") {
		t.Errorf("an unknown key: %v, want UnrecognizedClientException", err)
	}
}

func TestHadronEndpointsAuthenticateBeforeTheyRoute(t *testing.T) {
	t.Parallel()
	url, _, keys := signedServer(t)
	admin, _ := keys.Create(auth.Policy{}, "")
	for _, path := range []string{"/hadron/v1/status", "/hadron/v1/no-such-thing", "/hadron/v1/backup"} {
		resp, err := http.Get(url + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("x-amzn-ErrorType"); got != "MissingAuthenticationTokenException" {
			t.Errorf("unsigned GET %s = %d %s, want MissingAuthenticationTokenException", path, resp.StatusCode, got)
		}
	}
	for _, path := range []string{"no-such-thing", "backup"} { // backup is POST only
		_, err := clientAs(t, url, admin).Do(t.Context(), http.MethodGet, path, nil)
		if !hadronclient.IsCode(err, "UnknownOperationException") {
			t.Errorf("signed GET %s: %v, want UnknownOperationException", path, err)
		}
	}
}

func TestBackupEndpointSendsASoundCopy(t *testing.T) {
	t.Parallel()
	url, dir, keys := signedServer(t)
	admin, _ := keys.Create(auth.Policy{}, "")
	statusOnly, _ := keys.Create(auth.Policy{Allow: []string{"hadron:GetStatus"}}, "")
	if _, err := clientAs(t, url, statusOnly).Do(t.Context(), http.MethodPost, "backup", nil); !hadronclient.IsCode(err, "AccessDeniedException") {
		t.Errorf("backup with a key allowed hadron:GetStatus only: %v, want AccessDeniedException", err)
	}
	resp, err := clientAs(t, url, admin).Do(t.Context(), http.MethodPost, "backup", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil || int64(len(data)) != resp.ContentLength {
		t.Fatalf("read %d of %d bytes: %v", len(data), resp.ContentLength, err)
	}
	file := filepath.Join(t.TempDir(), "copy.db")
	os.WriteFile(file, data, 0o600)
	if n, err := sqlite.Verify(t.Context(), file); err != nil || n == 0 {
		t.Errorf("the copy: %d migrations, %v", n, err)
	}
	// The server's temporary copy is gone.
	if left, _ := filepath.Glob(filepath.Join(dir, "backup-*")); len(left) > 0 {
		t.Errorf("the server left %v", left)
	}
}
