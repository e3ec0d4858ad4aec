package cloudformation

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/aws/smithy-go"
)

// StackError reports a stack operation that ended in a state other than the
// one asked for: a create or update that failed and rolled back, a rollback
// or delete that failed. It never wraps a context's cause, so a deployment
// that gets it ends FAILED even when a cancel was under way.
type StackError struct {
	StackName string
	Operation string // "create", "update", "delete", "continue rollback", "cancel"
	Status    string // the stack's final status
	// LogicalID and Reason come from the first FAILED event of the
	// operation; when no resource failed they are the stack's own.
	LogicalID string
	Reason    string
}

func (e *StackError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s of stack %s ended %s", e.Operation, e.StackName, e.Status)
	switch {
	case e.LogicalID != "" && e.LogicalID != e.StackName:
		fmt.Fprintf(&b, ": %s: %s", e.LogicalID, e.Reason)
	case e.Reason != "":
		fmt.Fprintf(&b, ": %s", e.Reason)
	}
	return b.String()
}

// CanceledError reports an operation stopped by a cancel of Deploy's
// context. Unwrap returns context.Cause of that context, so the caller can
// tell a user's cancel from a shutdown with errors.Is.
//
// After a user's cancel, Stopped is true: an update was rolled back to the
// previous template (UPDATE_ROLLBACK_COMPLETE), or a create was undone by
// deleting the stack; nothing this deployment changed is left. After any
// other cancel (a shutdown), Stopped is false: the driver stopped waiting
// and CloudFormation carries on with the operation.
type CanceledError struct {
	StackName string
	Operation string
	Stopped   bool
	Cause     error
}

func (e *CanceledError) Error() string {
	if e.Stopped {
		how := "left unchanged"
		switch e.Operation {
		case "create":
			how = "deleted"
		case "update":
			how = "rolled back"
		}
		return fmt.Sprintf("%s of stack %s canceled, stack %s: %v", e.Operation, e.StackName, how, e.Cause)
	}
	return fmt.Sprintf("stopped waiting on %s of stack %s, which goes on in CloudFormation: %v", e.Operation, e.StackName, e.Cause)
}

func (e *CanceledError) Unwrap() error { return e.Cause }

// apiError returns the code and message of a CloudFormation error answer.
func apiError(err error) (code, msg string, ok bool) {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode(), ae.ErrorMessage(), true
	}
	return "", "", false
}

// unreachable reports an error that is not CloudFormation's answer: the
// request found no answer (a connection refused, reset or closed, a
// timeout), after the SDK's own retries. A context's end is not one.
func unreachable(err error) bool {
	_, _, answered := apiError(err)
	return !answered && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
}

// isNotExist reports CloudFormation's answer for a stack that is not there:
// ValidationError "Stack with id X does not exist".
func isNotExist(err error) bool {
	code, msg, ok := apiError(err)
	return ok && code == "ValidationError" && strings.Contains(msg, "does not exist")
}

// isNoUpdates reports UpdateStack's answer for a template and parameters
// equal to the stack's: ValidationError "No updates are to be performed.".
func isNoUpdates(err error) bool {
	code, msg, ok := apiError(err)
	return ok && code == "ValidationError" && strings.Contains(msg, "No updates are to be performed")
}
