package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/hadronhq/hadron/internal/store"
)

const templateSyncColumns = `c.kind, c.template_name, c.repository_key, r.provider, r.name, c.branch, c.subdirectory, c.created_at, c.last_modified_at`

const templateSyncFrom = ` FROM template_sync_configs c JOIN repositories r ON r.key = c.repository_key`

func scanTemplateSync(row Row) (*store.TemplateSyncConfig, error) {
	var c store.TemplateSyncConfig
	var created, modified int64
	if err := row.Scan(&c.Kind, &c.TemplateName, &c.Repository, &c.Provider, &c.RepositoryName, &c.Branch, &c.Subdirectory, &created, &modified); err != nil {
		return nil, err
	}
	c.CreatedAt, c.LastModifiedAt = fromMS(created), fromMS(modified)
	return &c, nil
}

func templateSyncGet(ctx context.Context, q Querier, kind, name string) (*store.TemplateSyncConfig, error) {
	c, err := scanTemplateSync(q.Row(ctx, `SELECT `+templateSyncColumns+templateSyncFrom+` WHERE c.kind = $1 AND c.template_name = $2`, kind, name))
	if noRows(err) {
		return nil, fmt.Errorf("%s template %s sync config: %w", kind, name, store.ErrNotFound)
	}
	return c, err
}

// TemplateSyncConfigCreate inserts a config. The template and the
// repository are locked first (see lockRepository), so that neither can be
// deleted under it.
func (s *Store) TemplateSyncConfigCreate(ctx context.Context, c *store.TemplateSyncConfig) error {
	err := s.tx(ctx, func(tx txn) error {
		if _, err := templateGet(ctx, tx, c.Kind, c.TemplateName, s.lock("t")); err != nil {
			return err
		}
		if err := s.lockRepository(ctx, tx, c.Repository); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO template_sync_configs (kind, template_name, repository_key, branch, subdirectory, created_at, last_modified_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, c.Kind, c.TemplateName, c.Repository, c.Branch, c.Subdirectory, ms(c.CreatedAt), ms(c.LastModifiedAt)); err != nil {
			return err
		}
		got, err := templateSyncGet(ctx, tx, c.Kind, c.TemplateName)
		if err == nil {
			*c = *got
		}
		return err
	})
	if s.unique(err) {
		return fmt.Errorf("create %s template %s sync config: %w", c.Kind, c.TemplateName, store.ErrExists)
	}
	if err != nil {
		return fmt.Errorf("create %s template %s sync config: %w", c.Kind, c.TemplateName, err)
	}
	return nil
}

// TemplateSyncConfigGet reads a template's config.
func (s *Store) TemplateSyncConfigGet(ctx context.Context, kind, name string) (*store.TemplateSyncConfig, error) {
	return templateSyncGet(ctx, s.r, kind, name)
}

// TemplateSyncConfigUpdate changes a config's repository, branch and
// subdirectory, and fills c in as it is after the change.
func (s *Store) TemplateSyncConfigUpdate(ctx context.Context, c *store.TemplateSyncConfig) error {
	err := s.tx(ctx, func(tx txn) error {
		if err := s.lockRepository(ctx, tx, c.Repository); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE template_sync_configs SET repository_key = $3, branch = $4, subdirectory = $5, last_modified_at = $6
			WHERE kind = $1 AND template_name = $2`, c.Kind, c.TemplateName, c.Repository, c.Branch, c.Subdirectory, ms(c.LastModifiedAt))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return store.ErrNotFound
		}
		got, err := templateSyncGet(ctx, tx, c.Kind, c.TemplateName)
		if err == nil {
			*c = *got
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("update %s template %s sync config: %w", c.Kind, c.TemplateName, err)
	}
	return nil
}

// TemplateSyncConfigDelete deletes a template's config and returns it.
func (s *Store) TemplateSyncConfigDelete(ctx context.Context, kind, name string) (*store.TemplateSyncConfig, error) {
	var c *store.TemplateSyncConfig
	err := s.tx(ctx, func(tx txn) error {
		var err error
		if c, err = templateSyncGet(ctx, tx, kind, name); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM template_sync_configs WHERE kind = $1 AND template_name = $2`, kind, name)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("delete %s template %s sync config: %w", kind, name, err)
	}
	return c, nil
}

