package steps

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"sync"
	"time"

	"walstep/pg"
)

type cmdKind int

const (
	cmdNext cmdKind = iota
	cmdContinue
	cmdPause
	cmdRetry
	cmdSkip
	cmdJump
	cmdCancel
	cmdBreak
)

type command struct {
	kind  cmdKind
	index int
}

type result struct {
	index int
	err   error
	dur   time.Duration
}

// Runner runs a playbook's steps one at a time on command.
type Runner struct {
	steps  []Step
	cmds   chan command
	events chan Event

	mu          sync.Mutex
	states      []StepState
	cursor      int
	running     int
	breakpoints map[int]bool
	pass        int    // passes started again by a Resets step
	seq         uint64 // orders skips and steps back (see newPass)
	backSeq     uint64 // seq of the last jump or retry behind the cursor
	read        func(ctx context.Context) pg.Snapshot
}

// SetReadings makes the Runner read both servers with read when a step
// ends, before the next one starts, and attach the reading to its
// StepFinished event (for transcripts). Call it before Run.
func (r *Runner) SetReadings(read func(ctx context.Context) pg.Snapshot) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.read = read
}

// NewRunner makes a Runner over steps; call Run to start it.
func NewRunner(steps []Step) *Runner {
	return &Runner{
		steps:       steps,
		cmds:        make(chan command, 16),
		events:      make(chan Event, 256),
		states:      make([]StepState, len(steps)),
		running:     -1,
		breakpoints: map[int]bool{},
	}
}

// Steps returns the playbook.
func (r *Runner) Steps() []Step { return r.steps }

// Events is the channel of events; it is closed when Run returns. The
// consumer must keep reading it.
func (r *Runner) Events() <-chan Event { return r.events }

// Snapshot is a consistent copy of the runner's state.
type Snapshot struct {
	States      []StepState
	Cursor      int
	Running     int // -1 when idle
	Breakpoints map[int]bool
}

// Snapshot returns a copy of the current state.
func (r *Runner) Snapshot() Snapshot {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := Snapshot{States: make([]StepState, len(r.states)), Cursor: r.cursor, Running: r.running, Breakpoints: map[int]bool{}}
	for i, st := range r.states {
		st.Output = append([]string(nil), st.Output...)
		s.States[i] = st
	}
	for k, v := range r.breakpoints {
		s.Breakpoints[k] = v
	}
	return s
}

// Next runs the next pending step.
func (r *Runner) Next() { r.send(command{kind: cmdNext}) }

// Continue runs steps until a breakpoint, a failure, a pause or the end.
func (r *Runner) Continue() { r.send(command{kind: cmdContinue}) }

// Pause lets the running step finish, then stops.
func (r *Runner) Pause() { r.send(command{kind: cmdPause}) }

// Retry runs step i again (a failed step, or any step not running).
func (r *Runner) Retry(i int) { r.send(command{kind: cmdRetry, index: i}) }

// Skip marks step i skipped; skipping the next step moves past it.
func (r *Runner) Skip(i int) { r.send(command{kind: cmdSkip, index: i}) }

// Jump makes step i the next one to run.
func (r *Runner) Jump(i int) { r.send(command{kind: cmdJump, index: i}) }

// Cancel cancels the running step through its context.
func (r *Runner) Cancel() { r.send(command{kind: cmdCancel}) }

// ToggleBreakpoint sets or clears a breakpoint before step i.
func (r *Runner) ToggleBreakpoint(i int) { r.send(command{kind: cmdBreak, index: i}) }

// SetBreakpoint sets a breakpoint before step i (before Run, or any time).
func (r *Runner) SetBreakpoint(i int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.breakpoints[i] = true
}

func (r *Runner) send(c command) {
	// The buffer is large; a full buffer means a user is hammering keys,
	// and dropping a command is better than blocking the UI.
	select {
	case r.cmds <- c:
	default:
	}
}

