// Package hadronclient calls Hadron's own API (the endpoints under
// /hadron/v1/ beside the Proton API) as the hadron command does: it finds
// the endpoint and the credentials as the AWS CLI does (the AWS SDK's shared
// config and credential chain: environment, profiles, SSO, ...) and signs
// each request with SigV4 for the service "proton", as Proton calls are.
package hadronclient

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/hadronhq/hadron/internal/sigv4"
)

// Defaults of Options.
const (
	// DefaultEndpoint is hadron serve's default address.
	DefaultEndpoint = "http://127.0.0.1:8787"
	// DefaultProfile is the profile hadron serve's first-start lines
	// configure; it is used when it exists and no other is named.
	DefaultProfile = "hadron"
	// DefaultRegion signs requests when no region is configured.
	DefaultRegion = "us-east-1"
	// Service is the SigV4 signing name.
	Service = "proton"
)

// Options says where Hadron is and who calls it. Empty fields are found as
// the AWS CLI finds them.
type Options struct {
	// EndpointURL (--endpoint-url); else AWS_ENDPOINT_URL_PROTON, else the
	// profile's or AWS_ENDPOINT_URL's endpoint_url, else DefaultEndpoint.
	EndpointURL string
	// Profile (--profile); else AWS_PROFILE or keys in the environment
	// (AWS_ACCESS_KEY_ID ...), in the SDK's order; else DefaultProfile if
	// the shared config has it; else the default profile.
	Profile string
	// Region (--region); else the profile's or the environment's; else
	// DefaultRegion.
	Region string
	// NoSign sends requests unsigned (for a server run with --auth none).
	NoSign bool
	// HTTP sends the requests; http.DefaultClient when nil.
	HTTP *http.Client
}

// Client calls one Hadron server.
type Client struct {
	Endpoint string
	Region   string
	// Credentials sign the requests; nil sends them unsigned.
	Credentials aws.CredentialsProvider
	HTTP        *http.Client
}

// New loads the AWS shared configuration as opts say and returns a client.
func New(ctx context.Context, opts Options) (*Client, error) {
	c := &Client{HTTP: cmp.Or(opts.HTTP, http.DefaultClient)}
	var loaders []func(*config.LoadOptions) error
	if opts.Region != "" {
		loaders = append(loaders, config.WithRegion(opts.Region))
	}
	var (
		cfg aws.Config
		err error
	)
	switch {
	case opts.Profile != "":
		// Named by the user: its credentials win over the environment's,
		// as with the AWS CLI's --profile.
		cfg, err = config.LoadDefaultConfig(ctx, append(loaders, config.WithSharedConfigProfile(opts.Profile))...)
	case os.Getenv("AWS_PROFILE") == "" && os.Getenv("AWS_ACCESS_KEY_ID") == "":
		// Nothing chosen: the hadron profile when it exists.
		cfg, err = config.LoadDefaultConfig(ctx, append(loaders, config.WithSharedConfigProfile(DefaultProfile))...)
		var missing config.SharedConfigProfileNotExistError
		if errors.As(err, &missing) {
			cfg, err = config.LoadDefaultConfig(ctx, loaders...)
		}
	default:
		// AWS_PROFILE or keys in the environment: the SDK's own order.
		cfg, err = config.LoadDefaultConfig(ctx, loaders...)
	}
	if err != nil {
		return nil, fmt.Errorf("load AWS configuration: %w", err)
	}
	c.Region = cmp.Or(cfg.Region, DefaultRegion)
	c.Endpoint = strings.TrimRight(cmp.Or(opts.EndpointURL, os.Getenv("AWS_ENDPOINT_URL_PROTON"), aws.ToString(cfg.BaseEndpoint), DefaultEndpoint), "/")
	if !opts.NoSign {
		c.Credentials = cfg.Credentials
	}
	return c, nil
}

// APIError is an error answer of the server, in Proton's envelope.
type APIError struct {
	Status  int
	Type    string `json:"__type"`
	Message string `json:"message"`
}

func (e *APIError) Error() string {
	return fmt.Sprintf("%s: %s", e.Type, e.Message)
}

// Get sends a signed GET of path (with its query, e.g.
// "/hadron/v1/deployments/ID/log?follow=true") and returns the answer of a
// 2xx; the caller closes its body. Any other answer is an *APIError.
func (c *Client) Get(ctx context.Context, path string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.Endpoint+path, nil)
	if err != nil {
		return nil, err
	}
	if c.Credentials != nil {
		creds, err := c.Credentials.Retrieve(ctx)
		if err != nil {
			return nil, fmt.Errorf("get AWS credentials (configure them as for the AWS CLI, e.g. the hadron profile hadron serve printed on its first start): %w", err)
		}
		sigv4.Sign(req, nil, creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken, c.Region, Service, time.Now())
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 == 2 {
		return resp, nil
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	e := &APIError{Status: resp.StatusCode}
	if json.Unmarshal(body, e) != nil || e.Type == "" {
		return nil, fmt.Errorf("GET %s: HTTP %d: %s", path, resp.StatusCode, strings.TrimSpace(string(body)))
	}
	return nil, e
}
