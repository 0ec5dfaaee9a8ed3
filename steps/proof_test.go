package steps

import (
	"errors"
	"strings"
	"testing"

	"walstep/cluster"
	"walstep/pg"
)

// Without a marker to judge by, the proof input says why, from the seed's
// step P: skipped, not reached, failed, or run without looking; with a
// marker and a look, it carries them, and a new pass (step 0) forgets
// them.
func TestProofInputSaysWhyThereIsNone(t *testing.T) {
	env := &Env{Lab: &cluster.Lab{Dir: t.TempDir()}}
	all := Playbook(env)
	p := -1
	for i, s := range all {
		if s.ID == "P" {
			p = i
		}
	}
	states := make([]StepState, len(all))
	for _, c := range []struct {
		st   StepState
		want string
	}{
		{StepState{Status: Skipped}, "step P, the proof step, was skipped, so walstep wrote no marker row"},
		{StepState{Status: Pending}, "step P, the proof step, was not reached"},
		{StepState{Status: Failed, Err: errors.New("write marker: connection refused\nmore")}, "step P, the proof step, failed: write marker: connection refused"},
		{StepState{Status: Cancelled}, "step P, the proof step, was stopped before it ended"},
	} {
		states[p] = c.st
		if in := env.ProofInput(all, states); in.Write != nil || in.Missing != c.want {
			t.Errorf("%s: missing %q, want %q", c.st.Status, in.Missing, c.want)
		}
	}

	w := &pg.MarkerWrite{ID: "walstep-1", Node: "primary", Step: "P"}
	env.proof = pg.ProofInput{Write: w}
	states[p] = StepState{Status: Skipped}
	if in := env.ProofInput(all, states); in.Write != w || !strings.HasPrefix(in.Missing, "step P, the proof step, was skipped") || strings.Contains(in.Missing, "wrote no marker") {
		t.Errorf("written, not looked for: %+v", in)
	}
	env.noteCheck(pg.MarkerCheck{ID: "walstep-0", Node: "replica", Fate: pg.MarkerFound})
	env.noteCheck(pg.MarkerCheck{ID: "walstep-1", Node: "replica", Fate: pg.MarkerAbsent})
	env.noteCheck(pg.MarkerCheck{ID: "walstep-1", Node: "replica", Fate: pg.MarkerFound})
	in := env.ProofInput(all, states)
	if in.Missing != "" || len(in.Checks) != 1 || in.Checks[0].Fate != pg.MarkerFound {
		t.Errorf("looked for: %+v (an older marker's look is dropped, a node's last look kept)", in)
	}
	env.clearProof()
	if in := env.ProofInput(all, states); in.Write != nil {
		t.Errorf("after a reset the marker is still there: %+v", in)
	}
	var none *Env
	if in := none.ProofInput(all, states); in.Write != nil || !strings.HasPrefix(in.Missing, "step P, the proof step, was skipped") {
		t.Errorf("no Env: %+v", in)
	}
}
