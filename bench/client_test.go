package bench

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/hadronhq/hadron/internal/hadrontest"
)

// client calls the Proton API as AWS JSON 1.0 over plain HTTP.
type client = hadrontest.Client

// newClient returns a client with one keep-alive connection pool of its own.
func newClient(endpoint string) *client {
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConns:        4,
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     time.Minute,
		DisableCompression:  true,
	}
	return &client{Endpoint: endpoint, HTTP: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
}

// decode reads an answer's JSON into v.
func decode(raw []byte, v any) error {
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("decode answer: %w", err)
	}
	return nil
}
