// Package sqlstore is the one implementation of store.Store's statements, on
// database/sql, shared by the SQLite and PostgreSQL backends. A backend opens
// its database, applies its migrations (the schemas differ in types only),
// and hands the core a Dialect: what its database does differently (row
// locks, unique-violation names, retryable aborts). Every statement here is
// written once, with $1-style placeholders, which both drivers accept.
//
// Every status change is one conditional UPDATE whose WHERE names the
// statuses it may leave, so concurrent writers have exactly one winner on
// either database: on SQLite because write transactions are immediate and
// exclusive, on PostgreSQL because an UPDATE that waited for a row lock
// re-evaluates its WHERE on the row as the winner left it.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hadronhq/hadron/internal/store"
)

// Dialect is what a backend's database does differently. The core asks it
// and never names a database.
type Dialect interface {
	// LockRows returns the clause that locks the rows a SELECT reads until
	// the transaction ends (of names the table alias to lock, "" for all;
	// skipLocked passes over rows another transaction holds), or "" on a
	// database whose write transactions already exclude each other.
	LockRows(of string, skipLocked bool) string
	// UniqueViolation reports whether err violates a unique index or key and
	// names the index as the migrations do when the database says which.
	UniqueViolation(err error) (index string, ok bool)
	// Retryable reports whether the database aborted a transaction (a
	// deadlock, a serialization failure) that may succeed when run again.
	Retryable(err error) bool
	// MergeObjects returns the SQL expression of the JSON object text base
	// with the object text over laid on top (over wins on a key both name),
	// as text; base and over are SQL expressions.
	MergeObjects(base, over string) string
}

// Config is what a backend hands the core.
type Config struct {
	// Writer runs transactions and writes; Reader runs single reads. They may
	// be the same pool.
	Writer, Reader *sql.DB
	Dialect        Dialect
	// PrepareReads runs the reads as statements prepared once per query
	// text, for a driver that would parse the SQL on every call (SQLite's;
	// pgx keeps a statement cache of its own).
	PrepareReads bool
	// Reads, when set, runs the reads outside transactions in the backend's
	// own way instead of through database/sql's query path (Reader is then
	// only the pool Close closes).
	Reads Querier
}

// txAttempts is how many times a transaction is tried when the database
// aborts it for a deadlock or a serialization failure.
const txAttempts = 5

// indexOneActive is the unique partial index that allows one active
// deployment per resource; its predicate is activeStatuses.
const indexOneActive = "deployments_one_active"

// activeStatuses is the SQL list of the statuses of an active deployment; it
// must match the predicate of the deployments_one_active index.
const activeStatuses = `('IN_PROGRESS', 'CANCELLING', 'DELETE_IN_PROGRESS')`

var _ store.Store = (*Store)(nil)

// Store implements store.Store on a database/sql database.
type Store struct {
	w, pool *sql.DB
	r       Querier // reads: the pool, its prepared statements, or the backend's Reads
	d       Dialect
	// observeTx, when set, is told of every write transaction (metrics).
	observeTx atomic.Pointer[func(time.Duration, error)]
}

// ObserveTransactions has fn told, after each write transaction, how long
// it took (retries included) and how it ended. Every write transaction of
// every method goes through one path, so this is the whole of them; the
// single-statement writes outside a transaction (a claim, a lease renewal)
// are not included.
func (s *Store) ObserveTransactions(fn func(took time.Duration, err error)) {
	s.observeTx.Store(&fn)
}

// New returns the store on cfg's pools. Close closes them.
func New(cfg Config) *Store {
	s := &Store{w: cfg.Writer, pool: cfg.Reader, r: sqlQuerier{cfg.Reader}, d: cfg.Dialect}
	switch {
	case cfg.Reads != nil:
		s.r = cfg.Reads
	case cfg.PrepareReads:
		s.r = &preparedReads{db: cfg.Reader, stmts: map[string]*sql.Stmt{}}
	}
	return s
}

// Close closes the pools.
func (s *Store) Close() error {
	var err error
	if p, ok := s.r.(*preparedReads); ok {
		err = p.close()
	}
	if s.pool == s.w {
		return errors.Join(err, s.w.Close())
	}
	return errors.Join(err, s.pool.Close(), s.w.Close())
}

// maxPrepared bounds the statements preparedReads keeps; the store's reads
// have far fewer distinct texts (a list's filters combine into a few).
const maxPrepared = 256

// preparedReads runs reads on db as statements prepared once per query
// text; database/sql prepares a statement on each connection the first
// time it runs there and keeps it.
type preparedReads struct {
	db    *sql.DB
	mu    sync.RWMutex
	stmts map[string]*sql.Stmt
}

// stmt returns the statement of query, preparing it on first use; nil when
// the cache is full or preparing failed (the caller then runs the text,
// whose error, if any, is the one to report).
func (p *preparedReads) stmt(ctx context.Context, query string) *sql.Stmt {
	p.mu.RLock()
	st, n := p.stmts[query], len(p.stmts)
	p.mu.RUnlock()
	if st != nil || n >= maxPrepared {
		return st
	}
	st, err := p.db.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if prev := p.stmts[query]; prev != nil {
		st.Close()
		return prev
	}
	p.stmts[query] = st
	return st
}

func (p *preparedReads) Row(ctx context.Context, query string, args ...any) Row {
	if st := p.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return p.db.QueryRowContext(ctx, query, args...)
}

func (p *preparedReads) Each(ctx context.Context, fn func(Row) error, query string, args ...any) error {
	if st := p.stmt(ctx, query); st != nil {
		return each(fn)(st.QueryContext(ctx, args...))
	}
	return each(fn)(p.db.QueryContext(ctx, query, args...))
}

