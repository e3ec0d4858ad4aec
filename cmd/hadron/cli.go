package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/hadronhq/hadron/internal/buildinfo"
	"github.com/spf13/cobra"
)

// Exit codes of every hadron command.
const (
	// ExitOK: the command did what it was asked.
	ExitOK = 0
	// ExitFailed: the command was understood but failed (a server that does
	// not answer, a refused call, a file that cannot be written).
	ExitFailed = 1
	// ExitUsage: the command line is wrong (an unknown command or flag, a
	// bad flag value, a missing or extra argument); usage is printed once.
	ExitUsage = 2
)

// streams are a command's standard input, output and error.
type streams struct {
	in       io.Reader
	out, err io.Writer
}

// usageError is a wrong command line: exit code 2, with the command's usage.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// usagef returns a usageError.
func usagef(format string, args ...any) error {
	return &usageError{fmt.Errorf(format, args...)}
}

// execute runs the command line args and returns the exit code. Errors are
// printed once, as "hadron: ..." on standard error; a usage error is
// followed by the usage of the command it belongs to.
func execute(ctx context.Context, args []string, s streams) int {
	root := newRootCommand(s)
	root.SetArgs(args)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return ExitOK
	}
	fmt.Fprintln(s.err, "hadron:", err)
	if !isUsageError(err) {
		return ExitFailed
	}
	if cmd == nil {
		cmd = root
	}
	fmt.Fprintf(s.err, "\n%s", cmd.UsageString())
	return ExitUsage
}

// isUsageError reports whether err is a wrong command line: ours, or one of
// cobra's own (which are plain errors; an unknown command or flag is
// recognised by its text).
func isUsageError(err error) bool {
	var ue *usageError
	if errors.As(err, &ue) {
		return true
	}
	msg := err.Error()
	for _, prefix := range []string{"unknown command", "unknown flag", "unknown shorthand flag", "invalid argument", "flag needs an argument", "accepts ", "requires at least", "required flag"} {
		if strings.HasPrefix(msg, prefix) {
			return true
		}
	}
	return false
}

// newRootCommand builds the command tree.
func newRootCommand(s streams) *cobra.Command {
	root := &cobra.Command{
		Use:   "hadron",
		Short: "A self-hosted control plane that speaks the AWS Proton API",
		Long: `hadron: a self-hosted control plane that speaks the AWS Proton API.

Exit codes: 0 success, 1 the command failed, 2 the command line is wrong.
Every flag of the server-side commands also reads a HADRON_* environment
variable, named in its help.`,
		Version:       versionText(),
		SilenceUsage:  true,
		SilenceErrors: true,
		// Without a subcommand, hadron prints its help and exits 2.
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return usagef("give a command")
		},
	}
	root.SetIn(s.in)
	root.SetOut(s.out)
	root.SetErr(s.err)
	root.SetVersionTemplate("{{.Version}}")
	// A bad flag is a usage error, whichever command it belongs to.
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error { return &usageError{err} })
	root.AddCommand(
		newServeCommand(),
		newKeysCommand(s),
		newSecretsCommand(s),
		newRenderCommand(s),
		newStatusCommand(s),
		newLogsCommand(s),
		newBackupCommand(s),
		newRestoreCommand(s),
		newVersionCommand(s),
	)
	root.CompletionOptions.HiddenDefaultCmd = false
	return root
}

func newVersionCommand(s streams) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit and Go version of this build (also hadron --version)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := io.WriteString(s.out, versionText())
			return err
		},
	}
}

// versionText is the build: the version line, then the module version, the
// commit and the Go toolchain it was built from.
func versionText() string {
	info := buildinfo.Read()
	commit := info.Commit
	switch {
	case commit == "":
		commit = "not recorded (go build and go install record it, unless -buildvcs=false; go run and go test do not)"
	case info.Modified:
		commit += " (with uncommitted changes)"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "hadron %s\nmodule:  %s\ncommit:  %s\n", cmp.Or(version, info.String()), info.Version, commit)
	if info.CommitTime != "" {
		fmt.Fprintf(&b, "time:    %s\n", info.CommitTime)
	}
	fmt.Fprintf(&b, "go:      %s\n", info.GoVersion)
	return b.String()
}

// Argument checks that fail as usage errors (cobra's own return plain errors).

func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		if cmd.HasSubCommands() {
			return usagef("unknown command %q for %q", args[0], cmd.CommandPath())
		}
		return usagef("%s: unexpected argument %q", cmd.CommandPath(), args[0])
	}
	return nil
}

func exactArgs(n int, what string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usagef("%s: give exactly %d %s (got %d arguments)", cmd.CommandPath(), n, what, len(args))
		}
		return nil
	}
}

// env reads the HADRON_* defaults of typed flags; a variable that does not
// parse is remembered and reported as a usage error by check.
type env struct{ errs []error }

func (e *env) str(name, def string) string { return cmp.Or(os.Getenv(name), def) }

func (e *env) int(name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		e.errs = append(e.errs, fmt.Errorf("%s=%q is not a whole number", name, v))
		return def
	}
	return n
}

func (e *env) float(name string, def float64) float64 {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		e.errs = append(e.errs, fmt.Errorf("%s=%q is not a number", name, v))
		return def
	}
	return f
}

func (e *env) duration(name string, def time.Duration) time.Duration {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		e.errs = append(e.errs, fmt.Errorf("%s=%q is not a duration such as 10s", name, v))
		return def
	}
	return d
}

// list splits a variable's value on sep, dropping empty parts.
func (e *env) list(name, sep string) []string {
	var out []string
	for p := range strings.SplitSeq(os.Getenv(name), sep) {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// check returns the variables that did not parse, as one usage error.
func (e *env) check() error {
	if len(e.errs) == 0 {
		return nil
	}
	return &usageError{errors.Join(e.errs...)}
}
