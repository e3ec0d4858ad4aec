package sqlstore

import (
	"context"
	"fmt"

	"github.com/hadronhq/hadron/internal/store"
)

const repositoryColumns = `key, provider, name, connection_arn, encryption_key, created_at`

func scanRepository(row Row) (*store.Repository, error) {
	var r store.Repository
	var created int64
	if err := row.Scan(&r.Key, &r.Provider, &r.Name, &r.ConnectionArn, &r.EncryptionKey, &created); err != nil {
		return nil, err
	}
	r.CreatedAt = fromMS(created)
	return &r, nil
}

// repositoryGet reads a repository; lock, when set, is a locking clause such
// as FOR UPDATE.
func repositoryGet(ctx context.Context, q Querier, key, lock string) (*store.Repository, error) {
	r, err := scanRepository(q.Row(ctx, `SELECT `+repositoryColumns+` FROM repositories WHERE key = $1 `+lock, key))
	if noRows(err) {
		return nil, fmt.Errorf("repository %s: %w", key, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get repository %s: %w", key, err)
	}
	return r, nil
}

// RepositoryCreate inserts a repository with its tags; ErrExists when the
// key is taken.
func (s *Store) RepositoryCreate(ctx context.Context, r *store.Repository) error {
	err := s.tx(ctx, func(tx txn) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO repositories (`+repositoryColumns+`) VALUES ($1, $2, $3, $4, $5, $6)`,
			r.Key, r.Provider, r.Name, r.ConnectionArn, r.EncryptionKey, ms(r.CreatedAt))
		if err != nil {
			return err
		}
		return tagsReplace(ctx, tx, r.Key, r.Tags)
	})
	if s.unique(err) {
		return fmt.Errorf("create repository %s: %w", r.Key, store.ErrExists)
	}
	if err != nil {
		return fmt.Errorf("create repository %s: %w", r.Key, err)
	}
	return nil
}

// RepositoryGet reads one repository.
func (s *Store) RepositoryGet(ctx context.Context, key string) (*store.Repository, error) {
	return repositoryGet(ctx, s.r, key, "")
}

// RepositoryList lists repositories ordered by key.
func (s *Store) RepositoryList(ctx context.Context, page store.Page) ([]*store.Repository, error) {
	out, err := collect(ctx, s.r, scanRepository, `SELECT `+repositoryColumns+` FROM repositories
		WHERE key > $1 ORDER BY key LIMIT $2`, page.After, page.Limit)
	if err != nil {
		return nil, fmt.Errorf("list repositories: %w", err)
	}
	return out, nil
}

// maxUsersNamed is how many users a refused RepositoryDelete names.
const maxUsersNamed = 5

// repositoryUsers are the queries that find what uses a repository (its
// key is $1), each returning user keys in order; RepositoryDelete refuses
// while any returns a row, and this is the one place that knows what may
// use a repository. Every record that references a repository gets a query
// here, and the write that sets the reference calls lockRepository (a
// table also gets a foreign key to repositories (key) in its migration),
// so that a reference to a repository being deleted is refused. Template
// sync configs are here; service sync configs add theirs.
var repositoryUsers = []string{
	// A resource's provisioningRepository (self-managed provisioning).
	`SELECT key FROM resources WHERE repository_key = $1 ORDER BY key`,
	// The account's pipelineProvisioningRepository.
	`SELECT '` + store.SettingPipelineRepositoryUser + `' FROM settings WHERE key = '` + store.SettingPipelineRepository + `' AND value = $1`,
	// A service sync configuration (the key names its service's sync config).
	`SELECT 'service-sync-config/' || service_name FROM service_sync_configs WHERE repository_key = $1 ORDER BY service_name`,
	// Template sync configs, named by their template's key.
	`SELECT kind || '-template/' || template_name FROM template_sync_configs WHERE repository_key = $1 ORDER BY kind, template_name`,
}

// RepositoryDelete deletes a repository nothing uses. The repository row is
// locked first, as a resource being pointed at it locks it (see
// lockRepository): either the resource is counted as a user, or it is
// refused for want of its repository.
func (s *Store) RepositoryDelete(ctx context.Context, key string) (*store.Repository, error) {
	var r *store.Repository
	err := s.tx(ctx, func(tx txn) error {
		var err error
		if r, err = repositoryGet(ctx, tx, key, s.lock("")); err != nil {
			return err
		}
		var users []string
		for _, q := range repositoryUsers {
			keys, err := collect(ctx, tx, scanString, q+` LIMIT $2`, key, maxUsersNamed-len(users))
			if err != nil {
				return err
			}
			if users = append(users, keys...); len(users) == maxUsersNamed {
				break
			}
		}
		if len(users) > 0 {
			return &store.UsedByError{Users: users}
		}
		if _, err = tx.ExecContext(ctx, `DELETE FROM repositories WHERE key = $1`, key); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM tags WHERE resource_key = $1`, key)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("delete repository %s: %w", key, err)
	}
	return r, nil
}

// lockRepository, in a transaction that points a record at repository
// key, checks that the repository exists and keeps it until the
// transaction ends (a row lock where the database has them), so that a
// concurrent RepositoryDelete sees the record or the record sees the
// repository gone. ErrNotFound when there is no such repository; "" needs
// no repository.
func (s *Store) lockRepository(ctx context.Context, tx txn, key string) error {
	if key == "" {
		return nil
	}
	_, err := repositoryGet(ctx, tx, key, s.lock(""))
	return err
}

// nullable is the SQL value of a reference: NULL for "".
func nullable(key string) any {
	if key == "" {
		return nil
	}
	return key
}
