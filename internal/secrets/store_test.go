package secrets

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hadronhq/hadron/internal/masterkey"
)

func TestStoreKeepsValuesSealedAndShowsOnlyNamesAndDates(t *testing.T) {
	t.Parallel()
	st := &Store{Dir: t.TempDir()}
	const value = "hunter2-plaintext-value"
	if created, err := st.Put("prod/db", []byte(value)); err != nil || !created {
		t.Fatalf("Put = %v, %v; want created", created, err)
	}
	if created, err := st.Put("prod/db", []byte(value+"-rotated")); err != nil || created {
		t.Fatalf("second Put = %v, %v; want a replaced value", created, err)
	}
	got, err := st.Get("prod/db")
	if err != nil || string(got) != value+"-rotated" {
		t.Fatalf("Get = %q, %v", got, err)
	}
	raw, err := os.ReadFile(filepath.Join(st.Dir, File))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), "hunter2") {
		t.Errorf("%s holds the value in clear:\n%s", File, raw)
	}
	for _, name := range []string{File, masterkey.File} {
		info, err := os.Stat(filepath.Join(st.Dir, name))
		if err != nil || info.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v, mode %v; want 0600", name, err, info.Mode().Perm())
		}
	}
	infos, err := st.List()
	if err != nil || len(infos) != 1 || infos[0].Name != "prod/db" || infos[0].Created.IsZero() || infos[0].Updated.Before(infos[0].Created) {
		t.Fatalf("List = %+v, %v", infos, err)
	}
	if err := st.Delete("prod/db"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Get("prod/db"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get after Delete: %v, want ErrNotFound", err)
	}
	if err := st.Delete("prod/db"); !errors.Is(err, ErrNotFound) {
		t.Errorf("second Delete: %v, want ErrNotFound", err)
	}
}

func TestStoreSharesTheAccessKeysMasterKeyAndRefusesAMovedValue(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	st := &Store{Dir: dir}
	if _, err := st.Put("a", []byte("value-of-a")); err != nil {
		t.Fatal(err)
	}
	key, err := masterkey.Load(dir, false)
	if err != nil {
		t.Fatalf("the store made no master key in its directory: %v", err)
	}
	// A value sealed for one name does not open as another's.
	doc := &storeDoc{}
	if err := st.file().Read(doc); err != nil {
		t.Fatal(err)
	}
	if _, err := key.Open("b", doc.Secrets[0].SealedValue); err == nil {
		t.Error("a value sealed for a opened as b's")
	}
	if err := os.Chmod(filepath.Join(dir, File), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Get("a"); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("Get from a world-readable file: %v, want a refusal", err)
	}
}

func TestStoreRefusesBadNamesAndHugeValues(t *testing.T) {
	t.Parallel()
	st := &Store{Dir: t.TempDir()}
	for _, name := range []string{"", "a:b", "has space", strings.Repeat("x", 513)} {
		if _, err := st.Put(name, []byte("v")); err == nil {
			t.Errorf("Put(%q) succeeded", name)
		}
	}
	if _, err := st.Put("big", make([]byte, MaxValueBytes+1)); err == nil {
		t.Error("Put of a value over MaxValueBytes succeeded")
	}
}

func TestCheckNameAcceptsWhatBothAWSStoresAllow(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		ok   bool
	}{
		{"prod/db", true},
		{"a", true},
		{"A-Z_a.z+0=9@x!/y", true},
		{strings.Repeat("x", 512), true},
		{strings.Repeat("x", 513), false},
		{"", false},
		{"arn:aws:secret", false},
		{"with space", false},
		{"tab\t", false},
		{"ünicode", false},
		{"semi;colon", false},
	}
	for _, tt := range tests {
		if err := CheckName(tt.name); (err == nil) != tt.ok {
			t.Errorf("CheckName(%.20q) = %v, want ok %v", tt.name, err, tt.ok)
		}
	}
}
