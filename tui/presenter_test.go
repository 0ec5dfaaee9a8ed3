package tui

import (
	"strconv"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"walstep/pg"
	"walstep/steps"
)

// presenting is testModelClock in presenter mode at 100x30.
func presenting(t *testing.T, pause time.Duration) (Model, *fakeRunner, *fakeClock) {
	t.Helper()
	m, fr, c := testModelClock(freshSnap())
	m.cfg.PresentPause = pause
	m.present = newPresenter(m.cfg)
	m, _ = press(m, "P")
	return send(m, tea.WindowSizeMsg{Width: 100, Height: 30}), fr, c
}

func TestPresenterKeySetsTheStops(t *testing.T) {
	m, fr := testModel(freshSnap())
	f2 := idx(t, m, "F2")
	m, _ = press(m, "down", "down", "b") // a breakpoint of the user's on step 2
	m.breakpoints[f2] = true             // and one already on F2
	fr.calls = nil
	m, _ = press(m, "P")
	wantCalls(t, fr, "break "+itoa(idx(t, m, "12")), "break "+itoa(idx(t, m, "F6")))
	if !m.present.on || !strings.Contains(m.View(), "STEP ") {
		t.Fatalf("P did not turn presenter mode on:\n%s", m.View())
	}
	fr.calls = nil
	m, _ = press(m, "P")
	wantCalls(t, fr)
	if m.present.on || strings.Contains(m.View(), "STEP ") {
		t.Errorf("P did not turn presenter mode off")
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

// At 100x30 the banner shows the selected step's note in full and, once
// there is a verdict, the verdict with its mechanism; the screen keeps
// its size and the checklist and panel stay.
func TestPresenterAt100x30(t *testing.T) {
	m, _, c := presenting(t, 0)
	f6 := idx(t, m, "F6")
	m = runThrough(m, c, f6)
	m = send(m,
		eventMsg{ev: ev(steps.StepStarted, f6)},
		eventMsg{ev: steps.Event{Kind: steps.StepFinished, Index: f6, Status: steps.Done, Duration: 2 * time.Second}},
	)
	m = send(m, proofThenEnd(t, m)...)
	before := m.View()
	if !strings.Contains(before, "STEP P · ") || !strings.Contains(before, "the end") {
		t.Errorf("no banner for the last step, P:\n%s", before)
	}
	if strings.Contains(before, "DIVERGED:") {
		t.Errorf("a verdict banner before any verdict:\n%s", before)
	}
	m = polled(m, divergedSnap(c.Now()))
	v := m.View()
	checkSize(t, v, 100, 30)
	flat := strings.Join(strings.Fields(strings.NewReplacer("█", "", "▌", "").Replace(v)), " ")
	note := strings.Join(strings.Fields(m.steps[idx(t, m, "P")].Watch), " ")
	for _, want := range []string{"STEP P", "DIVERGED: the replica replayed timeline 1 to 0/3000000, past the fork at 0/2000100", "▶ steps", "verdict: DIVERGED"} {
		if !strings.Contains(v, want) {
			t.Errorf("presenter screen lacks %q:\n%s", want, v)
		}
	}
	if !strings.Contains(flat, strings.Join(strings.Fields(strings.ReplaceAll(note, "…", "")), " ")[:60]) {
		t.Errorf("the note is not shown whole:\n%s", v)
	}
	if mech := m.mechanism(); mech == "" || !strings.Contains(flat, strings.Join(strings.Fields(mech), " ")[:40]) {
		t.Errorf("the mechanism %q is not in the banner:\n%s", mech, v)
	}
	golden(t, "presenter_100x30", v)

	// Once the WAL at the fork is read, the banner says what the replica
	// replayed past it.
	m.wal.data = &pg.WALAtFork{ForkLSN: m.diag.ForkLSN, WALRange: pg.WALRange{Timeline: m.diag.ForkParent},
		Sentence: "The only record past the fork is XLOG SWITCH at 0/2000100 (the end-of-backup switch); replaying it moved the replica to the end of segment 000000010000000000000002, 0/3000000."}
	v = m.View()
	checkSize(t, v, 100, 30)
	flat = strings.Join(strings.Fields(strings.NewReplacer("█", "", "▌", "").Replace(v)), " ")
	if !strings.Contains(flat, "— The only record past the fork is XLOG SWITCH at 0/2000100 (the end-of-backup switch); replaying it moved the replica to the end of segment 000000010000000000000002, 0/3000000.") {
		t.Errorf("the banner does not give the WAL record past the fork:\n%s", v)
	}
	// A read for another fork is not this verdict's mechanism.
	m.wal.data.ForkLSN = m.diag.ForkLSN + 1
	if strings.Contains(m.View(), "XLOG SWITCH") {
		t.Errorf("the banner quotes the WAL of another fork")
	}
}

func TestPresenterPauseContinuesOnItsOwn(t *testing.T) {
	m, fr, c := presenting(t, 3*time.Second)
	twelve := idx(t, m, "12")
	m = runThrough(m, c, twelve)
	fr.calls = nil
	m = send(m, eventMsg{ev: steps.Event{Kind: steps.Idle, Index: -1, Reason: steps.ReasonBreakpoint, Cursor: twelve}})
	if m.present.until.IsZero() {
		t.Fatal("a stop in presenter mode with a pause starts no countdown")
	}
	if v := m.View(); !strings.Contains(v, "continues in 3s") || !strings.Contains(v, "STEP 12") {
		t.Errorf("the banner does not count down:\n%s", v)
	}
	tick := presentTickMsg{gen: m.present.gen}
	c.Advance(time.Second)
	m = send(m, tick)
	wantCalls(t, fr)
	c.Advance(2 * time.Second)
	m = send(m, tick)
	wantCalls(t, fr, "continue")

	// Any key holds the countdown: no continue after it.
	fr.calls = nil
	m = send(m, eventMsg{ev: steps.Event{Kind: steps.Idle, Index: -1, Reason: steps.ReasonBreakpoint, Cursor: twelve}})
	tick = presentTickMsg{gen: m.present.gen}
	m, _ = press(m, "down")
	c.Advance(5 * time.Second)
	m = send(m, tick)
	wantCalls(t, fr)
	if strings.Contains(m.View(), "continues in") {
		t.Errorf("a held countdown still shows")
	}
}

func TestPresenterWithoutPauseWaitsForC(t *testing.T) {
	m, fr, c := presenting(t, 0)
	twelve := idx(t, m, "12")
	m = runThrough(m, c, twelve)
	fr.calls = nil
	m = send(m, eventMsg{ev: steps.Event{Kind: steps.Idle, Index: -1, Reason: steps.ReasonBreakpoint, Cursor: twelve}})
	if !m.present.until.IsZero() {
		t.Errorf("a countdown without a pause")
	}
	if v := m.View(); !strings.Contains(v, "c runs it") {
		t.Errorf("the banner does not say c runs it:\n%s", v)
	}
	m, _ = press(m, "c")
	wantCalls(t, fr, "continue")
}

// Presenter mode keeps the screen's size down to the smallest terminal.
func TestPresenterFitsSmallScreens(t *testing.T) {
	for _, sz := range [][2]int{{80, 24}, {60, 16}, {200, 60}} {
		m, _, c := presenting(t, 0)
		m = send(m, tea.WindowSizeMsg{Width: sz[0], Height: sz[1]})
		f6 := idx(t, m, "F6")
		m = runThrough(m, c, f6)
		m = polled(m, divergedSnap(c.Now()))
		v := m.View()
		checkSize(t, v, sz[0], sz[1])
		if !strings.Contains(v, "STEP F5") || !strings.Contains(v, "DIVERGED:") {
			t.Errorf("%dx%d: no banners:\n%s", sz[0], sz[1], v)
		}
	}
}
