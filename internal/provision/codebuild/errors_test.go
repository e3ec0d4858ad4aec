package codebuild

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestErrorMessages(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  error
		want string
	}{
		{&CommandError{Index: 1, Count: 3, Command: "make deploy", ExitCode: 2, Tail: "make: *** [deploy] Error 2"},
			`command 2 of 3 "make deploy" exited with status 2: make: *** [deploy] Error 2`},
		{&CommandError{Index: 0, Count: 1, Command: "./crash", ExitCode: -1, Signal: "SIGSEGV"},
			`command 1 of 1 "./crash" was killed by signal SIGSEGV`},
		{&CanceledError{Cause: errUserCancel, Started: true, Index: 0, Count: 2, Command: "terraform apply"},
			`command 1 of 2 "terraform apply" canceled: user initiated cancellation`},
		{&CanceledError{Cause: errUserCancel, Killed: true, Started: true, Index: 1, Count: 2, Command: "sleep 1"},
			`command 2 of 2 "sleep 1" canceled (killed with SIGKILL after the grace period): user initiated cancellation`},
		{&CanceledError{Cause: context.Canceled, Index: 0, Count: 1, Command: "true"},
			`canceled before command 1 of 1 "true": context canceled`},
		{&StopError{Index: 0, Count: 1, Command: "cat /dev/stuck", Pgid: 42, Cause: errUserCancel},
			`command 1 of 1 "cat /dev/stuck" could not be stopped: process group 42 still has live processes after SIGKILL`},
		{&CommandError{Count: 1, Command: strings.Repeat("x", 200), ExitCode: 1},
			`command 1 of 1 "` + strings.Repeat("x", 120) + `…" exited with status 1`},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() =\n%s\nwant\n%s", got, tt.want)
		}
	}
	if errors.Is(&StopError{Cause: errUserCancel}, errUserCancel) {
		t.Error("a StopError passes for the cancel it failed to carry out")
	}
}

func TestTailBuffer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		write []string
		want  string
	}{
		{"empty", nil, ""},
		{"trailing newlines dropped", []string{"a\nb\n\n"}, "a\nb"},
		{"last 20 lines", []string{strings.Repeat("line\n", 30), "end\n"}, strings.Repeat("line\n", 19) + "end"},
		{"no newline at end", []string{"partial"}, "partial"},
		{"at most 2 KB, from a line start", []string{strings.Repeat("y", 1500) + "\n" + strings.Repeat("z", 1500) + "\n"}, strings.Repeat("z", 1500)},
		{"one long line cut", []string{strings.Repeat("w", 5000)}, strings.Repeat("w", tailBytes)},
		{"many writes", []string{strings.Repeat("0123456789\n", 2000), "last"}, strings.Repeat("0123456789\n", 19) + "last"},
	}
	for _, tt := range tests {
		var tb tailBuffer
		for _, w := range tt.write {
			tb.Write([]byte(w))
		}
		if got := tb.String(); got != tt.want {
			t.Errorf("%s: tail = %q, want %q", tt.name, got, tt.want)
		}
	}
}
