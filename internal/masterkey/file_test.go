package masterkey

import (
	"errors"
	"io/fs"
	"os"
	"strings"
	"testing"
)

type testDoc struct {
	Header
	Values map[string]string `json:"values"`
}

// A sealed file starts missing (Read: fs.ErrNotExist; Update: an empty
// document of format 0), is written in its format with the master key made
// on the way, keeps what a failed change did out of the file, and refuses a
// file of another format or readable by others.
func TestSealedFileUpdateAndRead(t *testing.T) {
	t.Parallel()
	f := SealedFile{Dir: t.TempDir(), Name: "things.json", What: "things", Format: 3}
	if err := f.Read(&testDoc{}); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Read of a missing file: %v, want fs.ErrNotExist", err)
	}
	doc := &testDoc{}
	err := f.Update(doc, func(k *Key) error {
		if doc.Format != 0 {
			t.Errorf("a missing file reads as format %d, want 0", doc.Format)
		}
		doc.Values = map[string]string{"a": k.Seal("a", []byte("secret-a"))}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(f.Path())
	if err != nil || !strings.HasPrefix(string(raw), "{\n  \"format\": 3,\n  \"values\"") || strings.Contains(string(raw), "secret-a") {
		t.Fatalf("file = %s, %v; want format 3 first and no value in the clear", raw, err)
	}
	failed := errors.New("no")
	if err := f.Update(&testDoc{}, func(*Key) error { return failed }); !errors.Is(err, failed) {
		t.Fatalf("Update with a failing change: %v", err)
	}
	got := &testDoc{}
	if err := f.Read(got); err != nil {
		t.Fatal(err)
	}
	k, err := f.Key()
	if err != nil {
		t.Fatal(err)
	}
	if v, err := k.Open("a", got.Values["a"]); err != nil || string(v) != "secret-a" {
		t.Fatalf("Open = %q, %v", v, err)
	}

	other := f
	other.Format = 4
	if err := other.Read(&testDoc{}); err == nil || !strings.Contains(err.Error(), "has format 3; this hadron reads format 4") {
		t.Errorf("Read of another format: %v", err)
	}
	if err := other.Update(&testDoc{}, func(*Key) error { return nil }); err == nil {
		t.Error("Update of a file of another format succeeded")
	}
	if err := os.Chmod(f.Path(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := f.Read(&testDoc{}); err == nil || !strings.HasPrefix(err.Error(), "things: ") || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("Read of a world-readable file: %v, want a refusal", err)
	}
}
