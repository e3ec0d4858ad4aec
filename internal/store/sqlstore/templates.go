package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/hadronhq/hadron/internal/store"
)

// templateColumns ends with the Recommended* fields: the highest published
// version of the template, -1 when nothing is published.
const templateColumns = `t.kind, t.name, t.display_name, t.description, t.encryption_key, t.provisioning,
	t.created_at, t.last_modified_at,
	coalesce((SELECT v.major FROM template_versions v WHERE v.kind = t.kind AND v.template_name = t.name
		AND v.status = 'PUBLISHED' ORDER BY v.major DESC, v.minor DESC LIMIT 1), -1),
	coalesce((SELECT v.minor FROM template_versions v WHERE v.kind = t.kind AND v.template_name = t.name
		AND v.status = 'PUBLISHED' ORDER BY v.major DESC, v.minor DESC LIMIT 1), -1)`

func scanTemplate(row Row) (*store.Template, error) {
	var t store.Template
	var created, modified int64
	err := row.Scan(&t.Kind, &t.Name, &t.DisplayName, &t.Description, &t.EncryptionKey, &t.Provisioning,
		&created, &modified, &t.RecommendedMajor, &t.RecommendedMinor)
	if err != nil {
		return nil, err
	}
	t.CreatedAt, t.LastModifiedAt = fromMS(created), fromMS(modified)
	return &t, nil
}

// TemplateCreate inserts a template; ErrExists when the name is taken.
func (s *Store) TemplateCreate(ctx context.Context, t *store.Template) error {
	err := s.tx(ctx, func(tx txn) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO templates
			(kind, name, display_name, description, encryption_key, provisioning, created_at, last_modified_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			t.Kind, t.Name, t.DisplayName, t.Description, t.EncryptionKey, t.Provisioning, ms(t.CreatedAt), ms(t.LastModifiedAt))
		if err != nil {
			return err
		}
		return tagsReplace(ctx, tx, store.TemplateKey(t.Kind, t.Name), t.Tags)
	})
	if s.unique(err) {
		return fmt.Errorf("create %s template %s: %w", t.Kind, t.Name, store.ErrExists)
	}
	if err != nil {
		return fmt.Errorf("create %s template %s: %w", t.Kind, t.Name, err)
	}
	t.RecommendedMajor, t.RecommendedMinor = -1, -1
	return nil
}

// TemplateGet reads one template.
func (s *Store) TemplateGet(ctx context.Context, kind, name string) (*store.Template, error) {
	return templateGet(ctx, s.r, kind, name, "")
}

