package e2e

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/hadronhq/hadron/internal/mototest"
	"github.com/hadronhq/hadron/internal/provision/cloudformation"
	"github.com/hadronhq/hadron/internal/provision/cloudformation/cfnfake"
)

// AWS-managed provisioning end to end: the real binary renders Proton-style
// Jinja CloudFormation bundles (testdata/bundles/cfn-env, cfn-service) and
// runs them as stacks in moto_server, driven by the AWS CLI; boto3 looks at
// the stacks.

const (
	pipelineServiceRole = "arn:aws:iam::000000000000:role/hadron-pipeline-service"
	cfnSvcBundleKey     = "cfn-service.tar.gz"
)

// awsServerEnv are the base credentials of the server's default chain
// (moto and the fake accept any).
var awsServerEnv = []string{"AWS_ACCESS_KEY_ID=hadron-e2e-base", "AWS_SECRET_ACCESS_KEY=hadron-e2e-base",
	"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_EC2_METADATA_DISABLED=true"}

// startAWSServer starts hadron serve with its AWS calls going to endpoint.
func startAWSServer(t *testing.T, endpoint string) *server {
	t.Helper()
	return startServerEnv(t, t.TempDir(), awsServerEnv, "--aws-region", region, "--aws-endpoint-url", endpoint)
}

type provisionedResourcesOut struct {
	ProvisionedResources []struct{ Name, Identifier, ProvisioningEngine string }
}

// provisioned lists a resource's provisioned resources with the CLI, name → identifier.
func (s *server) provisioned(t *testing.T, args ...string) map[string]string {
	t.Helper()
	out := awsJSON[provisionedResourcesOut](t, s, args...)
	m := map[string]string{}
	for _, r := range out.ProvisionedResources {
		if r.ProvisioningEngine != "CLOUDFORMATION" || r.Identifier == "" {
			t.Errorf("%s: %+v, want an identifier and engine CLOUDFORMATION", args[0], r)
		}
		m[r.Name] = r.Identifier
	}
	return m
}

func outputsOf(t *testing.T, s *server, args ...string) map[string]string {
	t.Helper()
	return outputMap(awsJSON[outputsOut](t, s, args...).Outputs)
}

type cfnStack struct {
	Status    string
	Tags      map[string]string
	Resources map[string]string
}

// liveStacks lists the stacks in moto of the account of role (serviceArn's
// when none is given).
func liveStacks(t *testing.T, s *server, endpoint string, role ...string) map[string]cfnStack {
	t.Helper()
	var out struct{ Stacks map[string]cfnStack }
	s.python(t, &out, "boto3_cfn_stacks.py", endpoint, append(role, serviceArn)[0])
	return out.Stacks
}

func keys[V any](m map[string]V) string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return strings.Join(ks, ",")
}

