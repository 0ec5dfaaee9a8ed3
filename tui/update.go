package tui

import (
	"fmt"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/spinner"
	tea "github.com/charmbracelet/bubbletea"

	"walstep/steps"
)

// Update handles one message. It never waits: Runner commands are
// non-blocking sends, and polls, file reads and the shell are commands.
func (m Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.width, m.height = msg.Width, msg.Height
		m.layout()
		m.wal = m.wal.setSize(m.width, m.height-3)
		if m.screen != screenMain && m.screen != screenLog && m.screen != screenWAL {
			m.setViewContent() // re-wrap to the new width
		}
		return m, nil

	case tea.KeyMsg:
		if msg.Type == tea.KeyRunes && len(msg.Runes) > 1 && !msg.Paste {
			// Keys typed faster than the input is read arrive as one
			// message; each is a command of its own.
			var cmds []tea.Cmd
			var tm tea.Model = m
			for _, r := range msg.Runes {
				var cmd tea.Cmd
				tm, cmd = tm.(Model).handleKey(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}, Alt: msg.Alt})
				cmds = append(cmds, cmd)
			}
			return tm, tea.Sequence(cmds...)
		}
		return m.handleKey(msg)

	case eventMsg:
		if msg.gen != m.eventsGen {
			return m, nil
		}
		cmds := []tea.Cmd{m.applyEvent(msg.ev)}
		outputLines := msg.ev.Kind == steps.StepOutput && msg.ev.Index == m.selected
		for _, ev := range msg.more {
			cmds = append(cmds, m.applyEvent(ev))
			outputLines = outputLines || ev.Kind == steps.StepOutput && ev.Index == m.selected
		}
		if outputLines { // once for the batch: it is the costly part
			m.refreshOutput(false)
		}
		return m, tea.Batch(append(cmds, m.waitEvent())...)

	case eventsClosedMsg:
		if msg.gen == m.eventsGen {
			m.eventsDone = true
			m.running = -1
		}
		return m, nil

	case pollMsg:
		return m.pollDone(msg)

	case presentTickMsg:
		return m.presentTicked(msg)

	case pollTickMsg:
		if msg.gen != m.pollGen || m.polling {
			return m, nil
		}
		return m, m.pollNow()

	case logLoadedMsg:
		if m.screen != screenLog {
			return m, nil
		}
		var cmd tea.Cmd
		m.logView, cmd = m.logView.Update(msg)
		return m, cmd

	case viewMsg:
		if m.screen != screenInspect {
			return m, nil
		}
		var got bool
		if m.inspectView, got = m.inspectView.Update(msg); got {
			m.setViewContent()
		}
		return m, nil

	case walMsg:
		var cmd tea.Cmd
		m.wal, cmd = m.wal.Update(msg)
		return m, cmd

	case shellMsg:
		if msg.note != "" {
			m.notice = msg.note
		}
		if msg.cmd == nil {
			return m, nil
		}
		return m, openShell(msg)

	case shellDoneMsg:
		if msg.err != nil {
			m.notice = fmt.Sprintf("shell in %s's environment: %v", msg.node.The(), msg.err)
		} else {
			m.notice = fmt.Sprintf("back from %s's shell", msg.node.The())
		}
		return m, m.pollNow()

	case spinner.TickMsg:
		if m.running < 0 {
			m.spinning = false // let the tick chain end while idle
			return m, nil
		}
		var cmd tea.Cmd
		m.spinner, cmd = m.spinner.Update(msg)
		return m, cmd
	}
	return m, nil
}

