package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// runCLI runs hadron in this process with args and stdin, and returns what
// it printed and its exit code.
func runCLI(t *testing.T, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = execute(context.Background(), args, streams{in: strings.NewReader(stdin), out: &out, err: &errOut})
	return out.String(), errOut.String(), code
}

func TestCLIExitCodesAndHelp(t *testing.T) {
	t.Parallel()
	missing := filepath.Join(t.TempDir(), "typo")
	empty := t.TempDir()
	tests := []struct {
		name string
		args []string
		code int
		// out and errOut are substrings of standard output and error.
		out, errOut string
		// usageOnce: the usage is printed exactly once on standard error.
		usageOnce bool
	}{
		{name: "help exits 0", args: []string{"--help"}, code: ExitOK, out: "Available Commands:"},
		{name: "help command exits 0", args: []string{"help", "keys"}, code: ExitOK, out: "hadron keys [command]"},
		{name: "a subcommand's own help", args: []string{"keys", "create", "--help"}, code: ExitOK, out: "hadron keys create [flags]"},
		{name: "typed flags in help", args: []string{"serve", "--help"}, code: ExitOK, out: "--workers int"},
		{name: "durations typed in help", args: []string{"serve", "--help"}, code: ExitOK, out: "--cancel-grace duration"},
		{name: "no command is a usage error", args: nil, code: ExitUsage, errOut: "give a command", usageOnce: true},
		{name: "unknown command", args: []string{"serv"}, code: ExitUsage, errOut: `unknown command "serv"`, usageOnce: true},
		{name: "bad flag prints usage once", args: []string{"keys", "create", "--bogus"}, code: ExitUsage, errOut: "unknown flag: --bogus", usageOnce: true},
		{name: "bad flag value", args: []string{"serve", "--workers", "many"}, code: ExitUsage, errOut: "--workers", usageOnce: true},
		{name: "invalid value checked", args: []string{"serve", "--workers", "0"}, code: ExitUsage, errOut: "not a positive number", usageOnce: true},
		{name: "missing argument", args: []string{"keys", "disable"}, code: ExitUsage, errOut: "exactly 1 access key id", usageOnce: true},
		{name: "keys list of a mistyped data dir fails", args: []string{"keys", "list", "--data-dir", missing}, code: ExitFailed, errOut: "does not exist"},
		{name: "keys list of a dir without keys fails", args: []string{"keys", "list", "--data-dir", empty}, code: ExitFailed, errOut: "has no access keys"},
		{name: "secrets list of a mistyped data dir fails", args: []string{"secrets", "list", "--data-dir", missing}, code: ExitFailed, errOut: "does not exist"},
		{name: "version", args: []string{"version"}, code: ExitOK, out: "go:      " + runtime.Version() + "\n"},
		{name: "--version", args: []string{"--version"}, code: ExitOK, out: "\nmodule:  "},
		{name: "bash completion", args: []string{"completion", "bash"}, code: ExitOK, out: "bash completion"},
		{name: "zsh completion", args: []string{"completion", "zsh"}, code: ExitOK, out: "#compdef hadron"},
		{name: "fish completion", args: []string{"completion", "fish"}, code: ExitOK, out: "complete -c hadron"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out, errOut, code := runCLI(t, "", tt.args...)
			if code != tt.code || !strings.Contains(out, tt.out) || !strings.Contains(errOut, tt.errOut) {
				t.Errorf("hadron %v = exit %d, want %d with %q on stdout and %q on stderr\nstdout:\n%s\nstderr:\n%s", tt.args, code, tt.code, tt.out, tt.errOut, out, errOut)
			}
			if n := strings.Count(errOut, "Usage:"); tt.usageOnce && n != 1 {
				t.Errorf("hadron %v printed the usage %d times, want once:\n%s", tt.args, n, errOut)
			}
		})
	}
}

func TestKeysCommandCreatesListsAndDisables(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	out, errOut, code := runCLI(t, "", "keys", "create", "--data-dir", dir, "--allow", "proton:Get*", "--description", "ci")
	var nk struct{ AccessKeyID, SecretAccessKey string }
	if code != 0 || json.Unmarshal([]byte(out), &nk) != nil || nk.AccessKeyID == "" {
		t.Fatalf("keys create = exit %d %q %s", code, out, errOut)
	}
	// Flags may come after the argument.
	if _, errOut, code := runCLI(t, "", "keys", "disable", nk.AccessKeyID, "--data-dir", dir); code != 0 {
		t.Fatalf("keys disable = exit %d: %s", code, errOut)
	}
	out, _, code = runCLI(t, "", "keys", "list", "--data-dir", dir, "--json")
	var list []struct{ AccessKeyID, Status string }
	if code != 0 || json.Unmarshal([]byte(out), &list) != nil || len(list) != 1 || list[0].Status != "disabled" {
		t.Errorf("keys list --json = exit %d %q, want the one disabled key", code, out)
	}
	if _, _, code := runCLI(t, "", "keys", "create", "--data-dir", dir, "--allow", "ec2:*"); code != ExitUsage {
		t.Errorf("a bad pattern: exit %d, want %d", code, ExitUsage)
	}
}

func TestServeFlagsReadTheirEnvironmentVariables(t *testing.T) {
	// Not parallel: it sets the environment.
	t.Setenv("HADRON_WORKERS", "7")
	t.Setenv("HADRON_SIGNING_REGIONS", "eu-west-1, us-east-1")
	cmd := newServeCommand()
	if err := cmd.ParseFlags(nil); err != nil {
		t.Fatal(err)
	}
	if got := cmd.Flags().Lookup("workers").Value.String(); got != "7" {
		t.Errorf("--workers from HADRON_WORKERS = %s, want 7", got)
	}
	if got := cmd.Flags().Lookup("signing-regions").Value.String(); got != "[eu-west-1,us-east-1]" {
		t.Errorf("--signing-regions from HADRON_SIGNING_REGIONS = %s", got)
	}
	t.Setenv("HADRON_LEASE", "soon")
	var errOut bytes.Buffer
	if code := execute(context.Background(), []string{"serve"}, streams{out: os.Stdout, err: &errOut}); code != ExitUsage || !strings.Contains(errOut.String(), "HADRON_LEASE") {
		t.Errorf("HADRON_LEASE=soon: exit %d %q, want a usage error naming it", code, errOut.String())
	}
}

func TestBannerTryCommandSignsAsTheServerExpects(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ auth, want string }{
		{"none", "--no-sign-request"},
		{"sigv4", "--profile " + cliProfile},
	} {
		if got := tryCommand("http://127.0.0.1:8787", "us-east-1", tt.auth); !strings.HasSuffix(got, tt.want) || !strings.Contains(got, "--endpoint-url http://127.0.0.1:8787") {
			t.Errorf("tryCommand(--auth %s) = %q, want it to end with %s", tt.auth, got, tt.want)
		}
	}
}
