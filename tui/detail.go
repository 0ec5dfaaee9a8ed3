package tui

import (
	"errors"
	"fmt"
	"strings"

	"walstep/steps"
	"walstep/untrusted"
)

// detailLines is the selected step's title, command, what-to-watch note
// and, for a failed step, its error and the retry hint; w cells wide.
func (m Model) detailLines(w int) []string {
	if len(m.steps) == 0 {
		return []string{rule("no steps", w, m.styles.Rule)}
	}
	st := m.styles
	i := m.selected
	s, v := m.steps[i], m.views[i]
	var out []string
	out = append(out, rule(fmt.Sprintf("%s %s", s.ID, s.Title), w, st.Rule))
	if v.command != "" {
		s.Command = v.command // read as this run started: what runs
	}
	if s.Command != "" {
		// Elsewhere than on Docker the seed's command is not what runs:
		// label it as the playbook does ("seed's"), and show the command
		// that ran once the step has.
		first, rest := "$ ", "  "
		if !m.seedRunsHere() {
			label := s.CommandLabel
			if label == "" {
				label = "as written"
			}
			first = label + ": $ "
			rest = strings.Repeat(" ", len([]rune(first)))
		}
		for j, l := range wrap(s.Command, w-len([]rune(rest)), cmdLines) {
			p := rest
			if j == 0 {
				p = first
			}
			out = append(out, st.Command.Render(fit(p+l, w)))
		}
		if ran := ranCommand(v.output); ran != "" && !m.seedRunsHere() {
			out = append(out, st.Dim.Render(fit("ran:    "+ran, w)))
		}
	}
	if watch := watchText(s); watch != "" {
		for j, l := range wrap(watch, w-7, watchLine) {
			p := "       "
			if j == 0 {
				p = "watch: "
			}
			out = append(out, st.Watch.Render(fit(p+l, w)))
		}
	}
	if v.status == steps.Failed {
		msg := "failed"
		if v.err != nil {
			msg = "failed: " + untrusted.Shown(strings.ReplaceAll(v.err.Error(), "\n", " "))
		}
		for j, l := range wrap(msg, w-2, failLines) {
			p := "  "
			if j == 0 {
				p = glyphFailed + " "
			}
			out = append(out, st.Failed.Render(fit(p+l, w)))
		}
		k := m.keys
		out = append(out, st.Hint.Render(fit(hint(keyWord{k.Retry, "retry"}, keyWord{k.Skip, "skip"},
			keyWord{k.Log, "log"}, keyWord{k.Inspect, "inspect"}, keyWord{k.Shell, "shell"}), w)))
	}
	if v.status == steps.Cancelled {
		out = append(out, st.Failed.Render(fit(glyphCancel+" cancelled: stopped before it ended; its processes are gone", w)))
		out = append(out, st.Hint.Render(fit(fmt.Sprintf("%s retries it from what it needs · %s skips it", keyOf(m.keys.Retry), keyOf(m.keys.Skip)), w)))
	}
	return out
}

// failLines bounds a failure's message: enough for the failing program's
// own line and the way out (a path, "remove it yourself or …") at 80
// columns, while the output keeps its rows.
const failLines = 5

// outputTitle heads the output viewport: the step's state and line count.
func (m Model) outputTitle() string {
	if len(m.steps) == 0 {
		return "output"
	}
	v := m.views[m.selected]
	state := v.status.String()
	if t := m.stepElapsed(m.selected); t != "" {
		state += " " + t
	}
	if v.runs > 1 {
		state += fmt.Sprintf(", run %d", v.runs)
	}
	n := fmt.Sprintf("%d lines", len(v.output))
	if len(v.output) == 1 {
		n = "1 line"
	}
	t := fmt.Sprintf("output · %s · %s", state, n)
	if !m.output.AtBottom() {
		t += fmt.Sprintf(" · %d%%", int(m.output.ScrollPercent()*100))
	}
	return t
}

// refreshOutput loads the selected step's output into the viewport. With
// reset it jumps to the end; otherwise it follows the end only when the
// user had not scrolled up.
func (m *Model) refreshOutput(reset bool) {
	if len(m.steps) == 0 {
		return
	}
	atBottom := m.output.AtBottom()
	v := m.views[m.selected]
	if len(v.output) == 0 {
		m.output.SetContent(m.styles.Dim.Render("(no output yet)"))
	} else {
		m.output.SetContent(strings.Join(m.renderedOutput(v), "\n"))
	}
	if reset || atBottom {
		m.output.GotoBottom()
	}
}

// showFailure scrolls the output so the failing program's own error line
// is in view: to the end, or, when lines after it (hints, a usage text)
// would push it above the top, to that line.
func (m *Model) showFailure() {
	if len(m.steps) == 0 {
		return
	}
	v := m.views[m.selected]
	m.output.GotoBottom()
	var pe *steps.ProgramError
	if !errors.As(v.err, &pe) || len(v.output) == 0 {
		return
	}
	rendered := m.renderedOutput(v)
	row, at := 0, -1
	for k, l := range v.output {
		if k < len(rendered) && strings.TrimSpace(l) == pe.Line {
			at = row
		}
		if k < len(rendered) {
			row += strings.Count(rendered[k], "\n") + 1
		}
	}
	if at >= 0 && at < m.output.YOffset {
		m.output.SetYOffset(at)
	}
}

// renderedOutput is v's output wrapped to the viewport (the viewport cuts
// long lines), wrapping only the lines the cache has not seen.
func (m *Model) renderedOutput(v stepView) []string {
	w := max(m.output.Width, 10)
	c := m.outCache
	fresh := v.total - c.total
	if c.step != m.selected || c.width != w || c.runs != v.runs || fresh < 0 || fresh > len(v.output) ||
		(fresh < len(v.output) && v.output[len(v.output)-1-fresh] != c.last) {
		*c = outputCache{step: m.selected, width: w, runs: v.runs}
		fresh = len(v.output)
	}
	for _, l := range v.output[len(v.output)-fresh:] {
		c.rendered = append(c.rendered, strings.Join(wrap(l, w, 0), "\n"))
	}
	if drop := len(c.rendered) - len(v.output); drop > 0 {
		c.rendered = c.rendered[drop:]
	}
	c.total = v.total
	if len(v.output) > 0 {
		c.last = v.output[len(v.output)-1]
	}
	return c.rendered
}

// seedRunsHere reports whether the backend runs the seed's commands as
// written (Docker); the local backend runs its own equivalents.
func (m Model) seedRunsHere() bool {
	return m.cfg.Servers == nil || m.cfg.Servers.Name() == "docker"
}

// ranCommand is the first command a step's output shows it ran ("$ …"),
// with a count of the others.
func ranCommand(output []string) string {
	first, more := "", 0
	for _, l := range output {
		if strings.HasPrefix(l, "$ ") {
			if first == "" {
				first = l
			} else {
				more++
			}
		}
	}
	if more > 0 {
		first += fmt.Sprintf("  (+%d more in the output)", more)
	}
	return first
}

// watchText is the step's "watch" line with the key that shows it.
func watchText(s steps.Step) string {
	switch {
	case s.Hint == "":
		return s.Watch
	case s.Watch == "":
		return s.Hint
	}
	return s.Watch + " (" + s.Hint + ")"
}
