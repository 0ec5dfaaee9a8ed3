package present

import (
	"github.com/charmbracelet/lipgloss"

	"walstep/pg"
)

// ToneStyle is the style of a tone in st.
func (st Styles) ToneStyle(t pg.Tone) lipgloss.Style {
	switch t {
	case pg.ToneGood:
		return st.Up
	case pg.ToneBusy:
		return st.Running
	case pg.ToneBad:
		return st.Crashed
	case pg.ToneMuted:
		return st.Down
	}
	return st.Value
}
