package tui

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"walstep/pg"
)

// walFixture is a WAL view read by pg.ReadWALAtFork on a real local run
// (default.json: the default lab; data.json: a hook inserting three rows
// into test after the backup).
func walFixture(t *testing.T, name string) *pg.WALAtFork {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "wal", name))
	if err != nil {
		t.Fatal(err)
	}
	var w pg.WALAtFork
	if err := json.Unmarshal(b, &w); err != nil {
		t.Fatal(err)
	}
	return &w
}

// walModel is the debugger after the divergence, with the WAL view open
// and its read (from a fixture) arrived.
func walModel(t *testing.T, w, h int, data *pg.WALAtFork) Model {
	t.Helper()
	reads := 0
	pb := playbook()
	c := &fakeClock{t: clock}
	m := New(Config{
		Steps: pb, Runner: newFakeRunner(len(pb)), Servers: &fakeServers{},
		Poll:   func(context.Context) pg.Snapshot { return divergedSnap(c.Now()) },
		Header: "local · cp · /tmp/lab", Now: c.Now,
		ReadWAL: func(context.Context, pg.Snapshot, pg.Diagnosis) *pg.WALAtFork {
			reads++
			return data
		},
	})
	m = send(m, tea.WindowSizeMsg{Width: w, Height: h})
	m = runThrough(m, c, len(m.steps))
	m = polled(m, divergedSnap(c.Now()))
	m, cmd := press(m, "w")
	if m.screen != screenWAL || cmd == nil {
		t.Fatalf("w did not open the WAL view with a read (screen %d)", m.screen)
	}
	if v := m.View(); !strings.Contains(v, "reading…") {
		t.Errorf("while reading, the title says so:\n%s", v)
	}
	msg, ok := cmd().(walMsg)
	if !ok || reads != 1 {
		t.Fatalf("the command did not read once (%d reads)", reads)
	}
	msg.at, msg.took = clock, 42*time.Millisecond
	return send(m, msg)
}

func TestGoldenWALView(t *testing.T) {
	for _, size := range []struct {
		name string
		w, h int
	}{{"wal_view", 80, 24}, {"wal_view_120x40", 120, 40}} {
		t.Run(size.name, func(t *testing.T) {
			m := walModel(t, size.w, size.h, walFixture(t, "default.json"))
			v := m.View()
			checkSize(t, v, size.w, size.h)
			for _, want := range []string{"0/2000100  XLOG", "SWITCH", "the end-of-backup", "0/3000000", "CHECKPOINT_SHUTDOWN", "esc/w back"} {
				if !strings.Contains(v, want) {
					t.Errorf("WAL view lacks %q:\n%s", want, v)
				}
			}
			golden(t, size.name, v)
		})
	}
}

// The data variant names the table and counts the transactions.
func TestGoldenWALViewData(t *testing.T) {
	m := walModel(t, 120, 40, walFixture(t, "data.json"))
	v := m.View()
	checkSize(t, v, 120, 40)
	for _, want := range []string{"3 transactions (3 committed) writing to test, test_pkey (index)", "INSERT", "test_pkey (index)"} {
		if !strings.Contains(v, want) {
			t.Errorf("WAL view lacks %q:\n%s", want, v)
		}
	}
	golden(t, "wal_view_data_120x40", v)
}

func TestWALViewKeys(t *testing.T) {
	m := walModel(t, 80, 24, walFixture(t, "data.json"))
	top := m.View()
	m, _ = press(m, "pgdown")
	if m.View() == top {
		t.Error("pgdown did not scroll a view longer than the screen")
	}
	// r reads again; a stale read is dropped.
	m, cmd := press(m, "r")
	if cmd == nil || !m.wal.busy {
		t.Fatal("r did not start a read")
	}
	m = send(m, walMsg{gen: m.wal.gen - 1, data: &pg.WALAtFork{Note: "stale"}})
	if strings.Contains(m.View(), "Stale") {
		t.Error("a read the view no longer waits for was shown")
	}
	m, _ = press(m, "esc")
	if m.screen != screenMain {
		t.Fatal("esc did not leave the WAL view")
	}
	m, _ = press(m, "w")
	m, _ = press(m, "w")
	if m.screen != screenMain {
		t.Error("w did not toggle the WAL view")
	}
	m, cmd = press(m, "w")
	m, _ = press(m, "q")
	if m.ask != askStopServers {
		t.Error("q in the WAL view did not ask to quit")
	}
	_ = cmd
}

