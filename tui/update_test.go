package tui

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"walstep/cluster"
	"walstep/pg"
	"walstep/steps"
)

// press sends keys and returns the model and the last command.
func press(m Model, keys ...string) (Model, tea.Cmd) {
	var cmd tea.Cmd
	for _, k := range keys {
		var nm tea.Model
		nm, cmd = m.Update(keyMsg(k))
		m = nm.(Model)
	}
	return m, cmd
}

func wantCalls(t *testing.T, fr *fakeRunner, want ...string) {
	t.Helper()
	if got := fr.Calls(); !reflect.DeepEqual(got, want) && !(len(got) == 0 && len(want) == 0) {
		t.Errorf("runner calls = %q, want %q", got, want)
	}
}

// isQuit reports whether cmd is tea.Quit.
func isQuit(cmd tea.Cmd) bool {
	if cmd == nil {
		return false
	}
	_, ok := cmd().(tea.QuitMsg)
	return ok
}

func TestKeysDriveTheRunner(t *testing.T) {
	for _, tc := range []struct {
		keys []string
		want []string
	}{
		{[]string{"n"}, []string{"next"}},
		{[]string{"enter"}, []string{"next"}},
		{[]string{"c"}, []string{"continue"}},
		{[]string{"p"}, []string{"pause"}},
		{[]string{"C"}, []string{"cancel"}},
		{[]string{"down", "down", "s"}, []string{"skip 2"}},
		{[]string{"down", "b"}, []string{"break 1"}},
		{[]string{"down", "down", "down", "g"}, []string{"jump 3"}},
		{[]string{"down", "r"}, []string{"retry 1"}},
		{[]string{"j", "j", "k", "g"}, []string{"jump 1"}},
	} {
		t.Run(strings.Join(tc.keys, ","), func(t *testing.T) {
			m, fr := testModel(freshSnap())
			press(m, tc.keys...)
			wantCalls(t, fr, tc.want...)
		})
	}
}

func TestBreakpointShowsAndToggles(t *testing.T) {
	m, fr := testModel(freshSnap())
	m, _ = press(m, "down", "down", "b")
	if !m.breakpoints[2] || !strings.Contains(m.View(), glyphBreak) {
		t.Fatalf("breakpoint on step 2 not shown:\n%s", m.View())
	}
	m, _ = press(m, "b")
	if m.breakpoints[2] {
		t.Error("second b did not clear the breakpoint")
	}
	wantCalls(t, fr, "break 2", "break 2")
}

func TestBreakpointsFromRunnerShowAtStart(t *testing.T) {
	pb := playbook()
	fr := newFakeRunner(len(pb))
	fr.snap.Breakpoints[5] = true
	m := New(Config{Steps: pb, Runner: fr})
	if !m.breakpoints[5] {
		t.Error("a breakpoint set before the program started is not shown")
	}
}

func TestRetryPicksTheFailedStep(t *testing.T) {
	m, fr := testModel(freshSnap())
	m = send(m,
		eventMsg{ev: ev(steps.StepStarted, 0)},
		eventMsg{ev: steps.Event{Kind: steps.StepFinished, Index: 0, Status: steps.Failed, Err: errors.New("boom")}},
		eventMsg{ev: steps.Event{Kind: steps.Idle, Index: -1, Reason: steps.ReasonFailed, Cursor: 0}},
	)
	// Select a pending step: r still retries the failed one.
	press(m, "down", "down", "r")
	wantCalls(t, fr, "retry 0")
}

func TestSelectionFollowsTheRunningStep(t *testing.T) {
	m, _ := testModel(freshSnap())
	m = send(m, eventMsg{ev: ev(steps.StepStarted, 0)})
	if m.selected != 0 {
		t.Fatalf("selected = %d", m.selected)
	}
	m = send(m, eventMsg{ev: steps.Event{Kind: steps.StepFinished, Index: 0, Status: steps.Done}}, eventMsg{ev: ev(steps.StepStarted, 1)})
	if m.selected != 1 {
		t.Errorf("selection did not follow to step 1: %d", m.selected)
	}
	// The user looks elsewhere: the selection stays there.
	m, _ = press(m, "down", "down")
	m = send(m, eventMsg{ev: steps.Event{Kind: steps.StepFinished, Index: 1, Status: steps.Done}}, eventMsg{ev: ev(steps.StepStarted, 2)})
	if m.selected != 3 {
		t.Errorf("selection jumped away from where the user put it: %d", m.selected)
	}
	// n follows again.
	m, _ = press(m, "n")
	m = send(m, eventMsg{ev: steps.Event{Kind: steps.StepFinished, Index: 2, Status: steps.Done}}, eventMsg{ev: ev(steps.StepStarted, 4)})
	if m.selected != 4 {
		t.Errorf("n did not make the selection follow: %d", m.selected)
	}
}

