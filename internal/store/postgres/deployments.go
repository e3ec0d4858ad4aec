package postgres

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hadronhq/hadron/internal/store"
	"github.com/jackc/pgx/v5"
)

const deploymentColumns = `seq, id, target_key, target_type, target_created_at, environment_name, service_name,
	service_instance_name, component_name, operation, status, status_message, initial_state, target_state,
	target_template, target_major, target_minor, target_spec, plan, outputs, last_attempted_id, last_succeeded_id,
	lease_owner, lease_expires_at, created_at, last_modified_at, completed_at`

// activeStatuses is the SQL list of the statuses of an active deployment; it
// must match the predicate of the deployments_one_active index.
const activeStatuses = `('IN_PROGRESS', 'CANCELLING', 'DELETE_IN_PROGRESS')`

func scanDeployment(row scanner) (*store.Deployment, error) {
	var d store.Deployment
	var targetCreated, lease, created, modified, completed int64
	err := row.Scan(&d.Seq, &d.ID, &d.TargetKey, &d.TargetType, &targetCreated, &d.EnvironmentName, &d.ServiceName,
		&d.ServiceInstance, &d.ComponentName, &d.Operation, &d.Status, &d.StatusMessage, &d.InitialState, &d.TargetState,
		&d.TargetTemplate, &d.TargetMajor, &d.TargetMinor, &d.TargetSpec, &d.Plan, &d.Outputs, &d.LastAttemptedID,
		&d.LastSucceededID, &d.LeaseOwner, &lease, &created, &modified, &completed)
	if err != nil {
		return nil, err
	}
	d.TargetCreatedAt, d.LeaseExpiresAt = fromMS(targetCreated), fromMS(lease)
	d.CreatedAt, d.LastModifiedAt, d.CompletedAt = fromMS(created), fromMS(modified), fromMS(completed)
	return &d, nil
}

func deploymentGet(ctx context.Context, q querier, id, lock string) (*store.Deployment, error) {
	d, err := scanDeployment(q.QueryRow(ctx, `SELECT `+deploymentColumns+` FROM deployments WHERE id = $1 `+lock, id))
	if noRows(err) {
		return nil, fmt.Errorf("deployment %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get deployment %s: %w", id, err)
	}
	return d, nil
}

// deploymentLock locks deployment id for a change that may touch its
// resource too. It locks the resource row first (when the resource still
// exists) and the deployment second, the order DeploymentStart takes them in,
// so that a start and a finish or cancel on one resource queue behind each
// other rather than deadlock.
func deploymentLock(ctx context.Context, tx pgx.Tx, id string) (*store.Deployment, error) {
	var key string
	err := tx.QueryRow(ctx, `SELECT target_key FROM deployments WHERE id = $1`, id).Scan(&key)
	if noRows(err) {
		return nil, fmt.Errorf("deployment %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get deployment %s: %w", id, err)
	}
	if _, err := tx.Exec(ctx, `SELECT 1 FROM resources WHERE key = $1 FOR UPDATE`, key); err != nil {
		return nil, fmt.Errorf("lock resource %s: %w", key, err)
	}
	return deploymentGet(ctx, tx, id, "FOR UPDATE")
}

// DeploymentStart records a new active deployment and points its resource at it.
func (s *Store) DeploymentStart(ctx context.Context, p store.DeploymentStartParams) (*store.Resource, error) {
	var r *store.Resource
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var err error
		r, err = deploymentStart(ctx, tx, p)
		return err
	})
	if err != nil {
		return r, fmt.Errorf("start deployment of %s: %w", p.Deployment.TargetKey, err)
	}
	return r, nil
}

