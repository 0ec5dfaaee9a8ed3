package steps

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// Test helpers for the Runner: fake steps that block on channels the test
// controls, and a harness that runs a Runner and waits for its events with
// a deadline (time.After is only ever the deadline, never the way to sync).

// eventDeadline bounds every wait for an event; a hang fails the test. It
// is generous because some waits span a whole real playbook, which takes
// several times longer on a loaded machine.
const eventDeadline = 60 * time.Second

// fakeStep is a controllable step action. Each run announces itself on
// started (with its ctx), then waits for the test to send the result on
// release, or for its ctx to end when honourCtx is set.
type fakeStep struct {
	started   chan context.Context
	release   chan error
	honourCtx bool

	mu   sync.Mutex
	runs int
	ctxs []context.Context
}

func newFakeStep(honourCtx bool) *fakeStep {
	return &fakeStep{started: make(chan context.Context, 8), release: make(chan error), honourCtx: honourCtx}
}

func (f *fakeStep) run(ctx context.Context, out io.Writer) error {
	f.mu.Lock()
	f.runs++
	n := f.runs
	f.ctxs = append(f.ctxs, ctx)
	f.mu.Unlock()
	fmt.Fprintf(out, "fake run %d\n", n)
	f.started <- ctx
	if f.honourCtx {
		select {
		case err := <-f.release:
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return <-f.release
}

// waitStarted waits until the step's action has begun and returns its ctx.
func (f *fakeStep) waitStarted(t *testing.T) context.Context {
	t.Helper()
	select {
	case ctx := <-f.started:
		return ctx
	case <-time.After(eventDeadline):
		t.Fatalf("fake step did not start within %s", eventDeadline)
		return nil
	}
}

// finish hands the running action its result.
func (f *fakeStep) finish(t *testing.T, err error) {
	t.Helper()
	select {
	case f.release <- err:
	case <-time.After(eventDeadline):
		t.Fatalf("fake step was not waiting for its result within %s", eventDeadline)
	}
}

func (f *fakeStep) Runs() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.runs
}

// instant is a step action that succeeds at once and counts its runs.
type instant struct {
	mu   sync.Mutex
	runs int
	err  func(run int) error // nil: always succeed
}

func (s *instant) run(ctx context.Context, out io.Writer) error {
	s.mu.Lock()
	s.runs++
	n := s.runs
	s.mu.Unlock()
	fmt.Fprintf(out, "instant run %d\n", n)
	if s.err != nil {
		return s.err(n)
	}
	return nil
}

func (s *instant) Runs() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.runs
}

func mkSteps(runs ...func(context.Context, io.Writer) error) []Step {
	out := make([]Step, len(runs))
	for i, r := range runs {
		out[i] = Step{ID: fmt.Sprint(i), Title: fmt.Sprintf("fake %d", i), Run: r}
	}
	return out
}

// harness runs a Runner in a goroutine and reads its events.
type harness struct {
	t      *testing.T
	r      *Runner
	cancel context.CancelFunc
	done   chan error
	seen   []Event
	closed bool
}

// startRunner starts r.Run and, at cleanup, stops it, checks that Run
// returned, that Events closed and that no goroutine was left behind.
func startRunner(t *testing.T, r *Runner) *harness {
	t.Helper()
	ignore := goleak.IgnoreCurrent()
	ctx, cancel := context.WithCancel(context.Background())
	h := &harness{t: t, r: r, cancel: cancel, done: make(chan error, 1)}
	go func() { h.done <- r.Run(ctx) }() // joined in cleanup through h.done
	t.Cleanup(func() {
		h.stop()
		goleak.VerifyNone(t, ignore)
	})
	return h
}

// stop cancels Run's ctx, waits for Run to return and for Events to close.
func (h *harness) stop() error {
	h.t.Helper()
	h.cancel()
	var err error
	select {
	case err = <-h.done:
		h.done <- err // let a second stop see it too
	case <-time.After(eventDeadline):
		h.t.Fatalf("Run did not return within %s of its ctx being cancelled", eventDeadline)
	}
	deadline := time.After(eventDeadline)
	for !h.closed {
		select {
		case _, ok := <-h.r.Events():
			if !ok {
				h.closed = true
			}
		case <-deadline:
			h.t.Fatalf("Events was not closed within %s of Run returning", eventDeadline)
		}
	}
	return err
}

