//go:build !(linux || darwin || freebsd)

package postgres

import "net"

// pending reports false where a socket cannot be peeked at without blocking:
// there, only pgx's idle-time ping finds a dead connection before use.
func pending(net.Conn) bool { return false }
