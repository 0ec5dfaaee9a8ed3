package steps

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
)

func TestRunnerNext(t *testing.T) {
	a, b := &instant{}, &instant{}
	r := NewRunner(mkSteps(a.run, b.run))
	h := startRunner(t, r)

	r.Next()
	h.started(0)
	e := h.finished(0, Done)
	if e.Err != nil {
		t.Fatalf("done step carries error %v", e.Err)
	}
	h.idle(ReasonStep, 1)
	h.wantStatuses(Done, Pending)
	if a.Runs() != 1 || b.Runs() != 0 {
		t.Fatalf("runs %d %d, want 1 0", a.Runs(), b.Runs())
	}
	s := r.Snapshot()
	if s.Cursor != 1 || s.Running != -1 || s.States[0].Runs != 1 || s.States[0].Started.IsZero() {
		t.Fatalf("snapshot after next: %+v", s)
	}

	r.Next()
	h.started(1)
	h.finished(1, Done)
	h.idle(ReasonEnd, 2)
	h.wantStatuses(Done, Done)

	// Next at the end runs nothing and says so.
	r.Next()
	h.idle(ReasonEnd, 2)
	if a.Runs() != 1 || b.Runs() != 1 {
		t.Fatalf("runs %d %d after next at the end, want 1 1", a.Runs(), b.Runs())
	}
}

func TestRunnerContinueToEnd(t *testing.T) {
	ss := []*instant{{}, {}, {}, {}}
	r := NewRunner(mkSteps(ss[0].run, ss[1].run, ss[2].run, ss[3].run))
	h := startRunner(t, r)

	r.Continue()
	_, before := h.idle(ReasonEnd, 4)
	if got := ranInOrder(before); !slices.Equal(got, []int{0, 1, 2, 3}) {
		t.Fatalf("ran %v, want 0 1 2 3", got)
	}
	for _, e := range before {
		if e.Kind == Idle {
			t.Fatalf("continue went idle before the end: %+v", e)
		}
	}
	h.wantStatuses(Done, Done, Done, Done)
	// Continue at the end runs nothing.
	r.Continue()
	h.idle(ReasonEnd, 4)
	for i, s := range ss {
		if s.Runs() != 1 {
			t.Fatalf("step %d ran %d times", i, s.Runs())
		}
	}
}

func TestRunnerContinueStopsAtBreakpoint(t *testing.T) {
	ss := []*instant{{}, {}, {}, {}}
	r := NewRunner(mkSteps(ss[0].run, ss[1].run, ss[2].run, ss[3].run))
	r.SetBreakpoint(2)
	h := startRunner(t, r)

	r.Continue()
	_, before := h.idle(ReasonBreakpoint, 2)
	if got := ranInOrder(before); !slices.Equal(got, []int{0, 1}) {
		t.Fatalf("ran %v before the breakpoint, want 0 1", got)
	}
	h.wantStatuses(Done, Done, Pending, Pending)
	if ss[2].Runs() != 0 {
		t.Fatal("the step at the breakpoint ran")
	}

	// The next continue runs past the breakpoint it stopped at.
	r.Continue()
	_, before = h.idle(ReasonEnd, 4)
	if got := ranInOrder(before); !slices.Equal(got, []int{2, 3}) {
		t.Fatalf("ran %v after the breakpoint, want 2 3", got)
	}
	if !r.Snapshot().Breakpoints[2] {
		t.Fatal("the breakpoint was cleared by stopping at it")
	}
}

func TestRunnerToggleBreakpoint(t *testing.T) {
	ss := []*instant{{}, {}, {}}
	r := NewRunner(mkSteps(ss[0].run, ss[1].run, ss[2].run))
	h := startRunner(t, r)

	r.ToggleBreakpoint(1)
	h.idle(ReasonStep, 0)
	if !r.Snapshot().Breakpoints[1] {
		t.Fatal("toggle did not set the breakpoint")
	}
	r.ToggleBreakpoint(2)
	h.idle(ReasonStep, 0)
	r.ToggleBreakpoint(2)
	h.idle(ReasonStep, 0)
	if bp := r.Snapshot().Breakpoints; !bp[1] || bp[2] {
		t.Fatalf("breakpoints %v, want only 1", bp)
	}
	r.Continue()
	h.idle(ReasonBreakpoint, 1)
	r.ToggleBreakpoint(1)
	h.idle(ReasonStep, 1)
	r.Continue()
	h.idle(ReasonEnd, 3)
}

