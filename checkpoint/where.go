package checkpoint

import (
	"walstep/playbook"
	"walstep/steps"
)

// QuietBefore says, for each step of all, whether the playbook leaves no
// server running before it (after every earlier step's actions): where a
// checkpoint can be kept. A hook may still start one; Keeper checks the
// servers themselves before it copies.
func QuietBefore(doc *playbook.Doc, all []steps.Step) []bool {
	byID := map[string]playbook.Step{}
	for _, st := range doc.Steps {
		byID[st.ID] = st
	}
	out := make([]bool, len(all))
	running := map[string]bool{}
	for i, st := range all {
		out[i] = i > 0 && len(running) == 0
		ps, ok := byID[st.ID]
		if st.Hook != "" || !ok {
			continue
		}
		for _, a := range ps.Actions {
			for _, n := range a.Starts() {
				running[n] = true
			}
			for n := range running {
				if a.Stops(n) {
					delete(running, n)
				}
			}
		}
	}
	return out
}

// Position is where a checkpoint for starting at step i goes: the nearest
// step at or before i with no server running before it, -1 for none.
func Position(doc *playbook.Doc, all []steps.Step, i int) int {
	q := QuietBefore(doc, all)
	for j := min(i, len(all)-1); j > 0; j-- {
		if q[j] {
			return j
		}
	}
	return -1
}

// AtServerStarts says whether to keep a checkpoint before step i of all:
// where no server runs before it and one starts in it (the seed's steps 3
// and 12). Everything before such a step is a stretch no server runs
// through, and its end is what going back there needs; one copy per
// stretch keeps the debugger's stepping cheap.
func AtServerStarts(doc *playbook.Doc, all []steps.Step, i int) bool {
	q := QuietBefore(doc, all)
	if i <= 0 || i >= len(q) || !q[i] {
		return false
	}
	return i+1 == len(q) || !q[i+1]
}
