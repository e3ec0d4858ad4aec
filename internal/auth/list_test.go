package auth

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestStoreListReportsABadKeysFile: `hadron keys list` on a keys file it
// cannot read or parse says what is wrong instead of panicking.
func TestStoreListReportsABadKeysFile(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		make    func(path string) error
		wantErr string
	}{
		{"corrupt JSON", func(p string) error { return os.WriteFile(p, []byte(`{"format":1,"keys":[{`), 0o600) }, "is not a keys file"},
		{"not JSON at all", func(p string) error { return os.WriteFile(p, []byte("\x00\x01garbage"), 0o600) }, "is not a keys file"},
		{"wrong shape", func(p string) error { return os.WriteFile(p, []byte(`{"format":1,"keys":{"a":1}}`), 0o600) }, "is not a keys file"},
		{"unknown format", func(p string) error { return os.WriteFile(p, []byte(`{"format":99}`), 0o600) }, "format 99"},
		{"a directory", func(p string) error { return os.Mkdir(p, 0o700) }, "is a directory"},
		{"readable by others", func(p string) error { return os.WriteFile(p, []byte(`{"format":1}`), 0o644) }, "mode 0644"},
		{"a dangling symlink", func(p string) error { return os.Symlink(filepath.Join(filepath.Dir(p), "gone", "x"), p) }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			if err := tt.make(filepath.Join(dir, KeysFile)); err != nil {
				t.Fatal(err)
			}
			keys, err := (&Store{Dir: dir}).List()
			if tt.wantErr == "" {
				if err != nil || keys != nil {
					t.Fatalf("List = %v, %v; want no keys and no error", keys, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("List = %v, %v; want an error saying %q", keys, err, tt.wantErr)
			}
		})
	}
}
