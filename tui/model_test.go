package tui

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"walstep/pg"
	"walstep/steps"
)

func TestPollTickOnlyAfterResultAndStaleDropped(t *testing.T) {
	var polls int
	m, _ := testModel(freshSnap())
	m.cfg.Poll = func(context.Context) pg.Snapshot { polls++; return freshSnap() }
	gen := m.pollGen
	if !m.polling {
		t.Fatal("the first poll is not in flight at start")
	}
	// A tick while a poll is in flight does not start another.
	if _, cmd := m.Update(pollTickMsg{gen: gen}); cmd != nil {
		t.Error("a tick started a poll while one was in flight")
	}
	// A stale result is dropped.
	old := m.snap
	m = send(m, pollMsg{gen: gen - 1, snap: pg.Snapshot{Seq: 99}})
	if m.snap.Seq != old.Seq || !m.polling {
		t.Error("a stale poll result was taken")
	}
	// The result arms the tick; the tick starts the next poll.
	nm, tick := m.Update(pollMsg{gen: gen, snap: freshSnap()})
	m = nm.(Model)
	if tick == nil || m.polling {
		t.Fatal("no tick armed after the result")
	}
	nm, poll := m.Update(pollTickMsg{gen: gen})
	m = nm.(Model)
	if poll == nil || !m.polling || m.pollGen != gen+1 {
		t.Fatal("the tick did not start a poll")
	}
	poll()
	if polls != 1 {
		t.Errorf("polls = %d", polls)
	}
	// A step that ends while a poll is in flight asks for one more.
	m = send(m, eventMsg{gen: m.eventsGen, ev: steps.Event{Kind: steps.StepFinished, Index: 0, Status: steps.Done}})
	if !m.pollAgain {
		t.Error("a finished step did not ask for a fresh poll")
	}
	nm, again := m.Update(pollMsg{gen: m.pollGen, snap: freshSnap()})
	m = nm.(Model)
	if again == nil || !m.polling {
		t.Error("the asked-for poll did not start at once")
	}
	// An old tick is dropped.
	if _, cmd := m.Update(pollTickMsg{gen: gen}); cmd != nil {
		t.Error("a stale tick started a poll")
	}
}

func TestStaleEventsAreDropped(t *testing.T) {
	m, _ := testModel(freshSnap())
	m = send(m, eventMsg{gen: m.eventsGen + 1, ev: ev(steps.StepStarted, 2)})
	if m.running != -1 {
		t.Error("an event from another stream was applied")
	}
}

func TestEventsClosedStopsTheRunnerState(t *testing.T) {
	m, _ := testModel(freshSnap())
	m = send(m, eventMsg{ev: ev(steps.StepStarted, 2)}, eventsClosedMsg{gen: m.eventsGen})
	if m.running != -1 || !strings.Contains(m.View(), "runner stopped") {
		t.Errorf("closed events not shown:\n%s", m.View())
	}
}

func TestSpinnerRunsOnlyWhileAStepRuns(t *testing.T) {
	m, _ := testModel(freshSnap())
	nm, cmd := m.Update(eventMsg{ev: ev(steps.StepStarted, 0)})
	m = nm.(Model)
	if cmd == nil || !m.spinning {
		t.Fatal("no spinner at step start")
	}
	m = send(m, eventMsg{ev: steps.Event{Kind: steps.StepFinished, Index: 0, Status: steps.Done}})
	nm, cmd = m.Update(m.spinner.Tick())
	m = nm.(Model)
	if cmd != nil || m.spinning {
		t.Error("the spinner kept ticking while idle")
	}
}

func TestNoticesShow(t *testing.T) {
	m, _ := testModel(freshSnap())
	m = send(m, eventMsg{ev: steps.Event{Kind: steps.Notice, Index: -1, Line: "a step is running: wait for it, or pause/cancel"}})
	if !strings.Contains(m.View(), "a step is running") {
		t.Error("notice not shown")
	}
	m = send(m, eventMsg{ev: steps.Event{Kind: steps.Idle, Index: -1, Reason: steps.ReasonBreakpoint, Cursor: 5}})
	if !strings.Contains(m.View(), "breakpoint before 4a") {
		t.Errorf("breakpoint stop not explained:\n%s", m.View())
	}
}

