package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hadronhq/hadron/internal/api"
	"github.com/hadronhq/hadron/internal/auth"
	"github.com/hadronhq/hadron/internal/server"
	"github.com/hadronhq/hadron/internal/sigv4"
)

// The cost of SigV4 verification (BenchmarkAuth): GetEnvironment on two
// servers over copies of one database, one with --auth none and one
// verifying every call against a keyring (throttling off, the key allowed
// everything, as the administrator key is), at 1 and 64 clients.
const (
	// authEnvs is how many environments the two servers hold.
	authEnvs = 1000
	// authTarget is the most verification may cost, as a share of the
	// throughput with --auth none.
	authTarget = 0.15
)

var authClientCounts = []int{1, 64}

// authServers is the pair of servers and the signed requests.
type authServers struct {
	none, sigv4 *hadron
	// requests are GetEnvironment bodies with their signed headers; both
	// servers get the same requests (the unverifying one ignores the
	// signature), so the clients do the same work on both sides.
	requests []signedRequest
}

type signedRequest struct {
	body   []byte
	header http.Header
}

var (
	authFixtureOnce sync.Once
	authFixture     *authServers
	authFixtureErr  error
)

func setupAuth() (*authServers, error) {
	authFixtureOnce.Do(func() { authFixture, authFixtureErr = buildAuthServers() })
	return authFixture, authFixtureErr
}

// buildAuthServers creates authEnvs customer-managed environments on a
// scratch server (tmpfs when there is one), copies its database twice to
// disk, and starts a server with --auth none on one copy and one with SigV4
// on the other.
func buildAuthServers() (*authServers, error) {
	scratch := ""
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		scratch = "/dev/shm"
	}
	build, err := startHadron("auth-build", scratch)
	if err != nil {
		return nil, err
	}
	defer build.close()
	ctx := context.Background()
	if err := build.registerTemplate(ctx, cmTemplate, "customer-managed", "CUSTOMER_MANAGED"); err != nil {
		return nil, err
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, createClients)
	for range createClients {
		c := newClient(build.endpoint)
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < authEnvs; i = int(next.Add(1)) - 1 {
				if err := c.Call(ctx, "CreateEnvironment", map[string]string{
					"name": envName("auth", i), "templateName": cmTemplate, "templateMajorVersion": "1",
					"spec": yamlSpec("vpc_id", fmt.Sprintf("vpc-%08x", i)),
				}, nil); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, err
	}
	if err := waitAllSucceeded(ctx, build.c, 100*time.Millisecond, 2*time.Minute); err != nil {
		return nil, err
	}
	build.stop()
	a := &authServers{}
	var keys auth.NewKey
	for _, mode := range []string{"none", "sigv4"} {
		dir, err := os.MkdirTemp("", "hadron-bench-auth-"+mode+"-")
		if err != nil {
			return nil, err
		}
		for _, name := range []string{server.DatabaseFile, server.DatabaseFile + "-wal"} {
			if err := copyFile(filepath.Join(build.dataDir, name), filepath.Join(dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return nil, err
			}
		}
		var authn *auth.Authenticator
		if mode == "sigv4" {
			nk, _, err := (&auth.Store{Dir: dir}).CreateFirst("bench")
			if err != nil {
				return nil, err
			}
			keys = nk
			ring, err := auth.OpenKeyring(dir, nil)
			if err != nil {
				return nil, err
			}
			authn = auth.New(auth.Config{Keys: ring})
		}
		h, err := startHadronAuth("auth-"+mode, dir, authn)
		if err != nil {
			return nil, err
		}
		fixturesMu.Lock()
		fixtures = append(fixtures, h)
		fixturesMu.Unlock()
		if mode == "none" {
			a.none = h
		} else {
			a.sigv4 = h
		}
	}
	// Signatures hold for 15 minutes either side of their date, longer than
	// a run of this benchmark.
	now := time.Now()
	for i := range authEnvs {
		body := []byte(`{"name":"` + envName("auth", i) + `"}`)
		r, _ := http.NewRequest(http.MethodPost, a.sigv4.endpoint+"/", bytes.NewReader(body))
		r.Header.Set("X-Amz-Target", api.TargetPrefix+".GetEnvironment")
		r.Header.Set("Content-Type", "application/x-amz-json-1.0")
		sigv4.Sign(r, body, keys.AccessKeyID, keys.SecretAccessKey, "", "us-east-1", auth.Service, now)
		a.requests = append(a.requests, signedRequest{body: body, header: r.Header})
	}
	return a, nil
}

// startHadronAuth is startHadronIn with an authenticator (nil: --auth none).
func startHadronAuth(name, dir string, authn *auth.Authenticator) (*hadron, error) {
	return startHadronWith(name, dir, func(c *server.Config) error {
		c.Auth = authn
		return nil
	})
}

// signedLoader sends the signed GetEnvironment requests to one server from
// a fixed set of clients, each with its own keep-alive connection.
type signedLoader struct {
	endpoint string
	requests []signedRequest
	clients  []*client
	next     []int
}

func newSignedLoader(endpoint string, requests []signedRequest, clients int) *signedLoader {
	l := &signedLoader{endpoint: endpoint, requests: requests}
	for g := range clients {
		l.clients = append(l.clients, newClient(endpoint))
		l.next = append(l.next, g*7919)
	}
	return l
}

func (l *signedLoader) send(c *client, sr signedRequest) error {
	req, err := http.NewRequest(http.MethodPost, l.endpoint+"/", bytes.NewReader(sr.body))
	if err != nil {
		return err
	}
	req.Header = sr.header.Clone()
	// The signature covers Host; both servers are on 127.0.0.1, on other ports.
	req.Host = l.endpoint[len("http://"):]
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %d: %s", resp.StatusCode, data)
	}
	return nil
}

