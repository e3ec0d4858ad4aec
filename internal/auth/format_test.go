package auth

import (
	"os"
	"path/filepath"
	"testing"
)

// The keys a data directory holds in format 1 (testdata/format1, written by
// hadron before the sealed-file code moved to package masterkey) keep
// working: the keyring opens their secrets, List shows them as written, and
// a change keeps them.
func TestKeysWrittenInFormat1StillWork(t *testing.T) {
	t.Parallel()
	dir := copyFixture(t, "testdata/format1")
	const (
		admin, adminSecret   = "HKC6YC4YCOB6PBYW2VU5", "dDBnx1CpxhTFX7GfaJ6kjYrglmXzOaefIgMNP2ni"
		reader, readerSecret = "HKJANH7C3MDA7QSYAIFZ", "A6CSb1qrvq0h_Ls3Ygva39doali7t_cMmDLa4FHA"
	)
	k, err := OpenKeyring(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rk, ok := k.lookup(admin); !ok || rk.secret != adminSecret || rk.account != "" {
		t.Fatalf("lookup(%s) = %+v, %v; want its secret", admin, rk, ok)
	}
	if _, ok := k.lookup(reader); ok {
		t.Fatalf("the disabled key %s is found", reader)
	}
	st := &Store{Dir: dir}
	keys, err := st.List()
	if err != nil || len(keys) != 2 {
		t.Fatalf("List = %+v, %v", keys, err)
	}
	if r := keys[1]; r.AccessKeyID != reader || !r.Disabled || r.AccountID != "111122223333" ||
		r.Description != "reader" || len(r.Policy.Allow) != 1 || r.Policy.Resources[0] != "environment/dev-*" {
		t.Errorf("List()[1] = %+v, want the reader as written", r)
	}
	if err := st.SetDisabled(reader, false); err != nil {
		t.Fatal(err)
	}
	k.lastCheck.Store(0)
	if rk, ok := k.lookup(reader); !ok || rk.secret != readerSecret || rk.account != "111122223333" {
		t.Fatalf("lookup(%s) after enabling it = %+v, %v; want its secret and account", reader, rk, ok)
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