func TestRunnerContinueStopsOnFailure(t *testing.T) {
	a := &instant{}
	b := &instant{err: func(int) error { return errBoom }}
	c := &instant{}
	r := NewRunner(mkSteps(a.run, b.run, c.run))
	h := startRunner(t, r)

	r.Continue()
	h.finished(0, Done)
	e := h.finished(1, Failed)
	if !errors.Is(e.Err, errBoom) {
		t.Fatalf("failed event err %v, want boom", e.Err)
	}
	h.idle(ReasonFailed, 1)
	h.wantStatuses(Done, Failed, Pending)
	if c.Runs() != 0 {
		t.Fatal("continue ran past a failure")
	}
	if s := r.Snapshot(); !errors.Is(s.States[1].Err, errBoom) || s.Cursor != 1 {
		t.Fatalf("snapshot after failure: err %v cursor %d", s.States[1].Err, s.Cursor)
	}
}

func TestRunnerPauseDuringStep(t *testing.T) {
	slow := newFakeStep(false)
	b := &instant{}
	r := NewRunner(mkSteps(slow.run, b.run))
	h := startRunner(t, r)

	// Pause with nothing running is refused with a notice.
	r.Pause()
	h.notice("nothing is running")

	r.Continue()
	h.started(0)
	slow.waitStarted(t)
	if s := r.Snapshot(); s.Running != 0 || s.States[0].Status != Running {
		t.Fatalf("while running: running %d status %s", s.Running, s.States[0].Status)
	}
	r.Pause()
	h.notice("pausing after the running step")
	slow.finish(t, nil) // the running step is not interrupted by a pause
	h.finished(0, Done)
	h.idle(ReasonPaused, 1)
	h.wantStatuses(Done, Pending)
	if b.Runs() != 0 {
		t.Fatal("the step after a pause ran")
	}

	// A continue after the pause resumes.
	r.Continue()
	h.idle(ReasonEnd, 2)
}

func TestRunnerContinueWhileBusyContinuesAfterStep(t *testing.T) {
	slow := newFakeStep(false)
	b, c := &instant{}, &instant{}
	r := NewRunner(mkSteps(slow.run, b.run, c.run))
	h := startRunner(t, r)

	r.Next()
	h.started(0)
	slow.waitStarted(t)
	r.Continue()
	h.notice("will continue after the running step")
	slow.finish(t, nil)
	_, before := h.idle(ReasonEnd, 3)
	if got := ranInOrder(before); !slices.Equal(got, []int{1, 2}) {
		t.Fatalf("ran %v after the busy continue, want 1 2", got)
	}
}

func TestRunnerRetryFailedStep(t *testing.T) {
	a := &instant{}
	flaky := &instant{err: func(n int) error {
		if n == 1 {
			return errBoom
		}
		return nil
	}}
	c := &instant{}
	r := NewRunner(mkSteps(a.run, flaky.run, c.run))
	h := startRunner(t, r)

	r.Continue()
	h.finished(0, Done)
	h.finished(1, Failed)
	h.idle(ReasonFailed, 1)
	if out := r.Snapshot().States[1].Output; !slices.Equal(out, []string{"instant run 1"}) {
		t.Fatalf("output of the failed run %q", out)
	}

	r.Retry(1)
	h.started(1)
	e := h.finished(1, Done)
	if e.Err != nil {
		t.Fatalf("retried step err %v", e.Err)
	}
	h.idle(ReasonStep, 2) // a retry runs one step, then the cursor moves on
	s := r.Snapshot()
	if st := s.States[1]; st.Status != Done || st.Err != nil || st.Runs != 2 {
		t.Fatalf("retried step state %+v", st)
	}
	// The output is the retry's own, not the failed run's.
	if out := s.States[1].Output; !slices.Equal(out, []string{"instant run 2"}) {
		t.Fatalf("output after retry %q", out)
	}
	if c.Runs() != 0 {
		t.Fatal("retry ran the following step too")
	}
	r.Next()
	h.finished(2, Done)
	h.idle(ReasonEnd, 3)
}

func TestRunnerRetryDoneStep(t *testing.T) {
	ss := []*instant{{}, {}, {}}
	r := NewRunner(mkSteps(ss[0].run, ss[1].run, ss[2].run))
	h := startRunner(t, r)

	r.Next()
	h.idle(ReasonStep, 1)
	r.Next()
	h.idle(ReasonStep, 2)

	r.Retry(0)
	h.started(0)
	h.finished(0, Done)
	// Step 1 is done, so the cursor goes back to the first pending step.
	h.idle(ReasonStep, 2)
	if ss[0].Runs() != 2 || ss[1].Runs() != 1 || ss[2].Runs() != 0 {
		t.Fatalf("runs %d %d %d, want 2 1 0", ss[0].Runs(), ss[1].Runs(), ss[2].Runs())
	}
	if r.Snapshot().States[0].Runs != 2 {
		t.Fatal("Runs not counted")
	}

	// Out of range: ignored, nothing runs; the next command still works.
	r.Retry(7)
	r.Retry(-1)
	r.Next()
	h.started(2)
	h.idle(ReasonEnd, 3)
}

