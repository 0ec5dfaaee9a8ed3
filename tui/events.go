package tui

import (
	"fmt"
	"strings"

	tea "github.com/charmbracelet/bubbletea"

	"walstep/steps"
)

// applyEvent folds a Runner event into the model.
func (m *Model) applyEvent(ev steps.Event) tea.Cmd {
	i := ev.Index
	valid := i >= 0 && i < len(m.views)
	switch ev.Kind {
	case steps.StepStarted:
		if !valid {
			return nil
		}
		m.views[i] = stepView{status: steps.Running, started: m.now(), runs: m.views[i].runs + 1}
		m.running, m.cursor, m.finished = i, i, false
		if m.follow {
			m.selected = i
		}
		if i == m.selected {
			m.layout()
			m.refreshOutput(true)
		}
		if !m.spinning {
			m.spinning = true
			return m.spinner.Tick
		}

	case steps.StepOutput:
		if !valid {
			return nil
		}
		v := &m.views[i]
		v.output = append(v.output, strings.ReplaceAll(ev.Line, "\t", "    "))
		v.total++
		if len(v.output) > steps.MaxOutputLines {
			v.output = v.output[len(v.output)-steps.MaxOutputLines:]
		}
		// Update refreshes the output pane once the message's events are in.

	case steps.StepFinished:
		if !valid {
			return nil
		}
		v := &m.views[i]
		v.status, v.err = ev.Status, ev.Err
		if ev.Status != steps.Skipped {
			v.elapsed = ev.Duration
		}
		if m.running == i {
			m.running = -1
		}
		if i == m.selected {
			m.layout()
			m.refreshOutput(false)
		}
		m.record(ev)
		return m.pollNow() // a step changes the servers: show it now

	case steps.PassStarted:
		for _, j := range ev.Reset {
			if j >= 0 && j < len(m.views) {
				m.views[j] = stepView{}
			}
		}
		m.notice = ev.Line
		m.record(ev)
		m.layout()
		m.refreshOutput(true)

	case steps.Jumped:
		m.record(ev)

	case steps.Idle:
		m.running = -1
		m.cursor, m.finished, m.idleReason = ev.Cursor, ev.Finished, ev.Reason
		m.notice = m.idleNotice(ev)
		return m.presentIdle(ev)

	case steps.Notice:
		m.notice = ev.Line
	}
	return nil
}

// record hands an event to Config.Record without waiting: when the
// recorder is that far behind, the event is left out and the user is told.
func (m *Model) record(ev steps.Event) {
	if m.cfg.afterCh == nil || ev.Index < 0 || ev.Index >= len(m.views) {
		return
	}
	i := ev.Index
	v := m.views[i]
	st := steps.StepState{Status: v.status, Err: v.err, Started: v.started, Duration: v.elapsed,
		Output: append([]string(nil), v.output...), Runs: v.runs}
	select {
	case m.cfg.afterCh <- afterStep{ev: ev, state: st}:
	default:
		m.notice = fmt.Sprintf("the transcript is behind: step %s is not recorded", m.steps[i].ID)
	}
}

// idleNotice says why the runner stopped, in the user's words.
func (m Model) idleNotice(ev steps.Event) string {
	next := ""
	if ev.Cursor >= 0 && ev.Cursor < len(m.steps) {
		next = m.steps[ev.Cursor].ID
	}
	k := m.keys
	switch ev.Reason {
	case steps.ReasonBreakpoint:
		return fmt.Sprintf("stopped at the breakpoint before %s: %s runs it, %s continues", next, keyOf(k.Next), keyOf(k.Continue))
	case steps.ReasonFailed:
		return fmt.Sprintf("step %s failed: %s retries it, %s skips it", next, keyOf(k.Retry), keyOf(k.Skip))
	case steps.ReasonCancelled:
		return fmt.Sprintf("step %s cancelled: %s retries it, %s skips it", next, keyOf(k.Retry), keyOf(k.Skip))
	case steps.ReasonPaused:
		return fmt.Sprintf("paused: %s is next", next)
	case steps.ReasonEnd:
		return "end of the playbook: look around, " + keyOf(k.Quit) + " quits"
	}
	return ""
}