func TestCloudFormationStacksInMoto(t *testing.T) {
	requireAWS(t)
	requireBoto3(t)
	moto := mototest.URL(t)
	s := startAWSServer(t, moto)

	// The environment: a VPC with a subnet per list item, its outputs and resources.
	s.registerTemplate(t, "vpc", "cfn-env")
	spec, _ := specFile(t, "vpc_cidr: 10.20.0.0/16", `subnet_cidrs: ["10.20.0.0/24", "10.20.1.0/24"]`, "team: payments")
	s.awsOK(t, nil, "create-environment", "--name", "cfn-prod", "--template-name", "vpc", "--template-major-version", "1",
		"--proton-service-role-arn", serviceArn, "--component-role-arn", componentRole, "--spec", spec)
	if e := s.waitEnvironment(t, "cfn-prod", "SUCCEEDED", "FAILED"); e.DeploymentStatus != "SUCCEEDED" {
		t.Fatalf("environment: %s %s\n%s", e.DeploymentStatus, e.DeploymentStatusMessage, s.deploymentLog(e.LastAttemptedDeploymentID))
	}
	env := s.waitEnvironment(t, "cfn-prod", "SUCCEEDED")
	envOut := outputsOf(t, s, "list-environment-outputs", "--environment-name", "cfn-prod")
	subnets := strings.Split(envOut["SubnetIds"], ",")
	if !strings.HasPrefix(envOut["VpcId"], "vpc-") || len(subnets) != 2 || !strings.HasPrefix(subnets[1], "subnet-") || envOut["ClusterName"] == "" || envOut["Team"] != "payments" {
		t.Errorf("environment outputs = %v", envOut)
	}
	res := s.provisioned(t, "list-environment-provisioned-resources", "--environment-name", "cfn-prod")
	if got := keys(res); got != "ECSCluster,PublicSubnet1,PublicSubnet2,ServiceSecurityGroup,VPC" || res["VPC"] != envOut["VpcId"] {
		t.Errorf("environment provisioned resources = %v", res)
	}
	if l := s.deploymentLog(env.LastSucceededDeploymentID); !strings.Contains(l, "CidrBlock: '10.20.1.0/24'") || !strings.Contains(l, "rendered template cloudformation.yaml") {
		t.Errorf("the deployment log lacks the rendered template:\n%s", l)
	}
	envStack := cloudformation.EnvironmentStackName("cfn-prod")
	stacks := liveStacks(t, s, moto)
	if st := stacks[envStack]; st.Status != "CREATE_COMPLETE" || st.Tags["proton:environment"] != env.Arn || st.Tags["proton:template"] == "" {
		t.Errorf("stack %s = %+v (stacks %s)", envStack, st, keys(stacks))
	}

	// A service with two instances and a pipeline.
	s.awsOK(t, nil, "update-account-settings", "--pipeline-service-role-arn", pipelineServiceRole)
	s.putBundle(t, "cfn-service", cfnSvcBundleKey)
	s.mustCall(t, "CreateServiceTemplate", map[string]string{"name": "fargate"}, nil)
	s.mustCall(t, "CreateServiceTemplateVersion", map[string]any{
		"templateName": "fargate", "source": map[string]any{"s3": map[string]string{"bucket": bundleBucket, "key": cfnSvcBundleKey}},
		"compatibleEnvironmentTemplates": []map[string]string{{"templateName": "vpc", "majorVersion": "1"}},
		"supportedComponentSources":      []string{"DIRECTLY_DEFINED"},
	}, nil)
	if v := s.waitServiceRegistered(t, "fargate", "1", "0"); v.Status != "DRAFT" {
		t.Fatalf("service template version: %s %s", v.Status, v.StatusMessage)
	}
	s.awsOK(t, nil, "update-service-template-version", "--template-name", "fargate", "--major-version", "1", "--minor-version", "0", "--status", "PUBLISHED")
	svcSpec := serviceSpec([]string{"retention_days: 7"},
		inst("api", "cfn-prod", "port: 8080", "env_vars:", "  LOG_LEVEL: debug", "  MODE: live"),
		inst("worker", "cfn-prod", "policy_arns: arn:aws:iam::aws:policy/AmazonSQSFullAccess,arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"))
	// hadron render previews an instance against the outputs its
	// environment has on the server, without being given them.
	rendered := runClient(t, os.Environ(), hadronBin, "render", "--data-dir", s.dataDir, "--template-version", "fargate:1.0", "--kind", "service",
		"--spec", writeFile(t, "svc.yaml", svcSpec), "--name", "orders", "--instance", "api")
	if rendered.Code != 0 || !strings.Contains(rendered.Stdout, "in cluster "+envOut["ClusterName"]) || !strings.Contains(rendered.Stdout, "Value: '"+envOut["SubnetIds"]+"'") {
		t.Errorf("render of instance api against cfn-prod's outputs (%v):\n%s", envOut, rendered)
	}
	s.awsOK(t, nil, "create-service", "--name", "orders", "--template-name", "fargate", "--template-major-version", "1", "--spec", fileArg(t, svcSpec))
	if svc := s.waitService(t, "orders", "ACTIVE", "CREATE_FAILED"); svc.Status != "ACTIVE" {
		for _, n := range []string{"api", "worker"} {
			i, _ := s.getInstance("orders", n)
			t.Logf("instance %s: %s %s\n%s", n, i.DeploymentStatus, i.DeploymentStatusMessage, s.deploymentLog(i.LastAttemptedDeploymentID))
		}
		p := s.waitPipeline(t, "orders", "SUCCEEDED", "FAILED")
		t.Fatalf("service: %s %s; pipeline %s %s\n%s", svc.Status, svc.StatusMessage, p.DeploymentStatus, p.DeploymentStatusMessage, s.deploymentLog(p.LastAttemptedDeploymentID))
	}
	api := outputsOf(t, s, "list-service-instance-outputs", "--service-name", "orders", "--service-instance-name", "api")
	if api["ClusterName"] != envOut["ClusterName"] || api["Subnets"] != envOut["SubnetIds"] || api["Port"] != "8080" || api["QueueUrl"] != "no-queue" || api["TaskDefinitionArn"] == "" {
		t.Errorf("instance api outputs = %v", api)
	}
	if res := s.provisioned(t, "list-service-instance-provisioned-resources", "--service-name", "orders", "--service-instance-name", "worker"); keys(res) != "TaskDefinition,TaskRole" {
		t.Errorf("instance worker provisioned resources = %v", res)
	}
	pipe := s.waitPipeline(t, "orders", "SUCCEEDED")
	pipeOut := outputsOf(t, s, "list-service-pipeline-outputs", "--service-name", "orders")
	if pipeOut["Artifactsapi"] == "" || pipeOut["Artifactsworker"] == "" || pipeOut["TaskDefinitionOfapi"] != api["TaskDefinitionArn"] {
		t.Errorf("pipeline outputs = %v", pipeOut)
	}
	if l := s.deploymentLog(pipe.LastSucceededDeploymentID); !strings.Contains(l, `"LOG_LEVEL"`) && !strings.Contains(l, "Artifactsworker:") {
		t.Errorf("pipeline log lacks its rendered template:\n%s", l)
	}
	stacks = liveStacks(t, s, moto)
	apiStack := cloudformation.ServiceInstanceStackName("orders", "api")
	if st := stacks[apiStack]; st.Status != "CREATE_COMPLETE" || !strings.HasSuffix(st.Tags["proton:service-instance"], "service/orders/service-instance/api") {
		t.Errorf("stack %s = %+v", apiStack, st)
	}
	if st := stacks[cloudformation.PipelineStackName("orders")]; len(st.Resources) != 3 {
		t.Errorf("pipeline stack = %+v, want two buckets and a role", st)
	}

	// A directly defined component attached to api: its outputs reach api's next deployment.
	manifest := writeFile(t, "manifest.yaml", "infrastructure:\n  templates:\n    - file: cloudformation.yaml\n      rendering_engine: jinja\n      template_language: cloudformation\n")
	tpl := writeFile(t, "cloudformation.yaml", "Resources:\n  Queue:\n    Type: AWS::SQS::Queue\n    Properties:\n      QueueName: '{{ component.name }}-queue'\nOutputs:\n  QueueUrl:\n    Value: !Ref Queue\n")
	s.awsOK(t, nil, "create-component", "--name", "jobs", "--service-name", "orders", "--service-instance-name", "api",
		"--manifest", "file://"+manifest, "--template-file", "file://"+tpl)
	if c := s.waitComponent(t, "jobs", "SUCCEEDED", "FAILED"); c.DeploymentStatus != "SUCCEEDED" {
		t.Fatalf("component: %s %s\n%s", c.DeploymentStatus, c.DeploymentStatusMessage, s.deploymentLog(c.LastAttemptedDeploymentID))
	}
	compOut := outputsOf(t, s, "list-component-outputs", "--component-name", "jobs")
	if !strings.Contains(compOut["QueueUrl"], "jobs-queue") {
		t.Errorf("component outputs = %v", compOut)
	}
	if res := s.provisioned(t, "list-component-provisioned-resources", "--component-name", "jobs"); keys(res) != "Queue" {
		t.Errorf("component provisioned resources = %v", res)
	}

	// Update: api with a new port gets the component's queue too.
	apiSpec := serviceSpec([]string{"retention_days: 7"}, inst("api", "cfn-prod", "port: 9090", "env_vars:", "  LOG_LEVEL: info"))
	s.awsOK(t, nil, "update-service-instance", "--service-name", "orders", "--name", "api", "--deployment-type", "CURRENT_VERSION", "--spec", fileArg(t, apiSpec))
	if i := s.waitInstance(t, "orders", "api", "SUCCEEDED", "FAILED"); i.DeploymentStatus != "SUCCEEDED" {
		t.Fatalf("instance update: %s %s\n%s", i.DeploymentStatus, i.DeploymentStatusMessage, s.deploymentLog(i.LastAttemptedDeploymentID))
	}
	api = outputsOf(t, s, "list-service-instance-outputs", "--service-name", "orders", "--service-instance-name", "api")
	if api["Port"] != "9090" || api["QueueUrl"] != compOut["QueueUrl"] {
		t.Errorf("instance api outputs after the update = %v, want port 9090 and the component's queue %s", api, compOut["QueueUrl"])
	}
	spec2, _ := specFile(t, "vpc_cidr: 10.20.0.0/16", `subnet_cidrs: ["10.20.0.0/24", "10.20.1.0/24"]`, "team: checkout")
	s.awsOK(t, nil, "update-environment", "--name", "cfn-prod", "--deployment-type", "CURRENT_VERSION", "--spec", spec2)
	if e := s.waitEnvironment(t, "cfn-prod", "SUCCEEDED", "FAILED"); e.DeploymentStatus != "SUCCEEDED" || e.LastSucceededDeploymentID == env.LastSucceededDeploymentID {
		t.Fatalf("environment update: %s %s\n%s", e.DeploymentStatus, e.DeploymentStatusMessage, s.deploymentLog(e.LastAttemptedDeploymentID))
	}
	if got := outputsOf(t, s, "list-environment-outputs", "--environment-name", "cfn-prod")["Team"]; got != "checkout" {
		t.Errorf("environment Team output after the update = %q", got)
	}

	// Delete everything: no stack is left in moto.
	s.awsOK(t, nil, "update-component", "--name", "jobs", "--deployment-type", "CURRENT_VERSION", "--service-name", "", "--service-instance-name", "")
	if c := s.waitComponent(t, "jobs", "SUCCEEDED", "FAILED"); c.DeploymentStatus != "SUCCEEDED" || c.ServiceName != "" {
		t.Fatalf("component detach: %+v\n%s", c, s.deploymentLog(c.LastAttemptedDeploymentID))
	}
	s.awsOK(t, nil, "delete-component", "--name", "jobs")
	eventually(t, deployTimeout, "component jobs deleted", func() (bool, string) {
		c, err := s.getComponent("jobs")
		return err != nil, fmt.Sprint(c.DeploymentStatus, c.DeploymentStatusMessage)
	})
	s.awsOK(t, nil, "delete-service", "--name", "orders")
	s.waitServiceGone(t, "orders")
	s.awsOK(t, nil, "delete-environment", "--name", "cfn-prod")
	s.waitEnvironmentGone(t, "cfn-prod")
	if left := liveStacks(t, s, moto); len(left) != 0 {
		t.Errorf("stacks left after deleting everything: %v", left)
	}
}

