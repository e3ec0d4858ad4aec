package proton

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hadronhq/hadron/internal/api"
	"github.com/hadronhq/hadron/internal/store"
	"github.com/hadronhq/hadron/internal/store/sqlite"
)

// repoService returns an API over a fresh SQLite store.
func repoService(t *testing.T) (*API, store.Store) {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "hadron.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return New(Config{Store: st, Region: "us-east-1", AccountID: "123456789012"}), st
}

const testConnection = "arn:aws:codestar-connections:us-east-1:123456789012:connection/c1"

// wantKind fails the test unless err is a Proton error of kind whose
// message holds every one of parts.
func wantKind(t *testing.T, what string, err error, kind ErrorKind, parts ...string) {
	t.Helper()
	var pe *Error
	if !errors.As(err, &pe) || pe.Kind != kind {
		t.Fatalf("%s: err = %#v, want kind %d", what, err, kind)
	}
	for _, p := range parts {
		if !strings.Contains(pe.Message, p) {
			t.Errorf("%s: message %q does not name %q", what, pe.Message, p)
		}
	}
}

func TestRepositoryLifecycle(t *testing.T) {
	t.Parallel()
	s, _ := repoService(t)
	ctx := t.Context()
	created, err := s.CreateRepository(ctx, &api.CreateRepositoryInput{Provider: "GITHUB_ENTERPRISE", Name: "acme/infra",
		ConnectionArn: testConnection, EncryptionKey: "arn:aws:kms:us-east-1:123456789012:key/k1",
		Tags: []api.Tag{{Key: "team", Value: "platform"}}})
	if err != nil {
		t.Fatal(err)
	}
	want := api.Repository{Arn: "arn:aws:proton:us-east-1:123456789012:repository/github_enterprise:acme/infra",
		ConnectionArn: testConnection, EncryptionKey: "arn:aws:kms:us-east-1:123456789012:key/k1", Name: "acme/infra", Provider: "GITHUB_ENTERPRISE"}
	if created.Repository != want {
		t.Errorf("created = %+v, want %+v", created.Repository, want)
	}
	got, err := s.GetRepository(ctx, &api.GetRepositoryInput{Provider: "GITHUB_ENTERPRISE", Name: "acme/infra"})
	if err != nil || got.Repository != want {
		t.Errorf("get = %+v, %v; want %+v", got, err, want)
	}
	// Provider is part of the identity: the same name on GITHUB is another repository.
	_, err = s.GetRepository(ctx, &api.GetRepositoryInput{Provider: "GITHUB", Name: "acme/infra"})
	wantKind(t, "get on another provider", err, KindNotFound, "GITHUB repository acme/infra")

	_, err = s.CreateRepository(ctx, &api.CreateRepositoryInput{Provider: "GITHUB_ENTERPRISE", Name: "acme/infra", ConnectionArn: testConnection})
	wantKind(t, "second create", err, KindConflict, "acme/infra", "already linked")

	deleted, err := s.DeleteRepository(ctx, &api.DeleteRepositoryInput{Provider: "GITHUB_ENTERPRISE", Name: "acme/infra"})
	if err != nil || deleted.Repository == nil || *deleted.Repository != want {
		t.Errorf("delete = %+v, %v; want the repository", deleted, err)
	}
	_, err = s.GetRepository(ctx, &api.GetRepositoryInput{Provider: "GITHUB_ENTERPRISE", Name: "acme/infra"})
	wantKind(t, "get after delete", err, KindNotFound, "acme/infra")
	_, err = s.DeleteRepository(ctx, &api.DeleteRepositoryInput{Provider: "GITHUB_ENTERPRISE", Name: "acme/infra"})
	wantKind(t, "delete after delete", err, KindNotFound, "GITHUB_ENTERPRISE repository acme/infra not found")
}

