package server_test

import (
	"strings"
	"testing"
	"time"

	"github.com/hadronhq/hadron/internal/hadrontest"
)

const (
	connection = "arn:aws:codestar-connections:us-east-1:123456789012:connection/c1"
	kmsKey     = "arn:aws:kms:us-east-1:123456789012:key/k1"
)

func TestRepositoryOperationsOnTheWire(t *testing.T) {
	t.Parallel()
	h := setup(t)
	r := h.ok("CreateRepository", m{"provider": "GITHUB", "name": "acme/infra", "connectionArn": connection,
		"encryptionKey": kmsKey, "tags": []m{{"key": "team", "value": "platform"}}})
	want := map[string]string{
		"repository.arn": "arn:aws:proton:us-east-1:123456789012:repository/github:acme/infra", "repository.provider": "GITHUB",
		"repository.name": "acme/infra", "repository.connectionArn": connection, "repository.encryptionKey": kmsKey,
	}
	for path, v := range want {
		if got := r.str(path); got != v {
			t.Errorf("create: %s = %q, want %q", path, got, v)
		}
	}
	got := h.ok("GetRepository", m{"provider": "GITHUB", "name": "acme/infra"})
	for path, v := range want {
		if g := got.str(path); g != v {
			t.Errorf("get: %s = %q, want %q", path, g, v)
		}
	}
	h.fails("CreateRepository", m{"provider": "GITHUB", "name": "acme/infra", "connectionArn": connection}, "ConflictException", "acme/infra")
	h.fails("GetRepository", m{"provider": "BITBUCKET", "name": "acme/infra"}, "ResourceNotFoundException", "BITBUCKET repository acme/infra")
	h.fails("DeleteRepository", m{"provider": "GITHUB", "name": "acme/none"}, "ResourceNotFoundException", "acme/none")

	// A summary carries no encryptionKey: the model's RepositorySummary has none.
	list := h.ok("ListRepositories", m{}).body["repositories"].([]any)
	if len(list) != 1 {
		t.Fatalf("list = %v", list)
	}
	if s := list[0].(map[string]any); s["connectionArn"] != connection || s["arn"] != want["repository.arn"] || s["encryptionKey"] != nil {
		t.Errorf("summary = %v", s)
	}
	del := h.ok("DeleteRepository", m{"provider": "GITHUB", "name": "acme/infra"})
	if del.str("repository.arn") != want["repository.arn"] {
		t.Errorf("delete answered %v", del.body)
	}
	h.fails("GetRepository", m{"provider": "GITHUB", "name": "acme/infra"}, "ResourceNotFoundException", "acme/infra")
}

func TestRepositoryInputsAreCheckedAsTheModelSays(t *testing.T) {
	t.Parallel()
	h := setup(t)
	ok := m{"provider": "GITHUB", "name": "acme/infra", "connectionArn": connection}
	with := func(k string, v any) m {
		in := m{}
		for kk, vv := range ok {
			in[kk] = vv
		}
		if v == nil {
			delete(in, k)
		} else {
			in[k] = v
		}
		return in
	}
	cases := []struct {
		name string
		in   m
		want []string
	}{
		{"a provider outside the enum", with("provider", "GITLAB"), []string{"'provider'", "GITHUB, GITHUB_ENTERPRISE, BITBUCKET"}},
		{"a name without owner/", with("name", "infra"), []string{"'name'", "pattern"}},
		{"a name over 100 characters", with("name", "acme/"+strings.Repeat("x", 96)), []string{"'name'", "100"}},
		{"a connectionArn that is no ARN", with("connectionArn", "connection/c1"), []string{"'connectionArn'"}},
		{"no connectionArn", with("connectionArn", nil), []string{"'connectionArn'", "null"}},
		{"no provider", with("provider", nil), []string{"'provider'", "null"}},
		{"an encryptionKey that is no ARN", with("encryptionKey", "k1"), []string{"'encryptionKey'"}},
		{"a tag without a key", with("tags", []m{{"key": "", "value": "v"}}), []string{"key"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := *h
			h.t = t
			h.fails("CreateRepository", c.in, "ValidationException", c.want...)
		})
	}
	h.fails("GetRepository", m{"provider": "GITHUB"}, "ValidationException", "'name'")
	h.fails("DeleteRepository", m{"provider": "SVN", "name": "a/b"}, "ValidationException", "'provider'")
	h.fails("ListRepositories", m{"maxResults": 0}, "ValidationException", "maxResults")
	h.fails("ListRepositories", m{"nextToken": "bm90IGEgdG9rZW4="}, "ValidationException", "nextToken")
	if got := h.ok("ListRepositories", m{}).body["repositories"].([]any); len(got) != 0 {
		t.Errorf("refused creates left repositories behind: %v", got)
	}
}

