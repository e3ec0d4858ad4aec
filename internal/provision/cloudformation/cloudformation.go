// Package cloudformation runs CloudFormation stacks for Hadron's
// AWS-managed provisioning: it creates or updates a stack from a rendered
// template, waits on it while streaming its events into the deployment's
// log, reads its outputs and resources back, deletes it, and stops an
// operation in flight when the deployment is cancelled.
//
// Every operation runs with the credentials of a role assumed through STS
// for that deployment (Proton's protonServiceRoleArn, pipelineServiceRoleArn
// or componentRoleArn), on top of the base credentials of the default chain.
//
// Cancellation arrives only through the context. Config.IsUserCancel tells a
// user's cancel (the stack is rolled back or deleted) from any other, such
// as a shutdown (the driver stops waiting and leaves the stack to
// CloudFormation).
package cloudformation

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cfn "github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation/types"

	"github.com/hadronhq/hadron/internal/awsaccess"
)

const (
	// DefaultPollInitial is the first wait between two looks at a stack.
	DefaultPollInitial = 1 * time.Second
	// DefaultPollMax caps the wait between two looks at a stack; the wait
	// doubles from DefaultPollInitial up to it.
	DefaultPollMax = 10 * time.Second
	// DefaultCancelTimeout bounds the work after a user's cancel (cancel the
	// update or delete the stack, then wait for the rollback or the delete).
	// CloudFormation rollbacks can take many minutes.
	DefaultCancelTimeout = 60 * time.Minute
)

// Config is how the driver reaches CloudFormation.
type Config struct {
	// Region is the AWS region of the stacks; empty means the default
	// chain's (AWS_REGION, the shared config file).
	Region string
	// EndpointURL, when set, is used for both STS and CloudFormation
	// (moto, a private endpoint); empty means AWS's endpoints.
	EndpointURL string
	// Credentials, when set, are the base credentials instead of the
	// default credential chain.
	Credentials aws.CredentialsProvider
	// PollInitial and PollMax shape the backoff between looks at a stack
	// (zero: DefaultPollInitial, DefaultPollMax).
	PollInitial, PollMax time.Duration
	// CancelTimeout bounds the work after a user's cancel (zero:
	// DefaultCancelTimeout).
	CancelTimeout time.Duration
	// IsUserCancel reports whether a done context was cancelled by a user
	// (typically errors.Is(context.Cause(ctx), engine's user-cancel
	// error)). Only a user's cancel stops the stack operation; after any
	// other the driver just stops waiting. Nil means every cancel is a
	// user's.
	IsUserCancel func(ctx context.Context) bool
}

// Driver runs stacks. It is safe for concurrent use; each Deploy or Delete
// assumes its own role.
type Driver struct {
	access *awsaccess.Access
	cfg    Config
}

// New loads the base AWS configuration (default credential chain unless
// cfg.Credentials is set) and returns a driver.
func New(ctx context.Context, cfg Config) (*Driver, error) {
	access, err := awsaccess.Load(ctx, awsaccess.Config{Region: cfg.Region, EndpointURL: cfg.EndpointURL, Credentials: cfg.Credentials})
	if err != nil {
		return nil, err
	}
	cfg.PollInitial = cmp.Or(cfg.PollInitial, DefaultPollInitial)
	cfg.PollMax = max(cmp.Or(cfg.PollMax, DefaultPollMax), cfg.PollInitial)
	cfg.CancelTimeout = cmp.Or(cfg.CancelTimeout, DefaultCancelTimeout)
	return &Driver{access: access, cfg: cfg}, nil
}

// Request is one deployment of a stack.
type Request struct {
	StackName    string            // see EnvironmentStackName and friends
	TemplateBody string            // the rendered template
	Parameters   map[string]string // stack parameters, if the template has any
	Tags         map[string]string // see ProtonTags
	// RoleARN is assumed through STS for the deployment's CloudFormation
	// calls; empty means the base credentials themselves.
	RoleARN      string
	DeploymentID string    // names the STS session
	Log          io.Writer // receives the stack's events and the driver's notes; nil discards
}

// Resource is one resource of a stack, as List*ProvisionedResources shows it.
type Resource struct {
	LogicalID  string
	PhysicalID string
	Type       string
}

// Result is a stack after a successful deployment.
type Result struct {
	StackID   string
	Outputs   map[string]string
	Resources []Resource // sorted by LogicalID
}

