package storetest

import (
	"fmt"
	"testing"

	"github.com/hadronhq/hadron/internal/store"
)

func resourceKeys(rs []*store.Resource) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Key)
	}
	return out
}

func resourceTests() []test {
	return []test{
		{"get_missing_is_ErrNotFound", func(t *testing.T, h *harness) {
			_, err := h.s.ResourceGet(h.ctx, "environment/nope")
			wantErr(t, "get", err, store.ErrNotFound)
		}},
		{"list_filters_by_type_service_environment_and_template_major", func(t *testing.T, h *harness) {
			svc1 := target{svcTemplate, "1", "0", "spec"}
			svc2 := target{svcTemplate, "2", "0", "spec"}
			prod := environment("prod")
			dev := environment("dev")
			dev.TemplateMajor = "2"
			for _, r := range []*store.Resource{
				prod, dev,
				serviceInstance("api", "one", "prod", svc1),
				serviceInstance("api", "two", "dev", svc1),
				pipeline("api", svc1),
				serviceInstance("web", "one", "prod", svc2),
				component("c1", "prod"),
			} {
				h.create(r)
			}
			for _, c := range []struct {
				name   string
				filter store.ResourceFilter
				want   []string
			}{
				{"none", store.ResourceFilter{}, []string{"component/c1", "environment/dev", "environment/prod",
					"service/api/pipeline", "service/api/service-instance/one", "service/api/service-instance/two",
					"service/web/service-instance/one"}},
				{"type", store.ResourceFilter{Type: store.ResourceEnvironment},
					[]string{"environment/dev", "environment/prod"}},
				{"service", store.ResourceFilter{ServiceName: "api"}, []string{"service/api/pipeline",
					"service/api/service-instance/one", "service/api/service-instance/two"}},
				{"environment", store.ResourceFilter{EnvironmentName: "prod"}, []string{"component/c1",
					"environment/prod", "service/api/service-instance/one", "service/web/service-instance/one"}},
				{"type and environment", store.ResourceFilter{Type: store.ResourceServiceInstance, EnvironmentName: "prod"},
					[]string{"service/api/service-instance/one", "service/web/service-instance/one"}},
				{"one template major", store.ResourceFilter{Templates: []store.TemplateMajor{{Name: svcTemplate, Major: "1"}}},
					[]string{"service/api/pipeline", "service/api/service-instance/one", "service/api/service-instance/two"}},
				{"two template majors", store.ResourceFilter{Templates: []store.TemplateMajor{{Name: envTemplate, Major: "2"}, {Name: svcTemplate, Major: "2"}}},
					[]string{"environment/dev", "service/web/service-instance/one"}},
				{"template major and type", store.ResourceFilter{Type: store.ResourceServicePipeline,
					Templates: []store.TemplateMajor{{Name: svcTemplate, Major: "1"}}}, []string{"service/api/pipeline"}},
				{"nothing matches", store.ResourceFilter{ServiceName: "nope"}, nil},
			} {
				got, err := h.s.ResourceList(h.ctx, c.filter, store.Page{Limit: 100})
				if err != nil {
					t.Fatal(err)
				}
				sameList(t, "filter "+c.name, resourceKeys(got), c.want)
			}
		}},
		{"list_filters_by_name_and_deployment_status", func(t *testing.T, h *harness) {
			ds := map[string]*store.Deployment{}
			for _, n := range []string{"Web-Prod", "apixprod", "web-dev", "api_prod", "db%"} { // the first two are claimed below, oldest first
				ds[n] = h.create(environment(n))
			}
			for _, n := range []string{"Web-Prod", "apixprod"} {
				h.claim("w1", ds[n])
				h.finish(ds[n].ID, store.StatusFailed, "", at(5))
			}
			for _, c := range []struct {
				name   string
				filter store.ResourceFilter
				want   []string
			}{
				{"name ignores case", store.ResourceFilter{NameContains: "WEB"}, []string{"environment/Web-Prod", "environment/web-dev"}},
				{"underscore is no wildcard", store.ResourceFilter{NameContains: "i_p"}, []string{"environment/api_prod"}},
				{"percent is no wildcard", store.ResourceFilter{NameContains: "%"}, []string{"environment/db%"}},
				{"status", store.ResourceFilter{Statuses: []string{store.StatusFailed}}, []string{"environment/Web-Prod", "environment/apixprod"}},
				{"two statuses", store.ResourceFilter{Statuses: []string{store.StatusFailed, store.StatusInProgress}},
					[]string{"environment/Web-Prod", "environment/api_prod", "environment/apixprod", "environment/db%", "environment/web-dev"}},
				{"name and status", store.ResourceFilter{NameContains: "prod", Statuses: []string{store.StatusInProgress}}, []string{"environment/api_prod"}},
			} {
				got, err := h.s.ResourceList(h.ctx, c.filter, store.Page{Limit: 100})
				if err != nil {
					t.Fatal(err)
				}
				sameList(t, "filter "+c.name, resourceKeys(got), c.want)
			}
		}},
		{"list_pages_by_key", func(t *testing.T, h *harness) {
			for _, n := range []string{"c", "a", "e", "b", "d"} {
				h.create(environment(n))
			}
			for _, c := range []struct {
				page store.Page
				want []string
			}{
				{store.Page{Limit: 2}, []string{"environment/a", "environment/b"}},
				{store.Page{After: "environment/b", Limit: 2}, []string{"environment/c", "environment/d"}},
				{store.Page{After: "environment/d", Limit: 2}, []string{"environment/e"}},
				{store.Page{After: "environment/e", Limit: 2}, nil},
			} {
				got, err := h.s.ResourceList(h.ctx, store.ResourceFilter{Type: store.ResourceEnvironment}, c.page)
				if err != nil {
					t.Fatal(err)
				}
				sameList(t, fmt.Sprintf("list after %q", c.page.After), resourceKeys(got), c.want)
			}
		}},
		{"update_metadata_is_refused_while_a_deployment_is_active", func(t *testing.T, h *harness) {
			r := environment("prod")
			d := h.create(r)
			_, err := h.s.ResourceUpdateMetadata(h.ctx, store.ResourceUpdateMetadataParams{Key: r.Key, Description: strp("new"), Settings: nil, At: at(5)})
			wantErr(t, "update while creating", err, store.ErrActiveDeployment)
			if got := h.resource(r.Key); got.Description != r.Description {
				t.Errorf("description = %q after a refused update", got.Description)
			}
			h.claim("w1", d)
			h.finish(d.ID, store.StatusSucceeded, "", at(6))
			before := h.resource(r.Key)
			got, err := h.s.ResourceUpdateMetadata(h.ctx, store.ResourceUpdateMetadataParams{Key: r.Key, Description: strp("new"), Settings: nil, At: at(7)})
			if err != nil {
				t.Fatalf("update when idle: %v", err)
			}
			want := *before
			want.Description, want.LastModifiedAt = "new", at(7)
			same(t, "updated resource", got, &want)
			got, err = h.s.ResourceUpdateMetadata(h.ctx, store.ResourceUpdateMetadataParams{Key: r.Key, Description: nil, Settings: strp(`{"role":"other"}`), At: at(8)})
			if err != nil {
				t.Fatal(err)
			}
			want.Settings, want.LastModifiedAt = `{"role":"other"}`, at(8)
			same(t, "updated resource", got, &want)
			same(t, "stored resource", h.resource(r.Key), &want)
		}},
		{"update_metadata_of_missing_is_ErrNotFound", func(t *testing.T, h *harness) {
			_, err := h.s.ResourceUpdateMetadata(h.ctx, store.ResourceUpdateMetadataParams{Key: "environment/nope", Description: strp("x"), Settings: nil, At: at(1)})
			wantErr(t, "update", err, store.ErrNotFound)
		}},
	}
}
