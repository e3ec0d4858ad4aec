package gitrepo_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing/object"

	"github.com/hadronhq/hadron/internal/gitrepo"
)

// git runs the git CLI (tests only: Hadron itself needs no git binary).
func git(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@t", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@t")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// bareRepo makes root/owner/repo.git with one commit on main holding files.
func bareRepo(t *testing.T, root string, files map[string]string) string {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("the git CLI is needed to build the test repositories")
	}
	bare := filepath.Join(root, "owner", "repo.git")
	git(t, root, "init", "-q", "--bare", "-b", "main", bare)
	work := t.TempDir()
	git(t, work, "clone", "-q", bare, ".")
	git(t, work, "checkout", "-q", "-b", "main")
	for name, data := range files {
		p := filepath.Join(work, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	git(t, work, "add", "-A")
	git(t, work, "commit", "-q", "-m", "start")
	git(t, work, "push", "-q", "origin", "main")
	return bare
}

func TestParsePattern(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in, provider, pattern, err string
	}{
		{"GITHUB=file:///srv/git/{name}.git", "GITHUB", "file:///srv/git/{name}.git", ""},
		{"bitbucket=https://git.example/{name}", "BITBUCKET", "https://git.example/{name}", ""},
		{"GITHUB", "", "", "PROVIDER=PATTERN"},
		{"GITLAB=https://x/{name}", "", "", "unknown provider"},
		{"GITHUB=https://x/repo.git", "", "", "no {name}"},
	} {
		p, pat, err := gitrepo.ParsePattern(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("ParsePattern(%q) error = %v, want one saying %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || p != c.provider || pat != c.pattern {
			t.Errorf("ParsePattern(%q) = %q, %q, %v", c.in, p, pat, err)
		}
	}
}

func TestRemoteFollowsThePatternOfItsProvider(t *testing.T) {
	t.Parallel()
	r := gitrepo.Remotes{Patterns: map[string]string{"GITHUB": "file:///srv/git/{name}.git"}}
	for _, c := range []struct{ provider, name, url string }{
		{"GITHUB", "acme/infra", "file:///srv/git/acme/infra.git"},
		{"BITBUCKET", "acme/infra", "https://bitbucket.org/acme/infra.git"},
		{"GITHUB_ENTERPRISE", "acme/infra", "https://github.com/acme/infra.git"},
	} {
		got, err := r.Remote(c.provider, c.name)
		if err != nil || got.URL != c.url {
			t.Errorf("Remote(%s, %s) = %q, %v; want %q", c.provider, c.name, got.URL, err, c.url)
		}
	}
	if _, err := r.Remote("GITHUB", "../etc"); err == nil {
		t.Error("a name climbing out of the pattern was accepted")
	}
}

func TestPushWritesOneCommitOnANewBranchReplacingTheFolderFiles(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	bare := bareRepo(t, root, map[string]string{
		"README.md":             "hello\n",
		"prod/old.tf":           "# from an older template\n",
		"prod/.proton/old.json": "{}\n",
		"prod/web/main.tf":      "# an instance's folder\n",
		"other/main.tf":         "# another environment\n",
	})
	r, err := gitrepo.Remotes{Patterns: map[string]string{"GITHUB": "file://" + root + "/{name}.git"}}.Remote("GITHUB", "owner/repo")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	hash, err := r.Push(ctx, gitrepo.Commit{
		Base: "main", Branch: "hadron/d1", Dir: "prod", Replace: true,
		Files:   map[string][]byte{"main.tf": []byte("# new\n"), ".proton/deployment-metadata.json": []byte("{}\n")},
		Message: "deploy prod", Author: object.Signature{Name: "Hadron", Email: "hadron@localhost"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := git(t, bare, "rev-parse", "hadron/d1"); got != hash {
		t.Errorf("branch at %s, Push said %s", got, hash)
	}
	if got := git(t, bare, "rev-list", "--count", "main..hadron/d1"); got != "1" {
		t.Errorf("%s commits on the branch, want 1", got)
	}
	files := git(t, bare, "ls-tree", "-r", "--name-only", "hadron/d1")
	want := "README.md\nother/main.tf\nprod/.proton/deployment-metadata.json\nprod/main.tf\nprod/web/main.tf"
	if files != want {
		t.Errorf("files on the branch:\n%s\nwant:\n%s", files, want)
	}
	if got := git(t, bare, "log", "-1", "--format=%an <%ae> %s", "hadron/d1"); got != "Hadron <hadron@localhost> deploy prod" {
		t.Errorf("commit: %s", got)
	}

	if merged, err := r.Contains(ctx, "main", hash); err != nil || merged {
		t.Errorf("Contains(main) before a merge = %v, %v", merged, err)
	}
	git(t, bare, "update-ref", "refs/heads/main", hash) // a fast-forward merge
	if merged, err := r.Contains(ctx, "main", hash); err != nil || !merged {
		t.Errorf("Contains(main) after a merge = %v, %v", merged, err)
	}

	if err := r.DeleteBranch(ctx, "hadron/d1"); err != nil {
		t.Fatal(err)
	}
	if got := git(t, bare, "branch", "--list", "hadron/d1"); got != "" {
		t.Errorf("branch still there: %q", got)
	}
	if err := r.DeleteBranch(ctx, "hadron/d1"); err != nil {
		t.Errorf("deleting a branch already gone: %v", err)
	}
}

func TestPushToAMissingBranchSaysSo(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	bareRepo(t, root, map[string]string{"README.md": "x\n"})
	r, _ := gitrepo.Remotes{Patterns: map[string]string{"GITHUB": "file://" + root + "/{name}.git"}}.Remote("GITHUB", "owner/repo")
	_, err := r.Push(context.Background(), gitrepo.Commit{Base: "release", Branch: "b", Files: map[string][]byte{"a": nil}})
	if err == nil || !strings.Contains(err.Error(), "release") {
		t.Errorf("push onto a missing base branch: %v", err)
	}
}
