package tui

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/viewport"
	tea "github.com/charmbracelet/bubbletea"

	"walstep/pg"
	"walstep/present"
)

// screenWAL is the full-screen WAL view (key w); its state and keys live
// in walView.
const screenWAL screen = 100

// WALReader reads the WAL at the fork for a reading and its diagnosis
// (pg.ReadWALAtFork on the session's backend). It runs in a command and
// must return within its own deadline.
type WALReader func(ctx context.Context, s pg.Snapshot, d pg.Diagnosis) *pg.WALAtFork

// walKeys are the WAL view's bindings.
type walKeys struct {
	scrollKeys
	Back, Reload, Quit key.Binding
}

func defaultWALKeys() walKeys {
	return walKeys{
		scrollKeys: defaultScrollKeys(),
		Back:       key.NewBinding(key.WithKeys("esc", "w"), key.WithHelp("esc/w", "back")),
		Reload:     key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "read again")),
		Quit:       key.NewBinding(key.WithKeys("q"), key.WithHelp("q", "quit")),
	}
}

// ShortHelp implements help.KeyMap.
func (k walKeys) ShortHelp() []key.Binding {
	scroll := key.NewBinding(key.WithKeys("up", "down"), key.WithHelp("↑/↓", "scroll"))
	page := key.NewBinding(key.WithKeys("pgup", "pgdown"), key.WithHelp("pgup/pgdn", "page"))
	return []key.Binding{k.Back, k.Reload, scroll, page, k.Quit}
}

// FullHelp implements help.KeyMap.
func (k walKeys) FullHelp() [][]key.Binding { return [][]key.Binding{k.ShortHelp()} }

// walView is the WAL view: what was read, when, and the viewport over it.
type walView struct {
	read   WALReader
	keys   walKeys
	gen    int
	busy   bool
	data   *pg.WALAtFork
	readAt time.Time
	took   time.Duration
	auto   walKey // the divergence the last automatic read was for
	vp     viewport.Model
	styles present.Styles
	width  int // of the whole view: title row and text
	height int
}

// walKey identifies a divergence: where the replica stands past which fork.
type walKey struct {
	fork    pg.LSN
	parent  uint32
	replica pg.LSN
}

// follow reads the WAL again, in a command, when the diagnosis finds a
// divergence it has not read for, so the diagnosis can say what the replica
// replayed past the fork without the user asking.
func (v walView) follow(ctx context.Context, s pg.Snapshot, d pg.Diagnosis) (walView, tea.Cmd) {
	if v.read == nil || v.busy || d.Verdict != pg.VerdictDiverged || !d.ForkLSN.Valid() {
		return v, nil
	}
	k := walKey{d.ForkLSN, d.ForkParent, d.ReplicaLSN}
	if k == v.auto {
		return v, nil
	}
	v.auto = k
	return v.load(ctx, s, d, true)
}

// sentenceFor is the read's sentence when it was made for d's fork.
func (v walView) sentenceFor(d pg.Diagnosis) string {
	if w := v.dataFor(d); w != nil {
		return w.Sentence
	}
	return ""
}

// dataFor is the read when it was made for d's fork, else nil.
func (v walView) dataFor(d pg.Diagnosis) *pg.WALAtFork {
	if v.data == nil || !d.ForkLSN.Valid() || v.data.ForkLSN != d.ForkLSN || v.data.Timeline != d.ForkParent {
		return nil
	}
	return v.data
}

// walMsg carries a finished read; gen drops reads the view no longer waits
// for.
type walMsg struct {
	gen  int
	data *pg.WALAtFork
	at   time.Time
	took time.Duration
}

func newWALView(read WALReader, styles present.Styles) walView {
	v := walView{read: read, keys: defaultWALKeys(), styles: styles, vp: viewport.New(80, 20)}
	v.vp.KeyMap = viewport.KeyMap{}
	return v
}

