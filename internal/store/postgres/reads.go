package postgres

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/hadronhq/hadron/internal/store/sqlstore"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
)

// reads runs the store's reads outside transactions on pgx itself, on a
// connection checked out of database/sql's pool. database/sql's own query
// path adds, to every read, a goroutine watching the query's context and a
// second conversion of every value (pgx's to driver.Value, then to the
// destination): 3.5 times the allocations of a point read and half again
// its client CPU, which made PostgreSQL's reads slower than before the
// stores shared their SQL (BenchmarkReadsAgainstDirectPgx, bench/README.md). The checkout is database/sql's, so a
// connection the server dropped is still found out (shouldPing) and replaced
// before a read is sent on it, and one pgx closed after a failure is not
// pooled again.
type reads struct{ db *sql.DB }

var _ sqlstore.Querier = reads{}

// Row runs the query when its row is scanned, as database/sql's QueryRow
// does: the connection is held only for the scan.
func (r reads) Row(ctx context.Context, query string, args ...any) sqlstore.Row {
	return &row{r: r, ctx: ctx, query: query, args: args}
}

func (r reads) Each(ctx context.Context, fn func(sqlstore.Row) error, query string, args ...any) error {
	return r.on(ctx, func(c *pgx.Conn) error {
		rows, err := c.Query(ctx, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		return sqlstore.EachRow(rows, fn)
	})
}

// on runs f on a pooled connection's pgx.Conn.
func (r reads) on(ctx context.Context, f func(*pgx.Conn) error) error {
	conn, err := r.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok { // only if Open stopped using pgx's stdlib driver
			return fmt.Errorf("postgres reads: a %T is not pgx's stdlib connection", dc)
		}
		return f(c.Conn())
	})
}

// row is a point read waiting for its scan. pgx's ErrNoRows is
// sql.ErrNoRows (errors.Is), as sqlstore expects.
type row struct {
	r     reads
	ctx   context.Context
	query string
	args  []any
}

func (w *row) Scan(dest ...any) error {
	return w.r.on(w.ctx, func(c *pgx.Conn) error {
		return c.QueryRow(w.ctx, w.query, w.args...).Scan(dest...)
	})
}
