package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/hadronhq/hadron/internal/store"
)

const serviceColumns = `name, description, spec, template_name, template_major, template_minor, status, status_message,
	branch_name, repository_connection_arn, repository_id, operation, created_at, last_modified_at`

func scanService(row Row) (*store.Service, error) {
	var v store.Service
	var created, modified int64
	err := row.Scan(&v.Name, &v.Description, &v.Spec, &v.TemplateName, &v.TemplateMajor, &v.TemplateMinor, &v.Status,
		&v.StatusMessage, &v.BranchName, &v.RepositoryConnectionArn, &v.RepositoryID, &v.Operation, &created, &modified)
	if err != nil {
		return nil, err
	}
	v.CreatedAt, v.LastModifiedAt = fromMS(created), fromMS(modified)
	return &v, nil
}

func serviceGet(ctx context.Context, q Querier, name, lock string) (*store.Service, error) {
	v, err := scanService(q.Row(ctx, `SELECT `+serviceColumns+` FROM services WHERE name = $1 `+lock, name))
	if noRows(err) {
		return nil, fmt.Errorf("service %s: %w", name, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get service %s: %w", name, err)
	}
	return v, nil
}

// ServiceGet reads one service.
func (s *Store) ServiceGet(ctx context.Context, name string) (*store.Service, error) {
	return serviceGet(ctx, s.r, name, "")
}

// ServiceList lists services by name.
func (s *Store) ServiceList(ctx context.Context, page store.Page) ([]*store.Service, error) {
	out, err := collect(ctx, s.r, scanService, `SELECT `+serviceColumns+` FROM services WHERE name > $1 ORDER BY name LIMIT $2`,
		page.After, page.Limit)
	if err != nil {
		return nil, fmt.Errorf("list services: %w", err)
	}
	return out, nil
}

// ServiceSearch lists the services f selects, by name: one indexed walk
// in name order that stops at the page's end.
func (s *Store) ServiceSearch(ctx context.Context, f store.ServiceFilter, page store.Page) ([]*store.Service, error) {
	where := []string{"name > $1"}
	args := []any{page.After}
	if f.NameContains != "" {
		args = append(args, "%"+likeEscape(strings.ToLower(f.NameContains))+"%")
		where = append(where, fmt.Sprintf(`lower(name) LIKE $%d ESCAPE '\'`, len(args)))
	}
	if len(f.Statuses) > 0 {
		var marks []string
		for _, st := range f.Statuses {
			args = append(args, st)
			marks = append(marks, fmt.Sprintf("$%d", len(args)))
		}
		where = append(where, "status IN ("+strings.Join(marks, ", ")+")")
	}
	if f.TemplateName != "" {
		args = append(args, f.TemplateName)
		where = append(where, fmt.Sprintf("template_name = $%d", len(args)))
	}
	args = append(args, page.Limit)
	out, err := collect(ctx, s.r, scanService, fmt.Sprintf(`SELECT %s FROM services WHERE %s ORDER BY name LIMIT $%d`,
		serviceColumns, strings.Join(where, " AND "), len(args)), args...)
	if err != nil {
		return nil, fmt.Errorf("search services: %w", err)
	}
	return out, nil
}

// ServiceChange applies a change of a service, its resources and their
// deployments in one transaction. The service row is locked first, so that
// two nodes driving one service take turns and the compare-and-set on its
// status and operation has one winner.
func (s *Store) ServiceChange(ctx context.Context, p store.ServiceChangeParams) (*store.Service, error) {
	var out *store.Service
	err := s.tx(ctx, func(tx txn) error {
		out = nil
		if c := p.Create; c != nil {
			_, err := tx.ExecContext(ctx, `INSERT INTO services (`+serviceColumns+`)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
				c.Name, c.Description, c.Spec, c.TemplateName, c.TemplateMajor, c.TemplateMinor, c.Status, c.StatusMessage,
				c.BranchName, c.RepositoryConnectionArn, c.RepositoryID, c.Operation, ms(c.CreatedAt), ms(c.LastModifiedAt))
			if s.unique(err) {
				return fmt.Errorf("service %s: %w", c.Name, store.ErrExists)
			}
			if err != nil {
				return err
			}
			if err := tagsReplace(ctx, tx, store.ServiceKey(c.Name), c.Tags); err != nil {
				return err
			}
		}
		cur, err := serviceGet(ctx, tx, p.Name, s.lock(""))
		if err != nil {
			return err
		}
		if p.Create == nil && ((len(p.From) > 0 && !slices.Contains(p.From, cur.Status)) ||
			(p.FromOperation != nil && *p.FromOperation != cur.Operation)) {
			out = cur
			return fmt.Errorf("service is %s: %w", cur.Status, store.ErrStatusChanged)
		}
		for _, r := range p.Resources {
			if err := s.resourceInsert(ctx, tx, r, r.DeploymentStatus); err != nil {
				return err
			}
		}
		for _, key := range p.DeleteResources {
			if _, err := tx.ExecContext(ctx, `DELETE FROM resources WHERE key = $1 AND NOT EXISTS (SELECT 1 FROM deployments
				WHERE target_key = $1 AND status IN `+activeStatuses+`)`, key); err != nil {
				return err
			}
		}
		for _, start := range p.Starts {
			if r, err := s.deploymentStart(ctx, tx, start); err != nil {
				if errors.Is(err, store.ErrActiveDeployment) && r != nil {
					return fmt.Errorf("%s: %w", r.Key, err)
				}
				return err
			}
		}
		if p.Delete {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM resources WHERE service_name = $1`, p.Name).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return fmt.Errorf("%d instances or pipeline remain: %w", n, store.ErrInUse)
			}
			_, err := tx.ExecContext(ctx, `DELETE FROM services WHERE name = $1`, p.Name)
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE services SET status = coalesce($2, status),
			status_message = coalesce($3, status_message), spec = coalesce($4, spec),
			description = coalesce($5, description), operation = coalesce($6, operation), last_modified_at = $7
			WHERE name = $1`, p.Name, p.Status, p.StatusMessage, p.Spec, p.Description, p.Operation, ms(p.At))
		if err != nil {
			return err
		}
		out, err = serviceGet(ctx, tx, p.Name, "")
		return err
	})
	if err != nil {
		return out, fmt.Errorf("change service %s: %w", p.Name, err)
	}
	return out, nil
}
