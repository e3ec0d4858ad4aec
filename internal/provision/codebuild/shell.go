package codebuild

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/hadronhq/hadron/internal/provision/supervisor"
)

// One shell per phase, as CodeBuild's buildspec 0.2 ran a phase.
//
// Run writes a script that runs the commands in order in one shell: each
// command is eval'ed in the shell itself, so `cd`, `export`, variables,
// functions and `. ./script.sh` carry over to the next command, and the
// user's shell options are theirs (the script sets none). After each
// command the script checks its status and exits with it when it is not
// zero, so a failing command stops the phase as CodeBuild stopped it,
// without `set -e` inside the user's own code.
//
// The script tells Run where each command starts and ends by writing a
// marker line, "\036<token> s <i>" or "\036<token> e <i> <status>", on a
// duplicate of the output pipe kept on a descriptor of its own (so a
// command's `exec >file` does not divert it). The markers travel in the
// same pipe as the output, so Run knows exactly which output belongs to
// which command; the token is random per run, so no other run's output
// and no output a command merely passes on (a log, a file) can forge one.
// The run itself can learn its token (its shell reads the script): forged
// markers can only misreport its own commands (which one failed, or a
// success its shell then contradicts) and so its own deployment's status;
// an index past the last command is ignored, and a cancel does not trust
// the markers (phase).
// The pump takes the markers out of the stream before anything is logged.

const (
	// markerStart begins every marker line; the token follows it.
	markerStart = "\036hadron-"
	// maxMarkerLen bounds a marker line: a longer "line" after the marker
	// start is output, not a marker.
	maxMarkerLen = 128
	// shellStatusVar holds a command's status between the command and its
	// check. It is visible to the commands; the name keeps it out of the way.
	shellStatusVar = "__hadron_status"
)

// shell is the shell a phase runs in.
type shell struct {
	path     string // absolute path of the shell
	markerFD int    // descriptor the script writes its markers to
}

// findShell returns bash when the commands' PATH has it (CodeBuild's Linux
// images ran bash), else /bin/sh.
func findShell(env []string) shell {
	if bash := lookPath(env, "bash"); bash != "" {
		// bash allows descriptors above 9; a high one stays clear of the
		// usual `exec 9>lock; flock 9`.
		return shell{path: bash, markerFD: 62}
	}
	return shell{path: "/bin/sh", markerFD: 9} // POSIX sh allows only single-digit descriptors
}

