package hadronclient_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/hadronhq/hadron/internal/hadronclient"
	"github.com/hadronhq/hadron/internal/sigv4"
)

// awsFiles writes an AWS shared config and credentials file, points the SDK
// at them and clears the environment's AWS settings. Tests using it cannot
// run in parallel (t.Setenv).
func awsFiles(t *testing.T, config, creds string) {
	t.Helper()
	dir := t.TempDir()
	for name, text := range map[string]string{"config": config, "credentials": creds} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	for _, v := range []string{"AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION",
		"AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL", "HADRON_ENDPOINT_URL", "AWS_DEFAULT_PROFILE"} {
		t.Setenv(v, "")
		os.Unsetenv(v)
	}
}

// signedBy serves 200 to requests signed for proton with one of keys (id to
// secret), and records the key and region that signed: the server's own
// verifier judges the client's signature.
func signedBy(t *testing.T, keys map[string]string) (url string, seen *[2]string) {
	t.Helper()
	seen = &[2]string{}
	v := &sigv4.Verifier{Service: "proton"}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := v.Verify(r, nil, func(id string) (string, bool) { s, ok := keys[id]; return s, ok })
		if err != nil {
			w.Header().Set("x-amzn-ErrorType", "InvalidSignatureException")
			w.WriteHeader(403)
			io.WriteString(w, `{"__type":"InvalidSignatureException","message":"`+err.Error()+`"}`)
			return
		}
		a, _ := sigv4.ParseAuthorization(r.Header.Get("Authorization"))
		*seen = [2]string{id, a.Region}
		io.WriteString(w, "ok")
	}))
	t.Cleanup(ts.Close)
	return ts.URL, seen
}

const (
	// The hadron profile, as hadron serve's first-start lines configure it,
	// beside a default profile holding a user's real AWS credentials.
	sharedCreds = `[default]
aws_access_key_id = AKIAREALAWSKEY000000
aws_secret_access_key = real-aws-secret
[hadron]
aws_access_key_id = HADRONKEY00000000001
aws_secret_access_key = hadron-secret
[other]
aws_access_key_id = OTHERKEY000000000001
aws_secret_access_key = other-secret
`
	sharedConfig = `[default]
region = eu-west-1
[profile hadron]
region = us-west-2
[profile other]
region = ap-south-1
`
)

func TestCredentialsAreFoundAsTheAWSCLIFindsThem(t *testing.T) {
	keys := map[string]string{"AKIAREALAWSKEY000000": "real-aws-secret", "HADRONKEY00000000001": "hadron-secret",
		"OTHERKEY000000000001": "other-secret", "ENVKEY00000000000001": "env-secret"}
	for _, c := range []struct {
		name        string
		config      string
		env         map[string]string
		opts        hadronclient.Options
		wantKey     string
		wantRegion  string
		endpointEnv bool
	}{
		{name: "the hadron profile by default", config: sharedConfig, wantKey: "HADRONKEY00000000001", wantRegion: "us-west-2"},
		{name: "a profile named by flag", config: sharedConfig, opts: hadronclient.Options{Profile: "other"}, wantKey: "OTHERKEY000000000001", wantRegion: "ap-south-1"},
		{name: "AWS_PROFILE", config: sharedConfig, env: map[string]string{"AWS_PROFILE": "other"}, wantKey: "OTHERKEY000000000001", wantRegion: "ap-south-1"},
		{name: "the default profile when there is no hadron profile", config: "[default]\nregion = eu-west-1\n", wantKey: "AKIAREALAWSKEY000000", wantRegion: "eu-west-1"},
		// Keys in the environment are the SDK's first choice; the region is then the default profile's.
		{name: "environment keys over the hadron profile", config: sharedConfig,
			env: map[string]string{"AWS_ACCESS_KEY_ID": "ENVKEY00000000000001", "AWS_SECRET_ACCESS_KEY": "env-secret"}, wantKey: "ENVKEY00000000000001", wantRegion: "eu-west-1"},
		{name: "a profile named by flag over environment keys", config: sharedConfig, opts: hadronclient.Options{Profile: "other"},
			env: map[string]string{"AWS_ACCESS_KEY_ID": "ENVKEY00000000000001", "AWS_SECRET_ACCESS_KEY": "env-secret"}, wantKey: "OTHERKEY000000000001", wantRegion: "ap-south-1"},
		{name: "region by flag", config: sharedConfig, opts: hadronclient.Options{Region: "ca-central-1"}, wantKey: "HADRONKEY00000000001", wantRegion: "ca-central-1"},
		{name: "endpoint from HADRON_ENDPOINT_URL", config: sharedConfig, endpointEnv: true, wantKey: "HADRONKEY00000000001", wantRegion: "us-west-2"},
	} {
		t.Run(c.name, func(t *testing.T) {
			creds := sharedCreds
			if c.config != sharedConfig {
				creds = "[default]\naws_access_key_id = AKIAREALAWSKEY000000\naws_secret_access_key = real-aws-secret\n"
			}
			awsFiles(t, c.config, creds)
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			url, seen := signedBy(t, keys)
			opts := c.opts
			if c.endpointEnv {
				t.Setenv("HADRON_ENDPOINT_URL", url)
			} else {
				opts.EndpointURL = url
			}
			client, err := hadronclient.New(context.Background(), opts)
			if err != nil {
				t.Fatal(err)
			}
			resp, err := client.Do(context.Background(), "GET", "x?follow=true", nil)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if seen[0] != c.wantKey || seen[1] != c.wantRegion {
				t.Errorf("signed by %s for %s, want %s for %s", seen[0], seen[1], c.wantKey, c.wantRegion)
			}
		})
	}
}

func TestAMissingProfileNamedByTheUserIsAnError(t *testing.T) {
	awsFiles(t, sharedConfig, sharedCreds)
	if _, err := hadronclient.New(context.Background(), hadronclient.Options{Profile: "absent"}); err == nil {
		t.Error("New with a profile that does not exist succeeded, want an error")
	}
}

func TestErrorAnswersAreAPIErrors(t *testing.T) {
	awsFiles(t, sharedConfig, sharedCreds)
	url, _ := signedBy(t, map[string]string{"HADRONKEY00000000001": "not-the-secret"})
	client, err := hadronclient.New(context.Background(), hadronclient.Options{EndpointURL: url})
	if err != nil {
		t.Fatal(err)
	}
	_, err = client.Do(context.Background(), "GET", "x", nil)
	if e, ok := err.(*hadronclient.Error); !ok || e.Code != "InvalidSignatureException" || e.Status != 403 {
		t.Errorf("Do with a wrong secret = %v, want an Error InvalidSignatureException 403", err)
	}
}