// Deploy creates the stack if it is absent and updates it otherwise, then
// waits until CloudFormation is done and returns the stack's outputs and
// resources. An update that changes nothing succeeds with the current
// outputs. A stack left in ROLLBACK_COMPLETE by a failed create is deleted
// first; one left in UPDATE_ROLLBACK_FAILED is continued
// (ContinueUpdateRollback) first; one busy with another operation is waited
// for first.
//
// A failure is a *StackError naming the first failed resource and its
// reason. A cancel of ctx gives a *CanceledError wrapping context.Cause(ctx)
// when the operation was stopped, or (user cancel only):
//   - the operation had finished first: the Result, nil error;
//   - the rollback or delete that the cancel started failed: a
//     *StackError, which does not wrap the cause.
func (d *Driver) Deploy(ctx context.Context, req Request) (Result, error) {
	if req.StackName == "" || req.TemplateBody == "" {
		return Result{}, errors.New("deploy stack: stack name and template body are required")
	}
	op := d.newOp(req.StackName, req.RoleARN, req.DeploymentID, req.Log)
	return op.deploy(ctx, req)
}

// DeleteRequest is the deletion of a stack.
type DeleteRequest struct {
	StackName    string
	RoleARN      string
	DeploymentID string
	Log          io.Writer
}

// Delete deletes the stack and waits until it is gone; a stack that does not
// exist is deleted already. A cancel of ctx stops the wait only (a
// *CanceledError); CloudFormation goes on deleting. A delete that fails is a
// *StackError.
func (d *Driver) Delete(ctx context.Context, req DeleteRequest) error {
	if req.StackName == "" {
		return errors.New("delete stack: stack name is required")
	}
	op := d.newOp(req.StackName, req.RoleARN, req.DeploymentID, req.Log)
	return op.delete(ctx)
}

func (d *Driver) newOp(stack, role, deploymentID string, log io.Writer) *operation {
	if log == nil {
		log = io.Discard
	}
	return &operation{d: d, cfn: cfn.NewFromConfig(d.access.AsRole(role, deploymentID)), stack: stack, log: log}
}

// SessionName is the STS role session name of a deployment (see
// awsaccess.SessionName).
func SessionName(deploymentID string) string { return awsaccess.SessionName(deploymentID) }

// operation is one Deploy or Delete: the client with the assumed role, and
// the log.
type operation struct {
	d     *Driver
	cfn   *cfn.Client
	stack string
	log   io.Writer
}

func (op *operation) notef(format string, args ...any) {
	fmt.Fprintf(op.log, "[hadron] "+format+"\n", args...)
}

func (op *operation) userCancel(ctx context.Context) bool {
	return op.d.cfg.IsUserCancel == nil || op.d.cfg.IsUserCancel(ctx)
}

// afterCancel is the context of the work that a user's cancel starts: it
// outlives the cancelled ctx, with a bound.
func (op *operation) afterCancel(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), op.d.cfg.CancelTimeout)
}

// describe returns the stack, or nil if it does not exist. id may be a name
// or a stack id (which also finds a deleted stack).
func (op *operation) describe(ctx context.Context, id string) (*types.Stack, error) {
	out, err := op.cfn.DescribeStacks(ctx, &cfn.DescribeStacksInput{StackName: aws.String(id)})
	if isNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("describe stack %s: %w", op.stack, err)
	}
	if len(out.Stacks) == 0 {
		return nil, nil
	}
	return &out.Stacks[0], nil
}

func (op *operation) deploy(ctx context.Context, req Request) (Result, error) {
	for {
		if err := ctx.Err(); err != nil {
			return Result{}, &CanceledError{StackName: op.stack, Operation: "deploy", Stopped: true, Cause: context.Cause(ctx)}
		}
		st, err := op.describe(ctx, op.stack)
		if err != nil {
			return Result{}, op.ctxErr(ctx, "deploy", err)
		}
		if st == nil {
			return op.create(ctx, req)
		}
		id, status := aws.ToString(st.StackId), st.StackStatus
		switch {
		case inProgress(status):
			op.notef("stack %s is %s; waiting for it to finish first", op.stack, status)
			if _, err := op.wait(ctx, id, newEvents()); err != nil {
				return Result{}, op.ctxErr(ctx, "deploy", err)
			}
		case status == types.StackStatusRollbackComplete:
			op.notef("stack %s is %s after a failed create; deleting it before creating it again", op.stack, status)
			if err := op.deleteAndWait(ctx, id, "delete"); err != nil {
				return Result{}, op.ctxErr(ctx, "deploy", err)
			}
		case status == types.StackStatusUpdateRollbackFailed:
			op.notef("stack %s is %s; continuing the rollback before updating it", op.stack, status)
			if err := op.continueRollback(ctx, id); err != nil {
				return Result{}, op.ctxErr(ctx, "deploy", err)
			}
		default:
			return op.update(ctx, req, id)
		}
	}
}