// TemplateSyncConfigList lists every config by kind and template name.
func (s *Store) TemplateSyncConfigList(ctx context.Context) ([]*store.TemplateSyncConfig, error) {
	out, err := collect(ctx, s.r, scanTemplateSync, `SELECT `+templateSyncColumns+templateSyncFrom+` ORDER BY c.kind, c.template_name`)
	if err != nil {
		return nil, fmt.Errorf("list template sync configs: %w", err)
	}
	return out, nil
}

// syncDefinitions are the queries that list what a repository (its key is
// $1) drives, by sync type, each returning branch, directory, parent and
// target. This is the one place that knows where each sync type keeps its
// configs: service sync adds its query here.
var syncDefinitions = map[string]string{
	store.SyncTypeTemplate: `SELECT branch, subdirectory, template_name, template_name FROM template_sync_configs WHERE repository_key = $1`,
	// A service's proton-ops file: the service is both parent and target.
	store.SyncTypeService: `SELECT branch, file_path, service_name, service_name FROM service_sync_configs WHERE repository_key = $1`,
}

// SyncDefinitionList lists what a repository drives for syncType.
func (s *Store) SyncDefinitionList(ctx context.Context, syncType, repository string) ([]store.SyncDefinition, error) {
	q, ok := syncDefinitions[syncType]
	if !ok { // a sync type no config holds yet
		return nil, nil
	}
	out, err := collect(ctx, s.r, func(row Row) (store.SyncDefinition, error) {
		var d store.SyncDefinition
		return d, row.Scan(&d.Branch, &d.Directory, &d.Parent, &d.Target)
	}, `SELECT * FROM (`+q+`) d ORDER BY 1, 2, 4`, repository)
	if err != nil {
		return nil, fmt.Errorf("list %s definitions of %s: %w", syncType, repository, err)
	}
	return out, nil
}

// SyncLeaseClaim takes or renews the lease on a branch in one conditional
// upsert: the row's owner changes only when it is p.Owner already or its
// lease expired.
func (s *Store) SyncLeaseClaim(ctx context.Context, p store.SyncLeaseParams) (bool, error) {
	res, err := s.w.ExecContext(ctx, `INSERT INTO sync_branches (repository_key, branch, lease_owner, lease_expires_at)
		VALUES ($1, $2, $3, $4)
		ON CONFLICT (repository_key, branch) DO UPDATE SET lease_owner = excluded.lease_owner, lease_expires_at = excluded.lease_expires_at
		WHERE sync_branches.lease_owner = excluded.lease_owner OR sync_branches.lease_owner = '' OR sync_branches.lease_expires_at < $5`,
		p.Repository, p.Branch, p.Owner, ms(p.Expires), ms(p.Now))
	if err != nil {
		return false, fmt.Errorf("claim sync lease on %s branch %s: %w", p.Repository, p.Branch, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("claim sync lease on %s branch %s: %w", p.Repository, p.Branch, err)
	}
	return n == 1, nil
}

// SyncLeaseRelease gives up owner's lease on a branch.
func (s *Store) SyncLeaseRelease(ctx context.Context, repository, branch, owner string) error {
	_, err := s.w.ExecContext(ctx, `UPDATE sync_branches SET lease_owner = '', lease_expires_at = 0
		WHERE repository_key = $1 AND branch = $2 AND lease_owner = $3`, repository, branch, owner)
	if err != nil {
		return fmt.Errorf("release sync lease on %s branch %s: %w", repository, branch, err)
	}
	return nil
}

// SyncHeadGet returns the last commit syncType handled on a branch.
func (s *Store) SyncHeadGet(ctx context.Context, repository, branch, syncType string) (string, error) {
	var commit string
	err := s.r.Row(ctx, `SELECT commit_id FROM sync_heads WHERE repository_key = $1 AND branch = $2 AND sync_type = $3`,
		repository, branch, syncType).Scan(&commit)
	if noRows(err) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read %s head of %s branch %s: %w", syncType, repository, branch, err)
	}
	return commit, nil
}

