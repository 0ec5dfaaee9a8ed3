package cast_test

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"golang.org/x/sys/unix"

	"walstep/cast"
	"walstep/cast/casttest"
)

// openPTY returns a pseudo-terminal's two ends, sized width x height.
func openPTY(t *testing.T, width, height int) (master, tty *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	setSize(t, s, width, height)
	t.Cleanup(func() { s.Close(); m.Close() })
	return m, s
}

func setSize(t *testing.T, f *os.File, width, height int) {
	t.Helper()
	if err := unix.IoctlSetWinsize(int(f.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Col: uint16(width), Row: uint16(height)}); err != nil {
		t.Fatal(err)
	}
}

// counter is a small full-screen program: each key redraws it, q quits.
type counter struct {
	n             int
	width, height int
}

func (c counter) Init() tea.Cmd { return nil }
func (c counter) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		c.width, c.height = msg.Width, msg.Height
	case tea.KeyMsg:
		if msg.String() == "q" {
			return c, tea.Quit
		}
		c.n++
	}
	return c, nil
}
func (c counter) View() string {
	var b strings.Builder
	fmt.Fprintf(&b, "size %dx%d · keys %d\n", c.width, c.height, c.n)
	for i := 0; i < c.n%5; i++ {
		fmt.Fprintf(&b, "line %d ──● %s\n", i, strings.Repeat("·", i*7))
	}
	b.WriteString("P ──●── timeline 2 at 0/2000100")
	return b.String()
}

// A Bubble Tea program drawn through a Tee still has a terminal (its size,
// raw mode), and the recording played back shows what it drew last.
func TestTeeRecordsABubbleTeaProgram(t *testing.T) {
	master, tty := openPTY(t, 100, 30)
	go io.Copy(io.Discard, master) // the terminal shows it; nobody reads here
	path := filepath.Join(t.TempDir(), "s.cast")
	w, hgt, err := cast.TerminalSize(tty)
	if err != nil || w != 100 || hgt != 30 {
		t.Fatalf("terminal size %dx%d, %v", w, hgt, err)
	}
	rec, err := cast.Create(path, cast.Options{Width: w, Height: hgt, Title: "counter"})
	if err != nil {
		t.Fatal(err)
	}
	in, keys := io.Pipe()
	p := tea.NewProgram(counter{}, tea.WithAltScreen(), tea.WithInput(in), tea.WithOutput(cast.NewTee(tty, rec)))
	done := make(chan tea.Model, 1)
	go func() {
		m, err := p.Run()
		if err != nil {
			t.Error(err)
		}
		done <- m
	}()
	// Keys, a resize, more keys. Each step waits until the recording shows
	// the program drew it.
	waitFor := func(text string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			b, _ := os.ReadFile(path)
			if bytes.Contains(b, []byte(text)) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%q never recorded:\n%s", text, b)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitFor("size 100x30 · keys 0")
	for i := 1; i <= 3; i++ {
		keys.Write([]byte("x"))
		waitFor(fmt.Sprintf("keys %d", i))
	}
	setSize(t, tty, 90, 25)
	p.Send(tea.WindowSizeMsg{Width: 90, Height: 25}) // SIGWINCH goes to the pty's own process group
	waitFor("size 90x25 · keys 3")
	keys.Write([]byte("x"))
	waitFor("keys 4")
	keys.Write([]byte("q"))
	var final tea.Model
	select {
	case final = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("program did not quit")
	}
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}

	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h, ev, err := cast.Read(f)
	if err != nil {
		t.Fatal(err)
	}
	if h.Width != 100 || h.Height != 30 {
		t.Errorf("header size %dx%d", h.Width, h.Height)
	}
	resized := false
	for i, e := range ev {
		if i > 0 && e.Time < ev[i-1].Time {
			t.Errorf("event %d goes back in time", i)
		}
		if e.Kind == "r" {
			resized = e.Data == "90x25"
		}
	}
	if !resized {
		t.Errorf("no resize to 90x25 recorded")
	}
	got, err := casttest.LastFrame(h, ev)
	if err != nil {
		t.Fatal(err)
	}
	if want := casttest.TrimScreen(final.View()); got != want {
		t.Errorf("played back:\n%s\nlast frame:\n%s", got, want)
	}
}
