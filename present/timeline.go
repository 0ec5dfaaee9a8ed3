package present

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/muesli/termenv"

	"walstep/pg"
)

// DiagStyles are the styles of the timeline picture and the archive view.
// They are separate from the model's Styles so that `walstep run` can draw
// the same pictures without a TUI (see PlainDiagStyles).
type DiagStyles struct {
	Heading  lipgloss.Style // section titles
	Label    lipgloss.Style // timeline names, notes
	Track    lipgloss.Style // a timeline's own history
	PastFork lipgloss.Style // WAL of an old timeline beyond where it was left
	Fork     lipgloss.Style // fork marks and their LSNs
	Primary  lipgloss.Style // the primary's marker
	Replica  lipgloss.Style // the replica's marker
	Alarm    lipgloss.Style // a server past a fork point, a missing file
	Present  lipgloss.Style // a file the archive has
}

// NewDiagStyles returns coloured styles bound to r, so a caller decides
// the colour profile (tests pin one; the TUI uses the default renderer).
func NewDiagStyles(r *lipgloss.Renderer) DiagStyles {
	p, s := Colours, r.NewStyle
	return DiagStyles{
		Heading:  s().Bold(true),
		Label:    s().Foreground(p.Muted),
		Track:    s().Foreground(p.Accent),
		PastFork: s().Foreground(p.Bad),
		Fork:     s().Foreground(p.Warn),
		Primary:  s().Bold(true).Foreground(p.Good),
		Replica:  s().Bold(true).Foreground(p.Info),
		Alarm:    s().Bold(true).Foreground(p.Bad),
		Present:  s().Foreground(p.Good),
	}
}

// PlainDiagStyles draws without any escape codes, for text reports and
// NO_COLOR: every mark is also a glyph or a word, so nothing is lost.
func PlainDiagStyles() DiagStyles {
	r := lipgloss.NewRenderer(io.Discard)
	r.SetColorProfile(termenv.Ascii)
	return NewDiagStyles(r)
}

// Glyphs of the timeline picture.
const (
	glyphTrack    = '━'
	glyphPastFork = '┄'
	glyphForkOut  = '┯' // on the parent: a child timeline leaves here
	glyphForkIn   = '╰' // on the child: where it begins
	glyphLink     = '│' // between parent and child rows
	glyphUnknown  = '?' // a timeline whose start is unknown
)

type tlRow struct {
	tli     uint32
	parent  uint32
	begin   pg.LSN
	known   bool // begin and parent come from a history file
	end     pg.LSN
	hasEnd  bool // a child forked off here: this is where its history ends
	markers []marker
}

type marker struct {
	ch    rune
	name  string
	lsn   pg.LSN
	style lipgloss.Style
}

// RenderTimeline draws each timeline as a line over an ordinal LSN axis
// (positions in order, evenly spaced, since the LSNs that matter are often
// a few bytes apart), with the fork points of every history file marked
// with their LSN and each node's position (its mark, see NodeMarks), then
// a legend of the nodes. A standby is placed against the node it follows:
// past that node's fork, or off its history, it is drawn as an alarm.
// Old-timeline WAL beyond a fork point is drawn dotted. Lines are at most
// width cells; 40 and more fit everything that matters.
func RenderTimeline(s pg.Snapshot, width int, st DiagStyles) string {
	return renderTimeline(Nodes(s), s.Histories, width, st)
}

