package cloudformation

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cfn "github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/hadronhq/hadron/internal/provision/cloudformation/cfnfake"
)

// The tests in this file run against cfnfake, a FAKE CloudFormation that
// holds stacks in progress and rolls back on demand, for the paths moto
// cannot show: in-progress cancels, rollbacks, failures.

var (
	errUserCancel = errors.New("user cancelled the deployment")
	errShutdown   = errors.New("server shutting down")
)

func isUserCancel(ctx context.Context) bool { return errors.Is(context.Cause(ctx), errUserCancel) }

// templateV1 and templateV2 differ in a parameter default and a resource,
// so that an update changes the outputs and the resources.
const templateV1 = `Parameters:
  Greeting:
    Type: String
    Default: v1
Resources:
  Bucket:
    Type: AWS::S3::Bucket
  Queue:
    Type: AWS::SQS::Queue
Outputs:
  Greeting:
    Value: !Ref Greeting
  BucketName:
    Value: !Ref Bucket
`

const templateV2 = `Parameters:
  Greeting:
    Type: String
    Default: v2
Resources:
  Bucket:
    Type: AWS::S3::Bucket
  Queue:
    Type: AWS::SQS::Queue
  Topic:
    Type: AWS::SNS::Topic
Outputs:
  Greeting:
    Value: !Ref Greeting
  BucketName:
    Value: !Ref Bucket
`

// syncBuffer is a log that the test reads while Deploy writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type fakeSetup struct {
	fake  *cfnfake.Server
	d     *Driver
	stack string
}

func setupFake(t *testing.T, mod ...func(*Config)) fakeSetup {
	t.Helper()
	fake := cfnfake.New()
	t.Cleanup(fake.Close)
	mod = append([]func(*Config){func(c *Config) { c.IsUserCancel = isUserCancel }}, mod...)
	return fakeSetup{fake: fake, d: newTestDriver(t, fake.URL, mod...), stack: EnvironmentStackName(t.Name())}
}

func (f fakeSetup) req(body, deployment string) Request {
	return Request{StackName: f.stack, TemplateBody: body, RoleARN: testRole, DeploymentID: deployment, Log: &syncBuffer{}}
}

// deploy runs Deploy and fails the test on an error.
func (f fakeSetup) deploy(t *testing.T, body, deployment string) Result {
	t.Helper()
	req := f.req(body, deployment)
	res, err := f.d.Deploy(context.Background(), req)
	if err != nil {
		t.Fatalf("deploy %s: %v\n%s", deployment, err, req.Log)
	}
	return res
}

type deployResult struct {
	res Result
	err error
}

// deployAsync starts Deploy with a cancellable context.
func (f fakeSetup) deployAsync(body, deployment string) (context.CancelCauseFunc, <-chan deployResult, Request) {
	ctx, cancel := context.WithCancelCause(context.Background())
	req := f.req(body, deployment)
	done := make(chan deployResult, 1)
	go func() {
		res, err := f.d.Deploy(ctx, req)
		done <- deployResult{res, err}
	}()
	return cancel, done, req
}

func waitCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func countCalls(f *cfnfake.Server, action string) int {
	n := 0
	for _, c := range f.Calls() {
		if c.Action == action {
			n++
		}
	}
	return n
}

// notReturned fails the test if Deploy has returned already.
func notReturned(t *testing.T, done <-chan deployResult, while string) {
	t.Helper()
	select {
	case r := <-done:
		t.Fatalf("Deploy returned while %s: %+v", while, r)
	default:
	}
}

func TestDeployAssumesTheRoleWithTheDeploymentInTheSessionName(t *testing.T) {
	t.Parallel()
	f := setupFake(t)
	f.deploy(t, templateV1, "0d6a1c2e-0000-4000-8000-000000000001")
	roles := f.fake.AssumedRoles()
	if len(roles) != 1 || roles[0].RoleARN != testRole || roles[0].SessionName != "hadron-0d6a1c2e-0000-4000-8000-000000000001" {
		t.Fatalf("AssumeRole calls = %+v", roles)
	}
	for _, c := range f.fake.Calls() {
		if c.Action != "AssumeRole" && c.AccessKeyID != roles[0].AccessKeyID {
			t.Errorf("%s was signed with %q, not the assumed role's key %q", c.Action, c.AccessKeyID, roles[0].AccessKeyID)
		}
	}
}

