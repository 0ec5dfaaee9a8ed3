package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/viewport"
	tea "github.com/charmbracelet/bubbletea"

	"walstep/cluster"
	"walstep/present"
)

// textView is a full-screen view of one text: the inspect view (read from
// a server's data dir in a command), the archive and the diagnosis views
// (drawn from the last poll). Like the log pager: setSize, Update for its
// read and its scrolling, View, close; its key map for help.
type textView struct {
	kind   screen
	title  string // its heading; the inspect view's names its server
	gen    int    // a read still on its way with an older gen is dropped
	node   cluster.Node
	busy   bool
	text   string // what was read (inspect)
	err    string
	vp     viewport.Model
	follow bool
	width  int
	height int
	keys   viewKeys
	scroll scrollKeys
	styles present.Styles
}

func newTextView(kind screen, title string, k keyMap, styles present.Styles) textView {
	vp := viewport.New(80, 20)
	vp.KeyMap = viewport.KeyMap{} // keys are routed by keyMap, not the viewport's pager keys
	return textView{kind: kind, title: title, vp: vp, follow: true, width: 80, height: 21,
		keys: viewKeys{k: k, switchable: kind == screenInspect}, scroll: k.scrolling(), styles: styles}
}

// setSize gives the view width × height rows: its title and the text.
func (v textView) setSize(width, height int) textView {
	v.width, v.height = width, height
	v.vp.Width, v.vp.Height = width, max(height-1, 1)
	return v
}

// open shows the view of node from the top, nothing read yet.
func (v textView) open(node cluster.Node) textView {
	v.node = node
	v.text, v.err = "", ""
	v.follow = false
	v.vp.SetContent("")
	v.vp.GotoTop()
	return v
}

// reading starts a read: the gen its answer must carry.
func (v textView) reading() (textView, int) {
	v.gen++
	v.busy = true
	return v, v.gen
}

// close drops a read still on its way.
func (v textView) close() textView {
	v.gen++
	v.busy = false
	return v
}

// Update takes in a read (viewMsg) and scrolls on a key; got says msg was
// this view's read.
func (v textView) Update(msg tea.Msg) (_ textView, got bool) {
	switch msg := msg.(type) {
	case viewMsg:
		if msg.gen != v.gen {
			return v, false
		}
		v.busy = false
		v.text, v.err = msg.text, ""
		if msg.err != nil {
			v.err = msg.err.Error()
		}
		return v, true
	case tea.KeyMsg:
		v.scroll.scroll(&v.vp, msg)
		v.follow = v.vp.AtBottom()
	}
	return v, false
}

// fill shows text (what was read, or what the Model drew from the last
// poll), after the read's error if any, wrapped to the width because the
// viewport cuts long lines.
func (v textView) fill(text string) textView {
	if v.err != "" {
		text = v.styles.Failed.Render("cannot read: "+v.err) + "\n" + text
	}
	v.vp.SetContent(strings.Join(wrap(text, max(v.width, 10), 0), "\n"))
	if v.follow {
		v.vp.GotoBottom()
	}
	return v
}

// View is the title and the text, height rows of width.
func (v textView) View() []string {
	title := v.title
	if v.kind == screenInspect {
		title = fmt.Sprintf("%s data dir", v.node)
	}
	if v.busy {
		title += " · reading…"
	}
	if v.keys.switchable {
		title += " · tab: next server"
	}
	out := []string{rule(title, v.width, v.styles.RuleFocused)}
	for _, l := range padLines(strings.Split(v.vp.View(), "\n"), max(v.height-1, 1)) {
		out = append(out, fit(l, v.width))
	}
	return out
}
