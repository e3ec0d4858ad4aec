package supervisor

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/hadronhq/hadron/internal/provision/sandbox"
)

func TestAssignmentLeavesTheLinesAfterItUnread(t *testing.T) {
	want := &Assignment{
		Dir:    "/work/d-1",
		Shell:  "/usr/bin/bash",
		Env:    []string{"PATH=/usr/bin", "MULTI=a\nb"},
		Script: "echo 'fence 1'\n",
		Policy: &sandbox.Policy{UID: -1, GID: -1, Namespaces: true},
		Fence:  12345,
	}
	var pipe bytes.Buffer
	if err := WriteAssignment(&pipe, want); err != nil {
		t.Fatal(err)
	}
	pipe.WriteString(LineFence + "67890\n" + LineTerm + "\n")
	got, err := readAssignment(&pipe)
	if err != nil {
		t.Fatal(err)
	}
	if got.Dir != want.Dir || got.Shell != want.Shell || strings.Join(got.Env, "|") != strings.Join(want.Env, "|") ||
		got.Script != want.Script || got.Fence != want.Fence || got.Policy == nil || !got.Policy.Namespaces || got.Policy.UID != -1 {
		t.Errorf("read %+v, wrote %+v", got, want)
	}
	if rest := pipe.String(); rest != LineFence+"67890\n"+LineTerm+"\n" {
		t.Errorf("left on the lifeline %q, want the fence and term lines", rest)
	}
}

func TestAssignmentRejectsWhatIsNotARun(t *testing.T) {
	for _, c := range []struct {
		name, pipe string
		eof        bool // read as "no run will come"
	}{
		{"nothing: the server closed the lifeline", "", true},
		{"a header cut short", "run 1", true},
		{"a fence first", LineFence + "1\n", false},
		{"no length", "run \n", false},
		{"a negative length", "run -1\n", false},
		{"a length past the bound", "run 999999999999\n", false},
		{"a header that never ends", strings.Repeat("r", 100), false},
		{"a body cut short", "run 10\n{}", false},
		{"a body that is not JSON", "run 2\n[]", false},
		{"no working directory", `run 18` + "\n" + `{"shell":"/bin/sh"}`, false},
		{"no shell", `run 12` + "\n" + `{"dir":"/w"}`, false},
	} {
		_, err := readAssignment(strings.NewReader(c.pipe))
		switch {
		case err == nil:
			t.Errorf("%s: accepted %q", c.name, c.pipe)
		case c.eof != errors.Is(err, io.EOF):
			t.Errorf("%s: %v; want end of file %v", c.name, err, c.eof)
		}
	}
}
