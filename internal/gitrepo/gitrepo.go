// Package gitrepo is Hadron's git client for self-managed provisioning:
// it maps a provisioning repository (a provider and an owner/name, as the
// Proton API names it) to a git remote, and pushes one commit of files on
// a new branch of it, deletes such a branch, and tells whether a commit
// reached a branch.
//
// Everything goes through go-git, in memory: no git binary is needed and
// nothing is left on disk. file:// remotes (local bare repositories, as
// `--repository-url GITHUB=file:///srv/git/{name}.git` configures) are
// served by go-git's own in-process server rather than by git's
// git-upload-pack and git-receive-pack, which go-git's file transport
// would otherwise run.
package gitrepo

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-git/go-billy/v5/memfs"
	"github.com/go-git/go-billy/v5/osfs"
	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/plumbing/transport/client"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	"github.com/go-git/go-git/v5/plumbing/transport/server"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"github.com/go-git/go-git/v5/storage/memory"
)

// Providers of provisioning repositories (the model's RepositoryProvider).
const (
	GitHub           = "GITHUB"
	GitHubEnterprise = "GITHUB_ENTERPRISE"
	Bitbucket        = "BITBUCKET"
)

// DefaultPatterns are the remotes of each provider over HTTPS; {name} is
// the repository's owner/name.
func DefaultPatterns() map[string]string {
	return map[string]string{
		GitHub:           "https://github.com/{name}.git",
		GitHubEnterprise: "https://github.com/{name}.git",
		Bitbucket:        "https://bitbucket.org/{name}.git",
	}
}

// ParsePattern reads one --repository-url value, PROVIDER=PATTERN, where
// PATTERN holds {name}.
func ParsePattern(s string) (provider, pattern string, err error) {
	provider, pattern, ok := strings.Cut(s, "=")
	provider = strings.ToUpper(strings.TrimSpace(provider))
	if !ok || pattern == "" {
		return "", "", fmt.Errorf("repository URL %q: want PROVIDER=PATTERN, such as GITHUB=file:///srv/git/{name}.git", s)
	}
	if _, known := DefaultPatterns()[provider]; !known {
		return "", "", fmt.Errorf("repository URL %q: unknown provider %s (GITHUB, GITHUB_ENTERPRISE or BITBUCKET)", s, provider)
	}
	if !strings.Contains(pattern, "{name}") {
		return "", "", fmt.Errorf("repository URL %q: the pattern has no {name} (the repository's owner/name)", s)
	}
	return provider, pattern, nil
}

// Remotes maps provisioning repositories to git remotes, with the
// credentials to reach them. The zero value uses DefaultPatterns and no
// credentials.
type Remotes struct {
	// Patterns overrides DefaultPatterns, by provider.
	Patterns map[string]string
	// TokenFile holds the token for HTTPS remotes (sent as the password of
	// basic authentication, as GitHub and Bitbucket take it); read at each
	// use, so it may be rotated.
	TokenFile string
	// SSHKeyFile is the private key for ssh:// and scp-like remotes; the
	// host keys are checked against the user's known_hosts files
	// (SSH_KNOWN_HOSTS, or ~/.ssh/known_hosts).
	SSHKeyFile string
}

// Remote is one repository's git remote.
type Remote struct {
	URL  string
	auth transport.AuthMethod
}