func (p *preparedReads) close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	var errs []error
	for _, st := range p.stmts {
		errs = append(errs, st.Close())
	}
	clear(p.stmts)
	return errors.Join(errs...)
}

// Migrate applies on conn, in order and each in its own transaction, the
// migrations (files *.sql in dir of files) not yet recorded in
// schema_migrations. Migrations only go forward. Callers that share a
// database between processes serialize Migrate themselves.
func Migrate(ctx context.Context, conn *sql.Conn, files fs.FS, dir string) error {
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	names, err := fs.Glob(files, dir+"/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		version := strings.TrimSuffix(strings.TrimPrefix(name, dir+"/"), ".sql")
		body, err := fs.ReadFile(files, name)
		if err != nil {
			return err
		}
		err = inTx(ctx, conn, func(tx txn) error {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = $1`, version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			// No arguments: both drivers run every statement of the file.
			if _, err := tx.ExecContext(ctx, string(body)); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)`, version, time.Now().UnixMilli())
			return err
		})
		if err != nil {
			return fmt.Errorf("migration %s: %w", version, err)
		}
	}
	return nil
}

type beginner interface {
	BeginTx(ctx context.Context, opts *sql.TxOptions) (*sql.Tx, error)
}

// inTx runs fn in a transaction of db and commits it.
func inTx(ctx context.Context, db beginner, fn func(txn) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(txn{tx, sqlQuerier{tx}}); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// tx runs fn in a write transaction and commits it. When the database
// aborted it for a deadlock or a serialization failure nothing of it was
// written, so fn is run again, a few times at most.
func (s *Store) tx(ctx context.Context, fn func(txn) error) (err error) {
	if observe := s.observeTx.Load(); observe != nil && *observe != nil {
		start := time.Now()
		defer func() { (*observe)(time.Since(start), err) }()
	}
	for attempt := range txAttempts {
		err = inTx(ctx, s.w, fn)
		if err == nil || !s.d.Retryable(err) || ctx.Err() != nil {
			return err
		}
		time.Sleep(time.Duration(attempt+1) * 5 * time.Millisecond)
	}
	return err
}

// lock returns the dialect's row-locking clause for a SELECT.
func (s *Store) lock(of string) string { return s.d.LockRows(of, false) }

// unique reports whether err is a unique violation.
func (s *Store) unique(err error) bool {
	_, ok := s.d.UniqueViolation(err)
	return ok
}

// Row is a row of a result to scan; a single-row read that found nothing
// reports an error that is sql.ErrNoRows.
type Row interface{ Scan(dest ...any) error }

// Querier runs reads: the store's pool, a backend's own read path, or a
// transaction. It is narrower than database/sql's methods so that a backend
// can run the reads on its driver directly.
type Querier interface {
	// Row runs a query that reads at most one row.
	Row(ctx context.Context, query string, args ...any) Row
	// Each runs a query and calls fn with each row in order; fn's first
	// error ends the read and is returned.
	Each(ctx context.Context, fn func(Row) error, query string, args ...any) error
}

// sqlQuerier runs reads through database/sql.
type sqlQuerier struct {
	q interface {
		QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
		QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	}
}

func (q sqlQuerier) Row(ctx context.Context, query string, args ...any) Row {
	return q.q.QueryRowContext(ctx, query, args...)
}

func (q sqlQuerier) Each(ctx context.Context, fn func(Row) error, query string, args ...any) error {
	return each(fn)(q.q.QueryContext(ctx, query, args...))
}

// each returns what reads the rows of a database/sql query into fn.
func each(fn func(Row) error) func(*sql.Rows, error) error {
	return func(rows *sql.Rows, err error) error {
		if err != nil {
			return err
		}
		defer rows.Close()
		return EachRow(rows, fn)
	}
}

// Rows is a result being read, as database/sql and pgx both offer it.
type Rows interface {
	Row
	Next() bool
	Err() error
}

// EachRow calls fn with each of rows in order; fn's first error, or the
// read's, is returned. The caller closes rows.
func EachRow(rows Rows, fn func(Row) error) error {
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// txn is a write transaction; its reads are a Querier, so the functions that
// read take the store's pool and a transaction alike.
type txn struct {
	*sql.Tx
	sqlQuerier
}

// noRows reports whether a single-row read found nothing.
func noRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

// collect reads the rows of a query on q with scan.
func collect[T any](ctx context.Context, q Querier, scan func(Row) (T, error), query string, args ...any) ([]T, error) {
	var out []T
	err := q.Each(ctx, func(r Row) error {
		v, err := scan(r)
		if err == nil {
			out = append(out, v)
		}
		return err
	}, query, args...)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// keyValues reads the rows of a query of two text columns as a map.
func keyValues(ctx context.Context, q Querier, query string, args ...any) (map[string]string, error) {
	out := map[string]string{}
	err := q.Each(ctx, func(r Row) error {
		var k, v string
		err := r.Scan(&k, &v)
		out[k] = v
		return err
	}, query, args...)
	if err != nil {
		return nil, err
	}
	return out, nil
}

// scanString scans a row of one text column.
func scanString(r Row) (string, error) {
	var v string
	return v, r.Scan(&v)
}

// placeholders returns "$first, $first+1, ..." for n arguments.
func placeholders(first, n int) string {
	ps := make([]string, n)
	for i := range ps {
		ps[i] = fmt.Sprintf("$%d", first+i)
	}
	return strings.Join(ps, ", ")
}

func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}
