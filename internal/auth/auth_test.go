package auth

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hadronhq/hadron/internal/sigv4"
)

func TestMatch(t *testing.T) {
	t.Parallel()
	cases := []struct {
		pattern, s string
		want       bool
	}{
		{"*", "", true},
		{"*", "anything", true},
		{"proton:get*", "proton:getenvironment", true},
		{"proton:get*", "proton:cancelenvironmentdeployment", false},
		{"proton:*deployment", "proton:cancelenvironmentdeployment", true},
		{"proton:*deployment", "proton:getdeployments", false},
		{"dev-*", "dev-web", true},
		{"dev-*", "dev-", true},
		{"dev-*", "prod-web", false},
		{"dev-*", "*", false},
		{"web-?", "web-1", true},
		{"web-?", "web-12", false},
		{"a*b*c", "abbbc", true},
		{"a*b*c", "acb", false},
		{"exact", "exact", true},
		{"exact", "exactly", false},
		{"**", "x", true},
		{"", "", true},
		{"", "x", false},
	}
	for _, c := range cases {
		if got := Match(c.pattern, c.s); got != c.want {
			t.Errorf("Match(%q, %q) = %v, want %v", c.pattern, c.s, got, c.want)
		}
	}
}

func TestResourceNames(t *testing.T) {
	t.Parallel()
	cases := []struct {
		body string
		want []string
	}{
		{`{"environmentName":"web"}`, []string{"web"}},
		{`{"name":"one","serviceName":"api"}`, []string{"one", "api"}},
		{`{"name":"web","templateName":"network","templateMajorVersion":"1","spec":"x"}`, []string{"web", "network"}},
		{`{}`, []string{"*"}},
		{`{"maxResults":10}`, []string{"*"}},
		{`{"id":"2f9d0d3e-0000-4000-8000-000000000000"}`, []string{"*"}},
		{`{"serviceInstanceName":"","serviceName":"api"}`, []string{"api"}},
		{`{"name":7}`, []string{"*"}},
		{`not json`, []string{"*"}},
		{`{"resourceArn":"arn:aws:proton:us-east-1:000000000000:environment/web"}`, []string{"web"}},
		{`{"resourceArn":"arn:aws:proton:us-east-1:000000000000:service/api/service-instance/one"}`, []string{"api", "one"}},
		{`{"resourceArn":"arn:aws:proton:us-east-1:000000000000:environment-template/net:1.0"}`, []string{"net"}},
		{`{"resourceArn":"arn:aws:proton:us-east-1:000000000000:service/api/pipeline"}`, []string{"api"}},
	}
	for _, c := range cases {
		if got := ResourceNames([]byte(c.body)); !slices.Equal(got, c.want) {
			t.Errorf("ResourceNames(%s) = %q, want %q", c.body, got, c.want)
		}
	}
}