// Cancels in flight, against cfnfake (a FAKE CloudFormation that holds a
// stack in progress until the test releases it; moto completes every
// operation inside the call and has no CancelUpdateStack), served on
// loopback from the test for the binary to reach.
func TestCloudFormationCancelInFlight(t *testing.T) {
	requireAWS(t)
	fake := cfnfake.New()
	t.Cleanup(fake.Close)
	s := startAWSServer(t, fake.URL)
	ctx, cancel := context.WithTimeout(context.Background(), 2*deployTimeout)
	defer cancel()
	release := func(stack string, statuses ...string) {
		t.Helper()
		for _, st := range statuses {
			if err := fake.WaitForStatus(ctx, stack, st); err != nil {
				t.Fatal(err)
			}
			if err := fake.Release(stack); err != nil {
				t.Fatal(err)
			}
		}
	}

	// An update cancelled in flight is rolled back: CANCELLED, and the
	// environment keeps its previous spec, outputs and template.
	s.registerTemplate(t, "vpc", "cfn-env")
	spec, specText := specFile(t, `subnet_cidrs: ["10.0.0.0/24"]`, "team: payments")
	s.awsOK(t, nil, "create-environment", "--name", "held", "--template-name", "vpc", "--template-major-version", "1",
		"--proton-service-role-arn", serviceArn, "--spec", spec)
	if e := s.waitEnvironment(t, "held", "SUCCEEDED", "FAILED"); e.DeploymentStatus != "SUCCEEDED" {
		t.Fatalf("environment: %s %s\n%s", e.DeploymentStatus, e.DeploymentStatusMessage, s.deploymentLog(e.LastAttemptedDeploymentID))
	}
	envStack := cloudformation.EnvironmentStackName("held")
	before := fake.Template(envStack)
	fake.SetBehavior(envStack, cfnfake.Behavior{Hold: true})
	spec2, _ := specFile(t, `subnet_cidrs: ["10.0.0.0/24"]`, "team: checkout")
	s.awsOK(t, nil, "update-environment", "--name", "held", "--deployment-type", "CURRENT_VERSION", "--spec", spec2)
	if err := fake.WaitForStatus(ctx, envStack, "UPDATE_IN_PROGRESS"); err != nil {
		t.Fatal(err)
	}
	var out environmentOut
	s.awsOK(t, &out, "cancel-environment-deployment", "--environment-name", "held")
	if out.Environment.DeploymentStatus != "CANCELLING" {
		t.Errorf("cancel-environment-deployment answered %s, want CANCELLING", out.Environment.DeploymentStatus)
	}
	release(envStack, "UPDATE_ROLLBACK_IN_PROGRESS", "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS")
	e := s.waitEnvironment(t, "held", "CANCELLED", "FAILED", "SUCCEEDED")
	if e.DeploymentStatus != "CANCELLED" || e.Spec != specText {
		t.Errorf("environment after the cancel: %s %q with spec %q, want CANCELLED with the previous spec\n%s", e.DeploymentStatus, e.DeploymentStatusMessage, e.Spec, s.deploymentLog(e.LastAttemptedDeploymentID))
	}
	if got := outputsOf(t, s, "list-environment-outputs", "--environment-name", "held")["Team"]; got != "payments" {
		t.Errorf("Team output after the cancel = %q, want the previous payments", got)
	}
	if st, tpl := fake.Status(envStack), fake.Template(envStack); st != "UPDATE_ROLLBACK_COMPLETE" || tpl != before {
		t.Errorf("stack after the cancel: %s with template\n%s\nwant the previous template", st, tpl)
	}
	fake.SetBehavior(envStack, cfnfake.Behavior{})

	// A create cancelled in flight deletes the stack: CANCELLED, nothing left.
	s.awsOK(t, nil, "update-account-settings", "--pipeline-service-role-arn", pipelineServiceRole)
	s.putBundle(t, "cfn-service", cfnSvcBundleKey)
	s.mustCall(t, "CreateServiceTemplate", map[string]string{"name": "fargate"}, nil)
	s.mustCall(t, "CreateServiceTemplateVersion", map[string]any{
		"templateName": "fargate", "source": map[string]any{"s3": map[string]string{"bucket": bundleBucket, "key": cfnSvcBundleKey}},
		"compatibleEnvironmentTemplates": []map[string]string{{"templateName": "vpc", "majorVersion": "1"}},
	}, nil)
	if v := s.waitServiceRegistered(t, "fargate", "1", "0"); v.Status != "DRAFT" {
		t.Fatalf("service template version: %s %s", v.Status, v.StatusMessage)
	}
	s.awsOK(t, nil, "update-service-template-version", "--template-name", "fargate", "--major-version", "1", "--minor-version", "0", "--status", "PUBLISHED")
	instStack := cloudformation.ServiceInstanceStackName("shop", "one")
	fake.SetBehavior(instStack, cfnfake.Behavior{Hold: true})
	s.awsOK(t, nil, "create-service", "--name", "shop", "--template-name", "fargate", "--template-major-version", "1",
		"--spec", fileArg(t, serviceSpec(nil, inst("one", "held"))))
	if err := fake.WaitForStatus(ctx, instStack, "CREATE_IN_PROGRESS"); err != nil {
		t.Fatal(err)
	}
	var iout serviceInstanceOut
	s.awsOK(t, &iout, "cancel-service-instance-deployment", "--service-name", "shop", "--service-instance-name", "one")
	if iout.ServiceInstance.DeploymentStatus != "CANCELLING" {
		t.Errorf("cancel-service-instance-deployment answered %s, want CANCELLING", iout.ServiceInstance.DeploymentStatus)
	}
	release(instStack, "DELETE_IN_PROGRESS")
	// The instance's deployment ends CANCELLED; the service's creation then
	// fails and its clean-up removes the instance, as Proton's did.
	id := iout.ServiceInstance.LastAttemptedDeploymentID
	var d deploymentOut
	eventually(t, deployTimeout, "deployment "+id+" to end", func() (bool, string) {
		if err := s.call("GetDeployment", map[string]string{"id": id}, &d); err != nil {
			return false, err.Error()
		}
		st := d.Deployment.DeploymentStatus
		return st != "IN_PROGRESS" && st != "CANCELLING", st
	})
	if d.Deployment.DeploymentStatus != "CANCELLED" {
		t.Errorf("instance deployment after the cancel: %s %q, want CANCELLED\n%s", d.Deployment.DeploymentStatus, d.Deployment.DeploymentStatusMessage, s.deploymentLog(id))
	}
	if st := fake.Status(instStack); st != "" {
		t.Errorf("stack after a cancelled create is %s, want none", st)
	}
}

