package hadrontest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"
)

// PollEvery is how often Eventually asks.
const PollEvery = 25 * time.Millisecond

// Wait asks check every `every` until it reports done, and returns nil. It
// returns an error naming what and check's last description of the state when
// timeout passes or ctx ends first, and check's own error at once.
func Wait(ctx context.Context, every, timeout time.Duration, what string, check func() (done bool, state string, err error)) error {
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		done, state, err := check()
		if err != nil {
			return fmt.Errorf("waiting for %s: %w", what, err)
		}
		if done {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %s waiting for %s; last state: %s", timeout, what, state)
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w; last state: %s", what, context.Cause(ctx), state)
		}
	}
}

// Eventually is Wait for a test: it asks check every PollEvery and fails t
// when timeout passes first.
func Eventually(t testing.TB, timeout time.Duration, what string, check func() (done bool, state string)) {
	t.Helper()
	err := Wait(t.Context(), PollEvery, timeout, what, func() (bool, string, error) {
		done, state := check()
		return done, state, nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Active lists the deployment statuses of a deployment or a deployable
// resource that has not ended yet.
var Active = []string{"IN_PROGRESS", "CANCELLING", "DELETE_IN_PROGRESS"}

// Ended reports whether a deployment status is not one of Active.
func Ended(status string) bool { return !slices.Contains(Active, status) }

// AwaitStatus asks get until the status of its answer is one of statuses
// and returns that answer; it fails t when timeout passes first. An error
// of get counts as "not yet" (a resource may not be readable at once).
func AwaitStatus[T any](t testing.TB, timeout time.Duration, what string, get func() (T, error), status func(T) string, statuses ...string) T {
	t.Helper()
	var v T
	Eventually(t, timeout, fmt.Sprintf("%s to be %v", what, statuses), func() (bool, string) {
		var err error
		if v, err = get(); err != nil {
			return false, err.Error()
		}
		return slices.Contains(statuses, status(v)), fmt.Sprintf("%+v", v)
	})
	return v
}

// AwaitNotFound asks get until it answers ResourceNotFoundException; it
// fails t when timeout passes first.
func AwaitNotFound[T any](t testing.TB, timeout time.Duration, what string, get func() (T, error)) {
	t.Helper()
	Eventually(t, timeout, what+" to be deleted", func() (bool, string) {
		v, err := get()
		var ae *APIError
		return errors.As(err, &ae) && ae.Type == "ResourceNotFoundException", fmt.Sprintf("%+v, %v", v, err)
	})
}
