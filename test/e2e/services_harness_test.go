package e2e

import (
	"fmt"
	"strings"
	"testing"

	"github.com/hadronhq/hadron/internal/hadrontest"
)

// The harness of the service tests: shapes, spec files, fixtures and polls.

// The service template of the service tests, from testdata/bundles/service:
// instances and a pipeline on the codebuild engine, compatible with the
// environment template "network" major version 1.
const (
	svcTemplate    = "web"
	svcBundleKey   = "web.tar.gz"
	pipelineRole   = "arn:aws:iam::000000000000:role/hadron-pipeline-codebuild"
	compatibleNet1 = "templateName=network,majorVersion=1"
)

// Shapes of the API for services, as far as the tests look at them.
type (
	service struct {
		Name          string
		Arn           string
		Status        string
		StatusMessage string
		Spec          string
		TemplateName  string
		Pipeline      *servicePipeline
	}
	serviceOut struct{ Service service }

	servicePipeline struct {
		Arn                       string
		DeploymentStatus          string
		DeploymentStatusMessage   string
		Spec                      string
		TemplateName              string
		TemplateMajorVersion      string
		TemplateMinorVersion      string
		LastAttemptedDeploymentID string `json:"lastAttemptedDeploymentId"`
		LastSucceededDeploymentID string `json:"lastSucceededDeploymentId"`
	}
	pipelineOut struct{ Pipeline servicePipeline }

	serviceInstance struct {
		Name                      string
		ServiceName               string
		EnvironmentName           string
		Arn                       string
		DeploymentStatus          string
		DeploymentStatusMessage   string
		Spec                      string
		TemplateName              string
		TemplateMajorVersion      string
		TemplateMinorVersion      string
		LastAttemptedDeploymentID string `json:"lastAttemptedDeploymentId"`
		LastSucceededDeploymentID string `json:"lastSucceededDeploymentId"`
	}
	serviceInstanceOut  struct{ ServiceInstance serviceInstance }
	serviceInstancesOut struct {
		ServiceInstances []serviceInstance
		NextToken        string
	}

	serviceTemplateVersionOut struct{ ServiceTemplateVersion templateVersion }

	accountSettingsOut struct {
		AccountSettings struct{ PipelineCodebuildRoleArn string }
	}

	serviceInstanceState struct {
		Spec                                      string
		TemplateName                              string
		TemplateMajorVersion                      string
		TemplateMinorVersion                      string
		LastSuccessfulEnvironmentDeploymentID     string `json:"lastSuccessfulEnvironmentDeploymentId"`
		LastSuccessfulServicePipelineDeploymentID string `json:"lastSuccessfulServicePipelineDeploymentId"`
	}
	servicePipelineState struct {
		Spec                 string
		TemplateName         string
		TemplateMajorVersion string
		TemplateMinorVersion string
	}
	svcDeploymentState struct {
		ServiceInstance *serviceInstanceState
		ServicePipeline *servicePipelineState
	}
	// svcDeployment is a deployment of a service instance or pipeline.
	svcDeployment struct {
		ID                      string `json:"id"`
		DeploymentStatus        string
		DeploymentStatusMessage string
		EnvironmentName         string
		ServiceName             string
		ServiceInstanceName     string
		TargetArn               string
		TargetResourceType      string
		InitialState            *svcDeploymentState
		TargetState             *svcDeploymentState
	}
	svcDeploymentOut  struct{ Deployment svcDeployment }
	svcDeploymentsOut struct {
		Deployments []svcDeployment
		NextToken   string
	}
)

// Service specs.

// svcInstance is one entry of a service spec's instances.
type svcInstance struct {
	name, env string
	inputs    []string // YAML lines "key: value"
}

// inst is an instance of a service spec with inputs as YAML lines "key: value".
func inst(name, env string, inputs ...string) svcInstance {
	return svcInstance{name: name, env: env, inputs: inputs}
}

// serviceSpec writes a service spec: the pipeline's inputs (YAML lines
// "key: value"; no pipeline section when nil) and the instances.
func serviceSpec(pipeline []string, instances ...svcInstance) string {
	var b strings.Builder
	b.WriteString("proton: ServiceSpec\n")
	if pipeline != nil {
		b.WriteString("pipeline:\n")
		for _, in := range pipeline {
			b.WriteString("  " + in + "\n")
		}
	}
	b.WriteString("instances:\n")
	for _, i := range instances {
		fmt.Fprintf(&b, "  - name: %s\n    environment: %s\n", i.name, i.env)
		if len(i.inputs) == 0 {
			b.WriteString("    spec: {}\n")
			continue
		}
		b.WriteString("    spec:\n")
		for _, in := range i.inputs {
			b.WriteString("      " + in + "\n")
		}
	}
	return b.String()
}

// fileArg writes text to a new file and returns its file:// argument for the CLI.
func fileArg(t *testing.T, text string) string {
	t.Helper()
	return "file://" + writeFile(t, "spec.yaml", text)
}

// Fixtures, through the API directly: they cost little and need no client.

