package untrusted

import (
	"strings"
	"unicode/utf8"

	"github.com/charmbracelet/x/ansi"
)

// Text returns s without terminal escape sequences (CSI, OSC, DCS, ...)
// and without the control characters a terminal acts on (C0 but tab, DEL,
// C1); invalid UTF-8 becomes U+FFFD. Tabs stay: a server log's
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
		case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f:
			// dropped: a terminal would act on it
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Lines applies Text to each line, in place, and returns lines.
func Lines(lines []string) []string {
	for i, l := range lines {
		lines[i] = Text(l)
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
			if r == utf8.RuneError && size <= 1 || r <= 0x9f {
				return false
			}
			i += size - 1
		}
	}
	return true
}
