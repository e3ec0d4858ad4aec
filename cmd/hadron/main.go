// Command hadron is a self-hosted control plane that speaks the AWS Proton API.
//
//	hadron serve     run the server (embedded SQLite under --data-dir)
//	hadron keys      create, list, disable, enable and delete access keys
//	hadron secrets   put, list and delete the secrets CodeBuild runs read
//	hadron version   print the version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/hadronhq/hadron/internal/provision/codebuild"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	// A provisioning command's supervisor is this same binary re-executed.
	codebuild.MaybeSupervise()

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
	case "secrets":
		cmd := &secretsCommand{}
		if err := cmd.ParseFlags(args[1:]); err != nil {
			return err
		}
		return cmd.Run()
	case "version":
		fmt.Println("hadron", version)
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
  hadron secrets ACTION  put, list or delete secrets for CodeBuild runs (hadron secrets for help)
  hadron version         print the version
`)
}
