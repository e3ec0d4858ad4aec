package sqlstore_test

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/hadronhq/hadron/internal/store"
	"github.com/hadronhq/hadron/internal/store/sqlite"
)

// BenchmarkResourceListByTemplate reads the first page of environments on
// one template, beside the first page of all environments, with 10^3, 10^4
// and 10^5 environments in the store, half of them on that template: on
// the resources_by_type_template_key index a page costs the same at every
// size (issue 18 measured 2.4 / 13.8 / 98.6 ms before the index).
//
//	go test -run '^$' -bench ResourceListByTemplate ./internal/store/sqlstore/
func BenchmarkResourceListByTemplate(b *testing.B) {
	for _, n := range []int{1_000, 10_000, 100_000} {
		path := filepath.Join(b.TempDir(), "hadron.db")
		st, err := sqlite.Open(b.Context(), path)
		if err != nil {
			b.Fatal(err)
		}
		seedEnvironments(b, path, n)
		for _, c := range []struct {
			name string
			f    store.ResourceFilter
		}{
			{"filtered", store.ResourceFilter{Type: store.ResourceEnvironment, Templates: []store.TemplateMajor{{Name: "net", Major: "1"}}}},
			{"unfiltered", store.ResourceFilter{Type: store.ResourceEnvironment}},
		} {
			b.Run(fmt.Sprintf("%s/environments=%d", c.name, n), func(b *testing.B) {
				for b.Loop() {
					page, err := st.ResourceList(b.Context(), c.f, store.Page{Limit: 100})
					if err != nil || len(page) != 100 {
						b.Fatalf("page of %d, %v", len(page), err)
					}
				}
			})
		}
		st.Close()
	}
}

// seedEnvironments writes n environments in one transaction, every other
// one on template net, the others on web: a store's own writes (a commit
// each) would take minutes at 10^5.
func seedEnvironments(b *testing.B, path string, n int) {
	b.Helper()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	tx, err := db.Begin()
	if err != nil {
		b.Fatal(err)
	}
	ins, err := tx.Prepare(`INSERT INTO resources (key, type, name, service_name, environment_name, description,
		template_name, template_major, template_minor, spec, settings, outputs, deployment_status,
		last_client_request_token, created_at, last_modified_at, last_client_request)
		VALUES ($1, $2, $3, '', $3, '', $4, '1', '0', '', '{}', '{}', 'SUCCEEDED', '', 1, 1, '')`)
	if err != nil {
		b.Fatal(err)
	}
	for i := range n {
		name := fmt.Sprintf("env-%06d", i)
		template := []string{"net", "web"}[i%2]
		if _, err := ins.Exec("environment/"+name, store.ResourceEnvironment, name, template); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
}
