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
	err = raw.Read(func(fd uintptr) bool {
		n, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		// n > 0: a message; n == 0 with no error: the end of the stream;
		// any error but "nothing to read": a broken socket.
		ready = n > 0 || err == nil || !(errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EWOULDBLOCK))
		return true // done: never wait for data
	})
	return ready || err != nil
}
