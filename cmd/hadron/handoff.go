package main

import (
	"fmt"
	"time"

	"github.com/spf13/pflag"

	"github.com/hadronhq/hadron/internal/forge/github"
	"github.com/hadronhq/hadron/internal/gitrepo"
	"github.com/hadronhq/hadron/internal/provision/terraform"
)

// handOffConfig is hadron serve's configuration of the Terraform hand-off
// through git: where provisioning repositories are, the credentials to
// push to them, and GitHub's API for pull requests.
type handOffConfig struct {
	urls        []string
	tokenFile   string
	sshKeyFile  string
	githubAPI   string
	githubToken string
	poll        time.Duration

	remotes gitrepo.Remotes
}

func (h *handOffConfig) flags(fs *pflag.FlagSet, e *env) {
	fs.StringArrayVar(&h.urls, "repository-url", e.list("HADRON_REPOSITORY_URLS", ","), "PROVIDER=PATTERN: the git remote of a provider's provisioning repositories, {name} standing for owner/name, "+
		"e.g. GITHUB=file:///srv/git/{name}.git; repeatable (HADRON_REPOSITORY_URLS, comma-separated; defaults: GitHub, GitHub Enterprise and Bitbucket over HTTPS)")
	fs.StringVar(&h.tokenFile, "repository-token-file", e.str("HADRON_REPOSITORY_TOKEN_FILE", ""), "file holding the token for HTTPS repository remotes (HADRON_REPOSITORY_TOKEN_FILE)")
	fs.StringVar(&h.sshKeyFile, "repository-ssh-key-file", e.str("HADRON_REPOSITORY_SSH_KEY_FILE", ""), "private key for SSH repository remotes; host keys are checked against known_hosts (HADRON_REPOSITORY_SSH_KEY_FILE)")
	fs.StringVar(&h.githubAPI, "github-api-url", e.str("HADRON_GITHUB_API_URL", ""), "GitHub REST API the hand-off opens pull requests with, e.g. "+github.DefaultAPIURL+" or https://HOST/api/v3; unset: the pushed branch is the hand-off (HADRON_GITHUB_API_URL)")
	fs.StringVar(&h.githubToken, "github-token-file", e.str("HADRON_GITHUB_TOKEN_FILE", ""), "file holding the GitHub API token; default --repository-token-file (HADRON_GITHUB_TOKEN_FILE)")
	fs.DurationVar(&h.poll, "pull-request-poll-interval", e.duration("HADRON_PULL_REQUEST_POLL_INTERVAL", terraform.DefaultPollInterval), "how often an open hand-off pull request is read, to see it closed unmerged (HADRON_PULL_REQUEST_POLL_INTERVAL)")
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
	if h.poll <= 0 {
		return fmt.Errorf("--pull-request-poll-interval %s is not a positive duration", h.poll)
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
