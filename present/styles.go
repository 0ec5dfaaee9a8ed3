package present

import "github.com/charmbracelet/lipgloss"

// Styles is every style the debugger draws with. Colour is decoration only:
// each state also has its own glyph or word, so the screen reads the same
// with NO_COLOR (lipgloss then drops colours) and in the Ascii goldens.
type Styles struct {
	Header      lipgloss.Style // the top line
	Notice      lipgloss.Style // a runner notice or a status message
	Rule        lipgloss.Style // section titles and separators
	RuleFocused lipgloss.Style // the title of the focused section
	Selected    lipgloss.Style // the selected checklist row
	Current     lipgloss.Style // the step that runs, or runs next
	Pending     lipgloss.Style
	Running     lipgloss.Style
	Done        lipgloss.Style
	Failed      lipgloss.Style
	Skipped     lipgloss.Style
	Breakpoint  lipgloss.Style
	Dim         lipgloss.Style // elapsed times, labels, hints
	Command     lipgloss.Style // the seed's command text
	Watch       lipgloss.Style // the what-to-watch note
	Hint        lipgloss.Style // the retry hint under a failed step
	Label       lipgloss.Style // field names in the panel
	Value       lipgloss.Style // field values in the panel
	NodeTitle   lipgloss.Style // a server's name in the panel
	Up          lipgloss.Style // a server that answers SQL
	Down        lipgloss.Style // stopped or not created
	Crashed     lipgloss.Style // exited with an error
	LogProblem  lipgloss.Style // FATAL, ERROR and PANIC log lines
	Question    lipgloss.Style // a yes/no question in the footer
	// Diag draws the timeline picture and the archive view.
	Diag DiagStyles
}

// Palette is walstep's colours, each adaptive so that it reads on light
// and dark terminals. Every style of both front ends takes its colour here.
type Palette struct {
	Accent lipgloss.AdaptiveColor // titles, the seed's commands, a timeline's track
	Good   lipgloss.AdaptiveColor // done, up, the primary, a file the archive has
	Bad    lipgloss.AdaptiveColor // failed, crashed, past a fork point
	Warn   lipgloss.AdaptiveColor // running, notices, fork marks
	Muted  lipgloss.AdaptiveColor // labels, pending, hints
	Info   lipgloss.AdaptiveColor // the replica
}

// Colours is the one palette.
var Colours = Palette{
	Accent: colour("#5A3FC0", "#9D8CFF"),
	Good:   colour("#1B7F3A", "#5FD787"),
	Bad:    colour("#B3261E", "#FF6B6B"),
	Warn:   colour("#8A5A00", "#FFC857"),
	Muted:  colour("#6B6B6B", "#8A8A8A"),
	Info:   colour("#005F87", "#5FD7FF"),
}

func colour(light, dark string) lipgloss.AdaptiveColor {
	return lipgloss.AdaptiveColor{Light: light, Dark: dark}
}

// DefaultStyles returns the debugger's styles in the palette's colours.
func DefaultStyles() Styles {
	p := Colours
	accent, green, red, amber, grey := p.Accent, p.Good, p.Bad, p.Warn, p.Muted
	return Styles{
		Header:      lipgloss.NewStyle().Bold(true).Foreground(accent),
		Notice:      lipgloss.NewStyle().Foreground(amber),
		Rule:        lipgloss.NewStyle().Foreground(grey),
		RuleFocused: lipgloss.NewStyle().Bold(true).Foreground(accent),
		Selected:    lipgloss.NewStyle().Reverse(true),
		Current:     lipgloss.NewStyle().Bold(true),
		Pending:     lipgloss.NewStyle().Foreground(grey),
		Running:     lipgloss.NewStyle().Foreground(amber),
		Done:        lipgloss.NewStyle().Foreground(green),
		Failed:      lipgloss.NewStyle().Bold(true).Foreground(red),
		Skipped:     lipgloss.NewStyle().Foreground(grey),
		Breakpoint:  lipgloss.NewStyle().Foreground(red),
		Dim:         lipgloss.NewStyle().Foreground(grey),
		Command:     lipgloss.NewStyle().Foreground(accent),
		Watch:       lipgloss.NewStyle().Italic(true),
		Hint:        lipgloss.NewStyle().Foreground(amber),
		Label:       lipgloss.NewStyle().Foreground(grey),
		Value:       lipgloss.NewStyle(),
		NodeTitle:   lipgloss.NewStyle().Bold(true),
		Up:          lipgloss.NewStyle().Foreground(green),
		Down:        lipgloss.NewStyle().Foreground(grey),
		Crashed:     lipgloss.NewStyle().Bold(true).Foreground(red),
		LogProblem:  lipgloss.NewStyle().Foreground(red),
		Question:    lipgloss.NewStyle().Bold(true).Foreground(amber),
		Diag:        NewDiagStyles(lipgloss.DefaultRenderer()),
	}
}