// ctxErr turns an error met while ctx was cancelled into a CanceledError
// (nothing of the deployment had started), and returns others as they are.
func (op *operation) ctxErr(ctx context.Context, what string, err error) error {
	var ce *CanceledError
	if ctx.Err() != nil && !errors.As(err, &ce) {
		return &CanceledError{StackName: op.stack, Operation: what, Stopped: true, Cause: context.Cause(ctx)}
	}
	return err
}

func (op *operation) create(ctx context.Context, req Request) (Result, error) {
	out, err := op.cfn.CreateStack(ctx, &cfn.CreateStackInput{
		StackName:    aws.String(req.StackName),
		TemplateBody: aws.String(req.TemplateBody),
		Parameters:   parameters(req.Parameters),
		Tags:         tags(req.Tags),
		// Proton's templates create IAM roles and may use transforms.
		Capabilities: []types.Capability{types.CapabilityCapabilityIam, types.CapabilityCapabilityNamedIam, types.CapabilityCapabilityAutoExpand},
		OnFailure:    types.OnFailureRollback,
	})
	if err != nil {
		if ctx.Err() != nil {
			// The call may or may not have reached CloudFormation.
			return op.cancelCreate(ctx, req.StackName)
		}
		return Result{}, fmt.Errorf("create stack %s: %w", req.StackName, err)
	}
	id := aws.ToString(out.StackId)
	op.notef("creating stack %s (%s)", req.StackName, id)
	st, err := op.wait(ctx, id, newEvents())
	if err != nil {
		if ctx.Err() != nil {
			return op.cancelCreate(ctx, id)
		}
		return Result{}, err
	}
	return op.finish(ctx, "create", st, types.StackStatusCreateComplete)
}

// cancelCreate stops a create in flight by deleting the stack, unless the
// create had already ended.
func (op *operation) cancelCreate(ctx context.Context, id string) (Result, error) {
	cause := context.Cause(ctx)
	if !op.userCancel(ctx) {
		return Result{}, &CanceledError{StackName: op.stack, Operation: "create", Cause: cause}
	}
	bg, cancel := op.afterCancel(ctx)
	defer cancel()
	st, err := op.describe(bg, id)
	if err != nil {
		return Result{}, fmt.Errorf("cancel create: %w", err)
	}
	switch {
	case st == nil:
		return Result{}, &CanceledError{StackName: op.stack, Operation: "create", Stopped: true, Cause: cause}
	case st.StackStatus == types.StackStatusCreateComplete:
		op.notef("cancel: stack %s was already created; keeping it", op.stack)
		return op.finish(bg, "create", st, types.StackStatusCreateComplete)
	case !inProgress(st.StackStatus):
		// The create failed on its own before the cancel: that is its end.
		ev := newEvents()
		if err := ev.poll(bg, op, aws.ToString(st.StackId)); err != nil {
			return Result{}, err
		}
		return Result{}, op.stackError("create", st, ev)
	}
	op.notef("cancel: deleting stack %s, whose create is %s", op.stack, st.StackStatus)
	if err := op.deleteAndWait(bg, aws.ToString(st.StackId), "cancel"); err != nil {
		return Result{}, fmt.Errorf("cancel create: %w", err)
	}
	return Result{}, &CanceledError{StackName: op.stack, Operation: "create", Stopped: true, Cause: cause}
}

func (op *operation) update(ctx context.Context, req Request, id string) (Result, error) {
	ev := newEvents()
	if err := ev.prime(ctx, op, id); err != nil {
		return Result{}, op.ctxErr(ctx, "deploy", err)
	}
	_, err := op.cfn.UpdateStack(ctx, &cfn.UpdateStackInput{
		StackName:    aws.String(id),
		TemplateBody: aws.String(req.TemplateBody),
		Parameters:   parameters(req.Parameters),
		Tags:         tags(req.Tags),
		Capabilities: []types.Capability{types.CapabilityCapabilityIam, types.CapabilityCapabilityNamedIam, types.CapabilityCapabilityAutoExpand},
	})
	switch {
	case isNoUpdates(err):
		op.notef("stack %s: no updates are to be performed", op.stack)
		st, err := op.describe(ctx, id)
		if err != nil {
			return Result{}, op.ctxErr(ctx, "deploy", err)
		}
		return op.finish(ctx, "update", st, st.StackStatus)
	case err != nil && ctx.Err() != nil:
		return op.cancelUpdate(ctx, id, ev)
	case err != nil:
		return Result{}, fmt.Errorf("update stack %s: %w", op.stack, err)
	}
	op.notef("updating stack %s", op.stack)
	st, err := op.wait(ctx, id, ev)
	if err != nil {
		if ctx.Err() != nil {
			return op.cancelUpdate(ctx, id, ev)
		}
		return Result{}, err
	}
	return op.finish(ctx, "update", st, types.StackStatusUpdateComplete)
}

