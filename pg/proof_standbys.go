package pg

import (
	"fmt"
	"strings"
)

// ApplyProof puts the proof from the data into d (w the WAL read at the
// fork of the standby d is about, nil when not read) and applies the one
// rule where data and positions meet, on each standby d judges: when the
// marker's fate on a standby contradicts the verdict on it and on each
// node it follows up to the one the marker was written on (diverged or
// stalled yet the marker arrived; healthy yet it did not), that
// standby's verdict becomes unknown and says why, with both sides,
// instead of picking one. The overall verdict is the worst of the
// standbys' again.
func ApplyProof(d *Diagnosis, w *WALAtFork, in ProofInput) {
	if d == nil {
		return
	}
	p := &Proof{Status: ProofUnknown, Marker: in.Write}
	d.Proof = p
	pw := newProofWords(d)
	top := d.StandbyName()
	p.PastFork, p.Transactions = pastFork(w, pw.the(top))
	checks := map[string]*MarkerCheck{}
	if in.Write != nil {
		p.Nodes = append(p.Nodes, ProofNode{Node: in.Write.Node, Fate: "written",
			Text: fmt.Sprintf("marker %s committed at %s and flushed there (step %s)", in.Write.ID, in.Write.LSN, in.Write.Step)})
		for i, c := range in.Checks {
			if c.ID != in.Write.ID {
				continue
			}
			p.Nodes = append(p.Nodes, ProofNode{Node: c.Node, Fate: string(c.Fate), Text: checkText(c)})
			checks[c.Node] = &in.Checks[i]
		}
	}
	links := proofLinks(d)
	if len(d.Standbys) == 0 {
		sp := judgeMarker(pw, in, checks[top], top, links.chain(top, in.Write), p.PastFork != "")
		p.Status, p.Conclusion, p.PositionVerdict = sp.Status, sp.Conclusion, sp.PositionVerdict
		if sp.Status == ProofDisagrees {
			d.Evidence = append(d.Evidence[:len(d.Evidence):len(d.Evidence)], fmt.Sprintf("positions and logs alone: %s (%s)", d.Verdict, firstSentence(d.Explanation)))
			d.Explanation = sp.Conclusion + " Positions and logs alone: " + d.Explanation
			d.Verdict = VerdictUnknown
		}
		return
	}
	applyEach(d, p, pw, in, checks, links)
}

// applyEach judges the marker on each of several standbys, then the
// proof and the verdict over them all.
func applyEach(d *Diagnosis, p *Proof, pw proofWords, in ProofInput, checks map[string]*MarkerCheck, links proofLinkMap) {
	before := d.Verdict
	top := d.StandbyName()
	// A copy: the watch may keep the slices it returned.
	d.Standbys = append([]StandbyVerdict(nil), d.Standbys...)
	d.Evidence = d.Evidence[:len(d.Evidence):len(d.Evidence)]
	var others []string // what the data says against the other standbys' verdicts
	for i, sv := range d.Standbys {
		sp := judgeMarker(pw, in, checks[sv.Standby], sv.Standby, links.chain(sv.Standby, in.Write), sv.Standby == top && p.PastFork != "")
		if sp.Status == ProofDisagrees {
			d.Evidence = append(d.Evidence, fmt.Sprintf("%s: positions and logs alone: %s (%s)", sv.Standby, sv.Verdict, firstSentence(sv.Explanation)))
			d.Standbys[i].Explanation = sp.Conclusion + " Positions and logs alone: " + sv.Explanation
			d.Standbys[i].Verdict = VerdictUnknown
			if sv.Standby == top {
				d.Explanation = sp.Conclusion + " Positions and logs alone: " + d.Explanation
				d.Verdict = VerdictUnknown
			} else {
				others = append(others, sp.Conclusion)
			}
		}
		p.Standbys = append(p.Standbys, sp)
	}
	// The verdict follows the standbys': the worst, the one it was about
	// when tied.
	worst := -1
	for i, sv := range d.Standbys {
		if worst < 0 || severity(sv.Verdict) > severity(d.Standbys[worst].Verdict) || (sv.Standby == top && severity(sv.Verdict) == severity(d.Standbys[worst].Verdict)) {
			worst = i
		}
	}
	rest := strings.Join(others, " ")
	if sv := d.Standbys[worst]; severity(sv.Verdict) > severity(d.Verdict) {
		d.Verdict, d.Standby, d.Upstream, d.UpstreamFrom = sv.Verdict, sv.Standby, sv.Upstream, sv.From
		d.ForkLSN, d.ReplicaLSN, d.Cause = sv.ForkLSN, sv.StandbyLSN, sv.Cause
		d.Explanation = fmt.Sprintf("%s is %s (judged against %s): %s Before the proof: %s", sv.Standby, sv.Verdict, sv.Upstream, sv.Explanation, d.Explanation)
		rest = ""
		for _, o := range others {
			if !strings.Contains(sv.Explanation, o) {
				rest += " " + o
			}
		}
	}
	if rest = strings.TrimSpace(rest); rest != "" {
		d.Explanation += " " + rest
	}
	p.Status, p.Conclusion = overallProof(p.Standbys, pw, before, top)
	if p.Status == ProofDisagrees {
		p.PositionVerdict = before
	}
}

