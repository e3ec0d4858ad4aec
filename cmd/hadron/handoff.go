package main

import (
	"cmp"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/hadronhq/hadron/internal/forge/github"
	"github.com/hadronhq/hadron/internal/gitrepo"
	"github.com/hadronhq/hadron/internal/provision/terraform"
)

// handOffConfig is hadron serve's configuration of the Terraform hand-off
// through git: where provisioning repositories are, the credentials to
// push to them, and GitHub's API for pull requests.
type handOffConfig struct {
	urls         repeated
	tokenFile    string
	sshKeyFile   string
	githubAPI    string
	githubToken  string
	pollInterval string

	remotes gitrepo.Remotes
	poll    time.Duration
}

// repeated is a flag that may be given several times.
type repeated []string

func (r *repeated) String() string     { return strings.Join(*r, ",") }
func (r *repeated) Set(v string) error { *r = append(*r, v); return nil }

func (h *handOffConfig) flags(fs *flag.FlagSet) {
	env := func(name, def string) string { return cmp.Or(os.Getenv(name), def) }
	for v := range strings.SplitSeq(env("HADRON_REPOSITORY_URLS", ""), ",") {
		if v = strings.TrimSpace(v); v != "" {
			h.urls = append(h.urls, v)
		}
	}
	fs.Var(&h.urls, "repository-url", "PROVIDER=PATTERN: the git remote of a provider's provisioning repositories, {name} standing for owner/name, "+
		"e.g. GITHUB=file:///srv/git/{name}.git; repeatable (HADRON_REPOSITORY_URLS, comma-separated; defaults: GitHub, GitHub Enterprise and Bitbucket over HTTPS)")
	fs.StringVar(&h.tokenFile, "repository-token-file", env("HADRON_REPOSITORY_TOKEN_FILE", ""), "file holding the token for HTTPS repository remotes (HADRON_REPOSITORY_TOKEN_FILE)")
	fs.StringVar(&h.sshKeyFile, "repository-ssh-key-file", env("HADRON_REPOSITORY_SSH_KEY_FILE", ""), "private key for SSH repository remotes; host keys are checked against known_hosts (HADRON_REPOSITORY_SSH_KEY_FILE)")
	fs.StringVar(&h.githubAPI, "github-api-url", env("HADRON_GITHUB_API_URL", ""), "GitHub REST API the hand-off opens pull requests with, e.g. "+github.DefaultAPIURL+" or https://HOST/api/v3; unset: the pushed branch is the hand-off (HADRON_GITHUB_API_URL)")
	fs.StringVar(&h.githubToken, "github-token-file", env("HADRON_GITHUB_TOKEN_FILE", ""), "file holding the GitHub API token; default --repository-token-file (HADRON_GITHUB_TOKEN_FILE)")
	fs.StringVar(&h.pollInterval, "pull-request-poll-interval", env("HADRON_PULL_REQUEST_POLL_INTERVAL", terraform.DefaultPollInterval.String()), "how often an open hand-off pull request is read, to see it closed unmerged (HADRON_PULL_REQUEST_POLL_INTERVAL)")
}

func (h *handOffConfig) parse() error {
	h.remotes = gitrepo.Remotes{TokenFile: h.tokenFile, SSHKeyFile: h.sshKeyFile}
	for _, v := range h.urls {
		provider, pattern, err := gitrepo.ParsePattern(v)
		if err != nil {
			return fmt.Errorf("--repository-url: %w", err)
		}
		if h.remotes.Patterns == nil {
			h.remotes.Patterns = map[string]string{}
		}
		h.remotes.Patterns[provider] = pattern
	}
	var err error
	if h.poll, err = time.ParseDuration(h.pollInterval); err != nil || h.poll <= 0 {
		return fmt.Errorf("--pull-request-poll-interval %q is not a positive duration such as 1m", h.pollInterval)
	}
	return nil
}

// handOff is the Terraform engine's configuration of the hand-off.
func (h *handOffConfig) handOff() terraform.HandOff {
	ho := terraform.HandOff{Remotes: h.remotes, PollInterval: h.poll}
	if h.githubAPI != "" {
		token := h.githubToken
		if token == "" {
			token = h.tokenFile
		}
		ho.Forge = &github.Client{APIURL: h.githubAPI, TokenFile: token}
	}
	return ho
}
