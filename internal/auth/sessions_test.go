package auth

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hadronhq/hadron/internal/sigv4"
)

// TestSessionsAreScopedToTheirResourceAndEndWithRemove pins the credentials
// of a CodeBuild run: accepted with their session token, for the calls of
// their scope on their resource only, and refused once removed.
func TestSessionsAreScopedToTheirResourceAndEndWithRemove(t *testing.T) {
	t.Parallel()
	_, k := setup(t)
	sessions := NewSessions()
	const arn = "arn:aws:proton:us-east-1:000000000000:environment/web"
	sessions.Add("ASIARUN", Session{Secret: "run-secret", Token: "run-token", Scope: Scope{
		"NotifyResourceDeploymentStatusChange": {"resourceArn": arn},
		"GetEnvironment":                       {"name": "web"},
	}})
	now := time.Now()
	a := New(Config{Keys: k, Sessions: sessions, Now: func() time.Time { return now }})
	call := func(op, body, secret, token string) error {
		r, _ := http.NewRequest("POST", "http://127.0.0.1:8787/", strings.NewReader(body))
		r.Header.Set("X-Amz-Target", "AwsProton20200720."+op)
		sigv4.Sign(r, []byte(body), "ASIARUN", secret, token, "us-east-1", "proton", now)
		return a.Check(r, op, []byte(body))
	}
	notifyOwn := `{"resourceArn":"` + arn + `","status":"IN_PROGRESS"}`
	var denied *AccessDeniedError
	tests := []struct {
		name, op, body, secret, token string
		check                         func(error) bool
	}{
		{"notify_on_its_resource", "NotifyResourceDeploymentStatusChange", notifyOwn, "run-secret", "run-token", func(err error) bool { return err == nil }},
		{"read_of_its_resource", "GetEnvironment", `{"name":"web"}`, "run-secret", "run-token", func(err error) bool { return err == nil }},
		{"notify_on_another_resource", "NotifyResourceDeploymentStatusChange", `{"resourceArn":"arn:aws:proton:us-east-1:000000000000:environment/prod"}`, "run-secret", "run-token",
			func(err error) bool {
				return errors.As(err, &denied) && denied.Resource == "arn:aws:proton:us-east-1:000000000000:environment/prod"
			}},
		{"read_of_another_resource", "GetEnvironment", `{"name":"prod"}`, "run-secret", "run-token", func(err error) bool { return errors.As(err, &denied) && denied.Resource == "prod" }},
		{"operation_out_of_scope", "DeleteEnvironment", `{"name":"web"}`, "run-secret", "run-token", func(err error) bool { return errors.As(err, &denied) }},
		{"list_of_everything", "ListEnvironments", `{}`, "run-secret", "run-token", func(err error) bool { return errors.As(err, &denied) && denied.Resource == "*" }},
		{"missing_session_token", "GetEnvironment", `{"name":"web"}`, "run-secret", "", func(err error) bool { return isCode(err, sigv4.UnrecognizedClient) }},
		{"wrong_session_token", "GetEnvironment", `{"name":"web"}`, "run-secret", "other", func(err error) bool { return isCode(err, sigv4.UnrecognizedClient) }},
		{"wrong_secret", "GetEnvironment", `{"name":"web"}`, "other", "run-token", func(err error) bool { return isCode(err, sigv4.InvalidSignature) }},
	}
	for _, tc := range tests {
		if err := call(tc.op, tc.body, tc.secret, tc.token); !tc.check(err) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	sessions.Remove("ASIARUN")
	if err := call("NotifyResourceDeploymentStatusChange", notifyOwn, "run-secret", "run-token"); !isCode(err, sigv4.UnrecognizedClient) {
		t.Errorf("after the run: %v, want UnrecognizedClientException", err)
	}
}
