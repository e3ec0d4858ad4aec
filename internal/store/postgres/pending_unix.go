//go:build linux || darwin || freebsd

package postgres

import (
	"errors"
	"net"
	"syscall"
)

// pending reports whether the server has said something on the idle
// connection c, or hung up: bytes or the end of the stream wait unread. It
// peeks without blocking and without consuming anything.
//
// It peeks through RawConn.Control, which does not take the descriptor's
// read lock: pgx's background reader (started when a write is slow) may
// still be parked in a Read on an idle connection, and RawConn.Read would
// wait for that Read, that is until the server next speaks. Data that such
// a reader has already taken is not seen here; the end of the stream
// always is.
func pending(c net.Conn) bool {
	if tc, ok := c.(interface{ NetConn() net.Conn }); ok {
		c = tc.NetConn() // TLS: the socket under it
	}
	sc, ok := c.(syscall.Conn)
	if !ok {
		return false
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return true
	}
	var ready bool
	var b [1]byte
	err = raw.Control(func(fd uintptr) {
		n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		// n > 0: a message; n == 0 with no error: the end of the stream;
		// any error but "nothing to read": a broken socket.
		ready = n > 0 || err == nil || !(errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EWOULDBLOCK))
	})
	return ready || err != nil
}
