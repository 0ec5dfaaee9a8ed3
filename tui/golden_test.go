package tui

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
	"github.com/muesli/termenv"

	"walstep/pg"
	"walstep/steps"
)

// update is the -update flag: teatest's golden package defines it (and is
// initialised first, as an import); define it only if it is not there.
var update = func() *bool {
	if flag.Lookup("update") != nil {
		return nil
	}
	return flag.Bool("update", false, "rewrite tui/testdata/*.golden from the current View")
}()

// updating reports whether -update was given.
func updating() bool {
	if update != nil {
		return *update
	}
	f := flag.Lookup("update")
	return f != nil && f.Value.String() == "true"
}

func TestMain(m *testing.M) {
	// Goldens are plain text: no colour codes, and no terminal queries for
	// the background colour.
	lipgloss.SetColorProfile(termenv.Ascii)
	lipgloss.SetHasDarkBackground(true)
	os.Exit(m.Run())
}

// golden compares got with testdata/name.golden, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if updating() {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./tui -update to create it)", err)
	}
	if string(want) != got {
		t.Errorf("View differs from %s (if the change is intended, e.g. the playbook's text changed, run go test ./tui -update)\n--- got:\n%s\n--- want:\n%s", path, got, want)
	}
}

// checkSize asserts the view is exactly w x h cells.
func checkSize(t *testing.T, view string, w, h int) {
	t.Helper()
	lines := strings.Split(view, "\n")
	if len(lines) != h {
		t.Errorf("view has %d lines, want %d", len(lines), h)
	}
	for i, l := range lines {
		if lw := lipgloss.Width(l); lw > w {
			t.Errorf("line %d is %d cells wide, want at most %d: %q", i, lw, w, l)
		}
	}
}

// idx is the playbook index of step id.
func idx(t *testing.T, m Model, id string) int {
	t.Helper()
	for i, s := range m.steps {
		if s.ID == id {
			return i
		}
	}
	t.Fatalf("no step %s", id)
	return -1
}

// runThrough marks steps [0, upTo) done through Runner events, each with
// its own duration, and leaves the runner idle before upTo.
func runThrough(m Model, c *fakeClock, upTo int) Model {
	for i := 0; i < upTo; i++ {
		d := time.Duration(100+i*37) * time.Millisecond
		m = send(m,
			eventMsg{ev: ev(steps.StepStarted, i)},
			eventMsg{ev: steps.Event{Kind: steps.StepOutput, Index: i, Line: "ran " + m.steps[i].ID}},
		)
		c.Advance(d)
		m = send(m, eventMsg{ev: steps.Event{Kind: steps.StepFinished, Index: i, Status: steps.Done, Duration: d}})
	}
	return send(m, eventMsg{ev: steps.Event{Kind: steps.Idle, Index: -1, Reason: steps.ReasonStep, Cursor: upTo}})
}

func TestGoldenFreshLab(t *testing.T) {
	m, _ := testModel(freshSnap())
	m = polled(m, freshSnap())
	v := m.View()
	checkSize(t, v, 80, 24)
	golden(t, "fresh_lab", v)
}

func TestGoldenRunningStep(t *testing.T) {
	m, _, c := testModelClock(freshSnap())
	s12 := idx(t, m, "12")
	m = runThrough(m, c, s12)
	m = send(m, eventMsg{ev: ev(steps.StepStarted, s12)})
	for _, l := range []string{"started primary (pid 4242), log logs/primary.log", "started replica (pid 4243), log logs/replica.log", "waiting for primary to accept connections or exit"} {
		m = send(m, eventMsg{ev: steps.Event{Kind: steps.StepOutput, Index: s12, Line: l}})
	}
	c.Advance(3200 * time.Millisecond)
	m = polled(m, startingSnap(c.Now()))
	v := m.View()
	checkSize(t, v, 80, 24)
	if !strings.Contains(v, "running 12") || !strings.Contains(v, "3.2s") {
		t.Errorf("running view lacks the running step and its elapsed time:\n%s", v)
	}
	golden(t, "running_step", v)
}

func TestGoldenFailedStep(t *testing.T) {
	m, _, c := testModelClock(freshSnap())
	s13 := idx(t, m, "13")
	m = runThrough(m, c, s13)
	m = send(m,
		eventMsg{ev: ev(steps.StepStarted, s13)},
		eventMsg{ev: steps.Event{Kind: steps.StepOutput, Index: s13, Line: `ERROR:  replication slot "replica" already exists`}},
		eventMsg{ev: steps.Event{Kind: steps.StepFinished, Index: s13, Status: steps.Failed, Duration: 80 * time.Millisecond,
			Err: errors.New(`psql "select pg_create_physical_replication_slot('replica');": exit status 1`)}},
		eventMsg{ev: steps.Event{Kind: steps.Idle, Index: -1, Reason: steps.ReasonFailed, Cursor: s13}},
	)
	m = polled(m, forkedSnap(c.Now()))
	v := m.View()
	checkSize(t, v, 80, 24)
	for _, want := range []string{glyphFailed + " 13", "r retry", "step 13 failed: r retries it"} {
		if !strings.Contains(v, want) {
			t.Errorf("failed view lacks %q:\n%s", want, v)
		}
	}
	golden(t, "failed_step", v)
}

