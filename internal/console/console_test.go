package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hadronhq/hadron/internal/api"
	"github.com/hadronhq/hadron/internal/auth"
	"github.com/hadronhq/hadron/internal/console"
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

const codebuildRole = "arn:aws:iam::123456789012:role/builder"

// hadron is a running server with three access keys: admin (everything),
// reader (proton:Get* and proton:List* only) and dev (every action, on
// resources named dev-* only).
type hadron struct {
	t                  *testing.T
	url                string
	admin, reader, dev auth.NewKey
	keys               *auth.Store
	api                *hadrontest.Client
}

// setup starts a server over a fresh data directory; authOff serves it
// as hadron serve --auth none does.
func setup(t *testing.T, authOff bool) *hadron {
	t.Helper()
	return setupNodes(t, authOff, 1, nil)[0]
}

// setupNodes starts n servers over one data directory and one database
// (SQLite in the directory, or the store open opens), as nodes behind a
// load balancer would be.
func setupNodes(t *testing.T, authOff bool, n int, open func(t *testing.T, dir string) store.Store) []*hadron {
	t.Helper()
	dir := t.TempDir()
	h := &hadron{t: t, keys: &auth.Store{Dir: dir}}
	var err error
	if h.admin, _, err = h.keys.CreateFirst("admin"); err != nil {
		t.Fatal(err)
	}
	if h.reader, err = h.keys.Create(auth.Policy{Allow: []string{"proton:Get*", "proton:List*"}}, "reader"); err != nil {
		t.Fatal(err)
	}
	if h.dev, err = h.keys.Create(auth.Policy{Allow: []string{"*"}, Resources: []string{"dev-*", "net", "byo"}}, "dev"); err != nil {
		t.Fatal(err)
	}
	var authn *auth.Authenticator
	if !authOff {
		ring, err := auth.OpenKeyring(dir, nil)
		if err != nil {
			t.Fatal(err)
		}
		authn = auth.New(auth.Config{Keys: ring})
	}
	bundles := filepath.Join(dir, "bundles")
	for _, name := range []string{"slow", "cm", "svc"} {
		if err := hadrontest.PutBundle(bundles, "bundles", name+".tgz", filepath.Join("testdata", name)); err != nil {
			t.Fatal(err)
		}
	}
	if open == nil {
		open = func(t *testing.T, dir string) store.Store {
			st, err := sqlite.Open(context.Background(), filepath.Join(dir, server.DatabaseFile))
			if err != nil {
				t.Fatal(err)
			}
			return st
		}
	}
	var nodes []*hadron
	for i := range n {
		engines := provision.NewRegistry()
		engines.Register(codebuild.Name, &codebuild.Engine{Grace: 200 * time.Millisecond, Env: map[string]string{"HADRON_ENDPOINT": "", "AWS_ENDPOINT_URL_PROTON": ""}})
		engines.Register(customermanaged.Name, customermanaged.Engine{})
		srv, err := server.New(context.Background(), server.Config{
			DataDir: dir, BundleDir: bundles, Region: "us-east-1", AccountID: "123456789012", Store: open(t, dir),
			Engines: engines, Workers: 2, Owner: fmt.Sprintf("test%d", i), Auth: authn,
		})
		if err != nil {
			t.Fatal(err)
		}
		ts := httptest.NewServer(srv)
		t.Cleanup(func() {
			ts.Close()
			srv.Close()
		})
		node := *h
		node.url = ts.URL
		node.api = &hadrontest.Client{Endpoint: ts.URL, Key: h.admin.AccessKeyID, Secret: h.admin.SecretAccessKey}
		nodes = append(nodes, &node)
	}
	return nodes
}

func (h *hadron) call(op string, in, out any) {
	h.t.Helper()
	if err := h.api.Call(h.t.Context(), op, in, out); err != nil {
		h.t.Fatalf("%s: %v", op, err)
	}
}

