package cast

import (
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
