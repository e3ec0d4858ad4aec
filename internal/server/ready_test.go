package server_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hadronhq/hadron/internal/hadrontest"
	"github.com/hadronhq/hadron/internal/server"
	"github.com/hadronhq/hadron/internal/store/postgres"
	"github.com/hadronhq/hadron/internal/store/postgres/pgtest"
)

// cuttableProxy forwards TCP connections to a target until it is cut: then
// it closes the connections it carries and every new one at once, as a
// database behind a broken network looks to its client.
type cuttableProxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	cut   bool
	conns []net.Conn
}

func newCuttableProxy(t *testing.T, target string) *cuttableProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cuttableProxy{ln: ln, target: target}
	t.Cleanup(func() {
		ln.Close()
		p.setCut(true)
	})
	go p.serve()
	return p
}

func (p *cuttableProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.cut {
			p.mu.Unlock()
			c.Close()
			continue
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			p.mu.Unlock()
			c.Close()
			continue
		}
		p.conns = append(p.conns, c, up)
		p.mu.Unlock()
		go func() { io.Copy(up, c); up.Close() }()
		go func() { io.Copy(c, up); c.Close() }()
	}
}

func (p *cuttableProxy) setCut(cut bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = cut
	if cut {
		for _, c := range p.conns {
			c.Close()
		}
		p.conns = nil
	}
}

// TestReadinessFailsWhileTheDatabaseIsUnreachable runs the server on a real
// PostgreSQL database reached through a proxy, cuts the proxy, and reads
// /readyz: 503 while cut, 200 again once the database is back; /healthz
// stays 200 throughout.
func TestReadinessFailsWhileTheDatabaseIsUnreachable(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.Schema(t)
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := newCuttableProxy(t, u.Host)
	u.Host = proxy.ln.Addr().String()
	q := u.Query()
	q.Set("connect_timeout", "1")
	u.RawQuery = q.Encode()
	st, err := postgres.Open(context.Background(), u.String())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	srv, err := server.New(context.Background(), server.Config{
		DataDir: dir, BundleDir: dir, Region: "us-east-1", AccountID: "123456789012", Owner: "test",
		Store: st, SharedStore: true, Engines: testEngines(0),
	})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(func() {
		ts.Close()
		proxy.setCut(false)
		srv.Close()
	})
	status := func(path string) int {
		t.Helper()
		resp, err := http.Get(ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := status(server.ReadyPath); got != 200 {
		t.Fatalf("GET %s with the database up = %d, want 200", server.ReadyPath, got)
	}
	proxy.setCut(true)
	if got := status(server.ReadyPath); got != http.StatusServiceUnavailable {
		t.Errorf("GET %s with the database unreachable = %d, want 503", server.ReadyPath, got)
	}
	if got := status(server.HealthPath); got != 200 {
		t.Errorf("GET %s with the database unreachable = %d, want 200 (the process is up)", server.HealthPath, got)
	}
	proxy.setCut(false)
	// Connections the pool held across the cut fail once each ("unexpected
	// EOF") before it replaces them, so ready comes back within a few probes.
	hadrontest.Eventually(t, 10*time.Second, "readiness with the database back", func() (bool, string) {
		got := status(server.ReadyPath)
		return got == 200, strconv.Itoa(got)
	})
}
