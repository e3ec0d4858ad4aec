package postgres

import (
	"cmp"
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/hadronhq/hadron/internal/store"
)

// DeploymentNotify merges a report's outputs into the deployment's with
// jsonb's || (the report wins on a key), in one UPDATE conditional on the
// deployment being active and not a delete.
func (s *Store) DeploymentNotify(ctx context.Context, p store.DeploymentNotifyParams) error {
	err := s.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE deployments SET notify_outputs = (notify_outputs::jsonb || $2::jsonb)::text,
			notify_status = $3, notify_status_message = $4, last_modified_at = $5
			WHERE id = $1 AND status IN ('IN_PROGRESS', 'CANCELLING')`,
			p.ID, cmp.Or(p.Outputs, "{}"), p.Status, p.Message, ms(p.At))
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 1 {
			return nil
		}
		var status string
		err = tx.QueryRow(ctx, `SELECT status FROM deployments WHERE id = $1`, p.ID).Scan(&status)
		if noRows(err) {
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
func notifyOutputs(ctx context.Context, tx pgx.Tx, id string) (string, error) {
	var outputs string
	err := tx.QueryRow(ctx, `SELECT notify_outputs FROM deployments WHERE id = $1`, id).Scan(&outputs)
	return outputs, err
}
