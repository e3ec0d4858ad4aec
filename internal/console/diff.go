package console

import "strings"

// diffLine is one line of a line diff: Op is "+" (only in the new text),
// "-" (only in the old) or " " (in both).
type diffLine struct {
	Op, Text string
}

// maxDiffLines bounds the texts lineDiff compares (its table is
// len(a)*len(b)); longer specs are shown whole instead.
const maxDiffLines = 2000

// lineDiff returns the lines of old and new as a shortest edit script
// (longest common subsequence), or nil when they are equal or too long to
// compare.
func lineDiff(old, new string) []diffLine {
	if old == new {
		return nil
	}
	a, b := lines(old), lines(new)
	if len(a) > maxDiffLines || len(b) > maxDiffLines {
		return nil
	}
	// lcs[i][j] is the length of the longest common subsequence of a[i:] and b[j:].
	lcs := make([][]int, len(a)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var out []diffLine
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		switch {
		case a[i] == b[j]:
			out = append(out, diffLine{" ", a[i]})
			i++
			j++
		case lcs[i+1][j] >= lcs[i][j+1]:
			out = append(out, diffLine{"-", a[i]})
			i++
		default:
			out = append(out, diffLine{"+", b[j]})
			j++
		}
	}
	for ; i < len(a); i++ {
		out = append(out, diffLine{"-", a[i]})
	}
	for ; j < len(b); j++ {
		out = append(out, diffLine{"+", b[j]})
	}
	return out
}

func lines(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(strings.TrimSuffix(s, "\n"), "\n")
}
