package console

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"sync"
	"time"
)

// CookieName is the session cookie's name.
const CookieName = "hadron_console"

// maxSessions bounds the sessions held: with authentication off every
// browser without a cookie gets one, and a client that never keeps its
// cookie must not grow the map without end. Past it the session closest
// to expiry is dropped.
const maxSessions = 10000

// DefaultSessionTTL is how long a sign-in lasts (no sliding renewal: a
// person signs in again after it).
const DefaultSessionTTL = 12 * time.Hour

// session is one signed-in browser. KeyID is the access key it signed in
// with, "" when authentication is off (--auth none), where a session only
// carries the CSRF token.
type session struct {
	id      string
	keyID   string
	csrf    string
	expires time.Time
}

// sessions are held in memory: a restart signs everyone out, and behind a
// load balancer each node has its own (sign in again on another node).
type sessions struct {
	mu  sync.Mutex
	m   map[string]*session
	ttl time.Duration
	now func() time.Time
}

func newSessions(ttl time.Duration, now func() time.Time) *sessions {
	return &sessions{m: map[string]*session{}, ttl: ttl, now: now}
}

func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand panics rather than return an error)
	return base64.RawURLEncoding.EncodeToString(b)
}

// create starts a session for keyID, dropping expired ones on the way.
func (s *sessions) create(keyID string) *session {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	for id, sess := range s.m {
		if now.After(sess.expires) {
			delete(s.m, id)
		}
	}
	if len(s.m) >= maxSessions {
		var oldest *session
		for _, sess := range s.m {
			if oldest == nil || sess.expires.Before(oldest.expires) {
				oldest = sess
			}
		}
		delete(s.m, oldest.id)
	}
	sess := &session{id: randomToken(), keyID: keyID, csrf: randomToken(), expires: now.Add(s.ttl)}
	s.m[sess.id] = sess
	return sess
}

// get returns the live session of the request's cookie, or nil.
func (s *sessions) get(r *http.Request) *session {
	c, err := r.Cookie(CookieName)
	if err != nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sess := s.m[c.Value]
	if sess == nil {
		return nil
	}
	if s.now().After(sess.expires) {
		delete(s.m, sess.id)
		return nil
	}
	return sess
}

func (s *sessions) delete(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, id)
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
