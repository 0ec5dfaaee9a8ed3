package tui

import (
	"fmt"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"walstep/pg"
	"walstep/steps"
)

// Rows of the presenter's banners.
const (
	presentNoteLines    = 3
	presentVerdictLines = 2
)

// presenter is presenter mode, for demos on a projector: the selected
// step's note large above the screen, the verdict as a banner with its
// mechanism, and stops at the steps that matter (breakpoints) that may end
// on their own after a pause.
type presenter struct {
	on    bool
	ids   []string      // the step IDs it stops before
	stops []int         // their indexes in the playbook
	pause time.Duration // after a stop, continue on its own; 0 waits for c
	gen   int           // the countdown that ticks; others are stale
	until time.Time     // when the countdown continues; zero: none
}

// presentTickMsg advances a countdown started at a stop.
type presentTickMsg struct{ gen int }

// newPresenter resolves stop IDs against the playbook (unknown IDs are
// left out: main checks the flag).
func newPresenter(cfg Config) presenter {
	p := presenter{on: cfg.Present, pause: cfg.PresentPause, ids: cfg.PresentStops}
	if p.ids == nil { // the playbook's own (present-stops in its front matter)
		for _, s := range cfg.Steps {
			if s.PresentStop {
				p.ids = append(p.ids, s.ID)
			}
		}
	}
	p.resolve(cfg.Steps)
	return p
}

// resolve finds the stops' indexes in all (again when a pass replans).
func (p *presenter) resolve(all []steps.Step) {
	p.stops = nil
	for _, id := range p.ids {
		for i, s := range all {
			if s.ID == id {
				p.stops = append(p.stops, i)
			}
		}
	}
}

// togglePresent turns presenter mode on or off. Turning it on sets the
// stops that are not breakpoints yet; turning it off leaves them, since
// they show as breakpoints and b clears them.
func (m *Model) togglePresent() {
	m.present.on = !m.present.on
	m.present.stop()
	if m.present.on {
		for _, i := range m.present.stops {
			if !m.breakpoints[i] {
				m.breakpoints[i] = true
				m.cfg.Runner.ToggleBreakpoint(i)
			}
		}
	}
	m.layout()
}

// stop ends a countdown in progress.
func (p *presenter) stop() {
	if !p.until.IsZero() {
		p.gen++
		p.until = time.Time{}
	}
}

// presentIdle starts the countdown when the runner stops at a breakpoint
// in presenter mode with a pause.
// The selection moves to the step it stopped before, so the room reads
// what is about to happen.
func (m *Model) presentIdle(ev steps.Event) tea.Cmd {
	m.present.stop()
	if !m.present.on || ev.Reason != steps.ReasonBreakpoint {
		return nil
	}
	if m.follow && ev.Cursor >= 0 && ev.Cursor < len(m.steps) && m.selected != ev.Cursor {
		m.selected = ev.Cursor
		m.layout()
		m.refreshOutput(true)
	}
	if m.present.pause <= 0 {
		return nil
	}
	m.present.gen++
	m.present.until = m.now().Add(m.present.pause)
	return presentTick(m.present.gen)
}

func presentTick(gen int) tea.Cmd {
	return tea.Tick(time.Second/2, func(time.Time) tea.Msg { return presentTickMsg{gen: gen} })
}

// presentTicked continues the runner once the countdown is over; until
// then it ticks again, so the banner counts down.
func (m Model) presentTicked(msg presentTickMsg) (tea.Model, tea.Cmd) {
	p := &m.present
	if msg.gen != p.gen || p.until.IsZero() {
		return m, nil
	}
	if m.running >= 0 || m.idleReason != steps.ReasonBreakpoint {
		p.stop()
		return m, nil
	}
	if m.now().Before(p.until) {
		return m, presentTick(p.gen)
	}
	p.stop()
	m.notice, m.follow = "", true
	m.cfg.Runner.Continue()
	return m, nil
}

// presenterLines are the banners above the main screen in presenter mode:
// the selected step and its note, then the verdict once there is one.
func (m Model) presenterLines(w int) []string {
	if !m.present.on || m.screen != screenMain || len(m.steps) == 0 {
		return nil
	}
	st := m.styles
	bar := st.Header.Render("▌ ")
	s := m.steps[m.selected]
	title := st.Header.Render(fmt.Sprintf("STEP %s · %s", s.ID, s.Title))
	state := st.Dim.Render(m.presentState())
	gap := w - lipgloss.Width(bar) - lipgloss.Width(title) - lipgloss.Width(state)
	var out []string
	if gap >= 2 {
		out = append(out, bar+title+strings.Repeat(" ", gap)+state)
	} else {
		out = append(out, fit(bar+title, w))
	}
	note := st.Watch.Bold(true)
	for _, l := range wrap(watchText(s), w-2, presentNoteLines) {
		out = append(out, bar+note.Render(l))
	}
	if v := m.presentVerdict(); v != "" {
		vs := st.Failed.Bold(true)
		if m.diag.Verdict == pg.VerdictHealthy {
			vs = st.Done.Bold(true)
		}
		for j, l := range wrap(v, w-2, presentVerdictLines+1) {
			if j == 0 {
				out = append(out, vs.Render("█ "+l))
			} else {
				out = append(out, vs.Render("█ ")+st.Value.Render(l))
			}
		}
	}
	for i := range out {
		out[i] = fit(out[i], w)
	}
	return out
}

// presentState is what the room waits for, at the right of the banner.
func (m Model) presentState() string {
	switch {
	case m.running >= 0 && m.running == m.selected:
		return "running " + m.spinner.View()
	case m.running >= 0:
		return "running " + m.steps[m.running].ID
	case !m.present.until.IsZero():
		left := m.present.until.Sub(m.now()).Round(time.Second)
		return fmt.Sprintf("continues in %s · any key holds", max(left, 0))
	case m.finished:
		return "the end"
	case m.idleReason == steps.ReasonBreakpoint && m.cursor == m.selected:
		return "c runs it"
	}
	return ""
}

// presentVerdict is the verdict in capitals and what it comes from, once
// the diagnosis has one: the mechanism in one sentence.
func (m Model) presentVerdict() string {
	d := m.diag
	if !m.diagnosed || d.Verdict == "" || d.Verdict == pg.VerdictUnknown {
		return ""
	}
	v := strings.ToUpper(string(d.Verdict)) + ": " + verdictSummary(d)
	if d.Verdict == pg.VerdictDiverged || d.Verdict == pg.VerdictStalled {
		v = glyphFailed + " " + v // stands out without colour too
	}
	if mech := m.mechanism(); mech != "" && mech != verdictSummary(d) {
		v += " — " + mech
	}
	return v
}

// mechanism is how the verdict came about, in one sentence: what the
// replica replayed past the fork once the WAL there has been read for this
// fork, else the cause when the archive or the logs show it, else the
// explanation's first sentence.
func (m Model) mechanism() string {
	d := m.diag
	if s := m.wal.sentenceFor(d); s != "" && d.Verdict == pg.VerdictDiverged {
		return s
	}
	if d.Cause != "" {
		return firstSentence(d.Cause)
	}
	return firstSentence(d.Explanation)
}
