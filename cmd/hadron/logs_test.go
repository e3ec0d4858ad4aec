package main

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hadronhq/hadron/internal/provision"
	"github.com/hadronhq/hadron/internal/server"
	"github.com/hadronhq/hadron/internal/store/sqlite"
)

func TestLogsCallsTheServersLogEndpoint(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, server.DatabaseFile))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(context.Background(), server.Config{DataDir: dir, BundleDir: dir, Region: "us-east-1",
		AccountID: "123456789012", Owner: "test", Store: st, Engines: provision.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(func() {
		ts.Close()
		srv.Close()
	})
	const id = "00000000-0000-4000-8000-000000000000"
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		// The server answers for an unknown deployment: the call reached it, through the flags.
		{[]string{"logs", id, "--endpoint-url", ts.URL, "--no-sign-request"}, ExitFailed, "ResourceNotFoundException: deployment " + id + " not found"},
		{[]string{"logs", "--follow", id, "--endpoint-url", ts.URL, "--no-sign-request"}, ExitFailed, "ResourceNotFoundException"},
		{[]string{"logs"}, ExitUsage, "give exactly 1 deployment id"},
		{[]string{"logs", "a", "b"}, ExitUsage, "give exactly 1 deployment id"},
	} {
		_, stderr, code := runCLI(t, "", c.args...)
		if code != c.code || !strings.Contains(stderr, c.want) {
			t.Errorf("hadron %q: exit %d %q, want %d and %q", c.args, code, stderr, c.code, c.want)
		}
	}
}

func TestRetentionFlagsReadDaysAndSizes(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in      string
		age     time.Duration
		bytes   int64
		wantErr bool
	}{
		{in: "30d", age: 30 * 24 * time.Hour},
		{in: "72h", age: 72 * time.Hour},
		{in: "1.5d", age: 36 * time.Hour},
		{in: "0", age: 0},
		{in: "12", wantErr: true},
		{in: "-1d", wantErr: true},
	} {
		got, err := parseAge(c.in)
		if (err != nil) != c.wantErr || got != c.age {
			t.Errorf("parseAge(%q) = %v, %v; want %v (error %v)", c.in, got, err, c.age, c.wantErr)
		}
	}
	for _, c := range []struct {
		in      string
		bytes   int64
		wantErr bool
	}{
		{in: "1G", bytes: 1 << 30},
		{in: "500M", bytes: 500 << 20},
		{in: "2GiB", bytes: 2 << 30},
		{in: "10kb", bytes: 10 << 10},
		{in: "0", bytes: 0},
		{in: "lots", wantErr: true},
		{in: "-1M", wantErr: true},
		{in: "99999999999T", wantErr: true},
	} {
		got, err := parseBytes(c.in)
		if (err != nil) != c.wantErr || got != c.bytes {
			t.Errorf("parseBytes(%q) = %v, %v; want %v (error %v)", c.in, got, err, c.bytes, c.wantErr)
		}
	}
	if _, stderr, code := runCLI(t, "", "serve", "--log-retention-size", "lots"); code != ExitUsage || !strings.Contains(stderr, "--log-retention-size") {
		t.Errorf("serve --log-retention-size lots: exit %d %q, want a usage error naming the flag", code, stderr)
	}
	if _, stderr, code := runCLI(t, "", "serve", "--log-format", "xml"); code != ExitUsage || !strings.Contains(stderr, "--log-format") {
		t.Errorf("serve --log-format xml: exit %d %q, want a usage error naming the flag", code, stderr)
	}
}
