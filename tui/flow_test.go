package tui

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/teatest"

	"walstep/pg"
	"walstep/steps"
)

// fakeLab stands for the servers while fake steps run: the steps move it
// the way the real playbook moves PostgreSQL, and the poll reads it.
type fakeLab struct {
	mu        sync.Mutex
	snap      pg.Snapshot
	slotTries int
}

func (f *fakeLab) poll(context.Context) pg.Snapshot {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.snap.Seq++
	s := f.snap
	s.At = time.Now()
	s.Nodes = slices.Clone(s.Nodes) // set changes f.snap's in place
	return s
}

func (f *fakeLab) set(fn func(s *pg.Snapshot)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(&f.snap)
}

// fakePlaybook is the real playbook's text with fake actions: each prints
// a line; step 12 forks the primary onto timeline 2, step 13 fails once,
// F6 shows the divergence.
func fakePlaybook(lab *fakeLab) []steps.Step {
	pb := playbook()
	for i := range pb {
		id := pb[i].ID
		pb[i].Run = func(ctx context.Context, out io.Writer) error {
			fmt.Fprintf(out, "fake step %s ran\n", id)
			switch id {
			case "12":
				lab.set(func(s *pg.Snapshot) {
					f := forkedSnap(time.Now())
					s.Nodes[0], s.Nodes[1], s.Histories = f.Nodes[0], f.Nodes[1], f.Histories
				})
			case "13":
				lab.mu.Lock()
				lab.slotTries++
				first := lab.slotTries == 1
				lab.mu.Unlock()
				if first {
					fmt.Fprintln(out, `ERROR:  could not connect: the database system is starting up`)
					return errors.New("psql: exit status 2")
				}
			case "F6":
				lab.set(func(s *pg.Snapshot) {
					d := divergedSnap(time.Now())
					s.Nodes[0], s.Nodes[1] = d.Nodes[0], d.Nodes[1]
				})
			}
			return nil
		}
	}
	return pb
}

// drawn keeps everything the program drew: the renderer redraws only the
// lines that change, so a line drawn while waiting for something else is
// not drawn again. The flow's states only move forward, so looking for a
// string anywhere in what was drawn is sound.
type drawn struct {
	tm   *teatest.TestModel
	seen []byte
}

// wait waits, with a deadline, until every want string has been drawn.
func (s *drawn) wait(t *testing.T, want ...string) {
	t.Helper()
	teatest.WaitFor(t, s.tm.Output(), func(b []byte) bool {
		all := append(s.seen[:len(s.seen):len(s.seen)], b...)
		for _, w := range want {
			if !bytes.Contains(all, []byte(w)) {
				return false
			}
		}
		s.seen = all
		return true
	}, teatest.WithDuration(10*time.Second), teatest.WithCheckInterval(10*time.Millisecond))
}

// TestFlowThroughThePlaybook drives the real Runner over fake steps with
// keys, as a user would: one step, continue to a failure, retry, continue
// to a breakpoint, continue to the end, look at the panel, quit.
func TestFlowThroughThePlaybook(t *testing.T) {
	lab := &fakeLab{snap: freshSnap()}
	pb := fakePlaybook(lab)
	r := steps.NewRunner(pb)
	f3 := -1
	for i, s := range pb {
		if s.ID == "F3" {
			f3 = i
		}
	}
	r.SetBreakpoint(f3)

	ctx, cancel := context.WithCancel(context.Background())
	runnerDone := make(chan error, 1)
	go func() { runnerDone <- r.Run(ctx) }()
	defer func() {
		cancel()
		<-runnerDone
	}()

	m := New(Config{Steps: pb, Runner: r, Servers: &fakeServers{}, Poll: lab.poll, PollEvery: 20 * time.Millisecond, Header: "fake", Ctx: ctx})
	tm := teatest.NewTestModel(t, m, teatest.WithInitialTermSize(80, 24))
	scr := &drawn{tm: tm}

	n := len(pb)
	scr.wait(t, fmt.Sprintf("next 0 · 0/%d", n), "not created")
	tm.Type("n")
	scr.wait(t, fmt.Sprintf("next 1 · 1/%d", n), "fake step 0 ran")

	tm.Type("c")
	scr.wait(t, "step 13 failed: r retries it", "could not connect")

	tm.Type("r")
	scr.wait(t, "next F1 ·")

	tm.Type("c")
	scr.wait(t, "stopped at the breakpoint before F3")

	tm.Type("c")
	scr.wait(t, fmt.Sprintf("finished · %d/%d", n, n), "end of the playbook")
	scr.wait(t, "timeline 2 (current WAL)", "standby (not streaming)", "0/3000000", "verdict: DIVERGED")

	tm.Type("q")
	scr.wait(t, "Stop the servers before quitting?")
	tm.Type("y")
	fm := tm.FinalModel(t, teatest.WithFinalTimeout(10*time.Second)).(Model)
	if res := fm.Result(); !res.StopServers || res.Interrupted {
		t.Errorf("result = %+v", res)
	}
	snap := r.Snapshot()
	for i, st := range snap.States {
		if st.Status != steps.Done {
			t.Errorf("step %s ended %s", pb[i].ID, st.Status)
		}
	}
	if snap.States[idx(t, fm, "13")].Runs != 2 {
		t.Errorf("step 13 ran %d times, want 2 (failed, retried)", snap.States[idx(t, fm, "13")].Runs)
	}
	if !strings.Contains(strings.Join(fm.views[idx(t, fm, "13")].output, "\n"), "fake step 13 ran") {
		t.Error("the retried step's output is missing")
	}
}
