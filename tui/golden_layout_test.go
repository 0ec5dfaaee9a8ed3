package tui

import (
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"walstep/steps"
)

// divergedAt is the end of a default run at w x h.
func divergedAt(t *testing.T, w, h int) Model {
	t.Helper()
	m, _, c := testModelClock(freshSnap())
	m = send(m, tea.WindowSizeMsg{Width: w, Height: h})
	f6 := idx(t, m, "F6")
	m = runThrough(m, c, f6)
	m = send(m,
		eventMsg{ev: ev(steps.StepStarted, f6)},
		eventMsg{ev: steps.Event{Kind: steps.StepFinished, Index: f6, Status: steps.Done, Duration: 2 * time.Second}},
	)
	m = send(m, proofThenEnd(t, m)...)
	return polled(m, divergedSnap(c.Now()))
}

// Without colour (the goldens are drawn as NO_COLOR draws), the focused
// pane is still told apart: its title has a heavy line and a marker.
func TestGoldenFocusWithoutColour(t *testing.T) {
	for _, tc := range []struct {
		name, title string
		tabs        int
	}{{"focus_output", "output", 1}, {"focus_servers", "servers", 2}} {
		t.Run(tc.name, func(t *testing.T) {
			m := divergedAt(t, 80, 24)
			for range tc.tabs {
				m = send(m, keyMsg("tab"))
			}
			v := m.View()
			checkSize(t, v, 80, 24)
			if !strings.Contains(v, "━ ▶ "+tc.title) || strings.Contains(v, "━ ▶ steps") {
				t.Errorf("the %s pane is not marked focused:\n%s", tc.title, v)
			}
			golden(t, tc.name, v)
		})
	}
}

// At 200x60 the panel is as wide as its log lines need (the checklist
// keeps what its rows need), so a log line is one row, not wrapped.
func TestGolden200x60(t *testing.T) {
	m := divergedAt(t, 200, 60)
	v := m.View()
	checkSize(t, v, 200, 60)
	d := m.dims()
	if d.rightW <= maxPanelW || d.leftW < m.listNeed() {
		t.Errorf("panel %d, list %d (needs %d)", d.rightW, d.leftW, m.listNeed())
	}
	found := false
	for _, l := range strings.Split(v, "\n") {
		if strings.Contains(l, "requested starting point 0/3000000 is ahead of the WAL flush position of this server 0/2000178") {
			found = true
		}
	}
	if !found {
		t.Errorf("the replica's refusal is not on one row at 200x60:\n%s", v)
	}
	golden(t, "divergence_200x60", v)
}

// At 60x16 (the smallest size) the full help shows every key.
func TestGoldenHelpAt60x16(t *testing.T) {
	m, _ := testModel(freshSnap())
	m = polled(m, freshSnap())
	m = send(m, tea.WindowSizeMsg{Width: 60, Height: 16}, keyMsg("?"))
	v := m.View()
	checkSize(t, v, 60, 16)
	if strings.Contains(v, "…") && strings.Contains(ansi.Strip(v), "help …") {
		t.Errorf("the help is cut:\n%s", v)
	}
	for _, col := range m.keys.FullHelp() {
		for _, b := range col {
			if !strings.Contains(v, b.Help().Key) {
				t.Errorf("the help at 60x16 lacks %q:\n%s", b.Help().Key, v)
			}
		}
	}
	golden(t, "full_help_60x16", v)
}
