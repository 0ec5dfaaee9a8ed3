package tui

import (
	"context"
	"io"
	"strings"
	"sync"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"walstep/pg"
	"walstep/steps"
)

// syncBuffer is an output the program writes while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// runProgram runs Run over pb with keys from the returned writer.
func runProgram(t *testing.T, ctx context.Context, r Runner, cfg Config) (io.WriteCloser, <-chan Result, <-chan error) {
	t.Helper()
	in, keys := io.Pipe()
	cfg.Runner = r
	res, errs := make(chan Result, 1), make(chan error, 1)
	go func() {
		out, err := Run(ctx, cfg, tea.WithInput(in), tea.WithOutput(&syncBuffer{}))
		res <- out
		errs <- err
	}()
	t.Cleanup(func() { keys.Close() })
	return keys, res, errs
}

func waitResult(t *testing.T, res <-chan Result, errs <-chan error) (Result, error) {
	t.Helper()
	select {
	case r := <-res:
		return r, <-errs
	case <-time.After(15 * time.Second):
		t.Fatal("Run did not return")
	}
	return Result{}, nil
}

func TestRunQuitsWithTheAnswerAndStopsTheRunner(t *testing.T) {
	lab := &fakeLab{snap: divergedSnap(clock)} // servers run: q asks
	pb := fakePlaybook(lab)
	r := steps.NewRunner(pb)
	r.SetReadings(lab.poll)
	type rec struct {
		id     string
		status steps.Status
		snap   bool
	}
	recs := make(chan rec, 8)
	cfg := Config{Steps: pb, Poll: lab.poll, Record: func(all []steps.Step, ev steps.Event, st steps.StepState) {
		recs <- rec{all[ev.Index].ID, st.Status, ev.Readings != nil}
	}}
	keys, res, errs := runProgram(t, t.Context(), r, cfg)
	if _, err := io.WriteString(keys, "n"); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-recs:
		if got != (rec{"0", steps.Done, true}) {
			t.Errorf("recorded %+v", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("step 0 was not recorded")
	}
	if _, err := io.WriteString(keys, "qn"); err != nil {
		t.Fatal(err)
	}
	out, err := waitResult(t, res, errs)
	if err != nil || out.StopServers || out.Interrupted {
		t.Errorf("Run = %+v, %v; want the answer n", out, err)
	}
	// The runner was stopped: its event channel is closed.
	select {
	case _, ok := <-r.Events():
		for ok {
			_, ok = <-r.Events()
		}
	case <-time.After(5 * time.Second):
		t.Error("the runner still runs after Run returned")
	}
}

func TestRunCancelledContextStopsServers(t *testing.T) {
	pb := fakePlaybook(&fakeLab{snap: freshSnap()})
	ctx, cancel := context.WithCancel(t.Context())
	_, res, errs := runProgram(t, ctx, steps.NewRunner(pb), Config{Steps: pb})
	cancel() // what main's signal context does on SIGTERM
	out, err := waitResult(t, res, errs)
	if err != nil || !out.StopServers || !out.Interrupted {
		t.Errorf("Run = %+v, %v", out, err)
	}
}

// panicRunner panics in Run, as a bug in the runner's loop would.
type panicRunner struct{ *fakeRunner }

func (panicRunner) Run(context.Context) error { panic("runner bug") }

func TestRunRecoversARunnerPanic(t *testing.T) {
	pb := playbook()
	_, res, errs := runProgram(t, t.Context(), panicRunner{newFakeRunner(len(pb))}, Config{Steps: pb})
	out, err := waitResult(t, res, errs)
	if err == nil || !strings.Contains(err.Error(), "runner panicked: runner bug") {
		t.Errorf("err = %v", err)
	}
	if !out.StopServers {
		t.Errorf("a crash must stop the servers: %+v", out)
	}
}

func TestRunRecoversAPollPanic(t *testing.T) {
	pb := playbook()
	cfg := Config{Steps: pb, Poll: func(context.Context) pg.Snapshot { panic("poll bug") }}
	_, res, errs := runProgram(t, t.Context(), newFakeRunner(len(pb)), cfg)
	out, err := waitResult(t, res, errs)
	if err == nil || !out.StopServers {
		t.Errorf("Run = %+v, %v; want an error and stop", out, err)
	}
}
