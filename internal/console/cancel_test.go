package console

import (
	"testing"

	"github.com/hadronhq/hadron/internal/api"
)

// Each of the four deployable kinds cancels with its own operation, named
// by the deployment's resource, and links back to its page.
func TestEveryKindOfDeploymentHasItsCancelAndPage(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		d        api.Deployment
		op, link string
		in       any
	}{
		{api.Deployment{TargetResourceType: "ENVIRONMENT", EnvironmentName: "web"}, "CancelEnvironmentDeployment", "/console/environments/web",
			api.CancelEnvironmentDeploymentInput{EnvironmentName: "web"}},
		{api.Deployment{TargetResourceType: "SERVICE_INSTANCE", EnvironmentName: "web", ServiceName: "api", ServiceInstanceName: "one"},
			"CancelServiceInstanceDeployment", "/console/services/api/instances/one",
			api.CancelServiceInstanceDeploymentInput{ServiceName: "api", ServiceInstanceName: "one"}},
		{api.Deployment{TargetResourceType: "SERVICE_PIPELINE", ServiceName: "api"}, "CancelServicePipelineDeployment", "/console/services/api/pipeline",
			api.CancelServicePipelineDeploymentInput{ServiceName: "api"}},
		{api.Deployment{TargetResourceType: "COMPONENT", EnvironmentName: "web", ComponentName: "c/1"}, "CancelComponentDeployment", "/console/components/c%2F1",
			api.CancelComponentDeploymentInput{ComponentName: "c/1"}},
	} {
		op, in := cancelOf(&c.d)
		if op != c.op || in != c.in {
			t.Errorf("%s: cancel %s %+v, want %s %+v", c.d.TargetResourceType, op, in, c.op, c.in)
		}
		if got := linkOf(&c.d); got != c.link {
			t.Errorf("%s: page %s, want %s", c.d.TargetResourceType, got, c.link)
		}
	}
}
