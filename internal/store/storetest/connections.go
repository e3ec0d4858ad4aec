package storetest

import (
	"testing"

	"github.com/hadronhq/hadron/internal/store"
)

func connection(env, mgmt, envAccount string) *store.Connection {
	return &store.Connection{ID: newID(), ManagementAccountID: mgmt, EnvironmentAccount: envAccount, EnvironmentName: env,
		RoleArn: "arn:aws:iam::" + envAccount + ":role/p", Status: store.ConnectionPending, RequestedAt: at(0), LastModifiedAt: at(0)}
}

func connectionTests() []test {
	const mgmt, acct, other = "111111111111", "222222222222", "333333333333"
	return []test{
		{"create_get_and_retry_by_token", func(t *testing.T, h *harness) {
			c := connection("prod", mgmt, acct)
			c.ClientToken, c.ClientRequest, c.Tags = "tok", "req", map[string]string{"a": "1"}
			if err := h.s.ConnectionCreate(h.ctx, c); err != nil {
				t.Fatal(err)
			}
			got, err := h.s.ConnectionGet(h.ctx, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			want := *c
			want.Tags = nil
			same(t, "read back", got, &want)
			sameTags(t, "tags", h.tags(store.ConnectionKey(c.ID)), map[string]string{"a": "1"})
			retry := connection("prod", mgmt, acct)
			retry.ClientToken = "tok"
			if err := h.s.ConnectionCreate(h.ctx, retry); err != nil {
				t.Fatal(err)
			}
			if retry.ID != c.ID || retry.ClientRequest != "req" {
				t.Errorf("retry = %s (request %q), want %s", retry.ID, retry.ClientRequest, c.ID)
			}
			_, err = h.s.ConnectionGet(h.ctx, "00000000-0000-4000-8000-000000000000")
			wantErr(t, "get missing", err, store.ErrNotFound)
		}},
		{"one_live_connection_per_environment_until_rejected", func(t *testing.T, h *harness) {
			c := connection("prod", mgmt, acct)
			if err := h.s.ConnectionCreate(h.ctx, c); err != nil {
				t.Fatal(err)
			}
			wantErr(t, "second live", h.s.ConnectionCreate(h.ctx, connection("prod", mgmt, acct)), store.ErrExists)
			for _, ok := range []*store.Connection{connection("dev", mgmt, acct), connection("prod", mgmt, other), connection("prod", other, acct)} {
				if err := h.s.ConnectionCreate(h.ctx, ok); err != nil {
					t.Errorf("another environment or account: %v", err)
				}
			}
			rejected := store.ConnectionRejected
			if _, err := h.s.ConnectionUpdate(h.ctx, store.ConnectionUpdateParams{ID: c.ID, From: []string{store.ConnectionPending}, Status: &rejected, At: at(1)}); err != nil {
				t.Fatal(err)
			}
			if err := h.s.ConnectionCreate(h.ctx, connection("prod", mgmt, acct)); err != nil {
				t.Errorf("after the reject: %v", err)
			}
		}},
		{"update_is_conditional_on_status", func(t *testing.T, h *harness) {
			c := connection("prod", mgmt, acct)
			if err := h.s.ConnectionCreate(h.ctx, c); err != nil {
				t.Fatal(err)
			}
			connected, role := store.ConnectionConnected, "arn:aws:iam::222222222222:role/new"
			got, err := h.s.ConnectionUpdate(h.ctx, store.ConnectionUpdateParams{ID: c.ID, From: []string{store.ConnectionPending}, Status: &connected, At: at(2)})
			if err != nil || got.Status != connected || !got.LastModifiedAt.Equal(at(2)) {
				t.Fatalf("accept: %+v %v", got, err)
			}
			got, err = h.s.ConnectionUpdate(h.ctx, store.ConnectionUpdateParams{ID: c.ID, From: []string{store.ConnectionPending}, Status: &connected, At: at(3)})
			wantErr(t, "accept twice", err, store.ErrStatusChanged)
			if got == nil || got.Status != connected {
				t.Errorf("the refused update returns %+v, want the connection as it is", got)
			}
			got, err = h.s.ConnectionUpdate(h.ctx, store.ConnectionUpdateParams{ID: c.ID, RoleArn: &role, At: at(4)})
			if err != nil || got.RoleArn != role || got.Status != connected || got.ComponentRoleArn != "" {
				t.Errorf("role update: %+v %v", got, err)
			}
		}},
		{"list_filters_by_account_environment_and_status", func(t *testing.T, h *harness) {
			a, b, c := connection("prod", mgmt, acct), connection("dev", mgmt, other), connection("prod", other, acct)
			for _, x := range []*store.Connection{a, b, c} {
				if err := h.s.ConnectionCreate(h.ctx, x); err != nil {
					t.Fatal(err)
				}
			}
			connected := store.ConnectionConnected
			if _, err := h.s.ConnectionUpdate(h.ctx, store.ConnectionUpdateParams{ID: b.ID, Status: &connected, At: at(1)}); err != nil {
				t.Fatal(err)
			}
			ids := func(f store.ConnectionFilter) map[string]bool {
				list, err := h.s.ConnectionList(h.ctx, f, store.Page{Limit: 10})
				if err != nil {
					t.Fatal(err)
				}
				out := map[string]bool{}
				for _, x := range list {
					out[x.ID] = true
				}
				return out
			}
			for name, c := range map[string]struct {
				f    store.ConnectionFilter
				want []string
			}{
				"management":      {store.ConnectionFilter{ManagementAccountID: mgmt}, []string{a.ID, b.ID}},
				"environment":     {store.ConnectionFilter{EnvironmentAccount: acct}, []string{a.ID, c.ID}},
				"name":            {store.ConnectionFilter{EnvironmentAccount: acct, EnvironmentName: "prod"}, []string{a.ID, c.ID}},
				"status":          {store.ConnectionFilter{ManagementAccountID: mgmt, Statuses: []string{store.ConnectionConnected}}, []string{b.ID}},
				"statuses":        {store.ConnectionFilter{Statuses: []string{store.ConnectionConnected, store.ConnectionPending}}, []string{a.ID, b.ID, c.ID}},
				"none that match": {store.ConnectionFilter{EnvironmentName: "qa"}, nil},
			} {
				got := ids(c.f)
				if len(got) != len(c.want) {
					t.Errorf("%s: got %v, want %v", name, got, c.want)
				}
				for _, id := range c.want {
					if !got[id] {
						t.Errorf("%s: %s missing from %v", name, id, got)
					}
				}
			}
		}},
		{"delete_takes_the_tags", func(t *testing.T, h *harness) {
			c := connection("prod", mgmt, acct)
			c.Tags = map[string]string{"a": "1"}
			if err := h.s.ConnectionCreate(h.ctx, c); err != nil {
				t.Fatal(err)
			}
			if _, err := h.s.ConnectionDelete(h.ctx, c.ID); err != nil {
				t.Fatal(err)
			}
			sameTags(t, "after delete", h.tags(store.ConnectionKey(c.ID)), map[string]string{})
			_, err := h.s.ConnectionDelete(h.ctx, c.ID)
			wantErr(t, "delete again", err, store.ErrNotFound)
		}},
	}
}
