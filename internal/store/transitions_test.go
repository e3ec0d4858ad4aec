package store

import (
	"strings"
	"testing"
)

func TestFinishConstructorsAreLegal(t *testing.T) {
	t.Parallel()
	for _, p := range []DeploymentFinishParams{
		DeploymentSetSucceeded("d", "w", `{}`),
		DeploymentSetFailed("d", "w", "boom"),
		DeploymentSetFailedIfInProgress("d", "w", "shutdown"),
		DeploymentSetCancelled("d", "w"),
		DeploymentSetCancelledOutside("d", "w", "closed"),
		DeploymentSetDeleteComplete("d", "w"),
		DeploymentSetDeleteFailed("d", "w", "boom"),
	} {
		if err := p.Check(); err != nil {
			t.Errorf("%s from %v: %v", p.To, p.From, err)
		}
		if IsActive(p.To) {
			t.Errorf("%s from %v: a finish must end the deployment", p.To, p.From)
		}
	}
}

func TestCheckRefusesIllegalFinishes(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		from []string
		to   string
		want string
	}{
		{"nothing to leave", nil, StatusFailed, "no status to leave"},
		{"an ended deployment", []string{StatusSucceeded}, StatusFailed, "SUCCEEDED to FAILED"},
		{"a delete that succeeds as a deploy", []string{StatusDeleteInProgress}, StatusSucceeded, "DELETE_IN_PROGRESS to SUCCEEDED"},
		{"a deploy that completes a delete", []string{StatusInProgress}, StatusDeleteComplete, "IN_PROGRESS to DELETE_COMPLETE"},
		{"a cancelled delete", []string{StatusDeleteInProgress}, StatusCancelled, "DELETE_IN_PROGRESS to CANCELLED"},
		{"one illegal status among legal ones", []string{StatusInProgress, StatusCancelled}, StatusFailed, "CANCELLED to FAILED"},
		{"back to active", []string{StatusInProgress}, StatusCancelling, "IN_PROGRESS to CANCELLING"},
	} {
		err := DeploymentFinishParams{ID: "d", From: c.from, To: c.to}.Check()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Check() = %v, want an error naming %q", c.name, err, c.want)
		}
	}
}
