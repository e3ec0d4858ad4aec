// Package sqlite opens Hadron's default store: an embedded SQLite database
// file (pure Go driver, WAL journal, foreign keys on) under the shared SQL
// core, package sqlstore. One process owns the file; its writers queue on a
// single connection whose transactions are immediate, so every write
// transaction excludes the others and needs no row locks.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"strings"

	"github.com/hadronhq/hadron/internal/store"
	"github.com/hadronhq/hadron/internal/store/sqlstore"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

//go:embed migrations/*.sql
var migrations embed.FS

var _ store.Store = (*Store)(nil)

// Store is the SQLite implementation of store.Store.
type Store struct {
	*sqlstore.Store
	// writer has a single connection: SQLite allows one writer at a time, and
	// queueing writers in the pool is cheaper than spinning on SQLITE_BUSY.
	writer *sql.DB
	reader *sql.DB
}

// Open opens (creating if needed) the database file at path and runs the
// embedded migrations.
func Open(ctx context.Context, path string) (*Store, error) {
	q := url.Values{}
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "busy_timeout(10000)")
	// FULL makes every acknowledged commit durable, also across power loss.
	q.Add("_pragma", "synchronous(FULL)")
	// Immediate: a write transaction takes the write lock when it begins, so
	// what it reads stays true until it commits.
	q.Add("_txlock", "immediate")
	if err := ownerOnly(path); err != nil {
		return nil, err
	}
	dsn := "file:" + path + "?" + q.Encode()
	writer, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	writer.SetMaxOpenConns(1)
	reader, err := sql.Open("sqlite", dsn)
	if err != nil {
		writer.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	// Reads keep every connection they open: a new one costs four pragmas
	// and a read of the schema, and database/sql closes all but two idle
	// ones by default, so concurrent reads would keep reopening them. And
	// the modernc driver parses a statement's SQL on every call unless it is
	// prepared.
	reader.SetMaxOpenConns(readConns)
	reader.SetMaxIdleConns(readConns)
	s := &Store{Store: sqlstore.New(sqlstore.Config{Writer: writer, Reader: reader, Dialect: dialect{}, PrepareReads: true}),
		writer: writer, reader: reader}
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// readConns is how many reads run at once.
const readConns = 8

// ownerOnly creates the database file readable by its owner only, and
// makes an existing one (and its WAL and shared-memory files) so. SQLite
// gives the -wal and -shm files it creates the database file's mode.
func ownerOnly(path string) error {
	if strings.HasPrefix(path, ":") || strings.Contains(path, "mode=memory") {
		return nil
	}
	f, err := os.OpenFile(path, os.O_RDONLY|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("open sqlite %s: %w", path, err)
	}
	f.Close()
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if err := os.Chmod(p, 0o600); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("open sqlite %s: %w", path, err)
		}
	}
	return nil
}

func (s *Store) migrate(ctx context.Context) error {
	conn, err := s.writer.Conn(ctx)
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer conn.Close()
	return sqlstore.Migrate(ctx, conn, migrations, "migrations")
}

// dialect is SQLite's sqlstore.Dialect.
type dialect struct{}

// LockRows returns nothing: SQLite has no row locks, and the store's write
// transactions are immediate, so each already excludes every other writer.
func (dialect) LockRows(string, bool) string { return "" }

// Retryable is false: with immediate transactions on one connection SQLite
// aborts none for a conflict (busy_timeout waits out other processes).
func (dialect) Retryable(error) bool { return false }

// MergeObjects is json_patch, a merge patch: over's keys win (outputs hold
// strings, never the null that would delete a key).
func (dialect) MergeObjects(base, over string) string {
	return "json_patch(" + base + ", " + over + ")"
}

// uniqueIndexes names the unique indexes by the columns SQLite reports in a
// violation ("UNIQUE constraint failed: deployments.target_key").
var uniqueIndexes = map[string]string{
	"deployments.target_key": "deployments_one_active",
}

// UniqueViolation reports a unique or primary key violation and names the
// index from the columns SQLite's message lists.
func (dialect) UniqueViolation(err error) (string, bool) {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return "", false
	}
	if code := se.Code(); code != sqlite3.SQLITE_CONSTRAINT_UNIQUE && code != sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY {
		return "", false
	}
	msg := se.Error()
	cols := msg[strings.LastIndex(msg, "failed: ")+len("failed: "):]
	cols, _, _ = strings.Cut(cols, " (")
	return uniqueIndexes[cols], true
}

// BackupTo writes a consistent copy of the database to path with VACUUM
// INTO, while the store keeps serving: the copy is made in one read
// transaction on a reader connection, so it holds every transaction
// committed before it began and none after, and writers go on meanwhile
// (WAL). path must not exist. The copy is compacted and has no WAL.
func (s *Store) BackupTo(ctx context.Context, path string) error {
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("backup to %s: the file exists", path)
	}
	// VACUUM INTO creates the file with the process's umask; make it the
	// owner's only first (the database holds sealed secrets and state).
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	f.Close()
	if _, err := s.reader.ExecContext(ctx, "VACUUM INTO ?", path); err != nil {
		os.Remove(path)
		return fmt.Errorf("backup to %s: %w", path, err)
	}
	return nil
}

// Verify checks that the file at path is a sound Hadron SQLite database
// without changing it: SQLite's integrity check passes and it has the
// table of applied migrations. It returns how many migrations it has.
func Verify(ctx context.Context, path string) (migrations int, err error) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, fmt.Errorf("verify %s: %w", path, err)
	}
	if !fi.Mode().IsRegular() {
		return 0, fmt.Errorf("verify %s: not a regular file", path)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=query_only(1)")
	if err != nil {
		return 0, fmt.Errorf("verify %s: %w", path, err)
	}
	defer db.Close()
	var result string
	if err := db.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&result); err != nil {
		return 0, fmt.Errorf("verify %s: not a SQLite database: %w", path, err)
	}
	if result != "ok" {
		return 0, fmt.Errorf("verify %s: the integrity check fails: %s", path, result)
	}
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM schema_migrations").Scan(&migrations); err != nil {
		return 0, fmt.Errorf("verify %s: not a Hadron database (no schema_migrations): %w", path, err)
	}
	return migrations, nil
}
