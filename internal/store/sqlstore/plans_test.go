package sqlstore_test

import (
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hadronhq/hadron/internal/store"
	"github.com/hadronhq/hadron/internal/store/sqlite"
	"github.com/hadronhq/hadron/internal/store/sqlstore"
)

// TestHotQueriesUseTheirIndexesOnSQLite pins the query plans of the reads
// that must stay flat in the size of the history: a list filtered by
// template pages in key order on an index (no sort of every match), and
// orphan recovery reads only claimed active deployments. SQLite's plan
// does not depend on the table's contents, so an empty database shows it.
func TestHotQueriesUseTheirIndexesOnSQLite(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "hadron.db")
	st, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })

	byTemplate, args := sqlstore.ResourceListQuery(store.ResourceFilter{Type: "environment",
		Templates: []store.TemplateMajor{{Name: "net", Major: "1"}}}, store.Page{Limit: 100})
	for _, c := range []struct {
		name, query string
		args        []any
		want        string
		sorts       bool // whether the plan may sort what the index finds
	}{
		{"list filtered by template", byTemplate, args, "USING INDEX resources_by_type_template_key", false},
		// Orphans are few: sorting them is cheap, scanning for them is not.
		{"orphan recovery", sqlstore.OrphanedQuery(false), []any{int64(0)}, "USING INDEX deployments_leased", true},
	} {
		plan := explain(t, db, c.query, c.args)
		if !strings.Contains(plan, c.want) || (!c.sorts && strings.Contains(plan, "TEMP B-TREE")) {
			t.Errorf("%s: plan\n%s\nwant %q (sorting: %v)", c.name, plan, c.want, c.sorts)
		}
	}
}

func explain(t *testing.T, db *sql.DB, query string, args []any) string {
	t.Helper()
	rows, err := db.Query("EXPLAIN QUERY PLAN "+query, args...)
	if err != nil {
		t.Fatalf("explain %s: %v", query, err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		b.WriteString(detail + "\n")
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}