// handleKey routes a key: Ctrl-C first, then a waiting question, then the
// full-screen view, then the main screen.
func (m Model) handleKey(k tea.KeyMsg) (tea.Model, tea.Cmd) {
	if key.Matches(k, m.keys.Interrupt) {
		m.result, m.decided = Result{StopServers: true, Interrupted: true}, true
		return m, tea.Quit
	}
	m.present.stop() // any key holds a presenter's countdown
	if m.ask != askNone {
		return m.answer(k)
	}
	if key.Matches(k, m.keys.Quit) {
		m.notice = ""
		switch {
		case m.running >= 0:
			m.ask = askQuitRunning
		case m.polled && !anyServerRuns(m.snap) && m.cursor > 0 && m.cursor < len(m.steps):
			// No server to ask about, but a session to come back to.
			m.ask = askQuitResume
		case m.polled && !anyServerRuns(m.snap):
			// Nothing to ask about: the last reading found no server
			// running. Stopping still runs, for one started since.
			m.result, m.decided = Result{StopServers: true}, true
			return m, tea.Quit
		default:
			m.ask = askStopServers
		}
		return m, nil
	}
	if m.screen == screenWAL {
		return m.walKey(k)
	}
	if m.screen != screenMain {
		return m.viewKey(k)
	}
	r := m.cfg.Runner
	sel := m.selected
	switch {
	case key.Matches(k, m.keys.Help):
		m.help.ShowAll = !m.help.ShowAll
		m.layout()
	case key.Matches(k, m.keys.Present):
		m.togglePresent()
	case key.Matches(k, m.keys.Next):
		m.notice, m.follow = "", true
		r.Next()
	case key.Matches(k, m.keys.Continue):
		m.notice, m.follow = "", true
		r.Continue()
	case key.Matches(k, m.keys.Pause):
		r.Pause()
	case key.Matches(k, m.keys.Cancel):
		r.Cancel()
	case key.Matches(k, m.keys.Retry):
		m.notice, m.follow = "", true
		r.Retry(m.retryTarget())
	case key.Matches(k, m.keys.Skip):
		m.notice = ""
		r.Skip(sel)
	case key.Matches(k, m.keys.Breakpoint):
		// The runner answers a toggle with no event while a step runs, so
		// the model keeps its own copy in step with what it asked.
		if m.breakpoints[sel] {
			delete(m.breakpoints, sel)
		} else {
			m.breakpoints[sel] = true
		}
		r.ToggleBreakpoint(sel)
	case key.Matches(k, m.keys.Jump):
		m.notice, m.follow = "", true
		if sel < m.cursor || m.finished && sel < len(m.steps) {
			// Going back: the lab as it was there, from a checkpoint
			// when one holds (the Runner jumps when none does).
			m.notice = "rewinding to step " + m.steps[sel].ID + " …"
			m.rewindAsked = m.now()
			r.Rewind(sel)
		} else {
			r.Jump(sel)
		}
	case key.Matches(k, m.keys.Up), key.Matches(k, m.keys.Down):
		m.move(key.Matches(k, m.keys.Down))
	case key.Matches(k, m.keys.PageUp), key.Matches(k, m.keys.PageDown),
		key.Matches(k, m.keys.Top), key.Matches(k, m.keys.Bottom):
		m.page(k)
	case key.Matches(k, m.keys.Focus):
		m.focus = (m.focus + 1) % focusCount
	case key.Matches(k, m.keys.FocusBack):
		m.focus = (m.focus + focusCount - 1) % focusCount
	case key.Matches(k, m.keys.Server):
		m.server = m.serverAfter(m.current(), false)
	case key.Matches(k, m.keys.Log):
		return m.openView(screenLog)
	case key.Matches(k, m.keys.Inspect):
		return m.openView(screenInspect)
	case key.Matches(k, m.keys.Archive):
		return m.openView(screenArchive)
	case key.Matches(k, m.keys.Diagnosis):
		return m.openView(screenDiagnosis)
	case key.Matches(k, m.keys.WAL):
		return m.openWAL()
	case key.Matches(k, m.keys.Shell):
		return m, m.prepareShell(m.current())
	}
	return m, nil
}