// serviceFixture publishes the environment template "network" 1.0 and
// deploys the environments envs with it, sets the account's pipeline
// CodeBuild role, and registers and publishes version 1.0 of the service
// template "web" (testdata/bundles/service), compatible with network 1.
func (s *server) serviceFixture(t *testing.T, envs ...string) {
	t.Helper()
	s.deployEnvironments(t, envs...)
	s.mustCall(t, "UpdateAccountSettings", map[string]string{"pipelineCodebuildRoleArn": pipelineRole}, nil)
	s.putBundle(t, "service", svcBundleKey)
	s.mustCall(t, "CreateServiceTemplate", map[string]string{"name": svcTemplate}, nil)
	s.mustCall(t, "CreateServiceTemplateVersion", map[string]any{
		"templateName": svcTemplate, "source": map[string]any{"s3": map[string]string{"bucket": bundleBucket, "key": svcBundleKey}},
		"compatibleEnvironmentTemplates": []map[string]string{{"templateName": "network", "majorVersion": "1"}},
	}, nil)
	if v := s.waitServiceRegistered(t, svcTemplate, "1", "0"); v.Status != "DRAFT" {
		t.Fatalf("service template version %s:1.0 is %s (%s), want DRAFT", svcTemplate, v.Status, v.StatusMessage)
	}
	s.mustCall(t, "UpdateServiceTemplateVersion", map[string]string{
		"templateName": svcTemplate, "majorVersion": "1", "minorVersion": "0", "status": "PUBLISHED",
	}, nil)
}

// deployEnvironments publishes the environment template "network" 1.0 and
// deploys the environments envs with it (name_tag: the environment's name),
// with CodeBuild provisioning.
func (s *server) deployEnvironments(t *testing.T, envs ...string) {
	t.Helper()
	s.publishNetwork(t)
	for _, e := range envs {
		s.mustCall(t, "CreateEnvironment", map[string]string{
			"name": e, "templateName": "network", "templateMajorVersion": "1", "codebuildRoleArn": codebuildArn,
			"spec": "proton: EnvironmentSpec\nspec:\n  name_tag: " + e + "\n",
		}, nil)
	}
	for _, e := range envs {
		s.waitEnvironment(t, e, "SUCCEEDED")
	}
}

// waitServiceRegistered waits until a service template version is no longer
// REGISTRATION_IN_PROGRESS and returns it.
func (s *server) waitServiceRegistered(t *testing.T, template, major, minor string) templateVersion {
	t.Helper()
	return s.waitVersion(t, "GetServiceTemplateVersion", template, major, minor)
}

// Reads and polls.

func (s *server) getService(name string) (service, error) {
	var out serviceOut
	err := s.call("GetService", map[string]string{"name": name}, &out)
	return out.Service, err
}

func (s *server) getInstance(svc, name string) (serviceInstance, error) {
	var out serviceInstanceOut
	err := s.call("GetServiceInstance", map[string]string{"serviceName": svc, "name": name}, &out)
	return out.ServiceInstance, err
}

// waitService waits until the service's status is one of statuses.
func (s *server) waitService(t *testing.T, name string, statuses ...string) service {
	t.Helper()
	return hadrontest.AwaitStatus(t, deployTimeout, "service "+name, func() (service, error) { return s.getService(name) },
		func(svc service) string { return svc.Status }, statuses...)
}

// waitServiceGone waits until GetService answers ResourceNotFoundException.
func (s *server) waitServiceGone(t *testing.T, name string) {
	t.Helper()
	hadrontest.AwaitNotFound(t, deployTimeout, "service "+name, func() (service, error) { return s.getService(name) })
}

// waitInstance waits until the instance's deploymentStatus is one of statuses.
func (s *server) waitInstance(t *testing.T, svc, name string, statuses ...string) serviceInstance {
	t.Helper()
	return hadrontest.AwaitStatus(t, deployTimeout, "service instance "+svc+"/"+name, func() (serviceInstance, error) { return s.getInstance(svc, name) },
		func(i serviceInstance) string { return i.DeploymentStatus }, statuses...)
}

// waitPipeline waits until the service's pipeline's deploymentStatus is one of statuses.
func (s *server) waitPipeline(t *testing.T, name string, statuses ...string) servicePipeline {
	t.Helper()
	get := func() (servicePipeline, error) {
		svc, err := s.getService(name)
		if err == nil && svc.Pipeline == nil {
			err = fmt.Errorf("no pipeline: %+v", svc)
		}
		if err != nil {
			return servicePipeline{}, err
		}
		return *svc.Pipeline, nil
	}
	return hadrontest.AwaitStatus(t, deployTimeout, "the pipeline of service "+name, get,
		func(p servicePipeline) string { return p.DeploymentStatus }, statuses...)
}

// instanceNames lists the names of instances.
func instanceNames(list []serviceInstance) []string {
	names := make([]string, len(list))
	for i, in := range list {
		names[i] = in.Name
	}
	return names
}

// svcDeploymentIDs lists the ids of deployments.
func svcDeploymentIDs(ds []svcDeployment) []string {
	ids := make([]string, len(ds))
	for i, d := range ds {
		ids[i] = d.ID
	}
	return ids
}

// waiterFails runs `aws proton wait <args>` and fails the test unless the
// waiter ends in failure naming want (the status it stopped on).
func (s *server) waiterFails(t *testing.T, want string, args ...string) {
	t.Helper()
	res := s.aws(t, append([]string{"wait"}, args...)...)
	if res.Code == 0 || !strings.Contains(res.Stderr, want) {
		t.Errorf("want the waiter to fail on %s:\n%s", want, res)
	}
}
