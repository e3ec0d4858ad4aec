package server

import (
	"context"
	"errors"
	"time"

	"github.com/hadronhq/hadron/internal/console"
	"github.com/hadronhq/hadron/internal/store"
)

// consoleSessions keeps the web console's sessions in the server's store,
// so that a sign-in survives a restart and holds on every node sharing the
// database.
type consoleSessions struct{ st store.Store }

var _ console.SessionStore = consoleSessions{}

func (c consoleSessions) CreateSession(ctx context.Context, s console.Session) error {
	return c.st.ConsoleSessionCreate(ctx, &store.ConsoleSession{IDHash: s.IDHash, KeyID: s.KeyID, CSRF: s.CSRF,
		CreatedAt: s.Created, ExpiresAt: s.Expires})
}

func (c consoleSessions) GetSession(ctx context.Context, idHash string, now time.Time) (console.Session, error) {
	s, err := c.st.ConsoleSessionGet(ctx, idHash, now)
	if errors.Is(err, store.ErrNotFound) {
		return console.Session{}, console.ErrNoSession
	}
	if err != nil {
		return console.Session{}, err
	}
	return console.Session{IDHash: s.IDHash, KeyID: s.KeyID, CSRF: s.CSRF, Created: s.CreatedAt, Expires: s.ExpiresAt}, nil
}

func (c consoleSessions) DeleteSession(ctx context.Context, idHash string) error {
	_, err := c.st.ConsoleSessionDelete(ctx, store.ConsoleSessionDeleteParams{IDHash: idHash})
	return err
}

func (c consoleSessions) DeleteKeySessions(ctx context.Context, keyID string) error {
	_, err := c.st.ConsoleSessionDelete(ctx, store.ConsoleSessionDeleteParams{KeyID: keyID})
	return err
}

func (c consoleSessions) DeleteExpiredSessions(ctx context.Context, now time.Time) (int, error) {
	return c.st.ConsoleSessionDeleteExpired(ctx, now)
}
