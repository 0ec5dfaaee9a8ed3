package steps

import (
	"context"
	"time"

	"walstep/pg"
)

// Checkpointer keeps the lab's state between steps and brings it back.
type Checkpointer interface {
	// After is called when step i of all ended done, with its reading
	// (nil without SetReadings); it may keep a checkpoint before step
	// i+1 and returns a line to show ("" for none).
	After(ctx context.Context, all []Step, i int, reading *pg.Snapshot) string
	// Restore brings back the nearest usable checkpoint before step i or
	// an earlier one: the index of the step it precedes (-1 when none),
	// the readings of the steps before it, and a line saying what it
	// restored and how long it took, or why none could be used.
	Restore(ctx context.Context, all []Step, i int) (at int, earlier []pg.Snapshot, line string, err error)
}

// SetCheckpoints makes the Runner offer each done step to c and rewind
// with it. Call it before Run.
func (r *Runner) SetCheckpoints(c Checkpointer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.checkpoints = c
}

// checkpoint offers step i, just done, to the Checkpointer.
func (l *loop) checkpoint(i int, reading *pg.Snapshot) {
	r := l.r
	r.mu.Lock()
	c, all := r.checkpoints, r.steps
	r.mu.Unlock()
	if c == nil || l.ctx.Err() != nil {
		return
	}
	if line := c.After(l.ctx, all, i, reading); line != "" {
		l.notice("%s", line)
	}
}

// rewind restores the nearest checkpoint at or before step i, marks the
// steps it stands for Restored and runs those between it and i.
func (l *loop) rewind(i int, busy bool, cur int) {
	if busy {
		l.notice("a step is running: rewind when it ends")
		return
	}
	if !l.valid(i) {
		return
	}
	r := l.r
	r.mu.Lock()
	c, all := r.checkpoints, r.steps
	r.mu.Unlock()
	if c == nil || i == 0 || all[i].Resets {
		// Nothing to restore before a reset: it makes the lab anew.
		l.jump(i, busy, cur)
		return
	}
	at, earlier, line, err := c.Restore(l.ctx, all, i)
	if err != nil || at < 0 {
		if err != nil {
			line = err.Error()
		}
		l.notice("%s", line)
		l.jump(i, busy, cur)
		return
	}
	r.mu.Lock()
	var reset []int
	for j := range r.states {
		st := StepState{}
		if j < at {
			st = StepState{Status: Restored, Started: time.Now()}
		}
		if j < at || r.states[j].Runs > 0 || r.states[j].Status != Pending {
			reset = append(reset, j)
		}
		r.states[j] = st
	}
	r.seq++
	r.backSeq = r.seq
	r.cursor = at
	r.mu.Unlock()
	l.resume = -1
	r.emit(l.ctx, Event{Kind: Rewound, Index: at, From: cur, Line: line, Reset: reset, Earlier: earlier})
	if at < i {
		l.continuing, l.pauseAsked, l.stopAt = true, false, i
		l.start(at)
		return
	}
	l.idle(ReasonRewound)
}
