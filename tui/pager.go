package tui

import (
	"context"
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/viewport"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"

	"walstep/cluster"
	"walstep/pg"
	"walstep/present"
)

// logLoader reads the last lines of a server's log.
type logLoader func(ctx context.Context, node cluster.Node) ([]string, error)

// logPager is the full-screen log view: it owns what it read, where it is
// scrolled, whether it follows the end, its keys and its loader. Its
// viewport is exactly as tall as the rows it draws, and the text is
// wrapped before it goes in, so the last row of the log, wrapped or not,
// is always on screen when the pager is at the bottom.
type logPager struct {
	ctx    context.Context
	load   logLoader
	keys   pagerKeys
	styles present.Styles

	node   cluster.Node
	gen    int  // drops a read the pager no longer waits for
	busy   bool // a read is on its way
	follow bool // keep the end in view as the log grows
	lines  []string
	err    string

	width, height int // of the whole view: title row and text
	vp            viewport.Model
}

// pagerKeys are the pager's own bindings: the base scrolling ones.
type pagerKeys struct{ scrollKeys }

func defaultPagerKeys() pagerKeys { return pagerKeys{defaultScrollKeys()} }

// ShortHelp is the pager's keys for the footer.
func (k pagerKeys) ShortHelp() []key.Binding {
	return []key.Binding{k.Up, k.PageUp, k.PageDown, k.Top, k.Bottom}
}

// logLoadedMsg is a log read by the pager's loader.
type logLoadedMsg struct {
	gen   int
	node  cluster.Node
	lines []string
	err   error
}

func newLogPager(ctx context.Context, load logLoader, styles present.Styles) logPager {
	vp := viewport.New(80, 20)
	vp.KeyMap = viewport.KeyMap{} // the pager routes its own keys
	return logPager{ctx: ctx, load: load, keys: defaultPagerKeys(), styles: styles, follow: true, width: 80, height: 21, vp: vp}
}

// open shows node's log from its end and starts reading it.
func (p logPager) open(node cluster.Node) (logPager, tea.Cmd) {
	p.node, p.lines, p.err, p.follow, p.busy = node, nil, "", true, false
	p.render()
	return p.reload()
}

// reload reads the log again unless a read is on its way: the pager
// follows the log by reloading on every poll.
func (p logPager) reload() (logPager, tea.Cmd) {
	if p.busy || p.load == nil {
		return p, nil
	}
	p.gen++
	p.busy = true
	gen, node, ctx, load := p.gen, p.node, p.ctx, p.load
	return p, func() tea.Msg {
		ctx, cancel := context.WithTimeout(ctx, readTimeout)
		defer cancel()
		lines, err := load(ctx, node)
		return logLoadedMsg{gen: gen, node: node, lines: lines, err: err}
	}
}

// close drops a read still on its way.
func (p logPager) close() logPager {
	p.gen++
	p.busy = false
	return p
}

// setSize gives the pager the whole view: one title row, the rest text.
func (p logPager) setSize(w, h int) logPager {
	p.width, p.height = max(w, 10), max(h, 2)
	p.render()
	return p
}

// Update handles the pager's own messages and keys.
func (p logPager) Update(msg tea.Msg) (logPager, tea.Cmd) {
	switch msg := msg.(type) {
	case logLoadedMsg:
		if msg.gen != p.gen {
			return p, nil
		}
		p.busy = false
		p.lines, p.err = msg.lines, ""
		if msg.err != nil {
			p.err = msg.err.Error()
		}
		p.render()
	case tea.KeyMsg:
		p.keys.scroll(&p.vp, msg)
		p.follow = p.vp.AtBottom()
	}
	return p, nil
}

// render wraps the lines to the width and fills the viewport.
func (p *logPager) render() {
	p.vp.Width, p.vp.Height = p.width, p.height-1
	var rows []string
	if p.err != "" {
		rows = append(rows, p.styles.Failed.Render("cannot read: "+p.err))
	}
	if len(p.lines) == 0 && p.err == "" {
		rows = append(rows, p.styles.Dim.Render("(the log is empty: the server has not started yet)"))
	}
	for _, l := range p.lines {
		ll := pg.ParseLogLine(l)
		style := lipgloss.NewStyle()
		switch {
		case ll.IsProblem():
			style = p.styles.LogProblem
		case ll.Origin == pg.OriginCommand:
			style = p.styles.Dim // the archiver's words, not the server's
		}
		for _, r := range wrap(safeLogLine(l), p.width, 0) {
			rows = append(rows, style.Render(r))
		}
	}
	p.vp.SetContent(strings.Join(rows, "\n"))
	if p.follow {
		p.vp.GotoBottom()
	}
}

// safeLogLine makes a log line safe to draw: tabs become spaces, other
// control bytes and escape sequences are dropped.
func safeLogLine(l string) string {
	l = ansi.Strip(strings.ReplaceAll(l, "\t", "    "))
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, l)
}

// View is the title row and exactly height-1 rows of text.
func (p logPager) View() []string {
	title := fmt.Sprintf("%s log (last %d lines)", p.node, logLines)
	if p.busy {
		title += " · reading…"
	}
	if p.follow {
		title += " · following the end"
	} else {
		title += fmt.Sprintf(" · %d%% · end: follow", int(p.vp.ScrollPercent()*100))
	}
	title += " · tab: next server"
	out := []string{rule(title, p.width, p.styles.RuleFocused)}
	for _, l := range padLines(strings.Split(p.vp.View(), "\n"), p.height-1) {
		out = append(out, fit(l, p.width))
	}
	return out
}
