package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSecretsCommandPutsFromStdinOrFileAndListsNoValue(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	run := func(stdin string, args ...string) (string, error) {
		c := &secretsCommand{}
		if err := c.ParseFlags(append(args, "--data-dir", dir)); err != nil {
			return "", err
		}
		var out bytes.Buffer
		c.in, c.out = strings.NewReader(stdin), &out
		err := c.Run()
		return out.String(), err
	}
	if out, err := run("from-stdin-1\n", "put", "a"); err != nil || out != "secret a created\n" {
		t.Fatalf("put a: %q, %v", out, err)
	}
	file := filepath.Join(t.TempDir(), "v")
	os.WriteFile(file, []byte("from-file-2\r\n"), 0o600)
	if out, err := run("", "put", "--value-file", file, "/p/b"); err != nil || out != "secret /p/b created\n" {
		t.Fatalf("put /p/b: %q, %v", out, err)
	}
	if out, err := run("", "put", "a", "--value-file", file); err != nil || out != "secret a updated\n" {
		t.Fatalf("put a again: %q, %v", out, err)
	}
	if _, err := run("\n", "put", "empty"); err == nil {
		t.Error("an empty value was put")
	}
	for _, args := range [][]string{{"list"}, {"list", "--json"}} {
		out, err := run("", args...)
		if err != nil || !strings.Contains(out, "/p/b") || strings.Contains(out, "from-") {
			t.Errorf("%v: %q, %v; want names and no value", args, out, err)
		}
	}
	if _, err := run("", "delete", "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := run("", "delete", "a"); err == nil {
		t.Error("a second delete succeeded")
	}
	if _, err := run("", "put", "a:b"); err == nil {
		t.Error("a name with ':' was accepted")
	}
}
