package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/hadronhq/hadron/internal/hadrontest"
)

// The hadron CLI's operator commands against the built binary: status and
// backup through the signed /hadron/v1/ endpoints, restore on a stopped
// server, and the hints of refused calls as the AWS CLI shows them.

var tryLineRE = regexp.MustCompile(`(?m)^\s*try:\s+aws (.+)$`)

// TestBannerTryCommandWorksWithAuthNone runs the AWS CLI command the
// banner suggests for a server without authentication, with no AWS
// credentials anywhere: it must not need any.
func TestBannerTryCommandWorksWithAuthNone(t *testing.T) {
	t.Parallel()
	hadrontest.Long(t) // the AWS CLI takes seconds to start on a loaded machine
	requireAWS(t)
	s := startServer(t, t.TempDir())
	// The banner's lines follow the "listening on" line startServer waits for.
	var m []string
	eventually(t, startTimeout, "the banner's try line", func() (bool, string) {
		m = tryLineRE.FindStringSubmatch(s.Log())
		return m != nil, ""
	})
	if !strings.Contains(m[1], "--no-sign-request") {
		t.Fatalf("the banner's try line %q does not say --no-sign-request:\n%s", m, s.Log())
	}
	env := withoutPrefixes(os.Environ(), "AWS_", "HADRON_")
	env = append(env, "AWS_CONFIG_FILE="+os.DevNull, "AWS_SHARED_CREDENTIALS_FILE="+os.DevNull, "AWS_EC2_METADATA_DISABLED=true", "AWS_PAGER=")
	res := runClient(t, env, awsBin, append(strings.Fields(m[1]), "--output", "json")...)
	if res.Code != 0 || !strings.Contains(res.Stdout, `"environments"`) {
		t.Errorf("the banner's try command fails:\n%s", res)
	}
}

// TestStatusFindsTheHadronProfile writes the AWS config files the first
// start's lines (aws configure set ... --profile hadron) make, then runs
// hadron status with no --profile: it finds the profile hadron.
func TestStatusFindsTheHadronProfile(t *testing.T) {
	t.Parallel()
	s := startAuthServer(t)
	home := t.TempDir()
	config, creds := filepath.Join(home, "config"), filepath.Join(home, "credentials")
	os.WriteFile(config, []byte("[profile hadron]\nregion = "+region+"\n"), 0o600)
	os.WriteFile(creds, []byte("[hadron]\naws_access_key_id = "+s.key+"\naws_secret_access_key = "+s.secret+"\n"), 0o600)
	env := withoutPrefixes(os.Environ(), "AWS_", "HADRON_")
	env = append(env, "AWS_CONFIG_FILE="+config, "AWS_SHARED_CREDENTIALS_FILE="+creds, "AWS_EC2_METADATA_DISABLED=true")
	res := runClient(t, env, hadronBin, "status", "--endpoint-url", s.endpoint)
	for _, want := range []string{"server:", " up since ", "database:", "sqlite", "(reachable)", "workers:", "isolation:", "sigv4"} {
		if res.Code != 0 || !strings.Contains(res.Stdout, want) {
			t.Errorf("hadron status does not say %q:\n%s", want, res)
		}
	}
	// Without the profile and any credentials, it says how to give them.
	env = append(withoutPrefixes(env, "AWS_CONFIG_FILE=", "AWS_SHARED_CREDENTIALS_FILE="), "AWS_CONFIG_FILE="+os.DevNull, "AWS_SHARED_CREDENTIALS_FILE="+os.DevNull)
	res = runClient(t, env, hadronBin, "status", "--endpoint-url", s.endpoint)
	if res.Code != 1 || !strings.Contains(res.Stderr, "--no-sign-request") {
		t.Errorf("hadron status without credentials:\n%s", res)
	}
}