func TestDeployCreatesThenUpdatesAndReportsOutputsAndResources(t *testing.T) {
	t.Parallel()
	f := setupFake(t)
	created := f.deploy(t, templateV1, "d1")
	if created.Outputs["Greeting"] != "v1" || created.Outputs["BucketName"] == "" {
		t.Errorf("outputs after create = %v", created.Outputs)
	}
	if len(created.Resources) != 2 || created.Resources[0].LogicalID != "Bucket" || created.Resources[0].Type != "AWS::S3::Bucket" ||
		created.Resources[0].PhysicalID != created.Outputs["BucketName"] {
		t.Errorf("resources after create = %+v", created.Resources)
	}
	updated := f.deploy(t, templateV2, "d2")
	if updated.Outputs["Greeting"] != "v2" || len(updated.Resources) != 3 || updated.StackID != created.StackID {
		t.Errorf("after update: %+v", updated)
	}
	same := f.deploy(t, templateV2, "d3")
	if same.Outputs["Greeting"] != "v2" || countCalls(f.fake, "UpdateStack") != 2 {
		t.Errorf("update without changes: %+v, %d UpdateStack calls", same, countCalls(f.fake, "UpdateStack"))
	}
}

func TestDeployStreamsEventsOfItsOwnOperationOldestFirst(t *testing.T) {
	t.Parallel()
	f := setupFake(t)
	f.fake.EventPageSize = 2 // the driver must page through events
	f.deploy(t, templateV1, "d1")
	req := f.req(templateV2, "d2")
	if _, err := f.d.Deploy(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	log := req.Log.(*syncBuffer).String()
	var statuses []string
	for _, line := range strings.Split(log, "\n") {
		fields := strings.Fields(line)
		if len(fields) >= 4 && fields[0] != "[hadron]" {
			if _, err := time.Parse(time.RFC3339, fields[0]); err != nil {
				t.Errorf("event line %q does not start with a timestamp", line)
			}
			statuses = append(statuses, fields[1]+" "+fields[3])
		}
	}
	want := []string{
		f.stack + " UPDATE_IN_PROGRESS",
		"Bucket UPDATE_IN_PROGRESS", "Bucket UPDATE_COMPLETE",
		"Queue UPDATE_IN_PROGRESS", "Queue UPDATE_COMPLETE",
		"Topic CREATE_IN_PROGRESS", "Topic CREATE_COMPLETE",
		f.stack + " UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", f.stack + " UPDATE_COMPLETE",
	}
	if strings.Join(statuses, "\n") != strings.Join(want, "\n") {
		t.Errorf("streamed events:\n%s\nwant:\n%s\nlog:\n%s", strings.Join(statuses, "\n"), strings.Join(want, "\n"), log)
	}
}

func TestFailedCreateReportsTheFirstFailedResourceAndIsDeletedBeforeTheNextCreate(t *testing.T) {
	t.Parallel()
	f := setupFake(t)
	f.fake.SetBehavior(f.stack, cfnfake.Behavior{FailResource: "Queue", FailReason: "Queue quota exceeded (Service: Sqs, Status Code: 400)"})
	_, err := f.d.Deploy(context.Background(), f.req(templateV1, "d1"))
	var se *StackError
	if !errors.As(err, &se) || se.Status != "ROLLBACK_COMPLETE" || se.LogicalID != "Queue" || !strings.Contains(se.Reason, "quota exceeded") {
		t.Fatalf("err = %#v (%v)", err, err)
	}
	if errors.Is(err, errUserCancel) {
		t.Fatal("a failure wraps the user cancel")
	}

	f.fake.SetBehavior(f.stack, cfnfake.Behavior{})
	res := f.deploy(t, templateV1, "d2")
	if res.Outputs["Greeting"] != "v1" || f.fake.Status(f.stack) != "CREATE_COMPLETE" {
		t.Fatalf("redeploy: %+v, stack %s", res, f.fake.Status(f.stack))
	}
	var order []string
	for _, c := range f.fake.Calls() {
		if c.Action == "CreateStack" || c.Action == "DeleteStack" {
			order = append(order, c.Action)
		}
	}
	if strings.Join(order, ",") != "CreateStack,DeleteStack,CreateStack" {
		t.Errorf("calls = %v", order)
	}
}

func TestFailedUpdateRollsBackAndKeepsThePreviousTemplate(t *testing.T) {
	t.Parallel()
	f := setupFake(t)
	f.deploy(t, templateV1, "d1")
	f.fake.SetBehavior(f.stack, cfnfake.Behavior{FailResource: "Topic", FailReason: "Topic name already taken"})
	_, err := f.d.Deploy(context.Background(), f.req(templateV2, "d2"))
	var se *StackError
	if !errors.As(err, &se) || se.Status != "UPDATE_ROLLBACK_COMPLETE" || se.LogicalID != "Topic" || se.Reason != "Topic name already taken" {
		t.Fatalf("err = %v", err)
	}
	if f.fake.Template(f.stack) != templateV1 {
		t.Error("the stack does not run the previous template after the rollback")
	}
}

func TestUpdateRollbackFailedStackIsContinuedBeforeTheNextUpdate(t *testing.T) {
	t.Parallel()
	f := setupFake(t)
	f.deploy(t, templateV1, "d1")
	f.fake.SetBehavior(f.stack, cfnfake.Behavior{FailResource: "Bucket", FailReason: "Access Denied", FailRollback: true})
	_, err := f.d.Deploy(context.Background(), f.req(templateV2, "d2"))
	var se *StackError
	if !errors.As(err, &se) || se.Status != "UPDATE_ROLLBACK_FAILED" || se.Reason != "Access Denied" {
		t.Fatalf("err = %v", err)
	}

	f.fake.SetBehavior(f.stack, cfnfake.Behavior{})
	res := f.deploy(t, templateV2, "d3")
	if res.Outputs["Greeting"] != "v2" || countCalls(f.fake, "ContinueUpdateRollback") != 1 {
		t.Fatalf("after continue: %+v, %d ContinueUpdateRollback", res, countCalls(f.fake, "ContinueUpdateRollback"))
	}
}

func TestContinuedRollbackThatFailsAgainFailsTheDeployment(t *testing.T) {
	t.Parallel()
	f := setupFake(t)
	f.deploy(t, templateV1, "d1")
	f.fake.SetBehavior(f.stack, cfnfake.Behavior{FailResource: "Bucket", FailReason: "Access Denied", FailRollback: true})
	if _, err := f.d.Deploy(context.Background(), f.req(templateV2, "d2")); err == nil {
		t.Fatal("failing update succeeded")
	}
	_, err := f.d.Deploy(context.Background(), f.req(templateV2, "d3"))
	var se *StackError
	if !errors.As(err, &se) || se.Operation != "continue rollback" || se.Status != "UPDATE_ROLLBACK_FAILED" {
		t.Fatalf("err = %v", err)
	}
	if countCalls(f.fake, "UpdateStack") != 1 {
		t.Errorf("UpdateStack was called on a stack whose rollback could not be continued")
	}
}

// TestCancel pins every outcome of a cancel during an operation in flight.
func TestCancel(t *testing.T) {
	t.Parallel()
	type outcome int
	const (
		cancelled outcome = iota // CanceledError wrapping the user's cancel
		succeeded                // the operation's result, no error
		failed                   // StackError, not wrapping the cancel
		detached                 // shutdown: CanceledError, stack left as is
	)
	tests := []struct {
		name     string
		update   bool             // update a stack (else create one)
		behavior cfnfake.Behavior // during the deployment
		slowPoll bool             // the driver sees the stack only when cancelled
		cause    error            // of the cancel
		before   []string         // statuses released before the cancel
		after    []string         // statuses held, checked and released after the cancel
		want     outcome
		status   string // of the stack at the end ("" = gone)
		calls    map[string]int
	}{
		{
			name: "update cancelled rolls back", update: true, cause: errUserCancel,
			behavior: cfnfake.Behavior{Hold: true},
			after:    []string{"UPDATE_ROLLBACK_IN_PROGRESS", "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS"},
			want:     cancelled, status: "UPDATE_ROLLBACK_COMPLETE", calls: map[string]int{"CancelUpdateStack": 1},
		},
		{
			name: "update that completed first succeeds", update: true, cause: errUserCancel, slowPoll: true,
			behavior: cfnfake.Behavior{Hold: true},
			before:   []string{"UPDATE_IN_PROGRESS", "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"},
			want:     succeeded, status: "UPDATE_COMPLETE", calls: map[string]int{"CancelUpdateStack": 1},
		},
		{
			name: "update whose rollback fails fails", update: true, cause: errUserCancel,
			behavior: cfnfake.Behavior{Hold: true, FailRollback: true},
			after:    []string{"UPDATE_ROLLBACK_IN_PROGRESS"},
			want:     failed, status: "UPDATE_ROLLBACK_FAILED", calls: map[string]int{"CancelUpdateStack": 1},
		},
		{
			name: "update at shutdown is left to CloudFormation", update: true, cause: errShutdown,
			behavior: cfnfake.Behavior{Hold: true},
			want:     detached, status: "UPDATE_IN_PROGRESS", calls: map[string]int{"CancelUpdateStack": 0},
		},
		{
			name: "create cancelled deletes the stack", cause: errUserCancel,
			behavior: cfnfake.Behavior{Hold: true},
			after:    []string{"DELETE_IN_PROGRESS"},
			want:     cancelled, status: "", calls: map[string]int{"DeleteStack": 1},
		},
		{
			name: "create that completed first succeeds", cause: errUserCancel, slowPoll: true,
			behavior: cfnfake.Behavior{Hold: true},
			before:   []string{"CREATE_IN_PROGRESS"},
			want:     succeeded, status: "CREATE_COMPLETE", calls: map[string]int{"DeleteStack": 0},
		},
		{
			name: "create at shutdown is left to CloudFormation", cause: errShutdown,
			behavior: cfnfake.Behavior{Hold: true},
			want:     detached, status: "CREATE_IN_PROGRESS", calls: map[string]int{"DeleteStack": 0},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := setupFake(t)
			ctx := waitCtx(t)
			body, first := templateV1, "CREATE_IN_PROGRESS"
			if tt.update {
				f.deploy(t, templateV1, "d0")
				body, first = templateV2, "UPDATE_IN_PROGRESS"
			}
			if tt.slowPoll {
				f.d = newTestDriver(t, f.fake.URL, func(c *Config) {
					c.IsUserCancel, c.PollInitial, c.PollMax = isUserCancel, time.Hour, time.Hour
				})
			}
			f.fake.SetBehavior(f.stack, tt.behavior)
			cancel, done, req := f.deployAsync(body, "d1")
			must(t, f.fake.WaitForStatus(ctx, f.stack, first))
			for _, st := range tt.before {
				must(t, f.fake.WaitForStatus(ctx, f.stack, st))
				must(t, f.fake.Release(f.stack))
			}
			cancel(tt.cause)
			for _, st := range tt.after {
				must(t, f.fake.WaitForStatus(ctx, f.stack, st))
				notReturned(t, done, "the stack is "+st)
				must(t, f.fake.Release(f.stack))
			}
			var r deployResult
			select {
			case r = <-done:
			case <-ctx.Done():
				t.Fatalf("Deploy did not return; log:\n%s", req.Log)
			}
			var ce *CanceledError
			var se *StackError
			switch tt.want {
			case cancelled:
				if !errors.As(r.err, &ce) || !ce.Stopped || !errors.Is(r.err, errUserCancel) {
					t.Fatalf("err = %v, want a stopped cancel wrapping the user's", r.err)
				}
			case succeeded:
				if r.err != nil || r.res.Outputs["Greeting"] == "" {
					t.Fatalf("Deploy = %+v, %v; want success", r.res, r.err)
				}
			case failed:
				if !errors.As(r.err, &se) || errors.Is(r.err, errUserCancel) {
					t.Fatalf("err = %v, want a StackError not wrapping the cancel", r.err)
				}
			case detached:
				if !errors.As(r.err, &ce) || ce.Stopped || !errors.Is(r.err, errShutdown) {
					t.Fatalf("err = %v, want a detached cancel wrapping the shutdown", r.err)
				}
			}
			if got := f.fake.Status(f.stack); got != tt.status {
				t.Errorf("stack status = %q, want %q", got, tt.status)
			}
			for action, n := range tt.calls {
				if got := countCalls(f.fake, action); got != n {
					t.Errorf("%d %s calls, want %d", got, action, n)
				}
			}
			if tt.want == cancelled && tt.update && f.fake.Template(f.stack) != templateV1 {
				t.Error("the cancelled update did not leave the previous template")
			}
			t.Logf("log:\n%s", req.Log)
		})
	}
}

