package tui

import (
	"fmt"
	"strings"

	"walstep/present"
)

// viewBody is a full-screen view: a title and the viewport.
func (m Model) viewBody() []string {
	if m.screen == screenLog {
		return m.logView.View()
	}
	title := ""
	switch m.screen {
	case screenInspect:
		title = fmt.Sprintf("%s data dir", m.viewNode)
	case screenArchive:
		title = "archive: backups, WAL per timeline, what each server asks for next"
	case screenDiagnosis:
		title = "diagnosis"
	}
	if m.viewBusy {
		title += " · reading…"
	}
	if m.screen == screenInspect {
		title += " · tab: other server"
	}
	out := []string{rule(title, m.width, m.styles.RuleFocused)}
	h := max(m.height-3-1, 1) // header, status, footer, title
	for _, l := range padLines(strings.Split(m.viewport.View(), "\n"), h) {
		out = append(out, fit(l, m.width))
	}
	return out
}

// setViewContent fills the view's viewport from what was read.
func (m *Model) setViewContent() {
	text := m.viewText
	switch m.screen {
	case screenArchive:
		text = "no reading yet"
		if m.polled {
			text = present.RenderArchive(m.snap, m.width, m.styles.Diag)
		}
	case screenDiagnosis:
		text = m.diagnosisText(m.width)
	}
	if m.viewErr != "" {
		text = m.styles.Failed.Render("cannot read: "+m.viewErr) + "\n" + text
	}
	// Wrapped here because the viewport cuts long lines.
	m.viewport.SetContent(strings.Join(wrap(text, max(m.width, 10), 0), "\n"))
	if m.viewFollow {
		m.viewport.GotoBottom()
	}
}
