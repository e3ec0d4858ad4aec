package console_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hadronhq/hadron/internal/api"
	"github.com/hadronhq/hadron/internal/hadrontest"
	"github.com/hadronhq/hadron/internal/store"
	"github.com/hadronhq/hadron/internal/store/postgres"
	"github.com/hadronhq/hadron/internal/store/postgres/pgtest"
)

// The histories, of a resource and of the account, and a deployment's page
// say which key started each deployment; the API's answers do not.
func TestHistoriesShowWhoStartedEachDeployment(t *testing.T) {
	t.Parallel()
	h := setup(t, false)
	h.template("net", "slow.tgz", "")
	id := h.running("dev-web")
	devAPI := &hadrontest.Client{Endpoint: h.url, Key: h.dev.AccessKeyID, Secret: h.dev.SecretAccessKey}
	if err := devAPI.Call(t.Context(), "CreateEnvironment", api.CreateEnvironmentInput{Name: "dev-api", TemplateName: "net",
		TemplateMajorVersion: "1", CodebuildRoleArn: codebuildRole, Spec: "proton: EnvironmentSpec\nspec:\n  seconds: 60\n"}, nil); err != nil {
		t.Fatal(err)
	}
	admin := "admin (" + h.admin.AccessKeyID + ")"
	dev := "dev (" + h.dev.AccessKeyID + ")"
	b := h.browser()
	b.signIn(h.admin)
	for path, want := range map[string][]string{
		"/console/environments/dev-web":            {admin},
		"/console/environments/dev-api":            {dev},
		"/console/deployments":                     {admin, dev},
		"/console/deployments/" + id:               {"Started by", admin},
		"/console/deployments?environment=dev-web": {admin},
	} {
		p := b.get(path)
		for _, w := range want {
			if p.status != http.StatusOK || !strings.Contains(p.body, w) {
				t.Errorf("%s: %d, want 200 naming %q", path, p.status, w)
			}
		}
	}
	if p := b.get("/console/environments/dev-web"); strings.Contains(p.body, h.dev.AccessKeyID) {
		t.Errorf("dev-web's history names the dev key, which started nothing there")
	}
	// The API's Deployment has no such member.
	var answer json.RawMessage
	h.call("GetDeployment", api.GetDeploymentInput{Id: id}, &answer)
	if raw := string(answer); raw == "" || strings.Contains(raw, h.admin.AccessKeyID) || strings.Contains(strings.ToLower(raw), "started") {
		t.Errorf("GetDeployment's answer carries the starter: %s", raw)
	}
}

// The cancel form carries the deployment the person saw: when that
// deployment has ended and a new one of the same resource has started by
// the time the form arrives, nothing is cancelled, and the page says the
// deployment had already ended.
func TestACancelOfAnEndedDeploymentLeavesTheNewOneRunning(t *testing.T) {
	t.Parallel()
	h := setup(t, false)
	h.template("net", "slow.tgz", "")
	first := h.running("dev-web")
	b := h.browser()
	b.signIn(h.admin)
	dep := b.get("/console/deployments/" + first)
	if !strings.Contains(dep.body, `class="cancel"`) {
		t.Fatalf("the deployment page has no cancel form:\n%s", dep.body)
	}
	token := csrfField.FindStringSubmatch(dep.body)[1]

	// Between the page and the click: the deployment ends (cancelled
	// through the API) and a new one of the same environment starts.
	h.call("CancelEnvironmentDeployment", api.CancelEnvironmentDeploymentInput{EnvironmentName: "dev-web"}, nil)
	hadrontest.Eventually(t, 20*time.Second, "the first deployment to end", func() (bool, string) {
		s := h.status(first)
		return s == "CANCELLED", s
	})
	var up api.UpdateEnvironmentOutput
	h.call("UpdateEnvironment", api.UpdateEnvironmentInput{Name: "dev-web", DeploymentType: "CURRENT_VERSION",
		Spec: "proton: EnvironmentSpec\nspec:\n  seconds: 60\n"}, &up)
	second := up.Environment.LastAttemptedDeploymentId
	if second == "" || second == first {
		t.Fatalf("the update started deployment %q", second)
	}

	p := b.post("/console/deployments/"+first+"/cancel?environment=dev-web", url.Values{"csrf": {token}, "confirmed": {"yes"}})
	if want := "/console/deployments/" + first + "?environment=dev-web&ended=1"; p.status != http.StatusSeeOther || p.header.Get("Location") != want {
		t.Fatalf("cancel: %d to %q, want 303 to %s: %s", p.status, p.header.Get("Location"), want, p.body)
	}
	if s := h.status(second); s != "IN_PROGRESS" {
		t.Errorf("the new deployment is %s after the stale cancel, want IN_PROGRESS", s)
	}
	if page := b.get(p.header.Get("Location")); !strings.Contains(page.body, "already ended CANCELLED") {
		t.Errorf("the page does not say the deployment had already ended CANCELLED:\n%s", page.body)
	}
	// The new deployment's own page still cancels it.
	dep = b.get("/console/deployments/" + second)
	token = csrfField.FindStringSubmatch(dep.body)[1]
	if p := b.post("/console/deployments/"+second+"/cancel?environment=dev-web", url.Values{"csrf": {token}, "confirmed": {"yes"}}); p.status != http.StatusSeeOther || strings.Contains(p.header.Get("Location"), "ended=1") {
		t.Fatalf("cancel of the new deployment: %d to %q", p.status, p.header.Get("Location"))
	}
	hadrontest.Eventually(t, 20*time.Second, "the new deployment to end CANCELLED", func() (bool, string) {
		s := h.status(second)
		return s == "CANCELLED", s
	})
}

