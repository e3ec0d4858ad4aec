package main

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/hadronhq/hadron/internal/secrets"
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

const secretsUsage = `Usage:
  hadron secrets put    [--data-dir DIR] [--value-file FILE] NAME   (the value from FILE, else from stdin)
  hadron secrets list   [--data-dir DIR] [--json]
  hadron secrets delete [--data-dir DIR] NAME

CodeBuild manifests name secrets in their env, as on AWS:
  env:
    secrets-manager:
      DB_PASSWORD: prod/db:password     # secret prod/db, JSON key password
    parameter-store:
      API_URL: /app/api-url             # parameter /app/api-url
When the server has no AWS access (no --aws-region or --aws-endpoint-url),
they are read from this store: NAME is the secret id (prod/db) or the
parameter name (/app/api-url). Values are encrypted with the access keys'
master key (keys.master); one trailing newline of the value is dropped.
list shows names and dates, never values.
`

// ParseFlags reads the action, its flags and its argument.
func (c *secretsCommand) ParseFlags(args []string) error {
	c.in, c.out = os.Stdin, os.Stdout
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fmt.Fprint(os.Stderr, secretsUsage)
		return flag.ErrHelp
	}
	c.action, args = args[0], args[1:]
	switch c.action {
	case "put", "list", "delete":
	default:
		fmt.Fprint(os.Stderr, secretsUsage)
		return fmt.Errorf("secrets: unknown action %q", c.action)
	}
	fs := flag.NewFlagSet("hadron secrets "+c.action, flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprint(os.Stderr, secretsUsage) }
	fs.StringVar(&c.dataDir, "data-dir", cmp.Or(os.Getenv("HADRON_DATA_DIR"), DefaultDataDir), "the server's data directory, or its --keys-dir (HADRON_DATA_DIR)")
	switch c.action {
	case "put":
		fs.StringVar(&c.valueFile, "value-file", "", "read the value from this file (default: stdin)")
	case "list":
		fs.BoolVar(&c.json, "json", false, "print a JSON array")
	}
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if c.action == "list" {
		if len(positional) > 0 {
			return fmt.Errorf("secrets list: unexpected argument %q", positional[0])
		}
		return nil
	}
	if len(positional) != 1 {
		return fmt.Errorf("secrets %s: give exactly one secret name", c.action)
	}
	c.name = positional[0]
	return secrets.CheckName(c.name)
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
