package gitrepo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/memory"
)

// ErrUnknownCommit is returned when a commit is not in a mirror's copy of
// a branch's history (the branch was rewritten, or the commit never was).
var ErrUnknownCommit = errors.New("commit not in the history fetched")

// Mirrors keeps an in-memory copy of the repositories read through it, one
// per remote, so that watching a branch fetches only what is new. Safe for
// concurrent use.
type Mirrors struct {
	Remotes Remotes

	mu    sync.Mutex
	byURL map[string]*mirror
}

// mirror is one remote's copy; mu serializes its fetches and reads.
type mirror struct {
	mu   sync.Mutex
	repo *git.Repository
}

// Head fetches branch of repository name (owner/name) of provider and
// returns the tree at its tip. ErrBranchNotFound when the remote has no
// such branch.
func (ms *Mirrors) Head(ctx context.Context, provider, name, branch string) (*Tree, error) {
	rem, err := ms.Remotes.Remote(provider, name)
	if err != nil {
		return nil, err
	}
	ms.mu.Lock()
	if ms.byURL == nil {
		ms.byURL = map[string]*mirror{}
	}
	m := ms.byURL[rem.URL]
	if m == nil {
		m = &mirror{}
		ms.byURL[rem.URL] = m
	}
	ms.mu.Unlock()

	m.mu.Lock()
	defer m.mu.Unlock()
	if m.repo == nil {
		repo, err := git.Init(memory.NewStorage(), nil)
		if err != nil {
			return nil, err
		}
		if _, err := repo.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{rem.URL}}); err != nil {
			return nil, err
		}
		m.repo = repo
	}
	local := plumbing.NewRemoteReferenceName("origin", branch)
	spec := config.RefSpec("+" + plumbing.NewBranchReferenceName(branch).String() + ":" + local.String())
	err = m.repo.FetchContext(ctx, &git.FetchOptions{RemoteName: "origin", RefSpecs: []config.RefSpec{spec}, Auth: rem.auth, Tags: git.NoTags, Force: true})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		if errors.Is(err, git.NoMatchingRefSpecError{}) || strings.Contains(err.Error(), "couldn't find remote ref") {
			return nil, fmt.Errorf("fetch %s: %s: %w", rem.URL, branch, ErrBranchNotFound)
		}
		return nil, fmt.Errorf("fetch %s (branch %s): %w", rem.URL, branch, err)
	}
	ref, err := m.repo.Reference(local, true)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %s: %w", rem.URL, branch, ErrBranchNotFound)
	}
	c, err := m.repo.CommitObject(ref.Hash())
	if err != nil {
		return nil, fmt.Errorf("read commit %s of %s: %w", ref.Hash(), rem.URL, err)
	}
	tree, err := c.Tree()
	if err != nil {
		return nil, fmt.Errorf("read tree of commit %s of %s: %w", ref.Hash(), rem.URL, err)
	}
	return &Tree{m: m, commit: c, tree: tree}, nil
}

// Tree is the content of a repository at one commit.
type Tree struct {
	m      *mirror
	commit *object.Commit
	tree   *object.Tree
}

// Commit returns the commit's hash.
func (t *Tree) Commit() string { return t.commit.Hash.String() }

// Paths returns the path of every file at the commit, sorted.
func (t *Tree) Paths() ([]string, error) {
	t.m.mu.Lock()
	defer t.m.mu.Unlock()
	var out []string
	err := t.tree.Files().ForEach(func(f *object.File) error {
		out = append(out, f.Name)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list files of commit %s: %w", t.Commit(), err)
	}
	slices.Sort(out)
	return out, nil
}

// ReadFile returns the content of the file at path; an error wrapping
// object.ErrFileNotFound when there is none.
func (t *Tree) ReadFile(path string) ([]byte, error) {
	t.m.mu.Lock()
	defer t.m.mu.Unlock()
	f, err := t.tree.File(path)
	if err != nil {
		return nil, fmt.Errorf("read %s at commit %s: %w", path, t.Commit(), err)
	}
	r, err := f.Reader()
	if err != nil {
		return nil, fmt.Errorf("read %s at commit %s: %w", path, t.Commit(), err)
	}
	defer r.Close()
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read %s at commit %s: %w", path, t.Commit(), err)
	}
	return data, nil
}

// ChangedSince returns the paths of the files that differ between commit
// and this tree (added, modified, deleted, both names of a rename),
// sorted. ErrUnknownCommit when commit is not in the fetched history.
func (t *Tree) ChangedSince(commit string) ([]string, error) {
	t.m.mu.Lock()
	defer t.m.mu.Unlock()
	from, err := t.m.repo.CommitObject(plumbing.NewHash(commit))
	if errors.Is(err, plumbing.ErrObjectNotFound) {
		return nil, fmt.Errorf("commit %s: %w", commit, ErrUnknownCommit)
	}
	if err != nil {
		return nil, fmt.Errorf("read commit %s: %w", commit, err)
	}
	fromTree, err := from.Tree()
	if err != nil {
		return nil, fmt.Errorf("read tree of commit %s: %w", commit, err)
	}
	changes, err := object.DiffTreeWithOptions(context.Background(), fromTree, t.tree, &object.DiffTreeOptions{})
	if err != nil {
		return nil, fmt.Errorf("diff %s..%s: %w", commit, t.Commit(), err)
	}
	var out []string
	for _, c := range changes {
		for _, name := range []string{c.From.Name, c.To.Name} {
			if name != "" && !slices.Contains(out, name) {
				out = append(out, name)
			}
		}
	}
	slices.Sort(out)
	return out, nil
}
