package sqlstore

import (
	"cmp"
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/hadronhq/hadron/internal/store"
)

const deploymentColumns = `seq, id, target_key, target_type, target_created_at, environment_name, service_name,
	service_instance_name, component_name, operation, status, status_message, initial_state, target_state,
	target_template, target_major, target_minor, target_spec, plan, outputs, resources, last_attempted_id, last_succeeded_id,
	lease_owner, lease_expires_at, created_at, last_modified_at, completed_at, wait, wake_at, started_by_key_id, started_by`

func scanDeployment(row Row) (*store.Deployment, error) {
	var d store.Deployment
	var targetCreated, lease, created, modified, completed, wake int64
	err := row.Scan(&d.Seq, &d.ID, &d.TargetKey, &d.TargetType, &targetCreated, &d.EnvironmentName, &d.ServiceName,
		&d.ServiceInstance, &d.ComponentName, &d.Operation, &d.Status, &d.StatusMessage, &d.InitialState, &d.TargetState,
		&d.TargetTemplate, &d.TargetMajor, &d.TargetMinor, &d.TargetSpec, &d.Plan, &d.Outputs, &d.Resources, &d.LastAttemptedID,
		&d.LastSucceededID, &d.LeaseOwner, &lease, &created, &modified, &completed, &d.Wait, &wake, &d.StartedByKeyID, &d.StartedBy)
	if err != nil {
		return nil, err
	}
	d.TargetCreatedAt, d.LeaseExpiresAt = fromMS(targetCreated), fromMS(lease)
	d.CreatedAt, d.LastModifiedAt, d.CompletedAt = fromMS(created), fromMS(modified), fromMS(completed)
	d.WakeAt = fromMS(wake)
	return &d, nil
}

