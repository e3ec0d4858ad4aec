package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/hadronhq/hadron/internal/bundle"
	"github.com/hadronhq/hadron/internal/proton"
	"github.com/hadronhq/hadron/internal/provision"
	"github.com/hadronhq/hadron/internal/provision/cloudformation"
	"github.com/spf13/cobra"
)

// renderCommand is `hadron render`: the CloudFormation a deployment of a
// registered template version would run, printed without deploying.
type renderCommand struct {
	dataDir, databaseURL, region, accountID string
	version, specFile, kind                 string
	name, instance, environmentName         string
	envOutputs                              string
	pipeline                                bool
	out                                     io.Writer
}

// newRenderCommand is `hadron render`.
func newRenderCommand(s streams) *cobra.Command {
	c := &renderCommand{out: s.out}
	var e env
	cmd := &cobra.Command{
		Use:   "render --template-version NAME:MAJOR.MINOR --spec FILE",
		Short: "Print the CloudFormation a deployment of an AWS-managed template would run, without deploying",
		Args:  noArgs,
		PreRunE: func(cmd *cobra.Command, args []string) error {
			if err := e.check(); err != nil {
				return err
			}
			if c.kind != "environment" && c.kind != "service" {
				return usagef("render: --kind is environment or service, not %q", c.kind)
			}
			if _, _, _, err := parseVersion(c.version); err != nil {
				return &usageError{err}
			}
			if _, err := parseOutputs(c.envOutputs); err != nil {
				return &usageError{err}
			}
			if c.databaseURL != "" {
				return nil
			}
			return requireDir(c.dataDir)
		},
		RunE: func(cmd *cobra.Command, args []string) error { return c.Run(cmd.Context()) },
	}
	fs := cmd.Flags()
	fs.SortFlags = false
	fs.StringVar(&c.version, "template-version", "", "NAME:MAJOR.MINOR of a registered template version (required)")
	fs.StringVar(&c.specFile, "spec", "", "spec file: an environment spec, or a service spec for --kind service (required)")
	fs.StringVar(&c.kind, "kind", "environment", "environment or service")
	fs.StringVar(&c.name, "name", "preview", "the environment's or service's name")
	fs.StringVar(&c.instance, "instance", "", "service: the spec's instance to render (default the first)")
	fs.BoolVar(&c.pipeline, "pipeline", false, "service: render the pipeline instead of an instance")
	fs.StringVar(&c.environmentName, "environment-name", "", "service: the instances' environment (default the spec's)")
	fs.StringVar(&c.envOutputs, "environment-outputs", "", "service: the environment's outputs, KEY=VALUE,... (default: the outputs the environment has on this server, none if it has none)")
	fs.StringVar(&c.dataDir, "data-dir", e.str("HADRON_DATA_DIR", DefaultDataDir), "the server's data directory, whose registered bundles are read (HADRON_DATA_DIR)")
	fs.StringVar(&c.databaseURL, "database-url", e.str("HADRON_DATABASE_URL", ""), "the server's PostgreSQL database, if it uses one (HADRON_DATABASE_URL)")
	fs.StringVar(&c.region, "region", e.str("HADRON_REGION", DefaultRegion), "region in ARNs (HADRON_REGION)")
	fs.StringVar(&c.accountID, "account-id", e.str("HADRON_ACCOUNT_ID", DefaultAccountID), "account id in ARNs and environment.account_id (HADRON_ACCOUNT_ID)")
	cmd.MarkFlagRequired("template-version")
	cmd.MarkFlagRequired("spec")
	cmd.MarkFlagFilename("spec")
	return cmd
}

// parseVersion reads NAME:MAJOR.MINOR.
func parseVersion(s string) (name string, major, minor int, err error) {
	name, ver, ok := strings.Cut(s, ":")
	majS, minS, ok2 := strings.Cut(ver, ".")
	if !ok || !ok2 || name == "" {
		return "", 0, 0, fmt.Errorf("render: --template-version %q is not NAME:MAJOR.MINOR", s)
	}
	if major, err = strconv.Atoi(majS); err == nil {
		minor, err = strconv.Atoi(minS)
	}
	if err != nil {
		return "", 0, 0, fmt.Errorf("render: --template-version %q is not NAME:MAJOR.MINOR", s)
	}
	return name, major, minor, nil
}

func parseOutputs(s string) (map[string]string, error) {
	if s == "" {
		return nil, nil
	}
	m := map[string]string{}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("render: --environment-outputs: %q is not KEY=VALUE", kv)
		}
		m[k] = v
	}
	return m, nil
}

// Run reads the version's bundle from the server's store, builds the inputs
// document as a deployment would, and prints the rendered template.
func (c *renderCommand) Run(ctx context.Context) error {
	name, major, minor, err := parseVersion(c.version)
	if err != nil {
		return err
	}
	outputs, err := parseOutputs(c.envOutputs)
	if err != nil {
		return err
	}
	spec, err := os.ReadFile(c.specFile)
	if err != nil {
		return fmt.Errorf("render: %w", err)
	}
	st, _, err := openStore(ctx, c.dataDir, c.databaseURL, nil)
	if err != nil {
		return fmt.Errorf("render: %w", err)
	}
	defer st.Close()
	api := proton.New(proton.Config{Store: st, Region: c.region, AccountID: c.accountID, Engines: provision.NewRegistry()})
	p, err := api.Preview(ctx, proton.PreviewRequest{
		Service: c.kind == "service", Template: name, Major: major, Minor: minor, Spec: string(spec), Name: c.name,
		Instance: c.instance, Pipeline: c.pipeline, EnvironmentName: c.environmentName, EnvironmentOutputs: outputs,
	})
	if err != nil {
		return fmt.Errorf("render: %w", err)
	}
	if p.Engine != bundle.EngineCloudFormation {
		return fmt.Errorf("render: the template's manifest uses the %s engine; only AWS-managed (jinja CloudFormation) templates are rendered", p.Engine)
	}
	inputs, err := json.Marshal(p.Inputs)
	if err != nil {
		return fmt.Errorf("render: %w", err)
	}
	out, err := cloudformation.Render(ctx, p.File, p.Files, inputs)
	if err != nil {
		return fmt.Errorf("render: %w", err)
	}
	w := c.out
	if w == nil {
		w = os.Stdout
	}
	_, err = w.Write(out)
	return err
}
