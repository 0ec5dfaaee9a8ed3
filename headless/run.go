package headless

import (
	"context"
	"fmt"
	"io"
	"time"

	"walstep/pg"
	"walstep/steps"
	"walstep/transcript"
	"walstep/untrusted"
)

// RunResult is how a headless playbook run ended.
type RunResult struct {
	Snap   steps.Progress
	Failed int      // index of the failed step, -1 when none
	Watch  pg.Watch // the polls taken at each step's end
	// Restored says what a run --from restored; NotRestored why it
	// could not (the run then stopped before running anything).
	Restored, NotRestored string
	Notes                 []string // the checkpoints' lines (kept, restored, not used)
}

// RunPlaybook runs every step with continue and prints a line as each step
// starts and ends. The Runner reads the servers at each step's end; the
// readings go into the result's Watch (and the transcript), so the report's
// diagnosis looks back on the run as the debugger's does.
func RunPlaybook(ctx context.Context, s *Session, w io.Writer, verbose bool, tr ...*transcript.Transcript) RunResult {
	r := steps.NewRunner(s.Steps)
	r.SetReadings(s.Poll) // each step's readings, taken before the next one starts
	if s.Keeper != nil {
		r.SetCheckpoints(s.Keeper)
	}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan struct{})
	go func() { // owned here: joined through done
		defer close(done)
		_ = r.Run(rctx)
	}()
	res := RunResult{Failed: -1, Watch: pg.NewWatch(s.Stall)}
	if s.From > 0 {
		r.Rewind(s.From)
	} else {
		r.Continue()
	}
	total := len(s.Steps)
loop:
	for e := range r.Events() {
		for _, t := range tr {
			if t != nil && e.Index >= 0 {
				_ = t.Record(s.Steps, e, r.Snapshot().States[e.Index])
			}
		}
		switch e.Kind {
		case steps.StepStarted:
			st := s.Steps[e.Index]
			fmt.Fprintf(w, "[%2d/%d] %-4s %s ...\n", e.Index+1, total, st.ID, st.Title)
		case steps.StepOutput:
			if verbose {
				fmt.Fprintf(w, "         | %s\n", e.Line)
			}
		case steps.StepFinished:
			st := s.Steps[e.Index]
			line := fmt.Sprintf("[%2d/%d] %-4s %s: %s in %s", e.Index+1, total, st.ID, st.Title, e.Status, e.Duration.Round(time.Millisecond))
			if e.Err != nil {
				line += "\n         error: " + untrusted.Shown(e.Err.Error())
			}
			fmt.Fprintln(w, line)
			if e.Readings != nil {
				res.Watch, _ = res.Watch.Observe(*e.Readings)
			}
			if e.Status == steps.Failed && !verbose {
				out := r.Snapshot().States[e.Index].Output
				if len(out) > 15 {
					out = out[len(out)-15:]
				}
				for _, l := range out {
					fmt.Fprintf(w, "         | %s\n", l)
				}
			}
		case steps.Rewound:
			for _, rd := range e.Earlier {
				res.Watch, _ = res.Watch.Observe(rd)
			}
			res.Restored = e.Line
			res.Notes = append(res.Notes, e.Line)
		case steps.Notice:
			if s.From > 0 && res.Restored == "" {
				res.NotRestored = e.Line
			}
			if s.Keeper != nil {
				res.Notes = append(res.Notes, e.Line)
			}
		case steps.Idle:
			if e.Reason == steps.ReasonRewound {
				r.Continue()
				continue
			}
			if e.Reason == steps.ReasonFailed {
				res.Failed = e.Cursor
			}
			break loop
		}
	}
	res.Snap = r.Snapshot()
	cancel()
	for range r.Events() { // drain until Run closes the channel
	}
	<-done
	if ctx.Err() != nil && res.Failed < 0 {
		for i, st := range res.Snap.States {
			if st.Status == steps.Failed || st.Status == steps.Running {
				res.Failed = i
			}
		}
	}
	return res
}
