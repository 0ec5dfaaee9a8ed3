package tui

import (
	"strings"

	"github.com/charmbracelet/bubbles/key"
)

// keyMap holds every key binding of the debugger, so the help lists exactly
// what Update handles.
type keyMap struct {
	Next       key.Binding
	Continue   key.Binding
	Pause      key.Binding
	Retry      key.Binding
	Skip       key.Binding
	Breakpoint key.Binding
	Jump       key.Binding
	Cancel     key.Binding
	Up         key.Binding
	Down       key.Binding
	ScrollUp   key.Binding
	ScrollDown key.Binding
	PageUp     key.Binding
	PageDown   key.Binding
	Top        key.Binding
	Bottom     key.Binding
	Focus      key.Binding
	FocusBack  key.Binding
	Switch     key.Binding
	Server     key.Binding
	Log        key.Binding
	Inspect    key.Binding
	Archive    key.Binding
	Diagnosis  key.Binding
	WAL        key.Binding
	Shell      key.Binding
	Present    key.Binding
	Help       key.Binding
	Quit       key.Binding
	Interrupt  key.Binding
	Back       key.Binding
	Yes        key.Binding
	Resume     key.Binding
	No         key.Binding
}

// defaultKeys returns the debugger's bindings (the help screen lists them), plus paging and cancel.
func defaultKeys() keyMap {
	sk := defaultScrollKeys()
	return keyMap{
		Next:       key.NewBinding(key.WithKeys("n", "enter"), key.WithHelp("n/enter", "next step")),
		Continue:   key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "continue")),
		Pause:      key.NewBinding(key.WithKeys("p"), key.WithHelp("p", "pause")),
		Retry:      key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "retry")),
		Skip:       key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "skip")),
		Breakpoint: key.NewBinding(key.WithKeys("b"), key.WithHelp("b", "break")),
		Jump:       key.NewBinding(key.WithKeys("g"), key.WithHelp("g", "jump")),
		Cancel:     key.NewBinding(key.WithKeys("C"), key.WithHelp("C", "cancel the step")),
		Up:         key.NewBinding(key.WithKeys("up", "k"), key.WithHelp("↑/k", "select up")),
		Down:       key.NewBinding(key.WithKeys("down", "j"), key.WithHelp("↓/j", "select down")),
		ScrollUp:   sk.Up,
		ScrollDown: sk.Down,
		PageUp:     sk.PageUp,
		PageDown:   sk.PageDown,
		Top:        sk.Top,
		Bottom:     sk.Bottom,
		Focus:      key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "next pane")),
		FocusBack:  key.NewBinding(key.WithKeys("shift+tab"), key.WithHelp("shift+tab", "previous pane")),
		Switch:     key.NewBinding(key.WithKeys("tab", "shift+tab"), key.WithHelp("tab", "next server")),
		Server:     key.NewBinding(key.WithKeys("o"), key.WithHelp("o", "next server")),
		Log:        key.NewBinding(key.WithKeys("l"), key.WithHelp("l", "log of ▸ server")),
		Inspect:    key.NewBinding(key.WithKeys("i"), key.WithHelp("i", "inspect its data dir")),
		Archive:    key.NewBinding(key.WithKeys("a"), key.WithHelp("a", "archive view")),
		Diagnosis:  key.NewBinding(key.WithKeys("d"), key.WithHelp("d", "why: the diagnosis")),
		WAL:        key.NewBinding(key.WithKeys("w"), key.WithHelp("w", "WAL at the fork")),
		Shell:      key.NewBinding(key.WithKeys("x"), key.WithHelp("x", "shell there")),
		Present:    key.NewBinding(key.WithKeys("P"), key.WithHelp("P", "presenter mode")),
		Help:       key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		Quit:       key.NewBinding(key.WithKeys("q"), key.WithHelp("q", "quit")),
		Interrupt:  key.NewBinding(key.WithKeys("ctrl+c"), key.WithHelp("ctrl+c", "quit, stop servers")),
		Back:       key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "back")),
		Yes:        key.NewBinding(key.WithKeys("y", "Y"), key.WithHelp("y", "yes")),
		No:         key.NewBinding(key.WithKeys("n", "N"), key.WithHelp("n", "no")),
		Resume:     key.NewBinding(key.WithKeys("r", "R"), key.WithHelp("r", "resume later")),
	}
}