func TestGoldenDivergence(t *testing.T) {
	for _, size := range []struct {
		name string
		w, h int
	}{{"divergence", 80, 24}, {"divergence_120x40", 120, 40}} {
		t.Run(size.name, func(t *testing.T) {
			m, _, c := testModelClock(freshSnap())
			m = send(m, tea.WindowSizeMsg{Width: size.w, Height: size.h})
			f6 := idx(t, m, "F6")
			m = runThrough(m, c, f6)
			m = send(m,
				eventMsg{ev: ev(steps.StepStarted, f6)},
				eventMsg{ev: steps.Event{Kind: steps.StepOutput, Index: f6, Line: "replica reports: FATAL:  could not start WAL streaming: ERROR:  requested starting point 0/3000000 is ahead of the WAL flush position of this server 0/2000178"}},
				eventMsg{ev: steps.Event{Kind: steps.StepFinished, Index: f6, Status: steps.Done, Duration: 2 * time.Second}},
			)
			m = send(m, proofThenEnd(t, m)...)
			m = polled(m, divergedSnap(c.Now()))
			v := m.View()
			checkSize(t, v, size.w, size.h)
			for _, want := range []string{"timeline 2", "0/3000000", "verdict: DIVERGED", "TL2", "fork 0/2000100"} {
				if !strings.Contains(v, want) {
					t.Errorf("divergence view lacks %q:\n%s", want, v)
				}
			}
			golden(t, size.name, v)
		})
	}
}

func TestGoldenFullHelp(t *testing.T) {
	m, _ := testModel(freshSnap())
	m = polled(m, freshSnap())
	m = send(m, keyMsg("?"))
	v := m.View()
	checkSize(t, v, 80, 24)
	golden(t, "full_help", v)
}

// startingSnap is step 12 in progress: the primary in archive recovery,
// the replica starting.
func startingSnap(at time.Time) pg.Snapshot {
	return pg.Snapshot{Seq: 14, At: at,
		Nodes: pg.SeedNodes(pg.Reading{Node: "primary", At: at, LastGood: at, Process: pg.ProcUp, Up: true, InRecovery: true,
			Role: pg.RoleArchiveRecovery, Timeline: 1, TLISource: pg.SrcRestored, ReplayLSN: mustLSN("0/2000100"),
			LogTail: []string{
				"2025-11-25 12:00:01.100 UTC [4242] LOG:  starting archive recovery",
				"2025-11-25 12:00:01.200 UTC [4242] LOG:  restored log file \"000000010000000000000002\" from archive",
				"2025-11-25 12:00:01.300 UTC [4242] LOG:  consistent recovery state reached at 0/2000100",
			}}, pg.Reading{Node: "replica", At: at, Process: pg.ProcStarting, Role: pg.RoleUnknown, Err: "connect: the database system is starting up",
			LogTail: []string{"2025-11-25 12:00:01.150 UTC [4243] LOG:  entering standby mode"}}),
	}
}

// forkedSnap is after step 12: the primary promoted onto timeline 2, the
// replica shut down at its recovery target.
func forkedSnap(at time.Time) pg.Snapshot {
	s := divergedSnap(at)
	s.Nodes[1] = pg.Reading{Node: "replica", Upstream: "primary", At: at, LastGood: at.Add(-4 * time.Second), Process: pg.ProcStopped, Role: pg.RoleShutInRecovery,
		Timeline: 1, TLISource: pg.SrcControl,
		Control: &pg.ControlData{State: "shut down in recovery", CheckpointTLI: 1, CheckpointLSN: mustLSN("0/2000060"), MinRecoveryPoint: mustLSN("0/2000100"), MinRecoveryTLI: 1},
		LogTail: []string{
			"2025-11-25 12:00:02.000 UTC [4243] LOG:  recovery stopping after reaching consistency",
			"2025-11-25 12:00:02.100 UTC [4243] LOG:  shutdown at recovery target",
			"2025-11-25 12:00:02.200 UTC [4243] LOG:  database system is shut down",
		}}
	s.Nodes[0].Slots = nil
	return s
}

