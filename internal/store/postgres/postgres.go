// Package postgres opens store.Store on PostgreSQL, for several Hadron
// processes sharing one database: the shared SQL core (package sqlstore) on
// pgx's database/sql adapter, with PostgreSQL's dialect; reads outside
// transactions run on pgx directly (see reads). The schema is
// SQLite's in PostgreSQL's types (timestamps are milliseconds since the epoch
// on both), and every rule the conformance suite pins holds across processes:
//   - at most one active deployment per resource is a unique partial index;
//   - workers claim queued deployments with FOR UPDATE SKIP LOCKED, so two
//     nodes never claim the same one and neither waits for the other;
//   - every status change is one conditional UPDATE, and every transaction
//     that touches a resource and one of its deployments locks the resource
//     row first, so concurrent writers queue instead of deadlocking (a
//     deadlock or serialization failure is retried anyway).
//
// Package postgres also carries the engine's notifications between nodes with
// LISTEN/NOTIFY (see Notifier).
package postgres

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hadronhq/hadron/internal/store"
	"github.com/hadronhq/hadron/internal/store/sqlstore"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
)

//go:embed migrations/*.sql
var migrations embed.FS

var _ store.Store = (*Store)(nil)

// Defaults applied to a database URL that does not set them.
const (
	// DefaultConnectTimeout bounds a connection attempt, so that calls fail
	// fast while the database is unreachable instead of hanging.
	DefaultConnectTimeout = 5 * time.Second
	// DefaultMaxConns is the pool size: the API's requests, the workers'
	// claims and the lease keeper share it.
	DefaultMaxConns = 16
)

// Store is the PostgreSQL implementation of store.Store.
type Store struct {
	*sqlstore.Store
	// db is the store's database/sql handle, which pools the connections
	// itself; the notifier publishes through it too.
	db *sql.DB
	// connConfig is the URL parsed, without its pool_* parameters, for the
	// notifier's own connection.
	connConfig *pgx.ConnConfig
	// channel is the NOTIFY channel of this schema: nodes on one schema hear
	// each other, nodes on another schema of the same database do not.
	channel string
}

// Open connects to the database at url (postgres://user:pass@host/db?...),
// runs the embedded migrations under an advisory lock, and returns the store.
// A search_path given in the URL selects the schema.
//
// The URL's pool_max_conns, pool_max_conn_lifetime and
// pool_max_conn_idle_time (pgxpool's parameters, with pgxpool's defaults for
// the last two) size and age database/sql's pool of connections, which is
// the only pool; pgxpool's other pool_* parameters are accepted and have no
// effect.
func Open(ctx context.Context, url string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = DefaultConnectTimeout
	}
	if !strings.Contains(url, "pool_max_conns") {
		cfg.MaxConns = DefaultMaxConns
	}
	// database/sql pools the connections itself, and keeps as many idle as
	// it may open. Through a pgxpool (stdlib.OpenDBFromPool) it could keep
	// none: every statement checked a connection out of pgxpool and wrapped
	// it in a new driver connection (10-18 % of point-read throughput at 8
	// and 64 clients; reads through database/sql remain slower than direct
	// pgx calls were, see bench/README.md). Nothing else needs a pgxpool: the
	// notifier listens on a connection of its own and publishes through db,
	// and the migration lock is taken on one of db's connections.
	db := stdlib.OpenDB(*cfg.ConnConfig, stdlib.OptionShouldPing(shouldPing))
	db.SetMaxOpenConns(int(cfg.MaxConns))
	db.SetMaxIdleConns(int(cfg.MaxConns))
	db.SetConnMaxLifetime(cfg.MaxConnLifetime)
	db.SetConnMaxIdleTime(cfg.MaxConnIdleTime)
	s := &Store{Store: sqlstore.New(sqlstore.Config{Writer: db, Reader: db, Reads: reads{db}, Dialect: dialect{}}), db: db, connConfig: cfg.ConnConfig}
	var schema string
	if err := db.QueryRowContext(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		s.Close()
		return nil, fmt.Errorf("open postgres %s: %w", redact(cfg), err)
	}
	s.channel = "hadron." + schema
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// idlePing is how long a connection may go unused before it is pinged on
// checkout whatever its socket says (pgx's own default).
const idlePing = time.Second

// shouldPing decides whether a pooled connection is pinged before
// database/sql hands it out again: when it was last handed out more than
// idlePing ago, or when the server spoke or hung up while it sat idle. A
// backend that was terminated (a restart, a failover, pg_terminate_backend)
// leaves its last words (FATAL 57P01) or the end of the stream unread on the
// socket; a statement sent there would fail after it was sent, which is past
// the point where anything may safely retry it. The ping fails on such a
// connection, so pgx reports it bad (driver.ErrBadConn), database/sql
// discards it and takes another (after two dead ones, a new one) and the
// statement is sent on a live connection. Checking costs one non-blocking
// peek, not a round trip. A connection that dies after the check fails its
// statement as before: database/sql retries it only when pgx reports that
// nothing was sent (driver.ErrBadConn), and never within a transaction.
func shouldPing(_ context.Context, p stdlib.ShouldPingParams) bool {
	return p.IdleDuration > idlePing || pending(p.Conn.PgConn().Conn())
}

// redact names the database of cfg without its password, for errors.
func redact(cfg *pgxpool.Config) string {
	c := cfg.ConnConfig
	return fmt.Sprintf("%s@%s:%d/%s", c.User, c.Host, c.Port, c.Database)
}

// migrate applies the embedded migrations not yet applied. It holds an
// advisory lock (per schema) for the whole run, so that nodes starting at
// once apply each migration exactly once: the second waits, then finds them
// applied.
func (s *Store) migrate(ctx context.Context) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer conn.Close()
	const key = `hashtext('hadron.migrate.' || current_schema())`
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(`+key+`)`); err != nil {
		return fmt.Errorf("migrate: take the migration lock: %w", err)
	}
	defer func() {
		// The lock is the session's: it goes with the connection if this
		// fails. driver.ErrBadConn has database/sql discard the connection
		// instead of pooling it.
		if _, err := conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(`+key+`)`); err != nil {
			conn.Raw(func(c any) error {
				c.(*stdlib.Conn).Conn().Close(context.Background())
				return driver.ErrBadConn
			})
		}
	}()
	return sqlstore.Migrate(ctx, conn, migrations, "migrations")
}

// dialect is PostgreSQL's sqlstore.Dialect.
type dialect struct{}

// LockRows returns FOR UPDATE [OF of] [SKIP LOCKED].
func (dialect) LockRows(of string, skipLocked bool) string {
	clause := "FOR UPDATE"
	if of != "" {
		clause += " OF " + of
	}
	if skipLocked {
		clause += " SKIP LOCKED"
	}
	return clause
}

// Retryable reports a deadlock or serialization failure.
func (dialect) Retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40P01" || pe.Code == "40001")
}

// MergeObjects is jsonb's ||: the right operand's keys win.
func (dialect) MergeObjects(base, over string) string {
	return "((" + base + ")::jsonb || (" + over + ")::jsonb)::text"
}

// UniqueViolation reports a unique violation and the constraint it names.
func (dialect) UniqueViolation(err error) (string, bool) {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" {
		return pe.ConstraintName, true
	}
	return "", false
}