// TestCancelWaitIsBounded pins that the wait after a user's cancel, which
// cannot use the cancelled context, still ends: a rollback that outlasts
// CancelTimeout fails the deployment.
func TestCancelWaitIsBounded(t *testing.T) {
	t.Parallel()
	f := setupFake(t, func(c *Config) { c.CancelTimeout = 300 * time.Millisecond })
	ctx := waitCtx(t)
	f.deploy(t, templateV1, "d0")
	f.fake.SetBehavior(f.stack, cfnfake.Behavior{Hold: true})
	cancel, done, _ := f.deployAsync(templateV2, "d1")
	must(t, f.fake.WaitForStatus(ctx, f.stack, "UPDATE_IN_PROGRESS"))
	cancel(errUserCancel)
	select {
	case r := <-done:
		if r.err == nil || errors.Is(r.err, errUserCancel) || !errors.Is(r.err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want the cancel timeout", r.err)
		}
	case <-ctx.Done():
		t.Fatal("Deploy did not return after the cancel timeout")
	}
}

func TestDeployWaitsForAnOperationAlreadyInProgress(t *testing.T) {
	t.Parallel()
	f := setupFake(t)
	ctx := waitCtx(t)
	f.fake.SetBehavior(f.stack, cfnfake.Behavior{Hold: true})
	_, first, _ := f.deployAsync(templateV1, "d1")
	must(t, f.fake.WaitForStatus(ctx, f.stack, "CREATE_IN_PROGRESS"))
	_, second, _ := f.deployAsync(templateV2, "d2")
	must(t, f.fake.WaitForCall(ctx, "DescribeStacks"))
	f.fake.SetBehavior(f.stack, cfnfake.Behavior{})
	must(t, f.fake.Release(f.stack))
	// The first Deploy stands for an operation another process started: it
	// may see its create finish, or already the update the second started
	// on top of it. Only the second's outcome is this test's.
	for i, ch := range []<-chan deployResult{first, second} {
		select {
		case r := <-ch:
			if r.err != nil && (i == 1 || !strings.Contains(r.err.Error(), "ended UPDATE_")) {
				t.Fatal(r.err)
			}
		case <-ctx.Done():
			t.Fatal("Deploy did not return")
		}
	}
	if f.fake.Template(f.stack) != templateV2 {
		t.Error("the second deployment did not update the stack after the first finished")
	}
}

