package e2e

import (
	"strings"
	"testing"

	"github.com/hadronhq/hadron/internal/hadrontest"
)

// TestCLIServiceWalkthrough runs the developer's story with the AWS CLI: a
// service template with instance and pipeline infrastructure, a service with
// two instances in two environments and a pipeline, instance updates
// (CURRENT_VERSION, MINOR_VERSION, MAJOR_VERSION) with a cancelled one
// between, a cancelled and a successful pipeline update, instances added and
// removed with update-service and added with create-service-instance,
// outputs, deployment history, and the delete, waiting with the CLI's
// service waiters.
func TestCLIServiceWalkthrough(t *testing.T) {
	hadrontest.Long(t)
	t.Parallel()
	requireAWS(t)
	s := startServer(t, t.TempDir())

	// Two environments of a published environment template.
	s.registerTemplate(t, "network", "network")
	for _, e := range []string{"alpha", "beta"} {
		spec, _ := specFile(t, "name_tag: "+e)
		s.awsOK(t, nil, "create-environment", "--name", e, "--template-name", "network", "--template-major-version", "1",
			"--codebuild-role-arn", codebuildArn, "--spec", spec)
	}
	alpha := s.waitEnvironment(t, "alpha", "SUCCEEDED")
	s.waitEnvironment(t, "beta", "SUCCEEDED")

	// Pipelines run with the account's CodeBuild role.
	var settings accountSettingsOut
	s.awsOK(t, &settings, "update-account-settings", "--pipeline-codebuild-role-arn", pipelineRole)
	if got := settings.AccountSettings.PipelineCodebuildRoleArn; got != pipelineRole {
		t.Errorf("update-account-settings answered pipelineCodebuildRoleArn %q, want %q", got, pipelineRole)
	}

	// Register and publish the service template's version 1.0.
	s.putBundle(t, "service", svcBundleKey)
	s.awsOK(t, nil, "create-service-template", "--name", svcTemplate, "--display-name", "Web service")
	var ver serviceTemplateVersionOut
	s.awsOK(t, &ver, "create-service-template-version", "--template-name", svcTemplate,
		"--source", "s3={bucket=templates,key="+svcBundleKey+"}", "--compatible-environment-templates", compatibleNet1)
	if v := ver.ServiceTemplateVersion; v.MajorVersion != "1" || v.MinorVersion != "0" {
		t.Fatalf("create-service-template-version made %s.%s, want 1.0", v.MajorVersion, v.MinorVersion)
	}
	s.awsOK(t, nil, "wait", "service-template-version-registered", "--template-name", svcTemplate,
		"--major-version", "1", "--minor-version", "0")
	s.awsOK(t, &ver, "update-service-template-version", "--template-name", svcTemplate,
		"--major-version", "1", "--minor-version", "0", "--status", "PUBLISHED")
	if ver.ServiceTemplateVersion.Status != "PUBLISHED" {
		t.Fatalf("update-service-template-version --status PUBLISHED answered %+v", ver.ServiceTemplateVersion)
	}

	// A service with two instances in two environments and a pipeline.
	createSpec := serviceSpec([]string{"stages: 2"}, inst("one", "alpha", "port: 8080"), inst("two", "beta"))
	var svcOut serviceOut
	s.awsOK(t, &svcOut, "create-service", "--name", "api", "--template-name", svcTemplate, "--template-major-version", "1",
		"--spec", fileArg(t, createSpec))
	if svc := svcOut.Service; svc.Status != "CREATE_IN_PROGRESS" || svc.Pipeline == nil {
		t.Errorf("create-service answered %+v, want CREATE_IN_PROGRESS with a pipeline", svc)
	}
	s.awsOK(t, nil, "wait", "service-created", "--name", "api")
	s.awsOK(t, &svcOut, "get-service", "--name", "api")
	if svc := svcOut.Service; svc.Status != "ACTIVE" || svc.Spec != createSpec || svc.Pipeline == nil || svc.Pipeline.DeploymentStatus != "SUCCEEDED" {
		t.Fatalf("after the service-created waiter: %+v (pipeline %+v), want ACTIVE with the spec and a SUCCEEDED pipeline", svc, svc.Pipeline)
	}
	firstPipeline := svcOut.Service.Pipeline.LastSucceededDeploymentID
	var list serviceInstancesOut
	s.awsOK(t, &list, "list-service-instances", "--service-name", "api")
	if got := strings.Join(instanceNames(list.ServiceInstances), " "); got != "one two" {
		t.Errorf("list-service-instances listed %s, want one two", got)
	}
	for _, i := range list.ServiceInstances {
		if i.DeploymentStatus != "SUCCEEDED" || i.TemplateMajorVersion != "1" || i.TemplateMinorVersion != "0" {
			t.Errorf("instance %s: %s on %s.%s, want SUCCEEDED on 1.0", i.Name, i.DeploymentStatus, i.TemplateMajorVersion, i.TemplateMinorVersion)
		}
	}
	// Each instance saw its own inputs and its environment's outputs; the
	// pipeline saw both instances with their outputs.
	var outs outputsOut
	s.awsOK(t, &outs, "list-service-instance-outputs", "--service-name", "api", "--service-instance-name", "two")
	assertOutputs(t, "list-service-instance-outputs two", outs.Outputs, map[string]string{
		"Endpoint": "http://two.api.beta:80", "Image": "web", "EnvGreeting": "hello-beta",
		"ResourceArn": "arn:aws:proton:us-east-1:000000000000:service/api/service-instance/two",
	})
	wantOneOutputs := map[string]string{
		"Endpoint": "http://one.api.alpha:8080", "Image": "web", "EnvGreeting": "hello-alpha",
		"ResourceArn": "arn:aws:proton:us-east-1:000000000000:service/api/service-instance/one",
	}
	s.awsOK(t, &outs, "list-service-instance-outputs", "--service-name", "api", "--service-instance-name", "one")
	assertOutputs(t, "list-service-instance-outputs one", outs.Outputs, wantOneOutputs)
	wantPipelineOutputs := map[string]string{
		"Stages": "2", "Instances": "2", "InstanceNames": "one two",
		"Endpoints":   "http://one.api.alpha:8080 http://two.api.beta:80",
		"ResourceArn": "arn:aws:proton:us-east-1:000000000000:service/api/pipeline",
	}
	s.awsOK(t, &outs, "list-service-pipeline-outputs", "--service-name", "api")
	assertOutputs(t, "list-service-pipeline-outputs", outs.Outputs, wantPipelineOutputs)

	// CURRENT_VERSION: a new image, the port kept with ${Proton::CURRENT_VAL}.
	currentSpec := serviceSpec([]string{"stages: 2"}, inst("one", "alpha", `port: "${Proton::CURRENT_VAL}"`, "image: web-v2"), inst("two", "beta"))
	var instOut serviceInstanceOut
	s.awsOK(t, &instOut, "update-service-instance", "--service-name", "api", "--name", "one",
		"--deployment-type", "CURRENT_VERSION", "--spec", fileArg(t, currentSpec))
	if i := instOut.ServiceInstance; i.DeploymentStatus != "IN_PROGRESS" || i.Spec != createSpec {
		t.Errorf("update-service-instance answered %s with spec %q, want IN_PROGRESS with the deployed spec until it succeeds", i.DeploymentStatus, i.Spec)
	}
	s.awsOK(t, nil, "wait", "service-instance-deployed", "--service-name", "api", "--name", "one")
	s.awsOK(t, &instOut, "get-service-instance", "--service-name", "api", "--name", "one")
	one := instOut.ServiceInstance
	// The spec kept is the one given with the placeholder resolved, so that
	// the next update reads the port as its current value.
	if one.DeploymentStatus != "SUCCEEDED" || strings.Contains(one.Spec, "CURRENT_VAL") || !strings.Contains(one.Spec, "image: web-v2") {
		t.Fatalf("after CURRENT_VERSION: %+v, want SUCCEEDED with the new spec, its placeholder resolved", one)
	}
	currentSpec = one.Spec
	wantOneOutputs["Image"] = "web-v2"
	s.awsOK(t, &outs, "list-service-instance-outputs", "--service-name", "api", "--service-instance-name", "one")
	assertOutputs(t, "list-service-instance-outputs one after CURRENT_VERSION (port kept)", outs.Outputs, wantOneOutputs)
	currentID := one.LastSucceededDeploymentID

	// Version 1.1; a MINOR_VERSION update that runs long is cancelled: the
	// instance keeps its last successful spec, version and outputs.
	s.awsOK(t, &ver, "create-service-template-version", "--template-name", svcTemplate, "--major-version", "1",
		"--source", "s3={bucket=templates,key="+svcBundleKey+"}", "--compatible-environment-templates", compatibleNet1)
	if v := s.waitServiceRegistered(t, svcTemplate, "1", "1"); v.Status != "DRAFT" {
		t.Fatalf("service template version 1.1 is %s (%s), want DRAFT", v.Status, v.StatusMessage)
	}
	s.awsOK(t, nil, "update-service-template-version", "--template-name", svcTemplate,
		"--major-version", "1", "--minor-version", "1", "--status", "PUBLISHED")
	slowSpec := serviceSpec([]string{"stages: 2"}, inst("one", "alpha", "port: 8080", "image: web-v3", "seconds: 120"), inst("two", "beta"))
	s.awsOK(t, &instOut, "update-service-instance", "--service-name", "api", "--name", "one",
		"--deployment-type", "MINOR_VERSION", "--spec", fileArg(t, slowSpec))
	cancelledID := instOut.ServiceInstance.LastAttemptedDeploymentID
	if cancelledID == currentID || instOut.ServiceInstance.DeploymentStatus != "IN_PROGRESS" {
		t.Fatalf("update-service-instance MINOR_VERSION answered %+v, want a new deployment IN_PROGRESS", instOut.ServiceInstance)
	}
	s.waitDeploymentLog(t, cancelledID, "instance: started")
	s.awsOK(t, &instOut, "cancel-service-instance-deployment", "--service-name", "api", "--service-instance-name", "one")
	if got := instOut.ServiceInstance.DeploymentStatus; got != "CANCELLING" {
		t.Errorf("cancel-service-instance-deployment answered deploymentStatus %s, want CANCELLING", got)
	}
	s.waitInstance(t, "api", "one", "CANCELLED", "FAILED", "SUCCEEDED")
	s.awsOK(t, &instOut, "get-service-instance", "--service-name", "api", "--name", "one")
	one = instOut.ServiceInstance
	if one.DeploymentStatus != "CANCELLED" || one.DeploymentStatusMessage != "User initiated cancellation." {
		t.Errorf("after the cancel: %s (%q), want CANCELLED, \"User initiated cancellation.\"", one.DeploymentStatus, one.DeploymentStatusMessage)
	}
	if one.Spec != currentSpec || one.TemplateMajorVersion != "1" || one.TemplateMinorVersion != "0" ||
		one.LastSucceededDeploymentID != currentID || one.LastAttemptedDeploymentID != cancelledID {
		t.Errorf("after the cancel: %+v; want the spec and version 1.0 of the last success %s", one, currentID)
	}
	s.awsOK(t, &outs, "list-service-instance-outputs", "--service-name", "api", "--service-instance-name", "one")
	assertOutputs(t, "list-service-instance-outputs one after the cancel", outs.Outputs, wantOneOutputs)
	msg := s.awsErr(t, "ConflictException", "cancel-service-instance-deployment", "--service-name", "api", "--service-instance-name", "one")
	if !strings.Contains(msg, "CANCELLED") {
		t.Errorf("a second cancel: the error does not name the status CANCELLED: %s", msg)
	}

	// MINOR_VERSION again, with the same inputs spelled out: the instance moves to 1.1.
	minorSpec := serviceSpec([]string{"stages: 2"}, inst("one", "alpha", "port: 8080", "image: web-v2"), inst("two", "beta"))
	s.awsOK(t, &instOut, "update-service-instance", "--service-name", "api", "--name", "one", "--deployment-type", "MINOR_VERSION",
		"--spec", fileArg(t, minorSpec))
	minorID := instOut.ServiceInstance.LastAttemptedDeploymentID
	s.awsOK(t, nil, "wait", "service-instance-deployed", "--service-name", "api", "--name", "one")
	s.awsOK(t, &instOut, "get-service-instance", "--service-name", "api", "--name", "one")
	if one = instOut.ServiceInstance; one.TemplateMinorVersion != "1" || one.Spec != minorSpec || one.LastSucceededDeploymentID != minorID {
		t.Errorf("after MINOR_VERSION: %+v, want version 1.1 with the new spec", one)
	}

	// MAJOR_VERSION to 2.0.
	s.awsOK(t, &ver, "create-service-template-version", "--template-name", svcTemplate,
		"--source", "s3={bucket=templates,key="+svcBundleKey+"}", "--compatible-environment-templates", compatibleNet1)
	if v := s.waitServiceRegistered(t, svcTemplate, "2", "0"); v.Status != "DRAFT" {
		t.Fatalf("service template version 2.0 is %s (%s), want DRAFT", v.Status, v.StatusMessage)
	}
	s.awsOK(t, nil, "update-service-template-version", "--template-name", svcTemplate,
		"--major-version", "2", "--minor-version", "0", "--status", "PUBLISHED")
	s.awsOK(t, &instOut, "update-service-instance", "--service-name", "api", "--name", "one", "--deployment-type", "MAJOR_VERSION")
	majorID := instOut.ServiceInstance.LastAttemptedDeploymentID
	if one = s.waitInstance(t, "api", "one", "SUCCEEDED", "FAILED"); one.DeploymentStatus != "SUCCEEDED" || one.TemplateMajorVersion != "2" || one.TemplateMinorVersion != "0" {
		t.Errorf("after MAJOR_VERSION: %+v, want SUCCEEDED on 2.0", one)
	}

	// The pipeline: a long update cancelled, then a MINOR_VERSION update.
	slowPipeline := serviceSpec([]string{"stages: 5", "seconds: 120"}, inst("one", "alpha", "port: 8080"), inst("two", "beta"))
	var pipeOut pipelineOut
	s.awsOK(t, &pipeOut, "update-service-pipeline", "--service-name", "api", "--deployment-type", "CURRENT_VERSION",
		"--spec", fileArg(t, slowPipeline))
	cancelledPipeline := pipeOut.Pipeline.LastAttemptedDeploymentID
	if pipeOut.Pipeline.DeploymentStatus != "IN_PROGRESS" || cancelledPipeline == firstPipeline {
		t.Fatalf("update-service-pipeline answered %+v, want a new deployment IN_PROGRESS", pipeOut.Pipeline)
	}
	s.waitDeploymentLog(t, cancelledPipeline, "pipeline: started")
	s.awsOK(t, &pipeOut, "cancel-service-pipeline-deployment", "--service-name", "api")
	if got := pipeOut.Pipeline.DeploymentStatus; got != "CANCELLING" {
		t.Errorf("cancel-service-pipeline-deployment answered deploymentStatus %s, want CANCELLING", got)
	}
	pipe := s.waitPipeline(t, "api", "CANCELLED", "FAILED", "SUCCEEDED")
	if pipe.DeploymentStatus != "CANCELLED" || pipe.DeploymentStatusMessage != "User initiated cancellation." ||
		pipe.Spec != createSpec || pipe.TemplateMinorVersion != "0" || pipe.LastSucceededDeploymentID != firstPipeline {
		t.Errorf("the pipeline after the cancel: %+v; want CANCELLED with the spec and version 1.0 of %s", pipe, firstPipeline)
	}
	s.awsOK(t, &outs, "list-service-pipeline-outputs", "--service-name", "api")
	assertOutputs(t, "list-service-pipeline-outputs after the cancel", outs.Outputs, wantPipelineOutputs)

	pipelineSpec := serviceSpec([]string{"stages: 3"}, inst("one", "alpha", "port: 8080"), inst("two", "beta"))
	s.awsOK(t, &pipeOut, "update-service-pipeline", "--service-name", "api", "--deployment-type", "MINOR_VERSION",
		"--spec", fileArg(t, pipelineSpec))
	s.awsOK(t, nil, "wait", "service-pipeline-deployed", "--name", "api")
	s.awsOK(t, &svcOut, "get-service", "--name", "api")
	if p := svcOut.Service.Pipeline; p == nil || p.DeploymentStatus != "SUCCEEDED" || p.TemplateMinorVersion != "1" || p.Spec != pipelineSpec {
		t.Errorf("the pipeline after MINOR_VERSION: %+v, want SUCCEEDED on 1.1 with the new spec", p)
	}
	wantPipelineOutputs["Stages"] = "3"
	s.awsOK(t, &outs, "list-service-pipeline-outputs", "--service-name", "api")
	assertOutputs(t, "list-service-pipeline-outputs after MINOR_VERSION", outs.Outputs, wantPipelineOutputs)

	// update-service adds three and removes two; then the pipeline deploys
	// again with the new set.
	updateSpec := serviceSpec([]string{"stages: 3"}, inst("one", "alpha", "port: 8080"), inst("three", "beta", "seconds: 1"))
	s.awsOK(t, &svcOut, "update-service", "--name", "api", "--spec", fileArg(t, updateSpec))
	if svcOut.Service.Status != "UPDATE_IN_PROGRESS" {
		t.Errorf("update-service answered status %s, want UPDATE_IN_PROGRESS", svcOut.Service.Status)
	}
	s.awsOK(t, nil, "wait", "service-updated", "--name", "api")
	s.awsOK(t, &svcOut, "get-service", "--name", "api")
	if svc := svcOut.Service; svc.Status != "ACTIVE" || svc.Spec != updateSpec {
		t.Errorf("after the service-updated waiter: %+v, want ACTIVE with the new spec", svc)
	}
	s.awsErr(t, "ResourceNotFoundException", "get-service-instance", "--service-name", "api", "--name", "two")
	wantPipelineOutputs["Instances"], wantPipelineOutputs["InstanceNames"] = "2", "one three"
	wantPipelineOutputs["Endpoints"] = "http://one.api.alpha:8080 http://three.api.beta:80"
	s.awsOK(t, &outs, "list-service-pipeline-outputs", "--service-name", "api")
	assertOutputs(t, "list-service-pipeline-outputs after update-service", outs.Outputs, wantPipelineOutputs)

	// create-service-instance adds four.
	fourSpec := serviceSpec([]string{"stages: 3"}, inst("four", "alpha", "port: 9090", "image: worker"))
	s.awsOK(t, &instOut, "create-service-instance", "--service-name", "api", "--name", "four", "--spec", fileArg(t, fourSpec))
	if i := instOut.ServiceInstance; i.DeploymentStatus != "IN_PROGRESS" || i.EnvironmentName != "alpha" {
		t.Errorf("create-service-instance answered %+v, want IN_PROGRESS in alpha", i)
	}
	s.waitInstance(t, "api", "four", "SUCCEEDED")
	s.awsOK(t, &outs, "list-service-instance-outputs", "--service-name", "api", "--service-instance-name", "four")
	assertOutputs(t, "list-service-instance-outputs four", outs.Outputs, map[string]string{
		"Endpoint": "http://four.api.alpha:9090", "Image": "worker", "EnvGreeting": "hello-alpha",
		"ResourceArn": "arn:aws:proton:us-east-1:000000000000:service/api/service-instance/four",
	})
	s.awsOK(t, &list, "list-service-instances", "--service-name", "api", "--sort-by", "name", "--sort-order", "DESCENDING", "--page-size", "1")
	if got := strings.Join(instanceNames(list.ServiceInstances), " "); got != "three one four" {
		t.Errorf("list-service-instances by name, descending, one per page: %s, want three one four", got)
	}

	// The history of instance one, newest first, one per page.
	var deps svcDeploymentsOut
	s.awsOK(t, &deps, "list-deployments", "--service-name", "api", "--service-instance-name", "one", "--page-size", "1")
	want := []string{majorID, minorID, cancelledID, currentID}
	if got := svcDeploymentIDs(deps.Deployments); len(got) != 5 || strings.Join(got[:4], " ") != strings.Join(want, " ") {
		t.Errorf("list-deployments of instance one: %v, want %v and its create", got, want)
	} else {
		var st []string
		for _, d := range deps.Deployments {
			st = append(st, d.DeploymentStatus)
		}
		if strings.Join(st, " ") != "SUCCEEDED SUCCEEDED CANCELLED SUCCEEDED SUCCEEDED" {
			t.Errorf("list-deployments of instance one: statuses %v", st)
		}
	}
	// The whole service's history: 5 deployments of one, 2 of two (create,
	// delete), 1 each of three and four, 4 of the pipeline (create, cancelled,
	// MINOR_VERSION, after update-service); --max-items pages with a token.
	s.awsOK(t, &deps, "list-deployments", "--service-name", "api", "--page-size", "4")
	all := deps.Deployments
	if len(all) != 13 {
		t.Errorf("list-deployments --service-name api listed %d deployments, want 13: %s", len(all), jsonText(all))
	}
	for _, d := range all {
		if d.ServiceName != "api" {
			t.Errorf("list-deployments --service-name api listed %s", jsonText(d))
		}
	}
	s.awsOK(t, &deps, "list-deployments", "--service-name", "api", "--page-size", "4", "--max-items", "6")
	first := deps.Deployments
	if len(first) != 6 || deps.NextToken == "" {
		t.Fatalf("list-deployments --max-items 6 listed %d with NextToken %q, want 6 and a token", len(first), deps.NextToken)
	}
	s.awsOK(t, &deps, "list-deployments", "--service-name", "api", "--page-size", "4", "--starting-token", deps.NextToken)
	if got := strings.Join(svcDeploymentIDs(append(first, deps.Deployments...)), " "); got != strings.Join(svcDeploymentIDs(all), " ") {
		t.Errorf("list-deployments in two runs of the CLI listed %s, want %s", got, strings.Join(svcDeploymentIDs(all), " "))
	}

	// The cancelled deployment records what it started from and aimed at.
	var dep svcDeploymentOut
	s.awsOK(t, &dep, "get-deployment", "--id", cancelledID)
	d := dep.Deployment
	if d.DeploymentStatus != "CANCELLED" || d.ServiceName != "api" || d.ServiceInstanceName != "one" || d.EnvironmentName != "alpha" {
		t.Errorf("get-deployment %s: %s", cancelledID, jsonText(d))
	}
	if d.InitialState == nil || d.InitialState.ServiceInstance == nil || d.InitialState.ServiceInstance.Spec != currentSpec ||
		d.InitialState.ServiceInstance.TemplateMinorVersion != "0" {
		t.Errorf("get-deployment initialState = %s, want instance one's 1.0 with spec %q", jsonText(d.InitialState), currentSpec)
	}
	if ts := d.TargetState; ts == nil || ts.ServiceInstance == nil || ts.ServiceInstance.Spec != slowSpec ||
		ts.ServiceInstance.TemplateName != svcTemplate || ts.ServiceInstance.TemplateMinorVersion != "1" ||
		ts.ServiceInstance.LastSuccessfulEnvironmentDeploymentID != alpha.LastSucceededDeploymentID ||
		ts.ServiceInstance.LastSuccessfulServicePipelineDeploymentID != firstPipeline {
		t.Errorf("get-deployment targetState = %s, want web 1.1 with spec %q rendered against environment deployment %s and pipeline deployment %s",
			jsonText(ts), slowSpec, alpha.LastSucceededDeploymentID, firstPipeline)
	}
	s.awsOK(t, &outs, "list-service-instance-outputs", "--service-name", "api", "--service-instance-name", "one", "--deployment-id", currentID)
	assertOutputs(t, "list-service-instance-outputs --deployment-id <CURRENT_VERSION>", outs.Outputs, wantOneOutputs)

	// Delete the service, then the environment it was in.
	s.awsOK(t, &svcOut, "delete-service", "--name", "api")
	if svcOut.Service.Status != "DELETE_IN_PROGRESS" {
		t.Errorf("delete-service answered status %s, want DELETE_IN_PROGRESS", svcOut.Service.Status)
	}
	s.awsOK(t, nil, "wait", "service-deleted", "--name", "api")
	s.awsErr(t, "ResourceNotFoundException", "get-service", "--name", "api")
	s.awsErr(t, "ResourceNotFoundException", "get-service-instance", "--service-name", "api", "--name", "one")
	s.awsOK(t, nil, "delete-environment", "--name", "alpha")
	s.waitEnvironmentGone(t, "alpha")
}
