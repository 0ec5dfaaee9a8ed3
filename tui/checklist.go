package tui

import (
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"walstep/steps"
)

// Checklist glyphs; each state has its own, so the list reads without colour.
const (
	glyphPending = "·"
	glyphNext    = "→"
	glyphDone    = "✓"
	glyphFailed  = "✗"
	glyphSkipped = "»"
	glyphCancel  = "⊘"
	glyphRestore = "↺"
	glyphBreak   = "●"
	glyphSelect  = "▸"
)

// checklistLines renders h rows of the checklist, scrolled so the selected
// step is visible, each exactly w cells wide.
func (m Model) checklistLines(w, h int) []string {
	if h <= 0 {
		return nil
	}
	top := 0
	if len(m.steps) > h {
		top = min(max(m.selected-h/2, 0), len(m.steps)-h)
	}
	out := make([]string, 0, h)
	for i := top; i < len(m.steps) && len(out) < h; i++ {
		out = append(out, m.checklistRow(i, w))
	}
	return padLines(out, h)
}

// checklistRow is one step: selection, breakpoint, state, number, title
// and elapsed time.
func (m Model) checklistRow(i, w int) string {
	st, v, s := m.styles, m.views[i], m.steps[i]
	sel := " "
	if i == m.selected {
		sel = glyphSelect
	}
	bp := " "
	if m.breakpoints[i] {
		bp = st.Breakpoint.Render(glyphBreak)
	}
	glyph := m.stateGlyph(i)
	indent := ""
	if s.Parent != "" {
		indent = "  "
	}
	id := fmt.Sprintf("%-3s", s.ID)
	if len(id) > 4 {
		id = id[:3] + "…"
	}
	t := m.stepElapsed(i)
	if t != "" {
		t = " " + t
	}
	switch v.status {
	case steps.Failed:
		t = " failed" + t
	case steps.Cancelled:
		t = " cancelled" + t
	case steps.Restored:
		t = " restored"
	}
	prefix := sel + bp + glyph + " " + indent + id + " "
	// Widths in cells: prefix holds colour codes.
	titleW := w - lipgloss.Width(prefix) - lipgloss.Width(t)
	if titleW < 4 {
		t, titleW = "", w-lipgloss.Width(prefix)
	}
	title := fit(s.Title, titleW)
	if i == m.running || (m.running < 0 && i == m.cursor && !m.finished) {
		title = st.Current.Render(title)
	}
	row := fit(prefix+title+st.Dim.Render(t), w)
	if i == m.selected && m.focus == focusSteps {
		// Inner colours would end the reverse video part-way: draw the
		// selected row plain.
		row = st.Selected.Render(ansi.Strip(row))
	}
	return row
}

// stateGlyph is a step's state marker; the running step shows the spinner.
func (m Model) stateGlyph(i int) string {
	st := m.styles
	switch m.views[i].status {
	case steps.Running:
		return st.Running.Render(strings.TrimSpace(m.spinner.View()))
	case steps.Done:
		return st.Done.Render(glyphDone)
	case steps.Failed:
		return st.Failed.Render(glyphFailed)
	case steps.Skipped:
		return st.Skipped.Render(glyphSkipped)
	case steps.Cancelled:
		return st.Failed.Render(glyphCancel)
	case steps.Restored:
		return st.Skipped.Render(glyphRestore)
	}
	if i == m.cursor && m.running < 0 && !m.finished {
		return st.Current.Render(glyphNext)
	}
	return st.Pending.Render(glyphPending)
}

// stepElapsed is the running time of a running step, or how long it took.
func (m Model) stepElapsed(i int) string {
	v := m.views[i]
	if v.status == steps.Running && !v.started.IsZero() {
		return elapsed(max(m.now().Sub(v.started), time.Millisecond))
	}
	if v.status == steps.Done || v.status == steps.Failed || v.status == steps.Cancelled {
		return elapsed(v.elapsed)
	}
	return ""
}
