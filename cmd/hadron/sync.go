package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/hadronhq/hadron/internal/gitrepo"
	"github.com/hadronhq/hadron/internal/reposync"
)

// syncConfig is hadron serve's configuration of template (and service)
// sync: how often watched branches are polled and the webhook's secret.
// The repositories are reached as the hand-off reaches them
// (--repository-url and its credentials).
type syncConfig struct {
	interval   time.Duration
	secretFile string
	secret     string
}

func (c *syncConfig) flags(fs *pflag.FlagSet, e *env) {
	fs.DurationVar(&c.interval, "sync-interval", e.duration("HADRON_SYNC_INTERVAL", reposync.DefaultInterval), "how often the branches template and service sync watch are fetched for new commits (HADRON_SYNC_INTERVAL)")
	fs.StringVar(&c.secretFile, "sync-webhook-secret-file", e.str("HADRON_SYNC_WEBHOOK_SECRET_FILE", ""), "file holding the shared secret of the sync webhook (POST /hadron/v1/sync/webhook, signed as GitHub signs webhooks: X-Hub-Signature-256); unset: no webhook, sync at each --sync-interval only (HADRON_SYNC_WEBHOOK_SECRET_FILE)")
}

func (c *syncConfig) parse() error {
	if c.interval <= 0 {
		return fmt.Errorf("--sync-interval %s is not a positive duration", c.interval)
	}
	if c.secretFile != "" {
		b, err := os.ReadFile(c.secretFile)
		if err != nil {
			return fmt.Errorf("--sync-webhook-secret-file: %w", err)
		}
		if c.secret = strings.TrimSpace(string(b)); c.secret == "" {
			return fmt.Errorf("--sync-webhook-secret-file %s is empty", c.secretFile)
		}
	}
	return nil
}

// syncGit reads watched branches through package gitrepo's mirrors.
type syncGit struct{ mirrors *gitrepo.Mirrors }

func (g syncGit) Head(ctx context.Context, b reposync.Branch) (reposync.Tree, error) {
	t, err := g.mirrors.Head(ctx, b.Provider, b.Repository, b.Branch)
	if err != nil {
		return nil, err
	}
	return t, nil
}