// template publishes version 1.0 of an environment template from bundle.
func (h *hadron) template(name, bundle, provisioning string) {
	h.t.Helper()
	h.call("CreateEnvironmentTemplate", api.CreateEnvironmentTemplateInput{Name: name, Provisioning: provisioning}, nil)
	h.call("CreateEnvironmentTemplateVersion", api.CreateEnvironmentTemplateVersionInput{TemplateName: name,
		Source: api.TemplateVersionSourceInput{S3: &api.S3ObjectSource{Bucket: "bundles", Key: bundle}}}, nil)
	hadrontest.Eventually(h.t, 20*time.Second, "template version registered", func() (bool, string) {
		var out api.GetEnvironmentTemplateVersionOutput
		h.call("GetEnvironmentTemplateVersion", api.GetEnvironmentTemplateVersionInput{TemplateName: name, MajorVersion: "1", MinorVersion: "0"}, &out)
		return out.EnvironmentTemplateVersion.Status != "REGISTRATION_IN_PROGRESS", out.EnvironmentTemplateVersion.Status
	})
	h.call("UpdateEnvironmentTemplateVersion", api.UpdateEnvironmentTemplateVersionInput{TemplateName: name, MajorVersion: "1", MinorVersion: "0", Status: "PUBLISHED"}, nil)
}

// running creates environment name on the slow template, running for a
// minute, and returns its deployment id once a worker runs it.
func (h *hadron) running(name string) string {
	h.t.Helper()
	var out api.CreateEnvironmentOutput
	h.call("CreateEnvironment", api.CreateEnvironmentInput{Name: name, TemplateName: "net", TemplateMajorVersion: "1",
		CodebuildRoleArn: codebuildRole, Spec: "proton: EnvironmentSpec\nspec:\n  seconds: 60\n"}, &out)
	return out.Environment.LastAttemptedDeploymentId
}

func (h *hadron) status(id string) string {
	h.t.Helper()
	var out api.GetDeploymentOutput
	h.call("GetDeployment", api.GetDeploymentInput{Id: id}, &out)
	return out.Deployment.DeploymentStatus
}

// browser is a cookie-keeping client that does not follow redirects, so
// that tests see them.
type browser struct {
	t    *testing.T
	h    *hadron
	http *http.Client
}

func (h *hadron) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: h.t, h: h, http: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

type page struct {
	status int
	header http.Header
	body   string
}

func (b *browser) do(method, path string, form url.Values) page {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(b.t.Context(), method, b.h.url+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := b.http.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return page{status: resp.StatusCode, header: resp.Header, body: string(data)}
}

func (b *browser) get(path string) page { return b.do("GET", path, nil) }

func (b *browser) post(path string, form url.Values) page { return b.do("POST", path, form) }

func (b *browser) signIn(k auth.NewKey) {
	b.t.Helper()
	p := b.post("/console/signin", url.Values{"accessKeyId": {k.AccessKeyID}, "secretAccessKey": {k.SecretAccessKey}, "next": {"/console/environments"}})
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/console/environments" {
		b.t.Fatalf("sign-in: %d to %q, want 303 to /console/environments: %s", p.status, p.header.Get("Location"), p.body)
	}
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf reads the CSRF token of a page's forms.
func (b *browser) csrf(path string) string {
	b.t.Helper()
	m := csrfField.FindStringSubmatch(b.get(path).body)
	if m == nil {
		b.t.Fatalf("%s has no CSRF field", path)
	}
	return m[1]
}

func TestPagesNeedASignIn(t *testing.T) {
	t.Parallel()
	h := setup(t, false)
	b := h.browser()
	for _, path := range []string{"/console/environments", "/console/deployments/" + "00000000-0000-4000-8000-000000000000", "/console/"} {
		p := b.get(path)
		if p.status != http.StatusSeeOther || !strings.HasPrefix(p.header.Get("Location"), "/console/signin?next=") {
			t.Errorf("GET %s: %d to %q, want 303 to the sign-in", path, p.status, p.header.Get("Location"))
		}
	}
	if p := b.get("/console/deployments/00000000-0000-4000-8000-000000000000/log"); p.status != http.StatusUnauthorized {
		t.Errorf("log without a session: %d, want 401", p.status)
	}
	if p := b.post("/console/deployments/00000000-0000-4000-8000-000000000000/cancel", url.Values{"confirmed": {"yes"}}); p.status != http.StatusUnauthorized {
		t.Errorf("cancel without a session: %d, want 401", p.status)
	}
}

func TestSignInChecksTheSecret(t *testing.T) {
	t.Parallel()
	h := setup(t, false)
	if err := h.keys.SetDisabled(h.reader.AccessKeyID, true); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ name, id, secret string }{
		{"wrong secret", h.admin.AccessKeyID, h.reader.SecretAccessKey},
		{"empty secret", h.admin.AccessKeyID, ""},
		{"unknown key", "HKNOSUCHKEY0000000000", h.admin.SecretAccessKey},
		{"disabled key", h.reader.AccessKeyID, h.reader.SecretAccessKey},
	} {
		b := h.browser()
		p := b.post("/console/signin", url.Values{"accessKeyId": {c.id}, "secretAccessKey": {c.secret}})
		if p.status != http.StatusUnauthorized || !strings.Contains(p.body, "is wrong") {
			t.Errorf("%s: %d, want 401 saying the key or secret is wrong", c.name, p.status)
		}
		if p.header.Get("Set-Cookie") != "" {
			t.Errorf("%s: a cookie was set: %s", c.name, p.header.Get("Set-Cookie"))
		}
		if p := b.get("/console/environments"); p.status != http.StatusSeeOther {
			t.Errorf("%s: a page after the refused sign-in answers %d, want 303 to the sign-in", c.name, p.status)
		}
	}
}

