package runcreds

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/endpointcreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/hadronhq/hadron/internal/auth"
	"github.com/hadronhq/hadron/internal/awsaccess"
	"github.com/hadronhq/hadron/internal/mototest"
	"github.com/hadronhq/hadron/internal/provision"
)

func TestMain(m *testing.M) {
	code := m.Run()
	mototest.Stop()
	os.Exit(code)
}

var web = provision.Target{Kind: provision.KindEnvironment, Name: "web", ARN: "arn:aws:proton:us-east-1:000000000000:environment/web"}

// setup starts an endpoint with clock now and returns it with the sessions
// Hadron accepts.
func setup(t *testing.T, access *awsaccess.Access, now *time.Time) (*Server, *auth.Sessions) {
	t.Helper()
	sessions := auth.NewSessions()
	s, err := Listen(Config{Sessions: sessions, AWS: access, Now: func() time.Time { return *now }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, sessions
}

// env reads a grant's environment into a map.
func env(g *Grant) map[string]string {
	m := map[string]string{}
	for _, kv := range g.Env() {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m
}

// fetch asks the endpoint as an SDK does, with the Authorization header.
func fetch(t *testing.T, url, token string) (int, response) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r response
	json.NewDecoder(resp.Body).Decode(&r)
	return resp.StatusCode, r
}

func TestEndpointServesTheRunsMintedCredentialsOnlyWithItsToken(t *testing.T) {
	t.Parallel()
	now := time.Now()
	s, sessions := setup(t, nil, &now)
	g, err := s.Grant(context.Background(), Request{DeploymentID: "d-1", Target: web})
	if err != nil {
		t.Fatal(err)
	}
	other, err := s.Grant(context.Background(), Request{DeploymentID: "d-2", Target: web})
	if err != nil {
		t.Fatal(err)
	}
	defer other.End()
	e := env(g)
	url, token := e[EnvFullURI], e[EnvAuthToken]
	if !strings.HasPrefix(url, "http://127.0.0.1:") || len(token) < 32 {
		t.Fatalf("environment %v: want a loopback URL and a long token", e)
	}
	if g.Assumed() {
		t.Error("no AWS access, yet the grant says it assumed a role")
	}

	code, creds := fetch(t, url, token)
	if code != http.StatusOK || !strings.HasPrefix(creds.AccessKeyID, "ASIA") || creds.SecretAccessKey == "" || creds.Token == "" {
		t.Fatalf("fetch with the token: %d %+v", code, creds)
	}
	exp, err := time.Parse(time.RFC3339, creds.Expiration)
	if err != nil || exp.Before(now.Add(30*time.Minute)) {
		t.Errorf("Expiration %q (%v): want RFC 3339, well ahead", creds.Expiration, err)
	}
	for _, m := range []string{token, creds.SecretAccessKey, creds.Token} {
		if !strings.Contains(strings.Join(g.Mask(), "\n"), m) {
			t.Errorf("Mask does not hide %q", m)
		}
	}
	if sessions.Len() != 2 {
		t.Errorf("Hadron accepts %d sessions, want the two runs'", sessions.Len())
	}

	// One character changed: "x" unless the token starts with one (1 in 64).
	wrong := "x" + token[1:]
	if token[0] == 'x' {
		wrong = "y" + token[1:]
	}
	for name, tok := range map[string]string{"no token": "", "wrong token": wrong, "another run's token": env(other)[EnvAuthToken]} {
		if code, _ := fetch(t, url, tok); code != http.StatusForbidden {
			t.Errorf("%s: %d, want 403", name, code)
		}
	}

	// The SDK's own container provider reads the endpoint.
	p := endpointcreds.New(url, func(o *endpointcreds.Options) { o.AuthorizationToken = token })
	got, err := p.Retrieve(context.Background())
	if err != nil || got.AccessKeyID != creds.AccessKeyID || got.SessionToken != creds.Token {
		t.Errorf("aws-sdk-go-v2 endpointcreds: %+v, %v", got, err)
	}

	g.End()
	if code, _ := fetch(t, url, token); code != http.StatusForbidden {
		t.Errorf("after the run: %d, want 403", code)
	}
	if sessions.Len() != 1 {
		t.Errorf("after the run Hadron still accepts %d sessions, want only the other run's", sessions.Len())
	}
	g.End() // twice is fine
}

func TestAssumedRoleIsServedAndRefreshedBeforeExpiry(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	access, err := awsaccess.Load(ctx, awsaccess.Config{Region: "us-east-1", EndpointURL: mototest.URL(t),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDBASE", "base-secret", "")})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	s, sessions := setup(t, access, &now)
	const role = "arn:aws:iam::123456789012:role/runcreds-test"
	g, err := s.Grant(ctx, Request{DeploymentID: "0a1b2c3d-0000-4000-8000-000000000001", Target: web, RoleARN: role})
	if err != nil {
		t.Fatal(err)
	}
	defer g.End()
	if !g.Assumed() {
		t.Fatal("with AWS access and a role, the grant did not assume it")
	}
	e := env(g)
	code, first := fetch(t, e[EnvFullURI], e[EnvAuthToken])
	if code != http.StatusOK {
		t.Fatalf("fetch: %d", code)
	}
	// The credentials are the role's: STS says so.
	client := sts.NewFromConfig(access.Base(), func(o *sts.Options) {
		o.Credentials = credentials.NewStaticCredentialsProvider(first.AccessKeyID, first.SecretAccessKey, first.Token)
	})
	id, err := client.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatal(err)
	}
	if arn := aws.ToString(id.Arn); !strings.Contains(arn, "assumed-role/runcreds-test/hadron-0a1b2c3d-0000-4000-8000-000000000001") {
		t.Errorf("caller identity %s: want the assumed role with the deployment's session", arn)
	}
	// Near the expiry a new set is fetched; Hadron accepts both while the run lasts.
	exp, _ := time.Parse(time.RFC3339, first.Expiration)
	now = exp.Add(-refreshBefore + time.Minute)
	_, second := fetch(t, e[EnvFullURI], e[EnvAuthToken])
	if second.AccessKeyID == "" || second.AccessKeyID == first.AccessKeyID {
		t.Errorf("near the expiry the endpoint served %q again, want a fresh set", second.AccessKeyID)
	}
	if sessions.Len() != 2 {
		t.Errorf("Hadron accepts %d sets, want both of the run's", sessions.Len())
	}
	g.End()
	if sessions.Len() != 0 {
		t.Errorf("after the run Hadron accepts %d sets", sessions.Len())
	}
}

func TestGrantFailsNamingTheRoleSTSRefuses(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	access, err := awsaccess.Load(ctx, awsaccess.Config{Region: "us-east-1", EndpointURL: "http://127.0.0.1:1",
		Credentials: credentials.NewStaticCredentialsProvider("AKIDBASE", "base-secret", "")})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	s, _ := setup(t, access, &now)
	cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	_, err = s.Grant(cctx, Request{DeploymentID: "d", Target: web, RoleARN: "arn:aws:iam::123456789012:role/unreachable"})
	if err == nil || !strings.Contains(err.Error(), "role/unreachable") {
		t.Errorf("Grant with STS unreachable: %v, want an error naming the role", err)
	}
}

func TestScopeNamesOnlyTheResource(t *testing.T) {
	t.Parallel()
	inst := provision.Target{Kind: provision.KindServiceInstance, Name: "one", ServiceName: "api", ARN: "arn:aws:proton:us-east-1:000000000000:service/api/service-instance/one"}
	sc := Scope(inst, "d-1")
	want := map[string]map[string]string{
		"NotifyResourceDeploymentStatusChange": {"resourceArn": inst.ARN},
		"GetServiceInstance":                   {"serviceName": "api", "name": "one"},
		"ListServiceInstanceOutputs":           {"serviceName": "api", "serviceInstanceName": "one"},
		"GetDeployment":                        {"id": "d-1"},
	}
	for op, members := range want {
		for k, v := range members {
			if sc[op][k] != v {
				t.Errorf("scope of %s: %s = %q, want %q", op, k, sc[op][k], v)
			}
		}
	}
	for _, op := range []string{"GetEnvironment", "DeleteServiceInstance", "UpdateServiceInstance", "ListServiceInstances"} {
		if _, ok := sc[op]; ok {
			t.Errorf("scope allows %s", op)
		}
	}
}

// BenchmarkGrant is what the endpoint adds to a run's start (minted
// credentials): the grant, and its end when the run is over.
func BenchmarkGrant(b *testing.B) {
	s, err := Listen(Config{Sessions: auth.NewSessions()})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	for b.Loop() {
		g, err := s.Grant(ctx, Request{DeploymentID: "d", Target: web})
		if err != nil {
			b.Fatal(err)
		}
		g.Env()
		g.Mask()
		g.End()
	}
}

// BenchmarkFetch is one SDK fetch of a run's credentials over loopback.
func BenchmarkFetch(b *testing.B) {
	s, err := Listen(Config{Sessions: auth.NewSessions()})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	g, err := s.Grant(context.Background(), Request{DeploymentID: "d", Target: web})
	if err != nil {
		b.Fatal(err)
	}
	defer g.End()
	e := env(g)
	for b.Loop() {
		req, _ := http.NewRequest(http.MethodGet, e[EnvFullURI], nil)
		req.Header.Set("Authorization", e[EnvAuthToken])
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != http.StatusOK {
			b.Fatal(err)
		}
		resp.Body.Close()
	}
}