// cancelUpdate stops an update in flight with CancelUpdateStack and waits
// for the rollback; an update that had ended first keeps its outcome.
func (op *operation) cancelUpdate(ctx context.Context, id string, ev *events) (Result, error) {
	cause := context.Cause(ctx)
	if !op.userCancel(ctx) {
		return Result{}, &CanceledError{StackName: op.stack, Operation: "update", Cause: cause}
	}
	bg, cancel := op.afterCancel(ctx)
	defer cancel()
	cancelled := true
	if _, err := op.cfn.CancelUpdateStack(bg, &cfn.CancelUpdateStackInput{StackName: aws.String(id)}); err != nil {
		// ValidationError: the stack is not UPDATE_IN_PROGRESS any more
		// (finished, cleaning up, or rolling back on its own).
		if code, _, _ := apiError(err); code != "ValidationError" {
			return Result{}, fmt.Errorf("cancel update of stack %s: %w", op.stack, err)
		}
		cancelled = false
		op.notef("cancel: the update of stack %s could not be cancelled any more (%v); waiting for its end", op.stack, err)
	} else {
		op.notef("cancel: cancelling the update of stack %s; waiting for the rollback", op.stack)
	}
	st, err := op.wait(bg, id, ev)
	if err != nil {
		return Result{}, fmt.Errorf("cancel update: %w", err)
	}
	switch st.StackStatus {
	case types.StackStatusUpdateComplete:
		op.notef("cancel: the update of stack %s had completed first", op.stack)
		return op.finish(bg, "update", st, types.StackStatusUpdateComplete)
	case types.StackStatusUpdateRollbackComplete:
		if cancelled {
			return Result{}, &CanceledError{StackName: op.stack, Operation: "update", Stopped: true, Cause: cause}
		}
	}
	return Result{}, op.stackError("update", st, ev)
}

func (op *operation) continueRollback(ctx context.Context, id string) error {
	ev := newEvents()
	if err := ev.prime(ctx, op, id); err != nil {
		return err
	}
	if _, err := op.cfn.ContinueUpdateRollback(ctx, &cfn.ContinueUpdateRollbackInput{StackName: aws.String(id)}); err != nil {
		return fmt.Errorf("continue update rollback of stack %s: %w", op.stack, err)
	}
	st, err := op.wait(ctx, id, ev)
	if err != nil {
		return err
	}
	if st == nil || st.StackStatus != types.StackStatusUpdateRollbackComplete {
		return op.stackError("continue rollback", st, ev)
	}
	return nil
}

func (op *operation) delete(ctx context.Context) error {
	st, err := op.describe(ctx, op.stack)
	if err != nil {
		return op.ctxErr(ctx, "delete", err)
	}
	if st == nil {
		op.notef("stack %s does not exist; nothing to delete", op.stack)
		return nil
	}
	err = op.deleteAndWait(ctx, aws.ToString(st.StackId), "delete")
	if err != nil && ctx.Err() != nil {
		var se *StackError
		if !errors.As(err, &se) {
			return &CanceledError{StackName: op.stack, Operation: "delete", Cause: context.Cause(ctx)}
		}
	}
	return err
}

// deleteAndWait deletes the stack by id and waits until it is gone.
func (op *operation) deleteAndWait(ctx context.Context, id, what string) error {
	ev := newEvents()
	if err := ev.prime(ctx, op, id); err != nil {
		return err
	}
	if _, err := op.cfn.DeleteStack(ctx, &cfn.DeleteStackInput{StackName: aws.String(id)}); err != nil {
		return fmt.Errorf("delete stack %s: %w", op.stack, err)
	}
	op.notef("deleting stack %s", op.stack)
	st, err := op.wait(ctx, id, ev)
	if err != nil {
		return err
	}
	if st != nil && st.StackStatus != types.StackStatusDeleteComplete {
		return op.stackError(what, st, ev)
	}
	return nil
}

// unreachableLooks is how many looks in a row at a stack may find
// CloudFormation unreachable (each after the SDK's own retries) before a
// wait gives up. The stack's operation goes on without us, and its end is
// what the deployment reports: a cancelled update that rolled back is
// CANCELLED, not FAILED because a poll met a broken connection.
const unreachableLooks = 5

