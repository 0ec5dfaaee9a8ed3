package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"walstep/steps"
)

// Below this size the layout cannot fit; the screen says so instead.
const (
	minWidth  = 60
	minHeight = 16
)

// View draws the whole screen, exactly m.width x m.height.
func (m Model) View() string {
	if m.width < minWidth || m.height < minHeight {
		return m.tooSmall()
	}
	var lines []string
	lines = append(lines, m.headerLine())
	d := m.dims()
	if m.helpOverBody() {
		// The help names ? and q itself: no footer under it.
		for _, l := range padLines(strings.Split(m.helpView(), "\n"), m.height-2) {
			lines = append(lines, fit(l, m.width))
		}
		lines = append(lines, m.statusLines()[0])
		return strings.Join(padLines(lines, m.height), "\n")
	}
	if m.screen == screenMain {
		lines = append(lines, m.presenterLines(m.width)...)
		lines = append(lines, m.mainBody(d)...)
	} else if m.screen == screenWAL {
		lines = append(lines, m.wal.View()...)
	} else {
		lines = append(lines, m.viewBody()...)
	}
	lines = append(lines, m.statusLines()...)
	for _, l := range strings.Split(m.footer(), "\n") {
		// bubbles' help can overflow a narrow screen; cut it.
		lines = append(lines, ansi.Truncate(l, m.width, "…"))
	}
	return strings.Join(padLines(lines, m.height), "\n")
}

// headerLine names the tool, the backend and what the runner is doing.
func (m Model) headerLine() string {
	st := m.styles
	left := st.Header.Render("walstep")
	if m.cfg.Header != "" {
		left += st.Dim.Render(" · " + m.cfg.Header)
	}
	right := m.runState()
	gap := m.width - lipgloss.Width(left) - lipgloss.Width(right)
	if gap < 1 {
		// What the runner does matters more than the end of a long lab
		// path: cut the left part, keep the state.
		if lw := m.width - lipgloss.Width(right) - 1; lw >= 8 {
			return fit(left, lw) + " " + right
		}
		return fit(left, m.width)
	}
	return left + strings.Repeat(" ", gap) + right
}

// runState is the runner's state in a few words, for the header.
func (m Model) runState() string {
	done := 0
	for _, v := range m.views {
		if v.status == steps.Done || v.status == steps.Skipped {
			done++
		}
	}
	progress := fmt.Sprintf("%d/%d", done, len(m.steps))
	switch {
	case m.eventsDone:
		return "runner stopped · " + progress
	case m.running >= 0:
		return fmt.Sprintf("running %s · %s", m.steps[m.running].ID, progress)
	case m.finished:
		return "finished · " + progress
	case m.cursor >= 0 && m.cursor < len(m.steps):
		return fmt.Sprintf("next %s · %s", m.steps[m.cursor].ID, progress)
	}
	return progress
}

// mainBody is the checklist and step detail on the left, the panel on the
// right, bodyH rows.
func (m Model) mainBody(d dims) []string {
	st := m.styles
	var left []string
	left = append(left, m.paneRule("steps", d.leftW, m.focus == focusSteps))
	left = append(left, m.checklistLines(d.leftW, d.listH)...)
	left = append(left, m.detailLines(d.leftW)...)
	left = append(left, m.paneRule(m.outputTitle(), d.leftW, m.focus == focusOutput))
	for _, l := range padLines(strings.Split(m.output.View(), "\n"), d.outH) {
		left = append(left, fit(l, d.leftW))
	}
	left = padLines(left, d.bodyH)
	right := m.panelLines(d.rightW, d.bodyH)
	sep := st.Rule.Render("│")
	body := make([]string, d.bodyH)
	for i := range body {
		body[i] = fit(left[i], d.leftW) + sep + fit(right[i], d.rightW)
	}
	return body
}

// statusMaxLines bounds the status line's wrap, with a quarter of the
// screen: a long notice (how the backend was chosen, with the flag that
// changes it) is read whole.
const statusMaxLines = 4

// statusLines show the latest notice, wrapped: why the runner stopped, a
// refused command, a question.
func (m Model) statusLines() []string {
	st := m.styles
	switch m.ask {
	case askQuitRunning:
		return []string{st.Question.Render(fit(fmt.Sprintf("Step %s is still running. Quit and cancel it? (y/n)", m.steps[m.running].ID), m.width))}
	case askStopServers, askQuitResume:
		back := "here"
		if m.cursor > 0 && m.cursor < len(m.steps) {
			back = "at step " + m.steps[m.cursor].ID
		}
		q := "Stop the servers before quitting? y: stop them · n: leave them running · r: stop them, walstep --resume comes back " + back
		if m.ask == askQuitResume {
			q = "Quit? y: quit · r: quit keeping this step, walstep --resume comes back " + back
		}
		var out []string
		for _, l := range wrap(q+" · esc: stay", max(m.width, 1), 3) {
			out = append(out, st.Question.Render(fit(l, m.width)))
		}
		return out
	}
	if m.notice != "" {
		n := max(statusMaxLines, m.height/4)
		if m.screen != screenMain || m.helpOverBody() {
			n = 1 // the full-screen views lay out one status row
		}
		var out []string
		for _, l := range wrap(m.notice, max(m.width, 1), n) {
			out = append(out, st.Notice.Render(fit(l, m.width)))
		}
		return out
	}
	return []string{fit("", m.width)}
}

// footer is the help: short, full with ?, or the answers to a question.
func (m Model) footer() string {
	if m.ask != askNone {
		return m.help.ShortHelpView(confirmKeys{k: m.keys, resume: m.ask == askStopServers || m.ask == askQuitResume, noNo: m.ask == askQuitResume}.ShortHelp())
	}
	if m.screen == screenLog {
		b := append([]key.Binding{m.keys.Back, m.keys.Switch}, m.logView.keys.ShortHelp()...)
		return m.help.ShortHelpView(append(b, m.keys.Quit))
	}
	if m.screen == screenWAL {
		return m.help.ShortHelpView(m.wal.keys.ShortHelp())
	}
	if v := m.textView(); v != nil {
		return m.help.ShortHelpView(v.keys.ShortHelp())
	}
	return m.helpView()
}

func (m Model) helpView() string {
	if m.help.ShowAll {
		return m.fullHelpView(m.keys.fullHelp(m.focus == focusSteps), m.width)
	}
	return m.help.ShortHelpView(m.keys.ShortHelp())
}

// tooSmall asks for a bigger terminal; the keys still work (q, Ctrl-C).
func (m Model) tooSmall() string {
	var lines []string
	for _, l := range wrap(fmt.Sprintf("walstep needs a terminal of at least %dx%d; this one is %dx%d. Make it bigger, or press q to quit.", minWidth, minHeight, m.width, m.height), max(m.width, 1), max(m.height-1, 1)) {
		lines = append(lines, fit(l, m.width))
	}
	if m.ask != askNone {
		lines = append(lines, fit(ansi.Strip(m.statusLines()[0]), m.width))
	}
	return strings.Join(padLines(lines, max(m.height, 1)), "\n")
}
