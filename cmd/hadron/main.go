// Command hadron is a self-hosted control plane that speaks the AWS Proton API.
//
//	hadron serve     run the server (embedded SQLite under --data-dir)
//	hadron keys      create, list, disable, enable and delete access keys
//	hadron secrets   put, list and delete the secrets CodeBuild runs read
//	hadron logs      print (or follow) a deployment's log through the API
//	hadron version   print the version, commit and Go version (or --version)
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/hadronhq/hadron/internal/buildinfo"
	"github.com/hadronhq/hadron/internal/provision/codebuild"
)

// version names this build in the banner and `hadron version`: set at build
// time with -ldflags "-X main.version=...", or else read from the build
// information the Go toolchain embeds (module version, commit, Go version).
var version string

func main() {
	// A provisioning command's supervisor is this same binary re-executed.
	codebuild.MaybeSupervise()
	if version == "" {
		version = buildinfo.Read().String()
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	switch {
	case err == nil:
	case errors.Is(err, flag.ErrHelp):
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "hadron:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		usage()
		return flag.ErrHelp
	}
	switch args[0] {
	case "serve":
		cmd := &serveCommand{}
		if err := cmd.ParseFlags(args[1:]); err != nil {
			return err
		}
		return cmd.Run(ctx)
	case "keys":
		cmd := &keysCommand{}
		if err := cmd.ParseFlags(args[1:]); err != nil {
			return err
		}
		return cmd.Run()
	case "render":
		cmd := &renderCommand{}
		if err := cmd.ParseFlags(args[1:]); err != nil {
			return err
		}
		return cmd.Run(ctx)
	case "secrets":
		cmd := &secretsCommand{}
		if err := cmd.ParseFlags(args[1:]); err != nil {
			return err
		}
		return cmd.Run()
	case "logs":
		cmd := &logsCommand{}
		if err := cmd.ParseFlags(args[1:]); err != nil {
			return err
		}
		return cmd.Run(ctx)
	case "version", "--version", "-version":
		printVersion(os.Stdout)
		return nil
	case "help", "-h", "--help":
		usage()
		return nil
	default:
		usage()
		return fmt.Errorf("unknown command %q", args[0])
	}
}

func usage() {
	fmt.Fprint(os.Stderr, `hadron: a self-hosted control plane that speaks the AWS Proton API

Usage:
  hadron serve [flags]   run the server (hadron serve -h lists the flags)
  hadron keys ACTION     create, list, disable, enable or delete access keys (hadron keys for help)
  hadron render [flags]  print the CloudFormation a deployment of an AWS-managed template would run (hadron render -h)
  hadron secrets ACTION  put, list or delete secrets for CodeBuild runs (hadron secrets for help)
  hadron logs ID [-f]    print a deployment's log through the API; -f follows it until the deployment ends
  hadron version         print the version, commit and Go version (also hadron --version)
`)
}

// printVersion prints the build: the version line, then the commit and the Go
// toolchain it was built from.
func printVersion(w io.Writer) {
	info := buildinfo.Read()
	commit := info.Commit
	switch {
	case commit == "":
		commit = "not recorded (go build and go install record it, unless -buildvcs=false; go run and go test do not)"
	case info.Modified:
		commit += " (with uncommitted changes)"
	}
	fmt.Fprintf(w, "hadron %s\nmodule:  %s\ncommit:  %s\n", version, info.Version, commit)
	if info.CommitTime != "" {
		fmt.Fprintf(w, "time:    %s\n", info.CommitTime)
	}
	fmt.Fprintf(w, "go:      %s\n", info.GoVersion)
}
