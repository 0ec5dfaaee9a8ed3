package tui

import (
	"fmt"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"walstep/pg"
	"walstep/steps"
)

// refusedSnap is the divergence as a real run shows it: the replica has
// received to 0/3000000 and the primary's log holds the same refusal six
// times, once per try of the replica's wal receiver.
func refusedSnap(at time.Time) pg.Snapshot {
	s := divergedSnap(at)
	s.Nodes[1].ReceiveLSN = mustLSN("0/3000000")
	s.Nodes[0].LogTail = s.Nodes[0].LogTail[:1]
	for i := 0; i < 6; i++ {
		s.Nodes[0].LogTail = append(s.Nodes[0].LogTail,
			fmt.Sprintf("2025-11-25 12:00:%02d.500 UTC [%d] ERROR:  requested starting point 0/3000000 is ahead of the WAL flush position of this server 0/2000178", 12+i*5, 4350+i),
			fmt.Sprintf("2025-11-25 12:00:%02d.500 UTC [%d] STATEMENT:  START_REPLICATION SLOT \"replica\" 0/3000000 TIMELINE 1", 12+i*5, 4350+i))
	}
	return s
}

// At 80x24, in the normal layout and in presenter mode, the verdict, the
// fork LSN and the replica's position all show, nothing of them cut; the
// replica's receive position is not cut either, and the six identical
// refusals read as one line with its count.
func TestGoldenDivergenceAt80x24(t *testing.T) {
	for _, c := range []struct {
		name    string
		present bool
	}{{"divergence_refused_80x24", false}, {"presenter_80x24", true}} {
		t.Run(c.name, func(t *testing.T) {
			m, _, clock := testModelClock(freshSnap())
			if c.present {
				m, _ = press(m, "P")
			}
			m = send(m, tea.WindowSizeMsg{Width: 80, Height: 24})
			f6 := idx(t, m, "F6")
			m = runThrough(m, clock, f6)
			m = send(m,
				eventMsg{ev: ev(steps.StepStarted, f6)},
				eventMsg{ev: steps.Event{Kind: steps.StepFinished, Index: f6, Status: steps.Done, Duration: 2 * time.Second}},
			)
			m = send(m, proofThenEnd(t, m)...)
			m = polled(m, refusedSnap(clock.Now()))
			v := m.View()
			checkSize(t, v, 80, 24)
			panel := panelOf(v)
			for _, want := range []string{"verdict: DIVERGED ✗", "past the fork", "fork 0/2000100", "R replica 0/3000000 TL1", "TL2", "P primary 0/2000178 TL2"} {
				if !strings.Contains(panel, want) {
					t.Errorf("the panel lacks %q:\n%s", want, panel)
				}
			}
			if strings.Contains(panel, "the replica replayed timeline…") {
				t.Errorf("the verdict is cut mid-sentence:\n%s", panel)
			}
			if !c.present {
				if !strings.Contains(panel, "recv 0/3000000") {
					t.Errorf("the receive position is cut:\n%s", panel)
				}
				if !strings.Contains(panel, "(x6)") {
					t.Errorf("the six refusals are not one line with a count:\n%s", panel)
				}
			}
			golden(t, c.name, v)
		})
	}
}

// panelOf is the side panel's text: what is right of the first │ of each
// row, rows joined.
func panelOf(v string) string {
	var out []string
	for _, l := range strings.Split(v, "\n") {
		if _, right, ok := strings.Cut(l, "│"); ok {
			out = append(out, right)
		}
	}
	return strings.Join(out, "\n")
}

// The first screen's status wraps rather than cutting how the backend was
// chosen: the flag at the end of a long reason still shows.
func TestFirstScreenStatusWraps(t *testing.T) {
	for _, w := range []int{80, 120} {
		fr := newFakeRunner(len(playbook()))
		m := New(Config{Steps: playbook(), Runner: fr, Servers: &fakeServers{}, Header: "docker · wal-g · /lab",
			Why: []string{"local backend with /usr/lib/postgresql/15/bin (docker not used: image postgres:14.5 not found: pull it yourself (docker pull postgres:14.5), build one (scripts/test-image.sh builds a PostgreSQL image without a registry) or pass --init-image)", "cp archiver: no wal-g on PATH (pass --wal-g PATH to use WAL-G)"}})
		m = send(m, tea.WindowSizeMsg{Width: w, Height: 24})
		v := m.View()
		checkSize(t, v, w, 24)
		rows := strings.Split(v, "\n")
		status := strings.Join(strings.Fields(strings.Join(rows[len(rows)-7:len(rows)-1], " ")), " ")
		for _, want := range []string{"n runs the next step, c runs on to a breakpoint or the end", "or pass --init-image) · cp archiver: no wal-g on PATH (pass --wal-g PATH to use WAL-G)"} {
			if !strings.Contains(status, want) {
				t.Errorf("at %d columns the status lacks %q:\n%s", w, want, v)
			}
		}
	}
}

// A failure scrolls the output to the failing program's own error line,
// even when lines after it (a usage text) would push it above the pane.
func TestFailureShowsTheProgramsErrorLine(t *testing.T) {
	m, _, c := testModelClock(freshSnap())
	s1 := idx(t, m, "1")
	m = runThrough(m, c, s1)
	m = send(m, eventMsg{ev: ev(steps.StepStarted, s1)})
	lines := []string{"$ initdb -D /lab/primary-data --username=postgres", "The files belonging to this database system will be owned by user \"postgres\".",
		`initdb: error: directory "/lab/primary-data" exists but is not empty`}
	for i := 0; i < 12; i++ {
		lines = append(lines, fmt.Sprintf("initdb: hint: line %d of advice after the error", i))
	}
	for _, l := range lines {
		m = send(m, eventMsg{ev: steps.Event{Kind: steps.StepOutput, Index: s1, Line: l}})
	}
	err := &steps.ProgramError{Line: lines[2], Err: fmt.Errorf("run initdb: exit status 1"), Marked: true}
	m = send(m,
		eventMsg{ev: steps.Event{Kind: steps.StepFinished, Index: s1, Status: steps.Failed, Err: err}},
		eventMsg{ev: steps.Event{Kind: steps.Idle, Index: -1, Reason: steps.ReasonFailed, Cursor: s1}},
	)
	v := m.View()
	checkSize(t, v, 80, 24)
	left := ""
	for _, l := range strings.Split(v, "\n") {
		before, _, _ := strings.Cut(l, "│")
		left += before + "\n"
	}
	_, pane, ok := strings.Cut(left, "─ output")
	if !ok || !strings.Contains(pane, "initdb: error: directory") {
		t.Fatalf("the output pane does not show initdb's error:\n%s", v)
	}
	if !strings.Contains(left, "✗ failed: initdb: error: directory") {
		t.Errorf("the failure line does not lead with initdb's error:\n%s", v)
	}
}
