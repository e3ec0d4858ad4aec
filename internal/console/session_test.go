package console

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestSessionsExpireAreSweptAndKeepOnlyTheIDsHash(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
	mem := &MemorySessions{}
	s := newSessions(mem, time.Hour, func() time.Time { return now }, func(what string, err error) { t.Errorf("%s: %v", what, err) })
	first, err := s.create(t.Context(), "HKA")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := mem.m[first.id]; ok {
		t.Errorf("the store holds the session id itself")
	}
	if _, ok := mem.m[hashID(first.id)]; !ok {
		t.Errorf("the store holds no session under the id's hash")
	}
	req := httptest.NewRequest("GET", "/console/", nil)
	req.AddCookie(&http.Cookie{Name: CookieName, Value: first.id})
	if got := s.get(req); got == nil || got.keyID != "HKA" || got.csrf != first.csrf {
		t.Fatalf("get = %+v, want the session", got)
	}
	now = now.Add(time.Hour)
	if got := s.get(req); got != nil {
		t.Errorf("an expired session was returned")
	}
	if len(mem.m) != 1 {
		t.Fatalf("%d sessions held before the sweep, want the expired one", len(mem.m))
	}
	// The next sign-in, a sweep interval later, sweeps it.
	now = now.Add(sweepEvery)
	if _, err := s.create(t.Context(), "HKB"); err != nil {
		t.Fatal(err)
	}
	if len(mem.m) != 1 {
		t.Errorf("%d sessions held after the sweep, want only the new one", len(mem.m))
	}
}

func TestMemorySessionsStayBounded(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
	s := newSessions(&MemorySessions{}, time.Hour, func() time.Time { return now }, func(string, error) {})
	for range maxMemorySessions + 5 {
		now = now.Add(time.Millisecond)
		if _, err := s.create(t.Context(), ""); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(s.store.(*MemorySessions).m); n != maxMemorySessions {
		t.Errorf("%d sessions held, want at most %d", n, maxMemorySessions)
	}
}
