package awsjson

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

func setup(t *testing.T) *httptest.Server {
	t.Helper()
	s := &Server{
		TargetPrefix: "Svc",
		Known:        func(op string) bool { return op != "NotInModel" },
		MaxBodyBytes: 1024,
		MapError: func(err error) *Error {
			if errors.Is(err, errConflict) {
				return &Error{Type: "ConflictException", Status: 400, Message: err.Error()}
			}
			return nil
		},
	}
	s.Handle("Echo", func(ctx context.Context, body []byte) (any, error) {
		var v map[string]any
		if err := json.Unmarshal(body, &v); err != nil {
			return nil, &Error{Type: "SerializationException", Status: 400, Message: err.Error()}
		}
		return v, nil
	})
	s.Handle("Empty", func(ctx context.Context, body []byte) (any, error) { return nil, nil })
	s.Handle("Conflict", func(ctx context.Context, body []byte) (any, error) { return nil, errConflict })
	s.Handle("Broken", func(ctx context.Context, body []byte) (any, error) {
		return nil, errors.New("disk on fire at /secret/path")
	})
	s.Handle("Panic", func(ctx context.Context, body []byte) (any, error) { panic("boom") })
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return srv
}

var errConflict = errors.New("resource is busy")

func call(t *testing.T, srv *httptest.Server, method, target, body string) (*http.Response, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+"/", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if target != "" {
		req.Header.Set("X-Amz-Target", target)
	}
	req.Header.Set("Content-Type", ContentType)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("response body is not a JSON object: %q", raw)
	}
	return resp, out
}

func TestServerAnswersEveryCallWithTheProtocolsEnvelope(t *testing.T) {
	t.Parallel()
	srv := setup(t)
	tests := []struct {
		name, method, target, body string
		status                     int
		errType                    string
	}{
		{"success echoes output", "POST", "Svc.Echo", `{"a":"b"}`, 200, ""},
		{"empty output is an empty object", "POST", "Svc.Empty", ``, 200, ""},
		{"missing target", "POST", "", `{}`, 400, "UnknownOperationException"},
		{"other service's target", "POST", "Other.Echo", `{}`, 400, "UnknownOperationException"},
		{"operation not in the model", "POST", "Svc.NotInModel", `{}`, 400, "UnknownOperationException"},
		{"operation in the model but not implemented", "POST", "Svc.Later", `{}`, 400, "UnknownOperationException"},
		{"GET is not an operation", "GET", "Svc.Echo", ``, 404, "UnknownOperationException"},
		{"handler's serialization error", "POST", "Svc.Echo", `{not json`, 400, "SerializationException"},
		{"mapped domain error", "POST", "Svc.Conflict", `{}`, 400, "ConflictException"},
		{"unmapped error is internal", "POST", "Svc.Broken", `{}`, 500, "InternalServerException"},
		{"panic is internal, not a dropped connection", "POST", "Svc.Panic", `{}`, 500, "InternalServerException"},
		{"body over the limit", "POST", "Svc.Echo", `{"a":"` + strings.Repeat("x", 2000) + `"}`, 413, "ValidationException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			resp, out := call(t, srv, tt.method, tt.target, tt.body)
			if resp.StatusCode != tt.status {
				t.Errorf("status = %d, want %d (body %v)", resp.StatusCode, tt.status, out)
			}
			if id := resp.Header.Get("x-amzn-RequestId"); len(id) != 36 {
				t.Errorf("x-amzn-RequestId = %q, want a UUID", id)
			}
			if tt.errType == "" {
				if _, has := out["__type"]; has {
					t.Errorf("success carries __type: %v", out)
				}
				return
			}
			if out["__type"] != tt.errType || resp.Header.Get("x-amzn-ErrorType") != tt.errType {
				t.Errorf("__type = %v, header %q; want %s", out["__type"], resp.Header.Get("x-amzn-ErrorType"), tt.errType)
			}
			if msg, _ := out["message"].(string); msg == "" {
				t.Errorf("error has no message: %v", out)
			}
			if strings.Contains(out["message"].(string), "/secret/path") {
				t.Errorf("internal error leaks its details to the client: %v", out)
			}
		})
	}
}

// TestAuthenticationComesBeforeTheOperationLookup pins AWS's order: an
// unsigned call is refused as such whatever its target, so it cannot probe
// which operations exist; an authenticated one then learns the operation is
// unknown. Operations outside the model are authenticated with no operation
// to authorize.
func TestAuthenticationComesBeforeTheOperationLookup(t *testing.T) {
	t.Parallel()
	var seen []string
	var mu sync.Mutex
	s := &Server{
		TargetPrefix: "Svc",
		Known:        func(op string) bool { return op != "NotInModel" },
		Auth: func(r *http.Request, op string, body []byte) (context.Context, error) {
			mu.Lock()
			seen = append(seen, op)
			mu.Unlock()
			if r.Header.Get("Authorization") == "" {
				return nil, &Error{Type: "MissingAuthenticationTokenException", Status: 403, Message: "Request is missing Authentication Token"}
			}
			return nil, nil
		},
	}
	s.Handle("Echo", func(ctx context.Context, body []byte) (any, error) { return map[string]any{}, nil })
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	tests := []struct {
		name, target string
		signed       bool
		status       int
		errType      string
		authOp       string
	}{
		{"unsigned, implemented", "Svc.Echo", false, 403, "MissingAuthenticationTokenException", "Echo"},
		{"unsigned, in the model but not implemented", "Svc.Later", false, 403, "MissingAuthenticationTokenException", "Later"},
		{"unsigned, not in the model", "Svc.NotInModel", false, 403, "MissingAuthenticationTokenException", ""},
		{"unsigned, other service", "Other.Echo", false, 403, "MissingAuthenticationTokenException", ""},
		{"signed, in the model but not implemented", "Svc.Later", true, 400, "UnknownOperationException", "Later"},
		{"signed, not in the model", "Svc.NotInModel", true, 400, "UnknownOperationException", ""},
		{"signed, implemented", "Svc.Echo", true, 200, "", "Echo"},
	}
	for _, tt := range tests {
		mu.Lock()
		seen = nil
		mu.Unlock()
		req, _ := http.NewRequest("POST", srv.URL+"/", strings.NewReader(`{}`))
		req.Header.Set("X-Amz-Target", tt.target)
		if tt.signed {
			req.Header.Set("Authorization", "signed")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.status || resp.Header.Get("x-amzn-ErrorType") != tt.errType {
			t.Errorf("%s: HTTP %d %q, want HTTP %d %q", tt.name, resp.StatusCode, resp.Header.Get("x-amzn-ErrorType"), tt.status, tt.errType)
		}
		mu.Lock()
		if len(seen) != 1 || seen[0] != tt.authOp {
			t.Errorf("%s: the authenticator saw operations %q, want exactly [%q]", tt.name, seen, tt.authOp)
		}
		mu.Unlock()
	}
}

func TestRegisteringAnOperationTwicePanics(t *testing.T) {
	t.Parallel()
	defer func() {
		if recover() == nil {
			t.Fatal("second registration did not panic")
		}
	}()
	s := &Server{}
	h := func(context.Context, []byte) (any, error) { return nil, nil }
	s.Handle("A", h)
	s.Handle("A", h)
}
