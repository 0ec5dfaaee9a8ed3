package playbook

import "testing"

// Every built-in playbook ends with the proof from the data, as the
// seed's step P: a marker row written on the node that should be primary
// (the one every declared standby follows, directly or through another),
// then looked for on each declared standby.
func TestBuiltinsEndWithTheProof(t *testing.T) {
	for _, b := range Builtins() {
		d, err := ParseBuiltin(b.Name)
		if err != nil {
			t.Errorf("%s: %v", b.Name, err)
			continue
		}
		last := d.Steps[len(d.Steps)-1]
		writer := ""
		checked := map[string]bool{}
		for _, a := range last.Actions {
			switch a.Verb {
			case "marker write":
				writer = a.Node()
			case "marker check":
				if writer == "" {
					t.Errorf("%s: step %s looks for the marker on %s before writing it", b.Name, last.ID, a.Node())
				}
				checked[a.Node()] = true
			}
		}
		if writer == "" {
			t.Errorf("%s: its last step, %s, writes no marker row", b.Name, last.ID)
			continue
		}
		standbys := 0
		for _, n := range d.Nodes {
			if n.Name == writer && n.Role != "primary" {
				t.Errorf("%s: the marker is written on %s, declared %s", b.Name, writer, n.Role)
			}
			if n.Role != "standby" {
				continue
			}
			standbys++
			if !checked[n.Name] {
				t.Errorf("%s: the marker is not looked for on standby %s", b.Name, n.Name)
			}
			top := n.Name
			for seen := map[string]bool{}; d.Upstream(top) != "" && !seen[top]; top = d.Upstream(top) {
				seen[top] = true
			}
			if top != writer {
				t.Errorf("%s: standby %s follows %s, not %s, where the marker is written", b.Name, n.Name, top, writer)
			}
		}
		if standbys == 0 {
			t.Errorf("%s declares no standby", b.Name)
		}
	}
}
