package tui

import (
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
)

// The quit question at 80x24, servers running after step 12: every word
// of it shows (wrapped, not cut), the resume option names the step the
// session comes back at, and r quits stopping the servers for --resume.
// Before, the one-line question was cut at 80 columns.
func TestGoldenQuitPromptAt80x24(t *testing.T) {
	m, _, clock := testModelClock(freshSnap())
	m = send(m, tea.WindowSizeMsg{Width: 80, Height: 24})
	at := idx(t, m, "13")
	m = runThrough(m, clock, at)
	m = polled(m, divergedSnap(clock.Now()))
	m, cmd := press(m, "q")
	if m.ask != askStopServers || cmd != nil {
		t.Fatalf("q with servers running did not ask about them")
	}
	v := m.View()
	checkSize(t, v, 80, 24)
	var asked []string
	for _, l := range strings.Split(v, "\n") {
		if strings.Contains(l, "quitting?") || len(asked) > 0 && len(asked) < 3 && !strings.Contains(l, "y yes") {
			asked = append(asked, strings.TrimSpace(l))
		}
	}
	q := strings.Join(asked, " ")
	for _, want := range []string{"Stop the servers before quitting?", "y: stop them", "n: leave them running", "r: stop them, walstep --resume comes back at step 13", "esc: stay"} {
		if !strings.Contains(q, want) {
			t.Errorf("the quit question lacks %q:\n%s", want, v)
		}
	}
	if !strings.Contains(v, "r resume later") {
		t.Errorf("the help line does not offer r:\n%s", v)
	}
	golden(t, "quit_prompt_80x24", v)
	m, cmd = press(m, "r")
	if !isQuit(cmd) {
		t.Fatal("r did not quit")
	}
	if r := m.Result(); !r.Resume || !r.StopServers || r.Interrupted {
		t.Errorf("r: result %+v, want the servers stopped for --resume", r)
	}
}

// With no server running at step 8, q asks whether to quit or to quit
// keeping the step for --resume (before, it quit at once: a resume then
// had to run the steps since the last checkpoint again).
func TestGoldenQuitResumeAt80x24(t *testing.T) {
	m, _, clock := testModelClock(freshSnap())
	m = send(m, tea.WindowSizeMsg{Width: 80, Height: 24})
	m = runThrough(m, clock, idx(t, m, "8"))
	m = polled(m, freshSnap())
	m, cmd := press(m, "q")
	if m.ask != askQuitResume || cmd != nil {
		t.Fatalf("q at step 8 with no server running asked %v", m.ask)
	}
	v := m.View()
	checkSize(t, v, 80, 24)
	if !strings.Contains(v, "Quit? y: quit · r: quit keeping this step, walstep --resume comes back at step 8") {
		t.Errorf("the question does not offer to resume at step 8:\n%s", v)
	}
	golden(t, "quit_resume_80x24", v)
	if m2, cmd := press(m, "y"); !isQuit(cmd) || m2.Result().Resume || !m2.Result().StopServers {
		t.Errorf("y: result %+v, want a plain quit", m2.Result())
	}
	m, cmd = press(m, "r")
	if r := m.Result(); !isQuit(cmd) || !r.Resume {
		t.Errorf("r: result %+v, want a quit for --resume", r)
	}
}