// wait looks at the stack with backoff until no operation is in progress,
// streaming new events into the log. It returns the stack (nil once it is
// gone), or an error when ctx is done, CloudFormation answers an error, or
// it was unreachable unreachableLooks times in a row.
func (op *operation) wait(ctx context.Context, id string, ev *events) (*types.Stack, error) {
	// The first look is at once: after a cancel, the stack may be done.
	delay := time.Duration(0)
	timer := time.NewTimer(delay)
	defer timer.Stop()
	for failed := 0; ; {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("wait on stack %s: %w", op.stack, context.Cause(ctx))
		case <-timer.C:
		}
		st, err := op.look(ctx, id, ev)
		switch {
		case err == nil && (st == nil || !inProgress(st.StackStatus)):
			return st, nil
		case err == nil:
			failed = 0
		case unreachable(err) && ctx.Err() == nil && failed+1 < unreachableLooks:
			failed++
			op.notef("could not reach CloudFormation (%v); looking at stack %s again", err, op.stack)
		default:
			return nil, err
		}
		delay = min(max(2*delay, op.d.cfg.PollInitial), op.d.cfg.PollMax)
		timer.Reset(delay)
	}
}

// look reads the stack and streams its new events: the events after the
// status, so that those of a final status are in.
func (op *operation) look(ctx context.Context, id string, ev *events) (*types.Stack, error) {
	st, err := op.describe(ctx, id)
	if err != nil {
		return nil, err
	}
	if err := ev.poll(ctx, op, id); err != nil {
		return nil, err
	}
	return st, nil
}

// finish returns the stack's outputs and resources if it reached want, and
// a StackError otherwise.
func (op *operation) finish(ctx context.Context, what string, st *types.Stack, want types.StackStatus) (Result, error) {
	if st == nil || st.StackStatus != want {
		ev := newEvents()
		if st != nil {
			if err := ev.poll(ctx, op, aws.ToString(st.StackId)); err != nil {
				return Result{}, err
			}
		}
		return Result{}, op.stackError(what, st, ev)
	}
	res := Result{StackID: aws.ToString(st.StackId), Outputs: map[string]string{}}
	for _, o := range st.Outputs {
		res.Outputs[aws.ToString(o.OutputKey)] = aws.ToString(o.OutputValue)
	}
	p := cfn.NewListStackResourcesPaginator(op.cfn, &cfn.ListStackResourcesInput{StackName: st.StackId})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return Result{}, fmt.Errorf("list resources of stack %s: %w", op.stack, err)
		}
		for _, r := range page.StackResourceSummaries {
			res.Resources = append(res.Resources, Resource{
				LogicalID:  aws.ToString(r.LogicalResourceId),
				PhysicalID: aws.ToString(r.PhysicalResourceId),
				Type:       aws.ToString(r.ResourceType),
			})
		}
	}
	sort.Slice(res.Resources, func(i, j int) bool { return res.Resources[i].LogicalID < res.Resources[j].LogicalID })
	op.notef("stack %s is %s", op.stack, st.StackStatus)
	return res, nil
}

func (op *operation) stackError(what string, st *types.Stack, ev *events) *StackError {
	e := &StackError{StackName: op.stack, Operation: what, Status: "DELETE_COMPLETE"}
	if st != nil {
		e.Status = string(st.StackStatus)
		e.LogicalID, e.Reason = op.stack, aws.ToString(st.StackStatusReason)
	}
	if f := ev.failure; f != nil {
		e.LogicalID, e.Reason = aws.ToString(f.LogicalResourceId), aws.ToString(f.ResourceStatusReason)
	}
	return e
}

func inProgress(s types.StackStatus) bool {
	switch s {
	case types.StackStatusCreateInProgress, types.StackStatusRollbackInProgress,
		types.StackStatusDeleteInProgress, types.StackStatusUpdateInProgress,
		types.StackStatusUpdateCompleteCleanupInProgress, types.StackStatusUpdateRollbackInProgress,
		types.StackStatusUpdateRollbackCompleteCleanupInProgress, types.StackStatusReviewInProgress,
		types.StackStatusImportInProgress, types.StackStatusImportRollbackInProgress:
		return true
	}
	return false
}

func parameters(m map[string]string) []types.Parameter {
	var ps []types.Parameter
	for _, k := range sortedKeys(m) {
		ps = append(ps, types.Parameter{ParameterKey: aws.String(k), ParameterValue: aws.String(m[k])})
	}
	return ps
}

func tags(m map[string]string) []types.Tag {
	var ts []types.Tag
	for _, k := range sortedKeys(m) {
		ts = append(ts, types.Tag{Key: aws.String(k), Value: aws.String(m[k])})
	}
	return ts
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
