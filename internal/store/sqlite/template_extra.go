package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/hadronhq/hadron/internal/store"
)

// TemplateVersionSetExtra replaces a version's kind-specific Extra JSON.
func (s *Store) TemplateVersionSetExtra(ctx context.Context, kind, template string, major, minor int, extra string, at time.Time) (*store.TemplateVersion, error) {
	var v *store.TemplateVersion
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE template_versions SET extra = $5, last_modified_at = $6
			WHERE kind = $1 AND template_name = $2 AND major = $3 AND minor = $4`, kind, template, major, minor, extra, ms(at))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return store.ErrNotFound
		}
		v, err = versionGet(ctx, tx, kind, template, major, minor)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("update %s template version %s:%d.%d: %w", kind, template, major, minor, err)
	}
	return v, nil
}