// templateGet reads a template; lock, when set, is a locking clause such as
// FOR UPDATE.
func templateGet(ctx context.Context, q Querier, kind, name, lock string) (*store.Template, error) {
	t, err := scanTemplate(q.Row(ctx, `SELECT `+templateColumns+` FROM templates t WHERE t.kind = $1 AND t.name = $2 `+lock, kind, name))
	if noRows(err) {
		return nil, fmt.Errorf("%s template %s: %w", kind, name, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get %s template %s: %w", kind, name, err)
	}
	return t, nil
}

// TemplateList lists templates of a kind ordered by name.
func (s *Store) TemplateList(ctx context.Context, kind string, page store.Page) ([]*store.Template, error) {
	out, err := collect(ctx, s.r, scanTemplate, `SELECT `+templateColumns+` FROM templates t
		WHERE t.kind = $1 AND t.name > $2 ORDER BY t.name LIMIT $3`, kind, page.After, page.Limit)
	if err != nil {
		return nil, fmt.Errorf("list %s templates: %w", kind, err)
	}
	return out, nil
}

// TemplateUpdate changes a template's display name and description.
func (s *Store) TemplateUpdate(ctx context.Context, p store.TemplateUpdateParams) (*store.Template, error) {
	kind, name, displayName, description, at := p.Kind, p.Name, p.DisplayName, p.Description, p.At
	var t *store.Template
	err := s.tx(ctx, func(tx txn) error {
		tag, err := tx.ExecContext(ctx, `UPDATE templates SET
			display_name = coalesce($3, display_name), description = coalesce($4, description), last_modified_at = $5
			WHERE kind = $1 AND name = $2`, kind, name, displayName, description, ms(at))
		if err != nil {
			return err
		}
		if n, _ := tag.RowsAffected(); n == 0 {
			return store.ErrNotFound
		}
		t, err = templateGet(ctx, tx, kind, name, "")
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("update %s template %s: %w", kind, name, err)
	}
	return t, nil
}

// TemplateDelete deletes a template without versions. The template row is
// locked first: a version being created at the same time (which locks it
// too) is either counted or refused for want of its template.
func (s *Store) TemplateDelete(ctx context.Context, kind, name string) (*store.Template, error) {
	var t *store.Template
	err := s.tx(ctx, func(tx txn) error {
		var err error
		if t, err = templateGet(ctx, tx, kind, name, s.lock("t")); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM template_versions WHERE kind = $1 AND template_name = $2`, kind, name).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("%d versions remain: %w", n, store.ErrInUse)
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM templates WHERE kind = $1 AND name = $2`, kind, name)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("delete %s template %s: %w", kind, name, err)
	}
	return t, nil
}

const versionColumns = `v.kind, v.template_name, v.major, v.minor, v.status, v.status_message, v.description,
	v.schema, v.bundle, v.source_bucket, v.source_key, v.client_token, v.client_request, v.extra, v.created_at, v.last_modified_at,
	coalesce((SELECT w.minor FROM template_versions w WHERE w.kind = v.kind AND w.template_name = v.template_name
		AND w.major = v.major AND w.status = 'PUBLISHED' ORDER BY w.minor DESC LIMIT 1), -1)`

func scanVersion(row Row) (*store.TemplateVersion, error) {
	var v store.TemplateVersion
	var created, modified int64
	err := row.Scan(&v.Kind, &v.TemplateName, &v.Major, &v.Minor, &v.Status, &v.StatusMessage, &v.Description,
		&v.Schema, &v.Bundle, &v.SourceBucket, &v.SourceKey, &v.ClientToken, &v.ClientRequest, &v.Extra, &created, &modified, &v.RecommendedMinor)
	if err != nil {
		return nil, err
	}
	v.CreatedAt, v.LastModifiedAt = fromMS(created), fromMS(modified)
	return &v, nil
}

func versionGet(ctx context.Context, q Querier, kind, template string, major, minor int, lock string) (*store.TemplateVersion, error) {
	v, err := scanVersion(q.Row(ctx, `SELECT `+versionColumns+` FROM template_versions v
		WHERE v.kind = $1 AND v.template_name = $2 AND v.major = $3 AND v.minor = $4 `+lock, kind, template, major, minor))
	if noRows(err) {
		return nil, fmt.Errorf("%s template version %s:%d.%d: %w", kind, template, major, minor, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get %s template version %s:%d.%d: %w", kind, template, major, minor, err)
	}
	return v, nil
}

// TemplateVersionCreate inserts a version, choosing its numbers. A retried
// request with the same client token returns the version it created. The
// template row is locked first, so that two nodes creating versions of one
// template at once take turns and choose different numbers.
func (s *Store) TemplateVersionCreate(ctx context.Context, v *store.TemplateVersion) error {
	err := s.tx(ctx, func(tx txn) error {
		if _, err := templateGet(ctx, tx, v.Kind, v.TemplateName, s.lock("t")); err != nil {
			return err
		}
		if v.ClientToken != "" {
			prev, err := scanVersion(tx.QueryRowContext(ctx, `SELECT `+versionColumns+` FROM template_versions v
				WHERE v.kind = $1 AND v.template_name = $2 AND v.client_token = $3`, v.Kind, v.TemplateName, v.ClientToken))
			if err == nil {
				*v = *prev
				return nil
			}
			if !noRows(err) {
				return err
			}
		}
		return versionInsert(ctx, tx, v)
	})
	if err != nil {
		return fmt.Errorf("create %s template version of %s: %w", v.Kind, v.TemplateName, err)
	}
	return nil
}

// versionInsert inserts v, in a transaction that locked its template, with
// the next minor of v.Major (or the next major when v.Major is -1), and
// fills in the numbers it chose; ErrNotFound when v.Major has no version.
func versionInsert(ctx context.Context, tx txn, v *store.TemplateVersion) error {
	if v.Major < 0 {
		if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(major), 0) + 1 FROM template_versions
			WHERE kind = $1 AND template_name = $2`, v.Kind, v.TemplateName).Scan(&v.Major); err != nil {
			return err
		}
		v.Minor = 0
	} else {
		var next sql.NullInt64
		if err := tx.QueryRowContext(ctx, `SELECT max(minor) + 1 FROM template_versions
			WHERE kind = $1 AND template_name = $2 AND major = $3`, v.Kind, v.TemplateName, v.Major).Scan(&next); err != nil {
			return err
		}
		if !next.Valid {
			return fmt.Errorf("major version %d: %w", v.Major, store.ErrNotFound)
		}
		v.Minor = int(next.Int64)
	}
	// A new minor joins a major that may have published minors already.
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(minor), -1) FROM template_versions
		WHERE kind = $1 AND template_name = $2 AND major = $3 AND status = 'PUBLISHED'`,
		v.Kind, v.TemplateName, v.Major).Scan(&v.RecommendedMinor); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO template_versions (kind, template_name, major, minor, status,
		status_message, description, schema, bundle, source_bucket, source_key, client_token, extra, created_at, last_modified_at, client_request)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
		v.Kind, v.TemplateName, v.Major, v.Minor, v.Status, v.StatusMessage, v.Description, v.Schema, v.Bundle,
		v.SourceBucket, v.SourceKey, v.ClientToken, v.Extra, ms(v.CreatedAt), ms(v.LastModifiedAt), v.ClientRequest)
	if err != nil {
		return err
	}
	return tagsReplace(ctx, tx, store.TemplateVersionKey(v.Kind, v.TemplateName, v.Major, v.Minor), v.Tags)
}

// TemplateVersionGet reads one version.
func (s *Store) TemplateVersionGet(ctx context.Context, kind, template string, major, minor int) (*store.TemplateVersion, error) {
	return versionGet(ctx, s.r, kind, template, major, minor, "")
}

// TemplateVersionList lists versions by major then minor, after page.After
// ("major.minor").
func (s *Store) TemplateVersionList(ctx context.Context, kind, template string, major int, page store.Page) ([]*store.TemplateVersion, error) {
	afterMajor, afterMinor := -1, -1
	if page.After != "" {
		if _, err := fmt.Sscanf(page.After, "%d.%d", &afterMajor, &afterMinor); err != nil {
			return nil, fmt.Errorf("list versions: bad page token %q", page.After)
		}
	}
	out, err := collect(ctx, s.r, scanVersion, `SELECT `+versionColumns+` FROM template_versions v
		WHERE v.kind = $1 AND v.template_name = $2 AND (CAST($3 AS INTEGER) < 0 OR v.major = $3)
		AND (v.major > $4 OR (v.major = $4 AND v.minor > $5))
		ORDER BY v.major, v.minor LIMIT $6`, kind, template, major, afterMajor, afterMinor, page.Limit)
	if err != nil {
		return nil, fmt.Errorf("list %s template versions of %s: %w", kind, template, err)
	}
	return out, nil
}

// TemplateVersionSetStatus moves a version between statuses with one
// conditional UPDATE; when the version is in none of p.From it returns the
// version as it is with ErrStatusChanged.
func (s *Store) TemplateVersionSetStatus(ctx context.Context, p store.TemplateVersionStatusParams) (*store.TemplateVersion, error) {
	args := []any{p.Kind, p.Template, p.Major, p.Minor, p.To, p.StatusMessage, p.Schema, ms(p.At)}
	for _, from := range p.From {
		args = append(args, from)
	}
	in := "NULL" // no status to leave: the write matches nothing
	if len(p.From) > 0 {
		in = placeholders(9, len(p.From))
	}
	var v *store.TemplateVersion
	err := s.tx(ctx, func(tx txn) error {
		res, err := tx.ExecContext(ctx, `UPDATE template_versions SET status = $5, status_message = $6,
			schema = coalesce($7, schema), last_modified_at = $8
			WHERE kind = $1 AND template_name = $2 AND major = $3 AND minor = $4 AND status IN (`+in+`)`, args...)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if v, err = versionGet(ctx, tx, p.Kind, p.Template, p.Major, p.Minor, ""); err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("version is %s: %w", v.Status, store.ErrStatusChanged)
		}
		return nil
	})
	if err != nil {
		return v, fmt.Errorf("set status of %s template version %s:%d.%d: %w", p.Kind, p.Template, p.Major, p.Minor, err)
	}
	return v, nil
}