func TestSignInIssuesAStrictHttpOnlyExpiringCookie(t *testing.T) {
	t.Parallel()
	h := setup(t, false)
	b := h.browser()
	p := b.post("/console/signin", url.Values{"accessKeyId": {h.admin.AccessKeyID}, "secretAccessKey": {h.admin.SecretAccessKey}, "next": {"https://evil.example/"}})
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/console/environments" {
		t.Fatalf("sign-in: %d to %q, want 303 to /console/environments (never off the console)", p.status, p.header.Get("Location"))
	}
	resp := http.Response{Header: p.header}
	var c *http.Cookie
	for _, k := range resp.Cookies() {
		if k.Name == console.CookieName {
			c = k
		}
	}
	if c == nil {
		t.Fatalf("no %s cookie in %v", console.CookieName, p.header["Set-Cookie"])
	}
	if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != console.Prefix || c.MaxAge <= 0 || c.Expires.IsZero() || len(c.Value) < 40 {
		t.Errorf("cookie %+v: want HttpOnly, SameSite=Strict, Path %s, an expiry and a long random value", c, console.Prefix)
	}
	if c.Secure {
		t.Errorf("cookie is Secure over plain HTTP: the browser would never send it back")
	}
	page := b.get("/console/environments")
	if page.status != http.StatusOK || !strings.Contains(page.body, h.admin.AccessKeyID) {
		t.Errorf("environments after sign-in: %d, want 200 naming the key", page.status)
	}
}

