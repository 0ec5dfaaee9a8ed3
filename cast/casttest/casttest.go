package casttest

import (
	"io"
	"strings"

	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/vt"

	"walstep/cast"
)

// LastFrame plays the events through a terminal emulator of the header's
// size and returns the screen as text as it stood after the last output
// event that drew something: what the program drew last, before its
// teardown (erasing the cursor's line, leaving the alternate screen).
// Lines keep no trailing blanks; blank lines at the end are dropped.
func LastFrame(h cast.Header, events []cast.Event) (string, error) {
	last := -1
	for i, e := range events {
		if e.Kind == "o" && strings.TrimSpace(ansi.Strip(e.Data)) != "" {
			last = i
		}
	}
	term := vt.NewEmulator(h.Width, h.Height)
	// Replies to queries go to the emulator's input pipe: drain it, and
	// end the drain by closing the pipe (Close on the emulator races with
	// a Read in progress).
	drained := make(chan struct{})
	go func() { _, _ = io.Copy(io.Discard, term); close(drained) }()
	defer func() {
		if c, ok := term.InputPipe().(io.Closer); ok {
			_ = c.Close()
			<-drained
		}
	}()
	for _, e := range events[:last+1] {
		switch e.Kind {
		case "r":
			w, hh, err := cast.ParseSize(e.Data)
			if err != nil {
				return "", err
			}
			term.Resize(w, hh)
		case "o":
			if _, err := term.WriteString(e.Data); err != nil {
				return "", err
			}
		}
	}
	return TrimScreen(term.String()), nil
}

// TrimScreen drops trailing blanks on each line and blank lines at the
// end, so screens from different sources compare equal.
func TrimScreen(s string) string {
	lines := strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return strings.TrimRight(strings.Join(lines, "\n"), "\n")
}
