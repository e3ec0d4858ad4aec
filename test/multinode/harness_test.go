package multinode

import (
	"bufio"
	"context"
	"fmt"
	"maps"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hadronhq/hadron/internal/api"
	"github.com/hadronhq/hadron/internal/hadrontest"
	"github.com/hadronhq/hadron/internal/store/postgres/pgtest"
)

// Settings of the nodes.
const (
	// lease is each node's --lease: short, so that the crash tests are quick, and
	// long enough that on a loaded machine (load average 25 on 2 CPUs seen)
	// renewals are not so late that the fence (lease/8 before expiry) stops
	// healthy runs, as it did with 3 s, and with 6 s in CI, where every
	// package's tests run at once on two cores.
	lease        = 10 * time.Second
	workers      = "4"
	cancelGrace  = "2s"
	codebuildArn = "arn:aws:iam::000000000000:role/hadron-codebuild"
	bundleBucket = "templates"
	templateName = "runs"
	// startTimeout bounds a node's start-up, stopTimeout its exit after SIGTERM.
	startTimeout = 30 * time.Second
	stopTimeout  = 30 * time.Second
	// deployTimeout bounds a wait for deployments to end.
	deployTimeout = 2 * time.Minute
	pollEvery     = 50 * time.Millisecond
)

var hadronBin string

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	if os.Getenv(pgtest.EnvURL) == "" {
		if os.Getenv("HADRON_E2E_REQUIRE") == "1" {
			fmt.Fprintf(os.Stderr, "multinode: HADRON_E2E_REQUIRE=1 but %s is not set\n", pgtest.EnvURL)
			return 1
		}
		// The tests skip themselves, saying why.
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "hadron-multinode-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "multinode:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	if hadronBin, err = hadrontest.Build(dir); err != nil {
		fmt.Fprintln(os.Stderr, "multinode:", err)
		return 1
	}
	return m.Run()
}

// cluster is three nodes on one new database, with the template "runs"
// registered and published, and a recorder every run reports to.
type cluster struct {
	nodes    []*node
	recorder *recorder
}

// setup starts a cluster of n nodes for t; every node gets the flags of
// extra besides the cluster's own.
func setup(t *testing.T, n int, extra ...string) *cluster {
	t.Helper()
	db := pgtest.Database(t)
	dir := t.TempDir()
	bundles := filepath.Join(dir, "bundles")
	c := &cluster{recorder: startRecorder(t)}
	if err := hadrontest.PutBundle(bundles, bundleBucket, "runs.tar.gz", "testdata/bundle"); err != nil {
		t.Fatal(err)
	}
	// Start the nodes at once: their migrations race, and the advisory lock settles it.
	c.nodes = make([]*node, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			c.nodes[i] = startNode(t, i, db, filepath.Join(dir, fmt.Sprintf("node%d", i)), bundles, extra...)
		})
	}
	wg.Wait()
	for _, nd := range c.nodes {
		if nd == nil {
			t.FailNow()
		}
	}
	c.registerTemplate(t)
	return c
}

// node is one running hadron serve process and a client for it.
type node struct {
	*hadrontest.Process
	name    string
	dataDir string
	client  hadrontest.Client
}

// startNode starts hadron serve on a free loopback port. At the test's end it
// gets SIGTERM (unless the test killed it) and its log is shown if the test
// failed. It reports a failure with t.Errorf (it runs beside other starts)
// and returns nil then.
func startNode(t *testing.T, i int, db, dataDir, bundles string, extra ...string) *node {
	t.Helper()
	name := fmt.Sprintf("node%d", i)
	// Runs report to the cluster's recorder over loopback TCP, which an
	// isolated run could reach too. Still --isolation off: with isolation
	// each run costs more CPU, and in CI (every package's tests at once on
	// two cores) lease renewals came so late that the fence stopped healthy
	// runs (exit 137). Isolation itself is tested in codebuild and test/e2e.
	p, err := hadrontest.Start(hadronBin, append([]string{"serve", "--listen", "127.0.0.1:0", "--data-dir", dataDir, "--bundle-dir", bundles,
		"--database-url", db, "--lease", lease.String(), "--workers", workers, "--cancel-grace", cancelGrace,
		"--log-level", "debug", "--auth", "none", "--isolation", "off"}, extra...), startTimeout)
	if err != nil {
		t.Errorf("%s: %v", name, err)
		return nil
	}
	nd := &node{Process: p, name: name, dataDir: dataDir, client: hadrontest.Client{Endpoint: p.Endpoint}}
	t.Cleanup(func() {
		// SIGTERM, or SIGKILL when it does not exit in time.
		nd.Terminate(stopTimeout)
		if t.Failed() {
			t.Logf("log of %s:\n%s", nd.name, nd.Log())
		}
	})
	return nd
}

// kill ends the node with SIGKILL, as a crash would, and waits for it.
func (nd *node) kill(t *testing.T) {
	t.Helper()
	if err := nd.Kill(); err != nil {
		t.Fatalf("kill %s: %v", nd.name, err)
	}
}

// runs reports whether the node runs deployment id now: its working directory exists.
func (nd *node) runs(id string) bool {
	_, err := os.Stat(filepath.Join(nd.dataDir, "work", id))
	return err == nil
}

// ran reports whether the node ran deployment id: it keeps the run's log.
func (nd *node) ran(id string) bool {
	_, err := os.Stat(filepath.Join(nd.dataDir, "logs", id+".log"))
	return err == nil
}

// apiError is an error answer of the API.
type apiError = hadrontest.APIError

