package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/hadronhq/hadron/internal/store"
)

// DeploymentNotify merges a report's outputs into the deployment's (the
// dialect's JSON merge: the report wins on a key) in one UPDATE conditional
// on the deployment being IN_PROGRESS or CANCELLING. With MaxOutputs, the
// outputs reported so far are read locked first, so that two reports at
// once cannot pass the bound together.
func (s *Store) DeploymentNotify(ctx context.Context, p store.DeploymentNotifyParams) error {
	err := s.tx(ctx, func(tx txn) error {
		if p.MaxOutputs > 0 {
			if err := s.checkNotifyQuota(ctx, tx, p); err != nil {
				return err
			}
		}
		res, err := tx.ExecContext(ctx, `UPDATE deployments SET notify_outputs = `+s.d.MergeObjects("notify_outputs", "$2")+`,
			notify_status = $3, notify_status_message = $4, last_modified_at = $5
			WHERE id = $1 AND status IN ('IN_PROGRESS', 'CANCELLING')`,
			p.ID, cmp.Or(p.Outputs, "{}"), p.Status, p.Message, ms(p.At))
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			return err
		}
		d, err := deploymentGet(ctx, tx, p.ID, "")
		if err != nil {
			return err
		}
		return fmt.Errorf("deployment is %s: %w", d.Status, store.ErrStatusChanged)
	})
	if err != nil {
		return fmt.Errorf("notify deployment %s: %w", p.ID, err)
	}
	return nil
}

// checkNotifyQuota fails with store.ErrTooManyOutputs when p's outputs
// would bring the deployment's reported outputs past p.MaxOutputs.
func (s *Store) checkNotifyQuota(ctx context.Context, tx txn, p store.DeploymentNotifyParams) error {
	var notified string
	err := tx.QueryRowContext(ctx, `SELECT notify_outputs FROM deployments WHERE id = $1 `+s.d.LockRows("", false), p.ID).Scan(&notified)
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	if err != nil {
		return err
	}
	merged, err := store.MergeOutputs(notified, p.Outputs)
	if err != nil {
		return err
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal([]byte(merged), &keys); err != nil {
		return err
	}
	if len(keys) > p.MaxOutputs {
		return fmt.Errorf("%d outputs reported, more than %d: %w", len(keys), p.MaxOutputs, store.ErrTooManyOutputs)
	}
	return nil
}

// mergeNotified lays the outputs d's run reported through notify over the
// outputs it finished with, on d and in the database (a SUCCEEDED finish,
// in its transaction).
func mergeNotified(ctx context.Context, tx txn, d *store.Deployment) error {
	var notified string
	if err := tx.QueryRowContext(ctx, `SELECT notify_outputs FROM deployments WHERE id = $1`, d.ID).Scan(&notified); err != nil {
		return err
	}
	if notified == "{}" || notified == "" {
		return nil
	}
	merged, err := store.MergeOutputs(d.Outputs, notified)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE deployments SET outputs = $2 WHERE id = $1`, d.ID, merged); err != nil {
		return err
	}
	d.Outputs = merged
	return nil
}
