package codebuild

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"testing"

	"github.com/hadronhq/hadron/internal/auth"
	"github.com/hadronhq/hadron/internal/bundle"
	"github.com/hadronhq/hadron/internal/provision"
	"github.com/hadronhq/hadron/internal/runcreds"
)

// TestRunFetchesItsCredentialsAndTheLogMasksThem: a run finds its
// credentials endpoint through the standard variables, its credentials
// are accepted by Hadron only while it runs, and their secret parts are
// masked in the log.
func TestRunFetchesItsCredentialsAndTheLogMasksThem(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl not installed")
	}
	sessions := auth.NewSessions()
	creds, err := runcreds.Listen(runcreds.Config{Sessions: sessions})
	if err != nil {
		t.Fatal(err)
	}
	defer creds.Close()
	e := &Engine{Credentials: creds, Env: map[string]string{"AWS_REGION": "eu-west-1"}}
	m := &bundle.Manifest{Templates: []bundle.ManifestTemplate{{RenderingEngine: bundle.RenderingCodebuild, Settings: &bundle.CodebuildSettings{
		Provision: []string{
			`curl -sf -H "Authorization: $AWS_CONTAINER_AUTHORIZATION_TOKEN" "$AWS_CONTAINER_CREDENTIALS_FULL_URI" > creds.json`,
			`cat creds.json; echo; echo "token $AWS_CONTAINER_AUTHORIZATION_TOKEN region $AWS_REGION"`,
			`printf '{"Key":"%s"}' "$(sed 's/.*"AccessKeyId": *"\([^"]*\)".*/\1/' creds.json)" > proton-outputs.json`,
		},
	}}}}
	reg := provision.NewRegistry()
	reg.Register(Name, e)
	target := provision.Target{Kind: provision.KindEnvironment, Name: "e", ARN: "arn:aws:proton:us-east-1:000000000000:environment/e"}
	plan, err := reg.Plan(provision.Request{Engine: Name, Operation: provision.OperationDeploy, Manifest: m, Target: target,
		Settings: provision.Settings{CodebuildRoleArn: "arn:aws:iam::000000000000:role/cb"}})
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	res, err := e.Run(context.Background(), provision.Run{DeploymentID: "d", Operation: provision.OperationDeploy, Plan: plan, Dir: t.TempDir(), Log: &log})
	if err != nil {
		t.Fatalf("run: %v\n%s", err, log.String())
	}
	key := res.Outputs["Key"]
	if !strings.HasPrefix(key, "ASIA") {
		t.Fatalf("the run read access key id %q from its endpoint\n%s", key, log.String())
	}
	out := log.String()
	if !strings.Contains(out, `"SecretAccessKey":"***","Token":"***"`) || !strings.Contains(out, "token *** region eu-west-1") {
		t.Errorf("the log should show the secret and the token masked:\n%s", out)
	}
	if !strings.Contains(out, "[hadron] credentials: minted by Hadron") {
		t.Errorf("the log does not say which credentials the run has:\n%s", out)
	}
	if sessions.Len() != 0 {
		t.Errorf("after the run Hadron still accepts %d credential sets", sessions.Len())
	}
}