func TestUpDownStayInRange(t *testing.T) {
	m, _ := testModel(freshSnap())
	m, _ = press(m, "up", "k")
	if m.selected != 0 {
		t.Errorf("up at the top moved to %d", m.selected)
	}
	for range len(m.steps) + 3 {
		m, _ = press(m, "down")
	}
	if m.selected != len(m.steps)-1 {
		t.Errorf("down at the bottom: %d", m.selected)
	}
}

func TestTabMovesFocusAndUpDownFollowIt(t *testing.T) {
	m, _ := testModel(freshSnap())
	i := 0
	for ; i < 40; i++ {
		m = send(m, eventMsg{ev: steps.Event{Kind: steps.StepOutput, Index: 0, Line: "line"}})
	}
	m, _ = press(m, "tab")
	if m.focus != focusOutput {
		t.Fatalf("focus = %d after tab", m.focus)
	}
	before := m.output.YOffset
	m, _ = press(m, "up", "up")
	if m.output.YOffset != before-2 || m.selected != 0 {
		t.Errorf("up in the output: offset %d -> %d, selected %d", before, m.output.YOffset, m.selected)
	}
	m, _ = press(m, "tab")
	if m.focus != focusServers {
		t.Fatalf("focus = %d after 2 tabs", m.focus)
	}
	m, _ = press(m, "down")
	if m.server != cluster.Replica {
		t.Errorf("down on the servers: %s", m.server)
	}
	m, _ = press(m, "tab")
	if m.focus != focusSteps {
		t.Errorf("focus = %d after 3 tabs", m.focus)
	}
	m, _ = press(m, "shift+tab")
	if m.focus != focusServers {
		t.Errorf("focus = %d after shift+tab", m.focus)
	}
}

// In the steps pane, home, end, pgup and pgdn move the selection (going
// back to step 0 must not take a press of k per step).
func TestPagingKeysMoveTheSelectionInTheStepsPane(t *testing.T) {
	m, _ := testModel(freshSnap())
	m = send(m, tea.WindowSizeMsg{Width: 80, Height: 24})
	m, _ = press(m, "end")
	if m.selected != len(m.steps)-1 {
		t.Fatalf("end selected %d, want the last step", m.selected)
	}
	m, _ = press(m, "pgup")
	if m.selected >= len(m.steps)-2 {
		t.Errorf("pgup moved the selection to %d only", m.selected)
	}
	page := len(m.steps) - 1 - m.selected
	m, _ = press(m, "pgdown")
	if m.selected != len(m.steps)-1 {
		t.Errorf("pgdown after pgup selected %d (page %d)", m.selected, page)
	}
	m, _ = press(m, "home")
	if m.selected != 0 {
		t.Errorf("home selected %d", m.selected)
	}
}

func TestPagingKeysScrollTheOutput(t *testing.T) {
	m, _ := testModel(freshSnap())
	m, _ = press(m, "tab") // the output pane
	for range 100 {
		m = send(m, eventMsg{ev: steps.Event{Kind: steps.StepOutput, Index: 0, Line: "line"}})
	}
	if !m.output.AtBottom() {
		t.Fatal("output does not follow new lines")
	}
	m, _ = press(m, "home")
	if !m.output.AtTop() {
		t.Error("home did not go to the top")
	}
	m, _ = press(m, "pgdown")
	if m.output.YOffset == 0 {
		t.Error("pgdown did not scroll")
	}
	m, _ = press(m, "pgup")
	if m.output.YOffset != 0 {
		t.Error("pgup did not scroll back")
	}
	// Scrolled up, new output does not yank the view to the end.
	m = send(m, eventMsg{ev: steps.Event{Kind: steps.StepOutput, Index: 0, Line: "more"}})
	if m.output.AtBottom() {
		t.Error("new output moved a scrolled-up view")
	}
	m, _ = press(m, "end")
	if !m.output.AtBottom() {
		t.Error("end did not go to the end")
	}
}