// SyncHeadsForget forgets the commits syncType handled on repository's
// branches.
func (s *Store) SyncHeadsForget(ctx context.Context, repository, syncType string) error {
	return s.tx(ctx, func(tx txn) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM sync_heads WHERE repository_key = $1 AND sync_type = $2`, repository, syncType); err != nil {
			return fmt.Errorf("forget %s heads of %s: %w", syncType, repository, err)
		}
		return nil
	})
}

// eventsInsert inserts the events of attempt id into table.
func eventsInsert(ctx context.Context, tx txn, table string, id int64, events []store.SyncEvent) error {
	for i, e := range events {
		if _, err := tx.ExecContext(ctx, `INSERT INTO `+table+` (attempt_id, seq, type, event, external_id, at) VALUES ($1, $2, $3, $4, $5, $6)`,
			id, i, e.Type, e.Event, e.ExternalID, ms(e.At)); err != nil {
			return err
		}
	}
	return nil
}

// eventsGet reads the events of attempt id from table.
func eventsGet(ctx context.Context, q Querier, table string, id int64) ([]store.SyncEvent, error) {
	return collect(ctx, q, func(row Row) (store.SyncEvent, error) {
		var e store.SyncEvent
		var at int64
		err := row.Scan(&e.Type, &e.Event, &e.ExternalID, &at)
		e.At = fromMS(at)
		return e, err
	}, `SELECT type, event, external_id, at FROM `+table+` WHERE attempt_id = $1 ORDER BY seq`, id)
}

// RepositorySyncAttemptAdd records a finished attempt, and its commit as
// the branch's head when it succeeded.
func (s *Store) RepositorySyncAttemptAdd(ctx context.Context, a *store.RepositorySyncAttempt) error {
	err := s.tx(ctx, func(tx txn) error {
		if err := tx.QueryRowContext(ctx, `INSERT INTO repository_sync_attempts (repository_key, branch, sync_type, commit_id, status, started_at)
			VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`, a.Repository, a.Branch, a.SyncType, a.Commit, a.Status, ms(a.StartedAt)).Scan(&a.ID); err != nil {
			return err
		}
		if err := eventsInsert(ctx, tx, "repository_sync_events", a.ID, a.Events); err != nil {
			return err
		}
		if a.Status != store.SyncSucceeded {
			return nil
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO sync_heads (repository_key, branch, sync_type, commit_id, handled_at) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (repository_key, branch, sync_type) DO UPDATE SET commit_id = excluded.commit_id, handled_at = excluded.handled_at`,
			a.Repository, a.Branch, a.SyncType, a.Commit, ms(a.StartedAt))
		return err
	})
	if err != nil {
		return fmt.Errorf("record %s attempt on %s branch %s: %w", a.SyncType, a.Repository, a.Branch, err)
	}
	return nil
}

