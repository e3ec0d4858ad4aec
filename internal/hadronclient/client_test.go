package hadronclient

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// setFiles points the AWS shared config files at a new directory holding
// a profile hadron (key HKPROFILE) and a default profile (key AKIADEFAULT),
// and clears the AWS environment variables.
func setFiles(t *testing.T, withHadron bool) {
	t.Helper()
	for _, v := range []string{"AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_DEFAULT_REGION", "HADRON_ENDPOINT_URL"} {
		t.Setenv(v, "")
		os.Unsetenv(v)
	}
	dir := t.TempDir()
	config := "[default]\nregion = eu-west-1\n"
	creds := "[default]\naws_access_key_id = AKIADEFAULT\naws_secret_access_key = s\n"
	if withHadron {
		config += "[profile hadron]\nregion = us-west-2\n"
		creds += "[hadron]\naws_access_key_id = HKPROFILE\naws_secret_access_key = s\n"
	}
	os.WriteFile(filepath.Join(dir, "config"), []byte(config), 0o600)
	os.WriteFile(filepath.Join(dir, "credentials"), []byte(creds), 0o600)
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
}

// Not parallel: each case sets the process's environment.
func TestCredentialsAreFoundAsTheAWSCLIFindsThemHadronProfileFirst(t *testing.T) {
	tests := []struct {
		name       string
		withHadron bool
		env        map[string]string
		opts       Options
		wantKey    string
		wantRegion string
	}{
		{name: "the hadron profile when it exists", withHadron: true, wantKey: "HKPROFILE", wantRegion: "us-west-2"},
		{name: "the default profile without it", wantKey: "AKIADEFAULT", wantRegion: "eu-west-1"},
		{name: "AWS_PROFILE wins over the hadron profile", withHadron: true, env: map[string]string{"AWS_PROFILE": "default"}, wantKey: "AKIADEFAULT", wantRegion: "eu-west-1"},
		{name: "keys in the environment win over the hadron profile", withHadron: true,
			env: map[string]string{"AWS_ACCESS_KEY_ID": "HKENV", "AWS_SECRET_ACCESS_KEY": "s"}, wantKey: "HKENV", wantRegion: "eu-west-1"},
		{name: "--profile wins over keys in the environment", withHadron: true, env: map[string]string{"AWS_ACCESS_KEY_ID": "HKENV", "AWS_SECRET_ACCESS_KEY": "s"},
			opts: Options{Profile: "hadron"}, wantKey: "HKPROFILE", wantRegion: "us-west-2"},
		{name: "--region wins", withHadron: true, opts: Options{Region: "ap-south-1"}, wantKey: "HKPROFILE", wantRegion: "ap-south-1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			setFiles(t, tt.withHadron)
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			c, err := New(t.Context(), tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			creds, err := c.creds.Retrieve(t.Context())
			if err != nil || creds.AccessKeyID != tt.wantKey || c.region != tt.wantRegion {
				t.Errorf("key %q region %q (%v), want %q %q", creds.AccessKeyID, c.region, err, tt.wantKey, tt.wantRegion)
			}
			if c.Endpoint() != DefaultEndpoint {
				t.Errorf("endpoint %q, want %q", c.Endpoint(), DefaultEndpoint)
			}
		})
	}
}

func TestNoCredentialsSaysHowToGiveThem(t *testing.T) {
	setFiles(t, false)
	t.Setenv("AWS_CONFIG_FILE", os.DevNull)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
	_, err := New(t.Context(), Options{EndpointURL: "http://127.0.0.1:9/"})
	if err == nil || !strings.Contains(err.Error(), "--no-sign-request") || !strings.Contains(err.Error(), "http://127.0.0.1:9") {
		t.Errorf("New without credentials = %v, want an error naming the endpoint and --no-sign-request", err)
	}
	c, err := New(t.Context(), Options{NoSign: true})
	if err != nil || c.creds != nil {
		t.Errorf("NoSign: %v, credentials %v", err, c.creds)
	}
}
