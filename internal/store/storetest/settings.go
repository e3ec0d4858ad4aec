package storetest

import (
	"maps"
	"testing"

	"github.com/hadronhq/hadron/internal/store"
)

func settingsTests() []test {
	return []test{
		{"none_set_is_empty", func(t *testing.T, h *harness) {
			got, err := h.s.SettingsGet(h.ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 0 {
				t.Errorf("settings of a fresh store = %v, want none", got)
			}
		}},
		{"update_sets_replaces_and_deletes_in_one_call", func(t *testing.T, h *harness) {
			got, err := h.s.SettingsUpdate(h.ctx, store.SettingsUpdateParams{
				Set: map[string]string{"a": "1", "b": "2", "c": `{"x": 3}`}, At: at(1)})
			if err != nil {
				t.Fatal(err)
			}
			sameSettings(t, "after first update", got, map[string]string{"a": "1", "b": "2", "c": `{"x": 3}`})
			got, err = h.s.SettingsUpdate(h.ctx, store.SettingsUpdateParams{
				Set: map[string]string{"a": "one"}, Delete: []string{"b", "never-set"}, At: at(2)})
			if err != nil {
				t.Fatal(err)
			}
			sameSettings(t, "after second update", got, map[string]string{"a": "one", "c": `{"x": 3}`})
			read, err := h.s.SettingsGet(h.ctx)
			if err != nil {
				t.Fatal(err)
			}
			sameSettings(t, "read back", read, got)
		}},
		{"empty_value_is_kept", func(t *testing.T, h *harness) {
			got, err := h.s.SettingsUpdate(h.ctx, store.SettingsUpdateParams{Set: map[string]string{"a": ""}, At: at(1)})
			if err != nil {
				t.Fatal(err)
			}
			if v, ok := got["a"]; !ok || v != "" {
				t.Errorf("settings = %v, want a set to the empty string", got)
			}
		}},
	}
}

func templateVersionExtraTests() []test {
	return []test{
		{"set_extra_replaces_it_and_keeps_the_rest", func(t *testing.T, h *harness) {
			h.template(svcKind, "web")
			v := h.version(svcKind, "web", -1, versionDraft)
			got, err := h.s.TemplateVersionSetExtra(h.ctx, store.TemplateVersionSetExtraParams{Kind: svcKind, Template: "web", Major: v.Major, Minor: v.Minor, Extra: `{"k": [1]}`, At: at(7)})
			if err != nil {
				t.Fatal(err)
			}
			if !sameJSON(got.Extra, `{"k": [1]}`) || !got.LastModifiedAt.Equal(at(7)) || got.Status != versionDraft {
				t.Errorf("after set: extra %q, modified %v, status %s", got.Extra, got.LastModifiedAt, got.Status)
			}
			read, err := h.s.TemplateVersionGet(h.ctx, svcKind, "web", v.Major, v.Minor)
			if err != nil {
				t.Fatal(err)
			}
			same(t, "read back", read, got)
		}},
		{"set_extra_of_missing_version_is_ErrNotFound", func(t *testing.T, h *harness) {
			h.template(svcKind, "web")
			_, err := h.s.TemplateVersionSetExtra(h.ctx, store.TemplateVersionSetExtraParams{Kind: svcKind, Template: "web", Major: 1, Minor: 0, Extra: `{}`, At: at(1)})
			wantErr(t, "set extra", err, store.ErrNotFound)
		}},
	}
}

func sameSettings(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	if !maps.Equal(got, want) {
		t.Errorf("%s: settings = %v, want %v", what, got, want)
	}
}
