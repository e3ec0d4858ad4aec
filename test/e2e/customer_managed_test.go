package e2e

import (
	"testing"

	"github.com/hadronhq/hadron/internal/hadrontest"
)

// TestCLICustomerManagedEnvironment pins that an environment of a
// CUSTOMER_MANAGED template provisions nothing: its spec's values, defaults
// included, become its outputs.
func TestCLICustomerManagedEnvironment(t *testing.T) {
	hadrontest.Long(t)
	t.Parallel()
	requireAWS(t)
	s := startServer(t, t.TempDir())
	s.registerTemplate(t, "shared", "customer-managed", "--provisioning", "CUSTOMER_MANAGED")
	var tmpl templateOut
	s.awsOK(t, &tmpl, "get-environment-template", "--name", "shared")
	if tmpl.EnvironmentTemplate.Provisioning != "CUSTOMER_MANAGED" {
		t.Errorf("get-environment-template: provisioning %q, want CUSTOMER_MANAGED", tmpl.EnvironmentTemplate.Provisioning)
	}

	spec, specText := specFile(t, "vpc_id: vpc-0a1b2c", "stage: prod")
	var out environmentOut
	s.awsOK(t, &out, "create-environment", "--name", "shared-prod", "--template-name", "shared", "--template-major-version", "1",
		"--spec", spec)
	s.awsOK(t, nil, "wait", "environment-deployed", "--name", "shared-prod")
	s.awsOK(t, &out, "get-environment", "--name", "shared-prod")
	if e := out.Environment; e.DeploymentStatus != "SUCCEEDED" || e.Provisioning != "CUSTOMER_MANAGED" || e.Spec != specText {
		t.Errorf("get-environment: %+v; want SUCCEEDED, provisioning CUSTOMER_MANAGED, the spec", e)
	}
	var outs outputsOut
	s.awsOK(t, &outs, "list-environment-outputs", "--environment-name", "shared-prod")
	assertOutputs(t, "list-environment-outputs", outs.Outputs, map[string]string{
		"vpc_id": "vpc-0a1b2c", "stage": "prod", "subnet_ids": "subnet-1,subnet-2",
	})
}
