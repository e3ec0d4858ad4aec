package server_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hadronhq/hadron/internal/reposync"
	"github.com/hadronhq/hadron/internal/server"
)

// fakeGit stands for the repositories' remotes: it has no branches, as a
// remote without the watched branch answers, and says which branch each
// fetch asked for.
type fakeGit struct{ fetched chan reposync.Branch }

func (g fakeGit) Head(_ context.Context, b reposync.Branch) (reposync.Tree, error) {
	select {
	case g.fetched <- b:
	default: // the test has seen enough
	}
	return nil, errors.New("fetch: branch not found")
}

func sign(secret, body string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(body))
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

func TestSyncWebhookSyncsTheRepositoryAtOnceWhenSignedWithTheSecret(t *testing.T) {
	t.Parallel()
	git := fakeGit{fetched: make(chan reposync.Branch, 8)}
	h := setupConfig(t, testEngines(300*time.Millisecond), func(cfg *server.Config) {
		cfg.SyncGit, cfg.SyncInterval, cfg.SyncWebhookSecret = git, time.Hour, "s3cret"
	})
	h.ok("CreateRepository", map[string]string{"provider": "GITHUB", "name": "acme/templates", "connectionArn": "arn:aws:codestar-connections:us-east-1:123456789012:connection/c1"})
	h.ok("CreateEnvironmentTemplate", map[string]string{"name": "web"})
	h.ok("CreateTemplateSyncConfig", map[string]string{"templateName": "web", "templateType": "ENVIRONMENT",
		"repositoryProvider": "GITHUB", "repositoryName": "acme/templates", "branch": "main"})

	post := func(body, signature string, header ...string) int {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, h.url+server.SyncWebhookPath, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if signature != "" {
			req.Header.Set(server.SignatureHeader, signature)
		}
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	push := `{"ref":"refs/heads/main","repository":{"full_name":"acme/templates"}}`
	for _, c := range []struct {
		name, body, signature string
		header                []string
		want                  int
	}{
		{"unsigned", push, "", nil, http.StatusUnauthorized},
		{"signed with another secret", push, sign("other", push), nil, http.StatusUnauthorized},
		{"signature of another body", push, sign("s3cret", push+" "), nil, http.StatusUnauthorized},
		{"not a push event", `{"zen":"hi"}`, sign("s3cret", `{"zen":"hi"}`), nil, http.StatusBadRequest},
		{"ping", `{"zen":"hi"}`, sign("s3cret", `{"zen":"hi"}`), []string{"X-GitHub-Event", "ping"}, http.StatusOK},
	} {
		if got := post(c.body, c.signature, c.header...); got != c.want {
			t.Errorf("%s: status %d, want %d", c.name, got, c.want)
		}
	}

	// The pass at start-up came before the config; the poll is an hour away.
	select {
	case b := <-git.fetched:
		t.Fatalf("fetched %+v before any valid webhook", b)
	default:
	}
	if got := post(push, sign("s3cret", push)); got != http.StatusAccepted {
		t.Fatalf("signed push: status %d, want 202", got)
	}
	select {
	case b := <-git.fetched:
		if b.Repository != "acme/templates" || b.Branch != "main" {
			t.Fatalf("fetched %+v, want acme/templates", b)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the webhook did not make the watched branch be fetched")
	}
}

func TestSyncWebhookIsOffWithoutASecret(t *testing.T) {
	t.Parallel()
	h := setupConfig(t, testEngines(300*time.Millisecond), func(cfg *server.Config) {
		cfg.SyncGit = fakeGit{fetched: make(chan reposync.Branch, 8)}
	})
	body := `{"repository":{"full_name":"acme/templates"}}`
	resp, err := http.Post(h.url+server.SyncWebhookPath, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("status %d, want 404", resp.StatusCode)
	}
}
