package storetest

import (
	"fmt"
	"slices"
	"testing"

	"github.com/hadronhq/hadron/internal/store"
)

const (
	envKind = store.KindEnvironmentTemplate
	svcKind = store.KindServiceTemplate
)

func strp(s string) *string { return &s }

func templateTests() []test {
	return []test{
		{"create_then_get_returns_it", func(t *testing.T, h *harness) {
			want := &store.Template{Kind: envKind, Name: "base", DisplayName: "Base", Description: "the base",
				EncryptionKey: "arn:aws:kms:us-east-1:000000000000:key/k", Provisioning: "CUSTOMER_MANAGED",
				CreatedAt: at(1), LastModifiedAt: at(2), RecommendedMajor: -1, RecommendedMinor: -1}
			in := *want
			if err := h.s.TemplateCreate(h.ctx, &in); err != nil {
				t.Fatal(err)
			}
			got, err := h.s.TemplateGet(h.ctx, envKind, "base")
			if err != nil {
				t.Fatal(err)
			}
			same(t, "template", got, want)
		}},
		{"create_of_taken_name_is_ErrExists", func(t *testing.T, h *harness) {
			h.template(envKind, "base")
			err := h.s.TemplateCreate(h.ctx, &store.Template{Kind: envKind, Name: "base", DisplayName: "Other",
				CreatedAt: at(5), LastModifiedAt: at(5)})
			wantErr(t, "second create", err, store.ErrExists)
			got, err := h.s.TemplateGet(h.ctx, envKind, "base")
			if err != nil {
				t.Fatal(err)
			}
			if got.DisplayName != "Template base" {
				t.Errorf("display name = %q: the refused create changed the template", got.DisplayName)
			}
		}},
		{"same_name_in_other_kind_is_another_template", func(t *testing.T, h *harness) {
			h.template(envKind, "base")
			h.template(svcKind, "base")
			h.version(envKind, "base", -1, versionDraft)
			// The service template has no versions, so it can go while the
			// environment template of the same name cannot.
			if _, err := h.s.TemplateDelete(h.ctx, svcKind, "base"); err != nil {
				t.Fatalf("delete service template: %v", err)
			}
			if _, err := h.s.TemplateGet(h.ctx, envKind, "base"); err != nil {
				t.Fatalf("environment template: %v", err)
			}
		}},
		{"get_missing_is_ErrNotFound", func(t *testing.T, h *harness) {
			_, err := h.s.TemplateGet(h.ctx, envKind, "nope")
			wantErr(t, "get", err, store.ErrNotFound)
		}},
		{"list_orders_by_name_and_pages", func(t *testing.T, h *harness) {
			for _, n := range []string{"c", "a", "e", "b", "d"} {
				h.template(envKind, n)
			}
			h.template(svcKind, "aa") // another kind, never listed
			pages := []struct {
				page store.Page
				want []string
			}{
				{store.Page{Limit: 10}, []string{"a", "b", "c", "d", "e"}},
				{store.Page{Limit: 2}, []string{"a", "b"}},
				{store.Page{After: "b", Limit: 2}, []string{"c", "d"}},
				{store.Page{After: "d", Limit: 2}, []string{"e"}},
				{store.Page{After: "e", Limit: 2}, nil},
			}
			for _, p := range pages {
				got, err := h.s.TemplateList(h.ctx, envKind, p.page)
				if err != nil {
					t.Fatal(err)
				}
				var names []string
				for _, tm := range got {
					names = append(names, tm.Name)
				}
				sameList(t, fmt.Sprintf("list after %q limit %d", p.page.After, p.page.Limit), names, p.want)
			}
		}},
		{"list_shows_recommended_version", func(t *testing.T, h *harness) {
			h.template(envKind, "a")
			h.version(envKind, "a", -1, versionPublished)
			got, err := h.s.TemplateList(h.ctx, envKind, store.Page{Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || got[0].RecommendedMajor != 1 || got[0].RecommendedMinor != 0 {
				t.Errorf("list = %v, want template a recommending 1.0", got)
			}
		}},
		{"update_changes_only_the_given_fields", func(t *testing.T, h *harness) {
			want := *h.template(envKind, "base")
			got, err := h.s.TemplateUpdate(h.ctx, store.TemplateUpdateParams{Kind: envKind, Name: "base", DisplayName: nil, Description: strp("new description"), At: at(7)})
			if err != nil {
				t.Fatal(err)
			}
			want.Description, want.LastModifiedAt = "new description", at(7)
			want.RecommendedMajor, want.RecommendedMinor = -1, -1
			same(t, "updated template", got, &want)
			got, err = h.s.TemplateUpdate(h.ctx, store.TemplateUpdateParams{Kind: envKind, Name: "base", DisplayName: strp("Renamed"), Description: nil, At: at(8)})
			if err != nil {
				t.Fatal(err)
			}
			want.DisplayName, want.LastModifiedAt = "Renamed", at(8)
			same(t, "updated template", got, &want)
			stored, err := h.s.TemplateGet(h.ctx, envKind, "base")
			if err != nil {
				t.Fatal(err)
			}
			same(t, "stored template", stored, &want)
		}},
		{"update_missing_is_ErrNotFound", func(t *testing.T, h *harness) {
			_, err := h.s.TemplateUpdate(h.ctx, store.TemplateUpdateParams{Kind: envKind, Name: "nope", DisplayName: strp("x"), Description: nil, At: at(1)})
			wantErr(t, "update", err, store.ErrNotFound)
		}},
		{"delete_is_refused_while_versions_exist", func(t *testing.T, h *harness) {
			h.template(envKind, "base")
			v := h.version(envKind, "base", -1, versionDraft)
			_, err := h.s.TemplateDelete(h.ctx, envKind, "base")
			wantErr(t, "delete with a version", err, store.ErrInUse)
			if _, err := h.s.TemplateGet(h.ctx, envKind, "base"); err != nil {
				t.Fatalf("template after refused delete: %v", err)
			}
			if _, err := h.s.TemplateVersionDelete(h.ctx, envKind, "base", v.Major, v.Minor); err != nil {
				t.Fatal(err)
			}
			got, err := h.s.TemplateDelete(h.ctx, envKind, "base")
			if err != nil {
				t.Fatalf("delete without versions: %v", err)
			}
			if got == nil || got.Name != "base" {
				t.Errorf("delete returned %v, want the template", got)
			}
			_, err = h.s.TemplateGet(h.ctx, envKind, "base")
			wantErr(t, "get after delete", err, store.ErrNotFound)
		}},
		{"delete_missing_is_ErrNotFound", func(t *testing.T, h *harness) {
			_, err := h.s.TemplateDelete(h.ctx, envKind, "nope")
			wantErr(t, "delete", err, store.ErrNotFound)
		}},
		{"recommended_version_is_highest_published", func(t *testing.T, h *harness) {
			h.template(envKind, "base")
			recommends := func(major, minor int) {
				t.Helper()
				got, err := h.s.TemplateGet(h.ctx, envKind, "base")
				if err != nil {
					t.Fatal(err)
				}
				if got.RecommendedMajor != major || got.RecommendedMinor != minor {
					t.Errorf("recommended = %d.%d, want %d.%d", got.RecommendedMajor, got.RecommendedMinor, major, minor)
				}
			}
			recommends(-1, -1)
			h.version(envKind, "base", -1, versionDraft) // 1.0
			recommends(-1, -1)
			publish(t, h, envKind, "base", 1, 0)
			recommends(1, 0)
			h.version(envKind, "base", 1, versionDraft)  // 1.1
			h.version(envKind, "base", -1, versionDraft) // 2.0
			recommends(1, 0)
			publish(t, h, envKind, "base", 1, 1)
			recommends(1, 1)
			publish(t, h, envKind, "base", 2, 0)
			recommends(2, 0)
		}},
	}
}

// publish moves a DRAFT version to PUBLISHED.
func publish(t *testing.T, h *harness, kind, name string, major, minor int) {
	t.Helper()
	_, err := h.s.TemplateVersionSetStatus(h.ctx, store.TemplateVersionStatusParams{Kind: kind, Template: name,
		Major: major, Minor: minor, From: []string{versionDraft}, To: versionPublished, At: at(2)})
	if err != nil {
		t.Fatalf("publish %s:%d.%d: %v", name, major, minor, err)
	}
}

func versionNumbers(vs []*store.TemplateVersion) []string {
	var out []string
	for _, v := range vs {
		out = append(out, fmt.Sprintf("%d.%d", v.Major, v.Minor))
	}
	return out
}

func templateVersionTests() []test {
	return []test{
		{"create_without_major_starts_the_next_major", func(t *testing.T, h *harness) {
			h.template(envKind, "base")
			for _, want := range []int{1, 2, 3} {
				v := h.version(envKind, "base", -1, versionRegistering)
				if v.Major != want || v.Minor != 0 {
					t.Errorf("new major = %d.%d, want %d.0", v.Major, v.Minor, want)
				}
			}
		}},
		{"create_with_major_adds_the_next_minor", func(t *testing.T, h *harness) {
			h.template(envKind, "base")
			h.version(envKind, "base", -1, versionDraft)
			h.version(envKind, "base", -1, versionDraft)
			for _, want := range []int{1, 2} {
				v := h.version(envKind, "base", 1, versionRegistering)
				if v.Major != 1 || v.Minor != want {
					t.Errorf("new minor = %d.%d, want 1.%d", v.Major, v.Minor, want)
				}
			}
		}},
		{"create_reports_the_recommended_minor_of_its_major", func(t *testing.T, h *harness) {
			h.template(envKind, "base")
			h.version(envKind, "base", -1, versionPublished) // 1.0
			// The CreateTemplateVersion response shows recommendedMinorVersion
			// from the version create returns.
			v := h.version(envKind, "base", 1, versionRegistering)
			if v.Minor != 1 || v.RecommendedMinor != 0 {
				t.Errorf("created 1.%d recommending minor %d, want 1.1 recommending 0", v.Minor, v.RecommendedMinor)
			}
			v = h.version(envKind, "base", -1, versionRegistering)
			if v.Major != 2 || v.RecommendedMinor != -1 {
				t.Errorf("created %d.%d recommending minor %d, want 2.0 recommending -1", v.Major, v.Minor, v.RecommendedMinor)
			}
		}},
		{"create_in_a_major_without_versions_is_ErrNotFound", func(t *testing.T, h *harness) {
			h.template(envKind, "base")
			err := h.s.TemplateVersionCreate(h.ctx, &store.TemplateVersion{Kind: envKind, TemplateName: "base", Major: 1,
				Status: versionRegistering, CreatedAt: at(1), LastModifiedAt: at(1)})
			wantErr(t, "create 1.x of a template without versions", err, store.ErrNotFound)
			h.version(envKind, "base", -1, versionDraft)
			err = h.s.TemplateVersionCreate(h.ctx, &store.TemplateVersion{Kind: envKind, TemplateName: "base", Major: 2,
				Status: versionRegistering, CreatedAt: at(1), LastModifiedAt: at(1)})
			wantErr(t, "create 2.x when only 1.0 exists", err, store.ErrNotFound)
			all, err := h.s.TemplateVersionList(h.ctx, envKind, "base", -1, store.Page{Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			sameList(t, "versions", versionNumbers(all), []string{"1.0"})
		}},
		{"create_for_missing_template_is_ErrNotFound", func(t *testing.T, h *harness) {
			err := h.s.TemplateVersionCreate(h.ctx, &store.TemplateVersion{Kind: envKind, TemplateName: "nope", Major: -1,
				Status: versionRegistering, CreatedAt: at(1), LastModifiedAt: at(1)})
			wantErr(t, "create", err, store.ErrNotFound)
		}},
		{"same_client_token_returns_the_first_version", func(t *testing.T, h *harness) {
			h.template(envKind, "base")
			first := &store.TemplateVersion{Kind: envKind, TemplateName: "base", Major: -1, Status: versionRegistering,
				Description: "first", ClientToken: "token-1", CreatedAt: at(1), LastModifiedAt: at(1)}
			if err := h.s.TemplateVersionCreate(h.ctx, first); err != nil {
				t.Fatal(err)
			}
			// A client retrying after a lost response sends the same token.
			retry := &store.TemplateVersion{Kind: envKind, TemplateName: "base", Major: -1, Status: versionRegistering,
				Description: "retry", ClientToken: "token-1", CreatedAt: at(9), LastModifiedAt: at(9)}
			if err := h.s.TemplateVersionCreate(h.ctx, retry); err != nil {
				t.Fatal(err)
			}
			if retry.Major != 1 || retry.Minor != 0 || retry.Description != "first" || !retry.CreatedAt.Equal(at(1)) {
				t.Errorf("retry = %d.%d %q created %v, want the first version 1.0", retry.Major, retry.Minor,
					retry.Description, retry.CreatedAt)
			}
			other := h.version(envKind, "base", -1, versionRegistering)
			if other.Major != 2 {
				t.Errorf("create without token = %d.%d, want 2.0", other.Major, other.Minor)
			}
			all, err := h.s.TemplateVersionList(h.ctx, envKind, "base", -1, store.Page{Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			sameList(t, "versions", versionNumbers(all), []string{"1.0", "2.0"})
		}},
		{"get_returns_what_create_stored", func(t *testing.T, h *harness) {
			h.template(svcKind, "api")
			in := &store.TemplateVersion{Kind: svcKind, TemplateName: "api", Major: -1, Status: versionRegistering,
				StatusMessage: "registering", Description: "d", Bundle: []byte{0x1f, 0x8b, 0, 1, 2},
				SourceBucket: "bucket", SourceKey: "api.tar.gz", ClientToken: "t", CreatedAt: at(3), LastModifiedAt: at(4),
				Extra: `{"compatibleEnvironmentTemplates":[{"templateName":"env","majorVersion":"1"}]}`}
			if err := h.s.TemplateVersionCreate(h.ctx, in); err != nil {
				t.Fatal(err)
			}
			got, err := h.s.TemplateVersionGet(h.ctx, svcKind, "api", 1, 0)
			if err != nil {
				t.Fatal(err)
			}
			want := *in
			want.Major, want.Minor, want.RecommendedMinor = 1, 0, -1
			same(t, "version", got, &want)
		}},
		{"get_missing_is_ErrNotFound", func(t *testing.T, h *harness) {
			h.template(envKind, "base")
			h.version(envKind, "base", -1, versionDraft)
			_, err := h.s.TemplateVersionGet(h.ctx, envKind, "base", 1, 1)
			wantErr(t, "get 1.1", err, store.ErrNotFound)
			_, err = h.s.TemplateVersionGet(h.ctx, svcKind, "base", 1, 0)
			wantErr(t, "get of the other kind", err, store.ErrNotFound)
		}},
		{"set_status_moves_from_an_expected_status", func(t *testing.T, h *harness) {
			h.template(envKind, "base")
			h.version(envKind, "base", -1, versionRegistering)
			got, err := h.s.TemplateVersionSetStatus(h.ctx, store.TemplateVersionStatusParams{Kind: envKind,
				Template: "base", Major: 1, Minor: 0, From: []string{versionRegistering, versionRegistrationFailed},
				To: versionDraft, StatusMessage: "registered", Schema: strp("schema: {}"), At: at(5)})
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != versionDraft || got.StatusMessage != "registered" || got.Schema != "schema: {}" ||
				!got.LastModifiedAt.Equal(at(5)) {
				t.Errorf("after registration: %+v", got)
			}
			// Without a schema the one stored stays.
			got, err = h.s.TemplateVersionSetStatus(h.ctx, store.TemplateVersionStatusParams{Kind: envKind,
				Template: "base", Major: 1, Minor: 0, From: []string{versionDraft}, To: versionPublished, At: at(6)})
			if err != nil {
				t.Fatal(err)
			}
			stored, err := h.s.TemplateVersionGet(h.ctx, envKind, "base", 1, 0)
			if err != nil {
				t.Fatal(err)
			}
			same(t, "returned vs stored", got, stored)
			if stored.Status != versionPublished || stored.Schema != "schema: {}" || stored.RecommendedMinor != 0 {
				t.Errorf("after publishing: status %s schema %q recommended minor %d", stored.Status, stored.Schema,
					stored.RecommendedMinor)
			}
		}},
		{"set_status_from_another_status_is_ErrStatusChanged", func(t *testing.T, h *harness) {
			h.template(envKind, "base")
			h.version(envKind, "base", -1, versionDraft)
			// Two publishers raced; the second expects the version still registering.
			got, err := h.s.TemplateVersionSetStatus(h.ctx, store.TemplateVersionStatusParams{Kind: envKind,
				Template: "base", Major: 1, Minor: 0, From: []string{versionRegistering}, To: versionRegistrationFailed,
				StatusMessage: "late", At: at(5)})
			wantErr(t, "set status", err, store.ErrStatusChanged)
			if got == nil || got.Status != versionDraft {
				t.Errorf("returned version = %v, want it to show the real status %s", got, versionDraft)
			}
			stored, err := h.s.TemplateVersionGet(h.ctx, envKind, "base", 1, 0)
			if err != nil {
				t.Fatal(err)
			}
			if stored.Status != versionDraft || stored.StatusMessage == "late" {
				t.Errorf("stored version changed: %s %q", stored.Status, stored.StatusMessage)
			}
		}},
		{"set_status_of_missing_is_ErrNotFound", func(t *testing.T, h *harness) {
			h.template(envKind, "base")
			_, err := h.s.TemplateVersionSetStatus(h.ctx, store.TemplateVersionStatusParams{Kind: envKind,
				Template: "base", Major: 1, Minor: 0, From: []string{versionDraft}, To: versionPublished, At: at(5)})
			wantErr(t, "set status", err, store.ErrNotFound)
		}},
		{"recommended_minor_is_highest_published_of_its_major", func(t *testing.T, h *harness) {
			h.template(envKind, "base")
			h.version(envKind, "base", -1, versionPublished) // 1.0
			h.version(envKind, "base", 1, versionPublished)  // 1.1
			h.version(envKind, "base", 1, versionDraft)      // 1.2
			h.version(envKind, "base", -1, versionPublished) // 2.0
			h.version(envKind, "base", -1, versionDraft)     // 3.0
			for _, c := range []struct{ major, minor, want int }{
				{1, 0, 1}, {1, 2, 1}, {2, 0, 0}, {3, 0, -1},
			} {
				v, err := h.s.TemplateVersionGet(h.ctx, envKind, "base", c.major, c.minor)
				if err != nil {
					t.Fatal(err)
				}
				if v.RecommendedMinor != c.want {
					t.Errorf("%d.%d recommended minor = %d, want %d", c.major, c.minor, v.RecommendedMinor, c.want)
				}
			}
			list, err := h.s.TemplateVersionList(h.ctx, envKind, "base", 1, store.Page{Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range list {
				if v.RecommendedMinor != 1 {
					t.Errorf("listed %d.%d recommended minor = %d, want 1", v.Major, v.Minor, v.RecommendedMinor)
				}
			}
		}},
		{"list_orders_by_major_then_minor_and_pages", func(t *testing.T, h *harness) {
			h.template(envKind, "base")
			h.template(envKind, "other")
			h.version(envKind, "base", -1, versionDraft) // 1.0
			h.version(envKind, "base", -1, versionDraft) // 2.0
			h.version(envKind, "base", 1, versionDraft)  // 1.1
			h.version(envKind, "base", 1, versionDraft)  // 1.2
			h.version(envKind, "base", -1, versionDraft) // 3.0
			h.version(envKind, "base", 2, versionDraft)  // 2.1
			h.version(envKind, "other", -1, versionDraft)
			for _, c := range []struct {
				major int
				page  store.Page
				want  []string
			}{
				{-1, store.Page{Limit: 10}, []string{"1.0", "1.1", "1.2", "2.0", "2.1", "3.0"}},
				{-1, store.Page{Limit: 4}, []string{"1.0", "1.1", "1.2", "2.0"}},
				{-1, store.Page{After: "2.0", Limit: 4}, []string{"2.1", "3.0"}},
				{-1, store.Page{After: "3.0", Limit: 4}, nil},
				{1, store.Page{Limit: 10}, []string{"1.0", "1.1", "1.2"}},
				{1, store.Page{After: "1.0", Limit: 1}, []string{"1.1"}},
				{1, store.Page{After: "1.2", Limit: 1}, nil},
				{2, store.Page{Limit: 10}, []string{"2.0", "2.1"}},
				{4, store.Page{Limit: 10}, nil},
			} {
				got, err := h.s.TemplateVersionList(h.ctx, envKind, "base", c.major, c.page)
				if err != nil {
					t.Fatal(err)
				}
				sameList(t, fmt.Sprintf("list major %d after %q limit %d", c.major, c.page.After, c.page.Limit),
					versionNumbers(got), c.want)
			}
		}},
		{"set_description_changes_it", func(t *testing.T, h *harness) {
			h.template(envKind, "base")
			h.version(envKind, "base", -1, versionDraft)
			got, err := h.s.TemplateVersionSetDescription(h.ctx, store.TemplateVersionSetDescriptionParams{Kind: envKind, Template: "base", Major: 1, Minor: 0, Description: "described", At: at(9)})
			if err != nil {
				t.Fatal(err)
			}
			if got.Description != "described" || !got.LastModifiedAt.Equal(at(9)) || got.Status != versionDraft {
				t.Errorf("after set description: %+v", got)
			}
			_, err = h.s.TemplateVersionSetDescription(h.ctx, store.TemplateVersionSetDescriptionParams{Kind: envKind, Template: "base", Major: 1, Minor: 1, Description: "x", At: at(9)})
			wantErr(t, "set description of missing", err, store.ErrNotFound)
		}},
		{"delete_is_refused_while_a_resource_uses_it", func(t *testing.T, h *harness) {
			h.template(envKind, envTemplate)
			h.version(envKind, envTemplate, -1, versionPublished)
			// A service template of the same name and version is another template.
			h.template(svcKind, envTemplate)
			h.version(svcKind, envTemplate, -1, versionPublished)
			r := h.newEnvironment("prod") // runs env-tmpl 1.0
			_, err := h.s.TemplateVersionDelete(h.ctx, envKind, envTemplate, 1, 0)
			wantErr(t, "delete a version in use", err, store.ErrInUse)
			if _, err := h.s.TemplateVersionGet(h.ctx, envKind, envTemplate, 1, 0); err != nil {
				t.Fatalf("version after refused delete: %v", err)
			}
			if _, err := h.s.TemplateVersionDelete(h.ctx, svcKind, envTemplate, 1, 0); err != nil {
				t.Fatalf("delete the unused service template version: %v", err)
			}
			d := h.start(r, store.StatusDeleteInProgress, targetOf(r), at(10))
			h.claim("w1", d)
			h.finish(d.ID, store.StatusDeleteComplete, "", at(11))
			got, err := h.s.TemplateVersionDelete(h.ctx, envKind, envTemplate, 1, 0)
			if err != nil {
				t.Fatalf("delete once the environment is gone: %v", err)
			}
			if got == nil || got.Major != 1 || got.Minor != 0 {
				t.Errorf("delete returned %v, want version 1.0", got)
			}
			_, err = h.s.TemplateVersionGet(h.ctx, envKind, envTemplate, 1, 0)
			wantErr(t, "get after delete", err, store.ErrNotFound)
		}},
		{"delete_is_refused_while_an_active_deployment_targets_it", func(t *testing.T, h *harness) {
			h.template(envKind, envTemplate)
			h.version(envKind, envTemplate, -1, versionPublished)
			h.version(envKind, envTemplate, -1, versionPublished)
			r := h.newEnvironment("prod") // on 1.0
			d := h.start(r, store.StatusInProgress, v2, at(10))
			_, err := h.s.TemplateVersionDelete(h.ctx, envKind, envTemplate, 2, 0)
			wantErr(t, "delete the target of an active deployment", err, store.ErrInUse)
			h.claim("w1", d)
			h.finish(d.ID, store.StatusFailed, "", at(11))
			// The failed update left the environment on 1.0, so 2.0 is free.
			if _, err := h.s.TemplateVersionDelete(h.ctx, envKind, envTemplate, 2, 0); err != nil {
				t.Fatalf("delete after the deployment failed: %v", err)
			}
		}},
		{"delete_missing_is_ErrNotFound", func(t *testing.T, h *harness) {
			h.template(envKind, "base")
			_, err := h.s.TemplateVersionDelete(h.ctx, envKind, "base", 1, 0)
			wantErr(t, "delete", err, store.ErrNotFound)
		}},
		{"registering_lists_versions_left_in_registration", func(t *testing.T, h *harness) {
			h.template(envKind, "base")
			h.template(svcKind, "api")
			h.version(envKind, "base", -1, versionRegistering)
			h.version(envKind, "base", -1, versionDraft)
			h.version(envKind, "base", -1, versionRegistrationFailed)
			h.version(svcKind, "api", -1, versionRegistering)
			h.version(svcKind, "api", -1, versionPublished)
			got, err := h.s.TemplateVersionsRegistering(h.ctx)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, v := range got {
				names = append(names, fmt.Sprintf("%s/%s:%d.%d", v.Kind, v.TemplateName, v.Major, v.Minor))
			}
			if len(names) != 2 || !slices.Contains(names, "environment/base:1.0") || !slices.Contains(names, "service/api:1.0") {
				t.Errorf("registering = %v, want environment/base:1.0 and service/api:1.0", names)
			}
		}},
	}
}