// RepositorySyncAttemptLatest returns the latest attempt of syncType on a branch.
func (s *Store) RepositorySyncAttemptLatest(ctx context.Context, repository, branch, syncType string) (*store.RepositorySyncAttempt, error) {
	a := store.RepositorySyncAttempt{Repository: repository, Branch: branch, SyncType: syncType}
	var started int64
	err := s.r.Row(ctx, `SELECT id, commit_id, status, started_at FROM repository_sync_attempts
		WHERE repository_key = $1 AND branch = $2 AND sync_type = $3 ORDER BY id DESC LIMIT 1`, repository, branch, syncType).
		Scan(&a.ID, &a.Commit, &a.Status, &started)
	if noRows(err) {
		return nil, fmt.Errorf("%s attempt on %s branch %s: %w", syncType, repository, branch, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s attempt on %s branch %s: %w", syncType, repository, branch, err)
	}
	a.StartedAt = fromMS(started)
	if a.Events, err = eventsGet(ctx, s.r, "repository_sync_events", a.ID); err != nil {
		return nil, fmt.Errorf("read %s attempt on %s branch %s: %w", syncType, repository, branch, err)
	}
	return &a, nil
}

// ResourceSyncAttemptAdd records a finished resource sync attempt with
// what it registered, in one transaction.
func (s *Store) ResourceSyncAttemptAdd(ctx context.Context, p store.ResourceSyncAttemptAddParams) error {
	a := p.Attempt
	err := s.tx(ctx, func(tx txn) error {
		if v := p.Version; v != nil {
			if _, err := templateGet(ctx, tx, v.Kind, v.TemplateName, s.lock("t")); err != nil {
				return err
			}
			if err := versionInsert(ctx, tx, v); err != nil {
				return err
			}
			if p.Major != nil {
				p.Major.Major, p.Major.Minor = v.Major, v.Minor
			}
		}
		if m := p.Major; m != nil {
			if _, err := tx.ExecContext(ctx, `INSERT INTO template_sync_majors (kind, template_name, major, digest, commit_id, minor, synced_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7)
				ON CONFLICT (kind, template_name, major) DO UPDATE SET digest = excluded.digest, commit_id = excluded.commit_id,
					minor = excluded.minor, synced_at = excluded.synced_at`,
				m.Kind, m.TemplateName, m.Major, m.Digest, m.Commit, m.Minor, ms(m.SyncedAt)); err != nil {
				return err
			}
		}
		initial := ""
		if a.Initial != nil {
			b, err := json.Marshal(a.Initial)
			if err != nil {
				return err
			}
			initial = string(b)
		}
		target, err := json.Marshal(a.TargetRevision)
		if err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, `INSERT INTO resource_sync_attempts (sync_type, target_key, target, status, initial_revision, target_revision, started_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`, a.SyncType, a.TargetKey, a.Target, a.Status, initial, string(target), ms(a.StartedAt)).Scan(&a.ID); err != nil {
			return err
		}
		return eventsInsert(ctx, tx, "resource_sync_events", a.ID, a.Events)
	})
	if err != nil {
		return fmt.Errorf("record %s attempt on %s: %w", a.SyncType, a.TargetKey, err)
	}
	return nil
}

// ResourceSyncAttemptLatest returns the latest attempt on targetKey, in
// status when status is not "".
func (s *Store) ResourceSyncAttemptLatest(ctx context.Context, syncType, targetKey, status string) (*store.ResourceSyncAttempt, error) {
	a := store.ResourceSyncAttempt{SyncType: syncType, TargetKey: targetKey}
	var started int64
	var initial, target string
	err := s.r.Row(ctx, `SELECT id, target, status, initial_revision, target_revision, started_at FROM resource_sync_attempts
		WHERE sync_type = $1 AND target_key = $2 AND ($3 = '' OR status = $3) ORDER BY id DESC LIMIT 1`, syncType, targetKey, status).
		Scan(&a.ID, &a.Target, &a.Status, &initial, &target, &started)
	if noRows(err) {
		return nil, fmt.Errorf("%s attempt on %s: %w", syncType, targetKey, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s attempt on %s: %w", syncType, targetKey, err)
	}
	a.StartedAt = fromMS(started)
	if initial != "" {
		a.Initial = &store.Revision{}
		if err := json.Unmarshal([]byte(initial), a.Initial); err != nil {
			return nil, fmt.Errorf("read %s attempt on %s: %w", syncType, targetKey, err)
		}
	}
	if err := json.Unmarshal([]byte(target), &a.TargetRevision); err != nil {
		return nil, fmt.Errorf("read %s attempt on %s: %w", syncType, targetKey, err)
	}
	if a.Events, err = eventsGet(ctx, s.r, "resource_sync_events", a.ID); err != nil {
		return nil, fmt.Errorf("read %s attempt on %s: %w", syncType, targetKey, err)
	}
	return &a, nil
}

// TemplateSyncMajorGet returns what sync last registered of a template major.
func (s *Store) TemplateSyncMajorGet(ctx context.Context, kind, name string, major int) (*store.TemplateSyncMajor, error) {
	m := store.TemplateSyncMajor{Kind: kind, TemplateName: name, Major: major}
	var at int64
	err := s.r.Row(ctx, `SELECT digest, commit_id, minor, synced_at FROM template_sync_majors
		WHERE kind = $1 AND template_name = $2 AND major = $3`, kind, name, major).Scan(&m.Digest, &m.Commit, &m.Minor, &at)
	if noRows(err) {
		return nil, fmt.Errorf("%s template %s major %d sync: %w", kind, name, major, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s template %s major %d sync: %w", kind, name, major, err)
	}
	m.SyncedAt = fromMS(at)
	return &m, nil
}
