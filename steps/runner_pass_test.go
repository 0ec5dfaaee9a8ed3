package steps

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"

	"walstep/pg"
)

// Running a Resets step (step 0) after a whole run starts a new pass: the
// later steps are pending again, with no duration and no skip mark, so the
// checklist does not show ✓ for steps whose work the reset undid, and a
// skip from the earlier pass does not silently pass over a step.
func TestRunnerResetStepStartsNewPass(t *testing.T) {
	ss := []*instant{{}, {}, {}, {}}
	st := mkSteps(ss[0].run, ss[1].run, ss[2].run, ss[3].run)
	st[0].Resets = true
	r := NewRunner(st)
	h := startRunner(t, r)

	r.Skip(1)
	h.finished(1, Skipped)
	h.idle(ReasonSkip, 0)
	r.Continue()
	h.idle(ReasonEnd, 4)
	h.wantStatuses(Done, Skipped, Done, Done)

	r.Jump(0)
	j, _ := h.until("jumped", func(e Event) bool { return e.Kind == Jumped })
	if j.Index != 0 || j.From != 4 {
		t.Fatalf("jumped event %+v, want index 0 from 4", j)
	}
	h.idle(ReasonJump, 0)
	r.Next()
	p, _ := h.until("pass started", func(e Event) bool { return e.Kind == PassStarted })
	if p.Pass != 2 || !strings.Contains(p.Line, "3 later steps are pending again") {
		t.Fatalf("pass event %+v", p)
	}
	h.started(0)
	h.idle(ReasonStep, 1) // step 1 is pending again: no skip mark survived
	h.wantStatuses(Done, Pending, Pending, Pending)
	// A skip set in this pass, before step 0 runs again, is kept.
	// A skip in the earlier pass after step 0 ran was reset above; one set
	// after going back, before step 0 runs again, is kept.
	r.Jump(0)
	h.idle(ReasonJump, 0)
	r.Skip(2)
	h.idle(ReasonSkip, 0)
	r.Next()
	h.idle(ReasonStep, 1)
	h.wantStatuses(Done, Pending, Skipped, Pending)
	for i, s := range r.Snapshot().States[1:] {
		if s.Duration != 0 || s.Runs != 0 || len(s.Output) != 0 {
			t.Fatalf("step %d keeps its earlier pass: %+v", i+1, s)
		}
	}
	r.Continue()
	_, before := h.idle(ReasonEnd, 4)
	if got := ranInOrder(before); len(got) != 2 || got[0] != 1 || got[1] != 3 {
		t.Fatalf("third pass ran %v, want [1 3]", got)
	}
}

// A retry of a cancelled or failed step first runs its Undo (what the
// earlier run left), then the step; a step that ended well is not undone.
func TestRunnerRetryUndoesUnfinishedRun(t *testing.T) {
	slow := newFakeStep(true)
	var mu sync.Mutex
	undos := 0
	st := mkSteps(slow.run)
	st[0].Undo = func(ctx context.Context, out io.Writer) error {
		mu.Lock()
		undos++
		mu.Unlock()
		fmt.Fprintln(out, "removed what the earlier run left")
		return nil
	}
	r := NewRunner(st)
	h := startRunner(t, r)

	r.Next()
	slow.waitStarted(t)
	r.Cancel()
	h.finished(0, Cancelled)
	h.idle(ReasonCancelled, 0)

	r.Retry(0)
	slow.waitStarted(t)
	slow.finish(t, nil)
	h.finished(0, Done)
	out := strings.Join(r.Snapshot().States[0].Output, "\n")
	if !strings.Contains(out, "removed what the earlier run left") {
		t.Fatalf("retry output lacks the undo:\n%s", out)
	}
	r.Retry(0)
	slow.waitStarted(t)
	slow.finish(t, nil)
	h.finished(0, Done)
	mu.Lock()
	defer mu.Unlock()
	if undos != 1 {
		t.Fatalf("undo ran %d times, want 1 (only after the cancelled run)", undos)
	}
}

// A failing Undo fails the retry without running the step.
func TestRunnerUndoFailureFailsStep(t *testing.T) {
	a := &instant{err: func(n int) error {
		if n == 1 {
			return errors.New("boom")
		}
		return nil
	}}
	st := mkSteps(a.run)
	st[0].Undo = func(context.Context, io.Writer) error { return errors.New("refuse to delete x") }
	r := NewRunner(st)
	h := startRunner(t, r)
	r.Next()
	h.finished(0, Failed)
	r.Retry(0)
	e := h.finished(0, Failed)
	if e.Err == nil || !strings.Contains(e.Err.Error(), "undo the earlier run: refuse to delete x") || a.Runs() != 1 {
		t.Fatalf("err %v, runs %d", e.Err, a.Runs())
	}
}

// With a reader, every step that ran carries readings taken after it
// ended and before the next one started, even under continue.
func TestRunnerReadingsBeforeNextStep(t *testing.T) {
	var mu sync.Mutex
	var log []string
	note := func(s string) {
		mu.Lock()
		log = append(log, s)
		mu.Unlock()
	}
	mk := func(i int) func(context.Context, io.Writer) error {
		return func(context.Context, io.Writer) error { note(fmt.Sprintf("run %d", i)); return nil }
	}
	r := NewRunner(mkSteps(mk(0), mk(1), mk(2)))
	reads := 0
	r.SetReadings(func(context.Context) pg.Snapshot {
		mu.Lock()
		reads++
		n := reads
		mu.Unlock()
		note(fmt.Sprintf("read %d", n))
		return pg.Snapshot{Nodes: pg.SeedNodes(pg.Reading{Node: fmt.Sprintf("read %d", n)}, pg.Reading{})}
	})
	h := startRunner(t, r)
	r.Continue()
	_, evs := h.idle(ReasonEnd, 3)
	mu.Lock()
	got := strings.Join(log, ", ")
	mu.Unlock()
	if want := "run 0, read 1, run 1, read 2, run 2, read 3"; got != want {
		t.Fatalf("order %q, want %q", got, want)
	}
	n := 0
	for _, e := range evs {
		if e.Kind == StepFinished {
			n++
			if e.Readings == nil || e.Readings.Nodes[0].Node != fmt.Sprintf("read %d", n) {
				t.Fatalf("step %d finished with readings %+v", e.Index, e.Readings)
			}
		}
	}
}

// Retrying the Resets step from later in the playbook resets the lab: the
// next step is the one after it, not the one the retry came from.
func TestRunnerRetryOfResetStepDoesNotResume(t *testing.T) {
	ss := []*instant{{}, {}, {}}
	st := mkSteps(ss[0].run, ss[1].run, ss[2].run)
	st[0].Resets = true
	r := NewRunner(st)
	h := startRunner(t, r)
	r.Next()
	h.idle(ReasonStep, 1)
	r.Next()
	h.idle(ReasonStep, 2)
	r.Retry(0)
	h.idle(ReasonStep, 1)
	h.wantStatuses(Done, Pending, Pending)
}
