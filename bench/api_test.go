package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hadronhq/hadron/internal/server"

	"github.com/hadronhq/hadron/internal/api"
	"github.com/hadronhq/hadron/internal/hadrontest"
)

const (
	// cmTemplate is the customer-managed template of the API benchmarks.
	cmTemplate = "bench-customer-managed"
	// apiEnvPrefix names the API benchmarks' environments: api-00000, ...
	apiEnvPrefix = "api"
	// createClients is how many clients create the environments at once.
	createClients = 16
	// warmUp precedes each side of a throughput cell and is not measured.
	warmUp = 300 * time.Millisecond
	// cellRound is how long one side of a cell runs before the other takes over.
	cellRound = 500 * time.Millisecond
	// getTarget is the least share of the ceiling GetEnvironment should reach.
	getTarget = 0.25
)

// clientCounts are the concurrencies of the throughput cells.
var clientCounts = []int{1, 8, 64}

// apiServers is the Hadron with -envs environments and, beside it, the
// ceiling: a bare net/http handler that decodes each request's JSON and
// encodes, from memory, the value Hadron answered that operation with.
type apiServers struct {
	h       *hadron
	ceiling string // endpoint
	// bodies are the requests sent per operation; answers the ceiling's answers.
	bodies  map[string][][]byte
	answers map[string][]byte
	decoded map[string]any // answers, decoded
}

var (
	apiFixture lazy
	apiOnce    sync.Once
	apiSrv     *apiServers
	apiErr     error
)

func setupAPI() (*apiServers, error) {
	apiOnce.Do(func() {
		var h *hadron
		h, apiErr = apiFixture.get(setupAPIHadron)
		if apiErr != nil {
			return
		}
		apiSrv = newAPIServers(h)
		apiErr = apiSrv.prepare()
	})
	return apiSrv, apiErr
}