// Run processes commands until ctx is cancelled; it cancels a running step,
// waits for it, and closes Events before returning.
func (r *Runner) Run(ctx context.Context) error {
	defer close(r.events)
	results := make(chan result, 1)
	var stepCancel context.CancelFunc
	var wg sync.WaitGroup
	defer wg.Wait()
	continuing, pauseAsked := false, false
	// A retry of a step before the cursor re-runs just that step: on
	// success the cursor returns to where it was.
	resume := -1

	// cancelled is set when the user cancels the running step: it then
	// ends as Cancelled, whatever its action returned.
	cancelled := false

	start := func(i int) {
		if r.steps[i].Resets {
			// A reset undoes every later step: after it the next
			// step is the one after it, not where a retry came from.
			resume = -1
			r.newPass(ctx, i)
		}
		r.mu.Lock()
		r.running = i
		st := &r.states[i]
		var undo func(context.Context, io.Writer) error
		if st.Status == Failed || st.Status == Cancelled {
			undo = r.steps[i].Undo
		}
		st.Status, st.Err, st.Started, st.Duration, st.Output = Running, nil, time.Now(), 0, nil
		st.Runs++
		r.mu.Unlock()
		cancelled = false
		r.emit(ctx, Event{Kind: StepStarted, Index: i, Status: Running})
		var sctx context.Context
		sctx, stepCancel = context.WithCancel(ctx)
		wg.Add(1)
		go func() { // owned by Run: joined through wg before Run returns
			defer wg.Done()
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
				err = safeRun(sctx, r.steps[i].Run, w)
			}
			w.flush()
			if err == nil && sctx.Err() != nil {
				err = sctx.Err()
			}
			results <- result{index: i, err: err, dur: time.Since(begin)}
		}()
	}

	idle := func(reason string) {
		r.mu.Lock()
		cur := r.cursor
		r.mu.Unlock()
		r.emit(ctx, Event{Kind: Idle, Index: -1, Reason: reason, Cursor: cur, Finished: cur >= len(r.steps)})
	}

	notice := func(format string, a ...any) {
		r.emit(ctx, Event{Kind: Notice, Index: -1, Line: fmt.Sprintf(format, a...)})
	}

	valid := func(i int) bool { return i >= 0 && i < len(r.steps) }

	for {
		select {
		case <-ctx.Done():
			if stepCancel != nil {
				stepCancel()
			}
			wg.Wait()
			return ctx.Err()

		case res := <-results:
			stepCancel()
			// Read the servers now: the next step has not started, so the
			// reading belongs to this step.
			readings := r.readings(ctx)
			r.mu.Lock()
			st := &r.states[res.index]
			st.Duration = res.dur
			r.running = -1
			switch {
			case cancelled:
				st.Status, st.Err = Cancelled, nil
				res.err = nil
				r.cursor = res.index
			case res.err != nil:
				st.Status, st.Err = Failed, res.err
				r.cursor = res.index
			default:
				st.Status = Done
				r.cursor = r.nextPendingLocked(res.index + 1)
				if resume > r.cursor {
					r.cursor = resume
				}
			}
			resume = -1
			cur := r.cursor
			bp := r.breakpoints[cur]
			status := st.Status
			r.mu.Unlock()
			r.emit(ctx, Event{Kind: StepFinished, Index: res.index, Status: status, Err: res.err, Duration: res.dur, Readings: readings})
			switch {
			case status == Cancelled:
				continuing, pauseAsked = false, false
				idle(ReasonCancelled)
			case res.err != nil:
				continuing = false
				idle(ReasonFailed)
			case cur >= len(r.steps):
				continuing = false
				idle(ReasonEnd)
			case pauseAsked:
				continuing, pauseAsked = false, false
				idle(ReasonPaused)
			case continuing && bp:
				continuing = false
				idle(ReasonBreakpoint)
			case continuing:
				start(cur)
			default:
				idle(ReasonStep)
			}

		case c := <-r.cmds:
			r.mu.Lock()
			busy := r.running >= 0
			cur := r.cursor
			r.mu.Unlock()
			switch c.kind {
			case cmdNext, cmdContinue:
				if busy {
					if c.kind == cmdContinue {
						continuing, pauseAsked = true, false
						notice("will continue after the running step")
					} else {
						notice("a step is running: wait for it, or pause/cancel")
					}
					continue
				}
				if cur >= len(r.steps) {
					idle(ReasonEnd)
					continue
				}
				continuing, pauseAsked = c.kind == cmdContinue, false
				start(cur)
			case cmdPause:
				if busy {
					pauseAsked = true
					notice("pausing after the running step")
				} else {
					continuing = false
					notice("nothing is running")
				}
			case cmdRetry:
				if busy {
					notice("a step is running: retry when it ends")
					continue
				}
				if !valid(c.index) {
					continue
				}
				r.mu.Lock()
				if c.index < r.cursor {
					resume = r.cursor
					r.seq++
					r.backSeq = r.seq
				}
				r.cursor = c.index
				r.mu.Unlock()
				continuing, pauseAsked = false, false
				start(c.index)
			case cmdSkip:
				if !valid(c.index) {
					continue
				}
				r.mu.Lock()
				if r.running == c.index {
					r.mu.Unlock()
					notice("cannot skip the running step: cancel it first")
					continue
				}
				r.seq++
				r.states[c.index].Status = Skipped
				r.states[c.index].Err = nil
				r.states[c.index].seq = r.seq
				if c.index == r.cursor {
					r.cursor = r.nextPendingLocked(c.index + 1)
				}
				r.mu.Unlock()
				r.emit(ctx, Event{Kind: StepFinished, Index: c.index, Status: Skipped})
				if !busy {
					idle(ReasonSkip)
				}
			case cmdJump:
				if busy {
					notice("a step is running: jump when it ends")
					continue
				}
				if !valid(c.index) {
					continue
				}
				r.mu.Lock()
				if c.index < r.cursor {
					r.seq++
					r.backSeq = r.seq
				}
				r.cursor = c.index
				r.mu.Unlock()
				r.emit(ctx, Event{Kind: Jumped, Index: c.index, From: cur})
				idle(ReasonJump)
			case cmdCancel:
				if busy && stepCancel != nil {
					continuing, pauseAsked, cancelled = false, false, true
					stepCancel()
					notice("cancelling the running step")
				}
			case cmdBreak:
				if !valid(c.index) {
					continue
				}
				r.mu.Lock()
				if r.breakpoints[c.index] {
					delete(r.breakpoints, c.index)
				} else {
					r.breakpoints[c.index] = true
				}
				r.mu.Unlock()
				if !busy {
					idle(ReasonStep)
				}
			}
		}
	}
}

// nextPendingLocked returns the first index >= from whose step was not
// skipped, or len(steps). Done steps count: after a jump back (to step 0,
// say, to run the repro again) the steps that follow run again in order.
func (r *Runner) nextPendingLocked(from int) int {
	for i := from; i < len(r.states); i++ {
		if r.states[i].Status != Skipped {
			return i
		}
	}
	return len(r.states)
}

func (r *Runner) emit(ctx context.Context, e Event) {
	select {
	case r.events <- e:
	case <-ctx.Done():
	}
}

// safeRun turns a panic in a step into its error, so a bug in one step
// fails that step instead of killing the program with a stack trace.
func safeRun(ctx context.Context, run func(context.Context, io.Writer) error, w io.Writer) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("step panicked: %v", p)
			_, _ = fmt.Fprintf(w, "internal error: %v\n%s", p, debug.Stack())
		}
	}()
	if run == nil {
		return errors.New("step has no action")
	}
	return run(ctx, w)
}
