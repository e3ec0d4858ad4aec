// Package github is the small part of GitHub's REST API the Terraform
// hand-off uses: open a pull request, read it, close it.
package github

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// DefaultAPIURL is GitHub's API.
const DefaultAPIURL = "https://api.github.com"

// DefaultTimeout bounds one API call.
const DefaultTimeout = 30 * time.Second

// Client calls GitHub's REST API.
type Client struct {
	// APIURL is the API's root (DefaultAPIURL; for GitHub Enterprise
	// Server, https://HOST/api/v3).
	APIURL string
	// TokenFile holds the token sent as a bearer token; read at each call,
	// so it may be rotated.
	TokenFile string
	// HTTP is the HTTP client; nil uses one with DefaultTimeout.
	HTTP *http.Client
}

// PullRequest is what the hand-off needs of a pull request.
type PullRequest struct {
	Number  int    `json:"number"`
	State   string `json:"state"` // "open" or "closed"
	Merged  bool   `json:"merged"`
	HTMLURL string `json:"html_url"`
}

// Error is an answer of the API other than a success.
type Error struct {
	Status  int
	Message string
	// Details are the messages of the answer's errors list.
	Details []string
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("GitHub API: %d %s", e.Status, e.Message)
	if len(e.Details) > 0 {
		msg += ": " + strings.Join(e.Details, "; ")
	}
	return msg
}

// ErrMerged is returned by ClosePullRequest for a pull request already merged.
var ErrMerged = errors.New("the pull request is already merged")

// CreatePullRequest opens a pull request of head into base in repo (owner/name).
func (c *Client) CreatePullRequest(ctx context.Context, repo, head, base, title, body string) (PullRequest, error) {
	var pr PullRequest
	err := c.call(ctx, http.MethodPost, "/repos/"+repoPath(repo)+"/pulls",
		map[string]string{"title": title, "head": head, "base": base, "body": body}, &pr)
	return pr, err
}

// GetPullRequest reads pull request number of repo.
func (c *Client) GetPullRequest(ctx context.Context, repo string, number int) (PullRequest, error) {
	var pr PullRequest
	err := c.call(ctx, http.MethodGet, fmt.Sprintf("/repos/%s/pulls/%d", repoPath(repo), number), nil, &pr)
	return pr, err
}

// ClosePullRequest closes pull request number of repo unmerged. A pull
// request already merged cannot be: ErrMerged. One already closed is
// returned as it is.
func (c *Client) ClosePullRequest(ctx context.Context, repo string, number int) (PullRequest, error) {
	pr, err := c.GetPullRequest(ctx, repo, number)
	switch {
	case err != nil:
		return pr, err
	case pr.Merged:
		return pr, fmt.Errorf("pull request #%d of %s: %w", number, repo, ErrMerged)
	case pr.State == "closed":
		return pr, nil
	}
	err = c.call(ctx, http.MethodPatch, fmt.Sprintf("/repos/%s/pulls/%d", repoPath(repo), number), map[string]string{"state": "closed"}, &pr)
	if err == nil && pr.Merged {
		// Merged between the read and the close.
		return pr, fmt.Errorf("pull request #%d of %s: %w", number, repo, ErrMerged)
	}
	return pr, err
}

func repoPath(repo string) string {
	owner, name, _ := strings.Cut(repo, "/")
	return url.PathEscape(owner) + "/" + url.PathEscape(name)
}

func (c *Client) call(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	base := strings.TrimSuffix(c.APIURL, "/")
	if base == "" {
		base = DefaultAPIURL
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.TokenFile != "" {
		token, err := os.ReadFile(c.TokenFile)
		if err != nil {
			return fmt.Errorf("GitHub token: %w", err)
		}
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
	}
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: DefaultTimeout}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("GitHub API %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return fmt.Errorf("GitHub API %s %s: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Message string `json:"message"`
			Errors  []struct {
				Message string `json:"message"`
				Code    string `json:"code"`
				Field   string `json:"field"`
			} `json:"errors"`
		}
		_ = json.Unmarshal(raw, &e)
		apiErr := &Error{Status: resp.StatusCode, Message: e.Message}
		if apiErr.Message == "" {
			apiErr.Message = http.StatusText(resp.StatusCode)
		}
		for _, d := range e.Errors {
			switch {
			case d.Message != "":
				apiErr.Details = append(apiErr.Details, d.Message)
			case d.Field != "":
				apiErr.Details = append(apiErr.Details, d.Field+" "+d.Code)
			}
		}
		return fmt.Errorf("%s %s: %w", method, path, apiErr)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("GitHub API %s %s: read the answer: %w", method, path, err)
		}
	}
	return nil
}