// call sends op to the node as AWS JSON 1.0 and decodes the answer into out
// (when not nil); an error answer is an *apiError.
func (nd *node) call(ctx context.Context, op string, in, out any) error {
	if err := nd.client.Call(ctx, op, in, out); err != nil {
		return fmt.Errorf("on %s: %w", nd.name, err)
	}
	return nil
}

// spec is an environment spec of the given mode whose runs report to the
// cluster's recorder.
func (c *cluster) spec(mode string) string {
	return fmt.Sprintf("proton: EnvironmentSpec\nspec:\n  mode: %q\n  record: %q\n", mode, c.recorder.addr)
}

// createEnvironment creates an environment through nd and returns its first
// deployment's id.
func (c *cluster) createEnvironment(ctx context.Context, nd *node, name, mode string) (string, error) {
	var out api.CreateEnvironmentOutput
	err := nd.call(ctx, "CreateEnvironment", map[string]any{
		"name": name, "templateName": templateName, "templateMajorVersion": "1",
		"codebuildRoleArn": codebuildArn, "spec": c.spec(mode),
	}, &out)
	return out.Environment.LastAttemptedDeploymentId, err
}

// update starts a deployment of environment name in mode through nd.
func (c *cluster) update(ctx context.Context, nd *node, name, mode string) (string, error) {
	var out api.UpdateEnvironmentOutput
	err := nd.call(ctx, "UpdateEnvironment", map[string]any{
		"name": name, "deploymentType": "CURRENT_VERSION", "spec": c.spec(mode),
	}, &out)
	return out.Environment.LastAttemptedDeploymentId, err
}

// waitEnded polls deployment id through nd until it is no longer active and
// returns it.
func waitEnded(t *testing.T, nd *node, id string, timeout time.Duration) *api.Deployment {
	t.Helper()
	d, _, err := nd.client.WaitDeployment(t.Context(), id, pollEvery, timeout)
	if err != nil {
		t.Fatalf("on %s: %v", nd.name, err)
	}
	return d
}

// runner waits until one of the nodes runs deployment id and returns it.
func (c *cluster) runner(t *testing.T, id string) *node {
	t.Helper()
	var runner *node
	hadrontest.Eventually(t, deployTimeout, "a node to run deployment "+id, func() (bool, string) {
		for _, nd := range c.nodes {
			if nd.runs(id) && c.recorded(t)[id] > 0 {
				runner = nd
				return true, ""
			}
		}
		return false, "no node runs it"
	})
	return runner
}

// recorded counts the runs of each deployment the recorder heard of.
func (c *cluster) recorded(t *testing.T) map[string]int {
	t.Helper()
	return c.recorder.runs()
}

// recorder counts runs: every run of the bundle connects to it and sends its
// deployment id (the name of its working directory) on one line. Counting in
// the test process rather than in a file lets the nodes keep their default
// isolation, under which a run writes only its own working directory.
type recorder struct {
	addr string
	mu   sync.Mutex
	seen map[string]int
}

// startRecorder listens on a loopback port until t ends.
func startRecorder(t *testing.T) *recorder {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &recorder{addr: ln.Addr().String(), seen: map[string]int{}}
	done := make(chan struct{})
	t.Cleanup(func() { ln.Close(); <-done })
	go func() {
		defer close(done)
		var wg sync.WaitGroup
		defer wg.Wait()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer conn.Close()
				conn.SetReadDeadline(time.Now().Add(10 * time.Second))
				line, err := bufio.NewReader(conn).ReadString('\n')
				if id := strings.TrimSpace(line); id != "" && err == nil {
					r.mu.Lock()
					r.seen[id]++
					r.mu.Unlock()
				}
			})
		}
	}()
	return r
}

// runs returns a copy of the counts.
func (r *recorder) runs() map[string]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return maps.Clone(r.seen)
}

// registerTemplate creates the template "runs" through the first node,
// registers version 1.0 from the bundle and publishes it.
func (c *cluster) registerTemplate(t *testing.T) {
	t.Helper()
	ctx := t.Context()
	nd := c.nodes[0]
	if err := nd.call(ctx, "CreateEnvironmentTemplate", map[string]any{"name": templateName}, nil); err != nil {
		t.Fatal(err)
	}
	type version struct {
		Status        string `json:"status"`
		StatusMessage string `json:"statusMessage"`
	}
	var v struct {
		EnvironmentTemplateVersion version `json:"environmentTemplateVersion"`
	}
	if err := nd.call(ctx, "CreateEnvironmentTemplateVersion", map[string]any{
		"templateName": templateName,
		"source":       map[string]any{"s3": map[string]string{"bucket": bundleBucket, "key": "runs.tar.gz"}},
	}, &v); err != nil {
		t.Fatal(err)
	}
	err := hadrontest.Wait(ctx, pollEvery, startTimeout, "registration of "+templateName, func() (bool, string, error) {
		if v.EnvironmentTemplateVersion.Status != "REGISTRATION_IN_PROGRESS" {
			return true, "", nil
		}
		err := nd.call(ctx, "GetEnvironmentTemplateVersion", map[string]any{
			"templateName": templateName, "majorVersion": "1", "minorVersion": "0",
		}, &v)
		return false, v.EnvironmentTemplateVersion.Status, err
	})
	if err != nil {
		t.Fatal(err)
	}
	if s := v.EnvironmentTemplateVersion.Status; s != "DRAFT" {
		t.Fatalf("registration ended %s: %s", s, v.EnvironmentTemplateVersion.StatusMessage)
	}
	if err := nd.call(ctx, "UpdateEnvironmentTemplateVersion", map[string]any{
		"templateName": templateName, "majorVersion": "1", "minorVersion": "0", "status": "PUBLISHED",
	}, nil); err != nil {
		t.Fatal(err)
	}
}
