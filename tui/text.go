package tui

import (
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
)

// fit truncates s to w cells (with an ellipsis) and pads it to exactly w,
// so columns line up whatever the content.
func fit(s string, w int) string {
	if w <= 0 {
		return ""
	}
	if lipgloss.Width(s) > w {
		s = ansi.Truncate(s, w, "…")
	}
	if pad := w - lipgloss.Width(s); pad > 0 {
		s += strings.Repeat(" ", pad)
	}
	return s
}

// wrap word-wraps s (which may hold newlines) to w cells and keeps at most
// max lines, marking a cut with an ellipsis; max <= 0 keeps all.
func wrap(s string, w, max int) []string {
	if w <= 0 {
		return nil
	}
	var out []string
	for _, para := range strings.Split(s, "\n") {
		out = append(out, strings.Split(ansi.Wrap(para, w, ""), "\n")...)
	}
	if max > 0 && len(out) > max {
		out = out[:max]
		last := out[max-1]
		if lipgloss.Width(last) >= w {
			last = ansi.Truncate(last, w-1, "")
		}
		out[max-1] = last + "…"
	}
	return out
}

// padLines makes lines exactly h lines long.
func padLines(lines []string, h int) []string {
	if h < 0 {
		h = 0
	}
	if len(lines) > h {
		return lines[:h]
	}
	for len(lines) < h {
		lines = append(lines, "")
	}
	return lines
}

// elapsed formats a step's time: tenths under ten seconds, then seconds,
// then minutes.
func elapsed(d time.Duration) string {
	switch {
	case d <= 0:
		return ""
	case d < 10*time.Second:
		return fmt.Sprintf("%.1fs", d.Seconds())
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	}
	return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
}

// rule draws a section title followed by a line to width w.
func rule(title string, w int, st lipgloss.Style) string {
	t := "─ " + title + " "
	if lipgloss.Width(t) >= w {
		return st.Render(fit(t, w))
	}
	return st.Render(t + strings.Repeat("─", w-lipgloss.Width(t)))
}

// paneRule is a pane's title. The focused pane's is drawn with a heavy
// line and a marker as well as its colour, so it can be told without
// colour (NO_COLOR, a monochrome terminal).
func (m Model) paneRule(title string, w int, focused bool) string {
	if !focused {
		return rule(title, w, m.styles.Rule)
	}
	t := "━ ▶ " + title + " "
	if lipgloss.Width(t) >= w {
		return m.styles.RuleFocused.Render(fit(t, w))
	}
	return m.styles.RuleFocused.Render(t + strings.Repeat("━", w-lipgloss.Width(t)))
}
