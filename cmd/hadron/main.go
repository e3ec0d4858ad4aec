// Command hadron is a self-hosted control plane that speaks the AWS Proton API.
//
//	hadron serve       run the server (embedded SQLite under --data-dir)
//	hadron keys        create, list, disable, enable and delete access keys
//	hadron secrets     put, list and delete the secrets CodeBuild runs read
//	hadron render      print the CloudFormation of an AWS-managed template
//	hadron status      ask a running server how it is
//	hadron logs        print (or follow) a deployment's log through the API
//	hadron backup      copy a running server's SQLite database into a file
//	hadron restore     put a backup in place of a stopped server's database
//	hadron completion  shell completion for bash, zsh, fish and PowerShell
//	hadron version     print the version, commit and Go version (or --version)
//
// Exit codes: 0 success, 1 the command failed, 2 the command line is wrong
// (an unknown command or flag, a bad flag value, a missing argument).
package main

import (
	"context"
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
	code := execute(ctx, os.Args[1:], streams{in: os.Stdin, out: os.Stdout, err: os.Stderr})
	stop()
	os.Exit(code)
}