func TestHelpToggles(t *testing.T) {
	m, _ := testModel(freshSnap())
	short := m.View()
	m, _ = press(m, "?")
	full := m.View()
	if !m.help.ShowAll || !strings.Contains(full, "ctrl+c") || !strings.Contains(full, "shift+tab") {
		t.Fatalf("? did not show the full help:\n%s", full)
	}
	m, _ = press(m, "?")
	if m.View() != short {
		t.Error("second ? did not go back to the short help")
	}
}

func TestEveryKeyIsInTheFullHelp(t *testing.T) {
	m, _ := testModel(freshSnap())
	m, _ = press(m, "?")
	v := m.View()
	for _, k := range []string{"n/enter", "c ", "p ", "r ", "s ", "b ", "g ", "C ", "↑/k", "↓/j", "tab", "shift+tab", "pgup", "pgdn", "home", "end", "l ", "i ", "a ", "d ", "x ", "? ", "q ", "ctrl+c"} {
		if !strings.Contains(v, k) {
			t.Errorf("full help lacks %q", k)
		}
	}
}

func TestQuitWhenIdleAsksToStopServers(t *testing.T) {
	for _, tc := range []struct {
		answer string
		stop   bool
	}{{"y", true}, {"n", false}} {
		m, _ := testModel(freshSnap())
		m, cmd := press(m, "q")
		if m.ask != askStopServers || cmd != nil {
			t.Fatalf("q did not ask about the servers")
		}
		if !strings.Contains(m.View(), "Stop the servers") {
			t.Errorf("question not shown:\n%s", m.View())
		}
		m, cmd = press(m, tc.answer)
		if !isQuit(cmd) {
			t.Fatalf("answer %s did not quit", tc.answer)
		}
		if r := m.Result(); r.StopServers != tc.stop || r.Interrupted {
			t.Errorf("answer %s: result %+v", tc.answer, r)
		}
	}
}

func TestQuitWhileRunningAsksFirst(t *testing.T) {
	m, fr := testModel(freshSnap())
	m = send(m, eventMsg{ev: ev(steps.StepStarted, 3)})
	m, _ = press(m, "q")
	if m.ask != askQuitRunning || !strings.Contains(m.View(), "Step 3 is still running") {
		t.Fatalf("q while running did not ask:\n%s", m.View())
	}
	m, cmd := press(m, "n")
	if m.ask != askNone || cmd != nil {
		t.Fatal("n did not cancel the quit")
	}
	wantCalls(t, fr) // n: nothing reached the runner
	m, _ = press(m, "q", "y")
	if m.ask != askStopServers {
		t.Fatal("y did not go on to the servers question")
	}
	// "Quit and cancel it? y" cancels the step at once, even for a user
	// who then stays.
	wantCalls(t, fr, "cancel")
	m, _ = press(m, "esc")
	if m.ask != askNone {
		t.Fatal("esc did not cancel the quit")
	}
	m, _ = press(m, "q", "y", "n")
	if r := m.Result(); r.StopServers {
		t.Errorf("result %+v", r)
	}
	wantCalls(t, fr, "cancel", "cancel") // no other key reached the runner while the question waited
}

func TestQuestionSwallowsOtherKeys(t *testing.T) {
	m, fr := testModel(freshSnap())
	m, _ = press(m, "q", "c", "s", "g", "x")
	if m.ask != askStopServers {
		t.Error("the question went away")
	}
	wantCalls(t, fr)
}

func TestCtrlCQuitsAtOnceAndStopsServers(t *testing.T) {
	m, _ := testModel(freshSnap())
	m = send(m, eventMsg{ev: ev(steps.StepStarted, 3)})
	for _, pre := range [][]string{nil, {"q"}, {"l"}} {
		mm, _ := press(m, pre...)
		mm, cmd := press(mm, "ctrl+c")
		if !isQuit(cmd) {
			t.Fatalf("ctrl+c after %v did not quit", pre)
		}
		if r := mm.Result(); !r.StopServers || !r.Interrupted {
			t.Errorf("result %+v", r)
		}
	}
}

