package hadrontest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/hadronhq/hadron/internal/api"
	"github.com/hadronhq/hadron/internal/sigv4"
)

// DefaultRegion is the region the client signs for unless told otherwise.
const DefaultRegion = "us-east-1"

// Client calls the Proton API of one server as AWS JSON 1.0.
type Client struct {
	Endpoint string // http://host:port
	// Key and Secret, when Key is set, sign every call with SigV4 for Region
	// (DefaultRegion when empty); without a key calls go unsigned.
	Key, Secret, Region string
	// HTTP sends the calls; http.DefaultClient when nil.
	HTTP *http.Client
	// Timeout bounds one call when ctx has no deadline; 30s when zero.
	Timeout time.Duration
}

// APIError is an error answer of the API.
type APIError struct {
	Status  int
	Type    string `json:"__type"`
	Message string `json:"message"`
}

func (e *APIError) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Type, e.Message) }

// Response is an answer of the API as it came.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Do posts op with a body already encoded and returns the answer, whatever
// its status; an error is a failure to get one.
func (c *Client) Do(ctx context.Context, op string, body []byte) (*Response, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, cmpDuration(c.Timeout, 30*time.Second))
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.Endpoint+"/", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	req.Header.Set("X-Amz-Target", api.TargetPrefix+"."+op)
	if c.Key != "" {
		region := c.Region
		if region == "" {
			region = DefaultRegion
		}
		sigv4.Sign(req, body, c.Key, c.Secret, "", region, "proton", time.Now())
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("%s: read answer: %w", op, err)
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: raw}, nil
}

// Raw posts op with a body already encoded and returns the body of a
// success. A non-2xx answer is an *APIError.
func (c *Client) Raw(ctx context.Context, op string, body []byte) ([]byte, error) {
	r, err := c.Do(ctx, op, body)
	if err != nil {
		return nil, err
	}
	if r.Status/100 != 2 {
		e := &APIError{Status: r.Status}
		if json.Unmarshal(r.Body, e) != nil || e.Type == "" {
			return nil, fmt.Errorf("%s: HTTP %d with body %q", op, r.Status, r.Body)
		}
		return nil, e
	}
	return r.Body, nil
}

// Call posts op with the JSON of in and decodes the answer into out (when
// not nil). A non-2xx answer is an *APIError.
func (c *Client) Call(ctx context.Context, op string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	raw, err := c.Raw(ctx, op, body)
	if err != nil || out == nil {
		return err
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("%s: decode %q: %w", op, raw, err)
	}
	return nil
}

func cmpDuration(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// WaitDeployment asks GetDeployment every `every` until deployment id has
// ended (its status is none of Active), and returns it with the time the
// answer that showed the end arrived. It fails when a call fails or timeout
// passes first.
func (c *Client) WaitDeployment(ctx context.Context, id string, every, timeout time.Duration) (*api.Deployment, time.Time, error) {
	body, err := json.Marshal(api.GetDeploymentInput{Id: id})
	if err != nil {
		return nil, time.Time{}, err
	}
	var (
		d  *api.Deployment
		at time.Time
	)
	err = Wait(ctx, every, timeout, "deployment "+id+" to end", func() (bool, string, error) {
		raw, err := c.Raw(ctx, "GetDeployment", body)
		if err != nil {
			return false, "", err
		}
		at = time.Now()
		var out api.GetDeploymentOutput
		if err := json.Unmarshal(raw, &out); err != nil || out.Deployment == nil {
			return false, "", fmt.Errorf("GetDeployment: decode %q: %v", raw, err)
		}
		d = out.Deployment
		return Ended(d.DeploymentStatus), d.DeploymentStatus + ": " + d.DeploymentStatusMessage, nil
	})
	if err != nil {
		return nil, time.Time{}, err
	}
	return d, at, nil
}
