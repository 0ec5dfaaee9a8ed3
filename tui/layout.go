package tui

import "github.com/charmbracelet/lipgloss"

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
	if m.help.ShowAll && m.ask == askNone && m.screen == screenMain {
		d.footerH = lipgloss.Height(m.helpView())
	}
	d.bodyH = max(m.height-2-d.footerH-len(m.presenterLines(m.width)), 6)
	d.rightW = min(max(m.width*2/5, minPanelW), maxPanelW)
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

// layout sizes the viewports after anything that changes dims.
func (m *Model) layout() {
	d := m.dims()
	m.help.Width = m.width
	resized := m.output.Width != d.leftW
	m.output.Width, m.output.Height = d.leftW, d.outH
	if resized {
		m.refreshOutput(false)
	}
	// Full-screen views: all rows but the header, the title, the status
	// line and the one-line help.
	m.viewport.Width, m.viewport.Height = m.width, max(m.height-4, 1)
	m.logView = m.logView.setSize(m.width, max(m.height-3, 2))
}
