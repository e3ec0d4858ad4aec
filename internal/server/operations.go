package server

import (
	"github.com/hadronhq/hadron/internal/awsjson"
	"github.com/hadronhq/hadron/internal/proton"
)

// register connects every implemented operation to its handler. Operations of
// the model not listed here answer UnknownOperationException.
func register(s *awsjson.Server, p *proton.Service) {
	handle(s, "CreateEnvironmentTemplate", p.CreateEnvironmentTemplate)
	handle(s, "GetEnvironmentTemplate", p.GetEnvironmentTemplate)
	handle(s, "ListEnvironmentTemplates", p.ListEnvironmentTemplates)
	handle(s, "UpdateEnvironmentTemplate", p.UpdateEnvironmentTemplate)
	handle(s, "DeleteEnvironmentTemplate", p.DeleteEnvironmentTemplate)

	handle(s, "CreateEnvironmentTemplateVersion", p.CreateEnvironmentTemplateVersion)
	handle(s, "GetEnvironmentTemplateVersion", p.GetEnvironmentTemplateVersion)
	handle(s, "ListEnvironmentTemplateVersions", p.ListEnvironmentTemplateVersions)
	handle(s, "UpdateEnvironmentTemplateVersion", p.UpdateEnvironmentTemplateVersion)
	handle(s, "DeleteEnvironmentTemplateVersion", p.DeleteEnvironmentTemplateVersion)

	handle(s, "CreateEnvironment", p.CreateEnvironment)
	handle(s, "GetEnvironment", p.GetEnvironment)
	handle(s, "ListEnvironments", p.ListEnvironments)
	handle(s, "UpdateEnvironment", p.UpdateEnvironment)
	handle(s, "DeleteEnvironment", p.DeleteEnvironment)
	handle(s, "CancelEnvironmentDeployment", p.CancelEnvironmentDeployment)
	handle(s, "ListEnvironmentOutputs", p.ListEnvironmentOutputs)
	handle(s, "ListEnvironmentProvisionedResources", p.ListEnvironmentProvisionedResources)

	handle(s, "GetDeployment", p.GetDeployment)
	handle(s, "ListDeployments", p.ListDeployments)
	handle(s, "DeleteDeployment", p.DeleteDeployment)
}
