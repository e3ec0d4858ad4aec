package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hadronhq/hadron/internal/hadronclient"
	"github.com/hadronhq/hadron/internal/server"
	"github.com/spf13/cobra"
)

// clientFlags are the flags of the commands that call a running server
// (status, backup), as the AWS CLI names them.
type clientFlags struct {
	opts hadronclient.Options
}

func (f *clientFlags) register(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVar(&f.opts.EndpointURL, "endpoint-url", os.Getenv("HADRON_ENDPOINT_URL"), "the server's URL (HADRON_ENDPOINT_URL; default "+hadronclient.DefaultEndpoint+")")
	fs.StringVar(&f.opts.Profile, "profile", "", "AWS profile of the credentials (default: as the AWS CLI finds them, except that the profile "+hadronclient.Profile+" hadron serve's first start configures is used when it exists and neither AWS_PROFILE nor AWS_ACCESS_KEY_ID is set)")
	fs.StringVar(&f.opts.Region, "region", "", "region the call is signed for (default the profile's, else "+hadronclient.DefaultRegion+")")
	fs.BoolVar(&f.opts.NoSign, "no-sign-request", false, "do not sign: for a server started with --auth none")
}

func (f *clientFlags) client(ctx context.Context) (*hadronclient.Client, error) {
	return hadronclient.New(ctx, f.opts)
}

// statusTimeout bounds hadron status's call.
const statusTimeout = 10 * time.Second

// newStatusCommand is `hadron status`.
func newStatusCommand(s streams) *cobra.Command {
	var (
		flags  clientFlags
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Ask a running server how it is: up, version, database, workers, deployments running, run protections",
		Long: `Ask a running server how it is: whether it is up, its version, its database (kind,
reachable), its workers and the deployments it runs now, and which protections
confine provisioning runs. The call is signed like a Proton call (action
hadron:GetStatus in key policies).

Exits 0 when the server is up and its database answers, 1 otherwise.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), statusTimeout)
			defer cancel()
			c, err := flags.client(ctx)
			if err != nil {
				return err
			}
			var st server.Status
			if err := c.GetJSON(ctx, "status", &st); err != nil {
				var apiErr *hadronclient.Error
				if errors.As(err, &apiErr) {
					// It answered: up, but refused or failed the call.
					return fmt.Errorf("status of %s: %w", c.Endpoint(), err)
				}
				fmt.Fprintf(s.out, "server:    %s DOWN\n", c.Endpoint())
				return fmt.Errorf("the server does not answer: %w", err)
			}
			if asJSON {
				enc := json.NewEncoder(s.out)
				enc.SetIndent("", "  ")
				if err := enc.Encode(st); err != nil {
					return err
				}
			} else {
				printStatus(s, c.Endpoint(), st)
			}
			if !st.Database.Reachable {
				return fmt.Errorf("the server is up but its database does not answer: %s", st.Database.Error)
			}
			return nil
		},
	}
	flags.register(cmd)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the status as JSON")
	return cmd
}

func printStatus(s streams, endpoint string, st server.Status) {
	w := tabwriter.NewWriter(s.out, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "server:\t%s up since %s (%s)\n", endpoint, st.StartedAt.Format(time.RFC3339), time.Since(st.StartedAt).Round(time.Second))
	fmt.Fprintf(w, "version:\t%s\n", st.Build.String())
	fmt.Fprintf(w, "node:\t%s\n", st.Node)
	db := "reachable"
	if !st.Database.Reachable {
		db = "UNREACHABLE: " + st.Database.Error
	}
	fmt.Fprintf(w, "database:\t%s %s (%s)\n", st.Database.Kind, st.Database.Location, db)
	running := "none"
	if len(st.Running) > 0 {
		running = strings.Join(st.Running, ", ")
	}
	fmt.Fprintf(w, "workers:\t%d (running %d: %s)\n", st.Workers, len(st.Running), running)
	fmt.Fprintf(w, "auth:\t%s\n", st.Auth)
	if st.Isolation == nil {
		fmt.Fprintf(w, "isolation:\toff: provisioning commands run with the server's own reach\n")
	} else {
		fmt.Fprintf(w, "isolation:\t%s\n", cmp.Or(st.Isolation.Mode, "unknown"))
		w.Flush()
		w = tabwriter.NewWriter(s.out, 0, 0, 2, ' ', 0)
		for _, p := range st.Isolation.Protections {
			on := "on"
			if !p.On {
				on = "OFF"
			}
			fmt.Fprintf(w, "  %s\t%s\t%s\n", p.Name, on, p.Detail)
		}
	}
	w.Flush()
}
