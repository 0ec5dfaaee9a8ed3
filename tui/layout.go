package tui

import (
	"github.com/charmbracelet/lipgloss"

	"walstep/pg"
	"walstep/present"
)

// dims are the sizes of the screen's parts for the current window, help
// state and selected step. View and Update compute them the same way.
type dims struct {
	leftW, rightW int // the checklist column and the side panel
	bodyH         int // rows between the header and the status line
	listH         int // checklist rows (without its title)
	detailH       int // command, watch, error and hint rows (with the title)
	outH          int // output viewport rows (without its title)
	footerH       int // help rows
}

// Minimums that keep every part usable at 80x24.
const (
	minPanelW = 30
	maxPanelW = 60
	minOutH   = 3
	cmdLines  = 3
	watchLine = 2
)

// dims lays the screen out: header 1 row, body, status 1 row, help.
func (m Model) dims() dims {
	var d dims
	d.footerH = 1
	if m.help.ShowAll && m.ask == askNone && m.screen == screenMain && !m.helpOverBody() {
		d.footerH = lipgloss.Height(m.helpView())
	}
	d.bodyH = max(m.height-1-len(m.statusLines())-d.footerH-len(m.presenterLines(m.width)), 6)
	d.rightW = min(max(m.width*2/5, minPanelW), maxPanelW)
	// A wide screen gives the panel what its log lines need, once the
	// checklist has what its rows need.
	if room := m.width - 1 - m.listNeed(); room > d.rightW {
		d.rightW = min(room, max(d.rightW, m.panelNeed))
	}
	d.leftW = max(m.width-d.rightW-1, 20)
	d.detailH = len(m.detailLines(d.leftW))
	d.listH = min(max(d.bodyH*9/20, 3), len(m.steps))
	d.outH = d.bodyH - 1 - d.listH - d.detailH - 1
	if d.outH < minOutH { // give the output its rows back from the list
		d.listH = max(d.listH-(minOutH-d.outH), 1)
		d.outH = d.bodyH - 1 - d.listH - d.detailH - 1
	}
	d.outH = max(d.outH, 1)
	return d
}

// minBodyH is the least body that keeps the main screen usable.
const minBodyH = 6

// helpOverBody reports whether the full help takes the body's place: on
// a short screen it does not fit under the body, and cut it would hide
// keys.
func (m Model) helpOverBody() bool {
	return m.help.ShowAll && m.ask == askNone && m.screen == screenMain &&
		lipgloss.Height(m.helpView())+2 > m.height-minBodyH
}

// maxPanelNeed caps what a log line may ask of the panel.
const maxPanelNeed = 160

// listNeed is the width of the checklist's widest row, unclipped: marks,
// number, title and the longest state-and-time ("cancelled 12m34s").
func (m Model) listNeed() int {
	w := 40
	for _, s := range m.steps {
		indent := 0
		if s.Parent != "" {
			indent = 2
		}
		w = max(w, 8+indent+lipgloss.Width(s.Title)+17)
	}
	return w
}

// panelNeedOf is the width the panel's lines need unwrapped: the log
// lines it shows (with their gutter), capped.
func panelNeedOf(s pg.Snapshot) int {
	w := 0
	for _, n := range present.Nodes(s) {
		for _, l := range n.LogTail {
			w = max(w, 4+lipgloss.Width(cleanLogLine(l)))
		}
	}
	return min(w, maxPanelNeed)
}

// layout sizes the viewports after anything that changes dims.
func (m *Model) layout() {
	d := m.dims()
	m.help.Width = m.width
	resized := m.output.Width != d.leftW
	// A detail that grows (a failure's message) shortens the output: one
	// that showed its end still does.
	follow := m.output.Height != d.outH && m.output.AtBottom()
	m.output.Width, m.output.Height = d.leftW, d.outH
	if resized {
		m.refreshOutput(false)
	}
	if follow {
		m.output.GotoBottom()
	}
	// Full-screen views: all rows but the header, the title, the status
	// line and the one-line help.
	m.inspectView = m.inspectView.setSize(m.width, m.height-3)
	m.archiveView = m.archiveView.setSize(m.width, m.height-3)
	m.diagView = m.diagView.setSize(m.width, m.height-3)
	m.logView = m.logView.setSize(m.width, max(m.height-3, 2))
}
