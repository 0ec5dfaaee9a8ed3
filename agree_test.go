package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"walstep/cluster"
	"walstep/headless"
	"walstep/pg"
	"walstep/steps"
	"walstep/tui"
)

// These tests feed one sequence of polls to `walstep run` (headless.RunPlaybook, which
// polls at each step's end, then headless.BuildReport) and to the debugger (tui.Run,
// which polls on its timer), and want the same verdict and cause from both.

func loadSnaps(t *testing.T, name string) []pg.Snapshot {
	t.Helper()
	f, err := os.Open(filepath.Join("pg", "testdata", "snapshots", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []pg.Snapshot
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var s pg.Snapshot
		if err := json.Unmarshal(sc.Bytes(), &s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		t.Fatalf("%s: no snapshots", name)
	}
	return out
}

// replay returns the polls in order. After the last it calls done (once)
// and blocks until ctx ends: a front end that asks again has folded them
// all.
func replay(seq []pg.Snapshot, done func()) func(context.Context) pg.Snapshot {
	var mu sync.Mutex
	i := 0
	return func(ctx context.Context) pg.Snapshot {
		mu.Lock()
		if i < len(seq) {
			s := seq[i]
			i++
			mu.Unlock()
			return s
		}
		mu.Unlock()
		done()
		<-ctx.Done()
		return seq[len(seq)-1]
	}
}

// namedBackend is the part of a backend the report reads.
type namedBackend struct{ cluster.Backend }

func (namedBackend) Name() string               { return "fake" }
func (namedBackend) Addr(n cluster.Node) string { return "127.0.0.1:0" }

// The report reads the WAL at a fork; here there is none to read.
func (namedBackend) Paths(cluster.Node) cluster.ServerPaths { return cluster.ServerPaths{} }
func (namedBackend) ConnString(cluster.Node) string         { return "host=127.0.0.1 port=1 connect_timeout=1" }
func (namedBackend) Exec(context.Context, cluster.Node, string, []string, io.Writer) error {
	return errors.New("no servers here")
}

func noopSteps(n int) []steps.Step {
	var out []steps.Step
	for i := range n {
		id := string(rune('a' + i%26))
		out = append(out, steps.Step{ID: id + strings.Repeat("'", i/26), Title: "nothing", Run: func(context.Context, io.Writer) error { return nil }})
	}
	return out
}

// headlessDiagnosis runs the headless path over seq: one step per poll but
// the last, which the report takes.
func headlessDiagnosis(t *testing.T, seq []pg.Snapshot, stall time.Duration) pg.Diagnosis {
	t.Helper()
	s := &headless.Session{
		Lab: &cluster.Lab{Dir: t.TempDir()}, Backend: namedBackend{}, Archiver: cluster.CP{},
		Steps: noopSteps(len(seq) - 1), Stall: stall,
		Poll: replay(seq, func() { t.Error("the headless path polled more than once per step and once for the report") }),
	}
	res := headless.RunPlaybook(t.Context(), s, io.Discard, false)
	if res.Failed >= 0 {
		t.Fatalf("step %d failed", res.Failed)
	}
	rep := headless.BuildReport(t.Context(), s, res)
	return *rep.Diagnosis
}

// debuggerDiagnosis runs the debugger over seq until it has diagnosed
// every poll.
func debuggerDiagnosis(t *testing.T, seq []pg.Snapshot, stall time.Duration) pg.Diagnosis {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	pb := noopSteps(1)
	in, keys := io.Pipe()
	defer keys.Close()
	cfg := tui.Config{Steps: pb, Runner: steps.NewRunner(pb), Poll: replay(seq, cancel), PollEvery: time.Millisecond, StallAfter: stall}
	res, err := tui.Run(ctx, cfg, tea.WithInput(in), tea.WithOutput(io.Discard))
	if err != nil {
		t.Fatalf("debugger: %v", err)
	}
	if ctx.Err() != context.Canceled { // cancelled by replay, not timed out
		t.Fatalf("the debugger stopped before it polled the whole sequence: %v", ctx.Err())
	}
	return res.Diagnosis
}

func TestRunAndDebuggerAgreeOnOnePollSequence(t *testing.T) {
	stallSeries := loadSnaps(t, "stall_series.jsonl")
	b, err := os.ReadFile(filepath.Join("pg", "testdata", "snapshots", "default_end.json"))
	if err != nil {
		t.Fatal(err)
	}
	var before pg.Snapshot
	if err := json.Unmarshal(b, &before); err != nil {
		t.Fatal(err)
	}
	now := before
	now.At = before.At.Add(time.Minute)
	now.Archive.WAL = append(append([]pg.ArchiveFile(nil), before.Archive.WAL...),
		pg.ArchiveFile{Name: "000000020000000000000002", TLI: 2, Start: 0x2000000, Size: pg.WALSegSize})
	for _, tc := range []struct {
		name    string
		seq     []pg.Snapshot
		verdict pg.Verdict
		cause   string // a prefix of the cause
	}{
		// Stalled needs the earlier polls: one poll alone is healthy.
		{"stalled", stallSeries, pg.VerdictStalled, ""},
		// The cause lies in what the archive held before timeline 2's
		// segment reached it.
		{"cause from an earlier archive", []pg.Snapshot{before, now}, pg.VerdictDiverged, "At 21:50:29 the archive held"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run := headlessDiagnosis(t, tc.seq, 30*time.Second)
			dbg := debuggerDiagnosis(t, tc.seq, 30*time.Second)
			if run.Verdict != tc.verdict || !strings.HasPrefix(run.Cause, tc.cause) {
				t.Errorf("walstep run: verdict %s, cause %q; want %s, %q…", run.Verdict, run.Cause, tc.verdict, tc.cause)
			}
			// The explanation may add what the WAL at the fork holds, which
			// each front end reads on its own; verdict and cause are the
			// diagnosis.
			if run.Verdict != dbg.Verdict || run.Cause != dbg.Cause || !strings.HasPrefix(run.Explanation, dbg.Explanation) {
				t.Errorf("the front ends disagree:\n run:      %s: %s (cause %q)\n debugger: %s: %s (cause %q)",
					run.Verdict, run.Explanation, run.Cause, dbg.Verdict, dbg.Explanation, dbg.Cause)
			}
			// On its last poll alone the verdict or cause differs: the
			// history is what both front ends must share.
			alone := pg.Diagnose(pg.DiagnoseInput{Snapshot: tc.seq[len(tc.seq)-1]})
			if alone.Verdict == run.Verdict && alone.Cause == run.Cause {
				t.Errorf("the last poll alone gives the same verdict and cause: the sequence proves nothing")
			}
		})
	}
}
