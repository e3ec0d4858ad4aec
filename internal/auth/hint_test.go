package auth

import (
	"bytes"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hadronhq/hadron/internal/sigv4"
)

func TestRefusalsCarryAHintAndAreLoggedAtInfo(t *testing.T) {
	t.Parallel()
	st, k := setup(t)
	key, err := st.Create(Policy{Allow: []string{"proton:Get*"}}, "")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().Truncate(time.Second) // X-Amz-Date has whole seconds
	var logs bytes.Buffer
	a := New(Config{Keys: k, Regions: []string{"us-east-1"}, Now: func() time.Time { return now },
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))})
	type req struct {
		id, secret, region, service string
		signedAt                    time.Time
		unsigned                    bool
	}
	good := req{id: key.AccessKeyID, secret: key.SecretAccessKey, region: "us-east-1", service: "proton", signedAt: now}
	with := func(change func(*req)) req { r := good; change(&r); return r }
	tests := []struct {
		name string
		req  req
		code sigv4.Code
		// hint is a substring of the hint.
		hint string
	}{
		{"unsigned", with(func(r *req) { r.unsigned = true }), sigv4.MissingAuthenticationToken, "--no-sign-request works only with a server started with --auth none"},
		{"unknown key names the server", with(func(r *req) { r.id = "HKUNKNOWN" }), sigv4.UnrecognizedClient, "access key HKUNKNOWN is not an enabled key of the server at 127.0.0.1:8787"},
		{"wrong secret: endpoint", with(func(r *req) { r.secret = "wrong" }), sigv4.InvalidSignature, "--endpoint-url"},
		{"clock behind", with(func(r *req) { r.signedAt = now.Add(-20 * time.Minute) }), sigv4.InvalidSignature, "the client's clock is 20m0s behind"},
		{"clock ahead", with(func(r *req) { r.signedAt = now.Add(time.Hour) }), sigv4.InvalidSignature, "the client's clock is 1h0m0s ahead"},
		{"region", with(func(r *req) { r.region = "eu-west-1" }), sigv4.InvalidSignature, "scoped to us-east-1 only"},
		{"service", with(func(r *req) { r.service = "s3" }), sigv4.InvalidSignature, `signed for service "s3"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := `{"name":"web"}`
			r, _ := http.NewRequest("POST", "http://127.0.0.1:8787/", strings.NewReader(body))
			r.Header.Set("X-Amz-Target", "AwsProton20200720.GetEnvironment")
			if !tt.req.unsigned {
				sigv4.Sign(r, []byte(body), tt.req.id, tt.req.secret, "", tt.req.region, tt.req.service, tt.req.signedAt)
			}
			err := a.Check(r, "GetEnvironment", []byte(body))
			var h *HintError
			if !errors.As(err, &h) || h.Err.Code != tt.code || !strings.Contains(h.Hint, tt.hint) {
				t.Fatalf("Check = %v, want %s with a hint saying %q", err, tt.code, tt.hint)
			}
			if strings.Contains(h.Hint, key.SecretAccessKey) {
				t.Errorf("the hint holds the secret: %s", h.Hint)
			}
		})
	}
	// Every refusal above is one INFO line with the key id and the operation.
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != len(tests) {
		t.Fatalf("%d log lines for %d refusals:\n%s", len(lines), len(tests), logs.String())
	}
	for _, want := range []string{"level=INFO", "operation=GetEnvironment", "access_key_id=HKUNKNOWN", "code=UnrecognizedClientException", "access_key_id=" + key.AccessKeyID} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("the log does not say %s:\n%s", want, logs.String())
		}
	}
	if strings.Contains(logs.String(), key.SecretAccessKey) {
		t.Error("the log holds the secret")
	}

	// A denied call is logged with its action and resource.
	logs.Reset()
	body := `{"environmentName":"web"}`
	r, _ := http.NewRequest("POST", "http://127.0.0.1:8787/", strings.NewReader(body))
	sigv4.Sign(r, []byte(body), key.AccessKeyID, key.SecretAccessKey, "", "us-east-1", "proton", now)
	if err := a.Check(r, "CancelEnvironmentDeployment", []byte(body)); err == nil {
		t.Fatal("a call outside the policy was allowed")
	}
	if got := logs.String(); !strings.Contains(got, "level=INFO") || !strings.Contains(got, "action=proton:CancelEnvironmentDeployment") || !strings.Contains(got, "resource=web") {
		t.Errorf("denied call logged as %q", got)
	}
}

func TestHadronActionsAreAuthorizedByTheirOwnName(t *testing.T) {
	t.Parallel()
	st, k := setup(t)
	proton, _ := st.Create(Policy{Allow: []string{"proton:*"}}, "")
	status, _ := st.Create(Policy{Allow: []string{"hadron:GetStatus"}}, "")
	admin, _ := st.Create(Policy{}, "")
	sessions := NewSessions()
	sessions.Add("ASIARUN", Session{Secret: "run-secret", Token: "tok", Scope: Scope{"GetEnvironment": {}}})
	a := New(Config{Keys: k, Sessions: sessions})
	call := func(id, secret, token, action string) error {
		r, _ := http.NewRequest("GET", "http://127.0.0.1:8787/hadron/v1/status", nil)
		sigv4.Sign(r, nil, id, secret, token, "us-east-1", "proton", time.Now())
		return a.Check(r, action, nil)
	}
	var denied *AccessDeniedError
	for _, tt := range []struct {
		name              string
		id, secret, token string
		allowed           bool
	}{
		{"a key for Proton only", proton.AccessKeyID, proton.SecretAccessKey, "", false},
		{"a key allowed hadron:GetStatus", status.AccessKeyID, status.SecretAccessKey, "", true},
		{"an administrator key", admin.AccessKeyID, admin.SecretAccessKey, "", true},
		{"a run's session", "ASIARUN", "run-secret", "tok", false},
	} {
		err := call(tt.id, tt.secret, tt.token, "hadron:GetStatus")
		if tt.allowed && err != nil || !tt.allowed && (!errors.As(err, &denied) || denied.Action != "hadron:GetStatus") {
			t.Errorf("%s: hadron:GetStatus = %v, allowed %v", tt.name, err, tt.allowed)
		}
	}
}