// next returns the next event, failing the test at the deadline.
func (h *harness) next() Event {
	h.t.Helper()
	select {
	case e, ok := <-h.r.Events():
		if !ok {
			h.closed = true
			h.t.Fatalf("Events closed early; events so far:\n%s", h.dump())
		}
		h.seen = append(h.seen, e)
		return e
	case <-time.After(eventDeadline):
		h.t.Fatalf("no event within %s; events so far:\n%s", eventDeadline, h.dump())
		return Event{}
	}
}

// until reads events until one matches, and returns it with the events
// read before it.
func (h *harness) until(what string, match func(Event) bool) (Event, []Event) {
	h.t.Helper()
	var before []Event
	deadline := time.After(eventDeadline)
	for {
		select {
		case e, ok := <-h.r.Events():
			if !ok {
				h.closed = true
				h.t.Fatalf("Events closed while waiting for %s; events so far:\n%s", what, h.dump())
			}
			h.seen = append(h.seen, e)
			if match(e) {
				return e, before
			}
			before = append(before, e)
		case <-deadline:
			h.t.Fatalf("no %s within %s; events so far:\n%s", what, eventDeadline, h.dump())
			return Event{}, nil
		}
	}
}

// idle waits for the next Idle event and checks its reason and cursor.
func (h *harness) idle(reason string, cursor int) (Event, []Event) {
	h.t.Helper()
	e, before := h.until("Idle("+reason+")", func(e Event) bool { return e.Kind == Idle })
	if e.Reason != reason || e.Cursor != cursor {
		h.t.Fatalf("Idle: reason %q cursor %d, want %q cursor %d; events:\n%s", e.Reason, e.Cursor, reason, cursor, h.dump())
	}
	if e.Finished != (cursor >= len(h.r.Steps())) {
		h.t.Fatalf("Idle at cursor %d: Finished = %v", cursor, e.Finished)
	}
	return e, before
}

// notice waits for the next Notice and checks that it contains sub.
func (h *harness) notice(sub string) Event {
	h.t.Helper()
	e, _ := h.until("Notice", func(e Event) bool { return e.Kind == Notice })
	if !strings.Contains(e.Line, sub) {
		h.t.Fatalf("Notice %q, want it to contain %q", e.Line, sub)
	}
	return e
}

// started waits for StepStarted and checks its index.
func (h *harness) started(i int) {
	h.t.Helper()
	e, _ := h.until(fmt.Sprintf("StepStarted(%d)", i), func(e Event) bool { return e.Kind == StepStarted })
	if e.Index != i || e.Status != Running {
		h.t.Fatalf("StepStarted index %d status %s, want %d running; events:\n%s", e.Index, e.Status, i, h.dump())
	}
}

// finished waits for StepFinished and checks its index and status.
func (h *harness) finished(i int, st Status) Event {
	h.t.Helper()
	e, _ := h.until(fmt.Sprintf("StepFinished(%d)", i), func(e Event) bool { return e.Kind == StepFinished })
	if e.Index != i || e.Status != st {
		h.t.Fatalf("StepFinished index %d status %s (err %v), want %d %s; events:\n%s", e.Index, e.Status, e.Err, i, st, h.dump())
	}
	return e
}

// ranInOrder returns the indexes of StepStarted events in evs.
func ranInOrder(evs []Event) []int {
	var out []int
	for _, e := range evs {
		if e.Kind == StepStarted {
			out = append(out, e.Index)
		}
	}
	return out
}

func (h *harness) dump() string {
	var b strings.Builder
	kinds := map[EventKind]string{StepStarted: "started", StepOutput: "output", StepFinished: "finished", Idle: "idle", Notice: "notice"}
	for _, e := range h.seen {
		fmt.Fprintf(&b, "  %s idx=%d status=%s err=%v line=%q reason=%q cursor=%d\n", kinds[e.Kind], e.Index, e.Status, e.Err, e.Line, e.Reason, e.Cursor)
	}
	return b.String()
}

func (h *harness) statuses() []Status {
	s := h.r.Snapshot()
	out := make([]Status, len(s.States))
	for i, st := range s.States {
		out[i] = st.Status
	}
	return out
}

func (h *harness) wantStatuses(want ...Status) {
	h.t.Helper()
	got := h.statuses()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		h.t.Fatalf("statuses %v, want %v", got, want)
	}
}

var errBoom = errors.New("boom")
