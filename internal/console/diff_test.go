package console

import (
	"strings"
	"testing"
)

func TestLineDiffIsAShortestEditScript(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, old, new string
		want           string // one line per diff line, op then text
	}{
		{"equal", "a\nb\n", "a\nb\n", ""},
		{"one changed value", "spec:\n  seconds: 0\n  name: x\n", "spec:\n  seconds: 120\n  name: x\n",
			" spec:|-  seconds: 0|+  seconds: 120|   name: x"},
		{"added at the end", "a\n", "a\nb\n", " a|+b"},
		{"removed at the start", "a\nb\n", "b\n", "-a| b"},
		{"from nothing", "", "a\n", "+a"},
		{"to nothing", "a\n", "", "-a"},
		{"no final newline", "a\nb", "a\nc\n", " a|-b|+c"},
	} {
		var got []string
		for _, l := range lineDiff(c.old, c.new) {
			got = append(got, l.Op+l.Text)
		}
		if strings.Join(got, "|") != c.want {
			t.Errorf("%s: %q, want %q", c.name, strings.Join(got, "|"), c.want)
		}
	}
}

func TestLineDiffGivesUpOnHugeTexts(t *testing.T) {
	t.Parallel()
	big := strings.Repeat("x\n", maxDiffLines+1)
	if d := lineDiff(big, big+"y\n"); d != nil {
		t.Errorf("a diff of %d lines was computed", len(d))
	}
}
