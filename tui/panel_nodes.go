package tui

import (
	"fmt"
	"strings"

	"walstep/cluster"
	"walstep/pg"
	"walstep/present"
)

// nodeRowsPanel is the panel of a lab of more than two servers, in h
// rows: a line per server (name, timeline, position, state), the selected
// one's facts, then the verdict and the picture, then the selected one's
// log tail in the rows left.
func (m Model) nodeRowsPanel(ns []present.NodeReading, w, h int) []string {
	sel := m.selectedNode(ns)
	rows := m.nodeRows(ns, sel, w)
	facts := m.serverFacts(cluster.Node(ns[sel].Node), ns[sel].Reading, w)
	facts[0] = m.selectedRule(ns[sel], w)
	free := h - len(rows) - len(facts)
	var extra []string
	if m.diagnosed {
		// As with two servers: the verdict and the picture before the
		// selected server's lesser facts, keeping a log line.
		pic := m.pictureLines(w)
		for need := 1 + len(pic) + 1 + 1; free < need && len(facts) > compactFacts; free++ {
			facts = facts[:len(facts)-1]
		}
		extra = m.verdictLines(pic, free, w)
	}
	free -= len(extra)
	out := append(rows, facts...)
	out = append(out, m.logLines(ns[sel].LogTail, w, free)...)
	return append(out, extra...)
}

// nodeRows are the servers a line each, the selected one marked: its
// name, a ✗ when the diagnosis finds it diverged or stalled, its timeline
// and position, and its state in its tone.
func (m Model) nodeRows(ns []present.NodeReading, sel, w int) []string {
	st := m.styles
	nameW := 0
	for _, n := range ns {
		nameW = max(nameW, len(n.Node))
	}
	bad := m.badStandbys()
	out := make([]string, len(ns))
	for i, n := range ns {
		mark := "  "
		if i == sel {
			mark = glyphSelect + " "
		}
		flag := ""
		if len(bad) > 0 {
			flag = "  "
			if bad[n.Node] {
				flag = st.Failed.Render(glyphFailed) + " "
			}
		}
		pos, tli := pg.PositionOf(n.Reading)
		tl := "TL-"
		if tli > 0 {
			tl = fmt.Sprintf("TL%d", tli)
		}
		state := pg.Facts(n.Reading, pg.FactOptions{})[0]
		name := present.NodeTitle(n.Node) + strings.Repeat(" ", nameW-len(n.Node))
		out[i] = fit(mark+st.NodeTitle.Render(name)+" "+flag+st.Value.Render(fmt.Sprintf("%-4s %-10s", tl, pos.OrDash()))+" "+st.ToneStyle(state.Tone).Render(state.Value), w)
	}
	return out
}

// badStandbys are the standbys the diagnosis finds diverged or stalled
// against the node they follow.
func (m Model) badStandbys() map[string]bool {
	if !m.diagnosed {
		return nil
	}
	bad := map[string]bool{}
	isBad := func(v pg.Verdict) bool { return v == pg.VerdictDiverged || v == pg.VerdictStalled }
	for _, sv := range m.diag.Standbys {
		if isBad(sv.Verdict) {
			bad[sv.Standby] = true
		}
	}
	if len(m.diag.Standbys) == 0 && isBad(m.diag.Verdict) {
		bad[m.diag.StandbyName()] = true
	}
	return bad
}

// selectedRule heads the selected server's facts: its name and address,
// and the key that selects another.
func (m Model) selectedRule(n present.NodeReading, w int) string {
	title := present.NodeTitle(n.Node)
	if m.cfg.Servers != nil {
		if addr := m.cfg.Servers.Addr(cluster.Node(n.Node)); addr != "" && !strings.HasSuffix(addr, ":0") {
			title += " " + addr
		}
	}
	return rule(title+" · "+keyOf(m.keys.Server)+": next", w, m.styles.Rule)
}

// selectedNode is the index of the server l, i and x act on: the first
// when the selection names none of ns (before the first reading).
func (m Model) selectedNode(ns []present.NodeReading) int {
	for i, n := range ns {
		if cluster.Node(n.Node) == m.server {
			return i
		}
	}
	return 0
}

// readings are the lab's servers as last read; before the first reading,
// the topology's, so a key pressed then acts on a server the lab has.
func (m Model) readings() []present.NodeReading {
	if len(m.snap.Nodes) == 0 && len(m.cfg.Topology) > 0 {
		rs := make([]pg.Reading, len(m.cfg.Topology))
		for i, n := range m.cfg.Topology {
			rs[i] = pg.Reading{Node: string(n.Name), Upstream: string(n.Upstream)}
		}
		return present.Nodes(pg.Snapshot{Nodes: rs})
	}
	return present.Nodes(m.snap)
}

// current is the server l, i and x act on.
func (m Model) current() cluster.Node {
	ns := m.readings()
	return cluster.Node(ns[m.selectedNode(ns)].Node)
}

// serverAfter is the server after from (before it, with back), round
// the lab.
func (m Model) serverAfter(from cluster.Node, back bool) cluster.Node {
	ns := m.readings()
	i, step := 0, 1
	for k, n := range ns {
		if cluster.Node(n.Node) == from {
			i = k
		}
	}
	if back {
		step = len(ns) - 1
	}
	return cluster.Node(ns[(i+step)%len(ns)].Node)
}