func TestFormsFromAnotherOriginAreRefused(t *testing.T) {
	t.Parallel()
	h := setup(t, false)
	b := h.browser()
	for origin, want := range map[string]int{
		"https://evil.example":                              http.StatusForbidden,
		strings.Replace(h.url, "127.0.0.1", "localhost", 1): http.StatusForbidden,
		h.url: http.StatusSeeOther,
		"":    http.StatusSeeOther,
	} {
		req, _ := http.NewRequestWithContext(t.Context(), "POST", h.url+"/console/signin", strings.NewReader(url.Values{
			"accessKeyId": {h.admin.AccessKeyID}, "secretAccessKey": {h.admin.SecretAccessKey}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		resp, err := b.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("sign-in with Origin %q: %d, want %d", origin, resp.StatusCode, want)
		}
	}
}

func TestSignOutNeedsTheCSRFTokenAndEndsTheSession(t *testing.T) {
	t.Parallel()
	h := setup(t, false)
	b := h.browser()
	b.signIn(h.admin)
	token := b.csrf("/console/environments")
	if p := b.post("/console/signout", url.Values{"csrf": {"forged"}}); p.status != http.StatusForbidden {
		t.Errorf("sign-out with a wrong token: %d, want 403", p.status)
	}
	if p := b.get("/console/environments"); p.status != http.StatusOK {
		t.Fatalf("after a refused sign-out: %d, want still signed in", p.status)
	}
	if p := b.post("/console/signout", url.Values{"csrf": {token}}); p.status != http.StatusSeeOther {
		t.Errorf("sign-out: %d, want 303", p.status)
	}
	if p := b.get("/console/environments"); p.status != http.StatusSeeOther {
		t.Errorf("after sign-out: %d, want 303 to the sign-in", p.status)
	}
}

func TestADisabledKeysSessionEnds(t *testing.T) {
	t.Parallel()
	h := setup(t, false)
	b := h.browser()
	b.signIn(h.reader)
	if p := b.get("/console/environments"); p.status != http.StatusOK {
		t.Fatalf("environments: %d", p.status)
	}
	if err := h.keys.SetDisabled(h.reader.AccessKeyID, true); err != nil {
		t.Fatal(err)
	}
	// The keyring notices a new keys file at most a second later.
	hadrontest.Eventually(t, 5*time.Second, "the session of a disabled key to end", func() (bool, string) {
		p := b.get("/console/environments")
		return p.status == http.StatusSeeOther, fmt.Sprint(p.status)
	})
}

func TestCancelFromTheConsole(t *testing.T) {
	t.Parallel()
	h := setup(t, false)
	h.template("net", "slow.tgz", "")
	id := h.running("dev-web")
	b := h.browser()
	b.signIn(h.admin)
	dep := b.get("/console/deployments/" + id)
	if dep.status != http.StatusOK || !strings.Contains(dep.body, `class="cancel"`) || !strings.Contains(dep.body, "IN_PROGRESS") {
		t.Fatalf("deployment page: %d, want 200 with a cancel form and IN_PROGRESS:\n%s", dep.status, dep.body)
	}
	token := csrfField.FindStringSubmatch(dep.body)[1]
	cancel := "/console/deployments/" + id + "/cancel"

	// Refused: no token, a wrong one, another session's.
	other := h.browser()
	other.signIn(h.admin)
	for name, form := range map[string]url.Values{
		"no token":              {"confirmed": {"yes"}},
		"wrong token":           {"confirmed": {"yes"}, "csrf": {"x" + token}},
		"other session's token": {"confirmed": {"yes"}, "csrf": {other.csrf("/console/environments")}},
	} {
		if p := b.post(cancel, form); p.status != http.StatusForbidden {
			t.Errorf("cancel with %s: %d, want 403", name, p.status)
		}
	}
	// Without confirmation (no script): a page asks first.
	if p := b.post(cancel, url.Values{"csrf": {token}}); p.status != http.StatusOK || !strings.Contains(p.body, `name="confirmed" value="yes"`) {
		t.Errorf("unconfirmed cancel: %d, want 200 with a confirmation form", p.status)
	}
	if got := h.status(id); got != "IN_PROGRESS" {
		t.Fatalf("after refused and unconfirmed cancels the deployment is %s, want IN_PROGRESS", got)
	}
	// The log grows while the deployment runs.
	logOf := func() (rep struct {
		Status, Text string
		Active       bool
	}) {
		t.Helper()
		p := b.get("/console/deployments/" + id + "/log?offset=0")
		if err := json.Unmarshal([]byte(p.body), &rep); err != nil {
			t.Fatalf("log: %d %q: %v", p.status, p.body, err)
		}
		return rep
	}
	hadrontest.Eventually(t, 20*time.Second, "the log to show the run's second tick", func() (bool, string) {
		rep := logOf()
		return strings.Contains(rep.Text, "tick 1\n") && rep.Active, rep.Text
	})
	p := b.post(cancel, url.Values{"csrf": {token}, "confirmed": {"yes"}})
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/console/deployments/"+id+"?environment=dev-web" {
		t.Fatalf("cancel: %d to %q, want 303 to the deployment: %s", p.status, p.header.Get("Location"), p.body)
	}
	hadrontest.Eventually(t, 20*time.Second, "the deployment to end CANCELLED", func() (bool, string) {
		s := h.status(id)
		return s == "CANCELLED", s
	})
	if rep := logOf(); rep.Status != "CANCELLED" || rep.Active || !strings.Contains(rep.Text, "cancel requested") {
		t.Errorf("log reply %+v: want CANCELLED, not active, with the run's output", rep)
	}
	// A second cancel changes nothing and says the deployment had ended.
	p = b.post(cancel, url.Values{"csrf": {token}, "confirmed": {"yes"}})
	if want := "/console/deployments/" + id + "?environment=dev-web&ended=1"; p.status != http.StatusSeeOther || p.header.Get("Location") != want {
		t.Fatalf("second cancel: %d to %q, want 303 to %s", p.status, p.header.Get("Location"), want)
	}
	if p := b.get(p.header.Get("Location")); !strings.Contains(p.body, "already ended CANCELLED") {
		t.Errorf("the page after the second cancel does not say the deployment had ended CANCELLED:\n%s", p.body)
	}
}

func TestTheKeysPolicyDecides(t *testing.T) {
	t.Parallel()
	h := setup(t, false)
	h.template("net", "slow.tgz", "")
	id := h.running("dev-web")
	prodID := h.running("prod")

	// reader: may look, may not cancel; a forged cancel is refused.
	r := h.browser()
	r.signIn(h.reader)
	dep := r.get("/console/deployments/" + id)
	if dep.status != http.StatusOK || strings.Contains(dep.body, `class="cancel"`) {
		t.Errorf("reader's deployment page: %d, want 200 without a cancel form", dep.status)
	}
	if !strings.Contains(dep.body, "The log is not shown: User: "+h.reader.AccessKeyID+" is not authorized to perform: hadron:GetDeploymentLog on resource: dev-web") {
		t.Errorf("reader's deployment page does not say why the log is hidden:\n%s", dep.body)
	}
	var rep struct{ Status, Text, Denied string }
	lp := r.get("/console/deployments/" + id + "/log?offset=0")
	if err := json.Unmarshal([]byte(lp.body), &rep); err != nil || rep.Status != "IN_PROGRESS" || rep.Text != "" || !strings.Contains(rep.Denied, "hadron:GetDeploymentLog") {
		t.Errorf("reader's log reply %d %+v (%v): want the status, no text, and why", lp.status, rep, err)
	}
	// A key that may also read logs (hadron:GetDeploymentLog, the action of
	// GET /hadron/v1/deployments/{id}/log) sees this one.
	logReader, err := h.keys.Create(auth.Policy{Allow: []string{"proton:Get*", "hadron:GetDeploymentLog"}}, "log reader")
	if err != nil {
		t.Fatal(err)
	}
	lr := h.browser()
	lr.signIn(logReader)
	hadrontest.Eventually(t, 20*time.Second, "the log reader to see the run's output", func() (bool, string) {
		p := lr.get("/console/deployments/" + id)
		return strings.Contains(p.body, "tick 0"), p.body
	})

	token := r.csrf("/console/environments")
	p := r.post("/console/deployments/"+id+"/cancel", url.Values{"csrf": {token}, "confirmed": {"yes"}})
	if p.status != http.StatusForbidden || !strings.Contains(p.body, "not authorized to perform: proton:CancelEnvironmentDeployment") {
		t.Errorf("reader's forged cancel: %d, want 403 naming the action:\n%s", p.status, p.body)
	}

	// dev: resources dev-* only, so no list of every environment (as
	// ListEnvironments is refused to it) and no prod.
	d := h.browser()
	d.signIn(h.dev)
	for path, want := range map[string]int{
		"/console/environments":         http.StatusForbidden,
		"/console/environments/dev-web": http.StatusOK,
		"/console/environments/prod":    http.StatusForbidden,
	} {
		if p := d.get(path); p.status != want {
			t.Errorf("dev GET %s: %d, want %d", path, p.status, want)
		}
	}
	token = d.csrf("/console/environments/dev-web")
	if p := d.post("/console/deployments/"+prodID+"/cancel", url.Values{"csrf": {token}, "confirmed": {"yes"}}); p.status != http.StatusForbidden {
		t.Errorf("dev cancels prod: %d, want 403", p.status)
	}
	for _, x := range []string{id, prodID} {
		if got := h.status(x); got != "IN_PROGRESS" {
			t.Errorf("deployment %s is %s after refused cancels, want IN_PROGRESS", x, got)
		}
	}
	// The environment's page links its deployment naming the environment,
	// as a GetDeployment call of this key must.
	link := regexp.MustCompile(`class="follow" href="([^"]+)"`).FindStringSubmatch(d.get("/console/environments/dev-web").body)
	if link == nil || link[1] != "/console/deployments/"+id+"?environment=dev-web" {
		t.Fatalf("dev-web's page links its deployment as %v", link)
	}
	if p := d.get(link[1]); p.status != http.StatusOK || !strings.Contains(p.body, `class="cancel"`) {
		t.Errorf("dev's deployment page of dev-web: %d, want 200 with a cancel form", p.status)
	}
	if p := d.post(link[1][:strings.Index(link[1], "?")]+"/cancel?environment=dev-web", url.Values{"csrf": {token}, "confirmed": {"yes"}}); p.status != http.StatusSeeOther {
		t.Errorf("dev cancels dev-web: %d, want 303: %s", p.status, p.body)
	}
}

var rowLink = regexp.MustCompile(`<a href="/console/environments/([^"]+)">`)

func TestEnvironmentsArePagedSearchedAndFiltered(t *testing.T) {
	t.Parallel()
	h := setup(t, false)
	h.template("byo", "cm.tgz", "CUSTOMER_MANAGED")
	for i := range 60 {
		h.call("CreateEnvironment", api.CreateEnvironmentInput{Name: fmt.Sprintf("env-%02d", i), TemplateName: "byo", TemplateMajorVersion: "1",
			Spec: "proton: EnvironmentSpec\nspec:\n  VpcId: v\n"}, nil)
	}
	h.template("net", "slow.tgz", "")
	h.running("dev-web")
	b := h.browser()
	b.signIn(h.reader)
	hadrontest.Eventually(t, 30*time.Second, "the customer-managed environments to succeed", func() (bool, string) {
		p := b.get("/console/environments?status=SUCCEEDED&q=env-")
		next := regexp.MustCompile(`rel="next" href="([^"]+)"`).FindStringSubmatch(p.body)
		if next == nil {
			return false, "no second page"
		}
		second := b.get(strings.ReplaceAll(next[1], "&amp;", "&"))
		return len(rowLink.FindAllString(second.body, -1)) == 10, second.body
	})
	first := b.get("/console/environments")
	names := rowLink.FindAllStringSubmatch(first.body, -1)
	if len(names) != 50 || names[0][1] != "dev-web" || names[1][1] != "env-00" || names[49][1] != "env-48" {
		t.Errorf("first page: %d rows (%v), want 50 from dev-web to env-48", len(names), names)
	}
	for query, want := range map[string][]string{
		"q=ENV-5":             {"env-50", "env-51", "env-52", "env-53", "env-54", "env-55", "env-56", "env-57", "env-58", "env-59"},
		"q=web":               {"dev-web"},
		"status=IN_PROGRESS":  {"dev-web"},
		"q=env&status=FAILED": nil,
		"q=%25":               nil,
	} {
		var got []string
		for _, m := range rowLink.FindAllStringSubmatch(b.get("/console/environments?"+query).body, -1) {
			got = append(got, m[1])
		}
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s: %v, want %v", query, got, want)
		}
	}
	if p := b.get("/console/environments?next=bm90LWEtdG9rZW4="); p.status != http.StatusBadRequest {
		t.Errorf("a foreign page token: %d, want 400", p.status)
	}
}