func TestDelete(t *testing.T) {
	t.Parallel()
	f := setupFake(t)
	ctx := context.Background()
	if err := f.d.Delete(ctx, DeleteRequest{StackName: f.stack, RoleARN: testRole, DeploymentID: "del0"}); err != nil {
		t.Fatalf("delete of an absent stack: %v", err)
	}
	f.deploy(t, templateV1, "d1")
	var log syncBuffer
	if err := f.d.Delete(ctx, DeleteRequest{StackName: f.stack, RoleARN: testRole, DeploymentID: "del1", Log: &log}); err != nil {
		t.Fatal(err)
	}
	if f.fake.Status(f.stack) != "" || !strings.Contains(log.String(), "DELETE_COMPLETE") {
		t.Fatalf("after delete: status %q, log:\n%s", f.fake.Status(f.stack), log.String())
	}
}

// TestDeleteCancelStopsOnlyTheWait pins that a cancel of a delete in flight
// leaves the delete to CloudFormation: Proton cannot cancel a delete either.
func TestDeleteCancelStopsOnlyTheWait(t *testing.T) {
	t.Parallel()
	f := setupFake(t)
	ctx := waitCtx(t)
	f.deploy(t, templateV1, "d0")
	f.fake.SetBehavior(f.stack, cfnfake.Behavior{Hold: true})
	dctx, cancel := context.WithCancelCause(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- f.d.Delete(dctx, DeleteRequest{StackName: f.stack, RoleARN: testRole, DeploymentID: "del"})
	}()
	must(t, f.fake.WaitForStatus(ctx, f.stack, "DELETE_IN_PROGRESS"))
	cancel(errUserCancel)
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		t.Fatal("Delete did not return after the cancel")
	}
	var ce *CanceledError
	if !errors.As(err, &ce) || ce.Stopped || !errors.Is(err, errUserCancel) {
		t.Fatalf("err = %v, want a cancel that stopped only the wait", err)
	}
	if got := f.fake.Status(f.stack); got != "DELETE_IN_PROGRESS" {
		t.Errorf("stack status = %q, want the delete still going", got)
	}
}

