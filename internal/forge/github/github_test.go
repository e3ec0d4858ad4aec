package github_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hadronhq/hadron/internal/forge/github"
	"github.com/hadronhq/hadron/internal/forge/github/githubfake"
)

func setup(t *testing.T, token string) (*github.Client, *githubfake.Server) {
	t.Helper()
	fake := &githubfake.Server{Token: "s3cret", BranchExists: func(_, b string) bool { return b != "missing" }}
	fake.AddRepository("acme/infra")
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return &github.Client{APIURL: srv.URL, TokenFile: tokenFile}, fake
}

func TestPullRequestLifecycle(t *testing.T) {
	t.Parallel()
	c, fake := setup(t, "s3cret")
	ctx := context.Background()
	pr, err := c.CreatePullRequest(ctx, "acme/infra", "hadron/d1", "main", "Deploy prod", "body")
	if err != nil || pr.Number != 1 || pr.State != "open" || pr.HTMLURL == "" {
		t.Fatalf("create = %+v, %v", pr, err)
	}
	_, err = c.CreatePullRequest(ctx, "acme/infra", "hadron/d1", "main", "again", "")
	var apiErr *github.Error
	if !errors.As(err, &apiErr) || apiErr.Status != 422 || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("duplicate pull request: %v", err)
	}
	if got, err := c.GetPullRequest(ctx, "acme/infra", 1); err != nil || got.State != "open" {
		t.Errorf("get = %+v, %v", got, err)
	}
	if got, err := c.ClosePullRequest(ctx, "acme/infra", 1); err != nil || got.State != "closed" || got.Merged {
		t.Errorf("close = %+v, %v", got, err)
	}
	if got, err := c.ClosePullRequest(ctx, "acme/infra", 1); err != nil || got.State != "closed" {
		t.Errorf("closing a closed one again = %+v, %v", got, err)
	}
	pr2, err := c.CreatePullRequest(ctx, "acme/infra", "hadron/d2", "main", "Deploy prod", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := fake.Merge("acme/infra", pr2.Number); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ClosePullRequest(ctx, "acme/infra", pr2.Number); !errors.Is(err, github.ErrMerged) {
		t.Errorf("closing a merged pull request: %v, want ErrMerged", err)
	}
}

func TestErrorsAreGitHubs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c, _ := setup(t, "wrong")
	if _, err := c.GetPullRequest(ctx, "acme/infra", 1); err == nil || !strings.Contains(err.Error(), "401 Bad credentials") {
		t.Errorf("bad token: %v", err)
	}
	c, _ = setup(t, "s3cret")
	for _, tc := range []struct {
		name string
		call func() error
		want string
	}{
		{"unknown repository", func() error { _, err := c.GetPullRequest(ctx, "acme/nope", 1); return err }, "404 Not Found"},
		{"unknown pull request", func() error { _, err := c.GetPullRequest(ctx, "acme/infra", 9); return err }, "404 Not Found"},
		{"head branch missing", func() error {
			_, err := c.CreatePullRequest(ctx, "acme/infra", "missing", "main", "t", "")
			return err
		}, "422 Validation Failed: head invalid"},
	} {
		if err := tc.call(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}