func TestRunnerOutputEvents(t *testing.T) {
	r := NewRunner(mkSteps(func(_ context.Context, out io.Writer) error {
		io.WriteString(out, "first\nsec")
		io.WriteString(out, "ond\r\n\n")
		io.WriteString(out, "no newline at the end")
		return nil
	}))
	h := startRunner(t, r)

	r.Next()
	h.started(0)
	var lines []string
	_, before := h.until("StepFinished", func(e Event) bool { return e.Kind == StepFinished })
	for _, e := range before {
		if e.Kind != StepOutput || e.Index != 0 {
			t.Fatalf("unexpected event before finish: %+v", e)
		}
		lines = append(lines, e.Line)
	}
	want := []string{"first", "second", "", "no newline at the end"}
	if !slices.Equal(lines, want) {
		t.Fatalf("output events %q, want %q", lines, want)
	}
	h.idle(ReasonEnd, 1)
	if got := r.Snapshot().States[0].Output; !slices.Equal(got, want) {
		t.Fatalf("snapshot output %q, want %q", got, want)
	}
}

func TestRunnerOutputBounded(t *testing.T) {
	const n = MaxOutputLines + 123
	r := NewRunner(mkSteps(func(_ context.Context, out io.Writer) error {
		for i := 0; i < n; i++ {
			fmt.Fprintf(out, "line %d\n", i)
		}
		return nil
	}))
	h := startRunner(t, r)

	r.Next()
	count := 0
	_, before := h.until("StepFinished", func(e Event) bool { return e.Kind == StepFinished })
	for _, e := range before {
		if e.Kind == StepOutput {
			count++
		}
	}
	// The first lines as they come, a line saying what was dropped, the
	// last lines: MaxOutputLines in all, as events and in the state.
	if count != MaxOutputLines {
		t.Fatalf("%d output events, want %d", count, MaxOutputLines)
	}
	out := r.Snapshot().States[0].Output
	if len(out) != MaxOutputLines {
		t.Fatalf("kept %d lines, want %d", len(out), MaxOutputLines)
	}
	if out[0] != "line 0" || out[len(out)-1] != fmt.Sprintf("line %d", n-1) || !strings.Contains(out[headLines], "124 lines") {
		t.Fatalf("kept %q … %q … %q: want the first and the newest lines and what was dropped", out[0], out[headLines], out[len(out)-1])
	}
	// Snapshot is a copy: changing it does not change the runner.
	out[0] = "changed"
	if r.Snapshot().States[0].Output[0] == "changed" {
		t.Fatal("Snapshot shares its Output with the runner")
	}
}

func TestRunnerRefusesCommandsWhileBusy(t *testing.T) {
	slow := newFakeStep(false)
	b := &instant{}
	r := NewRunner(mkSteps(slow.run, b.run))
	h := startRunner(t, r)

	r.Next()
	h.started(0)
	slow.waitStarted(t)
	for _, c := range []struct {
		send func()
		want string
	}{
		{r.Next, "a step is running"},
		{func() { r.Retry(1) }, "retry when it ends"},
		{func() { r.Jump(1) }, "jump when it ends"},
		{func() { r.Skip(0) }, "cannot skip the running step"},
	} {
		c.send()
		h.notice(c.want)
	}
	slow.finish(t, nil)
	h.finished(0, Done)
	// None of the refused commands took effect: no second run, no jump.
	h.idle(ReasonStep, 1)
	if slow.Runs() != 1 || b.Runs() != 0 {
		t.Fatalf("runs %d %d, want 1 0", slow.Runs(), b.Runs())
	}
	h.wantStatuses(Done, Pending)
}

func TestRunnerDurations(t *testing.T) {
	slow := newFakeStep(false)
	r := NewRunner(mkSteps(slow.run))
	h := startRunner(t, r)
	r.Next()
	slow.waitStarted(t)
	slow.finish(t, nil)
	e := h.finished(0, Done)
	if e.Duration <= 0 || r.Snapshot().States[0].Duration != e.Duration {
		t.Fatalf("duration %v, snapshot %v", e.Duration, r.Snapshot().States[0].Duration)
	}
}

func TestStatusText(t *testing.T) {
	for st, want := range map[Status]string{Pending: "pending", Running: "running", Done: "done", Failed: "failed", Skipped: "skipped", Cancelled: "cancelled"} {
		b, _ := st.MarshalText()
		if st.String() != want || string(b) != want {
			t.Fatalf("%d: %q %q, want %q", st, st.String(), b, want)
		}
	}
}