func deploymentGet(ctx context.Context, q Querier, id, lock string) (*store.Deployment, error) {
	d, err := scanDeployment(q.Row(ctx, `SELECT `+deploymentColumns+` FROM deployments WHERE id = $1 `+lock, id))
	if noRows(err) {
		return nil, fmt.Errorf("deployment %s: %w", id, store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get deployment %s: %w", id, err)
	}
	return d, nil
}

// lockTarget, on a database with row locks, locks the resource row of
// deployment id (when the resource still exists) before the deployment's own
// row changes. The status change itself needs no lock: it is one conditional
// UPDATE. The lock keeps the order DeploymentStart takes (resource first,
// then the deployments_one_active index, which waits for a transaction that
// is ending the active deployment): without it a start and a finish of one
// resource would each wait for the other, and PostgreSQL would break the
// deadlock only after its deadlock_timeout.
func (s *Store) lockTarget(ctx context.Context, tx txn, id string) error {
	lock := s.lock("")
	if lock == "" {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `SELECT 1 FROM resources
		WHERE key = (SELECT target_key FROM deployments WHERE id = $1) `+lock, id); err != nil {
		return fmt.Errorf("lock resource of deployment %s: %w", id, err)
	}
	return nil
}

// DeploymentStart records a new active deployment and points its resource at it.
func (s *Store) DeploymentStart(ctx context.Context, p store.DeploymentStartParams) (*store.Resource, error) {
	var r *store.Resource
	err := s.tx(ctx, func(tx txn) error {
		var err error
		r, err = s.deploymentStart(ctx, tx, p)
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
func (s *Store) deploymentStart(ctx context.Context, tx txn, p store.DeploymentStartParams) (*store.Resource, error) {
	d := p.Deployment
	if c := p.Create; c != nil {
		if err := s.resourceInsert(ctx, tx, c, d.Status); err != nil {
			return nil, err
		}
	}
	cur, err := resourceGet(ctx, tx, d.TargetKey, s.lock(""))
	if err != nil {
		return nil, err
	}
	d.TargetCreatedAt = cur.CreatedAt
	d.LastAttemptedID, d.LastSucceededID = cur.LastAttemptedDeploymentID, cur.LastSucceededDeploymentID
	err = tx.QueryRowContext(ctx, `INSERT INTO deployments (id, target_key, target_type, target_created_at,
		environment_name, service_name, service_instance_name, component_name, operation, status, status_message,
		initial_state, target_state, target_template, target_major, target_minor, target_spec, plan, outputs,
		last_attempted_id, last_succeeded_id, created_at, last_modified_at, resources, started_by_key_id, started_by)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26)
		RETURNING seq`,
		d.ID, d.TargetKey, d.TargetType, ms(d.TargetCreatedAt), d.EnvironmentName, d.ServiceName, d.ServiceInstance,
		d.ComponentName, d.Operation, d.Status, d.StatusMessage, d.InitialState, d.TargetState, d.TargetTemplate,
		d.TargetMajor, d.TargetMinor, d.TargetSpec, d.Plan, cmp.Or(d.Outputs, "{}"), d.LastAttemptedID, d.LastSucceededID,
		ms(d.CreatedAt), ms(d.LastModifiedAt), cmp.Or(d.Resources, "[]"), d.StartedByKeyID, d.StartedBy).Scan(&d.Seq)
	if index, ok := s.d.UniqueViolation(err); ok {
		if index == indexOneActive {
			return cur, fmt.Errorf("deployment %s is %s: %w", cur.LastAttemptedDeploymentID, cur.DeploymentStatus, store.ErrActiveDeployment)
		}
		return nil, fmt.Errorf("deployment %s: %w", d.ID, store.ErrExists)
	}
	if err != nil {
		return nil, err
	}
	if err := s.setRepository(ctx, tx, d.TargetKey, p.Repository); err != nil {
		return nil, err
	}
	if err := s.useConnection(ctx, tx, d.TargetKey, p.Connection); err != nil {
		return nil, err
	}
	_, err = tx.ExecContext(ctx, `UPDATE resources SET deployment_status = $2, deployment_status_message = '',
		last_attempted_deployment_id = $3, last_deployment_attempted_at = $4,
		description = coalesce($5, description), settings = coalesce($6, settings),
		last_client_request_token = coalesce($7, last_client_request_token),
		last_client_request = coalesce($8, last_client_request), last_modified_at = $4
		WHERE key = $1`, d.TargetKey, d.Status, d.ID, ms(d.CreatedAt), p.Description, p.Settings, p.ClientToken, p.ClientRequest)
	if err != nil {
		return nil, err
	}
	return resourceGet(ctx, tx, d.TargetKey, "")
}

// DeploymentGet reads one deployment.
func (s *Store) DeploymentGet(ctx context.Context, id string) (*store.Deployment, error) {
	return deploymentGet(ctx, s.r, id, "")
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
	if len(f.Statuses) > 0 {
		where = append(where, "status IN ("+placeholders(len(args)+1, len(f.Statuses))+")")
		for _, st := range f.Statuses {
			args = append(args, st)
		}
	}
	args = append(args, page.Limit)
	q := fmt.Sprintf(`SELECT %s FROM deployments WHERE %s ORDER BY seq DESC LIMIT $%d`,
		deploymentColumns, strings.Join(where, " AND "), len(args))
	out, err := collect(ctx, s.r, scanDeployment, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list deployments: %w", err)
	}
	return out, nil
}

// DeploymentDelete deletes an inactive deployment record.
func (s *Store) DeploymentDelete(ctx context.Context, id string) (*store.Deployment, error) {
	var d *store.Deployment
	err := s.tx(ctx, func(tx txn) error {
		var err error
		if d, err = deploymentGet(ctx, tx, id, s.lock("")); err != nil {
			return err
		}
		if store.IsActive(d.Status) {
			return fmt.Errorf("deployment is %s: %w", d.Status, store.ErrInUse)
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM deployments WHERE id = $1`, id)
		return err
	})
	if err != nil {
		return d, fmt.Errorf("delete deployment %s: %w", id, err)
	}
	return d, nil
}

// DeploymentClaim leases the oldest deployment with work to do to owner:
// a queued one (active, never handed off), or a waiting one (see
// DeploymentWait) that is CANCELLING or due for a check. Where the dialect
// locks rows the pick skips locked rows, so workers of every node claim at
// once: each takes the oldest row no other transaction holds, and a row a
// cancel is deciding on is skipped (the cancel then finds it unclaimed and
// ends it CANCELLED, or CANCELLING when it waits). On SQLite the one
// writer connection orders claims.
func (s *Store) DeploymentClaim(ctx context.Context, p store.DeploymentClaimParams) (*store.Deployment, error) {
	return s.claim(ctx, sqlQuerier{s.w}, p)
}

// claim is DeploymentClaim on q: the writer pool, or a transaction.
func (s *Store) claim(ctx context.Context, q Querier, p store.DeploymentClaimParams) (*store.Deployment, error) {
	owner, expires := p.Owner, p.Expires
	now := ms(p.Now)
	if now == 0 {
		now = -1 // no check is due: wake_at 0 means "never"
	}
	d, err := scanDeployment(q.Row(ctx, `UPDATE deployments SET lease_owner = $1, lease_expires_at = $2
		WHERE seq = (SELECT seq FROM deployments WHERE lease_owner = '' AND (
				(wait = '' AND status IN ('IN_PROGRESS', 'DELETE_IN_PROGRESS'))
				OR (wait <> '' AND (status = 'CANCELLING'
					OR (status IN ('IN_PROGRESS', 'DELETE_IN_PROGRESS') AND wake_at > 0 AND wake_at <= $3))))
			ORDER BY seq LIMIT 1 `+s.d.LockRows("", true)+`)
		RETURNING `+deploymentColumns, owner, ms(expires), now))
	if noRows(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("claim deployment: %w", err)
	}
	return d, nil
}

// DeploymentWait parks a claimed deployment as waiting on an outside party
// and releases its lease, in one conditional UPDATE.
func (s *Store) DeploymentWait(ctx context.Context, p store.DeploymentWaitParams) (string, error) {
	if p.State == "" {
		return "", fmt.Errorf("park deployment %s: no record of the hand-off", p.ID)
	}
	var status string
	err := s.w.QueryRowContext(ctx, `UPDATE deployments SET wait = $3, wake_at = $4, lease_owner = '', lease_expires_at = 0,
		last_modified_at = $5
		WHERE id = $1 AND lease_owner = $2 AND status IN `+activeStatuses+`
		RETURNING status`, p.ID, p.Owner, p.State, ms(p.WakeAt), ms(p.At)).Scan(&status)
	if noRows(err) {
		return "", fmt.Errorf("park deployment %s: %w", p.ID, store.ErrStatusChanged)
	}
	if err != nil {
		return "", fmt.Errorf("park deployment %s: %w", p.ID, err)
	}
	return status, nil
}

// DeploymentRenew extends owner's lease on an active deployment.
func (s *Store) DeploymentRenew(ctx context.Context, p store.DeploymentRenewParams) (string, error) {
	id, owner, expires := p.ID, p.Owner, p.Expires
	var status string
	err := s.w.QueryRowContext(ctx, `UPDATE deployments SET lease_expires_at = $3
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

// DeploymentCancel cancels an IN_PROGRESS deployment in one conditional
// UPDATE: at once (CANCELLED) when no worker has claimed it, otherwise by
// asking its worker (CANCELLING). A deployment waiting on an outside party
// becomes CANCELLING too: a worker claims it to take the hand-off back. Against a concurrent claim, whichever
// writes first wins: the claim skips a row the cancel holds, and the cancel
// re-reads lease_owner on a row the claim changed.
func (s *Store) DeploymentCancel(ctx context.Context, p store.DeploymentCancelParams) (store.CancelResult, error) {
	id, at := p.ID, p.At
	var res store.CancelResult
	err := s.tx(ctx, func(tx txn) error {
		if err := s.lockTarget(ctx, tx, id); err != nil {
			return err
		}
		d, err := scanDeployment(tx.QueryRowContext(ctx, `UPDATE deployments SET
			status = CASE WHEN lease_owner = '' AND wait = '' THEN 'CANCELLED' ELSE 'CANCELLING' END,
			status_message = CASE WHEN lease_owner = '' AND wait = '' THEN $3 ELSE '' END,
			completed_at = CASE WHEN lease_owner = '' AND wait = '' THEN CAST($2 AS BIGINT) ELSE 0 END,
			last_modified_at = CAST($2 AS BIGINT)
			WHERE id = $1 AND status = 'IN_PROGRESS'
			RETURNING `+deploymentColumns, id, ms(at), store.CancelledMessage))
		if noRows(err) {
			cur, err := deploymentGet(ctx, tx, id, "")
			if err != nil {
				return err
			}
			res.Status, res.Owner = cur.Status, cur.LeaseOwner
			return store.ErrStatusChanged
		}
		if err != nil {
			return err
		}
		res.Status, res.Owner = d.Status, d.LeaseOwner
		return mirrorStatus(ctx, tx, d)
	})
	if err != nil {
		return res, fmt.Errorf("cancel deployment %s: %w", id, err)
	}
	return res, nil
}

// mirrorStatus shows deployment d's status on its resource, when d is the
// resource's last attempt.
func mirrorStatus(ctx context.Context, tx txn, d *store.Deployment) error {
	_, err := tx.ExecContext(ctx, `UPDATE resources SET deployment_status = $3, deployment_status_message = $4,
		last_modified_at = $5 WHERE key = $1 AND last_attempted_deployment_id = $2`,
		d.TargetKey, d.ID, d.Status, d.StatusMessage, ms(d.LastModifiedAt))
	return err
}

// DeploymentFinish ends a deployment with one conditional UPDATE (from one of
// p.From, held by p.Owner when set) and applies its effect: SUCCEEDED makes
// the target state current, DELETE_COMPLETE removes the resource, any other
// end leaves the resource's deployed state as it was. A pair p.From → p.To
// that is no legal transition is refused (see store.DeploymentFinishParams.Check).
func (s *Store) DeploymentFinish(ctx context.Context, p store.DeploymentFinishParams, at time.Time) (*store.Deployment, error) {
	if err := p.Check(); err != nil {
		return nil, err
	}
	var d *store.Deployment
	err := s.tx(ctx, func(tx txn) error {
		var err error
		d, err = s.finish(ctx, tx, p, at)
		return err
	})
	if err != nil {
		return d, fmt.Errorf("finish deployment %s as %s: %w", p.ID, p.To, err)
	}
	return d, nil
}

// DeploymentFinishAndClaim is DeploymentFinish and then DeploymentClaim in
// one transaction: a worker's hand-off from one deployment to the next
// costs one commit. When the finish fails nothing is claimed (and nothing
// written); the caller may claim on its own.
func (s *Store) DeploymentFinishAndClaim(ctx context.Context, p store.DeploymentFinishParams, at time.Time, c store.DeploymentClaimParams) (ended, next *store.Deployment, err error) {
	if err := p.Check(); err != nil {
		return nil, nil, err
	}
	err = s.tx(ctx, func(tx txn) error {
		var err error
		if ended, err = s.finish(ctx, tx, p, at); err != nil {
			return err
		}
		next, err = s.claim(ctx, tx, c)
		return err
	})
	if err != nil {
		return ended, nil, fmt.Errorf("finish deployment %s as %s and claim the next: %w", p.ID, p.To, err)
	}
	return ended, next, nil
}

// finish is DeploymentFinish's work in tx.
func (s *Store) finish(ctx context.Context, tx txn, p store.DeploymentFinishParams, at time.Time) (*store.Deployment, error) {
	var outputs, resources *string
	if p.To == store.StatusSucceeded {
		o, r := cmp.Or(p.Outputs, "{}"), cmp.Or(p.Resources, "[]")
		outputs, resources = &o, &r
	}
	args := []any{p.ID, p.To, p.Message, ms(at), outputs, p.Owner, resources}
	for _, from := range p.From {
		args = append(args, from)
	}
	if err := s.lockTarget(ctx, tx, p.ID); err != nil {
		return nil, err
	}
	d, err := scanDeployment(tx.QueryRowContext(ctx, `UPDATE deployments SET status = $2, status_message = $3,
			last_modified_at = $4, completed_at = $4, outputs = coalesce($5, outputs), resources = coalesce($7, resources)
			WHERE id = $1 AND ($6 = '' OR lease_owner = $6) AND status IN (`+placeholders(8, len(p.From))+`)
			RETURNING `+deploymentColumns, args...))
	if noRows(err) {
		if d, err = deploymentGet(ctx, tx, p.ID, ""); err != nil {
			return nil, err
		}
		return d, fmt.Errorf("deployment is %s (owner %q): %w", d.Status, d.LeaseOwner, store.ErrStatusChanged)
	}
	if err != nil {
		return nil, err
	}
	switch p.To {
	case store.StatusSucceeded:
		// What the run reported through notify wins over what it left
		// in its outputs file.
		if err := mergeNotified(ctx, tx, d); err != nil {
			return d, err
		}
		_, err = tx.ExecContext(ctx, `UPDATE resources SET deployment_status = $3, deployment_status_message = $4,
				last_modified_at = $5, template_name = $6, template_major = $7, template_minor = $8, spec = $9,
				outputs = $10, last_succeeded_deployment_id = $2, last_deployment_succeeded_at = $11
				WHERE key = $1 AND last_attempted_deployment_id = $2`,
			d.TargetKey, d.ID, d.Status, d.StatusMessage, ms(at), d.TargetTemplate, d.TargetMajor, d.TargetMinor,
			d.TargetSpec, d.Outputs, ms(d.CreatedAt))
	case store.StatusDeleteComplete:
		_, err = tx.ExecContext(ctx, `DELETE FROM resources WHERE key = $1 AND last_attempted_deployment_id = $2`, d.TargetKey, d.ID)
	default:
		err = mirrorStatus(ctx, tx, d)
	}
	return d, err
}

// DeploymentsOrphaned lists claimed active deployments whose worker is gone:
// the lease expired before expiredBefore, or (when alive is set) another owner
// holds it. With SQLite one process owns the file, so the engine passes itself
// as alive; several nodes share a PostgreSQL database, so there it passes no
// alive owner and only expired leases count (engine.Config.SharedStore).
func (s *Store) DeploymentsOrphaned(ctx context.Context, p store.DeploymentsOrphanedParams) ([]*store.Deployment, error) {
	expiredBefore, alive := p.ExpiredBefore, p.Alive
	// The common case, without alive, reads the deployments_leased index.
	q, args := orphanedQuery(false), []any{ms(expiredBefore)}
	if alive != "" {
		q, args = orphanedQuery(true), append(args, alive)
	}
	out, err := collect(ctx, s.r, scanDeployment, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list orphaned deployments: %w", err)
	}
	return out, nil
}

// orphanedQuery is DeploymentsOrphaned's SELECT: of expired leases ($1),
// and with alive, also of leases held by another owner than $2. "ORDER BY
// +seq" sorts the few rows found: a plain "seq" lets SQLite prefer walking
// the whole table in seq order to sorting, which scans the history.
func orphanedQuery(alive bool) string {
	if !alive {
		return `SELECT ` + deploymentColumns + ` FROM deployments
			WHERE status IN ` + activeStatuses + ` AND lease_owner <> '' AND lease_expires_at < $1 ORDER BY +seq`
	}
	return `SELECT ` + deploymentColumns + ` FROM deployments
			WHERE status IN ` + activeStatuses + ` AND lease_owner <> '' AND (lease_expires_at < $1 OR lease_owner <> $2)
			ORDER BY +seq`
}
