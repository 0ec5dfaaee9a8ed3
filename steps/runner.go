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
	cmdRewind
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
	replan      func() ([]Step, []string)
	checkpoints Checkpointer
}

// SetReplan makes each new pass (a Resets step run again) take the
// playbook from replan, so hooks added, removed or edited since the last
// pass show and run; its notes (a hook file ignored, and why) end the
// pass's line. A nil playbook keeps the one there is. Call it before Run.
func (r *Runner) SetReplan(replan func() ([]Step, []string)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.replan = replan
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

// Steps returns the playbook as it stands (a new pass may change it; see
// SetReplan).
func (r *Runner) Steps() []Step {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.steps
}

// Events is the channel of events; it is closed when Run returns. The
// consumer must keep reading it.
func (r *Runner) Events() <-chan Event { return r.events }

// Progress is a consistent copy of the runner's state: where each step
// stands, the cursor, the running step, the breakpoints. (What the servers
// looked like is a pg.Snapshot.)
type Progress struct {
	States      []StepState
	Cursor      int
	Running     int // -1 when idle
	Breakpoints map[int]bool
}

// Snapshot returns a copy of the current state.
func (r *Runner) Snapshot() Progress {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := Progress{States: make([]StepState, len(r.states)), Cursor: r.cursor, Running: r.running, Breakpoints: map[int]bool{}}
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

// Rewind makes step i the next one to run with the lab as it was then:
// the nearest checkpoint at or before it comes back and the steps between
// run (with no checkpoint, it is a Jump).
func (r *Runner) Rewind(i int) { r.send(command{kind: cmdRewind, index: i}) }

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
	l := newLoop(ctx, r)
	defer l.wg.Wait()
	for {
		select {
		case <-ctx.Done():
			l.stop()
			return ctx.Err()
		case res := <-l.results:
			l.finish(res)
		case c := <-r.cmds:
			busy, cur := l.status()
			switch c.kind {
			case cmdNext, cmdContinue:
				l.next(c.kind == cmdContinue, busy, cur)
			case cmdPause:
				l.pause(busy)
			case cmdRetry:
				l.retry(c.index, busy)
			case cmdSkip:
				l.skip(c.index, busy)
			case cmdJump:
				l.jump(c.index, busy, cur)
			case cmdCancel:
				l.cancel(busy)
			case cmdBreak:
				l.toggleBreak(c.index, busy)
			case cmdRewind:
				l.rewind(c.index, busy, cur)
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
