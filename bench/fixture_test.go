package bench

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/hadronhq/hadron/internal/provision"
	"github.com/hadronhq/hadron/internal/provision/codebuild"
	"github.com/hadronhq/hadron/internal/provision/customermanaged"
	"github.com/hadronhq/hadron/internal/runcreds"
	"github.com/hadronhq/hadron/internal/server"
	"github.com/hadronhq/hadron/internal/store/sqlite"

	"github.com/hadronhq/hadron/internal/api"
	"github.com/hadronhq/hadron/internal/hadrontest"
)

// Settings of the benchmark's servers.
const (
	bundleBucket = "bench"
	codebuildArn = "arn:aws:iam::000000000000:role/hadron-codebuild"
	// cancelGrace is the server's SIGTERM to SIGKILL grace; the benchmark's
	// command exits on SIGTERM, so a cancel never waits for it.
	cancelGrace = 5 * time.Second
	// setupTimeout bounds one wait of the set-up (a registration, a deployment).
	setupTimeout = 60 * time.Second
)

// commandStart is one provisioning command's start, as OnCommandStart saw it.
type commandStart struct {
	pid int
	at  time.Time
}

// hadron is a real Hadron served over HTTP on a loopback port, with its data
// (SQLite file, logs, work directories, bundles) in a temporary directory.
type hadron struct {
	dataDir  string
	endpoint string
	srv      *server.Server
	httpSrv  *http.Server
	c        *client
	// starts receives every provisioning command's start; a full channel
	// drops starts rather than slow the engine.
	starts chan commandStart
	// onClose runs before the server stops (servers started beside it).
	onClose  []func()
	stopOnce sync.Once
}

// startHadron starts a server with its data in a new temporary directory
// under parent ("" for the default temporary directory).
func startHadron(name, parent string) (*hadron, error) {
	dir, err := os.MkdirTemp(parent, "hadron-bench-"+name+"-")
	if err != nil {
		return nil, err
	}
	return startHadronIn(name, dir)
}

// engines registers the engines a benchmark server runs, as cmd/hadron does;
// onStart, when set, sees each provisioning command start.
func engines(cancelGrace time.Duration, endpoint string, onStart func(pid int)) *provision.Registry {
	r := provision.NewRegistry()
	creds, err := runCredentials()
	if err != nil {
		panic(fmt.Sprintf("bench: credentials endpoint: %v", err))
	}
	r.Register(codebuild.Name, &codebuild.Engine{Grace: cancelGrace, OnStart: onStart, Credentials: creds, Supervisor: supervisor,
		Env: map[string]string{"HADRON_ENDPOINT": endpoint, "AWS_ENDPOINT_URL_PROTON": endpoint,
			"AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1"}})
	r.Register(customermanaged.Name, customermanaged.Engine{})
	return r
}

// runCredentials is the credentials endpoint of the benchmark servers' runs
// (one per process, as in hadron serve): without AWS access it mints
// credentials for each run, the cost the dispatch benchmarks include.
var runCredentials = sync.OnceValues(func() (*runcreds.Server, error) {
	return runcreds.Listen(runcreds.Config{})
})

// startHadronIn starts a server on the data directory dir, which it removes
// when it is closed.
func startHadronIn(name, dir string) (*hadron, error) {
	return startHadronWith(name, dir, nil)
}

// startHadronWith starts a server on the data directory dir (removed when it
// is closed) with the benchmarks' configuration, changed by configure when
// it is not nil; the store is the data directory's SQLite file unless
// configure sets another.
func startHadronWith(name, dir string, configure func(*server.Config) error) (*hadron, error) {
	h := &hadron{dataDir: dir, starts: make(chan commandStart, 1024)}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	h.endpoint = "http://" + ln.Addr().String()
	cfg := server.Config{
		DataDir:   dir,
		BundleDir: filepath.Join(dir, "bundles"),
		Region:    "us-east-1",
		AccountID: "000000000000",
		Owner:     "bench/" + name,
		// The component benchmarks deploy directly defined components whose
		// manifests run commands, which serve refuses unless allowed.
		AllowAPICommands: true,
		Engines: engines(cancelGrace, h.endpoint, func(pid int) {
			at := time.Now()
			select {
			case h.starts <- commandStart{pid: pid, at: at}:
			default:
			}
		}),
	}
	if configure != nil {
		err = configure(&cfg)
	}
	if err == nil && cfg.Store == nil {
		cfg.Store, err = sqlite.Open(context.Background(), filepath.Join(dir, server.DatabaseFile))
	}
	if err == nil {
		h.srv, err = server.New(context.Background(), cfg)
	}
	if err != nil {
		ln.Close()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start hadron: %w", err)
	}
	h.httpSrv = &http.Server{Handler: h.srv, ReadHeaderTimeout: 10 * time.Second}
	go h.httpSrv.Serve(ln)
	h.c = newClient(h.endpoint)
	return h, nil
}