// overallProof is the proof's status and conclusion over several
// standbys: it disagrees where any standby's does; it agrees where each
// standby the verdict rests on (its verdict the overall one) that was
// looked for agrees; else it is unknown.
func overallProof(all []StandbyProof, pw proofWords, verdict Verdict, top string) (ProofStatus, string) {
	var disagree, each, notLooked []string
	var bearerAgrees, bearerUnknown bool
	var topProof StandbyProof
	for _, sp := range all {
		if sp.Standby == top {
			topProof = sp
		}
		was := sp.Verdict
		if sp.PositionVerdict != "" {
			was = sp.PositionVerdict
		}
		switch {
		case sp.Status == ProofDisagrees:
			reach := map[bool]string{true: "reached it", false: "did not reach it"}[sp.Fate == MarkerFound]
			disagree = append(disagree, fmt.Sprintf("%s (%s by positions and logs, yet the marker %s)", pw.the(sp.Standby), was, reach))
		case sp.Fate == "":
			notLooked = append(notLooked, sp.Standby)
		case sp.Status == ProofAgrees:
			each = append(each, fmt.Sprintf("%s %s: marker %s", sp.Standby, was, sp.Fate))
		default:
			each = append(each, fmt.Sprintf("%s %s: proof unknown", sp.Standby, was))
		}
		if was == verdict && sp.Fate != "" {
			bearerAgrees = bearerAgrees || sp.Status == ProofAgrees
			bearerUnknown = bearerUnknown || sp.Status == ProofUnknown
		}
	}
	rest := ""
	if len(notLooked) > 0 {
		rest = " Not looked for on " + strings.Join(notLooked, ", ") + "."
	}
	switch {
	case len(disagree) > 0:
		their := map[bool]string{true: "its", false: "their"}[len(disagree) == 1]
		return ProofDisagrees, fmt.Sprintf("The data and the positions disagree on %s. walstep does not pick one: %s verdict is unknown.", strings.Join(disagree, " and "), their)
	case bearerAgrees && !bearerUnknown:
		return ProofAgrees, "The data agrees with the verdict on each standby it was looked for on (" + strings.Join(each, "; ") + ")." + rest
	case topProof.Standby != "" && topProof.Status == ProofUnknown:
		return ProofUnknown, topProof.Conclusion
	}
	return ProofUnknown, "The proof from the data is unknown: no standby the verdict rests on gave the marker's fate." + rest
}

