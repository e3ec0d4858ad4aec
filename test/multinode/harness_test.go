package multinode

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hadronhq/hadron/internal/store/postgres/pgtest"
)

// Settings of the nodes.
const (
	// lease is each node's --lease: short, so that the crash test is quick.
	lease        = 3 * time.Second
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
	hadronBin = filepath.Join(dir, "hadron")
	build := exec.Command("go", "build", "-o", hadronBin, "./cmd/hadron")
	build.Dir = "../.."
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "multinode: go build ./cmd/hadron: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// cluster is three nodes on one new database, with the template "runs"
// registered and published, and a record file every run appends to.
type cluster struct {
	nodes  []*node
	record string
}

// setup starts a cluster of n nodes for t.
func setup(t *testing.T, n int) *cluster {
	t.Helper()
	db := pgtest.Database(t)
	dir := t.TempDir()
	bundles := filepath.Join(dir, "bundles")
	c := &cluster{record: filepath.Join(dir, "runs.log")}
	if err := os.WriteFile(c.record, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	putBundle(t, filepath.Join(bundles, bundleBucket, "runs.tar.gz"))
	// Start the nodes at once: their migrations race, and the advisory lock settles it.
	c.nodes = make([]*node, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { c.nodes[i] = startNode(t, i, db, filepath.Join(dir, fmt.Sprintf("node%d", i)), bundles) })
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

// node is one running hadron serve process.
type node struct {
	name     string
	dataDir  string
	endpoint string
	cmd      *exec.Cmd
	log      *syncBuffer
	done     chan struct{}
	hc       *http.Client
}

var listeningRE = regexp.MustCompile(`listening on (http://[0-9.:]+)`)

// startNode starts hadron serve on a free loopback port. At the test's end it
// gets SIGTERM (unless the test killed it) and its log is shown if the test failed.
func startNode(t *testing.T, i int, db, dataDir, bundles string) *node {
	t.Helper()
	nd := &node{name: fmt.Sprintf("node%d", i), dataDir: dataDir, log: &syncBuffer{}, done: make(chan struct{}),
		hc: &http.Client{Timeout: 30 * time.Second}}
	nd.cmd = exec.Command(hadronBin, "serve", "--listen", "127.0.0.1:0", "--data-dir", dataDir, "--bundle-dir", bundles,
		"--database-url", db, "--lease", lease.String(), "--workers", workers, "--cancel-grace", cancelGrace,
		"--log-level", "debug", "--auth", "none")
	nd.cmd.Env = withoutPrefix(os.Environ(), "HADRON_")
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Error(err)
		return nil
	}
	nd.cmd.Stdout, nd.cmd.Stderr = pw, pw
	if err := nd.cmd.Start(); err != nil {
		t.Errorf("start %s: %v", hadronBin, err)
		return nil
	}
	pw.Close()
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			nd.log.WriteLine(line)
			if m := listeningRE.FindStringSubmatch(line); m != nil {
				select {
				case found <- m[1]:
				default:
				}
			}
		}
		pr.Close()
	}()
	go func() {
		nd.cmd.Wait()
		close(nd.done)
	}()
	t.Cleanup(func() {
		nd.stop()
		if t.Failed() {
			t.Logf("log of %s:\n%s", nd.name, nd.log.String())
		}
	})
	select {
	case nd.endpoint = <-found:
		return nd
	case <-nd.done:
		t.Errorf("%s exited at start-up:\n%s", nd.name, nd.log.String())
	case <-time.After(startTimeout):
		t.Errorf("%s did not listen within %s:\n%s", nd.name, startTimeout, nd.log.String())
	}
	return nil
}

// stop ends the node with SIGTERM, or SIGKILL when it does not exit in time.
func (nd *node) stop() {
	select {
	case <-nd.done:
		return
	default:
	}
	nd.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-nd.done:
	case <-time.After(stopTimeout):
		nd.cmd.Process.Kill()
		<-nd.done
	}
}