// Without a reading, or without a reader, the view says so in one line and
// reads nothing; a reader that panics does not crash the debugger.
func TestWALViewBadInput(t *testing.T) {
	m, _ := testModel(freshSnap())
	m, cmd := press(m, "w")
	if cmd != nil || !strings.Contains(m.View(), "This session cannot read WAL") {
		t.Errorf("no reader: cmd %v\n%s", cmd != nil, m.View())
	}
	pb := playbook()
	m = New(Config{Steps: pb, Runner: newFakeRunner(len(pb)), Servers: &fakeServers{},
		ReadWAL: func(context.Context, pg.Snapshot, pg.Diagnosis) *pg.WALAtFork { panic("boom") }})
	m, cmd = press(m, "w")
	if cmd != nil || !strings.Contains(m.View(), "No reading of the servers yet") {
		t.Errorf("no reading: cmd %v\n%s", cmd != nil, m.View())
	}
	m, _ = press(m, "esc")
	m = polled(m, divergedSnap(clock))
	m, cmd = press(m, "w")
	m = send(m, cmd())
	if !strings.Contains(m.View(), "Reading the WAL failed: boom") {
		t.Errorf("panic not shown:\n%s", m.View())
	}
}

// A divergence makes the debugger read the WAL once, in a command, and the
// diagnosis then carries the sentence; the same divergence is not read
// again on the next poll.
func TestWALFollowsTheDivergence(t *testing.T) {
	reads := 0
	data := walFixture(t, "default.json")
	pb := playbook()
	m := New(Config{Steps: pb, Runner: newFakeRunner(len(pb)), Servers: &fakeServers{},
		ReadWAL: func(context.Context, pg.Snapshot, pg.Diagnosis) *pg.WALAtFork { reads++; return data }})
	m = send(m, tea.WindowSizeMsg{Width: 120, Height: 40})
	tm, cmd := m.Update(pollMsg{gen: m.pollGen, snap: divergedSnap(clock)})
	m = tm.(Model)
	var got *walMsg
	for _, msg := range drain(cmd) {
		if w, ok := msg.(walMsg); ok {
			got = &w
		}
	}
	if got == nil || reads != 1 {
		t.Fatalf("a divergence did not start one read (%d reads)", reads)
	}
	m = send(m, *got)
	m, _ = press(m, "d")
	if v := m.View(); !strings.Contains(v, "WAL past the fork (w shows it): The only record past the fork is XLOG SWITCH at 0/2000100") {
		t.Errorf("the diagnosis lacks the sentence:\n%s", v)
	}
	m, _ = press(m, "esc")
	tm, cmd = m.Update(pollMsg{gen: m.pollGen, snap: divergedSnap(clock)})
	for _, msg := range drain(cmd) {
		if _, ok := msg.(walMsg); ok {
			t.Error("the same divergence was read again")
		}
	}
	_ = tm
}

// drain runs cmd and the batches it holds, without waiting on ticks.
func drain(cmd tea.Cmd) []tea.Msg {
	if cmd == nil {
		return nil
	}
	done := make(chan tea.Msg, 1)
	go func() { done <- cmd() }()
	var msg tea.Msg
	select {
	case msg = <-done:
	case <-time.After(200 * time.Millisecond):
		return nil // a tick or a wait: not a read
	}
	if b, ok := msg.(tea.BatchMsg); ok {
		var out []tea.Msg
		for _, c := range b {
			out = append(out, drain(c)...)
		}
		return out
	}
	return []tea.Msg{msg}
}
