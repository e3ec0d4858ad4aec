package cloudformation

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	cfn "github.com/aws/aws-sdk-go-v2/service/cloudformation"
)

const testRole = "arn:aws:iam::123456789012:role/proton-service-role"

// TestMotoEnvironmentAndServiceLifecycle runs the stacks of a Proton-style
// environment and of a service instance on it against moto's CloudFormation:
// create, outputs, resources, update with a changed parameter, an update
// that changes nothing, delete.
func TestMotoEnvironmentAndServiceLifecycle(t *testing.T) {
	t.Parallel()
	d := newTestDriver(t, motoURL(t))
	ctx := context.Background()

	envStack := EnvironmentStackName("moto-env")
	var envLog bytes.Buffer
	env, err := d.Deploy(ctx, Request{
		StackName: envStack, TemplateBody: readTestdata(t, "environment.yaml"),
		Tags:    ProtonTags(TagValues{Account: "123456789012", Environment: "arn:aws:proton:us-east-1:123456789012:environment/moto-env"}),
		RoleARN: testRole, DeploymentID: "dep-env-1", Log: &envLog,
	})
	if err != nil {
		t.Fatalf("deploy environment: %v\n%s", err, envLog.String())
	}
	for _, k := range []string{"VpcId", "PublicSubnetOneId", "PublicSubnetTwoId", "ContainerSecurityGroup", "ClusterName", "ECSTaskExecutionRole", "ArtifactBucketName"} {
		if env.Outputs[k] == "" {
			t.Errorf("environment output %s is empty; outputs %v", k, env.Outputs)
		}
	}
	if !strings.HasPrefix(env.Outputs["VpcId"], "vpc-") || env.Outputs["Owner"] != "platform" {
		t.Errorf("outputs = %v", env.Outputs)
	}
	wantTypes := map[string]string{"VPC": "AWS::EC2::VPC", "PublicSubnetOne": "AWS::EC2::Subnet", "ContainerSecurityGroup": "AWS::EC2::SecurityGroup",
		"ECSCluster": "AWS::ECS::Cluster", "ECSTaskExecutionRole": "AWS::IAM::Role", "ArtifactBucket": "AWS::S3::Bucket"}
	checkResources(t, env.Resources, wantTypes)
	if !strings.Contains(envLog.String(), "CREATE_COMPLETE") {
		t.Errorf("log has no CREATE_COMPLETE event:\n%s", envLog.String())
	}

	svcStack := ServiceInstanceStackName("api", "moto-env")
	params := map[string]string{
		"ClusterName": env.Outputs["ClusterName"], "SubnetId": env.Outputs["PublicSubnetOneId"],
		"SecurityGroupId": env.Outputs["ContainerSecurityGroup"], "Greeting": "hello",
	}
	svcReq := Request{StackName: svcStack, TemplateBody: readTestdata(t, "service.yaml"), Parameters: params,
		RoleARN: testRole, DeploymentID: "dep-svc-1", Log: &bytes.Buffer{}}
	svc, err := d.Deploy(ctx, svcReq)
	if err != nil {
		t.Fatalf("deploy service: %v\n%s", err, svcReq.Log)
	}
	checkResources(t, svc.Resources, map[string]string{"TaskDefinition": "AWS::ECS::TaskDefinition", "Service": "AWS::ECS::Service",
		"FunctionRole": "AWS::IAM::Role", "Function": "AWS::Lambda::Function"})
	if svc.Outputs["Greeting"] != "hello" || !strings.Contains(svc.Outputs["FunctionArn"], ":function:") {
		t.Errorf("service outputs = %v", svc.Outputs)
	}

	params["Greeting"] = "bonjour"
	svcReq.DeploymentID, svcReq.Log = "dep-svc-2", &bytes.Buffer{}
	updated, err := d.Deploy(ctx, svcReq)
	if err != nil {
		t.Fatalf("update service: %v\n%s", err, svcReq.Log)
	}
	if updated.Outputs["Greeting"] != "bonjour" || updated.StackID != svc.StackID {
		t.Errorf("after update: outputs %v, stack %s (was %s)", updated.Outputs, updated.StackID, svc.StackID)
	}
	if !strings.Contains(svcReq.Log.(*bytes.Buffer).String(), "UPDATE_COMPLETE") {
		t.Errorf("update log has no UPDATE_COMPLETE:\n%s", svcReq.Log)
	}

	svcReq.DeploymentID, svcReq.Log = "dep-svc-3", &bytes.Buffer{}
	same, err := d.Deploy(ctx, svcReq)
	if err != nil {
		t.Fatalf("update without changes: %v\n%s", err, svcReq.Log)
	}
	if same.Outputs["Greeting"] != "bonjour" {
		t.Errorf("update without changes: outputs %v", same.Outputs)
	}

	for _, name := range []string{svcStack, envStack} {
		if err := d.Delete(ctx, DeleteRequest{StackName: name, RoleARN: testRole, DeploymentID: "dep-del"}); err != nil {
			t.Fatalf("delete %s: %v", name, err)
		}
		if st := describeMoto(t, d, name); st != "" {
			t.Errorf("stack %s after delete: %s", name, st)
		}
		if err := d.Delete(ctx, DeleteRequest{StackName: name, RoleARN: testRole}); err != nil {
			t.Errorf("second delete of %s: %v", name, err)
		}
	}
}

// TestMotoFailure pins a failed create against moto: moto creates the
// resources inside CreateStack, so a resource that fails (a subnet outside
// its VPC's range) fails the call itself with the resource's error, and the
// deployment fails with it.
func TestMotoFailure(t *testing.T) {
	t.Parallel()
	d := newTestDriver(t, motoURL(t))
	body := `Resources:
  VPC:
    Type: AWS::EC2::VPC
    Properties:
      CidrBlock: 10.0.0.0/16
  Subnet:
    Type: AWS::EC2::Subnet
    Properties:
      VpcId: !Ref VPC
      CidrBlock: 192.168.0.0/24
`
	_, err := d.Deploy(context.Background(), Request{StackName: EnvironmentStackName("moto-bad"), TemplateBody: body, RoleARN: testRole, DeploymentID: "dep-bad"})
	var ce *CanceledError
	switch {
	case err == nil:
		t.Fatal("deploy of a subnet outside its VPC succeeded")
	case errors.As(err, &ce):
		t.Fatalf("error is a cancel: %v", err)
	case !strings.Contains(err.Error(), "InvalidSubnet.Range"):
		t.Fatalf("error %q does not carry the resource's error", err)
	}
}

func checkResources(t *testing.T, got []Resource, want map[string]string) {
	t.Helper()
	byID := map[string]Resource{}
	for _, r := range got {
		byID[r.LogicalID] = r
	}
	for id, typ := range want {
		r, ok := byID[id]
		switch {
		case !ok:
			t.Errorf("resource %s missing from %v", id, got)
		case r.Type != typ || r.PhysicalID == "":
			t.Errorf("resource %s = %+v, want type %s and a physical id", id, r, typ)
		}
	}
}

// describeMoto returns the status of the live stack named name, or "".
func describeMoto(t *testing.T, d *Driver, name string) string {
	t.Helper()
	out, err := cfn.NewFromConfig(d.access.Base()).DescribeStacks(context.Background(), &cfn.DescribeStacksInput{StackName: aws.String(name)})
	if isNotExist(err) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(out.Stacks[0].StackStatus)
}