func TestResizeFollows(t *testing.T) {
	m, _ := testModel(divergedSnap(clock))
	m = polled(m, divergedSnap(clock))
	for _, s := range [][2]int{{80, 24}, {100, 30}, {200, 60}, {81, 25}, {60, 20}} {
		m = send(m, tea.WindowSizeMsg{Width: s[0], Height: s[1]})
		checkSize(t, m.View(), s[0], s[1])
		m, _ = press(m, "?")
		checkSize(t, m.View(), s[0], s[1])
		m, _ = press(m, "?")
	}
}

func TestElapsedTimeOfRunningStep(t *testing.T) {
	m, _, c := testModelClock(freshSnap())
	m = send(m, eventMsg{ev: ev(steps.StepStarted, 0)})
	c.Advance(75 * time.Second)
	if !strings.Contains(m.View(), "1m15s") {
		t.Errorf("elapsed time not shown:\n%s", m.View())
	}
}

func TestKeysReadTogetherActOneByOne(t *testing.T) {
	m, fr := testModel(freshSnap())
	nm, _ := m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("jjb")})
	m = nm.(Model)
	wantCalls(t, fr, "break 2")
	nm, cmd := m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("qy")})
	if m = nm.(Model); cmd == nil || !m.Result().StopServers || m.Result().Interrupted {
		t.Errorf("qy typed together: %+v", m.Result())
	}
}

func TestPanelLogSkipsContinuationLines(t *testing.T) {
	m, _ := testModel(freshSnap())
	s := divergedSnap(clock)
	s.Nodes[0].LogTail = append(s.Nodes[0].LogTail, "2025-11-25 12:00:12.500 UTC [4350] STATEMENT:  START_REPLICATION SLOT \"replica\" 0/3000000 TIMELINE 1")
	m = polled(m, s)
	if v := m.View(); strings.Contains(v, "START_REPLICATION") || !strings.Contains(v, "ERROR: requested starting") {
		t.Errorf("panel log:\n%s", v)
	}
}

func TestOutputCacheMatchesAFreshRender(t *testing.T) {
	long := strings.Repeat("wrapped words ", 12)
	lines := make([]string, steps.MaxOutputLines+30)
	for i := range lines {
		lines[i] = fmt.Sprintf("%d %s", i, long[:i%len(long)])
	}
	m, _ := testModel(freshSnap())
	m = send(m, tea.WindowSizeMsg{Width: 100, Height: 30}, eventMsg{ev: ev(steps.StepStarted, 0)})
	// Most lines as if they had arrived, the last ones through Update,
	// across the cap where the oldest lines go.
	pre := steps.MaxOutputLines - 10
	m.views[0].output, m.views[0].total = append([]string(nil), lines[:pre]...), pre
	m.refreshOutput(true)
	for _, l := range lines[pre:] {
		m = send(m, eventMsg{ev: steps.Event{Kind: steps.StepOutput, Index: 0, Line: l}})
	}
	m, _ = press(m, "home", "pgdown")

	fresh, _ := testModel(freshSnap())
	fresh = send(fresh, eventMsg{ev: ev(steps.StepStarted, 0)})
	v := &fresh.views[0]
	v.output = append([]string(nil), lines[len(lines)-steps.MaxOutputLines:]...)
	v.total = len(lines)
	fresh.outCache = &outputCache{step: -1}
	fresh.refreshOutput(true)
	fresh = send(fresh, tea.WindowSizeMsg{Width: 100, Height: 30})
	fresh.refreshOutput(true)
	fresh, _ = press(fresh, "home", "pgdown")
	if got, want := m.View(), fresh.View(); got != want {
		t.Errorf("incremental output differs from a fresh render:\n%s\n--- fresh:\n%s", got, want)
	}
	if len(m.views[0].output) != steps.MaxOutputLines {
		t.Errorf("kept %d lines", len(m.views[0].output))
	}
}

func TestAnySizeDrawsWithinTheScreen(t *testing.T) {
	m, _ := testModel(divergedSnap(clock))
	m = polled(m, divergedSnap(clock))
	for w := 1; w <= 130; w += 7 {
		for h := 1; h <= 45; h += 4 {
			m = send(m, tea.WindowSizeMsg{Width: w, Height: h})
			for _, keys := range [][]string{nil, {"?"}, {"q"}, {"l"}} {
				mm, _ := press(m, keys...)
				checkSize(t, mm.View(), w, max(h, 1))
			}
		}
	}
	m = send(m, tea.WindowSizeMsg{Width: 40, Height: 10})
	if v := m.View(); !strings.Contains(v, "needs a terminal of at least") {
		t.Errorf("a tiny terminal is not told:\n%s", v)
	}
}