// Remote returns the git remote of repository name (owner/name) of provider.
func (r Remotes) Remote(provider, name string) (Remote, error) {
	pattern := r.Patterns[provider]
	if pattern == "" {
		pattern = DefaultPatterns()[provider]
	}
	if pattern == "" {
		return Remote{}, fmt.Errorf("no remote for repositories of provider %q", provider)
	}
	if name == "" || strings.Contains(name, "..") || strings.HasPrefix(name, "/") {
		return Remote{}, fmt.Errorf("repository name %q is not owner/name", name)
	}
	url := strings.ReplaceAll(pattern, "{name}", name)
	ep, err := transport.NewEndpoint(url)
	if err != nil {
		return Remote{}, fmt.Errorf("remote of repository %s: %w", name, err)
	}
	rem := Remote{URL: url}
	switch ep.Protocol {
	case "http", "https":
		if r.TokenFile != "" {
			token, err := os.ReadFile(r.TokenFile)
			if err != nil {
				return Remote{}, fmt.Errorf("repository token: %w", err)
			}
			rem.auth = &githttp.BasicAuth{Username: "x-access-token", Password: strings.TrimSpace(string(token))}
		}
	case "ssh":
		if r.SSHKeyFile != "" {
			keys, err := gitssh.NewPublicKeysFromFile(cmp.Or(ep.User, "git"), r.SSHKeyFile, "")
			if err != nil {
				return Remote{}, fmt.Errorf("repository SSH key: %w", err)
			}
			rem.auth = keys
		}
	case "file":
		useInProcessFileServer()
	}
	return rem, nil
}

var fileServerOnce sync.Once

// useInProcessFileServer serves file:// remotes with go-git's own server
// (go-git's default file transport runs git's binaries). It changes
// go-git's protocol table, which is process-wide: Hadron has no other use
// for file:// remotes.
func useInProcessFileServer() {
	fileServerOnce.Do(func() {
		client.InstallProtocol("file", server.NewClient(server.NewFilesystemLoader(osfs.New("/"))))
	})
}

// ErrBranchNotFound is returned when a branch the operation needs is not
// in the repository.
var ErrBranchNotFound = errors.New("branch not found")

// Commit is one commit to push: Files are written under Dir of Base's
// tree on a new branch.
type Commit struct {
	// Base is the branch the new branch starts from (the repository's
	// target branch).
	Base string
	// Branch is the new branch; it must not exist yet.
	Branch string
	// Dir is the folder of the repository the files go to ("" for the
	// root).
	Dir string
	// Replace, when set, removes the files directly in Dir and its .proton
	// folder first; Dir's other folders are kept (an environment's folder
	// holds its instances' folders). Otherwise Files are only added.
	Replace bool
	// Files are the folder's new files, by path relative to Dir.
	Files   map[string][]byte
	Message string
	// Author names the commit's author and committer.
	Author object.Signature
}

// Push clones c.Base of the remote, commits c as one commit on c.Branch
// and pushes that branch. It returns the commit's hash.
func (r Remote) Push(ctx context.Context, c Commit) (string, error) {
	base := plumbing.NewBranchReferenceName(c.Base)
	repo, err := git.CloneContext(ctx, memory.NewStorage(), memfs.New(), &git.CloneOptions{
		URL: r.URL, Auth: r.auth, ReferenceName: base, SingleBranch: true, Tags: git.NoTags,
	})
	if err != nil {
		if errors.Is(err, plumbing.ErrReferenceNotFound) || strings.Contains(err.Error(), "couldn't find remote ref") {
			return "", fmt.Errorf("clone %s: %s: %w", r.URL, c.Base, ErrBranchNotFound)
		}
		return "", fmt.Errorf("clone %s (branch %s): %w", r.URL, c.Base, err)
	}
	wt, err := repo.Worktree()
	if err != nil {
		return "", err
	}
	branch := plumbing.NewBranchReferenceName(c.Branch)
	if err := wt.Checkout(&git.CheckoutOptions{Branch: branch, Create: true}); err != nil {
		return "", fmt.Errorf("create branch %s: %w", c.Branch, err)
	}
	dir := path.Clean("/" + c.Dir)[1:]
	if c.Replace {
		if err := clearDir(wt, dir); err != nil {
			return "", err
		}
	}
	for _, name := range slices.Sorted(maps.Keys(c.Files)) {
		p := path.Join(dir, name)
		if err := wt.Filesystem.MkdirAll(path.Dir(p), 0o755); err != nil {
			return "", fmt.Errorf("write %s: %w", p, err)
		}
		f, err := wt.Filesystem.Create(p)
		if err != nil {
			return "", fmt.Errorf("write %s: %w", p, err)
		}
		_, err = f.Write(c.Files[name])
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return "", fmt.Errorf("write %s: %w", p, err)
		}
	}
	if err := wt.AddWithOptions(&git.AddOptions{All: true}); err != nil {
		return "", fmt.Errorf("stage the files: %w", err)
	}
	author := c.Author
	if author.When.IsZero() {
		author.When = time.Now()
	}
	hash, err := wt.Commit(c.Message, &git.CommitOptions{Author: &author, Committer: &author, AllowEmptyCommits: true})
	if err != nil {
		return "", fmt.Errorf("commit: %w", err)
	}
	spec := config.RefSpec(branch.String() + ":" + branch.String())
	err = repo.PushContext(ctx, &git.PushOptions{RemoteName: "origin", RefSpecs: []config.RefSpec{spec}, Auth: r.auth})
	if err != nil {
		return "", fmt.Errorf("push branch %s to %s: %w", c.Branch, r.URL, err)
	}
	return hash.String(), nil
}