// TestDeploySendsParametersAndTags pins that the request's parameters and
// tags reach the stack.
func TestDeploySendsParametersAndTags(t *testing.T) {
	t.Parallel()
	f := setupFake(t)
	req := f.req(templateV1, "d1")
	req.Parameters = map[string]string{"Greeting": "hola"}
	req.Tags = ProtonTags(TagValues{Environment: "arn:aws:proton:us-east-1:123456789012:environment/dev"})
	res, err := f.d.Deploy(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if res.Outputs["Greeting"] != "hola" {
		t.Errorf("outputs = %v, want the parameter's value", res.Outputs)
	}
	out, err := cfn.NewFromConfig(f.d.access.Base()).DescribeStacks(context.Background(), &cfn.DescribeStacksInput{StackName: aws.String(f.stack)})
	if err != nil {
		t.Fatal(err)
	}
	if tags := out.Stacks[0].Tags; len(tags) != 1 || aws.ToString(tags[0].Key) != TagEnvironment {
		t.Errorf("tags = %+v", tags)
	}
}

// A look at the stack that finds no answer (a connection closed, reset or
// refused) is not the stack's end: the cancelled update's rollback goes on
// in CloudFormation, and the deployment ends CANCELLED when it is done, not
// FAILED because a poll met a broken connection.
func TestCancelledUpdateRidesOutAnUnreachableCloudFormation(t *testing.T) {
	t.Parallel()
	f := setupFake(t)
	ctx := waitCtx(t)
	f.deploy(t, templateV1, "d0")
	f.fake.SetBehavior(f.stack, cfnfake.Behavior{Hold: true})
	cancel, done, req := f.deployAsync(templateV2, "d1")
	must(t, f.fake.WaitForStatus(ctx, f.stack, "UPDATE_IN_PROGRESS"))
	cancel(errUserCancel)
	must(t, f.fake.WaitForStatus(ctx, f.stack, "UPDATE_ROLLBACK_IN_PROGRESS"))

	f.fake.SetUnreachable(true)
	for !strings.Contains(req.Log.(*syncBuffer).String(), "could not reach CloudFormation") {
		select {
		case r := <-done:
			t.Fatalf("Deploy returned while CloudFormation was unreachable: %v\n%s", r.err, req.Log)
		case <-ctx.Done():
			t.Fatalf("no look failed; %d requests dropped; log:\n%s", f.fake.Dropped(), req.Log)
		case <-time.After(5 * time.Millisecond):
		}
	}
	f.fake.SetUnreachable(false)
	for _, st := range []string{"UPDATE_ROLLBACK_IN_PROGRESS", "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS"} {
		must(t, f.fake.WaitForStatus(ctx, f.stack, st))
		must(t, f.fake.Release(f.stack))
	}
	select {
	case r := <-done:
		var ce *CanceledError
		if !errors.As(r.err, &ce) || !ce.Stopped || !errors.Is(r.err, errUserCancel) {
			t.Fatalf("err = %v, want a stopped cancel wrapping the user's; log:\n%s", r.err, req.Log)
		}
	case <-ctx.Done():
		t.Fatalf("Deploy did not return; log:\n%s", req.Log)
	}
	if got := f.fake.Status(f.stack); got != "UPDATE_ROLLBACK_COMPLETE" {
		t.Errorf("stack status = %q, want UPDATE_ROLLBACK_COMPLETE", got)
	}
}

// A CloudFormation that stays unreachable ends the wait after
// unreachableLooks looks, with the network's error, not a stack's.
func TestWaitGivesUpOnACloudFormationThatStaysUnreachable(t *testing.T) {
	t.Parallel()
	f := setupFake(t)
	ctx := waitCtx(t)
	f.fake.SetBehavior(f.stack, cfnfake.Behavior{Hold: true})
	_, done, req := f.deployAsync(templateV1, "d1")
	must(t, f.fake.WaitForStatus(ctx, f.stack, "CREATE_IN_PROGRESS"))
	f.fake.SetUnreachable(true)
	select {
	case r := <-done:
		var se *StackError
		if r.err == nil || errors.As(r.err, &se) || !unreachable(r.err) {
			t.Fatalf("err = %v, want the network's error", r.err)
		}
	case <-ctx.Done():
		t.Fatalf("Deploy did not give up; log:\n%s", req.Log)
	}
	if n := strings.Count(req.Log.(*syncBuffer).String(), "could not reach CloudFormation"); n != unreachableLooks-1 {
		t.Errorf("%d looks noted as failed before giving up, want %d; log:\n%s", n, unreachableLooks-1, req.Log)
	}
}
