package postgres

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
)

// Notifier carries short messages between the Hadron nodes that share the
// store's schema, with LISTEN/NOTIFY on a channel named for the schema. It
// implements engine.Notifier. NOTIFY is delivered to every listening session
// when the publishing transaction commits, at most once and only to sessions
// connected at the time; the engine treats it as a hint and has fallbacks.
type Notifier struct {
	store  *Store
	logger *slog.Logger
}

// Reconnection back-off of the listener.
const (
	listenBackoffMin = 100 * time.Millisecond
	listenBackoffMax = 5 * time.Second
)

// Notifier returns the store's notifier; logger receives its connection
// trouble (nil discards it).
func (s *Store) Notifier(logger *slog.Logger) *Notifier {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Notifier{store: s, logger: logger}
}

// Publish sends payload to every listener on the schema's channel.
func (n *Notifier) Publish(ctx context.Context, payload string) error {
	if _, err := n.store.db.ExecContext(ctx, `SELECT pg_notify($1, $2)`, n.store.channel, payload); err != nil {
		return fmt.Errorf("notify %s: %w", n.store.channel, err)
	}
	return nil
}

// Listen delivers every payload published on the schema's channel to out
// until ctx ends. It holds a connection of its own (a pool connection cannot
// be kept in LISTEN), reconnects with back-off when it is lost, and sends ""
// after each reconnection, since payloads published meanwhile are lost.
func (n *Notifier) Listen(ctx context.Context, out chan<- string) {
	backoff := listenBackoffMin
	for afterGap := false; ; afterGap = true {
		listened, err := n.listen(ctx, out, afterGap)
		if ctx.Err() != nil {
			return
		}
		if listened {
			// The connection worked for a while: the next failure starts afresh.
			backoff = listenBackoffMin
		}
		n.logger.Warn("listening for notifications from other nodes: reconnecting", "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, listenBackoffMax)
	}
}

// listen runs one connection's LISTEN until it fails or ctx ends, and says
// whether LISTEN took effect. When afterGap is set it first sends "" to out.
func (n *Notifier) listen(ctx context.Context, out chan<- string, afterGap bool) (bool, error) {
	conn, err := pgx.ConnectConfig(ctx, n.store.connConfig)
	if err != nil {
		return false, fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, `LISTEN `+pgx.Identifier{n.store.channel}.Sanitize()); err != nil {
		return false, fmt.Errorf("listen %s: %w", n.store.channel, err)
	}
	if afterGap {
		n.logger.Info("listening for notifications from other nodes again")
		if !send(ctx, out, "") {
			return true, nil
		}
	}
	for {
		note, err := conn.WaitForNotification(ctx)
		if err != nil {
			return true, err
		}
		if !send(ctx, out, note.Payload) {
			return true, nil
		}
	}
}

func send(ctx context.Context, out chan<- string, payload string) bool {
	select {
	case out <- payload:
		return true
	case <-ctx.Done():
		return false
	}
}
