package present

import (
	"strings"
	"testing"

	"walstep/pg"
)

func history(t *testing.T, tli uint32, text string) pg.History {
	t.Helper()
	h, err := pg.ParseHistory(tli, text)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// failoverNodes are the failover scenario's three nodes at its end: B
// promoted (timeline 2 at 0/40000A0), A stopped on timeline 1, C
// repointed to B but replaying A's last timeline 1 segment.
func failoverNodes() []NodeReading {
	return []NodeReading{
		{Reading: pg.Reading{Node: "a", Process: pg.ProcStopped, Role: pg.RoleShutDown,
			Control: &pg.ControlData{CheckpointLSN: 0x4000180, CheckpointTLI: 1}}},
		{Reading: pg.Reading{Node: "b", Up: true, Process: pg.ProcUp, Role: pg.RolePrimary, FlushLSN: 0x4000230, Timeline: 2}, Upstream: "a"},
		{Reading: pg.Reading{Node: "c", Up: true, Process: pg.ProcUp, InRecovery: true, Role: pg.RoleArchiveRecovery, ReplayLSN: 0x5000000, Timeline: 1}, Upstream: "b"},
	}
}

func TestTimelineThreeNodesFailover(t *testing.T) {
	hs := []pg.History{history(t, 2, "1\t0/40000A0\tno recovery target specified\n")}
	got := renderTimeline(failoverNodes(), hs, 60, PlainDiagStyles())
	t.Logf("\n%s", got)
	for _, want := range []string{
		"A a 0/4000180 TL1 (stopped)",
		"B b 0/4000230 TL2\n",
		"C c 0/5000000 TL1 past fork 0/40000A0",
		"fork 0/40000A0",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("no %q in:\n%s", want, got)
		}
	}
	checkWidth(t, "failover", got, 60)
	diagGolden(t, "timeline_failover_3nodes_72", renderTimeline(failoverNodes(), hs, 72, colourStyles()))
}

func TestTimelineEveryForkOfEveryHistory(t *testing.T) {
	// Two promotions off timeline 1 (1→2 and 1→3), and a chain (1→2→3).
	siblings := []pg.History{
		history(t, 2, "1\t0/3000000\tno recovery target specified\n"),
		history(t, 3, "1\t0/3500000\tno recovery target specified\n"),
	}
	ns := []NodeReading{
		{Reading: pg.Reading{Node: "a", Up: true, FlushLSN: 0x3600000, Timeline: 3}},
		{Reading: pg.Reading{Node: "b", Up: true, InRecovery: true, ReplayLSN: 0x3100000, Timeline: 2}, Upstream: "a"},
	}
	got := renderTimeline(ns, siblings, 60, PlainDiagStyles())
	t.Logf("\n%s", got)
	lines := strings.Split(got, "\n")
	if len(lines) < 5 || !strings.HasPrefix(lines[0], "TL1") || strings.Count(lines[0], "┯") != 2 {
		t.Errorf("TL1 should carry both forks:\n%s", got)
	}
	for _, want := range []string{"fork 0/3000000", "fork 0/3500000", "B b 0/3100000 TL2 not in TL3's history!"} {
		if !strings.Contains(got, want) {
			t.Errorf("no %q in:\n%s", want, got)
		}
	}

	chain := []pg.History{
		history(t, 2, "1\t0/3000000\tno recovery target specified\n"),
		history(t, 3, "1\t0/3000000\tno recovery target specified\n2\t0/4000000\tno recovery target specified\n"),
	}
	ns[1].Reading = pg.Reading{Node: "b", Up: true, InRecovery: true, ReplayLSN: 0x4100000, Timeline: 2}
	ns[0].Reading.FlushLSN = 0x4200000
	got = renderTimeline(ns, chain, 60, PlainDiagStyles())
	t.Logf("\n%s", got)
	for _, want := range []string{"TL2", "TL3", "fork 0/3000000", "fork 0/4000000", "B b 0/4100000 TL2 past fork 0/4000000"} {
		if !strings.Contains(got, want) {
			t.Errorf("no %q in:\n%s", want, got)
		}
	}
}

func TestNodeMarks(t *testing.T) {
	for _, c := range []struct {
		names []string
		want  string
	}{
		{[]string{"primary", "replica"}, "PR"},
		{[]string{"a", "b", "c"}, "ABC"},
		{[]string{"pg1", "pg2", "pg3"}, "123"},
		{[]string{"prod", "test", "standby"}, "PTS"},
		{[]string{"a", "alpha"}, "12"},
		{[]string{"", "b"}, "12"},
	} {
		ns := make([]NodeReading, len(c.names))
		for i, n := range c.names {
			ns[i].Node = n
		}
		if got := string(NodeMarks(ns)); got != c.want {
			t.Errorf("%v: %q, want %q", c.names, got, c.want)
		}
	}
}

// Servers at one position stand side by side, none hiding another.
func TestTimelineNodesAtOnePosition(t *testing.T) {
	ns := []NodeReading{
		{Reading: pg.Reading{Node: "a", Up: true, FlushLSN: 0x3023008, Timeline: 1}},
		{Reading: pg.Reading{Node: "b", Up: true, InRecovery: true, ReplayLSN: 0x3023008, Timeline: 1}, Upstream: "a"},
		{Reading: pg.Reading{Node: "c", Up: true, InRecovery: true, ReplayLSN: 0x3023008, Timeline: 1}, Upstream: "b"},
		{Reading: pg.Reading{Node: "d", Up: true, InRecovery: true, ReplayLSN: 0x3023008, Timeline: 1}, Upstream: "b"},
	}
	for _, w := range []int{24, 40, 56} {
		got := renderTimeline(ns, nil, w, PlainDiagStyles())
		if first := strings.Split(got, "\n")[0]; !strings.HasSuffix(first, "ABCD") {
			t.Errorf("width %d: %q", w, first)
		}
		checkWidth(t, "four at one position", got, w)
	}
}

// Four servers and two forks fit every width the panel and the reports use.
func TestTimelineFourNodesFitWidths(t *testing.T) {
	hs := []pg.History{
		history(t, 2, "1\t0/40000A0\tno recovery target specified\n"),
		history(t, 3, "1\t0/40000A0\tno recovery target specified\n2\t0/4500000\tno recovery target specified\n"),
	}
	ns := append(failoverNodes(), NodeReading{Reading: pg.Reading{Node: "d", Up: true, FlushLSN: 0x4600000, Timeline: 3}, Upstream: "b"})
	for w := 24; w <= 140; w += 4 {
		checkWidth(t, "four nodes", renderTimeline(ns, hs, w, PlainDiagStyles()), w)
		checkWidth(t, "four nodes", renderTimeline(ns, hs, w, colourStyles()), w)
	}
	got := renderTimeline(ns, hs, 60, PlainDiagStyles())
	for _, want := range []string{"TL3", "fork 0/4500000", "D d 0/4600000 TL3", "C c 0/5000000 TL1 past fork 0/40000A0"} {
		if !strings.Contains(got, want) {
			t.Errorf("no %q in:\n%s", want, got)
		}
	}
}
