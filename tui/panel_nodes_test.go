package tui

import (
	"reflect"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

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

// failoverSnap is the failover's three servers at its end: b promoted
// onto timeline 2 at 0/40000A0, a stopped on timeline 1, c repointed to
// b but past the fork on timeline 1, refused.
func failoverSnap(at time.Time) pg.Snapshot {
	return pg.Snapshot{Seq: 31, At: at,
		Nodes: []pg.Reading{
			{Node: "a", At: at, Process: pg.ProcStopped, Role: pg.RoleShutDown,
				Control: &pg.ControlData{State: "shut down", CheckpointLSN: mustLSN("0/4000180"), CheckpointTLI: 1}},
			{Node: "b", Upstream: "a", At: at, LastGood: at, Up: true, Process: pg.ProcUp, Role: pg.RolePrimary,
				FlushLSN: mustLSN("0/4000230"), Timeline: 2, TLISource: pg.SrcCurrentWAL,
				LogTail: []string{"2026-12-01 00:10:00.100 UTC [4350] ERROR:  requested starting point 0/5000000 is ahead of the WAL flush position of this server 0/4000230"}},
			{Node: "c", Upstream: "b", Follows: "b", FollowsFrom: pg.FromConninfo, At: at, LastGood: at, Up: true, Process: pg.ProcUp,
				InRecovery: true, Role: pg.RoleStandbyNoStream, ReplayLSN: mustLSN("0/5000000"), Timeline: 1, TLISource: pg.SrcRestored,
				LogTail: []string{"2026-12-01 00:10:00.000 UTC [4349] FATAL:  could not start WAL streaming: ERROR:  requested starting point 0/5000000 is ahead of the WAL flush position of this server 0/4000230"}},
		},
		Histories: []pg.History{{TLI: 2, File: "00000002.history", Entries: []pg.HistoryEntry{{TLI: 1, Switch: mustLSN("0/40000A0"), Reason: "no recovery target specified"}}}},
	}
}

func TestNodeRowsPanel(t *testing.T) {
	m, _ := testModel(freshSnap())
	m = polled(m, failoverSnap(clock))
	m.server = "c"
	got := m.nodeRowsPanel(present.Nodes(m.snap), 44, 20)
	want := []string{
		"  A   TL1  0/4000180  stopped · shut down",
		"  B   TL2  0/4000230  up · primary",
		glyphSelect + " C " + glyphFailed + " TL1  0/5000000  up · standby",
		"─ C 127.0.0.1:54322 · o: next",
		"  up · standby (not streaming)",
		"  timeline 1 (pg_wal)",
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

// Three servers at 120x40 and 80x24: a line each, c (past b's fork)
// marked diverged, not b (promoted while a, its declared upstream, is
// stopped: the new primary), the
// verdict, and the picture placing all three.
func TestGoldenThreeNodes(t *testing.T) {
	m, _, c := testModelClock(freshSnap())
	m = runThrough(m, c, 5)
	m = polled(m, failoverSnap(c.Now()))
	m = send(m, tea.WindowSizeMsg{Width: 120, Height: 40})
	v := m.View()
	checkSize(t, v, 120, 40)
	golden(t, "three_nodes_120x40", v)
	for _, size := range [][2]int{{80, 24}, {100, 30}} {
		m = send(m, tea.WindowSizeMsg{Width: size[0], Height: size[1]})
		v := m.View()
		checkSize(t, v, size[0], size[1])
		for _, want := range []string{" A   TL1", " B   TL2", " C " + glyphFailed + " TL1", "verdict: DIVERGED", "C c 0/5000000 TL1"} {
			if !strings.Contains(v, want) {
				t.Errorf("%dx%d lacks %q:\n%s", size[0], size[1], want, v)
			}
		}
	}
}

// o goes round all three servers, and up/down in the servers pane too.
func TestServerKeyGoesRoundThreeServers(t *testing.T) {
	m, _ := testModel(freshSnap())
	m = polled(m, failoverSnap(clock))
	var seen []cluster.Node
	for i := 0; i < 4; i++ {
		seen = append(seen, m.current())
		m, _ = press(m, "o")
	}
	if want := []cluster.Node{"a", "b", "c", "a"}; !reflect.DeepEqual(seen, want) {
		t.Errorf("o went %v, want %v", seen, want)
	}
	if v := m.View(); !strings.Contains(v, "─ B 127.0.0.1:54322 · o: next") {
		t.Errorf("the facts are not b's:\n%s", v)
	}
	m, _ = press(m, "tab", "tab", "up")
	if m.focus != focusServers || m.current() != "a" {
		t.Errorf("up in the servers pane: %s (focus %d)", m.current(), m.focus)
	}
	m, _ = press(m, "up")
	if m.current() != "c" {
		t.Errorf("up from the first server: %s", m.current())
	}
	m, _ = press(m, "l", "tab")
	if m.logView.node != "a" {
		t.Errorf("tab in c's log: %s", m.logView.node)
	}
}

// The d view of several standbys carries each one's verdict; b, promoted
// while a is stopped, is the new primary, not one of them.
func TestDiagnosisViewThreeNodes(t *testing.T) {
	m, _ := testModel(freshSnap())
	s := failoverSnap(clock)
	s.Nodes = append(s.Nodes, pg.Reading{Node: "d", Upstream: "b", Follows: "b", FollowsFrom: pg.FromReceiver, At: clock, LastGood: clock,
		Up: true, Process: pg.ProcUp, InRecovery: true, Role: pg.RoleStreaming, ReplayLSN: mustLSN("0/4000230"), Timeline: 2, TLISource: pg.SrcReceiver})
	m = polled(m, s)
	got := m.diagnosisText(100)
	for _, want := range []string{"Each standby against the node it follows:", "  - c following b (primary_conninfo): DIVERGED", "  - d following b (wal receiver): ", "C c 0/5000000 TL1 past fork 0/40000A0"} {
		if !strings.Contains(got, want) {
			t.Errorf("the d view lacks %q:\n%s", want, got)
		}
	}
	for _, bad := range []string{"b following a", "d following b (wal receiver): DIVERGED"} {
		if strings.Contains(got, bad) {
			t.Errorf("the d view has %q:\n%s", bad, got)
		}
	}
}

// Before the first reading, l, i and x act on the first server of the
// lab's topology, not the seed's primary a lab of other names lacks.
func TestKeysBeforeTheFirstReadingActOnTheTopologysFirst(t *testing.T) {
	m, _ := testModel(freshSnap())
	m.cfg.Topology = cluster.Topology{{Name: "a"}, {Name: "b", Upstream: "a"}}
	m = New(m.cfg)
	if m.current() != "a" {
		t.Fatalf("selected before any reading: %s", m.current())
	}
	m, _ = press(m, "l")
	if m.logView.node != "a" {
		t.Errorf("l before any reading opened the log of %s", m.logView.node)
	}
	m, _ = press(m, "esc", "i")
	if m.inspectView.node != "a" {
		t.Errorf("i before any reading inspected %s", m.inspectView.node)
	}
	m, _ = press(m, "esc", "o")
	if m.current() != "b" {
		t.Errorf("o before any reading selected %s", m.current())
	}
	srv := &fakeServers{shell: []string{"sh"}}
	m.cfg.Servers = srv
	m, _ = press(m, "o")
	_, cmd := press(m, "x")
	if cmd == nil {
		t.Fatal("x made no shell")
	}
	if msg, ok := cmd().(shellMsg); !ok || msg.node != "a" {
		t.Errorf("x before any reading: %+v", msg)
	}
}

// Presenter mode keeps the three lines, the verdict and the picture.
func TestPresenterThreeNodes(t *testing.T) {
	m, _, c := testModelClock(freshSnap())
	m = runThrough(m, c, 5)
	m = polled(m, failoverSnap(c.Now()))
	m, _ = press(m, "P")
	for _, size := range [][2]int{{100, 30}, {80, 24}} {
		m = send(m, tea.WindowSizeMsg{Width: size[0], Height: size[1]})
		v := m.View()
		checkSize(t, v, size[0], size[1])
		for _, want := range []string{" A   TL1", " B   TL2", " C " + glyphFailed + " TL1", "DIVERGED", "C c 0/5000000 TL1"} {
			if !strings.Contains(v, want) {
				t.Errorf("presenter %dx%d lacks %q:\n%s", size[0], size[1], want, v)
			}
		}
	}
}

// Four servers (the most a playbook declares) fit 80x24: a line each,
// the verdict and the picture's legend of all four.
func TestFourNodesAt80x24(t *testing.T) {
	s := failoverSnap(clock)
	s.Nodes = append(s.Nodes, pg.Reading{Node: "d", Upstream: "b", Follows: "b", FollowsFrom: pg.FromReceiver, At: clock, LastGood: clock,
		Up: true, Process: pg.ProcUp, InRecovery: true, Role: pg.RoleStreaming, ReplayLSN: mustLSN("0/4000230"), Timeline: 2, TLISource: pg.SrcReceiver})
	m, _, c := testModelClock(freshSnap())
	m = runThrough(m, c, 5)
	m = polled(m, s)
	for _, size := range [][2]int{{80, 24}, {120, 40}} {
		m = send(m, tea.WindowSizeMsg{Width: size[0], Height: size[1]})
		v := m.View()
		checkSize(t, v, size[0], size[1])
		for _, want := range []string{" A   TL1", " D ", "verdict: DIVERGED", "D d 0/4000230 TL2"} {
			if !strings.Contains(v, want) {
				t.Errorf("%dx%d lacks %q:\n%s", size[0], size[1], want, v)
			}
		}
	}
}

// The shell's banner and notices name a server of another name by name
// ("server a's environment"), not as "the a's".
func TestShellWordsNameAnyServer(t *testing.T) {
	m, _ := testModel(freshSnap())
	m.cfg.Topology = cluster.Topology{{Name: "a"}, {Name: "b", Upstream: "a"}}
	m.cfg.Servers = &fakeServers{shell: []string{"sh", "-c", "exit 0"}}
	m = New(m.cfg)
	_, cmd := press(m, "x")
	msg := cmd().(shellMsg)
	if !strings.Contains(msg.cmd.Args[3], "a shell in server a's environment") {
		t.Errorf("banner %q", msg.cmd.Args[3])
	}
	m = send(m, shellDoneMsg{node: "a"})
	if !strings.Contains(m.notice, "back from server a's shell") {
		t.Errorf("notice after the shell: %q", m.notice)
	}
}
