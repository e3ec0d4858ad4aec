package provision

import "encoding/json"

// Inputs is Proton's inputs document of a deployment: proton-inputs.json of
// CodeBuild provisioning, the rendering parameters of the other engines.
// Which parts are set depends on the resource (proton-semantics §4.5):
//   - environment: Environment (name, account_id, inputs);
//   - service instance: Service, ServiceInstance (with its attached
//     component under components.default), Environment (name, account_id,
//     outputs);
//   - service pipeline: Service, Pipeline, ServiceInstances;
//   - component: Component, Environment, and when attached Service and
//     ServiceInstance (name, inputs).
//
// Keys are in alphabetical order, as the document has always been written:
// provisioning scripts read it with sed.
type Inputs struct {
	Component        *ComponentInputs   `json:"component,omitempty"`
	Environment      *EnvironmentInputs `json:"environment,omitempty"`
	Pipeline         *PipelineInputs    `json:"pipeline,omitempty"`
	Service          *ServiceInputs     `json:"service,omitempty"`
	ServiceInstance  *InstanceInputs    `json:"service_instance,omitempty"`
	ServiceInstances []PipelineInstance `json:"service_instances,omitzero"`
}

// EnvironmentInputs is the environment part. An environment's own document
// carries its inputs (Inputs not nil) and no outputs; the documents of the
// resources deployed in it carry its outputs instead.
type EnvironmentInputs struct {
	AccountID string
	Name      string
	Inputs    map[string]any
	Outputs   map[string]string
}

// MarshalJSON writes inputs or outputs, as the document needs.
func (e EnvironmentInputs) MarshalJSON() ([]byte, error) {
	if e.Inputs != nil {
		return json.Marshal(struct {
			AccountID string         `json:"account_id"`
			Inputs    map[string]any `json:"inputs"`
			Name      string         `json:"name"`
		}{e.AccountID, e.Inputs, e.Name})
	}
	return json.Marshal(struct {
		AccountID string            `json:"account_id"`
		Name      string            `json:"name"`
		Outputs   map[string]string `json:"outputs"`
	}{e.AccountID, e.Name, e.Outputs})
}

// ServiceInputs is the service part. The repository keys are present, empty
// when the service has no repository (no pipeline). Name comes first:
// provisioning scripts read "service":{"name":...}.
type ServiceInputs struct {
	Name                    string `json:"name"`
	BranchName              string `json:"branch_name"`
	RepositoryID            string `json:"repository_id"`
	RepositoryConnectionArn string `json:"repository_connection_arn"`
}

// InstanceInputs is the service_instance part of an instance's or an
// attached component's document.
type InstanceInputs struct {
	Components *InstanceComponents `json:"components,omitempty"`
	Inputs     map[string]any      `json:"inputs"`
	Name       string              `json:"name"`
}

// InstanceComponents holds an instance's attached component, which Proton
// calls "default".
type InstanceComponents struct {
	Default ComponentOutputs `json:"default"`
}

// ComponentOutputs is an attached component as its instance sees it.
type ComponentOutputs struct {
	Name    string            `json:"name"`
	Outputs map[string]string `json:"outputs"`
}

// PipelineInputs is the pipeline part: the spec's pipeline inputs.
type PipelineInputs struct {
	Inputs map[string]any `json:"inputs"`
}

// PipelineInstance is one instance of the service, as its pipeline sees it.
type PipelineInstance struct {
	Environment EnvironmentInputs `json:"environment"`
	Inputs      map[string]any    `json:"inputs"`
	Name        string            `json:"name"`
	Outputs     map[string]string `json:"outputs"`
}

// ComponentInputs is the component part: a component has no inputs of its own.
type ComponentInputs struct {
	Name string `json:"name"`
}