func TestEveryPageRenders(t *testing.T) {
	t.Parallel()
	h := setup(t, false)
	h.template("net", "slow.tgz", "")
	id := h.running("dev-web")
	b := h.browser()
	b.signIn(h.admin)
	for path, want := range map[string]string{
		"/console/environments":                    "dev-web",
		"/console/environments/dev-web":            "seconds: 60",
		"/console/services":                        "Nothing found",
		"/console/components":                      "Nothing found",
		"/console/templates":                       "net",
		"/console/templates/environment/net":       "PUBLISHED",
		"/console/deployments":                     id,
		"/console/deployments?status=IN_PROGRESS":  id,
		"/console/deployments?environment=dev-web": id,
		"/console/deployments/" + id:               "Target version",
		"/console/static/console.js":               "confirm",
		"/console/templates/environment/nope":      "not found",
		"/console/environments/nope":               "not found",
		"/console/services/nope/instances/one":     "not found",
		"/console/deployments/not-an-id":           "failed to satisfy constraint",
		"/console/deployments?status=SUCCEEDED":    "No deployments",
		"/console/environments?q=%3Cscript%3Ex":    "&lt;script&gt;x",
	} {
		p := b.get(path)
		if !strings.Contains(p.body, want) {
			t.Errorf("GET %s: %d without %q:\n%s", path, p.status, want, p.body)
		}
		if csp := p.header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
			t.Errorf("GET %s: Content-Security-Policy %q", path, csp)
		}
	}
}