// answer handles a key while a yes/no question waits.
func (m Model) answer(k tea.KeyMsg) (tea.Model, tea.Cmd) {
	switch {
	case key.Matches(k, m.keys.Back):
		m.ask = askNone
	case m.ask == askQuitRunning && key.Matches(k, m.keys.Yes):
		// The answer was "cancel it": do so now, whatever the next
		// answer is, so a user who stays has no run they asked to stop.
		m.cfg.Runner.Cancel()
		m.notice = "cancelling the running step"
		m.ask = askStopServers
	case m.ask == askQuitRunning && key.Matches(k, m.keys.No):
		m.ask = askNone
	case m.ask == askStopServers && (key.Matches(k, m.keys.Yes) || key.Matches(k, m.keys.No)):
		m.ask = askNone
		m.result, m.decided = Result{StopServers: key.Matches(k, m.keys.Yes)}, true
		return m, tea.Quit
	case m.ask == askQuitResume && key.Matches(k, m.keys.Yes):
		m.ask = askNone
		m.result, m.decided = Result{StopServers: true}, true
		return m, tea.Quit
	case (m.ask == askStopServers || m.ask == askQuitResume) && key.Matches(k, m.keys.Resume):
		m.ask = askNone
		m.result, m.decided = Result{StopServers: true, Resume: true}, true
		return m, tea.Quit
	}
	return m, nil
}

// openView switches to a full-screen view of the selected server.
func (m Model) openView(s screen) (tea.Model, tea.Cmd) {
	m.screen = s
	if s == screenLog {
		m.layout()
		var cmd tea.Cmd
		m.logView.load = readLog(m.cfg.Servers)
		m.logView, cmd = m.logView.open(m.current())
		return m, cmd
	}
	v := m.textView()
	*v = v.open(m.current())
	m.layout()
	if s == screenArchive || s == screenDiagnosis { // drawn from the last poll, nothing to read
		m.setViewContent()
		return m, nil
	}
	return m, m.loadView()
}

// viewKey handles a key in a full-screen view.
func (m Model) viewKey(k tea.KeyMsg) (tea.Model, tea.Cmd) {
	switch {
	case key.Matches(k, m.keys.Back),
		m.screen == screenLog && key.Matches(k, m.keys.Log),
		m.screen == screenInspect && key.Matches(k, m.keys.Inspect),
		m.screen == screenArchive && key.Matches(k, m.keys.Archive),
		m.screen == screenDiagnosis && key.Matches(k, m.keys.Diagnosis):
		if v := m.textView(); v != nil {
			*v = v.close() // drop a read still on its way
		}
		m.screen = screenMain
		m.logView = m.logView.close()
		m.layout()
		return m, nil
	case key.Matches(k, m.keys.Switch), key.Matches(k, m.keys.Server):
		if m.screen == screenArchive || m.screen == screenDiagnosis {
			return m, nil
		}
		if m.screen == screenLog {
			m.server = m.serverAfter(m.logView.node, false)
		} else {
			m.server = m.serverAfter(m.textView().node, false)
		}
		return m.openView(m.screen)
	case m.screen == screenLog:
		var cmd tea.Cmd
		m.logView, cmd = m.logView.Update(k)
		return m, cmd
	default:
		if v := m.textView(); v != nil {
			*v, _ = v.Update(k)
		}
	}
	return m, nil
}

// pollDone takes in a finished poll: the readings, the panel's height, the
// diagnosis, the next poll, and the views that follow the readings.
func (m Model) pollDone(msg pollMsg) (tea.Model, tea.Cmd) {
	if msg.gen != m.pollGen {
		return m, nil // a poll the model no longer waits for
	}
	m.polling = false
	m.snap, m.polled = msg.snap, true
	m.noteLeftover()
	if need := panelNeedOf(msg.snap); need != m.panelNeed {
		m.panelNeed = need
		m.layout()
	}
	m.diagnose(msg.snap)
	var next tea.Cmd
	if m.pollAgain {
		m.pollAgain = false
		next = m.pollNow()
	} else {
		next = m.pollLater()
	}
	var wal tea.Cmd
	m.wal, wal = m.wal.follow(m.ctx, m.snap, m.diag)
	next = tea.Batch(next, wal)
	if m.screen == screenArchive || m.screen == screenDiagnosis {
		m.setViewContent()
	}
	if m.screen == screenLog {
		var load tea.Cmd
		m.logView, load = m.logView.reload() // the log view follows the log
		return m, tea.Batch(next, load)
	}
	return m, next
}
