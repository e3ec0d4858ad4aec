package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hadronhq/hadron/internal/hadrontest"
	"github.com/hadronhq/hadron/internal/provision"
	"github.com/hadronhq/hadron/internal/provision/codebuild"
	"github.com/hadronhq/hadron/internal/provision/customermanaged"
	"github.com/hadronhq/hadron/internal/server"
	"github.com/hadronhq/hadron/internal/store"
	"github.com/hadronhq/hadron/internal/store/sqlite"
)

func TestMain(m *testing.M) {
	codebuild.MaybeSupervise()
	os.Exit(m.Run())
}

// hadron is a running server and a client for it.
type hadron struct {
	t       *testing.T
	url     string
	dataDir string
	// key and secret, when key is set, sign every call.
	key, secret string
	srv         *server.Server
}

// setup starts a server over a fresh data directory, with the test bundles in
// its bundle directory under bucket "bundles".
func setup(t *testing.T) *hadron {
	t.Helper()
	return setupWith(t, testEngines(300*time.Millisecond))
}

// setupWith is setup with the engines given.
func setupWith(t *testing.T, engines *provision.Registry) *hadron {
	t.Helper()
	return setupConfig(t, engines, nil)
}

// setupConfig is setupWith with the server's configuration changed by
// configure (when not nil) before the server starts.
func setupConfig(t *testing.T, engines *provision.Registry, configure func(cfg *server.Config)) *hadron {
	t.Helper()
	dir := t.TempDir()
	bundles := filepath.Join(dir, "bundles")
	cfg := server.Config{
		DataDir: dir, BundleDir: bundles, Region: "us-east-1", AccountID: "123456789012", Store: openSQLite(t, dir),
		Engines: engines, Workers: 2, Owner: "test",
	}
	if configure != nil {
		configure(&cfg)
	}
	srv, err := server.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(func() {
		ts.Close()
		srv.Close()
	})
	h := &hadron{t: t, url: ts.URL, dataDir: dir, srv: srv}
	h.putBundles("slow", "cfn", "cm", "incompatible", "svc")
	if err := os.WriteFile(filepath.Join(bundles, "bundles", "garbage.tgz"), []byte("not a tarball"), 0o600); err != nil {
		t.Fatal(err)
	}
	return h
}

// openSQLite opens the SQLite database of the data directory dir, as
// cmd/hadron does; the server that is given it closes it.
func openSQLite(t *testing.T, dir string) store.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, server.DatabaseFile))
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// testEngines registers the engines the tests deploy with, as cmd/hadron does.
func testEngines(cancelGrace time.Duration) *provision.Registry {
	r := provision.NewRegistry()
	r.Register(codebuild.Name, &codebuild.Engine{Grace: cancelGrace, Env: map[string]string{"HADRON_ENDPOINT": "", "AWS_ENDPOINT_URL_PROTON": ""}})
	r.Register(customermanaged.Name, customermanaged.Engine{})
	return r
}

// putBundles packs testdata/<name> for each name into the bundle directory,
// read as source s3 {bucket: bundles, key: <name>.tgz}.
func (h *hadron) putBundles(names ...string) {
	h.t.Helper()
	for _, name := range names {
		if err := hadrontest.PutBundle(filepath.Join(h.dataDir, "bundles"), "bundles", name+".tgz", filepath.Join("testdata", name)); err != nil {
			h.t.Fatal(err)
		}
	}
}

// response is a decoded answer: the body as a generic JSON value and, for an
// error, its type.
type response struct {
	status int
	body   map[string]any
	errTyp string
}

func (r response) str(path string) string {
	var v any = r.body
	for _, p := range strings.Split(path, ".") {
		m, _ := v.(map[string]any)
		v = m[p]
	}
	s, _ := v.(string)
	return s
}

