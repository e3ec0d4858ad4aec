package connguard

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// serve starts g's server for a handler that reads the whole body, with
// readTimeout, and returns its address.
func serve(t *testing.T, g *Guard, readTimeout time.Duration) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := g.Server(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.Copy(io.Discard, r.Body); err != nil {
			return // the read deadline passed: the server closes the connection
		}
		io.WriteString(w, "ok")
	}))
	srv.ReadTimeout = readTimeout
	go srv.Serve(g.Listener(ln))
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// trickle opens a connection that sends the start of a request and no more.
func trickle(t *testing.T, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := io.WriteString(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{"); err != nil {
		t.Fatal(err)
	}
	return c
}

// closedByServer waits until the server closes c.
func closedByServer(t *testing.T, c net.Conn, within time.Duration) bool {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(within))
	_, err := io.Copy(io.Discard, c) // returns nil at EOF
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		return false
	}
	return true
}

func get(t *testing.T, addr string) string {
	t.Helper()
	resp, err := http.Post("http://"+addr+"/", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// TestSlowBodyIsCutOffAtTheReadTimeout: a client that stops sending its body
// loses the connection when the read deadline passes.
func TestSlowBodyIsCutOffAtTheReadTimeout(t *testing.T) {
	t.Parallel()
	g := &Guard{}
	addr := serve(t, g, 300*time.Millisecond)
	c := trickle(t, addr)
	if !closedByServer(t, c, 10*time.Second) {
		t.Fatal("the server still holds a connection whose body stalled, 10s after a 300ms read timeout")
	}
}

// TestPendingConnectionsAreBounded: past Max, each new connection closes
// the oldest one that has not completed a request; clients that complete
// requests are not affected and a new client always gets in.
func TestPendingConnectionsAreBounded(t *testing.T) {
	t.Parallel()
	g := &Guard{Max: 3}
	addr := serve(t, g, time.Hour)

	// A client that completed a request holds a connection that is no longer pending.
	keep := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
	resp, err := keep.Post("http://"+addr+"/", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()

	slow := []net.Conn{trickle(t, addr), trickle(t, addr), trickle(t, addr)}
	waitPending(t, g, 3)
	fourth := trickle(t, addr)
	if !closedByServer(t, slow[0], 5*time.Second) {
		t.Fatal("the oldest slow connection is still open after a fourth one came in, with Max 3")
	}
	for _, c := range append(slow[1:], fourth) {
		if closedByServer(t, c, 50*time.Millisecond) {
			t.Fatal("a newer slow connection was closed")
		}
	}
	if got := get(t, addr); got != "ok" {
		t.Errorf("a new client got %q, want ok", got)
	}
	// The keep-alive connection of the first client still works.
	resp, err = keep.Post("http://"+addr+"/", "application/json", bufio.NewReader(strings.NewReader("{}")))
	if err != nil {
		t.Fatalf("the client that had completed a request: %v", err)
	}
	resp.Body.Close()
	if g.Evicted() < 1 {
		t.Errorf("Evicted = %d, want at least 1", g.Evicted())
	}
}

func waitPending(t *testing.T, g *Guard, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for g.Pending() < n {
		if time.Now().After(deadline) {
			t.Fatalf("pending = %d, want %d", g.Pending(), n)
		}
		time.Sleep(time.Millisecond)
	}
}
