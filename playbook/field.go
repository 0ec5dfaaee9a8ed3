package playbook

import "fmt"

// The verbs of the field's scenarios: a rewind, a standby pointed at
// another node, an archive whose pushes are held back and released.
func init() {
	vocabulary["pg_rewind"] = verbSpec{"pg_rewind NODE from NODE", nodeWordNode("from")}
	vocabulary["repoint"] = verbSpec{"repoint NODE to NODE", nodeWordNode("to")}
	// Per node: which server's pushes are held decides what reaches the
	// archive first.
	vocabulary["hold archive"] = verbSpec{"hold archive NODE", nodeOnly}
	vocabulary["release archive"] = verbSpec{"release archive NODE", nodeOnly}
	twoWord["hold"] = true
	twoWord["release"] = true
}

// nodeWordNode parses "NODE word NODE" into two nodes, the first acted on.
func nodeWordNode(word string) func(a *Action, w []string) error {
	return func(a *Action, w []string) error {
		if err := arity(w, 3, 3); err != nil {
			return err
		}
		if w[1] != word {
			return fmt.Errorf("%q: the second word is %s", w[1], word)
		}
		if w[0] == w[2] {
			return fmt.Errorf("%s twice: name two nodes", w[0])
		}
		a.Nodes = []string{w[0], w[2]}
		return nil
	}
}

// UpstreamAt is the node that node streams from at line of the document:
// the last repoint of node written before that line, else the front
// matter's upstream.
func (d *Doc) UpstreamAt(line int, node string) string {
	up, at := upstream(d, node), 0
	for _, st := range d.Steps {
		for _, a := range st.Actions {
			if a.Verb == "repoint" && a.Node() == node && a.Line < line && a.Line > at {
				up, at = a.Nodes[1], a.Line
			}
		}
	}
	return up
}
