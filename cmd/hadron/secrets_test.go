package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSecretsCommandPutsFromStdinOrFileAndListsNoValue(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	run := func(stdin string, args ...string) (string, int) {
		out, errOut, code := runCLI(t, stdin, append(append([]string{"secrets"}, args...), "--data-dir", dir)...)
		if code != 0 {
			t.Logf("hadron secrets %v: %s", args, errOut)
		}
		return out, code
	}
	if out, code := run("from-stdin-1\n", "put", "a"); code != 0 || out != "secret a created\n" {
		t.Fatalf("put a: %q, exit %d", out, code)
	}
	file := filepath.Join(t.TempDir(), "v")
	os.WriteFile(file, []byte("from-file-2\r\n"), 0o600)
	if out, code := run("", "put", "--value-file", file, "/p/b"); code != 0 || out != "secret /p/b created\n" {
		t.Fatalf("put /p/b: %q, exit %d", out, code)
	}
	if out, code := run("", "put", "a", "--value-file", file); code != 0 || out != "secret a updated\n" {
		t.Fatalf("put a again: %q, exit %d", out, code)
	}
	if _, code := run("\n", "put", "empty"); code != ExitFailed {
		t.Errorf("an empty value: exit %d, want %d", code, ExitFailed)
	}
	for _, args := range [][]string{{"list"}, {"list", "--json"}} {
		out, code := run("", args...)
		if code != 0 || !strings.Contains(out, "/p/b") || strings.Contains(out, "from-") {
			t.Errorf("%v: %q, exit %d; want names and no value", args, out, code)
		}
	}
	if _, code := run("", "delete", "a"); code != 0 {
		t.Fatalf("delete: exit %d", code)
	}
	if _, code := run("", "delete", "a"); code != ExitFailed {
		t.Errorf("a second delete: exit %d, want %d", code, ExitFailed)
	}
	if _, code := run("", "put", "a:b"); code != ExitUsage {
		t.Errorf("a name with ':': exit %d, want %d", code, ExitUsage)
	}
}