// close stops the server and removes its data.
func (h *hadron) close() {
	h.stop()
	os.RemoveAll(h.dataDir)
}

// stop stops the server and leaves its data directory in place. It is safe
// to call twice.
func (h *hadron) stop() {
	h.stopOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for _, f := range h.onClose {
			f()
		}
		h.httpSrv.Shutdown(ctx)
		h.srv.Close()
	})
}

// registerTemplate packs testdata/<bundle> as a gzipped tarball into the
// bundle directory, creates the environment template name (with the given
// provisioning, "" or CUSTOMER_MANAGED), registers version 1.0 and publishes it.
func (h *hadron) registerTemplate(ctx context.Context, name, bundle, provisioning string) error {
	key := bundle + ".tar.gz"
	if err := hadrontest.PutBundle(filepath.Join(h.dataDir, "bundles"), bundleBucket, key, filepath.Join("testdata", bundle)); err != nil {
		return err
	}
	in := map[string]any{"name": name, "displayName": name}
	if provisioning != "" {
		in["provisioning"] = provisioning
	}
	if err := h.c.Call(ctx, "CreateEnvironmentTemplate", in, nil); err != nil {
		return err
	}
	var v api.CreateEnvironmentTemplateVersionOutput
	if err := h.c.Call(ctx, "CreateEnvironmentTemplateVersion", map[string]any{
		"templateName": name,
		"source":       map[string]any{"s3": map[string]string{"bucket": bundleBucket, "key": key}},
	}, &v); err != nil {
		return err
	}
	err := hadrontest.Wait(ctx, 5*time.Millisecond, setupTimeout, "registration of template "+name, func() (bool, string, error) {
		if v.EnvironmentTemplateVersion.Status != "REGISTRATION_IN_PROGRESS" {
			return true, "", nil
		}
		err := h.c.Call(ctx, "GetEnvironmentTemplateVersion", map[string]any{
			"templateName": name, "majorVersion": "1", "minorVersion": "0",
		}, &v)
		return false, v.EnvironmentTemplateVersion.Status, err
	})
	if err != nil {
		return err
	}
	if s := v.EnvironmentTemplateVersion.Status; s != "DRAFT" {
		return fmt.Errorf("template %s: registration ended %s: %s", name, s, v.EnvironmentTemplateVersion.StatusMessage)
	}
	return h.c.Call(ctx, "UpdateEnvironmentTemplateVersion", map[string]any{
		"templateName": name, "majorVersion": "1", "minorVersion": "0", "status": "PUBLISHED",
	}, nil)
}

// waitDeployment polls GetDeployment every pollEvery until deployment id is
// no longer active, and returns its end status and the time the answer that
// showed it arrived. A deployment that ends FAILED or DELETE_FAILED is an error.
func (h *hadron) waitDeployment(ctx context.Context, id string, pollEvery, timeout time.Duration) (string, time.Time, error) {
	d, at, err := h.c.WaitDeployment(ctx, id, pollEvery, timeout)
	if err != nil {
		return "", time.Time{}, err
	}
	if s := d.DeploymentStatus; s == "FAILED" || s == "DELETE_FAILED" {
		return s, at, fmt.Errorf("deployment %s ended %s: %s", id, s, d.DeploymentStatusMessage)
	}
	return d.DeploymentStatus, at, nil
}

// Fixtures are made once per test binary, on first use, and closed by TestMain.

var (
	fixturesMu sync.Mutex
	fixtures   []*hadron
)

// lazy makes a fixture once and remembers its error.
type lazy struct {
	once sync.Once
	h    *hadron
	err  error
}

func (l *lazy) get(make func() (*hadron, error)) (*hadron, error) {
	l.once.Do(func() {
		l.h, l.err = make()
		if l.h != nil {
			fixturesMu.Lock()
			fixtures = append(fixtures, l.h)
			fixturesMu.Unlock()
		}
	})
	return l.h, l.err
}

func closeFixtures() {
	fixturesMu.Lock()
	defer fixturesMu.Unlock()
	for _, h := range fixtures {
		h.close()
	}
	fixtures = nil
}

// envName is the name of the i-th environment of a set.
func envName(prefix string, i int) string { return fmt.Sprintf("%s-%05d", prefix, i) }

// yamlSpec is an environment spec with the given inputs.
func yamlSpec(inputs ...string) string {
	var b strings.Builder
	b.WriteString("proton: EnvironmentSpec\nspec:\n")
	for i := 0; i+1 < len(inputs); i += 2 {
		fmt.Fprintf(&b, "  %s: %q\n", inputs[i], inputs[i+1])
	}
	return b.String()
}