func TestWithAuthOffABannerSaysSoAndCSRFStillHolds(t *testing.T) {
	t.Parallel()
	h := setup(t, true)
	h.template("net", "slow.tgz", "")
	id := h.running("dev-web")
	b := h.browser()
	p := b.get("/console/environments")
	if p.status != http.StatusOK || !strings.Contains(p.body, "Authentication is off") || !strings.Contains(p.body, "dev-web") {
		t.Fatalf("environments with auth off: %d, want 200 with the banner and the environment:\n%s", p.status, p.body)
	}
	if p := b.get("/console/signin"); p.status != http.StatusSeeOther {
		t.Errorf("sign-in page with auth off: %d, want a redirect (nothing to sign in to)", p.status)
	}
	// A page of another site posting to the console has no token.
	stranger := h.browser()
	if p := stranger.post("/console/deployments/"+id+"/cancel", url.Values{"confirmed": {"yes"}}); p.status != http.StatusUnauthorized && p.status != http.StatusForbidden {
		t.Errorf("a cancel without a session: %d, want a refusal", p.status)
	}
	token := b.csrf("/console/deployments/" + id)
	if p := b.post("/console/deployments/"+id+"/cancel", url.Values{"confirmed": {"yes"}}); p.status != http.StatusForbidden {
		t.Errorf("a cancel without the token: %d, want 403", p.status)
	}
	if got := h.status(id); got != "IN_PROGRESS" {
		t.Fatalf("deployment is %s, want IN_PROGRESS", got)
	}
	if p := b.post("/console/deployments/"+id+"/cancel", url.Values{"csrf": {token}, "confirmed": {"yes"}}); p.status != http.StatusSeeOther {
		t.Errorf("cancel with the token: %d, want 303", p.status)
	}
}

