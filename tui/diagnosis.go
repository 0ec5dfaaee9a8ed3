package tui

import (
	"fmt"
	"strings"
	"time"

	"walstep/pg"
	"walstep/present"
	"walstep/steps"
	"walstep/untrusted"
)

// diagnose folds the new poll into the model's pg.Watch. It is pure
// computation on data already in memory, so it runs in Update.
func (m *Model) diagnose(s pg.Snapshot) {
	m.watch, m.diag = m.watch.Observe(s)
	m.diagnosed = true
	if m.cfg.Proof != nil {
		states := make([]steps.StepState, len(m.views))
		for i, v := range m.views {
			states[i] = steps.StepState{Status: v.status, Err: v.err}
		}
		pg.ApplyProof(&m.diag, m.wal.dataFor(m.diag), m.cfg.Proof(m.steps, states))
	}
	if m.marked == "" {
		m.marked = pg.VerdictUnknown // the start is no verdict to mark
	}
	if m.cfg.Mark != nil && m.diag.Verdict != m.marked {
		m.marked = m.diag.Verdict
		m.cfg.Mark(untrusted.Text("verdict: " + strings.ToUpper(string(m.diag.Verdict)) + " · " + verdictSummary(m.diag)))
	}
}

// verdictWord is the verdict in capitals, a bad one marked: without
// colour (NO_COLOR, a monochrome terminal) the mark is what makes a
// divergence stand out from "unknown".
func verdictWord(v pg.Verdict) string {
	w := strings.ToUpper(string(v))
	if v == pg.VerdictDiverged || v == pg.VerdictStalled {
		return w + " " + glyphFailed
	}
	return w
}

// verdictTitle is the verdict as a section title of the panel.
func (m Model) verdictTitle(w int) string {
	st := m.styles
	style := st.Rule
	switch m.diag.Verdict {
	case pg.VerdictDiverged, pg.VerdictStalled:
		style = st.Failed
	case pg.VerdictHealthy:
		style = st.Done
	}
	return rule("verdict: "+verdictWord(m.diag.Verdict)+" · d: why", w, style)
}

// verdictWords is the verdict in a sentence, wrapped to at most n lines
// (all when n is 0; none when n is negative).
func (m Model) verdictWords(w, n int) []string {
	if n < 0 {
		return nil
	}
	// The longest wording that fits in n lines, so the verdict is never
	// cut mid-sentence (the picture below carries the LSNs).
	forms := verdictForms(m.diag)
	lines := wrap(forms[len(forms)-1], w-2, n)
	for _, f := range forms {
		if all := wrap(f, w-2, 0); n == 0 || len(all) <= n {
			lines = all
			break
		}
	}
	var out []string
	for _, l := range lines {
		out = append(out, fit("  "+l, w))
	}
	return out
}

// pictureLines are the timeline picture (present.RenderTimeline) under a
// title.
func (m Model) pictureLines(w int) []string {
	if !m.polled {
		return nil
	}
	pic := present.RenderTimeline(m.snap, w-2, m.styles.Diag)
	if strings.TrimSpace(pic) == "" {
		return nil
	}
	out := []string{rule("timelines", w, m.styles.Rule)}
	for _, l := range strings.Split(pic, "\n") {
		out = append(out, fit("  "+l, w))
	}
	return out
}

// diagnosisText is the full-screen diagnosis (d): verdict, explanation,
// cause, evidence and the log lines that matter.
func (m Model) diagnosisText(w int) string {
	if !m.diagnosed {
		return "no reading yet"
	}
	d := m.diag
	var extra []string
	if s := m.wal.sentenceFor(d); s != "" {
		extra = []string{"WAL past the fork (w shows it): " + s}
	}
	block := present.Diagnosis(d, present.DiagnosisForm{
		Heading: "Verdict: " + verdictWord(d.Verdict), Sep: "\n\n", End: "\n",
		Explanation: present.ExplainAlways, Extra: extra, EvidenceTitle: "Evidence:\n", Bullet: "  - ",
		Findings: func(fs []pg.Finding) string {
			out := "Log lines that matter:"
			for _, f := range fs {
				out += fmt.Sprintf("\n  %s: %s", f.Node, present.Repeat{Line: f.Message(), Count: f.Repeats})
				if f.Explanation != "" {
					out += "\n    " + f.Explanation
				}
			}
			return out
		},
	})
	return strings.TrimRight(block+"\n"+present.RenderTimeline(m.snap, w, m.styles.Diag)+"\n", "\n")
}

// readingAge is how old the poll behind the diagnosis is.
func (m Model) readingAge() time.Duration { return m.now().Sub(m.snap.At) }
