package tui

import (
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/lipgloss"

	"walstep/cluster"
	"walstep/pg"
	"walstep/present"
)

// panelLines renders the side panel: both servers, then the timelines.
// Each server gets its fixed facts; the log tails share the rows left.
func (m Model) panelLines(w, h int) []string {
	st := m.styles
	title := "servers"
	if m.polled {
		title = fmt.Sprintf("servers · poll #%d", m.snap.Seq)
		if m.leftover {
			title = fmt.Sprintf("servers of an earlier session · poll #%d", m.snap.Seq)
		}
	}
	out := []string{m.paneRule(title, w, m.focus == focusServers)}
	if !m.polled {
		return padLines(append(out, st.Dim.Render(fit("waiting for the first reading…", w))), h)
	}
	ns := present.Nodes(m.snap)
	if len(ns) > 2 {
		return padLines(append(out, m.nodeRowsPanel(ns, w, h-len(out))...), h)
	}
	p := m.serverFacts(cluster.Node(ns[0].Node), ns[0].Reading, w)
	r := m.serverFacts(cluster.Node(ns[1].Node), ns[1].Reading, w)
	// The servers' facts first, then the verdict's title, the timeline
	// picture and the verdict in words as room allows, keeping a log line
	// per server; the log tails share the rest.
	free := h - len(out) - len(p) - len(r)
	var extra []string
	if m.diagnosed {
		// The verdict and the picture (the fork, both positions) come
		// before a server's lesser facts: drop those from the end, from
		// the longer server first, until the verdict's title, the
		// picture, a line of words and a log line per server fit.
		pic := m.pictureLines(w)
		for need := 1 + len(pic) + 1 + 2; free < need && max(len(p), len(r)) > compactFacts; free++ {
			if len(r) >= len(p) {
				r = r[:len(r)-1]
			} else {
				p = p[:len(p)-1]
			}
		}
		extra = m.verdictLines(pic, free, w)
	}
	free -= len(extra)
	pl := m.logLines(ns[0].LogTail, w, free/2)
	rl := m.logLines(ns[1].LogTail, w, free-len(pl))
	out = append(out, p...)
	out = append(out, pl...)
	out = append(out, r...)
	out = append(out, rl...)
	out = append(out, extra...)
	return padLines(out, h)
}

// verdictLines are the verdict's title, its words and the picture as
// they fit in free rows (none below two).
func (m Model) verdictLines(pic []string, free, w int) []string {
	if free < 2 {
		return nil
	}
	title := []string{m.verdictTitle(w)}
	used := len(title)
	if free-used-len(pic) >= 1 {
		used += len(pic)
	} else {
		pic = nil
	}
	words := m.verdictWords(w, 0)
	n := min(len(words), max(free-used-2, 1), free-used)
	if free-used-len(words) > 10 { // plenty of room
		n = len(words)
	}
	if n > 0 {
		title = append(title, m.verdictWords(w, n)...)
	}
	return append(title, pic...)
}

// compactFacts is how many lines of a server a short panel keeps: its
// name, state and timeline.
const compactFacts = 3

// serverFacts are the lines of one server that always show.
func (m Model) serverFacts(node cluster.Node, r pg.Reading, w int) []string {
	st := m.styles
	line := func(label, value string) string {
		return fit(st.Label.Render(fmt.Sprintf("  %-9s", label))+st.Value.Render(value), w)
	}
	mark := "  "
	if node == m.current() {
		mark = glyphSelect + " "
	}
	addr := ""
	if m.cfg.Servers != nil {
		addr = m.cfg.Servers.Addr(node)
	}
	if strings.HasSuffix(addr, ":0") { // no port yet: the container does not exist
		addr = ""
	}
	name := strings.ToUpper(string(node))
	head := fit(mark+st.NodeTitle.Render(name)+" "+st.Dim.Render(addr), w)

	facts := pg.Facts(r, pg.FactOptions{Now: m.now(), StaleAfter: staleAfter(m.cfg.PollEvery)})
	out := []string{head}
	for i, f := range facts {
		switch {
		case i == 0: // the state, under the name
			out = append(out, fit("  "+st.ToneStyle(f.Tone).Render(f.Value), w))
		case f.Label == "":
			out = append(out, st.Dim.Render(fit("  "+f.Value, w)))
		case lipgloss.Width(fmt.Sprintf("  %-9s%s", f.Label, f.Value)) > w && strings.Contains(f.Value, "  "):
			// Two readings on one line ("0/3000000  recv 0/3000000"):
			// the second goes under the first rather than be cut.
			first, rest, _ := strings.Cut(f.Value, "  ")
			out = append(out, line(f.Label, first), line("", strings.TrimSpace(rest)))
		default:
			out = append(out, line(f.Label, f.Value))
		}
	}
	return out
}

// logLines are the last lines of a log tail that fit in h rows, wrapped
// to the panel, with FATAL, ERROR and PANIC lines highlighted. A line too
// long for the rows left shows its head: the level and the message.
func (m Model) logLines(tail []string, w, h int) []string {
	if h <= 0 || len(tail) == 0 {
		return nil
	}
	// The l view shows continuations; here the message matters, once
	// with a count when it repeats.
	var msgs, raw []string
	for _, l := range tail {
		if c := cleanLogLine(l); !isContinuation(c) {
			msgs, raw = append(msgs, l), append(raw, l)
		}
	}
	runs := present.CollapseRepeats(msgs, cleanLogLine)
	last := make([]string, 0, len(runs)) // the raw line ending each run
	k := 0
	for _, r := range runs {
		k += r.Count
		last = append(last, raw[k-1])
	}
	var rows []string
	for i := len(runs) - 1; i >= 0 && len(rows) < h; i-- {
		l := runs[i].String()
		left := h - len(rows)
		if runs[i].Count > 1 && len(wrap(l, w-4, 0)) > left {
			l = fmt.Sprintf("(x%d) %s", runs[i].Count, runs[i].Line) // cut, the count still shows
		}
		wrapped := wrap(l, w-4, left)
		style := m.styles.Dim
		line := pg.ParseLogLine(last[i])
		if line.IsProblem() {
			style = m.styles.LogProblem
		}
		gutter := "  │ "
		if line.Origin == pg.OriginCommand {
			gutter = "  ┊ " // restore_command/archive_command output, not the server's
		}
		for j := range wrapped {
			p := "    "
			if j == 0 {
				p = gutter
			}
			wrapped[j] = style.Render(fit(p+wrapped[j], w))
		}
		rows = append(wrapped, rows...)
	}
	return rows
}

// cleanLogLine drops the log_line_prefix, tabs and the double space
// PostgreSQL puts after the level, for a narrow panel.
func cleanLogLine(l string) string {
	l = pg.StripLogPrefix(strings.ReplaceAll(l, "\t", " "))
	return strings.ReplaceAll(l, ":  ", ": ")
}

// isContinuation reports a STATEMENT, DETAIL, HINT or CONTEXT line, which
// only adds to the message above it.
func isContinuation(l string) bool {
	for _, p := range []string{"STATEMENT: ", "DETAIL: ", "HINT: ", "CONTEXT: ", "LOCATION: "} {
		if strings.HasPrefix(l, p) {
			return true
		}
	}
	return false
}

// staleAfter is when a reading of a running server is old enough to say.
func staleAfter(every time.Duration) time.Duration { return max(3*every, 2*time.Second) }
