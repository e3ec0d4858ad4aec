package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"

	"github.com/spf13/cobra"

	"github.com/hadronhq/hadron/internal/server"
)

// newLogsCommand is `hadron logs DEPLOYMENT_ID [--follow]`: a deployment's
// log, read through the server's API (signed as the AWS CLI signs).
func newLogsCommand(s streams) *cobra.Command {
	var (
		flags  clientFlags
		follow bool
	)
	cmd := &cobra.Command{
		Use:   "logs DEPLOYMENT_ID",
		Short: "Print a deployment's log; with --follow, as it is written until the deployment ends",
		Long: `Print a deployment's log (the output of its provisioning commands) through the
server's API; with --follow, print it as it is written until the deployment ends,
then say how it ended (on standard error). The call is signed like a Proton call
(action hadron:GetDeploymentLog on the deployment's resource in key policies).`,
		Args: exactArgs(1, "deployment id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runLogs(cmd.Context(), s, flags, args[0], follow)
		},
	}
	flags.register(cmd)
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "print the log as it is written until the deployment ends")
	return cmd
}

func runLogs(ctx context.Context, s streams, flags clientFlags, id string, follow bool) error {
	c, err := flags.client(ctx)
	if err != nil {
		return err
	}
	path := "deployments/" + url.PathEscape(id) + "/log"
	if follow {
		path += "?follow=true"
	}
	resp, err := c.Do(ctx, "GET", path, nil)
	if err != nil {
		return fmt.Errorf("log of deployment %s: %w", id, err)
	}
	defer resp.Body.Close()
	if _, err := io.Copy(s.out, resp.Body); err != nil {
		if errors.Is(ctx.Err(), context.Canceled) {
			return nil // interrupted by the user
		}
		return fmt.Errorf("log of deployment %s: %w", id, err)
	}
	if follow {
		status := resp.Trailer.Get(server.DeploymentStatusTrailer)
		if status == "" {
			return fmt.Errorf("log of deployment %s: the server ended it before the deployment ended (it is shutting down?)", id)
		}
		fmt.Fprintf(s.err, "hadron: deployment %s ended %s\n", id, status)
	}
	return nil
}
