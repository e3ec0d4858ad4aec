// Package githubfake is a fake of the few GitHub REST endpoints the
// Terraform hand-off uses (create, get and update a pull request), for
// tests. It answers as GitHub does, errors included: 401 without the
// token, 404 for an unknown repository or pull request, 422 "Validation
// Failed" for a pull request whose head branch does not exist, that
// would duplicate an open one, or a merged one being reopened or closed.
// Tests act as the people on the other side with Merge and Close.
package githubfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// Server is the fake. Serve it with httptest.NewServer(s).
type Server struct {
	// Token, when set, must be sent as "Bearer TOKEN" (or "token TOKEN").
	Token string
	// BranchExists, when set, says whether a head or base branch exists
	// in a repository (owner/name); nil accepts every branch.
	BranchExists func(repo, branch string) bool
	// OnMerge, when set, is called by Merge (a test merges the branch in git).
	OnMerge func(repo string, pr PullRequest)

	mu    sync.Mutex
	repos map[string][]*PullRequest
}

// PullRequest is a pull request as the fake keeps it.
type PullRequest struct {
	Number int    `json:"number"`
	State  string `json:"state"`
	Merged bool   `json:"merged"`
	Title  string `json:"title"`
	Body   string `json:"body"`
	Head   string `json:"-"`
	Base   string `json:"-"`
	URL    string `json:"html_url"`
}

// AddRepository makes repo (owner/name) known.
func (s *Server) AddRepository(repo string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.repos == nil {
		s.repos = map[string][]*PullRequest{}
	}
	if _, ok := s.repos[repo]; !ok {
		s.repos[repo] = nil
	}
}

// PullRequests lists repo's pull requests, oldest first.
func (s *Server) PullRequests(repo string) []PullRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []PullRequest
	for _, pr := range s.repos[repo] {
		out = append(out, *pr)
	}
	return out
}

// Merge merges an open pull request, as a person on GitHub would.
func (s *Server) Merge(repo string, number int) error {
	s.mu.Lock()
	pr := s.find(repo, number)
	if pr == nil || pr.State != "open" {
		s.mu.Unlock()
		return fmt.Errorf("pull request #%d of %s is not open", number, repo)
	}
	pr.State, pr.Merged = "closed", true
	done := *pr
	s.mu.Unlock()
	if s.OnMerge != nil {
		s.OnMerge(repo, done)
	}
	return nil
}

// Close closes an open pull request unmerged, as a person on GitHub would.
func (s *Server) Close(repo string, number int) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	pr := s.find(repo, number)
	if pr == nil || pr.State != "open" {
		return fmt.Errorf("pull request #%d of %s is not open", number, repo)
	}
	pr.State = "closed"
	return nil
}

func (s *Server) find(repo string, number int) *PullRequest {
	for _, pr := range s.repos[repo] {
		if pr.Number == number {
			return pr
		}
	}
	return nil
}

// ServeHTTP answers POST /repos/O/R/pulls, GET and PATCH /repos/O/R/pulls/N.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.Token != "" {
		auth := r.Header.Get("Authorization")
		if auth != "Bearer "+s.Token && auth != "token "+s.Token {
			reply(w, http.StatusUnauthorized, map[string]string{"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"})
			return
		}
	}
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) < 4 || parts[0] != "repos" || parts[3] != "pulls" || len(parts) > 5 {
		notFound(w)
		return
	}
	repo := parts[1] + "/" + parts[2]
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.repos[repo]; !ok {
		notFound(w)
		return
	}
	switch {
	case len(parts) == 4 && r.Method == http.MethodPost:
		s.create(w, r, repo)
	case len(parts) == 5 && (r.Method == http.MethodGet || r.Method == http.MethodPatch):
		n, err := strconv.Atoi(parts[4])
		pr := s.find(repo, n)
		if err != nil || pr == nil {
			notFound(w)
			return
		}
		if r.Method == http.MethodPatch {
			s.update(w, r, pr)
			return
		}
		reply(w, http.StatusOK, pr)
	default:
		notFound(w)
	}
}

func (s *Server) create(w http.ResponseWriter, r *http.Request, repo string) {
	var in struct{ Title, Head, Base, Body string }
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		reply(w, http.StatusBadRequest, map[string]string{"message": "Problems parsing JSON"})
		return
	}
	var problems []map[string]string
	for _, f := range []struct{ name, value string }{{"head", in.Head}, {"base", in.Base}} {
		if f.value == "" || (s.BranchExists != nil && !s.BranchExists(repo, f.value)) {
			problems = append(problems, map[string]string{"resource": "PullRequest", "field": f.name, "code": "invalid"})
		}
	}
	if in.Title == "" {
		problems = append(problems, map[string]string{"resource": "PullRequest", "field": "title", "code": "missing_field"})
	}
	for _, pr := range s.repos[repo] {
		if pr.State == "open" && pr.Head == in.Head && pr.Base == in.Base {
			problems = append(problems, map[string]string{"resource": "PullRequest", "code": "custom",
				"message": fmt.Sprintf("A pull request already exists for %s:%s.", strings.Split(repo, "/")[0], in.Head)})
		}
	}
	if len(problems) > 0 {
		validationFailed(w, problems)
		return
	}
	pr := &PullRequest{Number: len(s.repos[repo]) + 1, State: "open", Title: in.Title, Body: in.Body, Head: in.Head, Base: in.Base}
	pr.URL = fmt.Sprintf("https://github.com/%s/pull/%d", repo, pr.Number)
	s.repos[repo] = append(s.repos[repo], pr)
	reply(w, http.StatusCreated, pr)
}

func (s *Server) update(w http.ResponseWriter, r *http.Request, pr *PullRequest) {
	var in struct {
		State *string `json:"state"`
		Title *string `json:"title"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		reply(w, http.StatusBadRequest, map[string]string{"message": "Problems parsing JSON"})
		return
	}
	if in.State != nil {
		switch {
		case *in.State != "open" && *in.State != "closed":
			validationFailed(w, []map[string]string{{"resource": "PullRequest", "field": "state", "code": "invalid"}})
			return
		case pr.Merged && *in.State != pr.State:
			validationFailed(w, []map[string]string{{"resource": "PullRequest", "code": "custom",
				"message": "state cannot be changed. The pull request has been merged."}})
			return
		}
		pr.State = *in.State
	}
	if in.Title != nil {
		pr.Title = *in.Title
	}
	reply(w, http.StatusOK, pr)
}

func notFound(w http.ResponseWriter) {
	reply(w, http.StatusNotFound, map[string]string{"message": "Not Found", "documentation_url": "https://docs.github.com/rest"})
}

func validationFailed(w http.ResponseWriter, problems []map[string]string) {
	reply(w, http.StatusUnprocessableEntity, map[string]any{"message": "Validation Failed", "errors": problems,
		"documentation_url": "https://docs.github.com/rest/pulls/pulls"})
}

func reply(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