func TestServicePagesShowInstancesPipelineAndTemplateVersions(t *testing.T) {
	t.Parallel()
	h := setup(t, false)
	h.template("net", "slow.tgz", "")
	h.call("CreateEnvironment", api.CreateEnvironmentInput{Name: "prod", TemplateName: "net", TemplateMajorVersion: "1",
		CodebuildRoleArn: codebuildRole, Spec: "proton: EnvironmentSpec\nspec:\n  seconds: 0\n"}, nil)
	h.call("UpdateAccountSettings", api.UpdateAccountSettingsInput{PipelineCodebuildRoleArn: ptr("arn:aws:iam::123456789012:role/pipeline")}, nil)
	h.call("CreateServiceTemplate", api.CreateServiceTemplateInput{Name: "web"}, nil)
	h.call("CreateServiceTemplateVersion", api.CreateServiceTemplateVersionInput{TemplateName: "web",
		Source:                         api.TemplateVersionSourceInput{S3: &api.S3ObjectSource{Bucket: "bundles", Key: "svc.tgz"}},
		CompatibleEnvironmentTemplates: []api.CompatibleEnvironmentTemplateInput{{TemplateName: "net", MajorVersion: "1"}}}, nil)
	hadrontest.Eventually(t, 20*time.Second, "the service template version registered", func() (bool, string) {
		var out api.GetServiceTemplateVersionOutput
		h.call("GetServiceTemplateVersion", api.GetServiceTemplateVersionInput{TemplateName: "web", MajorVersion: "1", MinorVersion: "0"}, &out)
		return out.ServiceTemplateVersion.Status != "REGISTRATION_IN_PROGRESS", out.ServiceTemplateVersion.Status
	})
	h.call("UpdateServiceTemplateVersion", api.UpdateServiceTemplateVersionInput{TemplateName: "web", MajorVersion: "1", MinorVersion: "0", Status: "PUBLISHED"}, nil)
	b := h.browser()
	b.signIn(h.reader)
	hadrontest.Eventually(t, 20*time.Second, "prod to be deployed", func() (bool, string) {
		p := b.get("/console/environments/prod")
		return strings.Contains(p.body, ">SUCCEEDED<"), p.body
	})
	h.call("CreateService", api.CreateServiceInput{Name: "api", TemplateName: "web", TemplateMajorVersion: "1",
		Spec: "proton: ServiceSpec\npipeline:\n  stages: 1\ninstances:\n  - name: one\n    environment: prod\n    spec:\n      port: 8080\n"}, nil)
	hadrontest.Eventually(t, 30*time.Second, "the service to be ACTIVE", func() (bool, string) {
		p := b.get("/console/services/api")
		return strings.Contains(p.body, ">ACTIVE<"), p.body
	})
	// A newer environment template version: prod is behind it.
	h.call("CreateEnvironmentTemplateVersion", api.CreateEnvironmentTemplateVersionInput{TemplateName: "net", MajorVersion: "1",
		Source: api.TemplateVersionSourceInput{S3: &api.S3ObjectSource{Bucket: "bundles", Key: "slow.tgz"}}}, nil)
	hadrontest.Eventually(t, 20*time.Second, "net 1.1 registered", func() (bool, string) {
		var out api.GetEnvironmentTemplateVersionOutput
		h.call("GetEnvironmentTemplateVersion", api.GetEnvironmentTemplateVersionInput{TemplateName: "net", MajorVersion: "1", MinorVersion: "1"}, &out)
		return out.EnvironmentTemplateVersion.Status != "REGISTRATION_IN_PROGRESS", out.EnvironmentTemplateVersion.Status
	})
	h.call("UpdateEnvironmentTemplateVersion", api.UpdateEnvironmentTemplateVersionInput{TemplateName: "net", MajorVersion: "1", MinorVersion: "1", Status: "PUBLISHED"}, nil)
	for path, wants := range map[string][]string{
		"/console/services":                     {`href="/console/services/api"`, "ACTIVE", "web"},
		"/console/services/api":                 {`href="/console/services/api/instances/one"`, `href="/console/services/api/pipeline"`, "port: 8080", "prod"},
		"/console/services/api/instances/one":   {"SUCCEEDED", "web", "1.0", "port: 8080", "Service api"},
		"/console/services/api/pipeline":        {"SUCCEEDED", "stages: 1"},
		"/console/templates/service/web":        {"1.0", "PUBLISHED", "recommended"},
		"/console/templates/environment/net":    {"1.0", "1.1", "Recommended version: <strong>1.1</strong>"},
		"/console/environments":                 {"behind: 1.1 recommended"},
		"/console/environments/prod":            {"behind: 1.1 is recommended"},
		"/console/deployments?service=api":      {"service/api/service-instance/one", "service/api/pipeline", "web 1.0"},
		"/console/deployments?environment=prod": {"environment/prod", "net 1.0"},
		// Services are searched by name, status and template.
		"/console/services?q=AP&status=ACTIVE&template=web": {`href="/console/services/api"`, `<option value="web" selected>`, `<option value="ACTIVE" selected>`},
		"/console/services?status=CREATE_FAILED":            {"Nothing found"},
		"/console/services?template=nope":                   {"Nothing found"},
		"/console/services?q=zzz":                           {"Nothing found"},
	} {
		p := b.get(path)
		for _, want := range wants {
			if p.status != http.StatusOK || !strings.Contains(p.body, want) {
				t.Errorf("GET %s: %d without %q", path, p.status, want)
			}
		}
	}
	// The pipeline deployed after the instances, as a later step of the
	// service's creation: it is the creating key's too.
	p := b.get("/console/deployments?service=api")
	if n := strings.Count(p.body, "admin ("+h.admin.AccessKeyID+")"); n != 2 || strings.Contains(p.body, "unknown") {
		t.Errorf("the service's history names admin %d times, want 2 (instance and pipeline):\n%s", n, p.body)
	}
}

func ptr[T any](v T) *T { return &v }
