package codebuild

import (
	"reflect"
	"strings"
	"testing"
)

// TestSplitterFindsMarkersAcrossReads feeds a stream cut at every pair of
// positions and checks that output and markers come out the same.
func TestSplitterFindsMarkersAcrossReads(t *testing.T) {
	t.Parallel()
	const token = "0123abcd"
	mark := func(s string) string { return markerStart + token + " " + s + "\n" }
	stream := "before" + mark("s 0") + "out\x1ehadron-x not ours\n" + mark("e 0 0") + mark("s 1") + "partial" + mark("e 1 3") + "\x1ehadron-" + token + " bogus\nend\x1e"
	wantOut := "beforeout\x1ehadron-x not ours\npartial\x1ehadron-" + token + " bogus\nend\x1e"
	wantEv := []markerEvent{{index: 0}, {index: 0, end: true}, {index: 1}, {index: 1, end: true, status: 3}}
	for i := 0; i <= len(stream); i++ {
		for j := i; j <= len(stream); j++ {
			s := splitter{start: []byte(markerStart + token + " ")}
			var out strings.Builder
			var evs []markerEvent
			for _, chunk := range []string{stream[:i], stream[i:j], stream[j:]} {
				s.split([]byte(chunk), func(b []byte) { out.Write(b) }, func(ev markerEvent) { evs = append(evs, ev) })
			}
			out.Write(s.flush())
			if out.String() != wantOut || !reflect.DeepEqual(evs, wantEv) {
				t.Fatalf("cut at %d, %d: output %q, events %v; want %q, %v", i, j, out.String(), evs, wantOut, wantEv)
			}
		}
	}
}

func TestMaskerAcrossWrites(t *testing.T) {
	t.Parallel()
	secrets := []string{"s3cret", "s3cret-longer", "ab", ""}
	stream := "x s3cret y s3cret-longer z s3cr aab ab s3"
	want := "x *** y *** z s3cr a*** *** s3"
	for i := 0; i <= len(stream); i++ {
		for j := i; j <= len(stream); j++ {
			m := newMasker(secrets, nil)
			var out []byte
			for _, chunk := range []string{stream[:i], stream[i:j], stream[j:]} {
				out = append(out, m.write([]byte(chunk))...)
			}
			out = append(out, m.flush()...)
			if string(out) != want {
				t.Fatalf("cut at %d, %d: %q, want %q", i, j, out, want)
			}
		}
	}
}

func TestShellQuote(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"":           "''",
		"a b":        "'a b'",
		"it's":       `'it'\''s'`,
		"$X `y` \\n": "'$X `y` \\n'",
	} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %s, want %s", in, got, want)
		}
	}
}
