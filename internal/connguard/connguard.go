// Package connguard bounds the connections an HTTP server holds for clients
// that have not yet completed a request.
//
// A SigV4 signature covers the request body, so a request is authenticated
// only once its body is read: a client that trickles its headers or body
// holds a connection, a goroutine and a file descriptor without ever
// proving who it is. http.Server's ReadHeaderTimeout and ReadTimeout bound
// how long one such connection lives; Guard bounds how many exist at once.
// When a new connection would exceed the bound, the oldest pending one is
// closed, so new clients always get in and a flood of slow connections only
// shortens the life of its own members.
package connguard

import (
	"container/list"
	"net"
	"net/http"
	"sync"
	"time"
)

// Timeouts of the server Guard.Server makes.
const (
	// ReadHeaderTimeout bounds the reading of a request's headers.
	ReadHeaderTimeout = 10 * time.Second
	// ReadTimeout bounds the reading of a whole request, body included:
	// request bodies are small JSON documents (specs and manifests of at
	// most a few MB), which a live client sends in well under this.
	ReadTimeout = 60 * time.Second
	// IdleTimeout bounds how long a keep-alive connection waits for its
	// next request.
	IdleTimeout = 2 * time.Minute
)

// Server is an http.Server for h with the timeouts above and g's ConnState.
func (g *Guard) Server(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: ReadHeaderTimeout,
		ReadTimeout:       ReadTimeout,
		IdleTimeout:       IdleTimeout,
		ConnState:         g.ConnState,
	}
}

// DefaultMaxPending is the bound on connections that have not completed a
// request, when Guard.Max is zero.
const DefaultMaxPending = 256

// Guard tracks pending connections. Wrap the listener with Listener and set
// the server's ConnState to Guard.ConnState. The zero Guard is ready to use.
type Guard struct {
	// Max is the number of pending connections held at once; zero means
	// DefaultMaxPending.
	Max int

	mu      sync.Mutex
	pending list.List // of net.Conn, oldest first
	index   map[net.Conn]*list.Element
	evicted int
}

// Listener returns ln whose accepted connections count as pending until
// ConnState says they completed a request.
func (g *Guard) Listener(ln net.Listener) net.Listener {
	return &listener{Listener: ln, g: g}
}

type listener struct {
	net.Listener
	g *Guard
}

func (l *listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.g.add(c)
	return c, nil
}

func (g *Guard) add(c net.Conn) {
	g.mu.Lock()
	if g.index == nil {
		g.index = map[net.Conn]*list.Element{}
	}
	var victim net.Conn
	if g.pending.Len() >= g.limit() {
		front := g.pending.Front()
		victim = front.Value.(net.Conn)
		g.pending.Remove(front)
		delete(g.index, victim)
		g.evicted++
	}
	g.index[c] = g.pending.PushBack(c)
	g.mu.Unlock()
	if victim != nil {
		victim.Close() // its handler sees a read error and the server drops it
	}
}

func (g *Guard) limit() int {
	if g.Max > 0 {
		return g.Max
	}
	return DefaultMaxPending
}

// ConnState is the http.Server ConnState hook: a connection stops being
// pending once it has answered a request (StateIdle) or is gone.
func (g *Guard) ConnState(c net.Conn, state http.ConnState) {
	switch state {
	case http.StateIdle, http.StateClosed, http.StateHijacked:
		g.mu.Lock()
		if e, ok := g.index[c]; ok {
			g.pending.Remove(e)
			delete(g.index, c)
		}
		g.mu.Unlock()
	}
}

// Pending is the number of connections that have not completed a request.
func (g *Guard) Pending() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.pending.Len()
}

// Evicted is how many pending connections were closed to make room.
func (g *Guard) Evicted() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.evicted
}
