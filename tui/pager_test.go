package tui

import (
	"fmt"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"walstep/cluster"
)

// The log view always shows the end of the log, the wrapped rows of a long
// last line included, at 80x24 and 120x40, and follows the log as it grows
// on each poll until the user scrolls up; end follows again.
func TestLogPagerShowsAndFollowsTheEnd(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {120, 40}} {
		t.Run(fmt.Sprintf("%dx%d", size[0], size[1]), func(t *testing.T) {
			var log []string
			for i := range 200 {
				log = append(log, fmt.Sprintf("2026-11-30 09:00:00.%03d UTC [42] LOG:  line %d", i, i))
			}
			last := "2026-11-30 09:00:01.000 UTC [42] STATEMENT:  START_REPLICATION SLOT \"replica\" 0/3000000 TIMELINE 2 " + strings.Repeat("x", size[0]) + " END-OF-LOG"
			log = append(log, last)
			srv := &fakeServers{logs: map[cluster.Node][]string{cluster.Primary: log}}
			m, _ := testModel(freshSnap())
			m.cfg.Servers = srv
			m = send(m, tea.WindowSizeMsg{Width: size[0], Height: size[1]})
			m, cmd := press(m, "l")
			m = send(m, cmd())
			v := m.View()
			if !strings.Contains(v, "END-OF-LOG") || !strings.Contains(v, "START_REPLICATION") {
				t.Fatalf("the wrapped last line is not all on screen:\n%s", v)
			}
			rows := strings.Split(v, "\n")
			if len(rows) != size[1] {
				t.Fatalf("%d rows, want %d", len(rows), size[1])
			}
			// The last text row sits right above the status line and help.
			if !strings.Contains(rows[size[1]-3], "END-OF-LOG") {
				t.Errorf("END-OF-LOG is not on the last text row:\n%s", v)
			}

			// The log grows; a poll reloads it and the view follows.
			srv.logs[cluster.Primary] = append(log, "2026-11-30 09:00:02.000 UTC [42] LOG:  database system is shut down")
			nm, cmd := m.Update(pollMsg{gen: m.pollGen, snap: freshSnap()})
			m = send(nm.(Model), findMsg[logLoadedMsg](t, cmd))
			if v := m.View(); !strings.Contains(v, "database system is shut down") || !strings.Contains(v, "following the end") {
				t.Fatalf("the view did not follow the log:\n%s", v)
			}
			// Scrolled up, it stays put; end follows again.
			m, _ = press(m, "pgup")
			if v := m.View(); strings.Contains(v, "database system is shut down") || strings.Contains(v, "following the end") {
				t.Fatalf("pgup did not leave the end:\n%s", v)
			}
			m, _ = press(m, "end")
			if v := m.View(); !strings.Contains(v, "database system is shut down") {
				t.Fatalf("end did not come back to the end:\n%s", v)
			}
		})
	}
}

// findMsg runs cmd (a batch, possibly) and returns the first message of
// type T it yields.
func findMsg[T tea.Msg](t *testing.T, cmd tea.Cmd) T {
	t.Helper()
	var zero T
	if cmd == nil {
		t.Fatalf("no command")
	}
	msg := cmd()
	if b, ok := msg.(tea.BatchMsg); ok {
		for _, c := range b {
			if c == nil {
				continue
			}
			if got, ok := c().(T); ok {
				return got
			}
		}
		t.Fatalf("no %T in the batch", zero)
	}
	got, ok := msg.(T)
	if !ok {
		t.Fatalf("got %T, want %T", msg, zero)
	}
	return got
}
