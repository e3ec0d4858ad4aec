package main

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"text/tabwriter"

	"github.com/hadronhq/hadron/internal/secrets"
	"github.com/spf13/cobra"
)

// secretsCommand is `hadron secrets put|list|delete`: Hadron's own secret
// store, read by CodeBuild runs when the server has no AWS access. A
// running server reads the store at each run.
type secretsCommand struct {
	action    string
	dataDir   string
	name      string
	valueFile string
	json      bool
	in        io.Reader
	out       io.Writer
}

const secretsLong = `Hadron's own secret store, read by CodeBuild runs when the server has no AWS
access (no --aws-region or --aws-endpoint-url). CodeBuild manifests name secrets
in their env, as on AWS:

  env:
    secrets-manager:
      DB_PASSWORD: prod/db:password     # secret prod/db, JSON key password
    parameter-store:
      API_URL: /app/api-url             # parameter /app/api-url

NAME is the secret id (prod/db) or the parameter name (/app/api-url). Values are
encrypted with the access keys' master key (keys.master); one trailing newline
of the value is dropped. list shows names and dates, never values.`

// newSecretsCommand is `hadron secrets` and its actions.
func newSecretsCommand(s streams) *cobra.Command {
	c := &secretsCommand{in: s.in, out: s.out}
	cmd := &cobra.Command{
		Use:   "secrets",
		Short: "Put, list and delete the secrets CodeBuild runs read",
		Long:  secretsLong,
		Args:  noArgs,
		RunE:  func(cmd *cobra.Command, args []string) error { return usagef("secrets: give an action") },
	}
	cmd.PersistentFlags().StringVar(&c.dataDir, "data-dir", cmp.Or(os.Getenv("HADRON_DATA_DIR"), DefaultDataDir), "the server's data directory, or its --keys-dir (HADRON_DATA_DIR)")
	named := func(action string) func(*cobra.Command, []string) error {
		return func(cmd *cobra.Command, args []string) error {
			c.action = action
			if len(args) == 1 {
				c.name = args[0]
				if err := secrets.CheckName(c.name); err != nil {
					return &usageError{err}
				}
			}
			if err := requireDir(c.dataDir); err != nil {
				return err
			}
			return c.Run()
		}
	}
	put := &cobra.Command{
		Use:   "put NAME",
		Short: "Create or update a secret; the value comes from --value-file, else from standard input",
		Args:  exactArgs(1, "secret name"),
		RunE:  named("put"),
	}
	put.Flags().StringVar(&c.valueFile, "value-file", "", "read the value from this file (default: standard input)")
	list := &cobra.Command{
		Use:   "list",
		Short: "List the secrets' names and dates (never their values)",
		Args:  noArgs,
		RunE:  named("list"),
	}
	list.Flags().BoolVar(&c.json, "json", false, "print a JSON array")
	del := &cobra.Command{
		Use:   "delete NAME",
		Short: "Delete a secret",
		Args:  exactArgs(1, "secret name"),
		RunE:  named("delete"),
	}
	cmd.AddCommand(put, list, del)
	return cmd
}

// Run does the action.
func (c *secretsCommand) Run() error {
	st := &secrets.Store{Dir: c.dataDir}
	switch c.action {
	case "put":
		value, err := c.readValue()
		if err != nil {
			return err
		}
		created, err := st.Put(c.name, value)
		if err != nil {
			return err
		}
		verb := "updated"
		if created {
			verb = "created"
		}
		fmt.Fprintf(c.out, "secret %s %s\n", c.name, verb)
		return nil
	case "list":
		infos, err := st.List()
		if err != nil {
			return err
		}
		return c.list(infos)
	case "delete":
		return st.Delete(c.name)
	}
	return errors.New("secrets: no action")
}

// readValue reads the value from --value-file or stdin, without one
// trailing newline (what echo and most editors add).
func (c *secretsCommand) readValue() ([]byte, error) {
	var (
		value []byte
		err   error
	)
	if c.valueFile != "" {
		value, err = os.ReadFile(c.valueFile)
	} else {
		value, err = io.ReadAll(io.LimitReader(c.in, secrets.MaxValueBytes+2))
	}
	if err != nil {
		return nil, fmt.Errorf("secrets put: read the value: %w", err)
	}
	value = bytes.TrimSuffix(value, []byte("\n"))
	value = bytes.TrimSuffix(value, []byte("\r"))
	if len(value) == 0 {
		return nil, errors.New("secrets put: the value is empty")
	}
	return value, nil
}

func (c *secretsCommand) list(infos []secrets.Info) error {
	const layout = "2006-01-02T15:04:05Z"
	if c.json {
		type entry struct {
			Name    string `json:"name"`
			Created string `json:"created"`
			Updated string `json:"updated"`
		}
		out := []entry{}
		for _, i := range infos {
			out = append(out, entry{i.Name, i.Created.Format(layout), i.Updated.Format(layout)})
		}
		enc := json.NewEncoder(c.out)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	w := tabwriter.NewWriter(c.out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "NAME\tCREATED\tUPDATED")
	for _, i := range infos {
		fmt.Fprintf(w, "%s\t%s\t%s\n", i.Name, i.Created.Format(layout), i.Updated.Format(layout))
	}
	return w.Flush()
}
