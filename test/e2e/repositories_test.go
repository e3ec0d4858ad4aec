package e2e

import (
	"strings"
	"testing"

	"github.com/hadronhq/hadron/internal/hadrontest"
)

const (
	connectionArn = "arn:aws:codestar-connections:us-east-1:000000000000:connection/hadron-e2e"
	kmsKeyArn     = "arn:aws:kms:us-east-1:000000000000:key/hadron-e2e"
)

type (
	repository struct {
		Arn, ConnectionArn, EncryptionKey, Name, Provider string
	}
	repositoryOut   struct{ Repository repository }
	repositoriesOut struct {
		Repositories []repository
		NextToken    string
	}
	repositoryEnvironmentOut struct {
		Environment struct {
			Name                   string
			ProvisioningRepository struct{ Arn, Branch, Name, Provider string }
		}
	}
	clientError struct{ Code, Message string }
)

// TestRepositoriesWithTheCLIAndBoto3 links repositories with the AWS CLI
// and boto3: create (tags accepted), get, list with each client's paginator,
// an environment that provisions through one (which must be linked first),
// the delete refused while the environment uses it, and the deletes.
func TestRepositoriesWithTheCLIAndBoto3(t *testing.T) {
	hadrontest.Long(t)
	t.Parallel()
	requireAWS(t)
	requireBoto3(t)
	s := startServer(t, t.TempDir())

	var created repositoryOut
	s.awsOK(t, &created, "create-repository", "--provider", "GITHUB", "--name", "acme/infra", "--connection-arn", connectionArn,
		"--encryption-key", kmsKeyArn, "--tags", "key=team,value=platform")
	want := repository{Arn: "arn:aws:proton:us-east-1:000000000000:repository/github:acme/infra", ConnectionArn: connectionArn,
		EncryptionKey: kmsKeyArn, Name: "acme/infra", Provider: "GITHUB"}
	if created.Repository != want {
		t.Errorf("create-repository = %+v, want %+v", created.Repository, want)
	}
	for _, name := range []string{"acme/unused", "acme/apps"} {
		s.awsOK(t, nil, "create-repository", "--provider", "GITHUB", "--name", name, "--connection-arn", connectionArn)
	}
	s.awsOK(t, nil, "create-repository", "--provider", "BITBUCKET", "--name", "acme/infra", "--connection-arn", connectionArn)
	msg := s.awsErr(t, "ConflictException", "create-repository", "--provider", "GITHUB", "--name", "acme/infra", "--connection-arn", connectionArn)
	if !strings.Contains(msg, "acme/infra") {
		t.Errorf("duplicate create: %s", msg)
	}
	var got repositoryOut
	s.awsOK(t, &got, "get-repository", "--provider", "GITHUB", "--name", "acme/infra")
	if got.Repository != want {
		t.Errorf("get-repository = %+v, want %+v", got.Repository, want)
	}
	if msg := s.awsErr(t, "ResourceNotFoundException", "get-repository", "--provider", "GITHUB_ENTERPRISE", "--name", "acme/infra"); !strings.Contains(msg, "acme/infra") {
		t.Errorf("get of a repository not linked: %s", msg)
	}
	// The CLI's paginator, one repository a page, joins the pages.
	var list repositoriesOut
	s.awsOK(t, &list, "list-repositories", "--page-size", "1")
	if names := repositoryNames(list.Repositories); names != "BITBUCKET:acme/infra GITHUB:acme/apps GITHUB:acme/infra GITHUB:acme/unused" {
		t.Errorf("list-repositories --page-size 1 = %s", names)
	}
	s.awsOK(t, &list, "list-repositories", "--max-items", "2")
	if len(list.Repositories) != 2 || list.NextToken == "" {
		t.Errorf("list-repositories --max-items 2 gave %d repositories, next token %q", len(list.Repositories), list.NextToken)
	}

	// An environment provisions through a linked repository only.
	s.registerTemplate(t, "shared", "customer-managed", "--provisioning", "CUSTOMER_MANAGED")
	spec, _ := specFile(t, "vpc_id: vpc-0a1b2c")
	createEnv := func(repo string) []string {
		return []string{"create-environment", "--name", "linked", "--template-name", "shared", "--template-major-version", "1",
			"--spec", spec, "--provisioning-repository", "provider=GITHUB,name=" + repo + ",branch=main"}
	}
	if msg := s.awsErr(t, "ResourceNotFoundException", createEnv("acme/elsewhere")...); !strings.Contains(msg, "acme/elsewhere") || !strings.Contains(msg, "not linked") {
		t.Errorf("create-environment with a repository not linked: %s", msg)
	}
	s.awsOK(t, nil, createEnv("acme/infra")...)
	s.waitEnvironment(t, "linked", "SUCCEEDED")
	var env repositoryEnvironmentOut
	s.awsOK(t, &env, "get-environment", "--name", "linked")
	if r := env.Environment.ProvisioningRepository; r.Arn != want.Arn || r.Branch != "main" || r.Name != "acme/infra" || r.Provider != "GITHUB" {
		t.Errorf("get-environment: provisioningRepository %+v", r)
	}
	if msg := s.awsErr(t, "ConflictException", "delete-repository", "--provider", "GITHUB", "--name", "acme/infra"); !strings.Contains(msg, "environment linked") {
		t.Errorf("delete of a repository in use: %s", msg)
	}

	var py struct {
		Listed      []repository
		Pages       int
		Got         repository
		DeleteInUse *clientError
		Deleted     repository
		AfterDelete *clientError
	}
	s.python(t, &py, "boto3_repositories.py", "acme/infra", "acme/unused")
	if names := repositoryNames(py.Listed); names != "BITBUCKET:acme/infra GITHUB:acme/apps GITHUB:acme/infra GITHUB:acme/unused" || py.Pages != 4 {
		t.Errorf("boto3 list_repositories paginator (page size 1) gave %s in %d pages", names, py.Pages)
	}
	if py.Got != want {
		t.Errorf("boto3 get_repository = %+v, want %+v", py.Got, want)
	}
	if e := py.DeleteInUse; e == nil || e.Code != "ConflictException" || !strings.Contains(e.Message, "environment linked") {
		t.Errorf("boto3 delete_repository of a repository in use: %+v", e)
	}
	if py.Deleted.Name != "acme/unused" {
		t.Errorf("boto3 delete_repository answered %+v", py.Deleted)
	}
	if e := py.AfterDelete; e == nil || e.Code != "ResourceNotFoundException" {
		t.Errorf("boto3 get_repository after the delete: %+v", e)
	}

	// Once the environment is gone, its repository can go too.
	s.awsOK(t, nil, "delete-environment", "--name", "linked")
	s.waitEnvironmentGone(t, "linked")
	var deleted repositoryOut
	s.awsOK(t, &deleted, "delete-repository", "--provider", "GITHUB", "--name", "acme/infra")
	if deleted.Repository != want {
		t.Errorf("delete-repository = %+v, want %+v", deleted.Repository, want)
	}
	s.awsOK(t, &list, "list-repositories")
	if names := repositoryNames(list.Repositories); names != "BITBUCKET:acme/infra GITHUB:acme/apps" {
		t.Errorf("after the deletes, list-repositories = %s", names)
	}
}

func repositoryNames(rs []repository) string {
	names := make([]string, len(rs))
	for i, r := range rs {
		names[i] = r.Provider + ":" + r.Name
	}
	return strings.Join(names, " ")
}
