package steps

import (
	"slices"
	"testing"
)

func TestRunnerSkipNextStep(t *testing.T) {
	ss := []*instant{{}, {}, {}}
	r := NewRunner(mkSteps(ss[0].run, ss[1].run, ss[2].run))
	h := startRunner(t, r)

	r.Skip(0)
	e := h.finished(0, Skipped)
	if e.Err != nil {
		t.Fatalf("skip carries err %v", e.Err)
	}
	h.idle(ReasonSkip, 1)
	r.Next()
	h.started(1)
	h.idle(ReasonStep, 2)
	h.wantStatuses(Skipped, Done, Pending)
	if ss[0].Runs() != 0 {
		t.Fatal("a skipped step ran")
	}
}

func TestRunnerSkipLaterStep(t *testing.T) {
	ss := []*instant{{}, {}, {}, {}}
	r := NewRunner(mkSteps(ss[0].run, ss[1].run, ss[2].run, ss[3].run))
	h := startRunner(t, r)

	r.Skip(2)
	h.finished(2, Skipped)
	h.idle(ReasonSkip, 0) // the cursor stays where it was
	h.wantStatuses(Pending, Pending, Skipped, Pending)

	r.Continue()
	_, before := h.idle(ReasonEnd, 4)
	if got := ranInOrder(before); !slices.Equal(got, []int{0, 1, 3}) {
		t.Fatalf("ran %v, want 0 1 3 (2 skipped)", got)
	}
	h.wantStatuses(Done, Done, Skipped, Done)
}

func TestRunnerSkipFailedStep(t *testing.T) {
	a := &instant{err: func(int) error { return errBoom }}
	b := &instant{}
	r := NewRunner(mkSteps(a.run, b.run))
	h := startRunner(t, r)

	r.Next()
	h.idle(ReasonFailed, 0)
	r.Skip(0)
	h.finished(0, Skipped)
	h.idle(ReasonSkip, 1)
	if st := r.Snapshot().States[0]; st.Err != nil {
		t.Fatalf("skipped step keeps its old error %v", st.Err)
	}
	r.Continue()
	h.idle(ReasonEnd, 2)
}

func TestRunnerSkipWhileBusy(t *testing.T) {
	slow := newFakeStep(false)
	b, c := &instant{}, &instant{}
	r := NewRunner(mkSteps(slow.run, b.run, c.run))
	h := startRunner(t, r)

	r.Continue()
	h.started(0)
	slow.waitStarted(t)
	r.Skip(0)
	h.notice("cannot skip the running step")
	r.Skip(1) // a later step may be skipped while another runs, without going idle
	h.finished(1, Skipped)
	slow.finish(t, nil)
	h.finished(0, Done)
	_, before := h.idle(ReasonEnd, 3)
	if got := ranInOrder(before); !slices.Equal(got, []int{2}) {
		t.Fatalf("ran %v after the running step, want 2", got)
	}
	h.wantStatuses(Done, Skipped, Done)
	if b.Runs() != 0 {
		t.Fatal("the skipped step ran")
	}
}

func TestRunnerJump(t *testing.T) {
	ss := []*instant{{}, {}, {}, {}}
	r := NewRunner(mkSteps(ss[0].run, ss[1].run, ss[2].run, ss[3].run))
	h := startRunner(t, r)

	// Forward.
	r.Jump(2)
	h.idle(ReasonJump, 2)
	r.Next()
	h.started(2)
	h.idle(ReasonStep, 3)
	h.wantStatuses(Pending, Pending, Done, Pending)

	// Back.
	r.Jump(0)
	h.idle(ReasonJump, 0)
	r.Next()
	h.started(0)
	h.idle(ReasonStep, 1) // 1 is pending: the cursor goes there, not past it

	// Back onto a done step runs it again.
	r.Jump(2)
	h.idle(ReasonJump, 2)
	r.Next()
	h.started(2)
	h.idle(ReasonStep, 3)
	if ss[2].Runs() != 2 {
		t.Fatalf("jumped-to done step ran %d times, want 2", ss[2].Runs())
	}

	// Out of range: ignored; the cursor stays.
	r.Jump(4)
	r.Jump(-1)
	r.Next()
	h.started(3)
	// The cursor moves forward only: past the last step it is at the end,
	// though the jumped-over step 1 is still pending.
	h.idle(ReasonEnd, 4)
	h.wantStatuses(Done, Pending, Done, Done)
	if ss[1].Runs() != 0 {
		t.Fatal("a jumped-over step ran")
	}
}
