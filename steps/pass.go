package steps

import (
	"context"
	"fmt"
	"strings"

	"walstep/pg"
)

// newPass starts a new pass when the Resets step i runs again: it is about
// to put the lab back to before every later step, so the states of the
// steps that ran since (done, failed, cancelled) no longer say anything
// true and go back to pending, as do skip marks set before the user went
// back (a jump or a retry behind the cursor). Skip marks set since then
// are the user's plan for this pass and stay. With SetReplan, the
// playbook is taken again (hooks found anew); newPass returns step i's
// index in it.
func (r *Runner) newPass(ctx context.Context, i int) int {
	r.mu.Lock()
	first, replan := r.states[i].Runs == 0, r.replan
	r.mu.Unlock()
	if first {
		return i
	}
	// Read the hooks outside the lock: Snapshot need not wait on files.
	var all []Step
	var notes []string
	if replan != nil {
		all, notes = replan()
	}
	r.mu.Lock()
	r.pass++
	pass := r.pass + 1
	var reset []int
	for j := i + 1; j < len(r.states); j++ {
		st := r.states[j]
		if st.Runs > 0 || st.Status == Skipped && st.seq < r.backSeq {
			r.states[j] = StepState{}
			reset = append(reset, j)
		}
	}
	var replanned []Step
	var changed string
	if len(all) > 0 {
		changed = playbookChanges(r.steps, all)
		i, reset = r.replanLocked(all, i, reset)
		replanned = all
	}
	id := r.steps[i].ID
	r.mu.Unlock()
	line := fmt.Sprintf("pass %d: step %s resets the lab", pass, id)
	if len(reset) > 0 {
		line += fmt.Sprintf("; %d later steps are pending again", len(reset))
	}
	if changed != "" {
		line += "; " + changed
	}
	for _, n := range notes {
		line += "; " + n
	}
	r.emit(ctx, Event{Kind: PassStarted, Index: i, Pass: pass, Line: line, Reset: reset, Steps: replanned, Changed: changed})
	return i
}

// playbookChanges says which steps (hooks aside: they say so themselves
// in the checklist) a new pass's playbook added or removed, "" for none.
func playbookChanges(was, now []Step) string {
	in := func(all []Step) map[string]bool {
		m := map[string]bool{}
		for _, s := range all {
			if s.Hook == "" {
				m[s.ID] = true
			}
		}
		return m
	}
	old, cur := in(was), in(now)
	var added, removed []string
	for _, s := range now {
		if s.Hook == "" && !old[s.ID] {
			added = append(added, s.ID)
		}
	}
	for _, s := range was {
		if s.Hook == "" && !cur[s.ID] {
			removed = append(removed, s.ID)
		}
	}
	var parts []string
	if len(added) > 0 {
		parts = append(parts, "steps added: "+strings.Join(added, ", "))
	}
	if len(removed) > 0 {
		parts = append(parts, "steps removed: "+strings.Join(removed, ", "))
	}
	if len(parts) == 0 {
		return ""
	}
	return "the playbook changed (" + strings.Join(parts, "; ") + ")"
}

// StepKey identifies a step across playbooks taken again: a hook by its
// file (its ID, after-0's "0+1", moves when another hook is added), any
// other step by its ID.
func StepKey(s Step) string {
	if s.Hook != "" {
		return "hook:" + s.Hook
	}
	return s.ID
}

// replanLocked makes all the playbook, carrying each step's state and
// breakpoint over by StepKey; it returns step i's index in all and the
// reset steps' indexes there (a step new in all counts as reset).
func (r *Runner) replanLocked(all []Step, i int, reset []int) (int, []int) {
	where := make(map[string]int, len(all))
	for j, s := range all {
		where[StepKey(s)] = j
	}
	states := make([]StepState, len(all))
	bps := map[int]bool{}
	was := map[string]bool{}
	for j, s := range r.steps {
		k := StepKey(s)
		was[k] = true
		if n, ok := where[k]; ok {
			states[n] = r.states[j]
			if r.breakpoints[j] {
				bps[n] = true
			}
		}
	}
	isReset := map[int]bool{}
	for _, j := range reset {
		if n, ok := where[StepKey(r.steps[j])]; ok {
			isReset[n] = true
		}
	}
	ni := where[StepKey(r.steps[i])]
	cur := len(all)
	if r.cursor < len(r.steps) {
		if n, ok := where[StepKey(r.steps[r.cursor])]; ok {
			cur = n
		}
	}
	var nreset []int
	for j := ni + 1; j < len(all); j++ {
		if isReset[j] || !was[StepKey(all[j])] {
			nreset = append(nreset, j)
		}
	}
	r.steps, r.states, r.breakpoints, r.cursor = all, states, bps, cur
	return ni, nreset
}

// readings reads both servers when SetReadings gave a reader, else nil.
func (r *Runner) readings(ctx context.Context) *pg.Snapshot {
	r.mu.Lock()
	read := r.read
	r.mu.Unlock()
	if read == nil || ctx.Err() != nil {
		return nil
	}
	s := read(ctx)
	return &s
}
