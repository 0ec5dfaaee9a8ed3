package steps

import (
	"context"
	"fmt"

	"walstep/pg"
)

// newPass starts a new pass when the Resets step i runs again: it is about
// to put the lab back to before every later step, so the states of the
// steps that ran since (done, failed, cancelled) no longer say anything
// true and go back to pending, as do skip marks set before the user went
// back (a jump or a retry behind the cursor). Skip marks set since then
// are the user's plan for this pass and stay.
func (r *Runner) newPass(ctx context.Context, i int) {
	r.mu.Lock()
	if r.states[i].Runs == 0 {
		r.mu.Unlock()
		return
	}
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
	r.mu.Unlock()
	line := fmt.Sprintf("pass %d: step %s resets the lab", pass, r.steps[i].ID)
	if len(reset) > 0 {
		line += fmt.Sprintf("; %d later steps are pending again", len(reset))
	}
	r.emit(ctx, Event{Kind: PassStarted, Index: i, Pass: pass, Line: line, Reset: reset})
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
