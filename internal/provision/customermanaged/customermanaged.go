// Package customermanaged is the engine of resources whose infrastructure
// Hadron does not provision (Proton's customer-managed environments): a
// deployment's outputs are the resource's inputs, given in its spec, and a
// delete has nothing to undo. Its plan of a delete is also the plan of any
// delete with nothing to undo (provision.Nothing).
package customermanaged

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"

	"github.com/hadronhq/hadron/internal/provision"
)

// Name is the engine's name in plans.
const Name = provision.CustomerManaged

// Engine provisions nothing.
type Engine struct{}

var _ provision.Engine = Engine{}

type spec struct {
	Outputs map[string]string `json:"outputs"`
}

// Plan keeps the outputs a deploy will report: the environment's inputs, as strings.
func (Engine) Plan(req provision.Request) (json.RawMessage, error) {
	var s spec
	if req.Operation == provision.OperationDeploy && req.Inputs != nil && req.Inputs.Environment != nil {
		s.Outputs = stringValues(req.Inputs.Environment.Inputs)
	}
	return json.Marshal(s)
}

// Run reports the planned outputs.
func (Engine) Run(ctx context.Context, run provision.Run) (provision.Result, error) {
	var s spec
	if len(run.Plan.Spec) > 0 {
		if err := json.Unmarshal(run.Plan.Spec, &s); err != nil {
			return provision.Result{}, fmt.Errorf("customer-managed plan is unreadable: %w", err)
		}
	}
	return provision.Result{Outputs: maps.Clone(s.Outputs)}, nil
}

// stringValues gives each input as the string an output holds.
func stringValues(in map[string]any) map[string]string {
	out := make(map[string]string, len(in))
	for k, v := range in {
		switch v := v.(type) {
		case string:
			out[k] = v
		default:
			raw, err := json.Marshal(v)
			if err != nil {
				raw = []byte(fmt.Sprint(v))
			}
			out[k] = string(raw)
		}
	}
	return out
}
