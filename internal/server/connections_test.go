package server_test

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/hadronhq/hadron/internal/auth"
	"github.com/hadronhq/hadron/internal/server"
)

const (
	managementAccount  = "123456789012" // the server's --account-id
	environmentAccount = "222222222222"
)

// setupAccounts starts a server that checks signatures, with three keys:
// the returned client's (the server's own account, the management account),
// one of environmentAccount and one of a third account.
func setupAccounts(t *testing.T) (mgmt, env, stranger *hadron) {
	t.Helper()
	dir := t.TempDir()
	st := &auth.Store{Dir: dir}
	admin, _, err := st.CreateFirst("admin")
	if err != nil {
		t.Fatal(err)
	}
	envKey, err := st.CreateInAccount(auth.Policy{}, "environment account", environmentAccount)
	if err != nil {
		t.Fatal(err)
	}
	otherKey, err := st.CreateInAccount(auth.Policy{}, "a third account", "333333333333")
	if err != nil {
		t.Fatal(err)
	}
	ring, err := auth.OpenKeyring(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(context.Background(), server.Config{
		DataDir: dir, BundleDir: filepath.Join(dir, "bundles"), Region: "us-east-1", AccountID: managementAccount, Owner: "test",
		Store: openSQLite(t, dir), Engines: testEngines(0), Workers: 2, Auth: auth.New(auth.Config{Keys: ring, Account: managementAccount}),
	})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(func() {
		ts.Close()
		srv.Close()
	})
	mgmt = &hadron{t: t, url: ts.URL, dataDir: dir, key: admin.AccessKeyID, secret: admin.SecretAccessKey}
	mgmt.putBundles("slow")
	env = &hadron{t: t, url: ts.URL, dataDir: dir, key: envKey.AccessKeyID, secret: envKey.SecretAccessKey}
	stranger = &hadron{t: t, url: ts.URL, dataDir: dir, key: otherKey.AccessKeyID, secret: otherKey.SecretAccessKey}
	return mgmt, env, stranger
}

func connectionIDs(r response) []string {
	var ids []string
	for _, c := range r.body["environmentAccountConnections"].([]any) {
		ids = append(ids, c.(map[string]any)["id"].(string))
	}
	return ids
}

func TestEnvironmentAccountConnectionAcrossTwoAccounts(t *testing.T) {
	t.Parallel()
	mgmt, env, stranger := setupAccounts(t)
	mgmt.publishedTemplate("net", "slow.tgz", "")
	role := "arn:aws:iam::" + environmentAccount + ":role/proton"
	request := m{"managementAccountId": managementAccount, "environmentName": "prod", "roleArn": role,
		"codebuildRoleArn": "arn:aws:iam::" + environmentAccount + ":role/builder", "tags": tagList("team", "net")}

	created := env.ok("CreateEnvironmentAccountConnection", request)
	id := created.str("environmentAccountConnection.id")
	arn := "arn:aws:proton:us-east-1:" + environmentAccount + ":environment-account-connection/" + id
	for path, want := range map[string]string{
		"status": "PENDING", "environmentAccountId": environmentAccount, "managementAccountId": managementAccount,
		"arn": arn, "roleArn": role, "environmentName": "prod",
	} {
		if got := created.str("environmentAccountConnection." + path); got != want {
			t.Errorf("created connection %s = %q, want %q", path, got, want)
		}
	}
	env.fails("CreateEnvironmentAccountConnection", request, "ConflictException", "prod")
	mgmt.fails("CreateEnvironmentAccountConnection", request, "ValidationException", "managementAccountId")
	stranger.fails("CreateEnvironmentAccountConnection", m{"managementAccountId": environmentAccount, "environmentName": "prod", "roleArn": role},
		"ValidationException", "not this server's account", managementAccount)
	stranger.fails("GetEnvironmentAccountConnection", m{"id": id}, "ResourceNotFoundException", id)

	// Only a CONNECTED connection deploys; only the management account accepts.
	createEnv := m{"name": "prod", "templateName": "net", "templateMajorVersion": "1", "environmentAccountConnectionId": id,
		"spec": spec("  name: prod\n")}
	mgmt.fails("CreateEnvironment", createEnv, "ValidationException", "PENDING")
	env.fails("AcceptEnvironmentAccountConnection", m{"id": id}, "AccessDeniedException", "management account ("+managementAccount+")")
	if got := mgmt.ok("AcceptEnvironmentAccountConnection", m{"id": id}).str("environmentAccountConnection.status"); got != "CONNECTED" {
		t.Errorf("accept answers %s", got)
	}
	mgmt.fails("AcceptEnvironmentAccountConnection", m{"id": id}, "ConflictException", "CONNECTED")

	for _, c := range []struct {
		who   *hadron
		by    string
		count int
	}{{mgmt, "MANAGEMENT_ACCOUNT", 1}, {env, "ENVIRONMENT_ACCOUNT", 1}, {mgmt, "ENVIRONMENT_ACCOUNT", 0}, {stranger, "MANAGEMENT_ACCOUNT", 0}} {
		if got := connectionIDs(c.who.ok("ListEnvironmentAccountConnections", m{"requestedBy": c.by})); len(got) != c.count {
			t.Errorf("list requestedBy %s as %s = %v, want %d", c.by, c.who.key, got, c.count)
		}
	}
	if got := connectionIDs(mgmt.ok("ListEnvironmentAccountConnections", m{"requestedBy": "MANAGEMENT_ACCOUNT", "statuses": []string{"PENDING"}})); len(got) != 0 {
		t.Errorf("PENDING connections = %v, want none", got)
	}
	if got := env.tagsOf(arn); got["team"] != "net" {
		t.Errorf("tags of the connection = %v", got)
	}

	e := mgmt.ok("CreateEnvironment", createEnv)
	if got := e.str("environment.environmentAccountId"); got != environmentAccount {
		t.Errorf("environmentAccountId = %q, want %s", got, environmentAccount)
	}
	mgmt.waitEnvironment("prod", "SUCCEEDED")
	mgmt.fails("RejectEnvironmentAccountConnection", m{"id": id}, "ConflictException", "prod")

	if got := env.ok("UpdateEnvironmentAccountConnection", m{"id": id, "componentRoleArn": role + "-component"}); got.str("environmentAccountConnection.componentRoleArn") != role+"-component" ||
		got.str("environmentAccountConnection.roleArn") != role {
		t.Errorf("update answers %v", got.body)
	}
	mgmt.fails("DeleteEnvironmentAccountConnection", m{"id": id}, "ValidationException", "environment account")
	env.ok("DeleteEnvironmentAccountConnection", m{"id": id})
	if got := env.ok("DeleteEnvironmentAccountConnection", m{"id": id}); len(got.body) != 0 {
		t.Errorf("a repeated delete answers %v, want an empty response", got.body)
	}
	// The environment can no longer deploy.
	mgmt.fails("UpdateEnvironment", m{"name": "prod", "deploymentType": "CURRENT_VERSION", "spec": spec("  name: again\n")},
		"ValidationException", id, "deleted")
}

func TestRejectedConnectionCannotBeAcceptedOrUsed(t *testing.T) {
	t.Parallel()
	mgmt, env, _ := setupAccounts(t)
	id := env.ok("CreateEnvironmentAccountConnection", m{"managementAccountId": managementAccount, "environmentName": "qa",
		"roleArn": "arn:aws:iam::" + environmentAccount + ":role/proton"}).str("environmentAccountConnection.id")
	if got := mgmt.ok("RejectEnvironmentAccountConnection", m{"id": id}).str("environmentAccountConnection.status"); got != "REJECTED" {
		t.Errorf("reject answers %s", got)
	}
	mgmt.fails("AcceptEnvironmentAccountConnection", m{"id": id}, "ConflictException", "REJECTED")
	env.fails("UpdateEnvironmentAccountConnection", m{"id": id, "roleArn": "arn:aws:iam::" + environmentAccount + ":role/x"}, "ConflictException", "REJECTED")
	// A new request for the same environment may follow a rejected one.
	env.ok("CreateEnvironmentAccountConnection", m{"managementAccountId": managementAccount, "environmentName": "qa",
		"roleArn": "arn:aws:iam::" + environmentAccount + ":role/proton"})
}

// The environment account's key calls only its side of its connections:
// the management account's resources and operations answer
// AccessDeniedException saying why, before anything is read or changed.
func TestEnvironmentAccountKeyCannotReachManagementResources(t *testing.T) {
	t.Parallel()
	mgmt, env, _ := setupAccounts(t)
	for _, c := range []struct {
		op string
		in m
	}{
		{"CreateEnvironmentTemplate", m{"name": "net"}},
		{"ListEnvironmentTemplates", m{}},
		{"CreateEnvironment", m{"name": "prod", "templateName": "net", "templateMajorVersion": "1", "spec": spec("  name: prod\n")}},
		{"GetResourcesSummary", m{}},
		{"UpdateAccountSettings", m{"pipelineServiceRoleArn": "arn:aws:iam::" + environmentAccount + ":role/p"}},
		{"ListTagsForResource", m{"resourceArn": "arn:aws:proton:us-east-1:" + managementAccount + ":environment-template/net"}},
	} {
		env.fails(c.op, c.in, "AccessDeniedException", "environment account "+environmentAccount, "management account ("+managementAccount+")")
	}
	if got := mgmt.ok("ListEnvironmentTemplates", m{}).body["templates"].([]any); len(got) != 0 {
		t.Errorf("templates after the refused create = %v", got)
	}
}

// An environment holds its connection until it moves off it: the reject is
// refused while the environment uses the connection, succeeds once it uses
// a service role instead, and the environment cannot move back onto the
// rejected connection.
func TestEnvironmentHoldsItsConnectionUntilItMovesOff(t *testing.T) {
	t.Parallel()
	mgmt, env, _ := setupAccounts(t)
	mgmt.publishedTemplate("net", "slow.tgz", "")
	id := env.ok("CreateEnvironmentAccountConnection", m{"managementAccountId": managementAccount, "environmentName": "qa",
		"roleArn": "arn:aws:iam::" + environmentAccount + ":role/proton"}).str("environmentAccountConnection.id")
	mgmt.ok("AcceptEnvironmentAccountConnection", m{"id": id})
	mgmt.ok("CreateEnvironment", m{"name": "qa", "templateName": "net", "templateMajorVersion": "1", "environmentAccountConnectionId": id,
		"spec": spec("  name: qa\n")})
	mgmt.waitEnvironment("qa", "SUCCEEDED")
	mgmt.fails("RejectEnvironmentAccountConnection", m{"id": id}, "ConflictException", "environment/qa")

	moved := mgmt.ok("UpdateEnvironment", m{"name": "qa", "deploymentType": "NONE", "protonServiceRoleArn": "arn:aws:iam::" + managementAccount + ":role/svc"})
	if got := moved.str("environment.environmentAccountConnectionId"); got != "" {
		t.Errorf("environmentAccountConnectionId after moving to a service role = %q", got)
	}
	if got := mgmt.ok("RejectEnvironmentAccountConnection", m{"id": id}).str("environmentAccountConnection.status"); got != "REJECTED" {
		t.Errorf("reject once unused answers %s", got)
	}
	mgmt.fails("UpdateEnvironment", m{"name": "qa", "deploymentType": "NONE", "environmentAccountConnectionId": id}, "ValidationException", "REJECTED")
}
