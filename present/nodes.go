package present

import (
	"strings"
	"unicode"

	"walstep/pg"
)

// NodeReading is one server of a snapshot as the front ends draw it: its
// reading, named, and the node it follows ("" when it follows none).
type NodeReading struct {
	pg.Reading
	Upstream string
}

// Nodes lists a snapshot's servers in the playbook's order, each named
// and with the node it follows (as the poll found it, else as the
// playbook declares): every front end draws them from here. Before any
// poll named the nodes, the seed's two.
func Nodes(s pg.Snapshot) []NodeReading {
	rs := s.Nodes
	if len(rs) == 0 {
		rs = pg.SeedNodes(pg.Reading{}, pg.Reading{})
	}
	out := make([]NodeReading, len(rs))
	for i, r := range rs {
		up := r.Follows
		if up == "" {
			up = r.Upstream
		}
		out[i] = NodeReading{Reading: r, Upstream: up}
	}
	return out
}

// NodeNamed is the node called name in ns.
func NodeNamed(ns []NodeReading, name string) (NodeReading, bool) {
	for _, n := range ns {
		if n.Node == name {
			return n, true
		}
	}
	return NodeReading{}, false
}

// NodeMarks are the one-letter marks of nodes in the timeline picture:
// each name's initial in capitals (the seed's P and R) when the initials
// differ, else the nodes' numbers.
func NodeMarks(ns []NodeReading) []rune {
	marks := make([]rune, len(ns))
	seen := map[rune]bool{}
	unique := true
	for i, n := range ns {
		var c rune
		for _, r := range n.Node {
			c = unicode.ToUpper(r)
			break
		}
		if c == 0 || seen[c] || !unicode.IsLetter(c) && !unicode.IsDigit(c) {
			unique = false
		}
		seen[c], marks[i] = true, c
	}
	if !unique {
		for i := range marks {
			marks[i] = rune('1' + i%9)
		}
	}
	return marks
}

// NodeTitle is a node's name as a heading: the seed's "PRIMARY".
func NodeTitle(name string) string { return strings.ToUpper(name) }
