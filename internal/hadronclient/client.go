// Package hadronclient calls Hadron's own endpoints (under /hadron/v1/ on
// the server, beside the Proton API) as the hadron CLI's commands do:
// signed with SigV4 for service "proton", like the Proton API, with
// credentials found as the AWS CLI finds them.
package hadronclient

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/smithy-go/logging"
)

// Defaults of a Client.
const (
	// DefaultEndpoint is hadron serve's default --listen.
	DefaultEndpoint = "http://127.0.0.1:8787"
	// DefaultRegion signs when neither the options nor the profile name one.
	DefaultRegion = "us-east-1"
	// Profile is the AWS CLI profile hadron serve's first start configures;
	// it is used when it exists and nothing else is asked for.
	Profile = "hadron"
	// Service is the SigV4 signing name, the Proton API's.
	Service = "proton"
	// PathPrefix is where the server serves Hadron's own endpoints.
	PathPrefix = "/hadron/v1/"
)

// Options say which server to call and as whom. Empty fields are found as
// the AWS CLI finds them.
type Options struct {
	// EndpointURL is the server's URL (default HADRON_ENDPOINT_URL, else
	// DefaultEndpoint).
	EndpointURL string
	// Profile is the AWS profile of the credentials. Empty: with AWS_PROFILE
	// or AWS_ACCESS_KEY_ID set, the AWS default chain; else the profile
	// "hadron" when the shared config files have it; else the default chain.
	Profile string
	// Region scopes the signature (default the profile's, else DefaultRegion).
	Region string
	// NoSign sends calls unsigned, for a server started with --auth none.
	NoSign bool
	// Credentials, when set, are used instead of finding them (Profile is
	// then ignored).
	Credentials aws.CredentialsProvider
	// HTTP defaults to a client without an overall timeout (a log follows
	// for as long as it runs); give contexts deadlines instead.
	HTTP *http.Client
}

// Client calls one server.
type Client struct {
	endpoint string
	region   string
	creds    aws.CredentialsProvider
	signer   *v4.Signer
	http     *http.Client
	// Profile is the profile the credentials came from, "" for the default chain.
	Profile string
}

// New finds the credentials and returns a Client. It fails when no
// credentials are found (unless NoSign), saying where it looked.
func New(ctx context.Context, o Options) (*Client, error) {
	c := &Client{
		endpoint: strings.TrimRight(firstOf(o.EndpointURL, os.Getenv("HADRON_ENDPOINT_URL"), DefaultEndpoint), "/"),
		http:     o.HTTP,
		signer:   v4.NewSigner(),
	}
	if c.http == nil {
		c.http = &http.Client{}
	}
	if o.NoSign || o.Credentials != nil {
		c.creds = o.Credentials
		c.region = firstOf(o.Region, DefaultRegion)
		return c, nil
	}
	// Hadron's keys are never an instance's role: no IMDS (whose probes
	// take seconds off EC2), and no SDK log lines on the terminal.
	base := []func(*config.LoadOptions) error{
		config.WithEC2IMDSClientEnableState(imds.ClientDisabled),
		config.WithLogger(logging.Nop{}),
	}
	load := func(profile string) (aws.Config, error) {
		opts := base
		if profile != "" {
			opts = append(opts[:len(opts):len(opts)], config.WithSharedConfigProfile(profile))
		}
		return config.LoadDefaultConfig(ctx, opts...)
	}
	c.Profile = o.Profile
	var (
		cfg aws.Config
		err error
	)
	if c.Profile == "" && os.Getenv("AWS_PROFILE") == "" && os.Getenv("AWS_ACCESS_KEY_ID") == "" {
		// The profile hadron serve's first start configures, if it exists.
		cfg, err = load(Profile)
		var missing config.SharedConfigProfileNotExistError
		if errors.As(err, &missing) {
			cfg, err = load("")
		} else if err == nil {
			c.Profile = Profile
		}
	} else {
		cfg, err = load(c.Profile)
	}
	if err != nil {
		return nil, fmt.Errorf("load AWS credentials: %w", err)
	}
	if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
		return nil, fmt.Errorf("no credentials for %s (profile %q, AWS_PROFILE, AWS_ACCESS_KEY_ID, the shared config files): configure the profile hadron serve printed on its first start, or give --profile; for a server started with --auth none, give --no-sign-request: %w",
			c.endpoint, firstOf(c.Profile, "default"), err)
	}
	c.creds = cfg.Credentials
	c.region = firstOf(o.Region, cfg.Region, DefaultRegion)
	return c, nil
}

// Endpoint is the server's URL.
func (c *Client) Endpoint() string { return c.endpoint }

// Error is a call the server refused or failed: the AWS error code and
// message of its body (AWS JSON 1.0 error shape), and the HTTP status.
type Error struct {
	Status  int
	Code    string
	Message string
}

func (e *Error) Error() string {
	if e.Code == "" {
		return fmt.Sprintf("HTTP %d: %s", e.Status, e.Message)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Do sends a signed request for path (under PathPrefix, e.g. "status")
// with body, and returns the response when its status is 2xx; otherwise
// it returns an *Error. The caller closes the response's body.
func (c *Client) Do(ctx context.Context, method, path string, body []byte) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.endpoint+PathPrefix+strings.TrimPrefix(path, "/"), bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.creds != nil {
		creds, err := c.creds.Retrieve(ctx)
		if err != nil {
			return nil, fmt.Errorf("credentials: %w", err)
		}
		sum := sha256.Sum256(body)
		if err := c.signer.SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), Service, c.region, time.Now()); err != nil {
			return nil, fmt.Errorf("sign %s %s: %w", method, path, err)
		}
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, c.endpoint, err)
	}
	if resp.StatusCode/100 == 2 {
		return resp, nil
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	e := &Error{Status: resp.StatusCode}
	var wire struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}
	if json.Unmarshal(data, &wire) == nil && wire.Type != "" {
		e.Code, e.Message = wire.Type, wire.Message
	} else {
		e.Message = strings.TrimSpace(string(data))
		if resp.StatusCode == http.StatusNotFound {
			e.Message = fmt.Sprintf("%s %s is not served here: is %s a Hadron server of this version or newer? (%s)", method, PathPrefix+path, c.endpoint, e.Message)
		}
	}
	return nil, e
}

// GetJSON GETs path and decodes its JSON body into out.
func (c *Client) GetJSON(ctx context.Context, path string, out any) error {
	resp, err := c.Do(ctx, http.MethodGet, path, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("GET %s: decode the answer: %w", path, err)
	}
	return nil
}

// IsCode reports whether err is an *Error with the given code.
func IsCode(err error, code string) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}

func firstOf(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