// hadron render prints what a deployment would run, from the server's
// registered bundles, without AWS access and without deploying.
func TestHadronRenderPreviewsTheCloudFormation(t *testing.T) {
	requireAWS(t)
	s := startServer(t, t.TempDir())
	s.registerTemplate(t, "vpc", "cfn-env")
	s.putBundle(t, "cfn-service", cfnSvcBundleKey)
	s.mustCall(t, "CreateServiceTemplate", map[string]string{"name": "fargate"}, nil)
	s.mustCall(t, "CreateServiceTemplateVersion", map[string]any{
		"templateName": "fargate", "source": map[string]any{"s3": map[string]string{"bucket": bundleBucket, "key": cfnSvcBundleKey}},
		"compatibleEnvironmentTemplates": []map[string]string{{"templateName": "vpc", "majorVersion": "1"}},
	}, nil)
	if v := s.waitServiceRegistered(t, "fargate", "1", "0"); v.Status != "DRAFT" {
		t.Fatalf("service template version: %s %s", v.Status, v.StatusMessage)
	}
	render := func(args ...string) clientResult {
		t.Helper()
		return runClient(t, os.Environ(), hadronBin, append([]string{"render", "--data-dir", s.dataDir}, args...)...)
	}
	_, envSpec := specFile(t, `subnet_cidrs: ["10.1.0.0/24", "10.1.1.0/24", "10.1.2.0/24"]`)
	res := render("--template-version", "vpc:1.0", "--spec", writeFile(t, "env.yaml", envSpec), "--name", "staging")
	if res.Code != 0 || !strings.Contains(res.Stdout, "PublicSubnet3:") || !strings.Contains(res.Stdout, "CidrBlock: '10.1.2.0/24'") ||
		!strings.Contains(res.Stdout, "ClusterName: 'staging-cluster'") || strings.Contains(res.Stdout, "{%") {
		t.Errorf("render of the environment:\n%s", res)
	}
	svcSpec := writeFile(t, "svc.yaml", serviceSpec([]string{"retention_days: 3"}, inst("api", "staging", "port: 8443", "env_vars:", "  A: b"), inst("worker", "staging")))
	res = render("--template-version", "fargate:1.0", "--kind", "service", "--spec", svcSpec, "--name", "orders",
		"--instance", "api", "--environment-outputs", "ClusterName=staging-cluster,SubnetIds=subnet-1")
	if res.Code != 0 || !strings.Contains(res.Stdout, "ContainerPort: 8443") || !strings.Contains(res.Stdout, `[{"Name": "A", "Value": "b"}]`) ||
		!strings.Contains(res.Stdout, "in cluster staging-cluster") || !strings.Contains(res.Stdout, "Value: 'no-queue'") {
		t.Errorf("render of the instance:\n%s", res)
	}
	res = render("--template-version", "fargate:1.0", "--kind", "service", "--spec", svcSpec, "--name", "orders", "--pipeline")
	if res.Code != 0 || !strings.Contains(res.Stdout, "Artifactsworker:") || !strings.Contains(res.Stdout, "RetentionDays") {
		t.Errorf("render of the pipeline:\n%s", res)
	}
	// An instance without the environment outputs its template uses fails, naming the line and the variable.
	res = render("--template-version", "fargate:1.0", "--kind", "service", "--spec", svcSpec)
	if res.Code == 0 || !strings.Contains(res.Stderr, "cloudformation.yaml:2: environment.outputs.ClusterName is undefined") {
		t.Errorf("render without the environment's outputs:\n%s", res)
	}
}
