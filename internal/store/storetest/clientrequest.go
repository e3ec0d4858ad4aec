package storetest

import (
	"testing"

	"github.com/hadronhq/hadron/internal/store"
)

func clientRequestTests() []test {
	return []test{
		{"version_retry_returns_the_first_request", func(t *testing.T, h *harness) {
			h.template(envKind, "net")
			v := &store.TemplateVersion{Kind: envKind, TemplateName: "net", Major: -1, Status: versionRegistering,
				ClientToken: "tok", ClientRequest: "first", CreatedAt: at(0), LastModifiedAt: at(0)}
			if err := h.s.TemplateVersionCreate(h.ctx, v); err != nil {
				t.Fatal(err)
			}
			again := &store.TemplateVersion{Kind: envKind, TemplateName: "net", Major: -1, Status: versionRegistering,
				ClientToken: "tok", ClientRequest: "second", CreatedAt: at(5), LastModifiedAt: at(5)}
			if err := h.s.TemplateVersionCreate(h.ctx, again); err != nil {
				t.Fatal(err)
			}
			if again.Major != v.Major || again.Minor != v.Minor || again.ClientRequest != "first" {
				t.Errorf("retry = %d.%d of request %q, want %d.%d of request \"first\"", again.Major, again.Minor, again.ClientRequest, v.Major, v.Minor)
			}
			got, err := h.s.TemplateVersionGet(h.ctx, envKind, "net", v.Major, v.Minor)
			if err != nil || got.ClientRequest != "first" {
				t.Errorf("read back: %v %v", got, err)
			}
		}},
		{"resource_keeps_the_request_of_its_last_token", func(t *testing.T, h *harness) {
			r := environment("prod")
			r.LastClientRequestToken, r.LastClientRequest = "t1", "create"
			d := h.create(r)
			if got := h.resource(r.Key); got.LastClientRequestToken != "t1" || got.LastClientRequest != "create" {
				t.Errorf("after create: token %q request %q", got.LastClientRequestToken, got.LastClientRequest)
			}
			h.claim("w", d)
			h.finish(d.ID, store.StatusSucceeded, "{}", at(1))
			token, request := "t2", "update"
			next := deploymentOf(r, store.StatusInProgress, v2, at(2))
			if _, err := h.s.DeploymentStart(h.ctx, store.DeploymentStartParams{Deployment: next, ClientToken: &token, ClientRequest: &request}); err != nil {
				t.Fatal(err)
			}
			if got := h.resource(r.Key); got.LastClientRequestToken != "t2" || got.LastClientRequest != "update" {
				t.Errorf("after update: token %q request %q", got.LastClientRequestToken, got.LastClientRequest)
			}
		}},
	}
}