// TemplateVersionSetDescription changes a version's description.
func (s *Store) TemplateVersionSetDescription(ctx context.Context, p store.TemplateVersionSetDescriptionParams) (*store.TemplateVersion, error) {
	return s.versionSet(ctx, p.Kind, p.Template, p.Major, p.Minor, "description", p.Description, p.At)
}

// TemplateVersionSetExtra replaces a version's kind-specific Extra JSON.
func (s *Store) TemplateVersionSetExtra(ctx context.Context, p store.TemplateVersionSetExtraParams) (*store.TemplateVersion, error) {
	return s.versionSet(ctx, p.Kind, p.Template, p.Major, p.Minor, "extra", p.Extra, p.At)
}

// versionSet sets one text column of a version (column is a constant of this
// package, never input).
func (s *Store) versionSet(ctx context.Context, kind, template string, major, minor int, column, value string, at time.Time) (*store.TemplateVersion, error) {
	var v *store.TemplateVersion
	err := s.tx(ctx, func(tx txn) error {
		tag, err := tx.ExecContext(ctx, `UPDATE template_versions SET `+column+` = $5, last_modified_at = $6
			WHERE kind = $1 AND template_name = $2 AND major = $3 AND minor = $4`, kind, template, major, minor, value, ms(at))
		if err != nil {
			return err
		}
		if n, _ := tag.RowsAffected(); n == 0 {
			return store.ErrNotFound
		}
		v, err = versionGet(ctx, tx, kind, template, major, minor, "")
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("update %s template version %s:%d.%d: %w", kind, template, major, minor, err)
	}
	return v, nil
}

// resourceTypesOf names the resource types deployed from a template kind.
func resourceTypesOf(kind string) (string, string) {
	if kind == store.KindEnvironmentTemplate {
		return store.ResourceEnvironment, store.ResourceEnvironment
	}
	return store.ResourceServiceInstance, store.ResourceServicePipeline
}

// TemplateVersionDelete deletes a version that no resource runs and no active
// deployment targets.
func (s *Store) TemplateVersionDelete(ctx context.Context, kind, template string, major, minor int) (*store.TemplateVersion, error) {
	var v *store.TemplateVersion
	t1, t2 := resourceTypesOf(kind)
	maj, min := fmt.Sprint(major), fmt.Sprint(minor)
	err := s.tx(ctx, func(tx txn) error {
		var err error
		if v, err = versionGet(ctx, tx, kind, template, major, minor, s.lock("v")); err != nil {
			return err
		}
		var users int
		err = tx.QueryRowContext(ctx, `SELECT
			(SELECT count(*) FROM resources WHERE type IN ($1, $2) AND template_name = $3 AND template_major = $4 AND template_minor = $5) +
			(SELECT count(*) FROM deployments WHERE target_type IN ($1, $2) AND target_template = $3 AND target_major = $4
				AND target_minor = $5 AND status IN ('IN_PROGRESS', 'CANCELLING', 'DELETE_IN_PROGRESS'))`,
			t1, t2, template, maj, min).Scan(&users)
		if err != nil {
			return err
		}
		if users > 0 {
			return fmt.Errorf("%d resources use it: %w", users, store.ErrInUse)
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM template_versions WHERE kind = $1 AND template_name = $2 AND major = $3 AND minor = $4`,
			kind, template, major, minor)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("delete %s template version %s:%d.%d: %w", kind, template, major, minor, err)
	}
	return v, nil
}

// TemplateVersionsRegistering lists versions whose registration has not finished.
func (s *Store) TemplateVersionsRegistering(ctx context.Context) ([]*store.TemplateVersion, error) {
	out, err := collect(ctx, s.r, scanVersion, `SELECT `+versionColumns+` FROM template_versions v
		WHERE v.status = 'REGISTRATION_IN_PROGRESS' ORDER BY v.created_at`)
	if err != nil {
		return nil, fmt.Errorf("list registering template versions: %w", err)
	}
	return out, nil
}
