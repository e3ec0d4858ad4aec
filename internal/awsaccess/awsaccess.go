// Package awsaccess is how Hadron reaches AWS for its own work: the base
// configuration (the server's default credential chain, a region, and an
// optional endpoint for moto or a private endpoint) and the credentials of a
// role assumed through STS for one deployment, as Proton assumed its
// service roles. The CloudFormation engine, the credentials a CodeBuild run
// is given and secrets read from Secrets Manager or Parameter Store all
// start here, so one set of flags (hadron serve --aws-region,
// --aws-endpoint-url) configures them all.
package awsaccess

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"regexp"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// Config says how Hadron reaches AWS.
type Config struct {
	// Region of Hadron's AWS calls; empty means the default chain's
	// (AWS_REGION, the shared config file).
	Region string
	// EndpointURL, when set, is used for every AWS service (moto, a private
	// endpoint); empty means AWS's own endpoints.
	EndpointURL string
	// Credentials, when set, replace the default credential chain as the
	// base credentials.
	Credentials aws.CredentialsProvider
}

// Enabled reports whether Hadron was given AWS access at all: a region or an
// endpoint. Without either, the engines that need AWS say so when they are
// used instead of failing at start-up.
func (c Config) Enabled() bool { return c.Region != "" || c.EndpointURL != "" }

// Access is a loaded base configuration and an STS client on it. It is safe
// for concurrent use.
type Access struct {
	base aws.Config
	sts  *sts.Client
}

// Load reads the base configuration: the default credential chain unless
// cfg.Credentials is set, the region, the endpoint.
func Load(ctx context.Context, cfg Config) (*Access, error) {
	var opts []func(*config.LoadOptions) error
	if cfg.Region != "" {
		opts = append(opts, config.WithRegion(cfg.Region))
	}
	if cfg.Credentials != nil {
		opts = append(opts, config.WithCredentialsProvider(cfg.Credentials))
	}
	base, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("load aws config: %w", err)
	}
	if base.Region == "" {
		return nil, errors.New("load aws config: no region: give hadron serve --aws-region or set AWS_REGION")
	}
	if cfg.EndpointURL != "" {
		base.BaseEndpoint = aws.String(cfg.EndpointURL)
	}
	return &Access{base: base, sts: sts.NewFromConfig(base)}, nil
}

// Base returns a copy of the base configuration (the server's own
// credentials).
func (a *Access) Base() aws.Config { return a.base.Copy() }

// Region is the region of the base configuration.
func (a *Access) Region() string { return a.base.Region }

// EndpointURL is the endpoint every service is reached at, "" for AWS's own.
func (a *Access) EndpointURL() string { return aws.ToString(a.base.BaseEndpoint) }

// AsRole returns a configuration whose credentials are those of roleARN,
// assumed through STS with a session named after the deployment (and
// refreshed before they expire). An empty roleARN gives the base
// configuration itself.
func (a *Access) AsRole(roleARN, deploymentID string) aws.Config {
	cfg := a.base.Copy()
	if roleARN != "" {
		cfg.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(a.sts, roleARN, func(o *stscreds.AssumeRoleOptions) {
			o.RoleSessionName = SessionName(deploymentID)
		}))
	}
	return cfg
}

var sessionUnsafe = regexp.MustCompile(`[^\w+=,.@-]`)

// SessionName is the STS role session name of a deployment: "hadron-" and
// the deployment id, in the characters and length (64) STS allows.
func SessionName(deploymentID string) string {
	s := "hadron-" + sessionUnsafe.ReplaceAllString(cmp.Or(deploymentID, "deployment"), "-")
	return s[:min(len(s), 64)]
}