func TestUnansweredQuitStopsServers(t *testing.T) {
	m, _ := testModel(freshSnap())
	if r := m.Result(); !r.StopServers || !r.Interrupted {
		t.Errorf("a model that was killed must ask to stop the servers: %+v", r)
	}
}

func TestLogViewReadsInACommand(t *testing.T) {
	m, _ := testModel(freshSnap())
	m.cfg.Servers = &fakeServers{logs: map[cluster.Node][]string{
		cluster.Primary: {"LOG:  database system is ready", "FATAL:  boom"},
		cluster.Replica: {"LOG:  replica line"},
	}}
	m, cmd := press(m, "l")
	if m.screen != screenLog || cmd == nil || !m.logView.busy {
		t.Fatalf("l did not open the log view with a read command")
	}
	m = send(m, cmd())
	if v := m.View(); !strings.Contains(v, "FATAL:  boom") || !strings.Contains(v, "primary log") {
		t.Errorf("log view:\n%s", v)
	}
	m, cmd = press(m, "tab")
	m = send(m, cmd())
	if v := m.View(); !strings.Contains(v, "replica line") {
		t.Errorf("tab did not switch to the replica's log:\n%s", v)
	}
	m, _ = press(m, "up", "down", "pgup", "pgdown", "home", "end")
	m, _ = press(m, "esc")
	if m.screen != screenMain {
		t.Error("esc did not close the log view")
	}
	m, _ = press(m, "l", "l")
	if m.screen != screenMain {
		t.Error("l did not toggle the log view")
	}
}

func TestStaleViewReadIsDropped(t *testing.T) {
	m, _ := testModel(freshSnap())
	m.cfg.Servers = &fakeServers{logs: map[cluster.Node][]string{cluster.Primary: {"old"}}}
	m, cmd := press(m, "l")
	stale := cmd()
	m, _ = press(m, "esc", "i")
	m = send(m, stale)
	if strings.Contains(m.View(), "old") {
		t.Error("a log read that arrived after the view changed was shown")
	}
}

func TestInspectViewShowsTheDataDir(t *testing.T) {
	lab := t.TempDir()
	dd := filepath.Join(lab, cluster.PrimaryData)
	cfg := filepath.Join(lab, cluster.PrimaryConfig)
	for _, d := range []string{filepath.Join(dd, "pg_wal", "archive_status"), cfg} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(p, s string) {
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(dd, "postgresql.conf"), "max_connections = 100\n#---\n# CUSTOMIZED OPTIONS\n"+initdbConfEnd+"\n\ninclude_dir = '/custom-pg-configs'\narchive_mode = on\nrestore_command = 'cp /x/%f %p'\n")
	write(filepath.Join(dd, "recovery.signal"), "")
	write(filepath.Join(cfg, "primary_restore.conf"), "# comment\nrecovery_target = 'immediate'\nrecovery_target_action = 'promote'\n")
	write(filepath.Join(dd, "pg_wal", "000000010000000000000002"), "x")
	write(filepath.Join(dd, "pg_wal", "00000002.history"), "1\t0/2000100\treached consistency\n")
	write(filepath.Join(dd, "pg_wal", "archive_status", "000000010000000000000002.done"), "")

	m, _ := testModel(freshSnap())
	m.cfg.LabDir = lab
	m.cfg.Servers = &fakeServers{
		dataDir: map[cluster.Node]string{cluster.Primary: dd, cluster.Replica: filepath.Join(lab, cluster.ReplicaData)},
		control: "Database cluster state:               shut down in recovery\nLatest checkpoint location:           0/2000060\nLatest checkpoint's TimeLineID:       1\nMinimum recovery ending location:     0/2000100\nMin recovery ending loc's timeline:   1\n",
	}
	m = send(m, tea.WindowSizeMsg{Width: 100, Height: 60})
	m, cmd := press(m, "i")
	if m.screen != screenInspect || cmd == nil {
		t.Fatal("i did not open the inspect view with a read command")
	}
	m = send(m, cmd())
	v := m.View()
	for _, want := range []string{
		"recovery.signal  present", "standby.signal   absent",
		"archive_mode = on", "restore_command = 'cp /x/%f %p'",
		"include_dir '/custom-pg-configs' -> " + cfg, "recovery_target = 'immediate'",
		"000000010000000000000002", "archive_status: 000000010000000000000002.done",
		"state: shut down in recovery", "minimum recovery point: 0/2000100 on timeline 1",
		"00000002.history", "1\t0/2000100\treached consistency",
	} {
		if !strings.Contains(v, want) && !strings.Contains(m.viewText, want) {
			t.Errorf("inspect view lacks %q:\n%s", want, m.viewText)
		}
	}
	if strings.Contains(m.viewText, "max_connections") {
		t.Error("inspect shows initdb's own settings as appended")
	}
	m, cmd = press(m, "tab")
	m = send(m, cmd())
	if !strings.Contains(m.viewText, "does not exist yet") {
		t.Errorf("replica without a data dir:\n%s", m.viewText)
	}
	m, _ = press(m, "i")
	if m.screen != screenMain {
		t.Error("i did not close the inspect view")
	}
}