func TestRepositoriesListInPages(t *testing.T) {
	t.Parallel()
	h := setup(t)
	for _, n := range []string{"c/c", "a/a", "e/e", "b/b", "d/d"} {
		h.ok("CreateRepository", m{"provider": "GITHUB", "name": n, "connectionArn": connection})
	}
	var names []string
	token := ""
	for range 5 {
		in := m{"maxResults": 2}
		if token != "" {
			in["nextToken"] = token
		}
		r := h.ok("ListRepositories", in)
		for _, v := range r.body["repositories"].([]any) {
			names = append(names, v.(map[string]any)["name"].(string))
		}
		if token = r.str("nextToken"); token == "" {
			break
		}
	}
	if strings.Join(names, " ") != "a/a b/b c/c d/d e/e" {
		t.Errorf("pages listed %v", names)
	}
}

func TestProvisioningRepositoryMustBeLinkedAndStaysWhileUsed(t *testing.T) {
	t.Parallel()
	h := setup(t)
	h.publishedTemplate("byo", "cm.tgz", "CUSTOMER_MANAGED")
	repo := m{"provider": "GITHUB", "name": "acme/infra", "branch": "main"}
	create := m{"name": "prod", "templateName": "byo", "templateMajorVersion": "1", "spec": spec("  VpcId: vpc-1\n"), "provisioningRepository": repo}

	h.fails("CreateEnvironment", create, "ResourceNotFoundException", "GITHUB repository acme/infra", "not linked")
	h.fails("GetEnvironment", m{"name": "prod"}, "ResourceNotFoundException", "prod")

	h.ok("CreateRepository", m{"provider": "GITHUB", "name": "acme/infra", "connectionArn": connection})
	e := h.ok("CreateEnvironment", create)
	if got := e.str("environment.provisioningRepository.arn"); got != "arn:aws:proton:us-east-1:123456789012:repository/github:acme/infra" {
		t.Errorf("environment's repository arn = %q", got)
	}
	h.waitEnvironment("prod", "SUCCEEDED")
	h.fails("DeleteRepository", m{"provider": "GITHUB", "name": "acme/infra"}, "ConflictException", "environment prod")

	// Moving the environment to another repository: it must be linked too,
	// and the first is free once nothing uses it.
	other := m{"provider": "GITHUB", "name": "acme/other", "branch": "main"}
	update := m{"name": "prod", "deploymentType": "NONE", "provisioningRepository": other}
	h.fails("UpdateEnvironment", update, "ResourceNotFoundException", "acme/other")
	h.ok("CreateRepository", m{"provider": "GITHUB", "name": "acme/other", "connectionArn": connection})
	h.ok("UpdateEnvironment", update)
	h.ok("DeleteRepository", m{"provider": "GITHUB", "name": "acme/infra"})
	h.fails("DeleteRepository", m{"provider": "GITHUB", "name": "acme/other"}, "ConflictException", "environment prod")

	h.ok("DeleteEnvironment", m{"name": "prod"})
	h.waitEnvironmentGone("prod")
	h.ok("DeleteRepository", m{"provider": "GITHUB", "name": "acme/other"})
}

// waitEnvironmentGone waits until GetEnvironment answers ResourceNotFoundException.
func (h *hadron) waitEnvironmentGone(name string) {
	h.t.Helper()
	hadrontest.Eventually(h.t, 20*time.Second, "environment "+name+" to be gone", func() (bool, string) {
		r := h.call("GetEnvironment", m{"name": name})
		return r.errTyp == "ResourceNotFoundException", r.str("environment.deploymentStatus")
	})
}
