package multinode

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hadronhq/hadron/internal/hadrontest"
)

// syncSecret is the webhook secret every node of the sync test reads.
const syncSecret = "shared-with-the-forge"

// A branch watched by template sync is synced by one node of three, and a
// webhook reaching any node has the node holding the branch sync it at
// once (the trigger travels through PostgreSQL). The poll is an hour, so
// every version here comes from a webhook.
func TestTemplateSyncRunsOnceAcrossNodesAndAnyNodeTakesTheWebhook(t *testing.T) {
	c, work := syncCluster(t, 3, "1h")
	pushBundle(t, work, "one")
	c.webhook(t, c.nodes[0])
	c.awaitVersions(t, 30*time.Second, "1.0")
	holders := c.syncingNodes()
	if len(holders) != 1 {
		t.Fatalf("nodes that registered 1.0: %s, want one", names(holders))
	}
	holder := holders[0]

	// The next webhook reaches a node that does not hold the branch.
	other := c.nodes[0]
	if other == holder {
		other = c.nodes[1]
	}
	pushBundle(t, work, "two")
	c.webhook(t, other)
	c.awaitVersions(t, 30*time.Second, "1.0", "1.1")
	if got := c.syncingNodes(); len(got) != 1 || got[0] != holder {
		t.Errorf("nodes that registered versions: %s, want only %s", names(got), holder.name)
	}
	if n := strings.Count(holder.Log(), "template sync registered a version"); n != 2 {
		t.Errorf("%s registered %d versions, want 2 (one per commit)", holder.name, n)
	}
}

// When the node holding a branch crashes, another takes the branch over
// once the lease expires (max(3 × --sync-interval, 30 s)) and syncs what
// was pushed meanwhile.
func TestTemplateSyncOfACrashedNodeIsTakenOverByAnother(t *testing.T) {
	c, work := syncCluster(t, 2, "2s")
	pushBundle(t, work, "one")
	c.awaitVersions(t, 60*time.Second, "1.0")
	holders := c.syncingNodes()
	if len(holders) != 1 {
		t.Fatalf("nodes that registered 1.0: %s, want one", names(holders))
	}
	holders[0].kill(t)
	killed := time.Now()
	pushBundle(t, work, "two")
	c.awaitVersions(t, 90*time.Second, "1.0", "1.1")
	t.Logf("version registered %s after the holder was killed", time.Since(killed).Round(time.Second))
	if got := c.syncingNodes(); len(got) != 2 {
		t.Errorf("nodes that registered versions: %s, want the killed one and one other", names(got))
	}
}

// syncCluster starts n nodes polling every interval, with a bare
// repository acme/templates linked, the environment template "synced" and
// its template sync config on main; it returns the cluster and a clone of
// the repository to push from.
func syncCluster(t *testing.T, n int, interval string) (*cluster, string) {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("the git CLI is needed to build the test repository")
	}
	repos := t.TempDir()
	bare := filepath.Join(repos, "acme", "templates.git")
	work := t.TempDir()
	git(t, repos, "init", "-q", "--bare", "-b", "main", bare)
	git(t, work, "clone", "-q", bare, ".")
	git(t, work, "checkout", "-q", "-b", "main")
	secretFile := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(secretFile, []byte(syncSecret), 0o600); err != nil {
		t.Fatal(err)
	}
	c := setup(t, n, "--repository-url", "GITHUB=file://"+repos+"/{name}.git", "--sync-interval", interval,
		"--sync-webhook-secret-file", secretFile)
	for _, call := range []struct {
		op string
		in map[string]any
	}{
		{"CreateRepository", map[string]any{"provider": "GITHUB", "name": "acme/templates",
			"connectionArn": "arn:aws:codestar-connections:us-east-1:000000000000:connection/c1"}},
		{"CreateEnvironmentTemplate", map[string]any{"name": "synced"}},
		{"CreateTemplateSyncConfig", map[string]any{"templateName": "synced", "templateType": "ENVIRONMENT",
			"repositoryProvider": "GITHUB", "repositoryName": "acme/templates", "branch": "main"}},
	} {
		if err := c.nodes[0].call(t.Context(), call.op, call.in, nil); err != nil {
			t.Fatal(err)
		}
	}
	return c, work
}

// syncingNodes lists the nodes whose log says they registered a version.
func (c *cluster) syncingNodes() []*node {
	var out []*node
	for _, nd := range c.nodes {
		if strings.Contains(nd.Log(), "template sync registered a version") {
			out = append(out, nd)
		}
	}
	return out
}

// awaitVersions waits until template "synced" has exactly the versions want
// (major.minor), as the first node alive answers.
func (c *cluster) awaitVersions(t *testing.T, timeout time.Duration, want ...string) {
	t.Helper()
	err := hadrontest.Wait(t.Context(), pollEvery, timeout, "versions "+strings.Join(want, ", "), func() (bool, string, error) {
		var out struct {
			TemplateVersions []struct{ MajorVersion, MinorVersion string }
		}
		if err := c.alive().call(t.Context(), "ListEnvironmentTemplateVersions", map[string]any{"templateName": "synced"}, &out); err != nil {
			return false, "", err
		}
		var got []string
		for _, v := range out.TemplateVersions {
			got = append(got, v.MajorVersion+"."+v.MinorVersion)
		}
		return strings.Join(got, ",") == strings.Join(want, ","), strings.Join(got, ","), nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// names lists the nodes' names.
func names(list []*node) string {
	var out []string
	for _, nd := range list {
		out = append(out, nd.name)
	}
	return "[" + strings.Join(out, " ") + "]"
}

// alive returns the first node still running.
func (c *cluster) alive() *node {
	for _, nd := range c.nodes {
		if !nd.Exited() {
			return nd
		}
	}
	return c.nodes[0]
}

// webhook posts a GitHub push event of acme/templates to nd, signed with
// the nodes' secret.
func (c *cluster) webhook(t *testing.T, nd *node) {
	t.Helper()
	code, err := hadrontest.PushWebhook(t.Context(), nd.Endpoint, syncSecret, "acme/templates")
	if err != nil {
		t.Fatal(err)
	}
	if code != http.StatusAccepted {
		t.Fatalf("webhook on %s answered %d, want 202", nd.name, code)
	}
}

// pushBundle commits an environment template major whose schema's default
// is rev to synced/v1/ in the clone at work and pushes it.
func pushBundle(t *testing.T, work, rev string) {
	t.Helper()
	files := map[string]string{
		"synced/v1/schema/schema.yaml": "schema:\n  format:\n    openapi: \"3.0.0\"\n  environment_input_type: \"In\"\n  types:\n    In:\n" +
			"      type: object\n      properties:\n        rev:\n          type: string\n          default: \"" + rev + "\"\n",
		"synced/v1/infrastructure/manifest.yaml": "infrastructure:\n  templates:\n    - rendering_engine: codebuild\n      settings:\n" +
			"        provision:\n          - echo provisioning\n        deprovision:\n          - echo deprovisioning\n",
	}
	for name, data := range files {
		p := filepath.Join(work, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	git(t, work, "add", "-A")
	git(t, work, "commit", "-q", "-m", "synced "+rev)
	git(t, work, "push", "-q", "origin", "main")
}

// git runs the git CLI in dir with a fixed identity.
func git(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@t")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}
