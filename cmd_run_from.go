package main

import (
	"fmt"
	"io"

	"walstep/checkpoint"
	"walstep/playbook"
	"walstep/steps"
)

// fromRuns is run --from: the checkpoint it starts from, kept by a first
// full run when the lab has none that holds.
type fromRuns struct {
	keeper *checkpoint.Keeper
	at     int // the index of the step the checkpoint precedes
}

// setupFrom finds where run --from ID starts: the nearest step at or
// before ID with no server running before it.
func setupFrom(s *session, id string) (*fromRuns, error) {
	i := -1
	for j, st := range s.steps {
		if st.ID == id {
			i = j
		}
	}
	if i < 0 {
		return nil, usageErrorf(2, "--from %s: the playbook has no such step (see the checklist's IDs)", id)
	}
	at := checkpoint.Position(s.doc, s.steps, i)
	if at < 0 {
		return nil, usageErrorf(2, "--from %s: a server runs before every step up to it, so no checkpoint can be kept before it", id)
	}
	k := checkpoint.NewKeeper(s.env, func() *playbook.Doc { return s.doc })
	k.Want = func(all []steps.Step, j int) bool { return steps.StepKey(all[j]) == steps.StepKey(s.steps[at]) }
	s.keeper = k
	return &fromRuns{keeper: k, at: at}, nil
}

// before sets the session up for the next run: from the checkpoint when
// one holds, else a full run that keeps one (said on progress).
func (f *fromRuns) before(s *session, progress io.Writer) {
	if _, at, notes := f.keeper.Nearest(s.steps, f.at); at == f.at {
		s.from = f.at
		return
	} else {
		for _, n := range notes {
			fmt.Fprintf(progress, "walstep: %s\n", n)
		}
	}
	s.from = 0
	fmt.Fprintf(progress, "walstep: no checkpoint before step %s: this run runs every step and keeps one\n", s.steps[f.at].ID)
}