// deploymentStart is DeploymentStart inside a transaction. On
// ErrActiveDeployment it returns the resource as it is. The resource row is
// locked for the rest of the transaction, so that the previous attempt it
// records is the one the new deployment follows.
func deploymentStart(ctx context.Context, tx pgx.Tx, p store.DeploymentStartParams) (*store.Resource, error) {
	d := p.Deployment
	if c := p.Create; c != nil {
		if err := resourceInsert(ctx, tx, c, d.Status); err != nil {
			return nil, err
		}
	}
	cur, err := resourceGet(ctx, tx, d.TargetKey, "FOR UPDATE")
	if err != nil {
		return nil, err
	}
	d.TargetCreatedAt = cur.CreatedAt
	d.LastAttemptedID, d.LastSucceededID = cur.LastAttemptedDeploymentID, cur.LastSucceededDeploymentID
	err = tx.QueryRow(ctx, `INSERT INTO deployments (id, target_key, target_type, target_created_at,
		environment_name, service_name, service_instance_name, component_name, operation, status, status_message,
		initial_state, target_state, target_template, target_major, target_minor, target_spec, plan, outputs,
		last_attempted_id, last_succeeded_id, created_at, last_modified_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23)
		RETURNING seq`,
		d.ID, d.TargetKey, d.TargetType, ms(d.TargetCreatedAt), d.EnvironmentName, d.ServiceName, d.ServiceInstance,
		d.ComponentName, d.Operation, d.Status, d.StatusMessage, d.InitialState, d.TargetState, d.TargetTemplate,
		d.TargetMajor, d.TargetMinor, d.TargetSpec, d.Plan, cmp.Or(d.Outputs, "{}"), d.LastAttemptedID, d.LastSucceededID,
		ms(d.CreatedAt), ms(d.LastModifiedAt)).Scan(&d.Seq)
	switch uniqueViolation(err) {
	case "":
	case "deployments_one_active":
		return cur, fmt.Errorf("deployment %s is %s: %w", cur.LastAttemptedDeploymentID, cur.DeploymentStatus, store.ErrActiveDeployment)
	default:
		return nil, fmt.Errorf("deployment %s: %w", d.ID, store.ErrExists)
	}
	if err != nil {
		return nil, err
	}
	_, err = tx.Exec(ctx, `UPDATE resources SET deployment_status = $2, deployment_status_message = '',
		last_attempted_deployment_id = $3, last_deployment_attempted_at = $4,
		description = coalesce($5, description), settings = coalesce($6, settings),
		last_client_request_token = coalesce($7, last_client_request_token), last_modified_at = $4
		WHERE key = $1`, d.TargetKey, d.Status, d.ID, ms(d.CreatedAt), p.Description, p.Settings, p.ClientToken)
	if err != nil {
		return nil, err
	}
	return resourceGet(ctx, tx, d.TargetKey, "")
}

// DeploymentGet reads one deployment.
func (s *Store) DeploymentGet(ctx context.Context, id string) (*store.Deployment, error) {
	return deploymentGet(ctx, s.pool, id, "")
}

// DeploymentList lists deployments newest first.
func (s *Store) DeploymentList(ctx context.Context, f store.DeploymentFilter, page store.Page) ([]*store.Deployment, error) {
	after := int64(1<<63 - 1)
	if page.After != "" {
		v, err := strconv.ParseInt(page.After, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("list deployments: bad page token %q", page.After)
		}
		after = v
	}
	where := []string{"seq < $1"}
	args := []any{after}
	for _, c := range []struct{ col, val string }{
		{"environment_name", f.EnvironmentName},
		{"service_name", f.ServiceName},
		{"service_instance_name", f.ServiceInstance},
		{"component_name", f.ComponentName},
	} {
		if c.val != "" {
			args = append(args, c.val)
			where = append(where, fmt.Sprintf("%s = $%d", c.col, len(args)))
		}
	}
	args = append(args, page.Limit)
	q := fmt.Sprintf(`SELECT %s FROM deployments WHERE %s ORDER BY seq DESC LIMIT $%d`,
		deploymentColumns, strings.Join(where, " AND "), len(args))
	rows, err := s.pool.Query(ctx, q, args...)
	out, err := collect(rows, err, scanDeployment)
	if err != nil {
		return nil, fmt.Errorf("list deployments: %w", err)
	}
	return out, nil
}

