package masterkey

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestSealedValuesOpenOnlyForTheirEntryAndKey(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	k, err := Load(dir, true)
	if err != nil {
		t.Fatal(err)
	}
	sealed := k.Seal("prod/db", []byte("p4ssw0rd"))
	if strings.Contains(sealed, "p4ssw0rd") {
		t.Fatalf("sealed value shows the plain text: %s", sealed)
	}
	again, err := Load(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := again.Open("prod/db", sealed); err != nil || string(got) != "p4ssw0rd" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	if _, err := again.Open("other", sealed); err == nil || strings.Contains(err.Error(), "p4ssw0rd") {
		t.Errorf("Open for another entry: %v, want an error that shows no value", err)
	}
	other, err := Load(t.TempDir(), true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Open("prod/db", sealed); err == nil {
		t.Error("a value opened under another master key")
	}
	if _, err := again.Open("prod/db", "not base64!"); err == nil {
		t.Error("a damaged value opened")
	}
}

func TestLoadRefusesAMissingOrLooseKey(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, err := Load(dir, false); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load of a missing key without create: %v, want ErrNotExist", err)
	}
	if _, err := Load(dir, true); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(dir, File), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(dir, false); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("Load of a world-readable key: %v, want a refusal", err)
	}
}

func TestWritersUnderTheLockMakeOneMasterKey(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var wg sync.WaitGroup
	sealed := make([]string, 8)
	for i := range sealed {
		wg.Add(1)
		go func() {
			defer wg.Done()
			unlock, err := Lock(dir)
			if err != nil {
				t.Error(err)
				return
			}
			defer unlock()
			k, err := Load(dir, true)
			if err != nil {
				t.Error(err)
				return
			}
			sealed[i] = k.Seal("x", []byte("v"))
		}()
	}
	wg.Wait()
	k, err := Load(dir, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sealed {
		if _, err := k.Open("x", s); err != nil {
			t.Errorf("a value sealed by a concurrent writer does not open with the final key: %v", err)
		}
	}
}

func TestWriteFileReplacesAtomicallyWithModeOwnerOnly(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "secrets.json")
	for _, content := range []string{"one", "two"} {
		if err := WriteFile(path, []byte(content)); err != nil {
			t.Fatal(err)
		}
	}
	info, err := os.Stat(path)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("stat: %v, mode %v", err, info.Mode().Perm())
	}
	if got, _ := os.ReadFile(path); string(got) != "two" {
		t.Errorf("content = %q, want two", got)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("temporary files left behind: %v", entries)
	}
}