func renderTimeline(ns []NodeReading, hs []pg.History, width int, st DiagStyles) string {
	places := make([]nodePlace, len(ns))
	tlis := make([]uint32, len(ns))
	for i, n := range ns {
		places[i].pos, places[i].tli = pg.PositionOf(n.Reading)
		tlis[i] = places[i].tli
	}
	marks := NodeMarks(ns)
	for i, n := range ns {
		p := &places[i]
		p.style = st.Primary
		up, ok := NodeNamed(ns, n.Upstream)
		if !ok || isPrimary(n.Reading) && !isPrimary(up.Reading) {
			continue // the top of the chain, or promoted in its place
		}
		p.style = st.Replica
		_, upTLI := pg.PositionOf(up.Reading)
		p.pastFork, p.offHistory, p.forkAt = replicaPlace(hs, upTLI, p.pos, p.tli)
		p.upTLI = upTLI
		if p.pastFork || p.offHistory {
			p.style = st.Alarm
		}
	}
	rows := timelineRows(hs, tlis...)
	for i := range rows {
		for k, p := range places {
			if p.pos.Valid() && rows[i].tli == p.tli {
				rows[i].markers = append(rows[i].markers, marker{marks[k], ns[k].Node, p.pos, p.style})
			}
		}
	}
	col, labelW, trackW := timelineColumns(rows, width)
	grid := drawTimelines(rows, col, trackW, st)
	out := timelineLines(rows, grid, col, labelW, trackW, st)
	for k, p := range places {
		out = append(out, legendLine(marks[k], ns[k].Node, ns[k].Reading, p.pos, p.tli, p.style, p.note(width), p.pastFork || p.offHistory, width, st))
	}
	return strings.Join(out, "\n")
}

// timelineColumns lays out an ordinal axis: every LSN that is drawn gets
// its own column of the track, after a label of labelW cells.
func timelineColumns(rows []tlRow, width int) (col map[pg.LSN]int, labelW, trackW int) {
	lsns := map[pg.LSN]bool{0: true}
	for _, r := range rows {
		if r.known {
			lsns[r.begin] = true
		}
		for _, m := range r.markers {
			lsns[m.lsn] = true
		}
	}
	axis := make([]pg.LSN, 0, len(lsns))
	for l := range lsns {
		axis = append(axis, l)
	}
	sort.Slice(axis, func(i, j int) bool { return axis[i] < axis[j] })

	for _, r := range rows {
		labelW = max(labelW, len(fmt.Sprintf("TL%d ", r.tli)))
	}
	trackW = max(width-labelW, 8)
	// The last cells are kept for markers beside a fork or beside each
	// other: servers at one position stand side by side.
	keep := 1
	for _, r := range rows {
		keep = max(keep, len(r.markers)-1)
	}
	col = map[pg.LSN]int{}
	for i, l := range axis {
		c := 0
		if len(axis) > 1 {
			c = i * (trackW - 1 - keep) / (len(axis) - 1)
		}
		col[l] = c
	}
	return col, labelW, trackW
}

// tlCell is one cell of the picture: a glyph and its style (nil: none).
type tlCell struct {
	ch    rune
	style *lipgloss.Style
}

// drawTimelines draws every row into a grid of cells: tracks, fork marks
// and the links between rows, then the markers on top.
func drawTimelines(rows []tlRow, col map[pg.LSN]int, trackW int, st DiagStyles) [][]tlCell {
	grid := make([][]tlCell, len(rows))
	rowOf := map[uint32]int{}
	for i, r := range rows {
		rowOf[r.tli] = i
		grid[i] = make([]tlCell, trackW)
		for j := range grid[i] {
			grid[i][j] = tlCell{' ', nil}
		}
	}
	set := func(i, c int, ch rune, style *lipgloss.Style) {
		if c >= 0 && c < trackW {
			grid[i][c] = tlCell{ch, style}
		}
	}
	for i, r := range rows {
		start := 0
		if r.known {
			start = col[r.begin]
		}
		solidEnd := start
		if r.hasEnd {
			solidEnd = col[r.end]
		}
		reach := solidEnd
		for _, m := range r.markers {
			reach = max(reach, col[m.lsn])
		}
		if !r.hasEnd {
			solidEnd = reach
		}
		for c := start; c <= reach; c++ {
			if c <= solidEnd {
				set(i, c, glyphTrack, &st.Track)
			} else {
				set(i, c, glyphPastFork, &st.PastFork)
			}
		}
		switch {
		case r.tli > 1 && !r.known:
			set(i, start, glyphUnknown, &st.Alarm)
		case r.tli > 1:
			set(i, start, glyphForkIn, &st.Fork)
		}
	}
	// Fork marks on parents, and links across rows in between.
	for i, r := range rows {
		if !r.known || r.tli <= 1 {
			continue
		}
		p, ok := rowOf[r.parent]
		if !ok {
			continue
		}
		c := col[r.begin]
		set(p, c, glyphForkOut, &st.Fork)
		for k := p + 1; k < i; k++ {
			if grid[k][c].ch == ' ' {
				set(k, c, glyphLink, &st.Fork)
			}
		}
	}
	// Markers last, so they sit on top; two on one cell move apart.
	for i, r := range rows {
		used := map[int]bool{}
		for _, m := range r.markers {
			c := col[m.lsn]
			for used[c] && c+1 < trackW {
				c++
			}
			used[c] = true
			style := m.style
			set(i, c, m.ch, &style)
		}
	}
	return grid
}

