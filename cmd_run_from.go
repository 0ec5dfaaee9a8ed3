package main

import (
	"fmt"
	"io"

	"walstep/checkpoint"
	"walstep/headless"
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
func setupFrom(s *headless.Session, id string) (*fromRuns, error) {
	i := -1
	for j, st := range s.Steps {
		if st.ID == id {
			i = j
		}
	}
	if i < 0 {
		return nil, usageErrorf(2, "--from %s: the playbook has no such step (see the checklist's IDs)", id)
	}
	at := checkpoint.Position(s.Doc, s.Steps, i)
	if at < 0 {
		return nil, usageErrorf(2, "--from %s: a server runs before every step up to it, so no checkpoint can be kept before it", id)
	}
	k := checkpoint.NewKeeper(s.Env, func() *playbook.Doc { return s.Doc })
	k.Want = func(all []steps.Step, j int) bool { return steps.StepKey(all[j]) == steps.StepKey(s.Steps[at]) }
	s.Keeper = k
	return &fromRuns{keeper: k, at: at}, nil
}

// before sets the session up for the next run: from the checkpoint when
// one holds, else a full run that keeps one (said on progress).
func (f *fromRuns) before(s *headless.Session, progress io.Writer) {
	if _, at, notes := f.keeper.Nearest(s.Steps, f.at); at == f.at {
		s.From = f.at
		return
	} else {
		for _, n := range notes {
			fmt.Fprintf(progress, "walstep: %s\n", n)
		}
	}
	s.From = 0
	fmt.Fprintf(progress, "walstep: no checkpoint before step %s: this run runs every step and keeps one\n", s.Steps[f.at].ID)
}
