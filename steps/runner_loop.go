package steps

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"
)

// loop is Run's state: it lives only inside Run's goroutine, so its fields
// need no lock (the Runner's shared state still goes through r.mu).
type loop struct {
	r   *Runner
	ctx context.Context

	results    chan result
	stepCancel context.CancelFunc
	wg         sync.WaitGroup

	continuing, pauseAsked bool
	// A retry of a step before the cursor re-runs just that step: on
	// success the cursor returns to where it was.
	resume int
	// cancelled is set when the user cancels the running step: it then
	// ends as Cancelled, whatever its action returned.
	cancelled bool
	// stopAt, when >= 0, is where a rewind's run of the steps between
	// its checkpoint and the step asked for stops.
	stopAt int
}

func newLoop(ctx context.Context, r *Runner) *loop {
	return &loop{r: r, ctx: ctx, results: make(chan result, 1), resume: -1, stopAt: -1}
}

// stop cancels a running step and waits for it.
func (l *loop) stop() {
	if l.stepCancel != nil {
		l.stepCancel()
	}
	l.wg.Wait()
}

// status reports whether a step is running, and the cursor.
func (l *loop) status() (busy bool, cur int) {
	l.r.mu.Lock()
	defer l.r.mu.Unlock()
	return l.r.running >= 0, l.r.cursor
}

func (l *loop) valid(i int) bool { return i >= 0 && i < len(l.r.steps) }

func (l *loop) idle(reason string) {
	r := l.r
	r.mu.Lock()
	cur := r.cursor
	r.mu.Unlock()
	r.emit(l.ctx, Event{Kind: Idle, Index: -1, Reason: reason, Cursor: cur, Finished: cur >= len(r.steps)})
}

func (l *loop) notice(format string, a ...any) {
	l.r.emit(l.ctx, Event{Kind: Notice, Index: -1, Line: fmt.Sprintf(format, a...)})
}

// start runs step i in its own goroutine; its result comes on l.results.
func (l *loop) start(i int) {
	r, ctx := l.r, l.ctx
	if r.steps[i].Resets {
		// A reset undoes every later step: after it the next
		// step is the one after it, not where a retry came from.
		l.resume = -1
		i = r.newPass(ctx, i)
	}
	step := r.steps[i]
	// Read before the step counts as running: what is shown is what runs.
	var command string
	if step.Reload != nil {
		command = step.Reload()
	}
	r.mu.Lock()
	r.running = i
	st := &r.states[i]
	var undo func(context.Context, io.Writer) error
	if st.Status == Failed || st.Status == Cancelled {
		undo = step.Undo
	}
	st.Status, st.Err, st.Started, st.Duration, st.Output, st.Command = Running, nil, time.Now(), 0, nil, command
	st.Runs++
	r.mu.Unlock()
	l.cancelled = false
	r.emit(ctx, Event{Kind: StepStarted, Index: i, Status: Running, Command: command})
	var sctx context.Context
	sctx, l.stepCancel = context.WithCancel(ctx)
	l.wg.Add(1)
	go func() { // owned by Run: joined through wg before Run returns
		defer l.wg.Done()
		begin := time.Now()
		w := &lineWriter{r: r, ctx: ctx, index: i}
		var err error
		if undo != nil {
			fmt.Fprintln(w, "the earlier run did not end: removing what it left")
			if err = safeRun(sctx, undo, w); err != nil {
				err = fmt.Errorf("undo the earlier run: %w", err)
			}
		}
		if err == nil {
			err = safeRun(sctx, step.Run, w)
		}
		w.flush()
		if err == nil && sctx.Err() != nil {
			err = sctx.Err()
		}
		l.results <- result{index: i, err: err, dur: time.Since(begin)}
	}()
}

