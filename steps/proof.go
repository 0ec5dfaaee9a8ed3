package steps

import (
	"fmt"
	"slices"
	"strings"

	"walstep/pg"
)

// ProofInput is what this pass did towards the proof from the data, for
// the diagnosis (pg.ApplyProof): the last marker written and the looks
// for it, or, when there is none, why, from the states of all's steps (a
// proof step skipped, not reached, failed).
func (e *Env) ProofInput(all []Step, states []StepState) pg.ProofInput {
	var in pg.ProofInput
	if e != nil { // a session without an Env (tests) ran no marker
		e.mu.Lock()
		in = e.proof
		in.Checks = slices.Clone(in.Checks)
		e.mu.Unlock()
	}
	verb := "marker write"
	if in.Write != nil {
		if len(in.Checks) > 0 {
			return in
		}
		verb = "marker check"
	}
	i := proofStep(all, verb)
	if i < 0 {
		in.Missing = fmt.Sprintf("the playbook has no proof step (%s NODE)", verb)
		if verb == "marker check" {
			in.Missing = "the playbook never looks for the marker it wrote (marker check NODE DEADLINE)"
		}
		return in
	}
	st := StepState{}
	if i < len(states) {
		st = states[i]
	}
	name := "step " + all[i].ID + ", the proof step,"
	switch st.Status {
	case Skipped:
		in.Missing = name + " was skipped"
		if in.Write == nil {
			in.Missing += ", so walstep wrote no marker row"
		}
	case Running:
		in.Missing = name + " is running"
	case Failed:
		in.Missing = name + " failed"
		if st.Err != nil {
			msg, _, _ := strings.Cut(st.Err.Error(), "\n")
			in.Missing += ": " + msg
		}
	case Cancelled:
		in.Missing = name + " was stopped before it ended"
	case Done:
		in.Missing = name + " ran without " + map[bool]string{true: "writing a marker", false: "looking for the marker"}[in.Write == nil]
	default:
		in.Missing = name + " was not reached"
	}
	return in
}

// proofStep is the index of the last step of all that runs verb, -1 for
// none.
func proofStep(all []Step, verb string) int {
	for i := len(all) - 1; i >= 0; i-- {
		for _, a := range all[i].Actions {
			if a == verb || strings.HasPrefix(a, verb+" ") {
				return i
			}
		}
	}
	return -1
}
