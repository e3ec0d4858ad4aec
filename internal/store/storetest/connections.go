package storetest

import (
	"errors"
	"fmt"
	"strings"
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
		{"reject_refuses_a_connection_an_environment_uses", func(t *testing.T, h *harness) {
			c := h.connected(connection("prod", mgmt, acct))
			from := []string{store.ConnectionPending, store.ConnectionConnected}
			env := environment("prod")
			d := deploymentOf(env, store.StatusInProgress, targetOf(env), env.CreatedAt)
			if _, err := h.s.DeploymentStart(h.ctx, store.DeploymentStartParams{Deployment: d, Create: env, Connection: &c.ID}); err != nil {
				t.Fatal(err)
			}
			got, err := h.s.ConnectionReject(h.ctx, store.ConnectionRejectParams{ID: c.ID, From: from, At: at(5)})
			var used *store.UsedByError
			if !errors.As(err, &used) || !errors.Is(err, store.ErrInUse) || strings.Join(used.Users, ",") != env.Key {
				t.Fatalf("reject while %s uses it: %+v %v, want a UsedByError naming it", env.Key, got, err)
			}
			// Moved off the connection (ResourceUpdateMetadata with ""), the environment no longer holds it.
			h.finish(d.ID, store.StatusSucceeded, `{}`, at(5))
			none := ""
			if _, err := h.s.ResourceUpdateMetadata(h.ctx, store.ResourceUpdateMetadataParams{Key: env.Key, Connection: &none, At: at(6)}); err != nil {
				t.Fatal(err)
			}
			got, err = h.s.ConnectionReject(h.ctx, store.ConnectionRejectParams{ID: c.ID, From: from, At: at(7)})
			if err != nil || got.Status != store.ConnectionRejected || !got.LastModifiedAt.Equal(at(7)) {
				t.Fatalf("reject when unused: %+v %v", got, err)
			}
			got, err = h.s.ConnectionReject(h.ctx, store.ConnectionRejectParams{ID: c.ID, From: from, At: at(8)})
			wantErr(t, "reject twice", err, store.ErrStatusChanged)
			if got == nil || got.Status != store.ConnectionRejected {
				t.Errorf("the refused reject returns %+v, want the connection as it is", got)
			}
			// A rejected (or missing) connection cannot be put to use.
			_, err = h.s.ResourceUpdateMetadata(h.ctx, store.ResourceUpdateMetadataParams{Key: env.Key, Connection: &c.ID, At: at(9)})
			wantErr(t, "use a rejected connection", err, store.ErrConnectionUnusable)
			missing := newID()
			_, err = h.s.ResourceUpdateMetadata(h.ctx, store.ResourceUpdateMetadataParams{Key: env.Key, Connection: &missing, At: at(9)})
			wantErr(t, "use a missing connection", err, store.ErrConnectionUnusable)
			_, err = h.s.ConnectionReject(h.ctx, store.ConnectionRejectParams{ID: missing, From: from, At: at(9)})
			wantErr(t, "reject a missing connection", err, store.ErrNotFound)
		}},
		{"reject_races_an_environment_created_on_the_connection", raceRejectCreate},
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

// connected creates c and accepts it.
func (h *harness) connected(c *store.Connection) *store.Connection {
	h.t.Helper()
	if err := h.s.ConnectionCreate(h.ctx, c); err != nil {
		h.t.Fatal(err)
	}
	status := store.ConnectionConnected
	c, err := h.s.ConnectionUpdate(h.ctx, store.ConnectionUpdateParams{ID: c.ID, Status: &status, At: at(1)})
	if err != nil {
		h.t.Fatal(err)
	}
	return c
}

// raceRejectCreate is the race "an environment is created on a connection
// while the management account rejects it": exactly one wins. Either the
// environment exists on the connection and the reject fails naming it
// (ErrInUse), or the connection is REJECTED and the create fails with
// ErrConnectionUnusable, leaving no environment.
func raceRejectCreate(t *testing.T, h *harness) {
	const mgmt, acct = "111111111111", "222222222222"
	var createFirst, rejectFirst int
	for i := range raceRounds {
		name := fmt.Sprintf("race-%02d", i)
		c := h.connected(connection(name, mgmt, acct))
		env := environment(name)
		d := deploymentOf(env, store.StatusInProgress, targetOf(env), env.CreatedAt)
		var createErr, rejectErr error
		var rejected *store.Connection
		together(
			func() {
				_, createErr = h.s.DeploymentStart(h.ctx, store.DeploymentStartParams{Deployment: d, Create: env, Connection: &c.ID})
			},
			func() {
				rejected, rejectErr = h.s.ConnectionReject(h.ctx, store.ConnectionRejectParams{ID: c.ID,
					From: []string{store.ConnectionPending, store.ConnectionConnected}, At: at(2)})
			},
		)
		_, getErr := h.s.ResourceGet(h.ctx, env.Key)
		switch {
		case createErr == nil && errors.Is(rejectErr, store.ErrInUse) && getErr == nil:
			createFirst++
		case rejectErr == nil && rejected.Status == store.ConnectionRejected && errors.Is(createErr, store.ErrConnectionUnusable) && errors.Is(getErr, store.ErrNotFound):
			rejectFirst++
		default:
			t.Errorf("round %d: create %v, reject %v, environment read %v: want exactly one of them to win", i, createErr, rejectErr, getErr)
		}
	}
	t.Logf("create first %d, reject first %d", createFirst, rejectFirst)
}