// DeploymentDelete deletes an inactive deployment record.
func (s *Store) DeploymentDelete(ctx context.Context, id string) (*store.Deployment, error) {
	var d *store.Deployment
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var err error
		if d, err = deploymentGet(ctx, tx, id, "FOR UPDATE"); err != nil {
			return err
		}
		if store.IsActive(d.Status) {
			return fmt.Errorf("deployment is %s: %w", d.Status, store.ErrInUse)
		}
		_, err = tx.Exec(ctx, `DELETE FROM deployments WHERE id = $1`, id)
		return err
	})
	if err != nil {
		return d, fmt.Errorf("delete deployment %s: %w", id, err)
	}
	return d, nil
}

// DeploymentClaim leases the oldest queued deployment to owner. SKIP LOCKED
// lets workers of every node claim at once: each takes the oldest row no
// other transaction holds, and a row a cancel is deciding on is skipped
// (the cancel then finds it unclaimed and ends it CANCELLED).
func (s *Store) DeploymentClaim(ctx context.Context, owner string, expires time.Time) (*store.Deployment, error) {
	d, err := scanDeployment(s.pool.QueryRow(ctx, `UPDATE deployments SET lease_owner = $1, lease_expires_at = $2
		WHERE seq = (SELECT seq FROM deployments WHERE status IN ('IN_PROGRESS', 'DELETE_IN_PROGRESS') AND lease_owner = ''
			ORDER BY seq LIMIT 1 FOR UPDATE SKIP LOCKED)
		RETURNING `+deploymentColumns, owner, ms(expires)))
	if noRows(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("claim deployment: %w", err)
	}
	return d, nil
}

// DeploymentRenew extends owner's lease on an active deployment.
func (s *Store) DeploymentRenew(ctx context.Context, id, owner string, expires time.Time) (string, error) {
	var status string
	err := s.pool.QueryRow(ctx, `UPDATE deployments SET lease_expires_at = $3
		WHERE id = $1 AND lease_owner = $2 AND status IN `+activeStatuses+`
		RETURNING status`, id, owner, ms(expires)).Scan(&status)
	if noRows(err) {
		return "", fmt.Errorf("renew lease on deployment %s: %w", id, store.ErrStatusChanged)
	}
	if err != nil {
		return "", fmt.Errorf("renew lease on deployment %s: %w", id, err)
	}
	return status, nil
}

// DeploymentCancel cancels an IN_PROGRESS deployment: at once when no worker
// has claimed it, otherwise by asking its worker (CANCELLING). The row lock
// orders it against a concurrent claim: whichever commits first wins.
func (s *Store) DeploymentCancel(ctx context.Context, id string, at time.Time) (store.CancelResult, error) {
	var res store.CancelResult
	err := s.tx(ctx, func(tx pgx.Tx) error {
		d, err := deploymentLock(ctx, tx, id)
		if err != nil {
			return err
		}
		res.Status, res.Owner = d.Status, d.LeaseOwner
		if d.Status != store.StatusInProgress {
			return store.ErrStatusChanged
		}
		if d.LeaseOwner == "" {
			res.Status = store.StatusCancelled
			return setStatus(ctx, tx, d, store.StatusCancelled, store.CancelledMessage, at)
		}
		res.Status = store.StatusCancelling
		return setStatus(ctx, tx, d, store.StatusCancelling, "", at)
	})
	if err != nil {
		return res, fmt.Errorf("cancel deployment %s: %w", id, err)
	}
	return res, nil
}

