package server_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hadronhq/hadron/internal/auth"
	"github.com/hadronhq/hadron/internal/server"
	"github.com/hadronhq/hadron/internal/sigv4"
)

// TestAuthErrorsOnTheWire pins how each refusal of the authenticator goes out:
// its __type, x-amzn-ErrorType and HTTP status, as AWS sends them.
func TestAuthErrorsOnTheWire(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	st := &auth.Store{Dir: dir}
	admin, _, err := st.CreateFirst("admin")
	if err != nil {
		t.Fatal(err)
	}
	reader, err := st.Create(auth.Policy{Allow: []string{"proton:Get*"}}, "")
	if err != nil {
		t.Fatal(err)
	}
	ring, err := auth.OpenKeyring(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(context.Background(), server.Config{
		DataDir: dir, BundleDir: dir, Region: "us-east-1", AccountID: "123456789012", Owner: "test", Store: openSQLite(t, dir),
		Engines: testEngines(0), Auth: auth.New(auth.Config{Keys: ring, Rate: 0.001, Burst: 3}),
	})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(func() {
		ts.Close()
		srv.Close()
	})
	send := func(op, body string, sign func(r *http.Request)) (int, string, string) {
		t.Helper()
		r, _ := http.NewRequest("POST", ts.URL+"/", strings.NewReader(body))
		r.Header.Set("X-Amz-Target", "AwsProton20200720."+op)
		r.Header.Set("Content-Type", "application/x-amz-json-1.0")
		if sign != nil {
			sign(r)
		}
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("x-amzn-ErrorType"), string(data)
	}
	with := func(key auth.NewKey, body string) func(*http.Request) {
		return func(r *http.Request) {
			sigv4.Sign(r, []byte(body), key.AccessKeyID, key.SecretAccessKey, "", "us-east-1", "proton", time.Now())
		}
	}
	const body = `{"environmentName":"web"}`
	cases := []struct {
		name       string
		op         string
		sign       func(*http.Request)
		status     int
		errType    string
		bodySubstr string
	}{
		{"unsigned", "GetEnvironment", nil, 403, "MissingAuthenticationTokenException", "Request is missing Authentication Token"},
		{"malformed", "GetEnvironment", func(r *http.Request) { r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=x") }, 400, "IncompleteSignatureException", "SignedHeaders"},
		{"unknown key", "GetEnvironment", with(auth.NewKey{AccessKeyID: "HKNOPE", SecretAccessKey: "x"}, body), 403, "UnrecognizedClientException", "security token"},
		{"wrong secret", "GetEnvironment", with(auth.NewKey{AccessKeyID: admin.AccessKeyID, SecretAccessKey: "x"}, body), 403, "InvalidSignatureException", "signature we calculated"},
		{"right key", "CancelEnvironmentDeployment", with(admin, body), 400, "ResourceNotFoundException", "web"},
		{"denied", "CancelEnvironmentDeployment", with(reader, body), 400, "AccessDeniedException",
			"is not authorized to perform: proton:CancelEnvironmentDeployment on resource: web"},
		// Authentication comes before the operation lookup, as on AWS.
		{"unsigned, not in the model", "NoSuchOperation", nil, 403, "MissingAuthenticationTokenException", "Request is missing Authentication Token"},
		{"wrong secret, not in the model", "NoSuchOperation", with(auth.NewKey{AccessKeyID: admin.AccessKeyID, SecretAccessKey: "x"}, body), 403, "InvalidSignatureException", "signature we calculated"},
		{"right key, not in the model", "NoSuchOperation", with(admin, body), 400, "UnknownOperationException", "NoSuchOperation"},
		{"reader's 2nd call", "GetEnvironment", with(reader, `{"name":"web"}`), 400, "ResourceNotFoundException", ""},
		{"reader's 3rd call", "GetEnvironment", with(reader, `{"name":"web"}`), 400, "ResourceNotFoundException", ""},
		{"reader's 4th call: over the burst of 3", "GetEnvironment", with(reader, `{"name":"web"}`), 400, "ThrottlingException", "Rate exceeded"},
	}
	for _, c := range cases {
		b := body
		if strings.HasPrefix(c.name, "reader's") {
			b = `{"name":"web"}`
		}
		status, typ, data := send(c.op, b, c.sign)
		if status != c.status || typ != c.errType || !strings.Contains(data, c.bodySubstr) || !strings.Contains(data, `"__type":"`+c.errType+`"`) {
			t.Errorf("%s: HTTP %d %s %s; want HTTP %d %s saying %q", c.name, status, typ, data, c.status, c.errType, c.bodySubstr)
		}
	}
}