// kill ends the node with SIGKILL, as a crash would, and waits for it.
func (nd *node) kill(t *testing.T) {
	t.Helper()
	if err := nd.cmd.Process.Kill(); err != nil {
		t.Fatalf("kill %s: %v", nd.name, err)
	}
	<-nd.done
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
type apiError struct {
	Status  int
	Type    string `json:"__type"`
	Message string `json:"message"`
}

func (e *apiError) Error() string {
	return fmt.Sprintf("%s (HTTP %d): %s", e.Type, e.Status, e.Message)
}

// call sends op to the node as AWS JSON 1.0 and decodes the answer into out
// (when not nil); an error answer is an *apiError.
func (nd *node) call(ctx context.Context, op string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, nd.endpoint+"/", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	req.Header.Set("X-Amz-Target", "AwsProton20200720."+op)
	resp, err := nd.hc.Do(req)
	if err != nil {
		return fmt.Errorf("%s on %s: %w", op, nd.name, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s on %s: %w", op, nd.name, err)
	}
	if resp.StatusCode != http.StatusOK {
		e := &apiError{Status: resp.StatusCode}
		if err := json.Unmarshal(raw, e); err != nil {
			return fmt.Errorf("%s on %s: HTTP %d: %s", op, nd.name, resp.StatusCode, raw)
		}
		return e
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("%s on %s: decode answer: %w", op, nd.name, err)
	}
	return nil
}

// environment is the part of an Environment the tests read.
type environment struct {
	Name                      string `json:"name"`
	DeploymentStatus          string `json:"deploymentStatus"`
	DeploymentStatusMessage   string `json:"deploymentStatusMessage"`
	LastAttemptedDeploymentID string `json:"lastAttemptedDeploymentId"`
}

type environmentOutput struct {
	Environment environment `json:"environment"`
}

type deploymentOutput struct {
	Deployment struct {
		ID                      string `json:"id"`
		DeploymentStatus        string `json:"deploymentStatus"`
		DeploymentStatusMessage string `json:"deploymentStatusMessage"`
	} `json:"deployment"`
}

// spec is an environment spec of the given mode that records runs in the
// cluster's record file.
func (c *cluster) spec(mode string) string {
	return fmt.Sprintf("proton: EnvironmentSpec\nspec:\n  mode: %q\n  record: %q\n", mode, c.record)
}

// createEnvironment creates an environment through nd and returns its first
// deployment's id.
func (c *cluster) createEnvironment(ctx context.Context, nd *node, name, mode string) (string, error) {
	var out environmentOutput
	err := nd.call(ctx, "CreateEnvironment", map[string]any{
		"name": name, "templateName": templateName, "templateMajorVersion": "1",
		"codebuildRoleArn": codebuildArn, "spec": c.spec(mode),
	}, &out)
	return out.Environment.LastAttemptedDeploymentID, err
}

// update starts a deployment of environment name in mode through nd.
func (c *cluster) update(ctx context.Context, nd *node, name, mode string) (string, error) {
	var out environmentOutput
	err := nd.call(ctx, "UpdateEnvironment", map[string]any{
		"name": name, "deploymentType": "CURRENT_VERSION", "spec": c.spec(mode),
	}, &out)
	return out.Environment.LastAttemptedDeploymentID, err
}

// waitEnded polls deployment id through nd until it is no longer active and
// returns it.
func waitEnded(t *testing.T, nd *node, id string, timeout time.Duration) deploymentOutput {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		var out deploymentOutput
		if err := nd.call(t.Context(), "GetDeployment", map[string]any{"id": id}, &out); err != nil {
			t.Fatalf("get deployment %s: %v", id, err)
		}
		switch out.Deployment.DeploymentStatus {
		case "IN_PROGRESS", "CANCELLING", "DELETE_IN_PROGRESS":
		default:
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("deployment %s still %s after %s", id, out.Deployment.DeploymentStatus, timeout)
		}
		time.Sleep(pollEvery)
	}
}

// runner waits until one of the nodes runs deployment id and returns it.
func (c *cluster) runner(t *testing.T, id string) *node {
	t.Helper()
	deadline := time.Now().Add(deployTimeout)
	for time.Now().Before(deadline) {
		for _, nd := range c.nodes {
			if nd.runs(id) && c.recorded(t)[id] > 0 {
				return nd
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no node runs deployment %s", id)
	return nil
}

// recorded counts the runs of each deployment in the record file.
func (c *cluster) recorded(t *testing.T) map[string]int {
	t.Helper()
	raw, err := os.ReadFile(c.record)
	if err != nil {
		t.Fatal(err)
	}
	runs := map[string]int{}
	for line := range strings.Lines(string(raw)) {
		if line = strings.TrimSpace(line); line != "" {
			runs[line]++
		}
	}
	return runs
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
	deadline := time.Now().Add(startTimeout)
	for v.EnvironmentTemplateVersion.Status == "REGISTRATION_IN_PROGRESS" && time.Now().Before(deadline) {
		time.Sleep(pollEvery)
		if err := nd.call(ctx, "GetEnvironmentTemplateVersion", map[string]any{
			"templateName": templateName, "majorVersion": "1", "minorVersion": "0",
		}, &v); err != nil {
			t.Fatal(err)
		}
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

// putBundle packs testdata/bundle as a gzipped tarball at dst.
func putBundle(t *testing.T, dst string) {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	if err := tw.AddFS(os.DirFS("testdata/bundle")); err != nil {
		t.Fatal(err)
	}
	if err := errors.Join(tw.Close(), zw.Close()); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

func withoutPrefix(env []string, prefix string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, prefix) {
			out = append(out, kv)
		}
	}
	return out
}

// syncBuffer is a node's log, written by one goroutine and read by the test.
type syncBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *syncBuffer) WriteLine(line string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf.WriteString(line)
	b.buf.WriteByte('\n')
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
