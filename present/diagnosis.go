package present

import (
	"fmt"
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
	// ProofTitle heads the proof from the data ("" for the plain
	// "Proof from the data"); its items take Bullet.
	ProofTitle string
}

// Diagnosis is the diagnosis block: the verdict, the explanation, the
// cause, each standby's verdict (with more than one), the evidence, the
// proof from the data and the log lines that matter, in f's form. Every
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
	evidenceTitle := f.EvidenceTitle
	if len(d.Standbys) > 1 {
		parts = append(parts, Standbys(d.Standbys, f.Bullet, f.Item))
		if evidenceTitle == "" {
			evidenceTitle = "Evidence:\n" // else its items read as more standbys
		}
	}
	if len(d.Evidence) > 0 {
		items := make([]string, len(d.Evidence))
		for i, e := range d.Evidence {
			if f.Item != nil {
				e = f.Item(e)
			}
			items[i] = f.Bullet + e
		}
		parts = append(parts, evidenceTitle+strings.Join(items, "\n"))
	}
	if d.Proof != nil {
		parts = append(parts, Proof(*d.Proof, f.ProofTitle, f.Bullet))
	}
	if f.Findings != nil && len(d.Findings) > 0 {
		parts = append(parts, f.Findings(d.Findings))
	}
	return strings.Join(parts, f.Sep) + f.End
}

// Standbys is each standby's verdict against the node it follows, as a
// part of the diagnosis: a line each, how its upstream was told, the
// verdict and its first sentence. item, when set, rewrites each line.
func Standbys(svs []pg.StandbyVerdict, bullet string, item func(string) string) string {
	lines := []string{"Each standby against the node it follows:"}
	for _, sv := range svs {
		l := StandbyLine(sv)
		if item != nil {
			l = item(l)
		}
		lines = append(lines, bullet+l)
	}
	return strings.Join(lines, "\n")
}

// StandbyLine is one standby's verdict in a line: "c following b (wal
// receiver): DIVERGED. Standby c replayed …".
func StandbyLine(sv pg.StandbyVerdict) string {
	l := fmt.Sprintf("%s following %s", sv.Standby, sv.Upstream)
	if sv.From != "" {
		l += " (" + sv.From + ")"
	}
	l += ": " + strings.ToUpper(string(sv.Verdict))
	if e := firstSentence(sv.Explanation); e != "" {
		l += ". " + e
	}
	return l
}

// firstSentence is s up to the end of its first sentence.
func firstSentence(s string) string {
	if i := strings.Index(s, ". "); i >= 0 {
		return s[:i+1]
	}
	return s
}

// Proof is the proof from the data as a part of the diagnosis: a title
// with its status, the records past the fork, the marker's fate on each
// node, with several standbys each one's proof, then the conclusion.
func Proof(p pg.Proof, title, bullet string) string {
	if title == "" {
		title = "Proof from the data"
	}
	lines := []string{fmt.Sprintf("%s (%s):", title, proofStatus(p.Status))}
	if p.PastFork != "" {
		lines = append(lines, bullet+"past the fork: "+p.PastFork)
	}
	for _, n := range p.Nodes {
		lines = append(lines, bullet+n.Node+": "+n.Text)
	}
	out := strings.Join(lines, "\n") + "\n\n"
	if len(p.Standbys) > 0 {
		each := []string{"Each standby, its marker against its verdict:"}
		for _, s := range p.Standbys {
			v := s.Verdict
			if s.PositionVerdict != "" {
				v = s.PositionVerdict + " by positions and logs, now " + s.Verdict
			}
			each = append(each, fmt.Sprintf("%s%s (%s, following %s): %s", bullet, s.Standby, v, s.Upstream, s.Conclusion))
		}
		out += strings.Join(each, "\n") + "\n\n"
	}
	return out + p.Conclusion
}

func proofStatus(s pg.ProofStatus) string {
	switch s {
	case pg.ProofAgrees:
		return "agrees with the positions and logs"
	case pg.ProofDisagrees:
		return "DISAGREES with the positions and logs"
	}
	return "unknown"
}
