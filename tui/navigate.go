package tui

import (
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"walstep/steps"
)

// page handles pgup, pgdn, home and end: in the steps pane they move the
// selection (a page of the list, the first or the last step); elsewhere
// they scroll the output.
func (m *Model) page(k tea.KeyMsg) {
	if m.focus != focusSteps {
		m.keys.scrolling().scroll(&m.output, k)
		return
	}
	page := max(m.dims().listH-1, 1)
	sel := m.selected
	switch {
	case key.Matches(k, m.keys.PageUp):
		sel -= page
	case key.Matches(k, m.keys.PageDown):
		sel += page
	case key.Matches(k, m.keys.Top):
		sel = 0
	case key.Matches(k, m.keys.Bottom):
		sel = len(m.steps) - 1
	}
	m.selectStep(min(max(sel, 0), len(m.steps)-1))
}

// selectStep selects step i in the checklist.
func (m *Model) selectStep(i int) {
	m.selected = i
	// Moving away from the running step stops the selection from jumping
	// back to it; moving onto it follows it again.
	m.follow = m.selected == m.running || (m.running < 0 && m.selected == m.cursor)
	m.layout()
	m.refreshOutput(true)
}

// move handles up/down for the focused part.
func (m *Model) move(down bool) {
	switch m.focus {
	case focusSteps:
		sel := m.selected
		if down && sel < len(m.steps)-1 {
			sel++
		} else if !down && sel > 0 {
			sel--
		}
		m.selectStep(sel)
	case focusOutput:
		if down {
			m.output.ScrollDown(1)
		} else {
			m.output.ScrollUp(1)
		}
	case focusServers:
		m.server = m.serverAfter(m.current(), !down)
	}
}

// retryTarget is the selected step when it has run, else the failed step,
// else the selected one.
func (m Model) retryTarget() int {
	if s := m.views[m.selected].status; s != steps.Pending {
		return m.selected
	}
	for i, v := range m.views {
		if v.status == steps.Failed {
			return i
		}
	}
	return m.selected
}
