package server

import (
	"github.com/hadronhq/hadron/internal/awsjson"
	"github.com/hadronhq/hadron/internal/proton"
)

// register connects every implemented operation to its handler. Operations of
// the model not listed here answer UnknownOperationException.
func register(s *awsjson.Server, p *proton.API) {
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

	// Service templates, their versions, and the account settings.
	handle(s, "CreateServiceTemplate", p.CreateServiceTemplate)
	handle(s, "GetServiceTemplate", p.GetServiceTemplate)
	handle(s, "ListServiceTemplates", p.ListServiceTemplates)
	handle(s, "UpdateServiceTemplate", p.UpdateServiceTemplate)
	handle(s, "DeleteServiceTemplate", p.DeleteServiceTemplate)
	handle(s, "CreateServiceTemplateVersion", p.CreateServiceTemplateVersion)
	handle(s, "GetServiceTemplateVersion", p.GetServiceTemplateVersion)
	handle(s, "ListServiceTemplateVersions", p.ListServiceTemplateVersions)
	handle(s, "UpdateServiceTemplateVersion", p.UpdateServiceTemplateVersion)
	handle(s, "DeleteServiceTemplateVersion", p.DeleteServiceTemplateVersion)
	handle(s, "GetAccountSettings", p.GetAccountSettings)
	handle(s, "UpdateAccountSettings", p.UpdateAccountSettings)

	handle(s, "CreateService", p.CreateService)
	handle(s, "GetService", p.GetService)
	handle(s, "ListServices", p.ListServices)
	handle(s, "UpdateService", p.UpdateService)
	handle(s, "DeleteService", p.DeleteService)

	handle(s, "CreateServiceInstance", p.CreateServiceInstance)
	handle(s, "GetServiceInstance", p.GetServiceInstance)
	handle(s, "ListServiceInstances", p.ListServiceInstances)
	handle(s, "UpdateServiceInstance", p.UpdateServiceInstance)
	handle(s, "CancelServiceInstanceDeployment", p.CancelServiceInstanceDeployment)
	handle(s, "ListServiceInstanceOutputs", p.ListServiceInstanceOutputs)
	handle(s, "ListServiceInstanceProvisionedResources", p.ListServiceInstanceProvisionedResources)

	handle(s, "UpdateServicePipeline", p.UpdateServicePipeline)
	handle(s, "CancelServicePipelineDeployment", p.CancelServicePipelineDeployment)
	handle(s, "ListServicePipelineOutputs", p.ListServicePipelineOutputs)
	handle(s, "ListServicePipelineProvisionedResources", p.ListServicePipelineProvisionedResources)

	handle(s, "CreateComponent", p.CreateComponent)
	handle(s, "GetComponent", p.GetComponent)
	handle(s, "ListComponents", p.ListComponents)
	handle(s, "UpdateComponent", p.UpdateComponent)
	handle(s, "DeleteComponent", p.DeleteComponent)
	handle(s, "CancelComponentDeployment", p.CancelComponentDeployment)
	handle(s, "ListComponentOutputs", p.ListComponentOutputs)
	handle(s, "ListComponentProvisionedResources", p.ListComponentProvisionedResources)

	handle(s, "GetDeployment", p.GetDeployment)
	handle(s, "ListDeployments", p.ListDeployments)
	handle(s, "DeleteDeployment", p.DeleteDeployment)
	handle(s, "NotifyResourceDeploymentStatusChange", p.NotifyResourceDeploymentStatusChange)
}