// run sends requests back to back from every client for d and adds what it
// measured to res (when res is not nil).
func (l *signedLoader) run(d time.Duration, res *loadResult) error {
	end := time.Now().Add(d)
	lats := make([][]time.Duration, len(l.clients))
	errs := make([]error, len(l.clients))
	var wg sync.WaitGroup
	for g, c := range l.clients {
		wg.Go(func() {
			for time.Now().Before(end) {
				sent := time.Now()
				if err := l.send(c, l.requests[l.next[g]%len(l.requests)]); err != nil {
					errs[g] = err
					return
				}
				l.next[g] += 104729
				lats[g] = append(lats[g], time.Since(sent))
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if res != nil {
		res.elapsed += d
		for _, l := range lats {
			res.lats = append(res.lats, l...)
		}
		res.requests = len(res.lats)
	}
	return nil
}

// BenchmarkAuth measures GetEnvironment with --auth none beside SigV4
// verification, at 1 and 64 clients, alternating the two in rounds.
func BenchmarkAuth(b *testing.B) {
	a, err := setupAuth()
	if err != nil {
		b.Fatal(err)
	}
	// The signed requests name the SigV4 server's host; the none server
	// ignores the signature but is sent the same bytes but for Host.
	lines := []string{fmt.Sprintf("  %-16s %7s  %-8s %9s %9s %9s %10s  %s", "operation", "clients", "auth", "req/s", "p50 ms", "p99 ms", "cost of", "target")}
	lines = append(lines, fmt.Sprintf("  %-16s %7s  %-8s %9s %9s %9s %10s", "", "", "", "", "", "", "sigv4"))
	for _, clients := range authClientCounts {
		b.Run(fmt.Sprintf("GetEnvironment/clients=%d", clients), func(b *testing.B) {
			for range b.N {
				nl := newSignedLoader(a.none.endpoint, a.requests, clients)
				sl := newSignedLoader(a.sigv4.endpoint, a.requests, clients)
				if err := errors.Join(nl.run(warmUp, nil), sl.run(warmUp, nil)); err != nil {
					b.Fatal(err)
				}
				var none, signed loadResult
				rounds := max(1, int(*flagCell/cellRound))
				for range rounds {
					if err := errors.Join(nl.run(*flagCell/time.Duration(rounds), &none), sl.run(*flagCell/time.Duration(rounds), &signed)); err != nil {
						b.Fatal(err)
					}
				}
				none.lat, signed.lat = summarize(none.lats), summarize(signed.lats)
				cost := 1 - signed.rate()/none.rate()
				verdict := fmt.Sprintf("< %.0f%%: met", 100*authTarget)
				if cost >= authTarget {
					verdict = fmt.Sprintf("< %.0f%%: MISSED", 100*authTarget)
				}
				b.ReportMetric(none.rate(), "none-req/s")
				b.ReportMetric(signed.rate(), "sigv4-req/s")
				b.ReportMetric(100*cost, "%-cost")
				b.StopTimer()
				lines = append(lines,
					fmt.Sprintf("  %-16s %7d  %-8s %9.0f %9s %9s", "GetEnvironment", clients, "none", none.rate(), ms(none.lat.P50), ms(none.lat.P99)),
					fmt.Sprintf("  %-16s %7d  %-8s %9.0f %9s %9s %9.1f%%  %s", "GetEnvironment", clients, "sigv4", signed.rate(), ms(signed.lat.P50), ms(signed.lat.P99), 100*cost, verdict))
				for _, l := range append(nl.clients, sl.clients...) {
					l.HTTP.CloseIdleConnections()
				}
				b.StartTimer()
			}
		})
	}
	report.add(fmt.Sprintf("6. Cost of SigV4 verification: GetEnvironment (a random one of %d environments per call), --auth none beside sigv4 (%s per side, alternating in %s rounds, after %s warm-up; the same pre-signed requests to both)",
		authEnvs, *flagCell, cellRound, warmUp), lines)
}