// clearDir removes the files directly in dir and its .proton folder from
// the worktree, keeping dir's other folders.
func clearDir(wt *git.Worktree, dir string) error {
	fs := wt.Filesystem
	infos, err := fs.ReadDir(cmp.Or(dir, "."))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read folder %q: %w", dir, err)
	}
	for _, fi := range infos {
		p := path.Join(dir, fi.Name())
		switch {
		case fi.IsDir() && fi.Name() == ".proton":
			if err := removeAll(fs, p); err != nil {
				return err
			}
		case !fi.IsDir():
			if err := fs.Remove(p); err != nil {
				return fmt.Errorf("remove %s: %w", p, err)
			}
		}
	}
	return nil
}

func removeAll(fs interface {
	ReadDir(string) ([]os.FileInfo, error)
	Remove(string) error
}, p string) error {
	infos, err := fs.ReadDir(p)
	if err != nil {
		return fmt.Errorf("read folder %s: %w", p, err)
	}
	for _, fi := range infos {
		child := path.Join(p, fi.Name())
		if fi.IsDir() {
			if err := removeAll(fs, child); err != nil {
				return err
			}
			continue
		}
		if err := fs.Remove(child); err != nil {
			return fmt.Errorf("remove %s: %w", child, err)
		}
	}
	return fs.Remove(p)
}

// DeleteBranch deletes branch from the remote; a branch already gone is
// no error.
func (r Remote) DeleteBranch(ctx context.Context, branch string) error {
	repo, err := git.Init(memory.NewStorage(), nil)
	if err != nil {
		return err
	}
	rem, err := repo.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{r.URL}})
	if err != nil {
		return err
	}
	refs, err := rem.ListContext(ctx, &git.ListOptions{Auth: r.auth})
	if err != nil {
		return fmt.Errorf("list branches of %s: %w", r.URL, err)
	}
	name := plumbing.NewBranchReferenceName(branch)
	if !slices.ContainsFunc(refs, func(ref *plumbing.Reference) bool { return ref.Name() == name }) {
		return nil
	}
	err = rem.PushContext(ctx, &git.PushOptions{RefSpecs: []config.RefSpec{config.RefSpec(":" + name.String())}, Auth: r.auth})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return fmt.Errorf("delete branch %s of %s: %w", branch, r.URL, err)
	}
	return nil
}

// Contains reports whether commit is in the history of branch (the
// hand-off was merged into it).
func (r Remote) Contains(ctx context.Context, branch, commit string) (bool, error) {
	repo, err := git.CloneContext(ctx, memory.NewStorage(), nil, &git.CloneOptions{
		URL: r.URL, Auth: r.auth, ReferenceName: plumbing.NewBranchReferenceName(branch), SingleBranch: true, Tags: git.NoTags,
	})
	if err != nil {
		return false, fmt.Errorf("clone %s (branch %s): %w", r.URL, branch, err)
	}
	want := plumbing.NewHash(commit)
	if _, err := repo.CommitObject(want); errors.Is(err, plumbing.ErrObjectNotFound) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	return true, nil
}
