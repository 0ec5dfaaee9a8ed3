package tui

import (
	"fmt"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"walstep/steps"
	"walstep/untrusted"
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
		m.views[i] = stepView{status: steps.Running, started: m.now(), runs: m.views[i].runs + 1, command: ev.Command}
		m.running, m.cursor, m.finished = i, i, false
		if m.cfg.Mark != nil {
			m.cfg.Mark(untrusted.Text("step " + m.steps[i].ID + " · " + m.steps[i].Title))
		}
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
			if ev.Status == steps.Failed {
				m.showFailure()
			}
		}
		m.record(ev)
		return m.pollNow() // a step changes the servers: show it now

	case steps.PassStarted:
		if ev.Steps != nil {
			m.replan(ev.Steps)
		}
		for _, j := range ev.Reset {
			if j >= 0 && j < len(m.views) {
				m.views[j] = stepView{}
			}
		}
		m.notice = ev.Line
		m.passNote = ev.Changed // said again when the step stops
		m.record(ev)
		m.layout()
		m.refreshOutput(true)

	case steps.Jumped:
		m.record(ev)

	case steps.Rewound:
		for _, j := range ev.Reset {
			if j >= 0 && j < len(m.views) {
				m.views[j] = stepView{}
				if j < i {
					m.views[j].status = steps.Restored
				}
			}
		}
		m.notice = ev.Line
		if !m.rewindAsked.IsZero() {
			m.rewindNote = fmt.Sprintf("%s; %s from the key press", ev.Line, m.now().Sub(m.rewindAsked).Round(time.Millisecond))
			m.rewindAsked = time.Time{}
		} else {
			m.rewindNote = ev.Line
		}
		m.record(ev)
		m.layout()
		m.refreshOutput(true)

	case steps.Idle:
		m.running = -1
		m.cursor, m.finished, m.idleReason = ev.Cursor, ev.Finished, ev.Reason
		m.notice = m.idleNotice(ev)
		if m.rewindNote != "" {
			m.notice, m.rewindNote = m.rewindNote+" · "+m.notice, ""
		}
		if m.passNote != "" {
			m.notice, m.passNote = m.passNote+" · "+m.notice, ""
		}
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
		Output: append([]string(nil), v.output...), Runs: v.runs, Command: v.command}
	select {
	case m.cfg.afterCh <- afterStep{all: m.steps, ev: ev, state: st}:
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
	case steps.ReasonRewound:
		return fmt.Sprintf("step %s is next: %s runs it", next, keyOf(k.Next))
	}
	return ""
}

// replan takes the playbook a new pass found (hooks added, removed or
// edited): each step keeps its view, breakpoint and selection by
// steps.StepKey, as the Runner keeps its state.
func (m *Model) replan(all []steps.Step) {
	where := make(map[string]int, len(all))
	for j, s := range all {
		where[steps.StepKey(s)] = j
	}
	views := make([]stepView, len(all))
	bps := map[int]bool{}
	moved := func(i int) (int, bool) {
		if i < 0 || i >= len(m.steps) {
			return 0, false
		}
		n, ok := where[steps.StepKey(m.steps[i])]
		return n, ok
	}
	for i, v := range m.views {
		if n, ok := moved(i); ok {
			views[n] = v
			if m.breakpoints[i] {
				bps[n] = true
			}
		}
	}
	sel, ok := moved(m.selected)
	if !ok {
		sel = min(m.selected, len(all)-1)
	}
	cur, ok := moved(m.cursor)
	if !ok {
		cur = len(all)
	}
	if n, ok := moved(m.running); ok {
		m.running = n
	} else {
		m.running = -1
	}
	m.steps, m.views, m.breakpoints, m.selected, m.cursor = all, views, bps, max(sel, 0), cur
	m.present.resolve(all)
	m.outCache.step = -1
}
