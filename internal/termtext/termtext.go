// Package termtext turns what a program wrote for a terminal into plain text:
// it removes ANSI/ECMA-48 escape sequences (colours, cursor moves, window
// titles, hyperlinks) and the control characters a message has no use for.
// Tools such as Terraform and npm colour their output; a deployment's status
// message quotes that output and must read as text in any client.
package termtext

import (
	"strings"
	"unicode/utf8"
)

const (
	esc = 0x1b
	bel = 0x07
	// The 8-bit (C1) forms of the sequence introducers, as runes.
	c1CSI = '\u009b'
	c1OSC = '\u009d'
	c1ST  = '\u009c'
	c1DCS = '\u0090'
	c1SOS = '\u0098'
	c1PM  = '\u009e'
	c1APC = '\u009f'
)

// Plain returns s without escape sequences, and without control characters
// other than newline and tab (a carriage return of a progress bar included).
// Invalid UTF-8 is dropped too.
func Plain(s string) string {
	if !needsWork(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			i += max(size, 1)
		case r == esc:
			i = skipEscape(s, i+1)
		case r == c1CSI:
			i = skipCSI(s, i+size)
		case r == c1OSC || r == c1DCS || r == c1SOS || r == c1PM || r == c1APC:
			i = skipString(s, i+size)
		case r == '\n' || r == '\t':
			b.WriteRune(r)
			i += size
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			i += size // other C0 and C1 controls
		default:
			b.WriteString(s[i : i+size])
			i += size
		}
	}
	return b.String()
}

// needsWork reports whether s holds anything Plain removes. A U+FFFD that
// is really in s is text, not invalid UTF-8, and is kept.
func needsWork(s string) bool {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && size <= 1) || (r < 0x20 && r != '\n' && r != '\t') || (r >= 0x7f && r < 0xa0) {
			return true
		}
		i += size
	}
	return false
}

// skipEscape skips the sequence whose ESC came just before s[i].
func skipEscape(s string, i int) int {
	if i >= len(s) {
		return i
	}
	switch s[i] {
	case '[':
		return skipCSI(s, i+1)
	case ']', 'P', 'X', '^', '_':
		return skipString(s, i+1)
	}
	// ESC, intermediate bytes (0x20-0x2F), one final byte (0x30-0x7E).
	for i < len(s) && s[i] >= 0x20 && s[i] <= 0x2f {
		i++
	}
	if i < len(s) && s[i] >= 0x30 && s[i] <= 0x7e {
		i++
	}
	return i
}

// skipCSI skips a control sequence's parameter bytes (0x30-0x3F),
// intermediate bytes (0x20-0x2F) and final byte (0x40-0x7E).
func skipCSI(s string, i int) int {
	for i < len(s) && s[i] >= 0x20 && s[i] <= 0x3f {
		i++
	}
	if i < len(s) && s[i] >= 0x40 && s[i] <= 0x7e {
		i++
	}
	return i
}

// skipString skips an OSC, DCS, SOS, PM or APC string up to its terminator:
// ST (ESC \ or the C1 ST) or, as xterm accepts for OSC, BEL. An unterminated
// string runs to the end of s.
func skipString(s string, i int) int {
	for i < len(s) {
		switch {
		case s[i] == bel:
			return i + 1
		case s[i] == esc:
			if i+1 < len(s) && s[i+1] == '\\' {
				return i + 2
			}
			return i + 1
		case strings.HasPrefix(s[i:], string(c1ST)):
			return i + len(string(c1ST))
		}
		i++
	}
	return i
}
