package tui

import (
	"context"
	"strings"
	"testing"

	"walstep/pg"
	"walstep/steps"
)

// The debugger says why it chose its backend and archiver (as run does);
// servers found running before any step of this session ran are labelled
// as an earlier session's, until a step starts; on the local backend the
// seed's Docker command is labelled and the command that ran is shown.
func TestContextIsShown(t *testing.T) {
	fr := newFakeRunner(len(playbook()))
	m := New(Config{Steps: playbook(), Runner: fr, Servers: &fakeServers{}, Header: "local · cp · /lab",
		Why:  []string{"local backend with /usr/lib/postgresql/15/bin (docker not used: no engine)", "cp archiver: no wal-g"},
		Poll: func(context.Context) pg.Snapshot { return pg.Snapshot{} }})
	v := m.View()
	status := strings.Join(strings.Fields(strings.Join(strings.Split(v, "\n")[20:23], " ")), " ")
	for _, want := range []string{"n runs the next step, c runs on to a breakpoint or the end", "local backend with /usr/lib/postgresql/15/bin (docker not used: no engine) · cp archiver: no wal-g"} {
		if !strings.Contains(status, want) {
			t.Errorf("the status lines lack %q:\n%s", want, v)
		}
	}

	m = polled(m, divergedSnap(clock))
	if v := m.View(); !strings.Contains(v, "servers of an earlier session") || !strings.Contains(v, "left running by an earlier session") {
		t.Errorf("leftover servers are not labelled:\n%s", v)
	}
	m = send(m, eventMsg{ev: ev(steps.StepStarted, 0)})
	m = polled(m, divergedSnap(clock))
	if v := m.View(); strings.Contains(v, "servers of an earlier session") {
		t.Errorf("the label stays after a step started:\n%s", v)
	}

	m = send(m, eventMsg{ev: steps.Event{Kind: steps.StepOutput, Index: 0, Line: "$ pg_ctl stop -D /lab/primary-data"}})
	if v := m.View(); !strings.Contains(v, "seed's: $ rm -rf") || !strings.Contains(v, "ran:    $ pg_ctl stop") {
		t.Errorf("the seed's command is not labelled, or what ran not shown:\n%s", v)
	}
}