// judgeMarker is the proof on one standby: its marker check (nil when it
// was not looked for there) against the verdict on the chain of nodes
// from it up to the node the marker was written on. pastFork says the
// WAL it replayed past the fork was read.
func judgeMarker(pw proofWords, in ProofInput, check *MarkerCheck, standby string, ch proofChain, pastFork bool) StandbyProof {
	sp := StandbyProof{Standby: standby, Upstream: ch.upstream, Verdict: ch.own, Status: ProofUnknown}
	sb := pw.the(standby)
	switch {
	case in.Write == nil || check == nil:
		why := in.Missing
		if why == "" && in.Write != nil {
			why = "the marker was not looked for on " + sb
		}
		if why == "" {
			why = "no marker row was written"
		}
		sp.Conclusion = "The proof from the data is unknown: " + why + "."
		return sp
	case check.Fate == MarkerNoAnswer:
		sp.Fate = check.Fate
		sp.Conclusion = fmt.Sprintf("The proof from the data is unknown: %s did not answer within %s, so whether it holds the marker cannot be told.", sb, check.Deadline)
		return sp
	}
	sp.Fate = check.Fate
	writer := pw.the(in.Write.Node)
	found := check.Fate == MarkerFound
	fate := fmt.Sprintf("the marker row committed and flushed on %s at %s reached %s after %s", writer, in.Write.LSN, sb, check.After)
	if !found {
		fate = fmt.Sprintf("the marker row committed and flushed on %s at %s did not reach %s within %s", writer, in.Write.LSN, sb, check.Deadline)
	}
	if !ch.reaches {
		sp.Conclusion = fmt.Sprintf("The proof from the data is unknown: %s does not follow %s, so the marker's fate there implies nothing of its verdict: %s.", sb, writer, fate)
		return sp
	}
	via := ""
	if ch.via != "" {
		via = fmt.Sprintf(" (%s, which it follows, is %s)", pw.the(ch.via), ch.verdict)
	}
	switch v := ch.verdict; {
	case v == VerdictDiverged && !found:
		sp.Status = ProofAgrees
		sp.Conclusion = "The data agrees with the verdict: " + fate + ", so " + sb + " does not follow " + writer + via
		if pastFork {
			sp.Conclusion += ", and it holds WAL past the fork that " + writer + "'s timeline never had"
		}
		sp.Conclusion += "."
	case v == VerdictHealthy && found:
		sp.Status = ProofAgrees
		sp.Conclusion = "The data agrees with the verdict: " + fate + ", so " + sb + " replays " + writer + "'s WAL."
	case v == VerdictStalled && !found:
		sp.Status = ProofAgrees
		sp.Conclusion = "The data agrees with the verdict: " + fate + via + ", as a replay that stands still implies."
	case v == VerdictUnknown:
		sp.Conclusion = "Positions and logs cannot tell yet" + via + "; the data alone: " + fate + "."
	default:
		sp.Status, sp.PositionVerdict, sp.Verdict = ProofDisagrees, ch.own, VerdictUnknown
		implies := map[bool]string{true: pw.a(standby) + " that does not follow " + writer + " never gets it", false: pw.a(standby) + " that follows " + writer + " replays it within well under a second"}[found]
		verdict := "the verdict is unknown"
		if pw.several {
			verdict = sb + "'s verdict is unknown"
		}
		sp.Conclusion = fmt.Sprintf("The data and the positions disagree: positions and logs say %s%s, yet %s, and %s. walstep does not pick one: %s.", v, via, fate, implies, verdict)
	}
	return sp
}

// proofLink is a standby's verdict against the node it follows.
type proofLink struct {
	upstream string
	verdict  Verdict
}

type proofLinkMap map[string]proofLink

// proofLinks are the diagnosis's standbys and the node each follows.
func proofLinks(d *Diagnosis) proofLinkMap {
	m := proofLinkMap{}
	if len(d.Standbys) == 0 {
		m[d.StandbyName()] = proofLink{upstream: d.Upstream, verdict: d.Verdict}
	}
	for _, sv := range d.Standbys {
		m[sv.Standby] = proofLink{upstream: sv.Upstream, verdict: sv.Verdict}
	}
	return m
}

// proofChain is what a marker's fate on a standby implies: the worst
// verdict from it up to the node the marker was written on.
type proofChain struct {
	own      Verdict // the standby's own verdict
	upstream string  // the node it follows
	verdict  Verdict // the worst on the way up
	via      string  // the standby above it that verdict is of, "" when its own
	reaches  bool    // the way up reaches the node written on
}

// chain follows standby up to the node written on; a standby whose
// upstream is not known (a diagnosis from before nodes were named) is
// taken to follow it.
func (m proofLinkMap) chain(standby string, write *MarkerWrite) proofChain {
	l := m[standby]
	ch := proofChain{own: l.verdict, upstream: l.upstream, verdict: l.verdict}
	if write == nil {
		return ch
	}
	seen := map[string]bool{}
	for cur := standby; !seen[cur]; {
		seen[cur] = true
		l, ok := m[cur]
		if !ok {
			return ch
		}
		if severity(l.verdict) > severity(ch.verdict) {
			ch.verdict, ch.via = l.verdict, cur
		}
		if l.upstream == "" || l.upstream == write.Node {
			ch.reaches = true
			return ch
		}
		cur = l.upstream
	}
	return ch
}

// proofWords names nodes in the proof's sentences: the seed's "the
// primary" and "the replica", others "standby c" or "primary b".
type proofWords struct {
	standbys map[string]bool
	several  bool
}

func newProofWords(d *Diagnosis) proofWords {
	pw := proofWords{standbys: map[string]bool{d.StandbyName(): true}, several: len(d.Standbys) > 0}
	for _, sv := range d.Standbys {
		pw.standbys[sv.Standby] = true
	}
	return pw
}

func (pw proofWords) the(node string) string {
	switch {
	case node == "primary" || node == "replica":
		return "the " + node
	case pw.standbys[node]:
		return "standby " + node
	}
	return "primary " + node
}

// a is the standby's kind with an article: "a replica", "a standby".
func (pw proofWords) a(node string) string {
	if node == "replica" {
		return "a replica"
	}
	return "a standby"
}

func capFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
