package proton

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/hadronhq/hadron/internal/api"
	"github.com/hadronhq/hadron/internal/provision"
	"github.com/hadronhq/hadron/internal/store"
)

// MaxNotifiedOutputs bounds the distinct output keys the reports of one
// deployment may hold (each report carries at most 50, the model's bound,
// and they merge). 200 is CloudFormation's bound on a stack's outputs, which
// Proton's outputs mirrored; without a bound, a run reporting in a loop
// could grow one row without end. A report past it answers
// ServiceQuotaExceededException and records nothing.
const MaxNotifiedOutputs = 200

// NotifyResourceDeploymentStatusChange takes a report from the provisioning
// of a resource's deployment in progress (an environment, service instance,
// pipeline or component, named by its ARN): its outputs are merged into the
// deployment's (a later report wins on a key; reports win over a
// proton-outputs.json), shown by List*Outputs and the deployment once it
// succeeds.
//
// The status decides nothing for an engine that ends its runs itself (the
// CodeBuild engine: the commands' exit decides; a SUCCEEDED or FAILED from
// them is recorded with the deployment and logged). For an engine whose
// deployments wait on an outside party (provision.NotifyFinisher, which
// decides from the deployment's plan: the Terraform hand-off does, its
// local run does not), SUCCEEDED and FAILED end the deployment.
//
// A deploymentId, when given, must be the deployment in progress
// (ConflictException otherwise), as must there be one. During a delete
// (DELETE_IN_PROGRESS) a report is accepted and has no effect, since a
// deleted resource keeps no outputs, unless the engine takes its final
// status from reports.
func (s *API) NotifyResourceDeploymentStatusChange(ctx context.Context, in *api.NotifyResourceDeploymentStatusChangeInput) (*api.NotifyResourceDeploymentStatusChangeOutput, error) {
	key, ok := s.deployableKey(in.ResourceArn)
	if !ok {
		return nil, notFoundf("resource %s not found", in.ResourceArn)
	}
	r, err := s.cfg.Store.ResourceGet(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFoundf("resource %s not found", in.ResourceArn)
	}
	if err != nil {
		return nil, err
	}
	if r.LastAttemptedDeploymentID == "" {
		return nil, conflictf("resource %s has no deployment in progress", in.ResourceArn)
	}
	d, err := s.cfg.Store.DeploymentGet(ctx, r.LastAttemptedDeploymentID)
	if err != nil {
		return nil, fmt.Errorf("notify %s: %w", in.ResourceArn, err)
	}
	if !store.IsActive(d.Status) {
		return nil, conflictf("resource %s has no deployment in progress: its last deployment %s is %s", in.ResourceArn, d.ID, d.Status)
	}
	if in.DeploymentId != "" && in.DeploymentId != d.ID {
		return nil, conflictf("deployment %s is not the deployment in progress of %s (%s is)", in.DeploymentId, in.ResourceArn, d.ID)
	}
	var plan provision.Plan
	if err := json.Unmarshal([]byte(d.Plan), &plan); err != nil {
		return nil, fmt.Errorf("notify %s: deployment plan: %w", in.ResourceArn, err)
	}
	final := s.cfg.Engines.FinalStatusFromNotify(plan) && (in.Status == store.StatusSucceeded || in.Status == store.StatusFailed)
	message := ""
	if in.StatusMessage != nil {
		message = *in.StatusMessage
	}
	if d.Status == store.StatusDeleteInProgress {
		if final {
			return s.finishFromNotify(ctx, d, in.Status, message, "")
		}
		s.cfg.Logger.Info("notify during a delete: nothing to record", "deployment", d.ID, "status", in.Status)
		return &api.NotifyResourceDeploymentStatusChangeOutput{}, nil
	}
	outputs := make(map[string]string, len(in.Outputs))
	for _, o := range in.Outputs {
		outputs[o.Key] = o.ValueString // a key given twice: the later wins, as across reports
	}
	if masked := s.cfg.Engines.MaskOutputs(plan.Engine, d.ID, outputs); len(masked) > 0 {
		s.cfg.Logger.Warn("notify: outputs hold the value of a secret of the run; they are kept with the value replaced by ***",
			"deployment", d.ID, "outputs", masked)
	}
	raw, err := json.Marshal(outputs)
	if err != nil {
		return nil, err
	}
	err = s.cfg.Store.DeploymentNotify(ctx, store.DeploymentNotifyParams{ID: d.ID, Outputs: string(raw), Status: in.Status, Message: message,
		At: s.cfg.Now(), MaxOutputs: MaxNotifiedOutputs})
	switch {
	case errors.Is(err, store.ErrTooManyOutputs):
		return nil, quotaf("deployment %s of %s: the reports would hold more than %d distinct outputs (%v); "+
			"nothing of this report was recorded", d.ID, in.ResourceArn, MaxNotifiedOutputs, err)
	case errors.Is(err, store.ErrStatusChanged), errors.Is(err, store.ErrNotFound):
		// The deployment ended (or was deleted) since it was read.
		return nil, conflictf("deployment %s of %s is no longer in progress", d.ID, in.ResourceArn)
	case err != nil:
		return nil, err
	}
	if in.Status != "" && in.Status != store.StatusInProgress && !final {
		s.cfg.Logger.Info("notify: status recorded; the run's own end decides the deployment's", "deployment", d.ID, "status", in.Status, "engine", plan.Engine)
	}
	if final {
		return s.finishFromNotify(ctx, d, in.Status, message, "{}")
	}
	return &api.NotifyResourceDeploymentStatusChangeOutput{}, nil
}

