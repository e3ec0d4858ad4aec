package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"

	"github.com/hadronhq/hadron/internal/hadronclient"
	"github.com/hadronhq/hadron/internal/server"
)

// logsCommand is hadron logs DEPLOYMENT_ID [--follow]: a deployment's log,
// read through the server's API (signed as the AWS CLI signs).
type logsCommand struct {
	id     string
	follow bool
	opts   hadronclient.Options
	out    io.Writer
}

// ParseFlags reads the flags and the deployment id, in any order.
func (c *logsCommand) ParseFlags(args []string) error {
	fs := flag.NewFlagSet("hadron logs", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), "Usage: hadron logs DEPLOYMENT_ID [--follow] [--endpoint-url URL] [--profile NAME] [--region REGION]\n\nPrints a deployment's log; with --follow, prints it as it is written until the deployment ends.\nCredentials and the endpoint are found as the AWS CLI finds them (the hadron profile when it exists).\n\n")
		fs.PrintDefaults()
	}
	fs.BoolVar(&c.follow, "follow", false, "print the log as it is written until the deployment ends (also -f)")
	fs.BoolVar(&c.follow, "f", false, "short for --follow")
	fs.StringVar(&c.opts.EndpointURL, "endpoint-url", "", "the Hadron server (default AWS_ENDPOINT_URL_PROTON, the profile's endpoint_url, AWS_ENDPOINT_URL, or "+hadronclient.DefaultEndpoint+")")
	fs.StringVar(&c.opts.Profile, "profile", "", "AWS shared config profile holding the Hadron access key (default AWS_PROFILE, else "+hadronclient.DefaultProfile+" when it exists, else default)")
	fs.StringVar(&c.opts.Region, "region", "", "region to sign for (default the profile's)")
	fs.BoolVar(&c.opts.NoSign, "no-sign-request", false, "send the request unsigned (a server run with --auth none)")
	// The id may come before the flags, as in hadron logs ID --follow.
	var rest []string
	for len(args) > 0 {
		if err := fs.Parse(args); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		rest = append(rest, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(rest) != 1 {
		fs.Usage()
		return fmt.Errorf("logs: want one deployment id, got %d arguments", len(rest))
	}
	c.id = rest[0]
	return nil
}

// Run prints the log; following, it ends when the deployment does and
// says how it ended on standard error.
func (c *logsCommand) Run(ctx context.Context) error {
	client, err := hadronclient.New(ctx, c.opts)
	if err != nil {
		return fmt.Errorf("logs: %w", err)
	}
	path := "/hadron/v1/deployments/" + url.PathEscape(c.id) + "/log"
	if c.follow {
		path += "?follow=true"
	}
	resp, err := client.Get(ctx, path)
	if err != nil {
		return fmt.Errorf("logs: %w", err)
	}
	defer resp.Body.Close()
	out := c.out
	if out == nil {
		out = os.Stdout
	}
	if _, err := io.Copy(out, resp.Body); err != nil {
		if errors.Is(ctx.Err(), context.Canceled) {
			return nil // interrupted by the user
		}
		return fmt.Errorf("logs: %w", err)
	}
	if c.follow {
		status := resp.Trailer.Get(server.DeploymentStatusTrailer)
		if status == "" {
			return errors.New("logs: the server ended the log before the deployment ended (it is shutting down?)")
		}
		fmt.Fprintf(os.Stderr, "hadron: deployment %s ended %s\n", c.id, status)
	}
	return nil
}
