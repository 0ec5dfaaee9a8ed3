package tui

import "walstep/present"

// textView is the full-screen text view on screen, nil on the main screen
// and the log and WAL views (components of their own kinds).
func (m *Model) textView() *textView {
	switch m.screen {
	case screenInspect:
		return &m.inspectView
	case screenArchive:
		return &m.archiveView
	case screenDiagnosis:
		return &m.diagView
	}
	return nil
}

// viewBody is a full-screen view: a title and its text.
func (m Model) viewBody() []string {
	if m.screen == screenLog {
		return m.logView.View()
	}
	if v := m.textView(); v != nil {
		return v.View()
	}
	return nil
}

// setViewContent fills the current text view: what was read, or the
// archive and the diagnosis drawn from the last poll.
func (m *Model) setViewContent() {
	v := m.textView()
	if v == nil {
		return
	}
	text := v.text
	switch m.screen {
	case screenArchive:
		text = "no reading yet"
		if m.polled {
			text = present.RenderArchive(m.snap, m.width, m.styles.Diag)
		}
	case screenDiagnosis:
		text = m.diagnosisText(m.width)
	}
	*v = v.fill(text)
}
