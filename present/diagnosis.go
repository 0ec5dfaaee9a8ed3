package present

import (
	"strings"

	"walstep/pg"
)

// Explain says where a diagnosis block puts the explanation.
type Explain int

const (
	ExplainIfAny   Explain = iota // a part of its own when there is one
	ExplainAlways                 // a part of its own, empty or not
	ExplainNowhere                // not in the block (the front end shows it elsewhere)
)

// DiagnosisForm is what legitimately differs where a front end draws the
// diagnosis: how it heads the verdict, how parts are set apart, the
// evidence's title and bullets, and the parts only it has.
type DiagnosisForm struct {
	Heading     string  // the verdict as this front end heads it
	Sep         string  // between the heading and each part
	End         string  // after the last part
	Explanation Explain // where the explanation goes
	// Extra are parts after the cause (the debugger's WAL sentence).
	Extra []string
	// EvidenceTitle heads the evidence ("" none); Bullet starts each item;
	// Item, when set, rewrites each (Markdown's inline code).
	EvidenceTitle, Bullet string
	Item                  func(string) string
	// Findings, when set, draws the log lines that matter as a part.
	Findings func([]pg.Finding) string
}

// Diagnosis is the diagnosis block: the verdict, the explanation, the
// cause, the evidence and the log lines that matter, in f's form. Every
// front end draws it here: the text and Markdown reports, the transcript
// and the debugger's d view.
func Diagnosis(d pg.Diagnosis, f DiagnosisForm) string {
	parts := []string{f.Heading}
	if f.Explanation == ExplainAlways || (f.Explanation == ExplainIfAny && d.Explanation != "") {
		parts = append(parts, d.Explanation)
	}
	if d.Cause != "" {
		parts = append(parts, "Cause: "+d.Cause)
	}
	parts = append(parts, f.Extra...)
	if len(d.Evidence) > 0 {
		items := make([]string, len(d.Evidence))
		for i, e := range d.Evidence {
			if f.Item != nil {
				e = f.Item(e)
			}
			items[i] = f.Bullet + e
		}
		parts = append(parts, f.EvidenceTitle+strings.Join(items, "\n"))
	}
	if f.Findings != nil && len(d.Findings) > 0 {
		parts = append(parts, f.Findings(d.Findings))
	}
	return strings.Join(parts, f.Sep) + f.End
}