func TestArchiveAndDiagnosisViews(t *testing.T) {
	m, _ := testModel(freshSnap())
	m = polled(m, divergedSnap(clock))
	m, cmd := press(m, "a")
	if m.screen != screenArchive || cmd != nil {
		t.Fatalf("a: screen %d, cmd %v (the archive view draws from the last poll)", m.screen, cmd)
	}
	if v := m.View(); !strings.Contains(v, "Backups") {
		t.Errorf("archive view:\n%s", v)
	}
	m, _ = press(m, "tab") // no other server here
	if m.screen != screenArchive {
		t.Error("tab left the archive view")
	}
	m, _ = press(m, "a", "d")
	if m.screen != screenDiagnosis {
		t.Fatalf("d: screen %d", m.screen)
	}
	v := m.View()
	for _, want := range []string{"Verdict: DIVERGED", "Evidence:", "TL2"} {
		if !strings.Contains(v, want) && !strings.Contains(m.diagnosisText(m.width), want) {
			t.Errorf("diagnosis view lacks %q:\n%s", want, v)
		}
	}
	m, _ = press(m, "esc")
	if m.screen != screenMain {
		t.Error("esc did not close the diagnosis view")
	}
}

func TestShellKeyRunsTheBackendShell(t *testing.T) {
	m, _ := testModel(freshSnap())
	dir := t.TempDir()
	m.cfg.Servers = &fakeServers{shell: []string{"sh", "-c", "exit 0"}, dataDir: map[cluster.Node]string{cluster.Primary: dir}}
	m, cmd := press(m, "x")
	if cmd == nil {
		t.Fatal("x gave no command")
	}
	msg, ok := cmd().(shellMsg)
	if !ok || msg.cmd.Dir != dir || msg.node != cluster.Primary || !reflect.DeepEqual(msg.cmd.Args[4:], []string{"sh", "-c", "exit 0"}) {
		t.Fatalf("shell command = %+v", msg)
	}
	if out, err := msg.cmd.Output(); err != nil || !strings.Contains(string(out), "a shell in the primary's environment") {
		t.Errorf("the shell's banner: %q, %v", out, err)
	}
	nm, exec := m.Update(msg)
	if exec == nil {
		t.Fatal("no exec command for the shell")
	}
	m = nm.(Model)
	m = send(m, shellDoneMsg{node: cluster.Primary})
	if !strings.Contains(m.notice, "back from the primary's shell") {
		t.Errorf("notice after the shell: %q", m.notice)
	}
	// A data dir that does not exist yet: the shell starts elsewhere, and says so.
	m.cfg.Servers = &fakeServers{shell: []string{"sh"}, dataDir: map[cluster.Node]string{cluster.Primary: filepath.Join(dir, "missing")}}
	_, cmd = press(m, "x")
	msg = cmd().(shellMsg)
	if msg.cmd.Dir != "" || !strings.Contains(msg.note, "does not exist yet") {
		t.Errorf("missing dir: %+v", msg)
	}
}

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
	s.Primary.LogTail = append(s.Primary.LogTail, "2025-11-25 12:00:12.500 UTC [4350] STATEMENT:  START_REPLICATION SLOT \"replica\" 0/3000000 TIMELINE 1")
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
