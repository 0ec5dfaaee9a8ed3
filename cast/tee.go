package cast

import (
	"fmt"
	"io"
	"os"

	"github.com/charmbracelet/x/term"
)

// Tee is a terminal whose output is also recorded. It has the terminal's
// file descriptor, so a program given it (tea.WithOutput) still sees a
// terminal: raw mode, its size and resizes work as without it.
type Tee struct {
	term *os.File
	rec  *Recorder
}

// NewTee records what is written to terminal on rec.
func NewTee(terminal *os.File, rec *Recorder) *Tee {
	return &Tee{term: terminal, rec: rec}
}

// TerminalSize is the size of f, for Options.Width and Height.
func TerminalSize(f *os.File) (width, height int, err error) {
	return term.GetSize(f.Fd())
}

// Write records p, then writes it to the terminal. A resize since the
// last write is recorded first: the program redraws for the new size right
// after one, so the frame that follows plays at the right size.
func (t *Tee) Write(p []byte) (int, error) {
	if w, h, err := term.GetSize(t.term.Fd()); err == nil {
		t.rec.Resize(w, h)
	}
	t.rec.Output(p)
	return t.term.Write(p)
}

// Read reads from the terminal.
func (t *Tee) Read(p []byte) (int, error) { return t.term.Read(p) }

// Fd is the terminal's file descriptor.
func (t *Tee) Fd() uintptr { return t.term.Fd() }

// Close leaves the terminal open: it belongs to the caller, and so does
// the recording (close it after the program returns).
func (t *Tee) Close() error { return nil }

var _ io.ReadWriteCloser = (*Tee)(nil)

// Start begins a recording of terminal in a new file at path, at the
// terminal's size, titled title, with pauses capped at DefaultIdleLimit.
// Draw through the returned Tee; Close the Recorder when done.
func Start(path string, terminal *os.File, title string, replace bool) (*Tee, *Recorder, error) {
	w, h, err := TerminalSize(terminal)
	if err != nil {
		return nil, nil, fmt.Errorf("start recording: terminal size: %w", err)
	}
	env := map[string]string{}
	for _, k := range []string{"TERM", "SHELL"} {
		if v := os.Getenv(k); v != "" {
			env[k] = v
		}
	}
	rec, err := Create(path, Options{Width: w, Height: h, Title: title, Env: env, Replace: replace})
	if err != nil {
		return nil, nil, err
	}
	return NewTee(terminal, rec), rec, nil
}
