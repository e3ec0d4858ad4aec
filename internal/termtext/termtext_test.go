package termtext

import "testing"

func TestPlainRemovesTerminalControlAndKeepsText(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"plain text is unchanged", "Error: exit status 1\n\tat line 2", "Error: exit status 1\n\tat line 2"},
		{"SGR colours", "\x1b[31mError:\x1b[0m \x1b[1;4mbad\x1b[m input", "Error: bad input"},
		{"256 and true colour", "\x1b[38;5;196mred\x1b[38;2;255;0;0m too\x1b[0m", "red too"},
		{"cursor moves and erase", "\x1b[2K\x1b[1Gdone\x1b[?25h", "done"},
		{"OSC title ended by BEL", "\x1b]0;terraform apply\x07Apply complete", "Apply complete"},
		{"OSC 8 hyperlink ended by ST", "see \x1b]8;;https://example.test/doc\x1b\\the docs\x1b]8;;\x1b\\ now", "see the docs now"},
		{"charset selection", "\x1b(Bbox\x1b)0", "box"},
		{"single-character escape", "\x1bMup\x1b7saved\x1b8", "upsaved"},
		{"8-bit CSI", "\u009b31mred\u009b0m", "red"},
		{"8-bit OSC ended by 8-bit ST", "\u009d0;title\u009cbody", "body"},
		{"carriage-return progress and other controls", "50%\r100%\x08\x00 ok", "50%100% ok"},
		{"escape at the very end", "text\x1b", "text"},
		{"unterminated CSI", "text\x1b[31", "text"},
		{"unterminated OSC runs to the end", "a\x1b]0;never ends", "a"},
		{"invalid UTF-8 dropped", "a\xffb", "ab"},
		{"non-ASCII text kept", "déploiement échoué ✗", "déploiement échoué ✗"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Plain(tt.in); got != tt.want {
				t.Errorf("Plain(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func FuzzPlain(f *testing.F) {
	f.Add("\x1b[31mred\x1b[0m")
	f.Add("\x1b]8;;u\x1b\\x\x1b]8;;\x1b\\")
	f.Fuzz(func(t *testing.T, s string) {
		out := Plain(s)
		if len(out) > len(s) {
			t.Fatalf("Plain grew %q to %q", s, out)
		}
		if needsWork(out) {
			t.Fatalf("Plain(%q) = %q still holds control characters", s, out)
		}
		if Plain(out) != out {
			t.Fatalf("Plain is not idempotent on %q", s)
		}
	})
}
