package secrets

import (
	"os"
	"path/filepath"
	"testing"
)

// The secrets a keys directory holds in format 1 (testdata/format1, written
// by hadron before the sealed-file code moved to package masterkey) keep
// opening, and a change keeps the others.
func TestSecretsWrittenInFormat1StillOpen(t *testing.T) {
	t.Parallel()
	st := &Store{Dir: copyFixture(t, "testdata/format1")}
	infos, err := st.List()
	if err != nil || len(infos) != 2 || infos[0].Name != "api.token" || infos[1].Name != "db/password" {
		t.Fatalf("List = %+v, %v", infos, err)
	}
	for name, want := range map[string]string{"db/password": "s3cr3t-value", "api.token": "tok-123"} {
		if got, err := st.Get(name); err != nil || string(got) != want {
			t.Errorf("Get(%s) = %q, %v; want %q", name, got, err, want)
		}
	}
	if _, err := st.Put("new", []byte("v")); err != nil {
		t.Fatal(err)
	}
	if got, err := st.Get("db/password"); err != nil || string(got) != "s3cr3t-value" {
		t.Errorf("Get(db/password) after a Put = %q, %v", got, err)
	}
}

// copyFixture copies the files of dir into a directory of the test's, mode
// 0600 as hadron writes them (git keeps 0644, which hadron refuses).
func copyFixture(t *testing.T, dir string) string {
	t.Helper()
	out := t.TempDir()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(out, e.Name()), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return out
}