// finishFromNotify ends a deployment whose engine takes its final status
// from a report (status SUCCEEDED or FAILED), with a conditional write as
// any finish; outputs are the reported ones, which the store merges in.
func (s *API) finishFromNotify(ctx context.Context, d *store.Deployment, status, message, outputs string) (*api.NotifyResourceDeploymentStatusChangeOutput, error) {
	p := store.DeploymentFinishParams{ID: d.ID, From: []string{store.StatusInProgress, store.StatusCancelling}, To: status, Message: message, Outputs: outputs}
	if d.Status == store.StatusDeleteInProgress {
		p.From, p.To = []string{store.StatusDeleteInProgress}, store.StatusDeleteComplete
		if status == store.StatusFailed {
			p.To = store.StatusDeleteFailed
		}
	}
	ended, err := s.cfg.Store.DeploymentFinish(ctx, p, s.cfg.Now())
	if errors.Is(err, store.ErrStatusChanged) {
		return nil, conflictf("deployment %s is no longer in progress", d.ID)
	}
	if err != nil {
		return nil, err
	}
	s.DeploymentEnded(ended)
	return &api.NotifyResourceDeploymentStatusChangeOutput{}, nil
}

// deployableKey returns the store key of the deployable resource arn
// names in this server's region and account: an environment, a service
// instance, a service pipeline or a component.
func (s *API) deployableKey(arn string) (string, bool) {
	key, ok := strings.CutPrefix(arn, s.arn(""))
	if !ok {
		return "", false
	}
	parts := strings.Split(key, "/")
	switch {
	case len(parts) == 2 && parts[0] == "environment" && parts[1] != "":
		return environmentKey(parts[1]), true
	case len(parts) == 2 && parts[0] == "component" && parts[1] != "":
		return componentKey(parts[1]), true
	case len(parts) == 3 && parts[0] == "service" && parts[1] != "" && parts[2] == "pipeline":
		return pipelineKey(parts[1]), true
	case len(parts) == 4 && parts[0] == "service" && parts[1] != "" && parts[2] == "service-instance" && parts[3] != "":
		return instanceKey(parts[1], parts[3]), true
	}
	return "", false
}
