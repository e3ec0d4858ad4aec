package gitrepo_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/hadronhq/hadron/internal/gitrepo"
)

// push commits files (content "" deletes a file) in a clone of bare and
// pushes main; it returns the commit's hash.
func push(t *testing.T, bare string, files map[string]string) string {
	t.Helper()
	work := t.TempDir()
	git(t, work, "clone", "-q", "-b", "main", bare, ".")
	for name, data := range files {
		p := filepath.Join(work, name)
		if data == "" {
			git(t, work, "rm", "-q", name)
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	git(t, work, "add", "-A")
	git(t, work, "commit", "-q", "-m", "change")
	git(t, work, "push", "-q", "origin", "main")
	return git(t, work, "rev-parse", "HEAD")
}

func TestMirrorsReadTheHeadAndWhatChangedSinceACommit(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	bare := bareRepo(t, root, map[string]string{"t/web/v1/schema/schema.yaml": "one", "README": "hi"})
	ms := &gitrepo.Mirrors{Remotes: gitrepo.Remotes{Patterns: map[string]string{gitrepo.GitHub: "file://" + root + "/{name}.git"}}}

	first, err := ms.Head(t.Context(), gitrepo.GitHub, "owner/repo", "main")
	if err != nil {
		t.Fatal(err)
	}
	paths, err := first.Paths()
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"README", "t/web/v1/schema/schema.yaml"}; !slices.Equal(paths, want) {
		t.Fatalf("paths = %v, want %v", paths, want)
	}
	data, err := first.ReadFile("t/web/v1/schema/schema.yaml")
	if err != nil || string(data) != "one" {
		t.Fatalf("read = %q, %v; want one", data, err)
	}

	second := push(t, bare, map[string]string{"t/web/v1/schema/schema.yaml": "two", "t/web/v2/x": "new", "README": ""})
	head, err := ms.Head(t.Context(), gitrepo.GitHub, "owner/repo", "main")
	if err != nil {
		t.Fatal(err)
	}
	if head.Commit() != second {
		t.Fatalf("head = %s, want the pushed %s", head.Commit(), second)
	}
	changed, err := head.ChangedSince(first.Commit())
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"README", "t/web/v1/schema/schema.yaml", "t/web/v2/x"}; !slices.Equal(changed, want) {
		t.Fatalf("changed = %v, want %v", changed, want)
	}
	if data, err := first.ReadFile("t/web/v1/schema/schema.yaml"); err != nil || string(data) != "one" {
		t.Fatalf("the first tree reads %q, %v after the fetch; want one", data, err)
	}
	if _, err := head.ChangedSince("0123456789012345678901234567890123456789"); !errors.Is(err, gitrepo.ErrUnknownCommit) {
		t.Fatalf("changed since an unknown commit: err = %v, want ErrUnknownCommit", err)
	}
	if _, err := ms.Head(t.Context(), gitrepo.GitHub, "owner/repo", "nope"); !errors.Is(err, gitrepo.ErrBranchNotFound) {
		t.Fatalf("head of a missing branch: err = %v, want ErrBranchNotFound", err)
	}
}
