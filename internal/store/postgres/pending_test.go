//go:build linux || darwin || freebsd

package postgres

import (
	"net"
	"testing"
	"time"
)

// pending answers at once, also while another goroutine is parked in a Read
// of the same connection (pgx's background reader, left by a slow write, on
// an idle pooled connection): it says whether bytes wait unread, and it sees
// the peer hang up.
func TestPendingNeitherWaitsForAParkedReaderNorMissesAHangUp(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			accepted <- c
		}
		close(accepted)
	}()
	ours, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer ours.Close()
	peer := <-accepted
	if peer == nil {
		t.Fatal("accept failed")
	}
	defer peer.Close()

	answer := func() bool {
		t.Helper()
		got := make(chan bool, 1)
		go func() { got <- pending(ours) }()
		select {
		case p := <-got:
			return p
		case <-time.After(5 * time.Second):
			t.Fatal("pending waited for the connection's parked reader")
			return false
		}
	}
	if answer() {
		t.Fatal("pending on a quiet connection")
	}
	if _, err := peer.Write([]byte("N")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the byte to be pending", answer)

	// A reader parks on the connection, as pgx's background reader does.
	read := make(chan error, 1)
	go func() {
		buf := make([]byte, 1)
		for {
			if _, err := ours.Read(buf); err != nil {
				read <- err
				return
			}
		}
	}()
	waitFor(t, "the parked reader to take the byte", func() bool { return !answer() })
	peer.Close()
	waitFor(t, "the hang-up to be seen", answer)
	<-read
}