// setStatus writes a deployment's new status and mirrors it on its resource.
func setStatus(ctx context.Context, tx pgx.Tx, d *store.Deployment, status, message string, at time.Time) error {
	var completed int64
	if !store.IsActive(status) {
		completed = ms(at)
	}
	if _, err := tx.Exec(ctx, `UPDATE deployments SET status = $2, status_message = $3, last_modified_at = $4,
		completed_at = $5 WHERE id = $1`, d.ID, status, message, ms(at), completed); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `UPDATE resources SET deployment_status = $3, deployment_status_message = $4,
		last_modified_at = $5 WHERE key = $1 AND last_attempted_deployment_id = $2`, d.TargetKey, d.ID, status, message, ms(at))
	return err
}

// DeploymentFinish ends a deployment with a conditional write and applies its
// effect: SUCCEEDED makes the target state current, DELETE_COMPLETE removes the
// resource, any other end leaves the resource's deployed state as it was.
func (s *Store) DeploymentFinish(ctx context.Context, p store.DeploymentFinishParams, at time.Time) (*store.Deployment, error) {
	var d *store.Deployment
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var err error
		if d, err = deploymentLock(ctx, tx, p.ID); err != nil {
			return err
		}
		if !slices.Contains(p.From, d.Status) || (p.Owner != "" && d.LeaseOwner != p.Owner) {
			return fmt.Errorf("deployment is %s (owner %q): %w", d.Status, d.LeaseOwner, store.ErrStatusChanged)
		}
		if err := setStatus(ctx, tx, d, p.To, p.Message, at); err != nil {
			return err
		}
		switch p.To {
		case store.StatusSucceeded:
			// What the run reported through notify wins over what it left
			// in its outputs file.
			notified, err := notifyOutputs(ctx, tx, d.ID)
			if err != nil {
				return err
			}
			outputs, err := store.MergeOutputs(p.Outputs, notified)
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE deployments SET outputs = $2 WHERE id = $1`, d.ID, outputs); err != nil {
				return err
			}
			_, err = tx.Exec(ctx, `UPDATE resources SET template_name = $3, template_major = $4, template_minor = $5,
				spec = $6, outputs = $7, last_succeeded_deployment_id = $2, last_deployment_succeeded_at = $8
				WHERE key = $1 AND last_attempted_deployment_id = $2`,
				d.TargetKey, d.ID, d.TargetTemplate, d.TargetMajor, d.TargetMinor, d.TargetSpec, outputs, ms(d.CreatedAt))
		case store.StatusDeleteComplete:
			_, err = tx.Exec(ctx, `DELETE FROM resources WHERE key = $1 AND last_attempted_deployment_id = $2`, d.TargetKey, d.ID)
		}
		if err != nil {
			return err
		}
		d, err = deploymentGet(ctx, tx, p.ID, "")
		return err
	})
	if err != nil {
		return d, fmt.Errorf("finish deployment %s as %s: %w", p.ID, p.To, err)
	}
	return d, nil
}

// DeploymentsOrphaned lists claimed active deployments whose worker is gone:
// the lease expired before expiredBefore, or (when alive is set) another owner
// holds it. Several nodes share a PostgreSQL database, so the engine passes no
// alive owner here and only expired leases count (engine.Config.SharedStore).
func (s *Store) DeploymentsOrphaned(ctx context.Context, expiredBefore time.Time, alive string) ([]*store.Deployment, error) {
	var rows pgx.Rows
	var err error
	if alive == "" {
		// The common case, on the deployments_leased index.
		rows, err = s.pool.Query(ctx, `SELECT `+deploymentColumns+` FROM deployments
			WHERE status IN `+activeStatuses+` AND lease_owner <> '' AND lease_expires_at < $1 ORDER BY seq`,
			ms(expiredBefore))
	} else {
		rows, err = s.pool.Query(ctx, `SELECT `+deploymentColumns+` FROM deployments
			WHERE status IN `+activeStatuses+` AND lease_owner <> '' AND (lease_expires_at < $1 OR lease_owner <> $2)
			ORDER BY seq`, ms(expiredBefore), alive)
	}
	out, err := collect(rows, err, scanDeployment)
	if err != nil {
		return nil, fmt.Errorf("list orphaned deployments: %w", err)
	}
	return out, nil
}
