package console

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestSessionsExpireAndStayBounded(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
	s := newSessions(time.Hour, func() time.Time { return now })
	first := s.create("HKA")
	req := httptest.NewRequest("GET", "/console/", nil)
	req.AddCookie(&http.Cookie{Name: CookieName, Value: first.id})
	if got := s.get(req); got != first {
		t.Fatalf("get = %v, want the session", got)
	}
	now = now.Add(time.Hour + time.Second)
	if got := s.get(req); got != nil {
		t.Errorf("an expired session was returned")
	}
	for range maxSessions + 5 {
		now = now.Add(time.Millisecond)
		s.create("")
	}
	if n := len(s.m); n != maxSessions {
		t.Errorf("%d sessions held, want at most %d", n, maxSessions)
	}
}
