package storetest

import (
	"maps"
	"testing"

	"github.com/hadronhq/hadron/internal/store"
)

func (h *harness) tags(key string) map[string]string {
	h.t.Helper()
	got, err := h.s.TagsGet(h.ctx, key)
	if err != nil {
		h.t.Fatalf("get tags of %s: %v", key, err)
	}
	return got
}

func sameTags(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	if len(got) != len(want) || !maps.Equal(got, want) {
		t.Errorf("%s: tags = %v, want %v", what, got, want)
	}
}

func tagTests() []test {
	return []test{
		{"creates_set_the_tags_they_carry", func(t *testing.T, h *harness) {
			tags := map[string]string{"team": "a", "empty": ""}
			tm := &store.Template{Kind: envKind, Name: "net", CreatedAt: at(0), LastModifiedAt: at(0), Tags: tags}
			if err := h.s.TemplateCreate(h.ctx, tm); err != nil {
				t.Fatal(err)
			}
			v := &store.TemplateVersion{Kind: envKind, TemplateName: "net", Major: -1, Status: versionRegistering,
				CreatedAt: at(0), LastModifiedAt: at(0), Tags: map[string]string{"v": "1"}}
			if err := h.s.TemplateVersionCreate(h.ctx, v); err != nil {
				t.Fatal(err)
			}
			env := environment("prod")
			env.Tags = map[string]string{"env": "prod"}
			h.create(env)
			svc := &store.Service{Name: "api", TemplateName: svcTemplate, TemplateMajor: "1", TemplateMinor: "0",
				Status: "ACTIVE", CreatedAt: at(0), LastModifiedAt: at(0), Tags: map[string]string{"svc": "api"}}
			inst := serviceInstance("api", "one", "prod", target{svcTemplate, "1", "0", "s"})
			inst.Tags = map[string]string{"inst": "one"}
			if _, err := h.s.ServiceChange(h.ctx, store.ServiceChangeParams{Name: "api", Create: svc, At: at(0),
				Resources: []*store.Resource{inst}}); err != nil {
				t.Fatal(err)
			}
			sameTags(t, "template", h.tags(store.TemplateKey(envKind, "net")), tags)
			sameTags(t, "version", h.tags(store.TemplateVersionKey(envKind, "net", v.Major, v.Minor)), map[string]string{"v": "1"})
			sameTags(t, "environment", h.tags(env.Key), map[string]string{"env": "prod"})
			sameTags(t, "service", h.tags(store.ServiceKey("api")), map[string]string{"svc": "api"})
			sameTags(t, "instance", h.tags(inst.Key), map[string]string{"inst": "one"})
			sameTags(t, "untagged record", h.tags("component/none"), map[string]string{})
		}},
		{"repositories_keep_their_tags_until_deleted", func(t *testing.T, h *harness) {
			r := &store.Repository{Key: "repository/github:o/r", Provider: "GITHUB", Name: "o/r",
				ConnectionArn: "arn:aws:codestar-connections:us-east-1:000000000000:connection/c", CreatedAt: at(0),
				Tags: map[string]string{"team": "a"}}
			if err := h.s.RepositoryCreate(h.ctx, r); err != nil {
				t.Fatal(err)
			}
			sameTags(t, "created", h.tags(r.Key), map[string]string{"team": "a"})
			if _, err := h.s.RepositoryDelete(h.ctx, r.Key); err != nil {
				t.Fatal(err)
			}
			sameTags(t, "deleted", h.tags(r.Key), map[string]string{})
		}},
		{"change_sets_replaces_and_deletes_in_one_call", func(t *testing.T, h *harness) {
			key := "environment/prod"
			got, err := h.s.TagsChange(h.ctx, store.TagsChangeParams{Key: key, Set: map[string]string{"a": "1", "b": "2"}})
			if err != nil {
				t.Fatal(err)
			}
			sameTags(t, "after set", got, map[string]string{"a": "1", "b": "2"})
			got, err = h.s.TagsChange(h.ctx, store.TagsChangeParams{Key: key, Set: map[string]string{"a": "one", "c": "3"},
				Delete: []string{"b", "c", "never"}})
			if err != nil {
				t.Fatal(err)
			}
			sameTags(t, "after change (a key both set and deleted is set)", got, map[string]string{"a": "one", "c": "3"})
			sameTags(t, "read back", h.tags(key), got)
			sameTags(t, "another key", h.tags("environment/other"), map[string]string{})
		}},
		{"change_past_max_changes_nothing", func(t *testing.T, h *harness) {
			key := "component/c"
			if _, err := h.s.TagsChange(h.ctx, store.TagsChangeParams{Key: key, Set: map[string]string{"a": "1", "b": "2"}, Max: 3}); err != nil {
				t.Fatal(err)
			}
			_, err := h.s.TagsChange(h.ctx, store.TagsChangeParams{Key: key, Set: map[string]string{"c": "3", "d": "4"}, Max: 3})
			wantErr(t, "a fourth tag", err, store.ErrLimit)
			sameTags(t, "after the refused change", h.tags(key), map[string]string{"a": "1", "b": "2"})
			// Deleting one makes room for another in the same call.
			if _, err := h.s.TagsChange(h.ctx, store.TagsChangeParams{Key: key, Set: map[string]string{"c": "3", "d": "4"},
				Delete: []string{"a"}, Max: 3}); err != nil {
				t.Fatalf("swap within the limit: %v", err)
			}
		}},
		{"deleted_records_take_their_tags_and_a_recreate_starts_clean", func(t *testing.T, h *harness) {
			h.template(envKind, "net")
			v := h.version(envKind, "net", -1, versionDraft)
			tmplKey, verKey := store.TemplateKey(envKind, "net"), store.TemplateVersionKey(envKind, "net", v.Major, v.Minor)
			for _, k := range []string{tmplKey, verKey} {
				if _, err := h.s.TagsChange(h.ctx, store.TagsChangeParams{Key: k, Set: map[string]string{"x": "y"}}); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := h.s.TemplateVersionDelete(h.ctx, envKind, "net", v.Major, v.Minor); err != nil {
				t.Fatal(err)
			}
			sameTags(t, "deleted version", h.tags(verKey), map[string]string{})
			sameTags(t, "template of the deleted version", h.tags(tmplKey), map[string]string{"x": "y"})
			if _, err := h.s.TemplateDelete(h.ctx, envKind, "net"); err != nil {
				t.Fatal(err)
			}
			sameTags(t, "deleted template", h.tags(tmplKey), map[string]string{})

			r := h.newEnvironment("prod")
			if _, err := h.s.TagsChange(h.ctx, store.TagsChangeParams{Key: r.Key, Set: map[string]string{"x": "y"}}); err != nil {
				t.Fatal(err)
			}
			d := h.start(r, store.StatusDeleteInProgress, targetOf(r), at(10))
			h.claim("w", d)
			h.finish(d.ID, store.StatusDeleteComplete, "", at(11))
			sameTags(t, "deleted environment", h.tags(r.Key), map[string]string{})

			// Tags written under a key no record has (a TagsChange racing a
			// delete) do not reach the next record of that key.
			if _, err := h.s.TagsChange(h.ctx, store.TagsChangeParams{Key: r.Key, Set: map[string]string{"stale": "1"}}); err != nil {
				t.Fatal(err)
			}
			again := environment("prod")
			again.Tags = map[string]string{"new": "1"}
			h.create(again)
			sameTags(t, "recreated environment", h.tags(r.Key), map[string]string{"new": "1"})
		}},
	}
}

func countTests() []test {
	return []test{
		{"counts_follow_creates_status_changes_and_deletes", func(t *testing.T, h *harness) {
			h.template(envKind, "a")
			h.template(envKind, "b")
			h.template(svcKind, "s")
			r := h.newEnvironment("one") // SUCCEEDED on v1
			d := h.start(r, store.StatusDeleteInProgress, targetOf(r), at(10))
			h.claim("w", d)
			h.create(environment("two")) // IN_PROGRESS on v1
			want := map[store.ResourceCount]int{
				{Type: store.CountEnvironmentTemplate}: 2,
				{Type: store.CountServiceTemplate}:     1,
				{Type: store.ResourceEnvironment, TemplateName: envTemplate, TemplateMajor: "1", TemplateMinor: "0", Status: store.StatusDeleteInProgress}: 1,
				{Type: store.ResourceEnvironment, TemplateName: envTemplate, TemplateMajor: "1", TemplateMinor: "0", Status: store.StatusInProgress}:       1,
			}
			sameCounts(t, h, "after creates", want)
			h.finish(d.ID, store.StatusDeleteComplete, "", at(11))
			if _, err := h.s.TemplateDelete(h.ctx, envKind, "b"); err != nil {
				t.Fatal(err)
			}
			want = map[store.ResourceCount]int{
				{Type: store.CountEnvironmentTemplate}: 1,
				{Type: store.CountServiceTemplate}:     1,
				{Type: store.ResourceEnvironment, TemplateName: envTemplate, TemplateMajor: "1", TemplateMinor: "0", Status: store.StatusInProgress}: 1,
			}
			sameCounts(t, h, "after deletes", want)
			svc := &store.Service{Name: "api", TemplateName: svcTemplate, TemplateMajor: "1", TemplateMinor: "0",
				Status: "CREATE_IN_PROGRESS", CreatedAt: at(0), LastModifiedAt: at(0)}
			if _, err := h.s.ServiceChange(h.ctx, store.ServiceChangeParams{Name: "api", Create: svc, At: at(0)}); err != nil {
				t.Fatal(err)
			}
			active := "ACTIVE"
			if _, err := h.s.ServiceChange(h.ctx, store.ServiceChangeParams{Name: "api", Status: &active, At: at(1)}); err != nil {
				t.Fatal(err)
			}
			want[store.ResourceCount{Type: store.CountService, TemplateName: svcTemplate, TemplateMajor: "1", TemplateMinor: "0", Status: "ACTIVE"}] = 1
			sameCounts(t, h, "after a service", want)
		}},
	}
}

// sameCounts compares the store's counts, keyed without their Count, with want.
func sameCounts(t *testing.T, h *harness, what string, want map[store.ResourceCount]int) {
	t.Helper()
	counts, err := h.s.ResourceCounts(h.ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[store.ResourceCount]int{}
	for _, c := range counts {
		n := c.Count
		c.Count = 0
		got[c] = n
	}
	if !maps.Equal(got, want) {
		t.Errorf("%s: counts = %v, want %v", what, got, want)
	}
}
