package tui

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"go.uber.org/goleak"

	"walstep/pg"
	"walstep/steps"
)

// waitUntil waits, up to a deadline, until cond holds; it checks every
// few milliseconds and fails the test with what (and what the optional
// detail says) when the deadline passes.
func waitUntil(t *testing.T, what string, cond func() bool, detail ...func() string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			msg := "timed out waiting until " + what
			for _, d := range detail {
				msg += ":\n" + d()
			}
			t.Fatal(msg)
		}
		<-tick.C
	}
}

var goroutineID = regexp.MustCompile(`^goroutine (\d+) `)

// goroutines is every goroutine's stack, by id.
func goroutines() map[string]string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	all := map[string]string{}
	for _, g := range strings.Split(string(buf), "\n\n") {
		if m := goroutineID.FindStringSubmatch(g); m != nil {
			all[m[1]] = g
		}
	}
	return all
}

// sessionGoroutines are the goroutines not in before that run any of
// funcs (matched against the stack's text).
func sessionGoroutines(before map[string]string, funcs ...string) []string {
	var found []string
	for id, g := range goroutines() {
		if _, ok := before[id]; ok {
			continue
		}
		for _, f := range funcs {
			if strings.Contains(g, f) {
				found = append(found, g)
				break
			}
		}
	}
	return found
}

// countingPoll is the fake lab's poll, counting the polls in flight and
// those started after the session ended.
type countingPoll struct {
	lab      *fakeLab
	ended    atomic.Bool
	calls    atomic.Int64
	inFlight atomic.Int64
	mu       sync.Mutex
	late     []error // ctx.Err() of each poll started after the end
}

func (p *countingPoll) poll(ctx context.Context) pg.Snapshot {
	p.calls.Add(1)
	p.inFlight.Add(1)
	defer p.inFlight.Add(-1)
	if p.ended.Load() {
		p.mu.Lock()
		p.late = append(p.late, ctx.Err())
		p.mu.Unlock()
	}
	return p.lab.poll(ctx)
}

// has reports whether the program has written want, while it writes.
func (s *syncBuffer) has(want string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Contains(s.b.String(), want)
}

// TestNoGoroutineLeftAfterASession runs a whole session through Run, as
// main does: the real Runner over the playbook's fake steps, the poller,
// the after-step hook of a transcript, input from a pipe the way a
// terminal gives it. The user runs a step, continues to the failure,
// retries it, continues to the end and quits. Once Run has returned, no
// goroutine of the session may be left: not the Runner's, not a poll, not
// the wait for the next event or the next poll, not bubbletea's own.
//
// With the default poll interval (500ms) as main runs it, and with an
// hour: a timer that outlived the session would then be left for an hour,
// not a few hundred milliseconds that a deadline could hide.
func TestNoGoroutineLeftAfterASession(t *testing.T) {
	for _, every := range []time.Duration{0, time.Hour} {
		t.Run(fmt.Sprintf("poll every %v", every), func(t *testing.T) { session(t, every) })
	}
}