// scrolling are the keys that scroll a view.
func (k keyMap) scrolling() scrollKeys {
	return scrollKeys{Up: k.ScrollUp, Down: k.ScrollDown, PageUp: k.PageUp, PageDown: k.PageDown, Top: k.Top, Bottom: k.Bottom}
}

// ShortHelp is the one-line help at the bottom of the main screen; it
// names n alone (enter is in the full help) so it fits 80 columns.
func (k keyMap) ShortHelp() []key.Binding {
	next := key.NewBinding(key.WithKeys(k.Next.Keys()...), key.WithHelp("n", "next"))
	return []key.Binding{next, k.Continue, k.Pause, k.Retry, k.Skip, k.Breakpoint, k.Jump, k.Help, k.Quit}
}

// FullHelp is what ? shows with the steps pane focused.
func (k keyMap) FullHelp() [][]key.Binding { return k.fullHelp(true) }

// fullHelp is what ? shows, in columns: running, selecting, paging (and
// the server the looking keys act on), looking, leaving. The paging keys move the selection in the steps pane
// and scroll the output from the other panes; the help says which.
func (k keyMap) fullHelp(stepsPane bool) [][]key.Binding {
	return [][]key.Binding{
		{k.Next, k.Continue, k.Pause, k.Cancel},
		{k.Retry, k.Skip, k.Breakpoint, k.Jump},
		{k.Up, k.Down, k.Focus, k.FocusBack},
		append(k.paging(stepsPane), k.Server),
		{k.Log, k.Inspect, k.Shell, k.Archive, k.Diagnosis, k.WAL},
		{k.Present, k.Help, k.Quit, k.Interrupt},
	}
}

// paging is pgup, pgdn, home and end described for the focused pane.
func (k keyMap) paging(stepsPane bool) []key.Binding {
	descs := []string{"output page up", "output page down", "output top", "output end, follow"}
	if stepsPane {
		descs = []string{"select a page up", "select a page down", "select the first step", "select the last step"}
	}
	bs := []key.Binding{k.PageUp, k.PageDown, k.Top, k.Bottom}
	for i := range bs {
		bs[i].SetHelp(bs[i].Help().Key, descs[i])
	}
	return bs
}

// viewKeys is the help of the full-screen log, inspect and archive views.
// switchable is set for views of one server (inspect), where tab shows
// the next; the archive and diagnosis views are of both, and tab there
// does nothing, so it is not offered.
type viewKeys struct {
	k          keyMap
	switchable bool
}

// ShortHelp implements help.KeyMap.
func (v viewKeys) ShortHelp() []key.Binding {
	b := []key.Binding{v.k.Back}
	if v.switchable {
		b = append(b, v.k.Switch)
	}
	return append(b, v.k.ScrollUp, v.k.ScrollDown, v.k.PageUp, v.k.PageDown, v.k.Quit)
}

// keyWord is a binding and the word a short hint gives it.
type keyWord struct {
	b    key.Binding
	word string
}

// hint is a one-line hint from the key map: "r retry · s skip".
func hint(kws ...keyWord) string {
	parts := make([]string, 0, len(kws))
	for _, kw := range kws {
		parts = append(parts, keyOf(kw.b)+" "+kw.word)
	}
	return strings.Join(parts, " · ")
}

// keyOf is a binding's first key, for a sentence ("r retries it").
func keyOf(b key.Binding) string {
	if ks := b.Keys(); len(ks) > 0 {
		return ks[0]
	}
	return b.Help().Key
}

// FullHelp implements help.KeyMap.
func (v viewKeys) FullHelp() [][]key.Binding { return [][]key.Binding{v.ShortHelp()} }

// confirmKeys is the help shown while a question waits for an answer;
// quitting offers to keep the session for --resume.
type confirmKeys struct {
	k      keyMap
	resume bool
	noNo   bool // a question n does not answer
}

// ShortHelp implements help.KeyMap.
func (c confirmKeys) ShortHelp() []key.Binding {
	if c.noNo {
		return []key.Binding{c.k.Yes, c.k.Resume, c.k.Back}
	}
	if c.resume {
		return []key.Binding{c.k.Yes, c.k.No, c.k.Resume, c.k.Back}
	}
	return []key.Binding{c.k.Yes, c.k.No, c.k.Back}
}

// FullHelp implements help.KeyMap.
func (c confirmKeys) FullHelp() [][]key.Binding { return [][]key.Binding{c.ShortHelp()} }
