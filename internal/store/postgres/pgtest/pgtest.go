// Package pgtest gives tests a PostgreSQL database or schema of their own on
// the server named by HADRON_TEST_POSTGRES_URL, and skips them with a message
// saying so when it is not set.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvURL names the environment variable holding the test server's URL, such
// as postgres://hadron:hadron@127.0.0.1:5432/hadron_test. The role needs
// CREATEDB for Database; Schema needs only CREATE on the database.
const EnvURL = "HADRON_TEST_POSTGRES_URL"

// URL returns the test server's URL, or skips t when none is configured.
func URL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(EnvURL)
	if u == "" {
		t.Skipf("skipping: no PostgreSQL to test against (set %s=postgres://user:pass@host:port/db; .ci/run does)", EnvURL)
	}
	return u
}

// Schema creates a schema of its own for t and returns a URL whose
// search_path selects it. The schema is dropped when t ends.
func Schema(t testing.TB) string {
	t.Helper()
	base := URL(t)
	name := "t_" + random()
	admin(t, base, `CREATE SCHEMA `+pgx.Identifier{name}.Sanitize())
	t.Cleanup(func() { admin(t, base, `DROP SCHEMA `+pgx.Identifier{name}.Sanitize()+` CASCADE`) })
	return withParam(t, base, "search_path", name)
}

// Database creates a database of its own for t and returns its URL. The
// database is dropped when t ends, its connections closed first.
func Database(t testing.TB) string {
	t.Helper()
	base := URL(t)
	name := "hadron_t_" + random()
	admin(t, base, `CREATE DATABASE `+pgx.Identifier{name}.Sanitize())
	t.Cleanup(func() { dropDatabase(t, base, name) })
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s: %v", EnvURL, err)
	}
	u.Path = "/" + name
	return u.String()
}

// dropDatabase drops the database, closing its connections. FORCE refuses
// to end a backend the role may not signal, and an autovacuum worker busy in
// the database is one (SQLSTATE 42501, unless the role has
// pg_signal_backend); on a loaded machine the drop can also outlast its
// timeout. Both pass, so the drop is tried again for a while; a database
// that still cannot be dropped is left behind with a log line, since the
// test itself has passed or failed by then.
func dropDatabase(t testing.TB, base, name string) {
	t.Helper()
	sql := `DROP DATABASE ` + pgx.Identifier{name}.Sanitize() + ` WITH (FORCE)`
	deadline := time.Now().Add(90 * time.Second)
	for {
		err := exec(base, sql)
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Logf("leaving test database %s behind: %v", name, err)
			return
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// admin runs one statement on the base database.
func admin(t testing.TB, base, sql string) {
	t.Helper()
	if err := exec(base, sql); err != nil {
		t.Fatal(err)
	}
}

func exec(base, sql string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", EnvURL, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		return fmt.Errorf("%s: %w", sql, err)
	}
	return nil
}

func withParam(t testing.TB, base, key, value string) string {
	t.Helper()
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s is not a URL: %v", EnvURL, err)
	}
	q := u.Query()
	q.Set(key, value)
	u.RawQuery = q.Encode()
	return u.String()
}

func random() string {
	var b [6]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