func session(t *testing.T, every time.Duration) {
	ignore := goleak.IgnoreCurrent()
	before := goroutines()

	lab := &fakeLab{snap: freshSnap()}
	pb := fakePlaybook(lab)
	r := steps.NewRunner(pb)
	cp := &countingPoll{lab: lab}
	var recorded atomic.Int64
	cfg := Config{
		Steps:     pb,
		Runner:    r,
		Servers:   &fakeServers{},
		Poll:      cp.poll,
		PollEvery: every,
		Header:    "fake",
		Record: func([]steps.Step, steps.Event, steps.StepState) {
			recorded.Add(1)
		},
	}

	// An *os.File, as a terminal is, so bubbletea reads it through its
	// cancellable reader; the test keeps the write end open to the end, so
	// the reader can only stop because the program stopped it.
	in, keys, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	defer keys.Close()
	out := &syncBuffer{}
	type ran struct {
		res Result
		err error
	}
	done := make(chan ran, 1)
	go func() {
		res, err := Run(context.Background(), cfg, tea.WithInput(in), tea.WithOutput(out))
		done <- ran{res, err}
	}()
	press := func(k string) {
		t.Helper()
		if _, err := keys.WriteString(k); err != nil {
			t.Fatal(err)
		}
	}
	status := func(id string) steps.Status {
		for i, s := range pb {
			if s.ID == id {
				return r.Snapshot().States[i].Status
			}
		}
		t.Fatalf("no step %s", id)
		return 0
	}
	n := len(pb)

	waitUntil(t, "the first frame is drawn", func() bool { return out.has(fmt.Sprintf("next 0 · 0/%d", n)) })
	press("n")
	waitUntil(t, "step 0 is done", func() bool { return out.has(fmt.Sprintf("next 1 · 1/%d", n)) })
	press("c")
	waitUntil(t, "step 13 fails", func() bool { return out.has("step 13 failed: r retries it") })
	if status("13") != steps.Failed {
		t.Fatalf("step 13 is %s", status("13"))
	}
	press("r")
	waitUntil(t, "step 13 is retried", func() bool { return out.has("next F1 ·") })
	press("c")
	waitUntil(t, "the end of the playbook", func() bool { return out.has(fmt.Sprintf("finished · %d/%d", n, n)) })
	press("q")
	waitUntil(t, "the quit question", func() bool { return out.has("Stop the servers before quitting?") })
	press("y")

	var got ran
	select {
	case got = <-done:
	case <-time.After(15 * time.Second):
		t.Fatal("Run did not return after q y")
	}
	cp.ended.Store(true)
	if got.err != nil || !got.res.StopServers || got.res.Interrupted {
		t.Fatalf("Run = %+v, %v; want StopServers", got.res, got.err)
	}
	for i, st := range r.Snapshot().States {
		if st.Status != steps.Done {
			t.Errorf("step %s ended %s", pb[i].ID, st.Status)
		}
	}
	// Run waits for the hook of every step it handed on.
	if got, want := recorded.Load(), int64(n+1); got != want { // step 13 twice
		t.Errorf("Record ran %d times, want %d", got, want)
	}
	if cp.calls.Load() < 2 {
		t.Errorf("%d polls in the whole session", cp.calls.Load())
	}

	// The Runner goroutine is gone: Run joined it, and it closed its
	// events.
drain:
	for {
		select {
		case _, open := <-r.Events():
			if !open {
				break drain
			}
		default:
			t.Fatal("the runner's events are still open after Run returned")
		}
	}
	if g := sessionGoroutines(before, "walstep/steps.(*Runner)"); len(g) > 0 {
		t.Errorf("the runner is still running after Run returned:\n%s", strings.Join(g, "\n\n"))
	}

	// No poll is running or waiting to run, and any poll that started
	// late saw the session's context cancelled.
	waitUntil(t, "no poll runs", func() bool { return cp.inFlight.Load() == 0 })
	var left []string
	waitUntil(t, "no goroutine of the session is left", func() bool {
		left = sessionGoroutines(before, "walstep/tui.", "walstep/steps.", "bubbletea")
		return len(left) == 0
	}, func() string { return strings.Join(left, "\n\n") })
	cp.mu.Lock()
	for _, err := range cp.late {
		if err == nil {
			t.Error("a poll ran after the session ended with a live context")
		}
	}
	cp.mu.Unlock()

	goleak.VerifyNone(t, ignore)
}

// TestTheLeakCheckSeesAParkedCommand makes sure the checks above can
// fail: a command left waiting for the next event is reported by both.
func TestTheLeakCheckSeesAParkedCommand(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	before := goroutines()
	m, fr := testModel(freshSnap())
	got := make(chan tea.Msg, 1)
	go func() { got <- m.waitEvent()() }() // parked until the runner sends or closes
	waitUntil(t, "the command shows as a session goroutine", func() bool {
		return len(sessionGoroutines(before, "walstep/tui.")) == 1
	})
	if err := goleak.Find(ignore); err == nil || !strings.Contains(err.Error(), "walstep/tui.Model.waitEvent") {
		t.Errorf("goleak.Find = %v, want the parked command", err)
	}
	close(fr.events)
	if msg := <-got; msg != (eventsClosedMsg{}) {
		t.Errorf("waitEvent = %#v", msg)
	}
	waitUntil(t, "the command ends", func() bool { return len(sessionGoroutines(before, "walstep/tui.")) == 0 })
	goleak.VerifyNone(t, ignore)
}

// raceEnabled reports whether the test binary was built with -race.
func raceEnabled() bool {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "-race" {
				return s.Value == "true"
			}
		}
	}
	return false
}