// TestResourceMembersCoverTheModel keeps ResourceMembers in step with the
// API model: every string member of an operation's input whose shape names
// a Proton resource is in the list.
func TestResourceMembersCoverTheModel(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile(filepath.Join("..", "api", "model.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Operations map[string]struct{ Input string }
		Shapes     map[string]struct {
			Type    string
			Members []struct{ Name, Shape string }
		}
	}
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	nameShapes := []string{"ResourceName", "ResourceNameOrEmpty", "RepositoryName"}
	for op, o := range m.Operations {
		for _, mem := range m.Shapes[o.Input].Members {
			if slices.Contains(nameShapes, mem.Shape) && !slices.Contains(ResourceMembers, mem.Name) {
				t.Errorf("%s: member %s (shape %s) names a resource but is not in ResourceMembers", op, mem.Name, mem.Shape)
			}
		}
	}
}

func TestBucket(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	b := NewBucket(2, 3, t0) // 2 a second, 3 at once
	for i := range 3 {
		if ok, _ := b.Take(t0); !ok {
			t.Fatalf("take %d of a full bucket of 3 refused", i+1)
		}
	}
	ok, wait := b.Take(t0)
	if ok || wait != 500*time.Millisecond {
		t.Fatalf("4th take at once: %v, wait %v; want refused, 500ms", ok, wait)
	}
	if ok, _ := b.Take(t0.Add(499 * time.Millisecond)); ok {
		t.Fatal("a token came before its time")
	}
	if ok, _ := b.Take(t0.Add(500 * time.Millisecond)); !ok {
		t.Fatal("no token after 500ms at 2/s")
	}
	// An idle hour refills to the burst, not beyond.
	later := t0.Add(time.Hour)
	n := 0
	for {
		if ok, _ := b.Take(later); !ok {
			break
		}
		n++
	}
	if n != 3 {
		t.Fatalf("after an idle hour %d takes succeeded, want the burst of 3", n)
	}
}

// setup returns a key store in a temporary directory and a Keyring on it.
func setup(t *testing.T) (*Store, *Keyring) {
	t.Helper()
	st := &Store{Dir: t.TempDir()}
	if _, created, err := st.CreateFirst("admin"); err != nil || !created {
		t.Fatalf("CreateFirst: %v, %v", created, err)
	}
	k, err := OpenKeyring(st.Dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	return st, k
}

func TestStore(t *testing.T) {
	t.Parallel()
	st, k := setup(t)
	if _, created, err := st.CreateFirst("again"); err != nil || created {
		t.Fatalf("a second CreateFirst: created %v, %v; want nothing made", created, err)
	}
	nk, err := st.Create(Policy{Allow: []string{"proton:Get*"}, Resources: []string{"dev-*"}}, "reader")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(nk.AccessKeyID, KeyIDPrefix) || len(nk.AccessKeyID) != 20 || len(nk.SecretAccessKey) != 40 {
		t.Errorf("new key %q / secret of %d characters; want HK + 18, 40", nk.AccessKeyID, len(nk.SecretAccessKey))
	}
	// A new key is found at its first use; its secret opens.
	rk, ok := k.lookup(nk.AccessKeyID)
	if !ok || rk.secret != nk.SecretAccessKey {
		t.Fatalf("lookup of a key made after the keyring opened: %v", ok)
	}
	raw, _ := os.ReadFile(filepath.Join(st.Dir, KeysFile))
	if strings.Contains(string(raw), nk.SecretAccessKey) {
		t.Error("keys.json holds a secret in the clear")
	}
	keys, err := st.List()
	if err != nil || len(keys) != 2 || keys[1].Description != "reader" || keys[1].Policy.Allow[0] != "proton:Get*" {
		t.Fatalf("List = %+v, %v", keys, err)
	}
	if err := st.SetDisabled(nk.AccessKeyID, true); err != nil {
		t.Fatal(err)
	}
	k.lastCheck.Store(0) // as if a second passed
	if _, ok := k.lookup(nk.AccessKeyID); ok {
		t.Error("a disabled key is still found")
	}
	if err := st.SetDisabled(nk.AccessKeyID, false); err != nil {
		t.Fatal(err)
	}
	if err := st.Delete(nk.AccessKeyID); err != nil {
		t.Fatal(err)
	}
	if err := st.Delete(nk.AccessKeyID); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleting twice: %v, want ErrNotFound", err)
	}
	k.lastCheck.Store(0)
	if _, ok := k.lookup(nk.AccessKeyID); ok {
		t.Error("a deleted key is still found")
	}
	// A damaged file keeps the last good keys in force.
	if err := os.WriteFile(filepath.Join(st.Dir, KeysFile), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	k.lastCheck.Store(0)
	if k.Len() != 1 {
		t.Fatalf("keyring holds %d keys, want the administrator's", k.Len())
	}
	k.lookup("HKNOPE")
	if k.Len() != 1 {
		t.Errorf("after a damaged keys.json the keyring holds %d keys, want the last good 1", k.Len())
	}
}

func TestStoreRefusesOpenModes(t *testing.T) {
	t.Parallel()
	st, _ := setup(t)
	if err := os.Chmod(filepath.Join(st.Dir, MasterKeyFile), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenKeyring(st.Dir, nil); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("OpenKeyring with a world-readable master key: %v, want a refusal", err)
	}
	if _, err := st.Create(Policy{}, ""); err == nil {
		t.Error("Create with a world-readable master key succeeded")
	}
}

func TestPolicyValidate(t *testing.T) {
	t.Parallel()
	for _, p := range []Policy{{Allow: []string{"Get*"}}, {Allow: []string{""}}, {Resources: []string{""}}, {Allow: []string{"s3:*"}}} {
		if p.Validate() == nil {
			t.Errorf("%+v validated", p)
		}
	}
	for _, p := range []Policy{{}, {Allow: []string{"*", "proton:*", "Proton:GetEnvironment"}, Resources: []string{"*"}}} {
		if err := p.Validate(); err != nil {
			t.Errorf("%+v: %v", p, err)
		}
	}
}

// TestCheck runs the whole check: signature, throttle, policy.
func TestCheck(t *testing.T) {
	t.Parallel()
	st, k := setup(t)
	reader, err := st.Create(Policy{Allow: []string{"proton:Get*", "proton:List*"}, Resources: []string{"dev-*"}}, "")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	a := New(Config{Keys: k, Rate: 1, Burst: 2, Now: func() time.Time { return now }})
	call := func(op, body string, key NewKey) error {
		r, _ := http.NewRequest("POST", "http://127.0.0.1:8787/", strings.NewReader(body))
		r.Header.Set("X-Amz-Target", "AwsProton20200720."+op)
		sigv4.Sign(r, []byte(body), key.AccessKeyID, key.SecretAccessKey, "", "us-east-1", "proton", now)
		return a.Check(r, op, []byte(body))
	}
	var denied *AccessDeniedError
	if err := call("GetEnvironment", `{"name":"dev-web"}`, reader); err != nil {
		t.Errorf("allowed call: %v", err)
	}
	if err := call("CancelEnvironmentDeployment", `{"environmentName":"dev-web"}`, reader); !errors.As(err, &denied) ||
		denied.Error() != "User: "+reader.AccessKeyID+" is not authorized to perform: proton:CancelEnvironmentDeployment on resource: dev-web" {
		t.Errorf("denied action: %v", err)
	}
	// The bucket (burst 2) is empty now; the next call is throttled before its policy is looked at.
	var throttled *ThrottlingError
	if err := call("GetEnvironment", `{"name":"prod"}`, reader); !errors.As(err, &throttled) {
		t.Errorf("third call at once with burst 2: %v, want ThrottlingError", err)
	}
	now = now.Add(time.Second)
	if err := call("GetEnvironment", `{"name":"prod"}`, reader); !errors.As(err, &denied) || denied.Resource != "prod" {
		t.Errorf("denied resource: %v", err)
	}
	now = now.Add(time.Second)
	if err := call("ListEnvironments", `{}`, reader); !errors.As(err, &denied) || denied.Resource != "*" {
		t.Errorf("a list with a resource-limited key: %v, want denied on *", err)
	}
	now = now.Add(time.Second)
	if err := call("GetEnvironment", `{"name":"x"}`, NewKey{AccessKeyID: "HKNOPE", SecretAccessKey: "x"}); !isCode(err, sigv4.UnrecognizedClient) {
		t.Errorf("unknown key: %v", err)
	}
}

func isCode(err error, c sigv4.Code) bool {
	var e *sigv4.Error
	return errors.As(err, &e) && e.Code == c
}

// A key made in an account calls in it: Authenticate hands its account to
// the call's context; a key made without one calls in the server's (none).
func TestAuthenticateGivesTheCallTheKeysAccount(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	st := &Store{Dir: dir}
	plain, err := st.Create(Policy{}, "")
	if err != nil {
		t.Fatal(err)
	}
	other, err := st.CreateInAccount(Policy{}, "", "222222222222")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateInAccount(Policy{}, "", "22"); err == nil {
		t.Error("an account id of 2 digits was accepted")
	}
	ring, err := OpenKeyring(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	a := New(Config{Keys: ring})
	for _, c := range []struct {
		key  NewKey
		want string
	}{{plain, ""}, {other, "222222222222"}} {
		r := httptest.NewRequest("POST", "http://hadron/", strings.NewReader(`{}`))
		r.Header.Set("X-Amz-Target", "AwsProton20200720.ListEnvironmentAccountConnections")
		sigv4.Sign(r, []byte(`{}`), c.key.AccessKeyID, c.key.SecretAccessKey, "", "us-east-1", "proton", time.Now())
		ctx, err := a.CheckContext(r, "ListEnvironmentAccountConnections", []byte(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		if got := AccountOf(ctx); got != c.want {
			t.Errorf("account of key %s = %q, want %q", c.key.AccessKeyID, got, c.want)
		}
	}
}

// An environment account's key (made for an account other than the
// server's) may call only its side of its environment account
// connections; a key of the server's account, made with its id or without
// one, calls anything its policy allows.
func TestEnvironmentAccountKeyMayOnlyCallItsSideOfConnections(t *testing.T) {
	t.Parallel()
	const management, environment = "111111111111", "222222222222"
	dir := t.TempDir()
	st := &Store{Dir: dir}
	plain, err := st.Create(Policy{}, "")
	if err != nil {
		t.Fatal(err)
	}
	own, err := st.CreateInAccount(Policy{}, "", management)
	if err != nil {
		t.Fatal(err)
	}
	env, err := st.CreateInAccount(Policy{}, "", environment)
	if err != nil {
		t.Fatal(err)
	}
	ring, err := OpenKeyring(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	a := New(Config{Keys: ring, Account: management})
	connArn := func(account string) string {
		return `{"resourceArn":"arn:aws:proton:us-east-1:` + account + `:environment-account-connection/0f0e0d0c-0000-4000-8000-000000000000"}`
	}
	cases := []struct {
		op, body   string
		envAllowed bool
		why        string // in the refusal's message
	}{
		{"CreateEnvironmentAccountConnection", `{"managementAccountId":"` + management + `","environmentName":"prod"}`, true, ""},
		{"UpdateEnvironmentAccountConnection", `{"id":"x"}`, true, ""},
		{"DeleteEnvironmentAccountConnection", `{"id":"x"}`, true, ""},
		{"GetEnvironmentAccountConnection", `{"id":"x"}`, true, ""},
		{"ListEnvironmentAccountConnections", `{}`, true, ""},
		{"ListTagsForResource", connArn(environment), true, ""},
		{"TagResource", connArn(environment), true, ""},
		{"UntagResource", connArn(environment), true, ""},
		{"ListTagsForResource", connArn("333333333333"), false, "its own environment account connections"},
		{"TagResource", `{"resourceArn":"arn:aws:proton:us-east-1:` + management + `:environment/prod"}`, false, "its own environment account connections"},
		{"AcceptEnvironmentAccountConnection", `{"id":"x"}`, false, "management account (" + management + ")"},
		{"RejectEnvironmentAccountConnection", `{"id":"x"}`, false, "management account (" + management + ")"},
		{"CreateEnvironmentTemplate", `{"name":"net"}`, false, "environment account " + environment},
		{"CreateEnvironment", `{"name":"prod"}`, false, "management account (" + management + ")"},
		{"ListEnvironments", `{}`, false, "only create, update, delete, get and list its environment account connections"},
		{"hadron:GetStatus", `{}`, false, "environment account " + environment},
	}
	call := func(k NewKey, op, body string) error {
		r := httptest.NewRequest("POST", "http://hadron/", strings.NewReader(body))
		r.Header.Set("X-Amz-Target", "AwsProton20200720."+op)
		sigv4.Sign(r, []byte(body), k.AccessKeyID, k.SecretAccessKey, "", "us-east-1", "proton", time.Now())
		return a.Check(r, op, []byte(body))
	}
	for _, c := range cases {
		for _, k := range []NewKey{plain, own} {
			if err := call(k, c.op, c.body); err != nil {
				t.Errorf("%s %s with a key of the server's account: %v", c.op, c.body, err)
			}
		}
		err := call(env, c.op, c.body)
		if c.envAllowed {
			if err != nil {
				t.Errorf("%s %s with the environment account's key: %v, want it allowed", c.op, c.body, err)
			}
			continue
		}
		var denied *AccessDeniedError
		if !errors.As(err, &denied) || !strings.Contains(err.Error(), c.why) || !strings.Contains(err.Error(), " because ") {
			t.Errorf("%s %s with the environment account's key: %v, want AccessDenied saying %q", c.op, c.body, err, c.why)
		}
		// The console asks the same question for a signed-in key.
		if err := a.AuthorizeKey(env.AccessKeyID, c.op, []byte(c.body)); !errors.As(err, &denied) {
			t.Errorf("AuthorizeKey %s for the environment account's key: %v, want AccessDenied", c.op, err)
		}
	}
}