func (h *hadron) raw(op, body string) response {
	h.t.Helper()
	c := hadrontest.Client{Endpoint: h.url, Key: h.key, Secret: h.secret}
	resp, err := c.Do(h.t.Context(), op, []byte(body))
	if err != nil {
		h.t.Fatal(err)
	}
	r := response{status: resp.Status, errTyp: resp.Header.Get("x-amzn-ErrorType")}
	if err := json.Unmarshal(resp.Body, &r.body); err != nil {
		h.t.Fatalf("%s: body is not JSON: %q", op, resp.Body)
	}
	return r
}

// call makes a call with a body built from v.
func (h *hadron) call(op string, v any) response {
	h.t.Helper()
	data, _ := json.Marshal(v)
	return h.raw(op, string(data))
}

// ok makes a call that must succeed.
func (h *hadron) ok(op string, v any) response {
	h.t.Helper()
	r := h.call(op, v)
	if r.status != 200 {
		h.t.Fatalf("%s: %d %s: %v", op, r.status, r.errTyp, r.body["message"])
	}
	return r
}

// fails makes a call that must fail with errType, its message containing each of want.
func (h *hadron) fails(op string, v any, errType string, want ...string) string {
	h.t.Helper()
	r := h.call(op, v)
	msg, _ := r.body["message"].(string)
	if r.status == 200 || r.errTyp != errType || r.body["__type"] != errType {
		h.t.Fatalf("%s: got %d %s %q, want %s", op, r.status, r.errTyp, msg, errType)
	}
	for _, w := range want {
		if !strings.Contains(msg, w) {
			h.t.Errorf("%s: message %q does not mention %q", op, msg, w)
		}
	}
	return msg
}

type m = map[string]any

// publishedTemplate creates a template and a published 1.0 version from bundle.
func (h *hadron) publishedTemplate(name, bundle string, provisioning string) {
	h.t.Helper()
	in := m{"name": name}
	if provisioning != "" {
		in["provisioning"] = provisioning
	}
	h.ok("CreateEnvironmentTemplate", in)
	h.version(name, "", bundle, "DRAFT")
	h.ok("UpdateEnvironmentTemplateVersion", m{"templateName": name, "majorVersion": "1", "minorVersion": "0", "status": "PUBLISHED"})
}

// version registers a version and waits for the registration to end in want.
func (h *hadron) version(template, major, bundle, want string) response {
	h.t.Helper()
	in := m{"templateName": template, "source": m{"s3": m{"bucket": "bundles", "key": bundle}}}
	if major != "" {
		in["majorVersion"] = major
	}
	r := h.ok("CreateEnvironmentTemplateVersion", in)
	v := r.body["environmentTemplateVersion"].(map[string]any)
	get := m{"templateName": template, "majorVersion": v["majorVersion"], "minorVersion": v["minorVersion"]}
	return h.waitFor("GetEnvironmentTemplateVersion", get, "environmentTemplateVersion.status", want, "REGISTRATION_IN_PROGRESS")
}

// waitFor polls op until the value at path leaves the pending values; it must then be want.
func (h *hadron) waitFor(op string, in any, path, want string, pending ...string) response {
	h.t.Helper()
	var r response
	hadrontest.Eventually(h.t, 20*time.Second, fmt.Sprintf("%s: %s to leave %v", op, path, pending), func() (bool, string) {
		r = h.ok(op, in)
		got := r.str(path)
		return !slices.Contains(pending, got), got
	})
	if got := r.str(path); got != want {
		h.t.Fatalf("%s: %s = %s, want %s (%v)", op, path, got, want, r.body)
	}
	return r
}

func (h *hadron) waitEnvironment(name, want string) response {
	h.t.Helper()
	return h.waitFor("GetEnvironment", m{"name": name}, "environment.deploymentStatus", want, "IN_PROGRESS", "CANCELLING", "DELETE_IN_PROGRESS")
}

func spec(inputs string) string {
	return fmt.Sprintf("proton: EnvironmentSpec\nspec:\n%s", inputs)
}

const codebuildRole = "arn:aws:iam::123456789012:role/builder"
