package main

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/hadronhq/hadron/internal/auth"
	"github.com/spf13/cobra"
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

// newKeysCommand is `hadron keys` and its actions; --data-dir is common to all.
func newKeysCommand(s streams) *cobra.Command {
	c := &keysCommand{out: s.out}
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "Create, list, disable, enable and delete the server's access keys",
		Long: `The access keys hadron serve --auth sigv4 verifies calls against, kept in the data
directory (or the server's --keys-dir). A running server picks up changes at once.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return usagef("keys: give an action") },
	}
	cmd.PersistentFlags().StringVar(&c.dataDir, "data-dir", cmp.Or(os.Getenv("HADRON_DATA_DIR"), DefaultDataDir), "the server's data directory, or its --keys-dir (HADRON_DATA_DIR)")
	run := func(action string) func(*cobra.Command, []string) error {
		return func(cmd *cobra.Command, args []string) error {
			c.action = action
			if len(args) == 1 {
				c.id = args[0]
			}
			return c.Run()
		}
	}
	create := &cobra.Command{
		Use:   "create",
		Short: "Create a key and print it once as {\"accessKeyId\": ..., \"secretAccessKey\": ...}",
		Long: `Create a key and print {"accessKeyId": ..., "secretAccessKey": ...}; the secret is
shown only then. Without --allow a key may call every action, without --resource
on every resource. Patterns take * (any run of characters) and ? (one character).
Actions are proton:<Operation> for the Proton API and hadron:<Action> for Hadron's
own endpoints (hadron:GetStatus, hadron:Backup). --account-id makes the key's calls
in another AWS account than the server's own (hadron serve --account-id): an
environment account, whose key may only request and manage its environment
account connections to the server's account (any other call is refused with
AccessDeniedException).`,
		Example: `  hadron keys create --allow 'proton:Get*' --allow 'proton:List*' --allow proton:CancelEnvironmentDeployment
  hadron keys create --resource 'dev-*'   # matched against every resource name the call carries:
                                          # name, environmentName, serviceName, serviceInstanceName,
                                          # componentName, templateName, repositoryName, resourceArn;
                                          # a call that names none, such as a List, needs --resource '*'`,
		Args: noArgs,
		PreRunE: func(cmd *cobra.Command, args []string) error {
			if err := (auth.Policy{Allow: c.allow, Resources: c.resources}).Validate(); err != nil {
				return &usageError{err}
			}
			return requireDir(c.dataDir)
		},
		RunE: run("create"),
	}
	create.Flags().StringArrayVar(&c.allow, "allow", nil, "action pattern the key may call, e.g. 'proton:Get*' (repeatable; default all)")
	create.Flags().StringArrayVar(&c.resources, "resource", nil, "resource-name pattern the key may act on, e.g. 'dev-*' (repeatable; default all)")
	create.Flags().StringVar(&c.description, "description", "", "what the key is for")
	create.Flags().StringVar(&c.accountID, "account-id", "", "12-digit AWS account the key's calls are made in (default: the server's --account-id)")
	list := &cobra.Command{
		Use:     "list",
		Short:   "List the keys: id, status, creation time, policy and description (never a secret)",
		Args:    noArgs,
		PreRunE: func(cmd *cobra.Command, args []string) error { return requireKeys(c.dataDir) },
		RunE:    run("list"),
	}
	list.Flags().BoolVar(&c.json, "json", false, "print a JSON array")
	cmd.AddCommand(create, list)
	for _, a := range []struct{ name, short string }{
		{"disable", "Disable a key: calls signed with it are refused until it is enabled"},
		{"enable", "Enable a disabled key"},
		{"delete", "Delete a key for good"},
	} {
		cmd.AddCommand(&cobra.Command{
			Use:               a.name + " ACCESS_KEY_ID",
			Short:             a.short,
			Args:              exactArgs(1, "access key id"),
			PreRunE:           func(cmd *cobra.Command, args []string) error { return requireKeys(c.dataDir) },
			RunE:              run(a.name),
			ValidArgsFunction: c.completeKeyIDs,
		})
	}
	return cmd
}

// completeKeyIDs completes an access key id from the data directory.
func (c *keysCommand) completeKeyIDs(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	keys, err := (&auth.Store{Dir: c.dataDir}).List()
	if err != nil {
		return nil, cobra.ShellCompDirectiveError
	}
	var ids []cobra.Completion
	for _, k := range keys {
		ids = append(ids, cobra.CompletionWithDesc(k.AccessKeyID, k.Description))
	}
	return ids, cobra.ShellCompDirectiveNoFileComp
}

// requireDir fails unless dir is an existing directory: a mistyped
// --data-dir is an error, not an empty answer.
func requireDir(dir string) error {
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("data directory %s does not exist: check --data-dir (or HADRON_DATA_DIR); hadron serve creates it on its first start", dir)
	case err != nil:
		return fmt.Errorf("data directory: %w", err)
	case !fi.IsDir():
		return fmt.Errorf("data directory %s is not a directory: check --data-dir", dir)
	}
	return nil
}

// requireKeys fails unless dir holds access keys.
func requireKeys(dir string) error {
	if err := requireDir(dir); err != nil {
		return err
	}
	ok, err := (&auth.Store{Dir: dir}).Exists()
	if err != nil {
		return fmt.Errorf("keys: %w", err)
	}
	if !ok {
		abs, _ := filepath.Abs(dir)
		return fmt.Errorf("%s has no access keys (no %s): check --data-dir, or give the server's --keys-dir if it has one; a server started with --auth none has none until hadron keys create makes one", abs, auth.KeysFile)
	}
	return nil
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