// divergedSnap is the bug: the primary on timeline 2 forked at 0/2000100,
// the replica replayed timeline 1 to 0/3000000 and is refused.
func divergedSnap(at time.Time) pg.Snapshot {
	return pg.Snapshot{Seq: 42, At: at,
		Nodes: pg.SeedNodes(pg.Reading{Node: "primary", At: at, LastGood: at, Process: pg.ProcUp, Up: true, Role: pg.RolePrimary,
			Timeline: 2, TLISource: pg.SrcCurrentWAL, FlushLSN: mustLSN("0/2000178"),
			Slots: []pg.Slot{{Name: "replica"}},
			LogTail: []string{
				"2025-11-25 12:00:09.000 UTC [4301] LOG:  database system is ready to accept connections",
				"2025-11-25 12:00:12.500 UTC [4350] ERROR:  requested starting point 0/3000000 is ahead of the WAL flush position of this server 0/2000178",
			}}, pg.Reading{Node: "replica", At: at, LastGood: at, Process: pg.ProcUp, Up: true, InRecovery: true, Role: pg.RoleStandbyNoStream,
			Timeline: 1, TLISource: pg.SrcRestored, ReplayLSN: mustLSN("0/3000000"), ReceiveLSN: pg.InvalidLSN,
			LogTail: []string{
				"2025-11-25 12:00:12.000 UTC [4344] LOG:  restored log file \"000000010000000000000002\" from archive",
				"2025-11-25 12:00:12.400 UTC [4344] LOG:  consistent recovery state reached at 0/3000000",
				"2025-11-25 12:00:12.500 UTC [4349] FATAL:  could not start WAL streaming: ERROR:  requested starting point 0/3000000 is ahead of the WAL flush position of this server 0/2000178",
			}}),
		Histories: []pg.History{{TLI: 2, File: "00000002.history", Entries: []pg.HistoryEntry{{TLI: 1, Switch: mustLSN("0/2000100"), Reason: "reached consistency"}}}},
	}
}

func mustLSN(s string) pg.LSN {
	l, err := pg.ParseLSN(s)
	if err != nil {
		panic(err)
	}
	return l
}

// TestColourKeepsTheLayout renders the same screens with colour and
// without: once the colour codes are stripped they must be the same text,
// so colour never shifts a column or cuts a title.
func TestColourKeepsTheLayout(t *testing.T) {
	m, _, c := testModelClock(freshSnap())
	m = runThrough(m, c, 5)
	m = polled(m, divergedSnap(c.Now()))
	m, _ = press(m, "down", "b", "tab")
	for _, size := range [][2]int{{80, 24}, {120, 40}} {
		m = send(m, tea.WindowSizeMsg{Width: size[0], Height: size[1]})
		plain := m.View()
		lipgloss.SetColorProfile(termenv.TrueColor)
		coloured := m.View()
		lipgloss.SetColorProfile(termenv.Ascii)
		if coloured == plain {
			t.Fatal("the colour profile made no difference: the test proves nothing")
		}
		if got := ansi.Strip(coloured); got != plain {
			t.Errorf("%dx%d: coloured view differs from the plain one:\n%s\n--- plain:\n%s", size[0], size[1], got, plain)
		}
	}
}

// The full help says what pgup, pgdn, home and end do in the focused pane:
// they move the selection in the steps pane and scroll the output elsewhere.
func TestFullHelpPagingPerPane(t *testing.T) {
	m, _ := testModel(freshSnap())
	m = polled(m, freshSnap())
	v := send(m, keyMsg("?")).View()
	for _, want := range []string{"pgup select a page up", "home select the first step", "end  select the last step"} {
		if !strings.Contains(v, want) {
			t.Errorf("help with the steps pane focused lacks %q:\n%s", want, v)
		}
	}
	m = send(m, keyMsg("tab")) // the servers pane: paging scrolls the output
	v = send(m, keyMsg("?")).View()
	for _, want := range []string{"pgup output page up", "home output top", "end  output end, follow"} {
		if !strings.Contains(v, want) {
			t.Errorf("help with the servers pane focused lacks %q:\n%s", want, v)
		}
	}
}

// proofThenEnd are the events of the seed's last step, P, on a diverged
// lab (the marker written on the primary never reaches the replica),
// then the runner idle at the end.
func proofThenEnd(t *testing.T, m Model) []tea.Msg {
	t.Helper()
	p := idx(t, m, "P")
	return []tea.Msg{
		eventMsg{ev: ev(steps.StepStarted, p)},
		eventMsg{ev: steps.Event{Kind: steps.StepOutput, Index: p, Line: "wrote marker row walstep-20261130T090230.000000000 into walstep_marker on the primary (its WAL up to 0/2000260, flushed there)"}},
		eventMsg{ev: steps.Event{Kind: steps.StepOutput, Index: p, Line: "marker walstep-20261130T090230.000000000 did not reach the replica within 5s"}},
		eventMsg{ev: steps.Event{Kind: steps.StepFinished, Index: p, Status: steps.Done, Duration: 5 * time.Second}},
		eventMsg{ev: steps.Event{Kind: steps.Idle, Index: -1, Reason: steps.ReasonEnd, Cursor: len(m.steps), Finished: true}},
	}
}