// Sessions are the database's: a sign-in on one node holds on another
// sharing the database (and after a restart, which is the same thing), a
// sign-out on one ends it on both, and disabling the key ends every
// session of it at the next request.
func TestSessionsHoldAcrossNodesAndEndWithTheirKey(t *testing.T) {
	t.Parallel()
	for _, backend := range []struct {
		name string
		open func(t *testing.T, dir string) store.Store
	}{
		{"sqlite", nil},
		{"postgres", func(t *testing.T, dir string) store.Store {
			st, err := postgres.Open(context.Background(), postgresURL(t, dir))
			if err != nil {
				t.Fatal(err)
			}
			return st
		}},
	} {
		t.Run(backend.name, func(t *testing.T) {
			t.Parallel()
			if backend.name == "postgres" {
				pgtest.URL(t) // skips without a PostgreSQL
			}
			nodes := setupNodes(t, false, 2, backend.open)
			a, other := nodes[0], nodes[1]
			b := a.browser()
			b.signIn(a.reader)
			// The same browser, sent to the other node (cookies are kept
			// per host, not per port).
			onOther := &browser{t: t, h: other, http: b.http}
			if p := onOther.get("/console/environments"); p.status != http.StatusOK {
				t.Fatalf("the other node: %d, want 200 with the sign-in of the first", p.status)
			}
			// A second session of the same key, which the disable must end too.
			c := a.browser()
			c.signIn(a.reader)
			if err := a.keys.SetDisabled(a.reader.AccessKeyID, true); err != nil {
				t.Fatal(err)
			}
			hadrontest.Eventually(t, 5*time.Second, "the disabled key's session to end on the other node", func() (bool, string) {
				p := onOther.get("/console/environments")
				return p.status == http.StatusSeeOther, p.header.Get("Location")
			})
			// Ended in the database, not only on that node: the key's other
			// session is gone even after the key is enabled again.
			if err := a.keys.SetDisabled(a.reader.AccessKeyID, false); err != nil {
				t.Fatal(err)
			}
			hadrontest.Eventually(t, 5*time.Second, "the keyring to see the key enabled", func() (bool, string) {
				d := a.browser()
				p := d.post("/console/signin", url.Values{"accessKeyId": {a.reader.AccessKeyID}, "secretAccessKey": {a.reader.SecretAccessKey}, "next": {"/console/environments"}})
				return p.status == http.StatusSeeOther, p.header.Get("Location")
			})
			if p := c.get("/console/environments"); p.status != http.StatusSeeOther {
				t.Errorf("the key's other session: %d after the disable, want a redirect to sign in", p.status)
			}
		})
	}
}

// postgresURL is a schema of the test's own, one per data directory
// (the nodes of a test share it).
func postgresURL(t *testing.T, dir string) string {
	t.Helper()
	pgMu.Lock()
	defer pgMu.Unlock()
	if u, ok := pgDatabases[dir]; ok {
		return u
	}
	u := pgtest.Schema(t)
	pgDatabases[dir] = u
	return u
}

var (
	pgMu        sync.Mutex
	pgDatabases = map[string]string{}
)
