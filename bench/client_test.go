package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// targetPrefix is the X-Amz-Target prefix of the Proton API.
const targetPrefix = "AwsProton20200720."

// client calls the Proton API as AWS JSON 1.0 over plain HTTP, with one
// keep-alive connection pool of its own.
type client struct {
	endpoint string
	hc       *http.Client
}

func newClient(endpoint string) *client {
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConns:        4,
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     time.Minute,
		DisableCompression:  true,
	}
	return &client{endpoint: endpoint, hc: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
}

// apiError is an error answer of the API.
type apiError struct {
	Status  int
	Type    string `json:"__type"`
	Message string `json:"message"`
}

func (e *apiError) Error() string {
	return fmt.Sprintf("%s (HTTP %d): %s", e.Type, e.Status, e.Message)
}

// call sends op with the JSON of in and decodes the answer into out (when not nil).
func (c *client) call(ctx context.Context, op string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	raw, err := c.raw(ctx, op, body)
	if err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("%s: decode answer: %w", op, err)
	}
	return nil
}

// raw sends op with a body already encoded and returns the answer's body.
func (c *client) raw(ctx context.Context, op string, body []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint+"/", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("X-Amz-Target", targetPrefix+op)
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("%s: read answer: %w", op, err)
	}
	if resp.StatusCode != http.StatusOK {
		e := &apiError{Status: resp.StatusCode}
		if json.Unmarshal(data, e) != nil || e.Type == "" {
			return nil, fmt.Errorf("%s: HTTP %d: %s", op, resp.StatusCode, data)
		}
		return nil, fmt.Errorf("%s: %w", op, e)
	}
	return data, nil
}

// The few members of the answers the benchmarks read.

type environment struct {
	Name                      string `json:"name"`
	DeploymentStatus          string `json:"deploymentStatus"`
	DeploymentStatusMessage   string `json:"deploymentStatusMessage"`
	LastAttemptedDeploymentID string `json:"lastAttemptedDeploymentId"`
}

type environmentOutput struct {
	Environment environment `json:"environment"`
}

type deploymentOutput struct {
	Deployment struct {
		ID                      string `json:"id"`
		DeploymentStatus        string `json:"deploymentStatus"`
		DeploymentStatusMessage string `json:"deploymentStatusMessage"`
	} `json:"deployment"`
}

type listEnvironmentsOutput struct {
	Environments []environment `json:"environments"`
	NextToken    string        `json:"nextToken"`
}

type templateVersionOutput struct {
	EnvironmentTemplateVersion struct {
		MajorVersion  string `json:"majorVersion"`
		MinorVersion  string `json:"minorVersion"`
		Status        string `json:"status"`
		StatusMessage string `json:"statusMessage"`
	} `json:"environmentTemplateVersion"`
}

// decode reads an answer's JSON into v.
func decode(raw []byte, v any) error {
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("decode answer: %w", err)
	}
	return nil
}
