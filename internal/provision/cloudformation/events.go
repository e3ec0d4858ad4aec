package cloudformation

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	cfn "github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
)

// events streams a stack's new events into the log and remembers the first
// failure among them.
type events struct {
	seen map[string]bool
	// failure is the first FAILED event with a reason, a resource's in
	// preference to the stack's own.
	failure      *types.StackEvent
	stackFailure bool
}

func newEvents() *events { return &events{seen: map[string]bool{}} }

// prime marks the events the stack has now as old, so that only the
// operation's own are streamed. CloudFormation lists events newest first,
// so the newest one is enough: poll stops paging at a seen event.
func (e *events) prime(ctx context.Context, op *operation, id string) error {
	out, err := op.cfn.DescribeStackEvents(ctx, &cfn.DescribeStackEventsInput{StackName: aws.String(id)})
	if isNotExist(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("describe events of stack %s: %w", op.stack, err)
	}
	if len(out.StackEvents) > 0 {
		e.seen[aws.ToString(out.StackEvents[0].EventId)] = true
	}
	return nil
}

// poll writes the events that appeared since the last poll, oldest first:
// "<time> <logical id> <type> <status> <reason>".
func (e *events) poll(ctx context.Context, op *operation, id string) error {
	var fresh []types.StackEvent
	var token *string
pages:
	for {
		out, err := op.cfn.DescribeStackEvents(ctx, &cfn.DescribeStackEventsInput{StackName: aws.String(id), NextToken: token})
		if isNotExist(err) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("describe events of stack %s: %w", op.stack, err)
		}
		for _, ev := range out.StackEvents {
			if e.seen[aws.ToString(ev.EventId)] {
				break pages
			}
			fresh = append(fresh, ev)
		}
		if token = out.NextToken; token == nil {
			break
		}
	}
	slices.Reverse(fresh)
	for i := range fresh {
		ev := &fresh[i]
		e.seen[aws.ToString(ev.EventId)] = true
		ts := ""
		if ev.Timestamp != nil {
			ts = ev.Timestamp.UTC().Format(time.RFC3339)
		}
		line := strings.TrimSpace(fmt.Sprintf("%s %s %s %s %s", ts, aws.ToString(ev.LogicalResourceId),
			aws.ToString(ev.ResourceType), ev.ResourceStatus, aws.ToString(ev.ResourceStatusReason)))
		fmt.Fprintln(op.log, line)
		e.noteFailure(ev)
	}
	return nil
}

// noteFailure keeps the first event that says why the operation failed.
// "Resource creation cancelled" and the like are CloudFormation stopping
// the siblings of the resource that failed, not the cause.
func (e *events) noteFailure(ev *types.StackEvent) {
	reason := aws.ToString(ev.ResourceStatusReason)
	if !strings.HasSuffix(string(ev.ResourceStatus), "FAILED") || reason == "" ||
		strings.Contains(strings.ToLower(reason), "cancelled") {
		return
	}
	isStack := aws.ToString(ev.ResourceType) == "AWS::CloudFormation::Stack" &&
		aws.ToString(ev.PhysicalResourceId) == aws.ToString(ev.StackId)
	if e.failure == nil || (e.stackFailure && !isStack) {
		copied := *ev
		e.failure, e.stackFailure = &copied, isStack
	}
}
