package sqlstore

import (
	"context"
	"fmt"
	"time"

	"github.com/hadronhq/hadron/internal/store"
)

// ConsoleSessionCreate inserts a web console sign-in.
func (s *Store) ConsoleSessionCreate(ctx context.Context, cs *store.ConsoleSession) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO console_sessions (id_hash, key_id, csrf, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5)`, cs.IDHash, cs.KeyID, cs.CSRF, ms(cs.CreatedAt), ms(cs.ExpiresAt))
	if s.unique(err) {
		return fmt.Errorf("create console session: %w", store.ErrExists)
	}
	if err != nil {
		return fmt.Errorf("create console session: %w", err)
	}
	return nil
}

// ConsoleSessionGet reads a session that has not expired at now.
func (s *Store) ConsoleSessionGet(ctx context.Context, idHash string, now time.Time) (*store.ConsoleSession, error) {
	var cs store.ConsoleSession
	var created, expires int64
	err := s.r.Row(ctx, `SELECT id_hash, key_id, csrf, created_at, expires_at FROM console_sessions
		WHERE id_hash = $1 AND expires_at > $2`, idHash, ms(now)).Scan(&cs.IDHash, &cs.KeyID, &cs.CSRF, &created, &expires)
	if noRows(err) {
		return nil, fmt.Errorf("console session: %w", store.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get console session: %w", err)
	}
	cs.CreatedAt, cs.ExpiresAt = fromMS(created), fromMS(expires)
	return &cs, nil
}

// ConsoleSessionDelete deletes one session, or every session of a key.
func (s *Store) ConsoleSessionDelete(ctx context.Context, p store.ConsoleSessionDeleteParams) (int, error) {
	if p.IDHash == "" && p.KeyID == "" {
		return 0, fmt.Errorf("delete console sessions: neither a session nor a key named")
	}
	q, arg := `DELETE FROM console_sessions WHERE id_hash = $1`, p.IDHash
	if p.IDHash == "" {
		q, arg = `DELETE FROM console_sessions WHERE key_id = $1`, p.KeyID
	}
	res, err := s.w.ExecContext(ctx, q, arg)
	if err != nil {
		return 0, fmt.Errorf("delete console sessions: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// ConsoleSessionDeleteExpired sweeps the sessions expired at now.
func (s *Store) ConsoleSessionDeleteExpired(ctx context.Context, now time.Time) (int, error) {
	res, err := s.w.ExecContext(ctx, `DELETE FROM console_sessions WHERE expires_at <= $1`, ms(now))
	if err != nil {
		return 0, fmt.Errorf("sweep console sessions: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}
