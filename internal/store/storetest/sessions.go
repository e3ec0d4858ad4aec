package storetest

import (
	"testing"

	"github.com/hadronhq/hadron/internal/store"
)

func consoleSession(idHash, key string, expires int) *store.ConsoleSession {
	return &store.ConsoleSession{IDHash: idHash, KeyID: key, CSRF: "csrf-" + idHash, CreatedAt: at(0), ExpiresAt: at(expires)}
}

func consoleSessionTests() []test {
	return []test{
		{"create_then_get_returns_the_session_until_it_expires", func(t *testing.T, h *harness) {
			cs := consoleSession("h1", "AKIDONE", 100)
			if err := h.s.ConsoleSessionCreate(h.ctx, cs); err != nil {
				t.Fatal(err)
			}
			got, err := h.s.ConsoleSessionGet(h.ctx, "h1", at(99))
			if err != nil {
				t.Fatal(err)
			}
			same(t, "session", got, cs)
			_, err = h.s.ConsoleSessionGet(h.ctx, "h1", at(100))
			wantErr(t, "get at expiry", err, store.ErrNotFound)
			_, err = h.s.ConsoleSessionGet(h.ctx, "nope", at(1))
			wantErr(t, "get of an unknown hash", err, store.ErrNotFound)
		}},
		{"create_of_a_taken_hash_is_ErrExists", func(t *testing.T, h *harness) {
			if err := h.s.ConsoleSessionCreate(h.ctx, consoleSession("h1", "AKIDONE", 100)); err != nil {
				t.Fatal(err)
			}
			err := h.s.ConsoleSessionCreate(h.ctx, consoleSession("h1", "AKIDTWO", 100))
			wantErr(t, "second create", err, store.ErrExists)
			got, err := h.s.ConsoleSessionGet(h.ctx, "h1", at(1))
			if err != nil || got.KeyID != "AKIDONE" {
				t.Fatalf("session after the refused create = %+v, %v; want AKIDONE's", got, err)
			}
		}},
		{"delete_by_hash_deletes_that_session_only", func(t *testing.T, h *harness) {
			for _, cs := range []*store.ConsoleSession{consoleSession("h1", "AKIDONE", 100), consoleSession("h2", "AKIDONE", 100)} {
				if err := h.s.ConsoleSessionCreate(h.ctx, cs); err != nil {
					t.Fatal(err)
				}
			}
			n, err := h.s.ConsoleSessionDelete(h.ctx, store.ConsoleSessionDeleteParams{IDHash: "h1"})
			if err != nil || n != 1 {
				t.Fatalf("delete h1 = %d, %v; want 1", n, err)
			}
			_, err = h.s.ConsoleSessionGet(h.ctx, "h1", at(1))
			wantErr(t, "get deleted", err, store.ErrNotFound)
			if _, err := h.s.ConsoleSessionGet(h.ctx, "h2", at(1)); err != nil {
				t.Fatalf("the other session: %v", err)
			}
		}},
		{"delete_by_key_deletes_every_session_of_the_key_and_no_other", func(t *testing.T, h *harness) {
			for _, cs := range []*store.ConsoleSession{consoleSession("h1", "AKIDONE", 100),
				consoleSession("h2", "AKIDONE", 100), consoleSession("h3", "AKIDTWO", 100)} {
				if err := h.s.ConsoleSessionCreate(h.ctx, cs); err != nil {
					t.Fatal(err)
				}
			}
			n, err := h.s.ConsoleSessionDelete(h.ctx, store.ConsoleSessionDeleteParams{KeyID: "AKIDONE"})
			if err != nil || n != 2 {
				t.Fatalf("delete AKIDONE's = %d, %v; want 2", n, err)
			}
			for _, hash := range []string{"h1", "h2"} {
				_, err = h.s.ConsoleSessionGet(h.ctx, hash, at(1))
				wantErr(t, "get "+hash, err, store.ErrNotFound)
			}
			if _, err := h.s.ConsoleSessionGet(h.ctx, "h3", at(1)); err != nil {
				t.Fatalf("the other key's session: %v", err)
			}
			if _, err := h.s.ConsoleSessionDelete(h.ctx, store.ConsoleSessionDeleteParams{}); err == nil {
				t.Fatal("a delete naming nothing succeeded, want an error")
			}
		}},
		{"delete_expired_sweeps_only_expired_sessions", func(t *testing.T, h *harness) {
			for _, cs := range []*store.ConsoleSession{consoleSession("old", "AKIDONE", 10),
				consoleSession("edge", "AKIDONE", 20), consoleSession("live", "AKIDONE", 30)} {
				if err := h.s.ConsoleSessionCreate(h.ctx, cs); err != nil {
					t.Fatal(err)
				}
			}
			n, err := h.s.ConsoleSessionDeleteExpired(h.ctx, at(20))
			if err != nil || n != 2 {
				t.Fatalf("sweep at 20 = %d, %v; want 2 (expired at 10 and at 20)", n, err)
			}
			if _, err := h.s.ConsoleSessionGet(h.ctx, "live", at(20)); err != nil {
				t.Fatalf("the live session: %v", err)
			}
			// Swept, not just hidden: a get at an earlier time finds nothing.
			_, err = h.s.ConsoleSessionGet(h.ctx, "old", at(0))
			wantErr(t, "get swept", err, store.ErrNotFound)
		}},
	}
}
