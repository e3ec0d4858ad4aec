package e2e

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/hadronhq/hadron/internal/hadrontest"
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

// TestAccountConnectionWithTwoKeysOfTwoAccounts: the environment account's
// key (hadron keys create --account-id) requests a connection with the AWS
// CLI, the management account's key accepts it, and boto3 works it from both
// sides.
func TestAccountConnectionWithTwoKeysOfTwoAccounts(t *testing.T) {
	t.Parallel()
	hadrontest.Long(t) // five CLI runs and a boto3 run
	requireAWS(t)
	requireBoto3(t)
	s := startAuthServer(t)
	envKey, envSecret := s.createKey(t, "--account-id", envAccount, "--description", "environment account")
	if list := s.keys(t, "list", "--json"); !strings.Contains(list, `"accountId": "`+envAccount+`"`) {
		t.Errorf("hadron keys list does not show the key's account:\n%s", list)
	}

	res := s.awsAs(t, envKey, envSecret, "create-environment-account-connection", "--management-account-id", "000000000000",
		"--environment-name", "prod", "--role-arn", "arn:aws:iam::"+envAccount+":role/proton", "--tags", "key=team,value=net")
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

	var got struct {
		ManagementList, EnvironmentList, ManagementAsEnvironment                     []string
		Get, WrongSideAccept, WrongSideDelete, Update, Delete, DeleteAgain, GetAfter struct {
			Code, Message string
			Output        map[string]json.RawMessage
		}
	}
	py := clientEnv("HADRON_ENDPOINT="+s.endpoint, "MGMT_KEY="+s.key, "MGMT_SECRET="+s.secret, "ENV_KEY="+envKey, "ENV_SECRET="+envSecret)
	out := runClient(t, py, pythonBin, "testdata/boto3_connections.py", c.ID)
	if out.Code != 0 || json.Unmarshal([]byte(out.Stdout), &got) != nil {
		t.Fatalf("boto3 run:\n%s", out)
	}
	if strings.Join(got.ManagementList, ",") != c.ID || strings.Join(got.EnvironmentList, ",") != c.ID || len(got.ManagementAsEnvironment) != 0 {
		t.Errorf("lists: management %v, environment %v, management requestedBy ENVIRONMENT_ACCOUNT %v", got.ManagementList, got.EnvironmentList, got.ManagementAsEnvironment)
	}
	if got.Get.Code != "" || got.WrongSideAccept.Code != "ValidationException" || got.WrongSideDelete.Code != "ValidationException" {
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
