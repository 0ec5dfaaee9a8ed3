package steps

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestRunnerCancelRunningStep(t *testing.T) {
	slow := newFakeStep(true) // returns ctx.Err() when cancelled
	b := &instant{}
	r := NewRunner(mkSteps(slow.run, b.run))
	h := startRunner(t, r)

	r.Continue()
	h.started(0)
	sctx := slow.waitStarted(t)
	r.Cancel()
	h.notice("cancelling the running step")
	select {
	case <-sctx.Done():
	case <-time.After(eventDeadline):
		t.Fatal("the step's ctx was not cancelled")
	}
	e := h.finished(0, Cancelled)
	if e.Err != nil {
		t.Fatalf("cancelled step carries error %v: a cancel is not a failure", e.Err)
	}
	h.idle(ReasonCancelled, 0) // cancel also stops a continue
	if s := r.Snapshot(); s.Running != -1 || s.States[0].Status != Cancelled || s.States[0].Err != nil {
		t.Fatalf("snapshot after cancel: running %d status %v err %v", s.Running, s.States[0].Status, s.States[0].Err)
	}
	if b.Runs() != 0 {
		t.Fatal("continue went on after a cancel")
	}

	// The runner takes commands again: next reruns the cancelled step.
	r.Next()
	h.started(0)
	ctx2 := slow.waitStarted(t)
	if ctx2.Err() != nil {
		t.Fatal("the rerun got an already-cancelled ctx")
	}
	slow.finish(t, nil)
	h.finished(0, Done)
	h.idle(ReasonStep, 1)

	// Cancel with nothing running does nothing; next still works.
	r.Cancel()
	r.Next()
	h.started(1)
	h.idle(ReasonEnd, 2)
}

// A step that ignores its ctx and returns nil after a cancel is still
// Cancelled: it did not run to completion on purpose.
func TestRunnerCancelStepIgnoringCtx(t *testing.T) {
	deaf := newFakeStep(false)
	r := NewRunner(mkSteps(deaf.run))
	h := startRunner(t, r)

	r.Next()
	sctx := deaf.waitStarted(t)
	r.Cancel()
	h.notice("cancelling")
	select {
	case <-sctx.Done():
	case <-time.After(eventDeadline):
		t.Fatal("the step's ctx was not cancelled")
	}
	deaf.finish(t, nil)
	h.finished(0, Cancelled)
	h.idle(ReasonCancelled, 0)
}

func TestRunnerCancelRunCtxWhileStepRuns(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	slow := newFakeStep(true)
	r := NewRunner(mkSteps(slow.run, (&instant{}).run))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()

	r.Next()
	sctx := slow.waitStarted(t)
	cancel()
	var events []Event
	deadline := time.After(eventDeadline)
	for closed := false; !closed; {
		select {
		case e, ok := <-r.Events():
			if !ok {
				closed = true
				continue
			}
			events = append(events, e)
		case <-deadline:
			t.Fatal("Events did not close after Run's ctx was cancelled")
		}
	}
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Run returned %v, want context.Canceled", err)
		}
	case <-time.After(eventDeadline):
		t.Fatal("Run did not return after its ctx was cancelled")
	}
	if sctx.Err() == nil {
		t.Fatal("the running step's ctx was not cancelled with Run's")
	}
	if slow.Runs() != 1 {
		t.Fatalf("step ran %d times", slow.Runs())
	}
	goleak.VerifyNone(t, ignore)
}

func TestRunnerCancelRunCtxWhileIdle(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	r := NewRunner(mkSteps((&instant{}).run))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Run returned %v", err)
		}
	case <-time.After(eventDeadline):
		t.Fatal("Run did not return")
	}
	if _, ok := <-r.Events(); ok {
		t.Fatal("Events not closed")
	}
	goleak.VerifyNone(t, ignore)
}

func TestRunnerPanickingStep(t *testing.T) {
	b := &instant{}
	r := NewRunner(mkSteps(func(context.Context, io.Writer) error { panic("kaboom") }, b.run))
	h := startRunner(t, r)

	r.Continue()
	e := h.finished(0, Failed)
	if e.Err == nil || !strings.Contains(e.Err.Error(), "panicked") || !strings.Contains(e.Err.Error(), "kaboom") {
		t.Fatalf("panic err %v", e.Err)
	}
	if strings.Contains(e.Err.Error(), "\n") {
		t.Fatalf("panic err is not one line: %q", e.Err)
	}
	h.idle(ReasonFailed, 0)
	out := r.Snapshot().States[0].Output
	if len(out) == 0 || !strings.Contains(out[0], "kaboom") {
		t.Fatalf("panic output %q", out)
	}
	// The runner survives: skip the broken step and go on.
	r.Skip(0)
	h.idle(ReasonSkip, 1)
	r.Next()
	h.finished(1, Done)
	h.idle(ReasonEnd, 2)
}

func TestRunnerNilAction(t *testing.T) {
	r := NewRunner([]Step{{ID: "x"}})
	h := startRunner(t, r)
	r.Next()
	e := h.finished(0, Failed)
	if e.Err == nil || !strings.Contains(e.Err.Error(), "no action") {
		t.Fatalf("err %v", e.Err)
	}
	h.idle(ReasonFailed, 0)
}
