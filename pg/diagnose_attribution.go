package pg

import (
	"fmt"
	"strings"
)

// judgedPairs are the pairs Diagnose judges, and apart from them the
// standbys promoted while the node they were declared to follow is
// stopped or itself in recovery: such a standby is the new primary, not
// one that split from its old upstream. A split brain is two primaries
// accepting writes at once, which the judge still finds when both run
// as primaries.
func judgedPairs(s Snapshot) (judged, promoted []Pair) {
	for _, pr := range s.Pairs() {
		if newPrimary(s, s.Node(pr.Standby)) {
			promoted = append(promoted, pr)
			continue
		}
		judged = append(judged, pr)
	}
	return judged, promoted
}

// newPrimary reports whether r, declared some node's standby, runs as a
// primary while that node does not.
func newPrimary(s Snapshot, r Reading) bool {
	up := r.Follows
	if up == "" {
		up = r.Upstream
	}
	if up == "" || !r.Up || r.InRecovery || r.Role != RolePrimary {
		return false
	}
	u := s.Node(up)
	return !u.Up || u.InRecovery
}

// promotedWords says which standbys were promoted and are primaries now.
func promotedWords(s Snapshot, promoted []Pair) string {
	var each []string
	for _, pr := range promoted {
		what := "is stopped"
		if u := s.Node(pr.Upstream); u.Up {
			what = "is in recovery"
		}
		each = append(each, fmt.Sprintf("Node %s runs as a primary while %s, the node it was declared to follow, %s: it was promoted and is the new primary, not a diverged standby of %s.",
			pr.Standby, pr.Upstream, what, pr.Upstream))
	}
	return strings.Join(each, " ")
}

// withNewPrimaries adds the promoted standbys to d's explanation.
func withNewPrimaries(s Snapshot, d Diagnosis, promoted []Pair) Diagnosis {
	if len(promoted) == 0 {
		return d
	}
	d.Explanation += " " + promotedWords(s, promoted)
	return d
}

// onlyNewPrimaries is the verdict when every declared standby was
// promoted: there is no standby left to judge.
func onlyNewPrimaries(s Snapshot, promoted []Pair) Diagnosis {
	return Diagnosis{Verdict: VerdictUnknown, Evidence: []string{}, Next: NextWanted(s),
		Explanation: promotedWords(s, promoted) + " No server follows another, so there is none to judge against another."}
}

// refusal is an upstream's refusal of a start past its flush position
// that more than one of its standbys may have asked for.
type refusal struct {
	f     Finding
	could []string // the standbys that may have asked for it
}

// attributeRefusals keeps the upstream P's log findings that can be the
// standby R's. An upstream of several standbys logs each one's refusal
// of a start past its flush position; the refusal is R's when R's own
// log names the same start, or when none does and R is the only
// standby of P that may have asked for it. One that streams from P now,
// or runs short of the start, did not ask for it: the wal receiver asks
// from the start of the segment it needs, at or before its position,
// and positions only move forward. A refusal R shares with another is
// returned apart, convicting neither.
func attributeRefusals(s Snapshot, P, R Reading, fs []Finding) (theirs []Finding, unsure []refusal) {
	var standbys []Reading
	for _, pr := range s.Pairs() {
		if r := s.Node(pr.Standby); pr.Upstream == P.Node && !newPrimary(s, r) {
			standbys = append(standbys, r)
		}
	}
	if len(standbys) <= 1 {
		return notOthers(fs, R), nil
	}
	for _, f := range fs {
		if f.Kind != FindAheadOfFlush {
			theirs = append(theirs, f)
			continue
		}
		var claim, could []string
		for _, q := range standbys {
			if asked(q, f.LSN) {
				claim = append(claim, q.Node)
			}
			if mayHaveAsked(q, f.LSN) {
				could = append(could, q.Node)
			}
		}
		if len(claim) > 0 {
			could = claim
		}
		switch {
		case !contains(could, R.Node):
		case len(could) == 1:
			theirs = append(theirs, f)
		default:
			unsure = append(unsure, refusal{f: f, could: could})
		}
	}
	return theirs, unsure
}

// asked reports whether q's own log says it was refused a start at at.
func asked(q Reading, at LSN) bool {
	for _, f := range ExplainLog(q.Node, q.LogTail) {
		if f.Kind == FindAheadOfFlush && f.LSN == at {
			return true
		}
	}
	return false
}

// mayHaveAsked reports whether standby q may have asked to start at at:
// not when it streams now (the upstream serves it, so whatever it was
// refused once does not hold it) or runs at a position short of it.
func mayHaveAsked(q Reading, at LSN) bool {
	if q.Streams() {
		return false
	}
	pos := q.ReceiveLSN
	if p, _ := PositionOf(q); p > pos {
		pos = p
	}
	return !pos.Valid() || !q.Up || at <= pos
}

// notOthers drops the upstream's refusals that cannot be the standby's:
// an upstream with several standbys logs each one's, and a standby that
// streams from it now up to some position was not refused a start past
// that position.
func notOthers(fs []Finding, R Reading) []Finding {
	if !R.Streams() {
		return fs
	}
	at := R.ReceiveLSN
	if pos, _ := PositionOf(R); pos > at {
		at = pos
	}
	out := fs[:0:0]
	for _, f := range fs {
		if f.Kind == FindAheadOfFlush && at.Valid() && f.LSN > at {
			continue
		}
		out = append(out, f)
	}
	return out
}

// refusedUnknownWhich is the verdict on a standby that may be the one
// its upstream refused, or another: unknown, naming the refusal and
// those it may concern, since convicting the wrong one would be false.
func (j *judge) refusedUnknownWhich() Diagnosis {
	d := &j.d
	var each []string
	for _, u := range j.unattributed {
		d.Evidence = append(d.Evidence, u.f.Node+" log: "+u.f.Message())
		each = append(each, fmt.Sprintf("a start at %s, ahead of its flush position %s, asked for by one of %s", u.f.LSN, u.f.OtherLSN, strings.Join(u.could, ", ")))
	}
	d.Verdict = VerdictUnknown
	d.Explanation = fmt.Sprintf("The primary's log refuses %s; none of their own logs names it and each is at or past it without streaming, so which one it refused is unknown. "+
		"The replica is at %s on timeline %d and has passed no fork point; whether it follows the primary shows once it streams or its log says why not.",
		strings.Join(each, "; "), j.rPos, j.rTLI)
	return *d
}
