package server_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hadronhq/hadron/internal/auth"
	"github.com/hadronhq/hadron/internal/server"
	"github.com/hadronhq/hadron/internal/sigv4"
)

// TestCommandsThroughTheAPINeedTheServerAndTheKey pins the gate of issue
// 17 on commands supplied through the API: a component whose manifest has
// CodeBuild commands is refused unless the server allows such commands
// (--allow-api-commands) and the caller's key holds hadron:RunCommands,
// which no proton: pattern grants. The key allowed only CreateComponent on
// dev-* of the escalation is refused.
func TestCommandsThroughTheAPINeedTheServerAndTheKey(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	st := &auth.Store{Dir: dir}
	admin, _, err := st.CreateFirst("admin")
	if err != nil {
		t.Fatal(err)
	}
	newKey := func(allow ...string) auth.NewKey {
		k, err := st.Create(auth.Policy{Allow: allow}, "")
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	devOnly, err := st.Create(auth.Policy{Allow: []string{"proton:CreateComponent"}, Resources: []string{"dev-*"}}, "")
	if err != nil {
		t.Fatal(err)
	}
	protonAll := newKey("proton:*")
	runner := newKey("proton:*", auth.ActionRunCommands)
	ring, err := auth.OpenKeyring(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	start := func(allow bool) string {
		sdir := t.TempDir()
		srv, err := server.New(context.Background(), server.Config{
			DataDir: sdir, BundleDir: sdir, Region: "us-east-1", AccountID: "123456789012", Owner: "test", Store: openSQLite(t, sdir),
			Engines: testEngines(0), Auth: auth.New(auth.Config{Keys: ring}), AllowAPICommands: allow,
		})
		if err != nil {
			t.Fatal(err)
		}
		ts := httptest.NewServer(srv)
		t.Cleanup(func() {
			ts.Close()
			srv.Close()
		})
		return ts.URL
	}
	// The environment does not exist: a call let through the gate is
	// answered ResourceNotFoundException, so the gate is what refuses.
	body := `{"name":"dev-x","environmentName":"dev-env","manifest":` + jsonString(componentManifest) + `,"templateFile":"echo hi\n"}`
	send := func(url string, key auth.NewKey) (string, string) {
		r, _ := http.NewRequest("POST", url+"/", strings.NewReader(body))
		r.Header.Set("X-Amz-Target", "AwsProton20200720.CreateComponent")
		r.Header.Set("Content-Type", "application/x-amz-json-1.0")
		sigv4.Sign(r, []byte(body), key.AccessKeyID, key.SecretAccessKey, "", "us-east-1", "proton", time.Now())
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		return resp.Header.Get("x-amzn-ErrorType"), string(data)
	}
	refusing, allowing := start(false), start(true)
	for _, c := range []struct {
		name, url string
		key       auth.NewKey
		errType   string
		says      string
	}{
		{"server refuses, admin key", refusing, admin, "ValidationException", "--allow-api-commands"},
		{"server allows, key allowed CreateComponent on dev-*", allowing, devOnly, "AccessDeniedException", "hadron:RunCommands on resource: dev-x"},
		{"server allows, key allowed proton:*", allowing, protonAll, "AccessDeniedException", "hadron:RunCommands"},
		{"server allows, key allowed proton:* and hadron:RunCommands", allowing, runner, "ResourceNotFoundException", "dev-env"},
		{"server allows, admin key (*)", allowing, admin, "ResourceNotFoundException", "dev-env"},
	} {
		typ, data := send(c.url, c.key)
		if typ != c.errType || !strings.Contains(data, c.says) {
			t.Errorf("%s: %s %s; want %s saying %q", c.name, typ, data, c.errType, c.says)
		}
	}
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