// load starts a read of the WAL for snapshot s and its diagnosis d.
func (v walView) load(ctx context.Context, s pg.Snapshot, d pg.Diagnosis, have bool) (walView, tea.Cmd) {
	v.gen++
	if v.read == nil {
		v.busy = false
		v.data = &pg.WALAtFork{Note: "this session cannot read WAL (no backend to run pg_waldump in)"}
		return v, nil
	}
	if !have {
		v.busy = false
		v.data = &pg.WALAtFork{Note: "no reading of the servers yet: the fork is not known"}
		return v, nil
	}
	v.busy = true
	gen, read := v.gen, v.read
	return v, func() tea.Msg {
		t0 := time.Now()
		w := safeRead(ctx, read, s, d)
		return walMsg{gen: gen, data: w, at: t0, took: time.Since(t0)}
	}
}

// safeRead runs read; a panic in it becomes a line in the view, never a
// crash of the debugger.
func safeRead(ctx context.Context, read WALReader, s pg.Snapshot, d pg.Diagnosis) (w *pg.WALAtFork) {
	defer func() {
		if r := recover(); r != nil {
			w = &pg.WALAtFork{Note: fmt.Sprintf("reading the WAL failed: %v", r)}
		}
	}()
	w = read(ctx, s, d)
	if w == nil {
		w = &pg.WALAtFork{Note: "nothing was read"}
	}
	return w
}

// setSize gives the view its rows: one title row, the rest text.
func (v walView) setSize(w, h int) walView {
	v.width, v.height = w, h
	v.vp.Width, v.vp.Height = w, max(h-1, 1)
	return v.refresh()
}

func (v walView) refresh() walView {
	text := "reading the WAL with pg_waldump…"
	if v.data != nil {
		text = present.RenderWAL(v.data, v.width, v.styles.Diag)
	}
	v.vp.SetContent(text)
	return v
}

// Update handles the view's own messages (a finished read) and keys
// (scrolling); leaving and reading again are the Model's.
func (v walView) Update(msg tea.Msg) (walView, tea.Cmd) {
	switch msg := msg.(type) {
	case walMsg:
		if msg.gen != v.gen {
			return v, nil
		}
		v.busy, v.data, v.readAt, v.took = false, msg.data, msg.at, msg.took
		v = v.refresh()
		v.vp.GotoTop()
	case tea.KeyMsg:
		v.keys.scroll(&v.vp, msg)
	}
	return v, nil
}

// close leaves the view: a read still on its way is dropped.
func (v walView) close() walView {
	v.gen++
	v.busy = false
	return v
}

// View is the view's title and content, a line per row.
func (v walView) View() []string {
	title := "WAL at the fork (pg_waldump)"
	switch {
	case v.busy:
		title += " · reading…"
	case !v.readAt.IsZero():
		title += fmt.Sprintf(" · read %s in %s · r: read again", v.readAt.Format("15:04:05"), v.took.Round(time.Millisecond))
	}
	out := []string{rule(title, v.width, v.styles.RuleFocused)}
	for _, l := range padLines(strings.Split(v.vp.View(), "\n"), max(v.height-1, 0)) {
		out = append(out, fit(l, v.width))
	}
	return out
}

// openWAL switches to the WAL view and reads the WAL for the last poll.
func (m Model) openWAL() (tea.Model, tea.Cmd) {
	m.screen = screenWAL
	m.wal = m.wal.setSize(m.width, m.height-3)
	var cmd tea.Cmd
	m.wal, cmd = m.wal.load(m.ctx, m.snap, m.diag, m.polled && m.diagnosed)
	m.wal = m.wal.refresh()
	return m, cmd
}

// walKey routes a key to the WAL view.
func (m Model) walKey(k tea.KeyMsg) (tea.Model, tea.Cmd) {
	switch {
	case key.Matches(k, m.wal.keys.Back):
		m.wal = m.wal.close()
		m.screen = screenMain
		m.layout()
	case key.Matches(k, m.wal.keys.Reload):
		if !m.wal.busy {
			return m.openWAL()
		}
	default:
		var cmd tea.Cmd
		m.wal, cmd = m.wal.Update(k)
		return m, cmd
	}
	return m, nil
}