func TestListRepositoriesPagesInArnOrder(t *testing.T) {
	t.Parallel()
	s, _ := repoService(t)
	for _, r := range [][2]string{{"GITHUB", "b/two"}, {"BITBUCKET", "z/last"}, {"GITHUB", "a/one"}, {"GITHUB_ENTERPRISE", "c/three"}, {"GITHUB", "a/zero"}} {
		if _, err := s.CreateRepository(t.Context(), &api.CreateRepositoryInput{Provider: r[0], Name: r[1], ConnectionArn: testConnection}); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	token := ""
	for range 5 {
		out, err := s.ListRepositories(t.Context(), &api.ListRepositoriesInput{MaxResults: ptr(int32(2)), NextToken: token})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range out.Repositories {
			got = append(got, r.Provider+":"+r.Name)
			if r.Arn == "" || r.ConnectionArn != testConnection {
				t.Errorf("summary %+v lacks arn or connectionArn", r)
			}
		}
		if token = out.NextToken; token == "" {
			break
		}
	}
	want := "BITBUCKET:z/last GITHUB:a/one GITHUB:a/zero GITHUB:b/two GITHUB_ENTERPRISE:c/three"
	if strings.Join(got, " ") != want {
		t.Errorf("listed %v, want %s", got, want)
	}
	_, err := s.ListRepositories(t.Context(), &api.ListRepositoriesInput{NextToken: encodeToken("environments", "x")})
	wantKind(t, "another list's token", err, KindValidation, "nextToken")
}

func TestDeleteRepositoryInUseNamesTheUsers(t *testing.T) {
	t.Parallel()
	s, st := repoService(t)
	if _, err := s.CreateRepository(t.Context(), &api.CreateRepositoryInput{Provider: "GITHUB", Name: "acme/infra", ConnectionArn: testConnection}); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for _, name := range []string{"prod", "dev"} {
		key := environmentKey(name)
		d := &store.Deployment{ID: newDeploymentID(), TargetKey: key, TargetType: store.ResourceEnvironment, EnvironmentName: name,
			Operation: store.OperationDeploy, Status: store.StatusInProgress, Plan: `{}`, CreatedAt: now, LastModifiedAt: now}
		_, err := st.DeploymentStart(t.Context(), store.DeploymentStartParams{Deployment: d, Create: &store.Resource{
			Key: key, Type: store.ResourceEnvironment, Name: name, EnvironmentName: name, Settings: `{}`,
			Repository: repositoryKey("GITHUB", "acme/infra"), CreatedAt: now, LastModifiedAt: now}})
		if err != nil {
			t.Fatal(err)
		}
	}
	_, err := s.DeleteRepository(t.Context(), &api.DeleteRepositoryInput{Provider: "GITHUB", Name: "acme/infra"})
	wantKind(t, "delete", err, KindConflict, "GITHUB repository acme/infra", "environment dev, environment prod")
}

func TestLinkedRepositoryRefusesOneNotLinked(t *testing.T) {
	t.Parallel()
	s, _ := repoService(t)
	_, err := s.linkedRepository(t.Context(), &repoBranch{Provider: "GITHUB", Name: "acme/infra", Branch: "main"}, KindNotFound)
	wantKind(t, "not linked", err, KindNotFound, "GITHUB repository acme/infra", "not linked", "CreateRepository")
	if _, err := s.CreateRepository(t.Context(), &api.CreateRepositoryInput{Provider: "GITHUB", Name: "acme/infra", ConnectionArn: testConnection}); err != nil {
		t.Fatal(err)
	}
	key, err := s.linkedRepository(t.Context(), &repoBranch{Provider: "GITHUB", Name: "acme/infra", Branch: "main"}, KindNotFound)
	if err != nil || key != "repository/github:acme/infra" {
		t.Errorf("linked = %q, %v", key, err)
	}
}

func TestPipelineRepositorySettingMustBeLinkedAndStaysWhileSet(t *testing.T) {
	t.Parallel()
	s, _ := repoService(t)
	set := &api.UpdateAccountSettingsInput{PipelineProvisioningRepository: &api.RepositoryBranchInput{Provider: "GITHUB", Name: "acme/pipelines", Branch: "main"}}
	_, err := s.UpdateAccountSettings(t.Context(), set)
	wantKind(t, "not linked", err, KindValidation, "GITHUB repository acme/pipelines", "not linked")
	if _, err := s.CreateRepository(t.Context(), &api.CreateRepositoryInput{Provider: "GITHUB", Name: "acme/pipelines", ConnectionArn: testConnection}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateAccountSettings(t.Context(), set); err != nil {
		t.Fatal(err)
	}
	del := &api.DeleteRepositoryInput{Provider: "GITHUB", Name: "acme/pipelines"}
	_, err = s.DeleteRepository(t.Context(), del)
	wantKind(t, "delete while set", err, KindConflict, "the account setting pipelineProvisioningRepository")
	if _, err := s.UpdateAccountSettings(t.Context(), &api.UpdateAccountSettingsInput{DeletePipelineProvisioningRepository: ptr(true)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeleteRepository(t.Context(), del); err != nil {
		t.Errorf("delete once the setting is removed: %v", err)
	}
}