// finish records the end of the running step, then goes on or idles.
func (l *loop) finish(res result) {
	r, ctx := l.r, l.ctx
	l.stepCancel()
	// Read the servers now: the next step has not started, so the
	// reading belongs to this step.
	readings := r.readings(ctx)
	r.mu.Lock()
	st := &r.states[res.index]
	st.Duration = res.dur
	r.running = -1
	switch {
	case l.cancelled:
		st.Status, st.Err = Cancelled, nil
		res.err = nil
		r.cursor = res.index
	case res.err != nil:
		res.err = withProgramLine(res.err, st.Output)
		st.Status, st.Err = Failed, res.err
		r.cursor = res.index
	default:
		st.Status = Done
		r.cursor = r.nextPendingLocked(res.index + 1)
		if l.resume > r.cursor {
			r.cursor = l.resume
		}
	}
	l.resume = -1
	cur := r.cursor
	bp := r.breakpoints[cur]
	status := st.Status
	r.mu.Unlock()
	r.emit(ctx, Event{Kind: StepFinished, Index: res.index, Status: status, Err: res.err, Duration: res.dur, Readings: readings})
	if status == Done {
		l.checkpoint(res.index, readings)
	}
	stop := l.stopAt >= 0 && cur == l.stopAt
	if stop || status != Done {
		l.stopAt = -1
	}
	switch {
	case status == Cancelled:
		l.continuing, l.pauseAsked = false, false
		l.idle(ReasonCancelled)
	case res.err != nil:
		l.continuing = false
		l.idle(ReasonFailed)
	case cur >= len(r.steps):
		l.continuing = false
		l.idle(ReasonEnd)
	case l.pauseAsked:
		l.continuing, l.pauseAsked = false, false
		l.idle(ReasonPaused)
	case l.continuing && stop:
		l.continuing = false
		l.idle(ReasonRewound)
	case l.continuing && bp:
		l.continuing = false
		l.idle(ReasonBreakpoint)
	case l.continuing:
		l.start(cur)
	default:
		l.idle(ReasonStep)
	}
}

// next runs the step at the cursor; with cont, the steps after it too.
func (l *loop) next(cont, busy bool, cur int) {
	if busy {
		if cont {
			l.continuing, l.pauseAsked = true, false
			l.notice("will continue after the running step")
		} else {
			l.notice("a step is running: wait for it, or pause/cancel")
		}
		return
	}
	if cur >= len(l.r.steps) {
		l.idle(ReasonEnd)
		return
	}
	l.continuing, l.pauseAsked, l.stopAt = cont, false, -1
	l.start(cur)
}

func (l *loop) pause(busy bool) {
	if busy {
		l.pauseAsked = true
		l.notice("pausing after the running step")
	} else {
		l.continuing = false
		l.notice("nothing is running")
	}
}

func (l *loop) retry(i int, busy bool) {
	if busy {
		l.notice("a step is running: retry when it ends")
		return
	}
	if !l.valid(i) {
		return
	}
	r := l.r
	r.mu.Lock()
	if i < r.cursor {
		l.resume = r.cursor
		r.seq++
		r.backSeq = r.seq
	}
	r.cursor = i
	r.mu.Unlock()
	l.continuing, l.pauseAsked = false, false
	l.start(i)
}

func (l *loop) skip(i int, busy bool) {
	if !l.valid(i) {
		return
	}
	r := l.r
	r.mu.Lock()
	if r.running == i {
		r.mu.Unlock()
		l.notice("cannot skip the running step: cancel it first")
		return
	}
	r.seq++
	r.states[i].Status = Skipped
	r.states[i].Err = nil
	r.states[i].seq = r.seq
	if i == r.cursor {
		r.cursor = r.nextPendingLocked(i + 1)
	}
	r.mu.Unlock()
	r.emit(l.ctx, Event{Kind: StepFinished, Index: i, Status: Skipped})
	if !busy {
		l.idle(ReasonSkip)
	}
}

func (l *loop) jump(i int, busy bool, cur int) {
	if busy {
		l.notice("a step is running: jump when it ends")
		return
	}
	if !l.valid(i) {
		return
	}
	r := l.r
	r.mu.Lock()
	if i < r.cursor {
		r.seq++
		r.backSeq = r.seq
	}
	r.cursor = i
	r.mu.Unlock()
	r.emit(l.ctx, Event{Kind: Jumped, Index: i, From: cur})
	l.idle(ReasonJump)
}

func (l *loop) cancel(busy bool) {
	if busy && l.stepCancel != nil {
		l.continuing, l.pauseAsked, l.cancelled = false, false, true
		l.stepCancel()
		l.notice("cancelling the running step")
	}
}

func (l *loop) toggleBreak(i int, busy bool) {
	if !l.valid(i) {
		return
	}
	r := l.r
	r.mu.Lock()
	if r.breakpoints[i] {
		delete(r.breakpoints, i)
	} else {
		r.breakpoints[i] = true
	}
	r.mu.Unlock()
	if !busy {
		l.idle(ReasonStep)
	}
}
