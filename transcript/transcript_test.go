package transcript

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"walstep/pg"
	"walstep/steps"
)

// A transcript recorded from a Runner's events: each step's readings are
// the ones taken when it ended, before the next step started (the reader
// names the last step that ran, and a step's run notes when it began), and
// a cancel, a skip, a jump back and the new pass it starts are marked. No
// debugger key hint reaches the file.
func TestTranscriptRecordsReadingsAndMarks(t *testing.T) {
	var mu sync.Mutex
	last := "none"   // the last step whose action returned
	running := false // a step's action is between its start and its end
	var overlap []string
	mk := func(id string, block bool) func(context.Context, io.Writer) error {
		return func(ctx context.Context, out io.Writer) error {
			mu.Lock()
			running = true
			mu.Unlock()
			fmt.Fprintf(out, "ran %s\n", id)
			if block {
				<-ctx.Done()
			}
			mu.Lock()
			running, last = false, id
			mu.Unlock()
			return nil
		}
	}
	st := []steps.Step{
		{ID: "0", Title: "Prepare", Resets: true, Run: mk("0", false)},
		{ID: "1", Title: "Slow", Watch: "it blocks", Hint: "press i to inspect", Run: mk("1", true)},
		{ID: "2", Title: "Quick", Command: "echo quick", Run: mk("2", false)},
	}
	r := steps.NewRunner(st)
	r.SetReadings(func(context.Context) pg.Snapshot {
		mu.Lock()
		defer mu.Unlock()
		if running {
			overlap = append(overlap, last)
		}
		return pg.Snapshot{Nodes: pg.SeedNodes(pg.Reading{Process: pg.Process("read after " + last)}, pg.Reading{Process: "replica"})}
	})
	path := filepath.Join(t.TempDir(), "t.md")
	tr, err := Create(path, Header{Lab: "/lab", Backend: "fake", Archiver: "cp", Started: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	h := startRunner(t, r)
	record := func(evs []steps.Event) {
		for _, e := range evs {
			if e.Index >= 0 {
				if err := tr.Record(st, e, r.Snapshot().States[e.Index]); err != nil {
					t.Fatal(err)
				}
			}
		}
	}

	r.Next() // 0
	_, evs := h.idle(steps.ReasonStep, 1)
	record(evs)
	r.Next() // 1 blocks until cancelled
	h.started(1)
	r.Cancel()
	_, evs = h.idle(steps.ReasonCancelled, 1)
	record(evs)
	r.Skip(1)
	_, evs = h.idle(steps.ReasonSkip, 2)
	record(evs)
	r.Next() // 2
	_, evs = h.idle(steps.ReasonEnd, 3)
	record(evs)
	r.Jump(0)
	_, evs = h.idle(steps.ReasonJump, 0)
	record(evs)
	r.Next() // 0 again: a new pass
	_, evs = h.idle(steps.ReasonStep, 1)
	record(evs)
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	md := string(b)
	mu.Lock()
	if len(overlap) > 0 {
		t.Errorf("readings taken while a step ran (after %v)", overlap)
	}
	mu.Unlock()
	// Each finished step's section carries the reading taken right after it.
	for _, sec := range strings.Split(md, "\n## ")[1:] {
		id, _, _ := strings.Cut(sec, ".")
		if strings.Contains(sec, "**skipped**") || strings.HasPrefix(sec, "Pass") {
			if strings.Contains(sec, "Readings") || strings.Contains(sec, "ran 1") {
				t.Errorf("a skip or pass mark carries readings or an earlier run's output:\n%s", sec)
			}
			continue
		}
		if want := "- primary: read after " + id; !strings.Contains(sec, want) {
			t.Errorf("section %s lacks %q:\n%s", id, want, sec)
		}
	}
	for _, want := range []string{
		"## 1. Slow\n\n**cancelled** after ",
		"stopped by the user before it ended",
		"## 1. Slow\n\n**skipped**: not run in this pass",
		"> Jump back: step 0 is next (it was the end).",
		"## Pass 2\n\n> Pass 2: step 0 resets the lab; 2 later steps are pending again.",
		"Readings when this step ended, before the next one started:",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("transcript lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(md, "press i") {
		t.Errorf("a debugger key hint is in the transcript:\n%s", md)
	}
	if strings.Count(md, "## 0. Prepare") != 2 {
		t.Errorf("step 0 should have a section in each pass:\n%s", md)
	}
}

// A section is a titled, fenced block before the outcome; a block holding
// a fence of its own gets a longer one.
func TestTranscriptSection(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.md")
	tr, err := Create(path, Header{Lab: "/lab", Backend: "fake", Archiver: "cp", Started: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.Section("WAL at the fork (pg_waldump)", "  0/2000100  XLOG  SWITCH\n```\n"); err != nil {
		t.Fatal(err)
	}
	if err := tr.Finish(pg.Snapshot{}, pg.Diagnosis{Verdict: pg.VerdictDiverged, Explanation: "why"}, ""); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	i, j := strings.Index(s, "## WAL at the fork (pg_waldump)\n\n````\n  0/2000100  XLOG  SWITCH\n```\n````\n"), strings.Index(s, "## Outcome")
	if i < 0 || j < i {
		t.Errorf("section missing or after the outcome:\n%s", s)
	}
}

// A hook's section quotes the file as read when that run started, not as
// it was when walstep started.
func TestTranscriptQuotesTheCommandAsRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.md")
	tr, err := Create(path, Header{Lab: "/lab", Backend: "local", Archiver: "cp", Started: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	s := steps.Step{ID: "0+1", Title: "Hook after-0.primary.sh on the primary", Command: "sh hooks/after-0.primary.sh\nsleep 30"}
	if err := tr.Step(s, steps.StepState{Status: steps.Done, Command: "sh hooks/after-0.primary.sh\necho \"hook: quick now\""}, nil); err != nil {
		t.Fatal(err)
	}
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	md := string(b)
	if !strings.Contains(md, "Command (as read when the step started):") || !strings.Contains(md, `echo "hook: quick now"`) || strings.Contains(md, "sleep 30") {
		t.Fatalf("transcript:\n%s", md)
	}
}

// eventDeadline bounds each wait for a Runner event.
const eventDeadline = 30 * time.Second

// harness runs a Runner until the test ends and reads its events.
type harness struct {
	t *testing.T
	r *steps.Runner
}

// startRunner starts r.Run; at cleanup it cancels it and waits for Events
// to close.
func startRunner(t *testing.T, r *steps.Runner) *harness {
	ctx, cancel := context.WithCancel(context.Background())
	go func() { _ = r.Run(ctx) }() // joined in cleanup: Events closes when Run returns
	t.Cleanup(func() {
		cancel()
		deadline := time.After(eventDeadline)
		for {
			select {
			case _, ok := <-r.Events():
				if !ok {
					return
				}
			case <-deadline:
				t.Errorf("Events was not closed within %s of Run being cancelled", eventDeadline)
				return
			}
		}
	})
	return &harness{t: t, r: r}
}

// until reads events until one matches, and returns it with the events
// read before it.
func (h *harness) until(what string, match func(steps.Event) bool) (steps.Event, []steps.Event) {
	h.t.Helper()
	var before []steps.Event
	deadline := time.After(eventDeadline)
	for {
		select {
		case e, ok := <-h.r.Events():
			if !ok {
				h.t.Fatalf("Events closed while waiting for %s", what)
			}
			if match(e) {
				return e, before
			}
			before = append(before, e)
		case <-deadline:
			h.t.Fatalf("no %s within %s", what, eventDeadline)
		}
	}
}

// idle waits for the next Idle event and checks its reason and cursor.
func (h *harness) idle(reason string, cursor int) (steps.Event, []steps.Event) {
	h.t.Helper()
	e, before := h.until("Idle("+reason+")", func(e steps.Event) bool { return e.Kind == steps.Idle })
	if e.Reason != reason || e.Cursor != cursor {
		h.t.Fatalf("Idle: reason %q cursor %d, want %q cursor %d", e.Reason, e.Cursor, reason, cursor)
	}
	return e, before
}

// started waits for step i to start.
func (h *harness) started(i int) {
	h.t.Helper()
	if e, _ := h.until(fmt.Sprintf("StepStarted(%d)", i), func(e steps.Event) bool { return e.Kind == steps.StepStarted }); e.Index != i {
		h.t.Fatalf("StepStarted(%d), want %d", e.Index, i)
	}
}
