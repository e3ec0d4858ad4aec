package server_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/hadronhq/hadron/internal/auth"
	"github.com/hadronhq/hadron/internal/hadronclient"
	"github.com/hadronhq/hadron/internal/server"
)

// logClient GETs paths under /hadron/v1/ with hadronclient.
type logClient struct{ c *hadronclient.Client }

func (l *logClient) Get(ctx context.Context, path string) (*http.Response, error) {
	return l.c.Do(ctx, http.MethodGet, strings.TrimPrefix(path, server.HadronPrefix), nil)
}

// logPath is the API path of deployment id's log.
func logPath(id string, follow bool) string {
	p := "/hadron/v1/deployments/" + id + "/log"
	if follow {
		p += "?follow=true"
	}
	return p
}

// TestDeploymentLogIsReadAndFollowedThroughTheSignedAPI: a key allowed on
// the deployment's resource reads its log and follows it until the
// deployment ends (cancelled here), the end's status in the trailer; keys
// not allowed, unsigned calls and unknown deployments are refused with
// Proton's errors.
func TestDeploymentLogIsReadAndFollowedThroughTheSignedAPI(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	keys := &auth.Store{Dir: dir}
	admin, _, err := keys.CreateFirst("admin")
	if err != nil {
		t.Fatal(err)
	}
	devReader, err := keys.Create(auth.Policy{Allow: []string{"proton:Get*", server.ActionGetDeploymentLog}, Resources: []string{"dev"}}, "reads dev")
	if err != nil {
		t.Fatal(err)
	}
	otherReader, err := keys.Create(auth.Policy{Allow: []string{"hadron:*"}, Resources: []string{"other-*"}}, "reads other-*")
	if err != nil {
		t.Fatal(err)
	}
	deploymentsOnly, err := keys.Create(auth.Policy{Allow: []string{"proton:Get*"}}, "Proton reads, not logs")
	if err != nil {
		t.Fatal(err)
	}
	ring, err := auth.OpenKeyring(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := setupConfig(t, testEngines(0), func(cfg *server.Config) {
		cfg.Auth = auth.New(auth.Config{Keys: ring})
		cfg.LogPollInterval = 10 * time.Millisecond
	})
	h.key, h.secret = admin.AccessKeyID, admin.SecretAccessKey
	client := func(k auth.NewKey) *logClient {
		c, err := hadronclient.New(t.Context(), hadronclient.Options{EndpointURL: h.url,
			Credentials: credentials.NewStaticCredentialsProvider(k.AccessKeyID, k.SecretAccessKey, "")})
		if err != nil {
			t.Fatal(err)
		}
		return &logClient{c}
	}
	ctx := t.Context()

	h.publishedTemplate("net", "slow.tgz", "")
	h.ok("CreateEnvironment", m{"name": "dev", "templateName": "net", "templateMajorVersion": "1",
		"codebuildRoleArn": codebuildRole, "spec": spec("  name: first\n  seconds: 60\n")})
	id := h.waitFor("GetEnvironment", m{"name": "dev"}, "environment.deploymentStatus", "IN_PROGRESS").str("environment.lastAttemptedDeploymentId")

	// Followed by a key allowed on "dev" only.
	resp, err := client(devReader).Get(ctx, logPath(id, true))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	lines := make(chan string, 100)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	var got []string
	waitLine := func(want string) {
		t.Helper()
		timeout := time.After(20 * time.Second)
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					t.Fatalf("the followed log ended before a line containing %q: %q", want, got)
				}
				got = append(got, l)
				if strings.Contains(l, want) {
					return
				}
			case <-timeout:
				t.Fatalf("no line containing %q in the followed log: %q", want, got)
			}
		}
	}
	waitLine("$ sh ./run.sh")
	// While it runs, a plain read has what was written so far.
	plain, err := client(admin).Get(ctx, logPath(id, false))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(plain.Body)
	plain.Body.Close()
	if !strings.Contains(string(body), "$ sh ./run.sh") || plain.Header.Get(server.DeploymentStatusTrailer) != "IN_PROGRESS" {
		t.Errorf("read while running = %q, status %q; want the command line and IN_PROGRESS", body, plain.Header.Get(server.DeploymentStatusTrailer))
	}

	h.ok("CancelEnvironmentDeployment", m{"environmentName": "dev"})
	waitLine("[hadron] deployment ended")
	for range lines {
	}
	if status := resp.Trailer.Get(server.DeploymentStatusTrailer); status != "CANCELLED" {
		t.Errorf("trailer %s = %q, want CANCELLED", server.DeploymentStatusTrailer, status)
	}

	for _, c := range []struct {
		name string
		do   func() error
		want string
	}{
		{"a key allowed on other resources", func() error { _, err := client(otherReader).Get(ctx, logPath(id, false)); return err }, "AccessDeniedException"},
		{"a key without the log action", func() error { _, err := client(deploymentsOnly).Get(ctx, logPath(id, false)); return err }, "AccessDeniedException"},
		{"an unsigned call", func() error {
			c, err := hadronclient.New(ctx, hadronclient.Options{EndpointURL: h.url, NoSign: true})
			if err != nil {
				return err
			}
			_, err = (&logClient{c}).Get(ctx, logPath(id, false))
			return err
		}, "MissingAuthenticationTokenException"},
		{"a wrong secret", func() error {
			k := devReader
			k.SecretAccessKey = "wrong" + k.SecretAccessKey
			_, err := client(k).Get(ctx, logPath(id, false))
			return err
		}, "InvalidSignatureException"},
		{"an unknown deployment", func() error {
			_, err := client(admin).Get(ctx, logPath("00000000-0000-4000-8000-000000000000", false))
			return err
		}, "ResourceNotFoundException"},
		{"an unknown deployment, for a key that may not read every log", func() error {
			_, err := client(devReader).Get(ctx, logPath("00000000-0000-4000-8000-000000000000", false))
			return err
		}, "AccessDeniedException"},
		{"an unknown endpoint", func() error { _, err := client(admin).Get(ctx, "/hadron/v1/nothing"); return err }, "UnknownOperationException"},
	} {
		err := c.do()
		var apiErr *hadronclient.Error
		if !errors.As(err, &apiErr) || apiErr.Code != c.want {
			t.Errorf("%s: %v, want %s", c.name, err, c.want)
		}
	}
}

// TestFollowedLogEndsWhenTheServerStopsStreaming: a graceful shutdown need
// not wait for a deployment to end.
func TestFollowedLogEndsWhenTheServerStopsStreaming(t *testing.T) {
	t.Parallel()
	h := setup(t)
	h.publishedTemplate("net", "slow.tgz", "")
	h.ok("CreateEnvironment", m{"name": "dev", "templateName": "net", "templateMajorVersion": "1",
		"codebuildRoleArn": codebuildRole, "spec": spec("  seconds: 60\n")})
	id := h.waitFor("GetEnvironment", m{"name": "dev"}, "environment.deploymentStatus", "IN_PROGRESS").str("environment.lastAttemptedDeploymentId")
	hc, err := hadronclient.New(context.Background(), hadronclient.Options{EndpointURL: h.url, NoSign: true})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := (&logClient{hc}).Get(context.Background(), logPath(id, true))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	h.srv.StopStreams()
	done := make(chan struct{})
	go func() {
		io.Copy(io.Discard, resp.Body)
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the followed log did not end after StopStreams")
	}
	if status := resp.Trailer.Get(server.DeploymentStatusTrailer); status != "" {
		t.Errorf("trailer after StopStreams = %q, want none (the deployment did not end)", status)
	}
}
