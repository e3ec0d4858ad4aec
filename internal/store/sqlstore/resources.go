package sqlstore

import (
	"cmp"
	"context"
	"fmt"
	"strings"

	"github.com/hadronhq/hadron/internal/store"
)

const resourceColumns = `key, type, name, service_name, environment_name, description, template_name,
	template_major, template_minor, spec, settings, outputs, deployment_status, deployment_status_message,
	last_attempted_deployment_id, last_succeeded_deployment_id, last_deployment_attempted_at,
	last_deployment_succeeded_at, last_client_request_token, last_client_request, coalesce(repository_key, ''), created_at, last_modified_at`

func scanResource(row Row) (*store.Resource, error) {
	var r store.Resource
	var attempted, succeeded, created, modified int64
	err := row.Scan(&r.Key, &r.Type, &r.Name, &r.ServiceName, &r.EnvironmentName, &r.Description, &r.TemplateName,
		&r.TemplateMajor, &r.TemplateMinor, &r.Spec, &r.Settings, &r.Outputs, &r.DeploymentStatus, &r.DeploymentStatusMessage,
		&r.LastAttemptedDeploymentID, &r.LastSucceededDeploymentID, &attempted, &succeeded, &r.LastClientRequestToken,
		&r.LastClientRequest, &r.Repository, &created, &modified)
	if err != nil {
		return nil, err
	}
	r.LastDeploymentAttemptedAt, r.LastDeploymentSucceededAt = fromMS(attempted), fromMS(succeeded)
	r.CreatedAt, r.LastModifiedAt = fromMS(created), fromMS(modified)
	return &r, nil
}

// resourceGet reads a resource; lock, when set, is a locking clause such as
// FOR UPDATE.
func resourceGet(ctx context.Context, q Querier, key, lock string) (*store.Resource, error) {
	r, err := scanResource(q.Row(ctx, `SELECT `+resourceColumns+` FROM resources WHERE key = $1 `+lock, key))
	if noRows(err) {
		return nil, fmt.Errorf("resource %s: %w", key, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get resource %s: %w", key, err)
	}
	return r, nil
}

// resourceInsert inserts a new resource showing the given deployment status;
// ErrNotFound when it names a repository that does not exist.
func (s *Store) resourceInsert(ctx context.Context, tx txn, c *store.Resource, status string) error {
	if err := s.lockRepository(ctx, tx, c.Repository); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO resources (key, type, name, service_name, environment_name,
		description, template_name, template_major, template_minor, spec, settings, outputs, deployment_status,
		last_client_request_token, repository_key, created_at, last_modified_at, last_client_request)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)`,
		c.Key, c.Type, c.Name, c.ServiceName, c.EnvironmentName, c.Description, c.TemplateName, c.TemplateMajor,
		c.TemplateMinor, c.Spec, cmp.Or(c.Settings, "{}"), cmp.Or(c.Outputs, "{}"), status, c.LastClientRequestToken,
		nullable(c.Repository), ms(c.CreatedAt), ms(c.LastModifiedAt), c.LastClientRequest)
	if s.unique(err) {
		return fmt.Errorf("resource %s: %w", c.Key, store.ErrExists)
	}
	if err != nil {
		return err
	}
	return tagsReplace(ctx, tx, c.Key, c.Tags)
}

// ResourceGet reads one resource by key.
func (s *Store) ResourceGet(ctx context.Context, key string) (*store.Resource, error) {
	return resourceGet(ctx, s.r, key, "")
}

// ResourceList lists resources ordered by key.
func (s *Store) ResourceList(ctx context.Context, f store.ResourceFilter, page store.Page) ([]*store.Resource, error) {
	q, args := resourceListQuery(f, page)
	out, err := collect(ctx, s.r, scanResource, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list resources: %w", err)
	}
	return out, nil
}

// resourceListQuery is ResourceList's SELECT and its arguments.
func resourceListQuery(f store.ResourceFilter, page store.Page) (string, []any) {
	where := []string{"key > $1"}
	args := []any{page.After}
	add := func(cond string, vals ...any) {
		for i := range vals {
			cond = strings.Replace(cond, "?", fmt.Sprintf("$%d", len(args)+i+1), 1)
		}
		where = append(where, cond)
		args = append(args, vals...)
	}
	if f.Type != "" {
		add("type = ?", f.Type)
	}
	if f.ServiceName != "" {
		add("service_name = ?", f.ServiceName)
	}
	if f.EnvironmentName != "" {
		add("environment_name = ?", f.EnvironmentName)
	}
	if len(f.Templates) > 0 {
		var ors []string
		var vals []any
		for _, t := range f.Templates {
			ors = append(ors, "(template_name = ? AND template_major = ?)")
			vals = append(vals, t.Name, t.Major)
		}
		add("("+strings.Join(ors, " OR ")+")", vals...)
	}
	if f.NameContains != "" {
		add(`lower(name) LIKE ? ESCAPE '\'`, "%"+likeEscape(strings.ToLower(f.NameContains))+"%")
	}
	if len(f.Statuses) > 0 {
		add("deployment_status IN ("+strings.TrimSuffix(strings.Repeat("?, ", len(f.Statuses)), ", ")+")", anys(f.Statuses)...)
	}
	args = append(args, page.Limit)
	q := fmt.Sprintf(`SELECT %s FROM resources WHERE %s ORDER BY key LIMIT $%d`, resourceColumns, strings.Join(where, " AND "), len(args))
	return q, args
}

// ResourceUpdateMetadata changes description, settings and repository of an
// idle resource.
func (s *Store) ResourceUpdateMetadata(ctx context.Context, p store.ResourceUpdateMetadataParams) (*store.Resource, error) {
	key, description, settings, at := p.Key, p.Description, p.Settings, p.At
	var r *store.Resource
	err := s.tx(ctx, func(tx txn) error {
		var err error
		if r, err = resourceGet(ctx, tx, key, s.lock("")); err != nil {
			return err
		}
		if store.IsActive(r.DeploymentStatus) {
			return fmt.Errorf("deployment %s is %s: %w", r.LastAttemptedDeploymentID, r.DeploymentStatus, store.ErrActiveDeployment)
		}
		if err := s.setRepository(ctx, tx, key, p.Repository); err != nil {
			return err
		}
		if err := s.useConnection(ctx, tx, key, p.Connection); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE resources SET description = coalesce($2, description),
			settings = coalesce($3, settings), last_modified_at = $4 WHERE key = $1`, key, description, settings, ms(at)); err != nil {
			return err
		}
		r, err = resourceGet(ctx, tx, key, "")
		return err
	})
	if err != nil {
		return r, fmt.Errorf("update resource %s: %w", key, err)
	}
	return r, nil
}

// likeEscape quotes LIKE's wildcards (and its escape character, \) in s.
func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(s)
}

func anys(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// setRepository points resource key at repository *repo ("" for none) when
// repo is set; ErrNotFound when there is no such repository.
func (s *Store) setRepository(ctx context.Context, tx txn, key string, repo *string) error {
	if repo == nil {
		return nil
	}
	if err := s.lockRepository(ctx, tx, *repo); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `UPDATE resources SET repository_key = $2 WHERE key = $1`, key, nullable(*repo))
	return err
}
