package tui

import (
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/viewport"
	tea "github.com/charmbracelet/bubbletea"
)

// scrollKeys are the bindings every scrolling view shares: a line, a page,
// the top and the end.
type scrollKeys struct {
	Up, Down, PageUp, PageDown, Top, Bottom key.Binding
}

// defaultScrollKeys are the base bindings the debugger's key map and every
// full-screen view take their scrolling from.
func defaultScrollKeys() scrollKeys {
	return scrollKeys{
		Up:       key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "scroll")),
		Down:     key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "scroll")),
		PageUp:   key.NewBinding(key.WithKeys("pgup"), key.WithHelp("pgup", "page up")),
		PageDown: key.NewBinding(key.WithKeys("pgdown"), key.WithHelp("pgdn", "page down")),
		Top:      key.NewBinding(key.WithKeys("home"), key.WithHelp("home", "top")),
		Bottom:   key.NewBinding(key.WithKeys("end"), key.WithHelp("end", "end, follow")),
	}
}

// scroll moves vp as k asks and reports whether k was a scrolling key.
func (ks scrollKeys) scroll(vp *viewport.Model, k tea.KeyMsg) bool {
	switch {
	case key.Matches(k, ks.Up):
		vp.ScrollUp(1)
	case key.Matches(k, ks.Down):
		vp.ScrollDown(1)
	case key.Matches(k, ks.PageUp):
		vp.PageUp()
	case key.Matches(k, ks.PageDown):
		vp.PageDown()
	case key.Matches(k, ks.Top):
		vp.GotoTop()
	case key.Matches(k, ks.Bottom):
		vp.GotoBottom()
	default:
		return false
	}
	return true
}