// setupAPIHadron creates -envs customer-managed environments through the
// API and returns a server with them, all deployed, whose SQLite file is on
// the ordinary temporary directory's disk.
//
// The environments are created on a server whose data directory is on tmpfs
// (/dev/shm, when there is one): each create is four SQLite commits, and on a
// disk whose fsync takes milliseconds 10,000 of them take minutes. That
// server is then stopped, its database file copied to disk, and the
// benchmarks run against a new server on the copy.
func setupAPIHadron() (*hadron, error) {
	scratch := ""
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		scratch = "/dev/shm"
	}
	build, err := startHadron("api-build", scratch)
	if err != nil {
		return nil, err
	}
	defer build.close()
	if err := createEnvironments(build, *flagEnvs); err != nil {
		return nil, err
	}
	build.stop()
	dir, err := os.MkdirTemp("", "hadron-bench-api-")
	if err != nil {
		return nil, err
	}
	for _, name := range []string{server.DatabaseFile, server.DatabaseFile + "-wal"} {
		if err := copyFile(filepath.Join(build.dataDir, name), filepath.Join(dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	return startHadronIn("api", dir)
}

// createEnvironments registers the customer-managed template and creates n
// environments with createClients clients at once, then waits until every
// one is deployed.
func createEnvironments(h *hadron, n int) error {
	ctx := context.Background()
	if err := h.registerTemplate(ctx, cmTemplate, "customer-managed", "CUSTOMER_MANAGED"); err != nil {
		return err
	}
	begin := time.Now()
	var next atomic.Int64
	errs := make(chan error, createClients)
	var wg sync.WaitGroup
	for range createClients {
		c := newClient(h.endpoint)
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				body, _ := json.Marshal(map[string]string{
					"name": envName(apiEnvPrefix, i), "templateName": cmTemplate, "templateMajorVersion": "1",
					"spec": yamlSpec("vpc_id", fmt.Sprintf("vpc-%08x", i)),
				})
				if _, err := c.Raw(ctx, "CreateEnvironment", body); err != nil {
					errs <- err
					next.Store(int64(n))
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	created := time.Since(begin)
	if err := waitAllSucceeded(ctx, h.c, 250*time.Millisecond, 5*time.Minute); err != nil {
		return fmt.Errorf("%d environments: %w", n, err)
	}
	total := time.Since(begin)
	report.add(fmt.Sprintf("3a. Set-up: %d customer-managed environments created through the API (%d clients, data on %s)", n, createClients, filepath.Dir(h.dataDir)), []string{
		fmt.Sprintf("  CreateEnvironment answered for all: %6.1f s (%.0f creates/s)", created.Seconds(), float64(n)/created.Seconds()),
		fmt.Sprintf("  all deployments SUCCEEDED:          %6.1f s (%.0f environments/s)", total.Seconds(), float64(n)/total.Seconds()),
		"  then the database file was copied to disk and a new server started on the copy",
	})
	return nil
}

// copyFile copies src to dst.
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// waitAllSucceeded asks every `every` until every environment's deployment
// has SUCCEEDED.
func waitAllSucceeded(ctx context.Context, c *client, every, timeout time.Duration) error {
	return hadrontest.Wait(ctx, every, timeout, "every environment to be deployed", func() (bool, string, error) {
		pending, err := countNotSucceeded(ctx, c)
		return pending == 0, fmt.Sprintf("%d environments still not deployed", pending), err
	})
}

// countNotSucceeded pages through ListEnvironments and counts the
// environments whose deployment is not SUCCEEDED.
func countNotSucceeded(ctx context.Context, c *client) (int, error) {
	count, token := 0, ""
	for {
		in := map[string]any{"maxResults": 100}
		if token != "" {
			in["nextToken"] = token
		}
		var out api.ListEnvironmentsOutput
		if err := c.Call(ctx, "ListEnvironments", in, &out); err != nil {
			return 0, err
		}
		for _, e := range out.Environments {
			if e.DeploymentStatus != "SUCCEEDED" {
				count++
			}
		}
		if token = out.NextToken; token == "" {
			return count, nil
		}
	}
}

// newAPIServers returns the measuring set-up of server h, to prepare.
func newAPIServers(h *hadron) *apiServers {
	return &apiServers{h: h, bodies: map[string][][]byte{}, answers: map[string][]byte{}, decoded: map[string]any{}}
}

// prepare builds the request bodies, captures Hadron's answers and starts
// the ceiling server.
func (a *apiServers) prepare() error {
	ctx := context.Background()
	n := *flagEnvs
	for i := range n {
		a.bodies["GetEnvironment"] = append(a.bodies["GetEnvironment"], []byte(`{"name":"`+envName(apiEnvPrefix, i)+`"}`))
	}
	a.bodies["ListEnvironments"] = [][]byte{[]byte(`{"maxResults":100}`)}
	for op, bodies := range a.bodies {
		raw, err := a.h.c.Raw(ctx, op, bodies[len(bodies)/2])
		if err != nil {
			return err
		}
		a.answers[op] = raw
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			return fmt.Errorf("%s answered %s: %w", op, raw, err)
		}
		a.decoded[op] = v
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	a.ceiling = "http://" + ln.Addr().String()
	srv := &http.Server{Handler: http.HandlerFunc(a.serveCeiling), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	a.h.onClose = append(a.h.onClose, func() { srv.Close() })
	return nil
}

// serveCeiling answers like Hadron with the captured bytes: it reads the
// body, sets the same headers and writes the answer of the operation.
func (a *apiServers) serveCeiling(w http.ResponseWriter, r *http.Request) {
	// What any JSON handler does: decode the request, encode the answer
	// (from the decoded value of Hadron's answer, not its bytes).
	var in map[string]any
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	_, op, _ := strings.Cut(r.Header.Get("X-Amz-Target"), ".")
	answer, ok := a.decoded[op]
	if !ok {
		http.Error(w, "unknown operation", http.StatusBadRequest)
		return
	}
	data, err := json.Marshal(answer)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("x-amzn-RequestId", "00000000-0000-4000-8000-000000000000")
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.Header().Set("Content-Length", fmt.Sprint(len(data)))
	w.WriteHeader(http.StatusOK)
	w.Write(data)
}

// loadResult is what one side of a throughput cell measured.
type loadResult struct {
	requests int
	errors   int
	elapsed  time.Duration
	lats     []time.Duration
	lat      summary
}

func (r *loadResult) rate() float64 { return float64(r.requests) / r.elapsed.Seconds() }

// loader sends one operation to one server from a fixed set of clients,
// each with its own keep-alive connection that lasts across runs.
type loader struct {
	endpoint string
	op       string
	bodies   [][]byte
	clients  []*client
	next     []int // per client: index of its next body
}

func newLoader(endpoint, op string, bodies [][]byte, clients int) *loader {
	l := &loader{endpoint: endpoint, op: op, bodies: bodies}
	for g := range clients {
		l.clients = append(l.clients, newClient(endpoint))
		l.next = append(l.next, g*7919)
	}
	return l
}

// run sends requests back to back from every client for d and adds what it
// measured to res (when res is not nil).
func (l *loader) run(d time.Duration, res *loadResult) {
	ctx := context.Background()
	end := time.Now().Add(d)
	lats := make([][]time.Duration, len(l.clients))
	errCounts := make([]int, len(l.clients))
	var wg sync.WaitGroup
	for g, c := range l.clients {
		wg.Go(func() {
			lat := make([]time.Duration, 0, 1024)
			for {
				sent := time.Now()
				if !sent.Before(end) {
					break
				}
				_, err := c.Raw(ctx, l.op, l.bodies[l.next[g]%len(l.bodies)])
				l.next[g] += 104729
				if err != nil {
					errCounts[g]++
					continue
				}
				lat = append(lat, time.Since(sent))
			}
			lats[g] = lat
		})
	}
	wg.Wait()
	if res == nil {
		return
	}
	res.elapsed += d
	for g := range l.clients {
		res.lats = append(res.lats, lats[g]...)
		res.errors += errCounts[g]
	}
	res.requests = len(res.lats)
}

func (l *loader) close() {
	for _, c := range l.clients {
		c.HTTP.CloseIdleConnections()
	}
}

// measureCell measures op at the given concurrency on Hadron and on the
// ceiling for d each. The two alternate in rounds of cellRound, so that
// whatever else the machine does weighs on both alike.
func (a *apiServers) measureCell(op string, clients int, d time.Duration) (hadron, ceiling loadResult, err error) {
	hl := newLoader(a.h.endpoint, op, a.bodies[op], clients)
	cl := newLoader(a.ceiling, op, a.bodies[op], clients)
	defer hl.close()
	defer cl.close()
	hl.run(warmUp, nil)
	cl.run(warmUp, nil)
	rounds := max(1, int(d/cellRound))
	if *flagProfile != "" {
		// One profile of Hadron's side alone.
		stop, err := startProfile(fmt.Sprintf("cpu-%s-%d.pprof", op, clients))
		if err != nil {
			return hadron, ceiling, err
		}
		hl.run(d, &hadron)
		stop()
		cl.run(d, &ceiling)
	} else {
		for range rounds {
			hl.run(d/time.Duration(rounds), &hadron)
			cl.run(d/time.Duration(rounds), &ceiling)
		}
	}
	hadron.lat, ceiling.lat = summarize(hadron.lats), summarize(ceiling.lats)
	return hadron, ceiling, nil
}

// BenchmarkAPI measures GetEnvironment (a random one of -envs environments
// per call) and ListEnvironments (first page, maxResults 100) at 1, 8 and 64
// concurrent clients for -cell each, on Hadron and on the ceiling.
func BenchmarkAPI(b *testing.B) {
	a, err := setupAPI()
	if err != nil {
		b.Fatal(err)
	}
	var lines []string
	lines = append(lines, fmt.Sprintf("  %-16s %7s  %-8s %9s %9s %9s %8s  %s", "operation", "clients", "server", "req/s", "p50 ms", "p99 ms", "hadron/", "target"))
	lines = append(lines, fmt.Sprintf("  %-16s %7s  %-8s %9s %9s %9s %8s", "", "", "", "", "", "", "ceiling"))
	for _, op := range []string{"GetEnvironment", "ListEnvironments"} {
		for _, clients := range clientCounts {
			b.Run(fmt.Sprintf("%s/clients=%d", op, clients), func(b *testing.B) {
				for range b.N {
					hr, cr, err := a.measureCell(op, clients, *flagCell)
					if err != nil {
						b.Fatal(err)
					}
					if hr.errors > 0 || cr.errors > 0 {
						b.Errorf("%d errors from hadron, %d from the ceiling", hr.errors, cr.errors)
					}
					ratio := hr.rate() / cr.rate()
					b.ReportMetric(hr.rate(), "hadron-req/s")
					b.ReportMetric(cr.rate(), "ceiling-req/s")
					b.ReportMetric(100*ratio, "%-of-ceiling")
					b.ReportMetric(float64(hr.lat.P99)/1e6, "hadron-p99-ms")
					target := ""
					if op == "GetEnvironment" {
						target = fmt.Sprintf(">= %.0f%%: met", 100*getTarget)
						if ratio < getTarget {
							target = fmt.Sprintf(">= %.0f%%: MISSED", 100*getTarget)
						}
					}
					b.StopTimer()
					lines = append(lines,
						fmt.Sprintf("  %-16s %7d  %-8s %9.0f %9s %9s %7.1f%%  %s", op, clients, "hadron", hr.rate(), ms(hr.lat.P50), ms(hr.lat.P99), 100*ratio, target),
						fmt.Sprintf("  %-16s %7d  %-8s %9.0f %9s %9s", op, clients, "ceiling", cr.rate(), ms(cr.lat.P50), ms(cr.lat.P99)))
					b.StartTimer()
				}
			})
		}
	}
	report.add(fmt.Sprintf("3. API throughput with %d environments in the store (%s per server per cell, alternating in %s rounds, after %s warm-up; each client a goroutine with its own keep-alive connection)",
		*flagEnvs, *flagCell, cellRound, warmUp), lines)
	sizes := fmt.Sprintf("  answer sizes: GetEnvironment %d bytes, ListEnvironments %d bytes (%d environments)",
		len(a.answers["GetEnvironment"]), len(a.answers["ListEnvironments"]), 100)
	report.add("3b. Answers", []string{sizes})
}

// startProfile starts a CPU profile into -profile/name, when -profile is set,
// and returns the function that ends it.
func startProfile(name string) (func(), error) {
	if *flagProfile == "" {
		return func() {}, nil
	}
	if err := os.MkdirAll(*flagProfile, 0o755); err != nil {
		return nil, err
	}
	f, err := os.Create(filepath.Join(*flagProfile, name))
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}
