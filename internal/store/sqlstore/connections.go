package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/hadronhq/hadron/internal/store"
)

const connectionColumns = `id, management_account_id, environment_account_id, environment_name, role_arn,
	component_role_arn, codebuild_role_arn, status, client_token, client_request, requested_at, last_modified_at`

func scanConnection(row Row) (*store.Connection, error) {
	var c store.Connection
	var requested, modified int64
	if err := row.Scan(&c.ID, &c.ManagementAccountID, &c.EnvironmentAccount, &c.EnvironmentName, &c.RoleArn,
		&c.ComponentRoleArn, &c.CodebuildRoleArn, &c.Status, &c.ClientToken, &c.ClientRequest, &requested, &modified); err != nil {
		return nil, err
	}
	c.RequestedAt, c.LastModifiedAt = fromMS(requested), fromMS(modified)
	return &c, nil
}

func connectionGet(ctx context.Context, q Querier, id, lock string) (*store.Connection, error) {
	c, err := scanConnection(q.Row(ctx, `SELECT `+connectionColumns+` FROM account_connections WHERE id = $1 `+lock, id))
	if noRows(err) {
		return nil, fmt.Errorf("environment account connection %s: %w", id, store.ErrNotFound)
	}
	return c, err
}

// ConnectionCreate inserts a connection, or returns the one a request with
// the same client token created.
func (s *Store) ConnectionCreate(ctx context.Context, c *store.Connection) error {
	err := s.tx(ctx, func(tx txn) error {
		if c.ClientToken != "" {
			prev, err := scanConnection(tx.QueryRowContext(ctx, `SELECT `+connectionColumns+` FROM account_connections
				WHERE environment_account_id = $1 AND client_token = $2`, c.EnvironmentAccount, c.ClientToken))
			if err == nil {
				*c = *prev
				return nil
			}
			if !noRows(err) {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO account_connections (`+connectionColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
			c.ID, c.ManagementAccountID, c.EnvironmentAccount, c.EnvironmentName, c.RoleArn, c.ComponentRoleArn,
			c.CodebuildRoleArn, c.Status, c.ClientToken, c.ClientRequest, ms(c.RequestedAt), ms(c.LastModifiedAt))
		if s.unique(err) {
			return store.ErrExists
		}
		if err != nil {
			return err
		}
		return tagsReplace(ctx, tx, store.ConnectionKey(c.ID), c.Tags)
	})
	if err != nil {
		return fmt.Errorf("create environment account connection for %s: %w", c.EnvironmentName, err)
	}
	return nil
}

// ConnectionGet reads one connection.
func (s *Store) ConnectionGet(ctx context.Context, id string) (*store.Connection, error) {
	return connectionGet(ctx, s.r, id, "")
}

// ConnectionList lists connections by id.
func (s *Store) ConnectionList(ctx context.Context, f store.ConnectionFilter, page store.Page) ([]*store.Connection, error) {
	where := []string{"id > $1"}
	args := []any{page.After}
	add := func(col string, v string) {
		if v != "" {
			args = append(args, v)
			where = append(where, fmt.Sprintf("%s = $%d", col, len(args)))
		}
	}
	add("management_account_id", f.ManagementAccountID)
	add("environment_account_id", f.EnvironmentAccount)
	add("environment_name", f.EnvironmentName)
	if len(f.Statuses) > 0 {
		for _, st := range f.Statuses {
			args = append(args, st)
		}
		where = append(where, "status IN ("+placeholders(len(args)-len(f.Statuses)+1, len(f.Statuses))+")")
	}
	args = append(args, page.Limit)
	q := fmt.Sprintf(`SELECT %s FROM account_connections WHERE %s ORDER BY id LIMIT $%d`, connectionColumns, strings.Join(where, " AND "), len(args))
	out, err := collect(ctx, s.r, scanConnection, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list environment account connections: %w", err)
	}
	return out, nil
}

// ConnectionUpdate changes a connection in one of the expected statuses.
func (s *Store) ConnectionUpdate(ctx context.Context, p store.ConnectionUpdateParams) (*store.Connection, error) {
	var c *store.Connection
	err := s.tx(ctx, func(tx txn) error {
		var err error
		if c, err = connectionGet(ctx, tx, p.ID, s.lock("")); err != nil {
			return err
		}
		if len(p.From) > 0 && !slices.Contains(p.From, c.Status) {
			return fmt.Errorf("connection is %s: %w", c.Status, store.ErrStatusChanged)
		}
		_, err = tx.ExecContext(ctx, `UPDATE account_connections SET status = coalesce($2, status),
			role_arn = coalesce($3, role_arn), component_role_arn = coalesce($4, component_role_arn),
			codebuild_role_arn = coalesce($5, codebuild_role_arn), last_modified_at = $6 WHERE id = $1`,
			p.ID, p.Status, p.RoleArn, p.ComponentRoleArn, p.CodebuildRoleArn, ms(p.At))
		if s.unique(err) {
			return store.ErrExists
		}
		if err != nil {
			return err
		}
		c, err = connectionGet(ctx, tx, p.ID, "")
		return err
	})
	if err != nil {
		return c, fmt.Errorf("update environment account connection %s: %w", p.ID, err)
	}
	return c, nil
}

// ConnectionReject rejects a connection no environment uses, with its row
// locked (SQLite's one writer serialises it the same way): a DeploymentStart
// that puts an environment on it takes the same lock (useConnection) and
// either commits first, and is seen here, or sees REJECTED.
func (s *Store) ConnectionReject(ctx context.Context, p store.ConnectionRejectParams) (*store.Connection, error) {
	var c *store.Connection
	err := s.tx(ctx, func(tx txn) error {
		var err error
		if c, err = connectionGet(ctx, tx, p.ID, s.lock("")); err != nil {
			return err
		}
		if len(p.From) > 0 && !slices.Contains(p.From, c.Status) {
			return fmt.Errorf("connection is %s: %w", c.Status, store.ErrStatusChanged)
		}
		users, err := collect(ctx, tx, scanString, `SELECT key FROM resources WHERE account_connection_id = $1 ORDER BY key LIMIT 3`, p.ID)
		if err != nil {
			return err
		}
		if len(users) > 0 {
			return &store.UsedByError{Users: users}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE account_connections SET status = $2, last_modified_at = $3 WHERE id = $1`,
			p.ID, store.ConnectionRejected, ms(p.At)); err != nil {
			return err
		}
		c, err = connectionGet(ctx, tx, p.ID, "")
		return err
	})
	if err != nil {
		return c, fmt.Errorf("reject environment account connection %s: %w", p.ID, err)
	}
	return c, nil
}

// useConnection records, in a transaction that starts a deployment or
// changes a resource, the environment account connection the resource uses
// (nil: unchanged): the connection's row is locked and must be CONNECTED
// (ErrConnectionUnusable), as ConnectionReject checks under the same lock.
func (s *Store) useConnection(ctx context.Context, tx txn, key string, id *string) error {
	if id == nil {
		return nil
	}
	if *id != "" {
		c, err := connectionGet(ctx, tx, *id, s.lock(""))
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("connection %s is gone: %w", *id, store.ErrConnectionUnusable)
		}
		if err != nil {
			return err
		}
		if c.Status != store.ConnectionConnected {
			return fmt.Errorf("connection %s is %s: %w", *id, c.Status, store.ErrConnectionUnusable)
		}
	}
	_, err := tx.ExecContext(ctx, `UPDATE resources SET account_connection_id = $2 WHERE key = $1`, key, *id)
	return err
}

// ConnectionDelete deletes a connection and its tags.
func (s *Store) ConnectionDelete(ctx context.Context, id string) (*store.Connection, error) {
	var c *store.Connection
	err := s.tx(ctx, func(tx txn) error {
		var err error
		if c, err = connectionGet(ctx, tx, id, s.lock("")); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM account_connections WHERE id = $1`, id); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM tags WHERE resource_key = $1`, store.ConnectionKey(id))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("delete environment account connection %s: %w", id, err)
	}
	return c, nil
}
