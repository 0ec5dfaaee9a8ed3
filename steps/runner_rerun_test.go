package steps

import "testing"

// TestRunnerJumpBackRerunsInOrder: jumping back to step 0 after a whole
// run and continuing runs every step again, in order (the way a user
// replays the repro from the top in the debugger).
func TestRunnerJumpBackRerunsInOrder(t *testing.T) {
	ss := []*instant{{}, {}, {}}
	r := NewRunner(mkSteps(ss[0].run, ss[1].run, ss[2].run))
	h := startRunner(t, r)
	r.Continue()
	h.idle(ReasonEnd, 3)
	r.Jump(0)
	h.idle(ReasonJump, 0)
	r.Continue()
	_, before := h.idle(ReasonEnd, 3)
	if got := ranInOrder(before); len(got) != 3 || got[0] != 0 || got[1] != 1 || got[2] != 2 {
		t.Fatalf("after jumping back, ran %v, want [0 1 2]", got)
	}
	for i, s := range ss {
		if s.Runs() != 2 {
			t.Errorf("step %d ran %d times, want 2", i, s.Runs())
		}
	}
}

// TestRunnerRetryEarlierStepKeepsPlace: retrying an earlier done step runs
// only that step; the next step to run stays where it was.
func TestRunnerRetryEarlierStepKeepsPlace(t *testing.T) {
	ss := []*instant{{}, {}, {}, {}}
	r := NewRunner(mkSteps(ss[0].run, ss[1].run, ss[2].run, ss[3].run))
	h := startRunner(t, r)
	r.Next()
	h.idle(ReasonStep, 1)
	r.Next()
	h.idle(ReasonStep, 2)
	r.Next()
	h.idle(ReasonStep, 3)
	r.Retry(1)
	h.finished(1, Done)
	h.idle(ReasonStep, 3)
	if ss[1].Runs() != 2 || ss[2].Runs() != 1 {
		t.Fatalf("runs: step 1 %d, step 2 %d; want 2 and 1", ss[1].Runs(), ss[2].Runs())
	}
}
