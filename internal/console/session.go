package console

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// CookieName is the session cookie's name.
const CookieName = "hadron_console"

// DefaultSessionTTL is how long a sign-in lasts (no sliding renewal: a
// person signs in again after it).
const DefaultSessionTTL = 12 * time.Hour

// sweepEvery is how often, at most, expired sessions are swept: on a
// session's creation, so that an idle server does no work.
const sweepEvery = time.Minute

// Session is one signed-in browser as a SessionStore keeps it. The session
// id itself is only in the browser's cookie; the store keeps its hash.
type Session struct {
	// IDHash is the hex SHA-256 of the session id.
	IDHash string
	// KeyID is the access key signed in with; "" when authentication is
	// off (hadron serve --auth none), where a session only carries the
	// CSRF token.
	KeyID string
	// CSRF is the token every form of the session carries.
	CSRF             string
	Created, Expires time.Time
}

// ErrNoSession is a SessionStore's answer for a session it does not hold
// (never created, deleted, or expired).
var ErrNoSession = errors.New("no such console session")

// SessionStore keeps the console's sessions. The server's is its database,
// so that sessions survive restarts and every node behind a load balancer
// knows every sign-in; MemorySessions is one process's.
type SessionStore interface {
	// CreateSession stores s.
	CreateSession(ctx context.Context, s Session) error
	// GetSession returns the session of idHash unless it has expired at
	// now; ErrNoSession otherwise.
	GetSession(ctx context.Context, idHash string, now time.Time) (Session, error)
	// DeleteSession deletes the session of idHash (none is no error).
	DeleteSession(ctx context.Context, idHash string) error
	// DeleteKeySessions deletes every session of access key keyID.
	DeleteKeySessions(ctx context.Context, keyID string) error
	// DeleteExpiredSessions deletes the sessions expired at now.
	DeleteExpiredSessions(ctx context.Context, now time.Time) (int, error)
}

// session is the session of one request: its id (from the cookie) and
// what the store keeps of it.
type session struct {
	id      string
	keyID   string
	csrf    string
	expires time.Time
}

// sessions creates and finds sessions in a SessionStore.
type sessions struct {
	store     SessionStore
	ttl       time.Duration
	now       func() time.Time
	lastSweep atomic.Int64 // unix nanoseconds
	onError   func(what string, err error)
}

func newSessions(store SessionStore, ttl time.Duration, now func() time.Time, onError func(string, error)) *sessions {
	return &sessions{store: store, ttl: ttl, now: now, onError: onError}
}

func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand panics rather than return an error)
	return base64.RawURLEncoding.EncodeToString(b)
}

// hashID is what the store keeps of a session id.
func hashID(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}

// create starts a session for keyID, sweeping expired ones at most every
// sweepEvery.
func (s *sessions) create(ctx context.Context, keyID string) (*session, error) {
	now := s.now()
	if last := s.lastSweep.Load(); now.UnixNano()-last >= int64(sweepEvery) && s.lastSweep.CompareAndSwap(last, now.UnixNano()) {
		if _, err := s.store.DeleteExpiredSessions(ctx, now); err != nil {
			s.onError("sweep expired console sessions", err)
		}
	}
	sess := &session{id: randomToken(), keyID: keyID, csrf: randomToken(), expires: now.Add(s.ttl)}
	err := s.store.CreateSession(ctx, Session{IDHash: hashID(sess.id), KeyID: keyID, CSRF: sess.csrf, Created: now, Expires: sess.expires})
	if err != nil {
		return nil, fmt.Errorf("create console session: %w", err)
	}
	return sess, nil
}

// get returns the live session of the request's cookie; nil when there is
// none (an error of the store is reported and taken as none).
func (s *sessions) get(r *http.Request) *session {
	c, err := r.Cookie(CookieName)
	if err != nil || c.Value == "" {
		return nil
	}
	got, err := s.store.GetSession(r.Context(), hashID(c.Value), s.now())
	if err != nil {
		if !errors.Is(err, ErrNoSession) {
			s.onError("read console session", err)
		}
		return nil
	}
	return &session{id: c.Value, keyID: got.KeyID, csrf: got.CSRF, expires: got.Expires}
}

func (s *sessions) delete(ctx context.Context, id string) {
	if err := s.store.DeleteSession(ctx, hashID(id)); err != nil {
		s.onError("delete console session", err)
	}
}

// deleteKey ends every session of keyID (its key was disabled or deleted).
func (s *sessions) deleteKey(ctx context.Context, keyID string) {
	if err := s.store.DeleteKeySessions(ctx, keyID); err != nil {
		s.onError("delete console sessions of a key", err)
	}
}

// setCookie hands sess to the browser: HttpOnly (no script reads it),
// SameSite=Strict (no other site's page sends it), Secure on TLS, and
// expiring with the session.
func (s *sessions) setCookie(w http.ResponseWriter, r *http.Request, sess *session) {
	http.SetCookie(w, &http.Cookie{
		Name: CookieName, Value: sess.id, Path: Prefix, HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: r.TLS != nil, Expires: sess.expires, MaxAge: int(sess.expires.Sub(s.now()).Seconds()),
	})
}

func clearCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: Prefix, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil, MaxAge: -1})
}

// csrfOK reports whether a state-changing request carries its session's
// CSRF token (the form field csrf), compared in constant time.
func csrfOK(r *http.Request, sess *session) bool {
	got := r.PostFormValue("csrf")
	return sess != nil && got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(sess.csrf)) == 1
}

// maxMemorySessions bounds the sessions MemorySessions holds: with
// authentication off every browser without a cookie gets one, and a client
// that never keeps its cookie must not grow the map without end. Past it
// the session closest to expiry is dropped.
const maxMemorySessions = 10000

// MemorySessions is a SessionStore in one process's memory: a restart
// signs everyone out, and each node behind a load balancer has its own.
// It is for tests and for a console without a database.
type MemorySessions struct {
	mu sync.Mutex
	m  map[string]Session
}

var _ SessionStore = (*MemorySessions)(nil)

// CreateSession stores s, dropping the session closest to expiry past
// maxMemorySessions.
func (m *MemorySessions) CreateSession(_ context.Context, s Session) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.m == nil {
		m.m = map[string]Session{}
	}
	if len(m.m) >= maxMemorySessions {
		var oldest string
		for h, x := range m.m {
			if oldest == "" || x.Expires.Before(m.m[oldest].Expires) {
				oldest = h
			}
		}
		delete(m.m, oldest)
	}
	m.m[s.IDHash] = s
	return nil
}

// GetSession returns a live session.
func (m *MemorySessions) GetSession(_ context.Context, idHash string, now time.Time) (Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.m[idHash]
	if !ok || !now.Before(s.Expires) {
		return Session{}, ErrNoSession
	}
	return s, nil
}

// DeleteSession deletes one session.
func (m *MemorySessions) DeleteSession(_ context.Context, idHash string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.m, idHash)
	return nil
}

// DeleteKeySessions deletes every session of keyID.
func (m *MemorySessions) DeleteKeySessions(_ context.Context, keyID string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for h, s := range m.m {
		if s.KeyID == keyID {
			delete(m.m, h)
		}
	}
	return nil
}

// DeleteExpiredSessions sweeps expired sessions.
func (m *MemorySessions) DeleteExpiredSessions(_ context.Context, now time.Time) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for h, s := range m.m {
		if !now.Before(s.Expires) {
			delete(m.m, h)
			n++
		}
	}
	return n, nil
}
