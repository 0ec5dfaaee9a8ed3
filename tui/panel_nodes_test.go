package tui

import (
	"strings"
	"testing"

	"github.com/charmbracelet/lipgloss"

	"walstep/cluster"
	"walstep/pg"
	"walstep/present"
)

// o selects the next server round the lab, on the main screen and in the
// views of one server, as tab does there.
func TestServerKeySelectsTheNextServer(t *testing.T) {
	m, _ := testModel(freshSnap())
	m = polled(m, freshSnap())
	if m.current() != cluster.Primary {
		t.Fatalf("selected at the start: %s", m.current())
	}
	m, _ = press(m, "o")
	if m.current() != cluster.Replica {
		t.Errorf("after o: %s", m.current())
	}
	if v := m.View(); !strings.Contains(v, glyphSelect+" REPLICA") {
		t.Errorf("the panel does not mark the replica:\n%s", v)
	}
	m, _ = press(m, "o")
	if m.current() != cluster.Primary {
		t.Errorf("after o o: %s", m.current())
	}
	m, _ = press(m, "l", "o")
	if m.logView.node != cluster.Replica || m.current() != cluster.Replica {
		t.Errorf("o in the log view: log of %s, selected %s", m.logView.node, m.current())
	}
	m, _ = press(m, "esc", "i", "o")
	if m.inspectView.node != cluster.Primary {
		t.Errorf("o in the inspect view: %s", m.inspectView.node)
	}
}

// A selection naming no server of the lab (the seed's primary, before a
// reading of a lab whose servers have other names) acts on the first.
func TestSelectionFallsBackToTheFirstServer(t *testing.T) {
	m, _ := testModel(freshSnap())
	m.server = "nosuch"
	if m.current() != cluster.Primary || m.serverAfter("nosuch", false) != cluster.Replica {
		t.Errorf("current %s, after %s", m.current(), m.serverAfter("nosuch", false))
	}
}

// threeNodes are the failover's servers at its end: B promoted, A
// stopped, C on B's old timeline past the fork.
func threeNodes() []present.NodeReading {
	return []present.NodeReading{
		{Reading: pg.Reading{Node: "a", At: clock, Process: pg.ProcStopped, Role: pg.RoleShutDown,
			Control: &pg.ControlData{CheckpointLSN: mustLSN("0/4000180"), CheckpointTLI: 1}}},
		{Reading: pg.Reading{Node: "b", At: clock, LastGood: clock, Up: true, Process: pg.ProcUp, Role: pg.RolePrimary,
			FlushLSN: mustLSN("0/4000230"), Timeline: 2, TLISource: pg.SrcCurrentWAL}, Upstream: "a"},
		{Reading: pg.Reading{Node: "c", At: clock, LastGood: clock, Up: true, Process: pg.ProcUp, InRecovery: true, Role: pg.RoleArchiveRecovery,
			ReplayLSN: mustLSN("0/5000000"), Timeline: 1, TLISource: pg.SrcRestored,
			LogTail: []string{"2026-12-01 00:10:00.000 UTC [4349] FATAL:  could not start WAL streaming: ERROR:  requested starting point 0/5000000 is ahead of the WAL flush position of this server 0/4000180"}},
			Upstream: "b"},
	}
}

func TestNodeRowsPanel(t *testing.T) {
	m, _ := testModel(freshSnap())
	m = polled(m, freshSnap())
	m.server = "c"
	got := m.nodeRowsPanel(threeNodes(), 44, 20)
	want := []string{
		"  A TL1  0/4000180  stopped · shut down",
		"  B TL2  0/4000230  up · primary",
		glyphSelect + " C TL1  0/5000000  up · archive recovery",
		"─ C 127.0.0.1:54322 · o: next",
		"  up · archive recovery",
		"  timeline 1 (pg_wal)",
		"  replay   0/5000000  recv -",
		"  receiver none",
		"  │ FATAL: could not start WAL streaming:",
	}
	for i, w := range want {
		if i >= len(got) || !strings.HasPrefix(got[i], w) {
			t.Fatalf("line %d: want %q, got:\n%s", i, w, strings.Join(got, "\n"))
		}
	}
	for i, l := range got {
		if lipgloss.Width(l) > 44 {
			t.Errorf("line %d is %d cells: %q", i, lipgloss.Width(l), l)
		}
	}
}
