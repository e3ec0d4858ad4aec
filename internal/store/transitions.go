package store

import (
	"fmt"
	"slices"
)

// The legal ends of a deployment, as DeploymentFinishParams for
// DeploymentFinish. Each names the statuses it may leave, so the store's
// write is one conditional UPDATE whose WHERE lists them and a race has one
// winner. Build finishes with these rather than by filling From and To by
// hand; DeploymentFinish refuses a pair that is not in legalEnds.
//
//	IN_PROGRESS ──cancel──► CANCELLING (claimed) / CANCELLED (unclaimed)
//	IN_PROGRESS, CANCELLING ──► SUCCEEDED, FAILED
//	CANCELLING ──► CANCELLED
//	IN_PROGRESS ──► CANCELLED (a hand-off its outside party cancelled)
//	DELETE_IN_PROGRESS ──► DELETE_COMPLETE, DELETE_FAILED

// legalEnds lists, for each status a finish may leave, the statuses it may
// enter. DeploymentCancel's IN_PROGRESS → CANCELLING/CANCELLED is its own
// write and not a finish.
var legalEnds = map[string][]string{
	StatusInProgress:       {StatusSucceeded, StatusFailed, StatusCancelled},
	StatusCancelling:       {StatusSucceeded, StatusFailed, StatusCancelled},
	StatusDeleteInProgress: {StatusDeleteComplete, StatusDeleteFailed},
}

// Check reports an error when p asks for a change no deployment may make
// (a programmer's error, not a lost race): every status in From must be
// able to end in To.
func (p DeploymentFinishParams) Check() error {
	if len(p.From) == 0 {
		return fmt.Errorf("finish deployment %s as %s: no status to leave", p.ID, p.To)
	}
	for _, from := range p.From {
		if !slices.Contains(legalEnds[from], p.To) {
			return fmt.Errorf("finish deployment %s: %s to %s is not a legal transition", p.ID, from, p.To)
		}
	}
	return nil
}

// DeploymentSetSucceeded ends a deployment whose work succeeded, from
// IN_PROGRESS or CANCELLING (the work won the race with the cancel); outputs
// is a JSON object that becomes the resource's outputs. owner, when set,
// must hold the lease.
func DeploymentSetSucceeded(id, owner, outputs string) DeploymentFinishParams {
	return DeploymentFinishParams{ID: id, Owner: owner, From: []string{StatusInProgress, StatusCancelling},
		To: StatusSucceeded, Outputs: outputs}
}

// DeploymentSetFailed ends a deployment whose work failed, from IN_PROGRESS
// or CANCELLING.
func DeploymentSetFailed(id, owner, message string) DeploymentFinishParams {
	return DeploymentFinishParams{ID: id, Owner: owner, From: []string{StatusInProgress, StatusCancelling},
		To: StatusFailed, Message: message}
}

// DeploymentSetFailedIfInProgress ends a deployment as FAILED only while no
// cancel is pending (IN_PROGRESS): a worker that stops for another reason
// honours a user's cancel with DeploymentSetCancelled first.
func DeploymentSetFailedIfInProgress(id, owner, message string) DeploymentFinishParams {
	return DeploymentFinishParams{ID: id, Owner: owner, From: []string{StatusInProgress},
		To: StatusFailed, Message: message}
}

// DeploymentSetCancelled ends a deployment its worker stopped for the user's
// cancel, from CANCELLING.
func DeploymentSetCancelled(id, owner string) DeploymentFinishParams {
	return DeploymentFinishParams{ID: id, Owner: owner, From: []string{StatusCancelling},
		To: StatusCancelled, Message: CancelledMessage}
}

// DeploymentSetCancelledOutside ends a deployment handed to an outside
// party that cancelled it there (a person closed the pull request
// unmerged), from IN_PROGRESS or CANCELLING; message says what happened.
func DeploymentSetCancelledOutside(id, owner, message string) DeploymentFinishParams {
	return DeploymentFinishParams{ID: id, Owner: owner, From: []string{StatusInProgress, StatusCancelling},
		To: StatusCancelled, Message: message}
}

// DeploymentSetDeleteComplete ends a delete whose work succeeded, from
// DELETE_IN_PROGRESS; the resource is removed.
func DeploymentSetDeleteComplete(id, owner string) DeploymentFinishParams {
	return DeploymentFinishParams{ID: id, Owner: owner, From: []string{StatusDeleteInProgress},
		To: StatusDeleteComplete}
}

// DeploymentSetDeleteFailed ends a delete whose work failed, from
// DELETE_IN_PROGRESS; the resource stays as it was.
func DeploymentSetDeleteFailed(id, owner, message string) DeploymentFinishParams {
	return DeploymentFinishParams{ID: id, Owner: owner, From: []string{StatusDeleteInProgress},
		To: StatusDeleteFailed, Message: message}
}
