package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/hadronhq/hadron/internal/store"
)

// DeploymentNotify merges a report's outputs into the deployment's with
// json_patch (a merge patch: the report wins on a key), in one UPDATE
// conditional on the deployment being active and not a delete.
func (s *Store) DeploymentNotify(ctx context.Context, p store.DeploymentNotifyParams) error {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE deployments SET notify_outputs = json_patch(notify_outputs, $2),
			notify_status = $3, notify_status_message = $4, last_modified_at = $5
			WHERE id = $1 AND status IN ('IN_PROGRESS', 'CANCELLING')`,
			p.ID, cmp.Or(p.Outputs, "{}"), p.Status, p.Message, ms(p.At))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			return err
		}
		var status string
		err = tx.QueryRowContext(ctx, `SELECT status FROM deployments WHERE id = $1`, p.ID).Scan(&status)
		if errors.Is(err, sql.ErrNoRows) {
			return store.ErrNotFound
		}
		if err != nil {
			return err
		}
		return fmt.Errorf("deployment is %s: %w", status, store.ErrStatusChanged)
	})
	if err != nil {
		return fmt.Errorf("notify deployment %s: %w", p.ID, err)
	}
	return nil
}

// notifyOutputs returns the outputs reported for a deployment.
func notifyOutputs(ctx context.Context, tx *sql.Tx, id string) (string, error) {
	var outputs string
	err := tx.QueryRowContext(ctx, `SELECT notify_outputs FROM deployments WHERE id = $1`, id).Scan(&outputs)
	return outputs, err
}