// timelineLines renders the grid a row at a time, styling runs of cells,
// with each fork's label under the child's row.
func timelineLines(rows []tlRow, grid [][]tlCell, col map[pg.LSN]int, labelW, trackW int, st DiagStyles) []string {
	var out []string
	for i, r := range rows {
		var b strings.Builder
		b.WriteString(st.Label.Render(diagPad(fmt.Sprintf("TL%d", r.tli), labelW)))
		// Trailing blanks are cut so narrow panels do not wrap.
		last := len(grid[i]) - 1
		for last >= 0 && grid[i][last].ch == ' ' {
			last--
		}
		for c := 0; c <= last; {
			cl := grid[i][c]
			run := []rune{cl.ch}
			c++
			for c <= last && grid[i][c].style == cl.style { // markers have styles of their own, so stay single
				run = append(run, grid[i][c].ch)
				c++
			}
			if cl.style == nil {
				b.WriteString(string(run))
			} else {
				b.WriteString(cl.style.Render(string(run)))
			}
		}
		out = append(out, b.String())
		if r.known && r.tli > 1 {
			text := fmt.Sprintf("fork %s", r.begin)
			c := col[r.begin]
			if c+len(text) > trackW {
				c = max(trackW-len(text), 0)
			}
			out = append(out, strings.Repeat(" ", labelW+c)+st.Fork.Render(diagClip(text, trackW-c)))
		}
	}
	return out
}

// timelineRows lists the timelines to draw, oldest first: those of the
// history files and those the servers are on.
func timelineRows(hs []pg.History, tlis ...uint32) []tlRow {
	rows := map[uint32]*tlRow{1: {tli: 1, known: true}}
	add := func(t uint32) *tlRow {
		if t == 0 {
			return nil
		}
		if rows[t] == nil {
			rows[t] = &tlRow{tli: t}
		}
		return rows[t]
	}
	for _, t := range tlis {
		add(t)
	}
	for _, h := range hs {
		r := add(h.TLI)
		if parent, at, ok := h.ForkPoint(); ok && r != nil {
			r.parent, r.begin, r.known = parent, at, true
		}
		for i, e := range h.Entries {
			er := add(e.TLI)
			if er == nil {
				continue
			}
			if i > 0 && !er.known {
				er.parent, er.begin, er.known = h.Entries[i-1].TLI, h.Entries[i-1].Switch, true
			}
			// Several children may leave one timeline: its own WAL
			// reaches the last of them.
			if !er.hasEnd || e.Switch > er.end {
				er.end, er.hasEnd = e.Switch, true
			}
		}
	}
	out := make([]tlRow, 0, len(rows))
	for _, r := range rows {
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].tli < out[j].tli })
	return out
}

func diagPad(s string, w int) string {
	if n := lipgloss.Width(s); n < w {
		return s + strings.Repeat(" ", w-n)
	}
	return s
}

// diagClip shortens plain text to w cells with an ellipsis.
func diagClip(s string, w int) string {
	if w <= 0 {
		return ""
	}
	return ansi.Truncate(s, w, "…")
}
