package storetest

import (
	"slices"
	"testing"

	"github.com/hadronhq/hadron/internal/store"
)

func serviceSearchTests() []test {
	return []test{
		{"search_filters_by_name_status_and_template_and_pages_by_name", func(t *testing.T, h *harness) {
			for _, c := range []struct{ name, status, template string }{
				{"api-a", "ACTIVE", svcTemplate}, {"API_b", "CREATE_FAILED", svcTemplate}, {"web-api", "ACTIVE", "other"},
				{"worker", "ACTIVE", svcTemplate}, {"api%c", "ACTIVE", svcTemplate},
			} {
				svc := newService(c.name, c.status)
				svc.TemplateName = c.template
				if _, err := h.s.ServiceChange(h.ctx, store.ServiceChangeParams{Name: c.name, Create: svc, At: at(1)}); err != nil {
					t.Fatal(err)
				}
			}
			names := func(f store.ServiceFilter, after string, limit int) []string {
				t.Helper()
				list, err := h.s.ServiceSearch(h.ctx, f, store.Page{After: after, Limit: limit})
				if err != nil {
					t.Fatal(err)
				}
				var out []string
				for _, s := range list {
					out = append(out, s.Name)
				}
				return out
			}
			for _, c := range []struct {
				what  string
				f     store.ServiceFilter
				after string
				limit int
				want  []string
			}{
				{"all", store.ServiceFilter{}, "", 10, []string{"API_b", "api%c", "api-a", "web-api", "worker"}},
				{"name, any case", store.ServiceFilter{NameContains: "Api"}, "", 10, []string{"API_b", "api%c", "api-a", "web-api"}},
				{"a wildcard is a character", store.ServiceFilter{NameContains: "%"}, "", 10, []string{"api%c"}},
				{"another wildcard is a character", store.ServiceFilter{NameContains: "_"}, "", 10, []string{"API_b"}},
				{"status", store.ServiceFilter{Statuses: []string{"CREATE_FAILED"}}, "", 10, []string{"API_b"}},
				{"template", store.ServiceFilter{TemplateName: "other"}, "", 10, []string{"web-api"}},
				{"all three", store.ServiceFilter{NameContains: "api", Statuses: []string{"ACTIVE"}, TemplateName: svcTemplate}, "", 10, []string{"api%c", "api-a"}},
				{"first page", store.ServiceFilter{NameContains: "api"}, "", 2, []string{"API_b", "api%c"}},
				{"next page", store.ServiceFilter{NameContains: "api"}, "api%c", 2, []string{"api-a", "web-api"}},
			} {
				if got := names(c.f, c.after, c.limit); !slices.Equal(got, c.want) {
					t.Errorf("%s: %q, want %q", c.what, got, c.want)
				}
			}
		}},
	}
}