// TestAWSCLIShowsTheHintsOfRefusals calls with an unknown key and a wrong
// secret: the AWS CLI prints the AWS error with Hadron's hint, and the
// server logs the refusal at INFO with the key id and operation.
func TestAWSCLIShowsTheHintsOfRefusals(t *testing.T) {
	t.Parallel()
	hadrontest.Long(t) // the AWS CLI takes seconds to start on a loaded machine
	requireAWS(t)
	s := startAuthServer(t)
	res := s.awsAs(t, "HKUNKNOWNUNKNOWN0000", s.secret, "list-environments")
	wantCLIError(t, res, "UnrecognizedClientException", "The security token included in the request is invalid.",
		"Hint: access key HKUNKNOWNUNKNOWN0000 is not an enabled key of the server at "+strings.TrimPrefix(s.endpoint, "http://"))
	wantCLIError(t, s.awsAs(t, s.key, "not-the-secret", "list-environments"), "InvalidSignatureException", "Hint:", "--endpoint-url")
	eventually(t, deployTimeout, "the refusal in the server's log", func() (bool, string) {
		return strings.Contains(s.Log(), `level=INFO msg="call refused: authentication failed" access_key_id=HKUNKNOWNUNKNOWN0000 operation=ListEnvironments`), s.Log()
	})
}

// TestBackupWhileServingRestoresAUsableDatabase takes hadron backup while
// calls keep creating templates, restores it into a new data directory
// with hadron restore, and serves it: every template created before the
// backup began is there, with no gap after, and the server takes calls.
func TestBackupWhileServingRestoresAUsableDatabase(t *testing.T) {
	t.Parallel()
	s := startServer(t, t.TempDir())
	var (
		mu    sync.Mutex
		acked int
		stop  = make(chan struct{})
		done  = make(chan error, 1)
		begun = make(chan struct{})
	)
	go func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				done <- nil
				return
			default:
			}
			if err := s.call("CreateEnvironmentTemplate", map[string]string{"name": fmt.Sprintf("t-%05d", i)}, nil); err != nil {
				done <- err
				return
			}
			mu.Lock()
			acked = i + 1
			mu.Unlock()
			if i == 10 {
				close(begun)
			}
		}
	}()
	<-begun
	mu.Lock()
	before := acked
	mu.Unlock()
	file := filepath.Join(t.TempDir(), "hadron-backup.db")
	res := runClient(t, clientEnv(), hadronBin, "backup", file, "--endpoint-url", s.endpoint, "--no-sign-request")
	close(stop)
	if err := <-done; err != nil {
		t.Fatalf("a call during the backup failed: %v", err)
	}
	if res.Code != 0 || !strings.Contains(res.Stdout, "written to "+file) {
		t.Fatalf("hadron backup:\n%s", res)
	}

	// Restore into a new data directory: refused while a server holds it.
	dataDir := t.TempDir()
	other := startServer(t, dataDir)
	if res := runClient(t, clientEnv(), hadronBin, "restore", file, "--data-dir", dataDir); res.Code != 1 || !strings.Contains(res.Stderr, "stop it first") {
		t.Errorf("restore while a server runs on the data directory:\n%s", res)
	}
	if code := other.terminate(t); code != 0 {
		t.Fatalf("server exited %d", code)
	}
	if res := runClient(t, clientEnv(), hadronBin, "restore", file, "--data-dir", dataDir); res.Code != 0 {
		t.Fatalf("hadron restore:\n%s", res)
	}
	restored := startServer(t, dataDir)
	var names []string
	for token := ""; ; {
		in := map[string]any{}
		if token != "" {
			in["nextToken"] = token
		}
		var out struct {
			Templates []struct{ Name string }
			NextToken string
		}
		restored.mustCall(t, "ListEnvironmentTemplates", in, &out)
		for _, tpl := range out.Templates {
			names = append(names, tpl.Name)
		}
		if token = out.NextToken; token == "" {
			break
		}
	}
	sort.Strings(names)
	for i, name := range names {
		if want := fmt.Sprintf("t-%05d", i); name != want {
			t.Fatalf("template %d after the restore is %s, want %s: not one snapshot", i, name, want)
		}
	}
	if len(names) < before {
		t.Errorf("the restored server has %d templates; %d were created before the backup began", len(names), before)
	}
	restored.mustCall(t, "CreateEnvironmentTemplate", map[string]string{"name": "after-restore"}, nil)
}
