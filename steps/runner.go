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

// Status is a step's state.
type Status int

// Step states.
const (
	Pending Status = iota
	Running
	Done
	Failed
	Skipped
	Cancelled // stopped on the user's word before it ended
)

// String implements fmt.Stringer.
func (s Status) String() string {
	return [...]string{"pending", "running", "done", "failed", "skipped", "cancelled"}[s]
}

// MarshalText makes statuses read as words in JSON.
func (s Status) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Step is one entry of the playbook.
type Step struct {
	ID      string // unique: "1", "4a", "6b", "F1", "13+primary.sql"
	Seed    string // the number as the seed writes it
	Parent  string // "4" for 4a-4f, the step a hook follows
	Title   string
	Command string // what a person types in the seed's Docker setup
	Watch   string // what to look at once it has run
	Hint    string // the debugger key that shows it ("press i to inspect"); not for transcripts
	Hook    string // path of the hook file, for hook steps
	Run     func(ctx context.Context, out io.Writer) error
	// Undo removes what an earlier run of this step left when that run
	// did not end (failed or cancelled), so a retry starts from what the
	// step needs. It must clean only what the step itself makes.
	Undo func(ctx context.Context, out io.Writer) error
	// Resets marks a step that returns the lab to before every later
	// step (step 0): running it starts a new pass, and the later steps'
	// states go back to pending.
	Resets bool
}

// StepState is the runtime state of one step.
type StepState struct {
	Status   Status
	Err      error
	Started  time.Time
	Duration time.Duration
	Output   []string // bounded to MaxOutputLines, oldest dropped
	Runs     int

	seq uint64 // when the Runner last skipped it (see newPass)
}

// MaxOutputLines bounds the output kept per step.
const MaxOutputLines = 5000

// EventKind tells what an Event reports.
type EventKind int

// Event kinds.
const (
	StepStarted  EventKind = iota // a step began
	StepOutput                    // a line of a step's output
	StepFinished                  // a step ended: done, failed, cancelled or skipped
	Idle                          // the runner stopped and waits for a command
	Notice                        // a message for the user (a refused command)
	PassStarted                   // a Resets step began: every later step is pending again
	Jumped                        // the next step to run moved (Index: the new one)
)

// Idle reasons.
const (
	ReasonStep       = "step done"
	ReasonBreakpoint = "breakpoint"
	ReasonFailed     = "failed"
	ReasonPaused     = "paused"
	ReasonEnd        = "end of playbook"
	ReasonJump       = "jumped"
	ReasonSkip       = "skipped"
	ReasonCancelled  = "cancelled"
)

// Event is what the Runner emits.
type Event struct {
	Kind     EventKind
	Index    int // the step concerned, -1 for none
	Status   Status
	Err      error
	Line     string
	Duration time.Duration
	Reason   string // for Idle
	Cursor   int    // for Idle: the next step to run
	Finished bool   // for Idle: no step left to run
	Pass     int    // for PassStarted: 2 for the first pass started again
	Reset    []int  // for PassStarted: the steps now pending again
	From     int    // for Jumped: the step that was next before
	// Readings, on StepFinished of a step that ran, are both servers read
	// after the step ended and before anything else started (only when
	// the Runner was given a reader with SetReadings).
	Readings *pg.Snapshot
}

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
