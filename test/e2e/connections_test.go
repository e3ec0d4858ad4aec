package e2e

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/hadronhq/hadron/internal/hadrontest"
	"github.com/hadronhq/hadron/internal/mototest"
	"github.com/hadronhq/hadron/internal/provision/cloudformation"
)

// envAccount is the environment account of the connection tests; the
// management account is the server's own (000000000000).
const envAccount = "222222222222"

type connectionOut struct {
	EnvironmentAccountConnection struct {
		ID                                string `json:"id"`
		Arn, Status, EnvironmentAccountID string
		ManagementAccountID, RoleArn      string
		ComponentRoleArn                  string
	}
}

// envAccountRole is the role the environment account gives its connections.
const envAccountRole = "arn:aws:iam::" + envAccount + ":role/proton"

// TestAccountConnectionWithTwoKeysOfTwoAccounts: the environment account's
// key (hadron keys create --account-id) requests a connection with the AWS
// CLI, the management account's key accepts it and creates an environment
// on it, which deploys its CloudFormation stack (in moto_server) with the
// connection's role, so in the environment account; the environment
// account's key cannot create templates. boto3 does the same with a second
// connection and works the first from both sides.
func TestAccountConnectionWithTwoKeysOfTwoAccounts(t *testing.T) {
	t.Parallel()
	hadrontest.Long(t) // a dozen CLI runs, a boto3 run and two stacks
	requireAWS(t)
	requireBoto3(t)
	moto := mototest.URL(t)
	s := startAuthServerEnv(t, awsServerEnv, "--aws-region", region, "--aws-endpoint-url", moto)
	envKey, envSecret := s.createKey(t, "--account-id", envAccount, "--description", "environment account")
	if list := s.keys(t, "list", "--json"); !strings.Contains(list, `"accountId": "`+envAccount+`"`) {
		t.Errorf("hadron keys list does not show the key's account:\n%s", list)
	}

	// The environment account's key reaches nothing of the management account.
	wantCLIError(t, s.awsAs(t, envKey, envSecret, "create-environment-template", "--name", "vpc"),
		"AccessDeniedException", "environment account "+envAccount, "management account (000000000000)")
	wantCLIError(t, s.awsAs(t, envKey, envSecret, "list-environments"), "AccessDeniedException", "environment account "+envAccount)

	res := s.awsAs(t, envKey, envSecret, "create-environment-account-connection", "--management-account-id", "000000000000",
		"--environment-name", "prod", "--role-arn", envAccountRole, "--tags", "key=team,value=net")
	if res.Code != 0 {
		t.Fatalf("create as the environment account:\n%s", res)
	}
	var created connectionOut
	if err := json.Unmarshal([]byte(res.Stdout), &created); err != nil {
		t.Fatal(err)
	}
	c := created.EnvironmentAccountConnection
	if c.Status != "PENDING" || c.EnvironmentAccountID != envAccount || c.ManagementAccountID != "000000000000" ||
		c.Arn != "arn:aws:proton:us-east-1:"+envAccount+":environment-account-connection/"+c.ID {
		t.Errorf("created connection = %+v", c)
	}
	// The management account cannot request a connection to itself.
	wantCLIError(t, s.awsAs(t, s.key, s.secret, "create-environment-account-connection", "--management-account-id", "000000000000",
		"--environment-name", "prod", "--role-arn", "arn:aws:iam::000000000000:role/proton"), "ValidationException", "managementAccountId")
	var accepted connectionOut
	s.awsAdminOK(t, &accepted, "accept-environment-account-connection", "--id", c.ID)
	if accepted.EnvironmentAccountConnection.Status != "CONNECTED" {
		t.Errorf("accepted connection = %+v", accepted.EnvironmentAccountConnection)
	}
	var tags tagsOut
	res = s.awsAs(t, envKey, envSecret, "list-tags-for-resource", "--resource-arn", c.Arn)
	if res.Code != 0 || json.Unmarshal([]byte(res.Stdout), &tags) != nil || tags.asMap()["team"] != "net" {
		t.Errorf("tags of the connection:\n%s", res)
	}

	// The management account's environment on the connection deploys with
	// the connection's role: its stack is made in the environment account.
	s.putBundle(t, "cfn-env", "vpc.tar.gz")
	s.awsAdminOK(t, &struct{}{}, "create-environment-template", "--name", "vpc")
	var version templateVersionOut
	s.awsAdminOK(t, &version, "create-environment-template-version", "--template-name", "vpc",
		"--source", "s3={bucket="+bundleBucket+",key=vpc.tar.gz}")
	if v := s.waitRegistered(t, "vpc", "1", "0"); v.Status != "DRAFT" {
		t.Fatalf("template version: %s %s", v.Status, v.StatusMessage)
	}
	s.awsAdminOK(t, &version, "update-environment-template-version", "--template-name", "vpc", "--major-version", "1", "--minor-version", "0", "--status", "PUBLISHED")
	spec, _ := specFile(t, "vpc_cidr: 10.30.0.0/16", `subnet_cidrs: ["10.30.0.0/24"]`, "team: net")
	var envOut environmentOut
	s.awsAdminOK(t, &envOut, "create-environment", "--name", "prod", "--template-name", "vpc", "--template-major-version", "1",
		"--environment-account-connection-id", c.ID, "--spec", spec)
	if e := envOut.Environment; e.Arn != "arn:aws:proton:us-east-1:000000000000:environment/prod" || e.EnvironmentAccountID != envAccount {
		t.Errorf("environment on the connection: arn %s, environmentAccountId %s (want the server's account in the ARN, the connection's as environmentAccountId)", e.Arn, e.EnvironmentAccountID)
	}

	var got struct {
		ManagementList, EnvironmentList, ManagementAsEnvironment                     []string
		Get, WrongSideAccept, WrongSideDelete, Update, Delete, DeleteAgain, GetAfter struct {
			Code, Message string
			Output        map[string]json.RawMessage
		}
		CreateTemplate, Second, SecondAccept, SecondEnvironment struct {
			Code, Message string
			Output        map[string]json.RawMessage
		}
	}
	py := clientEnv("HADRON_ENDPOINT="+s.endpoint, "MGMT_KEY="+s.key, "MGMT_SECRET="+s.secret, "ENV_KEY="+envKey, "ENV_SECRET="+envSecret)
	out := runClient(t, py, pythonBin, "testdata/boto3_connections.py", c.ID, envAccountRole, spec)
	if out.Code != 0 || json.Unmarshal([]byte(out.Stdout), &got) != nil {
		t.Fatalf("boto3 run:\n%s", out)
	}
	var second connectionOut
	if err := json.Unmarshal(mustJSON(t, got.Second.Output), &second); err != nil {
		t.Fatal(err)
	}
	both := []string{c.ID, second.EnvironmentAccountConnection.ID}
	slices.Sort(both)
	if !slices.Equal(got.ManagementList, both) || !slices.Equal(got.EnvironmentList, both) || len(got.ManagementAsEnvironment) != 0 {
		t.Errorf("lists: management %v, environment %v, management requestedBy ENVIRONMENT_ACCOUNT %v", got.ManagementList, got.EnvironmentList, got.ManagementAsEnvironment)
	}
	if e := s.waitEnvironment(t, "prod", "SUCCEEDED", "FAILED"); e.DeploymentStatus != "SUCCEEDED" {
		t.Fatalf("environment prod: %s %s\n%s", e.DeploymentStatus, e.DeploymentStatusMessage, s.deploymentLog(e.LastAttemptedDeploymentID))
	}
	if got.CreateTemplate.Code != "AccessDeniedException" || !strings.Contains(got.CreateTemplate.Message, "environment account "+envAccount) {
		t.Errorf("boto3 create_environment_template with the environment account's key: %+v", got.CreateTemplate)
	}
	if got.Second.Code != "" || got.SecondAccept.Code != "" || got.SecondEnvironment.Code != "" {
		t.Fatalf("boto3: request %+v, accept %+v, environment %+v", got.Second, got.SecondAccept, got.SecondEnvironment)
	}
	if e := s.waitEnvironment(t, "prod-b", "SUCCEEDED", "FAILED"); e.DeploymentStatus != "SUCCEEDED" {
		t.Fatalf("environment prod-b: %s %s\n%s", e.DeploymentStatus, e.DeploymentStatusMessage, s.deploymentLog(e.LastAttemptedDeploymentID))
	}
	inEnvAccount, inServerAccount := liveStacks(t, s, moto, envAccountRole), liveStacks(t, s, moto, serviceArn)
	for _, name := range []string{"prod", "prod-b"} {
		stack := cloudformation.EnvironmentStackName(name)
		if st, ok := inEnvAccount[stack]; !ok || st.Status != "CREATE_COMPLETE" || st.Tags["proton:environment"] != "arn:aws:proton:us-east-1:000000000000:environment/"+name {
			t.Errorf("stack %s in the environment account = %+v (stacks there: %s)", stack, st, keys(inEnvAccount))
		}
		if _, ok := inServerAccount[stack]; ok {
			t.Errorf("stack %s was made in the server's account, not with the connection's role", stack)
		}
	}

	if got.Get.Code != "" || got.WrongSideAccept.Code != "AccessDeniedException" || got.WrongSideDelete.Code != "ValidationException" {
		t.Errorf("get %+v, accept by the environment account %+v, delete by the management account %+v", got.Get, got.WrongSideAccept, got.WrongSideDelete)
	}
	if got.Update.Code != "" || !strings.Contains(string(got.Update.Output["environmentAccountConnection"]), "role/component") {
		t.Errorf("update: %+v", got.Update)
	}
	if got.Delete.Code != "" || got.DeleteAgain.Code != "" || len(got.DeleteAgain.Output) != 0 {
		t.Errorf("delete %+v, then again %+v (want success, then an empty success)", got.Delete, got.DeleteAgain)
	}
	if got.GetAfter.Code != "ResourceNotFoundException" {
		t.Errorf("get after the delete: %+v", got.GetAfter)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
