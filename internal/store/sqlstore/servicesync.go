package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/hadronhq/hadron/internal/store"
)

const serviceSyncConfigColumns = `service_name, repository_key, provider, repository_name, branch, file_path, created_at, last_modified_at`

func scanServiceSyncConfig(row Row) (*store.ServiceSyncConfig, error) {
	var c store.ServiceSyncConfig
	var created, modified int64
	if err := row.Scan(&c.ServiceName, &c.Repository, &c.Provider, &c.RepositoryName, &c.Branch, &c.FilePath, &created, &modified); err != nil {
		return nil, err
	}
	c.CreatedAt, c.LastModifiedAt = fromMS(created), fromMS(modified)
	return &c, nil
}

func serviceSyncConfigGet(ctx context.Context, q Querier, service string) (*store.ServiceSyncConfig, error) {
	c, err := scanServiceSyncConfig(q.Row(ctx, `SELECT `+serviceSyncConfigColumns+` FROM service_sync_configs WHERE service_name = $1`, service))
	if noRows(err) {
		return nil, fmt.Errorf("service sync config of %s: %w", service, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get service sync config of %s: %w", service, err)
	}
	return c, nil
}

// ServiceSyncConfigCreate inserts a service sync configuration. The service
// row and the repository row are locked first, so that a concurrent delete
// of either sees the configuration or the configuration sees it gone.
func (s *Store) ServiceSyncConfigCreate(ctx context.Context, c *store.ServiceSyncConfig) error {
	err := s.tx(ctx, func(tx txn) error {
		if _, err := serviceGet(ctx, tx, c.ServiceName, s.lock("")); err != nil {
			return err
		}
		if err := s.lockRepository(ctx, tx, c.Repository); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO service_sync_configs (`+serviceSyncConfigColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			c.ServiceName, c.Repository, c.Provider, c.RepositoryName, c.Branch, c.FilePath, ms(c.CreatedAt), ms(c.LastModifiedAt))
		if s.unique(err) {
			return store.ErrExists
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("create service sync config of %s: %w", c.ServiceName, err)
	}
	return nil
}

// ServiceSyncConfigGet reads a service's sync configuration.
func (s *Store) ServiceSyncConfigGet(ctx context.Context, service string) (*store.ServiceSyncConfig, error) {
	return serviceSyncConfigGet(ctx, s.r, service)
}

// ServiceSyncConfigList lists sync configurations by service name.
func (s *Store) ServiceSyncConfigList(ctx context.Context, f store.ServiceSyncConfigFilter, page store.Page) ([]*store.ServiceSyncConfig, error) {
	out, err := collect(ctx, s.r, scanServiceSyncConfig, `SELECT `+serviceSyncConfigColumns+` FROM service_sync_configs
		WHERE service_name > $1 AND ($2 = '' OR repository_key = $2) AND ($3 = '' OR branch = $3)
		ORDER BY service_name LIMIT $4`, page.After, f.Repository, f.Branch, page.Limit)
	if err != nil {
		return nil, fmt.Errorf("list service sync configs: %w", err)
	}
	return out, nil
}

// ServiceSyncConfigUpdate replaces a configuration's repository, branch and
// file path, locking the repository it names as a create does.
func (s *Store) ServiceSyncConfigUpdate(ctx context.Context, c *store.ServiceSyncConfig) (*store.ServiceSyncConfig, error) {
	var out *store.ServiceSyncConfig
	err := s.tx(ctx, func(tx txn) error {
		if err := s.lockRepository(ctx, tx, c.Repository); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE service_sync_configs SET repository_key = $2, provider = $3, repository_name = $4,
			branch = $5, file_path = $6, last_modified_at = $7 WHERE service_name = $1`,
			c.ServiceName, c.Repository, c.Provider, c.RepositoryName, c.Branch, c.FilePath, ms(c.LastModifiedAt))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return store.ErrNotFound
		}
		out, err = serviceSyncConfigGet(ctx, tx, c.ServiceName)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("update service sync config of %s: %w", c.ServiceName, err)
	}
	return out, nil
}

// ServiceSyncConfigDelete deletes a service's sync configuration and
// returns it.
func (s *Store) ServiceSyncConfigDelete(ctx context.Context, service string) (*store.ServiceSyncConfig, error) {
	var out *store.ServiceSyncConfig
	err := s.tx(ctx, func(tx txn) error {
		var err error
		if out, err = serviceSyncConfigGet(ctx, tx, service); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM service_sync_configs WHERE service_name = $1`, service)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("delete service sync config of %s: %w", service, err)
	}
	return out, nil
}

const syncBlockerColumns = `id, service_name, instance_name, type, status, created_reason, created_at, resolved_reason, resolved_at, contexts`

func scanSyncBlocker(row Row) (*store.SyncBlocker, error) {
	var b store.SyncBlocker
	var created, resolved int64
	var contexts string
	if err := row.Scan(&b.ID, &b.ServiceName, &b.InstanceName, &b.Type, &b.Status, &b.CreatedReason, &created,
		&b.ResolvedReason, &resolved, &contexts); err != nil {
		return nil, err
	}
	b.CreatedAt, b.ResolvedAt = fromMS(created), fromMS(resolved)
	if err := json.Unmarshal([]byte(contexts), &b.Contexts); err != nil {
		return nil, fmt.Errorf("blocker %s contexts: %w", b.ID, err)
	}
	if len(b.Contexts) == 0 {
		b.Contexts = nil
	}
	return &b, nil
}

func syncBlockerGet(ctx context.Context, q Querier, id string) (*store.SyncBlocker, error) {
	b, err := scanSyncBlocker(q.Row(ctx, `SELECT `+syncBlockerColumns+` FROM service_sync_blockers WHERE id = $1`, id))
	if noRows(err) {
		return nil, fmt.Errorf("sync blocker %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get sync blocker %s: %w", id, err)
	}
	return b, nil
}

// SyncBlockerCreate inserts an ACTIVE blocker; the unique partial index
// on ACTIVE blockers refuses a second one on the same target (ErrExists).
func (s *Store) SyncBlockerCreate(ctx context.Context, b *store.SyncBlocker) error {
	contexts, err := json.Marshal(b.Contexts)
	if err != nil {
		return err
	}
	if b.Contexts == nil {
		contexts = []byte("[]")
	}
	err = s.tx(ctx, func(tx txn) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO service_sync_blockers (`+syncBlockerColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			b.ID, b.ServiceName, b.InstanceName, b.Type, store.BlockerActive, b.CreatedReason, ms(b.CreatedAt), "", 0, string(contexts))
		if s.unique(err) {
			return store.ErrExists
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("create sync blocker on %s/%s: %w", b.ServiceName, b.InstanceName, err)
	}
	b.Status = store.BlockerActive
	return nil
}

// SyncBlockerGet reads one blocker.
func (s *Store) SyncBlockerGet(ctx context.Context, id string) (*store.SyncBlocker, error) {
	return syncBlockerGet(ctx, s.r, id)
}

// SyncBlockerList lists the blockers of one target newest first.
func (s *Store) SyncBlockerList(ctx context.Context, f store.SyncBlockerFilter, limit int) ([]*store.SyncBlocker, error) {
	out, err := collect(ctx, s.r, scanSyncBlocker, `SELECT `+syncBlockerColumns+` FROM service_sync_blockers
		WHERE service_name = $1 AND instance_name = $2 AND ($3 = '' OR status = $3)
		ORDER BY created_at DESC, id DESC LIMIT $4`, f.ServiceName, f.InstanceName, f.Status, limit)
	if err != nil {
		return nil, fmt.Errorf("list sync blockers of %s/%s: %w", f.ServiceName, f.InstanceName, err)
	}
	return out, nil
}

// SyncBlockerResolve resolves an ACTIVE blocker with one conditional UPDATE.
func (s *Store) SyncBlockerResolve(ctx context.Context, p store.SyncBlockerResolveParams) (*store.SyncBlocker, error) {
	var out *store.SyncBlocker
	err := s.tx(ctx, func(tx txn) error {
		res, err := tx.ExecContext(ctx, `UPDATE service_sync_blockers SET status = $2, resolved_reason = $3, resolved_at = $4
			WHERE id = $1 AND status = $5`, p.ID, store.BlockerResolved, p.Reason, ms(p.At), store.BlockerActive)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if out, err = syncBlockerGet(ctx, tx, p.ID); err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("blocker is %s: %w", out.Status, store.ErrStatusChanged)
		}
		return nil
	})
	if err != nil {
		return out, fmt.Errorf("resolve sync blocker %s: %w", p.ID, err)
	}
	return out, nil
}

const instanceSyncColumns = `service_name, instance_name, spec_digest, deployment_id, desired, latest_attempt, latest_success, updated_at`

func scanInstanceSync(row Row) (*store.InstanceSync, error) {
	var v store.InstanceSync
	var updated int64
	if err := row.Scan(&v.ServiceName, &v.InstanceName, &v.SpecDigest, &v.DeploymentID, &v.Desired, &v.LatestAttempt,
		&v.LatestSuccess, &updated); err != nil {
		return nil, err
	}
	v.UpdatedAt = fromMS(updated)
	return &v, nil
}

// InstanceSyncGet reads what sync knows of an instance.
func (s *Store) InstanceSyncGet(ctx context.Context, service, instance string) (*store.InstanceSync, error) {
	v, err := scanInstanceSync(s.r.Row(ctx, `SELECT `+instanceSyncColumns+` FROM service_instance_syncs
		WHERE service_name = $1 AND instance_name = $2`, service, instance))
	if noRows(err) {
		return nil, fmt.Errorf("sync of instance %s/%s: %w", service, instance, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get sync of instance %s/%s: %w", service, instance, err)
	}
	return v, nil
}

// InstanceSyncList lists what sync knows of a service's instances.
func (s *Store) InstanceSyncList(ctx context.Context, service string) ([]*store.InstanceSync, error) {
	out, err := collect(ctx, s.r, scanInstanceSync, `SELECT `+instanceSyncColumns+` FROM service_instance_syncs
		WHERE service_name = $1 ORDER BY instance_name`, service)
	if err != nil {
		return nil, fmt.Errorf("list instance syncs of %s: %w", service, err)
	}
	return out, nil
}

// InstanceSyncPut writes what sync knows of an instance (an upsert).
func (s *Store) InstanceSyncPut(ctx context.Context, v *store.InstanceSync) error {
	err := s.tx(ctx, func(tx txn) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO service_instance_syncs (`+instanceSyncColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
			ON CONFLICT (service_name, instance_name) DO UPDATE SET spec_digest = excluded.spec_digest,
				deployment_id = excluded.deployment_id, desired = excluded.desired, latest_attempt = excluded.latest_attempt,
				latest_success = excluded.latest_success, updated_at = excluded.updated_at`,
			v.ServiceName, v.InstanceName, v.SpecDigest, v.DeploymentID, v.Desired, v.LatestAttempt, v.LatestSuccess, ms(v.UpdatedAt))
		return err
	})
	if err != nil {
		return fmt.Errorf("put sync of instance %s/%s: %w", v.ServiceName, v.InstanceName, err)
	}
	return nil
}
