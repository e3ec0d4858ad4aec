package sqlite

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/hadronhq/hadron/internal/store"
)

// TestDatabaseFilesAreOwnerOnly: the database, its WAL and its shared
// memory hold every secret a deployment's inputs carry; no other user may
// read them, also when the file was created 0644 by an older version.
func TestDatabaseFilesAreOwnerOnly(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name     string
		existing bool
	}{{"new database", false}, {"database left 0644", true}} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), "hadron.db")
			if tt.existing {
				openPath(t, path).Close()
				for _, p := range []string{path, path + "-wal", path + "-shm"} {
					os.Chmod(p, 0o644)
				}
			}
			s := openPath(t, path)
			defer s.Close()
			tmpl := &store.Template{Kind: store.KindEnvironmentTemplate, Name: "base", CreatedAt: t0, LastModifiedAt: t0}
			if err := s.TemplateCreate(t.Context(), tmpl); err != nil {
				t.Fatal(err)
			}
			for _, p := range []string{path, path + "-wal", path + "-shm"} {
				fi, err := os.Stat(p)
				if err != nil {
					t.Fatal(err)
				}
				if fi.Mode().Perm() != 0o600 {
					t.Errorf("%s mode %v, want 0600", filepath.Base(p), fi.Mode().Perm())
				}
			}
		})
	}
}