// newToken returns a fresh random marker token.
func newToken() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("marker token: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}

// phaseScript returns the script that runs commands in one shell, as
// described at the top of this file.
func phaseScript(sh shell, token string, commands []string) string {
	var b strings.Builder
	b.WriteString("# Written by Hadron: a phase's commands, run in order in this one shell.\n")
	// The shell reads this script through a descriptor of its own; the
	// commands have no use for the one it was handed on.
	fmt.Fprintf(&b, "exec %d<&-\n", supervisor.ShellScriptFD)
	fmt.Fprintf(&b, "exec %d>&1\n", sh.markerFD)
	// `command` bypasses any function a user's command defines with the same
	// name as the builtins the script relies on.
	marker := func(format string) string {
		return fmt.Sprintf("command printf '\\036hadron-%s %s\\n'", token, format)
	}
	for i, c := range commands {
		fmt.Fprintf(&b, "%s >&%d\n", marker("s "+strconv.Itoa(i)), sh.markerFD)
		fmt.Fprintf(&b, "command eval %s\n", shellQuote(c))
		fmt.Fprintf(&b, "%s=$?\n", shellStatusVar)
		fmt.Fprintf(&b, "%s \"$%s\" >&%d\n", marker("e "+strconv.Itoa(i)+" %d"), shellStatusVar, sh.markerFD)
		fmt.Fprintf(&b, "command test \"$%s\" -eq 0 || exit \"$%s\"\n", shellStatusVar, shellStatusVar)
	}
	b.WriteString("exit 0\n")
	return b.String()
}

// shellQuote quotes s as one single-quoted shell word.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// markerEvent is a command's start (end false) or end, as the script
// reported it.
type markerEvent struct {
	index  int
	end    bool
	status int // exit status of the command, for an end
}

// splitter takes the marker lines of one token out of a stream.
type splitter struct {
	start   []byte // markerStart + token + " "
	pending []byte // held back: maybe the beginning of a marker
}

// split appends p to what is pending and calls out with the output and
// marker for each piece, in stream order. It holds back a tail that may be
// the start of a marker; flush releases it as output.
func (s *splitter) split(p []byte, output func([]byte), marker func(markerEvent)) {
	data := append(s.pending, p...)
	s.pending = nil
	for len(data) > 0 {
		i := bytes.Index(data, s.start)
		if i < 0 {
			keep := partialSuffix(data, s.start)
			output(data[:len(data)-keep])
			s.pending = append([]byte(nil), data[len(data)-keep:]...)
			return
		}
		output(data[:i])
		data = data[i:]
		nl := bytes.IndexByte(data, '\n')
		if nl < 0 && len(data) < maxMarkerLen {
			s.pending = append([]byte(nil), data...)
			return
		}
		ev, ok := parseMarker(data[len(s.start):max(nl, 0)])
		if nl < 0 || !ok {
			// Not a marker after all: output, from the byte after its start.
			output(data[:1])
			data = data[1:]
			continue
		}
		marker(ev)
		data = data[nl+1:]
	}
}

// flush returns what split held back.
func (s *splitter) flush() []byte {
	p := s.pending
	s.pending = nil
	return p
}

// parseMarker parses "s <i>" or "e <i> <status>".
func parseMarker(b []byte) (markerEvent, bool) {
	f := strings.Fields(string(b))
	var ev markerEvent
	var err error
	switch {
	case len(f) == 2 && f[0] == "s":
		ev.index, err = strconv.Atoi(f[1])
	case len(f) == 3 && f[0] == "e":
		ev.end = true
		if ev.index, err = strconv.Atoi(f[1]); err == nil {
			ev.status, err = strconv.Atoi(f[2])
		}
	default:
		return ev, false
	}
	return ev, err == nil && ev.index >= 0
}

// partialSuffix returns the length of the longest suffix of data that is a
// proper prefix of pat.
func partialSuffix(data, pat []byte) int {
	for n := min(len(data), len(pat)-1); n > 0; n-- {
		if bytes.HasSuffix(data, pat[:n]) {
			return n
		}
	}
	return 0
}

// maskText replaces every secret value in a command's output.
const maskText = "***"

// masker replaces secret values in a stream with maskText, as CodeBuild did
// in its logs. A value split across two writes is still found: the tail of
// a write that could begin a value is held back until the next write (or
// flush) shows whether it does.
type masker struct {
	secrets [][]byte // longest first, so a value containing another is masked whole
	held    []byte
	// more, when set, is asked for further values at each write; only the
	// values it adds since the last call are new (runcreds.Grant.Mask
	// grows by appending).
	more     func() []string
	moreSeen int
}

// newMasker masks values, and whatever more returns over time.
func newMasker(values []string, more func() []string) *masker {
	m := &masker{more: more}
	m.add(values)
	return m
}

func (m *masker) add(values []string) {
	for _, v := range values {
		if v != "" && !slices.ContainsFunc(m.secrets, func(s []byte) bool { return string(s) == v }) {
			m.secrets = append(m.secrets, []byte(v))
		}
	}
	slices.SortFunc(m.secrets, func(a, b []byte) int { return len(b) - len(a) })
}

// write returns p with the secrets masked, minus a held-back tail.
func (m *masker) write(p []byte) []byte {
	if m.more != nil {
		if vs := m.more(); len(vs) > m.moreSeen {
			m.add(vs[m.moreSeen:])
			m.moreSeen = len(vs)
		}
	}
	if len(m.secrets) == 0 {
		return p
	}
	return m.mask(append(m.held, p...), false)
}

// flush returns what write held back, masked.
func (m *masker) flush() []byte {
	if len(m.held) == 0 {
		return nil
	}
	return m.mask(m.held, true)
}

func (m *masker) mask(data []byte, final bool) []byte {
	m.held = nil
	out := make([]byte, 0, len(data))
next:
	for i := 0; i < len(data); {
		rest := data[i:]
		if !final {
			// Wait for more when the rest may still become a (longer) value.
			for _, s := range m.secrets {
				if len(rest) < len(s) && bytes.HasPrefix(s, rest) {
					m.held = append([]byte(nil), rest...)
					return out
				}
			}
		}
		for _, s := range m.secrets {
			if bytes.HasPrefix(rest, s) {
				out = append(out, maskText...)
				i += len(s)
				continue next
			}
		}
		out = append(out, data[i])
		i++
	}
	return out
}
