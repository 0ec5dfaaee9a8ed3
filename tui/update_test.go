package tui

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"

	"walstep/cluster"
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

// q asks whether to stop the servers only when the last reading found one
// running; with none, it quits (still stopping, for one started since).
func TestQuitAsksOnlyWhenAServerRuns(t *testing.T) {
	m, _ := testModel(freshSnap())
	m = polled(m, freshSnap())
	m, cmd := press(m, "q")
	if m.ask != askNone || cmd == nil {
		t.Fatalf("q with no server running asked %v", m.ask)
	}
	if r := m.Result(); !r.StopServers || r.Interrupted {
		t.Errorf("result %+v, want a decided stop", r)
	}
	m, _ = testModel(freshSnap())
	m = polled(m, divergedSnap(clock))
	if m, _ = press(m, "q"); m.ask != askStopServers {
		t.Fatalf("q with servers up did not ask")
	}
}
