package untrusted

import (
	"strings"
	"unicode/utf8"

	"github.com/charmbracelet/x/ansi"
)

// Text returns s without terminal escape sequences (CSI, OSC, DCS, ...),
// without the control characters a terminal acts on (C0 but tab, DEL, C1)
// and without the invisible ones that change what a reader sees
// (bidirectional overrides and isolates, zero-width characters, see
// invisible); invalid UTF-8 becomes U+FFFD. Tabs stay: a server log's
// continuation lines start with one.
func Text(s string) string {
	if isPlain(s) {
		return s
	}
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = ansi.Strip(s)
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case r == '\t':
			b.WriteByte('\t')
		case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f, invisible(r):
			// dropped: a terminal would act on it, or it hides or
			// reorders what is around it
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Lines applies Shown to each line, in place, and returns lines: a server
// log can quote a password as much as an escape sequence.
func Lines(lines []string) []string {
	for i, l := range lines {
		lines[i] = Shown(l)
	}
	return lines
}

// isPlain reports whether s is printable ASCII or valid UTF-8 above C1,
// the common case, which Text returns as it is without allocating.
func isPlain(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 0x20 && c != '\t') || c == 0x7f {
			return false
		}
		if c >= 0x80 {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size <= 1 || r <= 0x9f || invisible(r) {
				return false
			}
			i += size - 1
		}
	}
	return true
}

// invisible reports a format character that shows nothing yet changes
// what the text around it looks like: bidirectional marks, embeddings,
// overrides and isolates (U+202E turns "exe.txt" round), zero-width
// spaces and joiners, the soft hyphen, the byte-order mark, tags.
func invisible(r rune) bool {
	switch {
	case r == 0x00ad, r == 0x061c, r == 0x180e, r == 0xfeff:
		return true
	case r >= 0x200b && r <= 0x200f, // zero-width space/joiners, LRM, RLM
		r >= 0x2028 && r <= 0x202e,   // line/paragraph separators, LRE…RLO
		r >= 0x2060 && r <= 0x206f,   // word joiner, invisible operators, LRI…PDI
		r >= 0xfff9 && r <= 0xfffb,   // interlinear annotation
		r >= 0xe0000 && r <= 0xe007f: // tags
		return true
	}
	return false
}
