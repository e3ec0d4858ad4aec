package main

import (
	"cmp"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/hadronhq/hadron/internal/auth"
)

// keysCommand is `hadron keys create|list|disable|enable|delete`: the access
// keys of a data directory. A running server picks up changes without a restart.
type keysCommand struct {
	action      string
	dataDir     string
	id          string
	allow       []string
	resources   []string
	description string
	accountID   string
	json        bool
	out         io.Writer
}

const keysUsage = `Usage:
  hadron keys create  [--data-dir DIR] [--allow PATTERN]... [--resource PATTERN]... [--description TEXT] [--account-id ID]
  hadron keys list    [--data-dir DIR] [--json]
  hadron keys disable [--data-dir DIR] ACCESS_KEY_ID
  hadron keys enable  [--data-dir DIR] ACCESS_KEY_ID
  hadron keys delete  [--data-dir DIR] ACCESS_KEY_ID

create prints {"accessKeyId": ..., "secretAccessKey": ...}; the secret is shown
only then. --account-id makes the key's calls in another AWS account than the
server's own (hadron serve --account-id): an environment account, whose key
requests environment account connections of the management account. Without --allow a key may call every action, without --resource on
every resource. Patterns take * (any run of characters) and ? (one character):
  --allow 'proton:Get*' --allow 'proton:List*' --allow proton:CancelEnvironmentDeployment
  --resource 'dev-*'   (matched against every resource name the call carries:
                        name, environmentName, serviceName, serviceInstanceName,
                        componentName, templateName, repositoryName, resourceArn;
                        a call that names none, such as a List, needs --resource '*')
`

// ParseFlags reads the action, its flags and its argument; flags may come
// before or after the access key id.
func (c *keysCommand) ParseFlags(args []string) error {
	c.out = os.Stdout
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fmt.Fprint(os.Stderr, keysUsage)
		return flag.ErrHelp
	}
	c.action, args = args[0], args[1:]
	switch c.action {
	case "create", "list", "disable", "enable", "delete":
	default:
		fmt.Fprint(os.Stderr, keysUsage)
		return fmt.Errorf("keys: unknown action %q", c.action)
	}
	fs := flag.NewFlagSet("hadron keys "+c.action, flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprint(os.Stderr, keysUsage) }
	fs.StringVar(&c.dataDir, "data-dir", cmp.Or(os.Getenv("HADRON_DATA_DIR"), DefaultDataDir), "the server's data directory, or its --keys-dir (HADRON_DATA_DIR)")
	if c.action == "create" {
		fs.Func("allow", "action pattern the key may call, e.g. 'proton:Get*' (repeatable; default all)", func(s string) error {
			c.allow = append(c.allow, s)
			return nil
		})
		fs.Func("resource", "resource-name pattern the key may act on, e.g. 'dev-*' (repeatable; default all)", func(s string) error {
			c.resources = append(c.resources, s)
			return nil
		})
		fs.StringVar(&c.description, "description", "", "what the key is for")
		fs.StringVar(&c.accountID, "account-id", "", "12-digit AWS account the key's calls are made in (default: the server's --account-id)")
	}
	if c.action == "list" {
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
	switch c.action {
	case "create", "list":
		if len(positional) > 0 {
			return fmt.Errorf("keys %s: unexpected argument %q", c.action, positional[0])
		}
	default:
		if len(positional) != 1 {
			return fmt.Errorf("keys %s: give exactly one access key id", c.action)
		}
		c.id = positional[0]
	}
	return (auth.Policy{Allow: c.allow, Resources: c.resources}).Validate()
}

// Run does the action.
func (c *keysCommand) Run() error {
	st := &auth.Store{Dir: c.dataDir}
	switch c.action {
	case "create":
		nk, err := st.CreateInAccount(auth.Policy{Allow: c.allow, Resources: c.resources}, c.description, c.accountID)
		if err != nil {
			return err
		}
		data, _ := json.Marshal(nk)
		fmt.Fprintln(c.out, string(data))
		return nil
	case "list":
		keys, err := st.List()
		if err != nil {
			return err
		}
		return c.list(keys)
	case "disable", "enable":
		return st.SetDisabled(c.id, c.action == "disable")
	case "delete":
		return st.Delete(c.id)
	}
	return errors.New("keys: no action")
}

func (c *keysCommand) list(keys []auth.Key) error {
	if c.json {
		type entry struct {
			AccessKeyID string      `json:"accessKeyId"`
			Status      string      `json:"status"`
			Created     string      `json:"created"`
			Description string      `json:"description,omitempty"`
			AccountID   string      `json:"accountId,omitempty"`
			Policy      auth.Policy `json:"policy"`
		}
		out := []entry{}
		for _, k := range keys {
			out = append(out, entry{k.AccessKeyID, status(k), k.Created.Format("2006-01-02T15:04:05Z"), k.Description, k.AccountID, k.Policy})
		}
		enc := json.NewEncoder(c.out)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	w := tabwriter.NewWriter(c.out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "ACCESS KEY ID\tSTATUS\tCREATED\tALLOW\tRESOURCES\tDESCRIPTION")
	for _, k := range keys {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", k.AccessKeyID, status(k), k.Created.Format("2006-01-02T15:04:05Z"),
			orAll(k.Policy.Allow), orAll(k.Policy.Resources), k.Description)
	}
	return w.Flush()
}

func status(k auth.Key) string {
	if k.Disabled {
		return "disabled"
	}
	return "enabled"
}

func orAll(patterns []string) string {
	if len(patterns) == 0 {
		return "*"
	}
	return strings.Join(patterns, ",")
}
