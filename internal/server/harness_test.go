package server_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hadronhq/hadron/internal/provision"
	"github.com/hadronhq/hadron/internal/provision/codebuild"
	"github.com/hadronhq/hadron/internal/provision/customermanaged"
	"github.com/hadronhq/hadron/internal/server"
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
}

// setup starts a server over a fresh data directory, with the test bundles in
// its bundle directory under bucket "bundles".
func setup(t *testing.T) *hadron {
	t.Helper()
	dir := t.TempDir()
	bundles := filepath.Join(dir, "bundles")
	for _, name := range []string{"slow", "cfn", "cm", "incompatible", "svc"} {
		writeBundle(t, filepath.Join("testdata", name), filepath.Join(bundles, "bundles", name+".tgz"))
	}
	os.WriteFile(filepath.Join(bundles, "bundles", "garbage.tgz"), []byte("not a tarball"), 0o600)
	srv, err := server.New(context.Background(), server.Config{
		DataDir: dir, BundleDir: bundles, Region: "us-east-1", AccountID: "123456789012",
		Engines: testEngines(300 * time.Millisecond), Workers: 2, Owner: "test",
	})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(func() {
		ts.Close()
		srv.Close()
	})
	return &hadron{t: t, url: ts.URL, dataDir: dir}
}

// testEngines registers the engines the tests deploy with, as cmd/hadron does.
func testEngines(cancelGrace time.Duration) *provision.Registry {
	r := provision.NewRegistry()
	r.Register(codebuild.Name, &codebuild.Engine{Grace: cancelGrace, Env: map[string]string{"HADRON_ENDPOINT": "", "AWS_ENDPOINT_URL_PROTON": ""}})
	r.Register(customermanaged.Name, customermanaged.Engine{})
	return r
}

func writeBundle(t *testing.T, src, dst string) {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if err := tw.WriteHeader(&tar.Header{Name: filepath.ToSlash(rel), Mode: 0o644, Size: int64(len(data))}); err != nil {
			return err
		}
		_, err = tw.Write(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	tw.Close()
	gz.Close()
	os.MkdirAll(filepath.Dir(dst), 0o700)
	if err := os.WriteFile(dst, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
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
	req, _ := http.NewRequest("POST", h.url+"/", strings.NewReader(body))
	req.Header.Set("X-Amz-Target", "AwsProton20200720."+op)
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	r := response{status: resp.StatusCode, errTyp: resp.Header.Get("x-amzn-ErrorType")}
	if err := json.Unmarshal(data, &r.body); err != nil {
		h.t.Fatalf("%s: body is not JSON: %q", op, data)
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
	deadline := time.Now().Add(20 * time.Second)
	for {
		r := h.ok(op, in)
		got := r.str(path)
		isPending := false
		for _, p := range pending {
			isPending = isPending || got == p
		}
		if !isPending {
			if got != want {
				h.t.Fatalf("%s: %s = %s, want %s (%v)", op, path, got, want, r.body)
			}
			return r
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("%s: %s still %s", op, path, got)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (h *hadron) waitEnvironment(name, want string) response {
	h.t.Helper()
	return h.waitFor("GetEnvironment", m{"name": name}, "environment.deploymentStatus", want, "IN_PROGRESS", "CANCELLING", "DELETE_IN_PROGRESS")
}

func spec(inputs string) string {
	return fmt.Sprintf("proton: EnvironmentSpec\nspec:\n%s", inputs)
}

const codebuildRole = "arn:aws:iam::123456789012:role/builder"

func sleepBriefly() { time.Sleep(10 * time.Millisecond) }
